// The forwarder in-process: a real gRPC server on 127.0.0.1 (GatewayServer
// with SessionService) and a generated stub, with a FakeHttpClient in
// place of the upstream, so each test chooses every upstream answer and
// sees every request sent, on its own thread.
#include "gateway/forwarder.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iterator>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/executor.h"
#include "gateway/fake_http_client.h"
#include "gateway/gateway_metrics.h"
#include "gateway/gateway_server.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "rapidjson/document.h"
#include "support/manual_executor.h"
#include "upstream/token_source.h"

namespace session_gateway {
namespace gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreatePaymentServiceSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::SessionService;
using gr4vy::sessions::v1::UpstreamError;
using testing::FakeHttpClient;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

constexpr char kUpstream[] = "http://upstream.test/base";
constexpr char kPaymentServiceId[] = "46973e9d-88a7-44a6-abfe-be4ff0134ff4";
constexpr char kConfiguredToken[] = "Bearer configured-token";
constexpr char kSession[] =
    R"({"type":"payment-service-session","status":"succeeded","status_code":201,"response_body":{"sessionId":"s-1"}})";

// A TokenSource that records the scopes each call asked for.
class RecordingTokenSource : public upstream::TokenSource {
 public:
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time,
                                                  absl::Span<const std::string> scopes) const override {
    absl::MutexLock lock(&mu_);
    scopes_.emplace_back(scopes.begin(), scopes.end());
    return std::string(kConfiguredToken);
  }
  std::vector<std::vector<std::string>> scopes() const {
    absl::MutexLock lock(&mu_);
    return scopes_;
  }

 private:
  mutable absl::Mutex mu_;
  mutable std::vector<std::vector<std::string>> scopes_ ABSL_GUARDED_BY(mu_);
};

// One call in flight from the test's point of view: started on the
// stub's callback API, so that the test thread stays free to answer the
// upstream request.
struct PendingCall {
  grpc::ClientContext context;
  CreatePaymentServiceSessionRequest service_request;
  CreatePaymentServiceDefinitionSessionRequest definition_request;
  CreateSession response;
  std::promise<grpc::Status> done;
  std::future<grpc::Status> result = done.get_future();

  // A call still in flight when its test ends (one held upstream while
  // others are shed) is cancelled and waited for: gRPC writes into this
  // object when the call finishes.
  ~PendingCall() {
    if (result.valid() && result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      context.TryCancel();
      result.wait();
    }
  }

  grpc::Status Wait() { return result.get(); }
  std::string InitialMetadata(const std::string& key) const { return Find(context.GetServerInitialMetadata(), key); }
  std::string TrailingMetadata(const std::string& key) const { return Find(context.GetServerTrailingMetadata(), key); }

  static std::string Find(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata, const std::string& key) {
    auto it = metadata.find(key);
    return it == metadata.end() ? "" : std::string(it->second.data(), it->second.size());
  }
};

UpstreamError DetailOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  UpstreamError error;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  if (rpc.details_size() > 0) {
    EXPECT_TRUE(rpc.details(0).UnpackTo(&error));
  }
  return error;
}

google::rpc::BadRequest BadRequestOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  google::rpc::BadRequest bad_request;
  if (rpc.ParseFromString(status.error_details()) && rpc.details_size() > 0) rpc.details(0).UnpackTo(&bad_request);
  return bad_request;
}

// The google.rpc.ErrorInfo among a failed call's details (empty if none).
google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  google::rpc::ErrorInfo info;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  for (const auto& detail : rpc.details()) {
    if (detail.UnpackTo(&info)) break;
  }
  return info;
}

// Polls `condition` for up to 5 s: for state that settles just after the
// caller has its answer (a call's admission slot is freed when its reactor
// is deleted, after gRPC has sent the status).
bool WaitUntil(const std::function<bool()>& condition) {
  for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end;) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return condition();
}

// The value of the counter or gauge `family`{`labels`} (labels exactly
// those), read through Registry::Collect() as a scrape would; -1 if there
// is no such series.
double MetricValue(const GatewayMetrics& metrics, const std::string& family,
                   const std::map<std::string, std::string>& labels = {}) {
  for (const prometheus::MetricFamily& f : metrics.registry()->Collect()) {
    if (f.name != family) continue;
    for (const prometheus::ClientMetric& metric : f.metric) {
      std::map<std::string, std::string> have;
      for (const prometheus::ClientMetric::Label& label : metric.label) have[label.name] = label.value;
      if (have != labels) continue;
      if (f.type == prometheus::MetricType::Counter) return metric.counter.value;
      if (f.type == prometheus::MetricType::Gauge) return metric.gauge.value;
    }
  }
  return -1;
}

// Sends fd 2, where the forwarder's CallLogSink writes its lines, to a
// temporary file while alive, so a test can read the lines its calls gave.
// The forwarder writes a call's line before finishing the call, so every
// line of a call whose caller has its status is in the file.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()), saved_(dup(STDERR_FILENO)) {
    EXPECT_NE(file_, nullptr);
    EXPECT_GE(saved_, 0);
    std::fflush(stderr);
    if (file_ != nullptr) {
      EXPECT_GE(dup2(fileno(file_), STDERR_FILENO), 0);
    }
  }
  ~StderrCapture() {
    Stop();
    if (file_ != nullptr) std::fclose(file_);
  }

  // Restores fd 2 and returns everything written to it meanwhile.
  std::string Stop() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      EXPECT_GE(dup2(saved_, STDERR_FILENO), 0);
      close(saved_);
      saved_ = -1;
      if (file_ != nullptr) {
        std::rewind(file_);
        char buffer[4096];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0) text_.append(buffer, n);
      }
    }
    return text_;
  }

 private:
  std::FILE* file_;
  int saved_;
  std::string text_;
};

// The lines of `text` that are JSON objects (the call log's, in JSON; gRPC
// may log to stderr too, never in JSON).
std::vector<std::string> JsonLines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "{")) lines.emplace_back(line);
  }
  return lines;
}

