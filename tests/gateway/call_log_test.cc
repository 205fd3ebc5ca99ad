#include "gateway/call_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace session_gateway {
namespace gateway {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

// 2026-12-03T04:05:06.789Z plus 654 microseconds (truncated when printed).
absl::Time SampleTime() {
  return absl::FromCivil(absl::CivilSecond(2026, 12, 3, 4, 5, 6), absl::UTCTimeZone()) +
         absl::Microseconds(789654);
}

CallRecord SampleRecord() {
  CallRecord r;
  r.timestamp = SampleTime();
  r.method = "CreatePaymentServiceSession";
  r.request_id = "5b0c1d7e-3c2a-4f7e-9a55-0d9c3c7b8e21";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.upstream_status = 201;
  r.grpc_code = "OK";
  r.attempts = 1;
  r.latency = absl::Microseconds(12345);
  return r;
}

// The line the forwarder prints today (forwarder.cc, FinishLocked), made
// the way it makes it, so that the text format is checked against the
// real thing rather than against a copy of the new code's output.
std::string TodaysLine(const CallRecord& r) {
  char buffer[1024];
  std::snprintf(buffer, sizeof buffer,
                "%s session-gateway: call method=%s request_id=%s upstream_status=%d grpc_code=%s "
                "attempts=%d latency_ms=%.1f\n",
                absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", r.timestamp, absl::UTCTimeZone()).c_str(),
                std::string(r.method).c_str(), std::string(r.request_id).c_str(), r.upstream_status,
                std::string(r.grpc_code).c_str(), r.attempts, absl::ToDoubleMilliseconds(r.latency));
  return buffer;
}

rapidjson::Document ParseJsonLine(const std::string& line) {
  EXPECT_THAT(line, EndsWith("\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size() - 1);
  EXPECT_FALSE(doc.HasParseError()) << line;
  return doc;
}

TEST(CallLogTest, TextIsTodaysLineWithTheTraceIdAppended) {
  const CallRecord r = SampleRecord();
  std::string today = TodaysLine(r);
  today.pop_back();  // '\n'
  EXPECT_EQ(Format(r, LogFormat::kText), today + " trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n");
  EXPECT_EQ(Format(r, LogFormat::kText),
            "2026-12-03T04:05:06.789Z session-gateway: call method=CreatePaymentServiceSession "
            "request_id=5b0c1d7e-3c2a-4f7e-9a55-0d9c3c7b8e21 upstream_status=201 grpc_code=OK "
            "attempts=1 latency_ms=12.3 trace_id=4bf92f3577b34da6a3ce929d0e0e4736\n");
}

TEST(CallLogTest, TextWithoutTraceIdIsExactlyTodaysLine) {
  CallRecord r = SampleRecord();
  r.trace_id = "";
  r.upstream_status = 0;
  r.grpc_code = "INVALID_ARGUMENT";
  r.attempts = 0;
  r.latency = absl::Microseconds(50);
  EXPECT_EQ(Format(r, LogFormat::kText), TodaysLine(r));
}

TEST(CallLogTest, TimestampsMatchAbslFormatTime) {
  CallRecord r = SampleRecord();
  r.trace_id = "";
  // Across a second boundary (the per-thread cache), before 1970, at a
  // leap day, and with sub-millisecond parts that must be truncated.
  const absl::Time base = SampleTime();
  for (absl::Time t : {base, base + absl::Milliseconds(211), base + absl::Milliseconds(1211),
                       base - absl::Hours(24 * 365 * 60) + absl::Nanoseconds(999999),
                       absl::FromCivil(absl::CivilSecond(2024, 2, 29, 23, 59, 59), absl::UTCTimeZone()) +
                           absl::Nanoseconds(999999999),
                       absl::UnixEpoch() - absl::Nanoseconds(1), absl::UnixEpoch()}) {
    r.timestamp = t;
    EXPECT_EQ(Format(r, LogFormat::kText), TodaysLine(r));
  }
}

TEST(CallLogTest, ShedCallsSaySo) {
  CallRecord r = SampleRecord();
  r.shed = true;
  r.grpc_code = "UNAVAILABLE";
  r.upstream_status = 0;
  r.attempts = 0;
  EXPECT_THAT(Format(r, LogFormat::kText), EndsWith(" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 shed=true\n"));
  EXPECT_THAT(Format(SampleRecord(), LogFormat::kText), Not(HasSubstr("shed")));

  rapidjson::Document doc = ParseJsonLine(Format(r, LogFormat::kJson));
  ASSERT_TRUE(doc.HasMember("shed"));
  EXPECT_TRUE(doc["shed"].GetBool());
  EXPECT_FALSE(ParseJsonLine(Format(SampleRecord(), LogFormat::kJson))["shed"].GetBool());
}

TEST(CallLogTest, TextEscapesBytesOutsideVisibleAscii) {
  CallRecord r = SampleRecord();
  r.request_id = "a b\nc\x7f\xc3\xa9";
  EXPECT_THAT(Format(r, LogFormat::kText), HasSubstr(" request_id=a\\x20b\\x0ac\\x7f\\xc3\\xa9 "));
}

TEST(CallLogTest, JsonHasTheDocumentedKeysAndValues) {
  const std::string line = Format(SampleRecord(), LogFormat::kJson);
  EXPECT_EQ(line,
            "{\"timestamp\":\"2026-12-03T04:05:06.789Z\",\"method\":\"CreatePaymentServiceSession\","
            "\"code\":\"OK\",\"upstream_status\":201,\"attempts\":1,\"latency_ms\":12.3,"
            "\"request_id\":\"5b0c1d7e-3c2a-4f7e-9a55-0d9c3c7b8e21\","
            "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"shed\":false}\n");
  rapidjson::Document doc = ParseJsonLine(line);
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["timestamp"].GetString(), "2026-12-03T04:05:06.789Z");
  EXPECT_STREQ(doc["method"].GetString(), "CreatePaymentServiceSession");
  EXPECT_STREQ(doc["code"].GetString(), "OK");
  EXPECT_EQ(doc["upstream_status"].GetInt(), 201);
  EXPECT_EQ(doc["attempts"].GetInt(), 1);
  EXPECT_DOUBLE_EQ(doc["latency_ms"].GetDouble(), 12.3);
  EXPECT_STREQ(doc["request_id"].GetString(), "5b0c1d7e-3c2a-4f7e-9a55-0d9c3c7b8e21");
  EXPECT_STREQ(doc["trace_id"].GetString(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(doc.MemberCount(), 9u);
}

TEST(CallLogTest, JsonEscapesEveryStringValue) {
  // Quotes, backslashes, control characters, DEL, two- and four-byte UTF-8,
  // and a byte that is not UTF-8, in every string field.
  const std::string hostile = std::string("q\"b\\n\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80 bad\xff!");
  const std::string expected_decoded =
      std::string("q\"b\\n\n\r\t\x01\x1f\x7f caf\xc3\xa9 \xf0\x9f\x98\x80 bad\xef\xbf\xbd!");
  CallRecord r = SampleRecord();
  r.method = hostile;
  r.request_id = hostile;
  r.trace_id = hostile;
  r.grpc_code = hostile;
  const std::string line = Format(r, LogFormat::kJson);
  for (char c : line.substr(0, line.size() - 1)) {
    const auto u = static_cast<unsigned char>(c);
    ASSERT_TRUE(u >= 0x20 && u < 0x7f) << "not printable ASCII: " << static_cast<int>(u) << " in " << line;
  }
  EXPECT_THAT(line, HasSubstr("q\\\"b\\\\n\\n\\r\\t\\u0001\\u001f\\u007f caf\\u00e9 \\ud83d\\ude00 bad\\ufffd!"));
  rapidjson::Document doc = ParseJsonLine(line);
  ASSERT_TRUE(doc.IsObject());
  for (const char* key : {"method", "request_id", "trace_id", "code"}) {
    ASSERT_TRUE(doc[key].IsString()) << key;
    EXPECT_EQ(std::string(doc[key].GetString(), doc[key].GetStringLength()), expected_decoded) << key;
  }
}

TEST(CallLogTest, JsonRejectsOverlongAndSurrogateUtf8) {
  CallRecord r = SampleRecord();
  // Overlong '/', a UTF-8-encoded surrogate, a truncated sequence, > U+10FFFF.
  // CallRecord holds views: the bytes must outlive the record.
  const std::string request_id("\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xf4\x90\x80\x80");
  r.request_id = request_id;
  rapidjson::Document doc = ParseJsonLine(Format(r, LogFormat::kJson));
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(std::string(doc["request_id"].GetString()),
            fffd + fffd + "|" + fffd + fffd + fffd + "|" + fffd + fffd + "|" + fffd + fffd + fffd + fffd);
}

TEST(CallLogTest, InfiniteLatencyIsStillValidJson) {
  CallRecord r = SampleRecord();
  r.latency = absl::InfiniteDuration();
  rapidjson::Document doc = ParseJsonLine(Format(r, LogFormat::kJson));
  EXPECT_TRUE(doc["latency_ms"].IsNull());
}

TEST(CallLogTest, FormatToAppends) {
  std::string buffer = "previous\n";
  FormatTo(SampleRecord(), LogFormat::kText, &buffer);
  FormatTo(SampleRecord(), LogFormat::kJson, &buffer);
  std::vector<std::string> lines = absl::StrSplit(buffer, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "previous");
  EXPECT_EQ(lines[1] + "\n", Format(SampleRecord(), LogFormat::kText));
  EXPECT_EQ(lines[2] + "\n", Format(SampleRecord(), LogFormat::kJson));
}

TEST(CallLogTest, LogFormatFlag) {
  LogFormat format = LogFormat::kText;
  std::string error;
  EXPECT_TRUE(AbslParseFlag("json", &format, &error));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(AbslParseFlag("text", &format, &error));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(AbslParseFlag("JSON", &format, &error));
  EXPECT_EQ(error, "must be text or json");
  EXPECT_EQ(AbslUnparseFlag(LogFormat::kJson), "json");
  EXPECT_EQ(AbslUnparseFlag(LogFormat::kText), "text");
}

class PipeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe(fds_), 0); }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  std::string ReadAll() {
    close(fds_[1]);
    fds_[1] = -1;
    std::string out;
    char buffer[4096];
    ssize_t n;
    while ((n = read(fds_[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
    return out;
  }
  int fds_[2] = {-1, -1};
};

TEST_F(PipeTest, SinkWritesFormattedLines) {
  CallLogSink sink(fds_[1]);
  EXPECT_TRUE(sink.Write(SampleRecord(), LogFormat::kText));
  EXPECT_TRUE(sink.Write(SampleRecord(), LogFormat::kJson));
  EXPECT_TRUE(sink.WriteLine("plain\n"));
  EXPECT_EQ(sink.lines_written(), 3u);
  EXPECT_EQ(sink.lines_dropped(), 0u);
  EXPECT_EQ(ReadAll(), Format(SampleRecord(), LogFormat::kText) +
                           Format(SampleRecord(), LogFormat::kJson) + "plain\n");
}

// Writers on several threads at once; a reader drains the pipe meanwhile.
// Every line must arrive whole: each write(2) of fewer than PIPE_BUF bytes
// to a pipe is atomic.
TEST_F(PipeTest, ConcurrentLinesAreNeverInterleaved) {
  constexpr int kThreads = 4, kLinesPerThread = 2000;
  std::string received;
  std::thread reader([this, &received] {
    char buffer[8192];
    ssize_t n;
    while ((n = read(fds_[0], buffer, sizeof buffer)) > 0) received.append(buffer, static_cast<size_t>(n));
  });
  {
    CallLogSink sink(fds_[1]);
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
      writers.emplace_back([&sink, t] {
        for (int i = 0; i < kLinesPerThread; ++i) {
          // Different lengths per thread, some near 1 KiB.
          const std::string id = absl::StrCat("t", t, "-", i, "-", std::string(static_cast<size_t>(t) * 300, 'x'));
          CallRecord r = SampleRecord();
          r.request_id = id;
          sink.Write(r, t % 2 == 0 ? LogFormat::kText : LogFormat::kJson);
        }
      });
    }
    for (std::thread& w : writers) w.join();
    EXPECT_EQ(sink.lines_written(), uint64_t{kThreads} * kLinesPerThread);
  }
  close(fds_[1]);
  fds_[1] = -1;
  reader.join();

  std::vector<std::string> lines = absl::StrSplit(received, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), size_t{kThreads} * kLinesPerThread);
  std::set<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kLinesPerThread; ++i) {
      const std::string id = absl::StrCat("t", t, "-", i, "-", std::string(static_cast<size_t>(t) * 300, 'x'));
      CallRecord r = SampleRecord();
      r.request_id = id;
      std::string line = Format(r, t % 2 == 0 ? LogFormat::kText : LogFormat::kJson);
      line.pop_back();
      expected.insert(line);
    }
  }
  std::set<std::string> got(lines.begin(), lines.end());
  EXPECT_EQ(got.size(), lines.size()) << "a line arrived twice";
  EXPECT_TRUE(got == expected) << "some line arrived torn or altered";
}

TEST_F(PipeTest, AFullNonBlockingPipeDropsLinesInsteadOfBlocking) {
  ASSERT_EQ(fcntl(fds_[1], F_SETFL, fcntl(fds_[1], F_GETFL) | O_NONBLOCK), 0);
  CallLogSink sink(fds_[1]);
  // A pipe holds 64 KiB by default (at most 1 MiB); stop at the first drop.
  const std::string line = std::string(1000, 'x') + "\n";
  int written = 0;
  while (sink.WriteLine(line)) {
    ASSERT_LT(++written, 2000) << "the pipe never filled";
  }
  EXPECT_EQ(sink.lines_dropped(), 1u);
  EXPECT_EQ(sink.lines_written(), static_cast<uint64_t>(written));
}

TEST(CallLogSinkTest, ABadDescriptorDropsTheLine) {
  CallLogSink sink(-1);
  EXPECT_FALSE(sink.Write(SampleRecord(), LogFormat::kText));
  EXPECT_EQ(sink.lines_dropped(), 1u);
  EXPECT_EQ(sink.lines_written(), 0u);
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
