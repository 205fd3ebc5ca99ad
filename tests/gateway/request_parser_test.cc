#include "gateway/request_parser.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gr4vy/sessions/v1/session_service.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using ::testing::HasSubstr;
using ::testing::StartsWith;

grpc::ByteBuffer Bytes(const std::string& data) {
  grpc::Slice slice(data);
  return grpc::ByteBuffer(&slice, 1);
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

struct Parsed {
  absl::Status status;
  FieldViolation violation;
  CreatePaymentServiceDefinitionSessionRequest request;
};

Parsed Parse(const std::string& data, int max_json_depth = 100) {
  Parsed parsed;
  parsed.status = ParseRequest(Bytes(data), max_json_depth, &parsed.request, &parsed.violation);
  return parsed;
}

// Serializes `request` with the string "PLACEHOLDER" replaced by bytes that
// are not UTF-8, which protobuf itself would not serialize quietly.
std::string WithInvalidUtf8(const CreatePaymentServiceDefinitionSessionRequest& request) {
  return absl::StrReplaceAll(request.SerializeAsString(), {{"PLACEHOLDER", "PLACE\xff\xfeHOLD"}});
}

TEST(RequestParserTest, ParsesAValidRequest) {
  CreatePaymentServiceDefinitionSessionRequest request = Nested(3);
  Parsed parsed = Parse(request.SerializeAsString());
  ASSERT_TRUE(parsed.status.ok()) << parsed.status;
  EXPECT_EQ(parsed.request.SerializeAsString(), request.SerializeAsString());
}

TEST(RequestParserTest, NestingUpToMaxJsonDepthParses) {
  for (int max_depth : {2, 10, 100, 1000}) {
    Parsed parsed = Parse(Nested(max_depth).SerializeAsString(), max_depth);
    EXPECT_TRUE(parsed.status.ok()) << max_depth << ": " << parsed.status;
  }
  // What gRPC's own parser refused (protobuf's default limit is 100).
  EXPECT_TRUE(Parse(Nested(34).SerializeAsString()).status.ok());
}

TEST(RequestParserTest, DeeperNestingNamesThePathAndTheLimit) {
  for (int levels : {11, 12, 300}) {
    Parsed parsed = Parse(Nested(levels).SerializeAsString(), 10);
    ASSERT_EQ(parsed.status.code(), absl::StatusCode::kInvalidArgument) << levels;
    std::string path = "$.request_body";
    for (int i = 0; i < 10; ++i) path += ".d";
    EXPECT_EQ(parsed.status.message(),
              absl::StrCat(path, ": is nested deeper than --max_json_depth (10 levels)"));
    EXPECT_EQ(parsed.violation.field, path);
  }
}

TEST(RequestParserTest, InvalidUtf8NamesTheField) {
  CreatePaymentServiceDefinitionSessionRequest request = Nested(1);
  request.set_payment_service_definition_id("PLACEHOLDER");
  Parsed parsed = Parse(WithInvalidUtf8(request));
  EXPECT_EQ(parsed.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status.message(), "$.payment_service_definition_id: is not valid UTF-8");
  EXPECT_EQ(parsed.violation.field, "$.payment_service_definition_id");

  request = Nested(1);
  auto& fields = *(*request.mutable_request_body()->mutable_fields())["outer"].mutable_struct_value()
                      ->mutable_fields();
  fields["list"].mutable_list_value()->add_values()->set_string_value("fine");
  fields["list"].mutable_list_value()->add_values()->set_string_value("PLACEHOLDER");
  parsed = Parse(WithInvalidUtf8(request));
  EXPECT_EQ(parsed.status.message(), "$.request_body.outer.list[1]: is not valid UTF-8");

  request = Nested(1);
  (*request.mutable_request_body()->mutable_fields())["PLACEHOLDER"].set_bool_value(true);
  parsed = Parse(WithInvalidUtf8(request));
  EXPECT_EQ(parsed.status.message(), "$.request_body: has a key that is not valid UTF-8");
}

TEST(RequestParserTest, WritesNothingToProtobufsLog) {
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("PLACEHOLDER");
  const std::string data = WithInvalidUtf8(request);
  ::testing::internal::CaptureStderr();
  Parsed parsed = Parse(data);
  std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(parsed.status.ok());
  EXPECT_EQ(logged, "");
}

TEST(RequestParserTest, TruncatedBytesAreInvalidArgument) {
  const std::string whole = Nested(3).SerializeAsString();
  for (size_t cut : {size_t{1}, size_t{4}, whole.size() - 1}) {
    Parsed parsed = Parse(whole.substr(0, whole.size() - cut));
    ASSERT_EQ(parsed.status.code(), absl::StatusCode::kInvalidArgument) << cut;
    EXPECT_THAT(std::string(parsed.status.message()), HasSubstr("is truncated")) << cut;
    EXPECT_THAT(std::string(parsed.status.message()), StartsWith("$")) << cut;
    EXPECT_FALSE(parsed.violation.field.empty());
  }
}

TEST(RequestParserTest, GarbageIsInvalidArgumentWithAMessage) {
  for (const std::string& garbage :
       {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11), std::string("\x00", 1),
        std::string("\x0f"), std::string("\x0a\x05hello\x0c")}) {
    Parsed parsed = Parse(garbage);
    ASSERT_EQ(parsed.status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status.message()), StartsWith("$: ")) << parsed.status;
    EXPECT_EQ(parsed.violation.field, "$");
    EXPECT_FALSE(parsed.violation.description.empty());
  }
}

TEST(RequestParserTest, NoBufferIsAnEmptyMessage) {
  CreatePaymentServiceDefinitionSessionRequest request;
  request.set_payment_service_definition_id("left over");
  EXPECT_TRUE(ParseRequest(grpc::ByteBuffer(), 100, &request, nullptr).ok());
  EXPECT_EQ(request.ByteSizeLong(), 0u);
}

TEST(RequestParserTest, UnknownFieldsAreKept) {
  // A newer client's field: protobuf keeps it, as gRPC's parser did.
  Parsed parsed = Parse(Nested(1).SerializeAsString() + std::string("\xa0\x06\x01", 3));
  EXPECT_TRUE(parsed.status.ok()) << parsed.status;
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
