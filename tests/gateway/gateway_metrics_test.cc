// GatewayMetrics driven through its API and scraped over HTTP from a real
// MetricsEndpoint on 127.0.0.1, as Prometheus would: names, labels, values
// and the endpoint's refusals.
#include "gateway/gateway_metrics.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/metrics_endpoint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/http_client.h"

namespace session_gateway {
namespace gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCreate[] = "CreatePaymentServiceSession";
constexpr char kDefinition[] = "CreatePaymentServiceDefinitionSession";

int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

// The body of GET /metrics.
std::string Scrape(const MetricsEndpoint& endpoint) {
  absl::StatusOr<testing::HttpResponse> response =
      testing::HttpFetch(PortOf(endpoint.address()), "GET", "/metrics", "", {}, absl::Seconds(5));
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return "";
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->Header("content-type"), HasSubstr("text/plain"));
  return response->body;
}

// The value of the sample line that starts with `series` (name and labels,
// labels in the order prometheus-cpp writes them: sorted by name), or
// "absent".
std::string Sample(const std::string& scrape, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (absl::StartsWith(line, series + " ")) return std::string(line.substr(series.size() + 1));
  }
  return "absent";
}

class GatewayMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", metrics_.registry());
    ASSERT_TRUE(endpoint.ok()) << endpoint.status();
    endpoint_ = *std::move(endpoint);
  }

  GatewayMetrics metrics_{{kCreate, kDefinition}};
  std::unique_ptr<MetricsEndpoint> endpoint_;
};

TEST_F(GatewayMetricsTest, DeclaredSeriesExistAtZeroBeforeAnyCall) {
  const std::string scrape = Scrape(*endpoint_);
  EXPECT_THAT(scrape, HasSubstr("# TYPE session_gateway_calls_total counter"));
  EXPECT_THAT(scrape, HasSubstr("# TYPE session_gateway_call_duration_seconds histogram"));
  EXPECT_THAT(scrape, HasSubstr("# TYPE session_gateway_calls_in_flight gauge"));
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_total{code=\"OK\",method=\"", kCreate, "\"}")), "0");
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_total{code=\"UNAUTHENTICATED\",method=\"",
                                        kDefinition, "\"}")),
            "0");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"error\"}"), "0");
  EXPECT_EQ(Sample(scrape, "session_gateway_calls_in_flight"), "0");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_attempts_total"), "0");
}

TEST_F(GatewayMetricsTest, CountsWhatTheApiReports) {
  metrics_.OnCallStarted(kCreate);
  metrics_.OnCallStarted(kCreate);
  metrics_.OnCallStarted(kDefinition);
  metrics_.OnAttempt(false);
  metrics_.OnUpstreamAnswer(503);
  metrics_.OnAttempt(true);
  metrics_.OnUpstreamAnswer(201);
  metrics_.OnAttempt(false);
  metrics_.OnUpstreamTransportError();
  metrics_.OnUpstreamAnswer(42);  // Not an HTTP status.
  metrics_.OnCallFinished(kCreate, grpc::StatusCode::OK, absl::Milliseconds(3));
  metrics_.OnShed(kDefinition);
  metrics_.OnCallFinished(kDefinition, grpc::StatusCode::RESOURCE_EXHAUSTED, absl::Microseconds(200));
  metrics_.SetWaiting(7);
  metrics_.SetUpstreamConnections(5);

  const std::string scrape = Scrape(*endpoint_);
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_total{code=\"OK\",method=\"", kCreate, "\"}")), "1");
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_total{code=\"RESOURCE_EXHAUSTED\",method=\"",
                                        kDefinition, "\"}")),
            "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_calls_in_flight"), "1");  // One kCreate still running.
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_shed_total{method=\"", kDefinition, "\"}")), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_attempts_total"), "3");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_retries_total"), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"503\"}"), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"201\"}"), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"error\"}"), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"other\"}"), "1");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"500\"}"), "absent");
  EXPECT_EQ(Sample(scrape, "session_gateway_calls_waiting"), "7");
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_open_connections"), "5");
  // 3 ms falls in the 5 ms bucket, not the 2.5 ms one; seconds, not ms.
  const std::string bucket = absl::StrCat("session_gateway_call_duration_seconds_bucket{method=\"", kCreate, "\",le=\"");
  EXPECT_EQ(Sample(scrape, bucket + "0.0025\"}"), "0");
  EXPECT_EQ(Sample(scrape, bucket + "0.005\"}"), "1");
  EXPECT_EQ(Sample(scrape, bucket + "30\"}"), "1");
  EXPECT_EQ(Sample(scrape, bucket + "+Inf\"}"), "1");
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_call_duration_seconds_sum{method=\"", kCreate, "\"}")),
            "0.003");
}

TEST_F(GatewayMetricsTest, AnUndeclaredMethodIsCountedToo) {
  metrics_.OnCallStarted("Other");
  metrics_.OnCallFinished("Other", grpc::StatusCode::INTERNAL, absl::Seconds(1));
  const std::string scrape = Scrape(*endpoint_);
  EXPECT_EQ(Sample(scrape, "session_gateway_calls_total{code=\"INTERNAL\",method=\"Other\"}"), "1");
}

TEST_F(GatewayMetricsTest, ConcurrentUpdatesAreAllCounted) {
  constexpr int kThreads = 8;
  constexpr int kCalls = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kCalls; ++i) {
        metrics_.OnCallStarted(kCreate);
        metrics_.OnAttempt(i % 2 == 1);
        metrics_.OnUpstreamAnswer(t % 2 == 0 ? 200 : 429);  // First use of a status races.
        metrics_.OnCallFinished(kCreate, grpc::StatusCode::OK, absl::Milliseconds(1));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::string scrape = Scrape(*endpoint_);
  const std::string total = std::to_string(kThreads * kCalls);
  EXPECT_EQ(Sample(scrape, absl::StrCat("session_gateway_calls_total{code=\"OK\",method=\"", kCreate, "\"}")), total);
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_attempts_total"), total);
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_retries_total"), std::to_string(kThreads * kCalls / 2));
  EXPECT_EQ(Sample(scrape, "session_gateway_upstream_responses_total{status=\"200\"}"),
            std::to_string(kThreads / 2 * kCalls));
  EXPECT_EQ(Sample(scrape, "session_gateway_calls_in_flight"), "0");
}

TEST_F(GatewayMetricsTest, OnlyGetMetricsIsServed) {
  absl::StatusOr<testing::HttpResponse> other = testing::HttpFetch(PortOf(endpoint_->address()), "GET", "/");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->status, 404);
  EXPECT_THAT(other->body, Not(HasSubstr("session_gateway_")));
}

TEST(MetricsEndpointTest, AnAddressInUseIsRefusedNamingTheFlag) {
  GatewayMetrics metrics({});
  auto first = MetricsEndpoint::Start("127.0.0.1:0", metrics.registry());
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsEndpoint::Start((*first)->address(), metrics.registry());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(second.status().message(), absl::StrCat("--metrics_listen: ", (*first)->address(), " is already in use"));
}

TEST(MetricsEndpointTest, AMalformedAddressIsAUsageError) {
  GatewayMetrics metrics({});
  for (const char* listen : {"127.0.0.1", "127.0.0.1:65536", "127.0.0.1:9090s", ":9090", "a,127.0.0.1:9090"}) {
    auto endpoint = MetricsEndpoint::Start(listen, metrics.registry());
    ASSERT_FALSE(endpoint.ok()) << listen;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_THAT(endpoint.status().message(), HasSubstr("--metrics_listen: ")) << listen;
  }
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
