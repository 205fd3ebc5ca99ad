// A tiny blocking HTTP/1.1 client for loopback tests: the harness uses it
// to drive the stub upstream's control endpoints, and self-tests use it
// where they need to see exactly how a connection ends (reset, early close,
// stall) rather than what a full-featured client makes of it.
//
// Every call takes a timeout, and failures map to distinct codes so tests
// can assert on them:
//   kDeadlineExceeded  the timeout passed first;
//   kAborted           the peer reset the connection (RST);
//   kUnavailable       the connection failed, or closed before any byte of
//                      the response arrived;
//   kDataLoss          the connection closed in the middle of a response;
//   kInvalidArgument   the response was not valid HTTP/1.x.
//
// Usage:
//
//   absl::StatusOr<HttpResponse> r = HttpFetch(
//       port, "POST", "/__stub/script", R"([{"status":500}])");
//   if (r.ok() && r->status == 200) { ... }
//
//   // Keep-alive: several exchanges on one connection.
//   absl::StatusOr<std::unique_ptr<HttpConnection>> conn =
//       HttpConnection::Connect(port, absl::Seconds(1));
//   absl::StatusOr<HttpResponse> first =
//       (*conn)->RoundTrip("GET", "/a", "", {}, absl::Seconds(1));
//   absl::StatusOr<HttpResponse> second =
//       (*conn)->RoundTrip("GET", "/b", "", {}, absl::Seconds(1));

#ifndef SESSION_GATEWAY_TEST_SUPPORT_HTTP_CLIENT_H_
#define SESSION_GATEWAY_TEST_SUPPORT_HTTP_CLIENT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "support/http_message.h"
#include "support/socket_util.h"

namespace session_gateway {
namespace testing {

// A complete response. Interim 1xx responses are skipped, not returned.
struct HttpResponse {
  int status = 0;
  std::string reason;
  // Names lowercased, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // Values of the fields named `name` (any case) joined with ", "; "" if
  // absent.
  std::string Header(absl::string_view name) const;
};

// Extra request header fields, sent in order.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Serializes a request with a Content-Length body (the field is added
// unless `headers` has one). Exposed so tests can send it in odd ways,
// e.g. pipelined or byte by byte.
std::string FormatRequest(absl::string_view method, absl::string_view target,
                          absl::string_view body, const HttpHeaders& headers);

// One client connection to 127.0.0.1. Not thread-safe.
class HttpConnection {
 public:
  // Responses larger than this fail with kResourceExhausted rather than
  // exhausting the test's memory.
  static constexpr size_t kMaxBodyBytes = size_t{256} << 20;

  // Connects within `timeout`.
  static absl::StatusOr<std::unique_ptr<HttpConnection>> Connect(
      int port, absl::Duration timeout);

  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends raw bytes, which need not be a complete or valid request.
  absl::Status Send(absl::string_view bytes, absl::Duration timeout);

  // Reads the next response. `request_was_head` says the response has no
  // body whatever its fields claim. Bytes beyond the response stay
  // buffered for the next call, so pipelined responses work.
  absl::StatusOr<HttpResponse> ReadResponse(absl::Duration timeout,
                                            bool request_was_head = false);

  // Send(FormatRequest(...)) then ReadResponse(), within one `timeout`.
  absl::StatusOr<HttpResponse> RoundTrip(absl::string_view method,
                                         absl::string_view target,
                                         absl::string_view body,
                                         const HttpHeaders& headers,
                                         absl::Duration timeout);

  // Number of bytes the peer has sent so far, including any not yet
  // returned by ReadResponse: lets a test see how far a stalled or
  // truncated response got.
  size_t bytes_received() const { return bytes_received_; }

  // Closes the connection now; later calls fail.
  void Close() { fd_.reset(); }

  int fd() const { return fd_.get(); }

 private:
  explicit HttpConnection(UniqueFd fd) : fd_(std::move(fd)) {}

  // Appends whatever arrives before `deadline` to buffer_. OK with
  // *eof = true when the peer closed the connection.
  absl::Status ReadMore(absl::Time deadline, bool* eof);

  UniqueFd fd_;
  std::string buffer_;
  size_t bytes_received_ = 0;
};

// One request on a fresh connection that is closed afterwards
// ("Connection: close" is sent). `timeout` bounds the whole exchange.
absl::StatusOr<HttpResponse> HttpFetch(
    int port, absl::string_view method, absl::string_view target,
    absl::string_view body = "", const HttpHeaders& headers = {},
    absl::Duration timeout = absl::Seconds(5));

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_HTTP_CLIENT_H_
