#include "upstream/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace session_gateway {
namespace upstream {
namespace {

bool IsRetryableStatus(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

bool ParseRetryAfter(absl::string_view value, absl::Time now, absl::Duration* delay) {
  value = absl::StripAsciiWhitespace(value);
  int64_t seconds;
  if (absl::SimpleAtoi(value, &seconds)) {
    if (seconds < 0) return false;
    *delay = absl::Seconds(seconds);
    return true;
  }
  absl::Time when;
  std::string error;
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT".
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", std::string(value), absl::UTCTimeZone(), &when,
                      &error)) {
    *delay = std::max(absl::ZeroDuration(), when - now);
    return true;
  }
  return false;
}

absl::Duration RetryPolicy::Backoff(int retry, double uniform01) const {
  double base = absl::ToDoubleSeconds(options_.initial_backoff) *
                std::pow(options_.multiplier, std::max(0, retry - 1));
  base = std::min(base, absl::ToDoubleSeconds(options_.max_backoff));
  double factor = 1.0 + options_.jitter * (2.0 * uniform01 - 1.0);
  return absl::Seconds(std::max(0.0, base * factor));
}

RetryPolicy::Decision RetryPolicy::Decide(int attempts_made, const HttpResult& result,
                                          absl::Time now, absl::Time deadline,
                                          double uniform01) const {
  Decision decision;
  if (attempts_made >= options_.max_attempts) return decision;
  absl::Duration delay = Backoff(attempts_made, uniform01);
  if (!result.status.ok()) {
    // Nothing reached the upstream: it cannot have created anything.
    bool safe = !result.request_sent && absl::IsUnavailable(result.status);
    if (!safe) return decision;
  } else {
    if (!options_.retry_on_status || !IsRetryableStatus(result.response.status)) return decision;
    for (const auto& [name, value] : result.response.headers) {
      absl::Duration after;
      if (name == "retry-after" && ParseRetryAfter(value, now, &after)) {
        delay = std::max(delay, std::min(after, options_.max_backoff));
      }
    }
  }
  if (now + delay >= deadline) return decision;
  decision.retry = true;
  decision.delay = delay;
  return decision;
}

}  // namespace upstream
}  // namespace session_gateway
