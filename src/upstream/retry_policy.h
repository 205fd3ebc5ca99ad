// When to send an upstream request again, as the official SDKs decide it.
//
// POSTs that create sessions are not idempotent: a retried POST can create
// a second session. So retries are off by default, with one exception: a
// connection that failed before any byte of the request was sent is always
// safe to retry. With retries enabled, 429, 500, 502, 503 and 504 answers
// are retried with exponential backoff and jitter, honouring Retry-After,
// and never past the call's deadline.
//
// Usage:
//
//   RetryPolicy policy(options);
//   RetryPolicy::Decision d = policy.Decide(attempts_made, result, now, deadline, u01);
//   if (d.retry) ScheduleAfter(d.delay, ...);
#ifndef SESSION_GATEWAY_UPSTREAM_RETRY_POLICY_H_
#define SESSION_GATEWAY_UPSTREAM_RETRY_POLICY_H_

#include "absl/time/time.h"
#include "upstream/http_client.h"

namespace session_gateway {
namespace upstream {

struct RetryOptions {
  // Retry 429, 500, 502, 503 and 504 answers. Off by default: see above.
  bool retry_on_status = false;
  // Most attempts in all, first one included, for any kind of retry.
  int max_attempts = 3;
  // Backoff before retry n (n = 1, 2, ...) is initial * multiplier^(n-1),
  // at most max_backoff, then jittered by +-jitter (a fraction).
  absl::Duration initial_backoff = absl::Milliseconds(500);
  double multiplier = 1.5;
  absl::Duration max_backoff = absl::Seconds(10);
  double jitter = 0.25;
};

class RetryPolicy {
 public:
  explicit RetryPolicy(RetryOptions options) : options_(options) {}

  struct Decision {
    bool retry = false;
    absl::Duration delay;  // Wait before the next attempt, if retrying.
  };

  // Decides after `attempts_made` attempts whose last one ended in
  // `result`. `uniform01` is a random number in [0, 1) for jitter. Never
  // retries when the next attempt could not start before `deadline`.
  Decision Decide(int attempts_made, const HttpResult& result, absl::Time now,
                  absl::Time deadline, double uniform01) const;

  // The backoff before retry number `retry` (1 for the first), with the
  // jitter that `uniform01` selects.
  absl::Duration Backoff(int retry, double uniform01) const;

  const RetryOptions& options() const { return options_; }

 private:
  RetryOptions options_;
};

// Reads a Retry-After header value: delay-seconds or an HTTP-date (relative
// to `now`). Returns false if it is neither.
bool ParseRetryAfter(absl::string_view value, absl::Time now, absl::Duration* delay);

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_RETRY_POLICY_H_
