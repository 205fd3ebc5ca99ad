// Converts protobuf messages to and from their REST JSON wire form.
//
// The REST form is what the Gr4vy API sends and accepts: snake_case keys,
// lowercase enum strings, integers as JSON numbers and `null` meaning
// "absent". How each field maps is declared in the .proto file with the
// gr4vy.rest.v1 annotations; docs/rest-json.md states the full contract.
//
// Usage:
//
//   gr4vy::sessions::v1::CreateSession session;
//   absl::Status status = session_gateway::convert::RestJsonToMessage(
//       R"({"type":"payment-service-session","status":"succeeded"})",
//       &session);
//   if (!status.ok()) {
//     // status.message() starts with the JSON path of the bad value, for
//     // example "$.status_code: expected an integer, got a string".
//   }
//   absl::StatusOr<std::string> json =
//       session_gateway::convert::MessageToRestJson(session);
//
// Every function here is thread-safe and never throws. Errors are
// absl::StatusCode::kInvalidArgument unless stated otherwise, and their
// message always begins with a JSON path ("$", "$.response_body.items[3]").

#ifndef SESSION_GATEWAY_CONVERT_REST_JSON_H_
#define SESSION_GATEWAY_CONVERT_REST_JSON_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace convert {

// How RestJsonToMessage and JsonToValue read a document.
struct ParseOptions {
  // Lenient (false, the default) reads documents the way the official SDKs
  // read API responses: unknown top-level keys are ignored, the camelCase
  // spelling of a key is accepted as an alias, an unknown value of an open
  // enum (such as CreateSession.status) reads as unspecified, a missing
  // required field is left unset, the last of duplicate keys wins, and
  // integers beyond 2^53 are rounded to the nearest double as JSON.parse
  // does. Strict (true) rejects each of those instead.
  bool strict = false;

  // Deepest nesting of objects and arrays allowed in the whole document,
  // counting the top-level object as 1. Deeper documents are rejected
  // without recursing into them.
  int max_depth = 100;

  // Largest document accepted, in bytes. Larger ones are rejected before
  // any parsing.
  size_t max_input_bytes = size_t{64} << 20;
};

// How MessageToRestJson and ValueToJson write a document.
struct PrintOptions {
  // Two-space indentation with one member or element per line. The compact
  // form (the default) has no whitespace at all.
  bool pretty = false;

  // Deepest nesting of objects and arrays written, counting the top-level
  // object as 1, so that a message built in memory cannot make the printer
  // recurse without bound. The default matches ParseOptions, so whatever
  // parses also prints.
  int max_depth = 100;
};

// Parses a REST JSON document into `message`, which is cleared first.
//
// The message type's fields must have a REST mapping: singular scalars,
// enums whose values carry (gr4vy.rest.v1.enum_value) names, nested
// messages, and google.protobuf.Struct/Value/ListValue for opaque JSON.
// Returns kInvalidArgument naming the JSON path of the first bad value; on
// error `message` holds an unspecified partial result. Returns
// kUnimplemented if the message type has a field with no REST mapping
// (such as a repeated field).
absl::Status RestJsonToMessage(absl::string_view json,
                               google::protobuf::Message* message,
                               const ParseOptions& options = ParseOptions());

// Appends the REST JSON form of `message` to `*output`.
//
// Keys appear in field-number order, unset fields are omitted and
// `constant` fields are always written. Object keys inside Struct fields
// are written in byte-wise sorted order, because a Struct is a map and keeps
// no order of its own. Fails with kInvalidArgument, naming the path, if the
// message holds something JSON cannot express: a NaN or infinite number,
// invalid UTF-8, a Value with no kind set (or a null_value that is not
// NULL_VALUE), an enum value with no REST name,
// a constant field holding another value, or nesting deeper than
// `options.max_depth`. On error `*output` holds an
// unspecified partial result.
absl::Status MessageToRestJson(const google::protobuf::Message& message,
                               std::string* output,
                               const PrintOptions& options = PrintOptions());

// Returns the REST JSON form of `message`; see the overload above.
absl::StatusOr<std::string> MessageToRestJson(
    const google::protobuf::Message& message,
    const PrintOptions& options = PrintOptions());

// Parses any single JSON value (object, array, string, number, boolean or
// null) into `value`, with the same rules as the inside of a Struct field:
// duplicate keys and integers beyond 2^53 follow `options.strict`.
absl::Status JsonToValue(absl::string_view json,
                         google::protobuf::Value* value,
                         const ParseOptions& options = ParseOptions());

// Parses a JSON object into `value`; anything but an object is an error.
absl::Status JsonToStruct(absl::string_view json,
                          google::protobuf::Struct* value,
                          const ParseOptions& options = ParseOptions());

// Appends the JSON form of `value` to `*output`, as a Struct field's
// contents are printed inside MessageToRestJson.
absl::Status ValueToJson(const google::protobuf::Value& value,
                         std::string* output,
                         const PrintOptions& options = PrintOptions());

// Appends the JSON object form of `value` to `*output`.
absl::Status StructToJson(const google::protobuf::Struct& value,
                          std::string* output,
                          const PrintOptions& options = PrintOptions());

}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_REST_JSON_H_
