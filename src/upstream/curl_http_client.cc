#include "upstream/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

// curl_multi_wakeup (7.68), CURLINFO_CAPATH (7.84) and
// CURLOPT_PROTOCOLS_STR (7.85) are all relied on below.
#if LIBCURL_VERSION_NUM < 0x075500
#error "session_gateway_http needs libcurl 7.85 or newer"
#endif

namespace session_gateway {
namespace upstream {
namespace {

// Idle easy handles kept for reuse. Each one caches little, so the pool
// mostly saves allocations; beyond this many they are freed.
constexpr size_t kMaxPooledHandles = 32;

// Upper bound on one curl_multi_poll wait. Wakeups and curl's own timers
// normally end the wait much sooner; this only bounds how stale the loop
// can get if a wakeup were ever lost.
constexpr int kMaxPollMillis = 1000;

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
std::string GetString(CURL* easy, CURLINFO info) {
  char* value = nullptr;
  if (curl_easy_getinfo(easy, info, &value) != CURLE_OK || value == nullptr) {
    return "";
  }
  return value;
}

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

// How https peers are verified beyond libcurl's defaults.
struct TrustSettings {
  std::string ca_file;  // CURLOPT_CAINFO, if non-empty.
  std::string ca_path;  // CURLOPT_CAPATH, if non-empty.
  std::string ca_blob;  // CURLOPT_CAINFO_BLOB, if non-empty; wins over both.
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  }
  return contents.str();
}

// Setting CURLOPT_CAINFO replaces libcurl's default bundle, so trusting an
// extra file "in addition" needs the system store kept some other way.
absl::StatusOr<TrustSettings> MakeTrustSettings(const std::string& ca_file) {
  TrustSettings trust;
  if (ca_file.empty()) return trust;
  absl::StatusOr<std::string> extra = ReadFile(ca_file);
  if (!extra.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca_file: ", extra.status().message()));
  }
  CURL* probe = curl_easy_init();
  if (probe == nullptr) return absl::InternalError("curl_easy_init failed");
  const std::string default_path = GetString(probe, CURLINFO_CAPATH);
  const std::string default_file = GetString(probe, CURLINFO_CAINFO);
  curl_easy_cleanup(probe);
  if (!default_path.empty()) {
    // The usual case (Debian: /etc/ssl/certs): the system store stays
    // reachable through the directory while the file slot holds the extra.
    trust.ca_file = ca_file;
    trust.ca_path = default_path;
    return trust;
  }
  // No default directory: hand libcurl one bundle holding both.
  if (!default_file.empty()) {
    absl::StatusOr<std::string> system = ReadFile(default_file);
    if (system.ok()) trust.ca_blob = *std::move(system) + "\n";
  }
  trust.ca_blob += *extra;
  return trust;
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

struct Upstream {
  // "host:port", for messages; the URL's path and query (which may carry
  // secrets) never appear in them.
  std::string address;
  bool https = false;
};

// Checks the URL is an absolute http(s) URL.
absl::StatusOr<Upstream> ParseUpstream(const std::string& url) {
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
  return Upstream{absl::StrCat(host.get(), ":", port.get()),
                  lower_scheme == "https"};
}

// One exchange from Start() until its callback has run.
struct Exchange {
  Exchange(uint64_t exchange_id, HttpRequest exchange_request,
           HttpClient::Callback callback)
      : id(exchange_id),
        request(std::move(exchange_request)),
        done(std::move(callback)) {}
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;
  ~Exchange() { curl_slist_free_all(header_list); }

  const uint64_t id;
  // Owns the body curl sends from (CURLOPT_POSTFIELDS does not copy).
  const HttpRequest request;
  HttpClient::Callback done;

  std::string address;  // "host:port", for messages.
  bool https = false;
  absl::Duration budget = absl::InfiniteDuration();  // For messages.
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  size_t max_body = 0;
  bool body_too_large = false;
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  Exchange& exchange = *static_cast<Exchange*>(user);
  const size_t n = size * count;
  // Checked before appending so an oversized body is never buffered; any
  // return other than n makes curl abort with CURLE_WRITE_ERROR.
  if (n > exchange.max_body - exchange.response.body.size()) {
    exchange.body_too_large = true;
    return 0;
  }
  exchange.response.body.append(data, n);
  return n;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  Exchange& exchange = *static_cast<Exchange*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  std::vector<std::pair<std::string, std::string>>& headers =
      exchange.response.headers;
  if (absl::StartsWith(line, "HTTP/")) {
    // A new status line: whatever came before belonged to an interim (1xx)
    // response, and only the final response's headers are reported.
    headers.clear();
    return n;
  }
  if (line.empty()) return n;
  if (line.front() == ' ' || line.front() == '\t') {
    // Obsolete line folding continues the previous header's value.
    if (!headers.empty()) {
      absl::StrAppend(&headers.back().second, " ",
                      absl::StripAsciiWhitespace(line));
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return n;
  headers.emplace_back(
      absl::AsciiStrToLower(line.substr(0, colon)),
      std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

// Whether the upstream may have seen any part of the request. Errs towards
// true: a false answer promises the caller a retry cannot duplicate work.
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

std::string Describe(CURLcode code, const Exchange& exchange) {
  std::string text = absl::StrCat(curl_easy_strerror(code), " (curl error ",
                                  static_cast<int>(code));
  if (exchange.error[0] != '\0') {
    absl::StrAppend(&text, ": ", exchange.error);
  }
  absl::StrAppend(&text, ")");
  return text;
}

absl::Status TooLarge(const Exchange& exchange) {
  return absl::ResourceExhaustedError(
      absl::StrCat("response from upstream ", exchange.address, " exceeds ",
                   exchange.max_body, " bytes (max_response_bytes)"));
}

absl::Status ErrorStatus(CURLcode code, const Exchange& exchange,
                         const CurlHttpClient::Options& options) {
  const std::string& where = exchange.address;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      // curl reports its connect timeout the same way; it is that one if
      // the request's own deadline has not come yet.
      if (absl::Now() + absl::Milliseconds(5) < exchange.request.deadline) {
        return absl::UnavailableError(
            absl::StrCat("could not connect to upstream ", where, " within ",
                         absl::FormatDuration(options.connect_timeout), ": ",
                         Describe(code, exchange)));
      }
      return absl::DeadlineExceededError(
          absl::StrCat("upstream ", where, " did not answer within ",
                       absl::FormatDuration(absl::Trunc(
                           exchange.budget, absl::Milliseconds(1)))));
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return absl::UnavailableError(
          absl::StrCat("TLS certificate verification failed for upstream ",
                       where, ": ", Describe(code, exchange)));
    case CURLE_SSL_CONNECT_ERROR:
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with upstream ", where,
                       " failed: ", Describe(code, exchange)));
    case CURLE_FILESIZE_EXCEEDED:
      return TooLarge(exchange);
    case CURLE_WRITE_ERROR:
      if (exchange.body_too_large) return TooLarge(exchange);
      return absl::InternalError(
          absl::StrCat("exchange with upstream ", where,
                       " failed: ", Describe(code, exchange)));
    case CURLE_URL_MALFORMAT:
      return absl::InvalidArgumentError(
          absl::StrCat("malformed upstream URL: ", Describe(code, exchange)));
    case CURLE_SSL_CACERT_BADFILE:
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load CA certificates to verify upstream ", where,
                       ": ", Describe(code, exchange)));
    case CURLE_OUT_OF_MEMORY:
      return absl::ResourceExhaustedError(
          absl::StrCat("exchange with upstream ", where,
                       " failed: ", Describe(code, exchange)));
    case CURLE_FAILED_INIT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::InternalError(
          absl::StrCat("exchange with upstream ", where,
                       " failed: ", Describe(code, exchange)));
    default:
      // Refused or reset connections, empty or truncated replies, send and
      // receive errors, HTTP/2 protocol errors: the upstream or the path to
      // it is at fault, and another attempt may well succeed.
      return absl::UnavailableError(
          absl::StrCat("exchange with upstream ", where,
                       " failed: ", Describe(code, exchange)));
  }
}

// Builds the header list: the caller's headers verbatim, plus blank
// entries that stop curl adding defaults the caller did not ask for.
absl::Status BuildHeaderList(Exchange& exchange, bool sends_body) {
  const HttpRequest& request = exchange.request;
  std::vector<std::string> lines;
  lines.reserve(request.headers.size() + 3);
  for (const auto& [name, value] : request.headers) {
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
  if (!HasHeader(request, "Expect")) lines.push_back("Expect:");
  if (!HasHeader(request, "Accept")) lines.push_back("Accept:");
  if (sends_body && !HasHeader(request, "Content-Type")) {
    lines.push_back("Content-Type:");
  }
  for (const std::string& line : lines) {
    curl_slist* appended =
        curl_slist_append(exchange.header_list, line.c_str());
    if (appended == nullptr)
      return absl::ResourceExhaustedError("out of memory");
    exchange.header_list = appended;
  }
  return absl::OkStatus();
}

}  // namespace

class CurlHttpClient::Loop {
 public:
  Loop(Options options, TrustSettings trust, CURLM* multi)
      : options_(std::move(options)), trust_(std::move(trust)), multi_(multi) {}

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  ~Loop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
    for (CURL* easy : idle_handles_) curl_easy_cleanup(easy);
    curl_multi_cleanup(multi_);
  }

