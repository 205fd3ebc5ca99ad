#include "upstream/curl_http_client.h"

#include <sys/resource.h>

#include <curl/curl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/usable_cpus.h"
#include "upstream/curl_event_loop.h"
#include "upstream/curl_transfer.h"
#include "upstream/curl_trust.h"

namespace session_gateway {
namespace upstream {
namespace {

// File descriptors the process is assumed to need besides upstream
// connections (gRPC's sockets, wakeup descriptors, logs, CA files).
constexpr rlim_t kSpareDescriptors = 256;

absl::Status GlobalInit() {
  // curl_global_init is not safe to race with itself or with other libcurl
  // calls on every build, so every client funnels through one call.
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return absl::InternalError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(result)));
  }
  return absl::OkStatus();
}

// Debian's default soft limit is 1024 descriptors, below what
// max_connections = 1024 needs; the hard limit (often 4096 or more) is ours
// to take. Best effort: if the hard limit is lower still, connections
// beyond it fail with kUnavailable rather than the client refusing to
// start.
void RaiseDescriptorLimit(int max_connections) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + kSpareDescriptors;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return;
  if (limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

int ResolveEventLoops(const CurlHttpClient::Options& options) {
  int loops = options.event_loops;
  if (loops == 0) loops = UsableCpus();
  return std::min(loops, options.max_connections);
}

}  // namespace

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    Options options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.max_connections <= 0) {
    return absl::InvalidArgumentError("max_connections must be positive");
  }
  if (options.event_loops < 0) {
    return absl::InvalidArgumentError("event_loops must not be negative");
  }
  if (absl::Status status = GlobalInit(); !status.ok()) return status;
  absl::StatusOr<TrustSettings> trust =
      TrustSettings::Load(options.ca_file, SystemCaLocations::FromCurl());
  if (!trust.ok()) return trust.status();
  auto shared_trust =
      std::make_shared<const TrustSettings>(*std::move(trust));
  RaiseDescriptorLimit(options.max_connections);

  const int loop_count = ResolveEventLoops(options);
  std::vector<std::unique_ptr<CurlEventLoop>> loops;
  loops.reserve(loop_count);
  for (int i = 0; i < loop_count; ++i) {
    CurlEventLoop::Options loop_options;
    loop_options.limits.max_response_bytes = options.max_response_bytes;
    loop_options.limits.connect_timeout = options.connect_timeout;
    // An equal share each; the remainder to the first loops.
    loop_options.max_connections = options.max_connections / loop_count +
                                   (i < options.max_connections % loop_count);
    loop_options.trust = shared_trust;
    absl::StatusOr<std::unique_ptr<CurlEventLoop>> loop =
        CurlEventLoop::Create(std::move(loop_options));
    if (!loop.ok()) return loop.status();  // Earlier loops stop as they go.
    loops.push_back(*std::move(loop));
  }
  return std::unique_ptr<CurlHttpClient>(
      new CurlHttpClient(std::move(shared_trust), std::move(loops)));
}

CurlHttpClient::CurlHttpClient(std::shared_ptr<const TrustSettings> trust,
                               std::vector<std::unique_ptr<CurlEventLoop>> loops)
    : trust_(std::move(trust)), loops_(std::move(loops)) {}

CurlHttpClient::~CurlHttpClient() {
  // Together, not one after another: a callback run by one loop's shutdown
  // may Start() an exchange on another, which must still exist.
  for (const auto& loop : loops_) loop->RequestStop();
  for (const auto& loop : loops_) loop->Join();
  for (bool any = true; any;) {
    any = false;
    for (const auto& loop : loops_) any = loop->DeliverLeftovers() || any;
  }
}

CurlEventLoop& CurlHttpClient::LoopOf(uint64_t id) const {
  return *loops_[id % loops_.size()];
}

// Round robin rather than least-loaded: the requests are alike (one
// upstream, similar sizes), so turns keep the loops evenly busy; choosing
// costs one atomic increment with no reads of other loops' counters; and
// the loop comes for free from the id, so Cancel() needs no lookup table.
uint64_t CurlHttpClient::Start(HttpRequest request, Callback done) {
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  LoopOf(id).Start(id, std::move(request), std::move(done));
  return id;
}

void CurlHttpClient::Cancel(uint64_t id) {
  if (id == 0) return;
  LoopOf(id).Cancel(id);
}

CurlHttpClient::Stats CurlHttpClient::stats() const {
  Stats stats;
  for (const auto& loop : loops_) {
    stats.connections_opened += loop->connections_opened();
    stats.in_flight += loop->in_flight();
    stats.open_connections += loop->open_connections();
  }
  stats.event_loops = static_cast<int>(loops_.size());
  return stats;
}

}  // namespace upstream
}  // namespace session_gateway
