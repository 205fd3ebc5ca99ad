// Rule-by-rule tests of the REST JSON converter (src/convert/rest_json.h).
//
// docs/rest-json.md states the contract; each section below tests one part
// of it, in both modes where the rule is the same in both. Error tests check
// the status code, the JSON path that starts the message and, where the
// wording is part of the contract, the reason.

#include "convert/rest_json.h"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gr4vy/rest/v1/annotations.pb.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace convert {
namespace {

using ::google::protobuf::Message;
using ::google::protobuf::NULL_VALUE;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::gr4vy::sessions::v1::CREATE_SESSION_STATUS_FAILED;
using ::gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED;
using ::gr4vy::sessions::v1::CREATE_SESSION_STATUS_UNSPECIFIED;
using ::gr4vy::sessions::v1::CreateSession;
using ::gr4vy::sessions::v1::CreateSessionStatus;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_STATUS_FAILED;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_STATUS_SUCCEEDED;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_STATUS_UNSPECIFIED;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_TYPE_UNSPECIFIED;
using ::gr4vy::sessions::v1::PaymentServiceSession;
using ::gr4vy::sessions::v1::PaymentServiceSessionStatus;
using ::gr4vy::sessions::v1::PaymentServiceSessionType;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::string_literals;  // NOLINT: "\0"s for embedded NULs.

constexpr char kType[] = "payment-service-session";

// The two golden examples from the API documentation.
constexpr char kGolden1[] =
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR","status_code":201,"response_body":{"sessionId":"12345"}})";
constexpr char kGolden2[] =
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR","status_code":200,"response_body":{"data":{"customerType":"EXISTING","walletManagementUrl":"https://example.com/session"},"meta":{}}})";

// ---------------------------------------------------------------------------
// Helpers.

ParseOptions Options(bool strict) {
  ParseOptions options;
  options.strict = strict;
  return options;
}

PrintOptions Pretty() {
  PrintOptions options;
  options.pretty = true;
  return options;
}

// Matches an absl::Status that is kInvalidArgument and whose message is
// "<path>: <reason>" for exactly this path.
MATCHER_P(ErrorAt, path,
          std::string(negation ? "isn't" : "is") +
              " an InvalidArgument error at " + std::string(path)) {
  const std::string message(arg.message());
  *result_listener << "status: " << arg.ToString();
  return arg.code() == absl::StatusCode::kInvalidArgument &&
         absl::StartsWith(message, std::string(path) + ": ");
}

// Matches an absl::Status that is kInvalidArgument at `path` or at any path
// below it ("$.a" matches "$.a: ...", "$.a.b: ..." and "$.a[0]: ...").
MATCHER_P(ErrorUnder, path,
          std::string(negation ? "isn't" : "is") +
              " an InvalidArgument error at or under " + std::string(path)) {
  const std::string message(arg.message());
  const std::string prefix(path);
  *result_listener << "status: " << arg.ToString();
  if (arg.code() != absl::StatusCode::kInvalidArgument) return false;
  if (!absl::StartsWith(message, prefix)) return false;
  if (message.size() <= prefix.size()) return false;
  const char next = message[prefix.size()];
  return next == ':' || next == '.' || next == '[';
}

// Matches an absl::Status whose message mentions one of `words`, ignoring
// case. Used for the key words of a reason, never its exact wording.
MATCHER_P(MentionsAnyOf, words, "mentions one of the expected words") {
  const std::string message = absl::AsciiStrToLower(arg.message());
  *result_listener << "status: " << arg.ToString();
  for (const std::string& word : words) {
    if (absl::StrContains(message, absl::AsciiStrToLower(word))) return true;
  }
  return false;
}

// Matches a status that is OK.
MATCHER(IsOk, "is OK") {
  *result_listener << "status: " << arg.ToString();
  return arg.ok();
}

std::string Print(const Message& message,
                  const PrintOptions& options = PrintOptions()) {
  absl::StatusOr<std::string> json = MessageToRestJson(message, options);
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok()) return "<print error: " + json.status().ToString() + ">";
  return *json;
}

absl::Status PrintStatus(const Message& message) {
  return MessageToRestJson(message).status();
}

std::string PrintValue(const Value& value,
                       const PrintOptions& options = PrintOptions()) {
  std::string out;
  absl::Status status = ValueToJson(value, &out, options);
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok()) return "<print error: " + status.ToString() + ">";
  return out;
}

absl::Status PrintValueStatus(const Value& value) {
  std::string out;
  return ValueToJson(value, &out);
}

// A PaymentServiceSession document with this response_body. Since
// PaymentServiceSession has no required field, such documents parse in both
// modes, and their canonical form is the same text when `body` is canonical.
std::string Body(absl::string_view body) {
  return absl::StrCat(R"({"type":"payment-service-session","response_body":)",
                      body, "}");
}

// Parses `json` as a PaymentServiceSession and returns the status.
absl::Status ParsePss(absl::string_view json, bool strict,
                      PaymentServiceSession* out = nullptr) {
  PaymentServiceSession scratch;
  return RestJsonToMessage(json, out != nullptr ? out : &scratch,
                           Options(strict));
}

// Parses `json` as a CreateSession and returns the status.
absl::Status ParseCreate(absl::string_view json, bool strict,
                         CreateSession* out = nullptr) {
  CreateSession scratch;
  return RestJsonToMessage(json, out != nullptr ? out : &scratch,
                           Options(strict));
}

// Parses `json` into a fresh M and prints it back; "<...error...>" if either
// step fails.
template <typename M>
std::string Reprint(absl::string_view json, bool strict,
                    const PrintOptions& print_options = PrintOptions()) {
  M message;
  absl::Status status = RestJsonToMessage(json, &message, Options(strict));
  if (!status.ok()) return "<parse error: " + status.ToString() + ">";
  return Print(message, print_options);
}

// The response_body parsed from Body(body), or an error status.
absl::StatusOr<Struct> ParseBody(absl::string_view body, bool strict) {
  PaymentServiceSession message;
  absl::Status status = ParsePss(Body(body), strict, &message);
  if (!status.ok()) return status;
  return message.response_body();
}

// The number that Body({"x": literal}) reads, or an error status.
absl::StatusOr<double> ParseNumberInBody(absl::string_view literal,
                                         bool strict) {
  absl::StatusOr<Struct> body =
      ParseBody(absl::StrCat(R"({"x":)", literal, "}"), strict);
  if (!body.ok()) return body.status();
  auto it = body->fields().find("x");
  if (it == body->fields().end() || !it->second.has_number_value()) {
    return absl::InternalError("x is not a number");
  }
  return it->second.number_value();
}

// Nested arrays "[[[...]]]" `levels` deep (empty string for 0 levels).
std::string NestedArrays(int levels) {
  return std::string(static_cast<size_t>(levels), '[') +
         std::string(static_cast<size_t>(levels), ']');
}

// A document whose nesting depth is exactly `depth` (>= 2): the top-level
// object is level 1, response_body level 2, then arrays inside it.
std::string DocumentOfDepth(int depth) {
  if (depth == 2) return R"({"response_body":{}})";
  return absl::StrCat(R"({"response_body":{"a":)", NestedArrays(depth - 2),
                      "}}");
}

bool SameBits(double a, double b) {
  return std::memcmp(&a, &b, sizeof(double)) == 0;
}

// Runs a test body in lenient and in strict mode.
class BothModes : public ::testing::TestWithParam<bool> {
 protected:
  bool strict() const { return GetParam(); }
};

std::string ModeParamName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "Strict" : "Lenient";
}

#define INSTANTIATE_BOTH_MODES(suite) \
  INSTANTIATE_TEST_SUITE_P(Modes, suite, ::testing::Bool(), ModeParamName)

// ---------------------------------------------------------------------------
// Golden examples.

class GoldenTest : public BothModes {};
INSTANTIATE_BOTH_MODES(GoldenTest);

TEST_P(GoldenTest, FirstExampleParsesAsCreateSession) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(kGolden1, strict(), &session), IsOk());
  EXPECT_EQ(session.type(), kType);
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);
  ASSERT_TRUE(session.has_code());
  EXPECT_EQ(session.code(), "UNKNOWN_ERROR");
  ASSERT_TRUE(session.has_status_code());
  EXPECT_EQ(session.status_code(), 201);
  ASSERT_TRUE(session.has_response_body());
  ASSERT_EQ(session.response_body().fields_size(), 1);
  const Value& id = session.response_body().fields().at("sessionId");
  ASSERT_TRUE(id.has_string_value());
  EXPECT_EQ(id.string_value(), "12345");
  EXPECT_EQ(Print(session), kGolden1);
}

TEST_P(GoldenTest, FirstExampleParsesAsPaymentServiceSession) {
  PaymentServiceSession session;
  ASSERT_THAT(ParsePss(kGolden1, strict(), &session), IsOk());
  EXPECT_EQ(session.type(),
            PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
  EXPECT_EQ(session.status(), PAYMENT_SERVICE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(session.code(), "UNKNOWN_ERROR");
  EXPECT_EQ(session.status_code(), 201);
  EXPECT_EQ(session.response_body().fields().at("sessionId").string_value(),
            "12345");
  EXPECT_EQ(Print(session), kGolden1);
}

TEST_P(GoldenTest, SecondExampleParsesAsCreateSession) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(kGolden2, strict(), &session), IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(session.code(), "UNKNOWN_ERROR");
  EXPECT_EQ(session.status_code(), 200);
  const Struct& body = session.response_body();
  ASSERT_EQ(body.fields_size(), 2);
  const Struct& data = body.fields().at("data").struct_value();
  EXPECT_EQ(data.fields().at("customerType").string_value(), "EXISTING");
  EXPECT_EQ(data.fields().at("walletManagementUrl").string_value(),
            "https://example.com/session");
  ASSERT_TRUE(body.fields().at("meta").has_struct_value());
  EXPECT_EQ(body.fields().at("meta").struct_value().fields_size(), 0);
  EXPECT_EQ(Print(session), kGolden2);
}

TEST_P(GoldenTest, SecondExampleParsesAsPaymentServiceSession) {
  EXPECT_EQ(Reprint<PaymentServiceSession>(kGolden2, strict()), kGolden2);
}

TEST_P(GoldenTest, PrettyOutputParsesBackToTheSameMessage) {
  for (const char* golden : {kGolden1, kGolden2}) {
    CreateSession original;
    ASSERT_THAT(ParseCreate(golden, strict(), &original), IsOk());
    const std::string pretty = Print(original, Pretty());
    EXPECT_THAT(pretty, HasSubstr("\n"));
    CreateSession reparsed;
    ASSERT_THAT(ParseCreate(pretty, strict(), &reparsed), IsOk()) << pretty;
    EXPECT_TRUE(MessageDifferencer::Equals(original, reparsed)) << pretty;
    EXPECT_EQ(Print(reparsed), golden);
  }
}

TEST(PrettyTest, NestedAndEmptyContainersParseBack) {
  const std::string body =
      R"({"a":[],"b":{},"c":[1,[2,[]],{"d":{}}],"e":"x\ny","f":null})";
  PaymentServiceSession original;
  ASSERT_THAT(ParsePss(Body(body), false, &original), IsOk());
  const std::string pretty = Print(original, Pretty());
  EXPECT_THAT(pretty, HasSubstr("\n"));
  PaymentServiceSession reparsed;
  ASSERT_THAT(ParsePss(pretty, true, &reparsed), IsOk()) << pretty;
  EXPECT_TRUE(MessageDifferencer::Equals(original, reparsed)) << pretty;
  EXPECT_EQ(Print(reparsed), Body(body));

  std::string value_pretty;
  ASSERT_THAT(ValueToJson(original.response_body().fields().at("c"),
                          &value_pretty, Pretty()),
              IsOk());
  Value c;
  ASSERT_THAT(JsonToValue(value_pretty, &c), IsOk()) << value_pretty;
  EXPECT_TRUE(
      MessageDifferencer::Equals(c, original.response_body().fields().at("c")));
}

// ---------------------------------------------------------------------------
// Keys, order and omission on output.

TEST(PrintTest, KeysInContractOrder) {
  CreateSession session;
  // Set in reverse order: the output order must not depend on it.
  (*session.mutable_response_body()->mutable_fields())["k"].set_bool_value(
      true);
  session.set_status_code(-5);
  session.set_code("c");
  session.set_status(CREATE_SESSION_STATUS_FAILED);
  session.set_type(kType);
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","status":"failed","code":"c","status_code":-5,"response_body":{"k":true}})");

  PaymentServiceSession pss;
  (*pss.mutable_response_body()->mutable_fields())["k"].set_bool_value(true);
  pss.set_status_code(-5);
  pss.set_code("c");
  pss.set_status(PAYMENT_SERVICE_SESSION_STATUS_FAILED);
  pss.set_type(PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
  EXPECT_EQ(
      Print(pss),
      R"({"type":"payment-service-session","status":"failed","code":"c","status_code":-5,"response_body":{"k":true}})");
}

TEST(PrintTest, UnsetFieldsAreOmittedButTypeIsAlwaysPrinted) {
  EXPECT_EQ(Print(CreateSession()), R"({"type":"payment-service-session"})");
  EXPECT_EQ(Print(PaymentServiceSession()),
            R"({"type":"payment-service-session"})");
}

TEST(PrintTest, SetButEmptyOrZeroFieldsArePrinted) {
  CreateSession session;
  session.set_code("");
  session.set_status_code(0);
  session.mutable_response_body();
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","code":"","status_code":0,"response_body":{}})");
}

