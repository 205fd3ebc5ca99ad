// Tests of upstream/curl_transfer.h on the test's own thread: no event
// loop, no server. Handles are configured and inspected, or run with
// curl_easy_perform against a closed 127.0.0.1 port.

#include "upstream/curl_transfer.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "upstream/curl_trust.h"

namespace session_gateway {
namespace upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

class CurlTransferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  Easy NewEasy() { return Easy(curl_easy_init()); }

  absl::Status Configure(Transfer& transfer, CURL* easy) {
    return transfer.Configure(easy, limits_, trust_, absl::Now());
  }

  TransferLimits limits_;
  TrustSettings trust_;
};

HttpRequest Request(std::string method, std::string url) {
  HttpRequest request;
  request.method = std::move(method);
  request.url = std::move(url);
  return request;
}

std::vector<std::string> Lines(const curl_slist* list) {
  std::vector<std::string> lines;
  for (; list != nullptr; list = list->next) lines.push_back(list->data);
  return lines;
}

// A 127.0.0.1 port nothing listens on: bound once, then released.
int ClosedPort() {
  const int sock = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

TEST(ParseUpstreamUrlTest, KeepsOnlySchemeHostAndPort) {
  absl::StatusOr<UpstreamAddress> http =
      ParseUpstreamUrl("http://127.0.0.1/secret/path?token=abc");
  ASSERT_TRUE(http.ok()) << http.status();
  EXPECT_EQ(http->host_port, "127.0.0.1:80");
  EXPECT_FALSE(http->https);

  absl::StatusOr<UpstreamAddress> https =
      ParseUpstreamUrl("HTTPS://api.example.com:8443/x");
  ASSERT_TRUE(https.ok()) << https.status();
  EXPECT_EQ(https->host_port, "api.example.com:8443");
  EXPECT_TRUE(https->https);

  absl::StatusOr<UpstreamAddress> v6 = ParseUpstreamUrl("https://[::1]/");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host_port, "[::1]:443");
}

TEST(ParseUpstreamUrlTest, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* url : {"not a url", "ftp://127.0.0.1/file", "http://",
                          "http://127.0.0.1:99999/", "/relative/path", ""}) {
    EXPECT_EQ(ParseUpstreamUrl(url).status().code(),
              absl::StatusCode::kInvalidArgument)
        << url;
  }
}

TEST(UpstreamAddressCacheTest, AnswersLikeParseUpstreamUrl) {
  UpstreamAddressCache cache;
  for (int round = 0; round < 2; ++round) {  // Miss, then hit.
    for (const char* url :
         {"http://127.0.0.1/a?b", "http://127.0.0.1:8080/a", "HTTP://127.0.0.1",
          "https://[::1]:9/x#f", "https://api.example.com?q=/x"}) {
      absl::StatusOr<UpstreamAddress> cached = cache.Parse(url);
      absl::StatusOr<UpstreamAddress> parsed = ParseUpstreamUrl(url);
      ASSERT_TRUE(cached.ok()) << url << ": " << cached.status();
      ASSERT_TRUE(parsed.ok()) << url;
      EXPECT_EQ(cached->host_port, parsed->host_port) << url;
      EXPECT_EQ(cached->https, parsed->https) << url;
    }
    for (const char* url : {"not a url", "ftp://127.0.0.1/file", "http://",
                            "http://127.0.0.1:99999/"}) {
      EXPECT_EQ(cache.Parse(url).status().code(),
                absl::StatusCode::kInvalidArgument)
          << url;
    }
  }
}

TEST_F(CurlTransferTest, MalformedPathAfterACachedOriginFailsBeforeSending) {
  UpstreamAddressCache cache;
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  const std::string origin = absl::StrCat("http://127.0.0.1:", port);
  ASSERT_TRUE(cache.Parse(origin + "/fine").ok());
  Transfer transfer(Request("GET", origin + "/a b"));
  Easy easy = NewEasy();
  absl::Status status =
      transfer.Configure(easy.get(), limits_, trust_, absl::Now(), &cache);
  HttpResult result;
  if (status.ok()) {  // Caught by libcurl's own parse instead.
    result = transfer.Complete(curl_easy_perform(easy.get()), absl::Now());
  } else {
    result = transfer.Abandon(status);
  }
  EXPECT_EQ(result.status.code(), absl::StatusCode::kInvalidArgument)
      << result.status;
  EXPECT_FALSE(result.request_sent);
}

