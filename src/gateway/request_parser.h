// Reads a gRPC request's bytes into its message, in place of gRPC's own
// deserializer.
//
// gRPC parses with protobuf's default recursion limit (100 messages deep; a
// google.protobuf.Struct costs 3 per JSON level, so about 33 JSON levels)
// and answers any parse failure with UNIMPLEMENTED and an empty message
// before the service sees the call. Parsing here lets the limit follow
// --max_json_depth and turns every failure into INVALID_ARGUMENT that says
// what is wrong and where, with a google.rpc.BadRequest.
//
// Usage:
//
//   FieldViolation violation;
//   absl::Status s = ParseRequest(bytes, /*max_json_depth=*/100, &request, &violation);
//   // s: "$.request_body.name: is not valid UTF-8"; violation.field "$.request_body.name".
#ifndef SESSION_GATEWAY_GATEWAY_REQUEST_PARSER_H_
#define SESSION_GATEWAY_GATEWAY_REQUEST_PARSER_H_

#include "absl/status/status.h"
#include "gateway/route.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace session_gateway {
namespace gateway {

// How many levels of message nesting a request may have so that a
// google.protobuf.Struct body nested `max_json_depth` JSON levels deep
// parses and one level deeper does not: 3 per JSON level (Struct, map
// entry, Value). A ListValue costs 2 per level, so deep arrays parse and
// reach the route's own depth check instead; both name the JSON path.
int RequestRecursionLimit(int max_json_depth);

// Parses `bytes` into `request` (cleared first) with RequestRecursionLimit
// levels of nesting. On failure returns kInvalidArgument "<path>: <reason>"
// and fills `*violation`: invalid UTF-8 and nesting too deep name the
// JSON path of the value, truncated or malformed bytes the message they
// end in.
// Writes nothing to protobuf's log.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, int max_json_depth,
                          google::protobuf::Message* request, FieldViolation* violation);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_REQUEST_PARSER_H_
