// Hardening, end to end: upstream faults, limits, replicas under SIGTERM,
// secrets and TLS on both sides. Real binaries, loopback only, every call
// bounded by a deadline.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/read_file.h"
#include "gateway/gateway_process.h"
#include "gateway/tls_files.h"
#include "gmock/gmock.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "support/child_process.h"
#include "support/ports.h"
#include "support/stub_upstream.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::SessionService;
using testing::ChildProcess;
using testing::ChildProcessOptions;
using testing::GatewayProcess;
using testing::StubUpstream;
using testing::TlsFiles;
using ::testing::HasSubstr;

constexpr char kToken[] = "secret-token-d41d8cd98f00b204";

std::string FileContents(const std::string& path) {
  absl::StatusOr<std::string> contents = ReadFile(path);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.value_or("");
}

grpc::Status Call(SessionService::Stub& stub, const std::string& id, CreateSession* response,
                  std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id(id);
  return stub.CreatePaymentServiceDefinitionSession(&context, request, response);
}

// VmHWM of a process, in KiB.
int64_t PeakRssKiB(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "VmHWM:")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipEmpty());
      int64_t kib = 0;
      if (parts.size() >= 2 && absl::SimpleAtoi(parts[1], &kib)) return kib;
    }
  }
  return -1;
}

class UpstreamFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stub = StubUpstream::Start();
    ASSERT_TRUE(stub.ok()) << stub.status();
    upstream_ = *std::move(stub);
    auto gateway = GatewayProcess::Start({"--upstream=" + upstream_->base_url(), "--upstream_timeout=2s",
                                          "--max_response_bytes=1048576"},
                                         {{"GR4VY_BEARER_TOKEN", kToken}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    stub_ = gateway_->NewStub();
  }

  // Runs a call against `step` and checks its code, that it ended within
  // `bound`, and that a second, healthy call meanwhile succeeded.
  void ExpectFault(const std::string& step, grpc::StatusCode code, absl::string_view message_part,
                   std::chrono::milliseconds bound = std::chrono::milliseconds(4000)) {
    ASSERT_TRUE(upstream_->Script(absl::StrCat("[", step, "]")).ok());
    std::atomic<bool> done{false};
    grpc::Status faulty;
    auto started = std::chrono::steady_clock::now();
    std::thread caller([&] {
      CreateSession response;
      faulty = Call(*stub_, "mock-card", &response);
      done = true;
    });
    // The gateway keeps serving other calls meanwhile (the script queue is
    // empty now, so the stub answers this one normally).
    ASSERT_TRUE(upstream_->WaitForRequests(1, absl::Seconds(5)).ok());
    CreateSession healthy;
    grpc::Status other = Call(*stub_, "mock-card", &healthy, std::chrono::milliseconds(1500));
    caller.join();
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(other.ok()) << step << ": " << other.error_message();
    EXPECT_EQ(faulty.error_code(), code) << step << ": " << faulty.error_message();
    EXPECT_THAT(faulty.error_message(), HasSubstr(std::string(message_part))) << step;
    EXPECT_LT(took, bound) << step;
    ASSERT_TRUE(upstream_->Reset().ok());
  }

  std::unique_ptr<StubUpstream> upstream_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<SessionService::Stub> stub_;
};

TEST_F(UpstreamFaultTest, ClosesMidResponse) {
  ExpectFault(R"({"action":"truncate"})", grpc::StatusCode::UNAVAILABLE, "");
}

TEST_F(UpstreamFaultTest, SendsHeadersThenStalls) {
  ExpectFault(R"({"action":"headers_then_stall"})", grpc::StatusCode::DEADLINE_EXCEEDED, "deadline");
}

TEST_F(UpstreamFaultTest, DripsOneByteASecond) {
  ExpectFault(R"({"action":"drip","drip_interval_ms":1000})", grpc::StatusCode::DEADLINE_EXCEEDED, "deadline");
}

TEST_F(UpstreamFaultTest, ResetsTheConnection) {
  ExpectFault(R"({"action":"reset"})", grpc::StatusCode::UNAVAILABLE, "");
}

TEST_F(UpstreamFaultTest, AnswersWithTheWrongContentType) {
  ExpectFault(R"({"status":200,"body":"<html></html>","headers":{"content-type":"text/html"}})",
              grpc::StatusCode::INTERNAL, "text/html");
}

