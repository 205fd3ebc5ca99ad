#include "gateway/admission_control.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace gateway {
namespace {

AdmissionLimits Sanitized(AdmissionLimits limits) {
  limits.max_calls_in_flight = std::max<int64_t>(limits.max_calls_in_flight, 1);
  limits.max_calls_waiting = std::max<int64_t>(limits.max_calls_waiting, 1);
  limits.upstream_connections = std::max<int64_t>(limits.upstream_connections, 0);
  return limits;
}

}  // namespace

AdmissionControl::Ticket::Ticket(Ticket&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)),
      waiting_(std::exchange(other.waiting_, false)),
      upstream_(std::exchange(other.upstream_, false)) {}

AdmissionControl::Ticket& AdmissionControl::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = std::exchange(other.owner_, nullptr);
    waiting_ = std::exchange(other.waiting_, false);
    upstream_ = std::exchange(other.upstream_, false);
  }
  return *this;
}

void AdmissionControl::Ticket::BeginUpstream() {
  if (owner_ == nullptr || upstream_) return;
  upstream_ = true;
  owner_->upstream_requests_.fetch_add(1, std::memory_order_relaxed);
  // A retry waits for a connection again. It was admitted already, so it
  // is counted even beyond the limit rather than failed half-way: the
  // limit gates new calls only, as Envoy's does.
  if (!owner_->derived() && !waiting_) {
    waiting_ = true;
    owner_->waiting_.fetch_add(1, std::memory_order_relaxed);
  }
}

void AdmissionControl::Ticket::ConnectionObtained() {
  if (owner_ == nullptr || owner_->derived()) return;
  StopWaiting();
}

void AdmissionControl::Ticket::EndUpstream() {
  if (owner_ == nullptr) return;
  StopWaiting();
  if (upstream_) {
    upstream_ = false;
    owner_->upstream_requests_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void AdmissionControl::Ticket::StopWaiting() {
  if (!waiting_) return;
  waiting_ = false;
  owner_->waiting_.fetch_sub(1, std::memory_order_relaxed);
}

void AdmissionControl::Ticket::Release() {
  if (owner_ == nullptr) return;
  EndUpstream();
  owner_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
  owner_ = nullptr;
}

AdmissionControl::AdmissionControl(AdmissionLimits limits) : limits_(Sanitized(limits)) {}

bool AdmissionControl::TryIncrementBelow(std::atomic<int64_t>& counter, int64_t limit) {
  // A compare-and-swap loop rather than fetch_add-then-undo: the undo would
  // let a burst of refused calls push the counter past the limit for a
  // moment and refuse calls that had a free slot.
  // The counters guard no other data, so relaxed order suffices: each
  // read-modify-write is still atomic, which is all the limit needs.
  int64_t current = counter.load(std::memory_order_relaxed);
  while (current < limit) {
    if (counter.compare_exchange_weak(current, current + 1, std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

int64_t AdmissionControl::calls_waiting() const {
  if (derived()) {
    return std::max<int64_t>(
        0, upstream_requests_.load(std::memory_order_relaxed) - limits_.upstream_connections);
  }
  return waiting_.load(std::memory_order_relaxed);
}

AdmissionControl::Decision AdmissionControl::TryAdmit() {
  Decision decision;
  // Derived waiting is read, not reserved: a new call does not wait until
  // it has sent its request, which happens right after admission on the
  // same thread, so the window for overshooting is that short.
  if (derived() && calls_waiting() >= limits_.max_calls_waiting) {
    shed_waiting_.fetch_add(1, std::memory_order_relaxed);
    decision.shed_by = Limit::kCallsWaiting;
    return decision;
  }
  if (!TryIncrementBelow(in_flight_, limits_.max_calls_in_flight)) {
    shed_in_flight_.fetch_add(1, std::memory_order_relaxed);
    decision.shed_by = Limit::kCallsInFlight;
    return decision;
  }
  bool waiting = false;
  if (!derived()) {
    // Reported mode: a call waits for a connection from admission on.
    if (!TryIncrementBelow(waiting_, limits_.max_calls_waiting)) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      shed_waiting_.fetch_add(1, std::memory_order_relaxed);
      decision.shed_by = Limit::kCallsWaiting;
      return decision;
    }
    waiting = true;
  }
  admitted_.fetch_add(1, std::memory_order_relaxed);
  decision.ticket.emplace(Ticket(this, waiting));
  return decision;
}

absl::string_view AdmissionControl::LimitName(Limit limit) {
  switch (limit) {
    case Limit::kCallsInFlight:
      return "calls_in_flight";
    case Limit::kCallsWaiting:
      return "calls_waiting";
  }
  return "unknown";
}

grpc::Status AdmissionControl::ShedStatus(Limit limit) const {
  std::string what;
  switch (limit) {
    case Limit::kCallsInFlight:
      what = absl::StrCat(limits_.max_calls_in_flight,
                          " calls in flight, the limit of --max_calls_in_flight");
      break;
    case Limit::kCallsWaiting:
      what = absl::StrCat(limits_.max_calls_waiting,
                          " calls waiting for an upstream connection, the limit of "
                          "--max_calls_waiting");
      break;
  }
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat("session-gateway is overloaded: ", what,
                                   "; the call was not started, retry with backoff"));
}

AdmissionStats AdmissionControl::stats() const {
  AdmissionStats s;
  s.calls_in_flight = in_flight_.load(std::memory_order_relaxed);
  s.calls_waiting = calls_waiting();
  s.upstream_requests = upstream_requests_.load(std::memory_order_relaxed);
  s.admitted = admitted_.load(std::memory_order_relaxed);
  s.shed_calls_in_flight = shed_in_flight_.load(std::memory_order_relaxed);
  s.shed_calls_waiting = shed_waiting_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace gateway
}  // namespace session_gateway
