#include "upstream/curl_transfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// CURLOPT_PROTOCOLS_STR (7.85) is relied on below.
#if LIBCURL_VERSION_NUM < 0x075500
#error "session_gateway_http needs libcurl 7.85 or newer"
#endif

namespace session_gateway {
namespace upstream {
namespace {

// curl_easy_setopt is variadic, so the type of each argument must be exactly
// what the option expects (long, not int). These keep that explicit.
CURLcode SetLong(CURL* easy, CURLoption option, long value) {
  return curl_easy_setopt(easy, option, value);
}
CURLcode SetString(CURL* easy, CURLoption option, const char* value) {
  return curl_easy_setopt(easy, option, value);
}
CURLcode SetPointer(CURL* easy, CURLoption option, void* value) {
  return curl_easy_setopt(easy, option, value);
}
CURLcode SetOffset(CURL* easy, CURLoption option, curl_off_t value) {
  return curl_easy_setopt(easy, option, value);
}
using DataCallback = size_t (*)(char*, size_t, size_t, void*);
CURLcode SetCallback(CURL* easy, CURLoption option, DataCallback value) {
  return curl_easy_setopt(easy, option, value);
}

long GetLong(CURL* easy, CURLINFO info) {
  long value = 0;
  if (curl_easy_getinfo(easy, info, &value) != CURLE_OK) return 0;
  return value;
}
curl_off_t GetOffset(CURL* easy, CURLINFO info) {
  curl_off_t value = 0;
  if (curl_easy_getinfo(easy, info, &value) != CURLE_OK) return 0;
  return value;
}

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
             absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

bool IsHeaderValue(absl::string_view s) {
  return s.find_first_of(absl::string_view("\r\n\0", 3)) ==
         absl::string_view::npos;
}

bool HasHeader(const HttpRequest& request, absl::string_view name) {
  return std::any_of(request.headers.begin(), request.headers.end(),
                     [name](const auto& header) {
                       return absl::EqualsIgnoreCase(header.first, name);
                     });
}

// Frees a CURLU handle and strings libcurl allocated.
struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFreeDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlFreeDeleter>;

CurlString GetUrlPart(CURLU* url, CURLUPart part, unsigned int flags) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK) return nullptr;
  return CurlString(value);
}

std::string Describe(CURLcode code, absl::string_view detail) {
  std::string text = absl::StrCat(curl_easy_strerror(code), " (curl error ",
                                  static_cast<int>(code));
  if (!detail.empty()) absl::StrAppend(&text, ": ", detail);
  absl::StrAppend(&text, ")");
  return text;
}

absl::Status TooLarge(const TransferFailure& failure) {
  return absl::ResourceExhaustedError(absl::StrCat(
      "response from upstream ", failure.address, " exceeds ",
      failure.max_response_bytes, " bytes (max_response_bytes)"));
}

absl::Status DidNotAnswer(absl::string_view address, absl::Duration budget) {
  return absl::DeadlineExceededError(absl::StrCat(
      "upstream ", address, " did not answer within ",
      absl::FormatDuration(absl::Trunc(budget, absl::Milliseconds(1)))));
}

}  // namespace

absl::StatusOr<UpstreamAddress> ParseUpstreamUrl(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory");
  const CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(),
                                      CURLU_NON_SUPPORT_SCHEME);
  if (code != CURLUE_OK) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed upstream URL: ", curl_url_strerror(code)));
  }
  CurlString scheme = GetUrlPart(parsed.get(), CURLUPART_SCHEME, 0);
  const std::string lower_scheme =
      scheme == nullptr ? "" : absl::AsciiStrToLower(scheme.get());
  if (lower_scheme != "http" && lower_scheme != "https") {
    return absl::InvalidArgumentError(
        "upstream URL scheme must be http or https");
  }
  CurlString host = GetUrlPart(parsed.get(), CURLUPART_HOST, 0);
  CurlString port =
      GetUrlPart(parsed.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (host == nullptr || *host == '\0' || port == nullptr) {
    return absl::InvalidArgumentError("upstream URL has no host");
  }
  return UpstreamAddress{absl::StrCat(host.get(), ":", port.get()),
                         lower_scheme == "https"};
}

