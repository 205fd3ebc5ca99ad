#include "cli/convert_command.h"

#include <string>

#include "absl/strings/str_cat.h"
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

// {"response_body":{"a":{"a":...1...}}}: `levels` JSON levels of objects,
// the costliest nesting for protobuf (three messages per level).
std::string NestedObjects(int levels) {
  std::string doc = R"({"response_body":)";
  for (int i = 2; i < levels; ++i) doc += R"({"a":)";
  doc += "{}";
  for (int i = 2; i < levels; ++i) doc += "}";
  return doc + "}";
}

constexpr Format kAllFormats[] = {Format::kRest, Format::kProtoJson, Format::kText,
                                  Format::kBinary};

// --max_depth counts JSON levels in every format, whatever protobuf's own
// recursion limits (100 messages, about 33 Struct levels) would say.
TEST(ConvertDepthTest, MaxDepthLevelsWorkInEveryFormat) {
  for (int levels : {100, 150}) {
    const std::string doc = NestedObjects(levels);
    for (Format middle : kAllFormats) {
      SCOPED_TRACE(absl::StrCat(levels, " levels via format ", static_cast<int>(middle)));
      ConvertRequest there = Request("CreateSession", Format::kRest, middle);
      there.limits.max_depth = levels;
      absl::StatusOr<std::string> out = Convert(there, doc);
      ASSERT_TRUE(out.ok()) << out.status();
      ConvertRequest back = Request("CreateSession", middle, Format::kRest);
      back.limits.max_depth = levels;
      absl::StatusOr<std::string> rest = Convert(back, *out);
      ASSERT_TRUE(rest.ok()) << rest.status();
      EXPECT_EQ(*rest, R"({"type":"payment-service-session",)" + doc.substr(1) + "\n");
    }
  }
}

TEST(ConvertDepthTest, OneLevelMoreFailsNamingThePathInEveryFormat) {
  const std::string doc = NestedObjects(101);
  for (Format format : kAllFormats) {
    SCOPED_TRACE(static_cast<int>(format));
    // Written with a higher limit, read with the default of 100.
    ConvertRequest write = Request("CreateSession", Format::kRest, format);
    write.limits.max_depth = 101;
    absl::StatusOr<std::string> input = Convert(write, doc);
    ASSERT_TRUE(input.ok()) << input.status();
    absl::StatusOr<std::string> out = Convert(Request("CreateSession", format, Format::kRest), *input);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string message(out.status().message());
    const std::string key = format == Format::kProtoJson ? "responseBody" : "response_body";
    std::string path = "$." + key;
    for (int i = 2; i < 101; ++i) path += ".a";
    EXPECT_EQ(message, path + ": nesting is deeper than the limit of 100 levels");
  }
}

TEST(ConvertDepthTest, PrintingHasTheSameLimit) {
  // A 101-level message read as binary with a higher limit, printed with 100.
  ConvertRequest write = Request("CreateSession", Format::kRest, Format::kBinary);
  write.limits.max_depth = 101;
  absl::StatusOr<std::string> binary = Convert(write, NestedObjects(101));
  ASSERT_TRUE(binary.ok());
  for (Format to : {Format::kRest, Format::kProtoJson}) {
    ConvertRequest print = Request("CreateSession", Format::kBinary, to);
    print.limits.max_depth = 101;
    ASSERT_TRUE(Convert(print, *binary).ok());
    // Reading allows 101 here and printing only 100: the printer refuses.
    print.limits.max_depth = 100;
    absl::StatusOr<std::string> out = Convert(print, *binary);
    ASSERT_FALSE(out.ok());
    EXPECT_THAT(std::string(out.status().message()), HasSubstr("limit of 100 levels"));
  }
}

