#include "upstream/retry_policy.h"

#include "gtest/gtest.h"

namespace session_gateway {
namespace upstream {
namespace {

HttpResult Answer(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResult result;
  result.request_sent = true;
  result.response.status = status;
  result.response.headers = std::move(headers);
  return result;
}

HttpResult Failure(absl::Status status, bool sent) {
  HttpResult result;
  result.status = std::move(status);
  result.request_sent = sent;
  return result;
}

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
const absl::Time kFar = kNow + absl::Hours(1);

TEST(RetryPolicyTest, OffByDefaultForAnswers) {
  RetryPolicy policy{RetryOptions{}};
  for (int status : {429, 500, 502, 503, 504}) {
    EXPECT_FALSE(policy.Decide(1, Answer(status), kNow, kFar, 0.5).retry) << status;
  }
}

TEST(RetryPolicyTest, ConnectionFailureBeforeSendingIsAlwaysRetried) {
  RetryPolicy policy{RetryOptions{}};
  EXPECT_TRUE(policy.Decide(1, Failure(absl::UnavailableError("refused"), false), kNow, kFar, 0.5).retry);
  // Once bytes may have reached the upstream, a POST is not retried.
  EXPECT_FALSE(policy.Decide(1, Failure(absl::UnavailableError("reset"), true), kNow, kFar, 0.5).retry);
  EXPECT_FALSE(policy.Decide(1, Failure(absl::DeadlineExceededError("slow"), false), kNow, kFar, 0.5).retry);
}

TEST(RetryPolicyTest, OptInRetriesOnlyTheListedStatuses) {
  RetryOptions options;
  options.retry_on_status = true;
  RetryPolicy policy(options);
  for (int status : {429, 500, 502, 503, 504}) {
    EXPECT_TRUE(policy.Decide(1, Answer(status), kNow, kFar, 0.5).retry) << status;
  }
  for (int status : {400, 401, 404, 409, 422, 501}) {
    EXPECT_FALSE(policy.Decide(1, Answer(status), kNow, kFar, 0.5).retry) << status;
  }
}

TEST(RetryPolicyTest, BoundedByAttempts) {
  RetryOptions options;
  options.retry_on_status = true;
  options.max_attempts = 3;
  RetryPolicy policy(options);
  EXPECT_TRUE(policy.Decide(2, Answer(503), kNow, kFar, 0.5).retry);
  EXPECT_FALSE(policy.Decide(3, Answer(503), kNow, kFar, 0.5).retry);
}

TEST(RetryPolicyTest, BackoffGrowsByTheMultiplierUpToTheMaximum) {
  RetryOptions options;
  options.jitter = 0;
  options.max_backoff = absl::Seconds(1);
  RetryPolicy policy(options);
  EXPECT_EQ(policy.Backoff(1, 0.5), absl::Milliseconds(500));
  EXPECT_EQ(policy.Backoff(2, 0.5), absl::Milliseconds(750));
  EXPECT_EQ(policy.Backoff(3, 0.5), absl::Seconds(1));
  EXPECT_EQ(policy.Backoff(10, 0.5), absl::Seconds(1));
}

TEST(RetryPolicyTest, JitterStaysWithinItsFraction) {
  RetryOptions options;
  options.jitter = 0.25;
  RetryPolicy policy(options);
  EXPECT_EQ(policy.Backoff(1, 0.0), absl::Milliseconds(375));
  EXPECT_EQ(policy.Backoff(1, 0.5), absl::Milliseconds(500));
  EXPECT_LT(policy.Backoff(1, 0.999999), absl::Milliseconds(625));
}

TEST(RetryPolicyTest, HonoursRetryAfter) {
  RetryOptions options;
  options.retry_on_status = true;
  options.jitter = 0;
  RetryPolicy policy(options);
  RetryPolicy::Decision d = policy.Decide(1, Answer(429, {{"retry-after", "3"}}), kNow, kFar, 0.5);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay, absl::Seconds(3));
}

TEST(RetryPolicyTest, NeverWaitsPastTheDeadline) {
  RetryOptions options;
  options.retry_on_status = true;
  RetryPolicy policy(options);
  EXPECT_FALSE(policy.Decide(1, Answer(503), kNow, kNow + absl::Milliseconds(100), 0.5).retry);
  EXPECT_FALSE(
      policy.Decide(1, Answer(429, {{"retry-after", "60"}}), kNow, kNow + absl::Seconds(5), 0.5).retry);
}

TEST(ParseRetryAfterTest, SecondsAndHttpDates) {
  absl::Duration delay;
  EXPECT_TRUE(ParseRetryAfter(" 120 ", kNow, &delay));
  EXPECT_EQ(delay, absl::Seconds(120));
  EXPECT_TRUE(ParseRetryAfter(absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", kNow + absl::Seconds(30),
                                               absl::UTCTimeZone()),
                              kNow, &delay));
  EXPECT_EQ(delay, absl::Seconds(30));
  EXPECT_FALSE(ParseRetryAfter("soon", kNow, &delay));
  EXPECT_FALSE(ParseRetryAfter("-5", kNow, &delay));
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
