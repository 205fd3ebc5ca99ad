// A "host:port" listening address, checked before anything tries to bind
// it: gRPC and cpp-httplib both accept a port above 65535 and silently
// listen somewhere else (gRPC: on a random port).
//
// Usage:
//
//   absl::StatusOr<HostPort> address = ParseHostPort("127.0.0.1:50051");
//   if (!address.ok()) UsageError(absl::StrCat("--listen: ", address.status().message()));
#ifndef SESSION_GATEWAY_COMMON_HOST_PORT_H_
#define SESSION_GATEWAY_COMMON_HOST_PORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace session_gateway {

struct HostPort {
  // A name or an address; an IPv6 address without its brackets.
  std::string host;
  // 0 to 65535; 0 asks for any free port.
  int port = 0;
};

// Parses "host:port" or "[ipv6]:port". The port is decimal digits only.
// kInvalidArgument, with the address quoted, for anything else.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view address);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_HOST_PORT_H_