  void StartThread() {
    thread_ = std::thread([this] { Run(); });
  }

  uint64_t Start(HttpRequest request, Callback done) {
    const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
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
    if (wake) curl_multi_wakeup(multi_);
    return id;
  }

  void Cancel(uint64_t id) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      to_cancel_.push_back(id);
      wake = !wakeup_requested_;
      wakeup_requested_ = true;
    }
    if (wake) curl_multi_wakeup(multi_);
  }

  Stats stats() const {
    Stats stats;
    stats.connections_opened =
        connections_opened_.load(std::memory_order_relaxed);
    stats.in_flight = in_flight_.load(std::memory_order_relaxed);
    return stats;
  }

 private:
  struct Outcome {
    std::unique_ptr<Exchange> exchange;
    HttpResult result;
  };

  void Run() {
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
        int running = 0;
        curl_multi_perform(multi_, &running);
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
      if (curl_multi_poll(multi_, nullptr, 0, PollTimeoutMillis(), nullptr) !=
          CURLM_OK) {
        // Should not happen; do not spin if it does.
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  }

  // Moves queued work into curl; returns whether the client is stopping.
  bool TakeQueued(std::vector<Outcome>& outcomes) {
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
        outcomes.push_back(
            {std::move(exchange), {std::move(status), {}, false}});
        continue;
      }
      const uint64_t id = exchange->id;
      deadlines_.emplace(exchange->request.deadline, id);
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

  // Configures a transfer for `exchange` and hands it to curl.
  absl::Status Begin(Exchange& exchange) {
    const HttpRequest& request = exchange.request;
    absl::StatusOr<Upstream> upstream = ParseUpstream(request.url);
    if (!upstream.ok()) return upstream.status();
    exchange.address = std::move(upstream->address);
    exchange.https = upstream->https;
    if (!IsToken(request.method)) {
      return absl::InvalidArgumentError("HTTP method is not a token");
    }
    const bool is_head = request.method == "HEAD";
    if (is_head && !request.body.empty()) {
      return absl::InvalidArgumentError("a HEAD request cannot have a body");
    }
    const bool sends_body =
        !is_head && (!request.body.empty() || request.method == "POST" ||
                     request.method == "PUT" || request.method == "PATCH");
    if (absl::Status status = BuildHeaderList(exchange, sends_body);
        !status.ok()) {
      return status;
    }

    long timeout_ms = 0;  // curl: no limit.
    if (request.deadline != absl::InfiniteFuture()) {
      exchange.budget = request.deadline - absl::Now();
      if (exchange.budget <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(
            absl::StrCat("deadline passed before the request to upstream ",
                         exchange.address, " was sent"));
      }
      const int64_t ms = absl::ToInt64Milliseconds(
          absl::Ceil(exchange.budget, absl::Milliseconds(1)));
      timeout_ms = static_cast<long>(std::min<int64_t>(ms, LONG_MAX));
    }

    CURL* easy = TakeHandle();
    if (easy == nullptr) return absl::ResourceExhaustedError("out of memory");
    exchange.easy = easy;
    exchange.max_body = options_.max_response_bytes;

    CURLcode rc = CURLE_OK;
    const auto check = [&rc](CURLcode code) {
      if (rc == CURLE_OK) rc = code;
    };
    check(SetString(easy, CURLOPT_URL, request.url.c_str()));
    check(SetString(easy, CURLOPT_PROTOCOLS_STR, "http,https"));
    check(SetPointer(easy, CURLOPT_PRIVATE, &exchange));
    check(SetPointer(easy, CURLOPT_ERRORBUFFER, exchange.error));
    check(SetLong(easy, CURLOPT_NOSIGNAL, 1L));
    // "" rather than unset: curl would otherwise honour http_proxy and
    // friends from the environment.
    check(SetString(easy, CURLOPT_PROXY, ""));
    check(SetLong(easy, CURLOPT_FOLLOWLOCATION, 0L));
    check(SetLong(easy, CURLOPT_SSL_VERIFYPEER, 1L));
    check(SetLong(easy, CURLOPT_SSL_VERIFYHOST, 2L));
    if (!trust_.ca_blob.empty()) {
      curl_blob blob;
      // curl_blob::data is not const, but libcurl only reads through it.
      blob.data = const_cast<char*>(trust_.ca_blob.data());
      blob.len = trust_.ca_blob.size();
      blob.flags = CURL_BLOB_NOCOPY;  // trust_ outlives every transfer.
      check(curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob));
    } else {
      if (!trust_.ca_file.empty()) {
        check(SetString(easy, CURLOPT_CAINFO, trust_.ca_file.c_str()));
      }
      if (!trust_.ca_path.empty()) {
        check(SetString(easy, CURLOPT_CAPATH, trust_.ca_path.c_str()));
      }
    }
    // Ignored failure: a libcurl without HTTP/2 simply speaks HTTP/1.1.
    SetLong(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
    if (exchange.https) {
      // Rather than open another connection, wait for a TLS handshake in
      // progress to the same host: if it negotiates HTTP/2 this request can
      // share it. Not for http://: HTTP/2 is never tried in cleartext, yet
      // curl would hold the request until the first response arrived.
      check(SetLong(easy, CURLOPT_PIPEWAIT, 1L));
    }
    check(SetLong(easy, CURLOPT_TCP_KEEPALIVE, 1L));
    check(SetLong(easy, CURLOPT_CONNECTTIMEOUT_MS, ConnectTimeoutMillis()));
    check(SetLong(easy, CURLOPT_TIMEOUT_MS, timeout_ms));
    if (!is_head) {
      // Makes curl refuse a body whose Content-Length is over the limit
      // before reading any of it; OnBody enforces the limit otherwise. Not
      // for HEAD, whose Content-Length describes a body that never comes.
      check(SetOffset(easy, CURLOPT_MAXFILESIZE_LARGE,
                      static_cast<curl_off_t>(std::min<uint64_t>(
                          options_.max_response_bytes, INT64_MAX))));
    }
    check(SetCallback(easy, CURLOPT_WRITEFUNCTION, &OnBody));
    check(SetPointer(easy, CURLOPT_WRITEDATA, &exchange));
    check(SetCallback(easy, CURLOPT_HEADERFUNCTION, &OnHeader));
    check(SetPointer(easy, CURLOPT_HEADERDATA, &exchange));
    check(SetPointer(easy, CURLOPT_HTTPHEADER, exchange.header_list));
    if (request.method == "GET" && !sends_body) {
      check(SetLong(easy, CURLOPT_HTTPGET, 1L));
    } else if (is_head) {
      check(SetLong(easy, CURLOPT_NOBODY, 1L));
    } else {
      if (sends_body) {
        check(SetOffset(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                        static_cast<curl_off_t>(request.body.size())));
        // Not copied by curl: `request` lives in the exchange.
        check(SetString(easy, CURLOPT_POSTFIELDS, request.body.data()));
      }
      if (request.method != "POST" || !sends_body) {
        check(SetString(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str()));
      }
    }
    if (rc != CURLE_OK) {
      Recycle(easy);
      exchange.easy = nullptr;
      return absl::InternalError(
          absl::StrCat("cannot configure request to upstream ",
                       exchange.address, ": ", curl_easy_strerror(rc)));
    }
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      Recycle(easy);
      exchange.easy = nullptr;
      return absl::InternalError("curl_multi_add_handle failed");
    }
    return absl::OkStatus();
  }

  void CollectFinished(std::vector<Outcome>& outcomes) {
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
      HttpResult result;
      if (code == CURLE_OK) {
        result.request_sent = true;
        exchange->response.status =
            static_cast<int>(GetLong(easy, CURLINFO_RESPONSE_CODE));
        result.response = std::move(exchange->response);
      } else {
        result.status = ErrorStatus(code, *exchange, options_);
        result.request_sent = RequestMayHaveBeenSent(easy, code);
      }
      Release(*exchange);
      outcomes.push_back({std::move(exchange), std::move(result)});
    }
  }

  // Backstop for curl's own CURLOPT_TIMEOUT_MS, which does not cover time a
  // transfer spends queued for a free connection.
  void ExpireOverdue(std::vector<Outcome>& outcomes) {
    const absl::Time now = absl::Now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const uint64_t id = deadlines_.begin()->second;
      const Exchange& exchange = *active_.at(id);
      Abandon(id,
              absl::DeadlineExceededError(absl::StrCat(
                  "upstream ", exchange.address, " did not answer within ",
                  absl::FormatDuration(
                      absl::Trunc(exchange.budget, absl::Milliseconds(1))))),
              outcomes);
    }
  }

  // Ends an active exchange early with `status`.
  void Abandon(uint64_t id, absl::Status status,
               std::vector<Outcome>& outcomes) {
    std::unique_ptr<Exchange> exchange = Deactivate(id);
    HttpResult result;
    result.status = std::move(status);
    result.request_sent = RequestMayHaveBeenSent(exchange->easy, CURLE_OK);
    // Removing an unfinished HTTP/1.1 transfer makes curl close its
    // connection (its state is unknown); an HTTP/2 stream gets reset.
    Release(*exchange);
    outcomes.push_back({std::move(exchange), std::move(result)});
  }

  std::unique_ptr<Exchange> Deactivate(uint64_t id) {
    auto it = active_.find(id);
    std::unique_ptr<Exchange> exchange = std::move(it->second);
    active_.erase(it);
    deadlines_.erase({exchange->request.deadline, id});
    return exchange;
  }

  // Detaches the exchange's handle from curl, counting its connections.
  void Release(Exchange& exchange) {
    connections_opened_.fetch_add(
        static_cast<uint64_t>(GetLong(exchange.easy, CURLINFO_NUM_CONNECTS)),
        std::memory_order_relaxed);
    curl_multi_remove_handle(multi_, exchange.easy);
    Recycle(exchange.easy);
    exchange.easy = nullptr;
  }

  void Deliver(std::vector<Outcome>& outcomes) {
    for (Outcome& outcome : outcomes) {
      if (outcome.exchange->done) {
        std::move(outcome.exchange->done)(std::move(outcome.result));
      }
      outcome.exchange.reset();
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
    outcomes.clear();
  }

  CURL* TakeHandle() {
    if (idle_handles_.empty()) return curl_easy_init();
    CURL* easy = idle_handles_.back();
    idle_handles_.pop_back();
    return easy;
  }

  void Recycle(CURL* easy) {
    if (idle_handles_.size() >= kMaxPooledHandles) {
      curl_easy_cleanup(easy);
      return;
    }
    curl_easy_reset(easy);
    idle_handles_.push_back(easy);
  }

  long ConnectTimeoutMillis() const {
    const int64_t ms = absl::ToInt64Milliseconds(
        absl::Ceil(options_.connect_timeout, absl::Milliseconds(1)));
    return static_cast<long>(std::clamp<int64_t>(ms, 1, LONG_MAX));
  }

  int PollTimeoutMillis() const {
    if (deadlines_.empty()) return kMaxPollMillis;
    const absl::Duration wait = deadlines_.begin()->first - absl::Now();
    if (wait <= absl::ZeroDuration()) return 0;
    return static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1))),
        kMaxPollMillis));
  }

  const Options options_;
  const TrustSettings trust_;
  CURLM* const multi_;  // Thread-safe to wake; otherwise loop thread only.

  std::atomic<uint64_t> next_id_{1};
  std::atomic<uint64_t> connections_opened_{0};
  std::atomic<uint64_t> in_flight_{0};

  // A plain std::mutex: ThreadSanitizer sees through it even when abseil
  // was built without TSan annotations (as Debian's is).
  std::mutex mu_;
  std::vector<std::unique_ptr<Exchange>> to_start_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> to_cancel_ ABSL_GUARDED_BY(mu_);
  // Set once a wakeup is owed to the loop, so a burst of Start() calls
  // costs one wakeup rather than one each.
  bool wakeup_requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Loop thread only.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Exchange>> active_;
  std::set<std::pair<absl::Time, uint64_t>> deadlines_;
  std::vector<CURL*> idle_handles_;

  std::thread thread_;
};

absl::StatusOr<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    Options options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("connect_timeout must be positive");
  }
  if (options.max_connections <= 0) {
    return absl::InvalidArgumentError("max_connections must be positive");
  }
  if (absl::Status status = GlobalInit(); !status.ok()) return status;
  absl::StatusOr<TrustSettings> trust = MakeTrustSettings(options.ca_file);
  if (!trust.ok()) return trust.status();

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
  auto loop =
      std::make_unique<Loop>(std::move(options), *std::move(trust), multi);
  loop->StartThread();
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(loop)));
}

CurlHttpClient::CurlHttpClient(std::unique_ptr<Loop> loop)
    : loop_(std::move(loop)) {}

CurlHttpClient::~CurlHttpClient() = default;

uint64_t CurlHttpClient::Start(HttpRequest request, Callback done) {
  return loop_->Start(std::move(request), std::move(done));
}

void CurlHttpClient::Cancel(uint64_t id) { loop_->Cancel(id); }

CurlHttpClient::Stats CurlHttpClient::stats() const { return loop_->stats(); }

}  // namespace upstream
}  // namespace session_gateway
