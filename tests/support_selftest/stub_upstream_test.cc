// Self-tests of the integration-test support: they run the real
// stub_upstream process and check, over loopback, that it answers and
// misbehaves exactly as scripted, and that ChildProcess starts, watches and
// stops programs. Where libcurl is available, the misbehaviours are also
// checked through it, since that is the client the gateway uses.

#include "support/stub_upstream.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "support/child_process.h"
#include "support/http_client.h"
#include "support/ports.h"

#ifdef STUB_SELFTEST_HAVE_CURL
#include <curl/curl.h>
#endif

namespace session_gateway {
namespace testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr absl::Duration kIoTimeout = absl::Seconds(5);

std::string DefaultBody(int n) {
  return absl::StrCat(
      R"({"type":"payment-service-session","status":"succeeded",)"
      R"("status_code":201,"response_body":{"sessionId":"stub-)",
      n, R"("}})");
}

class StubUpstreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StubUpstreamOptions options;
    // Far beyond any test here, short enough that nothing lingers.
    options.max_lifetime = absl::Seconds(60);
    options.capture_stderr = true;
    absl::StatusOr<std::unique_ptr<StubUpstream>> stub =
        StubUpstream::Start(options);
    ASSERT_TRUE(stub.ok()) << stub.status();
    stub_ = std::move(*stub);
  }

  void Script(absl::string_view json) {
    absl::Status status = stub_->Script(json);
    ASSERT_TRUE(status.ok()) << status;
  }

  HttpResponse Fetch(absl::string_view method, absl::string_view target,
                     absl::string_view body = "",
                     const HttpHeaders& headers = {}) {
    absl::StatusOr<HttpResponse> response =
        HttpFetch(stub_->port(), method, target, body, headers, kIoTimeout);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *std::move(response) : HttpResponse();
  }

  std::vector<RecordedRequest> Requests() {
    absl::StatusOr<std::vector<RecordedRequest>> requests = stub_->Requests();
    EXPECT_TRUE(requests.ok()) << requests.status();
    return requests.ok() ? *std::move(requests)
                         : std::vector<RecordedRequest>();
  }

  StubStats Stats() {
    absl::StatusOr<StubStats> stats = stub_->Stats();
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : StubStats();
  }

  std::unique_ptr<HttpConnection> Connect() {
    absl::StatusOr<std::unique_ptr<HttpConnection>> connection =
        HttpConnection::Connect(stub_->port(), kIoTimeout);
    EXPECT_TRUE(connection.ok()) << connection.status();
    return connection.ok() ? *std::move(connection) : nullptr;
  }

  // Polls the stats until `predicate` holds or two seconds pass.
  template <typename Predicate>
  bool EventuallyStats(Predicate predicate) {
    absl::Time deadline = absl::Now() + absl::Seconds(2);
    while (absl::Now() < deadline) {
      if (predicate(Stats())) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return predicate(Stats());
  }

  std::unique_ptr<StubUpstream> stub_;
};

TEST_F(StubUpstreamTest, DefaultAnswerIsACreatedSessionNumberedPerRequest) {
  EXPECT_THAT(stub_->base_url(),
              StartsWith(absl::StrCat("http://127.0.0.1:", stub_->port())));
  HttpResponse first = Fetch("POST", "/payment-service-sessions", "{}");
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(first.reason, "Created");
  EXPECT_EQ(first.Header("content-type"), "application/json");
  EXPECT_EQ(first.body, DefaultBody(1));
  EXPECT_EQ(Fetch("GET", "/anything").body, DefaultBody(2));
}

