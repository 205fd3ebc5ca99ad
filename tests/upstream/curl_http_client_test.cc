// Tests CurlHttpClient against real HTTP and HTTPS servers (cpp-httplib) on
// 127.0.0.1: the servers live in the test process, but every byte goes
// through the loopback network stack.

#include "upstream/curl_http_client.h"

#include <dirent.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace upstream {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAreArray;

// Longest any single wait in these tests may take before it counts as a
// hang; every test is meant to finish far sooner.
constexpr absl::Duration kPatience = absl::Seconds(8);

// A one-shot event. Plain std primitives rather than absl::Notification,
// so ThreadSanitizer understands the synchronisation even with a Debian
// (uninstrumented) abseil.
class Flag {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool IsSet() {
    std::lock_guard<std::mutex> lock(mu_);
    return set_;
  }
  bool WaitFor(absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                        [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Headers httplib adds to every request it records, or that HTTP itself
// requires; anything else the server sees must have come from the caller.
bool IsTransportHeader(absl::string_view lowercase_name) {
  return lowercase_name == "host" || lowercase_name == "content-length" ||
         lowercase_name == "remote_addr" || lowercase_name == "remote_port" ||
         lowercase_name == "local_addr" || lowercase_name == "local_port";
}

// A request as the server received it.
struct SeenRequest {
  std::string method;
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// An httplib server on an ephemeral 127.0.0.1 port with the routes the
// tests use, serving from a background thread until destroyed.
class LoopbackServer {
 public:
  // `keep_alive_max_count`: requests served per connection before the
  // server answers "Connection: close" and closes it.
  explicit LoopbackServer(std::unique_ptr<httplib::Server> server,
                          size_t keep_alive_max_count = 1000)
      : server_(std::move(server)) {
    // The default pool (8 threads) ties a thread to each keep-alive
    // connection, which would serialise the concurrency test.
    server_->new_task_queue = [] { return new httplib::ThreadPool(96); };
    server_->set_keep_alive_max_count(keep_alive_max_count);
    // Otherwise Nagle holds the body back until the client acknowledges
    // the headers, which delayed ACKs put off by 40 ms.
    server_->set_tcp_nodelay(true);
    // Also how long a fresh connection may wait for its first request, so
    // not too short for a loaded machine. Tests close their clients before
    // stopping the server, so it never delays shutdown.
    server_->set_keep_alive_timeout(5);
    // A TLS ClientHello sent to this plain server is read as the start of
    // a request line; unless it happens to contain a newline, the server
    // waits this long before giving up on it.
    server_->set_read_timeout(1, 0);
    server_->set_socket_options([this](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      listen_socket_ = sock;
    });
    AddRoutes();
    port_ = server_->bind_to_any_port("127.0.0.1");
    // httplib listens with a backlog of 5; a burst of 64 connects would
    // overflow it and stall in SYN retransmits. Listening again on a
    // listening socket just raises the backlog.
    if (listen_socket_ >= 0) listen(listen_socket_, SOMAXCONN);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // stop() is a no-op until the listening thread has marked the server
    // running; stopping before that would leave it listening forever.
    const absl::Time end = absl::Now() + kPatience;
    while (!server_->is_running() && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }

  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  ~LoopbackServer() {
    release_.Set();
    server_->stop();
    thread_.join();
  }

  int port() const { return port_; }

  std::string Url(absl::string_view path, absl::string_view scheme = "http") {
    return absl::StrCat(scheme, "://127.0.0.1:", port_, path);
  }

  std::vector<SeenRequest> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  int requests() const { return requests_.load(); }
  int max_concurrency() const { return max_concurrency_.load(); }

  // Waits until `n` handlers of /sleep are running at the same time.
  bool WaitForSleepers(int n) {
    const absl::Time end = absl::Now() + kPatience;
    while (sleepers_.load() < n) {
      if (absl::Now() > end) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  // Set once /stream has started sending its body; and once a chunk write
  // failed because the client went away.
  Flag& stream_started() { return stream_started_; }
  Flag& stream_closed() { return stream_closed_; }

 private:
  void AddRoutes() {
    const auto echo = [this](const httplib::Request& req,
                             httplib::Response& res) {
      Count();
      SeenRequest seen{req.method, req.path, {}, req.body};
      for (const auto& [name, value] : req.headers) {
        seen.headers.emplace_back(name, value);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(std::move(seen));
      }
      res.status = 201;
      res.set_header("X-Reply-Header", "yes");
      res.set_content("echo:" + req.body, "text/plain");
    };
    server_->Post("/echo", echo);
    server_->Put("/echo", echo);
    server_->Patch("/echo", echo);
    server_->Delete("/echo", echo);

    server_->Get("/status/(\\d+)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   Count();
                   res.status = std::stoi(req.matches[1]);
                   res.set_header("X-Reply-Header", "yes");
                   res.set_header("X-Multi", "a");
                   res.set_header("X-Multi", "b");
                   res.set_content("status body", "text/plain");
                 });

    server_->Get("/hello",
                 [this](const httplib::Request&, httplib::Response& res) {
                   Count();
                   res.set_content("hello", "text/plain");
                 });

    server_->Get("/redirect",
                 [this](const httplib::Request&, httplib::Response& res) {
                   Count();
                   res.set_redirect("/hello");
                 });

    // Answers after a short delay, recording how many run at once.
    server_->Get("/work/(\\d+)", [this](const httplib::Request& req,
                                        httplib::Response& res) {
      Count();
      const int now = ++concurrency_;
      int seen_max = max_concurrency_.load();
      while (now > seen_max &&
             !max_concurrency_.compare_exchange_weak(seen_max, now)) {
      }
      absl::SleepFor(absl::Milliseconds(20));
      --concurrency_;
      res.set_content(req.matches[1], "text/plain");
    });

    // Stalls for 5 s, or until the server shuts down.
    server_->Get("/sleep",
                 [this](const httplib::Request&, httplib::Response& res) {
                   Count();
                   ++sleepers_;
                   release_.WaitFor(absl::Seconds(5));
                   --sleepers_;
                   res.set_content("late", "text/plain");
                 });

    server_->Get("/big/(\\d+)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   Count();
                   res.set_content(std::string(std::stoul(req.matches[1]), 'x'),
                                   "application/octet-stream");
                 });

    // The same without Content-Length, so the size is only known as the
    // body arrives.
    server_->Get("/chunked/(\\d+)",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   Count();
                   const size_t total = std::stoul(req.matches[1]);
                   res.set_chunked_content_provider(
                       "application/octet-stream",
                       [total](size_t offset, httplib::DataSink& sink) {
                         if (offset >= total) {
                           sink.done();
                           return true;
                         }
                         const std::string chunk(
                             std::min<size_t>(1024, total - offset), 'y');
                         return sink.write(chunk.data(), chunk.size());
                       });
                 });

    // Streams a tick every 10 ms until the client goes away (or 5 s pass).
    server_->Get("/stream",
                 [this](const httplib::Request&, httplib::Response& res) {
                   Count();
                   res.set_chunked_content_provider(
                       "text/plain", [this](size_t, httplib::DataSink& sink) {
                         stream_started_.Set();
                         const absl::Time end = absl::Now() + absl::Seconds(5);
                         while (absl::Now() < end && !release_.IsSet()) {
                           if (!sink.write("tick\n", 5)) {
                             stream_closed_.Set();
                             return false;
                           }
                           absl::SleepFor(absl::Milliseconds(10));
                         }
                         sink.done();
                         return true;
                       });
                 });
  }

  void Count() { ++requests_; }

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = -1;
  int listen_socket_ = -1;

  std::mutex mu_;
  std::vector<SeenRequest> seen_;  // Guarded by mu_.

  std::atomic<int> requests_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<int> concurrency_{0};
  std::atomic<int> max_concurrency_{0};
  Flag release_;
  Flag stream_started_;
  Flag stream_closed_;
};

// Collects the outcome of one exchange and checks the callback contract.
class Catcher {
 public:
  // The callback shares the state, so it stays safe to run even after a
  // failed assertion has ended the test and destroyed the Catcher.
  HttpClient::Callback Callback() {
    return [state = state_](HttpResult result) {
      std::lock_guard<std::mutex> lock(state->mu);
      ++state->calls;
      state->thread = std::this_thread::get_id();
      state->result = std::move(result);
      state->cv.notify_all();
    };
  }

  // The result, once the callback ran; fails the test if it does not run
  // within kPatience.
  HttpResult Wait() {
    std::unique_lock<std::mutex> lock(state_->mu);
    EXPECT_TRUE(state_->cv.wait_for(lock, absl::ToChronoMilliseconds(kPatience),
                                    [this] { return state_->calls > 0; }))
        << "callback did not run";
    return state_->result;
  }

  int calls() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->calls;
  }

  std::thread::id thread() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->thread;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    int calls = 0;  // This and the rest guarded by mu.
    std::thread::id thread;
    HttpResult result;
  };

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

HttpRequest Get(std::string url) {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return request;
}

HttpResult Fetch(HttpClient& client, HttpRequest request) {
  Catcher catcher;
  client.Start(std::move(request), catcher.Callback());
  return catcher.Wait();
}

std::unique_ptr<CurlHttpClient> MakeClient(
    CurlHttpClient::Options options = CurlHttpClient::Options()) {
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// A 127.0.0.1 port nothing listens on: bound once, then released.
int ClosedPort() {
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  sockaddr* generic = reinterpret_cast<sockaddr*>(&address);
  socklen_t length = sizeof(address);
  if (bind(sock, generic, sizeof(address)) != 0 ||
      getsockname(sock, generic, &length) != 0) {
    close(sock);
    return -1;
  }
  close(sock);
  return ntohs(address.sin_port);
}

int CountThreads() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++count;
    }
    closedir(dir);
  }
  return count;
}

void WaitForIdle(const CurlHttpClient& client) {
  const absl::Time end = absl::Now() + kPatience;
  while (client.stats().in_flight != 0 && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(1));
  }
}

class CurlHttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A peer closing mid-write must surface as an error, not kill the test
    // process (httplib writes without MSG_NOSIGNAL).
    std::signal(SIGPIPE, SIG_IGN);
    server_ =
        std::make_unique<LoopbackServer>(std::make_unique<httplib::Server>());
    client_ = MakeClient();
    ASSERT_NE(client_, nullptr);
  }

  void TearDown() override {
    // Client first: closing its connections lets the server's workers end
    // at once instead of waiting out keep-alive.
    client_.reset();
    server_.reset();
  }

  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<CurlHttpClient> client_;
};

TEST_F(CurlHttpClientTest, PostDeliversHeadersAndBodyExactly) {
  HttpRequest request;
  request.url = server_->Url("/echo?x=1");
  request.headers = {{"Content-Type", "application/json"},
                     {"Authorization", "Bearer t0k3n"},
                     {"X-Trace-Id", "abc 123"},
                     {"x-lower", "MiXeD vAlUe"}};
  request.body = std::string("{\"a\":\"\xC3\xA9\\n\"}\r\n\0tail", 20);

  const HttpResult result = Fetch(*client_, request);

  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_TRUE(result.request_sent);
  EXPECT_EQ(result.response.status, 201);
  EXPECT_EQ(result.response.body, "echo:" + request.body);
  const std::vector<SeenRequest> seen = server_->seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].path, "/echo");
  EXPECT_EQ(seen[0].body, request.body);
  std::vector<std::pair<std::string, std::string>> caller_headers;
  for (const auto& [name, value] : seen[0].headers) {
    if (name == "Content-Length") {
      EXPECT_EQ(value, std::to_string(request.body.size()));
    }
    if (!IsTransportHeader(absl::AsciiStrToLower(name))) {
      caller_headers.emplace_back(name, value);
    }
  }
  // Exactly the caller's headers: nothing dropped, nothing added (no
  // Expect, Accept or default Content-Type).
  EXPECT_THAT(caller_headers, UnorderedElementsAreArray(request.headers));
}

