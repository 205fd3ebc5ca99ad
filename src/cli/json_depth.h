// The JSON nesting depth of a message read from text or binary protobuf,
// checked against the same limit as the JSON formats.
//
// protobuf's parsers limit message recursion, not JSON levels, and a
// google.protobuf.Struct costs three messages per JSON level, so their limit
// alone cannot say "max_depth JSON levels". session-convert parses with a
// recursion limit generous enough for max_depth levels and then asks this
// check, which counts levels as docs/rest-json.md does and names the path.
#ifndef SESSION_GATEWAY_CLI_JSON_DEPTH_H_
#define SESSION_GATEWAY_CLI_JSON_DEPTH_H_

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace session_gateway {
namespace cli {

// OK if the JSON form of `message` nests no deeper than `max_depth` levels
// (the message itself is level 1; each Struct, ListValue, Struct- or
// list-valued Value and nested message adds one). Otherwise kInvalidArgument
// "<path>: nesting is deeper than the limit of N levels" for the first value
// too deep, with proto field names as keys.
absl::Status CheckJsonDepth(const google::protobuf::Message& message, int max_depth);

// The protobuf recursion limit that admits every message whose JSON form
// nests at most `max_depth` levels: three messages per level (Struct, map
// entry, Value) plus slack, saturating at INT_MAX.
int RecursionLimitFor(int max_depth);

}  // namespace cli
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CLI_JSON_DEPTH_H_
