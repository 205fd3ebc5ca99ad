// The sandbox over real loopback HTTP: the API's success and error shapes
// and every documented trigger.
#include "sandbox/sandbox_server.h"

#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "convert/rest_json.h"
#include "google/protobuf/struct.pb.h"
#include "gmock/gmock.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gtest/gtest.h"
#include "support/http_client.h"

namespace session_gateway {
namespace sandbox {
namespace {

using ::testing::HasSubstr;
using session_gateway::testing::HttpFetch;
using session_gateway::testing::HttpResponse;

constexpr char kUuid[] = "46973e9d-88a7-44a6-abfe-be4ff0134ff4";

// The `code` each declared error status carries, from the Error4xx/Error5xx
// schemas of the API's OpenAPI document (gr4vy/gr4vy-openapi, openapi.json).
const std::map<int, std::string>& DocumentedCodes() {
  static const auto* codes = new std::map<int, std::string>{
      {400, "bad_request"},        {401, "unauthorized"},      {403, "forbidden"},
      {404, "not_found"},          {405, "method_not_allowed"}, {409, "duplicate_record"},
      {425, "too_early"},          {429, "too_many_requests"}, {500, "server_error"},
      {502, "bad_gateway"},        {504, "gateway_timeout"}};
  return *codes;
}

// Checks `body` against the document's Error<status> schema: an object
// with no properties beyond type/code/status/message/details (409 may add
// resource_id), type "error", the documented code, status as an integer,
// and every ErrorDetail with exactly location (an ErrorLocation), pointer,
// message and type, all strings. `code` is what a status the document does
// not declare (e.g. 503) is expected to carry.
void ExpectDocumentedErrorShape(int status, const std::string& body, const std::string& code = "") {
  SCOPED_TRACE(absl::StrCat("HTTP ", status, ": ", body));
  google::protobuf::Struct error;
  ASSERT_TRUE(convert::JsonToStruct(body, &error).ok());
  const auto& f = error.fields();
  for (const auto& [key, value] : f) {
    const bool allowed = key == "type" || key == "code" || key == "status" || key == "message" ||
                         key == "details" || (status == 409 && key == "resource_id");
    EXPECT_TRUE(allowed) << "additional property " << key;
  }
  ASSERT_EQ(f.count("type"), 1u);
  EXPECT_EQ(f.at("type").string_value(), "error");
  ASSERT_EQ(f.count("code"), 1u);
  auto documented = DocumentedCodes().find(status);
  EXPECT_EQ(f.at("code").string_value(), documented != DocumentedCodes().end() ? documented->second : code);
  ASSERT_EQ(f.count("status"), 1u);
  ASSERT_EQ(f.at("status").kind_case(), google::protobuf::Value::kNumberValue);
  EXPECT_EQ(f.at("status").number_value(), status);
  ASSERT_EQ(f.count("message"), 1u);
  EXPECT_EQ(f.at("message").kind_case(), google::protobuf::Value::kStringValue);
  ASSERT_EQ(f.count("details"), 1u);
  ASSERT_EQ(f.at("details").kind_case(), google::protobuf::Value::kListValue);
  static const std::set<std::string> kLocations = {"query", "body", "path", "header", "unknown"};
  for (const auto& item : f.at("details").list_value().values()) {
    ASSERT_EQ(item.kind_case(), google::protobuf::Value::kStructValue);
    const auto& d = item.struct_value().fields();
    EXPECT_EQ(d.size(), 4u);
    for (const char* key : {"location", "pointer", "message", "type"}) {
      ASSERT_EQ(d.count(key), 1u) << key;
      EXPECT_EQ(d.at(key).kind_case(), google::protobuf::Value::kStringValue) << key;
    }
    EXPECT_EQ(kLocations.count(d.at("location").string_value()), 1u) << d.at("location").string_value();
  }
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sandbox = SandboxServer::Start({});
    ASSERT_TRUE(sandbox.ok()) << sandbox.status();
    sandbox_ = *std::move(sandbox);
  }

  HttpResponse Post(const std::string& path, const std::string& body,
                    const std::string& content_type = "application/json") {
    auto response = HttpFetch(sandbox_->port(), "POST", path, body,
                              {{"Content-Type", content_type}, {"x-gr4vy-merchant-account-id", "m-1"}});
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : HttpResponse{};
  }

