#include "gateway/status_mapping.h"

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using gr4vy::sessions::v1::UpstreamError;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// The trailer budget every status must fit: the 8 KiB metadata limit of
// gRPC's C++ client (1.51 refuses trailers just over it, measured) and of
// Java's, as PROTOCOL-HTTP2 suggests.
constexpr size_t kClientMetadataLimit = 8 * 1024;

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

upstream::HttpResponse Response(int status, std::string body, std::string content_type = "application/json") {
  upstream::HttpResponse response;
  response.status = status;
  response.headers.emplace_back("date", "Tue, 01 Oct 2024 10:00:00 GMT");
  if (!content_type.empty()) response.headers.emplace_back("content-type", std::move(content_type));
  response.body = std::move(body);
  return response;
}

// The UpstreamError inside a status, decoded as a client would; a status
// that a client cannot decode fails the test.
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

// `grpc-message` as gRPC sends it: printable ASCII but '%' as is, every
// other byte as %XX.
size_t PercentEncodedSize(absl::string_view message) {
  size_t size = 0;
  for (char c : message) {
    const auto byte = static_cast<unsigned char>(c);
    size += byte >= 0x20 && byte <= 0x7E && byte != '%' ? 1 : 3;
  }
  return size;
}

// The trailers the gateway sends with `status`, sized as HTTP/2 header
// lists are (name + value + 32 per field), with -bin values base64-encoded
// as on the wire.
size_t TrailerBytes(const grpc::Status& status) {
  const std::pair<std::string, size_t> trailers[] = {
      {"grpc-status", std::to_string(static_cast<int>(status.error_code())).size()},
      {"grpc-message", PercentEncodedSize(status.error_message())},
      {"grpc-status-details-bin", absl::Base64Escape(status.error_details()).size()},
      {"x-gateway-attempts", 3},
  };
  size_t size = 0;
  for (const auto& [name, value_size] : trailers) size += name.size() + value_size + 32;
  return size;
}

// Checks the bounds the header promises, and that the whole status fits a
// client's metadata limit with room to spare.
void ExpectBounded(const grpc::Status& status) {
  EXPECT_LE(PercentEncodedSize(status.error_message()), kMaxStatusMessageWireBytes);
  EXPECT_LE(status.error_details().size(), kMaxStatusDetailsBytes);
  EXPECT_LE(TrailerBytes(status), size_t{7 * 1024});
  EXPECT_LT(TrailerBytes(status), kClientMetadataLimit);
}

std::string ApiErrorBody(int status, absl::string_view message, absl::string_view details_json) {
  return absl::StrCat(R"({"type":"error","code":"code_)", status, R"(","status":)", status, R"(,"message":")",
                      message, R"(","details":)", details_json, R"(,"trace":{"id":"t-1"}})");
}

constexpr char kOneDetail[] =
    R"([{"location":"body","pointer":"/amount","message":"bad amount","type":"value_error"}])";

// --- 2xx answers the gateway cannot read ---

TEST(UnreadableSuccessStatusTest, KeepsTheExactBodyOfAnUnrepresentableNumber) {
  const std::string body =
      R"({"type":"payment-service-session","status":"succeeded","status_code":201,)"
      R"("response_body":{"sessionId":"sess-8c1f2e","amount":1E400,"big":12345678901234567890}})";
  grpc::Status status = UnreadableSuccessStatus(
      Response(200, body), "a body that is not a valid CreateSession: $.response_body.amount: out of range",
      CallFacts{"req-1", 2});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(),
            "upstream answered HTTP 200 with a body that is not a valid CreateSession: "
            "$.response_body.amount: out of range");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 200);
  EXPECT_EQ(error.content_type(), "application/json");
  EXPECT_EQ(error.body_text(), body);
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(body.size()));
  EXPECT_FALSE(error.body_truncated());
  EXPECT_FALSE(error.has_body());
  EXPECT_EQ(error.request_id(), "req-1");
  EXPECT_EQ(error.attempts(), 2);
  ExpectBounded(status);
}

