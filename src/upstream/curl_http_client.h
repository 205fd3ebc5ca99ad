// CurlHttpClient: the HttpClient that talks to the REST upstream, built on
// libcurl's multi interface.
//
// One event-loop thread per client drives every exchange, so thousands of
// requests in flight cost sockets and memory, not threads. Start() and
// Cancel() only queue work for that thread and wake it. Connections are kept
// alive and reused across exchanges; https upstreams that offer HTTP/2 get it,
// with requests multiplexed over one connection. TLS certificates and host
// names are always verified. Proxy settings in the environment are ignored
// and redirects are returned to the caller, not followed. (Resolving a host
// name not in libcurl's 60 s DNS cache may briefly use a helper thread of
// libcurl's threaded resolver; IP literals never do.)
//
// Usage:
//
//   CurlHttpClient::Options options;
//   options.connect_timeout = absl::Seconds(2);
//   absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
//       CurlHttpClient::Create(options);
//   if (!client.ok()) return client.status();
//   HttpRequest request;
//   request.method = "GET";
//   request.url = "https://api.example.com/health";
//   (*client)->Start(std::move(request), [](HttpResult result) { ... });
//
// Typically one client serves the whole process; see upstream/http_client.h
// for the callback contract.

#ifndef SESSION_GATEWAY_UPSTREAM_CURL_HTTP_CLIENT_H_
#define SESSION_GATEWAY_UPSTREAM_CURL_HTTP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace upstream {

class CurlHttpClient final : public HttpClient {
 public:
  struct Options {
    // Largest response body accepted, in bytes. A response announcing or
    // delivering more ends the exchange with kResourceExhausted as soon as
    // that is known; nothing beyond the limit is buffered.
    size_t max_response_bytes = size_t{16} << 20;

    // Path of a PEM file with CA certificates to trust for https in
    // addition to the system's CA store (for example a private CA of the
    // upstream). Empty: the system store only.
    std::string ca_file;

    // How long establishing a connection (TCP and TLS handshake) may take.
    // Must be positive. A request's deadline still applies if sooner.
    absl::Duration connect_timeout = absl::Seconds(10);

    // Most connections open at once, to all hosts together. Further
    // requests wait for a free connection (or, over HTTP/2, share one).
    // Must be positive.
    int max_connections = 64;
  };

  // Counters for monitoring and benchmarks.
  struct Stats {
    // New connections opened so far, summed over finished exchanges; far
    // below the number of exchanges when keep-alive reuse works.
    uint64_t connections_opened = 0;
    // Exchanges started whose callback has not yet returned.
    uint64_t in_flight = 0;
  };

  // Creates a client and starts its event-loop thread. Returns
  // kInvalidArgument for bad options (including an unreadable ca_file) and
  // kInternal if libcurl cannot be initialised.
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(
      Options options);

  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Ends every exchange still in flight, running its callback (on the
  // client's thread) with kCancelled, then stops and joins the thread. Must
  // not be called from a callback, nor concurrently with Start() or
  // Cancel().
  ~CurlHttpClient() override;

  // See HttpClient::Start(). Thread-safe.
  uint64_t Start(HttpRequest request, Callback done) override;

  // See HttpClient::Cancel(). Thread-safe.
  void Cancel(uint64_t id) override;

  // A snapshot of the counters. Thread-safe.
  Stats stats() const;

 private:
  class Loop;

  explicit CurlHttpClient(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_CURL_HTTP_CLIENT_H_
