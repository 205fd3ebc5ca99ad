// Fuzzes session-convert's conversion from protojson, text and binary
// input to REST JSON; see CheckCliConvert in fuzz_checks.h.
#include "fuzz/fuzz_target.h"

SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckCliConvert(input))
