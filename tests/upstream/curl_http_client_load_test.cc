// CurlHttpClient under load against upstreams in their own right on
// 127.0.0.1: thousands of HTTP/1.1 requests in flight at once
// (DelayServer), and HTTP/2 multiplexing against nginx.
//
// Times are printed (and recorded as test properties) for the record, never
// asserted: every wait is only bounded generously so a hang fails.

#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "delay_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/child_process.h"
#include "support/ports.h"
#include "support/socket_util.h"
#include "upstream/curl_http_client.h"

namespace session_gateway {
namespace upstream {
namespace {

// Counts outcomes of many exchanges and waits for all of them.
class Tally {
 public:
  explicit Tally(int expected) : remaining_(expected) {}

  HttpClient::Callback Callback() {
    return [this](HttpResult result) {
      std::lock_guard<std::mutex> lock(mu_);
      if (result.status.ok() && result.response.status == 200 &&
          result.response.body == "ok") {
        ++ok_;
      } else if (first_error_.empty()) {
        first_error_ = result.status.ok()
                           ? absl::StrCat("HTTP ", result.response.status)
                           : result.status.ToString();
      }
      if (--remaining_ == 0) cv_.notify_all();
    };
  }

  bool WaitAll(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [this] { return remaining_ == 0; });
  }

  int ok() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_;
  }
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return first_error_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_;
  int ok_ = 0;
  std::string first_error_;
};

TEST(CurlHttpClientLoadTest, TwoThousandInFlightAgainstASlowUpstream) {
  constexpr int kRequests = 2000;
  // The server holds a socket per request and the client one per
  // connection (up to max_connections = 1024), plus a little.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < 3500) {
    GTEST_SKIP() << "hard RLIMIT_NOFILE " << limit.rlim_max
                 << " is below the ~3,500 descriptors this test needs";
  }
  // Default options: the point is what the gateway gets out of the box.
  // Created before the server so that the client raises the soft limit.
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(CurlHttpClient::Options());
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < 3500) {
    // Raise it the rest of the way for the server's half.
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  absl::StatusOr<std::unique_ptr<DelayServer>> server =
      DelayServer::Create(absl::Milliseconds(500));
  ASSERT_TRUE(server.ok()) << server.status();
  std::thread serving([&] { (*server)->Serve(); });

  Tally tally(kRequests);
  const std::string url =
      absl::StrCat("http://127.0.0.1:", (*server)->port(), "/slow");
  const absl::Time start = absl::Now();
  for (int i = 0; i < kRequests; ++i) {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.deadline = start + absl::Seconds(60);
    (*client)->Start(std::move(request), tally.Callback());
  }
  const bool all_done = tally.WaitAll(absl::Seconds(90));
  const absl::Duration elapsed = absl::Now() - start;
  const CurlHttpClient::Stats stats = (*client)->stats();
  client->reset();
  (*server)->Stop();
  serving.join();

  ASSERT_TRUE(all_done) << "not all callbacks ran within 90 s";
  EXPECT_EQ(tally.ok(), kRequests) << "first error: " << tally.first_error();
  // Never more connections than the default limit.
  EXPECT_LE(stats.connections_opened, 1024u);
  EXPECT_LE((*server)->max_connections(), 1024);
  std::printf(
      "%d requests against a 500 ms upstream: %.2f s with %d event loops, "
      "%llu connections opened\n",
      kRequests, absl::ToDoubleSeconds(elapsed), stats.event_loops,
      static_cast<unsigned long long>(stats.connections_opened));
  ::testing::Test::RecordProperty(
      "elapsed_ms", std::to_string(absl::ToInt64Milliseconds(elapsed)));
}

// The nginx binary, or "" if none is installed.
std::string FindNginx() {
  for (const char* path : {"/usr/sbin/nginx", "/usr/local/sbin/nginx",
                           "/usr/bin/nginx", "/usr/local/nginx/sbin/nginx"}) {
    if (access(path, X_OK) == 0) return path;
  }
  return "";
}

// Runs a program to completion, bounded; true if it exited 0.
bool RunQuietly(const std::string& path, std::vector<std::string> args,
                std::string* diagnostics) {
  testing::ChildProcessOptions options;
  options.path = path;
  options.args = std::move(args);
  options.stderr_mode = testing::ChildProcessOptions::Stderr::kCaptureToFile;
  absl::StatusOr<std::unique_ptr<testing::ChildProcess>> child =
      testing::ChildProcess::Start(options);
  if (!child.ok()) {
    *diagnostics = child.status().ToString();
    return false;
  }
  absl::StatusOr<testing::ExitStatus> exit = (*child)->Wait(absl::Seconds(30));
  *diagnostics = (*child)->ReadStderr(4096);
  return exit.ok() && exit->ExitedWith(0);
}

