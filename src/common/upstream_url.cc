#include "common/upstream_url.h"

#include <curl/curl.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace {

struct CurlUrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlFreeDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using CurlText = std::unique_ptr<char, CurlFreeDeleter>;

// One part of a parsed URL; null when the URL has none.
CurlText Part(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK) return nullptr;
  return CurlText(value);
}

absl::Status Refuse(absl::string_view why) { return absl::InvalidArgumentError(why); }

}  // namespace

absl::StatusOr<std::string> ParseUpstreamBase(absl::string_view url) {
  if (url.empty()) return Refuse("is empty");
  if (absl::ascii_isspace(url.front()) || absl::ascii_isspace(url.back())) {
    return Refuse("has leading or trailing blanks");
  }
  for (char c : url) {
    if (absl::ascii_isspace(c) || absl::ascii_iscntrl(c)) return Refuse("contains blanks or control characters");
  }
  // Checked on the text as well as on libcurl's parts: libcurl reports an
  // empty query ("http://h/?") or fragment as absent.
  if (url.find('?') != absl::string_view::npos) return Refuse("must not have a query (?...)");
  if (url.find('#') != absl::string_view::npos) return Refuse("must not have a fragment (#...)");

  // libcurl forgives "https:///host" and "http:/host"; the host must come
  // right after "//".
  const size_t authority = url.find("://");
  if (authority == absl::string_view::npos) return Refuse("must be an http:// or https:// URL");
  if (authority + 3 == url.size() || url[authority + 3] == '/') return Refuse("has no host");

  std::unique_ptr<CURLU, CurlUrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory");
  const std::string text(url);
  if (CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME);
      code != CURLUE_OK) {
    // libcurl's message describes the problem without quoting the URL.
    return Refuse(absl::StrCat("is not a valid URL: ", curl_url_strerror(code)));
  }
  CurlText scheme = Part(parsed.get(), CURLUPART_SCHEME);
  if (scheme == nullptr ||
      (!absl::EqualsIgnoreCase(scheme.get(), "http") && !absl::EqualsIgnoreCase(scheme.get(), "https"))) {
    return Refuse("must be an http:// or https:// URL");
  }
  if (Part(parsed.get(), CURLUPART_USER) != nullptr || Part(parsed.get(), CURLUPART_PASSWORD) != nullptr ||
      Part(parsed.get(), CURLUPART_OPTIONS) != nullptr) {
    return Refuse(
        "must not hold a user name or password (user:password@host); give credentials with their own "
        "flags");
  }
  CurlText host = Part(parsed.get(), CURLUPART_HOST);
  if (host == nullptr || *host == '\0') return Refuse("has no host");
  if (CurlText port = Part(parsed.get(), CURLUPART_PORT); port != nullptr) {
    int number = 0;
    if (!absl::SimpleAtoi(port.get(), &number) || number < 1 || number > 65535) {
      return Refuse("has a port outside 1-65535");
    }
  }
  CurlText normalized = Part(parsed.get(), CURLUPART_URL);
  if (normalized == nullptr) return Refuse("is not a valid URL");
  std::string base = normalized.get();
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

}  // namespace session_gateway