TEST(PrintTest, StatusCodeIsAJsonInteger) {
  CreateSession session;
  session.set_status_code(201);
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","status_code":201})");
  session.set_status_code(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","status_code":9223372036854775807})");
  session.set_status_code(std::numeric_limits<int64_t>::min());
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","status_code":-9223372036854775808})");
}

TEST(PrintTest, AppendsToOutput) {
  CreateSession session;
  session.set_status(CREATE_SESSION_STATUS_SUCCEEDED);
  std::string out = "prefix:";
  ASSERT_THAT(MessageToRestJson(session, &out), IsOk());
  EXPECT_EQ(out,
            R"(prefix:{"type":"payment-service-session","status":"succeeded"})");

  Value value;
  value.set_number_value(1);
  out = "[";
  ASSERT_THAT(ValueToJson(value, &out), IsOk());
  EXPECT_EQ(out, "[1");

  Struct object;
  (*object.mutable_fields())["a"].set_null_value(NULL_VALUE);
  out = "x=";
  ASSERT_THAT(StructToJson(object, &out), IsOk());
  EXPECT_EQ(out, R"(x={"a":null})");
}

class KeysTest : public BothModes {};
INSTANTIATE_BOTH_MODES(KeysTest);

TEST_P(KeysTest, InputKeyOrderDoesNotMatter) {
  const std::string json =
      R"({"response_body":{"b":1,"a":2},"status_code":201,"code":"X","status":"failed","type":"payment-service-session"})";
  const std::string want =
      R"({"type":"payment-service-session","status":"failed","code":"X","status_code":201,"response_body":{"a":2,"b":1}})";
  EXPECT_EQ(Reprint<CreateSession>(json, strict()), want);
  EXPECT_EQ(Reprint<PaymentServiceSession>(json, strict()), want);
}

TEST_P(KeysTest, KeysInsideResponseBodyAreNeverRenamed) {
  const std::string body =
      R"({"CamelCase":{"innerKey":[{"statusCode":1}]},"responseBody":2,"sessionId":"1","session_id":"2","status_code":3})";
  absl::StatusOr<Struct> parsed = ParseBody(body, strict());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->fields().count("sessionId"), 1u);
  EXPECT_EQ(parsed->fields().count("session_id"), 1u);
  EXPECT_EQ(parsed->fields().count("responseBody"), 1u);
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(body), strict()), Body(body));
}

TEST_P(KeysTest, TopLevelKeysAreCaseSensitive) {
  // "Status" is not "status": an unknown key.
  CreateSession session;
  absl::Status status = ParseCreate(
      R"({"status":"succeeded","Status":"failed"})", strict(), &session);
  if (strict()) {
    EXPECT_THAT(status, ErrorAt("$.Status"));
  } else {
    ASSERT_THAT(status, IsOk());
    EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);
  }
}

TEST_P(KeysTest, EscapedKeysNameTheSameFields) {
  // Keys are compared after unescaping, like any JSON string.
  EXPECT_EQ(
      Reprint<CreateSession>(
          R"({"st\u0061tus":"f\u0061iled","status\u005fcode":201,"\u0074ype":"payment-service-session"})",
          strict()),
      R"({"type":"payment-service-session","status":"failed","status_code":201})");
}

// ---------------------------------------------------------------------------
// The constant `type`.

class TypeTest : public BothModes {};
INSTANTIATE_BOTH_MODES(TypeTest);

TEST_P(TypeTest, MissingOrNullTypeIsSetToTheConstant) {
  for (const char* json : {R"({"status":"succeeded"})",
                           R"({"type":null,"status":"succeeded"})",
                           R"({"type":"payment-service-session","status":"succeeded"})"}) {
    SCOPED_TRACE(json);
    CreateSession session;
    ASSERT_THAT(ParseCreate(json, strict(), &session), IsOk());
    EXPECT_EQ(session.type(), kType);
    PaymentServiceSession pss;
    ASSERT_THAT(ParsePss(json, strict(), &pss), IsOk());
    EXPECT_EQ(pss.type(), PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
  }
  PaymentServiceSession empty;
  ASSERT_THAT(ParsePss("{}", strict(), &empty), IsOk());
  EXPECT_EQ(empty.type(), PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
}

TEST_P(TypeTest, WrongTypeIsAnError) {
  for (const char* json :
       {R"({"type":"payment_service_session","status":"succeeded"})",
        R"({"type":"Payment-Service-Session","status":"succeeded"})",
        R"({"type":"","status":"succeeded"})",
        R"({"type":"PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION","status":"succeeded"})",
        R"({"type":"PAYMENT_SERVICE_SESSION_TYPE_UNSPECIFIED","status":"succeeded"})",
        R"({"type":1,"status":"succeeded"})",
        R"({"type":true,"status":"succeeded"})",
        R"({"type":{},"status":"succeeded"})",
        R"({"type":["payment-service-session"],"status":"succeeded"})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, strict()), ErrorAt("$.type"));
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$.type"));
  }
}

TEST(TypePrintTest, UnsetTypePrintsTheConstant) {
  CreateSession session;
  session.set_status(CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","status":"succeeded"})");
  PaymentServiceSession pss;
  pss.set_type(PAYMENT_SERVICE_SESSION_TYPE_UNSPECIFIED);
  EXPECT_EQ(Print(pss), R"({"type":"payment-service-session"})");
}

TEST(TypePrintTest, ConstantFieldHoldingAnotherValueFailsToPrint) {
  CreateSession session;
  session.set_type("something-else");
  EXPECT_THAT(PrintStatus(session), ErrorAt("$.type"));

  PaymentServiceSession pss;
  pss.set_type(static_cast<PaymentServiceSessionType>(7));
  EXPECT_THAT(PrintStatus(pss), ErrorAt("$.type"));
}

// ---------------------------------------------------------------------------
// Enums.

class EnumTest : public BothModes {};
INSTANTIATE_BOTH_MODES(EnumTest);

TEST_P(EnumTest, RestStringsParseAndPrint) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":"failed"})", strict(), &session),
              IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_FAILED);
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","status":"failed"})");
  ASSERT_THAT(ParseCreate(R"({"status":"succeeded"})", strict(), &session),
              IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);

  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss(R"({"status":"failed"})", strict(), &pss), IsOk());
  EXPECT_EQ(pss.status(), PAYMENT_SERVICE_SESSION_STATUS_FAILED);
  EXPECT_EQ(Print(pss),
            R"({"type":"payment-service-session","status":"failed"})");
  ASSERT_THAT(ParsePss(R"({"status":"succeeded"})", strict(), &pss), IsOk());
  EXPECT_EQ(pss.status(), PAYMENT_SERVICE_SESSION_STATUS_SUCCEEDED);
}

// Unknown strings for the open CreateSession.status: in lenient mode the
// enum is unspecified and the exact string is kept in unrecognized_status,
// so it prints back unchanged under "status"; in strict mode an error.
TEST_P(EnumTest, UnknownCreateSessionStatus) {
  for (const char* text :
       {"pending", "SUCCEEDED", "Succeeded", "CREATE_SESSION_STATUS_SUCCEEDED",
        "CREATE_SESSION_STATUS_UNSPECIFIED", "succeeded ", "unrecognized_status"}) {
    const std::string json = absl::StrCat(R"({"status":")", text, R"("})");
    SCOPED_TRACE(json);
    CreateSession session;
    session.set_status(CREATE_SESSION_STATUS_FAILED);
    absl::Status status = ParseCreate(json, strict(), &session);
    if (strict()) {
      EXPECT_THAT(status, ErrorAt("$.status"));
      EXPECT_THAT(status, MentionsAnyOf(std::vector<std::string>{"unknown value"}));
    } else {
      ASSERT_THAT(status, IsOk());
      EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
      EXPECT_EQ(session.unrecognized_status(), text);
      EXPECT_EQ(Print(session),
                absl::StrCat(R"({"type":"payment-service-session","status":")", text, R"("})"));
    }
  }
}

// An empty string names no value either, but a proto3 string without
// presence cannot tell "" from unset: it reads as a missing status.
TEST(OpenEnumTest, EmptyCreateSessionStatusReadsAsUnspecified) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":""})", false, &session), IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(session.unrecognized_status(), "");
  EXPECT_EQ(Print(session), R"({"type":"payment-service-session"})");
  EXPECT_THAT(ParseCreate(R"({"status":""})", true), ErrorAt("$.status"));
}

// PaymentServiceSession's enums are closed: unknown strings are errors in
// both modes.
TEST_P(EnumTest, UnknownPaymentServiceSessionStatusIsAnError) {
  for (const char* json :
       {R"({"status":"pending"})", R"({"status":"SUCCEEDED"})",
        R"({"status":""})",
        R"({"status":"PAYMENT_SERVICE_SESSION_STATUS_SUCCEEDED"})",
        R"({"status":"PAYMENT_SERVICE_SESSION_STATUS_UNSPECIFIED"})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$.status"));
  }
}

TEST_P(EnumTest, NonStringStatusIsAnError) {
  for (const char* json : {R"({"status":1})", R"({"status":0})",
                           R"({"status":true})", R"({"status":{}})",
                           R"({"status":["succeeded"]})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, strict()), ErrorAt("$.status"));
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$.status"));
  }
}

TEST(EnumPrintTest, UnspecifiedStatusIsOmitted) {
  CreateSession session;
  session.set_status(CREATE_SESSION_STATUS_UNSPECIFIED);
  session.set_code("X");
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","code":"X"})");
  PaymentServiceSession pss;
  pss.set_status(PAYMENT_SERVICE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(Print(pss), R"({"type":"payment-service-session"})");
}

TEST(EnumPrintTest, EnumValueWithNoRestNameFailsToPrint) {
  CreateSession session;
  session.set_status(static_cast<CreateSessionStatus>(7));
  EXPECT_THAT(PrintStatus(session), ErrorAt("$.status"));
  PaymentServiceSession pss;
  pss.set_status(static_cast<PaymentServiceSessionStatus>(-1));
  EXPECT_THAT(PrintStatus(pss), ErrorAt("$.status"));
}

// ---------------------------------------------------------------------------
// Unrecognized enum strings: (gr4vy.rest.v1.field).unrecognized_value_field.

// Escapes are decoded before the string is kept, and the printer writes it
// with its own minimal escaping, as for any string.
TEST(UnrecognizedStatusTest, KeepsTheDecodedStringAndPrintsItCanonically) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":"p\u0065nd\"ing\u00e9\ud83d\ude00"})", false, &session),
              IsOk());
  EXPECT_EQ(session.unrecognized_status(), "pend\"ing\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(Print(session), "{\"type\":\"payment-service-session\",\"status\":"
                            "\"pend\\\"ing\xC3\xA9\xF0\x9F\x98\x80\"}");
}

TEST(UnrecognizedStatusTest, IsWrittenWhereStatusBelongsInKeyOrder) {
  CreateSession session;
  session.set_code("c");
  session.set_status_code(1);
  session.set_unrecognized_status("pending");
  EXPECT_EQ(Print(session), R"({"type":"payment-service-session","status":"pending",)"
                            R"("code":"c","status_code":1})");
  EXPECT_EQ(Print(session, Pretty()),
            "{\n  \"type\": \"payment-service-session\",\n  \"status\": \"pending\",\n"
            "  \"code\": \"c\",\n  \"status_code\": 1\n}");
}

// The last of duplicate keys wins, and that includes the kept string.
TEST(UnrecognizedStatusTest, DuplicateStatusKeysReplaceTheKeptString) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":"pending","status":"succeeded"})", false, &session),
              IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(session.unrecognized_status(), "");
  ASSERT_THAT(ParseCreate(R"({"status":"pending","status":null})", false, &session), IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(session.unrecognized_status(), "");
  ASSERT_THAT(ParseCreate(R"({"status":"pending","status":"later"})", false, &session), IsOk());
  EXPECT_EQ(session.unrecognized_status(), "later");
  ASSERT_THAT(ParseCreate(R"({"status":"failed","status":"later"})", false, &session), IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(session.unrecognized_status(), "later");
}

TEST(UnrecognizedStatusTest, ParsingClearsAKeptString) {
  CreateSession session;
  session.set_unrecognized_status("old");
  ASSERT_THAT(ParseCreate(R"({"status":"failed"})", false, &session), IsOk());
  EXPECT_EQ(session.unrecognized_status(), "");
}

// The field that keeps the string has no wire key: on input its name (and
// its camelCase JSON name) is an unknown key like any other.
TEST(UnrecognizedStatusTest, ItsOwnNameIsAnUnknownKey) {
  for (const char* key : {"unrecognized_status", "unrecognizedStatus"}) {
    const std::string json = absl::StrCat(R"({"status":"failed",")", key, R"(":"pending"})");
    SCOPED_TRACE(json);
    CreateSession session;
    ASSERT_THAT(ParseCreate(json, false, &session), IsOk());
    EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_FAILED);
    EXPECT_EQ(session.unrecognized_status(), "");
    EXPECT_THAT(ParseCreate(json, true), ErrorAt(absl::StrCat("$.", key)));
    EXPECT_THAT(ParseCreate(json, true),
                MentionsAnyOf(std::vector<std::string>{"unknown field"}));
  }
  // Not even a wrong type is checked against it: lenient mode ignores it.
  EXPECT_THAT(ParseCreate(R"({"unrecognized_status":{"a":[1]}})", false), IsOk());
}

