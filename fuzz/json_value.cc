// Fuzzes JsonToValue / ValueToJson (and JsonToStruct) on arbitrary JSON;
// see CheckJsonValue in fuzz_checks.h.
#include "fuzz/fuzz_target.h"

SESSION_GATEWAY_FUZZ_TARGET(session_gateway::fuzz::CheckJsonValue(input))