TEST_F(StubUpstreamTest, ScriptedStepsAnswerInOrderThenTheDefault) {
  Script(R"([
    {"status": 422, "body": "not json at all",
     "headers": {"X-Trace": "abc", "Content-Type": "text/plain"}},
    {"status": 200, "json": {"a": [1, 2], "b": "\u00e9"}}
  ])");
  HttpResponse first = Fetch("POST", "/one", "{}");
  EXPECT_EQ(first.status, 422);
  EXPECT_EQ(first.body, "not json at all");
  EXPECT_EQ(first.Header("x-trace"), "abc");
  // The scripted Content-Type replaces the default instead of joining it.
  EXPECT_EQ(first.Header("content-type"), "text/plain");

  HttpResponse second = Fetch("POST", "/two", "{}");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, "{\"a\":[1,2],\"b\":\"\xc3\xa9\"}");

  EXPECT_EQ(Fetch("POST", "/three", "{}").body, DefaultBody(3));
  EXPECT_EQ(Stats().pending_steps, 0);
}

TEST_F(StubUpstreamTest, RecordsRequestsButNotControlCalls) {
  Script("[]");
  ASSERT_EQ(Stats().requests, 0);
  Fetch("POST", "/payment-service-sessions?merchant=m1&x=%20", R"({"k":1})",
        {{"Authorization", "Bearer t0ken"}, {"X-Many", "a"}, {"x-many", "b"}});
  Fetch("DELETE", "/payment-service-sessions/abc");

  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  const RecordedRequest& post = requests[0];
  EXPECT_EQ(post.method, "POST");
  EXPECT_EQ(post.path, "/payment-service-sessions?merchant=m1&x=%20");
  EXPECT_EQ(post.body, R"({"k":1})");
  EXPECT_EQ(post.headers.at("authorization"), "Bearer t0ken");
  EXPECT_EQ(post.Header("Authorization"), "Bearer t0ken");
  EXPECT_EQ(post.headers.at("x-many"), "a, b");
  EXPECT_EQ(post.headers.at("content-length"), "7");
  EXPECT_EQ(post.headers.at("host"), "127.0.0.1");
  EXPECT_EQ(post.headers.count("Authorization"), 0u);
  EXPECT_EQ(requests[1].method, "DELETE");
  EXPECT_EQ(requests[1].path, "/payment-service-sessions/abc");
  EXPECT_EQ(requests[1].body, "");

  StubStats stats = Stats();
  EXPECT_EQ(stats.requests, 2);
  EXPECT_EQ(stats.connections, 2);
}

TEST_F(StubUpstreamTest, KeepAliveRequestsShareAConnectionId) {
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  for (int i = 1; i <= 2; ++i) {
    absl::StatusOr<HttpResponse> response =
        connection->RoundTrip("POST", "/ka", "{}", {}, kIoTimeout);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->body, DefaultBody(i));
    EXPECT_EQ(response->Header("connection"), "");  // HTTP/1.1 default.
  }
  Fetch("POST", "/other", "{}");

  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].connection, requests[1].connection);
  EXPECT_NE(requests[0].connection, requests[2].connection);
  StubStats stats = Stats();
  EXPECT_EQ(stats.connections, 2);
  EXPECT_EQ(stats.requests, 3);
  EXPECT_EQ(stats.open_connections, 1);  // The kept-alive one.
}

TEST_F(StubUpstreamTest, PipelinedRequestsAreAnsweredInOrder) {
  Script(R"([{"body": "first"}, {"body": "second"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(connection
                  ->Send(FormatRequest("POST", "/a", "1", {}) +
                             FormatRequest("POST", "/b", "22", {}),
                         kIoTimeout)
                  .ok());
  absl::StatusOr<HttpResponse> first = connection->ReadResponse(kIoTimeout);
  absl::StatusOr<HttpResponse> second = connection->ReadResponse(kIoTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(first->body, "first");
  EXPECT_EQ(second->body, "second");
  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].body, "22");
}

TEST_F(StubUpstreamTest, ChunkedRequestBodyIsDecoded) {
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(connection
                  ->Send("POST /chunked HTTP/1.1\r\nHost: x\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n"
                         "5;ext=1\r\nhello\r\n"
                         "7\r\n, world\r\n"
                         "0\r\nX-Trailer: t\r\n\r\n",
                         kIoTimeout)
                  .ok());
  absl::StatusOr<HttpResponse> response = connection->ReadResponse(kIoTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, "hello, world");
}

