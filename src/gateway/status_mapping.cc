#include "gateway/status_mapping.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/json_text.h"
#include "convert/rest_json.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.pb.h"

namespace session_gateway {
namespace gateway {
namespace {

using google::protobuf::Value;
using gr4vy::sessions::v1::UpstreamError;

// Caps on the UpstreamError strings that are filled before the details and
// the body, so that those always keep room in kMaxStatusDetailsBytes: the
// status message (at most 1 KiB) plus these stay under 2.5 KiB.
constexpr size_t kMaxCodeBytes = 128;
constexpr size_t kMaxRequestIdBytes = 128;  // What the forwarder accepts.
constexpr size_t kMaxContentTypeBytes = 256;
constexpr size_t kMaxErrorMessageBytes = 1024;
// Caps on a google.rpc.BadRequest's field and description, which name
// paths in the caller's own (possibly huge) request.
constexpr size_t kMaxViolationBytes = 1024;

// Deepest JSON kept as google.protobuf.Value or Struct in a detail. Each
// JSON level costs three message levels (Value, Struct, map entry) and
// protobuf parsers give up at 100 levels by default, so a deeper value
// would make the whole UpstreamError unreadable to the caller.
constexpr int kMaxDetailJsonDepth = 20;

// Room for length prefixes that grow once the UpstreamError is packed (the
// Any's value field and the details entry, two bytes each below 16 KiB).
constexpr size_t kLengthPrefixSlack = 8;

constexpr absl::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// Appends as much of `bytes` to `*out` as keeps out->size() <= max_size, as
// valid UTF-8 (protobuf string fields must be): each byte that does not
// begin a valid sequence becomes U+FFFD. Never splits a character. Returns
// how many bytes of `bytes` it consumed.
size_t AppendValidUtf8(absl::string_view bytes, size_t max_size, std::string* out) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    size_t consumed = 1;
    absl::string_view piece = bytes.substr(i, 1);
    if (data[i] >= 0x80) {
      const size_t length = Utf8SequenceLength(data + i, bytes.size() - i);
      piece = length == 0 ? kReplacementCharacter : bytes.substr(i, length);
      consumed = std::max<size_t>(length, 1);
    }
    if (out->size() + piece.size() > max_size) break;
    out->append(piece.data(), piece.size());
    i += consumed;
  }
  return i;
}

// `bytes` as valid UTF-8 of at most `max_size` bytes, ending with
// kCutMarker when it had to be cut.
std::string BoundedText(absl::string_view bytes, size_t max_size) {
  std::string text;
  if (AppendValidUtf8(bytes, max_size, &text) == bytes.size()) return text;
  text.clear();
  AppendValidUtf8(bytes, max_size - (sizeof(kCutMarker) - 1), &text);
  text.append(kCutMarker);
  return text;
}

// Bytes one byte of a status message takes in `grpc-message`: gRPC
// percent-encodes everything outside printable ASCII, and '%' itself.
size_t WireSize(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte <= 0x7E && byte != '%' ? 1 : 3;
}

size_t WireSize(absl::string_view text) {
  size_t size = 0;
  for (char c : text) size += WireSize(c);
  return size;
}

// `message` as valid UTF-8 whose `grpc-message` form fits in
// kMaxStatusMessageWireBytes, cut on a character boundary and marked when
// it does not fit whole.
std::string BoundedStatusMessage(absl::string_view message) {
  // A byte takes at least one wire byte, so this prefix holds all that can
  // be sent.
  std::string text;
  const bool whole = AppendValidUtf8(message, kMaxStatusMessageWireBytes, &text) == message.size();
  if (whole && WireSize(text) <= kMaxStatusMessageWireBytes) return text;
  const size_t room = kMaxStatusMessageWireBytes - WireSize(kCutMarker);
  size_t kept = 0, wire = 0;
  while (kept < text.size()) {
    size_t length = 1;  // The character: its first byte and continuation bytes.
    while (kept + length < text.size() && (static_cast<unsigned char>(text[kept + length]) & 0xC0) == 0x80) {
      ++length;
    }
    const size_t size = WireSize(absl::string_view(text).substr(kept, length));
    if (wire + size > room) break;
    wire += size;
    kept += length;
  }
  text.resize(kept);
  text.append(kCutMarker);
  return text;
}

// Whether `value` nests objects and arrays more than `levels` deep (a
// scalar is 0 deep, `{}` 1). Looks no deeper than it must.
bool DeeperThan(const Value& value, int levels) {
  if (value.kind_case() == Value::kStructValue) {
    if (levels == 0) return true;
    for (const auto& [key, member] : value.struct_value().fields()) {
      if (DeeperThan(member, levels - 1)) return true;
    }
  } else if (value.kind_case() == Value::kListValue) {
    if (levels == 0) return true;
    for (const Value& item : value.list_value().values()) {
      if (DeeperThan(item, levels - 1)) return true;
    }
  }
  return false;
}

// Size of a length-delimited field with a one-byte tag holding `payload`
// bytes, as in every UpstreamError field.
size_t FieldSize(size_t payload) {
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(payload) + payload;
}

const Value* Member(const Value& value, absl::string_view key) {
  if (value.kind_case() != Value::kStructValue) return nullptr;
  auto it = value.struct_value().fields().find(std::string(key));
  return it == value.struct_value().fields().end() ? nullptr : &it->second;
}

std::string StringMember(const Value& value, absl::string_view key) {
  const Value* member = Member(value, key);
  return member != nullptr && member->kind_case() == Value::kStringValue ? member->string_value() : "";
}

// What an API error body says. The contract gives two shapes:
// {type:"error", code, status, message, details[]} and, for 422,
// {detail:[{loc, msg, type, ...}]}. A plain string `detail` is what
// frameworks in front of the API send, so it is read as the message.
struct ApiError {
  std::string code;
  std::string message;
  // The items of `details`, then of `detail`, in the API's order.
  std::vector<const Value*> details;
};

ApiError ReadApiError(const Value& body) {
  ApiError error;
  error.code = StringMember(body, "code");
  error.message = StringMember(body, "message");
  for (absl::string_view key : {"details", "detail"}) {
    const Value* list = Member(body, key);
    if (list == nullptr || list->kind_case() != Value::kListValue) continue;
    for (const Value& item : list->list_value().values()) error.details.push_back(&item);
  }
  if (error.message.empty()) {
    const Value* detail = Member(body, "detail");
    if (detail != nullptr && detail->kind_case() == Value::kStringValue) {
      error.message = detail->string_value();
    } else if (detail != nullptr && detail->kind_case() == Value::kListValue &&
               detail->list_value().values_size() > 0) {
      error.message = StringMember(detail->list_value().values(0), "msg");
    }
  }
  return error;
}

std::string HeaderValue(const upstream::HttpResponse& response, absl::string_view name) {
  for (const auto& [header, value] : response.headers) {
    if (header == name) return value;  // Names are lowercased by the client.
  }
  return "";
}

// The parts of an UpstreamError every upstream answer has.
UpstreamError ResponseFacts(const upstream::HttpResponse& response, const CallFacts& facts) {
  UpstreamError error;
  error.set_http_status(response.status);
  error.set_content_type(BoundedText(HeaderValue(response, "content-type"), kMaxContentTypeBytes));
  error.set_body_size(static_cast<int64_t>(response.body.size()));
  error.set_request_id(BoundedText(facts.request_id, kMaxRequestIdBytes));
  error.set_attempts(facts.attempts);
  return error;
}

// Adds, in order, the detail items that are JSON objects shallow enough for
// clients to parse and that fit while `error` stays within `budget` bytes;
// flags the rest as left out.
void AddDetails(const std::vector<const Value*>& items, size_t budget, UpstreamError* error) {
  size_t size = error->ByteSizeLong();
  for (const Value* item : items) {
    if (item->kind_case() == Value::kStructValue && !DeeperThan(*item, kMaxDetailJsonDepth)) {
      const size_t item_size = FieldSize(item->struct_value().ByteSizeLong());
      if (size + item_size <= budget) {
        *error->add_details() = item->struct_value();
        size += item_size;
        continue;
      }
    }
    error->set_details_truncated(true);
  }
}

// Puts as much of `body` as fits within `budget` into `error->body_text`,
// exact except for invalid UTF-8, flagging a cut.
void AddBodyText(absl::string_view body, size_t budget, UpstreamError* error) {
  if (body.empty()) return;
  // body_text's tag and length prefix (at most 3 bytes below 2 MiB), and
  // body_truncated (2 bytes).
  const size_t used = error->ByteSizeLong() + 1 + 3 + 2;
  std::string text;
  const size_t consumed = used < budget ? AppendValidUtf8(body, budget - used, &text) : 0;
  error->set_body_truncated(consumed < body.size());
  error->set_body_text(std::move(text));
}

// Puts the body into `error`: parsed when it is JSON that fits within
// `budget` and is shallow enough, else as text.
void AddBody(absl::string_view body, const Value* parsed, size_t budget, UpstreamError* error) {
  if (parsed != nullptr && !DeeperThan(*parsed, kMaxDetailJsonDepth) &&
      error->ByteSizeLong() + FieldSize(parsed->ByteSizeLong()) <= budget) {
    *error->mutable_body() = *parsed;
    return;
  }
  AddBodyText(body, budget, error);
}

// The google.rpc.Status every status starts from: the code and the bounded
// message.
google::rpc::Status BaseStatus(grpc::StatusCode code, absl::string_view message) {
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(BoundedStatusMessage(message));
  return rpc_status;
}

// Bytes an UpstreamError may take so that `rpc_status` with it packed in
// stays within kMaxStatusDetailsBytes. Measured on an empty one rather than
// worked out from the wire format.
size_t UpstreamErrorBudget(const google::rpc::Status& rpc_status) {
  google::rpc::Status wrapped = rpc_status;
  wrapped.add_details()->PackFrom(UpstreamError());
  const size_t overhead = wrapped.ByteSizeLong() + kLengthPrefixSlack;
  return overhead < kMaxStatusDetailsBytes ? kMaxStatusDetailsBytes - overhead : 0;
}

grpc::Status ToGrpcStatus(const google::rpc::Status& rpc_status) {
  return grpc::Status(static_cast<grpc::StatusCode>(rpc_status.code()), rpc_status.message(),
                      rpc_status.SerializeAsString());
}

grpc::Status WithDetail(grpc::StatusCode code, absl::string_view message,
                        const google::protobuf::Message* detail) {
  google::rpc::Status rpc_status = BaseStatus(code, message);
  if (detail != nullptr) rpc_status.add_details()->PackFrom(*detail);
  return ToGrpcStatus(rpc_status);
}

}  // namespace

