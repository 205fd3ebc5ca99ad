#include "gateway/status_mapping.h"

#include "absl/strings/str_cat.h"
#include "convert/rest_json.h"
#include "google/protobuf/any.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gr4vy/sessions/v1/session_service.pb.h"

namespace session_gateway {
namespace gateway {
namespace {

using google::protobuf::Value;

grpc::Status WithDetail(grpc::StatusCode code, absl::string_view message,
                        const google::protobuf::Message* detail) {
  google::rpc::Status rpc_status;
  rpc_status.set_code(static_cast<int>(code));
  rpc_status.set_message(std::string(message));
  if (detail != nullptr) rpc_status.add_details()->PackFrom(*detail);
  return grpc::Status(code, std::string(message), rpc_status.SerializeAsString());
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

grpc::Status UpstreamErrorStatus(int http_status, absl::string_view body, const CallFacts& facts) {
  gr4vy::sessions::v1::UpstreamError error;
  error.set_http_status(http_status);
  error.set_request_id(facts.request_id);
  error.set_attempts(facts.attempts);
  Value parsed;
  std::string message;
  if (!body.empty() && convert::JsonToValue(body, &parsed).ok()) {
    *error.mutable_body() = parsed;
    error.set_code(StringMember(parsed, "code"));
    error.set_message(StringMember(parsed, "message"));
    message = error.message();
    // The API's errors carry "details"; its validation errors "detail".
    for (absl::string_view key : {"details", "detail"}) {
      const Value* list = Member(parsed, key);
      if (list == nullptr || list->kind_case() != Value::kListValue) continue;
      for (const Value& item : list->list_value().values()) {
        if (item.kind_case() == Value::kStructValue) *error.add_details() = item.struct_value();
      }
      if (message.empty() && key == "detail" && error.details_size() > 0) {
        const Value& first = list->list_value().values(0);
        message = StringMember(first, "msg");
      }
    }
  }
  if (message.empty()) message = absl::StrCat("upstream answered HTTP ", http_status);
  return WithDetail(HttpStatusToGrpcCode(http_status), message, &error);
}

grpc::Status TransportErrorStatus(const absl::Status& failure, const CallFacts& facts) {
  gr4vy::sessions::v1::UpstreamError error;
  error.set_request_id(facts.request_id);
  error.set_attempts(facts.attempts);
  error.set_message(std::string(failure.message()));
  return WithDetail(TransportErrorToGrpcCode(failure.code()), failure.message(), &error);
}

grpc::Status InvalidRequestStatus(absl::string_view message, const FieldViolation& violation) {
  google::rpc::BadRequest bad_request;
  auto* field = bad_request.add_field_violations();
  field->set_field(violation.field);
  field->set_description(violation.description);
  return WithDetail(grpc::StatusCode::INVALID_ARGUMENT, message, &bad_request);
}

grpc::Status SimpleStatus(grpc::StatusCode code, absl::string_view message) {
  return WithDetail(code, message, nullptr);
}

}  // namespace gateway
}  // namespace session_gateway