TEST_F(StubUpstreamTest, ExpectContinueGetsTheGoAhead) {
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(connection
                  ->Send("POST /big HTTP/1.1\r\nHost: x\r\n"
                         "Expect: 100-continue\r\nContent-Length: 4\r\n\r\n",
                         kIoTimeout)
                  .ok());
  ASSERT_TRUE(WaitReadable(connection->fd(), absl::Now() + kIoTimeout).ok());
  char interim[64] = {};
  ssize_t n = ::recv(connection->fd(), interim, sizeof(interim) - 1, 0);
  EXPECT_EQ(std::string(interim, n > 0 ? static_cast<size_t>(n) : 0),
            "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(connection->Send("body", kIoTimeout).ok());
  absl::StatusOr<HttpResponse> response = connection->ReadResponse(kIoTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  ASSERT_EQ(Requests().size(), 1u);
  EXPECT_EQ(Requests()[0].body, "body");
}

TEST_F(StubUpstreamTest, ResetEndpointClearsQueueRecordsAndCounters) {
  Script(R"([{"status": 500}, {"status": 501}])");
  EXPECT_EQ(Fetch("POST", "/x", "{}").status, 500);
  ASSERT_EQ(Requests().size(), 1u);

  absl::Status reset = stub_->Reset();
  ASSERT_TRUE(reset.ok()) << reset;
  EXPECT_TRUE(Requests().empty());
  StubStats stats = Stats();
  EXPECT_EQ(stats.requests, 0);
  EXPECT_EQ(stats.connections, 0);
  EXPECT_EQ(stats.pending_steps, 0);
  HttpResponse after = Fetch("POST", "/x", "{}");
  EXPECT_EQ(after.status, 201);  // The 501 step is gone.
  EXPECT_EQ(after.body, DefaultBody(1));
}

TEST_F(StubUpstreamTest, RejectsInvalidScriptsWithoutQueueingAnything) {
  for (const char* script : {
           "not json",
           R"({"status": 500})",
           R"([{"status": 500}, {"action": "explode"}])",
           R"([{"stauts": 500}])",
           R"([{"body": "a", "json": {}}])",
           R"([{"headers": {"Bad Name": "x"}}])",
           R"([{"headers": {"X-A": "line\r\nbreak"}}])",
           R"([{"action": "huge", "size_bytes": 10}])",
           R"([{"action": "raw"}])",
           R"([{"delay_ms": -1}])",
       }) {
    absl::Status status = stub_->Script(script);
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << script << ": " << status;
  }
  EXPECT_THAT(std::string(stub_->Script(R"([{"stauts": 1}])").message()),
              HasSubstr("$[0].stauts"));
  EXPECT_EQ(Stats().pending_steps, 0);
}

TEST_F(StubUpstreamTest, UnknownControlEndpointsAndWrongMethodsAreRefused) {
  EXPECT_EQ(Fetch("GET", "/__stub/nope").status, 404);
  HttpResponse wrong = Fetch("GET", "/__stub/script");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.Header("allow"), "POST");
  EXPECT_EQ(Stats().requests, 0);
}

TEST_F(StubUpstreamTest, ResetActionResetsTheConnection) {
  Script(R"([{"action": "reset"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, kIoTimeout);
  EXPECT_TRUE(absl::IsAborted(response.status())) << response.status();
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr("Connection reset by peer"));
  EXPECT_EQ(connection->bytes_received(), 0u);
  EXPECT_EQ(Requests().size(), 1u);  // Recorded all the same.
}

TEST_F(StubUpstreamTest, CloseActionClosesWithoutAnswering) {
  Script(R"([{"action": "close"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, kIoTimeout);
  EXPECT_TRUE(absl::IsUnavailable(response.status())) << response.status();
  EXPECT_EQ(connection->bytes_received(), 0u);
}

TEST_F(StubUpstreamTest, HangOutlastsAClientTimeoutUntilTheClientCloses) {
  Script(R"([{"action": "hang"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::Time start = absl::Now();
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, absl::Milliseconds(300));
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_TRUE(absl::IsDeadlineExceeded(response.status())) << response.status();
  EXPECT_GE(elapsed, absl::Milliseconds(295));
  EXPECT_LT(elapsed, absl::Seconds(3));
  EXPECT_EQ(connection->bytes_received(), 0u);
  EXPECT_EQ(Stats().open_connections, 1);

  // The stub notices the client giving up and lets go of the connection.
  connection->Close();
  EXPECT_TRUE(EventuallyStats(
      [](const StubStats& stats) { return stats.open_connections == 0; }));
}

TEST_F(StubUpstreamTest, HeadersThenStallSendsOnlyTheHead) {
  Script(R"([{"action": "headers_then_stall", "body": "0123456789"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, absl::Milliseconds(300));
  EXPECT_TRUE(absl::IsDeadlineExceeded(response.status())) << response.status();
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr("reading the response body (0 bytes so far)"));
  std::string head =
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
      "Content-Length: 10\r\n\r\n";
  EXPECT_EQ(connection->bytes_received(), head.size());
}

TEST_F(StubUpstreamTest, TruncateDeclaresTheBodyButSendsHalf) {
  Script(R"([{"action": "truncate", "body": "0123456789"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, kIoTimeout);
  EXPECT_TRUE(absl::IsDataLoss(response.status())) << response.status();
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr("after 5 of 10 body bytes"));
}

TEST_F(StubUpstreamTest, DripSendsOneBytePerInterval) {
  Script(R"([{"action": "drip", "status": 200, "body": "ok",
              "drip_interval_ms": 50}])");
  const std::string expected =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\nok";
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(
      connection->Send(FormatRequest("GET", "/drip", "", {}), kIoTimeout).ok());
  absl::Time start = absl::Now();
  absl::Time deadline = start + absl::Seconds(8);
  std::string received;
  size_t received_in_first_300ms = 0;
  int reads = 0;
  while (received.size() < expected.size() && absl::Now() < deadline) {
    if (!WaitReadable(connection->fd(), deadline).ok()) break;
    char chunk[256];
    ssize_t n = ::recv(connection->fd(), chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    received.append(chunk, static_cast<size_t>(n));
    ++reads;
    if (absl::Now() - start < absl::Milliseconds(300)) {
      received_in_first_300ms = received.size();
    }
  }
  absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(received, expected);
  // 300 ms allow 7 bytes at one per 50 ms; a slow test only sees fewer.
  EXPECT_GE(received_in_first_300ms, 1u);
  EXPECT_LE(received_in_first_300ms, 7u);
  EXPECT_GE(elapsed, (expected.size() - 1) * absl::Milliseconds(50) -
                         absl::Milliseconds(100));
  // Bytes arrive separately, give or take a descheduled test thread.
  EXPECT_GE(reads, static_cast<int>(expected.size() / 4));
}

TEST_F(StubUpstreamTest, HugeDeliversExactlyTheRequestedSizeOfValidJson) {
  constexpr size_t kSize = size_t{1} << 20;
  Script(absl::StrCat(R"([{"action": "huge", "size_bytes": )", kSize, "}]"));
  absl::StatusOr<HttpResponse> response =
      HttpFetch(stub_->port(), "POST", "/huge", "{}", {}, absl::Seconds(8));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->Header("content-length"), absl::StrCat(kSize));
  ASSERT_EQ(response->body.size(), kSize);
  rapidjson::Document document;
  document.Parse(response->body.data(), response->body.size());
  ASSERT_FALSE(document.HasParseError());
  ASSERT_TRUE(document.IsObject());
  EXPECT_STREQ(document["type"].GetString(), "payment-service-session");
  EXPECT_STREQ(document["status"].GetString(), "succeeded");
  const rapidjson::Value& pad = document["response_body"]["pad"];
  ASSERT_TRUE(pad.IsString());
  EXPECT_EQ(pad.GetStringLength(), kSize - 82);
}