TEST(UnreadableSuccessStatusTest, CarriesANonJsonBodyAndItsContentType) {
  grpc::Status status = UnreadableSuccessStatus(Response(201, "session sess-8c1f2e created", "text/plain"),
                                                "Content-Type \"text/plain\", not JSON", CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(status.error_message(), "upstream answered HTTP 201 with Content-Type \"text/plain\", not JSON");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 201);
  EXPECT_EQ(error.content_type(), "text/plain");
  EXPECT_EQ(error.body_text(), "session sess-8c1f2e created");
}

TEST(UnreadableSuccessStatusTest, CutsABigBodyToTheBoundAndSaysSo) {
  const std::string body = absl::StrCat(R"({"response_body":{"sessionId":"sess-8c1f2e","pad":")",
                                        std::string(100 * 1024, 'p'), R"("}})");
  grpc::Status status = UnreadableSuccessStatus(Response(200, body), "a body that is not JSON", CallFacts{"r", 1});
  UpstreamError error = DecodeDetail(status);
  EXPECT_TRUE(error.body_truncated());
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(body.size()));
  EXPECT_TRUE(absl::StartsWith(body, error.body_text()));
  EXPECT_THAT(error.body_text(), HasSubstr("sess-8c1f2e"));
  // The bound is used, not wasted.
  EXPECT_GT(error.body_text().size(), size_t{3 * 1024});
  ExpectBounded(status);
}

TEST(UnreadableSuccessStatusTest, ReplacesInvalidUtf8SoTheDetailStillParses) {
  grpc::Status status =
      UnreadableSuccessStatus(Response(200, "sess\xff\xfe-1 \xe2\x82 ok \xe2\x82\xac", "text/plain; charset=latin1"),
                              "a body that is not JSON", CallFacts{"r", 1});
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.body_text(), "sess\uFFFD\uFFFD-1 \uFFFD\uFFFD ok \u20AC");
  EXPECT_EQ(error.body_size(), 18);
  EXPECT_FALSE(error.body_truncated());
}

TEST(UnreadableSuccessStatusTest, EmptyBodyHasNoText) {
  UpstreamError error = DecodeDetail(UnreadableSuccessStatus(Response(204, ""), "no body", CallFacts{"r", 1}));
  EXPECT_EQ(error.http_status(), 204);
  EXPECT_EQ(error.body_size(), 0);
  EXPECT_EQ(error.body_text(), "");
  EXPECT_FALSE(error.body_truncated());
}

// --- Error answers ---

TEST(UpstreamErrorStatusTest, CarriesTheApiErrorBody) {
  const std::string body = ApiErrorBody(404, "The resource could not be found", kOneDetail);
  grpc::Status status = UpstreamErrorStatus(Response(404, body), CallFacts{"req-1", 2});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "The resource could not be found");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 404);
  EXPECT_EQ(error.code(), "code_404");
  EXPECT_EQ(error.message(), "The resource could not be found");
  EXPECT_EQ(error.request_id(), "req-1");
  EXPECT_EQ(error.attempts(), 2);
  EXPECT_EQ(error.content_type(), "application/json");
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(body.size()));
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/amount");
  EXPECT_FALSE(error.details_truncated());
  EXPECT_EQ(error.body().struct_value().fields().at("status").number_value(), 404);
  // A small JSON body travels parsed, not twice.
  EXPECT_EQ(error.body_text(), "");
  EXPECT_FALSE(error.body_truncated());
}

