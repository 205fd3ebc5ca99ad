// How the gateway handles what gRPC hands it, end to end: malformed request
// bytes (and that protobuf logs nothing about them), the request size
// limit, and the one log line per call carrying a timestamp and the code
// its caller saw, also for calls cut by a deadline, by the caller or by
// shutdown; that line as JSON (--log_format=json); and the metrics of a
// forwarded call as scraped from --metrics_listen. Real binaries on 127.0.0.1, every call bounded. Request depth
// limits and the empty request are checked in-process (forwarder_test.cc).
#include <signal.h>

#include <chrono>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gateway/gateway_process.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "support/http_client.h"
#include "support/stub_upstream.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using testing::GatewayProcess;
using testing::StubUpstream;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;

constexpr char kDefinitionMethod[] =
    "/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession";

std::chrono::system_clock::time_point In(std::chrono::milliseconds delay) {
  return std::chrono::system_clock::now() + delay;
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

// The google.rpc.BadRequest detail of a failed call, if any.
google::rpc::BadRequest BadRequestOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  google::rpc::BadRequest bad_request;
  if (rpc.ParseFromString(status.error_details()) && rpc.details_size() > 0) {
    rpc.details(0).UnpackTo(&bad_request);
  }
  return bad_request;
}

class RequestHandlingTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    auto stub = StubUpstream::Start();
    ASSERT_TRUE(stub.ok()) << stub.status();
    upstream_ = *std::move(stub);
    std::vector<std::string> args = {"--upstream=" + upstream_->base_url()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto gateway = GatewayProcess::Start(args);
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    stub_ = gateway_->NewStub();
  }

  grpc::Status Call(const CreatePaymentServiceDefinitionSessionRequest& request,
                    grpc::ClientContext* context = nullptr) {
    grpc::ClientContext local;
    if (context == nullptr) context = &local;
    if (context->deadline() == std::chrono::system_clock::time_point::max()) {
      context->set_deadline(In(std::chrono::seconds(10)));
    }
    CreateSession response;
    return stub_->CreatePaymentServiceDefinitionSession(context, request, &response);
  }

  // Sends `bytes` as the request message, as a client with a broken
  // encoder (or a hostile one) would.
  grpc::Status RawCall(const std::string& bytes) {
    grpc::GenericStub generic(gateway_->channel());
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(10)));
    grpc::Slice slice(bytes);
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic.UnaryCall(&context, kDefinitionMethod, grpc::StubOptions(), &request, &response,
                      [&done](grpc::Status status) { done.set_value(std::move(status)); });
    return done.get_future().get();
  }

  // The gateway's per-call log lines so far.
  std::vector<std::string> CallLines() const {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(gateway_->Stderr(), '\n')) {
      if (absl::StrContains(line, "session-gateway: call ")) lines.emplace_back(line);
    }
    return lines;
  }

  // Waits for a call log line containing `part`: a call cut under the
  // gateway is logged when its upstream request has been abandoned, which
  // may be just after the caller has its answer.
  std::string WaitForCallLine(absl::string_view part) const {
    for (absl::Time end = absl::Now() + absl::Seconds(5); absl::Now() < end;) {
      for (const std::string& line : CallLines()) {
        if (absl::StrContains(line, part)) return line;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return "";
  }

  int64_t UpstreamRequests() const {
    auto stats = upstream_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? stats->requests : -1;
  }

  std::unique_ptr<StubUpstream> upstream_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> stub_;
};

TEST_F(RequestHandlingTest, MalformedBytesAreInvalidArgumentWithBadRequestAndNoLibraryLog) {
  Start();
  CreatePaymentServiceDefinitionSessionRequest request = Nested(2);
  (*request.mutable_request_body()->mutable_fields())["name"].set_string_value("PLACEHOLDER");
  const std::string good = request.SerializeAsString();
  const std::string not_utf8 = absl::StrReplaceAll(good, {{"PLACEHOLDER", "PLACE\xff\xfeHOLD"}});
  struct Case {
    std::string bytes;
    std::string field;
    std::string message_part;
  };
  const std::vector<Case> cases = {
      {not_utf8, "$.request_body.name", "$.request_body.name: is not valid UTF-8"},
      {good.substr(0, good.size() - 3), "$", "is truncated"},
      {std::string("\x0a\x02ok\x0c"), "$", "is not a valid protobuf encoding"},
      {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), "$", "$: "},
  };
  for (const Case& c : cases) {
    grpc::Status status = RawCall(c.bytes);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message_part;
    EXPECT_THAT(status.error_message(), HasSubstr(c.message_part));
    google::rpc::BadRequest bad_request = BadRequestOf(status);
    ASSERT_EQ(bad_request.field_violations_size(), 1) << c.message_part;
    EXPECT_EQ(bad_request.field_violations(0).field(), c.field);
    EXPECT_FALSE(bad_request.field_violations(0).description().empty());
  }
  EXPECT_EQ(UpstreamRequests(), 0);
  // One line per call, ours; nothing from protobuf about the caller's bytes.
  EXPECT_THAT(CallLines(), SizeIs(cases.size()));
  for (const std::string& line : CallLines()) EXPECT_THAT(line, HasSubstr("grpc_code=INVALID_ARGUMENT"));
  EXPECT_THAT(gateway_->Stderr(), Not(HasSubstr("libprotobuf")));
  EXPECT_THAT(gateway_->Stderr(), Not(HasSubstr("UTF-8")));
}

