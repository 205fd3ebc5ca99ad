// Forwards gRPC calls to the REST upstream, one reactor per call and no
// thread per call: the gRPC callback API hands us the request's bytes, we
// parse them (see request_parser.h), the asynchronous HTTP client carries
// the request upstream, and its completion callback hands the result to
// the executor, which decodes it (JSON, status mapping) and finishes the
// call: the HTTP client's event loop, shared by every exchange, never
// decodes. (Decoding small answers on the loop instead was measured: it
// cost 182-192 us of gateway CPU per call against 105-120 us, see
// bench/RESULTS.md.) Retries wait on a gRPC alarm, not on a thread. Every call that
// reaches the forwarder gets one log line with the code its caller sees.
//
// At the edge of each call: admission control first (a call over the
// limits is shed with UNAVAILABLE before its request is parsed), then the
// W3C trace context (the gateway's span goes upstream in `traceparent`),
// and at the finish one call log record (call_log.h) and, when given,
// metrics (gateway_metrics.h).
//
// Usage:
//
//   Forwarder forwarder(options, {&http_client, token_source.get(), &executor, metrics});
//   ABSL_CHECK_OK(forwarder.AddMethod(method_descriptor));
//   // In a raw (ByteBuffer) CallbackService method:
//   return forwarder.Forward(method_descriptor, context, *request, response);
//   // Before grpc::Server::Shutdown:
//   forwarder.BeginShutdown();
#ifndef SESSION_GATEWAY_GATEWAY_FORWARDER_H_
#define SESSION_GATEWAY_GATEWAY_FORWARDER_H_

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/executor.h"
#include "gateway/admission_control.h"
#include "gateway/call_log.h"
#include "gateway/route.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/server_callback.h"
#include "upstream/http_client.h"
#include "upstream/retry_policy.h"
#include "upstream/token_source.h"

namespace session_gateway {
namespace gateway {

class GatewayMetrics;  // gateway_metrics.h

struct ForwarderOptions {
  // Base URL of the REST API, e.g. "https://api.sandbox.acme.gr4vy.app";
  // route paths are appended to it.
  std::string upstream_base;
  // Longest an upstream exchange may take, retries included; the caller's
  // own deadline applies when sooner.
  absl::Duration upstream_timeout = absl::Seconds(30);
  upstream::RetryOptions retry;
  // Values for header-bound request fields when neither the request nor
  // the caller's metadata gives one, by header name.
  std::map<std::string, std::string> default_headers;
  // Sent as User-Agent, e.g. "session-gateway/0.1.0".
  std::string user_agent;
  // Deepest JSON nesting accepted in request bodies and upstream responses.
  int max_json_depth = 100;
  // Largest request accepted, in bytes; larger ones are answered
  // RESOURCE_EXHAUSTED (and logged) here. gRPC's own receive limit must be
  // higher (see GrpcReceiveLimit in session_service.h), or gRPC refuses
  // them first, without our code running or logging.
  int64_t max_request_bytes = 4 << 20;
  // Write one line per call to stderr (see call_log.h), as text or JSON.
  bool log_calls = true;
  LogFormat log_format = LogFormat::kText;
  // Overload protection: calls beyond these limits are shed at once with
  // UNAVAILABLE (see admission_control.h). The forwarder counts waiting
  // calls in derived mode, since HttpClient does not say when a request
  // gets a connection: `admission.upstream_connections` must be the HTTP
  // client's connection pool size (1024 by default, as CurlHttpClient's).
  AdmissionLimits admission = [] {
    AdmissionLimits limits;
    limits.upstream_connections = 1024;
    return limits;
  }();
};

// Counters for tests, benchmarks and the shutdown path.
struct ForwarderStats {
  std::atomic<uint64_t> calls_started{0};
  std::atomic<uint64_t> calls_finished{0};
  std::atomic<uint64_t> calls_ok{0};
  std::atomic<uint64_t> upstream_attempts{0};
};

// What the forwarder works with, made by its owner. Each must outlive the
// forwarder and every call it started.
struct ForwarderDependencies {
  // Carries requests upstream. Required.
  upstream::HttpClient* http = nullptr;
  // The gateway's credentials, asked once per attempt (so they should be
  // cheap: see upstream::CachingTokenSource). Null: no Authorization header
  // unless the caller sends one.
  const upstream::TokenSource* tokens = nullptr;
  // Where HTTP results are decoded and calls finished, off the HTTP
  // client's thread. Required.
  Executor* executor = nullptr;
  // Where calls, upstream answers and shed calls are counted. Null: not
  // counted.
  GatewayMetrics* metrics = nullptr;
};

class Forwarder {
 public:
  Forwarder(ForwarderOptions options, ForwarderDependencies dependencies);

  // Reads the route of `method` from its descriptor. Call for every method
  // before serving.
  absl::Status AddMethod(const google::protobuf::MethodDescriptor* method);

  // Starts forwarding one call of `method`: `request` holds the serialized
  // request message and `response` receives the serialized response. Both
  // are owned by gRPC and live until the reactor finishes.
  grpc::ServerUnaryReactor* Forward(const google::protobuf::MethodDescriptor* method,
                                    grpc::CallbackServerContext* context,
                                    const grpc::ByteBuffer& request, grpc::ByteBuffer* response);

  // Says that the server is shutting down, so that calls gRPC cancels from
  // now on are logged UNAVAILABLE, as their callers see them, rather than
  // CANCELLED. Call before grpc::Server::Shutdown. Thread-safe.
  void BeginShutdown() { shutting_down_.store(true, std::memory_order_relaxed); }

  const ForwarderStats& stats() const { return stats_; }
  const ForwarderOptions& options() const { return options_; }
  // Calls in flight and waiting, and how many were shed.
  const AdmissionControl& admission() const { return admission_; }

 private:
  friend class ForwardCall;

  struct Method {
    std::unique_ptr<Route> route;
    // Each call makes its own request and response from these.
    const google::protobuf::Message* request_prototype;
    const google::protobuf::Message* response_prototype;
  };

  // The code a call's caller sees when gRPC cancels it under us.
  grpc::StatusCode CancelledCode(absl::Time call_deadline) const;
  // Answers a call that admission control refused: UNAVAILABLE at once,
  // logged (shed=true) and counted, with no parsing and no upstream work.
  grpc::ServerUnaryReactor* Shed(const Method& method, grpc::CallbackServerContext* context,
                                 AdmissionControl::Limit limit);
  // A finished call: counted in the metrics, if any, and logged, if
  // logging is on, with `code` as the code its caller saw.
  void ReportFinished(CallRecord record, grpc::StatusCode code);
  // Publishes the number of calls waiting for an upstream connection.
  void UpdateWaitingGauge();

  ForwarderOptions options_;
  upstream::HttpClient* http_;
  const upstream::TokenSource* tokens_;
  Executor* executor_;
  GatewayMetrics* metrics_;
  upstream::RetryPolicy retry_policy_;
  AdmissionControl admission_;
  CallLogSink log_sink_;
  absl::flat_hash_map<const google::protobuf::MethodDescriptor*, Method> methods_;
  ForwarderStats stats_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_FORWARDER_H_
