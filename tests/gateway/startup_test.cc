// Start-up and shutdown of the real session-gateway binary: what it
// refuses to start with (and how it says so), the health it reports, and
// how fast it stops. Loopback only; every wait is bounded.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/gateway_process.h"
#include "gateway/tls_files.h"
#include "gmock/gmock.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "support/child_process.h"
#include "support/ports.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::ChildProcess;
using testing::ChildProcessOptions;
using testing::ExitStatus;
using testing::GatewayProcess;
using testing::TlsFiles;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSessionService[] = "gr4vy.sessions.v1.SessionService";

// How a gateway that was expected to refuse its flags ended.
struct Refusal {
  std::optional<ExitStatus> exit;  // Empty: still running after the wait.
  bool listened = false;           // Printed "listening on".
  std::string stderr_text;
};

// Runs the gateway with `args` and the extra environment `env`, expecting
// it to exit on its own within a few seconds.
Refusal RunExpectingExit(std::vector<std::string> args,
                         std::vector<std::pair<std::string, std::string>> env = {}) {
  ChildProcessOptions options;
  options.path = SESSION_GATEWAY_PATH;
  options.args = std::move(args);
  options.env = std::move(env);
  options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
  Refusal refusal;
  auto process = ChildProcess::Start(options);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return refusal;
  refusal.listened = (*process)->ReadLineMatching("listening on ", absl::Seconds(5)).ok();
  auto exit = (*process)->Wait(absl::Seconds(5));
  if (exit.ok()) refusal.exit = *exit;
  refusal.stderr_text = (*process)->ReadStderr();
  return refusal;
}

// Starts a call to `definition_id` on a thread of its own; the call's
// status is set when it ends.
class BackgroundCall {
 public:
  BackgroundCall(const GatewayProcess& gateway, const std::string& definition_id)
      : stub_(gateway.NewStub()) {
    thread_ = std::thread([this, definition_id] {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      CreatePaymentServiceDefinitionSessionRequest request;
      request.set_payment_service_definition_id(definition_id);
      CreateSession response;
      status_ = stub_->CreatePaymentServiceDefinitionSession(&context, request, &response);
    });
  }
  ~BackgroundCall() { Join(); }

  grpc::Status Join() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> stub_;
  grpc::Status status_;
  std::thread thread_;
};