TEST(UpstreamErrorStatusTest, EveryDeclaredStatusKeepsCodeMessageDetailsAndUnknownFields) {
  const std::pair<int, grpc::StatusCode> declared[] = {
      {400, grpc::StatusCode::INVALID_ARGUMENT},   {401, grpc::StatusCode::UNAUTHENTICATED},
      {403, grpc::StatusCode::PERMISSION_DENIED},  {404, grpc::StatusCode::NOT_FOUND},
      {405, grpc::StatusCode::UNIMPLEMENTED},      {409, grpc::StatusCode::ABORTED},
      {425, grpc::StatusCode::UNAVAILABLE},        {429, grpc::StatusCode::RESOURCE_EXHAUSTED},
      {500, grpc::StatusCode::INTERNAL},           {502, grpc::StatusCode::UNAVAILABLE},
      {504, grpc::StatusCode::DEADLINE_EXCEEDED},
  };
  for (const auto& [http, code] : declared) {
    grpc::Status status =
        UpstreamErrorStatus(Response(http, ApiErrorBody(http, absl::StrCat("message ", http), kOneDetail)),
                            CallFacts{"r", 1});
    EXPECT_EQ(status.error_code(), code) << http;
    EXPECT_EQ(status.error_message(), absl::StrCat("message ", http));
    UpstreamError error = DecodeDetail(status);
    EXPECT_EQ(error.http_status(), http);
    EXPECT_EQ(error.code(), absl::StrCat("code_", http));
    EXPECT_EQ(error.message(), absl::StrCat("message ", http));
    ASSERT_EQ(error.details_size(), 1) << http;
    EXPECT_EQ(error.details(0).fields().at("location").string_value(), "body");
    EXPECT_EQ(error.body().struct_value().fields().at("trace").struct_value().fields().at("id").string_value(),
              "t-1");
  }
}

TEST(UpstreamErrorStatusTest, ValidationErrorUsesTheFirstDetailMessage) {
  grpc::Status status = UpstreamErrorStatus(
      Response(422, R"({"detail":[{"loc":["body","amount"],"msg":"field required","type":"value_error.missing",)"
                    R"("ctx":{"limit":1}},{"loc":["body","currency"],"msg":"bad currency","type":"value_error"}]})"),
      CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "field required");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.message(), "field required");
  ASSERT_EQ(error.details_size(), 2);
  EXPECT_EQ(error.details(0).fields().at("msg").string_value(), "field required");
  EXPECT_EQ(error.details(0).fields().at("ctx").struct_value().fields().at("limit").number_value(), 1);
  EXPECT_EQ(error.details(1).fields().at("loc").list_value().values(1).string_value(), "currency");
}

TEST(UpstreamErrorStatusTest, StringDetailIsTheMessage) {
  grpc::Status status = UpstreamErrorStatus(Response(401, R"({"detail":"Not authenticated"})"), CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "Not authenticated");
  EXPECT_EQ(DecodeDetail(status).details_size(), 0);
}

TEST(UpstreamErrorStatusTest, NonObjectDetailsAreLeftOutAndFlagged) {
  UpstreamError error = DecodeDetail(UpstreamErrorStatus(
      Response(400, R"({"message":"m","details":["text",{"pointer":"/a"},3]})"), CallFacts{"r", 1}));
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/a");
  EXPECT_TRUE(error.details_truncated());
  // The body keeps them all.
  EXPECT_EQ(error.body().struct_value().fields().at("details").list_value().values_size(), 3);
}

TEST(UpstreamErrorStatusTest, HtmlErrorPageKeepsContentTypeAndBody) {
  const std::string page = "<html><body><h1>502 Bad Gateway</h1></body></html>";
  grpc::Status status = UpstreamErrorStatus(Response(502, page, "text/html; charset=utf-8"), CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "upstream answered HTTP 502");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 502);
  EXPECT_EQ(error.content_type(), "text/html; charset=utf-8");
  EXPECT_EQ(error.body_text(), page);
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(page.size()));
  EXPECT_FALSE(error.body_truncated());
  EXPECT_FALSE(error.has_body());
}