TEST_F(UpstreamFaultTest, HugeBodyIsBoundedAndMemoryStaysSmall) {
  // Measured as growth of the peak, since the starting size varies by build
  // (a sanitizer build starts far larger).
  const int64_t before = PeakRssKiB(gateway_->process().pid());
  ASSERT_GT(before, 0);
  ExpectFault(R"({"action":"huge","size_bytes":52428800})", grpc::StatusCode::RESOURCE_EXHAUSTED,
              "1048576");
  // The gateway never buffered the 50 MiB: its peak grew by far less.
  const int64_t peak = PeakRssKiB(gateway_->process().pid());
  EXPECT_LT(peak - before, 16 * 1024) << "peak RSS " << before << " KiB before, " << peak << " KiB after";
}

TEST(LimitsTest, RequestSizeAndJsonDepthAreEnforced) {
  auto upstream = StubUpstream::Start();
  ASSERT_TRUE(upstream.ok());
  auto gateway = GatewayProcess::Start({"--upstream=" + (*upstream)->base_url(), "--max_request_bytes=2048",
                                        "--max_json_depth=10"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = (*gateway)->NewStub();
  auto call = [&](const google::protobuf::Struct& body) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id("mock-card");
    *request.mutable_request_body() = body;
    CreateSession response;
    return stub->CreatePaymentServiceDefinitionSession(&context, request, &response);
  };
  google::protobuf::Struct big;
  (*big.mutable_fields())["pad"].set_string_value(std::string(4096, 'x'));
  EXPECT_EQ(call(big).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  google::protobuf::Struct deep;
  google::protobuf::Struct* level = &deep;
  for (int i = 0; i < 12; ++i) level = (*level->mutable_fields())["d"].mutable_struct_value();
  grpc::Status status = call(deep);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("$.request_body.d.d"));
  auto stats = (*upstream)->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->requests, 0);

  std::string nested = "1";
  for (int i = 0; i < 12; ++i) nested = "[" + nested + "]";
  ASSERT_TRUE((*upstream)->Script(absl::StrCat(R"([{"status":201,"body":"{\"status\":\"succeeded\",\"response_body\":{\"a\":)",
                                                nested, R"(}}"}])")).ok());
  status = call(google::protobuf::Struct());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), HasSubstr("deeper than the limit of 10"));
}