// The text call log's lines in `text`.
std::vector<std::string> TextCallLines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StrContains(line, "session-gateway: call ")) lines.emplace_back(line);
  }
  return lines;
}

class ForwarderTest : public ::testing::Test {
 protected:
  ForwarderTest() {
    options_.listen = "127.0.0.1:0";
    options_.forwarder.upstream_base = kUpstream;
    options_.forwarder.user_agent = "session-gateway/test";
    options_.forwarder.default_headers["x-gr4vy-merchant-account-id"] = "flag-merchant";
    options_.forwarder.log_calls = false;
    options_.forwarder.retry.initial_backoff = absl::Milliseconds(1);
    options_.forwarder.retry.max_backoff = absl::Milliseconds(1);
  }

  ~ForwarderTest() override {
    // Calls still waiting on the upstream must end before the server can
    // shut down; the real client answers a cancelled exchange likewise.
    http_.CompleteAllPending(FakeHttpClient::Failure(absl::CancelledError("test over"), true));
    if (manual_ != nullptr) manual_->RunAll();
    server_.reset();
  }

  // Starts the server; call after adjusting options_ (and executor_).
  void StartServer() {
    absl::StatusOr<std::unique_ptr<GatewayServer>> server =
        GatewayServer::Start(options_, {&http_, tokens_ ? &tokens_.value() : nullptr, executor_, metrics_.get()});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = SessionService::NewStub(channel_);
  }

  std::unique_ptr<PendingCall> NewCall() {
    auto call = std::make_unique<PendingCall>();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return call;
  }

  // Starts CreatePaymentServiceSession with `call->service_request`.
  void StartService(PendingCall* call) {
    stub_->async()->CreatePaymentServiceSession(&call->context, &call->service_request, &call->response,
                                                [call](grpc::Status status) { call->done.set_value(status); });
  }

  // Starts CreatePaymentServiceDefinitionSession for `id` (unless the
  // request was filled in already).
  void StartDefinition(PendingCall* call, const std::string& id = "mock-card") {
    if (call->definition_request.payment_service_definition_id().empty()) {
      call->definition_request.set_payment_service_definition_id(id);
    }
    stub_->async()->CreatePaymentServiceDefinitionSession(
        &call->context, &call->definition_request, &call->response,
        [call](grpc::Status status) { call->done.set_value(status); });
  }

  // Starts a definition call (for "mock-card" unless its request was
  // filled in), answers its one upstream exchange with `result` and returns
  // the status the caller saw.
  grpc::Status DefinitionAnsweredWith(upstream::HttpResult result, PendingCall* call) {
    const size_t exchange = http_.exchanges();
    StartDefinition(call);
    EXPECT_TRUE(http_.WaitForExchanges(exchange + 1));
    http_.Complete(exchange, std::move(result));
    return call->Wait();
  }

  // A call the gateway must refuse before sending anything upstream.
  grpc::Status Refused(PendingCall* call) {
    grpc::Status status = call->Wait();
    EXPECT_EQ(http_.exchanges(), 0u);
    return status;
  }

  GatewayOptions options_;
  FakeHttpClient http_;
  InlineExecutor inline_executor_;
  testing::ManualExecutor manual_executor_;  // For tests that run tasks themselves.
  Executor* executor_ = &inline_executor_;
  testing::ManualExecutor* manual_ = nullptr;
  std::optional<upstream::StaticTokenSource> tokens_{std::in_place, "configured-token"};
  // Passed to the forwarder when set before StartServer().
  std::unique_ptr<GatewayMetrics> metrics_;
  std::unique_ptr<GatewayServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SessionService::Stub> stub_;
};

// --- The request sent upstream ---

