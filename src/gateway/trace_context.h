// W3C Trace Context (https://www.w3.org/TR/trace-context/) for one call:
// reads the caller's `traceparent` and `tracestate` metadata and makes the
// values the gateway sends upstream, so the gateway's call is a child span
// of the caller's and the REST API sees the same trace id the caller logs.
// The trace id also goes on the gateway's log line.
//
//  - A valid `traceparent` continues the trace: same trace id, a new span id
//    for the gateway (the upstream's parent), the caller's flags kept (the
//    sampled and Level 2 random bits; bits no version 00 spec defines are
//    sent as 0, as the spec requires). `tracestate` is passed on unchanged
//    if it is well formed, dropped if not (the gateway adds no entry of its
//    own, so it never needs to edit it).
//  - A missing or invalid `traceparent` starts a new trace: new random
//    trace and span ids, flags 01 (sampled), because the gateway records
//    every call (its log line carries the trace id), which is what the
//    sampled flag announces. Any `tracestate` is dropped, as the spec says
//    it must be when `traceparent` is invalid.
//
// Parsing follows the spec's rules: lowercase hex only; version ff and
// all-zero trace or parent ids are invalid; version 00 is exactly 55
// characters; a higher version is parsed by the version 00 layout if it is
// at least 55 characters and the 56th, if any, is '-' (only its sampled bit
// is kept, and the gateway sends version 00, the highest it knows).
//
// Usage (in the forwarder, per call):
//
//   thread_local absl::BitGen gen;
//   TraceContext trace = TraceContext::ForCall(
//       Metadata(context, kTraceParentHeader), Metadata(context, kTraceStateHeader), gen);
//   headers.emplace_back(kTraceParentHeader, std::string(trace.traceparent()));
//   if (!trace.tracestate().empty()) {
//     headers.emplace_back(kTraceStateHeader, std::string(trace.tracestate()));
//   }
//   record.trace_id = trace.trace_id();  // the log line
//
// TraceContext is a value type, immutable once made; the functions here are
// thread-safe (the random source is the caller's, e.g. a thread_local).
#ifndef SESSION_GATEWAY_GATEWAY_TRACE_CONTEXT_H_
#define SESSION_GATEWAY_GATEWAY_TRACE_CONTEXT_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"

namespace session_gateway {
namespace gateway {

// Metadata keys, as gRPC spells them (lowercase).
inline constexpr char kTraceParentHeader[] = "traceparent";
inline constexpr char kTraceStateHeader[] = "tracestate";

// Longest `tracestate` the gateway passes on. The spec asks vendors to
// propagate at least 512 characters; longer ones are dropped whole rather
// than cut, since cutting means editing entries we do not own.
inline constexpr size_t kMaxTraceStateLength = 512;
// The spec's limit on `tracestate` list members.
inline constexpr int kMaxTraceStateMembers = 32;

// trace-flags bits.
inline constexpr uint8_t kTraceFlagSampled = 0x01;
// Level 2: the trace id's right 7 bytes are random.
inline constexpr uint8_t kTraceFlagRandom = 0x02;

// The fields of a parsed `traceparent`.
struct TraceParent {
  uint8_t version = 0;
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> parent_id{};
  uint8_t flags = 0;
};

// Parses a `traceparent` value by the spec's rules (see the file comment).
// Returns nullopt if it is invalid; the caller then starts a new trace.
// For a version above 00, `flags` keeps only the sampled bit.
std::optional<TraceParent> ParseTraceParent(absl::string_view value);

// Light validation of a `tracestate` value: at most kMaxTraceStateLength
// characters and kMaxTraceStateMembers members; members separated by ','
// with optional spaces or tabs around them (empty members allowed); each
// member `key=value` with a key of 1 to 256 characters from [a-z0-9_*/-]
// and at most one '@' (tenant@system), starting with [a-z0-9], and a value
// of 1 to 256 printable ASCII characters other than ',' and '=', not
// ending in a space; no key twice. An empty value (no header) is valid.
bool IsValidTraceState(absl::string_view value);

class TraceContext {
 public:
  // An empty context (every accessor returns "" or 0), so that a reactor
  // can hold one as a member before its call has been read. Calls get
  // theirs from ForCall().
  TraceContext() = default;

  // The trace context of one gateway call, from the caller's metadata
  // values ("" when absent; pass "" too when `traceparent` came more than
  // once, which the spec makes invalid; join several `tracestate` values
  // with ","). `gen` provides the new span id and, for a new trace, the
  // trace id; ids are drawn again in the (2^-64) case they come out all
  // zero, and a child's span id again if it equals its parent's.
  static TraceContext ForCall(absl::string_view traceparent, absl::string_view tracestate,
                              absl::BitGenRef gen);

  // The `traceparent` to send upstream: "00-<trace id>-<span id>-<flags>",
  // 55 characters, lowercase hex.
  absl::string_view traceparent() const { return traceparent_; }

  // The `tracestate` to send upstream; empty: send none.
  absl::string_view tracestate() const { return tracestate_; }

  // 32 lowercase hex digits: the trace id, for the log line.
  absl::string_view trace_id() const { return Field(3, 32); }

  // 16 lowercase hex digits: the gateway's own span id (the parent-id it
  // sends upstream).
  absl::string_view span_id() const { return Field(36, 16); }

  // The caller's span id (16 hex digits) if the trace was continued, else
  // empty.
  absl::string_view caller_span_id() const { return caller_span_id_; }

  // Whether the caller's `traceparent` was valid and its trace continued.
  bool continued() const { return !caller_span_id_.empty(); }

  // The trace-flags sent upstream.
  uint8_t flags() const { return flags_; }
  bool sampled() const { return (flags_ & kTraceFlagSampled) != 0; }

 private:
  // A part of traceparent_; "" for an empty context.
  absl::string_view Field(size_t offset, size_t length) const {
    return traceparent_.empty() ? absl::string_view()
                                : absl::string_view(traceparent_).substr(offset, length);
  }

  std::string traceparent_;
  std::string tracestate_;
  std::string caller_span_id_;
  uint8_t flags_ = 0;
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_TRACE_CONTEXT_H_
