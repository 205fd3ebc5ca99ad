// The gateway's Prometheus metrics: what an operator needs to see whether
// callers are served, how fast, and how the upstream answers. This class
// only counts; MetricsEndpoint (metrics_endpoint.h) serves the registry
// over HTTP.
//
// Every name follows Prometheus conventions (base units, `_total` for
// counters, `_seconds` for durations):
//
//   session_gateway_calls_total{method,code}          counter
//       Calls finished, by RPC (short name, as in the call log, e.g.
//       "CreatePaymentServiceSession") and the gRPC code the caller saw
//       ("OK", "UNAVAILABLE", ...).
//   session_gateway_call_duration_seconds{method}     histogram
//       Time from a call's start to its status, 1 ms to 30 s buckets.
//   session_gateway_calls_in_flight                   gauge
//       Calls started and not yet finished.
//   session_gateway_calls_waiting                     gauge
//       Calls queued for an upstream slot (set by whoever queues them).
//   session_gateway_calls_shed_total{method}          counter
//       Calls refused by load shedding, without an upstream request.
//   session_gateway_upstream_responses_total{status}  counter
//       Upstream answers by HTTP status ("200", "503", ...); "error" counts
//       attempts that got no HTTP answer at all (connection refused or
//       reset, timeout, response too large: a transport failure).
//   session_gateway_upstream_attempts_total           counter
//       Upstream requests sent, first attempts and retries.
//   session_gateway_upstream_retries_total            counter
//       The subset of attempts that were retries.
//   session_gateway_upstream_open_connections         gauge
//       Upstream connections open now (set by the HTTP client's owner).
//
// Every method is thread-safe and cheap: the label children of the methods
// given at construction and of every gRPC code are resolved once, so a call
// costs a map lookup and atomic updates, no allocation and no lock (the
// histogram takes prometheus-cpp's own short lock).
//
// Usage:
//
//   auto metrics = std::make_unique<GatewayMetrics>(
//       std::vector<std::string>{"CreatePaymentServiceSession"});
//   metrics->OnCallStarted("CreatePaymentServiceSession");
//   metrics->OnAttempt(/*retry=*/false);
//   metrics->OnUpstreamAnswer(201);
//   metrics->OnCallFinished("CreatePaymentServiceSession", grpc::StatusCode::OK,
//                           absl::Milliseconds(42));
//   // Serve metrics->registry() with MetricsEndpoint.
#ifndef SESSION_GATEWAY_GATEWAY_GATEWAY_METRICS_H_
#define SESSION_GATEWAY_GATEWAY_GATEWAY_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/status_code_enum.h"
#include "prometheus/collectable.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace session_gateway {
namespace gateway {

class GatewayMetrics {
 public:
  // The latency histogram's upper bounds, in seconds: from 1 ms (a shed or
  // invalid call never leaves the process) to 30 s (the default
  // --upstream_timeout), about 2.5x apart.
  static const std::vector<double>& LatencyBuckets();

  // `methods` are the RPCs' short names; their children are created now, so
  // that every series exists (at 0) from the first scrape and calls take
  // no lock. A method not listed still works, created on first use.
  explicit GatewayMetrics(const std::vector<std::string>& methods);

  GatewayMetrics(const GatewayMetrics&) = delete;
  GatewayMetrics& operator=(const GatewayMetrics&) = delete;

  // The metrics themselves.
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

  // What MetricsEndpoint should serve: the registry, with the sampled
  // gauges (SetUpstreamConnectionsSource) read just before each scrape.
  std::shared_ptr<prometheus::Collectable> collectable() const { return collectable_; }

  // Where upstream_open_connections is read at each scrape through
  // collectable(), for an HTTP client that can only report a count. The
  // source must stay valid until it is replaced or the metrics are
  // destroyed. Thread-safe.
  void SetUpstreamConnectionsSource(absl::AnyInvocable<int64_t()> source);

  // A call reached the gateway's code: in flight until OnCallFinished.
  void OnCallStarted(absl::string_view method);
  // The call ended with `code` after `latency`. Call once for every
  // OnCallStarted, whatever the outcome (shed calls included).
  void OnCallFinished(absl::string_view method, grpc::StatusCode code, absl::Duration latency);
  // A call was refused by load shedding. Counted on top of its
  // OnCallFinished, so that calls_total still holds every call.
  void OnShed(absl::string_view method);

  // One upstream request is about to be sent; `retry` when it is not the
  // call's first.
  void OnAttempt(bool retry);
  // An upstream attempt got an HTTP answer with this status (100-599; any
  // other value is counted as "other").
  void OnUpstreamAnswer(int http_status);
  // An upstream attempt got no HTTP answer (connection failure, timeout,
  // response too large): counted as status="error".
  void OnUpstreamTransportError();

  // Calls currently waiting for an upstream slot.
  void SetWaiting(int64_t waiting);
  // Upstream connections currently open.
  void SetUpstreamConnections(int64_t connections);

 private:
  // One RPC's label children, resolved once.
  struct MethodMetrics {
    // Indexed by gRPC code, 0 (OK) to 16 (UNAUTHENTICATED).
    std::array<prometheus::Counter*, 17> calls{};
    prometheus::Histogram* latency = nullptr;
    prometheus::Counter* shed = nullptr;
  };
  static constexpr int kMinHttpStatus = 100;
  static constexpr int kMaxHttpStatus = 599;

  MethodMetrics Resolve(absl::string_view method);
  // The children of `method`: pre-resolved, else created (thread-safe:
  // prometheus-cpp's Family::Add returns the existing child for labels it
  // already has).
  MethodMetrics Lookup(absl::string_view method);
  prometheus::Counter& UpstreamCounter(int http_status);

  // Samples the sources, then collects the registry.
  class SampledCollectable;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> collectable_;
  absl::Mutex source_mu_;
  absl::AnyInvocable<int64_t()> upstream_connections_source_ ABSL_GUARDED_BY(source_mu_);
  prometheus::Family<prometheus::Counter>& calls_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& shed_;
  prometheus::Family<prometheus::Counter>& upstream_responses_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& waiting_;
  prometheus::Gauge& upstream_connections_;
  prometheus::Counter& attempts_;
  prometheus::Counter& retries_;
  prometheus::Counter& upstream_error_;
  prometheus::Counter& upstream_other_;
  // Immutable after construction, so read without a lock.
  absl::flat_hash_map<std::string, MethodMetrics> methods_;
  // HTTP status children, created on first use: statuses are too many to
  // expose all at 0, and too few to need a map.
  std::array<std::atomic<prometheus::Counter*>, kMaxHttpStatus - kMinHttpStatus + 1> by_status_{};
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_GATEWAY_METRICS_H_