TEST(UpstreamErrorStatusTest, NoContentTypeAndNoBody) {
  upstream::HttpResponse response;
  response.status = 503;
  UpstreamError error = DecodeDetail(UpstreamErrorStatus(response, CallFacts{"r", 1}));
  EXPECT_EQ(error.http_status(), 503);
  EXPECT_EQ(error.content_type(), "");
  EXPECT_EQ(error.body_size(), 0);
  EXPECT_FALSE(error.body_truncated());
}

TEST(UpstreamErrorStatusTest, HugeMessageIsBoundedInTheStatusAndTheDetails) {
  const std::string message(200 * 1024, 'm');
  const std::string body = ApiErrorBody(400, message, kOneDetail);
  grpc::Status status = UpstreamErrorStatus(Response(400, body), CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("mmmmmmmm"));
  EXPECT_THAT(status.error_message(), EndsWith(kCutMarker));
  EXPECT_EQ(status.error_message().size(), kMaxStatusMessageWireBytes);
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.code(), "code_400");
  EXPECT_THAT(error.message(), StartsWith("mmmmmmmm"));
  EXPECT_THAT(error.message(), EndsWith(kCutMarker));
  ASSERT_EQ(error.details_size(), 1);
  EXPECT_EQ(error.details(0).fields().at("pointer").string_value(), "/amount");
  // Too big to travel parsed: the start of the text instead, marked as cut.
  EXPECT_FALSE(error.has_body());
  EXPECT_TRUE(absl::StartsWith(body, error.body_text()));
  EXPECT_THAT(error.body_text(), StartsWith(R"({"type":"error","code":"code_400")"));
  EXPECT_TRUE(error.body_truncated());
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(body.size()));
  ExpectBounded(status);
}

TEST(UpstreamErrorStatusTest, HugeNonAsciiMessageIsCutOnACharacterBoundary) {
  std::string message;
  for (int i = 0; i < 70000; ++i) message += "\xC3\xA9\xE2\x82\xAC";  // "é€"
  grpc::Status status = UpstreamErrorStatus(Response(409, ApiErrorBody(409, message, "[]")), CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  // Percent-encoding triples each byte: far fewer characters fit.
  EXPECT_THAT(status.error_message(), EndsWith(kCutMarker));
  EXPECT_GT(PercentEncodedSize(status.error_message()), kMaxStatusMessageWireBytes - 16);
  UpstreamError error = DecodeDetail(status);  // Parsing checks the UTF-8.
  EXPECT_THAT(error.message(), EndsWith(kCutMarker));
  EXPECT_TRUE(absl::StartsWith(message, error.message().substr(0, error.message().size() - (sizeof(kCutMarker) - 1))));
  ExpectBounded(status);
}

TEST(UpstreamErrorStatusTest, HugeHtmlBodyIsABoundedSnippet) {
  const std::string page =
      absl::StrCat("<html><title>502 Bad Gateway</title>", std::string(200 * 1024, ' '), "</html>");
  grpc::Status status = UpstreamErrorStatus(Response(502, page, "text/html"), CallFacts{"r", 1});
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.content_type(), "text/html");
  EXPECT_THAT(error.body_text(), StartsWith("<html><title>502 Bad Gateway</title>"));
  EXPECT_TRUE(absl::StartsWith(page, error.body_text()));
  EXPECT_GT(error.body_text().size(), size_t{3 * 1024});
  EXPECT_TRUE(error.body_truncated());
  EXPECT_EQ(error.body_size(), static_cast<int64_t>(page.size()));
  ExpectBounded(status);
}