TEST_F(CurlHttpClientTest, PostWithoutContentTypeSendsNone) {
  HttpRequest request;
  request.url = server_->Url("/echo");
  request.body = "plain";

  const HttpResult result = Fetch(*client_, request);

  ASSERT_TRUE(result.status.ok()) << result.status;
  const std::vector<SeenRequest> seen = server_->seen();
  ASSERT_EQ(seen.size(), 1u);
  for (const auto& [name, value] : seen[0].headers) {
    EXPECT_TRUE(IsTransportHeader(absl::AsciiStrToLower(name)))
        << name << ": " << value;
  }
}

TEST_F(CurlHttpClientTest, OtherMethodsArriveWithTheirBodies) {
  for (const char* method : {"PUT", "PATCH", "DELETE"}) {
    HttpRequest request;
    request.method = method;
    request.url = server_->Url("/echo");
    request.body = std::string(method) == "DELETE" ? "" : "payload";
    const HttpResult result = Fetch(*client_, request);
    ASSERT_TRUE(result.status.ok()) << method << ": " << result.status;
    EXPECT_EQ(result.response.status, 201);
  }
  const std::vector<SeenRequest> seen = server_->seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].body, "payload");
  EXPECT_EQ(seen[1].method, "PATCH");
  EXPECT_EQ(seen[1].body, "payload");
  EXPECT_EQ(seen[2].method, "DELETE");
  EXPECT_EQ(seen[2].body, "");

  HttpRequest head = Get(server_->Url("/hello"));
  head.method = "HEAD";
  const HttpResult result = Fetch(*client_, head);
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.response.status, 200);
  EXPECT_EQ(result.response.body, "");
}

TEST_F(CurlHttpClientTest, ReturnsStatusHeadersAndBody) {
  for (int code : {200, 404, 503}) {
    const HttpResult result =
        Fetch(*client_, Get(server_->Url(absl::StrCat("/status/", code))));
    // Any complete response is a successful exchange, whatever its code.
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_TRUE(result.request_sent);
    EXPECT_EQ(result.response.status, code);
    EXPECT_EQ(result.response.body, "status body");
    const auto& headers = result.response.headers;
    EXPECT_THAT(headers, Contains(Pair("x-reply-header", "yes")));
    EXPECT_THAT(headers, Contains(Pair("x-multi", "a")));
    EXPECT_THAT(headers, Contains(Pair("x-multi", "b")));
    EXPECT_THAT(headers, Contains(Pair("content-length", "11")));
    for (const auto& [name, value] : headers) {
      EXPECT_EQ(name, absl::AsciiStrToLower(name));
    }
  }
}

TEST_F(CurlHttpClientTest, RedirectsAreReturnedNotFollowed) {
  const HttpResult result = Fetch(*client_, Get(server_->Url("/redirect")));
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.response.status, 302);
  EXPECT_THAT(result.response.headers, Contains(Pair("location", "/hello")));
  EXPECT_EQ(server_->requests(), 1);
}