TEST_F(ForwarderTest, SendsTheRouteBodyAndHeadersAndReturnsTheSession) {
  StartServer();
  auto call = NewCall();
  call->service_request.set_payment_service_id(kPaymentServiceId);
  (*call->service_request.mutable_request_body()->mutable_fields())["amount"].set_number_value(1299);
  call->context.AddMetadata("x-request-id", "caller-request-1");
  StartService(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  const upstream::HttpRequest request = http_.request(0);
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, absl::StrCat(kUpstream, "/payment-services/", kPaymentServiceId, "/sessions"));
  EXPECT_EQ(request.body, R"({"amount":1299})");
  EXPECT_EQ(http_.header(0, "content-type"), "application/json");
  EXPECT_EQ(http_.header(0, "accept"), "application/json");
  EXPECT_EQ(http_.header(0, "user-agent"), "session-gateway/test");
  EXPECT_EQ(http_.header(0, "authorization"), kConfiguredToken);
  EXPECT_EQ(http_.header(0, "x-gr4vy-merchant-account-id"), "flag-merchant");
  EXPECT_EQ(http_.header(0, "x-request-id"), "caller-request-1");
  http_.Complete(0, FakeHttpClient::Response(201, kSession));
  grpc::Status status = call->Wait();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(call->response.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(call->response.response_body().fields().at("sessionId").string_value(), "s-1");
  EXPECT_EQ(call->InitialMetadata("x-request-id"), "caller-request-1");
  EXPECT_EQ(call->TrailingMetadata("x-gateway-attempts"), "1");
}

TEST_F(ForwarderTest, GeneratesAUuidRequestIdAndAnAbsentBodyIsAnEmptyObject) {
  StartServer();
  auto call = NewCall();
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
  const std::string id = call->InitialMetadata("x-request-id");
  EXPECT_THAT(id, MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_EQ(http_.header(0, "x-request-id"), id);
  EXPECT_EQ(http_.request(0).url, absl::StrCat(kUpstream, "/payment-service-definitions/mock-card/sessions"));
  EXPECT_EQ(http_.request(0).body, "{}");
}

TEST_F(ForwarderTest, AnInvalidCallerRequestIdIsRefusedAndAFreshOneEchoed) {
  StartServer();
  auto call = NewCall();
  call->context.AddMetadata("x-request-id", std::string(129, 'a'));
  StartDefinition(call.get());
  grpc::Status status = Refused(call.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), "x-request-id");
  EXPECT_EQ(call->InitialMetadata("x-request-id").size(), 36u);
}

TEST_F(ForwarderTest, MerchantAccountComesFromTheFieldThenMetadataThenTheDefault) {
  StartServer();
  auto field = NewCall();
  field->service_request.set_payment_service_id(kPaymentServiceId);
  field->service_request.set_merchant_account_id("field-merchant");
  field->context.AddMetadata("x-gr4vy-merchant-account-id", "meta-merchant");
  auto metadata = NewCall();
  metadata->service_request.set_payment_service_id(kPaymentServiceId);
  metadata->context.AddMetadata("x-gr4vy-merchant-account-id", "meta-merchant");
  auto neither = NewCall();
  neither->service_request.set_payment_service_id(kPaymentServiceId);
  for (PendingCall* call : {field.get(), metadata.get(), neither.get()}) {
    const size_t n = http_.exchanges() + 1;
    StartService(call);
    ASSERT_TRUE(http_.WaitForExchanges(n));
    http_.Complete(n - 1, FakeHttpClient::Response(201, kSession));
    ASSERT_TRUE(call->Wait().ok());
  }
  EXPECT_EQ(http_.header(0, "x-gr4vy-merchant-account-id"), "field-merchant");
  EXPECT_EQ(http_.header(1, "x-gr4vy-merchant-account-id"), "meta-merchant");
  EXPECT_EQ(http_.header(2, "x-gr4vy-merchant-account-id"), "flag-merchant");
}

TEST_F(ForwarderTest, DefinitionRouteSendsNoMerchantAccountHeader) {
  StartServer();
  auto call = NewCall();
  call->context.AddMetadata("x-gr4vy-merchant-account-id", "meta-merchant");
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
  EXPECT_EQ(http_.header(0, "x-gr4vy-merchant-account-id"), "");
}

TEST_F(ForwarderTest, CallerAuthorizationWinsAndBlankAuthorizationIsIgnored) {
  StartServer();
  struct Case {
    std::string metadata;
    std::string sent;
  };
  const std::vector<Case> cases = {
      {"Bearer caller-token", "Bearer caller-token"}, {"", kConfiguredToken}, {"   ", kConfiguredToken}};
  for (size_t i = 0; i < cases.size(); ++i) {
    auto call = NewCall();
    call->context.AddMetadata("authorization", cases[i].metadata);
    ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
    EXPECT_EQ(http_.header(i, "authorization"), cases[i].sent) << "\"" << cases[i].metadata << "\"";
  }
}

TEST_F(ForwarderTest, WithoutCredentialsOnlyTheCallersAuthorizationIsSent) {
  tokens_.reset();
  StartServer();
  auto call = NewCall();
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
  EXPECT_EQ(http_.header(0, "authorization"), "");
}

TEST_F(ForwarderTest, EachCallAsksTheTokenSourceForItsOperationsScopes) {
  tokens_.reset();
  RecordingTokenSource recording;
  absl::StatusOr<std::unique_ptr<GatewayServer>> server =
      GatewayServer::Start(options_, {&http_, &recording, executor_});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  stub_ = SessionService::NewStub(grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  auto definition = NewCall();
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), definition.get()).ok());
  auto service = NewCall();
  service->service_request.set_payment_service_id(kPaymentServiceId);
  StartService(service.get());
  ASSERT_TRUE(http_.WaitForExchanges(2));
  http_.Complete(1, FakeHttpClient::Response(201, kSession));
  ASSERT_TRUE(service->Wait().ok());
  EXPECT_THAT(recording.scopes(), ElementsAre(ElementsAre("transactions.write"), ElementsAre("transactions.write")));
  EXPECT_EQ(http_.header(1, "authorization"), kConfiguredToken);
}

// --- Requests refused before anything is sent ---

TEST_F(ForwarderTest, HostileInputIsInvalidArgumentAndNeverSent) {
  StartServer();
  for (const std::string& id : {std::string("../buyers"), std::string("a/b"), std::string("%2F"),
                                std::string("x?y"), std::string("x#y"), std::string("x\r\ny"), std::string("")}) {
    auto call = NewCall();
    call->definition_request.set_payment_service_definition_id(id);
    if (id.empty()) {
      stub_->async()->CreatePaymentServiceDefinitionSession(
          &call->context, &call->definition_request, &call->response,
          [c = call.get()](grpc::Status status) { c->done.set_value(status); });
    } else {
      StartDefinition(call.get());
    }
    grpc::Status status = Refused(call.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << id;
    EXPECT_THAT(status.error_message(), StartsWith("$.payment_service_definition_id: ")) << id;
    EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), "$.payment_service_definition_id") << id;
  }
  auto not_uuid = NewCall();
  not_uuid->service_request.set_payment_service_id("not-a-uuid");
  StartService(not_uuid.get());
  EXPECT_EQ(Refused(not_uuid.get()).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_metadata = NewCall();
  bad_metadata->service_request.set_payment_service_id(kPaymentServiceId);
  bad_metadata->context.AddMetadata("x-gr4vy-merchant-account-id", "bad value with spaces");
  StartService(bad_metadata.get());
  EXPECT_EQ(Refused(bad_metadata.get()).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ForwarderTest, DefinitionRequestSettingMerchantAccountIsRejected) {
  StartServer();
  auto call = NewCall();
  call->definition_request.set_payment_service_definition_id("mock-card");
  // Through reflection: the generated setter is deprecated, as it should be.
  call->definition_request.GetReflection()->SetString(
      &call->definition_request, call->definition_request.GetDescriptor()->FindFieldByName("merchant_account_id"),
      "default");
  StartDefinition(call.get());
  grpc::Status status = Refused(call.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "$.merchant_account_id: the API's create_payment_service_definition_session operation "
            "takes no merchant account id");
  EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), "$.merchant_account_id");
}

