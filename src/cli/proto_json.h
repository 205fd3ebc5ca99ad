// Canonical proto3 JSON ("protojson", what grpcurl shows) for session-convert.
//
// protobuf's own JSON code handles every field except the JSON-valued ones
// (google.protobuf.Struct, Value and ListValue) of the top-level message,
// which go through the REST converter's JSON reader and writer instead.
// Their proto3 JSON form is plain JSON, the same as in the REST form, and
// protobuf's handling of them has two defects this avoids:
//   * depth: protobuf counts message recursion, and a Struct costs about
//     three messages per JSON level, so its fixed limit of 100 stops
//     documents at about 33 JSON levels (and its printer logs a warning
//     when it gives up); here the limit is ParseOptions::max_depth in JSON
//     levels, as for the REST form, with errors naming the JSON path;
//   * -0: protobuf's parser reads the integer literal -0 as the integer 0,
//     losing the sign of a Struct number; here it reads as the double -0.
#ifndef SESSION_GATEWAY_CLI_PROTO_JSON_H_
#define SESSION_GATEWAY_CLI_PROTO_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "convert/rest_json.h"
#include "google/protobuf/message.h"

namespace session_gateway {
namespace cli {

// Parses proto3 JSON into `message` (cleared first). `limits` gives the
// depth limit (the top-level object is level 1) and `ignore_unknown_fields`
// protobuf's option of that name. Errors are kInvalidArgument, one line,
// starting with a JSON path ("$" for what protobuf reports).
absl::Status ProtoJsonToMessage(absl::string_view json, const convert::ParseOptions& limits,
                                bool ignore_unknown_fields, google::protobuf::Message* message);

// Appends the proto3 JSON form of `message` to `*output`, compact or (with
// `options.pretty`) indented by two spaces. Nesting deeper than
// `options.max_depth` is a kInvalidArgument error naming the path.
absl::Status MessageToProtoJson(const google::protobuf::Message& message,
                                const convert::PrintOptions& options, std::string* output);

}  // namespace cli
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CLI_PROTO_JSON_H_