grpc::StatusCode HttpStatusToGrpcCode(int http_status) {
  switch (http_status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 403: return grpc::StatusCode::PERMISSION_DENIED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 405: return grpc::StatusCode::UNIMPLEMENTED;
    case 409: return grpc::StatusCode::ABORTED;
    case 422: return grpc::StatusCode::INVALID_ARGUMENT;
    case 425: return grpc::StatusCode::UNAVAILABLE;
    case 429: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 500: return grpc::StatusCode::INTERNAL;
    case 501: return grpc::StatusCode::UNIMPLEMENTED;
    case 502: return grpc::StatusCode::UNAVAILABLE;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    case 504: return grpc::StatusCode::DEADLINE_EXCEEDED;
    default: break;
  }
  if (http_status >= 400 && http_status < 500) return grpc::StatusCode::FAILED_PRECONDITION;
  return grpc::StatusCode::UNKNOWN;
}

grpc::StatusCode TransportErrorToGrpcCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable: return grpc::StatusCode::UNAVAILABLE;
    case absl::StatusCode::kDeadlineExceeded: return grpc::StatusCode::DEADLINE_EXCEEDED;
    case absl::StatusCode::kCancelled: return grpc::StatusCode::CANCELLED;
    case absl::StatusCode::kResourceExhausted: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    default: return grpc::StatusCode::INTERNAL;
  }
}

