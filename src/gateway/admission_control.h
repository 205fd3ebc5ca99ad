// Overload protection for the gateway, in the manner of Envoy's circuit
// breakers: a call is admitted only while fewer than `max_calls_in_flight`
// calls are in flight and fewer than `max_calls_waiting` of them wait for
// an upstream connection. A call that is not admitted is shed at once with
// UNAVAILABLE (ShedStatus()), before any parsing or upstream work, so a
// burst far beyond what the upstream can absorb costs the gateway a few
// hundred bytes per shed call instead of a queued request that would time
// out anyway, and the health service keeps answering.
//
// Envoy's defaults are 1,024 requests and 1,024 pending requests per
// cluster. Ours: 1,024 waiting, and 2,048 in flight, the default 1,024
// upstream connections plus the 1,024 calls allowed to wait for one, so
// that the defaults admit every call the pool can serve or queue. Envoy
// answers an overflowed request 503,
// which gRPC clients see as UNAVAILABLE and may retry; so do we.
//
// "Waiting" means waiting for an upstream connection. Two ways to count it
// (AdmissionLimits::upstream_connections):
//
//  - Reported (upstream_connections == 0): a call is waiting from
//    TryAdmit() until the HTTP client says it has a connection for it
//    (Ticket::ConnectionObtained()). This is exact, and needs an HTTP
//    client that reports connection acquisition (with libcurl, e.g. from
//    CURLOPT_PREREQFUNCTION, called once a connection is ready).
//  - Derived (upstream_connections == N > 0): the HTTP client cannot say
//    when a connection is obtained, so waiting is taken to be
//    max(0, upstream requests in flight - N), where an upstream request is
//    in flight between Ticket::BeginUpstream() and Ticket::EndUpstream().
//    This is exact for HTTP/1.1 with a pool of N connections all in use
//    (one request per connection); with HTTP/2 multiplexing it overcounts
//    (several requests share a connection), i.e. it sheds early, never
//    late.
//
// Everything is lock-free atomics: TryAdmit() is a compare-and-swap loop
// per limit, so admitted calls never exceed `max_calls_in_flight` even
// under concurrent admission (and, in reported mode, never exceed
// `max_calls_waiting` waiting).
//
// Usage (in the forwarder):
//
//   AdmissionLimits limits;  // 2048 in flight, 1024 waiting
//   limits.upstream_connections = 1024;  // --max_upstream_connections
//   AdmissionControl admission(limits);
//   ...
//   // In Forward(), before creating the reactor:
//   AdmissionControl::Decision decision = admission.TryAdmit();
//   if (!decision.ticket.has_value()) {
//     grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
//     reactor->Finish(admission.ShedStatus(decision.shed_by));  // UNAVAILABLE
//     return reactor;
//   }
//   // The reactor owns the ticket; its destructor (in OnDone) frees the slot.
//   call->ticket_ = *std::move(decision.ticket);
//   ...
//   ticket_.BeginUpstream();   // just before HttpClient::Start
//   ticket_.EndUpstream();     // first thing in the HTTP completion callback
#ifndef SESSION_GATEWAY_GATEWAY_ADMISSION_CONTROL_H_
#define SESSION_GATEWAY_GATEWAY_ADMISSION_CONTROL_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace session_gateway {
namespace gateway {

struct AdmissionLimits {
  // Most calls admitted at once (from TryAdmit() until their ticket is
  // released). Must be positive.
  int64_t max_calls_in_flight = 2048;
  // Most admitted calls waiting for an upstream connection; a call arriving
  // while this many wait is shed. Must be positive.
  int64_t max_calls_waiting = 1024;
  // 0: waiting is reported by the HTTP client (Ticket::ConnectionObtained).
  // N > 0: the size of the upstream connection pool; waiting is derived as
  // max(0, upstream requests in flight - N). See the file comment.
  int64_t upstream_connections = 0;
};

// A consistent-enough snapshot of the counters (each read atomically, not
// all at one instant).
struct AdmissionStats {
  int64_t calls_in_flight = 0;
  int64_t calls_waiting = 0;
  int64_t upstream_requests = 0;
  uint64_t admitted = 0;
  uint64_t shed_calls_in_flight = 0;  // Shed because of max_calls_in_flight.
  uint64_t shed_calls_waiting = 0;    // Shed because of max_calls_waiting.
};

class AdmissionControl {
 public:
  // Which limit shed a call.
  enum class Limit { kCallsInFlight, kCallsWaiting };

