// Loopback TCP plumbing shared by the stub upstream server and the test
// clients: an owning file descriptor, listen/connect on 127.0.0.1, and
// deadline-bounded send and wait.
//
// Everything here is deliberately IPv4 loopback only: the stub and the
// harness must never reach, or be reachable from, another machine.
//
// Usage:
//
//   int port = 0;
//   absl::StatusOr<UniqueFd> listener = ListenLoopback(/*port=*/0, &port);
//   absl::StatusOr<UniqueFd> conn =
//       ConnectLoopback(port, absl::Now() + absl::Seconds(1));
//   absl::Status sent =
//       SendAll(conn->get(), "ping", absl::Now() + absl::Seconds(1));

#ifndef SESSION_GATEWAY_TEST_SUPPORT_SOCKET_UTIL_H_
#define SESSION_GATEWAY_TEST_SUPPORT_SOCKET_UTIL_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace session_gateway {
namespace testing {

// Owns a file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

  // Gives up ownership without closing.
  int release();

  // Closes the current descriptor (if any) and takes `fd`.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Milliseconds left until `deadline`, clamped to what poll() accepts;
// -1 (wait forever) for absl::InfiniteFuture().
int PollTimeoutMs(absl::Time deadline);

// Binds a TCP socket to 127.0.0.1:`port` (0 picks an ephemeral port) and
// listens. Stores the bound port in `*bound_port`. The socket is
// close-on-exec so child processes never inherit it.
absl::StatusOr<UniqueFd> ListenLoopback(int port, int* bound_port);

// Connects to 127.0.0.1:`port` before `deadline`. The returned socket is
// blocking, close-on-exec, and has Nagle's algorithm off so that small
// writes (and the stub's one-byte "drip") go out immediately.
absl::StatusOr<UniqueFd> ConnectLoopback(int port, absl::Time deadline);

// Sets TCP_NODELAY; best effort, since only timing depends on it.
void DisableNagle(int fd);

// Writes all of `data` to socket `fd` before `deadline`, never raising
// SIGPIPE. Errors: kDeadlineExceeded; kAborted if the peer reset the
// connection; kUnavailable for any other socket error (EPIPE included).
absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline);

// Blocks until `fd` is readable (data, EOF or error pending) or `deadline`
// passes (kDeadlineExceeded).
absl::Status WaitReadable(int fd, absl::Time deadline);

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_SOCKET_UTIL_H_
