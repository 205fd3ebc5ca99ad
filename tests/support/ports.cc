#include "support/ports.h"

#include "support/socket_util.h"

namespace session_gateway {
namespace testing {

int PickUnusedPort() {
  int port = -1;
  // The listener is closed before returning. It never accepted a
  // connection, so nothing lingers in TIME_WAIT and the port can be bound
  // again at once.
  absl::StatusOr<UniqueFd> listener = ListenLoopback(0, &port);
  if (!listener.ok()) return -1;
  return port;
}

}  // namespace testing
}  // namespace session_gateway
