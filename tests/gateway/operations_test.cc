// Operating the real session-gateway binary: SIGHUP re-reads the upstream
// credential files (and never stops the process), and --tls_client_ca_file
// admits only callers with a certificate from that CA. Loopback only;
// every wait is bounded.
#include <signal.h>
#include <stdio.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/gateway_process.h"
#include "gateway/test_ca.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "support/stub_upstream.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::GatewayProcess;
using testing::ReadTextFile;
using testing::StubUpstream;
using testing::TestCa;
using ::testing::HasSubstr;
using ::testing::Not;

// Replaces `path` at once, as an operator's tooling should: a gateway
// reading it mid-write must never see half a file.
void WriteFileAtomically(const std::string& path, const std::string& contents) {
  const std::string next = path + ".next";
  std::ofstream(next, std::ios::binary | std::ios::trunc) << contents;
  ASSERT_EQ(rename(next.c_str(), path.c_str()), 0) << path;
}

// Waits until the gateway's stderr holds `text` `count` times.
bool WaitForStderr(const GatewayProcess& gateway, const std::string& text, int count = 1) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    const std::string log = gateway.Stderr();
    int found = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++found;
    if (found >= count) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return false;
}

void Call(const GatewayProcess& gateway) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("mock-card");
  CreateSession response;
  grpc::Status status = gateway.NewStub()->CreatePaymentServiceDefinitionSession(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// The Authorization header of the upstream request number `index` (0-based).
std::string AuthorizationOf(StubUpstream& stub, size_t index) {
  auto seen = stub.WaitForRequests(index + 1, absl::Seconds(5));
  EXPECT_TRUE(seen.ok()) << seen.status();
  if (!seen.ok() || seen->size() <= index) return "";
  return (*seen)[index].Header("authorization");
}

// The "kid" of a "Bearer <JWT>" header: which key signed it.
std::string KeyIdOf(const std::string& authorization) {
  std::vector<std::string> parts = absl::StrSplit(authorization.substr(std::string("Bearer ").size()), '.');
  std::string header;
  if (parts.size() != 3 || !absl::WebSafeBase64Unescape(parts[0], &header)) return "not a JWT";
  const size_t kid = header.find("\"kid\":\"");
  if (kid == std::string::npos) return "no kid";
  const size_t start = kid + 7;
  return header.substr(start, header.find('"', start) - start);
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stub = StubUpstream::Start();
    ASSERT_TRUE(stub.ok()) << stub.status();
    stub_ = *std::move(stub);
  }
  std::string Dir() const { return ::testing::TempDir(); }

  std::unique_ptr<StubUpstream> stub_;
};

TEST_F(ReloadTest, SighupRereadsTheBearerTokenFileAndABadFileKeepsTheOldToken) {
  const std::string token_file = absl::StrCat(Dir(), "/token_", getpid());
  WriteFileAtomically(token_file, "token-one\n");
  auto gateway = GatewayProcess::Start({"--upstream=" + stub_->base_url(), "--bearer_token_file=" + token_file});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Call(**gateway);
  EXPECT_EQ(AuthorizationOf(*stub_, 0), "Bearer token-one");

  WriteFileAtomically(token_file, "token-two\n");
  ASSERT_TRUE((*gateway)->process().Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitForStderr(**gateway, "SIGHUP: upstream credentials re-read")) << (*gateway)->Stderr();
  Call(**gateway);
  EXPECT_EQ(AuthorizationOf(*stub_, 1), "Bearer token-two");

  // An empty file is a mistake, not "no credentials": keep token-two.
  WriteFileAtomically(token_file, "");
  ASSERT_TRUE((*gateway)->process().Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitForStderr(**gateway, "SIGHUP: keeping the previous upstream credentials: --bearer_token_file"))
      << (*gateway)->Stderr();
  Call(**gateway);
  EXPECT_EQ(AuthorizationOf(*stub_, 2), "Bearer token-two");
  EXPECT_THAT((*gateway)->Stderr(), Not(HasSubstr("token-one")));
  EXPECT_THAT((*gateway)->Stderr(), Not(HasSubstr("token-two")));
  EXPECT_FALSE((*gateway)->process().exited());
}

