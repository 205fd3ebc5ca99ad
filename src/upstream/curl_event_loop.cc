#include "upstream/curl_event_loop.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"


namespace session_gateway {
namespace upstream {
namespace {

// Idle easy handles kept for reuse (curl_easy_reset) by this loop. Reuse
// saves libcurl's allocation and set-up of a handle: about 9,500
// instructions of ~106,000 per request (callgrind, 64 in flight, against
// nginx: 115,937 / 115,186 without the pool, 106,281 / 105,647 with it).
// Beyond this many idle handles they are freed: in steady state a loop
// recycles a handle and takes it back for the next request, so a few
// suffice, and a burst's worth is not worth keeping.
constexpr size_t kMaxPooledHandles = 32;

// Upper bound on one epoll wait. Wakeups and curl's own timers normally
// end the wait much sooner; this only bounds how stale the loop can get if
// a wakeup were ever lost.
constexpr int kMaxWaitMillis = 1000;

// Ready sockets handled per epoll_wait; more just take another round.
constexpr int kMaxEvents = 256;

// Marks a socket as registered with epoll (curl_multi_assign).
char kRegistered;

}  // namespace

absl::StatusOr<std::unique_ptr<CurlEventLoop>> CurlEventLoop::Create(
    Options options) {
  if (options.max_connections <= 0 || options.trust == nullptr) {
    return absl::InvalidArgumentError("bad CurlEventLoop::Options");
  }
  CURLM* multi = curl_multi_init();
  if (multi == nullptr) return absl::InternalError("curl_multi_init failed");
  const long max_connections = options.max_connections;
  CURLMcode rc =
      curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_connections);
  // Keep as many idle connections cached as may be open, so a burst that
  // opened them can be followed by another that reuses them all.
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_connections);
  }
  if (rc == CURLM_OK) {
    rc = curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  }
  if (rc != CURLM_OK) {
    curl_multi_cleanup(multi);
    return absl::InternalError(
        absl::StrCat("curl_multi_setopt failed: ", curl_multi_strerror(rc)));
  }
  const int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  const int wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.fd = wake_fd;
  if (epoll_fd < 0 || wake_fd < 0 ||
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &wake_event) != 0) {
    const int error = errno;
    if (epoll_fd >= 0) close(epoll_fd);
    if (wake_fd >= 0) close(wake_fd);
    curl_multi_cleanup(multi);
    return absl::InternalError(
        absl::StrCat("cannot create the event loop's epoll: errno ", error));
  }
  std::unique_ptr<CurlEventLoop> loop(
      new CurlEventLoop(std::move(options), multi, epoll_fd, wake_fd));
  // Callbacks point at the loop, so they are set once it exists.
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &CurlEventLoop::OnSocket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop.get());
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &CurlEventLoop::OnTimer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop.get());
  loop->thread_ = std::thread([raw = loop.get()] { raw->Run(); });
  return loop;
}

CurlEventLoop::CurlEventLoop(Options options, CURLM* multi, int epoll_fd,
                             int wake_fd)
    : options_(std::move(options)),
      multi_(multi),
      epoll_fd_(epoll_fd),
      wake_fd_(wake_fd) {}

CurlEventLoop::~CurlEventLoop() {
  RequestStop();
  Join();
  while (DeliverLeftovers()) {
  }
  for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
  curl_multi_cleanup(multi_);
  close(epoll_fd_);
  close(wake_fd_);
}

void CurlEventLoop::Start(uint64_t id, HttpRequest request,
                          HttpClient::Callback done) {
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  auto exchange =
      std::make_unique<Exchange>(id, std::move(request), std::move(done));
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    to_start_.push_back(std::move(exchange));
    wake = !wakeup_requested_;
    wakeup_requested_ = true;
  }
  if (wake) Wake();
}

void CurlEventLoop::Cancel(uint64_t id) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    to_cancel_.push_back(id);
    wake = !wakeup_requested_;
    wakeup_requested_ = true;
  }
  if (wake) Wake();
}

void CurlEventLoop::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  Wake();
}

void CurlEventLoop::Join() {
  if (thread_.joinable()) thread_.join();
}

bool CurlEventLoop::DeliverLeftovers() {
  std::vector<Outcome> outcomes;
  TakeQueued(outcomes);  // Stopping: every start becomes a cancellation.
  const bool any = !outcomes.empty();
  Deliver(outcomes);
  return any;
}

void CurlEventLoop::Wake() {
  const uint64_t one = 1;
  // Fails only if the counter is about to overflow: it is non-zero then,
  // so the loop wakes anyway.
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof(one));
}