TEST(UnrecognizedStatusTest, ItsOwnNameIsNeverPrinted) {
  CreateSession session;
  session.set_unrecognized_status("pending");
  EXPECT_THAT(Print(session), Not(HasSubstr("unrecognized")));
  session.set_unrecognized_status("");
  EXPECT_EQ(Print(session), R"({"type":"payment-service-session"})");
}

// A known status and a kept string cannot both be printed under one key:
// printing either would silently lose the other, so it is an error.
TEST(UnrecognizedStatusTest, KnownStatusAndKeptStringTogetherFailToPrint) {
  CreateSession session;
  session.set_status(CREATE_SESSION_STATUS_FAILED);
  session.set_unrecognized_status("pending");
  EXPECT_THAT(PrintStatus(session), ErrorAt("$.status"));
  EXPECT_THAT(PrintStatus(session),
              MentionsAnyOf(std::vector<std::string>{"unrecognized_status"}));
}

// A kept string that names a known value would read back as that value,
// not as itself: the message cannot round-trip, so it does not print.
TEST(UnrecognizedStatusTest, KeptStringNamingAKnownValueFailsToPrint) {
  for (const char* known : {"succeeded", "failed"}) {
    CreateSession session;
    session.set_unrecognized_status(known);
    EXPECT_THAT(PrintStatus(session), ErrorAt("$.status")) << known;
  }
}

TEST(UnrecognizedStatusTest, InvalidUtf8FailsToPrint) {
  CreateSession session;
  session.set_unrecognized_status("pend\xFFing");
  EXPECT_THAT(PrintStatus(session), ErrorAt("$.status"));
}

// Messages built at run time with the annotation, to show it works from
// descriptors alone and that a bad annotation is an error, never a silent
// no-op.
class AnnotationTest : public ::testing::Test {
 protected:
  // A message "test.M" with an open enum field `state` annotated with
  // unrecognized_value_field = `target`, plus the fields `extra` declares
  // (name -> type).
  const google::protobuf::Descriptor* Build(
      const std::string& target,
      const std::vector<std::pair<std::string, google::protobuf::FieldDescriptorProto::Type>>&
          extra,
      bool open_enum = true, bool in_oneof = false) {
    using google::protobuf::FieldDescriptorProto;
    google::protobuf::FileDescriptorProto file;
    file.set_name(absl::StrCat("annotation_test_", ++counter_, ".proto"));
    file.set_package(absl::StrCat("test", counter_));
    file.set_syntax("proto3");
    file.add_dependency("gr4vy/rest/v1/annotations.proto");
    auto* type = file.add_enum_type();
    type->set_name("State");
    auto* zero = type->add_value();
    zero->set_name("STATE_UNSPECIFIED");
    zero->set_number(0);
    auto* on = type->add_value();
    on->set_name("STATE_ON");
    on->set_number(1);
    on->mutable_options()->MutableExtension(gr4vy::rest::v1::enum_value)->set_name("on");
    auto* message = file.add_message_type();
    message->set_name("M");
    auto* state = message->add_field();
    state->set_name("state");
    state->set_number(1);
    state->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
    state->set_type(FieldDescriptorProto::TYPE_ENUM);
    state->set_type_name(absl::StrCat(".test", counter_, ".State"));
    auto* rest = state->mutable_options()->MutableExtension(gr4vy::rest::v1::field);
    rest->set_open_enum(open_enum);
    rest->set_unrecognized_value_field(target);
    int number = 2;
    for (const auto& [name, field_type] : extra) {
      auto* field = message->add_field();
      field->set_name(name);
      field->set_number(number++);
      field->set_label(FieldDescriptorProto::LABEL_OPTIONAL);
      field->set_type(field_type);
      if (in_oneof) field->set_oneof_index(0);
    }
    if (in_oneof) message->add_oneof_decl()->set_name("choice");
    const google::protobuf::FileDescriptor* built = pool_.BuildFile(file);
    EXPECT_NE(built, nullptr);
    return built == nullptr ? nullptr : built->FindMessageTypeByName("M");
  }

  std::unique_ptr<Message> New(const google::protobuf::Descriptor* descriptor) {
    return std::unique_ptr<Message>(factory_.GetPrototype(descriptor)->New());
  }

  // Never freed: the converter caches plans by descriptor address for the
  // life of the process, as it may for generated types.
  static inline google::protobuf::DescriptorPool& pool_ =
      *new google::protobuf::DescriptorPool(google::protobuf::DescriptorPool::generated_pool());
  static inline google::protobuf::DynamicMessageFactory& factory_ =
      *new google::protobuf::DynamicMessageFactory(&pool_);
  static inline int counter_ = 0;
};

TEST_F(AnnotationTest, AnySiblingNameWorks) {
  const auto* descriptor =
      Build("raw_state", {{"raw_state", google::protobuf::FieldDescriptorProto::TYPE_STRING}});
  ASSERT_NE(descriptor, nullptr);
  std::unique_ptr<Message> message = New(descriptor);
  ASSERT_THAT(RestJsonToMessage(R"({"state":"off"})", message.get()), IsOk());
  const auto* raw = descriptor->FindFieldByName("raw_state");
  EXPECT_EQ(message->GetReflection()->GetString(*message, raw), "off");
  EXPECT_EQ(Print(*message), R"({"state":"off"})");
  EXPECT_THAT(RestJsonToMessage(R"({"raw_state":"x"})", message.get(), Options(true)),
              ErrorAt("$.raw_state"));
}

TEST_F(AnnotationTest, BadAnnotationsAreErrors) {
  using google::protobuf::FieldDescriptorProto;
  struct Case {
    const char* why;
    const google::protobuf::Descriptor* descriptor;
  };
  const std::vector<Case> cases = {
      {"names no field", Build("missing", {{"raw", FieldDescriptorProto::TYPE_STRING}})},
      {"names itself", Build("state", {})},
      {"names an integer field", Build("raw", {{"raw", FieldDescriptorProto::TYPE_INT64}})},
      {"names a field in a oneof",
       Build("raw", {{"raw", FieldDescriptorProto::TYPE_STRING}}, true, /*in_oneof=*/true)},
      {"is on a closed enum",
       Build("raw", {{"raw", FieldDescriptorProto::TYPE_STRING}}, /*open_enum=*/false)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    ASSERT_NE(c.descriptor, nullptr);
    std::unique_ptr<Message> message = New(c.descriptor);
    absl::Status parse = RestJsonToMessage("{}", message.get());
    EXPECT_EQ(parse.code(), absl::StatusCode::kUnimplemented) << parse;
    EXPECT_THAT(std::string(parse.message()), HasSubstr("unrecognized_value_field"));
    EXPECT_EQ(MessageToRestJson(*message).status().code(), absl::StatusCode::kUnimplemented);
  }
}

// ---------------------------------------------------------------------------
// status_code.

class StatusCodeTest : public BothModes {
 protected:
  // Parses {"status":"succeeded","status_code":<literal>} as both message
  // types; returns the CreateSession result and checks the two agree.
  absl::StatusOr<int64_t> ParseStatusCode(absl::string_view literal) {
    const std::string json =
        absl::StrCat(R"({"status":"succeeded","status_code":)", literal, "}");
    CreateSession session;
    PaymentServiceSession pss;
    absl::Status status = ParseCreate(json, strict(), &session);
    absl::Status pss_status = ParsePss(json, strict(), &pss);
    EXPECT_EQ(status.ok(), pss_status.ok()) << status << " vs " << pss_status;
    if (!status.ok()) return status;
    EXPECT_TRUE(session.has_status_code());
    EXPECT_EQ(pss.status_code(), session.status_code());
    return session.status_code();
  }
};
INSTANTIATE_BOTH_MODES(StatusCodeTest);

TEST_P(StatusCodeTest, IntegralNumbersAreAccepted) {
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"201", 201},
      {"201.0", 201},
      {"2.01e2", 201},
      {"2.01E+2", 201},
      {"20100e-2", 201},
      {"2010e-1", 201},
      {"201.000", 201},
      {"201." + std::string(1000, '0'), 201},
      {"0", 0},
      {"-0", 0},
      {"0.0", 0},
      {"-0.0", 0},
      {"-1", -1},
      {"-404.0", -404},
      {"1e2", 100},
      {"1e18", 1000000000000000000},
      {"9007199254740993", 9007199254740993},  // Exact, never rounded.
      {"-9007199254740993", -9007199254740993},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"-9223372036854775808", std::numeric_limits<int64_t>::min()},
  };
  for (const auto& [literal, want] : cases) {
    SCOPED_TRACE(literal);
    absl::StatusOr<int64_t> got = ParseStatusCode(literal);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

TEST_P(StatusCodeTest, PrintsBackAsAnInteger) {
  EXPECT_EQ(Reprint<PaymentServiceSession>(R"({"status_code":2.01e2})",
                                           strict()),
            R"({"type":"payment-service-session","status_code":201})");
  EXPECT_EQ(Reprint<PaymentServiceSession>(
                R"({"status_code":9007199254740993})", strict()),
            R"({"type":"payment-service-session","status_code":9007199254740993})");
}

TEST_P(StatusCodeTest, StringIsAnErrorWithTheDocumentedMessage) {
  absl::StatusOr<int64_t> got = ParseStatusCode(R"("201")");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(got.status().message(),
            "$.status_code: expected an integer, got a string");
}

TEST_P(StatusCodeTest, NonIntegersAreErrors) {
  for (const char* literal :
       {"201.5", "0.1", "-0.5", "2.015e2", "1e-1", "true", "false", "{}",
        "[]", "[201]", R"({"value":201})", R"("")", R"("abc")"}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<int64_t> got = ParseStatusCode(literal);
    ASSERT_FALSE(got.ok());
    EXPECT_THAT(got.status(), ErrorAt("$.status_code"));
    EXPECT_THAT(got.status(), MentionsAnyOf(std::vector<std::string>{
                                  "integer", "integral"}));
  }
}

TEST_P(StatusCodeTest, OutOfInt64RangeIsAnError) {
  for (const char* literal :
       {"9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "1e19", "-1e19", "1e300", "1e400",
        "99999999999999999999999999999999999999"}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<int64_t> got = ParseStatusCode(literal);
    ASSERT_FALSE(got.ok());
    EXPECT_THAT(got.status(), ErrorAt("$.status_code"));
  }
  absl::StatusOr<int64_t> huge = ParseStatusCode("2" + std::string(1000, '0'));
  EXPECT_THAT(huge.status(), ErrorAt("$.status_code"));
}

// Whether a number is integral is decided on its exact decimal value, not
// on the double it rounds to.
TEST_P(StatusCodeTest, IntegralityIsJudgedExactly) {
  for (const char* literal :
       {"201.0000000000000001", "1e-99999999999", "0.5e-1000000000000000000"}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<int64_t> got = ParseStatusCode(literal);
    EXPECT_THAT(got.status(), ErrorAt("$.status_code"));
  }
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"9223372036854775807.0", std::numeric_limits<int64_t>::max()},
      {"9223372036854775806.0", std::numeric_limits<int64_t>::max() - 1},
      {"92233720368547758070e-1", std::numeric_limits<int64_t>::max()},
      {"-9.223372036854775808e18", std::numeric_limits<int64_t>::min()},
      {"0e99999999999", 0},
  };
  for (const auto& [literal, want] : cases) {
    SCOPED_TRACE(literal);
    absl::StatusOr<int64_t> got = ParseStatusCode(literal);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

TEST_P(StatusCodeTest, NullMeansAbsent) {
  CreateSession session;
  session.set_status_code(5);
  ASSERT_THAT(ParseCreate(R"({"status":"succeeded","status_code":null})",
                          strict(), &session),
              IsOk());
  EXPECT_FALSE(session.has_status_code());
}

// ---------------------------------------------------------------------------
// Other top-level fields: null means absent, wrong JSON types are errors.

class FieldTest : public BothModes {};
INSTANTIATE_BOTH_MODES(FieldTest);

TEST_P(FieldTest, NullTopLevelFieldsAreAbsent) {
  const char* json =
      R"({"type":null,"status":"succeeded","code":null,"status_code":null,"response_body":null})";
  CreateSession session;
  ASSERT_THAT(ParseCreate(json, strict(), &session), IsOk());
  EXPECT_FALSE(session.has_code());
  EXPECT_FALSE(session.has_status_code());
  EXPECT_FALSE(session.has_response_body());
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","status":"succeeded"})");

  PaymentServiceSession pss;
  ASSERT_THAT(
      ParsePss(
          R"({"type":null,"status":null,"code":null,"status_code":null,"response_body":null})",
          strict(), &pss),
      IsOk());
  EXPECT_EQ(pss.status(), PAYMENT_SERVICE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(Print(pss), R"({"type":"payment-service-session"})");
}

TEST_P(FieldTest, EmptyValuesArePresent) {
  const std::string json =
      R"({"type":"payment-service-session","status":"succeeded","code":"","status_code":0,"response_body":{}})";
  CreateSession session;
  ASSERT_THAT(ParseCreate(json, strict(), &session), IsOk());
  EXPECT_TRUE(session.has_code());
  EXPECT_TRUE(session.has_status_code());
  EXPECT_TRUE(session.has_response_body());
  EXPECT_EQ(Print(session), json);
}

TEST_P(FieldTest, CodeMustBeAString) {
  for (const char* literal : {"1", "true", "{}", "[]", R"(["X"])"}) {
    SCOPED_TRACE(literal);
    const std::string json =
        absl::StrCat(R"({"status":"succeeded","code":)", literal, "}");
    EXPECT_THAT(ParseCreate(json, strict()), ErrorAt("$.code"));
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$.code"));
  }
}

TEST_P(FieldTest, ResponseBodyMustBeAnObject) {
  for (const char* literal :
       {"[]", R"([{"a":1}])", R"("x")", R"("{}")", "1", "true", "false"}) {
    SCOPED_TRACE(literal);
    const std::string json = absl::StrCat(
        R"({"status":"succeeded","response_body":)", literal, "}");
    EXPECT_THAT(ParseCreate(json, strict()), ErrorAt("$.response_body"));
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$.response_body"));
  }
}

TEST_P(FieldTest, ParsingClearsTheMessageFirst) {
  CreateSession session;
  session.set_code("old");
  session.set_status_code(5);
  (*session.mutable_response_body()->mutable_fields())["old"].set_number_value(
      1);
  ASSERT_THAT(ParseCreate(R"({"status":"failed"})", strict(), &session),
              IsOk());
  EXPECT_FALSE(session.has_code());
  EXPECT_FALSE(session.has_status_code());
  EXPECT_FALSE(session.has_response_body());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_FAILED);

  PaymentServiceSession pss;
  pss.set_status(PAYMENT_SERVICE_SESSION_STATUS_FAILED);
  pss.set_code("old");
  ASSERT_THAT(ParsePss(R"({"response_body":{"new":1}})", strict(), &pss),
              IsOk());
  EXPECT_EQ(pss.status(), PAYMENT_SERVICE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_FALSE(pss.has_code());
  EXPECT_EQ(pss.response_body().fields_size(), 1);
}

// ---------------------------------------------------------------------------
// response_body contents: null, empty containers, nesting.

class BodyTest : public BothModes {};
INSTANTIATE_BOTH_MODES(BodyTest);

TEST_P(BodyTest, NullInsideResponseBodyIsKept) {
  absl::StatusOr<Struct> body = ParseBody(R"({"a":null})", strict());
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_EQ(body->fields().count("a"), 1u);
  EXPECT_TRUE(body->fields().at("a").has_null_value());
  for (const char* canonical :
       {R"({"a":null})", R"({"a":[null,null],"b":{"c":null}})"}) {
    EXPECT_EQ(Reprint<PaymentServiceSession>(Body(canonical), strict()),
              Body(canonical));
  }
}

TEST_P(BodyTest, EmptyContainersAreKept) {
  for (const char* canonical :
       {R"({"meta":{}})", R"({"list":[]})",
        R"({"a":[[],{},[[]],[{}]],"b":{"c":{"d":{}}}})", "{}"}) {
    SCOPED_TRACE(canonical);
    EXPECT_EQ(Reprint<PaymentServiceSession>(Body(canonical), strict()),
              Body(canonical));
    EXPECT_EQ(Reprint<CreateSession>(
                  absl::StrCat(R"({"status":"failed","response_body":)",
                               canonical, "}"),
                  strict()),
              absl::StrCat(
                  R"({"type":"payment-service-session","status":"failed","response_body":)",
                  canonical, "}"));
  }
}

TEST_P(BodyTest, ScalarsRoundTrip) {
  const std::string canonical =
      R"({"f":false,"n":-12.5,"s":"text","t":true,"z":0})";
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(canonical), strict()),
            Body(canonical));
}