absl::StatusOr<UpstreamAddress> UpstreamAddressCache::Parse(
    const std::string& url) {
  // The origin ends at the first '/', '?' or '#' after "://" (none of them
  // can appear unescaped in an authority).
  absl::string_view origin;
  const size_t scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    const size_t end = url.find_first_of("/?#", scheme_end + 3);
    origin = absl::string_view(url).substr(0, end);
    auto it = by_origin_.find(origin);
    if (it != by_origin_.end()) return it->second;
  }
  absl::StatusOr<UpstreamAddress> address = ParseUpstreamUrl(url);
  if (address.ok() && !origin.empty()) {
    if (by_origin_.size() >= kMaxEntries) by_origin_.clear();
    by_origin_.emplace(origin, *address);
  }
  return address;
}

absl::Status TransferErrorStatus(const TransferFailure& failure) {
  const std::string& where = failure.address;
  const std::string described = Describe(failure.code, failure.curl_detail);
  switch (failure.code) {
    case CURLE_OPERATION_TIMEDOUT:
      // curl reports its connect timeout the same way; it is that one if
      // the request's own deadline has not come yet.
      if (!failure.deadline_reached) {
        return absl::UnavailableError(absl::StrCat(
            "could not connect to upstream ", where, " within ",
            absl::FormatDuration(failure.connect_timeout), ": ", described));
      }
      return DidNotAnswer(where, failure.budget);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return absl::UnavailableError(
          absl::StrCat("TLS certificate verification failed for upstream ",
                       where, ": ", described));
    case CURLE_SSL_CONNECT_ERROR:
      return absl::UnavailableError(absl::StrCat(
          "TLS handshake with upstream ", where, " failed: ", described));
    case CURLE_FILESIZE_EXCEEDED:
      return TooLarge(failure);
    case CURLE_WRITE_ERROR:
      if (failure.body_too_large) return TooLarge(failure);
      return absl::InternalError(absl::StrCat("exchange with upstream ", where,
                                              " failed: ", described));
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(
          absl::StrCat("malformed upstream URL: ", described));
    case CURLE_SSL_CACERT_BADFILE:
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load CA certificates to verify upstream ", where,
                       ": ", described));
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(absl::StrCat(
          "exchange with upstream ", where, " failed: ", described));
    case CURLE_FAILED_INIT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::InternalError(absl::StrCat("exchange with upstream ", where,
                                              " failed: ", described));
    default:
      // Refused or reset connections, empty or truncated replies, send and
      // receive errors, HTTP/2 protocol errors: the upstream or the path to
      // it is at fault, and another attempt may well succeed.
      return absl::UnavailableError(absl::StrCat(
          "exchange with upstream ", where, " failed: ", described));
  }
}

void AddResponseHeaderLine(
    absl::string_view line,
    std::vector<std::pair<std::string, std::string>>& headers) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line: whatever came before belonged to an interim (1xx)
    // response, and only the final response's headers are reported.
    headers.clear();
    return;
  }
  if (line.empty()) return;
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding continues the previous header's value.
    if (!headers.empty()) {
      absl::StrAppend(&headers.back().second, " ",
                      absl::StripAsciiWhitespace(line));
    }
    return;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return;
  headers.emplace_back(
      absl::AsciiStrToLower(line.substr(0, colon)),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
}

bool RequestMayHaveBeenSent(CURL* easy, CURLcode code) {
  if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
    return false;
  }
  // REQUEST_SIZE alone is not enough: not every protocol path (HTTP/2
  // streams) is known to update it. PRETRANSFER is stamped right before
  // the request starts going out on any protocol, after connect and TLS.
  return GetLong(easy, CURLINFO_REQUEST_SIZE) > 0 ||
         GetOffset(easy, CURLINFO_SIZE_UPLOAD_T) > 0 ||
         GetOffset(easy, CURLINFO_PRETRANSFER_TIME_T) > 0;
}

Transfer::Transfer(HttpRequest request) : request_(std::move(request)) {}

Transfer::~Transfer() { curl_slist_free_all(header_list_); }