TEST_F(CurlHttpClientTest, HundredConcurrentRequestsShareOneClientThread) {
  CurlHttpClient::Options options;
  options.event_loops = 1;
  options.max_connections = 64;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  // Warm up so every server thread exists before threads are counted.
  ASSERT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
  const int threads_before = CountThreads();

  constexpr int kRequests = 100;
  std::vector<Catcher> catchers(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    client_->Start(Get(server_->Url(absl::StrCat("/work/", i))),
                   catchers[i].Callback());
  }
  const int threads_during = CountThreads();
  std::set<std::thread::id> callback_threads;
  for (int i = 0; i < kRequests; ++i) {
    const HttpResult result = catchers[i].Wait();
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status;
    EXPECT_EQ(result.response.body, std::to_string(i));
    EXPECT_EQ(catchers[i].calls(), 1);
    callback_threads.insert(catchers[i].thread());
  }

  EXPECT_EQ(callback_threads.size(), 1u);
  EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0u);
  EXPECT_LE(threads_during, threads_before);
  // They really were in flight together, not one after another.
  EXPECT_GE(server_->max_concurrency(), 2);
  EXPECT_LE(client_->stats().connections_opened,
            uint64_t{64} + 1);  // max_connections, plus the warm-up's.
  WaitForIdle(*client_);
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(CurlHttpClientTest, RequestsSpreadOverEventLoops) {
  constexpr int kLoops = 3;
  CurlHttpClient::Options options;
  options.event_loops = kLoops;
  options.max_connections = 30;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  EXPECT_EQ(client_->stats().event_loops, kLoops);

  constexpr int kRequests = 60;
  std::vector<Catcher> catchers(kRequests);
  std::vector<uint64_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    ids.push_back(client_->Start(Get(server_->Url(absl::StrCat("/work/", i))),
                                 catchers[i].Callback()));
  }
  std::set<std::thread::id> callback_threads;
  for (int i = 0; i < kRequests; ++i) {
    const HttpResult result = catchers[i].Wait();
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status;
    EXPECT_EQ(result.response.body, std::to_string(i));
    callback_threads.insert(catchers[i].thread());
  }
  // Every loop served some, on its own thread, none on the caller's.
  EXPECT_EQ(callback_threads.size(), static_cast<size_t>(kLoops));
  EXPECT_EQ(callback_threads.count(std::this_thread::get_id()), 0u);
  EXPECT_EQ(std::set<uint64_t>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_THAT(ids, ::testing::Each(::testing::Ne(0u)));
  // Summed over loops: at least one connection each, at most the total.
  const CurlHttpClient::Stats stats = client_->stats();
  EXPECT_GE(stats.connections_opened, static_cast<uint64_t>(kLoops));
  EXPECT_LE(stats.connections_opened, 30u);
  WaitForIdle(*client_);
  EXPECT_EQ(client_->stats().in_flight, 0u);
}

TEST_F(CurlHttpClientTest, CancelFindsTheLoopOfEachRequest) {
  CurlHttpClient::Options options;
  options.event_loops = 4;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  constexpr int kRequests = 8;
  std::vector<Catcher> catchers(kRequests);
  std::vector<uint64_t> ids;
  for (int i = 0; i < kRequests; ++i) {
    ids.push_back(
        client_->Start(Get(server_->Url("/sleep")), catchers[i].Callback()));
  }
  ASSERT_TRUE(server_->WaitForSleepers(kRequests));
  for (uint64_t id : ids) client_->Cancel(id);
  for (int i = 0; i < kRequests; ++i) {
    const HttpResult result = catchers[i].Wait();
    EXPECT_EQ(result.status.code(), absl::StatusCode::kCancelled)
        << i << ": " << result.status;
    EXPECT_EQ(catchers[i].calls(), 1);
  }
}

TEST_F(CurlHttpClientTest, CallbacksStartingWorkDuringShutdownStillRunOnce) {
  CurlHttpClient::Options options;
  options.event_loops = 4;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  constexpr int kRequests = 8;
  std::vector<Catcher> firsts(kRequests);
  std::vector<Catcher> seconds(kRequests);
  for (int i = 0; i < kRequests; ++i) {
    HttpClient::Callback first = firsts[i].Callback();
    HttpClient::Callback second = seconds[i].Callback();
    // Each cancelled callback starts another exchange, which lands on
    // another loop, possibly one that has already stopped.
    client_->Start(Get(server_->Url("/sleep")),
                   [client = client_.get(), first = std::move(first),
                    second = std::move(second)](HttpResult result) mutable {
                     client->Start(Get("http://127.0.0.1:1/"),
                                   std::move(second));
                     std::move(first)(std::move(result));
                   });
  }
  ASSERT_TRUE(server_->WaitForSleepers(kRequests));
  client_.reset();
  for (int i = 0; i < kRequests; ++i) {
    EXPECT_EQ(firsts[i].calls(), 1) << i;
    EXPECT_EQ(seconds[i].calls(), 1) << i;
    // Cancelled, or refused if its loop had not begun to stop yet.
    EXPECT_THAT(seconds[i].Wait().status.code(),
                ::testing::AnyOf(absl::StatusCode::kCancelled,
                                 absl::StatusCode::kUnavailable));
  }
}

