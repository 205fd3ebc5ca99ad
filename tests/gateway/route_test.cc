#include "gateway/route.h"

#include "gmock/gmock.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gr4vy/rest/v1/annotations.pb.h"
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

TEST(RouteTest, ReadsTheOperationAndItsScopesFromTheDescriptor) {
  Route service = RouteFor("CreatePaymentServiceSession");
  EXPECT_EQ(service.operation_id(), "create_payment_service_session");
  EXPECT_THAT(service.scopes(), ::testing::ElementsAre("transactions.write"));
  Route definition = RouteFor("CreatePaymentServiceDefinitionSession");
  EXPECT_EQ(definition.operation_id(), "create_payment_service_definition_session");
  EXPECT_THAT(definition.scopes(), ::testing::ElementsAre("transactions.write"));
}

// A service like SessionService whose one method has `rest` (if any) as its
// (gr4vy.rest.v1.method) option, built in a pool of its own.
class OneMethodService {
 public:
  explicit OneMethodService(const gr4vy::rest::v1::RestMethod* rest)
      : pool_(google::protobuf::DescriptorPool::generated_pool()) {
    google::protobuf::FileDescriptorProto file;
    file.set_name("route_test/one_method.proto");
    file.set_package("route_test");
    file.set_syntax("proto3");
    file.add_dependency("gr4vy/sessions/v1/session.proto");
    file.add_dependency("gr4vy/sessions/v1/session_service.proto");
    google::protobuf::MethodDescriptorProto* method = file.add_service()->add_method();
    file.mutable_service(0)->set_name("OneMethod");
    method->set_name("Create");
    method->set_input_type(".gr4vy.sessions.v1.CreatePaymentServiceDefinitionSessionRequest");
    method->set_output_type(".gr4vy.sessions.v1.CreateSession");
    method->mutable_options()->MutableExtension(google::api::http)->set_post(
        "/payment-service-definitions/{payment_service_definition_id}/sessions");
    if (rest != nullptr) *method->mutable_options()->MutableExtension(gr4vy::rest::v1::method) = *rest;
    const google::protobuf::FileDescriptor* built = pool_.BuildFile(file);
    method_ = built == nullptr ? nullptr : built->service(0)->method(0);
  }
  const google::protobuf::MethodDescriptor* method() const { return method_; }

 private:
  google::protobuf::DescriptorPool pool_;
  const google::protobuf::MethodDescriptor* method_ = nullptr;
};

TEST(RouteTest, AMethodWithoutItsOperationAndScopesIsAStartUpError) {
  OneMethodService bare(nullptr);
  ASSERT_NE(bare.method(), nullptr);
  absl::StatusOr<Route> route = Route::ForMethod(bare.method());
  EXPECT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(route.status().message()), HasSubstr("(gr4vy.rest.v1.method)"));

  gr4vy::rest::v1::RestMethod no_scopes;
  no_scopes.set_operation_id("create_something");
  OneMethodService scopeless(&no_scopes);
  ASSERT_NE(scopeless.method(), nullptr);
  EXPECT_FALSE(Route::ForMethod(scopeless.method()).ok());

  gr4vy::rest::v1::RestMethod complete = no_scopes;
  complete.add_scopes("things.write");
  OneMethodService annotated(&complete);
  ASSERT_NE(annotated.method(), nullptr);
  route = Route::ForMethod(annotated.method());
  ASSERT_TRUE(route.ok()) << route.status();
  EXPECT_THAT(route->scopes(), ::testing::ElementsAre("things.write"));
}

TEST(RouteTest, ASetFieldThatTheOperationDoesNotTakeIsInvalidArgument) {
  Route route = RouteFor("CreatePaymentServiceDefinitionSession");
  // The API's definition operation declares no merchant account header.
  EXPECT_TRUE(route.HeaderNames().empty());
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("mock-card");
  // Through reflection: the generated setter is deprecated, as it should be.
  request.GetReflection()->SetString(&request, request.GetDescriptor()->FindFieldByName("merchant_account_id"),
                                     "default");
  FieldViolation violation;
  absl::StatusOr<UpstreamRequestParts> parts = route.Build(request, &violation);
  EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parts.status().message(),
            "$.merchant_account_id: the API's create_payment_service_definition_session operation "
            "takes no merchant account id");
  EXPECT_EQ(violation.field, "$.merchant_account_id");
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
