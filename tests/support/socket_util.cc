#include "support/socket_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace testing {
namespace {

sockaddr_in LoopbackAddress(int port) {
  sockaddr_in addr;
  std::memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

absl::Status ErrnoStatus(absl::string_view what, int err) {
  std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ECONNRESET) return absl::AbortedError(message);
  return absl::UnavailableError(message);
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the descriptor is released
  // either way, and retrying could close a descriptor another thread just
  // opened.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

int PollTimeoutMs(absl::Time deadline) {
  if (deadline == absl::InfiniteFuture()) return -1;
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  // Round up so that a poll() that times out has really reached the
  // deadline; otherwise callers would spin on a zero timeout.
  int64_t ms = absl::ToInt64Milliseconds(left + absl::Milliseconds(1) -
                                         absl::Nanoseconds(1));
  return static_cast<int>(
      std::min<int64_t>(ms, std::numeric_limits<int>::max()));
}

absl::StatusOr<UniqueFd> ListenLoopback(int port, int* bound_port) {
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port ", port));
  }
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus("socket", errno);
  // Lets a test restart a stub on the port it had a moment ago, while the
  // old connections sit in TIME_WAIT.
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = LoopbackAddress(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return ErrnoStatus(absl::StrCat("bind 127.0.0.1:", port), errno);
  }
  if (::listen(fd.get(), 128) != 0) return ErrnoStatus("listen", errno);
  socklen_t len = sizeof(addr);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoStatus("getsockname", errno);
  }
  *bound_port = ntohs(addr.sin_port);
  return fd;
}

void DisableNagle(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

absl::StatusOr<UniqueFd> ConnectLoopback(int port, absl::Time deadline) {
  if (port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port ", port));
  }
  // Non-blocking only while connecting, so the deadline bounds the
  // handshake; afterwards every read and write is gated by poll().
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoStatus("socket", errno);
  DisableNagle(fd.get());
  sockaddr_in addr = LoopbackAddress(port);
  std::string where = absl::StrCat("connect 127.0.0.1:", port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) !=
      0) {
    if (errno != EINPROGRESS) return ErrnoStatus(where, errno);
    for (;;) {
      pollfd p = {fd.get(), POLLOUT, 0};
      int n = ::poll(&p, 1, PollTimeoutMs(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("poll", errno);
      if (n == 0) {
        return absl::DeadlineExceededError(absl::StrCat(where, ": timed out"));
      }
      break;
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return ErrnoStatus(where, err);
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline) {
  while (!data.empty()) {
    // MSG_DONTWAIT after poll() keeps a full send buffer from blocking past
    // the deadline even on a blocking socket.
    ssize_t n =
        ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return ErrnoStatus("send", errno);
    }
    pollfd p = {fd, POLLOUT, 0};
    int ready = ::poll(&p, 1, PollTimeoutMs(deadline));
    if (ready < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
    if (ready == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("send timed out with ", data.size(), " bytes unsent"));
    }
  }
  return absl::OkStatus();
}

absl::Status WaitReadable(int fd, absl::Time deadline) {
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    int n = ::poll(&p, 1, PollTimeoutMs(deadline));
    if (n > 0) return absl::OkStatus();
    if (n == 0) return absl::DeadlineExceededError("timed out waiting to read");
    if (errno != EINTR) return ErrnoStatus("poll", errno);
  }
}

}  // namespace testing
}  // namespace session_gateway
