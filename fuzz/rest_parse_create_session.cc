// Fuzzes RestJsonToMessage into CreateSession in strict and lenient mode
// and at several depth limits; see CheckRestParse in fuzz_checks.h.
#include "fuzz/fuzz_target.h"

SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckRestParse(
    session_gateway::fuzz::SessionType::kCreateSession, input))
