#include "common/read_file.h"

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace {

using ::testing::HasSubstr;

TEST(ReadFileTest, ReadsEveryByte) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/read_file_test.bin");
  const std::string bytes("line\r\n\0\xFF end", 12);
  std::ofstream(path, std::ios::binary) << bytes;
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, bytes);
}

TEST(ReadFileTest, MissingFileIsNotFoundNamingThePath) {
  absl::StatusOr<std::string> read = ReadFile(::testing::TempDir() + "/no_such_file");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(read.status().message(), HasSubstr("no_such_file"));
}

TEST(ReadFileTest, DirectoryIsAnError) {
  EXPECT_FALSE(ReadFile(::testing::TempDir()).ok());
}

}  // namespace
}  // namespace session_gateway
