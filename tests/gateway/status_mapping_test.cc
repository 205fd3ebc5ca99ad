#include "gateway/status_mapping.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using gr4vy::sessions::v1::UpstreamError;

TEST(HttpStatusToGrpcCodeTest, FollowsTheTable) {
  const std::pair<int, grpc::StatusCode> table[] = {
      {400, grpc::StatusCode::INVALID_ARGUMENT},   {401, grpc::StatusCode::UNAUTHENTICATED},
      {403, grpc::StatusCode::PERMISSION_DENIED},  {404, grpc::StatusCode::NOT_FOUND},
      {405, grpc::StatusCode::UNIMPLEMENTED},      {409, grpc::StatusCode::ABORTED},
      {422, grpc::StatusCode::INVALID_ARGUMENT},   {425, grpc::StatusCode::UNAVAILABLE},
      {429, grpc::StatusCode::RESOURCE_EXHAUSTED}, {500, grpc::StatusCode::INTERNAL},
      {501, grpc::StatusCode::UNIMPLEMENTED},      {502, grpc::StatusCode::UNAVAILABLE},
      {503, grpc::StatusCode::UNAVAILABLE},        {504, grpc::StatusCode::DEADLINE_EXCEEDED},
      {402, grpc::StatusCode::FAILED_PRECONDITION}, {418, grpc::StatusCode::FAILED_PRECONDITION},
      {499, grpc::StatusCode::FAILED_PRECONDITION}, {505, grpc::StatusCode::UNKNOWN},
      {599, grpc::StatusCode::UNKNOWN},            {302, grpc::StatusCode::UNKNOWN},
  };
  for (const auto& [http, grpc_code] : table) {
    EXPECT_EQ(HttpStatusToGrpcCode(http), grpc_code) << http;
  }
}

UpstreamError DecodeDetail(const grpc::Status& status) {
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  EXPECT_EQ(rpc.code(), static_cast<int>(status.error_code()));
  EXPECT_EQ(rpc.message(), status.error_message());
  UpstreamError error;
  EXPECT_EQ(rpc.details_size(), 1);
  if (rpc.details_size() == 1) {
    EXPECT_TRUE(rpc.details(0).UnpackTo(&error));
  }
  return error;
}

TEST(UpstreamErrorStatusTest, CarriesTheApiErrorBody) {
  grpc::Status status = UpstreamErrorStatus(
      404,
      R"({"type":"error","code":"not_found","status":404,"message":"The resource could not be found",)"
      R"("details":[{"location":"path","pointer":"/id","message":"bad id","type":"value_error"}]})",
      CallFacts{"req-1", 2});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "The resource could not be found");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 404);
  EXPECT_EQ(error.code(), "not_found");
  EXPECT_EQ(error.request_id(), "req-1");
  EXPECT_EQ(error.attempts(), 2);
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/id");
  EXPECT_EQ(error.body().struct_value().fields().at("status").number_value(), 404);
}

TEST(UpstreamErrorStatusTest, ValidationErrorUsesTheFirstDetailMessage) {
  grpc::Status status = UpstreamErrorStatus(
      422, R"({"detail":[{"loc":["body","amount"],"msg":"field required","type":"value_error.missing"}]})",
      CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "field required");
  UpstreamError error = DecodeDetail(status);
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("msg").string_value(), "field required");
}

TEST(UpstreamErrorStatusTest, NonJsonBodyStillGivesACodeAndMessage) {
  grpc::Status status = UpstreamErrorStatus(502, "<html>Bad gateway</html>", CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "upstream answered HTTP 502");
  EXPECT_EQ(DecodeDetail(status).http_status(), 502);
}

TEST(TransportErrorStatusTest, MapsCodes) {
  EXPECT_EQ(TransportErrorStatus(absl::UnavailableError("refused"), {}).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(TransportErrorStatus(absl::DeadlineExceededError("slow"), {}).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(TransportErrorStatus(absl::ResourceExhaustedError("big"), {}).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(TransportErrorStatus(absl::InvalidArgumentError("url"), {}).error_code(),
            grpc::StatusCode::INTERNAL);
}

TEST(InvalidRequestStatusTest, CarriesABadRequestDetail) {
  grpc::Status status = InvalidRequestStatus("$.x: bad", FieldViolation{"$.x", "bad"});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations(0).field(), "$.x");
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
