#include "upstream/reloadable_token_source.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace upstream {
namespace {

// A loader that hands out "token-<n>" for the n-th successful load, or
// fails while `fail` is set.
struct FakeFiles {
  std::atomic<int> loads{0};
  std::atomic<bool> fail{false};

  ReloadableTokenSource::Loader Loader() {
    return [this]() -> absl::StatusOr<std::unique_ptr<TokenSource>> {
      if (fail.load()) return absl::InvalidArgumentError("--bearer_token_file: /run/token is empty");
      return std::make_unique<StaticTokenSource>(absl::StrCat("token-", ++loads));
    };
  }
};

std::string Header(const TokenSource& tokens) {
  absl::StatusOr<std::string> header = tokens.AuthorizationHeader(absl::Now(), {});
  EXPECT_TRUE(header.ok()) << header.status();
  return header.ok() ? *header : "";
}

TEST(ReloadableTokenSourceTest, AFailedFirstLoadIsTheLoadersError) {
  FakeFiles files;
  files.fail = true;
  auto tokens = ReloadableTokenSource::Create(files.Loader());
  ASSERT_FALSE(tokens.ok());
  EXPECT_EQ(tokens.status().message(), "--bearer_token_file: /run/token is empty");
}

TEST(ReloadableTokenSourceTest, ReloadSwapsTheSourceAndAFailedReloadKeepsIt) {
  FakeFiles files;
  auto tokens = ReloadableTokenSource::Create(files.Loader());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(Header(**tokens), "Bearer token-1");

  ASSERT_TRUE((*tokens)->Reload().ok());
  EXPECT_EQ(Header(**tokens), "Bearer token-2");

  files.fail = true;
  absl::Status failed = (*tokens)->Reload();
  EXPECT_EQ(failed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Header(**tokens), "Bearer token-2");
}

TEST(ReloadableTokenSourceTest, ALoaderThatReturnsNothingIsAnError) {
  int calls = 0;
  auto tokens = ReloadableTokenSource::Create([&calls]() -> absl::StatusOr<std::unique_ptr<TokenSource>> {
    if (++calls == 1) return std::make_unique<StaticTokenSource>("first");
    return nullptr;
  });
  ASSERT_TRUE(tokens.ok());
  EXPECT_FALSE((*tokens)->Reload().ok());
  EXPECT_EQ(Header(**tokens), "Bearer first");
}

// Requests sign while reloads swap the source: each sees a whole token,
// never an error, and later ones never go back to an older token.
TEST(ReloadableTokenSourceTest, RequestsDuringReloadsAlwaysGetAToken) {
  FakeFiles files;
  auto tokens = ReloadableTokenSource::Create(files.Loader());
  ASSERT_TRUE(tokens.ok());
  std::atomic<bool> done{false};
  std::vector<std::thread> readers;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      int last = 0;
      while (!done.load()) {
        absl::StatusOr<std::string> header = (*tokens)->AuthorizationHeader(absl::Now(), {});
        int n = 0;
        if (!header.ok() || !absl::StartsWith(*header, "Bearer token-") ||
            !absl::SimpleAtoi(header->substr(13), &n) || n < last) {
          ++bad;
        }
        last = n;
      }
    });
  }
  for (int i = 0; i < 500; ++i) ASSERT_TRUE((*tokens)->Reload().ok());
  done = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(Header(**tokens), "Bearer token-501");
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