// A request whose body is `levels` objects deep: {"d":{"d":...{"d":1}}}.
CreatePaymentServiceDefinitionSessionRequest Nested(int levels) {
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("mock-card");
  google::protobuf::Struct* level = request.mutable_request_body();
  for (int i = 1; i < levels; ++i) level = (*level->mutable_fields())["d"].mutable_struct_value();
  (*level->mutable_fields())["d"].set_number_value(1);
  return request;
}

TEST_F(ForwarderTest, BodiesNestedUpToMaxJsonDepthAreForwarded) {
  StartServer();  // max_json_depth defaults to 100.
  // 34 levels is what gRPC's own parser (protobuf's limit of 100 messages)
  // answered with an empty UNIMPLEMENTED.
  for (int levels : {34, 100}) {
    auto call = NewCall();
    call->definition_request = Nested(levels);
    grpc::Status status = DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get());
    EXPECT_TRUE(status.ok()) << levels << ": " << status.error_code() << " " << status.error_message();
  }
  EXPECT_THAT(http_.request(1).body, StartsWith(R"({"d":{"d":{"d":)"));
}

TEST_F(ForwarderTest, DeeperBodiesAreInvalidArgumentNamingThePath) {
  options_.forwarder.max_json_depth = 20;
  StartServer();
  std::string path = "$.request_body";
  for (int i = 0; i < 20; ++i) path += ".d";
  for (int levels : {21, 500}) {
    auto call = NewCall();
    call->definition_request = Nested(levels);
    StartDefinition(call.get());
    grpc::Status status = Refused(call.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << levels;
    EXPECT_EQ(status.error_message(), absl::StrCat(path, ": is nested deeper than --max_json_depth (20 levels)"));
    EXPECT_EQ(BadRequestOf(status).field_violations(0).field(), path);
  }
  // Arrays cost protobuf less per level, so they reach the route's own
  // check, which names the path too.
  auto arrays = NewCall();
  arrays->definition_request = Nested(1);
  google::protobuf::Value* value = &(*arrays->definition_request.mutable_request_body()->mutable_fields())["a"];
  for (int i = 0; i < 21; ++i) value = value->mutable_list_value()->add_values();
  value->set_number_value(1);
  StartDefinition(arrays.get());
  grpc::Status status = Refused(arrays.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("$.request_body.a[0][0]"));
}

TEST_F(ForwarderTest, AnEmptyRequestIsAnEmptyMessage) {
  StartServer();
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession",
                    grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status status) { done.set_value(std::move(status)); });
  grpc::Status status = done.get_future().get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "$.payment_service_definition_id: must not be empty");
  EXPECT_EQ(http_.exchanges(), 0u);
}

// --- Status mapping ---

TEST_F(ForwarderTest, MapsEveryHttpErrorStatusAndKeepsTheApiError) {
  StartServer();
  const std::pair<int, grpc::StatusCode> table[] = {
      {400, grpc::StatusCode::INVALID_ARGUMENT},  {401, grpc::StatusCode::UNAUTHENTICATED},
      {403, grpc::StatusCode::PERMISSION_DENIED}, {404, grpc::StatusCode::NOT_FOUND},
      {405, grpc::StatusCode::UNIMPLEMENTED},     {409, grpc::StatusCode::ABORTED},
      {425, grpc::StatusCode::UNAVAILABLE},       {429, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {500, grpc::StatusCode::INTERNAL},          {501, grpc::StatusCode::UNIMPLEMENTED},
      {502, grpc::StatusCode::UNAVAILABLE},       {503, grpc::StatusCode::UNAVAILABLE},
      {504, grpc::StatusCode::DEADLINE_EXCEEDED}, {418, grpc::StatusCode::FAILED_PRECONDITION},
      {507, grpc::StatusCode::UNKNOWN},
  };
  for (const auto& [http, code] : table) {
    auto call = NewCall();
    call->context.AddMetadata("x-request-id", absl::StrCat("req-", http));
    grpc::Status status = DefinitionAnsweredWith(
        FakeHttpClient::Response(http, absl::StrCat(R"({"type":"error","code":"code_)", http, R"(","status":)", http,
                                                    R"(,"message":"message )", http,
                                                    R"(","details":[{"location":"body","pointer":"/x"}]})")),
        call.get());
    EXPECT_EQ(status.error_code(), code) << http;
    EXPECT_EQ(status.error_message(), absl::StrCat("message ", http));
    UpstreamError error = DetailOf(status);
    EXPECT_EQ(error.http_status(), http);
    EXPECT_EQ(error.code(), absl::StrCat("code_", http));
    ASSERT_EQ(error.details_size(), 1);
    EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/x");
    EXPECT_EQ(error.attempts(), 1);
    EXPECT_EQ(error.request_id(), absl::StrCat("req-", http));
  }
}

TEST_F(ForwarderTest, ValidationErrorShapeIsCarried) {
  StartServer();
  auto call = NewCall();
  grpc::Status status = DefinitionAnsweredWith(
      FakeHttpClient::Response(
          422, R"({"detail":[{"loc":["body","x"],"msg":"field required","type":"value_error.missing"}]})"),
      call.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "field required");
  EXPECT_EQ(DetailOf(status).details(0).fields().at("type").string_value(), "value_error.missing");
}

TEST_F(ForwarderTest, AnUnreadableSuccessIsInternalAndCarriesTheBody) {
  StartServer();
  struct Case {
    upstream::HttpResult result;
    std::string message_part;
  };
  const std::string wrong_type = R"({"status":"succeeded","status_code":"201"})";
  const std::vector<Case> cases = {
      {FakeHttpClient::Response(201, wrong_type), "$.status_code: expected an integer, got a string"},
      {FakeHttpClient::Response(200, "not json"), "$: "},
      {FakeHttpClient::Response(200, "{}", {{"content-type", "text/html"}}), "text/html"},
  };
  for (const Case& c : cases) {
    auto call = NewCall();
    grpc::Status status = DefinitionAnsweredWith(c.result, call.get());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << c.message_part;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message_part));
    UpstreamError error = DetailOf(status);
    EXPECT_EQ(error.http_status(), c.result.response.status);
    // The API may have created a session: its exact text reaches the caller.
    EXPECT_EQ(error.body_text(), c.result.response.body);
  }
}

