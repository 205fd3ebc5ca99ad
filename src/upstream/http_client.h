// An asynchronous HTTP client interface: the gateway's only way to reach the
// REST upstream.
//
// Each gRPC reactor starts one exchange and gets its outcome through a
// callback, so no gRPC thread ever blocks on the network and thousands of
// upstream requests can be in flight at once. CurlHttpClient
// (upstream/curl_http_client.h) is the production implementation; tests of
// the layers above can substitute a fake.
//
// Usage:
//
//   session_gateway::upstream::HttpRequest request;
//   request.method = "POST";
//   request.url = "https://api.example.com/payment-service-sessions";
//   request.headers = {{"Content-Type", "application/json"},
//                      {"Authorization", "Bearer " + token}};
//   request.body = json;
//   request.deadline = absl::Now() + absl::Seconds(5);
//   uint64_t id = client.Start(
//       std::move(request), [reactor](HttpResult result) {
//         // Runs later, on one of the client's own threads.
//         if (!result.status.ok()) {
//           // result.request_sent == false: retrying is always safe.
//           reactor->Fail(result.status);
//           return;
//         }
//         reactor->Reply(result.response.status, result.response.body);
//       });
//   ...
//   client.Cancel(id);  // e.g. when the gRPC call is cancelled
//
// Implementations are thread-safe: Start() and Cancel() may be called from
// any thread, including from inside a callback.

#ifndef SESSION_GATEWAY_UPSTREAM_HTTP_CLIENT_H_
#define SESSION_GATEWAY_UPSTREAM_HTTP_CLIENT_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/time/time.h"

namespace session_gateway {
namespace upstream {

// One HTTP request to send.
struct HttpRequest {
  // An HTTP method token such as "GET", "POST", "PUT", "PATCH", "DELETE".
  std::string method = "POST";

  // Absolute http:// or https:// URL.
  std::string url;

  // Sent as given, in order. The client adds only what HTTP itself needs
  // (Host, Content-Length); it adds no Accept, Content-Type or Expect header
  // of its own. Names and values must not contain CR or LF.
  std::vector<std::pair<std::string, std::string>> headers;

  // Request body; sent (with Content-Length) whenever non-empty, and for
  // POST, PUT and PATCH even when empty.
  std::string body;

  // The whole exchange (connect, send, receive) must finish by then.
  absl::Time deadline = absl::InfiniteFuture();
};

// One HTTP response as received.
struct HttpResponse {
  // The final status code, e.g. 200 or 404.
  int status = 0;

  // Headers of the final response, in the order received, names lowercased.
  std::vector<std::pair<std::string, std::string>> headers;

  // The body exactly as received (no content decoding).
  std::string body;
};

// Outcome of one exchange.
struct HttpResult {
  // OK iff a complete HTTP response arrived, whatever its status code.
  // Otherwise one of: kDeadlineExceeded, kUnavailable (network, protocol or
  // TLS failure), kResourceExhausted (response too large), kInvalidArgument
  // (bad URL, method or header), kCancelled. Messages may name the upstream
  // host and port but never contain header values or bodies.
  absl::Status status;

  // Valid iff status.ok().
  HttpResponse response;

  // False only when no byte of the request reached the connection (for
  // example, the connection was refused), so the request is always safe to
  // retry. True when the upstream may have seen any part of it.
  bool request_sent = false;
};

// Sends HTTP requests asynchronously. Implementations are thread-safe.
class HttpClient {
 public:
  // Receives the outcome of one exchange.
  using Callback = absl::AnyInvocable<void(HttpResult) &&>;

  virtual ~HttpClient() = default;

  // Starts an exchange and returns an id for Cancel(); ids are never 0 and
  // never reused by one client. `done` must be non-empty. It runs exactly
  // once, on one of the client's own threads and never inline inside
  // Start(), even when the request is rejected outright (bad URL, deadline
  // already passed). Callbacks should be quick: each client thread serves
  // many other exchanges too. They may call Start() and Cancel() but must
  // not destroy the client.
  virtual uint64_t Start(HttpRequest request, Callback done) = 0;

  // Asks for an exchange to end early. Unless its callback has already run
  // or is running, the callback runs soon, on a client thread, with
  // absl::CancelledError, and the upstream sees the request abandoned
  // (an HTTP/1.1 connection is closed, an HTTP/2 stream is reset). Unknown
  // and finished ids are ignored.
  virtual void Cancel(uint64_t id) = 0;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_HTTP_CLIENT_H_