TEST_P(BodyTest, KeysPrintInByteWiseSortedOrder) {
  // Byte-wise: "" < "\u0001" < "B" < "a" < "a b" < "aa" < "b" < "z" < "é"
  // < "！" (EF BC 81) < "😀" (F0 ...). UTF-16 order would put the emoji
  // (D83D) before "！" (FF01).
  const std::string input =
      "{\"😀\":9,\"！\":8,\"é\":7,\"z\":6,\"b\":5,\"aa\":4,\"a b\":3,\"a\":2,"
      "\"B\":1,\"\\u0001\":0,\"\":-1}";
  const std::string want =
      "{\"\":-1,\"\\u0001\":0,\"B\":1,\"a\":2,\"a b\":3,\"aa\":4,\"b\":5,"
      "\"z\":6,\"é\":7,\"！\":8,\"😀\":9}";
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(input), strict()), Body(want));
}

TEST_P(BodyTest, SixtyFourLevelsInsideResponseBodyWork) {
  // response_body itself plus 63 nested objects, then 64 nested arrays
  // inside response_body: 66 levels in all, within the default limit.
  std::string objects = "{}";
  for (int i = 0; i < 63; ++i) objects = absl::StrCat(R"({"k":)", objects, "}");
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(objects), strict()),
            Body(objects));
  const std::string arrays = absl::StrCat(R"({"k":)", NestedArrays(64), "}");
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(arrays), strict()),
            Body(arrays));
  std::string mixed = "1";
  for (int i = 0; i < 64; ++i) {
    mixed = (i % 2 == 0) ? absl::StrCat("[", mixed, "]")
                         : absl::StrCat(R"({"m":)", mixed, "}");
  }
  mixed = absl::StrCat(R"({"k":)", mixed, "}");
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(mixed), strict()),
            Body(mixed));
}

TEST_P(BodyTest, WhitespaceBetweenTokensIsAllowed) {
  const std::string json =
      " \t\r\n{ \t\r\n\"status\" \t\r\n: \t\r\n\"succeeded\" \t\r\n, "
      "\"response_body\"\n:\n{ \"a\" : [ 1 , { } , [ ] , null ] }\r\n} \t\r\n";
  EXPECT_EQ(
      Reprint<CreateSession>(json, strict()),
      R"({"type":"payment-service-session","status":"succeeded","response_body":{"a":[1,{},[],null]}})");
}

// ---------------------------------------------------------------------------
// Numbers inside response_body.

struct PrintCase {
  double value;
  const char* want;
};

TEST(NumberPrintTest, ShortestEcmaScriptForm) {
  const PrintCase cases[] = {
      {0.0, "0"},
      {-0.0, "-0"},
      {1.0, "1"},
      {-1.0, "-1"},
      {201.0, "201"},
      {100.0, "100"},
      {0.1, "0.1"},
      {-0.1, "-0.1"},
      {0.5, "0.5"},
      {1.5, "1.5"},
      {-12.25, "-12.25"},
      {123.456, "123.456"},
      {0.30000000000000004, "0.30000000000000004"},
      {1.0 / 3.0, "0.3333333333333333"},
      {2.0 / 3.0, "0.6666666666666666"},
      {4.35, "4.35"},
      {0.000001, "0.000001"},
      {0.0000012, "0.0000012"},
      {0.000123, "0.000123"},
      {1e-7, "1e-7"},
      {1.5e-7, "1.5e-7"},
      {-1e-7, "-1e-7"},
      {1.23e-18, "1.23e-18"},
      {1e15, "1000000000000000"},
      {9007199254740992.0, "9007199254740992"},
      {-9007199254740992.0, "-9007199254740992"},
      {1e20, "100000000000000000000"},
      {1.2345678901234568e20, "123456789012345680000"},
      {1e21, "1e+21"},
      {-1e21, "-1e+21"},
      {1.5e21, "1.5e+21"},
      {1e100, "1e+100"},
      {1.2345678901234568e29, "1.2345678901234568e+29"},
      {5e-324, "5e-324"},
      {-5e-324, "-5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {-1.7976931348623157e308, "-1.7976931348623157e+308"},
  };
  for (const PrintCase& c : cases) {
    SCOPED_TRACE(c.want);
    Value value;
    value.set_number_value(c.value);
    EXPECT_EQ(PrintValue(value), c.want);

    // The printed form reads back to the very same double.
    Value back;
    ASSERT_THAT(JsonToValue(c.want, &back), IsOk());
    ASSERT_TRUE(back.has_number_value());
    EXPECT_TRUE(SameBits(back.number_value(), c.value))
        << back.number_value() << " vs " << c.value;
  }
}

TEST(NumberPrintTest, NonFiniteNumbersFailToPrint) {
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(),
                     -std::numeric_limits<double>::infinity()}) {
    Value value;
    value.set_number_value(bad);
    EXPECT_THAT(PrintValueStatus(value), ErrorAt("$"));

    PaymentServiceSession pss;
    (*pss.mutable_response_body()->mutable_fields())["n"].set_number_value(
        bad);
    EXPECT_THAT(PrintStatus(pss), ErrorAt("$.response_body.n"));

    CreateSession session;
    Value* list = &(*session.mutable_response_body()->mutable_fields())["l"];
    list->mutable_list_value()->add_values()->set_number_value(1);
    list->mutable_list_value()->add_values()->set_number_value(bad);
    EXPECT_THAT(PrintStatus(session), ErrorAt("$.response_body.l[1]"));
  }
}

class NumberParseTest : public BothModes {};
INSTANTIATE_BOTH_MODES(NumberParseTest);

TEST_P(NumberParseTest, NonCanonicalSpellingsPrintCanonically) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"1E2", "100"},
      {"1e+2", "100"},
      {"1e2", "100"},
      {"201.0", "201"},
      {"2.01e2", "201"},
      {"0.10", "0.1"},
      {"0.1e1", "1"},
      {"1e21", "1e+21"},
      {"1E+21", "1e+21"},
      {"0.0000001", "1e-7"},
      {"100e-9", "1e-7"},
      {"0.000001", "0.000001"},
      {"-0.0", "-0"},
      {"-0", "-0"},
      {"0e0", "0"},
      {"1.0e-6", "0.000001"},
      {"123456789012345678e3", "123456789012345680000"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"5E-324", "5e-324"},
      {"4.9e-324", "5e-324"},
      {"2.4703282292062328e-324", "5e-324"},
      {"0.1000000000000000055511151231257827021181583404541015625", "0.1"},
      {"9007199254740993.0", "9007199254740992"},  // Fraction: not checked.
      {"9007199254740993e0", "9007199254740992"},  // Exponent: not checked.
      {"1e300", "1e+300"},
  };
  for (const auto& [literal, want] : cases) {
    SCOPED_TRACE(literal);
    EXPECT_EQ(Reprint<PaymentServiceSession>(
                  Body(absl::StrCat(R"({"x":)", literal, "}")), strict()),
              Body(absl::StrCat(R"({"x":)", want, "}")));
  }
}

TEST_P(NumberParseTest, CanonicalNumbersRoundTripByteForByte) {
  for (const char* literal :
       {"0", "-0", "1", "-1", "201", "0.1", "-0.1", "1.5", "1e+21", "1e-7",
        "0.000001", "123456789012345680000", "5e-324", "-5e-324",
        "2.2250738585072014e-308", "1.7976931348623157e+308",
        "0.30000000000000004", "9007199254740992", "-9007199254740992",
        "1.2345e-300", "4.35"}) {
    SCOPED_TRACE(literal);
    const std::string json = Body(absl::StrCat(R"({"x":)", literal, "}"));
    // "123456789012345680000" is an integer literal beyond 2^53: strict
    // mode rejects it even though the printer produces it.
    if (strict() && std::string(literal) == "123456789012345680000") {
      EXPECT_THAT(ParsePss(json, true), ErrorAt("$.response_body.x"));
      continue;
    }
    EXPECT_EQ(Reprint<PaymentServiceSession>(json, strict()), json);
  }
}

TEST_P(NumberParseTest, UnderflowReadsAsZero) {
  for (const char* literal :
       {"1e-400", "2.4703282292062327e-324", "1e-99999999999999999999",
        "0e99999999999"}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<double> got = ParseNumberInBody(literal, strict());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, 0.0);
  }
  absl::StatusOr<double> negative = ParseNumberInBody("-1e-400", strict());
  ASSERT_TRUE(negative.ok()) << negative.status();
  EXPECT_EQ(*negative, 0.0);
  EXPECT_TRUE(std::signbit(*negative)) << "JSON.parse reads -1e-400 as -0";
}

TEST_P(NumberParseTest, OutOfDoubleRangeIsAnError) {
  for (const char* literal :
       {"1e400", "-1e309", "1.7976931348623159e308", "1e99999999999999999999",
        "-1E+999"}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<double> got = ParseNumberInBody(literal, strict());
    EXPECT_THAT(got.status(), ErrorAt("$.response_body.x"));
  }
  // Just below the rounding boundary: the largest double.
  absl::StatusOr<double> max =
      ParseNumberInBody("1.7976931348623158e308", strict());
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(*max, std::numeric_limits<double>::max());
}

TEST_P(NumberParseTest, OutOfRangeInAnyPositionIsAnError) {
  EXPECT_THAT(ParsePss(Body(R"({"items":[1,2,3,1e400]})"), strict()),
              ErrorAt("$.response_body.items[3]"));
  EXPECT_THAT(ParsePss(Body(R"({"a":{"b":[{"c":-1e999}]}})"), strict()),
              ErrorAt("$.response_body.a.b[0].c"));
}

TEST_P(NumberParseTest, IntegersUpTo2To53AreExact) {
  for (const auto& [literal, want] :
       std::vector<std::pair<std::string, double>>{
           {"9007199254740992", 9007199254740992.0},
           {"-9007199254740992", -9007199254740992.0},
           {"9007199254740991", 9007199254740991.0},
           {"123456789", 123456789.0}}) {
    SCOPED_TRACE(literal);
    absl::StatusOr<double> got = ParseNumberInBody(literal, strict());
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, want);
  }
}