TEST_F(CurlHttpClientTest, SequentialRequestsReuseTheConnection) {
  // One loop: each loop has a connection pool of its own.
  CurlHttpClient::Options options;
  options.event_loops = 1;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  for (int i = 0; i < 50; ++i) {
    const HttpResult result = Fetch(*client_, Get(server_->Url("/hello")));
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status;
    EXPECT_EQ(result.response.body, "hello");
  }
  EXPECT_LE(client_->stats().connections_opened, 2u);
  EXPECT_EQ(server_->requests(), 50);
}

TEST_F(CurlHttpClientTest, OpenConnectionsCountsAKeptAliveConnectionOnce) {
  // One loop: each loop has a connection pool of its own.
  CurlHttpClient::Options options;
  options.event_loops = 1;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  EXPECT_EQ(client_->stats().open_connections, 0);
  ASSERT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
  // The callback runs after curl has put the connection back in its pool,
  // so the idle connection is counted by then.
  EXPECT_EQ(client_->stats().open_connections, 1);
  ASSERT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
  EXPECT_EQ(client_->stats().open_connections, 1);
  EXPECT_EQ(client_->stats().connections_opened, 1u);
}

TEST_F(CurlHttpClientTest, OpenConnectionsDropsWhenTheServerClosesTheConnection) {
  // A server that closes each connection after one request (answering
  // "Connection: close"), so curl closes its side when the exchange ends.
  client_.reset();
  server_ = std::make_unique<LoopbackServer>(std::make_unique<httplib::Server>(),
                                             /*keep_alive_max_count=*/1);
  CurlHttpClient::Options options;
  options.event_loops = 1;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok()) << i;
    const absl::Time end = absl::Now() + absl::Seconds(5);
    while (client_->stats().open_connections != 0 && absl::Now() < end) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    EXPECT_EQ(client_->stats().open_connections, 0) << i;
  }
  // Each exchange had a connection of its own: it was really opened,
  // counted and closed.
  EXPECT_EQ(client_->stats().connections_opened, 2u);
}

TEST_F(CurlHttpClientTest, SlowUpstreamExceedsDeadline) {
  HttpRequest request = Get(server_->Url("/sleep"));
  const absl::Time start = absl::Now();
  request.deadline = start + absl::Milliseconds(200);

  const HttpResult result = Fetch(*client_, request);

  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded)
      << result.status;
  EXPECT_THAT(result.status.message(), HasSubstr("did not answer within"));
  EXPECT_TRUE(result.request_sent);
  EXPECT_GE(elapsed, absl::Milliseconds(190));
  EXPECT_LT(elapsed, absl::Seconds(3));  // The handler takes 5 s.
}

TEST_F(CurlHttpClientTest, DeadlineAlreadyPassedSendsNothing) {
  HttpRequest request = Get(server_->Url("/hello"));
  request.deadline = absl::Now() - absl::Seconds(1);

  const HttpResult result = Fetch(*client_, request);

  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded)
      << result.status;
  EXPECT_FALSE(result.request_sent);
  EXPECT_EQ(server_->requests(), 0);
}

TEST_F(CurlHttpClientTest, DeadlineAppliesWhileQueuedForAConnection) {
  CurlHttpClient::Options options;
  options.max_connections = 1;
  std::unique_ptr<CurlHttpClient> client = MakeClient(options);
  ASSERT_NE(client, nullptr);
  Catcher blocker;
  client->Start(Get(server_->Url("/sleep")), blocker.Callback());
  ASSERT_TRUE(server_->WaitForSleepers(1));

  HttpRequest queued = Get(server_->Url("/hello"));
  queued.deadline = absl::Now() + absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  const HttpResult result = Fetch(*client, queued);

  EXPECT_EQ(result.status.code(), absl::StatusCode::kDeadlineExceeded)
      << result.status;
  EXPECT_FALSE(result.request_sent);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));  // The blocker: 5 s.
  client.reset();
  EXPECT_EQ(blocker.calls(), 1);
}

TEST_F(CurlHttpClientTest, ConnectionRefusedIsUnavailableAndUnsent) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  HttpRequest request;
  request.url = absl::StrCat("http://127.0.0.1:", port, "/echo");
  request.headers = {{"Authorization", "Bearer secret-token"}};
  request.body = "secret-body";

  const HttpResult result = Fetch(*client_, request);

  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable)
      << result.status;
  EXPECT_FALSE(result.request_sent);
  EXPECT_THAT(result.status.message(),
              HasSubstr(absl::StrCat("127.0.0.1:", port)));
  EXPECT_THAT(result.status.message(), HasSubstr("connect"));
  EXPECT_THAT(result.status.message(), ::testing::Not(HasSubstr("secret")));
}