TEST_F(CurlTransferTest, PostHeaderListSuppressesCurlDefaults) {
  HttpRequest request = Request("POST", "http://127.0.0.1:1/x");
  request.headers = {{"Authorization", "Bearer t"}, {"X-Empty", ""}};
  request.body = "{}";
  Transfer transfer(std::move(request));
  Easy easy = NewEasy();
  ASSERT_TRUE(Configure(transfer, easy.get()).ok());
  EXPECT_EQ(transfer.address(), "127.0.0.1:1");
  EXPECT_EQ(transfer.easy(), easy.get());
  // The caller's headers in order ("Name;" sends an empty value), then
  // blanks that stop curl adding Expect, Accept and Content-Type.
  EXPECT_THAT(Lines(transfer.header_list()),
              ElementsAre("Authorization: Bearer t", "X-Empty;", "Expect:",
                          "Accept:", "Content-Type:"));
}

TEST_F(CurlTransferTest, CallerHeadersReplaceTheBlanks) {
  HttpRequest request = Request("PUT", "http://127.0.0.1:1/x");
  request.headers = {{"accept", "application/json"},
                     {"content-type", "application/json"},
                     {"EXPECT", "100-continue"}};
  Transfer transfer(std::move(request));
  Easy easy = NewEasy();
  ASSERT_TRUE(Configure(transfer, easy.get()).ok());
  EXPECT_THAT(Lines(transfer.header_list()),
              ElementsAre("accept: application/json",
                          "content-type: application/json",
                          "EXPECT: 100-continue"));
}

TEST_F(CurlTransferTest, GetWithoutBodyGetsNoContentTypeBlank) {
  Transfer transfer(Request("GET", "http://127.0.0.1:1/x"));
  Easy easy = NewEasy();
  ASSERT_TRUE(Configure(transfer, easy.get()).ok());
  EXPECT_THAT(Lines(transfer.header_list()), ElementsAre("Expect:", "Accept:"));
}

