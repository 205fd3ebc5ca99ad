#include "common/upstream_url.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseUpstreamBaseTest, AcceptsHttpAndHttpsBaseUrls) {
  struct Case {
    const char* url;
    const char* base;
  };
  for (const Case& c : {Case{"https://api.sandbox.acme.gr4vy.app", "https://api.sandbox.acme.gr4vy.app"},
                        Case{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
                        Case{"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
                        Case{"https://example.com/api/v1//", "https://example.com/api/v1"},
                        Case{"HTTP://[::1]:65535", "http://[::1]:65535"}}) {
    auto base = ParseUpstreamBase(c.url);
    ASSERT_TRUE(base.ok()) << c.url << ": " << base.status();
    EXPECT_EQ(*base, c.base) << c.url;
  }
}

TEST(ParseUpstreamBaseTest, RefusesWhatWouldFailOrMisrouteEveryCall) {
  struct Case {
    const char* url;
    const char* why;
  };
  for (const Case& c : {Case{"", "empty"},
                        Case{"http://", "no host"},
                        Case{"https:///path", "no host"},
                        Case{"http:/example.com", "http:// or https://"},
                        Case{"ftp://example.com", "http:// or https://"},
                        Case{"example.com", "http:// or https://"},
                        Case{"http://127.0.0.1:notaport", "not a valid URL"},
                        Case{"http://127.0.0.1:0", "outside 1-65535"},
                        Case{"http://127.0.0.1:65536", "not a valid URL"},
                        Case{"http://127.0.0.1:8080/?api_key=1", "query"},
                        Case{"http://127.0.0.1:8080?", "query"},
                        Case{"http://127.0.0.1:8080/#section", "fragment"},
                        Case{" http://127.0.0.1:8080", "leading or trailing blanks"},
                        Case{"http://127.0.0.1:8080\n", "leading or trailing blanks"},
                        Case{"http://127.0.0.1:8080/a b", "blanks or control characters"},
                        Case{"http://user@127.0.0.1:8080", "user name or password"},
                        Case{"http://user:hunter2@127.0.0.1:8080", "user name or password"}}) {
    auto base = ParseUpstreamBase(c.url);
    ASSERT_FALSE(base.ok()) << "accepted \"" << c.url << "\" as " << *base;
    EXPECT_EQ(base.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(base.status().message(), HasSubstr(c.why)) << c.url;
  }
}

TEST(ParseUpstreamBaseTest, MessagesNeverQuoteTheUrl) {
  for (const char* url : {"http://user:hunter2@example.com", "http://example.com/?key=hunter2",
                          "http://example.com/#hunter2", "http://example.com:hunter2",
                          "http://example.com/hunter2 "}) {
    auto base = ParseUpstreamBase(url);
    ASSERT_FALSE(base.ok()) << url;
    EXPECT_THAT(base.status().message(), Not(HasSubstr("hunter2"))) << url;
  }
}

}  // namespace
}  // namespace session_gateway