TEST_F(StubUpstreamTest, DelayPostponesTheAnswer) {
  Script(R"([{"delay_ms": 300, "status": 202}])");
  absl::Time start = absl::Now();
  EXPECT_EQ(Fetch("POST", "/slow", "{}").status, 202);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(StubUpstreamTest, RawSendsTheBytesVerbatimThenCloses) {
  Script(R"([{"action": "raw",
              "body": "HTTP/1.1 299 Odd\r\nX-Y: z\r\n\r\nuntil close"}])");
  HttpResponse response = Fetch("GET", "/raw");
  EXPECT_EQ(response.status, 299);
  EXPECT_EQ(response.reason, "Odd");
  EXPECT_EQ(response.body, "until close");
}

TEST_F(StubUpstreamTest, ScriptedConnectionCloseEndsTheConnection) {
  Script(R"([{"headers": {"Connection": "close"}}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  absl::StatusOr<HttpResponse> response =
      connection->RoundTrip("POST", "/x", "{}", {}, kIoTimeout);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(EventuallyStats(
      [](const StubStats& stats) { return stats.open_connections == 0; }));
}

TEST_F(StubUpstreamTest, SigtermExitsPromptlyDespiteHangingConnections) {
  Script(R"([{"action": "hang"}])");
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(
      connection->Send(FormatRequest("POST", "/x", "{}", {}), kIoTimeout).ok());
  ASSERT_TRUE(stub_->WaitForRequests(1, kIoTimeout).ok());

  absl::Time start = absl::Now();
  ASSERT_TRUE(stub_->process().Signal(SIGTERM).ok());
  absl::StatusOr<ExitStatus> exit = stub_->process().Wait(absl::Seconds(3));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  // The hanging connection died with the process.
  absl::StatusOr<HttpResponse> response = connection->ReadResponse(kIoTimeout);
  EXPECT_FALSE(response.ok());
  EXPECT_FALSE(absl::IsDeadlineExceeded(response.status()))
      << response.status();
}

TEST_F(StubUpstreamTest, WaitForRequestsTimesOutSayingWhatCame) {
  Fetch("POST", "/only-one", "{}");
  absl::StatusOr<std::vector<RecordedRequest>> requests =
      stub_->WaitForRequests(2, absl::Milliseconds(100));
  EXPECT_TRUE(absl::IsDeadlineExceeded(requests.status()));
  EXPECT_THAT(std::string(requests.status().message()),
              HasSubstr("1 of 2 requests"));
  EXPECT_THAT(std::string(requests.status().message()),
              HasSubstr("POST /only-one"));
}

TEST_F(StubUpstreamTest, Http10GetsKeepAliveOnlyWhenAskedFor) {
  std::unique_ptr<HttpConnection> connection = Connect();
  ASSERT_NE(connection, nullptr);
  ASSERT_TRUE(connection
                  ->Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                         kIoTimeout)
                  .ok());
  absl::StatusOr<HttpResponse> kept = connection->ReadResponse(kIoTimeout);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->Header("connection"), "keep-alive");
  ASSERT_TRUE(connection->Send("GET /b HTTP/1.0\r\n\r\n", kIoTimeout).ok());
  absl::StatusOr<HttpResponse> closed = connection->ReadResponse(kIoTimeout);
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->Header("connection"), "close");
  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].connection, requests[1].connection);
  EXPECT_TRUE(EventuallyStats(
      [](const StubStats& stats) { return stats.open_connections == 0; }));
}