TEST_F(ForwarderTest, SuccessfulResponsesAreReadLeniently) {
  StartServer();
  auto call = NewCall();
  grpc::Status status = DefinitionAnsweredWith(
      FakeHttpClient::Response(
          200, R"({"type":"payment-service-session","status":"pending","statusCode":200,"extra":1})"),
      call.get());
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(call->response.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(call->response.status_code(), 200);
}

TEST_F(ForwarderTest, TransportFailuresMapToTheirCodes) {
  StartServer();
  const std::pair<absl::Status, grpc::StatusCode> table[] = {
      {absl::UnavailableError("connection reset"), grpc::StatusCode::UNAVAILABLE},
      {absl::DeadlineExceededError("timed out"), grpc::StatusCode::DEADLINE_EXCEEDED},
      {absl::ResourceExhaustedError("response larger than 1048576 bytes"), grpc::StatusCode::RESOURCE_EXHAUSTED},
  };
  for (const auto& [failure, code] : table) {
    auto call = NewCall();
    grpc::Status status = DefinitionAnsweredWith(FakeHttpClient::Failure(failure, true), call.get());
    EXPECT_EQ(status.error_code(), code) << failure;
    EXPECT_EQ(DetailOf(status).http_status(), 0);
  }
}

// --- Retries and deadlines ---

TEST_F(ForwarderTest, AFailureAfterSendingIsNotRetriedByDefault) {
  StartServer();
  auto reset = NewCall();
  grpc::Status status =
      DefinitionAnsweredWith(FakeHttpClient::Failure(absl::UnavailableError("reset"), true), reset.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(reset->TrailingMetadata("x-gateway-attempts"), "1");
  auto busy = NewCall();
  status = DefinitionAnsweredWith(FakeHttpClient::Response(503, R"({"message":"busy"})"), busy.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(http_.exchanges(), 2u);
}

TEST_F(ForwarderTest, AConnectionThatFailedBeforeSendingIsRetriedUpToMaxAttempts) {
  StartServer();  // max_attempts 3.
  auto call = NewCall();
  StartDefinition(call.get());
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(http_.WaitForExchanges(i + 1));
    EXPECT_EQ(http_.request(i).url, http_.request(0).url);
    http_.Complete(i, FakeHttpClient::Failure(absl::UnavailableError("connection refused"), false));
  }
  grpc::Status status = call->Wait();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(call->TrailingMetadata("x-gateway-attempts"), "3");
  EXPECT_EQ(DetailOf(status).attempts(), 3);
  EXPECT_EQ(http_.exchanges(), 3u);
}

TEST_F(ForwarderTest, WithRetryOnStatusRetryableAnswersAreRetriedWithTheSameRequest) {
  options_.forwarder.retry.retry_on_status = true;
  options_.forwarder.retry.max_attempts = 4;
  StartServer();
  auto call = NewCall();
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  http_.Complete(0, FakeHttpClient::Response(503, R"({"message":"busy"})"));
  ASSERT_TRUE(http_.WaitForExchanges(2));
  http_.Complete(1, FakeHttpClient::Response(429, R"({"message":"slow down"})"));
  ASSERT_TRUE(http_.WaitForExchanges(3));
  http_.Complete(2, FakeHttpClient::Response(201, kSession));
  grpc::Status status = call->Wait();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(call->TrailingMetadata("x-gateway-attempts"), "3");
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(http_.request(i).body, http_.request(0).body);
    EXPECT_EQ(http_.header(i, "x-request-id"), http_.header(0, "x-request-id"));
    EXPECT_EQ(http_.header(i, "authorization"), kConfiguredToken);
  }
}

TEST_F(ForwarderTest, RetriesStopAtMaxAttemptsWithTheLastAnswer) {
  options_.forwarder.retry.retry_on_status = true;
  options_.forwarder.retry.max_attempts = 2;
  StartServer();
  auto call = NewCall();
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  http_.Complete(0, FakeHttpClient::Response(503, R"({"message":"busy"})"));
  ASSERT_TRUE(http_.WaitForExchanges(2));
  http_.Complete(1, FakeHttpClient::Response(502, R"({"message":"bad gateway"})"));
  grpc::Status status = call->Wait();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "bad gateway");
  EXPECT_EQ(DetailOf(status).attempts(), 2);
  EXPECT_EQ(http_.exchanges(), 2u);
}

TEST_F(ForwarderTest, NoRetryWhenItsBackoffOrRetryAfterWouldPassTheDeadline) {
  options_.forwarder.retry.retry_on_status = true;
  options_.forwarder.retry.max_backoff = absl::Seconds(60);  // Retry-After is capped by it.
  StartServer();
  // Retry-After: 60 against a caller deadline of 30 s: the answer is final,
  // although the configured backoff (1 ms) alone would have retried.
  auto call = NewCall();
  grpc::Status status = DefinitionAnsweredWith(
      FakeHttpClient::Response(429, R"({"message":"slow down"})",
                               {{"content-type", "application/json"}, {"retry-after", "60"}}),
      call.get());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(call->TrailingMetadata("x-gateway-attempts"), "1");
  EXPECT_EQ(http_.exchanges(), 1u);
}

