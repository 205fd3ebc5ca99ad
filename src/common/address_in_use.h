// Whether another socket already listens on an address, to say why a
// server could not listen there: gRPC ("cannot listen") and civetweb ("null
// context") do not tell a port in use from other failures.
//
// Usage:
//
//   if (!started && AddressInUse(address)) {
//     return absl::UnavailableError(absl::StrCat("--listen: ", text, " is already in use"));
//   }
#ifndef SESSION_GATEWAY_COMMON_ADDRESS_IN_USE_H_
#define SESSION_GATEWAY_COMMON_ADDRESS_IN_USE_H_

#include "common/host_port.h"

namespace session_gateway {

// Tries to bind `address` the way our servers do (SO_REUSEADDR, no
// SO_REUSEPORT) and reports whether that failed with EADDRINUSE. Port 0,
// an unresolvable host or any other error: false. Racy by nature: only
// for explaining a failure that already happened.
bool AddressInUse(const HostPort& address);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_ADDRESS_IN_USE_H_
