// End-to-end: the real session-gateway binary, a real gRPC client, and the
// stub upstream as a separate HTTP server process on 127.0.0.1. What needs
// the whole binary stays here: the real HTTP path and the call log line,
// deadlines reaching the upstream connection, JWT flags, reflection through
// buf curl, SIGTERM, the built-in sandbox and the command line. Forwarding
// logic (headers, validation, status mapping, retries, cancellation) is
// tested in-process in forwarder_test.cc.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/read_file.h"
#include "gateway/gateway_process.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "support/ports.h"
#include "support/jwt_verifier.h"
#include "support/stub_upstream.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreatePaymentServiceSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::UpstreamError;
using testing::GatewayProcess;
using testing::StubUpstream;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPaymentServiceId[] = "46973e9d-88a7-44a6-abfe-be4ff0134ff4";
constexpr char kToken[] = "test-token-7f3a9c";

std::string FileContents(const std::string& path) {
  absl::StatusOr<std::string> contents = session_gateway::ReadFile(path);
  EXPECT_TRUE(contents.ok()) << contents.status();
  return contents.value_or("");
}

std::string Metadata(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                     const std::string& key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
}

// The "scopes" claim of the bearer JWT in `authorization`, after checking
// its signature with the test key.
std::vector<std::string> JwtScopes(const std::string& authorization) {
  std::vector<std::string> scopes;
  EXPECT_THAT(authorization, StartsWith("Bearer "));
  if (!absl::StartsWith(authorization, "Bearer ")) return scopes;
  absl::StatusOr<std::string> claims = testing::VerifyEs512Jwt(
      authorization.substr(7), FileContents(std::string(SESSION_GATEWAY_JWT_TESTDATA_DIR) + "/ec_p521_public.pem"));
  EXPECT_TRUE(claims.ok()) << claims.status();
  if (!claims.ok()) return scopes;
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(*claims, &parsed).ok()) << *claims;
  for (const auto& scope : parsed.fields().at("scopes").list_value().values()) {
    scopes.push_back(scope.string_value());
  }
  return scopes;
}

UpstreamError DetailOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  UpstreamError error;
  if (rpc.ParseFromString(status.error_details()) && rpc.details_size() > 0) {
    rpc.details(0).UnpackTo(&error);
  }
  return error;
}

class GatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stub = StubUpstream::Start();
    ASSERT_TRUE(stub.ok()) << stub.status();
    upstream_ = *std::move(stub);
  }

  // Starts a gateway in front of the stub with `extra` flags.
  void StartGateway(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--upstream=" + upstream_->base_url(),
                                      "--merchant_account_id=flag-merchant"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = GatewayProcess::Start(args, {{"GR4VY_BEARER_TOKEN", kToken}});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    stub_ = gateway_->NewStub();
  }

  grpc::Status CreateForService(grpc::ClientContext* context, const CreatePaymentServiceSessionRequest& request,
                                CreateSession* response) {
    if (context->deadline() == std::chrono::system_clock::time_point::max()) {
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    }
    return stub_->CreatePaymentServiceSession(context, request, response);
  }

  grpc::Status CreateForDefinition(const std::string& id, CreateSession* response,
                                   grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) context = &local;
    if (context->deadline() == std::chrono::system_clock::time_point::max()) {
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    }
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id(id);
    return stub_->CreatePaymentServiceDefinitionSession(context, request, response);
  }

  int64_t UpstreamRequests() {
    auto stats = upstream_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? stats->requests : -1;
  }

  std::unique_ptr<StubUpstream> upstream_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> stub_;
};

