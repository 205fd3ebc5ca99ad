#include "upstream/token_source.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/manual_executor.h"

namespace session_gateway {
namespace upstream {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);
const std::vector<std::string> kWrite = {"transactions.write"};
const std::vector<std::string> kRead = {"transactions.read"};

// Mints "Bearer <n>:<scopes>@<unix seconds>", counting calls; can be told
// to fail.
class CountingTokenSource : public TokenSource {
 public:
  absl::StatusOr<std::string> AuthorizationHeader(absl::Time now,
                                                  absl::Span<const std::string> scopes) const override {
    const int n = ++minted_;
    if (fail_) return absl::InternalError("signing failed");
    return absl::StrCat("Bearer ", n, ":", absl::StrJoin(scopes, ","), "@", absl::ToUnixSeconds(now));
  }
  int minted() const { return minted_; }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  mutable std::atomic<int> minted_{0};
  std::atomic<bool> fail_{false};
};

class CachingTokenSourceTest : public ::testing::Test {
 protected:
  CachingTokenSourceTest() {
    auto inner = std::make_unique<CountingTokenSource>();
    inner_ = inner.get();
    cache_ = std::make_unique<CachingTokenSource>(std::move(inner), absl::Seconds(60), &refresher_);
  }

  std::string Header(absl::Duration after_start, const std::vector<std::string>& scopes = kWrite) {
    absl::StatusOr<std::string> header = cache_->AuthorizationHeader(kStart + after_start, scopes);
    EXPECT_TRUE(header.ok()) << header.status();
    return header.value_or("");
  }

  testing::ManualExecutor refresher_;
  CountingTokenSource* inner_;
  std::unique_ptr<CachingTokenSource> cache_;
};

TEST_F(CachingTokenSourceTest, ReusesATokenForTheFirstHalfOfItsLifetime) {
  const std::string first = Header(absl::ZeroDuration());
  EXPECT_EQ(first, "Bearer 1:transactions.write@1700000000");
  EXPECT_EQ(Header(absl::Seconds(1)), first);
  EXPECT_EQ(Header(absl::Seconds(29) + absl::Milliseconds(999)), first);
  EXPECT_EQ(inner_->minted(), 1);
  EXPECT_EQ(refresher_.pending(), 0u);
}

TEST_F(CachingTokenSourceTest, PastHalfItRefreshesInTheBackgroundAndKeepsServingTheOldToken) {
  const std::string first = Header(absl::ZeroDuration());
  // Past half: the call gets the old token at once, and one refresh is
  // queued however many calls see it.
  EXPECT_EQ(Header(absl::Seconds(30)), first);
  EXPECT_EQ(Header(absl::Seconds(31)), first);
  EXPECT_EQ(inner_->minted(), 1);
  ASSERT_EQ(refresher_.pending(), 1u);
  refresher_.RunAll();
  EXPECT_EQ(inner_->minted(), 2);
  // The refreshed token, issued when the refresh was asked for, serves
  // the next half lifetime.
  const std::string second = Header(absl::Seconds(32));
  EXPECT_EQ(second, "Bearer 2:transactions.write@1700000030");
  EXPECT_EQ(Header(absl::Seconds(59)), second);
  EXPECT_EQ(inner_->minted(), 2);
}

TEST_F(CachingTokenSourceTest, InTheLastQuarterOrAfterExpiryItSignsInline) {
  const std::string first = Header(absl::ZeroDuration());
  const std::string late = Header(absl::Seconds(45));
  EXPECT_NE(late, first);
  EXPECT_EQ(late, "Bearer 2:transactions.write@1700000045");
  const std::string expired = Header(absl::Seconds(500));
  EXPECT_EQ(expired, "Bearer 3:transactions.write@1700000500");
  EXPECT_EQ(refresher_.pending(), 0u);
}

TEST_F(CachingTokenSourceTest, DistinctScopeListsGetDistinctTokens) {
  const std::string write = Header(absl::ZeroDuration(), kWrite);
  const std::string read = Header(absl::ZeroDuration(), kRead);
  const std::string both = Header(absl::ZeroDuration(), {"transactions.read", "transactions.write"});
  EXPECT_NE(write, read);
  EXPECT_NE(write, both);
  EXPECT_NE(read, both);
  EXPECT_EQ(Header(absl::Seconds(1), kWrite), write);
  EXPECT_EQ(Header(absl::Seconds(1), kRead), read);
  EXPECT_EQ(inner_->minted(), 3);
}

TEST_F(CachingTokenSourceTest, AClockThatWentBackGetsANewToken) {
  const std::string first = Header(absl::Seconds(10));
  // A token issued in the future would not be valid yet (nbf).
  EXPECT_NE(Header(absl::Seconds(5)), first);
}

TEST_F(CachingTokenSourceTest, AFailedRefreshKeepsTheOldTokenAndTriesAgain) {
  const std::string first = Header(absl::ZeroDuration());
  inner_->set_fail(true);
  EXPECT_EQ(Header(absl::Seconds(31)), first);
  refresher_.RunAll();
  EXPECT_EQ(Header(absl::Seconds(32)), first);
  ASSERT_EQ(refresher_.pending(), 1u);  // Tried again.
  inner_->set_fail(false);
  refresher_.RunAll();
  EXPECT_EQ(Header(absl::Seconds(33)), "Bearer 3:transactions.write@1700000032");
}

TEST_F(CachingTokenSourceTest, AFailedInlineSignatureIsTheCallersError) {
  inner_->set_fail(true);
  absl::StatusOr<std::string> header = cache_->AuthorizationHeader(kStart, kWrite);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kInternal);
}

TEST(CachingTokenSourceThreadsTest, ConcurrentCallersShareTokensAndRefreshesFinishBeforeDestruction) {
  ThreadPoolExecutor pool(2);
  auto inner = std::make_unique<CountingTokenSource>();
  CountingTokenSource* counting = inner.get();
  auto cache = std::make_unique<CachingTokenSource>(std::move(inner), absl::Seconds(60), &pool);
  ASSERT_TRUE(cache->AuthorizationHeader(kStart, kWrite).ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        absl::StatusOr<std::string> header =
            cache->AuthorizationHeader(kStart + absl::Milliseconds(100 * i + t), kWrite);
        EXPECT_TRUE(header.ok()) << header.status();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  // 20 s of calls: all served by the first token, with no refresh.
  EXPECT_EQ(counting->minted(), 1);
  // Past half its lifetime: refreshes start on the pool, and destruction
  // waits for them (a sanitizer build reports it if it did not).
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(cache->AuthorizationHeader(kStart + absl::Seconds(31), kWrite).ok());
  cache.reset();
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
