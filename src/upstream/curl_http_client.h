// CurlHttpClient: the HttpClient that talks to the REST upstream, built on
// libcurl's multi interface.
//
// A few event-loop threads (Options::event_loops, by default one per CPU)
// drive every exchange, so thousands of requests in flight cost sockets and
// memory, not threads, and throughput grows with cores. Start() and
// Cancel() only queue work for a loop and wake it. Connections are kept
// alive and reused across exchanges; https upstreams that offer HTTP/2 get
// it, with requests multiplexed over one connection per loop. TLS
// certificates and host names are always verified. Proxy settings in the
// environment are ignored and redirects are returned to the caller, not
// followed. (Resolving a host name not in libcurl's 60 s DNS cache may
// briefly use a helper thread of libcurl's threaded resolver; IP literals
// never do.)
//
// The parts: upstream/curl_transfer.h turns one request into a configured
// libcurl handle and its outcome into an HttpResult;
// upstream/curl_event_loop.h is one loop thread with its multi handle and
// connection pool; upstream/curl_trust.h decides the CA settings. This
// class validates options, owns the loops and routes calls to them.
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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace upstream {

// Forward declarations keep libcurl's headers out of the gateway's.
class CurlEventLoop;
class TrustSettings;

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

    // Most connections open at once, to all hosts together and over all
    // event loops: each loop gets an equal share (the remainder going to
    // the first loops), and there are never more loops than connections,
    // so the total holds exactly. Further requests wait for a free
    // connection of their loop (or, over HTTP/2, share one). Must be
    // positive.
    //
    // Why 1024: an HTTP/1.1 connection carries one request at a time, so
    // this is also how many HTTP/1.1 requests can be in flight; the rest
    // queue. With the former 64, 2,000 calls to an upstream taking 500 ms
    // took 17.4 s (2,000 / 64 rounds of 500 ms); at 1024 they take about
    // two rounds (1.4 s measured through the client alone, see
    // tests/upstream/curl_http_client_load_test.cc). It is also the limit Envoy uses by default for the same
    // purpose (its circuit breakers' max_connections and max_requests).
    // Each connection is a file descriptor: Create() raises the soft
    // RLIMIT_NOFILE to the hard limit if the soft one is lower than this
    // plus some headroom.
    int max_connections = 1024;

    // Event-loop threads, each with its own libcurl multi handle and
    // connection pool. 0: one per CPU this process may run on
    // (common/usable_cpus.h). Capped at max_connections. Must not be
    // negative.
    // Over HTTP/2 each loop opens its own connection to a host, so a
    // client has up to this many connections per https upstream.
    int event_loops = 0;
  };

  // Counters for monitoring and benchmarks.
  struct Stats {
    // New connections opened so far, summed over finished exchanges; far
    // below the number of exchanges when keep-alive reuse works.
    uint64_t connections_opened = 0;
    // Exchanges started whose callback has not yet returned.
    uint64_t in_flight = 0;
    // Upstream connections open now, idle ones included.
    int64_t open_connections = 0;
    // Event loops the client runs (Options::event_loops, resolved).
    int event_loops = 0;
  };

  // Creates a client and starts its event-loop threads. Returns
  // kInvalidArgument for bad options (including an unreadable ca_file) and
  // kInternal if libcurl cannot be initialised. May raise this process's
  // soft RLIMIT_NOFILE (see Options::max_connections).
  static absl::StatusOr<std::unique_ptr<CurlHttpClient>> Create(
      Options options);

  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  // Ends every exchange still in flight, running its callback (on a
  // client thread) with kCancelled, then stops and joins the threads. Must
  // not be called from a callback, nor concurrently with Start() or
  // Cancel() from other threads. (A callback run by this shutdown may
  // still call Start(); that exchange is cancelled too, its callback
  // running on the destroying thread if its loop has already stopped.)
  ~CurlHttpClient() override;

  // See HttpClient::Start(). Thread-safe. Requests go to the loops in
  // turn (round robin), and the id says which loop has it.
  uint64_t Start(HttpRequest request, Callback done) override;

  // See HttpClient::Cancel(). Thread-safe.
  void Cancel(uint64_t id) override;

  // A snapshot of the counters. Thread-safe.
  Stats stats() const;

 private:
  CurlHttpClient(std::shared_ptr<const TrustSettings> trust,
                 std::vector<std::unique_ptr<CurlEventLoop>> loops);

  CurlEventLoop& LoopOf(uint64_t id) const;

  // Shared with every transfer; outlives the loops.
  const std::shared_ptr<const TrustSettings> trust_;
  const std::vector<std::unique_ptr<CurlEventLoop>> loops_;
  // The next id; ids are 1, 2, 3... and id % loops_.size() is the loop.
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_CURL_HTTP_CLIENT_H_
