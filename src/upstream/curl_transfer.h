// Transfer: one HttpRequest turned into a configured libcurl easy handle,
// and the handle's outcome turned back into an HttpResult.
//
// This is everything CurlHttpClient knows about HTTP and libcurl options,
// kept apart from the event loop (upstream/curl_event_loop.h) that drives
// transfers, so it can be tested on its own: configure a handle, run it
// with curl_easy_perform or not at all, and look at the result, all on the
// test's thread.
//
// Usage (what the event loop does):
//
//   auto transfer = std::make_unique<Transfer>(std::move(request));
//   absl::Status status = transfer->Configure(easy, limits, trust,
//                                             absl::Now());
//   if (!status.ok()) ...  // Reject: nothing was sent.
//   curl_multi_add_handle(multi, easy);
//   ... when curl reports the handle done with `code`:
//   HttpResult result = transfer->Complete(code, absl::Now());
//   ... or when it is cancelled first:
//   HttpResult result = transfer->Abandon(absl::CancelledError("..."));
//
// A Transfer is used by one thread at a time and must outlive the
// handle's use by curl (curl reads the body and writes the response
// through pointers into it).

#ifndef SESSION_GATEWAY_UPSTREAM_CURL_TRANSFER_H_
#define SESSION_GATEWAY_UPSTREAM_CURL_TRANSFER_H_

#include <curl/curl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "upstream/curl_trust.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace upstream {

// Per-client limits every transfer gets (see CurlHttpClient::Options).
struct TransferLimits {
  size_t max_response_bytes = size_t{16} << 20;
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Where a request goes, from its URL. Only scheme, host and port: the
// path and query may carry secrets and never appear in messages.
struct UpstreamAddress {
  std::string host_port;  // "host:port", for messages.
  bool https = false;
};

// Accepts only absolute http:// and https:// URLs with a host; otherwise
// kInvalidArgument. Uses libcurl's URL parser, the one the transfer uses.
absl::StatusOr<UpstreamAddress> ParseUpstreamUrl(const std::string& url);

// Remembers ParseUpstreamUrl() results by the URL's origin (the text up
// to the end of the authority, e.g. "https://api.example.com:8443"), since
// every request of a client goes to the same upstream or few: parsing a
// URL costs libcurl about 8,000 instructions, some 8% of a whole exchange.
// On a hit the rest of the URL is not checked here; libcurl parses the
// whole URL again when the transfer starts and fails it with
// CURLE_URL_MALFORMAT (kInvalidArgument), before anything is sent.
//
// Usage: one per event loop, used by that loop's thread only.
//
//   UpstreamAddressCache cache;
//   absl::StatusOr<UpstreamAddress> address = cache.Parse(request.url);
class UpstreamAddressCache {
 public:
  // As ParseUpstreamUrl(url); failures are not remembered.
  absl::StatusOr<UpstreamAddress> Parse(const std::string& url);

 private:
  // Distinct origins remembered; past this the cache starts over, which
  // keeps memory bounded if callers ever vary hosts wildly.
  static constexpr size_t kMaxEntries = 64;

  absl::flat_hash_map<std::string, UpstreamAddress> by_origin_;
};

// Everything about a failed transfer that its status message and code
// depend on; see TransferErrorStatus().
struct TransferFailure {
  CURLcode code = CURLE_OK;
  std::string address;             // "host:port".
  std::string curl_detail;         // CURLOPT_ERRORBUFFER contents, or "".
  bool body_too_large = false;     // The write callback refused the body.
  size_t max_response_bytes = 0;   // For the kResourceExhausted message.
  absl::Duration connect_timeout;  // For the connect-timeout message.
  absl::Duration budget = absl::InfiniteDuration();  // Deadline - start.
  bool deadline_reached = false;   // The request's own deadline has come.
};

// Maps a failed transfer to the status HttpResult documents:
// kDeadlineExceeded (the request's deadline), kUnavailable (network,
// protocol, TLS, connect timeout), kResourceExhausted (response too large
// or out of memory), kInvalidArgument (malformed URL),
// kFailedPrecondition (unusable CA file) or kInternal (misuse of libcurl).
// The message names the address but never header values or bodies.
absl::Status TransferErrorStatus(const TransferFailure& failure);

// Adds one raw response header line (as libcurl's header callback sees
// it, CRLF included) to `headers`: names lowercased, values trimmed,
// obsolete line folding joined. A status line ("HTTP/...") clears
// `headers`, so only the final response's headers remain after 1xx ones.
void AddResponseHeaderLine(
    absl::string_view line,
    std::vector<std::pair<std::string, std::string>>& headers);

// Whether a transfer that ended with `code` may have put any part of the
// request on the wire. Errs towards true: false promises the caller a
// retry cannot duplicate work.
bool RequestMayHaveBeenSent(CURL* easy, CURLcode code);

class Transfer {
 public:
  explicit Transfer(HttpRequest request);
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer();

  // Validates the request and sets every option of `easy` for it: method,
  // URL, headers, body, timeouts from the deadline (as seen at `now`),
  // response limits and TLS verification with `trust`. `easy` must be new
  // or curl_easy_reset; `trust` must outlive the transfer. Errors (nothing
  // was sent): kInvalidArgument for a bad URL, method, header or a HEAD
  // with a body; kDeadlineExceeded if the deadline has passed; kInternal
  // if libcurl refuses an option. After an error, reset `easy` before
  // reusing it. The URL's host and port come from `addresses` if given
  // (see UpstreamAddressCache), else from parsing the URL.
  absl::Status Configure(CURL* easy, const TransferLimits& limits,
                         const TrustSettings& trust, absl::Time now,
                         UpstreamAddressCache* addresses = nullptr);

  // The outcome once curl has finished the configured handle with `code`
  // (CURLE_OK: a complete response arrived, whatever its status code).
  HttpResult Complete(CURLcode code, absl::Time now);

  // The outcome of a transfer ended before curl finished it, with
  // `status` (e.g. kCancelled); request_sent is judged from the handle.
  HttpResult Abandon(absl::Status status);

  // kDeadlineExceeded in the words Complete() uses for curl's own timeout.
  absl::Status DeadlineExceeded() const;

  const HttpRequest& request() const { return request_; }
  // "host:port" once Configure() has parsed the URL, else "".
  const std::string& address() const { return address_; }
  // The handle given to Configure(), or nullptr.
  CURL* easy() const { return easy_; }
  // The header list handed to curl (CURLOPT_HTTPHEADER), for tests.
  const curl_slist* header_list() const { return header_list_; }

 private:
  static size_t OnBody(char* data, size_t size, size_t count, void* user);
  static size_t OnHeader(char* data, size_t size, size_t count, void* user);

  absl::Status BuildHeaderList(bool sends_body);

  // Owns the body curl sends from (CURLOPT_POSTFIELDS does not copy).
  const HttpRequest request_;
  std::string address_;
  absl::Duration budget_ = absl::InfiniteDuration();  // For messages.
  absl::Duration connect_timeout_;
  CURL* easy_ = nullptr;
  curl_slist* header_list_ = nullptr;
  size_t max_body_ = 0;
  bool body_too_large_ = false;
  HttpResponse response_;
  char error_[CURL_ERROR_SIZE] = {};
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_CURL_TRANSFER_H_
