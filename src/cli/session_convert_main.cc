// session-convert: converts one session message between the REST JSON form,
// proto3 JSON, text format and binary protobuf, from stdin to stdout.
// Exit codes: 0 success, 1 invalid input, 2 usage error.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>

#include "absl/flags/flag.h"
#include "cli/convert_command.h"
#include "common/command_line.h"
#include "google/protobuf/stubs/logging.h"

ABSL_FLAG(std::string, message, "", "Message type: CreateSession or PaymentServiceSession.");
ABSL_FLAG(std::string, from, "rest", "Input format: rest, protojson, text or binary.");
ABSL_FLAG(std::string, to, "rest", "Output format: rest, protojson, text or binary.");
ABSL_FLAG(bool, strict, false,
          "Strict parsing: reject unknown keys, aliases, duplicate keys, unknown statuses, a "
          "missing required status and integers beyond 2^53 (rest); unknown fields (protojson).");
ABSL_FLAG(bool, pretty, false, "Indent JSON output.");
ABSL_FLAG(int, max_depth, 100,
          "Deepest nesting of JSON objects and arrays read or written, in JSON levels (the "
          "top-level object is 1), whatever the input and output formats.");
ABSL_FLAG(int64_t, max_input_bytes, int64_t{64} << 20, "Largest input accepted, in bytes.");

namespace {

// protobuf logs some failures to stderr before it reports them through a
// return value: invalid UTF-8 in a string field of a binary message, for
// example. session-convert reports every failure as its one "error:" line,
// so those lines are dropped; only a fatal message (protobuf aborts after
// it) still reaches stderr, since it is all the user would have.
void KeepOnlyFatalProtobufLogs(google::protobuf::LogLevel level, const char* filename, int line,
                               const std::string& message) {
  if (level != google::protobuf::LOGLEVEL_FATAL) return;
  std::fprintf(stderr, "session-convert: protobuf fatal error at %s:%d: %s\n", filename, line,
               message.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  google::protobuf::SetLogHandler(&KeepOnlyFatalProtobufLogs);
  using session_gateway::cli::ConvertRequest;
  session_gateway::CommandLine spec;
  spec.program = "session-convert";
  spec.summary =
      "Usage: session-convert --message=CreateSession|PaymentServiceSession --from=FORMAT "
      "--to=FORMAT [--strict] [--pretty] < input > output\n\n"
      "Converts one message from stdin to stdout. FORMAT is rest (the REST JSON wire form), "
      "protojson (canonical proto3 JSON, as grpcurl shows it), text (protobuf text format) or "
      "binary (serialized protobuf).\nExit status: 0 on success, 1 on invalid input (one line "
      "\"error: <path>: <reason>\" on stderr), 2 on a usage error.";
  spec.flags = {{"message", ""}, {"from", ""},      {"to", ""},
                {"strict", ""},  {"pretty", ""},    {"max_depth", ""},
                {"max_input_bytes", ""}};
  session_gateway::ParseCommandLineOrExit(argc, argv, spec);

  auto usage_error = [](const std::string& message) {
    std::fprintf(stderr, "session-convert: %s\n", message.c_str());
    return 2;
  };
  ConvertRequest request;
  request.message = absl::GetFlag(FLAGS_message);
  if (request.message != "CreateSession" && request.message != "PaymentServiceSession") {
    return usage_error("--message must be CreateSession or PaymentServiceSession");
  }
  auto from = session_gateway::cli::ParseFormat(absl::GetFlag(FLAGS_from));
  if (!from.ok()) return usage_error(std::string("--from: ") + std::string(from.status().message()));
  auto to = session_gateway::cli::ParseFormat(absl::GetFlag(FLAGS_to));
  if (!to.ok()) return usage_error(std::string("--to: ") + std::string(to.status().message()));
  if (absl::GetFlag(FLAGS_max_depth) < 1) return usage_error("--max_depth must be at least 1");
  if (absl::GetFlag(FLAGS_max_input_bytes) < 0) {
    return usage_error("--max_input_bytes must not be negative");
  }
  request.from = *from;
  request.to = *to;
  request.strict = absl::GetFlag(FLAGS_strict);
  request.pretty = absl::GetFlag(FLAGS_pretty);
  request.limits.max_depth = absl::GetFlag(FLAGS_max_depth);
  request.limits.max_input_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_max_input_bytes));

  // Read one byte past the limit so an oversized input is reported as such
  // without buffering all of it.
  std::string input;
  const size_t cap = request.limits.max_input_bytes + 1;
  char buffer[1 << 16];
  size_t got;
  while (input.size() < cap && (got = std::fread(buffer, 1, sizeof(buffer), stdin)) > 0) {
    input.append(buffer, got);
  }
  if (input.size() > cap) input.resize(cap);

  absl::StatusOr<std::string> output = session_gateway::cli::Convert(request, input);
  if (!output.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(output.status().message()).c_str());
    return 1;
  }
  std::fwrite(output->data(), 1, output->size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 1;
}
