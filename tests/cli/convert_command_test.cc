#include "cli/convert_command.h"

#include <string>

#include "gmock/gmock.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGolden[] =
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR",)"
    R"("status_code":201,"response_body":{"sessionId":"12345"}})";

ConvertRequest Request(const std::string& message, Format from, Format to) {
  ConvertRequest request;
  request.message = message;
  request.from = from;
  request.to = to;
  return request;
}

TEST(ParseFormatTest, KnowsEveryFormatAndRejectsOthers) {
  EXPECT_EQ(*ParseFormat("rest"), Format::kRest);
  EXPECT_EQ(*ParseFormat("protojson"), Format::kProtoJson);
  EXPECT_EQ(*ParseFormat("text"), Format::kText);
  EXPECT_EQ(*ParseFormat("binary"), Format::kBinary);
  EXPECT_FALSE(ParseFormat("json").ok());
}

// Every format must carry the golden document to every other format and
// back without changing a byte of the REST form.
TEST(ConvertTest, EveryFormatRoundTripsTheGoldenDocument) {
  for (const char* message : {"CreateSession", "PaymentServiceSession"}) {
    for (Format middle : {Format::kRest, Format::kProtoJson, Format::kText, Format::kBinary}) {
      absl::StatusOr<std::string> there = Convert(Request(message, Format::kRest, middle), kGolden);
      ASSERT_TRUE(there.ok()) << there.status();
      absl::StatusOr<std::string> back = Convert(Request(message, middle, Format::kRest), *there);
      ASSERT_TRUE(back.ok()) << back.status();
      EXPECT_EQ(*back, std::string(kGolden) + "\n") << message;
    }
  }
}

TEST(ConvertTest, ProtoJsonShowsProtoEnumNamesAndStringInt64) {
  absl::StatusOr<std::string> out =
      Convert(Request("CreateSession", Format::kRest, Format::kProtoJson), kGolden);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_THAT(*out, HasSubstr(R"("status":"CREATE_SESSION_STATUS_SUCCEEDED")"));
  EXPECT_THAT(*out, HasSubstr(R"("statusCode":"201")"));
}

TEST(ConvertTest, UnknownMessageIsAnError) {
  EXPECT_FALSE(Convert(Request("Buyer", Format::kRest, Format::kRest), "{}").ok());
}

TEST(ConvertTest, ErrorsStartWithAPath) {
  struct Case {
    Format from;
    std::string input;
    std::string prefix;
  };
  for (const Case& c : std::vector<Case>{
           {Format::kRest, R"({"status_code":"201"})", "$.status_code: expected an integer"},
           {Format::kProtoJson, R"({"statusCode": {}})", "$: "},
           {Format::kText, "status_code: \"x\"", "$: line 1"},
           {Format::kBinary, std::string("\xff\xff\xff", 3), "$: not a valid serialized"},
       }) {
    absl::StatusOr<std::string> out = Convert(Request("CreateSession", c.from, Format::kRest), c.input);
    ASSERT_FALSE(out.ok()) << c.input;
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(out.status().message()), StartsWith(c.prefix));
  }
}

TEST(ConvertTest, StrictAppliesToRestAndProtoJson) {
  ConvertRequest rest = Request("CreateSession", Format::kRest, Format::kRest);
  rest.strict = true;
  EXPECT_FALSE(Convert(rest, R"({"status":"succeeded","extra":1})").ok());
  rest.strict = false;
  EXPECT_TRUE(Convert(rest, R"({"status":"succeeded","extra":1})").ok());

  ConvertRequest proto_json = Request("CreateSession", Format::kProtoJson, Format::kRest);
  proto_json.strict = true;
  EXPECT_FALSE(Convert(proto_json, R"({"extra":1})").ok());
  proto_json.strict = false;
  EXPECT_TRUE(Convert(proto_json, R"({"extra":1})").ok());
}

// Binary input nests two messages per JSON level; 64 JSON levels inside
// response_body must still convert.
TEST(ConvertTest, DeepResponseBodySurvivesBinaryAndText) {
  std::string deep = R"({"response_body":{"a":)";
  for (int i = 0; i < 63; ++i) deep += "[";
  for (int i = 0; i < 63; ++i) deep += "]";
  deep += "}}";
  for (Format middle : {Format::kBinary, Format::kText}) {
    absl::StatusOr<std::string> there =
        Convert(Request("PaymentServiceSession", Format::kRest, middle), deep);
    ASSERT_TRUE(there.ok()) << there.status();
    absl::StatusOr<std::string> back =
        Convert(Request("PaymentServiceSession", middle, Format::kRest), *there);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_THAT(*back, HasSubstr("[[[[")) << back->substr(0, 80);
  }
}

TEST(ConvertTest, InputLimitAppliesToEveryFormat) {
  for (Format from : {Format::kRest, Format::kProtoJson, Format::kText, Format::kBinary}) {
    ConvertRequest request = Request("CreateSession", from, Format::kRest);
    request.limits.max_input_bytes = 4;
    absl::StatusOr<std::string> out = Convert(request, std::string(5, ' '));
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("more than the limit"));
  }
}

}  // namespace
}  // namespace cli
}  // namespace session_gateway