grpc::Status UpstreamErrorStatus(const upstream::HttpResponse& response, const CallFacts& facts) {
  Value parsed;
  const bool is_json = !response.body.empty() && convert::JsonToValue(response.body, &parsed).ok();
  const ApiError api = is_json ? ReadApiError(parsed) : ApiError();
  google::rpc::Status rpc_status =
      BaseStatus(HttpStatusToGrpcCode(response.status),
                 api.message.empty() ? absl::StrCat("upstream answered HTTP ", response.status) : api.message);
  UpstreamError error = ResponseFacts(response, facts);
  error.set_code(BoundedText(api.code, kMaxCodeBytes));
  error.set_message(BoundedText(api.message, kMaxErrorMessageBytes));
  const size_t budget = UpstreamErrorBudget(rpc_status);
  AddDetails(api.details, budget, &error);
  AddBody(response.body, is_json ? &parsed : nullptr, budget, &error);
  rpc_status.add_details()->PackFrom(error);
  return ToGrpcStatus(rpc_status);
}

grpc::Status UnreadableSuccessStatus(const upstream::HttpResponse& response, absl::string_view reason,
                                     const CallFacts& facts) {
  google::rpc::Status rpc_status = BaseStatus(
      grpc::StatusCode::INTERNAL, absl::StrCat("upstream answered HTTP ", response.status, " with ", reason));
  UpstreamError error = ResponseFacts(response, facts);
  // Never the parsed form here: the text keeps every byte of a session the
  // API created, where a google.protobuf.Value would round big numbers.
  AddBodyText(response.body, UpstreamErrorBudget(rpc_status), &error);
  rpc_status.add_details()->PackFrom(error);
  return ToGrpcStatus(rpc_status);
}

grpc::Status TransportErrorStatus(const absl::Status& failure, const CallFacts& facts) {
  UpstreamError error;
  error.set_request_id(BoundedText(facts.request_id, kMaxRequestIdBytes));
  error.set_attempts(facts.attempts);
  error.set_message(BoundedText(failure.message(), kMaxErrorMessageBytes));
  return WithDetail(TransportErrorToGrpcCode(failure.code()), failure.message(), &error);
}

grpc::Status InvalidRequestStatus(absl::string_view message, const FieldViolation& violation) {
  google::rpc::BadRequest bad_request;
  auto* field = bad_request.add_field_violations();
  field->set_field(BoundedText(violation.field, kMaxViolationBytes));
  field->set_description(BoundedText(violation.description, kMaxViolationBytes));
  return WithDetail(grpc::StatusCode::INVALID_ARGUMENT, message, &bad_request);
}

grpc::Status OverloadedStatus(absl::string_view message, absl::string_view limit) {
  google::rpc::ErrorInfo info;
  info.set_reason("OVERLOADED");
  info.set_domain("session-gateway");
  (*info.mutable_metadata())["limit"] = std::string(limit);
  return WithDetail(grpc::StatusCode::UNAVAILABLE, message, &info);
}

grpc::Status SimpleStatus(grpc::StatusCode code, absl::string_view message) {
  return WithDetail(code, message, nullptr);
}

}  // namespace gateway
}  // namespace session_gateway