// Integers beyond 2^53: rounded in lenient mode, an error in strict mode.
TEST_P(NumberParseTest, IntegersBeyond2To53) {
  const std::vector<std::pair<std::string, double>> cases = {
      {"9007199254740993", 9007199254740992.0},
      {"-9007199254740993", -9007199254740992.0},
      {"9007199254740995", 9007199254740996.0},  // Ties to even.
      {"9007199254740994", 9007199254740994.0},  // Exact, still beyond.
      {"12345678901234567890", 12345678901234567890.0},
      {"18446744073709551616", 18446744073709551616.0},
      {"123456789012345678901234567890", 1.2345678901234568e29},
      {"1" + std::string(300, '0'), 1e300},
  };
  for (const auto& [literal, want] : cases) {
    SCOPED_TRACE(literal);
    absl::StatusOr<double> got = ParseNumberInBody(literal, strict());
    if (strict()) {
      EXPECT_THAT(got.status(), ErrorAt("$.response_body.x"));
    } else {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, want);
    }
  }
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(R"({"x":9007199254740993})"),
                                           false),
            Body(R"({"x":9007199254740992})"));
}

TEST_P(NumberParseTest, InvalidNumberSyntaxIsAnError) {
  for (const char* literal :
       {"01", "-01", "00", "1.", "-1.", ".1", "-.1", "+1", "-", "1e", "1e+",
        "1E-", "--1", "0x10", "1.e5", "NaN", "Infinity", "-Infinity", "1_000",
        "1,5"}) {
    SCOPED_TRACE(literal);
    EXPECT_THAT(ParsePss(Body(absl::StrCat(R"({"x":)", literal, "}")),
                         strict()),
                ErrorUnder("$.response_body"));
  }
}

// ---------------------------------------------------------------------------
// Strings: escaping on output, decoding and validation on input.

TEST(StringPrintTest, EscapesPerRfc8259AndEmitsUtf8Raw) {
  Value value;
  value.set_string_value(
      "\"\\/\b\f\n\r\t"s + "\0\x01\x1f\x7f"s +
      "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF");
  EXPECT_EQ(PrintValue(value),
            "\"\\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f"
            "\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\xEF\xBF\xBF"
            "\"");
}

TEST(StringPrintTest, EveryControlCharacter) {
  for (int c = 0; c < 0x20; ++c) {
    Value value;
    value.set_string_value(std::string(1, static_cast<char>(c)));
    std::string want;
    switch (c) {
      case '\b': want = "\\b"; break;
      case '\f': want = "\\f"; break;
      case '\n': want = "\\n"; break;
      case '\r': want = "\\r"; break;
      case '\t': want = "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        want = buf;
      }
    }
    EXPECT_EQ(PrintValue(value), "\"" + want + "\"") << "char " << c;
  }
}

TEST(StringPrintTest, InvalidUtf8FailsToPrint) {
  for (const std::string& bad :
       {"\xFF"s, "\xC0\xAF"s, "\xED\xA0\x80"s, "\xF4\x90\x80\x80"s,
        "ok\xE2\x82"s, "\x80"s}) {
    Value value;
    value.set_string_value(bad);
    EXPECT_THAT(PrintValueStatus(value), ErrorAt("$"));

    PaymentServiceSession pss;
    (*pss.mutable_response_body()->mutable_fields())["s"].set_string_value(
        bad);
    EXPECT_THAT(PrintStatus(pss), ErrorAt("$.response_body.s"));

    CreateSession session;
    session.set_code(bad);
    EXPECT_THAT(PrintStatus(session), ErrorAt("$.code"));

    Struct object;
    (*object.mutable_fields())[bad].set_number_value(1);
    std::string out;
    EXPECT_THAT(StructToJson(object, &out), ErrorUnder("$"));
  }
}

class StringParseTest : public BothModes {};
INSTANTIATE_BOTH_MODES(StringParseTest);

TEST_P(StringParseTest, EscapesAreDecoded) {
  absl::StatusOr<Struct> body = ParseBody(
      R"({"s":"\"\\\/\b\f\n\r\t\u0041\u00e9\u00E9\u4e2d\ud83d\ude00\uD83D\uDE00\u0000\u001F\uffff"})",
      strict());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->fields().at("s").string_value(),
            "\"\\/\b\f\n\r\t"
            "A\xC3\xA9\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xF0\x9F\x98\x80"s +
                "\0\x1f\xEF\xBF\xBF"s);
}

TEST_P(StringParseTest, DecodedStringsPrintWithMinimalEscaping) {
  EXPECT_EQ(
      Reprint<PaymentServiceSession>(
          Body(R"({"s":"\u00e9\/\u0007\ud83d\ude00\u007f"})"), strict()),
      Body("{\"s\":\"\xC3\xA9/\\u0007\xF0\x9F\x98\x80\x7f\"}"));
}

TEST_P(StringParseTest, NulRoundTrips) {
  for (const char* canonical :
       {R"({"s":"\u0000"})", R"({"s":"a\u0000b\u0000"})",
        R"({"\u0000":"key with NUL"})"}) {
    SCOPED_TRACE(canonical);
    EXPECT_EQ(Reprint<PaymentServiceSession>(Body(canonical), strict()),
              Body(canonical));
  }
  absl::StatusOr<Struct> body = ParseBody(R"({"s":"a\u0000b"})", strict());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(body->fields().at("s").string_value(), "a\0b"s);

  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":"failed","code":"\u0000x"})", strict(),
                          &session),
              IsOk());
  EXPECT_EQ(session.code(), "\0x"s);
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","status":"failed","code":"\u0000x"})");
}

TEST_P(StringParseTest, RawUtf8IsAccepted) {
  const std::string canonical =
      "{\"\xC3\xA9\":\"\xE4\xB8\xAD\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"
      "\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF\x7f\"}";
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(canonical), strict()),
            Body(canonical));
}

TEST_P(StringParseTest, BadSurrogateEscapesAreErrors) {
  for (const char* escaped :
       {R"("\ud83d")", R"("\ude00")", R"("\ude00\ud83d")",
        R"("\ud83d\u0041")", R"("\ud83d\ud83d")", R"("\ud83dx")",
        R"("x\ud800")", R"("\udbff\n")", R"("\uDFFF")"}) {
    SCOPED_TRACE(escaped);
    EXPECT_THAT(
        ParsePss(Body(absl::StrCat(R"({"s":)", escaped, "}")), strict()),
        ErrorAt("$.response_body.s"));
  }
}

TEST_P(StringParseTest, BadEscapesAreErrors) {
  for (const char* escaped :
       {R"("\x41")", R"("\u12")", R"("\u12G4")", R"("\U0041")", R"("\'")",
        R"("\a")", R"("\0")", R"("\)", R"("\u")"}) {
    SCOPED_TRACE(escaped);
    EXPECT_THAT(
        ParsePss(Body(absl::StrCat(R"({"s":)", escaped, "}")), strict()),
        ErrorUnder("$.response_body"));
  }
}

TEST_P(StringParseTest, RawControlCharactersAreErrors) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string json =
        Body(absl::StrCat(R"({"s":"a)", std::string(1, static_cast<char>(c)),
                          R"(b"})"));
    EXPECT_THAT(ParsePss(json, strict()), ErrorUnder("$.response_body"))
        << "char " << c;
  }
  // Also in a key and in a top-level string.
  EXPECT_THAT(ParsePss(Body("{\"a\nb\":1}"), strict()),
              ErrorUnder("$.response_body"));
  EXPECT_THAT(ParsePss("{\"code\":\"a\tb\"}", strict()), ErrorUnder("$"));
}

TEST_P(StringParseTest, InvalidUtf8IsAnError) {
  const std::vector<std::string> bad = {
      "\x80"s,              // Lone continuation byte.
      "\xBF"s,              // Lone continuation byte.
      "\xC0\xAF"s,          // Overlong '/'.
      "\xC1\xBF"s,          // Overlong.
      "\xE0\x80\xAF"s,      // Overlong '/'.
      "\xE0\x9F\xBF"s,      // Overlong.
      "\xF0\x80\x80\xAF"s,  // Overlong '/'.
      "\xF0\x8F\xBF\xBF"s,  // Overlong U+FFFF.
      "\xED\xA0\x80"s,      // Encoded surrogate U+D800.
      "\xED\xBF\xBF"s,      // Encoded surrogate U+DFFF.
      "\xED\xA0\xBD\xED\xB8\x80"s,  // CESU-8 emoji.
      "\xF4\x90\x80\x80"s,  // U+110000.
      "\xF5\x80\x80\x80"s,  // Beyond U+10FFFF.
      "\xF8\x88\x80\x80\x80"s,  // Five-byte form.
      "\xFE"s, "\xFF"s,
      "\xC3"s,              // Truncated two-byte sequence.
      "\xE2\x82"s,          // Truncated three-byte sequence.
      "\xF0\x9F\x98"s,      // Truncated four-byte sequence.
      "\xC3\x28"s,          // Bad continuation.
      "\xE2\x28\xA1"s,      // Bad continuation.
  };
  for (const std::string& b : bad) {
    SCOPED_TRACE(absl::CEscape(b));
    // In a string value inside response_body.
    EXPECT_THAT(ParsePss(Body("{\"s\":\"x" + b + "y\"}"), strict()),
                ErrorAt("$.response_body.s"));
    // At the very end of a string value.
    EXPECT_THAT(ParsePss(Body("{\"s\":\"" + b + "\"}"), strict()),
                ErrorUnder("$.response_body"));
    // In a key inside response_body.
    EXPECT_THAT(ParsePss(Body("{\"k" + b + "\":1}"), strict()),
                ErrorUnder("$.response_body"));
    // In a top-level string field.
    EXPECT_THAT(ParseCreate("{\"status\":\"failed\",\"code\":\"" + b + "\"}",
                            strict()),
                ErrorAt("$.code"));
    // Outside any string.
    EXPECT_THAT(ParsePss("{" + b + "}", strict()), ErrorUnder("$"));
    EXPECT_THAT(ParsePss("{}" + b, strict()), ErrorUnder("$"));
  }
}

TEST_P(StringParseTest, InvalidUtf8InAnUnknownTopLevelKeyIsAnError) {
  // Lenient mode ignores unknown keys but still validates them.
  EXPECT_THAT(ParsePss("{\"k\xFF\":1}", strict()), ErrorUnder("$"));
  EXPECT_THAT(ParsePss("{\"x\":\"\xED\xA0\x80\"}", strict()),
              ErrorUnder("$"));
  EXPECT_THAT(ParsePss(R"({"x":"\ud800"})", strict()), ErrorUnder("$"));
}

TEST_P(StringParseTest, UnterminatedStringIsAnError) {
  EXPECT_THAT(ParsePss(R"({"response_body":{"s":"abc)", strict()),
              ErrorUnder("$"));
  EXPECT_THAT(ParsePss(R"({"response_body":{"s":"abc\")", strict()),
              ErrorUnder("$"));
}

// ---------------------------------------------------------------------------
// Lenient versus strict.

TEST(LenientTest, UnknownTopLevelKeysAreIgnored) {
  CreateSession session;
  ASSERT_THAT(
      ParseCreate(
          R"({"status":"succeeded","foo":1,"bar":{"x":[1,2,{"y":null}]},"a b":[],"":"","baz":null,"qux":"x","n":9007199254740993})",
          false, &session),
      IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);
  EXPECT_EQ(Print(session),
            R"({"type":"payment-service-session","status":"succeeded"})");
}

TEST(LenientTest, IgnoredValuesMustStillBeValidJson) {
  EXPECT_THAT(ParsePss(R"({"foo":[1,}])", false), ErrorUnder("$"));
  EXPECT_THAT(ParsePss(R"({"foo":tru})", false), ErrorUnder("$"));
  EXPECT_THAT(ParsePss(R"({"foo":01})", false), ErrorUnder("$"));
  EXPECT_THAT(ParsePss(R"({"foo":1e400})", false), ErrorUnder("$.foo"));
}

TEST(LenientTest, CamelCaseAliasesAreAccepted) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(
                  R"({"status":"succeeded","statusCode":201,"responseBody":{"sessionId":"1"}})",
                  false, &session),
              IsOk());
  EXPECT_EQ(session.status_code(), 201);
  EXPECT_EQ(session.response_body().fields().at("sessionId").string_value(),
            "1");
  EXPECT_EQ(
      Print(session),
      R"({"type":"payment-service-session","status":"succeeded","status_code":201,"response_body":{"sessionId":"1"}})");

  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss(R"({"statusCode":null,"responseBody":null})", false,
                       &pss),
              IsOk());
  EXPECT_FALSE(pss.has_status_code());
  EXPECT_FALSE(pss.has_response_body());
}

TEST(LenientTest, AliasValuesAreCheckedLikeTheField) {
  EXPECT_THAT(ParsePss(R"({"statusCode":"201"})", false),
              ErrorAt("$.statusCode"));
  EXPECT_THAT(ParsePss(R"({"responseBody":[]})", false),
              ErrorAt("$.responseBody"));
  EXPECT_THAT(ParsePss(R"({"responseBody":{"x":1e400}})", false),
              ErrorAt("$.responseBody.x"));
}