int CurlEventLoop::OnSocket(CURL* /*easy*/, curl_socket_t socket, int what,
                            void* user, void* socket_data) {
  CurlEventLoop& loop = *static_cast<CurlEventLoop*>(user);
  if (what == CURL_POLL_REMOVE) {
    // curl may already have closed it, which removed it from epoll.
    epoll_ctl(loop.epoll_fd_, EPOLL_CTL_DEL, socket, nullptr);
    return 0;
  }
  epoll_event event{};
  event.data.fd = socket;
  if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) event.events |= EPOLLIN;
  if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) {
    event.events |= EPOLLOUT;
  }
  if (socket_data == nullptr) {
    if (epoll_ctl(loop.epoll_fd_, EPOLL_CTL_ADD, socket, &event) != 0 &&
        errno == EEXIST) {
      // A new connection reusing the number of a closed one that curl
      // never reported removed.
      epoll_ctl(loop.epoll_fd_, EPOLL_CTL_MOD, socket, &event);
    }
    curl_multi_assign(loop.multi_, socket, &kRegistered);
  } else {
    epoll_ctl(loop.epoll_fd_, EPOLL_CTL_MOD, socket, &event);
  }
  return 0;
}

int CurlEventLoop::OnTimer(CURLM* /*multi*/, long timeout_ms, void* user) {
  CurlEventLoop& loop = *static_cast<CurlEventLoop*>(user);
  loop.curl_timer_ = timeout_ms < 0
                         ? absl::InfiniteFuture()
                         : absl::Now() + absl::Milliseconds(timeout_ms);
  return 0;
}

void CurlEventLoop::Run() {
  std::vector<Outcome> outcomes;
  for (;;) {
    const bool stopping = TakeQueued(outcomes);
    if (stopping) {
      while (!active_.empty()) {
        Abandon(active_.begin()->first,
                absl::CancelledError(
                    "HTTP client shut down before the upstream answered"),
                outcomes);
      }
    } else {
      if (curl_timer_ <= absl::Now()) {
        curl_timer_ = absl::InfiniteFuture();
        int running = 0;
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
      CollectFinished(outcomes);
      ExpireOverdue(outcomes);
    }
    // Callbacks run with no lock held and outside any curl call, so they
    // are free to Start() or Cancel() more exchanges.
    Deliver(outcomes);
    if (stopping) {
      std::lock_guard<std::mutex> lock(mu_);
      if (to_start_.empty() && to_cancel_.empty()) return;
      continue;
    }
    WaitAndDispatch();
  }
}

void CurlEventLoop::WaitAndDispatch() {
  epoll_event events[kMaxEvents];
  const int n = epoll_wait(epoll_fd_, events, kMaxEvents, WaitMillis());
  if (n < 0 && errno != EINTR) {
    // Should not happen; do not spin if it does.
    absl::SleepFor(absl::Milliseconds(10));
    return;
  }
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wake_fd_) {
      uint64_t count;
      [[maybe_unused]] ssize_t ignored = read(wake_fd_, &count, sizeof(count));
      continue;
    }
    int flags = 0;
    if (events[i].events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events[i].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    int running = 0;
    curl_multi_socket_action(multi_, fd, flags, &running);
  }
}

// Moves queued work into curl; returns whether the loop is stopping.
bool CurlEventLoop::TakeQueued(std::vector<Outcome>& outcomes) {
  std::vector<std::unique_ptr<Exchange>> starts;
  std::vector<uint64_t> cancels;
  bool stopping;
  {
    std::lock_guard<std::mutex> lock(mu_);
    starts.swap(to_start_);
    cancels.swap(to_cancel_);
    wakeup_requested_ = false;
    stopping = stopping_;
  }
  // Starts first: a Cancel() can only name an id whose Start() was queued
  // earlier, possibly in this same batch.
  for (std::unique_ptr<Exchange>& exchange : starts) {
    if (stopping) {
      outcomes.push_back(
          {std::move(exchange),
           {absl::CancelledError("HTTP client shut down"), {}, false}});
      continue;
    }
    absl::Status status = Begin(*exchange);
    if (!status.ok()) {
      outcomes.push_back({std::move(exchange), {std::move(status), {}, false}});
      continue;
    }
    const uint64_t id = exchange->id;
    deadlines_.emplace(exchange->transfer.request().deadline, id);
    active_.emplace(id, std::move(exchange));
  }
  for (uint64_t id : cancels) {
    if (active_.contains(id)) {
      Abandon(id, absl::CancelledError("upstream request cancelled"),
              outcomes);
    }
  }
  return stopping;
}

curl_socket_t CurlEventLoop::OnOpenSocket(void* user, curlsocktype /*purpose*/,
                                          curl_sockaddr* address) {
  const curl_socket_t fd =
      socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd != CURL_SOCKET_BAD) {
    static_cast<CurlEventLoop*>(user)->open_connections_.fetch_add(1, std::memory_order_relaxed);
  }
  return fd;
}

int CurlEventLoop::OnCloseSocket(void* user, curl_socket_t socket) {
  static_cast<CurlEventLoop*>(user)->open_connections_.fetch_sub(1, std::memory_order_relaxed);
  return close(socket);
}