TEST_F(StubUpstreamTest, MalformedRequestsGetAnErrorAndAClose) {
  struct Case {
    std::string request;
    int status;
  };
  for (const Case& c : {
           Case{"NOT-HTTP\r\n\r\n", 400},
           Case{"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400},
           Case{"POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400},
           Case{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                400},
           Case{"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413},
           Case{absl::StrCat("GET / HTTP/1.1\r\nX-Big: ",
                             std::string(70 * 1024, 'a'), "\r\n\r\n"),
                431},
       }) {
    std::unique_ptr<HttpConnection> connection = Connect();
    ASSERT_NE(connection, nullptr);
    ASSERT_TRUE(connection->Send(c.request, kIoTimeout).ok());
    absl::StatusOr<HttpResponse> response =
        connection->ReadResponse(kIoTimeout);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, c.status) << c.request.substr(0, 60);
    EXPECT_EQ(response->Header("connection"), "close");
    EXPECT_THAT(response->body, StartsWith(R"({"error":)"));
  }
  EXPECT_EQ(Stats().requests, 0);
}

TEST(StubUpstreamOptionsTest, LogsRequestsAndBoundsTheRecords) {
  StubUpstreamOptions options;
  options.max_lifetime = absl::Seconds(30);
  options.capture_stderr = true;
  options.log_requests = true;
  options.extra_args = {"--max_records=2"};
  absl::StatusOr<std::unique_ptr<StubUpstream>> stub =
      StubUpstream::Start(options);
  ASSERT_TRUE(stub.ok()) << stub.status();
  for (const char* path : {"/1", "/2", "/3"}) {
    ASSERT_TRUE(HttpFetch((*stub)->port(), "GET", path).ok());
  }
  absl::StatusOr<std::vector<RecordedRequest>> requests = (*stub)->Requests();
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].path, "/2");
  EXPECT_EQ((*requests)[1].path, "/3");
  absl::StatusOr<StubStats> stats = (*stub)->Stats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->requests, 3);
  EXPECT_EQ(stats->dropped_records, 1);
  // Logged before answering, so the line is there by now.
  EXPECT_THAT((*stub)->process().ReadStderr(),
              HasSubstr("request 3 on connection 3: GET /3 -> respond 201"));
}