TEST(UpstreamDownTest, IsUnavailableThenRecoversWhenItComesBack) {
  int port = testing::PickUnusedPort();
  auto gateway = GatewayProcess::Start({absl::StrCat("--upstream=http://127.0.0.1:", port),
                                        "--initial_backoff=10ms"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = (*gateway)->NewStub();
  CreateSession response;
  EXPECT_EQ(Call(*stub, "mock-card", &response).error_code(), grpc::StatusCode::UNAVAILABLE);
  testing::StubUpstreamOptions options;
  options.port = port;
  auto upstream = StubUpstream::Start(options);
  ASSERT_TRUE(upstream.ok()) << upstream.status();
  grpc::Status status = Call(*stub, "mock-card", &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST(SecretsTest, TokensNeverAppearInLogsErrorsOrDetails) {
  auto upstream = StubUpstream::Start();
  ASSERT_TRUE(upstream.ok());
  auto gateway = GatewayProcess::Start({"--upstream=" + (*upstream)->base_url(), "--upstream_timeout=500ms"},
                                       {{"GR4VY_BEARER_TOKEN", kToken}});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = (*gateway)->NewStub();
  ASSERT_TRUE((*upstream)->Script(R"([{"status":401,"json":{"message":"bad credentials"}},
      {"status":500,"body":"oops"},{"action":"reset"},{"action":"hang"},{"status":201,"body":"{"}])").ok());
  std::string everything;
  for (const char* id : {"mock-card", "mock-card", "mock-card", "mock-card", "mock-card", "../x", "ok"}) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id(id);
    CreateSession response;
    grpc::Status status = stub->CreatePaymentServiceDefinitionSession(&context, request, &response);
    absl::StrAppend(&everything, status.error_message(), status.error_details());
    for (const auto& [key, value] : context.GetServerTrailingMetadata()) {
      absl::StrAppend(&everything, std::string(key.data(), key.size()), std::string(value.data(), value.size()));
    }
  }
  auto seen = (*upstream)->Requests();
  ASSERT_TRUE(seen.ok());
  ASSERT_FALSE(seen->empty());
  EXPECT_EQ((*seen)[0].Header("authorization"), absl::StrCat("Bearer ", kToken));  // It was used...
  EXPECT_THAT(everything, ::testing::Not(HasSubstr(kToken)));                      // ...never shown.
  std::string log = (*gateway)->Stderr();
  EXPECT_THAT(log, HasSubstr("grpc_code=UNAUTHENTICATED"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(kToken)));
}

std::unique_ptr<ChildProcess> StartSandbox(const std::vector<std::string>& extra, std::string* base_url) {
  ChildProcessOptions options;
  options.path = SESSION_SANDBOX_PATH;
  options.args = {"--listen=127.0.0.1:0"};
  options.args.insert(options.args.end(), extra.begin(), extra.end());
  auto process = ChildProcess::Start(options);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return nullptr;
  auto line = (*process)->ReadLineMatching("listening on ", absl::Seconds(10));
  EXPECT_TRUE(line.ok()) << line.status();
  if (!line.ok()) return nullptr;
  *base_url = std::string(absl::StripAsciiWhitespace(line->substr(std::string("listening on ").size())));
  return *std::move(process);
}

TEST(TransportSecurityTest, HttpsUpstreamIsVerifiedAgainstTheConfiguredCa) {
  TlsFiles tls;
  ASSERT_TRUE(tls.ok()) << "openssl could not make a certificate";
  std::string address;
  auto sandbox = StartSandbox({"--tls_cert_file=" + tls.cert(), "--tls_key_file=" + tls.key()}, &address);
  ASSERT_NE(sandbox, nullptr);
  const std::string upstream = "--upstream=https://" + address;

  auto untrusted = GatewayProcess::Start({upstream});
  ASSERT_TRUE(untrusted.ok()) << untrusted.status();
  CreateSession response;
  grpc::Status status = Call(*(*untrusted)->NewStub(), "mock-card", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(absl::AsciiStrToLower(status.error_message()), HasSubstr("certificate"));

  auto trusted = GatewayProcess::Start({upstream, "--upstream_ca_file=" + tls.cert()});
  ASSERT_TRUE(trusted.ok()) << trusted.status();
  status = Call(*(*trusted)->NewStub(), "mock-card", &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(response.response_body().fields().at("sandbox").bool_value());
}

TEST(TransportSecurityTest, GatewayServesTlsToARealTlsClient) {
  TlsFiles tls;
  ASSERT_TRUE(tls.ok());
  auto gateway = GatewayProcess::Start({"--tls_cert_file=" + tls.cert(), "--tls_key_file=" + tls.key()});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = FileContents(tls.cert());
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto channel = grpc::CreateCustomChannel((*gateway)->address(), grpc::SslCredentials(ssl), args);
  auto stub = SessionService::NewStub(channel);
  CreateSession response;
  grpc::Status status = Call(*stub, "mock-card", &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  // A plaintext client cannot talk to it.
  auto plaintext = SessionService::NewStub((*gateway)->channel());
  EXPECT_FALSE(Call(*plaintext, "mock-card", &response, std::chrono::milliseconds(1000)).ok());
}

// Two replicas behind a round_robin client; one gets SIGTERM mid-load. The
// shutting-down replica finishes its calls in flight and new calls go to
// the other: no call is lost.
TEST(ReplicaTest, SigtermOnOneReplicaLosesNoCall) {
  std::string sandbox_url;
  auto sandbox = StartSandbox({}, &sandbox_url);
  ASSERT_NE(sandbox, nullptr);
  auto first = GatewayProcess::Start({"--upstream=http://" + sandbox_url, "--shutdown_grace=5s"});
  auto second = GatewayProcess::Start({"--upstream=http://" + sandbox_url, "--shutdown_grace=5s"});
  ASSERT_TRUE(first.ok() && second.ok());
  grpc::ChannelArguments args;
  args.SetLoadBalancingPolicyName("round_robin");
  auto channel = grpc::CreateCustomChannel(
      absl::StrCat("ipv4:", (*first)->address(), ",", (*second)->address()),
      grpc::InsecureChannelCredentials(), args);
  auto stub = SessionService::NewStub(channel);

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::string first_failure;
  std::mutex failure_mu;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      while (!stop) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        context.set_wait_for_ready(true);
        CreatePaymentServiceDefinitionSessionRequest request;
        request.set_payment_service_definition_id("sandbox-slow-100ms");
        CreateSession response;
        grpc::Status status = stub->CreatePaymentServiceDefinitionSession(&context, request, &response);
        if (status.ok()) {
          ++ok;
        } else {
          ++failed;
          std::lock_guard<std::mutex> lock(failure_mu);
          if (first_failure.empty()) first_failure = status.error_message();
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE((*first)->process().Signal(SIGTERM).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  for (auto& worker : workers) worker.join();
  auto exit = (*first)->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 20);
  // Both replicas served calls before the SIGTERM.
  EXPECT_THAT((*first)->Stderr(), HasSubstr("grpc_code=OK"));
  EXPECT_THAT((*second)->Stderr(), HasSubstr("grpc_code=OK"));
}

}  // namespace
}  // namespace session_gateway