TEST_F(RequestHandlingTest, OversizedRequestIsResourceExhaustedAndLogged) {
  Start({"--max_request_bytes=2048"});
  CreatePaymentServiceDefinitionSessionRequest request = Nested(1);
  (*request.mutable_request_body()->mutable_fields())["pad"].set_string_value(std::string(3000, 'x'));
  grpc::Status status = Call(request);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("--max_request_bytes"));
  std::vector<std::string> lines = CallLines();
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0], HasSubstr("grpc_code=RESOURCE_EXHAUSTED attempts=0"));
  // Far beyond the limit, gRPC itself refuses the message (same code).
  (*request.mutable_request_body()->mutable_fields())["pad"].set_string_value(std::string(8192, 'x'));
  EXPECT_EQ(Call(request).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(UpstreamRequests(), 0);
}

TEST_F(RequestHandlingTest, LogLinesStartWithAnRfc3339UtcTimestamp) {
  Start();
  const absl::Time before = absl::Now();
  ASSERT_TRUE(Call(Nested(1)).ok());
  std::vector<std::string> lines = CallLines();
  ASSERT_THAT(lines, SizeIs(1));
  std::smatch match;
  ASSERT_TRUE(std::regex_search(
      lines[0], match,
      std::regex(R"(^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) session-gateway: call )"
                 R"(method=CreatePaymentServiceDefinitionSession request_id=\S+ upstream_status=201 )"
                 R"(grpc_code=OK attempts=1 latency_ms=)")))
      << lines[0];
  absl::Time logged;
  std::string error;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3SZ", match[1].str(), &logged, &error)) << error;
  EXPECT_GE(logged, absl::FromUnixMillis(absl::ToUnixMillis(before)));
  EXPECT_LE(logged, absl::Now());
}

TEST_F(RequestHandlingTest, JsonLogFormatWritesEachCallAsOneJsonObject) {
  constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
  Start({"--log_format=json"});
  grpc::ClientContext context;
  context.AddMetadata("traceparent", absl::StrCat("00-", kTraceId, "-00f067aa0ba902b7-01"));
  ASSERT_TRUE(Call(Nested(1), &context).ok());
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(gateway_->Stderr(), '\n')) {
    if (absl::StartsWith(line, "{")) lines.emplace_back(line);
  }
  ASSERT_THAT(lines, SizeIs(1)) << gateway_->Stderr();
  EXPECT_THAT(CallLines(), SizeIs(0)) << "a text line besides the JSON one";
  rapidjson::Document json;
  json.Parse(lines[0].c_str());
  ASSERT_FALSE(json.HasParseError()) << lines[0];
  ASSERT_TRUE(json.IsObject()) << lines[0];
  // The documented keys, in the documented order, and nothing else.
  std::vector<std::string> keys;
  for (const auto& member : json.GetObject()) keys.emplace_back(member.name.GetString());
  EXPECT_THAT(keys, ::testing::ElementsAre("timestamp", "method", "code", "upstream_status", "attempts",
                                           "latency_ms", "request_id", "trace_id", "shed"))
      << lines[0];
  ASSERT_TRUE(json["method"].IsString() && json["code"].IsString() && json["upstream_status"].IsInt() &&
              json["attempts"].IsInt() && json["request_id"].IsString() && json["trace_id"].IsString() &&
              json["shed"].IsBool() && json["timestamp"].IsString() && json["latency_ms"].IsNumber())
      << lines[0];
  EXPECT_STREQ(json["method"].GetString(), "CreatePaymentServiceDefinitionSession");
  EXPECT_STREQ(json["code"].GetString(), "OK");
  EXPECT_EQ(json["upstream_status"].GetInt(), 201);
  EXPECT_EQ(json["attempts"].GetInt(), 1);
  EXPECT_FALSE(json["shed"].GetBool());
  EXPECT_STREQ(json["trace_id"].GetString(), kTraceId);
  auto request_id = context.GetServerInitialMetadata().find("x-request-id");
  ASSERT_NE(request_id, context.GetServerInitialMetadata().end());
  EXPECT_EQ(json["request_id"].GetString(), std::string(request_id->second.data(), request_id->second.size()));
  // The same trace went upstream.
  auto requests = upstream_->Requests();
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_THAT(*requests, SizeIs(1));
  EXPECT_THAT((*requests)[0].Header("traceparent"), ::testing::StartsWith(absl::StrCat("00-", kTraceId, "-")));
}

