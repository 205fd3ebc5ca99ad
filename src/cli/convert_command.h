// The conversion behind `session-convert`: reads one message in one format
// and writes it in another. Kept apart from main() so tests and fuzzers can
// drive it without a process.
//
// Usage:
//
//   ConvertRequest request;
//   request.message = "CreateSession";
//   request.from = Format::kRest;
//   request.to = Format::kProtoJson;
//   absl::StatusOr<std::string> out = Convert(request, stdin_bytes);
#ifndef SESSION_GATEWAY_CLI_CONVERT_COMMAND_H_
#define SESSION_GATEWAY_CLI_CONVERT_COMMAND_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "convert/rest_json.h"

namespace session_gateway {
namespace cli {

enum class Format {
  kRest,       // The REST JSON wire form (docs/rest-json.md).
  kProtoJson,  // Canonical proto3 JSON, as grpcurl shows messages.
  kText,       // Protobuf text format.
  kBinary,     // Serialized protobuf.
};

// Parses "rest", "protojson", "text" or "binary".
absl::StatusOr<Format> ParseFormat(absl::string_view name);

struct ConvertRequest {
  std::string message;  // "CreateSession" or "PaymentServiceSession".
  Format from = Format::kRest;
  Format to = Format::kRest;
  bool strict = false;  // Strict REST parsing; protojson rejects unknown fields.
  bool pretty = false;  // Indented JSON output (rest and protojson).
  // Depth (in JSON levels) and size limits, for reading and writing every
  // format.
  convert::ParseOptions limits;
};

// Converts `input`. kInvalidArgument for a usage problem (unknown message)
// or bad input; the message reads "<path>: <reason>", where the path is a
// JSON path for JSON input and "$" for the other formats. The output ends
// with a newline for the text formats and has none for binary.
absl::StatusOr<std::string> Convert(const ConvertRequest& request, absl::string_view input);

}  // namespace cli
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CLI_CONVERT_COMMAND_H_