TEST(LenientTest, MissingCreateSessionStatusIsUnspecified) {
  for (const char* json : {R"({})", R"({"status":null})"}) {
    SCOPED_TRACE(json);
    CreateSession session;
    ASSERT_THAT(ParseCreate(json, false, &session), IsOk());
    EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
    EXPECT_EQ(Print(session), R"({"type":"payment-service-session"})");
  }
}

TEST(LenientTest, UnknownCreateSessionStatusIsUnspecifiedAndKept) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"status":"pending"})", false, &session), IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(session.unrecognized_status(), "pending");
  EXPECT_EQ(Print(session), R"({"type":"payment-service-session","status":"pending"})");
}

TEST(LenientTest, DuplicateKeysLastWins) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(R"({"code":"X","code":"Y"})", false, &session),
              IsOk());
  EXPECT_EQ(session.code(), "Y");

  ASSERT_THAT(ParseCreate(R"({"code":"X","code":null})", false, &session),
              IsOk());
  EXPECT_FALSE(session.has_code());

  ASSERT_THAT(ParseCreate(R"({"code":null,"code":"X"})", false, &session),
              IsOk());
  EXPECT_EQ(session.code(), "X");

  ASSERT_THAT(ParseCreate(R"({"status":"failed","status":"succeeded"})",
                          false, &session),
              IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_SUCCEEDED);

  ASSERT_THAT(ParseCreate(R"({"status":"failed","status":"pending"})", false,
                          &session),
              IsOk());
  EXPECT_EQ(session.status(), CREATE_SESSION_STATUS_UNSPECIFIED);
  EXPECT_EQ(session.unrecognized_status(), "pending");

  ASSERT_THAT(ParseCreate(R"({"status_code":1,"status_code":2})", false,
                          &session),
              IsOk());
  EXPECT_EQ(session.status_code(), 2);

  ASSERT_THAT(
      ParseCreate(R"({"statusCode":1,"statusCode":2})", false, &session),
      IsOk());
  EXPECT_EQ(session.status_code(), 2);

  ASSERT_THAT(ParseCreate(R"({"type":null,"type":"payment-service-session"})",
                          false, &session),
              IsOk());
  EXPECT_EQ(session.type(), kType);
}

TEST(LenientTest, ReplacedDuplicateValuesAreStillValidated) {
  // "Last wins" does not excuse a bad earlier value.
  EXPECT_THAT(ParsePss(R"({"status_code":"x","status_code":1})", false),
              ErrorAt("$.status_code"));
  EXPECT_THAT(ParsePss(R"({"type":"other","type":"payment-service-session"})",
                       false),
              ErrorAt("$.type"));
  EXPECT_THAT(ParsePss(R"({"response_body":{"a":1e400},"response_body":{}})",
                       false),
              ErrorAt("$.response_body.a"));
  EXPECT_THAT(ParsePss(Body(R"({"a":"\ud800","a":1})"), false),
              ErrorAt("$.response_body.a"));
}

TEST(LenientTest, DuplicateResponseBodyIsReplacedNotMerged) {
  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss(R"({"response_body":{"a":1},"response_body":{"b":2}})",
                       false, &pss),
              IsOk());
  EXPECT_EQ(Print(pss), Body(R"({"b":2})"));
  ASSERT_THAT(ParsePss(R"({"response_body":{"a":1},"response_body":null})",
                       false, &pss),
              IsOk());
  EXPECT_FALSE(pss.has_response_body());
}

TEST(LenientTest, DuplicateKeysInsideResponseBodyLastWins) {
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(R"({"a":1,"a":2})"), false),
            Body(R"({"a":2})"));
  EXPECT_EQ(Reprint<PaymentServiceSession>(
                Body(R"({"a":{"x":1},"b":0,"a":[2]})"), false),
            Body(R"({"a":[2],"b":0})"));
  EXPECT_EQ(Reprint<PaymentServiceSession>(
                Body(R"({"o":{"k":1,"k":null},"l":[{"k":1,"k":2}]})"), false),
            Body(R"({"l":[{"k":2}],"o":{"k":null}})"));
  // Keys are compared after unescaping.
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(R"({"a":1,"\u0061":2})"),
                                           false),
            Body(R"({"a":2})"));
  Value value;
  ASSERT_THAT(JsonToValue(R"({"a":1,"a":2})", &value), IsOk());
  EXPECT_EQ(value.struct_value().fields().at("a").number_value(), 2);
}

TEST(StrictTest, UnknownTopLevelKeysAreErrors) {
  EXPECT_THAT(ParseCreate(R"({"status":"succeeded","foo":1})", true),
              ErrorAt("$.foo"));
  EXPECT_THAT(ParsePss(R"({"foo":null})", true), ErrorAt("$.foo"));
  EXPECT_THAT(ParsePss(R"({"foo":1})", true),
              MentionsAnyOf(std::vector<std::string>{"unknown"}));
  EXPECT_THAT(ParsePss(R"({"a b":1})", true), ErrorAt(R"($["a b"])"));
  EXPECT_THAT(ParsePss(R"({"":1})", true), ErrorAt(R"($[""])"));
}

TEST(StrictTest, CamelCaseAliasesAreUnknownFields) {
  EXPECT_THAT(ParseCreate(R"({"status":"succeeded","statusCode":201})", true),
              ErrorAt("$.statusCode"));
  EXPECT_THAT(ParsePss(R"({"responseBody":{}})", true),
              ErrorAt("$.responseBody"));
  EXPECT_THAT(ParsePss(R"({"statusCode":null})", true),
              ErrorAt("$.statusCode"));
}

TEST(StrictTest, MissingNullOrUnknownCreateSessionStatusIsAnError) {
  for (const char* json :
       {R"({})", R"({"status":null})", R"({"status":"pending"})",
        R"({"code":"X","status_code":201,"response_body":{}})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, true), ErrorAt("$.status"));
  }
}

TEST(StrictTest, PaymentServiceSessionHasNoRequiredFields) {
  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss("{}", true, &pss), IsOk());
  EXPECT_EQ(Print(pss), R"({"type":"payment-service-session"})");
  ASSERT_THAT(ParsePss(R"({"status":null})", true, &pss), IsOk());
}

TEST(StrictTest, DuplicateTopLevelKeysAreErrors) {
  for (const auto& [json, path] : std::vector<std::pair<const char*, const char*>>{
           {R"({"status":"failed","code":"X","code":"Y"})", "$.code"},
           {R"({"status":"failed","code":"X","code":null})", "$.code"},
           {R"({"status":"failed","status":"failed"})", "$.status"},
           {R"({"status":"failed","status_code":1,"status_code":1})",
            "$.status_code"},
           {R"({"status":"failed","type":null,"type":null})", "$.type"},
           {R"({"status":"failed","response_body":{},"response_body":{}})",
            "$.response_body"}}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, true), ErrorAt(path));
    EXPECT_THAT(ParseCreate(json, true),
                MentionsAnyOf(std::vector<std::string>{"duplicate"}));
  }
}

TEST(StrictTest, DuplicateKeysInsideResponseBodyAreErrors) {
  EXPECT_THAT(ParsePss(Body(R"({"a":1,"a":2})"), true),
              ErrorAt("$.response_body.a"));
  EXPECT_THAT(ParsePss(Body(R"({"o":{"k":1,"k":2}})"), true),
              ErrorAt("$.response_body.o.k"));
  EXPECT_THAT(ParsePss(Body(R"({"arr":[0,{"k":1,"k":2}]})"), true),
              ErrorAt("$.response_body.arr[1].k"));
  EXPECT_THAT(ParsePss(Body(R"({"a":1,"\u0061":2})"), true),
              ErrorAt("$.response_body.a"));
  EXPECT_THAT(ParsePss(Body(R"({"a b":1,"a b":2})"), true),
              ErrorAt(R"($.response_body["a b"])"));
  EXPECT_THAT(ParsePss(Body(R"({"a":1,"a":2})"), true),
              MentionsAnyOf(std::vector<std::string>{"duplicate"}));
  Value value;
  EXPECT_THAT(JsonToValue(R"({"a":1,"a":2})", &value, Options(true)),
              ErrorAt("$.a"));
}

class AliasTest : public BothModes {};
INSTANTIATE_BOTH_MODES(AliasTest);

TEST_P(AliasTest, BothSpellingsOfOneFieldAreAnError) {
  for (const char* json :
       {R"({"status":"failed","status_code":1,"statusCode":2})",
        R"({"status":"failed","statusCode":2,"status_code":1})",
        R"({"status":"failed","status_code":1,"statusCode":null})",
        R"({"status":"failed","status_code":null,"statusCode":1})",
        R"({"status":"failed","status_code":1,"statusCode":1})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, strict()),
                AnyOf(ErrorAt("$.status_code"), ErrorAt("$.statusCode")));
    EXPECT_THAT(ParsePss(json, strict()),
                AnyOf(ErrorAt("$.status_code"), ErrorAt("$.statusCode")));
  }
  for (const char* json :
       {R"({"status":"failed","response_body":{},"responseBody":{}})",
        R"({"status":"failed","responseBody":{"a":1},"response_body":null})"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParseCreate(json, strict()),
                AnyOf(ErrorAt("$.response_body"), ErrorAt("$.responseBody")));
    EXPECT_THAT(ParsePss(json, strict()),
                AnyOf(ErrorAt("$.response_body"), ErrorAt("$.responseBody")));
  }
}

// ---------------------------------------------------------------------------
// Document-level errors: not one object, trailing bytes, whitespace.

class DocumentTest : public BothModes {};
INSTANTIATE_BOTH_MODES(DocumentTest);