// The value of the scrape's sample line that starts with `series` (name
// and labels as prometheus-cpp writes them: labels sorted by name), or
// "absent".
std::string Sample(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::StartsWith(line, series + " ")) return std::string(line.substr(series.size() + 1));
  }
  return "absent";
}

TEST_F(RequestHandlingTest, MetricsCountAForwardedCallAndItsOpenUpstreamConnection) {
  Start({"--metrics_listen=127.0.0.1:0"});
  const std::string log = gateway_->Stderr();
  const size_t at = log.find("metrics on http://");
  ASSERT_NE(at, std::string::npos) << log;
  const size_t start = at + std::string("metrics on http://").size();
  const std::string address = log.substr(start, log.find("/metrics", start) - start);
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  ASSERT_TRUE(Call(Nested(1)).ok());
  // Counted before the caller had its answer; the connection sampled at
  // the scrape is the idle keep-alive one to the stub.
  absl::StatusOr<testing::HttpResponse> scrape = testing::HttpFetch(port, "GET", "/metrics");
  ASSERT_TRUE(scrape.ok()) << scrape.status();
  ASSERT_EQ(scrape->status, 200);
  const std::string& text = scrape->body;
  EXPECT_EQ(Sample(text, "session_gateway_calls_total{code=\"OK\",method=\"CreatePaymentServiceDefinitionSession\"}"),
            "1");
  EXPECT_EQ(Sample(text, "session_gateway_upstream_attempts_total"), "1");
  EXPECT_EQ(Sample(text, "session_gateway_upstream_responses_total{status=\"201\"}"), "1");
  EXPECT_EQ(Sample(text, "session_gateway_calls_shed_total{method=\"CreatePaymentServiceDefinitionSession\"}"), "0");
  const std::string open = Sample(text, "session_gateway_upstream_open_connections");
  ASSERT_NE(open, "absent") << text;
  EXPECT_GE(std::stod(open), 1) << text;
}

TEST_F(RequestHandlingTest, CallPastTheCallersDeadlineIsLoggedDeadlineExceeded) {
  Start();
  ASSERT_TRUE(upstream_->Script(R"([{"action":"hang"}])").ok());
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::milliseconds(300)));
  EXPECT_EQ(Call(Nested(1), &context).error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_THAT(WaitForCallLine("grpc_code="), HasSubstr("grpc_code=DEADLINE_EXCEEDED"));
}

TEST_F(RequestHandlingTest, CallCancelledByTheCallerIsLoggedCancelled) {
  Start();
  ASSERT_TRUE(upstream_->Script(R"([{"action":"hang"}])").ok());
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  auto call = std::async(std::launch::async, [&] { return Call(Nested(1), &context); });
  ASSERT_TRUE(upstream_->WaitForRequests(1, absl::Seconds(5)).ok());
  context.TryCancel();
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_THAT(WaitForCallLine("grpc_code="), HasSubstr("grpc_code=CANCELLED"));
}

TEST_F(RequestHandlingTest, CallCutAtShutdownIsLoggedUnavailable) {
  Start({"--shutdown_grace=300ms"});
  ASSERT_TRUE(upstream_->Script(R"([{"action":"hang"}])").ok());
  auto call = std::async(std::launch::async, [&] { return Call(Nested(1)); });
  ASSERT_TRUE(upstream_->WaitForRequests(1, absl::Seconds(5)).ok());
  ASSERT_TRUE(gateway_->process().Signal(SIGTERM).ok());
  EXPECT_EQ(call.get().error_code(), grpc::StatusCode::UNAVAILABLE);
  auto exit = gateway_->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  std::vector<std::string> lines = CallLines();
  ASSERT_THAT(lines, SizeIs(1));
  EXPECT_THAT(lines[0], HasSubstr("grpc_code=UNAVAILABLE"));
}

}  // namespace
}  // namespace session_gateway