TEST_F(ForwarderTest, TheUpstreamDeadlineIsTheSoonerOfTheCallersAndUpstreamTimeout) {
  options_.forwarder.upstream_timeout = absl::Seconds(5);
  StartServer();
  auto gateway_bound = NewCall();  // Caller deadline 30 s.
  const absl::Time before = absl::Now();
  StartDefinition(gateway_bound.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  EXPECT_GE(http_.request(0).deadline, before + absl::Seconds(5));
  EXPECT_LE(http_.request(0).deadline, absl::Now() + absl::Seconds(5));
  http_.Complete(0, FakeHttpClient::Failure(absl::DeadlineExceededError("timed out"), true));
  grpc::Status status = gateway_bound->Wait();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(status.error_message(), HasSubstr("upstream did not answer before the deadline"));

  auto caller_bound = NewCall();
  const auto caller_deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  caller_bound->context.set_deadline(caller_deadline);
  StartDefinition(caller_bound.get());
  ASSERT_TRUE(http_.WaitForExchanges(2));
  // The caller's 2 s, as the server received it (relative, so a little
  // later than the client's clock says), not the gateway's 5 s.
  EXPECT_LT(http_.request(1).deadline, absl::FromChrono(caller_deadline) + absl::Seconds(2));
  http_.Complete(1, FakeHttpClient::Response(201, kSession));
  caller_bound->Wait();
}

// --- Cancellation ---

TEST_F(ForwarderTest, ACancelledCallCancelsItsUpstreamRequest) {
  StartServer();
  auto call = NewCall();
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  call->context.TryCancel();
  EXPECT_EQ(call->Wait().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(http_.WaitForCancel(0));
  // The client answers a cancelled exchange; the call then ends, unretried.
  http_.Complete(0, FakeHttpClient::Failure(absl::CancelledError("cancelled"), true));
  EXPECT_EQ(http_.exchanges(), 1u);
}

TEST_F(ForwarderTest, ACallPastItsDeadlineCancelsItsUpstreamRequest) {
  StartServer();
  auto call = NewCall();
  call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  EXPECT_EQ(call->Wait().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  ASSERT_TRUE(http_.WaitForCancel(0));
  http_.Complete(0, FakeHttpClient::Failure(absl::CancelledError("cancelled"), true));
}

TEST_F(ForwarderTest, AnAnswerArrivingAfterCancellationIsNotSentAndNotRetried) {
  options_.forwarder.retry.retry_on_status = true;
  StartServer();
  auto call = NewCall();
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  call->context.TryCancel();
  ASSERT_TRUE(http_.WaitForCancel(0));
  // The answer raced the cancellation: still no retry.
  http_.Complete(0, FakeHttpClient::Response(503, R"({"message":"busy"})"));
  EXPECT_EQ(call->Wait().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(http_.exchanges(), 1u);
}

// --- Where responses are decoded ---

TEST_F(ForwarderTest, TheHttpCallbackOnlyHandsTheResultToTheExecutor) {
  executor_ = &manual_executor_;
  manual_ = &manual_executor_;
  StartServer();
  auto call = NewCall();
  StartDefinition(call.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  // A 1 MiB session: the callback (on the HTTP client's loop, here the
  // test's thread) returns without decoding it...
  const std::string big = absl::StrCat(R"({"type":"payment-service-session","status":"succeeded","response_body":{"pad":")",
                                       std::string(1 << 20, 'x'), R"("}})");
  http_.Complete(0, FakeHttpClient::Response(201, big));
  EXPECT_EQ(manual_executor_.pending(), 1u);
  EXPECT_EQ(call->result.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  // ...and the executor decodes it and finishes the call.
  manual_executor_.RunAll();
  grpc::Status status = call->Wait();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(call->response.response_body().fields().at("pad").string_value().size(), size_t{1} << 20);
}

TEST_F(ForwarderTest, CallsFinishOnAThreadPool) {
  ThreadPoolExecutor pool(2);
  executor_ = &pool;
  StartServer();
  std::vector<std::unique_ptr<PendingCall>> calls;
  for (int i = 0; i < 20; ++i) {
    calls.push_back(NewCall());
    StartDefinition(calls.back().get());
  }
  ASSERT_TRUE(http_.WaitForExchanges(calls.size()));
  for (size_t i = 0; i < calls.size(); ++i) {
    http_.Complete(i, i % 2 == 0 ? FakeHttpClient::Response(201, kSession)
                                 : FakeHttpClient::Response(404, R"({"message":"no such thing"})"));
  }
  int ok = 0, not_found = 0;
  for (auto& call : calls) {
    grpc::Status status = call->Wait();
    ok += status.ok();
    not_found += status.error_code() == grpc::StatusCode::NOT_FOUND;
  }
  EXPECT_EQ(ok, 10);
  EXPECT_EQ(not_found, 10);
  server_.reset();  // Before the pool goes.
}

// --- Overload: admission control ---

// A shed call's status: UNAVAILABLE saying the gateway is overloaded and
// naming `flag`, with an ErrorInfo naming `limit`.
void ExpectShed(const grpc::Status& status, const std::string& flag, const std::string& limit) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("session-gateway is overloaded"));
  EXPECT_THAT(status.error_message(), HasSubstr(flag));
  const google::rpc::ErrorInfo info = ErrorInfoOf(status);
  EXPECT_EQ(info.reason(), "OVERLOADED");
  EXPECT_EQ(info.domain(), "session-gateway");
  ASSERT_EQ(info.metadata().count("limit"), 1u);
  EXPECT_EQ(info.metadata().at("limit"), limit);
}

TEST_F(ForwarderTest, ACallBeyondMaxCallsInFlightIsShedAtOnceWithoutAnUpstreamRequest) {
  options_.forwarder.admission.max_calls_in_flight = 2;
  StartServer();
  auto first = NewCall();
  auto second = NewCall();
  // One after the other, so that exchange 0 is the first call's.
  StartDefinition(first.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  StartDefinition(second.get());
  ASSERT_TRUE(http_.WaitForExchanges(2));
  auto third = NewCall();
  StartDefinition(third.get());
  // Answered while both upstream requests are still unanswered: shed, not
  // queued (a queued call would wait for its 30 s deadline).
  ASSERT_EQ(third->result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  ExpectShed(third->Wait(), "--max_calls_in_flight", "calls_in_flight");
  EXPECT_EQ(http_.exchanges(), 2u);
  EXPECT_EQ(third->InitialMetadata("x-request-id").size(), 36u);
  EXPECT_EQ(server_->forwarder().admission().stats().shed_calls_in_flight, 1u);

  // Answering a held call frees its slot, and the next call is admitted.
  http_.Complete(0, FakeHttpClient::Response(201, kSession));
  ASSERT_TRUE(first->Wait().ok());
  ASSERT_TRUE(WaitUntil([this] { return server_->forwarder().admission().calls_in_flight() < 2; }));
  auto fourth = NewCall();
  StartDefinition(fourth.get());
  ASSERT_TRUE(http_.WaitForExchanges(3));
  http_.Complete(2, FakeHttpClient::Response(201, kSession));
  grpc::Status admitted = fourth->Wait();
  EXPECT_TRUE(admitted.ok()) << admitted.error_message();
}

TEST_F(ForwarderTest, InDerivedModeACallBeyondMaxCallsWaitingIsShed) {
  // One upstream connection: the first request holds it, the second waits
  // for it, which is max_calls_waiting.
  options_.forwarder.admission.upstream_connections = 1;
  options_.forwarder.admission.max_calls_waiting = 1;
  StartServer();
  auto first = NewCall();
  auto second = NewCall();
  // One after the other, so that exchange 0 is the first call's.
  StartDefinition(first.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  StartDefinition(second.get());
  ASSERT_TRUE(http_.WaitForExchanges(2));
  auto third = NewCall();
  StartDefinition(third.get());
  ASSERT_EQ(third->result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  ExpectShed(third->Wait(), "--max_calls_waiting", "calls_waiting");
  EXPECT_EQ(http_.exchanges(), 2u);

  // An answered request stops counting at once (in the HTTP callback), so
  // nothing waits any more and the next call is admitted.
  http_.Complete(0, FakeHttpClient::Response(201, kSession));
  ASSERT_TRUE(first->Wait().ok());
  auto fourth = NewCall();
  StartDefinition(fourth.get());
  ASSERT_TRUE(http_.WaitForExchanges(3));
  http_.Complete(2, FakeHttpClient::Response(201, kSession));
  EXPECT_TRUE(fourth->Wait().ok());
}

// --- Trace context ---

constexpr char kCallerTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerSpanId[] = "00f067aa0ba902b7";
constexpr char kCallerTraceState[] = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";

TEST_F(ForwarderTest, AValidTraceparentIsContinuedAsAChildSpanWithItsTracestate) {
  StartServer();
  auto call = NewCall();
  // Flags 00 (not sampled) differ from the 01 of a new trace: kept, not reset.
  call->context.AddMetadata("traceparent", absl::StrCat("00-", kCallerTraceId, "-", kCallerSpanId, "-00"));
  call->context.AddMetadata("tracestate", kCallerTraceState);
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
  const std::string traceparent = http_.header(0, "traceparent");
  ASSERT_THAT(traceparent, MatchesRegex(absl::StrCat("00-", kCallerTraceId, "-[0-9a-f]{16}-00")));
  EXPECT_NE(traceparent.substr(36, 16), kCallerSpanId);
  EXPECT_NE(traceparent.substr(36, 16), std::string(16, '0'));
  EXPECT_EQ(http_.header(0, "tracestate"), kCallerTraceState);
}

TEST_F(ForwarderTest, WithoutTraceparentEachCallStartsANewSampledTrace) {
  StartServer();
  auto first = NewCall();
  // A tracestate alone belongs to no trace: dropped.
  first->context.AddMetadata("tracestate", kCallerTraceState);
  auto second = NewCall();
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), first.get()).ok());
  ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), second.get()).ok());
  const std::string one = http_.header(0, "traceparent");
  const std::string two = http_.header(1, "traceparent");
  EXPECT_EQ(one.size(), 55u);
  EXPECT_THAT(one, MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"));
  EXPECT_THAT(two, MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-01"));
  EXPECT_NE(one.substr(3, 32), std::string(32, '0'));
  EXPECT_NE(one.substr(3, 32), two.substr(3, 32));
  EXPECT_EQ(http_.header(0, "tracestate"), "");
}

TEST_F(ForwarderTest, AnInvalidTraceparentStartsANewTraceAndDropsTracestate) {
  StartServer();
  const std::string invalid[] = {
      absl::StrCat("00-", absl::AsciiStrToUpper(kCallerTraceId), "-", kCallerSpanId, "-01"),
      absl::StrCat("00-", std::string(32, '0'), "-", kCallerSpanId, "-01"),
  };
  for (size_t i = 0; i < std::size(invalid); ++i) {
    auto call = NewCall();
    call->context.AddMetadata("traceparent", invalid[i]);
    call->context.AddMetadata("tracestate", kCallerTraceState);
    ASSERT_TRUE(DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get()).ok());
    const std::string traceparent = http_.header(i, "traceparent");
    EXPECT_THAT(traceparent, MatchesRegex("00-[0-9a-f]{32}-[0-9a-f]{16}-01")) << invalid[i];
    EXPECT_NE(traceparent.substr(3, 32), kCallerTraceId) << invalid[i];
    EXPECT_NE(traceparent.substr(3, 32), std::string(32, '0')) << invalid[i];
    EXPECT_EQ(http_.header(i, "tracestate"), "") << invalid[i];
  }
}

