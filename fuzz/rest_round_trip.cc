// Fuzzes REST -> proto -> REST -> proto for both session messages; see
// CheckRestRoundTrip in fuzz_checks.h.
#include "fuzz/fuzz_target.h"

SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckRestRoundTrip(input))