TEST_F(GatewayTest, CreatesASessionAndSendsTheRightRequest) {
  StartGateway();
  ASSERT_TRUE(upstream_->Script(R"([{"status":201,"json":{"type":"payment-service-session",
      "status":"succeeded","code":null,"status_code":201,"response_body":{"sessionId":"12345","n":[1,2.5]}}}])")
                  .ok());
  CreatePaymentServiceSessionRequest request;
  request.set_payment_service_id(kPaymentServiceId);
  (*request.mutable_request_body()->mutable_fields())["amount"].set_number_value(1299);
  grpc::ClientContext context;
  context.AddMetadata("x-request-id", "caller-request-1");
  CreateSession response;
  grpc::Status status = CreateForService(&context, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.type(), "payment-service-session");
  EXPECT_EQ(response.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_FALSE(response.has_code());
  EXPECT_EQ(response.status_code(), 201);
  EXPECT_EQ(response.response_body().fields().at("sessionId").string_value(), "12345");
  EXPECT_EQ(Metadata(context.GetServerInitialMetadata(), "x-request-id"), "caller-request-1");
  EXPECT_EQ(Metadata(context.GetServerTrailingMetadata(), "x-gateway-attempts"), "1");

  auto seen = upstream_->WaitForRequests(1, absl::Seconds(5));
  ASSERT_TRUE(seen.ok()) << seen.status();
  const auto& r = (*seen)[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.path, absl::StrCat("/payment-services/", kPaymentServiceId, "/sessions"));
  EXPECT_EQ(r.body, R"({"amount":1299})");
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("accept"), "application/json");
  EXPECT_EQ(r.Header("authorization"), absl::StrCat("Bearer ", kToken));
  EXPECT_EQ(r.Header("x-gr4vy-merchant-account-id"), "flag-merchant");
  EXPECT_EQ(r.Header("x-request-id"), "caller-request-1");
  EXPECT_THAT(r.Header("user-agent"), StartsWith("session-gateway/"));
  // One log line per call, without the token or the body.
  std::string log = gateway_->Stderr();
  EXPECT_THAT(log, HasSubstr("request_id=caller-request-1 upstream_status=201 grpc_code=OK attempts=1"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr(kToken)));
}