TEST(StubUpstreamLifetimeTest, ExitsByItselfAfterMaxLifetime) {
  ChildProcessOptions options;
  options.path = STUB_UPSTREAM_PATH;
  options.args = {"--max_lifetime=1s"};
  options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
  absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<ChildProcess>> stub =
      ChildProcess::Start(options);
  ASSERT_TRUE(stub.ok()) << stub.status();
  absl::StatusOr<std::string> ready =
      (*stub)->ReadLineMatching("listening on ", kIoTimeout);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_THAT(*ready, StartsWith("listening on 127.0.0.1:"));

  absl::StatusOr<ExitStatus> exit = (*stub)->Wait(absl::Seconds(5));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(0)) << exit->ToString();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(950));
  EXPECT_THAT((*stub)->ReadStderr(), HasSubstr("max_lifetime"));
}

TEST(StubUpstreamLifetimeTest, PickedPortIsUsedAndABusyPortIsReported) {
  int port = PickUnusedPort();
  ASSERT_GT(port, 0);
  StubUpstreamOptions options;
  options.port = port;
  options.max_lifetime = absl::Seconds(30);
  absl::StatusOr<std::unique_ptr<StubUpstream>> first =
      StubUpstream::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ((*first)->port(), port);
  EXPECT_EQ((*first)->base_url(), absl::StrCat("http://127.0.0.1:", port));

  options.capture_stderr = true;
  absl::StatusOr<std::unique_ptr<StubUpstream>> second =
      StubUpstream::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("exited with code 2"));
  EXPECT_THAT(std::string(second.status().message()),
              HasSubstr("Address already in use"));
}