TEST_P(DocumentTest, InputThatIsNotOneObjectIsAnError) {
  for (const std::string& json :
       {""s, " "s, "\n\t\r "s, "[]"s, "[{}]"s, "null"s, "1"s, "-0"s,
        "\"x\""s, "true"s, "false"s, "{"s, "}"s, "{]"s, "{,}"s, "\0"s,
        "\0{}"s}) {
    SCOPED_TRACE(absl::CEscape(json));
    EXPECT_THAT(ParsePss(json, strict()), ErrorUnder("$"));
    EXPECT_THAT(ParseCreate(json, strict()), ErrorUnder("$"));
  }
  for (const char* json : {"[]", "null", "1", "\"x\"", "true"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(ParsePss(json, strict()), ErrorAt("$"));
  }
}

TEST_P(DocumentTest, TrailingBytesAreAnError) {
  for (const std::string& suffix :
       {"x"s, "{}"s, " }"s, ","s, " ,"s, "\0"s, "/"s, "//"s, "/* */"s, "\f"s,
        "\v"s, "\xC2\xA0"s, "\xEF\xBB\xBF"s, "\xE2\x80\xA8"s, "0"s, "null"s,
        " \n x"s}) {
    SCOPED_TRACE(absl::CEscape(suffix));
    EXPECT_THAT(ParsePss("{}" + suffix, strict()), ErrorAt("$"));
    EXPECT_THAT(ParseCreate(R"({"status":"failed"})" + suffix, strict()),
                ErrorAt("$"));
    Value value;
    EXPECT_THAT(JsonToValue("[1]" + suffix, &value, Options(strict())),
                ErrorAt("$"));
  }
}

TEST_P(DocumentTest, LeadingAndTrailingJsonWhitespaceIsAllowed) {
  EXPECT_THAT(ParsePss(" \t\r\n{} \t\r\n", strict()), IsOk());
  EXPECT_THAT(ParsePss("\n\n{\n}\n\n", strict()), IsOk());
  Value value;
  EXPECT_THAT(JsonToValue(" \t\r\n1 \t\r\n", &value, Options(strict())),
              IsOk());
  EXPECT_EQ(value.number_value(), 1);
}

TEST_P(DocumentTest, OtherLeadingWhitespaceIsAnError) {
  for (const std::string& prefix :
       {"\f"s, "\v"s, "\xC2\xA0"s, "\xE3\x80\x80"s, "\0"s,
        "\xEF\xBB\xBF"s /* A byte-order mark is not whitespace. */}) {
    SCOPED_TRACE(absl::CEscape(prefix));
    EXPECT_THAT(ParsePss(prefix + "{}", strict()), ErrorUnder("$"));
  }
}

TEST_P(DocumentTest, StructuralErrorsAreErrors) {
  for (const char* body :
       {R"({"a" 1})", R"({"a":1,})", R"({"a":[1,]})", R"({,})", R"({"a":})",
        R"({"a":1 "b":2})", R"({'a':1})", R"({a:1})", R"({"a":[1 2]})",
        R"({"a":1])", R"({"a":[1}})", R"({"a":1/*c*/})", R"({"a"::1})",
        R"({"a":tru})", R"({"a":nul})", R"({"a":True})", R"({"a":NULL})",
        R"({"a":undefined})", R"({"a":'x'})", R"({1:1})", R"({null:1})"}) {
    SCOPED_TRACE(body);
    EXPECT_THAT(ParsePss(Body(body), strict()),
                ErrorUnder("$.response_body"));
  }
}

TEST_P(DocumentTest, InputSizeLimit) {
  ParseOptions options = Options(strict());
  options.max_input_bytes = 20;
  const std::string twenty = R"({"code":"123456789"})";
  ASSERT_EQ(twenty.size(), 20u);
  PaymentServiceSession pss;
  EXPECT_THAT(RestJsonToMessage(twenty, &pss, options), IsOk());
  EXPECT_EQ(pss.code(), "123456789");

  for (const std::string& json :
       {R"({"code":"1234567890"})"s, twenty + " "s, " "s + twenty,
        std::string(1000, ' ') + "{}"}) {
    SCOPED_TRACE(json);
    absl::Status status = RestJsonToMessage(json, &pss, options);
    EXPECT_THAT(status, ErrorAt("$"));
  }
  // Too large is too large even when also malformed.
  EXPECT_THAT(RestJsonToMessage(std::string(21, '['), &pss, options),
              ErrorAt("$"));

  options.max_input_bytes = 0;
  EXPECT_THAT(RestJsonToMessage("{}", &pss, options), ErrorAt("$"));

  options.max_input_bytes = 2;
  EXPECT_THAT(RestJsonToMessage("{}", &pss, options), IsOk());
  Value value;
  EXPECT_THAT(JsonToValue("[1]", &value, options), ErrorAt("$"));
  EXPECT_THAT(JsonToValue("[]", &value, options), IsOk());
  Struct object;
  EXPECT_THAT(JsonToStruct(R"({"a":1})", &object, options), ErrorAt("$"));
}

// ---------------------------------------------------------------------------
// Nesting depth.

class DepthTest : public BothModes {};
INSTANTIATE_BOTH_MODES(DepthTest);

TEST_P(DepthTest, DefaultLimitIsOneHundredLevels) {
  EXPECT_EQ(DocumentOfDepth(2), R"({"response_body":{}})");
  EXPECT_EQ(DocumentOfDepth(4), R"({"response_body":{"a":[[]]}})");
  EXPECT_THAT(ParsePss(DocumentOfDepth(99), strict()), IsOk());
  EXPECT_THAT(ParsePss(DocumentOfDepth(100), strict()), IsOk());
  absl::Status too_deep = ParsePss(DocumentOfDepth(101), strict());
  EXPECT_THAT(too_deep, ErrorUnder("$.response_body.a"));
  EXPECT_THAT(too_deep, MentionsAnyOf(std::vector<std::string>{
                            "depth", "deep", "nest"}));
  EXPECT_THAT(ParsePss(DocumentOfDepth(102), strict()),
              ErrorUnder("$.response_body.a"));
}

TEST_P(DepthTest, DepthOfObjectsCountsTheSame) {
  // {"response_body":{"k":{"k":...{}}}} with `n` objects inside
  // response_body has depth n + 2.
  auto objects = [](int n) {
    std::string doc = "{}";
    for (int i = 0; i < n - 1; ++i) doc = absl::StrCat(R"({"k":)", doc, "}");
    return absl::StrCat(R"({"response_body":{"k":)", doc, "}}");
  };
  EXPECT_THAT(ParsePss(objects(98), strict()), IsOk());
  EXPECT_THAT(ParsePss(objects(99), strict()),
              ErrorUnder("$.response_body.k"));
}

TEST_P(DepthTest, CustomLimit) {
  ParseOptions options = Options(strict());
  PaymentServiceSession pss;
  for (int max_depth : {3, 5, 17, 150}) {
    SCOPED_TRACE(max_depth);
    options.max_depth = max_depth;
    EXPECT_THAT(RestJsonToMessage(DocumentOfDepth(max_depth), &pss, options),
                IsOk());
    EXPECT_THAT(
        RestJsonToMessage(DocumentOfDepth(max_depth + 1), &pss, options),
        ErrorUnder("$.response_body"));
  }

  options.max_depth = 1;
  EXPECT_THAT(RestJsonToMessage(R"({"code":"x"})", &pss, options), IsOk());
  EXPECT_THAT(RestJsonToMessage(R"({"response_body":{}})", &pss, options),
              ErrorAt("$.response_body"));
  options.max_depth = 2;
  EXPECT_THAT(RestJsonToMessage(R"({"response_body":{"a":1}})", &pss, options),
              IsOk());
  EXPECT_THAT(
      RestJsonToMessage(R"({"response_body":{"a":[]}})", &pss, options),
      ErrorAt("$.response_body.a"));
}

TEST(LenientDepthTest, LimitCoversTheWholeDocument) {
  // Values of ignored keys (lenient mode only) count too.
  const std::string ok =
      absl::StrCat(R"({"ignored":)", NestedArrays(99), "}");
  const std::string deep =
      absl::StrCat(R"({"ignored":)", NestedArrays(100), "}");
  EXPECT_THAT(ParsePss(ok, false), IsOk());
  EXPECT_THAT(ParsePss(deep, false), ErrorUnder("$.ignored"));
}

TEST_P(DepthTest, JsonToValueCountsTheTopLevelValueAsOne) {
  ParseOptions options = Options(strict());
  options.max_depth = 3;
  Value value;
  EXPECT_THAT(JsonToValue("[[[]]]", &value, options), IsOk());
  EXPECT_THAT(JsonToValue("[[[1,2]]]", &value, options), IsOk());
  EXPECT_THAT(JsonToValue(R"({"a":{"b":{}}})", &value, options), IsOk());
  EXPECT_THAT(JsonToValue("[[[[]]]]", &value, options), ErrorUnder("$"));
  EXPECT_THAT(JsonToValue(R"({"a":{"b":{"c":{}}}})", &value, options),
              ErrorUnder("$.a.b"));
  options.max_depth = 1;
  EXPECT_THAT(JsonToValue("1", &value, options), IsOk());
  EXPECT_THAT(JsonToValue("[]", &value, options), IsOk());
  EXPECT_THAT(JsonToValue("[[]]", &value, options), ErrorAt("$[0]"));
}

TEST_P(DepthTest, DeepLimitWithDeepDocumentStillWorks) {
  // A raised limit is honoured: 2000 levels parse, print and round-trip.
  ParseOptions options = Options(strict());
  options.max_depth = 2000;
  const std::string doc = Body(absl::StrCat(R"({"a":)", NestedArrays(1998),
                                            "}"));
  PaymentServiceSession pss;
  ASSERT_THAT(RestJsonToMessage(doc, &pss, options), IsOk());
  PrintOptions print_options;
  print_options.max_depth = 2000;
  EXPECT_EQ(Print(pss, print_options), doc);
  // The default print limit (100) refuses it, naming a path inside.
  EXPECT_THAT(PrintStatus(pss), ErrorUnder("$.response_body.a"));
}

TEST_P(DepthTest, WhateverParsesWithDefaultsAlsoPrints) {
  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss(DocumentOfDepth(100), strict(), &pss), IsOk());
  EXPECT_EQ(Print(pss), Body(absl::StrCat(R"({"a":)", NestedArrays(98),
                                          "}")));
}

// Hostile inputs must fail fast, without recursing once per level.
TEST_P(DepthTest, MillionOpenBracketsFailQuickly) {
  const auto start = std::chrono::steady_clock::now();
  const std::string opens(1000000, '[');
  const std::string braces = [] {
    std::string s;
    for (int i = 0; i < 200000; ++i) s += R"({"a":)";
    return s;
  }();
  PaymentServiceSession pss;
  const ParseOptions options = Options(strict());
  EXPECT_THAT(RestJsonToMessage(Body(R"({"a":)" + opens + "}"), &pss, options),
              ErrorUnder("$.response_body.a"));
  EXPECT_THAT(RestJsonToMessage(Body(R"({"a":)" + opens), &pss, options),
              ErrorUnder("$.response_body.a"));
  EXPECT_THAT(RestJsonToMessage(Body(R"({"a":)" + opens +
                                     std::string(1000000, ']') + "}"),
                                &pss, options),
              ErrorUnder("$.response_body.a"));
  EXPECT_THAT(RestJsonToMessage(Body(braces), &pss, options),
              ErrorUnder("$.response_body"));
  EXPECT_THAT(RestJsonToMessage(opens, &pss, options), ErrorUnder("$"));
  EXPECT_THAT(RestJsonToMessage("{" + opens, &pss, options), ErrorUnder("$"));
  // Under an unknown key: ignored in lenient mode, an error in strict mode;
  // either way the nesting must not be followed.
  EXPECT_THAT(RestJsonToMessage(R"({"x":)" + opens, &pss, options),
              ErrorUnder("$.x"));
  EXPECT_THAT(RestJsonToMessage(braces, &pss, options), ErrorUnder("$.a"));
  Value value;
  EXPECT_THAT(JsonToValue(opens, &value, options), ErrorUnder("$"));
  EXPECT_THAT(JsonToValue(braces, &value, options), ErrorUnder("$"));
  Struct object;
  EXPECT_THAT(JsonToStruct(braces, &object, options), ErrorUnder("$"));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

// Printing has the same limit, counted the same way, so that a message
// built in memory cannot make the printer recurse without bound.
TEST(PrintDepthTest, DefaultAndCustomLimits) {
  // A response_body holding arrays nested `levels` deep: depth levels + 2.
  auto with_arrays = [](int levels) {
    PaymentServiceSession pss;
    Value* value = &(*pss.mutable_response_body()->mutable_fields())["a"];
    for (int i = 0; i < levels; ++i) {
      value = value->mutable_list_value()->add_values();
    }
    value->set_null_value(NULL_VALUE);
    return pss;
  };
  EXPECT_THAT(PrintStatus(with_arrays(98)), IsOk());
  EXPECT_THAT(PrintStatus(with_arrays(99)), ErrorUnder("$.response_body.a"));

  PrintOptions options;
  options.max_depth = 3;
  std::string out;
  EXPECT_THAT(MessageToRestJson(with_arrays(1), &out, options), IsOk());
  EXPECT_EQ(out, Body(R"({"a":[null]})"));
  out.clear();
  EXPECT_THAT(MessageToRestJson(with_arrays(2), &out, options),
              ErrorUnder("$.response_body.a"));
  options.max_depth = 1;
  EXPECT_THAT(MessageToRestJson(PaymentServiceSession(), &out, options),
              IsOk());
  EXPECT_THAT(MessageToRestJson(with_arrays(0), &out, options),
              ErrorAt("$.response_body"));

  // ValueToJson counts the top-level value as 1.
  Value nested;
  nested.mutable_list_value()->add_values()->mutable_list_value();
  options.max_depth = 2;
  out.clear();
  EXPECT_THAT(ValueToJson(nested, &out, options), IsOk());
  EXPECT_EQ(out, "[[]]");
  options.max_depth = 1;
  EXPECT_THAT(ValueToJson(nested, &out, options), ErrorAt("$[0]"));
}

// ---------------------------------------------------------------------------
// Error paths.

TEST(ErrorPathTest, IdentifierKeysUseDotsOthersUseBrackets) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"a":1e400})", "$.a"},
      {R"({"_a1":1e400})", "$._a1"},
      {R"({"A_":1e400})", "$.A_"},
      {R"({"a b":1e400})", R"($["a b"])"},
      {R"({"a-b":1e400})", R"($["a-b"])"},
      {R"({"1a":1e400})", R"($["1a"])"},
      {R"({"":1e400})", R"($[""])"},
      {R"({"$":1e400})", R"($["$"])"},
      {R"({"a.b":1e400})", R"($["a.b"])"},
      {R"({"a\"b":1e400})", R"($["a\"b"])"},
      {R"({"a\\b":1e400})", R"($["a\\b"])"},
      {R"({"a\nb":1e400})", R"($["a\nb"])"},
      {R"({"\u0001":1e400})", R"($["\u0001"])"},
      {"{\"\xC3\xA9\":1e400}", "$[\"\xC3\xA9\"]"},
      {R"({"\u00e9":1e400})", "$[\"\xC3\xA9\"]"},
      {R"({"items":[0,1,2,1e400]})", "$.items[3]"},
      {R"({"a":{"b c":[0,{"\"":[1e400]}]}})", R"($.a["b c"][1]["\""][0])"},
      {R"([[0,[1,1e400]]])", "$[0][1][1]"},
  };
  for (const auto& [json, path] : cases) {
    SCOPED_TRACE(json);
    Value value;
    EXPECT_THAT(JsonToValue(json, &value), ErrorAt(path));
  }
}

TEST(ErrorPathTest, PathsInsideResponseBody) {
  EXPECT_THAT(ParsePss(Body(R"({"items":[1,2,3,1e400]})"), false),
              ErrorAt("$.response_body.items[3]"));
  EXPECT_THAT(ParsePss(Body(R"({"a b":1e400})"), false),
              ErrorAt(R"($.response_body["a b"])"));
  EXPECT_THAT(ParsePss(Body(R"({"x":[{"y":{"z":[[],[-1e999]]}}]})"), true),
              ErrorAt("$.response_body.x[0].y.z[1][0]"));
}

TEST(ErrorPathTest, PrintErrorsNameThePath) {
  PaymentServiceSession pss;
  auto& fields = *pss.mutable_response_body()->mutable_fields();
  fields["ok"].set_number_value(1);
  fields["x"];  // A Value with no kind set.
  EXPECT_THAT(PrintStatus(pss), ErrorAt("$.response_body.x"));

  PaymentServiceSession nested;
  Value& list = (*nested.mutable_response_body()->mutable_fields())["a b"];
  list.mutable_list_value()->add_values()->set_null_value(NULL_VALUE);
  (*list.mutable_list_value()->add_values()->mutable_struct_value()
        ->mutable_fields())["k"];
  EXPECT_THAT(PrintStatus(nested), ErrorAt(R"($.response_body["a b"][1].k)"));

  EXPECT_THAT(PrintValueStatus(Value()), ErrorAt("$"));
  Struct object;
  (*object.mutable_fields())["x"];
  std::string out;
  EXPECT_THAT(StructToJson(object, &out), ErrorAt("$.x"));
}

