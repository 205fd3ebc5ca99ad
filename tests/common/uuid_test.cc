#include "common/uuid.h"

#include <regex>
#include <string>

#include "gtest/gtest.h"

namespace session_gateway {
namespace {

TEST(UuidTest, SetsVersionAndVariantAndKeepsTheRest) {
  std::array<uint8_t, 16> ones;
  ones.fill(0xFF);
  EXPECT_EQ(FormatUuidV4(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  std::array<uint8_t, 16> zeros{};
  EXPECT_EQ(FormatUuidV4(zeros), "00000000-0000-4000-8000-000000000000");
}

TEST(UuidTest, IsCanonicalText) {
  std::array<uint8_t, 16> bytes;
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 17);
  EXPECT_TRUE(std::regex_match(FormatUuidV4(bytes),
                               std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
}

}  // namespace
}  // namespace session_gateway
