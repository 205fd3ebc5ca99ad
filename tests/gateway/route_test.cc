#include "gateway/route.h"

#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gr4vy/sessions/v1/session_service.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreatePaymentServiceSessionRequest;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;
using ::testing::UnorderedElementsAre;

const google::protobuf::MethodDescriptor* Method(const std::string& name) {
  return CreatePaymentServiceSessionRequest::descriptor()->file()->FindServiceByName("SessionService")
      ->FindMethodByName(name);
}

Route RouteFor(const std::string& name) {
  absl::StatusOr<Route> route = Route::ForMethod(Method(name));
  EXPECT_TRUE(route.ok()) << route.status();
  return *std::move(route);
}

constexpr char kUuid[] = "46973e9d-88a7-44a6-abfe-be4ff0134ff4";

TEST(RouteTest, ReadsTheHttpRuleFromTheDescriptor) {
  Route route = RouteFor("CreatePaymentServiceSession");
  EXPECT_EQ(route.http_method(), "POST");
  EXPECT_EQ(route.path_template(), "/payment-services/{payment_service_id}/sessions");
  EXPECT_THAT(route.HeaderNames(), ::testing::ElementsAre("x-gr4vy-merchant-account-id"));
}

TEST(RouteTest, BuildsPathBodyAndHeaders) {
  CreatePaymentServiceSessionRequest request;
  request.set_payment_service_id(kUuid);
  request.set_merchant_account_id("merchant-1");
  (*request.mutable_request_body()->mutable_fields())["sessionId"].set_string_value("abc");
  absl::StatusOr<UpstreamRequestParts> parts = RouteFor("CreatePaymentServiceSession").Build(request);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->method, "POST");
  EXPECT_EQ(parts->path, std::string("/payment-services/") + kUuid + "/sessions");
  EXPECT_EQ(parts->body, R"({"sessionId":"abc"})");
  EXPECT_THAT(parts->headers, UnorderedElementsAre(Pair("x-gr4vy-merchant-account-id", "merchant-1")));
}

TEST(RouteTest, AbsentBodyIsAnEmptyObjectAndAbsentHeaderIsNotSent) {
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("mock-card");
  absl::StatusOr<UpstreamRequestParts> parts =
      RouteFor("CreatePaymentServiceDefinitionSession").Build(request);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ(parts->path, "/payment-service-definitions/mock-card/sessions");
  EXPECT_EQ(parts->body, "{}");
  EXPECT_TRUE(parts->headers.empty());
}

TEST(RouteTest, RejectsPathValuesThatCouldChangeTheRoute) {
  Route route = RouteFor("CreatePaymentServiceDefinitionSession");
  for (const std::string& bad :
       {std::string("../buyers"), std::string("a/b"), std::string("%2F"), std::string("a?b=c"),
        std::string("a#b"), std::string("a\r\nx: y"), std::string(""), std::string("Mock-Card"),
        std::string(65, 'a'), std::string("a\0b", 3), std::string("..")}) {
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id(bad);
    FieldViolation violation;
    absl::StatusOr<UpstreamRequestParts> parts = route.Build(request, &violation);
    ASSERT_FALSE(parts.ok()) << bad;
    EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parts.status().message()), StartsWith("$.payment_service_definition_id: "));
    EXPECT_EQ(violation.field, "$.payment_service_definition_id");
  }
}

TEST(RouteTest, PaymentServiceIdMustBeAUuid) {
  Route route = RouteFor("CreatePaymentServiceSession");
  for (const std::string& bad : {std::string("not-a-uuid"), std::string(kUuid) + "/x",
                                 std::string("../") + kUuid, std::string(kUuid).substr(1)}) {
    CreatePaymentServiceSessionRequest request;
    request.set_payment_service_id(bad);
    EXPECT_FALSE(route.Build(request).ok()) << bad;
  }
}

TEST(RouteTest, RejectsHeaderValuesWithLineBreaks) {
  Route route = RouteFor("CreatePaymentServiceSession");
  CreatePaymentServiceSessionRequest request;
  request.set_payment_service_id(kUuid);
  request.set_merchant_account_id("m\r\nx-evil: 1");
  absl::StatusOr<UpstreamRequestParts> parts = route.Build(request);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(std::string(parts.status().message()), StartsWith("$.merchant_account_id: "));
  EXPECT_FALSE(route.ValidateHeaderValue("x-gr4vy-merchant-account-id", "a\nb").ok());
  EXPECT_TRUE(route.ValidateHeaderValue("x-gr4vy-merchant-account-id", "default").ok());
  EXPECT_FALSE(route.ValidateHeaderValue("x-other", "a\rb").ok());
}

TEST(RouteTest, BodyThatCannotBePrintedIsInvalidArgumentWithItsPath) {
  CreatePaymentServiceSessionRequest request;
  request.set_payment_service_id(kUuid);
  (*request.mutable_request_body()->mutable_fields())["bad"].set_string_value("\xff");
  absl::StatusOr<UpstreamRequestParts> parts = RouteFor("CreatePaymentServiceSession").Build(request);
  ASSERT_FALSE(parts.ok());
  EXPECT_THAT(std::string(parts.status().message()), StartsWith("$.request_body.bad: "));
}

TEST(PercentEncodeTest, EncodesAllButUnreserved) {
  EXPECT_EQ(PercentEncodePathSegment("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(PercentEncodePathSegment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
  EXPECT_EQ(PercentEncodePathSegment(".."), "%2E%2E");
  EXPECT_EQ(PercentEncodePathSegment("\xc3\xa9"), "%C3%A9");
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
