// The script language of the stub upstream: what one scripted answer
// ("step") looks like, and how a POST /__stub/script body is validated.
//
// A script is a JSON array of step objects; every field is optional:
//
//   [{"status": 503},
//    {"status": 201, "json": {"type": "payment-service-session"}},
//    {"action": "reset"},
//    {"action": "drip", "body": "{}", "drip_interval_ms": 50},
//    {"action": "huge", "size_bytes": 1048576}]
//
// Unknown fields and actions are rejected, so a typo in a test fails loudly
// instead of silently scripting the default answer. Field reference:
// support/stub_upstream.h.

#ifndef SESSION_GATEWAY_TEST_SUPPORT_STUB_SCRIPT_H_
#define SESSION_GATEWAY_TEST_SUPPORT_STUB_SCRIPT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace session_gateway {
namespace testing {

struct StubStep {
  enum class Action {
    kRespond,           // A well-formed response.
    kReset,             // RST without answering.
    kClose,             // FIN without answering.
    kHang,              // Never answer; wait for the client to give up.
    kHeadersThenStall,  // Head with a Content-Length, then nothing.
    kDrip,              // The whole response, one byte per interval.
    kTruncate,          // Declares a body, sends half of it, closes.
    kHuge,              // A valid JSON body of size_bytes, streamed.
    kRaw,               // `body` verbatim as the entire response, then close.
  };

  Action action = Action::kRespond;
  int status = 201;
  // From "body" or the serialized "json"; unset means the default session
  // body for this request.
  std::optional<std::string> body;
  // Extra response fields, in script order.
  std::vector<std::pair<std::string, std::string>> headers;
  int64_t delay_ms = 0;
  int64_t drip_interval_ms = 1000;
  uint64_t size_bytes = uint64_t{1} << 20;
};

// The "huge" body is HugeBodyPrefix(), size_bytes minus the affixes' length
// of 'x', then HugeBodySuffix(); size_bytes below MinHugeBodyBytes() is
// rejected.
absl::string_view HugeBodyPrefix();
absl::string_view HugeBodySuffix();
uint64_t MinHugeBodyBytes();

// The body answered when a step has neither "body" nor "json";
// `request_number` counts non-control requests since start or reset,
// from 1.
std::string DefaultSessionBody(int64_t request_number);

// Parses and validates a script. kInvalidArgument naming the offending
// step and field.
absl::StatusOr<std::vector<StubStep>> ParseStubScript(absl::string_view json);

// "respond", "reset", ...
absl::string_view ActionName(StubStep::Action action);

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_STUB_SCRIPT_H_