// nginx serving https with HTTP/2 (ALPN) on a 127.0.0.1 port, with a
// throwaway certificate; stopped (SIGKILL at worst) when destroyed.
class NginxH2Server {
 public:
  // Skips the calling test if nginx is not installed.
  static std::unique_ptr<NginxH2Server> Start(std::string* error) {
    const std::string nginx = FindNginx();
    if (nginx.empty()) {
      *error = "nginx not installed";
      return nullptr;
    }
    auto server = std::unique_ptr<NginxH2Server>(new NginxH2Server);
    const std::string dir =
        absl::StrCat(::testing::TempDir(), "nginx-h2-", getpid());
    server->dir_ = dir;
    std::string diagnostics;
    if (!RunQuietly("/bin/mkdir", {"-p", dir + "/tmp"}, &diagnostics)) {
      *error = "mkdir: " + diagnostics;
      return nullptr;
    }
    server->cert_ = dir + "/cert.pem";
    const std::string key = dir + "/key.pem";
    if (!RunQuietly("/usr/bin/openssl",
                    {"req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                     "-subj", "/CN=session-gateway test", "-addext",
                     "subjectAltName=IP:127.0.0.1", "-addext",
                     "basicConstraints=critical,CA:TRUE", "-keyout", key,
                     "-out", server->cert_},
                    &diagnostics)) {
      *error = "openssl req: " + diagnostics;
      return nullptr;
    }
    server->port_ = testing::PickUnusedPort();
    // master_process off: one process to stop. More streams per
    // connection than nginx's default 128, so that the test measures the
    // client's multiplexing rather than nginx's limit.
    const std::string config = absl::StrCat(
        "daemon off;\nmaster_process off;\nworker_processes 1;\n",
        "pid ", dir, "/nginx.pid;\nerror_log stderr warn;\n",
        "events { worker_connections 1024; }\n",
        "http {\n  access_log off;\n",
        "  client_body_temp_path ", dir, "/tmp;\n",
        "  proxy_temp_path ", dir, "/tmp;\n",
        "  fastcgi_temp_path ", dir, "/tmp;\n",
        "  uwsgi_temp_path ", dir, "/tmp;\n",
        "  scgi_temp_path ", dir, "/tmp;\n",
        "  server {\n    listen 127.0.0.1:", server->port_, " ssl http2;\n",
        "    http2_max_concurrent_streams 1000;\n",
        "    ssl_certificate ", server->cert_, ";\n",
        "    ssl_certificate_key ", key, ";\n",
        "    location / { return 200 \"ok\"; }\n  }\n}\n");
    const std::string config_path = dir + "/nginx.conf";
    std::ofstream(config_path, std::ios::trunc) << config;
    testing::ChildProcessOptions options;
    options.path = nginx;
    options.args = {"-e", "stderr", "-p", dir, "-c", config_path};
    options.stderr_mode = testing::ChildProcessOptions::Stderr::kCaptureToFile;
    absl::StatusOr<std::unique_ptr<testing::ChildProcess>> child =
        testing::ChildProcess::Start(options);
    if (!child.ok()) {
      *error = child.status().ToString();
      return nullptr;
    }
    server->child_ = *std::move(child);
    // Ready once it accepts connections (nginx prints nothing when up).
    const absl::Time end = absl::Now() + absl::Seconds(10);
    while (!testing::ConnectLoopback(server->port_,
                                     absl::Now() + absl::Milliseconds(100))
                .ok()) {
      if (absl::Now() > end || server->child_->Wait(absl::ZeroDuration()).ok()) {
        *error = "nginx did not listen within 10 s: " +
                 server->child_->ReadStderr(4096);
        return nullptr;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return server;
  }

  ~NginxH2Server() {
    if (child_ != nullptr) child_->Terminate(absl::Seconds(5)).IgnoreError();
    std::string ignored;
    if (!dir_.empty()) RunQuietly("/bin/rm", {"-rf", dir_}, &ignored);
  }

  int port() const { return port_; }
  const std::string& cert() const { return cert_; }

 private:
  NginxH2Server() = default;

  std::string dir_;
  std::string cert_;
  int port_ = -1;
  std::unique_ptr<testing::ChildProcess> child_;
};

TEST(CurlHttpClientH2Test, ConcurrentRequestsShareAConnectionPerLoop) {
  std::string error;
  std::unique_ptr<NginxH2Server> nginx = NginxH2Server::Start(&error);
  if (nginx == nullptr && error == "nginx not installed") {
    GTEST_SKIP() << "nginx is not installed (apt-get install nginx; "
                    "scripts/install-deps.sh installs it)";
  }
  ASSERT_NE(nginx, nullptr) << error;

  CurlHttpClient::Options options;
  options.ca_file = nginx->cert();
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();

  constexpr int kRequests = 200;
  Tally tally(kRequests);
  const std::string url =
      absl::StrCat("https://127.0.0.1:", nginx->port(), "/session");
  const absl::Time start = absl::Now();
  for (int i = 0; i < kRequests; ++i) {
    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = "{}";
    request.deadline = start + absl::Seconds(30);
    (*client)->Start(std::move(request), tally.Callback());
  }
  ASSERT_TRUE(tally.WaitAll(absl::Seconds(60)));
  const absl::Duration elapsed = absl::Now() - start;
  const CurlHttpClient::Stats stats = (*client)->stats();

  EXPECT_EQ(tally.ok(), kRequests) << "first error: " << tally.first_error();
  // Over HTTP/1.1 these would have needed up to 200 connections.
  EXPECT_GE(stats.connections_opened, 1u);
  EXPECT_LE(stats.connections_opened, static_cast<uint64_t>(stats.event_loops));
  std::printf("%d concurrent h2 requests: %.3f s, %llu connections, %d loops\n",
              kRequests, absl::ToDoubleSeconds(elapsed),
              static_cast<unsigned long long>(stats.connections_opened),
              stats.event_loops);
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