size_t Transfer::OnBody(char* data, size_t size, size_t count, void* user) {
  Transfer& transfer = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  // Checked before appending so an oversized body is never buffered; any
  // return other than n makes curl abort with CURLE_WRITE_ERROR.
  if (n > transfer.max_body_ - transfer.response_.body.size()) {
    transfer.body_too_large_ = true;
    return 0;
  }
  transfer.response_.body.append(data, n);
  return n;
}

size_t Transfer::OnHeader(char* data, size_t size, size_t count, void* user) {
  Transfer& transfer = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  AddResponseHeaderLine(absl::string_view(data, n), transfer.response_.headers);
  return n;
}

// The caller's headers verbatim, plus blank entries that stop curl adding
// defaults the caller did not ask for.
absl::Status Transfer::BuildHeaderList(bool sends_body) {
  std::vector<std::string> lines;
  lines.reserve(request_.headers.size() + 3);
  for (const auto& [name, value] : request_.headers) {
    if (!IsToken(name)) {
      return absl::InvalidArgumentError("request header name is not a token");
    }
    if (!IsHeaderValue(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "value of request header ", name, " contains CR, LF or NUL"));
    }
    // "Name:" would tell curl to drop the header; "Name;" sends it empty.
    lines.push_back(value.empty() ? absl::StrCat(name, ";")
                                  : absl::StrCat(name, ": ", value));
  }
  // Expect: 100-continue costs a round trip (or a 1 s stall against
  // servers that ignore it) on every larger POST.
  if (!HasHeader(request_, "Expect")) lines.push_back("Expect:");
  if (!HasHeader(request_, "Accept")) lines.push_back("Accept:");
  if (sends_body && !HasHeader(request_, "Content-Type")) {
    lines.push_back("Content-Type:");
  }
  for (const std::string& line : lines) {
    curl_slist* appended = curl_slist_append(header_list_, line.c_str());
    if (appended == nullptr) {
      return absl::ResourceExhaustedError("out of memory");
    }
    header_list_ = appended;
  }
  return absl::OkStatus();
}