TEST(UpstreamErrorStatusTest, HugeDetailsArrayKeepsTheFirstItemsThatFit) {
  std::vector<std::string> items;
  for (int i = 0; i < 20000; ++i) {
    items.push_back(absl::StrCat(R"({"location":"body","pointer":"/items/)", i, R"(","message":"bad","type":"t"})"));
  }
  grpc::Status status = UpstreamErrorStatus(
      Response(400, ApiErrorBody(400, "many problems", absl::StrCat("[", absl::StrJoin(items, ","), "]"))),
      CallFacts{"r", 1});
  EXPECT_EQ(status.error_message(), "many problems");
  UpstreamError error = DecodeDetail(status);
  EXPECT_TRUE(error.details_truncated());
  ASSERT_GT(error.details_size(), 10);
  for (int i = 0; i < error.details_size(); ++i) {
    EXPECT_EQ(error.details(i).fields().at("pointer").string_value(), absl::StrCat("/items/", i));
  }
  EXPECT_FALSE(error.has_body());
  EXPECT_TRUE(error.body_truncated());
  ExpectBounded(status);
}

TEST(UpstreamErrorStatusTest, DeeplyNestedBodyStaysDecodable) {
  // 40 levels of JSON would be 120 levels of protobuf messages, past the
  // 100 that parsers accept: the caller could not read the detail at all.
  std::string body = R"({"message":"deep","x":)";
  for (int i = 0; i < 40; ++i) body += R"({"a":)";
  body += "1";
  for (int i = 0; i < 40; ++i) body += "}";
  body += "}";
  grpc::Status status = UpstreamErrorStatus(Response(400, body), CallFacts{"r", 1});
  EXPECT_EQ(status.error_message(), "deep");
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.message(), "deep");
  EXPECT_FALSE(error.has_body());
  EXPECT_EQ(error.body_text(), body);
}

TEST(UpstreamErrorStatusTest, InvalidUtf8BodyIsReplaced) {
  grpc::Status status = UpstreamErrorStatus(Response(500, "boom \xC0\xAF!", "text/plain"), CallFacts{"r", 1});
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.body_text(), "boom \uFFFD\uFFFD!");
}

TEST(UpstreamErrorStatusTest, HugeContentTypeIsBounded) {
  grpc::Status status =
      UpstreamErrorStatus(Response(502, "x", absl::StrCat("text/html; ", std::string(100000, 'a'))), CallFacts{"r", 1});
  UpstreamError error = DecodeDetail(status);
  EXPECT_THAT(error.content_type(), StartsWith("text/html; aaaa"));
  EXPECT_THAT(error.content_type(), EndsWith(kCutMarker));
  EXPECT_EQ(error.body_text(), "x");
  ExpectBounded(status);
}

// --- Other statuses ---

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

TEST(TransportErrorStatusTest, CarriesTheFacts) {
  grpc::Status status = TransportErrorStatus(absl::UnavailableError("connection refused"), CallFacts{"req-9", 3});
  UpstreamError error = DecodeDetail(status);
  EXPECT_EQ(error.http_status(), 0);
  EXPECT_EQ(error.message(), "connection refused");
  EXPECT_EQ(error.request_id(), "req-9");
  EXPECT_EQ(error.attempts(), 3);
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

TEST(InvalidRequestStatusTest, AHugePathIsBounded) {
  const std::string path = absl::StrCat("$.request_body.", std::string(1 << 20, 'k'));
  grpc::Status status = InvalidRequestStatus(absl::StrCat(path, ": bad"), FieldViolation{path, "bad"});
  EXPECT_THAT(status.error_message(), StartsWith("$.request_body.kkkk"));
  EXPECT_THAT(status.error_message(), EndsWith(kCutMarker));
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&bad_request));
  EXPECT_THAT(bad_request.field_violations(0).field(), StartsWith("$.request_body.kkkk"));
  ExpectBounded(status);
}

TEST(SimpleStatusTest, MessageIsBounded) {
  grpc::Status status = SimpleStatus(grpc::StatusCode::INTERNAL, std::string(5000, '%'));
  // Each '%' is three bytes on the wire.
  EXPECT_EQ(status.error_message().size(), (kMaxStatusMessageWireBytes - 12) / 3 + 12);
  ExpectBounded(status);
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
