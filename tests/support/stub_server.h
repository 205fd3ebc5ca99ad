// The HTTP server inside the stub_upstream binary: a scripted stand-in for
// the Gr4vy REST API. Its protocol (control endpoints, script steps,
// recorded requests) is documented in support/stub_upstream.h, next to the
// harness class tests use to drive it.
//
// One thread per connection keeps misbehaviour precise: a step can stall,
// drip or reset exactly one connection while the others carry on. The
// server never stops by itself; the process ends with _exit(), which is
// what lets hanging connections die with it.
//
// Usage (see stub_upstream_main.cc):
//
//   StubServer server(StubServerOptions{});
//   absl::Status status = server.Listen(/*port=*/0);
//   std::thread([&server] { server.AcceptLoop(); }).detach();
//   printf("listening on 127.0.0.1:%d\n", server.port());

#ifndef SESSION_GATEWAY_TEST_SUPPORT_STUB_SERVER_H_
#define SESSION_GATEWAY_TEST_SUPPORT_STUB_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "support/http_message.h"
#include "support/socket_util.h"
#include "support/stub_script.h"

namespace session_gateway {
namespace testing {

struct StubServerOptions {
  // One stderr line per request answered, for debugging a test.
  bool log_requests = false;

  // Memory bounds. Beyond max_connections new connections are closed at
  // once; the oldest records are dropped past max_records or
  // max_recorded_body_bytes (and counted in the stats).
  int max_connections = 256;
  size_t max_records = 1000;
  size_t max_recorded_body_bytes = size_t{64} << 20;
  size_t max_request_body_bytes = size_t{16} << 20;
  size_t max_queued_steps = 10000;
};

class StubServer {
 public:
  explicit StubServer(const StubServerOptions& options);

  // Connection threads hold a pointer to the server, so it must outlive
  // them: in practice, it is never destroyed before the process exits.
  StubServer(const StubServer&) = delete;
  StubServer& operator=(const StubServer&) = delete;

  // Binds and listens on 127.0.0.1:`port` (0 for an ephemeral port).
  absl::Status Listen(int port);

  // The bound port, once Listen() succeeded.
  int port() const { return port_; }

  // Accepts connections until the listener is shut down, serving each on
  // a detached thread. Call once, after Listen().
  void AcceptLoop();

  // Stops accepting new connections; established ones are unaffected.
  void ShutdownListener();

 private:
  // Per-connection state, owned by the connection's thread.
  struct Connection {
    UniqueFd fd;
    std::string input;  // Received, not yet parsed.
    // Assigned when the first non-control request arrives, so the ids
    // tests see (1, 2, ...) count only the gateway's connections.
    int64_t id = 0;
    uint64_t counted_generation = 0;
  };

  struct Request {
    HttpHead head;
    std::string body;
  };

  struct Record {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int64_t connection = 0;
  };

  enum class ReadResult { kRequest, kClosed, kAnswered };

  void ServeConnection(Connection* connection);

  // Reads one full request; kAnswered means a protocol error was already
  // answered (400, 413, 431) and the connection must close.
  ReadResult ReadRequest(Connection* connection, Request* request);

  // Both return whether the connection stays open.
  bool HandleControl(Connection* connection, const Request& request);
  bool HandleScripted(Connection* connection, const Request& request);

  // Executes `step`; returns whether the connection stays open.
  bool Perform(Connection* connection, const Request& request,
               const StubStep& step, int64_t request_number);

  // Keeps the connection open, discarding input, until the peer closes.
  void HoldUntilPeerCloses(Connection* connection);

  std::string RequestsJson();
  std::string StatsJson();

  void RecordLocked(Record record) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StubServerOptions options_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<int> live_connections_{0};

  absl::Mutex mu_;
  std::deque<StubStep> queue_ ABSL_GUARDED_BY(mu_);
  std::deque<Record> records_ ABSL_GUARDED_BY(mu_);
  size_t recorded_body_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t dropped_records_ ABSL_GUARDED_BY(mu_) = 0;
  // Counters since start or the last reset.
  int64_t requests_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t connections_ ABSL_GUARDED_BY(mu_) = 0;
  // Bumped by reset, so a kept-alive connection is counted again when it
  // carries a request after the reset.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 1;
  // Never reset, so ids stay unique across resets.
  int64_t next_connection_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Open connections that carried a non-control request.
  int64_t open_connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_STUB_SERVER_H_