TEST_F(GatewayTest, SlowUpstreamIsDeadlineExceededAndTheUpstreamRequestIsCancelled) {
  StartGateway({"--upstream_timeout=300ms"});
  ASSERT_TRUE(upstream_->Script(R"([{"action":"hang"},{"action":"hang"}])").ok());
  CreateSession response;
  grpc::ClientContext context;  // No caller deadline: the gateway's own applies.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(CreateForDefinition("mock-card", &response, &context).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // The caller's own, shorter deadline: the gateway abandons the upstream
  // request, which the stub sees as its connection closing.
  grpc::ClientContext short_context;
  short_context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  EXPECT_EQ(CreateForDefinition("mock-card", &response, &short_context).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  int64_t open = -1;
  for (int i = 0; i < 50 && open != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto stats = upstream_->Stats();
    ASSERT_TRUE(stats.ok());
    open = stats->open_connections;
  }
  EXPECT_EQ(open, 0);
}

TEST_F(GatewayTest, SignsAJwtWhenGivenAPrivateKeyAndReusesItForTheSameScopes) {
  const std::string dir = SESSION_GATEWAY_JWT_TESTDATA_DIR;
  StartGateway({"--private_key_file=" + dir + "/ec_p521_private.pem"});
  CreateSession response;
  ASSERT_TRUE(CreateForDefinition("mock-card", &response).ok());
  CreatePaymentServiceSessionRequest service_request;
  service_request.set_payment_service_id(kPaymentServiceId);
  grpc::ClientContext context;
  ASSERT_TRUE(CreateForService(&context, service_request, &response).ok());
  auto seen = upstream_->WaitForRequests(2, absl::Seconds(5));
  ASSERT_TRUE(seen.ok());
  // Each RPC's token carries exactly the scopes its REST operation
  // requires, from the proto's (gr4vy.rest.v1.method) option.
  for (const auto& r : *seen) EXPECT_THAT(JwtScopes(r.Header("authorization")), ElementsAre("transactions.write"));
  std::string public_key = FileContents(dir + "/ec_p521_public.pem");
  std::vector<std::string> tokens;
  for (const auto& request : *seen) {
    std::string authorization = request.Header("authorization");
    ASSERT_THAT(authorization, StartsWith("Bearer "));
    tokens.push_back(authorization.substr(7));
    absl::StatusOr<std::string> claims = testing::VerifyEs512Jwt(tokens.back(), public_key);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_THAT(*claims, HasSubstr("\"scopes\":["));
    EXPECT_THAT(*claims, HasSubstr("\"jti\":"));
  }
  // Both operations need the same scopes, and the second call comes well
  // within the first half of the token's lifetime: the signed token is
  // reused rather than signed again (see CachingTokenSource).
  EXPECT_EQ(tokens[0], tokens[1]);
}

TEST_F(GatewayTest, JwtScopesFlagOverridesTheScopesOfEveryCall) {
  const std::string dir = SESSION_GATEWAY_JWT_TESTDATA_DIR;
  StartGateway({"--private_key_file=" + dir + "/ec_p521_private.pem", "--jwt_scopes=*.read, *.write"});
  CreateSession response;
  ASSERT_TRUE(CreateForDefinition("mock-card", &response).ok());
  CreatePaymentServiceSessionRequest request;
  request.set_payment_service_id(kPaymentServiceId);
  grpc::ClientContext context;
  ASSERT_TRUE(CreateForService(&context, request, &response).ok());
  auto seen = upstream_->WaitForRequests(2, absl::Seconds(5));
  ASSERT_TRUE(seen.ok());
  for (const auto& r : *seen) EXPECT_THAT(JwtScopes(r.Header("authorization")), ElementsAre("*.read", "*.write"));
}

TEST_F(GatewayTest, BufCurlListsDescribesAndCallsThroughReflection) {
  const std::string buf = SESSION_GATEWAY_BUF;
  if (buf.empty()) GTEST_SKIP() << "buf not configured (scripts/test.sh sets it)";
  StartGateway();
  auto run = [&](const std::string& args) {
    std::string out = absl::StrCat(::testing::TempDir(), "/buf_curl_", getpid(), ".out");
    std::string command = absl::StrCat(buf, " curl --http2-prior-knowledge --protocol grpc ", args,
                                       " > ", out, " 2>&1");
    int rc = std::system(command.c_str());
    return std::make_pair(rc, FileContents(out));
  };
  const std::string url = "http://" + gateway_->address();
  // The RPCs are served raw (bytes in, bytes out), yet reflection still
  // lists the service and describes its schema: the JSON call below only
  // works because buf fetched the request and response types through it.
  auto [rc, listed] = run(url + " --list-methods");
  EXPECT_EQ(rc, 0) << listed;
  for (const char* method : {"gr4vy.sessions.v1.SessionService/CreatePaymentServiceSession",
                             "gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession",
                             "grpc.health.v1.Health/Check"}) {
    EXPECT_THAT(listed, HasSubstr(method));
  }
  auto [rc2, called] = run(absl::StrCat(
      "-d '{\"payment_service_definition_id\":\"mock-card\",\"request_body\":{\"a\":1}}' ", url,
      "/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession"));
  EXPECT_EQ(rc2, 0) << called;
  EXPECT_THAT(called, HasSubstr("\"sessionId\": \"stub-1\""));
  auto [rc3, health] = run(url + "/grpc.health.v1.Health/Check");
  EXPECT_EQ(rc3, 0) << health;
  EXPECT_THAT(health, HasSubstr("SERVING"));
  auto [rc4, rejected] = run(absl::StrCat("-d '{\"payment_service_definition_id\":\"../x\"}' ", url,
                                          "/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession"));
  EXPECT_NE(rc4, 0);
  EXPECT_THAT(rejected, HasSubstr("invalid_argument"));
}

TEST_F(GatewayTest, SigtermLetsCallsInFlightFinish) {
  StartGateway({"--shutdown_grace=5s"});
  ASSERT_TRUE(upstream_->Script(R"([{"delay_ms":800}])").ok());
  auto in_flight = std::async(std::launch::async, [&] {
    CreateSession response;
    return CreateForDefinition("mock-card", &response);
  });
  ASSERT_TRUE(upstream_->WaitForRequests(1, absl::Seconds(5)).ok());
  ASSERT_TRUE(gateway_->process().Signal(SIGTERM).ok());
  grpc::Status status = in_flight.get();
  EXPECT_TRUE(status.ok()) << status.error_message();
  auto exit = gateway_->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
}

TEST(GatewaySandboxTest, WithoutUpstreamItServesTheBuiltInSandbox) {
  auto gateway = GatewayProcess::Start({});
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  auto stub = (*gateway)->NewStub();
  auto call = [&](const std::string& id, CreateSession* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id(id);
    (*request.mutable_request_body()->mutable_fields())["amount"].set_number_value(1299);
    return stub->CreatePaymentServiceDefinitionSession(&context, request, response);
  };
  CreateSession response;
  grpc::Status status = call("mock-card", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_THAT(response.response_body().fields().at("sessionId").string_value(), StartsWith("sbx_"));
  EXPECT_EQ(response.response_body().fields().at("request").struct_value().fields().at("amount").number_value(),
            1299);
  EXPECT_THAT((*gateway)->Stderr(), HasSubstr("no real payment service is called"));

  status = call("sandbox-fail-503", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(DetailOf(status).http_status(), 503);
  status = call("sandbox-fail-404", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  status = call("sandbox-failed-session", &response);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(response.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_FAILED);
  EXPECT_EQ(response.code(), "UNKNOWN_ERROR");
  EXPECT_EQ(call("sandbox-invalid-json", &response).error_code(), grpc::StatusCode::INTERNAL);
}

// --help, --version and bad flags, for every binary users run.
TEST(BinaryUsabilityTest, HelpVersionAndBadFlags) {
  struct Binary {
    std::string path;
    std::vector<std::string> flags;
  };
  const std::vector<Binary> binaries = {
      {SESSION_GATEWAY_PATH, {"--listen", "--upstream", "--upstream_timeout", "--max_request_bytes",
                              "--retry_on_status", "--private_key_file", "--merchant_account_id",
                              "SESSION_GATEWAY_UPSTREAM"}},
      {SESSION_SANDBOX_PATH, {"--listen", "--threads"}},
      {SESSION_CONVERT_PATH, {"--message", "--from", "--to", "--strict"}},
  };
  auto run = [](const std::string& command) {
    std::string out = absl::StrCat(::testing::TempDir(), "/usability_", getpid(), ".out");
    int rc = std::system((command + " > " + out + " 2>&1 < /dev/null").c_str());
    return std::make_pair(WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, FileContents(out));
  };
  for (const Binary& binary : binaries) {
    auto [help_rc, help] = run(binary.path + " --help");
    EXPECT_EQ(help_rc, 0) << binary.path;
    for (const std::string& flag : binary.flags) EXPECT_THAT(help, HasSubstr(flag)) << binary.path;
    EXPECT_THAT(help, HasSubstr("default: ")) << binary.path;
    auto [version_rc, version] = run(binary.path + " --version");
    EXPECT_EQ(version_rc, 0);
    EXPECT_THAT(version, HasSubstr("0.1.0"));
    auto [unknown_rc, unknown] = run(binary.path + " --no_such_flag=1");
    EXPECT_EQ(unknown_rc, 2) << binary.path;
    EXPECT_THAT(unknown, HasSubstr("--no_such_flag"));
  }
  auto [bad_rc, bad] = run(std::string(SESSION_GATEWAY_PATH) + " --upstream_timeout=soon");
  EXPECT_EQ(bad_rc, 2);
  EXPECT_THAT(bad, HasSubstr("--upstream_timeout"));
  auto [bad_url_rc, bad_url] = run(std::string(SESSION_GATEWAY_PATH) + " --upstream=ftp://x");
  EXPECT_EQ(bad_url_rc, 2);
  EXPECT_THAT(bad_url, HasSubstr("--upstream"));
  auto [env_rc, env] = run("SESSION_GATEWAY_MAX_ATTEMPTS=zero " + std::string(SESSION_GATEWAY_PATH));
  EXPECT_EQ(env_rc, 2);
  EXPECT_THAT(env, HasSubstr("SESSION_GATEWAY_MAX_ATTEMPTS"));
}

}  // namespace
}  // namespace session_gateway
