// StubUpstream runs the stub_upstream binary, a scripted stand-in for the
// Gr4vy REST API, as a separate process on 127.0.0.1, and drives it over
// its HTTP control endpoints. Integration tests point the real gateway
// binary at base_url(), script how the "REST API" answers, then check what
// it received.
//
// A separate process rather than an in-process server: the gateway under
// test is itself a separate process, and the stub must be able to misbehave
// (reset, stall, drip) on real sockets without sharing the test's threads.
//
// Usage:
//
//   absl::StatusOr<std::unique_ptr<StubUpstream>> stub = StubUpstream::Start();
//   ASSERT_TRUE(stub.ok()) << stub.status();
//   ASSERT_TRUE((*stub)->Script(R"([
//       {"status": 503, "json": {"type": "error", "code": "busy"}},
//       {"action": "reset"}
//   ])").ok());
//   // ... start the gateway with --upstream_url=(*stub)->base_url(), call
//   // it; the third upstream request gets the default 201 answer ...
//   absl::StatusOr<std::vector<RecordedRequest>> seen =
//       (*stub)->WaitForRequests(3, absl::Seconds(5));
//   ASSERT_TRUE(seen.ok()) << seen.status();
//   EXPECT_EQ((*seen)[0].method, "POST");
//   EXPECT_FALSE((*seen)[0].Header("Authorization").empty());
//   EXPECT_EQ((*seen)[0].connection, (*seen)[2].connection);  // Reused.
//
// The stub's protocol
// -------------------
// Command line: stub_upstream [--port=0] [--max_lifetime=300s]
// [--log_requests] [--max_records=1000]. It prints one line,
// "listening on 127.0.0.1:PORT", when ready; exits 0 on SIGTERM/SIGINT and
// after --max_lifetime; exits 2 if it cannot listen.
//
// It speaks HTTP/1.1 with keep-alive (HTTP/1.0 clients get it on request),
// reads Content-Length and chunked request bodies, answers
// "Expect: 100-continue", and serves every connection on its own thread.
//
// Control endpoints (never recorded, never consume a step):
//   POST /__stub/script    Body: a JSON array of steps, appended to a FIFO
//                          queue. 200 {"queued": N} (N = queue length), or
//                          400 {"error": "..."} naming a bad field; nothing
//                          is queued then.
//   GET  /__stub/requests  200, a JSON array of the recorded requests in
//                          arrival order: {"method", "path" (raw target,
//                          query included), "headers" {lowercased name:
//                          value; repeats joined with ", "}, "body"
//                          (decoded, as a string), "connection" (id of the
//                          TCP connection, 1, 2, ... in order of first
//                          request)}.
//   POST /__stub/reset     Clears the queue, the records and the counters.
//   GET  /__stub/stats     {"connections": distinct connections that
//                          carried requests, "requests": requests received
//                          (both since start/reset), "open_connections":
//                          those connections still open now,
//                          "pending_steps": queue length,
//                          "dropped_records": records discarded to bound
//                          memory (the last --max_records, at most 64 MiB
//                          of bodies, are kept)}.
//
// Every other request is recorded, then consumes the next step, or the
// default step when the queue is empty: status 201 with body
//   {"type":"payment-service-session","status":"succeeded",
//    "status_code":201,"response_body":{"sessionId":"stub-N"}}
// where N counts requests since start or reset, from 1.
//
// Step fields, all optional (unknown fields are rejected):
//   "status"      int, default 201.
//   "body"        string, sent verbatim.
//   "json"        any JSON value, sent serialized; exclusive with "body".
//                 With neither, the default body above is sent.
//   "headers"     object of extra response fields. Content-Type defaults
//                 to application/json and Content-Length is computed,
//                 unless set here (then they are sent as given, even if
//                 wrong). "Connection": "close" closes after the answer.
//   "delay_ms"    sleep this long before acting.
//   "action"      what to do, default "respond":
//     "respond"             a normal response.
//     "reset"               close with RST (SO_LINGER 0), no answer.
//     "close"               close normally (FIN), no answer.
//     "hang"                never answer; the connection stays open until
//                           the client closes it or the stub exits.
//     "headers_then_stall"  status line and fields (with Content-Length),
//                           then silence as with "hang".
//     "drip"                the whole response, one byte every
//                           "drip_interval_ms" (default 1000).
//     "truncate"            fields declaring the full body, then only its
//                           first half, then close.
//     "huge"                status (default 201) with a body of exactly
//                           "size_bytes" (default 1 MiB, at least 82)
//                           bytes, streamed: {"type":"payment-service-
//                           session","status":"succeeded","response_body":
//                           {"pad":"xxx..."}}.
//     "raw"                 "body" (required) verbatim as the entire
//                           response, status line included; then close.
//
// Thread safety: a StubUpstream may be used from several threads at once
// (each control call opens its own connection), except for process().

