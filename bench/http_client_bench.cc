// http_client_bench: the upstream HTTP client (CurlHttpClient) alone,
// without gRPC, against a local upstream: how fast it completes requests
// and how much CPU it spends per request.
//
//   build-release/bench/http_client_bench --requests=20000 --concurrency=64
//
// Without --url, the upstream is tests/upstream/delay_server.h run in a
// forked child process, so the CPU time reported (this process's user +
// system time, getrusage RUSAGE_SELF) is the client's alone. With --url,
// any upstream (e.g. a local nginx) is used as is. Every request is a GET;
// `concurrency` requests are kept in flight, each completion starting the
// next. One JSON line is printed. Network: 127.0.0.1 only unless --url
// says otherwise; bounded by --timeout.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "../tests/upstream/delay_server.h"
#include "upstream/curl_http_client.h"

ABSL_FLAG(int, requests, 20000, "requests to complete (after a warm-up)");
ABSL_FLAG(int, concurrency, 64, "requests kept in flight");
ABSL_FLAG(int, event_loops, 1, "CurlHttpClient::Options::event_loops");
ABSL_FLAG(int, max_connections, 1024, "CurlHttpClient::Options::max_connections");
ABSL_FLAG(std::string, url, "", "upstream URL; empty: a forked DelayServer");
ABSL_FLAG(absl::Duration, delay, absl::ZeroDuration(),
          "the forked DelayServer's answer delay");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(120), "give up after this");

namespace {

using session_gateway::upstream::CurlHttpClient;
using session_gateway::upstream::DelayServer;
using session_gateway::upstream::HttpRequest;
using session_gateway::upstream::HttpResult;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) /
             1e6;
}

// Keeps `concurrency` requests in flight until `total` have completed.
class Driver {
 public:
  Driver(CurlHttpClient& client, std::string url)
      : client_(client), url_(std::move(url)) {}

  // Returns false on timeout.
  bool Run(int total, int concurrency, absl::Duration timeout) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      remaining_to_start_ = total;
      remaining_to_finish_ = total;
    }
    for (int i = 0; i < concurrency && i < total; ++i) StartOne();
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [this] { return remaining_to_finish_ == 0; });
  }

  uint64_t errors() const { return errors_.load(); }

 private:
  void StartOne() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (remaining_to_start_ == 0) return;
      --remaining_to_start_;
    }
    HttpRequest request;
    request.method = "GET";
    request.url = url_;
    request.headers = {{"Authorization", "Bearer bench-token"},
                       {"X-Request-Id", "bench"}};
    request.deadline = absl::Now() + absl::Seconds(60);
    client_.Start(std::move(request), [this](HttpResult result) {
      if (!result.status.ok() || result.response.status != 200) ++errors_;
      StartOne();
      std::lock_guard<std::mutex> lock(mu_);
      if (--remaining_to_finish_ == 0) cv_.notify_all();
    });
  }

  CurlHttpClient& client_;
  const std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_to_start_ = 0;
  int remaining_to_finish_ = 0;
  std::atomic<uint64_t> errors_{0};
};

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  std::string url = absl::GetFlag(FLAGS_url);
  pid_t child = -1;
  if (url.empty()) {
    absl::StatusOr<std::unique_ptr<DelayServer>> server =
        DelayServer::Create(absl::GetFlag(FLAGS_delay));
    if (!server.ok()) {
      std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
      return 1;
    }
    // Forked before any thread exists, so the child is a clean copy.
    child = fork();
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      (*server)->Serve();
      _exit(0);
    }
    url = absl::StrCat("http://127.0.0.1:", (*server)->port(),
                       "/payment-service-sessions?x=1");
  }

  CurlHttpClient::Options options;
  options.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.event_loops = absl::GetFlag(FLAGS_event_loops);
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(options);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 1;
  }
  const int requests = absl::GetFlag(FLAGS_requests);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const absl::Duration timeout = absl::GetFlag(FLAGS_timeout);

  // Warm-up: opens the connections and fills the handle pools.
  Driver warm_up(**client, url);
  bool ok = warm_up.Run(concurrency * 4, concurrency, timeout);

  Driver driver(**client, url);
  const double cpu_before = CpuSeconds();
  const absl::Time start = absl::Now();
  ok = ok && driver.Run(requests, concurrency, timeout);
  const double wall = absl::ToDoubleSeconds(absl::Now() - start);
  const double cpu = CpuSeconds() - cpu_before;
  const CurlHttpClient::Stats stats = (*client)->stats();
  client->reset();
  if (child > 0) {
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }
  std::printf(
      "{\"requests\":%d,\"concurrency\":%d,\"event_loops\":%d,"
      "\"completed\":%s,\"errors\":%llu,\"wall_s\":%.3f,\"req_per_s\":%.0f,"
      "\"cpu_us_per_req\":%.2f,\"connections_opened\":%llu}\n",
      requests, concurrency, absl::GetFlag(FLAGS_event_loops),
      ok ? "true" : "false", static_cast<unsigned long long>(driver.errors()),
      wall, requests / wall, cpu * 1e6 / requests,
      static_cast<unsigned long long>(stats.connections_opened));
  return ok && driver.errors() == 0 ? 0 : 1;
}
