// DelayServer: a minimal HTTP/1.1 server on 127.0.0.1 that answers every
// request with "200 ok" after a fixed delay, for load tests and benchmarks
// of the upstream HTTP client.
//
// One thread and epoll serve any number of keep-alive connections, so
// 2,000 requests held for 500 ms each cost 2,000 sockets, not 2,000
// threads (cpp-httplib and the sandbox tie a thread to each connection).
// It understands just enough HTTP for CurlHttpClient's requests: a request
// line, headers, and a body of Content-Length bytes; no chunked uploads, no
// pipelining guarantees beyond answering in order.
//
// Usage:
//
//   absl::StatusOr<std::unique_ptr<DelayServer>> server =
//       DelayServer::Create(absl::Milliseconds(500));
//   ASSERT_TRUE(server.ok()) << server.status();
//   std::thread serving([&] { (*server)->Serve(); });
//   ... requests to http://127.0.0.1:<(*server)->port()>/ ...
//   (*server)->Stop();
//   serving.join();
//
// Serve() may also run in a forked child process (the client benchmark
// does this so that the server's CPU time is not counted as the client's).

#ifndef SESSION_GATEWAY_TESTS_UPSTREAM_DELAY_SERVER_H_
#define SESSION_GATEWAY_TESTS_UPSTREAM_DELAY_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace session_gateway {
namespace upstream {

class DelayServer {
 public:
  // Listens on an ephemeral 127.0.0.1 port with a SOMAXCONN backlog.
  static absl::StatusOr<std::unique_ptr<DelayServer>> Create(
      absl::Duration delay);

  DelayServer(const DelayServer&) = delete;
  DelayServer& operator=(const DelayServer&) = delete;
  ~DelayServer();

  int port() const { return port_; }

  // Serves until Stop(); call from one thread only.
  void Serve();

  // Makes Serve() return soon. Thread-safe and async-signal-safe.
  void Stop();

  // Requests answered so far.
  uint64_t answered() const { return answered_.load(); }

  // Most connections open at once so far.
  int max_connections() const { return max_connections_.load(); }

 private:
  DelayServer(absl::Duration delay, int listen_fd, int stop_fd, int port);

  const absl::Duration delay_;
  const int listen_fd_;
  const int stop_fd_;  // An eventfd; Stop() writes to it.
  const int port_;
  std::atomic<uint64_t> answered_{0};
  std::atomic<int> max_connections_{0};
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TESTS_UPSTREAM_DELAY_SERVER_H_
