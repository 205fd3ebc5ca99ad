#include "common/host_port.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace {

using ::testing::HasSubstr;

TEST(ParseHostPortTest, AcceptsNamesAddressesAndBracketedIpv6) {
  auto v4 = ParseHostPort("127.0.0.1:50051");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 50051);
  auto any = ParseHostPort("localhost:0");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "localhost");
  EXPECT_EQ(any->port, 0);
  auto v6 = ParseHostPort("[::1]:65535");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
}

TEST(ParseHostPortTest, RefusesBadSyntaxAndPortsOutOfRange) {
  for (const char* address : {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:+80",
                              "127.0.0.1: 80", "127.0.0.1:", "127.0.0.1", ":50051", "127.0.0.1:http",
                              "::1:80", "[::1:80", "[]:80", "127.0.0.1:000050051", "bad host:80", ""}) {
    auto parsed = ParseHostPort(address);
    EXPECT_FALSE(parsed.ok()) << "accepted \"" << address << "\"";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(parsed.status().message(), HasSubstr("0 to 65535"));
      EXPECT_THAT(parsed.status().message(), HasSubstr(std::string("\"") + address + "\""));
    }
  }
}

}  // namespace
}  // namespace session_gateway
