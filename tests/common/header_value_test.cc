#include "common/header_value.h"

#include <string>

#include "gtest/gtest.h"

namespace session_gateway {
namespace {

TEST(HeaderValueTest, CrLfAndNulAnywhereAreFound) {
  EXPECT_TRUE(ContainsCrLfNul("a\rb"));
  EXPECT_TRUE(ContainsCrLfNul("a\nb"));
  EXPECT_TRUE(ContainsCrLfNul(std::string("a\0b", 3)));
  EXPECT_TRUE(ContainsCrLfNul("trailing\r\n"));
}

TEST(HeaderValueTest, OrdinaryValuesPass) {
  EXPECT_FALSE(ContainsCrLfNul(""));
  EXPECT_FALSE(ContainsCrLfNul("Bearer eyJ.a-b_c \t\x7f\xC3\xA9"));
}

}  // namespace
}  // namespace session_gateway