TEST_F(CurlHttpClientTest, OversizedResponseIsResourceExhausted) {
  CurlHttpClient::Options options;
  options.max_response_bytes = 1024;
  std::unique_ptr<CurlHttpClient> client = MakeClient(options);
  ASSERT_NE(client, nullptr);

  const HttpResult at_limit = Fetch(*client, Get(server_->Url("/big/1024")));
  ASSERT_TRUE(at_limit.status.ok()) << at_limit.status;
  EXPECT_EQ(at_limit.response.body.size(), 1024u);

  // Announced by Content-Length, and discovered only while streaming.
  for (const char* path : {"/big/1025", "/chunked/100000"}) {
    const HttpResult result = Fetch(*client, Get(server_->Url(path)));
    EXPECT_EQ(result.status.code(), absl::StatusCode::kResourceExhausted)
        << path << ": " << result.status;
    EXPECT_THAT(result.status.message(), HasSubstr("1024"));
    EXPECT_TRUE(result.response.body.empty());
  }

  // HEAD announces the size of a body it does not send.
  HttpRequest head = Get(server_->Url("/big/4096"));
  head.method = "HEAD";
  const HttpResult head_result = Fetch(*client, head);
  ASSERT_TRUE(head_result.status.ok()) << head_result.status;
  EXPECT_THAT(head_result.response.headers,
              Contains(Pair("content-length", "4096")));
}

TEST_F(CurlHttpClientTest, CancelEndsTheExchangeAndClosesTheConnection) {
  Catcher catcher;
  const uint64_t id =
      client_->Start(Get(server_->Url("/stream")), catcher.Callback());
  ASSERT_TRUE(server_->stream_started().WaitFor(kPatience));

  client_->Cancel(id);

  const HttpResult result = catcher.Wait();
  EXPECT_EQ(result.status.code(), absl::StatusCode::kCancelled)
      << result.status;
  EXPECT_TRUE(result.request_sent);
  EXPECT_TRUE(server_->stream_closed().WaitFor(kPatience))
      << "server never noticed the connection close";
  // Cancelling again, or an id never issued, is ignored.
  client_->Cancel(id);
  client_->Cancel(id + 1000);
  WaitForIdle(*client_);
  EXPECT_EQ(catcher.calls(), 1);
  // The client stays usable.
  EXPECT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
}

TEST_F(CurlHttpClientTest, CancelAfterCompletionIsIgnored) {
  Catcher catcher;
  const uint64_t id =
      client_->Start(Get(server_->Url("/hello")), catcher.Callback());
  ASSERT_TRUE(catcher.Wait().status.ok());
  client_->Cancel(id);
  WaitForIdle(*client_);
  EXPECT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
  EXPECT_EQ(catcher.calls(), 1);
}

TEST_F(CurlHttpClientTest, DestructorCancelsEverythingInFlightOnce) {
  constexpr int kSleepers = 10;
  std::vector<Catcher> catchers(kSleepers + 3);
  for (int i = 0; i < kSleepers; ++i) {
    client_->Start(Get(server_->Url("/sleep")), catchers[i].Callback());
  }
  // All at once: none waits for another's connection.
  ASSERT_TRUE(server_->WaitForSleepers(kSleepers));
  // And some the loop may not even have picked up yet.
  for (int i = kSleepers; i < kSleepers + 3; ++i) {
    client_->Start(Get(server_->Url("/hello")), catchers[i].Callback());
  }
  const absl::Time start = absl::Now();

  client_.reset();

  // Well before the 5 s the sleeping handlers would take.
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  for (int i = 0; i < kSleepers + 3; ++i) {
    EXPECT_EQ(catchers[i].calls(), 1) << i;
  }
  for (int i = 0; i < kSleepers; ++i) {
    EXPECT_EQ(catchers[i].Wait().status.code(), absl::StatusCode::kCancelled)
        << i;
  }
}

TEST_F(CurlHttpClientTest, CallbacksNeverRunInsideStart) {
  const std::thread::id test_thread = std::this_thread::get_id();
  std::atomic<int> inline_runs{0};
  std::vector<HttpRequest> requests = {Get(server_->Url("/hello")),
                                       Get("not a url"),
                                       Get(server_->Url("/hello"))};
  requests[2].deadline = absl::InfinitePast();
  // Inline would mean on the caller's thread, during Start(). (Another
  // thread may run a callback before Start() has returned: the loop can be
  // that quick; that is not inline.)
  std::vector<Catcher> catchers(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    HttpClient::Callback inner = catchers[i].Callback();
    client_->Start(requests[i], [&, inner = std::move(inner)](
                                    HttpResult result) mutable {
      if (std::this_thread::get_id() == test_thread) ++inline_runs;
      std::move(inner)(std::move(result));
    });
  }
  for (Catcher& catcher : catchers) catcher.Wait();
  EXPECT_EQ(inline_runs.load(), 0);
  EXPECT_EQ(catchers[1].Wait().status.code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catchers[2].Wait().status.code(),
            absl::StatusCode::kDeadlineExceeded);
}

TEST_F(CurlHttpClientTest, CallbacksMayStartMoreExchanges) {
  Catcher second;
  Catcher first;
  HttpClient::Callback first_done = first.Callback();
  client_->Start(
      Get(server_->Url("/hello")),
      [&, first_done = std::move(first_done)](HttpResult result) mutable {
        client_->Start(Get(server_->Url("/status/204")), second.Callback());
        std::move(first_done)(std::move(result));
      });
  EXPECT_TRUE(first.Wait().status.ok());
  const HttpResult result = second.Wait();
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.response.status, 204);
}