// Configures a transfer for `exchange` and hands it to curl.
absl::Status CurlEventLoop::Begin(Exchange& exchange) {
  CURL* easy = TakeHandle();
  if (easy == nullptr) return absl::ResourceExhaustedError("out of memory");
  absl::Status status = exchange.transfer.Configure(
      easy, options_.limits, *options_.trust, absl::Now(), &addresses_);
  if (status.ok() &&
      curl_easy_setopt(easy, CURLOPT_PRIVATE, &exchange) != CURLE_OK) {
    status = absl::InternalError("cannot set CURLOPT_PRIVATE");
  }
  // Counting sockets as libcurl opens and closes them is the only exact
  // count of open connections it allows (idle ones in its pool included).
  // A connection keeps the close callback of the handle that opened it,
  // and every handle of this loop points at the loop, which outlives them.
  if (status.ok() &&
      (curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &CurlEventLoop::OnOpenSocket) != CURLE_OK ||
       curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this) != CURLE_OK ||
       curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlEventLoop::OnCloseSocket) != CURLE_OK ||
       curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this) != CURLE_OK)) {
    status = absl::InternalError("cannot set the socket callbacks");
  }
  if (status.ok() && curl_multi_add_handle(multi_, easy) != CURLM_OK) {
    status = absl::InternalError("curl_multi_add_handle failed");
  }
  if (!status.ok()) Recycle(easy);
  return status;
}

void CurlEventLoop::CollectFinished(std::vector<Outcome>& outcomes) {
  int pending = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_, &pending)) {
    if (message->msg != CURLMSG_DONE) continue;
    // `message` dies with the handle's removal below; copy what is needed.
    CURL* easy = message->easy_handle;
    const CURLcode code = message->data.result;
    char* private_data = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private_data);
    const uint64_t id = reinterpret_cast<Exchange*>(private_data)->id;
    std::unique_ptr<Exchange> exchange = Deactivate(id);
    HttpResult result = exchange->transfer.Complete(code, absl::Now());
    Release(*exchange);
    outcomes.push_back({std::move(exchange), std::move(result)});
  }
}

// Backstop for curl's own CURLOPT_TIMEOUT_MS, which does not cover time a
// transfer spends queued for a free connection.
void CurlEventLoop::ExpireOverdue(std::vector<Outcome>& outcomes) {
  const absl::Time now = absl::Now();
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    const uint64_t id = deadlines_.begin()->second;
    Abandon(id, active_.at(id)->transfer.DeadlineExceeded(), outcomes);
  }
}

// Ends an active exchange early with `status`.
void CurlEventLoop::Abandon(uint64_t id, absl::Status status,
                            std::vector<Outcome>& outcomes) {
  std::unique_ptr<Exchange> exchange = Deactivate(id);
  HttpResult result = exchange->transfer.Abandon(std::move(status));
  // Removing an unfinished HTTP/1.1 transfer makes curl close its
  // connection (its state is unknown); an HTTP/2 stream gets reset.
  Release(*exchange);
  outcomes.push_back({std::move(exchange), std::move(result)});
}

std::unique_ptr<CurlEventLoop::Exchange> CurlEventLoop::Deactivate(
    uint64_t id) {
  auto it = active_.find(id);
  std::unique_ptr<Exchange> exchange = std::move(it->second);
  active_.erase(it);
  deadlines_.erase({exchange->transfer.request().deadline, id});
  return exchange;
}

// Detaches the exchange's handle from curl, counting its connections.
void CurlEventLoop::Release(Exchange& exchange) {
  CURL* easy = exchange.transfer.easy();
  long connects = 0;
  if (curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK) {
    connections_opened_.fetch_add(static_cast<uint64_t>(connects),
                                  std::memory_order_relaxed);
  }
  curl_multi_remove_handle(multi_, easy);
  Recycle(easy);
}

void CurlEventLoop::Deliver(std::vector<Outcome>& outcomes) {
  for (Outcome& outcome : outcomes) {
    if (outcome.exchange->done) {
      std::move(outcome.exchange->done)(std::move(outcome.result));
    }
    outcome.exchange.reset();
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  }
  outcomes.clear();
}

CURL* CurlEventLoop::TakeHandle() {
  if (idle_handles_.empty()) return curl_easy_init();
  CURL* easy = idle_handles_.back();
  idle_handles_.pop_back();
  return easy;
}

void CurlEventLoop::Recycle(CURL* easy) {
  if (idle_handles_.size() >= kMaxPooledHandles) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  idle_handles_.push_back(easy);
}

// Until curl's timer or the first deadline, whichever comes first.
int CurlEventLoop::WaitMillis() const {
  absl::Time until = curl_timer_;
  if (!deadlines_.empty()) until = std::min(until, deadlines_.begin()->first);
  if (until == absl::InfiniteFuture()) return kMaxWaitMillis;
  const absl::Duration wait = until - absl::Now();
  if (wait <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))),
      kMaxWaitMillis));
}

}  // namespace upstream
}  // namespace session_gateway
