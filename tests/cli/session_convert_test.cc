// Runs the built session-convert binary as a user would.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Runs session-convert with `args`, feeding `input` on stdin.
CommandResult Convert(const std::string& args, const std::string& input) {
  // CTest runs tests in parallel: give each its own files.
  const std::string dir = absl::StrCat(::testing::TempDir(), "/session_convert_",
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
  const std::string in = dir + ".in", out = dir + ".out", err = dir + ".err";
  std::ofstream(in, std::ios::binary) << input;
  std::string command = absl::StrCat(SESSION_CONVERT_PATH, " ", args, " <", in, " >", out, " 2>", err);
  int status = std::system(command.c_str());
  CommandResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = ReadFile(out);
  run.err = ReadFile(err);
  return run;
}

constexpr char kGolden[] =
    R"({"type":"payment-service-session","status":"succeeded","code":"UNKNOWN_ERROR",)"
    R"("status_code":200,"response_body":{"data":{"customerType":"EXISTING",)"
    R"("walletManagementUrl":"https://example.com/session"},"meta":{}}})";

TEST(SessionConvertTest, ConvertsTheDocsExampleUnchanged) {
  CommandResult run = Convert("--message=CreateSession --from=rest --to=rest", kGolden);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, std::string(kGolden) + "\n");
  EXPECT_EQ(run.err, "");
}

TEST(SessionConvertTest, BinaryThroughPipesRoundTrips) {
  CommandResult binary = Convert("--message=PaymentServiceSession --to=binary", kGolden);
  ASSERT_EQ(binary.exit_code, 0) << binary.err;
  CommandResult back = Convert("--message=PaymentServiceSession --from=binary", binary.out);
  EXPECT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(back.out, std::string(kGolden) + "\n");
}

TEST(SessionConvertTest, InvalidInputExitsOneWithOneErrorLine) {
  CommandResult run = Convert("--message=CreateSession", R"({"status_code":"201"})");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "error: $.status_code: expected an integer, got a string\n");
}

TEST(SessionConvertTest, StrictFlagRejectsUnknownKeys) {
  EXPECT_EQ(Convert("--message=CreateSession", R"({"status":"failed","x":1})").exit_code, 0);
  CommandResult strict = Convert("--message=CreateSession --strict", R"({"status":"failed","x":1})");
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_THAT(strict.err, StartsWith("error: $.x: "));
}

TEST(SessionConvertTest, PrettyOutputIsIndented) {
  CommandResult run = Convert("--message=CreateSession --pretty", kGolden);
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("\n  \"status\": \"succeeded\""));
}

TEST(SessionConvertTest, UsageErrorsExitTwo) {
  for (const char* args : {"--message=Nope", "--message=CreateSession --from=xml",
                           "--message=CreateSession --bogus", "--message=CreateSession stray",
                           "--message=CreateSession --max_depth=abc", "--to=rest"}) {
    CommandResult run = Convert(args, "{}");
    EXPECT_EQ(run.exit_code, 2) << args;
    EXPECT_THAT(run.err, StartsWith("session-convert: ")) << args;
    EXPECT_EQ(run.out, "") << args;
  }
}

TEST(SessionConvertTest, HelpListsEveryFlagWithItsDefault) {
  CommandResult run = Convert("--help", "");
  EXPECT_EQ(run.exit_code, 0);
  for (const char* flag : {"--message", "--from", "--to", "--strict", "--pretty", "--max_depth",
                           "--max_input_bytes", "--version"}) {
    EXPECT_THAT(run.out, HasSubstr(flag));
  }
  EXPECT_THAT(run.out, HasSubstr("default: rest"));
}

// `levels` JSON levels of nested objects inside a CreateSession.
std::string NestedObjects(int levels) {
  std::string doc = R"({"response_body":)";
  for (int i = 2; i < levels; ++i) doc += R"({"a":)";
  doc += "{}";
  for (int i = 2; i < levels; ++i) doc += "}";
  return doc + "}";
}