// --- Metrics ---

TEST_F(ForwarderTest, MetricsCountAnOkCallAndAShedCall) {
  constexpr char kMethod[] = "CreatePaymentServiceDefinitionSession";
  metrics_ = std::make_unique<GatewayMetrics>(
      std::vector<std::string>{kMethod, "CreatePaymentServiceSession"});
  options_.forwarder.admission.max_calls_in_flight = 1;
  StartServer();
  auto held = NewCall();
  StartDefinition(held.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  auto shed = NewCall();
  StartDefinition(shed.get());
  ASSERT_EQ(shed->Wait().error_code(), grpc::StatusCode::UNAVAILABLE);
  http_.Complete(0, FakeHttpClient::Response(201, kSession));
  ASSERT_TRUE(held->Wait().ok());

  const GatewayMetrics& metrics = *metrics_;
  EXPECT_EQ(MetricValue(metrics, "session_gateway_calls_total", {{"method", kMethod}, {"code", "OK"}}), 1);
  EXPECT_EQ(MetricValue(metrics, "session_gateway_calls_total", {{"method", kMethod}, {"code", "UNAVAILABLE"}}),
            1);
  EXPECT_EQ(MetricValue(metrics, "session_gateway_calls_shed_total", {{"method", kMethod}}), 1);
  EXPECT_EQ(MetricValue(metrics, "session_gateway_upstream_responses_total", {{"status", "201"}}), 1);
  EXPECT_EQ(MetricValue(metrics, "session_gateway_upstream_attempts_total"), 1);
  EXPECT_EQ(MetricValue(metrics, "session_gateway_upstream_retries_total"), 0);
  // Both calls have finished as far as the metrics go (counted before the
  // status was sent).
  EXPECT_EQ(MetricValue(metrics, "session_gateway_calls_in_flight"), 0);
}

// --- The call log ---

TEST_F(ForwarderTest, JsonLogIsOneParsableLinePerCallWithItsIdsAndNoToken) {
  options_.forwarder.log_calls = true;
  options_.forwarder.log_format = LogFormat::kJson;
  StartServer();
  auto call = NewCall();
  call->context.AddMetadata("traceparent", absl::StrCat("00-", kCallerTraceId, "-", kCallerSpanId, "-01"));
  StderrCapture capture;
  grpc::Status status = DefinitionAnsweredWith(FakeHttpClient::Response(201, kSession), call.get());
  const std::string text = capture.Stop();
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::vector<std::string> lines = JsonLines(text);
  ASSERT_THAT(lines, SizeIs(1)) << text;
  rapidjson::Document json;
  json.Parse(lines[0].c_str());
  ASSERT_FALSE(json.HasParseError()) << lines[0];
  ASSERT_TRUE(json.IsObject()) << lines[0];
  for (const char* key : {"timestamp", "method", "code", "upstream_status", "attempts", "latency_ms", "request_id",
                          "trace_id", "shed"}) {
    EXPECT_TRUE(json.HasMember(key)) << key << " missing from " << lines[0];
  }
  ASSERT_TRUE(json["method"].IsString() && json["code"].IsString() && json["request_id"].IsString() &&
              json["trace_id"].IsString() && json["shed"].IsBool() && json["upstream_status"].IsInt() &&
              json["attempts"].IsInt() && json["latency_ms"].IsNumber())
      << lines[0];
  EXPECT_STREQ(json["method"].GetString(), "CreatePaymentServiceDefinitionSession");
  EXPECT_STREQ(json["code"].GetString(), "OK");
  EXPECT_EQ(json["upstream_status"].GetInt(), 201);
  EXPECT_EQ(json["attempts"].GetInt(), 1);
  EXPECT_EQ(json["request_id"].GetString(), call->InitialMetadata("x-request-id"));
  EXPECT_EQ(json["trace_id"].GetString(), http_.header(0, "traceparent").substr(3, 32));
  EXPECT_STREQ(json["trace_id"].GetString(), kCallerTraceId);
  EXPECT_FALSE(json["shed"].GetBool());
  // The upstream got the gateway's token; the log never does.
  EXPECT_EQ(http_.header(0, "authorization"), "Bearer configured-token");
  EXPECT_THAT(text, Not(HasSubstr("configured-token")));
}

TEST_F(ForwarderTest, AShedCallIsLoggedShedWithItsCode) {
  options_.forwarder.log_calls = true;
  options_.forwarder.log_format = LogFormat::kJson;
  options_.forwarder.admission.max_calls_in_flight = 1;
  StartServer();
  auto held = NewCall();
  StartDefinition(held.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  auto shed = NewCall();
  StderrCapture capture;
  StartDefinition(shed.get());
  grpc::Status status = shed->Wait();
  const std::string text = capture.Stop();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::vector<std::string> lines = JsonLines(text);
  ASSERT_THAT(lines, SizeIs(1)) << text;
  rapidjson::Document json;
  json.Parse(lines[0].c_str());
  ASSERT_FALSE(json.HasParseError()) << lines[0];
  ASSERT_TRUE(json.IsObject() && json.HasMember("shed") && json["shed"].IsBool() && json.HasMember("code") &&
              json["code"].IsString() && json.HasMember("attempts") && json["attempts"].IsInt() &&
              json.HasMember("request_id") && json["request_id"].IsString())
      << lines[0];
  EXPECT_TRUE(json["shed"].GetBool());
  EXPECT_STREQ(json["code"].GetString(), "UNAVAILABLE");
  EXPECT_EQ(json["attempts"].GetInt(), 0);
  EXPECT_EQ(json["request_id"].GetString(), shed->InitialMetadata("x-request-id"));
}

TEST_F(ForwarderTest, TextLogMarksAShedCall) {
  options_.forwarder.log_calls = true;
  options_.forwarder.admission.max_calls_in_flight = 1;
  StartServer();
  auto held = NewCall();
  StartDefinition(held.get());
  ASSERT_TRUE(http_.WaitForExchanges(1));
  auto shed = NewCall();
  StderrCapture capture;
  StartDefinition(shed.get());
  grpc::Status status = shed->Wait();
  const std::string text = capture.Stop();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  const std::vector<std::string> lines = TextCallLines(text);
  ASSERT_THAT(lines, SizeIs(1)) << text;
  EXPECT_THAT(lines[0], HasSubstr("method=CreatePaymentServiceDefinitionSession"));
  EXPECT_THAT(lines[0], HasSubstr("grpc_code=UNAVAILABLE"));
  EXPECT_THAT(lines[0], HasSubstr("shed=true"));
  EXPECT_THAT(lines[0], MatchesRegex(".* trace_id=[0-9a-f]{32}( .*)?"));
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