TEST_F(CurlTransferTest, BadRequestsAreRejectedBeforeAnythingIsSent) {
  struct Case {
    HttpRequest request;
    absl::StatusCode code;
  };
  std::vector<Case> cases;
  cases.push_back({Request("GET", "not a url"),
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({Request("GET /x", "http://127.0.0.1:1/"),
                   absl::StatusCode::kInvalidArgument});
  cases.push_back({Request("", "http://127.0.0.1:1/"),
                   absl::StatusCode::kInvalidArgument});
  HttpRequest injected = Request("GET", "http://127.0.0.1:1/");
  injected.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  cases.push_back({injected, absl::StatusCode::kInvalidArgument});
  HttpRequest bad_name = Request("GET", "http://127.0.0.1:1/");
  bad_name.headers = {{"Bad Name", "v"}};
  cases.push_back({bad_name, absl::StatusCode::kInvalidArgument});
  HttpRequest head_body = Request("HEAD", "http://127.0.0.1:1/");
  head_body.body = "x";
  cases.push_back({head_body, absl::StatusCode::kInvalidArgument});
  HttpRequest late = Request("GET", "http://127.0.0.1:1/");
  late.deadline = absl::Now() - absl::Seconds(1);
  cases.push_back({late, absl::StatusCode::kDeadlineExceeded});

  for (Case& c : cases) {
    const std::string what = absl::StrCat(c.request.method, " ", c.request.url);
    Transfer transfer(std::move(c.request));
    Easy easy = NewEasy();
    const absl::Status status = Configure(transfer, easy.get());
    EXPECT_EQ(status.code(), c.code) << what << ": " << status;
    const HttpResult abandoned = transfer.Abandon(status);
    EXPECT_FALSE(abandoned.request_sent) << what;
  }
}

TEST_F(CurlTransferTest, RefusedConnectionIsUnavailableAndUnsent) {
  const int port = ClosedPort();
  ASSERT_GT(port, 0);
  HttpRequest request =
      Request("POST", absl::StrCat("http://127.0.0.1:", port, "/x?k=secret"));
  request.headers = {{"Authorization", "Bearer secret-token"}};
  request.body = "secret-body";
  request.deadline = absl::Now() + absl::Seconds(10);
  Transfer transfer(std::move(request));
  Easy easy = NewEasy();
  ASSERT_TRUE(Configure(transfer, easy.get()).ok());

  const CURLcode code = curl_easy_perform(easy.get());
  const HttpResult result = transfer.Complete(code, absl::Now());

  EXPECT_EQ(code, CURLE_COULDNT_CONNECT);
  EXPECT_EQ(result.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(result.request_sent);
  EXPECT_THAT(result.status.message(),
              HasSubstr(absl::StrCat("127.0.0.1:", port)));
  EXPECT_THAT(result.status.message(), Not(HasSubstr("secret")));
}

TEST_F(CurlTransferTest, AbandonedBeforeRunningWasNotSent) {
  Transfer transfer(Request("GET", "http://127.0.0.1:1/"));
  Easy easy = NewEasy();
  ASSERT_TRUE(Configure(transfer, easy.get()).ok());
  const HttpResult result = transfer.Abandon(absl::CancelledError("gone"));
  EXPECT_EQ(result.status.code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(result.request_sent);
}

TransferFailure Failure(CURLcode code) {
  TransferFailure failure;
  failure.code = code;
  failure.address = "api.example.com:443";
  failure.max_response_bytes = 1024;
  failure.connect_timeout = absl::Seconds(2);
  failure.budget = absl::Milliseconds(1500);
  return failure;
}

TEST(TransferErrorStatusTest, MapsEachKindOfFailure) {
  const std::vector<std::pair<CURLcode, absl::StatusCode>> cases = {
      {CURLE_COULDNT_CONNECT, absl::StatusCode::kUnavailable},
      {CURLE_COULDNT_RESOLVE_HOST, absl::StatusCode::kUnavailable},
      {CURLE_GOT_NOTHING, absl::StatusCode::kUnavailable},
      {CURLE_RECV_ERROR, absl::StatusCode::kUnavailable},
      {CURLE_HTTP2_STREAM, absl::StatusCode::kUnavailable},
      {CURLE_PEER_FAILED_VERIFICATION, absl::StatusCode::kUnavailable},
      {CURLE_SSL_CONNECT_ERROR, absl::StatusCode::kUnavailable},
      {CURLE_FILESIZE_EXCEEDED, absl::StatusCode::kResourceExhausted},
      {CURLE_OUT_OF_MEMORY, absl::StatusCode::kResourceExhausted},
      {CURLE_URL_MALFORMAT, absl::StatusCode::kInvalidArgument},
      {CURLE_SSL_CACERT_BADFILE, absl::StatusCode::kFailedPrecondition},
      {CURLE_WRITE_ERROR, absl::StatusCode::kInternal},
      {CURLE_BAD_FUNCTION_ARGUMENT, absl::StatusCode::kInternal},
  };
  for (const auto& [code, expected] : cases) {
    const absl::Status status = TransferErrorStatus(Failure(code));
    EXPECT_EQ(status.code(), expected) << curl_easy_strerror(code);
    if (code != CURLE_URL_MALFORMAT) {
      EXPECT_THAT(status.message(), HasSubstr("api.example.com:443"))
          << curl_easy_strerror(code);
    }
  }
}

TEST(TransferErrorStatusTest, TimeoutBeforeTheDeadlineIsAConnectTimeout) {
  TransferFailure failure = Failure(CURLE_OPERATION_TIMEDOUT);
  failure.curl_detail = "Connection timed out after 2001 milliseconds";
  failure.deadline_reached = false;
  absl::Status status = TransferErrorStatus(failure);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("could not connect"));
  EXPECT_THAT(status.message(), HasSubstr("2s"));
  EXPECT_THAT(status.message(), HasSubstr("after 2001 milliseconds"));

  failure.deadline_reached = true;
  status = TransferErrorStatus(failure);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(status.message(), HasSubstr("did not answer within 1.5s"));
}

TEST(TransferErrorStatusTest, RefusedBodyIsTooLargeNotAWriteError) {
  TransferFailure failure = Failure(CURLE_WRITE_ERROR);
  failure.body_too_large = true;
  const absl::Status status = TransferErrorStatus(failure);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("exceeds 1024 bytes"));
}

TEST(AddResponseHeaderLineTest, KeepsFinalResponseHeadersNormalised) {
  std::vector<std::pair<std::string, std::string>> headers;
  for (const char* line :
       {"HTTP/1.1 100 Continue\r\n", "X-Interim: 1\r\n", "\r\n",
        "HTTP/1.1 200 OK\r\n", "Content-Type:  text/plain \r\n",
        "X-Folded: a\r\n", "\t b\r\n", "no colon here\r\n",
        "X-Multi: 1\r\n", "x-multi: 2\r\n", "\r\n"}) {
    AddResponseHeaderLine(line, headers);
  }
  EXPECT_THAT(headers, ElementsAre(Pair("content-type", "text/plain"),
                                   Pair("x-folded", "a b"),
                                   Pair("x-multi", "1"), Pair("x-multi", "2")));
}

TEST(AddResponseHeaderLineTest, FoldingWithNothingBeforeIsDropped) {
  std::vector<std::pair<std::string, std::string>> headers;
  AddResponseHeaderLine(" orphan\r\n", headers);
  EXPECT_THAT(headers, IsEmpty());
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
