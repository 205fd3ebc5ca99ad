// CurlEventLoop: one thread and one libcurl multi handle driving many
// transfers (upstream/curl_transfer.h) at once.
//
// The loop waits in epoll and tells libcurl only which sockets are ready
// (curl_multi_socket_action), so the cost of a wakeup follows the sockets
// that have work, not the number of transfers in flight, as it would with
// curl_multi_poll/curl_multi_perform.
//
// CurlHttpClient runs several of these (Options::event_loops) and spreads
// requests over them; each loop has its own connection pool, limited to
// its share of max_connections. Start() and Cancel() may be called from
// any thread: they only queue work and wake the loop. Everything else
// (curl calls, callbacks) happens on the loop's thread.
//
// Usage:
//
//   CurlEventLoop::Options options;
//   options.max_connections = 256;
//   options.trust = trust;  // std::shared_ptr<const TrustSettings>
//   absl::StatusOr<std::unique_ptr<CurlEventLoop>> loop =
//       CurlEventLoop::Create(options);
//   (*loop)->Start(id, std::move(request), std::move(done));
//   (*loop)->Cancel(id);
//   loop->reset();  // Cancels what is left; each callback runs once.
//
// Loops that may Start() work on each other (a callback on one loop
// starting a request that lands on another) must be shut down together:
// RequestStop() on all, then Join() on all, then DeliverLeftovers() until
// none has any, then destroy them.

#ifndef SESSION_GATEWAY_UPSTREAM_CURL_EVENT_LOOP_H_
#define SESSION_GATEWAY_UPSTREAM_CURL_EVENT_LOOP_H_

#include <curl/curl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "upstream/curl_transfer.h"
#include "upstream/curl_trust.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace upstream {

class CurlEventLoop {
 public:
  struct Options {
    TransferLimits limits;
    // Most connections this loop opens at once (to all hosts together),
    // and most idle ones it keeps for reuse. Must be positive.
    int max_connections = 1;
    // Shared by all loops of a client; never null.
    std::shared_ptr<const TrustSettings> trust;
  };

  // Creates the multi handle and starts the thread. kInternal if libcurl
  // refuses (curl_global_init must have run).
  static absl::StatusOr<std::unique_ptr<CurlEventLoop>> Create(
      Options options);

  CurlEventLoop(const CurlEventLoop&) = delete;
  CurlEventLoop& operator=(const CurlEventLoop&) = delete;

  // Stops (see RequestStop), joins and delivers leftovers. Must not run
  // on the loop's own thread.
  ~CurlEventLoop();

  // Queues an exchange. `id` must be unique among this loop's exchanges
  // and is what Cancel() names. `done` runs exactly once, on the loop's
  // thread (or, for a Start() that raced with shutdown, in
  // DeliverLeftovers()), never inside Start().
  void Start(uint64_t id, HttpRequest request, HttpClient::Callback done);

  // Queues a cancellation; unknown and finished ids are ignored.
  void Cancel(uint64_t id);

  // From now on every exchange, in flight or started later, ends with
  // kCancelled; the thread exits once none is left. Returns at once.
  void RequestStop();

  // Waits for the thread to exit (after RequestStop()).
  void Join();

  // After Join(): runs, on the calling thread, the callbacks of exchanges
  // started after the thread exited, with kCancelled. Returns whether it
  // ran any (a callback may have started more).
  bool DeliverLeftovers();

  // Connections opened so far, counted as exchanges finish.
  uint64_t connections_opened() const {
    return connections_opened_.load(std::memory_order_relaxed);
  }
  // Sockets libcurl has open now (connections, including idle ones kept
  // for reuse, and those still connecting), counted as libcurl opens and
  // closes them.
  int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }
  // Exchanges started whose callback has not returned.
  uint64_t in_flight() const {
    return in_flight_.load(std::memory_order_relaxed);
  }

 private:
  // One exchange from Start() until its callback has run.
  struct Exchange {
    Exchange(uint64_t exchange_id, HttpRequest request,
             HttpClient::Callback callback)
        : id(exchange_id),
          transfer(std::move(request)),
          done(std::move(callback)) {}
    const uint64_t id;
    Transfer transfer;
    HttpClient::Callback done;
  };
  struct Outcome {
    std::unique_ptr<Exchange> exchange;
    HttpResult result;
  };

  CurlEventLoop(Options options, CURLM* multi, int epoll_fd, int wake_fd);

  // libcurl's CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION.
  static int OnSocket(CURL* easy, curl_socket_t socket, int what, void* user,
                      void* socket_data);
  static int OnTimer(CURLM* multi, long timeout_ms, void* user);
  // libcurl's CURLOPT_OPENSOCKETFUNCTION and CURLOPT_CLOSESOCKETFUNCTION:
  // the default socket() and close(), counted in open_connections_.
  static curl_socket_t OnOpenSocket(void* user, curlsocktype purpose, curl_sockaddr* address);
  static int OnCloseSocket(void* user, curl_socket_t socket);

  void Run();
  // Waits for ready sockets, a wakeup or a timer, and hands the ready
  // sockets to libcurl.
  void WaitAndDispatch();
  bool TakeQueued(std::vector<Outcome>& outcomes);
  absl::Status Begin(Exchange& exchange);
  void CollectFinished(std::vector<Outcome>& outcomes);
  void ExpireOverdue(std::vector<Outcome>& outcomes);
  void Abandon(uint64_t id, absl::Status status,
               std::vector<Outcome>& outcomes);
  std::unique_ptr<Exchange> Deactivate(uint64_t id);
  void Release(Exchange& exchange);
  void Deliver(std::vector<Outcome>& outcomes);
  CURL* TakeHandle();
  void Recycle(CURL* easy);
  int WaitMillis() const;
  void Wake();

  const Options options_;
  CURLM* const multi_;  // Loop thread only.
  const int epoll_fd_;
  const int wake_fd_;  // An eventfd in epoll_fd_; Wake() writes to it.

  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<int64_t> open_connections_{0};

  // A plain std::mutex: ThreadSanitizer sees through it even when abseil
  // was built without TSan annotations (as Debian's is).
  std::mutex mu_;
  std::vector<std::unique_ptr<Exchange>> to_start_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> to_cancel_ ABSL_GUARDED_BY(mu_);
  // Set once a wakeup is owed to the loop, so a burst of Start() calls
  // costs one wakeup rather than one each.
  bool wakeup_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Loop thread only.
  // When libcurl wants curl_multi_socket_action(CURL_SOCKET_TIMEOUT).
  absl::Time curl_timer_ = absl::InfiniteFuture();
  UpstreamAddressCache addresses_;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Exchange>> active_;
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;
  std::vector<CURL*> idle_handles_;

  std::thread thread_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_CURL_EVENT_LOOP_H_
