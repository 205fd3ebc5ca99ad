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
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "convert/rest_json.h"
#include "fuzz/fuzz_checks.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace fuzz {
namespace {

struct Target {
  const char* name;  // The directory under fuzz/corpus and the binary's name.
  std::function<absl::Status(absl::string_view)> check;
};

// Names the parameter in test output instead of dumping its bytes.
void PrintTo(const Target& target, std::ostream* os) { *os << target.name; }

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

// ---------------------------------------------------------------------------
// Regressions: bugs the fuzzers found, one test each.

// cli_formats, found in the first minutes of fuzzing: a google.protobuf.Value
// whose null_value holds a number other than NULL_VALUE (0) (NullValue is an
// open proto3 enum, so binary and text input can carry any number) prints
// as `null` and reads back as NULL_VALUE, so proto -> REST -> proto is not
// the identity that docs/rest-json.md ("Printing") promises. The printer
// (src/convert/internal/json_writer.cc, WriteValue, case kNullValue) either
// has to reject such a value, as it rejects enum values with no REST name,
// or the contract has to name the exception.
TEST(FuzzRegressions, CliFormatsOutOfRangeNullValueFromBinary) {
  // The input libFuzzer found: option byte 0x02 (binary, CreateSession),
  // then a CreateSession whose response_body is
  // {"list":[],"meta":{},"a":null_value=122}.
  static constexpr char kInput[] =
      "\x02\n\x17payment-service-session*!\n\n\n\x04list\x12\x02\x32\x00\n\n\n"
      "\x04meta\x12\x02*\x00\n\x07\n\x01\x61\x12\x02\x08z";
  const absl::string_view input(kInput, sizeof(kInput) - 1);  // It holds NULs.
  ASSERT_EQ(input.size(), 61u);
  absl::Status status = CheckCliConvert(input);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(FuzzRegressions, CliFormatsOutOfRangeNullValueFromText) {
  // The same, minimized and in text format: option byte 0x01 (text,
  // CreateSession).
  absl::Status status = CheckCliConvert(
      "\x01response_body { fields { key: \"a\" value { null_value: 122 } } }\n");
  EXPECT_TRUE(status.ok()) << status;
}

TEST(FuzzRegressions, OutOfRangeNullValueRoundTripsOrIsRejected) {
  // The converter API alone, without the CLI: print, read back, compare.
  gr4vy::sessions::v1::CreateSession session;
  (*session.mutable_response_body()->mutable_fields())["a"].set_null_value(
      static_cast<google::protobuf::NullValue>(122));
  std::string json;
  absl::Status printed = convert::MessageToRestJson(session, &json);
  if (!printed.ok()) {
    // Rejecting the value is one acceptable fix.
    EXPECT_EQ(printed.code(), absl::StatusCode::kInvalidArgument) << printed;
    EXPECT_EQ(printed.message().substr(0, 17), "$.response_body.a") << printed;
    return;
  }
  gr4vy::sessions::v1::CreateSession reparsed;
  ASSERT_TRUE(convert::RestJsonToMessage(json, &reparsed).ok()) << json;
  session.set_type("payment-service-session");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(session, reparsed))
      << "printed " << json << " from " << session.ShortDebugString() << ", read back "
      << reparsed.ShortDebugString();
}

}  // namespace
}  // namespace fuzz
}  // namespace session_gateway
