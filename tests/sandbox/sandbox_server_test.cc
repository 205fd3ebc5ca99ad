// The sandbox over real loopback HTTP: the API's success and error shapes
// and every documented trigger.
#include "sandbox/sandbox_server.h"

#include "convert/rest_json.h"
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
  EXPECT_EQ(r.status, 201);
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
  EXPECT_EQ(d.status, 201);
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
  EXPECT_EQ(Post("/payment-service-definitions/sandbox-slow-300ms/sessions", "{}").status, 201);
  EXPECT_GE(absl::Now() - started, absl::Milliseconds(290));
}

}  // namespace
}  // namespace sandbox
}  // namespace session_gateway