  // One admitted call's slot. Move-only; destroying (or Release()-ing) it
  // frees the slot, including its waiting and upstream counts if still
  // held. A ticket is used by one call at a time (the forwarder calls it
  // under the call's mutex): its methods are not safe to call concurrently
  // on the same ticket, but different tickets may be used from any threads.
  // A default-constructed or moved-from ticket holds nothing; its methods
  // do nothing.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(Ticket&& other) noexcept;
    Ticket& operator=(Ticket&& other) noexcept;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { Release(); }

    // The call hands a request to the HTTP client (each attempt, just
    // before HttpClient::Start). Derived mode: counts one upstream request
    // in flight. Reported mode: the call waits again (for a retry) until
    // ConnectionObtained(); a no-op for the first attempt, which has been
    // waiting since TryAdmit(). Calling it twice without EndUpstream() in
    // between is a no-op.
    void BeginUpstream();

    // Reported mode only: the HTTP client has a connection for this call's
    // request, so the call stops waiting. Ignored in derived mode and when
    // not waiting.
    void ConnectionObtained();

    // The HTTP exchange started by BeginUpstream() has ended (whatever its
    // outcome): the call neither waits nor holds an upstream request until
    // the next BeginUpstream(). A backoff between attempts is not waiting.
    void EndUpstream();

    // Frees the slot now (as the destructor does). Idempotent.
    void Release();

    // Whether this ticket holds a slot.
    bool valid() const { return owner_ != nullptr; }

   private:
    friend class AdmissionControl;
    Ticket(AdmissionControl* owner, bool waiting) : owner_(owner), waiting_(waiting) {}

    void StopWaiting();

    AdmissionControl* owner_ = nullptr;
    bool waiting_ = false;   // Counted in owner_->waiting_ (reported mode).
    bool upstream_ = false;  // Counted in owner_->upstream_requests_.
  };

  // The outcome of TryAdmit(): a ticket, or the limit that shed the call.
  struct Decision {
    std::optional<Ticket> ticket;
    Limit shed_by = Limit::kCallsInFlight;  // Meaningful without a ticket.
  };

  // `limits` values below 1 (and a negative `upstream_connections`) are
  // raised to 1 (0): a gateway that admits nothing is never what a flag
  // meant; gateway_main should refuse such flags before getting here.
  explicit AdmissionControl(AdmissionLimits limits = {});

  // Every ticket must be released before the AdmissionControl is destroyed.
  AdmissionControl(const AdmissionControl&) = delete;
  AdmissionControl& operator=(const AdmissionControl&) = delete;

  // Admits a call if both limits allow: fewer than max_calls_in_flight
  // calls in flight and fewer than max_calls_waiting waiting. On success
  // the call counts as in flight (and, in reported mode, as waiting) until
  // its ticket says otherwise or is released. On refusal nothing is held
  // and the matching shed counter is incremented. Thread-safe, lock-free.
  Decision TryAdmit();

  // The status a shed call's caller gets: UNAVAILABLE (retryable: the
  // gateway did nothing with the call), with a message saying the gateway
  // is overloaded and naming the limit and its flag, e.g. "session-gateway
  // is overloaded: 1024 calls in flight, the limit of --max_calls_in_flight;
  // the call was not started, retry with backoff". The forwarder may wrap
  // code and message with SimpleStatus() to attach its uniform details.
  grpc::Status ShedStatus(Limit limit) const;

  // "calls_in_flight" or "calls_waiting": for logs and metrics labels.
  static absl::string_view LimitName(Limit limit);

  // Current counts and totals. Thread-safe.
  AdmissionStats stats() const;
  int64_t calls_in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // Calls waiting for an upstream connection, per the mode in use.
  int64_t calls_waiting() const;
  const AdmissionLimits& limits() const { return limits_; }

 private:
  // Increments `counter` if it is below `limit`; false if not.
  static bool TryIncrementBelow(std::atomic<int64_t>& counter, int64_t limit);
  bool derived() const { return limits_.upstream_connections > 0; }

  const AdmissionLimits limits_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int64_t> waiting_{0};  // Reported mode.
  std::atomic<int64_t> upstream_requests_{0};
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> shed_in_flight_{0};
  std::atomic<uint64_t> shed_waiting_{0};
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_ADMISSION_CONTROL_H_