// protobuf reads the integer literal -0 as the integer 0; a Struct number
// must keep its sign through protojson, in and out.
TEST(ConvertTest, ProtoJsonKeepsNegativeZero) {
  absl::StatusOr<std::string> rest =
      Convert(Request("CreateSession", Format::kProtoJson, Format::kRest),
              R"({"responseBody":{"x":-0,"y":[-0,-0.0],"z":{"w":-0e0}}})");
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, R"({"type":"payment-service-session","response_body":{"x":-0,"y":[-0,-0],)"
                   R"("z":{"w":-0}}})"
                   "\n");
  absl::StatusOr<std::string> proto_json =
      Convert(Request("CreateSession", Format::kRest, Format::kProtoJson),
              R"({"response_body":{"x":-0}})");
  ASSERT_TRUE(proto_json.ok()) << proto_json.status();
  EXPECT_EQ(*proto_json, R"({"type":"payment-service-session","responseBody":{"x":-0}})" "\n");
}

TEST(ConvertTest, ProtoJsonReadsEitherFieldNameAndNullAsAbsent) {
  for (const char* input : {R"({"response_body":{"a":1}})", R"({"responseBody":{"a":1}})",
                            R"({"responseBody":null,"response_body":{"a":1}})"}) {
    absl::StatusOr<std::string> rest =
        Convert(Request("CreateSession", Format::kProtoJson, Format::kRest), input);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(*rest, R"({"type":"payment-service-session","response_body":{"a":1}})" "\n");
  }
  absl::StatusOr<std::string> rest = Convert(
      Request("CreateSession", Format::kProtoJson, Format::kRest), R"({"responseBody":null})");
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, R"({"type":"payment-service-session"})" "\n");
}

// session-convert promises one error line; protobuf's JSON errors quote the
// input on further lines.
TEST(ConvertTest, ProtoJsonErrorsAreOneLine) {
  for (const char* input : {R"({"code":"\udc00"})", R"({"code":1})",
                            R"({"responseBody":[]})", "[]",
                            R"({"statusCode":"x"} x)"}) {
    absl::StatusOr<std::string> out =
        Convert(Request("CreateSession", Format::kProtoJson, Format::kRest), input);
    ASSERT_FALSE(out.ok()) << input;
    EXPECT_THAT(std::string(out.status().message()), StartsWith("$")) << input;
    EXPECT_EQ(std::string(out.status().message()).find('\n'), std::string::npos) << input;
  }
}

// What a gRPC caller sees: unrecognized_status is an ordinary field.
TEST(ConvertTest, UnrecognizedStatusIsAnOrdinaryProtoJsonField) {
  absl::StatusOr<std::string> proto_json =
      Convert(Request("CreateSession", Format::kRest, Format::kProtoJson),
              R"({"type":"payment-service-session","status":"pending"})");
  ASSERT_TRUE(proto_json.ok()) << proto_json.status();
  EXPECT_EQ(*proto_json, R"({"type":"payment-service-session","unrecognizedStatus":"pending"})"
                         "\n");
  for (const char* input : {R"({"unrecognizedStatus":"pending"})",
                            R"({"unrecognized_status":"pending"})"}) {
    absl::StatusOr<std::string> rest =
        Convert(Request("CreateSession", Format::kProtoJson, Format::kRest), input);
    ASSERT_TRUE(rest.ok()) << rest.status();
    EXPECT_EQ(*rest, R"({"type":"payment-service-session","status":"pending"})" "\n");
  }
  // Both a known status and a kept string: fine in protobuf forms, but the
  // REST form has one key for them.
  const char* both = R"({"status":"CREATE_SESSION_STATUS_FAILED","unrecognizedStatus":"pending"})";
  EXPECT_TRUE(Convert(Request("CreateSession", Format::kProtoJson, Format::kBinary), both).ok());
  absl::StatusOr<std::string> rest =
      Convert(Request("CreateSession", Format::kProtoJson, Format::kRest), both);
  ASSERT_FALSE(rest.ok());
  EXPECT_THAT(std::string(rest.status().message()), StartsWith("$.status: "));
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
