// The libFuzzer entry point shared by every target: run one check from
// fuzz_checks.h and abort() when a property fails, so that libFuzzer stops
// and writes the input to a crash-<sha1> file.
//
// Usage, in a target's .cc file:
//
//   #include "fuzz/fuzz_target.h"
//   SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckJsonValue(input))
#ifndef SESSION_GATEWAY_FUZZ_FUZZ_TARGET_H_
#define SESSION_GATEWAY_FUZZ_FUZZ_TARGET_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_checks.h"

namespace session_gateway {
namespace fuzz {

// Reports a violated property on stderr (libFuzzer prints the input's
// path right after) and aborts.
inline void AbortOnViolation(const absl::Status& status) {
  if (status.ok()) return;
  std::fprintf(stderr, "\n==== fuzz check failed: %s\n", status.ToString().c_str());
  std::abort();
}

}  // namespace fuzz
}  // namespace session_gateway

// Defines LLVMFuzzerInitialize and LLVMFuzzerTestOneInput; `check` is an
// expression of type absl::Status that may use `input`, the fuzzer's bytes
// as an absl::string_view.
#define SESSION_GATEWAY_FUZZ_TARGET(check)                                            \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                                \
    session_gateway::fuzz::QuietLibraries();                                          \
    return 0;                                                                         \
  }                                                                                   \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {           \
    const absl::string_view input(reinterpret_cast<const char*>(data), size);          \
    session_gateway::fuzz::AbortOnViolation(check);                                   \
    return 0;                                                                         \
  }

#endif  // SESSION_GATEWAY_FUZZ_FUZZ_TARGET_H_
