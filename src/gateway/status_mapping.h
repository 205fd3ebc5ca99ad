// Turns upstream outcomes into gRPC statuses, keeping everything the REST
// API said: its message in the status message and the whole error as a
// gr4vy.sessions.v1.UpstreamError inside a google.rpc.Status detail, so
// grpcurl and buf curl show it decoded.
//
// Every status made here fits gRPC trailers: clients refuse trailers over
// their metadata limit (8 KiB in Java and in many other clients, as gRPC's
// PROTOCOL-HTTP2 suggests), and a refused trailer reaches the caller as a
// bare INTERNAL "stream reset" with nothing the upstream said. So the
// message is cut to kMaxStatusMessageWireBytes as sent and the serialized
// google.rpc.Status to kMaxStatusDetailsBytes (base64: 5,464 bytes); with
// the other trailers, a few hundred bytes, the whole set stays under 7 KiB.
//
// Usage:
//
//   grpc::Status status = UpstreamErrorStatus(http_response, {"req-1", 1});
//   // http_response.status == 404: status.error_code() == NOT_FOUND
#ifndef SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_
#define SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gateway/route.h"
#include "grpcpp/support/status.h"
#include "upstream/http_client.h"

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

// Longest status message (`grpc-message`) as sent, that is after gRPC's
// percent-encoding, which turns each byte outside printable ASCII (and
// '%') into three. Longer messages are cut on a character boundary and end
// with kCutMarker.
inline constexpr size_t kMaxStatusMessageWireBytes = 1024;

// Largest serialized google.rpc.Status (`grpc-status-details-bin` before
// base64). An UpstreamError detail is filled in priority order (facts, code,
// message, then details, then the body) until it would not fit.
inline constexpr size_t kMaxStatusDetailsBytes = 4096;

// Ends a status message or text that was cut.
inline constexpr char kCutMarker[] = " [truncated]";

// The status for an upstream answer with a non-2xx status. The code
// follows HttpStatusToGrpcCode. The message is the API's `message` (or the
// first validation `detail`'s `msg`, or a string `detail`), else
// "upstream answered HTTP <status>". The UpstreamError detail holds the
// HTTP status, content type, code, message, details and the body: parsed
// in `body` when it is JSON and fits, else as `body_text`, cut if need be.
grpc::Status UpstreamErrorStatus(const upstream::HttpResponse& response, const CallFacts& facts);

// The status for a 2xx answer whose body cannot be the RPC's response (not
// JSON, a number no double holds, a wrong type, a non-JSON content type):
// INTERNAL with the message "upstream answered HTTP <status> with
// <reason>". The API may have created a session all the same, so the
// UpstreamError detail carries the exact body text (cut only beyond the
// bound, then `body_truncated`), its content type, size, the request id and
// attempts.
grpc::Status UnreadableSuccessStatus(const upstream::HttpResponse& response, absl::string_view reason,
                                     const CallFacts& facts);

// The status for a failure with no HTTP answer (connection refused, time
// out, response too large), with the same kind of detail (http_status 0).
grpc::Status TransportErrorStatus(const absl::Status& error, const CallFacts& facts);

// A gRPC status with `code` and `message` whose details carry a
// google.rpc.BadRequest naming the offending field, for invalid requests.
grpc::Status InvalidRequestStatus(absl::string_view message, const FieldViolation& violation);

// UNAVAILABLE for a call shed by admission control, with `message` (which
// says the gateway is overloaded) and a google.rpc.ErrorInfo detail:
// reason "OVERLOADED", domain "session-gateway", metadata {"limit": the
// limit's name, e.g. "calls_in_flight"}, so clients can tell shedding from
// an unavailable upstream without parsing the message.
grpc::Status OverloadedStatus(absl::string_view message, absl::string_view limit);

// A plain status whose details hold google.rpc.Status with just the code
// and message (kept uniform so clients can always decode details).
grpc::Status SimpleStatus(grpc::StatusCode code, absl::string_view message);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_STATUS_MAPPING_H_
