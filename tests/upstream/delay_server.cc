#include "delay_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <unordered_map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

namespace session_gateway {
namespace upstream {
namespace {

constexpr absl::string_view kResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    "\r\nok";

// Bytes of the first complete request at the start of `in`, or 0 if it has
// not all arrived yet.
size_t CompleteRequestLength(absl::string_view in) {
  const size_t end = in.find("\r\n\r\n");
  if (end == absl::string_view::npos) return 0;
  const std::string head = absl::AsciiStrToLower(in.substr(0, end));
  size_t body = 0;
  const size_t at = head.find("\ncontent-length:");
  if (at != std::string::npos) {
    absl::string_view value(head);
    value.remove_prefix(at + 16);
    value = value.substr(0, value.find('\r'));
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &body)) body = 0;
  }
  const size_t total = end + 4 + body;
  return in.size() >= total ? total : 0;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DelayServer>> DelayServer::Create(
    absl::Duration delay) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError("socket failed");
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  sockaddr* generic = reinterpret_cast<sockaddr*>(&address);
  if (bind(fd, generic, sizeof(address)) != 0 || listen(fd, SOMAXCONN) != 0 ||
      getsockname(fd, generic, &length) != 0) {
    close(fd);
    return absl::InternalError(absl::StrCat("bind/listen failed: errno ", errno));
  }
  const int stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd < 0) {
    close(fd);
    return absl::InternalError("eventfd failed");
  }
  return std::unique_ptr<DelayServer>(
      new DelayServer(delay, fd, stop_fd, ntohs(address.sin_port)));
}

DelayServer::DelayServer(absl::Duration delay, int listen_fd, int stop_fd,
                         int port)
    : delay_(delay), listen_fd_(listen_fd), stop_fd_(stop_fd), port_(port) {}

DelayServer::~DelayServer() {
  close(listen_fd_);
  close(stop_fd_);
}

void DelayServer::Stop() {
  const uint64_t one = 1;
  // Nothing to do if it fails: the counter is already non-zero.
  [[maybe_unused]] ssize_t n = write(stop_fd_, &one, sizeof(one));
}

void DelayServer::Serve() {
  const int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return;
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listen_fd_;
  epoll_ctl(epoll, EPOLL_CTL_ADD, listen_fd_, &event);
  event.data.fd = stop_fd_;
  epoll_ctl(epoll, EPOLL_CTL_ADD, stop_fd_, &event);

  struct Connection {
    std::string in;
    uint64_t generation = 0;  // Tells a reused fd number from its old self.
  };
  struct Due {
    absl::Time when;
    int fd;
    uint64_t generation;
  };
  std::unordered_map<int, Connection> connections;
  // The delay is fixed, so answers fall due in the order requests came.
  std::deque<Due> due;
  uint64_t next_generation = 1;
  const auto close_connection = [&](int fd) {
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    connections.erase(fd);
  };

  epoll_event events[256];
  for (;;) {
    int timeout_ms = -1;
    if (!due.empty()) {
      const absl::Duration wait = due.front().when - absl::Now();
      timeout_ms = wait <= absl::ZeroDuration()
                       ? 0
                       : static_cast<int>(absl::ToInt64Milliseconds(
                             absl::Ceil(wait, absl::Milliseconds(1))));
    }
    const int n = epoll_wait(epoll, events, 256, timeout_ms);
    if (n < 0 && errno != EINTR) break;
    bool stop = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_fd_) {
        stop = true;
      } else if (fd == listen_fd_) {
        for (;;) {
          const int client =
              accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;
          int yes = 1;
          setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
          epoll_event client_event{};
          client_event.events = EPOLLIN;
          client_event.data.fd = client;
          epoll_ctl(epoll, EPOLL_CTL_ADD, client, &client_event);
          connections[client].generation = next_generation++;
          const int open = static_cast<int>(connections.size());
          if (open > max_connections_.load()) max_connections_.store(open);
        }
      } else {
        Connection& connection = connections[fd];
        char buffer[16384];
        bool closed = false;
        for (;;) {
          const ssize_t got = read(fd, buffer, sizeof(buffer));
          if (got > 0) {
            connection.in.append(buffer, static_cast<size_t>(got));
            continue;
          }
          closed = got == 0 || (errno != EAGAIN && errno != EINTR);
          break;
        }
        while (size_t length = CompleteRequestLength(connection.in)) {
          connection.in.erase(0, length);
          due.push_back({absl::Now() + delay_, fd, connection.generation});
        }
        if (closed) close_connection(fd);
      }
    }
    if (stop) break;
    const absl::Time now = absl::Now();
    while (!due.empty() && due.front().when <= now) {
      const Due answer = due.front();
      due.pop_front();
      auto it = connections.find(answer.fd);
      if (it == connections.end() || it->second.generation != answer.generation) {
        continue;  // The client went away.
      }
      // A fresh keep-alive socket has room for a few dozen bytes; a short
      // write means the client stopped reading, and it is dropped.
      if (write(answer.fd, kResponse.data(), kResponse.size()) !=
          static_cast<ssize_t>(kResponse.size())) {
        close_connection(answer.fd);
        continue;
      }
      answered_.fetch_add(1);
    }
  }
  for (const auto& [fd, connection] : connections) close(fd);
  close(epoll);
}

}  // namespace upstream
}  // namespace session_gateway
