// End-to-end: what a caller can read from a failed call's status details
// when the upstream's answer is unreadable or huge. The real session-gateway
// binary runs in front of the stub upstream on 127.0.0.1, and the caller is
// a gRPC client that, like Java's and many others, refuses trailers over
// 8 KiB of metadata.
#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "gateway/gateway_process.h"
#include "gmock/gmock.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "support/stub_upstream.h"

namespace session_gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::UpstreamError;
using testing::GatewayProcess;
using testing::StubUpstream;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kClientMetadataLimit = 8 * 1024;

// The detail of a failed call; fails the test when it cannot be decoded.
UpstreamError DetailOf(const grpc::Status& status) {
  google::rpc::Status rpc;
  UpstreamError error;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details())) << status.error_message();
  EXPECT_EQ(rpc.details_size(), 1) << status.error_message();
  if (rpc.details_size() == 1) {
    EXPECT_TRUE(rpc.details(0).UnpackTo(&error));
  }
  return error;
}

// A JSON string literal holding `text`, which has no control characters.
std::string Quoted(absl::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return quoted + "\"";
}

class UpstreamErrorDetailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto stub = StubUpstream::Start();
    ASSERT_TRUE(stub.ok()) << stub.status();
    upstream_ = *std::move(stub);
    auto gateway = GatewayProcess::Start({"--upstream=" + upstream_->base_url()});
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = *std::move(gateway);
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_MAX_METADATA_SIZE, kClientMetadataLimit);
    stub_ = gr4vy::sessions::v1::SessionService::NewStub(
        grpc::CreateCustomChannel(gateway_->address(), grpc::InsecureChannelCredentials(), args));
  }

  grpc::Status Call() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    CreatePaymentServiceDefinitionSessionRequest request;
    request.set_payment_service_definition_id("mock-card");
    CreateSession response;
    return stub_->CreatePaymentServiceDefinitionSession(&context, request, &response);
  }

  std::unique_ptr<StubUpstream> upstream_;
  std::unique_ptr<GatewayProcess> gateway_;
  std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> stub_;
};

TEST_F(UpstreamErrorDetailTest, SessionWithAnUnrepresentableNumberReachesTheCallerVerbatim) {
  const std::string body =
      R"({"type":"payment-service-session","status":"succeeded","status_code":201,)"
      R"("response_body":{"sessionId":"sess-8c1f2e","amount":1E400}})";
  ASSERT_TRUE(upstream_->Script(absl::StrCat(R"([{"status":200,"body":)", Quoted(body), "}]")).ok());
  grpc::Status status = Call();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), StartsWith("upstream answered HTTP 200 with a body that is not a valid "
                                                 "CreateSession: $.response_body.amount"));
  UpstreamError error = DetailOf(status);
  EXPECT_EQ(error.http_status(), 200);
  EXPECT_EQ(error.content_type(), "application/json");
  EXPECT_EQ(error.body_text(), body);
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(body.size()));
  EXPECT_FALSE(error.body_truncated());
  EXPECT_EQ(error.request_id().size(), 36u);
  EXPECT_EQ(error.attempts(), 1);
}

TEST_F(UpstreamErrorDetailTest, SuccessWithANonJsonContentTypeCarriesTheBody) {
  ASSERT_TRUE(upstream_->Script(
      R"([{"status":201,"body":"session sess-8c1f2e created","headers":{"Content-Type":"text/plain"}}])").ok());
  grpc::Status status = Call();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), HasSubstr("text/plain"));
  UpstreamError error = DetailOf(status);
  EXPECT_EQ(error.http_status(), 201);
  EXPECT_EQ(error.content_type(), "text/plain");
  EXPECT_EQ(error.body_text(), "session sess-8c1f2e created");
}

TEST_F(UpstreamErrorDetailTest, HugeApiMessageArrivesBoundedWithItsCodeAndDetails) {
  const std::string message(200 * 1024, 'm');
  ASSERT_TRUE(upstream_->Script(absl::StrCat(
      R"([{"status":400,"json":{"type":"error","code":"bad_request","status":400,"message":)", Quoted(message),
      R"(,"details":[{"location":"body","pointer":"/amount","message":"too big","type":"value_error"}]}}])")).ok());
  grpc::Status status = Call();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message().substr(0, 200);
  EXPECT_LE(status.error_message().size(), 1024u);
  EXPECT_THAT(status.error_message(), StartsWith("mmmm"));
  UpstreamError error = DetailOf(status);
  EXPECT_EQ(error.code(), "bad_request");
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/amount");
  EXPECT_GT(error.body_size(), static_cast<int64_t>(message.size()));
  EXPECT_TRUE(error.body_truncated());
}

TEST_F(UpstreamErrorDetailTest, HugeHtmlErrorPageArrivesAsABoundedSnippet) {
  const std::string page = absl::StrCat("<html><title>502 Bad Gateway</title>", std::string(200 * 1024, ' '),
                                        "</html>");
  ASSERT_TRUE(upstream_->Script(absl::StrCat(R"([{"status":502,"body":)", Quoted(page),
                                             R"(,"headers":{"Content-Type":"text/html"}}])")).ok());
  grpc::Status status = Call();
  ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message().substr(0, 200);
  EXPECT_EQ(status.error_message(), "upstream answered HTTP 502");
  UpstreamError error = DetailOf(status);
  EXPECT_EQ(error.content_type(), "text/html");
  EXPECT_THAT(error.body_text(), StartsWith("<html><title>502 Bad Gateway</title>"));
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(page.size()));
  EXPECT_TRUE(error.body_truncated());
}

}  // namespace
}  // namespace session_gateway
