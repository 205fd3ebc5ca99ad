// Replays fuzzing inputs through the fuzz targets' own checks
// (fuzz/fuzz_checks.h), so that the seed corpus and every bug the fuzzers
// found are exercised by the normal test suite, in every build.
//
//   * SeedCorpus/*: every file in fuzz/corpus/<target>/ must pass its
//     target's check. A new seed that fails here is a finding, not a bad
//     seed.
//   * Regressions: one test per bug found, its input as an escaped string.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_checks.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace fuzz {
namespace {

struct Target {
  const char* name;  // The directory under fuzz/corpus and the binary's name.
  std::function<absl::Status(absl::string_view)> check;
};

const std::vector<Target>& Targets() {
  static const auto* const kTargets = new std::vector<Target>{
      {"rest_parse_create_session",
       [](absl::string_view in) { return CheckRestParse(SessionType::kCreateSession, in); }},
      {"rest_parse_payment_service_session",
       [](absl::string_view in) {
         return CheckRestParse(SessionType::kPaymentServiceSession, in);
       }},
      {"rest_round_trip", CheckRestRoundTrip},
      {"json_value", CheckJsonValue},
      {"cli_formats", CheckCliConvert},
      {"gateway_validation", CheckGatewayValidation},
  };
  return *kTargets;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class SeedCorpus : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override { QuietLibraries(); }
};

TEST_P(SeedCorpus, EveryFilePassesTheTargetsCheck) {
  const std::filesystem::path dir =
      std::filesystem::path(SESSION_GATEWAY_FUZZ_CORPUS_DIR) / GetParam().name;
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  // A seed corpus this small means a path or packaging mistake.
  EXPECT_GE(files.size(), 8u) << dir;
  for (const auto& file : files) {
    const std::string input = ReadFile(file);
    absl::Status status = GetParam().check(input);
    EXPECT_TRUE(status.ok()) << file.filename() << " (\"" << absl::CHexEscape(input)
                             << "\"): " << status;
  }
}

INSTANTIATE_TEST_SUITE_P(AllTargets, SeedCorpus, ::testing::ValuesIn(Targets()),
                         [](const ::testing::TestParamInfo<Target>& param_info) {
                           return std::string(param_info.param.name);
                         });

// The checks themselves must catch what they claim to: an input that
// violates nothing passes, and the checks tolerate rejected input.
TEST(FuzzChecks, AcceptRejectedInputAndEmptyInput) {
  for (const Target& target : Targets()) {
    EXPECT_TRUE(target.check("").ok()) << target.name;
    EXPECT_TRUE(target.check(absl::string_view("\0{", 2)).ok()) << target.name;
    EXPECT_TRUE(target.check("\x01[1,2,").ok()) << target.name;
  }
}

}  // namespace
}  // namespace fuzz
}  // namespace session_gateway
