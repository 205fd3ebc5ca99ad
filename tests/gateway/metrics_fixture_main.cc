// metrics_fixture: serves a GatewayMetrics with known values on
// 127.0.0.1:0 for tests/gateway/metrics_scrape_test.py, which parses the
// scrape with the Prometheus project's own Python parser. Prints
// "listening on 127.0.0.1:PORT", then serves until stdin closes or 60 s
// pass, whichever comes first, so that a dead test never leaves it behind.
#include <poll.h>
#include <unistd.h>

#include <cstdio>

#include "gateway/gateway_metrics.h"
#include "gateway/metrics_endpoint.h"

int main() {
  using session_gateway::gateway::GatewayMetrics;
  GatewayMetrics metrics({"CreatePaymentServiceSession", "CreatePaymentServiceDefinitionSession"});
  auto endpoint = session_gateway::gateway::MetricsEndpoint::Start("127.0.0.1:0", metrics.registry());
  if (!endpoint.ok()) {
    std::fprintf(stderr, "metrics_fixture: %s\n", std::string(endpoint.status().message()).c_str());
    return 1;
  }
  // The values metrics_scrape_test.py expects.
  for (int i = 0; i < 3; ++i) metrics.OnCallStarted("CreatePaymentServiceSession");
  metrics.OnAttempt(false);
  metrics.OnUpstreamAnswer(201);
  metrics.OnCallFinished("CreatePaymentServiceSession", grpc::StatusCode::OK, absl::Milliseconds(20));
  metrics.OnAttempt(false);
  metrics.OnUpstreamAnswer(503);
  metrics.OnAttempt(true);
  metrics.OnUpstreamTransportError();
  metrics.OnCallFinished("CreatePaymentServiceSession", grpc::StatusCode::UNAVAILABLE, absl::Seconds(2));
  metrics.OnShed("CreatePaymentServiceDefinitionSession");
  metrics.SetWaiting(4);
  metrics.SetUpstreamConnections(2);
  std::printf("listening on %s\n", (*endpoint)->address().c_str());
  std::fflush(stdout);
  pollfd stdin_fd{STDIN_FILENO, POLLIN, 0};
  poll(&stdin_fd, 1, 60 * 1000);
  return 0;
}
