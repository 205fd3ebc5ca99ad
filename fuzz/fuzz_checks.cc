#include "fuzz/fuzz_checks.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/convert_command.h"
#include "convert/rest_json.h"
#include "gateway/route.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gr4vy/rest/v1/annotations.pb.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gr4vy/sessions/v1/session_service.pb.h"
#include "re2/re2.h"

namespace session_gateway {
namespace fuzz {
namespace {

using google::protobuf::Message;
using google::protobuf::util::MessageDifferencer;
using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreatePaymentServiceSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::PaymentServiceSession;

constexpr char kTypeConstant[] = "payment-service-session";

// ParseOptions::max_depth values an option byte can pick: the default,
// the smallest limits (where off-by-one errors live), and one above the
// default (which the printer must then be told about).
constexpr std::array<int, 8> kDepths = {100, 1, 2, 3, 4, 8, 64, 200};

// Splits the option byte off the input. An empty input reads as option 0
// and an empty document, which every target must reject cleanly.
std::pair<uint8_t, absl::string_view> SplitOptions(absl::string_view data) {
  if (data.empty()) return {0, data};
  return {static_cast<uint8_t>(data[0]), data.substr(1)};
}

// Violation messages quote inputs and outputs escaped and bounded, so a
// report stays readable whatever the fuzzer produced.
std::string Show(absl::string_view text) {
  constexpr size_t kMax = 300;
  std::string shown = absl::CHexEscape(text.substr(0, kMax));
  if (text.size() > kMax) absl::StrAppend(&shown, "...(", text.size(), " bytes)");
  return absl::StrCat("\"", shown, "\"");
}

absl::Status Violation(absl::string_view property, absl::string_view details) {
  return absl::InternalError(absl::StrCat("property violated: ", property, "; ", details));
}

// The converter's documented error shape: kInvalidArgument with a message
// that starts with a JSON path.
absl::Status CheckErrorShape(absl::string_view what, const absl::Status& status,
                             absl::string_view input) {
  if (status.code() != absl::StatusCode::kInvalidArgument ||
      !absl::StartsWith(status.message(), "$")) {
    return Violation(absl::StrCat(what, " errors are kInvalidArgument starting with a JSON path"),
                     absl::StrCat("got ", status.ToString(), " for ", Show(input)));
  }
  return absl::OkStatus();
}

std::string DeterministicBytes(const Message& message) {
  std::string bytes;
  google::protobuf::io::StringOutputStream stream(&bytes);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  message.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

// MessageDifferencer compares doubles with ==, so 0 equals -0; equal
// deterministic serializations also catch a lost sign or a changed bit.
bool SameMessage(const Message& a, const Message& b) {
  return MessageDifferencer::Equals(a, b) && DeterministicBytes(a) == DeterministicBytes(b);
}

std::unique_ptr<Message> NewSession(SessionType type) {
  if (type == SessionType::kCreateSession) return std::make_unique<CreateSession>();
  return std::make_unique<PaymentServiceSession>();
}

absl::string_view SessionName(SessionType type) {
  return type == SessionType::kCreateSession ? "CreateSession" : "PaymentServiceSession";
}

// Prints `message`, reads the output back in lenient mode and checks that
// the result is the same message and prints the same bytes. `depth` is
// both limits, as docs/rest-json.md asks when the parse limit is raised.
absl::Status CheckPrintsAndReadsBack(const Message& message, int depth, absl::string_view input) {
  convert::PrintOptions print_options;
  print_options.max_depth = depth;
  convert::ParseOptions lenient;
  lenient.max_depth = depth;

  std::string compact;
  if (absl::Status s = convert::MessageToRestJson(message, &compact, print_options); !s.ok()) {
    return Violation("a parsed message prints",
                     absl::StrCat("got ", s.ToString(), " for ", Show(input)));
  }
  if (compact.size() < 2 || compact.front() != '{' || compact.back() != '}') {
    return Violation("the printed form is one JSON object",
                     absl::StrCat("printed ", Show(compact), " for ", Show(input)));
  }
  print_options.pretty = true;
  std::string pretty;
  if (absl::Status s = convert::MessageToRestJson(message, &pretty, print_options); !s.ok()) {
    return Violation("a parsed message prints in pretty form",
                     absl::StrCat("got ", s.ToString(), " for ", Show(input)));
  }

  for (const std::string* printed : {&compact, &pretty}) {
    std::unique_ptr<Message> reparsed(message.New());
    if (absl::Status s = convert::RestJsonToMessage(*printed, reparsed.get(), lenient); !s.ok()) {
      return Violation("printed output parses back (lenient)",
                       absl::StrCat("got ", s.ToString(), " for printed ", Show(*printed),
                                    " from ", Show(input)));
    }
    if (!SameMessage(message, *reparsed)) {
      return Violation("parse(print(m)) == m",
                       absl::StrCat("m = ", Show(message.ShortDebugString()), ", parse(print(m)) = ",
                                    Show(reparsed->ShortDebugString()), ", printed ",
                                    Show(*printed), ", input ", Show(input)));
    }
    std::string again;
    print_options.pretty = false;
    if (absl::Status s = convert::MessageToRestJson(*reparsed, &again, print_options); !s.ok()) {
      return Violation("a re-parsed message prints",
                       absl::StrCat("got ", s.ToString(), " for ", Show(*printed)));
    }
    if (again != compact) {
      return Violation("print(parse(print(m))) == print(m) byte for byte",
                       absl::StrCat("first ", Show(compact), ", then ", Show(again), " (via ",
                                    Show(*printed), "), input ", Show(input)));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Helpers for the gateway checks.

const gateway::Route& RouteFor(bool definition) {
  // Routes are read from descriptors once; Build is const and thread-safe.
  static const gateway::Route* const kRoutes[2] = {
      [] {
        const auto* service =
            CreatePaymentServiceSessionRequest::descriptor()->file()->FindServiceByName(
                "SessionService");
        return new gateway::Route(
            *gateway::Route::ForMethod(service->FindMethodByName("CreatePaymentServiceSession")));
      }(),
      [] {
        const auto* service =
            CreatePaymentServiceSessionRequest::descriptor()->file()->FindServiceByName(
                "SessionService");
        return new gateway::Route(*gateway::Route::ForMethod(
            service->FindMethodByName("CreatePaymentServiceDefinitionSession")));
      }(),
  };
  return *kRoutes[definition ? 1 : 0];
}

// The (gr4vy.rest.v1.field).pattern of `field`, compiled as the gateway
// compiles it; the gateway must never accept a value it does not match.
const re2::RE2& PatternOf(const google::protobuf::FieldDescriptor* field) {
  // Few fields, never freed: a fuzzer process calls this millions of times.
  static auto* const kCache =
      new std::vector<std::pair<const google::protobuf::FieldDescriptor*, const re2::RE2*>>();
  for (const auto& [cached, re] : *kCache) {
    if (cached == field) return *re;
  }
  const std::string& pattern = field->options().GetExtension(gr4vy::rest::v1::field).pattern();
  const re2::RE2* re = new re2::RE2(pattern, re2::RE2::Quiet);
  kCache->emplace_back(field, re);
  return *re;
}

bool MatchesPattern(const google::protobuf::FieldDescriptor* field, absl::string_view value) {
  return re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()), PatternOf(field));
}

bool HasCrLfNul(absl::string_view value) {
  return value.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos;
}

// What the gateway must accept for a path variable or bound header.
bool ValidBoundValue(const google::protobuf::FieldDescriptor* field, absl::string_view value) {
  return !value.empty() && !HasCrLfNul(value) && MatchesPattern(field, value);
}

// Only RFC 3986 unreserved characters and percent escapes.
bool IsSafeSegment(absl::string_view segment) {
  for (char c : segment) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '%' || c == '-';
    if (!ok) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Percent-decodes `segment`; false if an escape is malformed.
bool PercentDecode(absl::string_view segment, std::string* out) {
  out->clear();
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] != '%') {
      out->push_back(segment[i]);
      continue;
    }
    if (i + 2 >= segment.size()) return false;
    int hi = HexValue(segment[i + 1]);
    int lo = HexValue(segment[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// A path segment the gateway may send: safe characters only, not a dot
// segment, and decoding back to the value it encodes.
absl::Status CheckSegment(absl::string_view segment, absl::string_view value,
                          absl::string_view what) {
  std::string decoded;
  if (!IsSafeSegment(segment) || segment == "." || segment == ".." ||
      !PercentDecode(segment, &decoded) || decoded != value) {
    return Violation(absl::StrCat(what, " is one safe path segment that decodes to the value"),
                     absl::StrCat("value ", Show(value), " became ", Show(segment)));
  }
  return absl::OkStatus();
}

template <typename Request>
absl::Status CheckBuild(const gateway::Route& route, uint8_t options,
                        const std::vector<absl::string_view>& parts) {
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : absl::string_view(); };
  const absl::string_view id = part(0);
  const absl::string_view merchant = part(1);
  const absl::string_view body = part(2);
  const absl::string_view header_name = part(3);

  Request request;
  const google::protobuf::Descriptor* descriptor = request.GetDescriptor();
  const google::protobuf::FieldDescriptor* id_field = descriptor->field(0);  // Number 1.
  const google::protobuf::FieldDescriptor* merchant_field =
      descriptor->FindFieldByName("merchant_account_id");
  const google::protobuf::Reflection* reflection = request.GetReflection();
  reflection->SetString(&request, id_field, std::string(id));
  const bool set_merchant = (options & 2) != 0;
  // Bound to a header only where the API's operation declares one; a set
  // field that is bound to nothing must be refused. (Set by reflection: the
  // unbound one is deprecated.)
  const bool merchant_bound =
      !merchant_field->options().GetExtension(gr4vy::rest::v1::field).header().empty();
  if (set_merchant) reflection->SetString(&request, merchant_field, std::string(merchant));
  const bool set_body = (options & 4) != 0;
  bool unprintable_body = false;
  if (set_body) {
    google::protobuf::Struct* request_body = request.mutable_request_body();
    if (!convert::JsonToStruct(body, request_body).ok()) request_body->Clear();
    if ((options & 8) != 0) {
      // A Value with no kind has no JSON form: Build must refuse it. (The
      // body JSON may already hold the key: clear whatever it read.)
      (*request_body->mutable_fields())["unset"].Clear();
      unprintable_body = true;
    }
  }

  const bool id_ok = ValidBoundValue(id_field, id);
  const bool merchant_ok = !set_merchant || (merchant_bound && ValidBoundValue(merchant_field, merchant));
  const bool should_succeed = id_ok && merchant_ok && !unprintable_body;

  gateway::FieldViolation violation;
  absl::StatusOr<gateway::UpstreamRequestParts> built = route.Build(request, &violation);
  // Formatted only for a report: ShortDebugString would dominate the run time.
  auto described = [&request] {
    return absl::StrCat(request.GetTypeName(), " ", Show(request.ShortDebugString()));
  };
  if (!built.ok()) {
    if (should_succeed) {
      return Violation("Build accepts valid values",
                       absl::StrCat("got ", built.status().ToString(), " for ", described()));
    }
    if (built.status().code() != absl::StatusCode::kInvalidArgument ||
        !absl::StartsWith(violation.field, "$.") ||
        !absl::StartsWith(built.status().message(), violation.field)) {
      return Violation("a Build error is kInvalidArgument naming the violation's field",
                       absl::StrCat("got ", built.status().ToString(), " with violation field ",
                                    Show(violation.field), " for ", described()));
    }
    return absl::OkStatus();
  }
  if (!should_succeed) {
    return Violation("Build rejects invalid values",
                     absl::StrCat("accepted ", described(), ", path ", Show(built->path)));
  }

  // The path: the template with only the variable replaced.
  const std::string& path_template = route.path_template();
  const size_t open = path_template.find('{');
  const size_t close = path_template.find('}');
  const absl::string_view prefix = absl::string_view(path_template).substr(0, open);
  const absl::string_view suffix = absl::string_view(path_template).substr(close + 1);
  const absl::string_view path = built->path;
  if (built->method != route.http_method() || path.size() < prefix.size() + suffix.size() ||
      !absl::StartsWith(path, prefix) || !absl::EndsWith(path, suffix)) {
    return Violation("the path is the template with the variable filled in",
                     absl::StrCat("path ", Show(path), " method ", built->method, " for ",
                                  described()));
  }
  const absl::string_view segment =
      path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (segment.empty() || absl::StrContains(segment, "..")) {
    return Violation("the path variable is a non-empty segment without \"..\"",
                     absl::StrCat("path ", Show(path), " for ", described()));
  }
  if (absl::Status s = CheckSegment(segment, id, "the path variable"); !s.ok()) return s;
  if (!MatchesPattern(id_field, id)) {
    return Violation("path variables match their pattern", described());
  }

  // Headers: exactly the merchant account id, when set.
  const size_t expected_headers = set_merchant ? 1 : 0;
  if (built->headers.size() != expected_headers) {
    return Violation("headers are exactly the set header fields",
                     absl::StrCat(built->headers.size(), " headers for ", described()));
  }
  for (const auto& [name, value] : built->headers) {
    if (name != "x-gr4vy-merchant-account-id" || value != merchant || HasCrLfNul(value) ||
        HasCrLfNul(name) || !MatchesPattern(merchant_field, value)) {
      return Violation("a header holds the field's validated value",
                       absl::StrCat("header ", Show(name), ": ", Show(value), " for ", described()));
    }
  }

  // The body: the request body's JSON, or {} when absent.
  std::string expected_body;
  if (request.has_request_body()) {
    if (!convert::StructToJson(request.request_body(), &expected_body).ok()) {
      return Violation("Build rejects an unprintable body", described());
    }
  } else {
    expected_body = "{}";
  }
  if (built->body != expected_body) {
    return Violation("the body is the request body's JSON",
                     absl::StrCat("body ", Show(built->body), ", expected ", Show(expected_body)));
  }

  // Header values that come from metadata or flags.
  for (absl::string_view value : {merchant, id, body}) {
    absl::Status bound = route.ValidateHeaderValue("x-gr4vy-merchant-account-id", value);
    const bool valid = merchant_bound ? ValidBoundValue(merchant_field, value) : !HasCrLfNul(value);
    if (bound.ok() != valid) {
      return Violation("ValidateHeaderValue applies the bound field's pattern",
                       absl::StrCat("got ", bound.ToString(), " for ", Show(value)));
    }
    absl::Status other = route.ValidateHeaderValue(header_name, value);
    if (other.ok() && HasCrLfNul(value)) {
      return Violation("ValidateHeaderValue rejects CR, LF and NUL",
                       absl::StrCat("accepted ", Show(value), " for header ", Show(header_name)));
    }
    if (header_name == "x-gr4vy-merchant-account-id" && other.ok() != bound.ok()) {
      return Violation("ValidateHeaderValue is a function of its arguments", Show(value));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void QuietLibraries() {
  // A null handler discards protobuf's log messages (fatal ones still abort).
  static const bool kDone = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)kDone;
}

absl::Status CheckRestParse(SessionType type, absl::string_view data) {
  const auto [options_byte, document] = SplitOptions(data);
  convert::ParseOptions options;
  options.strict = (options_byte & 1) != 0;
  options.max_depth = kDepths[(options_byte >> 2) & 7];
  const bool limit_size = (options_byte & 0x20) != 0 && !document.empty();
  if (limit_size) options.max_input_bytes = document.size() - 1;
  const bool exact_size = (options_byte & 0x40) != 0 && !limit_size;
  if (exact_size) options.max_input_bytes = document.size();

  std::unique_ptr<Message> message = NewSession(type);
  absl::Status status = convert::RestJsonToMessage(document, message.get(), options);
  if (limit_size && (status.ok() || !absl::StartsWith(status.message(), "$: input is"))) {
    return Violation("a document over max_input_bytes is rejected before parsing",
                     absl::StrCat("got ", status.ToString(), " for ", Show(document)));
  }
  if (exact_size && absl::StartsWith(status.message(), "$: input is")) {
    return Violation("a document of exactly max_input_bytes is accepted",
                     absl::StrCat("got ", status.ToString(), " for ", Show(document)));
  }
  if (!status.ok()) return CheckErrorShape(SessionName(type), status, document);

  // Stricter reading and tighter limits only reject more documents: what
  // they accept reads the same without them.
  convert::ParseOptions looser = options;
  looser.strict = false;
  looser.max_depth = kDepths.back();
  looser.max_input_bytes = convert::ParseOptions().max_input_bytes;
  std::unique_ptr<Message> loosely = NewSession(type);
  if (absl::Status s = convert::RestJsonToMessage(document, loosely.get(), looser); !s.ok()) {
    return Violation("a document accepted strictly or at a lower depth limit is accepted "
                     "leniently at a higher one",
                     absl::StrCat("got ", s.ToString(), " for ", Show(document)));
  }
  if (!SameMessage(*message, *loosely)) {
    return Violation("strict and lenient mode read an accepted document alike",
                     absl::StrCat(Show(message->ShortDebugString()), " vs ",
                                  Show(loosely->ShortDebugString()), " for ", Show(document)));
  }
  return CheckPrintsAndReadsBack(*message, options.max_depth, document);
}

absl::Status CheckRestRoundTrip(absl::string_view data) {
  const auto [options_byte, document] = SplitOptions(data);
  const SessionType type =
      (options_byte & 1) != 0 ? SessionType::kPaymentServiceSession : SessionType::kCreateSession;
  std::unique_ptr<Message> message = NewSession(type);
  absl::Status status = convert::RestJsonToMessage(document, message.get());
  if (!status.ok()) return CheckErrorShape(SessionName(type), status, document);
  return CheckPrintsAndReadsBack(*message, convert::ParseOptions().max_depth, document);
}

absl::Status CheckJsonValue(absl::string_view data) {
  const auto [options_byte, document] = SplitOptions(data);
  convert::ParseOptions options;
  options.strict = (options_byte & 1) != 0;
  options.max_depth = kDepths[(options_byte >> 1) & 7];

  google::protobuf::Value value;
  absl::Status status = convert::JsonToValue(document, &value, options);
  google::protobuf::Struct as_struct;
  absl::Status struct_status = convert::JsonToStruct(document, &as_struct, options);
  const bool is_object = status.ok() && value.has_struct_value();
  if (struct_status.ok() != is_object) {
    return Violation("JsonToStruct accepts exactly the objects JsonToValue accepts",
                     absl::StrCat("JsonToValue: ", status.ToString(), " (kind ", static_cast<int>(value.kind_case()),
                                  "), JsonToStruct: ", struct_status.ToString(), ", input ",
                                  Show(document)));
  }
  if (is_object && !SameMessage(as_struct, value.struct_value())) {
    return Violation("JsonToStruct and JsonToValue read an object alike", Show(document));
  }
  if (!struct_status.ok()) {
    if (absl::Status s = CheckErrorShape("JsonToStruct", struct_status, document); !s.ok()) return s;
  }
  if (!status.ok()) return CheckErrorShape("JsonToValue", status, document);

  if (value.has_number_value()) {
    // A lone number must read as glibc's correctly rounded strtod reads it
    // (JSON's number syntax is a subset of strtod's).
    std::string literal(document);
    const size_t begin = literal.find_first_not_of(" \t\r\n");
    const size_t end = literal.find_last_not_of(" \t\r\n");
    literal = literal.substr(begin, end - begin + 1);
    const double expected = std::strtod(literal.c_str(), nullptr);
    const double actual = value.number_value();
    if (std::memcmp(&expected, &actual, sizeof(double)) != 0) {
      return Violation("a number reads as the nearest double",
                       absl::StrCat(Show(literal), " read as ", absl::StrFormat("%.17g", actual),
                                    ", strtod gives ", absl::StrFormat("%.17g", expected)));
    }
  }

  convert::PrintOptions print_options;
  print_options.max_depth = options.max_depth;
  convert::ParseOptions lenient;
  lenient.max_depth = options.max_depth;
  std::string printed;
  if (absl::Status s = convert::ValueToJson(value, &printed, print_options); !s.ok()) {
    return Violation("a parsed Value prints", absl::StrCat("got ", s.ToString(), " for ",
                                                           Show(document)));
  }
  print_options.pretty = true;
  std::string pretty;
  if (absl::Status s = convert::ValueToJson(value, &pretty, print_options); !s.ok()) {
    return Violation("a parsed Value prints in pretty form",
                     absl::StrCat("got ", s.ToString(), " for ", Show(document)));
  }
  print_options.pretty = false;
  for (const std::string* text : {&printed, &pretty}) {
    google::protobuf::Value reparsed;
    if (absl::Status s = convert::JsonToValue(*text, &reparsed, lenient); !s.ok()) {
      return Violation("ValueToJson output parses back",
                       absl::StrCat("got ", s.ToString(), " for printed ", Show(*text),
                                    " from ", Show(document)));
    }
    if (!SameMessage(value, reparsed)) {
      return Violation("JsonToValue(ValueToJson(v)) == v",
                       absl::StrCat("v = ", Show(value.ShortDebugString()), ", reparsed ",
                                    Show(reparsed.ShortDebugString()), ", printed ", Show(*text)));
    }
    std::string again;
    if (absl::Status s = convert::ValueToJson(reparsed, &again, print_options); !s.ok() ||
        again != printed) {
      return Violation("ValueToJson(JsonToValue(ValueToJson(v))) == ValueToJson(v)",
                       absl::StrCat("first ", Show(printed), ", then ", Show(again), " ",
                                    s.ToString()));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCliConvert(absl::string_view data) {
  const auto [options_byte, input] = SplitOptions(data);
  static constexpr cli::Format kFormats[] = {cli::Format::kProtoJson, cli::Format::kText,
                                             cli::Format::kBinary, cli::Format::kRest};
  const SessionType type =
      (options_byte & 4) != 0 ? SessionType::kPaymentServiceSession : SessionType::kCreateSession;
  cli::ConvertRequest request;
  request.message = std::string(SessionName(type));
  request.from = kFormats[options_byte & 3];
  request.to = cli::Format::kRest;
  request.strict = (options_byte & 8) != 0;
  request.pretty = (options_byte & 0x10) != 0;

  absl::StatusOr<std::string> rest = cli::Convert(request, input);
  if (!rest.ok()) return CheckErrorShape("Convert", rest.status(), input);
  if (rest->empty() || rest->back() != '\n') {
    return Violation("REST output ends with a newline", Show(*rest));
  }

  // What the input says, as Convert reads it: its binary form.
  request.to = cli::Format::kBinary;
  absl::StatusOr<std::string> binary = cli::Convert(request, input);
  if (!binary.ok()) {
    return Violation("input that converts to rest also converts to binary",
                     absl::StrCat("got ", binary.status().ToString(), " for ", Show(input)));
  }
  std::unique_ptr<Message> expected = NewSession(type);
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(binary->data()),
                                                static_cast<int>(binary->size()));
  stream.SetRecursionLimit(100000);
  if (!expected->ParseFromCodedStream(&stream)) {
    return Violation("Convert's binary output parses", Show(*binary));
  }
  // The REST form has no unknown fields and always has a type.
  expected->DiscardUnknownFields();
  if (auto* create = dynamic_cast<CreateSession*>(expected.get())) {
    if (create->type().empty()) create->set_type(kTypeConstant);
  } else if (auto* session = dynamic_cast<PaymentServiceSession*>(expected.get())) {
    if (session->type() == gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_TYPE_UNSPECIFIED) {
      session->set_type(gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
    }
  }
  std::unique_ptr<Message> reparsed = NewSession(type);
  absl::string_view document(*rest);
  document.remove_suffix(1);
  if (absl::Status s = convert::RestJsonToMessage(document, reparsed.get()); !s.ok()) {
    return Violation("Convert's REST output parses (lenient)",
                     absl::StrCat("got ", s.ToString(), " for ", Show(document), " from ",
                                  Show(input)));
  }
  if (!SameMessage(*expected, *reparsed)) {
    return Violation("proto -> REST -> proto is the identity",
                     absl::StrCat("message ", Show(expected->ShortDebugString()), ", REST ",
                                  Show(document), ", read back ",
                                  Show(reparsed->ShortDebugString()), ", input ", Show(input)));
  }
  return absl::OkStatus();
}

absl::Status CheckGatewayValidation(absl::string_view data) {
  const auto [options_byte, rest] = SplitOptions(data);
  std::vector<absl::string_view> parts = absl::StrSplit(rest, absl::MaxSplits('\xff', 3));

  // Encoding alone, on every part: the last line of defence for any value.
  for (absl::string_view value : parts) {
    if (absl::Status s = CheckSegment(gateway::PercentEncodePathSegment(value), value,
                                      "PercentEncodePathSegment's output");
        !s.ok()) {
      return s;
    }
  }

  const bool definition = (options_byte & 1) != 0;
  const gateway::Route& route = RouteFor(definition);
  if (definition) {
    return CheckBuild<CreatePaymentServiceDefinitionSessionRequest>(route, options_byte, parts);
  }
  return CheckBuild<CreatePaymentServiceSessionRequest>(route, options_byte, parts);
}

}  // namespace fuzz
}  // namespace session_gateway
