#include "common/json_text.h"

#include <string>

#include "gtest/gtest.h"

namespace session_gateway {
namespace {

TEST(JsonTextTest, ValidUtf8IsAccepted) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
}

TEST(JsonTextTest, InvalidUtf8IsRefused) {
  for (const std::string& bad : {std::string("\xFF"), std::string("\xC3"), std::string("\xC0\xAF"),
                                 std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"),
                                 std::string("ok\x80")}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << bad;
  }
}

TEST(JsonTextTest, EncodeUtf8WritesOneToFourBytes) {
  char out[4];
  EXPECT_EQ(EncodeUtf8(0x41, out), 1u);
  EXPECT_EQ(std::string(out, 1), "A");
  EXPECT_EQ(EncodeUtf8(0xE9, out), 2u);
  EXPECT_EQ(std::string(out, 2), "\xC3\xA9");
  EXPECT_EQ(EncodeUtf8(0x20AC, out), 3u);
  EXPECT_EQ(std::string(out, 3), "\xE2\x82\xAC");
  EXPECT_EQ(EncodeUtf8(0x1F600, out), 4u);
  EXPECT_EQ(std::string(out, 4), "\xF0\x9F\x98\x80");
}

TEST(JsonTextTest, AppendJsonStringEscapesQuotesBackslashesAndControls) {
  std::string out = "x";
  ASSERT_TRUE(AppendJsonString(std::string("a\"b\\c\n\t\x01\0\xC3\xA9", 11), &out));
  EXPECT_EQ(out, "x\"a\\\"b\\\\c\\n\\t\\u0001\\u0000\xC3\xA9\"");
}

TEST(JsonTextTest, AppendJsonStringRefusesInvalidUtf8) {
  std::string out;
  EXPECT_FALSE(AppendJsonString("bad \xFF", &out));
}

}  // namespace
}  // namespace session_gateway
