// Command-line parsing for our binaries on top of abseil flags, with the
// behaviour our users script against:
//   * every flag is `--name=value`, `--name value`, `--bool`/`--nobool`;
//   * each flag may also come from an environment variable (the command
//     line wins), listed in --help;
//   * --help lists every flag with its default and its variable; --version
//     prints the version; both exit 0;
//   * an unknown flag, a bad value or a stray argument prints a one-line
//     message naming the flag and exits 2 (absl's own parser exits 1).
//
// Usage:
//
//   ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "Address to serve on");
//   int main(int argc, char** argv) {
//     session_gateway::CommandLine spec;
//     spec.program = "session-gateway";
//     spec.summary = "Serves the REST session API over gRPC.";
//     spec.flags = {{"listen", "SESSION_GATEWAY_LISTEN"}};
//     session_gateway::ParseCommandLineOrExit(argc, argv, spec);
//     ...
//   }
#ifndef SESSION_GATEWAY_COMMON_COMMAND_LINE_H_
#define SESSION_GATEWAY_COMMON_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace session_gateway {

// The version every binary reports, from CMake's project() version.
const char* ProjectVersion();

struct CommandLineFlagSpec {
  std::string name;     // The absl flag's name.
  std::string env_var;  // An environment variable that may set it, or empty.
};

struct CommandLine {
  std::string program;  // Shown in --help and --version.
  std::string summary;  // One paragraph shown at the top of --help.
  // The flags this binary accepts, in --help order. Flags registered by
  // libraries but not listed here are rejected as unknown.
  std::vector<CommandLineFlagSpec> flags;
};

// Sets the listed flags from the environment, then from argv. Returns
// kInvalidArgument with a message naming the flag on a usage error, and
// kCancelled after printing --help or --version (the caller exits 0).
absl::Status ParseCommandLine(int argc, char** argv, const CommandLine& spec);

// ParseCommandLine, exiting the process: 0 after --help/--version, 2 with
// "<program>: <message>" on stderr after a usage error.
void ParseCommandLineOrExit(int argc, char** argv, const CommandLine& spec);

// The --help text: summary, then each flag with its help, default and
// environment variable.
std::string HelpText(const CommandLine& spec);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_COMMAND_LINE_H_
