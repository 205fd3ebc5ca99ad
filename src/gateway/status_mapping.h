// Turns upstream outcomes into gRPC statuses, keeping everything the REST
// API said: its message in the status message and the whole error as a
// gr4vy.sessions.v1.UpstreamError inside a google.rpc.Status detail, so
// grpcurl and buf curl show it decoded.
//
// Usage:
//
//   grpc::Status status = UpstreamErrorStatus(404, body, {"req-1", 1});
//   // status.error_code() == grpc::StatusCode::NOT_FOUND
#ifndef SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_
#define SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gateway/route.h"
#include "grpcpp/support/status.h"

namespace session_gateway {
namespace gateway {

// The gRPC code for a non-2xx HTTP status: 400 INVALID_ARGUMENT,
// 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 NOT_FOUND,
// 405 UNIMPLEMENTED, 409 ABORTED, 422 INVALID_ARGUMENT, 425 UNAVAILABLE,
// 429 RESOURCE_EXHAUSTED, 500 INTERNAL, 501 UNIMPLEMENTED, 502 UNAVAILABLE,
// 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, other 4xx FAILED_PRECONDITION,
// other 5xx UNKNOWN (and anything else UNKNOWN).
grpc::StatusCode HttpStatusToGrpcCode(int http_status);

// The gRPC code for a failure that produced no HTTP response (an
// upstream::HttpResult status): kUnavailable stays UNAVAILABLE,
// kDeadlineExceeded DEADLINE_EXCEEDED, kCancelled CANCELLED,
// kResourceExhausted RESOURCE_EXHAUSTED, anything else INTERNAL.
grpc::StatusCode TransportErrorToGrpcCode(absl::StatusCode code);

// Facts about the call that travel in the status detail.
struct CallFacts {
  std::string request_id;
  int attempts = 1;
};

// The status for an upstream answer with a non-2xx `http_status`. The
// message is the API's `message` (or the first validation `detail`'s
// `msg`), else "upstream answered HTTP <status>"; the detail holds the
// HTTP status, code, message, details and the parsed body.
grpc::Status UpstreamErrorStatus(int http_status, absl::string_view body, const CallFacts& facts);

// The status for a failure with no HTTP answer (connection refused, time
// out, response too large), with the same kind of detail (http_status 0).
grpc::Status TransportErrorStatus(const absl::Status& error, const CallFacts& facts);

// A gRPC status with `code` and `message` whose details carry a
// google.rpc.BadRequest naming the offending field, for invalid requests.
grpc::Status InvalidRequestStatus(absl::string_view message, const FieldViolation& violation);

// A plain status whose details hold google.rpc.Status with just the code
// and message (kept uniform so clients can always decode details).
grpc::Status SimpleStatus(grpc::StatusCode code, absl::string_view message);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_