TEST_F(CurlHttpClientTest, BadRequestsAreInvalidArgument) {
  std::vector<HttpRequest> requests;
  for (const char* url : {"not a url", "ftp://127.0.0.1/file", "http://",
                          "http://127.0.0.1:99999/", "/relative/path"}) {
    requests.push_back(Get(url));
  }
  requests.push_back(Get(server_->Url("/hello")));
  requests.back().method = "GET /x";
  requests.push_back(Get(server_->Url("/hello")));
  requests.back().headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  requests.push_back(Get(server_->Url("/hello")));
  requests.back().headers = {{"Bad Name", "v"}};

  for (const HttpRequest& request : requests) {
    const HttpResult result = Fetch(*client_, request);
    EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument)
        << request.url << " " << request.method << ": " << result.status;
    EXPECT_FALSE(result.request_sent);
  }
  EXPECT_EQ(server_->requests(), 0);
}

TEST_F(CurlHttpClientTest, ProxyEnvironmentIsIgnored) {
  const std::string proxy = absl::StrCat("http://127.0.0.1:", ClosedPort());
  setenv("http_proxy", proxy.c_str(), 1);
  setenv("all_proxy", proxy.c_str(), 1);
  const HttpResult result = Fetch(*client_, Get(server_->Url("/hello")));
  unsetenv("http_proxy");
  unsetenv("all_proxy");
  ASSERT_TRUE(result.status.ok()) << result.status;
  EXPECT_EQ(result.response.body, "hello");
}

TEST_F(CurlHttpClientTest, HttpsToPlainHttpPortFailsCleanly) {
  const absl::Time start = absl::Now();
  const HttpResult result =
      Fetch(*client_, Get(server_->Url("/hello", "https")));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable)
      << result.status;
  EXPECT_THAT(result.status.message(),
              HasSubstr(absl::StrCat("127.0.0.1:", server_->port())));
  // Only a TLS ClientHello went out, no HTTP request.
  EXPECT_FALSE(result.request_sent);
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  // And the client still works for plain http afterwards.
  EXPECT_TRUE(Fetch(*client_, Get(server_->Url("/hello"))).status.ok());
}

TEST(CurlHttpClientOptionsTest, CreateRejectsBadOptions) {
  CurlHttpClient::Options options;
  options.max_connections = 0;
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CurlHttpClient::Options();
  options.event_loops = -1;
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CurlHttpClient::Options();
  options.connect_timeout = absl::ZeroDuration();
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CurlHttpClient::Options();
  options.ca_file = "/nonexistent/ca.pem";
  EXPECT_EQ(CurlHttpClient::Create(options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CurlHttpClientOptionsTest, DefaultsAndLoopCount) {
  const CurlHttpClient::Options defaults;
  EXPECT_EQ(defaults.max_connections, 1024);
  EXPECT_EQ(defaults.event_loops, 0);

  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(defaults);
  ASSERT_TRUE(client.ok()) << client.status();
  const unsigned cpus = std::thread::hardware_concurrency();
  EXPECT_EQ((*client)->stats().event_loops,
            static_cast<int>(std::min(cpus == 0 ? 1u : cpus, 1024u)));

  // Never more loops than connections: each needs at least one.
  CurlHttpClient::Options few;
  few.event_loops = 8;
  few.max_connections = 3;
  client = CurlHttpClient::Create(few);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->stats().event_loops, 3);
}

TEST(CurlHttpClientOptionsTest, RaisesTheSoftDescriptorLimitWhenNeeded) {
  rlimit before{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  if (before.rlim_max != RLIM_INFINITY && before.rlim_max < 64) {
    GTEST_SKIP() << "hard RLIMIT_NOFILE is only " << before.rlim_max;
  }
  rlimit low = before;
  low.rlim_cur = 32;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  CurlHttpClient::Options options;
  options.max_connections = 1024;
  options.event_loops = 1;
  absl::StatusOr<std::unique_ptr<CurlHttpClient>> client =
      CurlHttpClient::Create(options);
  rlimit after{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  setrlimit(RLIMIT_NOFILE, &before);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ(after.rlim_cur, before.rlim_max);
}

// A throwaway self-signed certificate for `san` (e.g. "IP:127.0.0.1"),
// written to PEM files.
struct TestCertificate {
  std::string cert_path;
  std::string key_path;
};

bool WritePem(const std::string& path, const std::string& pem) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << pem;
  return static_cast<bool>(out);
}

std::string DrainBio(BIO* bio) {
  std::string out;
  char buffer[4096];
  int n;
  while ((n = BIO_read(bio, buffer, sizeof(buffer))) > 0) {
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

bool MakeCertificate(const std::string& san, const std::string& name,
                     TestCertificate* certificate) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* key_ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
  bool ok = key_ctx != nullptr && EVP_PKEY_keygen_init(key_ctx) > 0 &&
            EVP_PKEY_CTX_set_ec_paramgen_curve_nid(key_ctx,
                                                   NID_X9_62_prime256v1) > 0 &&
            EVP_PKEY_keygen(key_ctx, &key) > 0;
  EVP_PKEY_CTX_free(key_ctx);
  X509* cert = ok ? X509_new() : nullptr;
  ok = ok && cert != nullptr && X509_set_version(cert, 2) == 1 &&
       ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
       X509_gmtime_adj(X509_getm_notBefore(cert), -3600) != nullptr &&
       X509_gmtime_adj(X509_getm_notAfter(cert), 3600) != nullptr &&
       X509_set_pubkey(cert, key) == 1;
  if (ok) {
    X509_NAME* subject = X509_get_subject_name(cert);
    ok = X509_NAME_add_entry_by_txt(
             subject, "CN", MBSTRING_ASC,
             reinterpret_cast<const unsigned char*>("session-gateway test"), -1,
             -1, 0) == 1 &&
         X509_set_issuer_name(cert, subject) == 1;
  }
  X509V3_CTX ext_ctx;
  X509V3_set_ctx(&ext_ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE"},
           {NID_subject_alt_name, san}}) {
    if (!ok) break;
    X509_EXTENSION* ext =
        X509V3_EXT_conf_nid(nullptr, &ext_ctx, nid, value.c_str());
    ok = ext != nullptr && X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
  }
  ok = ok && X509_sign(cert, key, EVP_sha256()) > 0;
  std::string cert_pem;
  std::string key_pem;
  if (ok) {
    BIO* bio = BIO_new(BIO_s_mem());
    ok = PEM_write_bio_X509(bio, cert) == 1;
    cert_pem = DrainBio(bio);
    ok = ok && PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr,
                                        nullptr) == 1;
    key_pem = DrainBio(bio);
    BIO_free(bio);
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) return false;
  certificate->cert_path = ::testing::TempDir() + name + "-cert.pem";
  certificate->key_path = ::testing::TempDir() + name + "-key.pem";
  return WritePem(certificate->cert_path, cert_pem) &&
         WritePem(certificate->key_path, key_pem);
}

class CurlHttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { std::signal(SIGPIPE, SIG_IGN); }

  // Starts an https server presenting a certificate for `san`.
  void StartServer(const std::string& san) {
    ASSERT_TRUE(MakeCertificate(
        san, absl::StrCat("curl-http-client-test-", getpid()), &cert_));
    auto server = std::make_unique<httplib::SSLServer>(cert_.cert_path.c_str(),
                                                       cert_.key_path.c_str());
    ASSERT_TRUE(server->is_valid());
    server_ = std::make_unique<LoopbackServer>(std::move(server));
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
    std::remove(cert_.cert_path.c_str());
    std::remove(cert_.key_path.c_str());
  }

  TestCertificate cert_;
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<CurlHttpClient> client_;
};