constexpr const char* kFormats[] = {"rest", "protojson", "text", "binary"};

// 100 levels (the default --max_depth) convert through every format and
// back; protobuf's own limits would stop protojson at about 33.
TEST(SessionConvertTest, HundredLevelsWorkInEveryFormat) {
  const std::string doc = NestedObjects(100);
  for (const char* format : kFormats) {
    CommandResult there = Convert(absl::StrCat("--message=CreateSession --to=", format), doc);
    ASSERT_EQ(there.exit_code, 0) << format << ": " << there.err;
    EXPECT_EQ(there.err, "") << format;
    CommandResult back =
        Convert(absl::StrCat("--message=CreateSession --from=", format), there.out);
    ASSERT_EQ(back.exit_code, 0) << format << ": " << back.err;
    EXPECT_EQ(back.err, "") << format;
    EXPECT_EQ(back.out, R"({"type":"payment-service-session",)" + doc.substr(1) + "\n")
        << format;
  }
}

// 101 levels: exactly one stderr line, naming the path, and no protobuf
// log line, reading any format (and printing protojson).
TEST(SessionConvertTest, HundredAndOneLevelsFailWithOneErrorLine) {
  const std::string doc = NestedObjects(101);
  std::string path;
  for (int i = 2; i < 101; ++i) path += ".a";
  for (const char* format : kFormats) {
    CommandResult input =
        Convert(absl::StrCat("--message=CreateSession --max_depth=101 --to=", format), doc);
    ASSERT_EQ(input.exit_code, 0) << format << ": " << input.err;
    CommandResult run = Convert(absl::StrCat("--message=CreateSession --from=", format), input.out);
    EXPECT_EQ(run.exit_code, 1) << format;
    EXPECT_EQ(run.out, "") << format;
    const std::string key = std::string(format) == "protojson" ? "responseBody" : "response_body";
    EXPECT_EQ(run.err, absl::StrCat("error: $.", key, path,
                                    ": nesting is deeper than the limit of 100 levels\n"))
        << format;
  }
  CommandResult print = Convert("--message=CreateSession --to=protojson", doc);
  EXPECT_EQ(print.exit_code, 1);
  EXPECT_EQ(print.err, absl::StrCat("error: $.response_body", path,
                                    ": nesting is deeper than the limit of 100 levels\n"));
}

TEST(SessionConvertTest, NegativeZeroSurvivesProtoJsonBothWays) {
  CommandResult in = Convert("--message=CreateSession --from=protojson",
                             R"({"response_body":{"x":-0}})");
  EXPECT_EQ(in.exit_code, 0) << in.err;
  EXPECT_EQ(in.out, R"({"type":"payment-service-session","response_body":{"x":-0}})" "\n");
  CommandResult out = Convert("--message=CreateSession --to=protojson",
                              R"({"response_body":{"x":-0}})");
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out, R"({"type":"payment-service-session","responseBody":{"x":-0}})" "\n");
}

// protobuf logs invalid UTF-8 in a binary string field before failing; the
// log line must not reach stderr.
TEST(SessionConvertTest, InvalidUtf8InBinaryGivesOnlyTheErrorLine) {
  CommandResult run =
      Convert("--message=CreateSession --from=binary", std::string("\x1a\x02\xff\xfe", 4));
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err, "error: $: not a valid serialized gr4vy.sessions.v1.CreateSession\n");
}

TEST(SessionConvertTest, HostileInputsFailCleanly) {
  for (const std::string& input :
       {std::string(200000, '['), std::string("{\"response_body\":") + std::string(100000, '{'),
        std::string("\xff\xfe{}", 4), std::string("{\"code\":\"\\ud800\"}"), std::string(""),
        std::string("[]"), std::string("{\"status_code\":1e999999999999}")}) {
    CommandResult run = Convert("--message=PaymentServiceSession", input);
    EXPECT_EQ(run.exit_code, 1) << input.substr(0, 40);
    EXPECT_THAT(run.err, StartsWith("error: $"));
  }
}

}  // namespace