// A quick call, so that the gateway and its sandbox are known to serve
// before a test starts something slow.
void ExpectServes(const GatewayProcess& gateway) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("mock-card");
  CreateSession response;
  grpc::Status status = gateway.NewStub()->CreatePaymentServiceDefinitionSession(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// Waits until the gateway's stderr holds `text`.
bool WaitForStderr(const GatewayProcess& gateway, const std::string& text, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (absl::StrContains(gateway.Stderr(), text)) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

// --- Shutdown ---------------------------------------------------------

// The in-process sandbox used to sleep through a slow trigger and be
// joined after the gRPC server had stopped, so a 2 s grace took 7.5 s.
TEST(ShutdownTest, SandboxModeExitsWithinTheGrace) {
  auto gateway = GatewayProcess::Start({"--shutdown_grace=2s"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  ExpectServes(**gateway);
  BackgroundCall slow(**gateway, "sandbox-slow-30000ms");
  absl::SleepFor(absl::Milliseconds(500));  // The call reaches the sandbox.
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE((*gateway)->process().Signal(SIGTERM).ok());
  auto exit = (*gateway)->process().Wait(absl::Seconds(10));
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
  EXPECT_LT(took, absl::Seconds(3)) << "grace 2s";
  EXPECT_FALSE(slow.Join().ok());  // Cut short, not answered after the fact.
}

TEST(ShutdownTest, SecondStopSignalEndsTheProcessAtOnce) {
  auto gateway = GatewayProcess::Start({"--shutdown_grace=30s"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  ExpectServes(**gateway);
  BackgroundCall slow(**gateway, "sandbox-slow-20000ms");
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE((*gateway)->process().Signal(SIGTERM).ok());
  // Two signals sent back to back would merge into one pending signal:
  // send the second once the first was taken.
  ASSERT_TRUE(WaitForStderr(**gateway, "shutting down", absl::Seconds(5))) << (*gateway)->Stderr();
  const absl::Time signalled = absl::Now();
  ASSERT_TRUE((*gateway)->process().Signal(SIGINT).ok());
  auto exit = (*gateway)->process().Wait(absl::Seconds(3));
  ASSERT_TRUE(exit.ok()) << "still running 3s after the second signal";
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(2));
  EXPECT_TRUE(exit->ExitedWith(1)) << exit->ToString();
  EXPECT_THAT((*gateway)->Stderr(), HasSubstr("second stop signal"));
  EXPECT_FALSE(slow.Join().ok());
}

// --- Health -----------------------------------------------------------

TEST(HealthTest, SessionServiceIsServingThenNotServingOnShutdown) {
  // A short grace: gRPC's health service lets an open Watch hold shutdown
  // until the grace runs out, even after the client cancelled it.
  auto gateway = GatewayProcess::Start({"--shutdown_grace=1s"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto health = Health::NewStub((*gateway)->channel());
  for (const char* service : {"", kSessionService}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckRequest request;
    request.set_service(service);
    HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    ASSERT_TRUE(status.ok()) << "service \"" << service << "\": " << status.error_message();
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING) << service;
  }

  // A watcher sees the service turn NOT_SERVING when shutdown begins.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  HealthCheckRequest watch_request;
  watch_request.set_service(kSessionService);
  auto watch = health->Watch(&watch_context, watch_request);
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::SERVING);
  ASSERT_TRUE((*gateway)->process().Signal(SIGTERM).ok());
  ASSERT_TRUE(watch->Read(&update));
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  watch_context.TryCancel();
  (void)watch->Finish();
  auto exit = (*gateway)->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
}

// --- Start-up refusals --------------------------------------------------

TEST(StartupTest, PortAlreadyInUseIsRefused) {
  auto first = GatewayProcess::Start({});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string address = (*first)->address();
  Refusal second = RunExpectingExit({"--listen=" + address});
  EXPECT_FALSE(second.listened) << "a second gateway shares " << address;
  ASSERT_TRUE(second.exit.has_value()) << second.stderr_text;
  EXPECT_TRUE(second.exit->ExitedWith(1)) << second.exit->ToString();
  EXPECT_THAT(second.stderr_text, HasSubstr(absl::StrCat("--listen: ", address, " is already in use")));
  ExpectServes(**first);
}

TEST(StartupTest, ListenAddressIsValidated) {
  for (const char* listen : {"127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1", "127.0.0.1:http", ":50051",
                             "127.0.0.1:"}) {
    Refusal refusal = RunExpectingExit({absl::StrCat("--listen=", listen)});
    EXPECT_FALSE(refusal.listened) << listen;
    ASSERT_TRUE(refusal.exit.has_value()) << listen;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << listen << ": " << refusal.exit->ToString();
    EXPECT_THAT(refusal.stderr_text, HasSubstr("--listen")) << listen;
  }
}

// Every value here was accepted and then failed or misrouted every call.
TEST(StartupTest, UpstreamUrlIsValidatedWithoutEchoingSecrets) {
  constexpr char kPassword[] = "pw-5e1f0c9a";
  for (const std::string& upstream :
       {std::string("http://"), std::string("http://127.0.0.1:notaport"),
        std::string("http://127.0.0.1:8080/?api_key=1"), std::string("http://127.0.0.1:8080#frag"),
        std::string(" http://127.0.0.1:8080"), std::string("http://127.0.0.1:8080 "),
        absl::StrCat("http://user:", kPassword, "@127.0.0.1:8080"), std::string("http://127.0.0.1:0"),
        std::string("http://127.0.0.1:65536")}) {
    Refusal refusal = RunExpectingExit({"--listen=127.0.0.1:0", "--upstream=" + upstream});
    EXPECT_FALSE(refusal.listened) << upstream;
    ASSERT_TRUE(refusal.exit.has_value()) << upstream;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << upstream << ": " << refusal.exit->ToString();
    EXPECT_THAT(refusal.stderr_text, HasSubstr("--upstream")) << upstream;
    EXPECT_THAT(refusal.stderr_text, Not(HasSubstr(kPassword)));
  }
}

TEST(StartupTest, TlsKeyThatDoesNotMatchTheCertificateIsRefused) {
  TlsFiles first("tls_first");
  TlsFiles second("tls_second");
  ASSERT_TRUE(first.ok() && second.ok()) << "openssl could not make certificates";
  Refusal mismatch = RunExpectingExit(
      {"--listen=127.0.0.1:0", "--tls_cert_file=" + first.cert(), "--tls_key_file=" + second.key()});
  ASSERT_TRUE(mismatch.exit.has_value());
  EXPECT_TRUE(mismatch.exit->ExitedWith(2)) << mismatch.exit->ToString();
  EXPECT_THAT(mismatch.stderr_text, HasSubstr("--tls_key_file does not match --tls_cert_file"));
  EXPECT_THAT(mismatch.stderr_text, Not(HasSubstr("BEGIN")));  // No key material.
}

TEST(StartupTest, UnreadableOrInvalidTlsFilesNameTheirFlag) {
  TlsFiles tls("tls_files");
  ASSERT_TRUE(tls.ok());
  const std::string garbage = tls.dir() + "/garbage.pem";
  std::ofstream(garbage) << "not a PEM file\n";
  struct Case {
    std::string cert, key, flag;
  };
  for (const Case& c : std::vector<Case>{{tls.dir() + "/missing.pem", tls.key(), "--tls_cert_file"},
                                         {garbage, tls.key(), "--tls_cert_file"},
                                         {tls.key(), tls.key(), "--tls_cert_file"},
                                         {tls.cert(), tls.dir() + "/missing.pem", "--tls_key_file"},
                                         {tls.cert(), garbage, "--tls_key_file"},
                                         {tls.cert(), tls.cert(), "--tls_key_file"}}) {
    Refusal refusal =
        RunExpectingExit({"--listen=127.0.0.1:0", "--tls_cert_file=" + c.cert, "--tls_key_file=" + c.key});
    ASSERT_TRUE(refusal.exit.has_value()) << c.cert << " " << c.key;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << c.cert << " " << c.key << ": " << refusal.exit->ToString();
    EXPECT_THAT(refusal.stderr_text, HasSubstr(c.flag + ": ")) << c.cert << " " << c.key;
  }
}

TEST(StartupTest, RealUpstreamWithoutCredentialsWarnsAndStillStarts) {
  const std::string upstream = absl::StrCat("--upstream=http://127.0.0.1:", testing::PickUnusedPort());
  auto bare = GatewayProcess::Start({upstream}, {{"GR4VY_BEARER_TOKEN", ""}});
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_THAT((*bare)->Stderr(), HasSubstr("warning: no upstream credentials"));

  auto with_token = GatewayProcess::Start({upstream}, {{"GR4VY_BEARER_TOKEN", "token-1"}});
  ASSERT_TRUE(with_token.ok()) << with_token.status();
  EXPECT_THAT((*with_token)->Stderr(), Not(HasSubstr("warning")));

  auto sandbox = GatewayProcess::Start({}, {{"GR4VY_BEARER_TOKEN", ""}});
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  EXPECT_THAT((*sandbox)->Stderr(), Not(HasSubstr("warning")));
}

TEST(StartupTest, ClientCaAndReloadIntervalAreChecked) {
  TlsFiles tls("tls_client_ca");
  ASSERT_TRUE(tls.ok());
  const std::string garbage = tls.dir() + "/garbage.pem";
  std::ofstream(garbage) << "not a PEM file\n";
  const std::vector<std::string> serving = {"--listen=127.0.0.1:0", "--tls_cert_file=" + tls.cert(),
                                            "--tls_key_file=" + tls.key()};
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  for (Case& c : std::vector<Case>{
           {{"--tls_client_ca_file=" + garbage}, "--tls_client_ca_file: " + garbage + " holds no PEM certificate"},
           {{"--tls_client_ca_file=" + tls.key()}, "--tls_client_ca_file: "},
           {{"--tls_client_ca_file=" + tls.dir() + "/missing.pem"}, "--tls_client_ca_file: cannot read"},
           {{"--tls_reload_interval=0s"}, "--tls_reload_interval must be from 1s to 24h"},
           {{"--tls_reload_interval=25h"}, "--tls_reload_interval must be from 1s to 24h"}}) {
    std::vector<std::string> args = serving;
    args.insert(args.end(), c.args.begin(), c.args.end());
    Refusal refusal = RunExpectingExit(args);
    EXPECT_FALSE(refusal.listened) << c.message;
    ASSERT_TRUE(refusal.exit.has_value()) << c.message;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << c.message << ": " << refusal.exit->ToString();
    EXPECT_THAT(refusal.stderr_text, HasSubstr(c.message));
  }
  // A client CA without a server certificate cannot ask for client ones.
  Refusal plaintext = RunExpectingExit({"--listen=127.0.0.1:0", "--tls_client_ca_file=" + tls.cert()});
  ASSERT_TRUE(plaintext.exit.has_value());
  EXPECT_TRUE(plaintext.exit->ExitedWith(2)) << plaintext.exit->ToString();
  EXPECT_THAT(plaintext.stderr_text, HasSubstr("--tls_client_ca_file needs --tls_cert_file and --tls_key_file"));
}

TEST(StartupTest, MetricsListenIsValidated) {
  for (const char* listen : {"127.0.0.1:99999", "127.0.0.1", "127.0.0.1:http", "a,127.0.0.1:1"}) {
    Refusal refusal = RunExpectingExit({"--listen=127.0.0.1:0", absl::StrCat("--metrics_listen=", listen)});
    EXPECT_FALSE(refusal.listened) << listen;
    ASSERT_TRUE(refusal.exit.has_value()) << listen;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << listen << ": " << refusal.exit->ToString();
    EXPECT_THAT(refusal.stderr_text, HasSubstr("--metrics_listen: ")) << listen;
  }
}

TEST(StartupTest, MetricsPortInUseIsRefused) {
  auto first = GatewayProcess::Start({"--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string log = (*first)->Stderr();
  const size_t at = log.find("metrics on http://");
  ASSERT_NE(at, std::string::npos) << log;
  const size_t start = at + std::string("metrics on http://").size();
  const std::string address = log.substr(start, log.find("/metrics", start) - start);
  Refusal second = RunExpectingExit({"--listen=127.0.0.1:0", "--metrics_listen=" + address});
  EXPECT_FALSE(second.listened);
  ASSERT_TRUE(second.exit.has_value()) << second.stderr_text;
  EXPECT_TRUE(second.exit->ExitedWith(1)) << second.exit->ToString();
  EXPECT_THAT(second.stderr_text, HasSubstr(absl::StrCat("--metrics_listen: ", address, " is already in use")));
}

TEST(StartupTest, AdmissionAndUpstreamLimitsMustBePositive) {
  for (const char* flag : {"--max_calls_in_flight=0", "--max_calls_waiting=0", "--max_upstream_connections=0",
                           "--upstream_event_loops=-1", "--upstream_event_loops=257"}) {
    Refusal refusal = RunExpectingExit({"--listen=127.0.0.1:0", flag});
    EXPECT_FALSE(refusal.listened) << flag;
    ASSERT_TRUE(refusal.exit.has_value()) << flag;
    EXPECT_TRUE(refusal.exit->ExitedWith(2)) << flag << ": " << refusal.exit->ToString();
    const std::string name(absl::string_view(flag).substr(0, absl::string_view(flag).find('=')));
    EXPECT_THAT(refusal.stderr_text, HasSubstr(name)) << flag;
  }
}

// absl's own parser would exit 1; the command-line wrapper makes every
// usage error exit 2, naming the flag.
TEST(StartupTest, AnUnknownLogFormatIsRefused) {
  Refusal refusal = RunExpectingExit({"--listen=127.0.0.1:0", "--log_format=xml"});
  EXPECT_FALSE(refusal.listened);
  ASSERT_TRUE(refusal.exit.has_value()) << refusal.stderr_text;
  EXPECT_TRUE(refusal.exit->ExitedWith(2)) << refusal.exit->ToString();
  EXPECT_THAT(refusal.stderr_text, HasSubstr("log_format"));
  EXPECT_THAT(refusal.stderr_text, HasSubstr("xml"));
}

}  // namespace
}  // namespace session_gateway
