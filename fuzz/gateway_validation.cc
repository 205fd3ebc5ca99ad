// Fuzzes how the gateway turns request fields into an upstream path and
// headers (Route::Build, Route::ValidateHeaderValue); see
// CheckGatewayValidation in fuzz_checks.h.
#include "fuzz/fuzz_target.h"

SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckGatewayValidation(input))