#ifndef SESSION_GATEWAY_TEST_SUPPORT_STUB_UPSTREAM_H_
#define SESSION_GATEWAY_TEST_SUPPORT_STUB_UPSTREAM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "support/child_process.h"

namespace session_gateway {
namespace testing {

// One request the stub received.
struct RecordedRequest {
  std::string method;
  std::string path;  // Raw request target, query included.
  // Lowercased names; repeated fields joined with ", ".
  std::map<std::string, std::string> headers;
  std::string body;
  // Equal for requests that arrived on the same TCP connection.
  int64_t connection = 0;

  // The field's value, or "" if absent; `name` in any case.
  std::string Header(absl::string_view name) const;

  // "POST /payment-service-sessions (connection 1, 57 body bytes)", for
  // assertion messages.
  std::string DebugString() const;
};

// See the stub's protocol above.
struct StubStats {
  int64_t connections = 0;
  int64_t requests = 0;
  int64_t open_connections = 0;
  int64_t pending_steps = 0;
  int64_t dropped_records = 0;
};

struct StubUpstreamOptions {
  // The stub_upstream binary. Empty means STUB_UPSTREAM_PATH, which the
  // session_gateway_test_support CMake target defines for its users.
  std::string binary_path;
  // 0 lets the stub pick an ephemeral port, which cannot collide with
  // other tests; see ports.h for when a fixed port is needed.
  int port = 0;
  // The stub exits by itself after this long, whatever happens to the
  // test.
  absl::Duration max_lifetime = absl::Seconds(300);
  // Capture the stub's stderr to a file (process().ReadStderr()) instead
  // of passing it through to the test's stderr.
  bool capture_stderr = false;
  // One stderr line per scripted request (--log_requests).
  bool log_requests = false;
  // More stub_upstream flags, e.g. "--max_records=10".
  std::vector<std::string> extra_args;
  // How long the stub may take to print its ready line.
  absl::Duration start_timeout = absl::Seconds(10);
  // Bounds each control call.
  absl::Duration control_timeout = absl::Seconds(5);
};

class StubUpstream {
 public:
  // Starts the stub and waits for its ready line.
  static absl::StatusOr<std::unique_ptr<StubUpstream>> Start(
      const StubUpstreamOptions& options = StubUpstreamOptions());

  StubUpstream(const StubUpstream&) = delete;
  StubUpstream& operator=(const StubUpstream&) = delete;

  // The process is killed when the StubUpstream is destroyed.
  ~StubUpstream() = default;

  int port() const { return port_; }

  // "http://127.0.0.1:PORT", no trailing slash.
  std::string base_url() const;

  // Appends steps (a JSON array, as documented above) to the queue.
  // kInvalidArgument with the stub's explanation if it rejects them.
  absl::Status Script(absl::string_view json_steps);

  // All recorded requests, oldest first.
  absl::StatusOr<std::vector<RecordedRequest>> Requests();

  // Polls until at least `count` requests were recorded, then returns them
  // all; kDeadlineExceeded (saying how many came) after `timeout`. For
  // requests the gateway makes asynchronously, e.g. retries.
  absl::StatusOr<std::vector<RecordedRequest>> WaitForRequests(
      size_t count, absl::Duration timeout);

  // Clears the script queue, records and counters; connection ids keep
  // counting up.
  absl::Status Reset();

  absl::StatusOr<StubStats> Stats();

  // The stub's process, e.g. to signal it or read its captured stderr.
  ChildProcess& process() { return *process_; }

 private:
  StubUpstream(std::unique_ptr<ChildProcess> process, int port,
               absl::Duration control_timeout)
      : process_(std::move(process)),
        port_(port),
        control_timeout_(control_timeout) {}

  // One control request; the response body if the status is 200.
  absl::StatusOr<std::string> Control(absl::string_view method,
                                      absl::string_view path,
                                      absl::string_view body);

  std::unique_ptr<ChildProcess> process_;
  int port_;
  absl::Duration control_timeout_;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_STUB_UPSTREAM_H_