TEST(ChildProcessTest, ReadsLinesWithExtraEnvAndCapturesStderr) {
  ChildProcessOptions options;
  options.path = "/bin/sh";
  options.args = {"-c",
                  "echo noise; echo \"ready $GREETING\"; echo oops >&2; "
                  "read line; echo \"stdin: [$line]\"; exit 3"};
  options.env = {{"GREETING", "hi"}, {"PATH", "/usr/bin:/bin"}};
  options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(options);
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> ready =
      (*child)->ReadLineMatching("ready ", kIoTimeout);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(*ready, "ready hi");
  // stdin is /dev/null, so `read` sees end of input at once.
  absl::StatusOr<std::string> next =
      (*child)->ReadLineMatching("stdin: ", kIoTimeout);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, "stdin: []");

  absl::StatusOr<ExitStatus> exit = (*child)->Wait(kIoTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ExitedWith(3)) << exit->ToString();
  EXPECT_EQ((*child)->ReadStderr(), "oops\n");
  EXPECT_FALSE((*child)->stderr_path().empty());

  // Nothing more will come: the error says why.
  absl::StatusOr<std::string> more =
      (*child)->ReadLineMatching("never", kIoTimeout);
  EXPECT_TRUE(absl::IsFailedPrecondition(more.status())) << more.status();
  EXPECT_THAT(std::string(more.status().message()),
              HasSubstr("exited with code 3"));
  EXPECT_THAT(std::string(more.status().message()), HasSubstr("oops"));
  EXPECT_TRUE(absl::IsFailedPrecondition((*child)->Signal(SIGTERM)));
}

TEST(ChildProcessTest, WaitTimesOutThenSignalKills) {
  ChildProcessOptions options;
  options.path = "/bin/sh";
  options.args = {"-c", "echo up; exec sleep 30"};
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(options);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->ReadLineMatching("up", kIoTimeout).ok());

  absl::StatusOr<std::string> silent =
      (*child)->ReadLineMatching("never", absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(silent.status())) << silent.status();
  absl::StatusOr<ExitStatus> running = (*child)->Wait(absl::Milliseconds(100));
  EXPECT_TRUE(absl::IsDeadlineExceeded(running.status())) << running.status();
  EXPECT_FALSE((*child)->exited());

  ASSERT_TRUE((*child)->Signal(SIGKILL).ok());
  absl::StatusOr<ExitStatus> exit = (*child)->Wait(kIoTimeout);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->KilledBy(SIGKILL)) << exit->ToString();
  EXPECT_TRUE((*child)->exited());
}

TEST(ChildProcessTest, TerminateEscalatesToSigkill) {
  ChildProcessOptions options;
  options.path = "/bin/sh";
  // An ignored signal stays ignored across exec, so sleep shrugs off
  // SIGTERM and only SIGKILL ends it.
  options.args = {"-c", "trap '' TERM; echo up; exec sleep 30"};
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(options);
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->ReadLineMatching("up", kIoTimeout).ok());
  absl::StatusOr<ExitStatus> exit =
      (*child)->Terminate(absl::Milliseconds(200));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->KilledBy(SIGKILL)) << exit->ToString();
}

TEST(ChildProcessTest, DestructorKillsAndReapsARunningChild) {
  pid_t pid;
  std::string stderr_path;
  {
    ChildProcessOptions options;
    options.path = "/bin/sh";
    options.args = {"-c", "exec sleep 30"};
    options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::Start(options);
    ASSERT_TRUE(child.ok()) << child.status();
    pid = (*child)->pid();
    stderr_path = (*child)->stderr_path();
    ASSERT_EQ(::kill(pid, 0), 0);
    ASSERT_EQ(::access(stderr_path.c_str(), F_OK), 0);
  }
  // Reaped, not a zombie: the pid no longer exists at all.
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  // The stderr file it picked itself went with it.
  EXPECT_NE(::access(stderr_path.c_str(), F_OK), 0);
}

TEST(ChildProcessTest, StartFailsForAMissingProgram) {
  ChildProcessOptions options;
  options.path = "/nonexistent/program";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(options);
  EXPECT_TRUE(absl::IsNotFound(child.status())) << child.status();
  options.path = "";
  EXPECT_TRUE(absl::IsInvalidArgument(ChildProcess::Start(options).status()));
}

#ifdef STUB_SELFTEST_HAVE_CURL

// What libcurl made of one exchange.
struct CurlResult {
  CURLcode code = CURLE_OK;
  long status = 0;
  std::string body;
};

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// Feeds a request body of unknown length, so curl sends it chunked.
size_t ReadFromString(char* buffer, size_t size, size_t count, void* in) {
  std::string* source = static_cast<std::string*>(in);
  size_t n = std::min(size * count, std::min<size_t>(source->size(), 7));
  source->copy(buffer, n);
  source->erase(0, n);
  return n;
}