absl::Status Transfer::Configure(CURL* easy, const TransferLimits& limits,
                                 const TrustSettings& trust, absl::Time now,
                                 UpstreamAddressCache* addresses) {
  absl::StatusOr<UpstreamAddress> upstream =
      addresses != nullptr ? addresses->Parse(request_.url)
                           : ParseUpstreamUrl(request_.url);
  if (!upstream.ok()) return upstream.status();
  address_ = std::move(upstream->host_port);
  connect_timeout_ = limits.connect_timeout;
  if (!IsToken(request_.method)) {
    return absl::InvalidArgumentError("HTTP method is not a token");
  }
  const bool is_head = request_.method == "HEAD";
  if (is_head && !request_.body.empty()) {
    return absl::InvalidArgumentError("a HEAD request cannot have a body");
  }
  const bool sends_body =
      !is_head && (!request_.body.empty() || request_.method == "POST" ||
                   request_.method == "PUT" || request_.method == "PATCH");
  if (absl::Status status = BuildHeaderList(sends_body); !status.ok()) {
    return status;
  }

  long timeout_ms = 0;  // curl: no limit.
  if (request_.deadline != absl::InfiniteFuture()) {
    budget_ = request_.deadline - now;
    if (budget_ <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat("deadline passed before the request to upstream ",
                       address_, " was sent"));
    }
    const int64_t ms = absl::ToInt64Milliseconds(
        absl::Ceil(budget_, absl::Milliseconds(1)));
    timeout_ms = static_cast<long>(std::min<int64_t>(ms, LONG_MAX));
  }
  const long connect_timeout_ms = static_cast<long>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(
          absl::Ceil(limits.connect_timeout, absl::Milliseconds(1))),
      1, LONG_MAX));

  easy_ = easy;
  max_body_ = limits.max_response_bytes;

  CURLcode rc = CURLE_OK;
  const auto check = [&rc](CURLcode code) {
    if (rc == CURLE_OK) rc = code;
  };
  check(SetString(easy, CURLOPT_URL, request_.url.c_str()));
  check(SetString(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
  check(SetPointer(easy, CURLOPT_ERRORBUFFER, error_));
  check(SetLong(easy, CURLOPT_NOSIGNAL, 1L));
  // "" rather than unset: curl would otherwise honour http_proxy and
  // friends from the environment.
  check(SetString(easy, CURLOPT_PROXY, ""));
  check(SetLong(easy, CURLOPT_FOLLOWLOCATION, 0L));
  check(SetLong(easy, CURLOPT_SSL_VERIFYPEER, 1L));
  check(SetLong(easy, CURLOPT_SSL_VERIFYHOST, 2L));
  check(trust.ApplyTo(easy));
  // Ignored failure: a libcurl without HTTP/2 simply speaks HTTP/1.1.
  SetLong(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  if (upstream->https) {
    // Rather than open another connection, wait for a TLS handshake in
    // progress to the same host: if it negotiates HTTP/2 this request can
    // share it. Not for http://: HTTP/2 is never tried in cleartext, yet
    // curl would hold the request until the first response arrived.
    check(SetLong(easy, CURLOPT_PIPEWAIT, 1L));
  }
  check(SetLong(easy, CURLOPT_TCP_KEEPALIVE, 1L));
  check(SetLong(easy, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms));
  check(SetLong(easy, CURLOPT_TIMEOUT_MS, timeout_ms));
  if (!is_head) {
    // Makes curl refuse a body whose Content-Length is over the limit
    // before reading any of it; OnBody enforces the limit otherwise. Not
    // for HEAD, whose Content-Length describes a body that never comes.
    check(SetOffset(easy, CURLOPT_MAXFILESIZE_LARGE,
                    static_cast<curl_off_t>(std::min<uint64_t>(
                        limits.max_response_bytes, INT64_MAX))));
  }
  check(SetCallback(easy, CURLOPT_WRITEFUNCTION, &Transfer::OnBody));
  check(SetPointer(easy, CURLOPT_WRITEDATA, this));
  check(SetCallback(easy, CURLOPT_HEADERFUNCTION, &Transfer::OnHeader));
  check(SetPointer(easy, CURLOPT_HEADERDATA, this));
  check(SetPointer(easy, CURLOPT_HTTPHEADER, header_list_));
  if (request_.method == "GET" && !sends_body) {
    check(SetLong(easy, CURLOPT_HTTPGET, 1L));
  } else if (is_head) {
    check(SetLong(easy, CURLOPT_NOBODY, 1L));
  } else {
    if (sends_body) {
      check(SetOffset(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                      static_cast<curl_off_t>(request_.body.size())));
      // Not copied by curl: request_ lives as long as the transfer.
      check(SetString(easy, CURLOPT_POSTFIELDS, request_.body.data()));
    }
    if (request_.method != "POST" || !sends_body) {
      check(SetString(easy, CURLOPT_CUSTOMREQUEST, request_.method.c_str()));
    }
  }
  if (rc != CURLE_OK) {
    easy_ = nullptr;
    return absl::InternalError(
        absl::StrCat("cannot configure request to upstream ", address_, ": ",
                     curl_easy_strerror(rc)));
  }
  return absl::OkStatus();
}

HttpResult Transfer::Complete(CURLcode code, absl::Time now) {
  HttpResult result;
  if (code == CURLE_OK) {
    result.request_sent = true;
    response_.status = static_cast<int>(GetLong(easy_, CURLINFO_RESPONSE_CODE));
    result.response = std::move(response_);
    return result;
  }
  TransferFailure failure;
  failure.code = code;
  failure.address = address_;
  failure.curl_detail = error_;
  failure.body_too_large = body_too_large_;
  failure.max_response_bytes = max_body_;
  failure.connect_timeout = connect_timeout_;
  failure.budget = budget_;
  failure.deadline_reached = now + absl::Milliseconds(5) >= request_.deadline;
  result.status = TransferErrorStatus(failure);
  result.request_sent = RequestMayHaveBeenSent(easy_, code);
  return result;
}

HttpResult Transfer::Abandon(absl::Status status) {
  HttpResult result;
  result.status = std::move(status);
  result.request_sent =
      easy_ != nullptr && RequestMayHaveBeenSent(easy_, CURLE_OK);
  return result;
}

absl::Status Transfer::DeadlineExceeded() const {
  return DidNotAnswer(address_, budget_);
}

}  // namespace upstream
}  // namespace session_gateway
