#include "common/command_line.h"

#include <cstdio>
#include <cstdlib>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

#ifndef SESSION_GATEWAY_VERSION
#define SESSION_GATEWAY_VERSION "0.0.0-dev"
#endif

namespace session_gateway {
namespace {

const CommandLineFlagSpec* FindSpec(const CommandLine& spec, absl::string_view name) {
  for (const CommandLineFlagSpec& flag : spec.flags) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::Status SetFlag(absl::string_view name, absl::string_view value, absl::string_view source) {
  absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  if (flag == nullptr) return absl::InternalError(absl::StrCat("flag --", name, " is not defined"));
  std::string error;
  if (!flag->ParseFrom(value, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", value, "\" for --", name,
                                                   source, ": ", error));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ProjectVersion() { return SESSION_GATEWAY_VERSION; }

std::string HelpText(const CommandLine& spec) {
  std::string text = absl::StrCat(spec.summary, "\n\nFlags:\n");
  for (const CommandLineFlagSpec& entry : spec.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(entry.name);
    if (flag == nullptr) continue;
    std::string default_value = flag->DefaultValue();
    absl::StrAppend(&text, "  --", entry.name, "\n      ", flag->Help(), "\n      default: ",
                    default_value.empty() ? "\"\"" : default_value);
    if (!entry.env_var.empty()) absl::StrAppend(&text, "; environment: ", entry.env_var);
    absl::StrAppend(&text, "\n");
  }
  absl::StrAppend(&text, "  --help\n      Print this help and exit.\n",
                  "  --version\n      Print the version and exit.\n");
  return text;
}

absl::Status ParseCommandLine(int argc, char** argv, const CommandLine& spec) {
  for (const CommandLineFlagSpec& entry : spec.flags) {
    if (entry.env_var.empty()) continue;
    if (const char* value = std::getenv(entry.env_var.c_str()); value != nullptr) {
      absl::Status s = SetFlag(entry.name, value, absl::StrCat(" (from ", entry.env_var, ")"));
      if (!s.ok()) return s;
    }
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h" || arg == "--helpfull") {
      std::fputs(HelpText(spec).c_str(), stdout);
      return absl::CancelledError("help");
    }
    if (arg == "--version") {
      std::printf("%s %s\n", spec.program.c_str(), ProjectVersion());
      return absl::CancelledError("version");
    }
    if (!absl::StartsWith(arg, "-") || arg == "-" || arg == "--") {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(absl::StartsWith(arg, "--") ? 2 : 1);
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    const CommandLineFlagSpec* entry = FindSpec(spec, name);
    absl::CommandLineFlag* flag = entry ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      // --noverbose sets a boolean flag to false.
      absl::string_view positive = name.substr(2);
      const CommandLineFlagSpec* negated = FindSpec(spec, positive);
      absl::CommandLineFlag* bool_flag = negated ? absl::FindCommandLineFlag(positive) : nullptr;
      if (bool_flag != nullptr && bool_flag->IsOfType<bool>()) {
        absl::Status s = SetFlag(positive, "false", "");
        if (!s.ok()) return s;
        continue;
      }
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("flag --", name, " needs a value"));
      }
    }
    absl::Status s = SetFlag(name, value, "");
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

void ParseCommandLineOrExit(int argc, char** argv, const CommandLine& spec) {
  absl::Status status = ParseCommandLine(argc, argv, spec);
  if (status.ok()) return;
  if (absl::IsCancelled(status)) std::exit(0);
  std::fprintf(stderr, "%s: %s\n", spec.program.c_str(), std::string(status.message()).c_str());
  std::exit(2);
}

}  // namespace session_gateway
