// The REST route of one RPC, read from its descriptor: the HTTP method and
// path template of its google.api.http rule, which request field is the
// JSON body, which fields travel as headers, the pattern each path or
// header value must match, and the REST operation id and OAuth scopes of
// its (gr4vy.rest.v1.method) option.
//
// A request field with no path, body or header binding has no place in the
// REST operation (the gateway maps no field to query parameters), so a
// request that sets one is rejected rather than silently dropping it.
//
// Building an upstream request from a gRPC request is the one place where
// caller input becomes a URL and headers, so every value is validated
// against its (gr4vy.rest.v1.field).pattern and percent-encoded here, before
// anything is sent.
//
// Usage:
//
//   absl::StatusOr<Route> route = Route::ForMethod(
//       pool->FindMethodByName("gr4vy.sessions.v1.SessionService.CreatePaymentServiceSession"));
//   absl::StatusOr<UpstreamRequestParts> parts = route->Build(request);
//   // parts->path == "/payment-services/4a0c.../sessions"
#ifndef SESSION_GATEWAY_GATEWAY_ROUTE_H_
#define SESSION_GATEWAY_GATEWAY_ROUTE_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"

namespace re2 {
class RE2;
}

namespace session_gateway {
namespace gateway {

// What a gRPC request turns into upstream, before credentials and the
// gateway's own headers are added.
struct UpstreamRequestParts {
  std::string method;  // "POST", ...
  std::string path;    // Starts with '/', every variable percent-encoded.
  std::string body;    // REST JSON.
  // Headers bound to request fields that are set, e.g.
  // {"x-gr4vy-merchant-account-id", "default"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

// A request value that failed validation, for google.rpc.BadRequest.
struct FieldViolation {
  std::string field;        // JSON path, e.g. "$.payment_service_id".
  std::string description;  // Why it was rejected.
};

class Route {
 public:
  // Reads the route of `method`. kInvalidArgument if the method has no
  // google.api.http rule, no (gr4vy.rest.v1.method) option with an
  // operation id and at least one scope, or uses a feature we do not
  // support (custom verbs, `{field=pattern}` variables, nested field paths).
  static absl::StatusOr<Route> ForMethod(const google::protobuf::MethodDescriptor* method);

  // Validates `request` (of the method's input type) and builds the
  // upstream request. On a bad value, or a set field that the route does not
  // bind, returns kInvalidArgument whose message names the JSON path, and
  // fills `*violation` if non-null.
  // The body is printed with at most `max_json_depth` levels of nesting.
  absl::StatusOr<UpstreamRequestParts> Build(const google::protobuf::Message& request,
                                             FieldViolation* violation = nullptr,
                                             int max_json_depth = 100) const;

  // Checks a header value that did not come from a request field (caller
  // metadata, a flag default) against the pattern of the field bound to
  // `header`, if any, and against CR/LF/NUL in any case.
  absl::Status ValidateHeaderValue(absl::string_view header, absl::string_view value) const;

  // Header names bound to request fields, e.g. "x-gr4vy-merchant-account-id".
  const std::vector<std::string>& HeaderNames() const { return header_names_; }

  const google::protobuf::MethodDescriptor* method() const { return method_; }
  // The REST operation, e.g. "create_payment_service_session".
  const std::string& operation_id() const { return operation_id_; }
  // The OAuth scopes the operation requires, e.g. {"transactions.write"}.
  const std::vector<std::string>& scopes() const { return scopes_; }
  const std::string& http_method() const { return http_method_; }
  const std::string& path_template() const { return path_template_; }

 private:
  struct Segment {
    std::string literal;                                    // Text, if no field.
    const google::protobuf::FieldDescriptor* field = nullptr;  // A {variable}.
  };
  struct Binding {
    const google::protobuf::FieldDescriptor* field;
    std::string header;                // Empty for path variables.
    std::shared_ptr<const re2::RE2> pattern;  // Null if the field has none.
  };

  absl::Status CheckValue(const Binding& binding, absl::string_view value,
                          FieldViolation* violation) const;
  const Binding* FindBinding(const google::protobuf::FieldDescriptor* field) const;

  absl::Status CheckUnboundFieldsUnset(const google::protobuf::Message& request,
                                       FieldViolation* violation) const;

  const google::protobuf::MethodDescriptor* method_ = nullptr;
  std::string operation_id_;
  std::vector<std::string> scopes_;
  std::string http_method_;
  std::string path_template_;
  std::vector<Segment> segments_;
  std::vector<Binding> bindings_;  // Path variables and header fields.
  const google::protobuf::FieldDescriptor* body_field_ = nullptr;
  std::vector<std::string> header_names_;  // Derived from bindings_ once.
  // Input fields bound to nothing: a request must leave them unset.
  std::vector<const google::protobuf::FieldDescriptor*> unbound_fields_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, so that a
// value stays inside one path segment whatever it holds.
std::string PercentEncodePathSegment(absl::string_view value);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_ROUTE_H_
