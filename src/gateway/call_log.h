// One log record per gateway call, as a key=value text line or as
// one JSON object per line (--log_format=json, for log pipelines that parse
// JSON), and a sink that writes each line with a single write(2).
//
// A record holds ids, codes, counts and timing only: there is no field for
// a body, a header value or a credential, so no token can reach the log
// through it.
//
// Text (the forwarder's line, with trace_id appended, and
// shed=true appended for a call refused by admission control):
//
//   2026-12-03T04:05:06.789Z session-gateway: call method=CreatePaymentServiceSession
//   request_id=4f1c... upstream_status=201 grpc_code=OK attempts=1 latency_ms=12.3
//   trace_id=4bf92f3577b34da6a3ce929d0e0e4736
//   (one line)
//
// JSON (keys in this order; "shed" is always present):
//
//   {"timestamp":"2026-12-03T04:05:06.789Z","method":"CreatePaymentServiceSession",
//    "code":"OK","upstream_status":201,"attempts":1,"latency_ms":12.3,
//    "request_id":"4f1c...","trace_id":"4bf9...","shed":false}
//   (one line)
//
// Usage (in the forwarder, when a call finishes):
//
//   CallRecord record;
//   record.timestamp = absl::Now();
//   record.method = route_.method()->name();
//   record.request_id = request_id_;
//   record.trace_id = trace_.trace_id();
//   record.upstream_status = upstream_status_;
//   record.grpc_code = code_name;              // e.g. "OK", "UNAVAILABLE"
//   record.attempts = attempts_;
//   record.latency = record.timestamp - started_;
//   forwarder_.call_log_sink().Write(record, forwarder_.options().log_format);
//
// Formatting is allocation-free after warm-up when appending to a reused
// buffer (FormatTo); CallLogSink::Write(record, format) does that with a
// thread-local buffer. All functions here are thread-safe.
#ifndef SESSION_GATEWAY_GATEWAY_CALL_LOG_H_
#define SESSION_GATEWAY_GATEWAY_CALL_LOG_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace session_gateway {
namespace gateway {

enum class LogFormat { kText, kJson };

// For ABSL_FLAG(LogFormat, log_format, ...): "text" or "json".
bool AbslParseFlag(absl::string_view text, LogFormat* format, std::string* error);
std::string AbslUnparseFlag(LogFormat format);

// One call's facts. The string fields are views: what they point at must
// outlive the Format/Write call (the forwarder's own members do).
struct CallRecord {
  // When the call finished; printed in UTC with milliseconds (truncated).
  absl::Time timestamp;
  // The RPC's method name, e.g. "CreatePaymentServiceSession".
  absl::string_view method;
  absl::string_view request_id;
  // 32 hex digits (TraceContext::trace_id()); empty: omitted from the text
  // line, "" in JSON.
  absl::string_view trace_id;
  // The last HTTP status seen from the upstream; 0 if none.
  int upstream_status = 0;
  // The gRPC code the caller saw, by name ("OK", "UNAVAILABLE", ...).
  absl::string_view grpc_code;
  // Upstream attempts made (0 for a call refused before any).
  int attempts = 0;
  // From the call's start to its finish; printed in ms with one decimal.
  absl::Duration latency;
  // Refused by admission control (AdmissionControl), not started.
  bool shed = false;
};

// Appends the record, formatted as `format` and ending in '\n', to `*out`.
// Text: values are printed as they are except bytes outside visible ASCII
// (0x21-0x7e), which become \xHH, so that no value can add a field or a
// line. JSON: every string is escaped per RFC 8259, and everything outside
// printable ASCII is written as \uXXXX (valid UTF-8 decoded to its code
// point, with surrogate pairs above U+FFFF; each byte of invalid UTF-8 as
// U+FFFD), so the line is pure ASCII whatever the input.
void FormatTo(const CallRecord& record, LogFormat format, std::string* out);

// FormatTo into a new string.
std::string Format(const CallRecord& record, LogFormat format);

// Writes log lines to a file descriptor, each with one write(2): lines
// shorter than PIPE_BUF (4096 bytes on Linux) written to a pipe are never
// interleaved with other writers' lines, and on a regular file opened
// O_APPEND neither. Thread-safe; holds no lock.
class CallLogSink {
 public:
  // `fd` (e.g. STDERR_FILENO) is not owned and must stay open while the
  // sink is used.
  explicit CallLogSink(int fd) : fd_(fd) {}

  CallLogSink(const CallLogSink&) = delete;
  CallLogSink& operator=(const CallLogSink&) = delete;

  // Writes `line` (which should end in '\n'). Retries on EINTR. If the
  // kernel takes only part of it (a line over PIPE_BUF, a full disk), the
  // rest follows in further writes, which may then interleave with other
  // lines. On any other error, including EAGAIN on a non-blocking fd, the
  // rest of the line is dropped: logging must never stall or fail a call.
  // Returns whether the whole line was written.
  bool WriteLine(absl::string_view line);

  // Formats `record` into a thread-local buffer and writes it.
  bool Write(const CallRecord& record, LogFormat format);

  // Lines written whole, and lines not (wholly) written.
  uint64_t lines_written() const { return lines_written_.load(std::memory_order_relaxed); }
  uint64_t lines_dropped() const { return lines_dropped_.load(std::memory_order_relaxed); }

 private:
  const int fd_;
  std::atomic<uint64_t> lines_written_{0};
  std::atomic<uint64_t> lines_dropped_{0};
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_CALL_LOG_H_