TEST_F(ReloadTest, SighupRereadsThePrivateKeyFile) {
  const std::string testdata = SESSION_GATEWAY_JWT_TESTDATA_DIR;
  const std::string key_file = absl::StrCat(Dir(), "/api_key_", getpid(), ".pem");
  WriteFileAtomically(key_file, ReadTextFile(testdata + "/ec_p521_private.pem"));
  auto gateway = GatewayProcess::Start({"--upstream=" + stub_->base_url(), "--private_key_file=" + key_file});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  Call(**gateway);
  const std::string first_kid = KeyIdOf(AuthorizationOf(*stub_, 0));
  EXPECT_EQ(first_kid, std::string(absl::StripAsciiWhitespace(ReadTextFile(testdata + "/ec_p521_kid.txt"))));

  WriteFileAtomically(key_file, ReadTextFile(testdata + "/other_p521_private.pem"));
  ASSERT_TRUE((*gateway)->process().Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitForStderr(**gateway, "SIGHUP: upstream credentials re-read")) << (*gateway)->Stderr();
  Call(**gateway);
  const std::string second_kid = KeyIdOf(AuthorizationOf(*stub_, 1));
  EXPECT_NE(second_kid, first_kid);
  EXPECT_NE(second_kid, "not a JWT");

  // Not a key (an RSA key is not the API's P-521 key): keep signing with
  // the one in use, and say so without quoting the file.
  const std::string wrong = ReadTextFile(testdata + "/rsa_private.pem");
  WriteFileAtomically(key_file, wrong);
  ASSERT_TRUE((*gateway)->process().Signal(SIGHUP).ok());
  ASSERT_TRUE(WaitForStderr(**gateway, "SIGHUP: keeping the previous upstream credentials: --private_key_file"))
      << (*gateway)->Stderr();
  Call(**gateway);
  EXPECT_EQ(KeyIdOf(AuthorizationOf(*stub_, 2)), second_kid);
  EXPECT_THAT((*gateway)->Stderr(), Not(HasSubstr("PRIVATE KEY")));
}

TEST(SighupTest, WithoutCredentialFilesSighupIsHarmless) {
  auto gateway = GatewayProcess::Start({"--shutdown_grace=1s"});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  for (int i = 1; i <= 2; ++i) {
    ASSERT_TRUE((*gateway)->process().Signal(SIGHUP).ok());
    ASSERT_TRUE(WaitForStderr(**gateway, "SIGHUP: no --private_key_file or --bearer_token_file to re-read", i))
        << (*gateway)->Stderr();
  }
  Call(**gateway);
  EXPECT_FALSE((*gateway)->process().exited());
  auto exit = (*gateway)->process().Terminate(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
}

// One health check over a new TLS connection to `address`.
grpc::Status TlsHealthCheck(const std::string& address, const std::string& root_file,
                            const std::optional<TestCa::Leaf>& client) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadTextFile(root_file);
  if (client.has_value()) {
    tls.pem_cert_chain = ReadTextFile(client->cert);
    tls.pem_private_key = ReadTextFile(client->key);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckRequest request;
  request.set_service("gr4vy.sessions.v1.SessionService");
  HealthCheckResponse response;
  return Health::NewStub(channel)->Check(&context, request, &response);
}

TEST(MutualTlsTest, TheGatewayAdmitsOnlyCallersSignedByTheClientCa) {
  TestCa servers("gw_servers");
  TestCa callers("gw_callers");
  TestCa strangers("gw_strangers");
  ASSERT_TRUE(servers.ok() && callers.ok() && strangers.ok());
  auto server = servers.Issue("gateway");
  auto caller = callers.Issue("caller");
  auto stranger = strangers.Issue("stranger");
  ASSERT_TRUE(server && caller && stranger);
  auto gateway = GatewayProcess::Start({"--tls_cert_file=" + server->cert, "--tls_key_file=" + server->key,
                                        "--tls_client_ca_file=" + callers.cert()});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  const std::string address = (*gateway)->address();
  grpc::Status admitted = TlsHealthCheck(address, servers.cert(), caller);
  EXPECT_TRUE(admitted.ok()) << admitted.error_message();
  EXPECT_EQ(TlsHealthCheck(address, servers.cert(), std::nullopt).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(TlsHealthCheck(address, servers.cert(), stranger).error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace session_gateway