// ---------------------------------------------------------------------------
// JsonToValue, JsonToStruct, ValueToJson, StructToJson.

class ValueApiTest : public BothModes {};
INSTANTIATE_BOTH_MODES(ValueApiTest);

TEST_P(ValueApiTest, JsonToValueReadsAnySingleValue) {
  const ParseOptions options = Options(strict());
  Value value;
  ASSERT_THAT(JsonToValue("1", &value, options), IsOk());
  EXPECT_EQ(value.number_value(), 1);
  ASSERT_THAT(JsonToValue(R"( "x" )", &value, options), IsOk());
  EXPECT_EQ(value.string_value(), "x");
  ASSERT_THAT(JsonToValue("true", &value, options), IsOk());
  EXPECT_TRUE(value.has_bool_value());
  EXPECT_TRUE(value.bool_value());
  ASSERT_THAT(JsonToValue("false", &value, options), IsOk());
  EXPECT_TRUE(value.has_bool_value());
  EXPECT_FALSE(value.bool_value());
  ASSERT_THAT(JsonToValue("null", &value, options), IsOk());
  EXPECT_TRUE(value.has_null_value());
  ASSERT_THAT(JsonToValue("[]", &value, options), IsOk());
  EXPECT_TRUE(value.has_list_value());
  EXPECT_EQ(value.list_value().values_size(), 0);
  ASSERT_THAT(JsonToValue("{}", &value, options), IsOk());
  EXPECT_TRUE(value.has_struct_value());
  EXPECT_EQ(value.struct_value().fields_size(), 0);
  ASSERT_THAT(JsonToValue(R"([1,"a",null,{"b":[]}])", &value, options),
              IsOk());
  ASSERT_EQ(value.list_value().values_size(), 4);
  EXPECT_EQ(PrintValue(value), R"([1,"a",null,{"b":[]}])");
}

TEST_P(ValueApiTest, JsonToValueRejectsBadInput) {
  const ParseOptions options = Options(strict());
  for (const char* json :
       {"", " ", "1 2", "[1,]", R"({"a":1,})", "[01]", "NaN", "Infinity",
        "-", "1.", ".1", "+1", "1e", "0x10", "tru", "nul", "'a'", "[", "]",
        "{", R"("abc)", "// c\n1", "1e400"}) {
    SCOPED_TRACE(json);
    Value value;
    EXPECT_THAT(JsonToValue(json, &value, options), ErrorUnder("$"));
  }
}

TEST_P(ValueApiTest, StrictnessAppliesToJsonToValue) {
  Value value;
  absl::Status big =
      JsonToValue("[9007199254740993]", &value, Options(strict()));
  absl::Status dup = JsonToValue(R"({"a":1,"a":2})", &value, Options(strict()));
  if (strict()) {
    EXPECT_THAT(big, ErrorAt("$[0]"));
    EXPECT_THAT(dup, ErrorAt("$.a"));
  } else {
    EXPECT_THAT(big, IsOk());
    EXPECT_THAT(dup, IsOk());
  }
}

TEST_P(ValueApiTest, JsonToStructRejectsNonObjects) {
  const ParseOptions options = Options(strict());
  Struct object;
  for (const char* json : {"[]", "1", "null", R"("{}")", "true"}) {
    SCOPED_TRACE(json);
    EXPECT_THAT(JsonToStruct(json, &object, options), ErrorAt("$"));
  }
  ASSERT_THAT(JsonToStruct(R"( {"b":[1],"a":{}} )", &object, options),
              IsOk());
  EXPECT_EQ(object.fields_size(), 2);
  std::string out;
  ASSERT_THAT(StructToJson(object, &out), IsOk());
  EXPECT_EQ(out, R"({"a":{},"b":[1]})");
}

TEST(ValueApiPrintTest, ValueWithNoKindFailsToPrint) {
  EXPECT_THAT(PrintValueStatus(Value()), ErrorAt("$"));
  Value list;
  list.mutable_list_value()->add_values()->set_bool_value(true);
  list.mutable_list_value()->add_values();
  EXPECT_THAT(PrintValueStatus(list), ErrorAt("$[1]"));
}

TEST(ValueApiPrintTest, StructPrintsSorted) {
  Struct object;
  for (const char* key : {"b", "a", "B", "aa", "", "a b"}) {
    (*object.mutable_fields())[key].set_string_value(key);
  }
  std::string out;
  ASSERT_THAT(StructToJson(object, &out), IsOk());
  EXPECT_EQ(out,
            R"({"":"","B":"B","a":"a","a b":"a b","aa":"aa","b":"b"})");
}

// ---------------------------------------------------------------------------
// Unsupported message types.

TEST(UnimplementedTest, MessageWithRepeatedFieldHasNoRestMapping) {
  google::protobuf::FieldMask mask;
  mask.add_paths("a");
  EXPECT_EQ(MessageToRestJson(mask).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(RestJsonToMessage("{}", &mask).code(),
            absl::StatusCode::kUnimplemented);
}

// ---------------------------------------------------------------------------
// Hostile inputs.

// A valid document with every kind of token, escapes and multi-byte UTF-8.
const std::string& RichDocument() {
  static const std::string* const doc = new std::string(
      "{\"type\":\"payment-service-session\",\"status\":\"succeeded\","
      "\"code\":\"E\\u00e9\\ud83d\\ude00\xC3\xA9\xF0\x9F\x98\x80\","
      "\"status_code\":-2.01e2,\"response_body\":{\"a\":[1,-0.5e-3,true,"
      "false,null,\"x\\\"y\",{},[]],\"\xC3\xA9\xF0\x9F\x98\x80\":{\"k\":"
      "[\"\\u0000\"]},\"n\":1E+2}}");
  return *doc;
}

TEST(HostileTest, RichDocumentIsValid) {
  CreateSession session;
  ASSERT_THAT(ParseCreate(RichDocument(), true, &session), IsOk());
  EXPECT_EQ(session.status_code(), -201);
  PaymentServiceSession pss;
  ASSERT_THAT(ParsePss(RichDocument(), true, &pss), IsOk());
}

TEST(HostileTest, EveryTruncationFailsCleanly) {
  const std::string& doc = RichDocument();
  for (size_t length = 0; length < doc.size(); ++length) {
    const std::string prefix = doc.substr(0, length);
    SCOPED_TRACE(absl::CEscape(prefix));
    for (bool strict : {false, true}) {
      EXPECT_THAT(ParseCreate(prefix, strict), ErrorUnder("$"));
      EXPECT_THAT(ParsePss(prefix, strict), ErrorUnder("$"));
    }
    Value value;
    EXPECT_THAT(JsonToValue(prefix, &value), ErrorUnder("$"));
  }
  // The golden documents too.
  for (const std::string golden : {kGolden1, kGolden2}) {
    for (size_t length = 0; length < golden.size(); ++length) {
      EXPECT_THAT(ParseCreate(golden.substr(0, length), false),
                  ErrorUnder("$"))
          << golden.substr(0, length);
    }
  }
}

// Random byte mutations of a valid document: never a crash; an error is
// InvalidArgument with a path; a success prints and parses back unchanged.
TEST(HostileTest, RandomMutationsNeverCrash) {
  std::mt19937 rng(20240601);
  const std::string& doc = RichDocument();
  const std::string alphabet = "{}[]\":,\\ 0123456789eE.+-tfnulraxu\x80\xC3\xFF";
  for (int i = 0; i < 3000; ++i) {
    std::string mutated = doc;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % mutated.size();
      switch (rng() % 3) {
        case 0:
          mutated[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          mutated.erase(pos, 1);
          break;
        default:
          mutated.insert(pos, 1, alphabet[rng() % alphabet.size()]);
      }
      if (mutated.empty()) mutated = "{";
    }
    SCOPED_TRACE(absl::CEscape(mutated));
    for (bool strict : {false, true}) {
      PaymentServiceSession pss;
      absl::Status status = ParsePss(mutated, strict, &pss);
      if (!status.ok()) {
        ASSERT_THAT(status, ErrorUnder("$"));
        continue;
      }
      absl::StatusOr<std::string> printed = MessageToRestJson(pss);
      ASSERT_TRUE(printed.ok()) << printed.status();
      PaymentServiceSession again;
      ASSERT_THAT(ParsePss(*printed, false, &again), IsOk()) << *printed;
      EXPECT_EQ(Print(again), *printed);
    }
  }
}

// Random short token soup: never a crash, errors carry a path.
TEST(HostileTest, RandomTokenSoupNeverCrashes) {
  std::mt19937 rng(7);
  const std::vector<std::string> tokens = {
      "{", "}", "[", "]", ":", ",", "\"", "\"a\"", "\"type\"",
      "\"response_body\"", "\"status_code\"", "1", "-0", "1e400", "0.5",
      "true", "null", " ", "\\u", "\\ud800", "\xFF", "\"\\u0000\""};
  for (int i = 0; i < 3000; ++i) {
    std::string json = "{";
    const int n = static_cast<int>(rng() % 24);
    for (int t = 0; t < n; ++t) json += tokens[rng() % tokens.size()];
    for (bool strict : {false, true}) {
      PaymentServiceSession pss;
      absl::Status status = ParsePss(json, strict, &pss);
      if (!status.ok()) {
        EXPECT_THAT(status, ErrorUnder("$")) << absl::CEscape(json);
      }
      Value value;
      status = JsonToValue(json.substr(1), &value, Options(strict));
      if (!status.ok()) {
        EXPECT_THAT(status, ErrorUnder("$")) << absl::CEscape(json);
      }
    }
  }
}

class HugeTest : public BothModes {};
INSTANTIATE_BOTH_MODES(HugeTest);

TEST_P(HugeTest, NumbersWithHugeNumbersOfDigits) {
  // 100,000 digits of fraction: fine.
  absl::StatusOr<double> third =
      ParseNumberInBody("1." + std::string(100000, '3'), strict());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(*third, 4.0 / 3.0);
  // A tiny number written out in full: underflows to 0.
  absl::StatusOr<double> tiny =
      ParseNumberInBody("0." + std::string(100000, '0') + "1", strict());
  ASSERT_TRUE(tiny.ok()) << tiny.status();
  EXPECT_EQ(*tiny, 0.0);
  // A 100,000-digit integer is beyond double range: an error in both modes.
  EXPECT_THAT(ParseNumberInBody(std::string(100000, '9'), strict()).status(),
              ErrorAt("$.response_body.x"));
  // Huge exponents.
  EXPECT_THAT(
      ParseNumberInBody("1e" + std::string(100000, '9'), strict()).status(),
      ErrorAt("$.response_body.x"));
  absl::StatusOr<double> small =
      ParseNumberInBody("1e-" + std::string(100000, '9'), strict());
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(*small, 0.0);
  // A long integer that is exactly 1e22 with an exponent: fine.
  absl::StatusOr<double> scaled =
      ParseNumberInBody("1" + std::string(1000, '0') + "e-978", strict());
  ASSERT_TRUE(scaled.ok()) << scaled.status();
  EXPECT_EQ(*scaled, 1e22);
}

TEST_P(HugeTest, LongStringsAndKeysRoundTrip) {
  std::string value;
  for (int i = 0; i < 100000; ++i) {
    value += "ab\\\"\\n\\u0001\xC3\xA9\xF0\x9F\x98\x80/";
  }
  const std::string key(100000, 'k');
  const std::string body =
      absl::StrCat("{\"", key, "\":\"", value, "\",\"s\":\"",
                   std::string(1 << 20, 'x'), "\"}");
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(body), strict()), Body(body));
}

TEST_P(HugeTest, ManyMembersAndElements) {
  std::string object = "{";
  for (int i = 0; i < 50000; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%06d", i);
    absl::StrAppend(&object, i == 0 ? "" : ",", "\"", key, "\":", i);
  }
  object += "}";
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(object), strict()),
            Body(object));

  std::string array = "[";
  for (int i = 0; i < 200000; ++i) {
    absl::StrAppend(&array, i == 0 ? "" : ",", i % 7 == 0 ? "null" : "-1.5");
  }
  array += "]";
  const std::string body = absl::StrCat(R"({"a":)", array, "}");
  EXPECT_EQ(Reprint<PaymentServiceSession>(Body(body), strict()), Body(body));
}

// ---------------------------------------------------------------------------
// Thread safety: concurrent first use of the converter.

TEST(ThreadTest, ConcurrentParseAndPrint) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 200; ++i) {
        CreateSession session;
        PaymentServiceSession pss;
        const char* golden = (i + t) % 2 == 0 ? kGolden1 : kGolden2;
        if (!RestJsonToMessage(golden, &session, Options(t % 2 == 0)).ok() ||
            !RestJsonToMessage(golden, &pss).ok()) {
          ++failures[static_cast<size_t>(t)];
          continue;
        }
        absl::StatusOr<std::string> a = MessageToRestJson(session);
        absl::StatusOr<std::string> b = MessageToRestJson(pss);
        if (!a.ok() || !b.ok() || *a != golden || *b != golden) {
          ++failures[static_cast<size_t>(t)];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

}  // namespace
}  // namespace convert
}  // namespace session_gateway
