#include "gateway/metrics_endpoint.h"

#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/address_in_use.h"

namespace session_gateway {
namespace gateway {

absl::StatusOr<HostPort> MetricsEndpoint::ParseAddress(const std::string& listen) {
  absl::StatusOr<HostPort> address = ParseHostPort(listen);
  if (!address.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_listen: ", address.status().message()));
  }
  // civetweb would read a comma as a list of addresses to listen on.
  if (address->host.find(',') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--metrics_listen: one host:port only, got \"", listen, "\""));
  }
  return address;
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen, std::shared_ptr<prometheus::Collectable> registry) {
  absl::StatusOr<HostPort> address = ParseAddress(listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // One thread: a scrape every few seconds needs no more.
    exposer = std::make_unique<prometheus::Exposer>(listen, /*num_threads=*/1);
  } catch (const std::exception&) {
    // civetweb says only "null context ... binding to port".
    if (AddressInUse(*address)) {
      return absl::UnavailableError(absl::StrCat("--metrics_listen: ", listen, " is already in use"));
    }
    return absl::UnavailableError(absl::StrCat("--metrics_listen: cannot listen on ", listen));
  }
  exposer->RegisterCollectable(registry);
  const std::vector<int> ports = exposer->GetListeningPorts();
  const int port = ports.empty() ? address->port : ports.front();
  const bool ipv6 = address->host.find(':') != std::string::npos;
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(
      std::move(exposer), std::move(registry),
      absl::StrCat(ipv6 ? "[" : "", address->host, ipv6 ? "]" : "", ":", port)));
}

}  // namespace gateway
}  // namespace session_gateway