// One POST through `curl` (reused by the caller to test keep-alive).
CurlResult CurlPost(CURL* curl, const std::string& url, std::string body,
                    long timeout_ms, bool chunked = false) {
  CurlResult result;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_slist* headers = nullptr;
  if (chunked) {
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadFromString);
    curl_easy_setopt(curl, CURLOPT_READDATA, &body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, nullptr);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, -1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  result.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  return result;
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

CurlHandle NewCurl() { return CurlHandle(curl_easy_init(), curl_easy_cleanup); }

TEST_F(StubUpstreamTest, LibcurlReusesTheConnectionAndSendsAnyBodyShape) {
  CurlHandle curl = NewCurl();
  ASSERT_NE(curl, nullptr);
  std::string url = stub_->base_url() + "/payment-service-sessions";
  CurlResult first = CurlPost(curl.get(), url, "{}", 5000);
  EXPECT_EQ(first.code, CURLE_OK) << curl_easy_strerror(first.code);
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(first.body, DefaultBody(1));
  // Over 1 MiB: curl asks "Expect: 100-continue" first.
  std::string big(size_t{2} << 20, 'b');
  CurlResult second = CurlPost(curl.get(), url, big, 5000);
  EXPECT_EQ(second.code, CURLE_OK) << curl_easy_strerror(second.code);
  CurlResult third =
      CurlPost(curl.get(), url, "streamed in pieces", 5000, /*chunked=*/true);
  EXPECT_EQ(third.code, CURLE_OK) << curl_easy_strerror(third.code);
  EXPECT_EQ(third.body, DefaultBody(3));

  std::vector<RecordedRequest> requests = Requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].connection, requests[1].connection);
  EXPECT_EQ(requests[1].connection, requests[2].connection);
  EXPECT_EQ(requests[1].body.size(), big.size());
  EXPECT_EQ(requests[1].Header("expect"), "100-continue");
  EXPECT_EQ(requests[2].Header("transfer-encoding"), "chunked");
  EXPECT_EQ(requests[2].body, "streamed in pieces");
  EXPECT_EQ(Stats().connections, 1);
}

TEST_F(StubUpstreamTest, LibcurlSeesEachMisbehaviour) {
  Script(R"([{"action": "reset"}, {"action": "close"}, {"action": "hang"},
             {"action": "headers_then_stall"}, {"action": "truncate"},
             {"action": "huge", "size_bytes": 1048576}])");
  std::string url = stub_->base_url() + "/payment-service-sessions";
  // A fresh handle per request: curl would otherwise retry a reused
  // connection that died, and consume an extra step.
  struct Expectation {
    const char* action;
    CURLcode code;
  };
  for (const Expectation& expected : {
           Expectation{"reset", CURLE_RECV_ERROR},
           Expectation{"close", CURLE_GOT_NOTHING},
           Expectation{"hang", CURLE_OPERATION_TIMEDOUT},
           Expectation{"headers_then_stall", CURLE_OPERATION_TIMEDOUT},
           Expectation{"truncate", CURLE_PARTIAL_FILE},
           Expectation{"huge", CURLE_OK},
       }) {
    CurlHandle curl = NewCurl();
    ASSERT_NE(curl, nullptr);
    absl::Time start = absl::Now();
    CurlResult result = CurlPost(curl.get(), url, "{}", 300);
    EXPECT_EQ(result.code, expected.code)
        << expected.action << ": " << curl_easy_strerror(result.code);
    if (expected.code == CURLE_OPERATION_TIMEDOUT) {
      EXPECT_GE(absl::Now() - start, absl::Milliseconds(290))
          << expected.action;
    }
    if (expected.code == CURLE_OK) {
      EXPECT_EQ(result.body.size(), size_t{1} << 20);
    }
  }
  EXPECT_EQ(Stats().requests, 6);
}

#endif  // STUB_SELFTEST_HAVE_CURL

}  // namespace
}  // namespace testing
}  // namespace session_gateway
