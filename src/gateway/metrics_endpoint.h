// Serves a Prometheus registry over HTTP at GET /metrics in the Prometheus
// text format (prometheus-cpp's Exposer, on civetweb), separate from the
// gRPC port so that scraping needs no gRPC and never competes with calls
// for the gRPC server's threads.
//
// Usage:
//
//   absl::StatusOr<std::unique_ptr<MetricsEndpoint>> endpoint =
//       MetricsEndpoint::Start("127.0.0.1:9090", metrics->collectable());
//   if (!endpoint.ok()) ...;  // Messages name --metrics_listen.
//   std::printf("metrics on http://%s/metrics\n", (*endpoint)->address().c_str());
#ifndef SESSION_GATEWAY_GATEWAY_METRICS_ENDPOINT_H_
#define SESSION_GATEWAY_GATEWAY_METRICS_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/host_port.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace session_gateway {
namespace gateway {

class MetricsEndpoint {
 public:
  // Listens on `listen` ("host:port"; port 0 picks a free one) and serves
  // `registry`. Errors, named after the --metrics_listen flag:
  // kInvalidArgument for an address that is not host:port, kUnavailable if
  // it is in use ("--metrics_listen: 127.0.0.1:9090 is already in use") or
  // cannot be listened on (civetweb here has no IPv6).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen, std::shared_ptr<prometheus::Collectable> registry);

  // Checks `listen` as Start() does, without listening: for start-up
  // checks before anything runs.
  static absl::StatusOr<HostPort> ParseAddress(const std::string& listen);

  // "host:port" actually listened on.
  const std::string& address() const { return address_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer, std::shared_ptr<prometheus::Collectable> registry,
                  std::string address)
      : registry_(std::move(registry)), exposer_(std::move(exposer)), address_(std::move(address)) {}

  // The exposer holds the registry only weakly.
  std::shared_ptr<prometheus::Collectable> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string address_;
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_METRICS_ENDPOINT_H_
