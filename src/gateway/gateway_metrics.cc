#include "gateway/gateway_metrics.h"

#include <string>
#include <utility>

#include "absl/status/status.h"

namespace session_gateway {
namespace gateway {
namespace {

constexpr int kCodeCount = 17;  // grpc::StatusCode OK (0) to UNAUTHENTICATED (16).

// gRPC and absl share code numbers and names ("OK", "NOT_FOUND", ...), the
// names the call log prints.
std::string CodeLabel(int code) { return absl::StatusCodeToString(static_cast<absl::StatusCode>(code)); }

}  // namespace

const std::vector<double>& GatewayMetrics::LatencyBuckets() {
  static const auto* const buckets = new std::vector<double>{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return *buckets;
}

class GatewayMetrics::SampledCollectable final : public prometheus::Collectable {
 public:
  explicit SampledCollectable(GatewayMetrics* metrics) : metrics_(metrics) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    {
      absl::MutexLock lock(&metrics_->source_mu_);
      if (metrics_->upstream_connections_source_) {
        metrics_->SetUpstreamConnections(metrics_->upstream_connections_source_());
      }
    }
    return metrics_->registry_->Collect();
  }

 private:
  GatewayMetrics* const metrics_;
};

GatewayMetrics::GatewayMetrics(const std::vector<std::string>& methods)
    : registry_(std::make_shared<prometheus::Registry>()),
      calls_(prometheus::BuildCounter()
                 .Name("session_gateway_calls_total")
                 .Help("gRPC calls finished, by method and the gRPC code the caller saw.")
                 .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("session_gateway_call_duration_seconds")
                   .Help("Time from a call's start to its status, by method.")
                   .Register(*registry_)),
      shed_(prometheus::BuildCounter()
                .Name("session_gateway_calls_shed_total")
                .Help("Calls refused by load shedding without an upstream request, by method.")
                .Register(*registry_)),
      upstream_responses_(prometheus::BuildCounter()
                              .Name("session_gateway_upstream_responses_total")
                              .Help("Upstream attempts by HTTP status; status=\"error\": no HTTP answer "
                                    "(connection failure, timeout, response too large).")
                              .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("session_gateway_calls_in_flight")
                     .Help("Calls started and not yet finished.")
                     .Register(*registry_)
                     .Add({})),
      waiting_(prometheus::BuildGauge()
                   .Name("session_gateway_calls_waiting")
                   .Help("Calls waiting for an upstream slot.")
                   .Register(*registry_)
                   .Add({})),
      upstream_connections_(prometheus::BuildGauge()
                                .Name("session_gateway_upstream_open_connections")
                                .Help("Upstream HTTP connections open.")
                                .Register(*registry_)
                                .Add({})),
      attempts_(prometheus::BuildCounter()
                    .Name("session_gateway_upstream_attempts_total")
                    .Help("Upstream requests sent, first attempts and retries.")
                    .Register(*registry_)
                    .Add({})),
      retries_(prometheus::BuildCounter()
                   .Name("session_gateway_upstream_retries_total")
                   .Help("Upstream requests sent as retries.")
                   .Register(*registry_)
                   .Add({})),
      // Transport failures are visible at 0 from the start: they are what an
      // alert watches.
      upstream_error_(upstream_responses_.Add({{"status", "error"}})),
      upstream_other_(upstream_responses_.Add({{"status", "other"}})) {
  collectable_ = std::make_shared<SampledCollectable>(this);
  for (const std::string& method : methods) methods_.emplace(method, Resolve(method));
}

GatewayMetrics::MethodMetrics GatewayMetrics::Resolve(absl::string_view method) {
  const std::string name(method);
  MethodMetrics resolved;
  for (int code = 0; code < kCodeCount; ++code) {
    resolved.calls[static_cast<size_t>(code)] = &calls_.Add({{"method", name}, {"code", CodeLabel(code)}});
  }
  resolved.latency = &latency_.Add({{"method", name}}, LatencyBuckets());
  resolved.shed = &shed_.Add({{"method", name}});
  return resolved;
}

GatewayMetrics::MethodMetrics GatewayMetrics::Lookup(absl::string_view method) {
  if (auto it = methods_.find(method); it != methods_.end()) return it->second;
  return Resolve(method);
}

void GatewayMetrics::OnCallStarted(absl::string_view) { in_flight_.Increment(); }

void GatewayMetrics::OnCallFinished(absl::string_view method, grpc::StatusCode code, absl::Duration latency) {
  in_flight_.Decrement();
  MethodMetrics m = Lookup(method);
  const int index = static_cast<int>(code);
  // A code outside gRPC's 17 is counted as UNKNOWN, as gRPC itself treats it.
  m.calls[static_cast<size_t>(index >= 0 && index < kCodeCount ? index : 2)]->Increment();
  m.latency->Observe(absl::ToDoubleSeconds(latency));
}

void GatewayMetrics::OnShed(absl::string_view method) { Lookup(method).shed->Increment(); }

void GatewayMetrics::OnAttempt(bool retry) {
  attempts_.Increment();
  if (retry) retries_.Increment();
}

prometheus::Counter& GatewayMetrics::UpstreamCounter(int http_status) {
  if (http_status < kMinHttpStatus || http_status > kMaxHttpStatus) return upstream_other_;
  std::atomic<prometheus::Counter*>& slot = by_status_[static_cast<size_t>(http_status - kMinHttpStatus)];
  prometheus::Counter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // Two threads may both get here; Add returns the same child to both.
    counter = &upstream_responses_.Add({{"status", std::to_string(http_status)}});
    slot.store(counter, std::memory_order_release);
  }
  return *counter;
}

void GatewayMetrics::OnUpstreamAnswer(int http_status) { UpstreamCounter(http_status).Increment(); }

void GatewayMetrics::OnUpstreamTransportError() { upstream_error_.Increment(); }

void GatewayMetrics::SetWaiting(int64_t waiting) { waiting_.Set(static_cast<double>(waiting)); }

void GatewayMetrics::SetUpstreamConnections(int64_t connections) {
  upstream_connections_.Set(static_cast<double>(connections));
}

void GatewayMetrics::SetUpstreamConnectionsSource(absl::AnyInvocable<int64_t()> source) {
  absl::MutexLock lock(&source_mu_);
  upstream_connections_source_ = std::move(source);
}

}  // namespace gateway
}  // namespace session_gateway