TEST_F(CurlHttpClientTlsTest, TrustsTheExtraCaFile) {
  StartServer("IP:127.0.0.1");
  CurlHttpClient::Options options;
  options.ca_file = cert_.cert_path;
  options.event_loops = 1;  // Each loop has a connection pool of its own.
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);

  for (int i = 0; i < 3; ++i) {
    const HttpResult result =
        Fetch(*client_, Get(server_->Url("/hello", "https")));
    ASSERT_TRUE(result.status.ok()) << result.status;
    EXPECT_EQ(result.response.body, "hello");
  }
  EXPECT_EQ(client_->stats().connections_opened, 1u);
}

TEST_F(CurlHttpClientTlsTest, ConcurrentRequestsDoNotWaitForEachOther) {
  StartServer("IP:127.0.0.1");
  CurlHttpClient::Options options;
  options.ca_file = cert_.cert_path;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);
  constexpr int kRequests = 5;
  std::vector<Catcher> catchers(kRequests);
  for (Catcher& catcher : catchers) {
    client_->Start(Get(server_->Url("/sleep", "https")), catcher.Callback());
  }

  // Waiting to learn whether the first connection multiplexes must not
  // mean waiting for its (slow) response: all are served at once.
  ASSERT_TRUE(server_->WaitForSleepers(kRequests));
  client_.reset();
  for (Catcher& catcher : catchers) {
    EXPECT_EQ(catcher.Wait().status.code(), absl::StatusCode::kCancelled);
  }
}

TEST_F(CurlHttpClientTlsTest, UntrustedCertificateFailsVerification) {
  StartServer("IP:127.0.0.1");
  client_ = MakeClient();
  ASSERT_NE(client_, nullptr);

  const HttpResult result =
      Fetch(*client_, Get(server_->Url("/hello", "https")));

  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable)
      << result.status;
  EXPECT_THAT(result.status.message(),
              HasSubstr("certificate verification failed"));
  EXPECT_FALSE(result.request_sent);
  EXPECT_EQ(server_->requests(), 0);
}

TEST_F(CurlHttpClientTlsTest, HostNameMismatchFailsVerification) {
  // Trusted, but issued for another address.
  StartServer("IP:127.0.0.2");
  CurlHttpClient::Options options;
  options.ca_file = cert_.cert_path;
  client_ = MakeClient(options);
  ASSERT_NE(client_, nullptr);

  const HttpResult result =
      Fetch(*client_, Get(server_->Url("/hello", "https")));

  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable)
      << result.status;
  EXPECT_THAT(result.status.message(),
              HasSubstr("certificate verification failed"));
  EXPECT_EQ(server_->requests(), 0);
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