  gr4vy::sessions::v1::CreateSession Session(const HttpResponse& response) {
    gr4vy::sessions::v1::CreateSession session;
    convert::ParseOptions strict;
    strict.strict = true;
    absl::Status s = convert::RestJsonToMessage(response.body, &session, strict);
    EXPECT_TRUE(s.ok()) << s << " in " << response.body;
    return session;
  }

  std::unique_ptr<SandboxServer> sandbox_;
};

TEST_F(SandboxTest, CreatesSessionsForBothEndpoints) {
  HttpResponse r = Post(std::string("/payment-services/") + kUuid + "/sessions", R"({"amount":1299})");
  // The API answers 200; status_code 201 in the body is the payment
  // service's own status.
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  auto session = Session(r);
  EXPECT_EQ(session.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(session.status_code(), 201);
  const auto& body = session.response_body().fields();
  EXPECT_THAT(body.at("sessionId").string_value(), ::testing::StartsWith("sbx_"));
  EXPECT_EQ(body.at("paymentServiceId").string_value(), kUuid);
  EXPECT_EQ(body.at("merchantAccountId").string_value(), "m-1");
  EXPECT_EQ(body.at("request").struct_value().fields().at("amount").number_value(), 1299);

  HttpResponse d = Post("/payment-service-definitions/mock-card/sessions", "{}");
  EXPECT_EQ(d.status, 200);
  EXPECT_EQ(Session(d).response_body().fields().at("paymentServiceDefinitionId").string_value(), "mock-card");
  // Fresh session ids.
  EXPECT_NE(Session(d).response_body().fields().at("sessionId").string_value(),
            session.response_body().fields().at("sessionId").string_value());
}

TEST_F(SandboxTest, ValidatesPathAndBodyLikeTheApi) {
  HttpResponse bad_id = Post("/payment-services/not-a-uuid/sessions", "{}");
  EXPECT_EQ(bad_id.status, 404);
  EXPECT_THAT(bad_id.body, HasSubstr(R"("type":"error")"));
  EXPECT_THAT(bad_id.body, HasSubstr(R"("code":"not_found")"));
  HttpResponse bad_body = Post("/payment-service-definitions/mock-card/sessions", "[1]");
  EXPECT_EQ(bad_body.status, 400);
  EXPECT_THAT(bad_body.body, HasSubstr("expected an object"));
  EXPECT_EQ(Post("/payment-service-definitions/mock-card/sessions", "{}", "text/plain").status, 415);
  EXPECT_EQ(Post("/buyers", "{}").status, 404);
}

TEST_F(SandboxTest, ErrorsMatchTheDocumentedSchemaOfTheirStatus) {
  for (const auto& [status, code] : DocumentedCodes()) {
    HttpResponse r = Post(absl::StrCat("/payment-service-definitions/sandbox-fail-", status, "/sessions"), "{}");
    EXPECT_EQ(r.status, status);
    ExpectDocumentedErrorShape(status, r.body);
  }
  // 422 has the HTTPValidationError shape: detail, a list of
  // ValidationError with loc (strings and integers), msg and type.
  HttpResponse validation = Post("/payment-service-definitions/sandbox-fail-422/sessions", "{}");
  EXPECT_EQ(validation.status, 422);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(convert::JsonToStruct(validation.body, &parsed).ok()) << validation.body;
  ASSERT_EQ(parsed.fields().count("detail"), 1u);
  ASSERT_GT(parsed.fields().at("detail").list_value().values_size(), 0);
  for (const auto& item : parsed.fields().at("detail").list_value().values()) {
    const auto& d = item.struct_value().fields();
    ASSERT_EQ(d.count("loc"), 1u);
    for (const auto& part : d.at("loc").list_value().values()) {
      EXPECT_TRUE(part.has_string_value() || part.has_number_value());
    }
    EXPECT_TRUE(d.count("msg") == 1 && d.at("msg").has_string_value());
    EXPECT_TRUE(d.count("type") == 1 && d.at("type").has_string_value());
  }
  // 503 is not declared for these operations; it keeps the same shape.
  HttpResponse unavailable = Post("/payment-service-definitions/sandbox-fail-503/sessions", "{}");
  EXPECT_EQ(unavailable.status, 503);
  ExpectDocumentedErrorShape(503, unavailable.body, "service_unavailable");
  // The sandbox's own refusals too.
  HttpResponse bad_id = Post("/payment-services/not-a-uuid/sessions", "{}");
  ExpectDocumentedErrorShape(404, bad_id.body);
  HttpResponse bad_body = Post("/payment-service-definitions/mock-card/sessions", "[1]");
  ExpectDocumentedErrorShape(400, bad_body.body);
  HttpResponse no_route = Post("/buyers", "{}");
  ExpectDocumentedErrorShape(404, no_route.body);
}

TEST_F(SandboxTest, TriggerOutOfRangeIsABadRequestNamingTheTrigger) {
  struct Case {
    std::string id;
    std::string range;
  };
  for (const Case& c : std::vector<Case>{{"sandbox-fail-399", "400-599"},
                                         {"sandbox-fail-600", "400-599"},
                                         {"sandbox-fail-abc", "400-599"},
                                         {"sandbox-fail-", "400-599"},
                                         {"sandbox-slow-99999999999ms", "0-60000"},
                                         {"sandbox-slow-60001ms", "0-60000"},
                                         {"sandbox-slow-fastms", "0-60000"},
                                         {"sandbox-slow-100", "0-60000"}}) {
    HttpResponse r = Post(absl::StrCat("/payment-service-definitions/", c.id, "/sessions"), "{}");
    EXPECT_EQ(r.status, 400) << c.id << ": " << r.body;
    ExpectDocumentedErrorShape(400, r.body);
    EXPECT_THAT(r.body, HasSubstr(c.id));
    EXPECT_THAT(r.body, HasSubstr(c.range));
  }
  // The edges of each range are triggers.
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-fail-400/sessions", "{}").status, 400);
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-fail-599/sessions", "{}").status, 599);
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-slow-0ms/sessions", "{}").status, 200);
}

// A slow answer in progress must not hold up the sandbox's destruction:
// the in-process sandbox is stopped as part of the gateway's shutdown.
TEST(SandboxStopTest, StoppingWakesSlowAnswers) {
  auto sandbox = SandboxServer::Start({});
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();
  const int port = (*sandbox)->port();
  absl::Notification answered;
  std::thread caller([&] {
    auto response = HttpFetch(port, "POST", "/payment-service-definitions/sandbox-slow-20000ms/sessions", "{}",
                              {{"Content-Type", "application/json"}}, absl::Seconds(30));
    answered.Notify();
  });
  absl::SleepFor(absl::Milliseconds(300));  // The request reaches its handler.
  const absl::Time stopping = absl::Now();
  sandbox->reset();
  const absl::Duration took = absl::Now() - stopping;
  EXPECT_LT(took, absl::Seconds(2));
  EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  caller.join();
}

TEST_F(SandboxTest, TriggersRehearseFailures) {
  HttpResponse unavailable = Post("/payment-service-definitions/sandbox-fail-503/sessions", "{}");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.Header("retry-after"), "1");
  EXPECT_THAT(unavailable.body, HasSubstr(R"("status":503)"));
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-fail-429/sessions", "{}").status, 429);
  HttpResponse validation = Post("/payment-service-definitions/sandbox-fail-422/sessions", "{}");
  EXPECT_EQ(validation.status, 422);
  EXPECT_THAT(validation.body, HasSubstr(R"("detail":[{"loc")"));

  HttpResponse failed = Post("/payment-service-definitions/sandbox-failed-session/sessions", "{}");
  EXPECT_EQ(failed.status, 200);
  auto session = Session(failed);
  EXPECT_EQ(session.status(), gr4vy::sessions::v1::CREATE_SESSION_STATUS_FAILED);
  EXPECT_EQ(session.code(), "UNKNOWN_ERROR");

  HttpResponse invalid = Post("/payment-service-definitions/sandbox-invalid-json/sessions", "{}");
  gr4vy::sessions::v1::CreateSession unused;
  EXPECT_FALSE(convert::RestJsonToMessage(invalid.body, &unused).ok());

  auto started = absl::Now();
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-slow-300ms/sessions", "{}").status, 200);
  EXPECT_GE(absl::Now() - started, absl::Milliseconds(290));
}

}  // namespace
}  // namespace sandbox
}  // namespace session_gateway
