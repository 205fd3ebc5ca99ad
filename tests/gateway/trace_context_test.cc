#include "gateway/trace_context.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using ::testing::MatchesRegex;

// The spec's own example.
constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kParentId[] = "00f067aa0ba902b7";

// A random source that returns the given values in turn, then repeats the
// last: it lets a test decide the ids the gateway draws.
class SequenceGen {
 public:
  using result_type = uint64_t;
  explicit SequenceGen(std::vector<uint64_t> values) : values_(std::move(values)) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<uint64_t>::max(); }
  result_type operator()() {
    const uint64_t v = values_[std::min(next_, values_.size() - 1)];
    ++next_;
    return v;
  }
  size_t calls() const { return next_; }

 private:
  std::vector<uint64_t> values_;
  size_t next_ = 0;
};

constexpr char kHexPattern[] = "00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}";

TEST(ParseTraceParentTest, ParsesTheSpecExample) {
  std::optional<TraceParent> p = ParseTraceParent(kValid);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->version, 0);
  EXPECT_EQ(p->trace_id[0], 0x4b);
  EXPECT_EQ(p->trace_id[15], 0x36);
  EXPECT_EQ(p->parent_id[0], 0x00);
  EXPECT_EQ(p->parent_id[7], 0xb7);
  EXPECT_EQ(p->flags, 0x01);
}

TEST(ParseTraceParentTest, RejectsWhatTheSpecMakesInvalid) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", "too short"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", "version 00 with extra"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ", "trailing space"},
      {"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "uppercase trace id"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01", "uppercase parent id"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A", "uppercase flags"},
      {"0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "uppercase version"},
      {"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "all-zero trace id"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "all-zero parent id"},
      {"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"},
      {"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "wrong separator"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01", "wrong separator 2"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01", "wrong separator 3"},
      {"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", "not hex"},
      {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-g1", "flags not hex"},
      {"0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version not hex"},
      {"00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01", "dash misplaced"},
      {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what", "future, no dash after"},
      {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "future, too short"},
  };
  for (const auto& [value, why] : cases) {
    EXPECT_FALSE(ParseTraceParent(value).has_value()) << why << ": " << value;
  }
}

TEST(ParseTraceParentTest, ParsesAFutureVersionByTheVersion00Layout) {
  // Exactly 55 characters, and longer with '-' then fields it must ignore.
  std::optional<TraceParent> p =
      ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->version, 0xcc);
  EXPECT_EQ(p->flags, kTraceFlagSampled) << "only the sampled bit of an unknown version";

  p = ParseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-the-future-holds");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->flags, 0);
}

TEST(IsValidTraceStateTest, AcceptsWellFormedLists) {
  EXPECT_TRUE(IsValidTraceState(""));
  EXPECT_TRUE(IsValidTraceState("congo=t61rcWkgMzE"));
  EXPECT_TRUE(IsValidTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  EXPECT_TRUE(IsValidTraceState("rojo=00f067aa0ba902b7 ,\tcongo=t61rcWkgMzE"));
  EXPECT_TRUE(IsValidTraceState("rojo=1,,congo=2"));  // Empty members are allowed.
  EXPECT_TRUE(IsValidTraceState("fw529a3039@dt=abc, 7x/_*-=v a l"));
  EXPECT_TRUE(IsValidTraceState(std::string(256, 'k') + "=" + std::string(255, 'v')));
}

TEST(IsValidTraceStateTest, RejectsMalformedLists) {
  EXPECT_FALSE(IsValidTraceState("novalue"));
  EXPECT_FALSE(IsValidTraceState("=value"));
  EXPECT_FALSE(IsValidTraceState("Rojo=1")) << "uppercase key";
  EXPECT_FALSE(IsValidTraceState("_rojo=1")) << "key starting with _";
  EXPECT_FALSE(IsValidTraceState("rojo=")) << "empty value";
  EXPECT_FALSE(IsValidTraceState("rojo=a=b"));
  EXPECT_FALSE(IsValidTraceState("rojo=a\x01"));
  EXPECT_FALSE(IsValidTraceState("rojo=caf\xc3\xa9"));
  EXPECT_FALSE(IsValidTraceState("a@b@c=1"));
  EXPECT_FALSE(IsValidTraceState("tenant@=1"));
  EXPECT_FALSE(IsValidTraceState("rojo=1,rojo=2")) << "duplicate key";
  EXPECT_FALSE(IsValidTraceState(std::string(257, 'k') + "=1"));
  EXPECT_FALSE(IsValidTraceState("k=" + std::string(257, 'v')));
  // Over 512 characters.
  std::string long_list;
  for (int i = 0; i < 20; ++i) long_list += "key" + std::to_string(i) + "=" + std::string(30, 'v') + ",";
  ASSERT_GT(long_list.size(), kMaxTraceStateLength);
  EXPECT_FALSE(IsValidTraceState(long_list));
  // 33 members.
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=1";
  ASSERT_LE(many.size(), kMaxTraceStateLength);
  EXPECT_FALSE(IsValidTraceState(many));
}

TEST(TraceContextTest, AValidTraceparentIsContinuedAsAChildSpan) {
  absl::BitGen gen;
  TraceContext t = TraceContext::ForCall(kValid, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", gen);
  EXPECT_TRUE(t.continued());
  EXPECT_EQ(t.trace_id(), kTraceId);
  EXPECT_EQ(t.caller_span_id(), kParentId);
  EXPECT_NE(t.span_id(), kParentId);
  EXPECT_NE(t.span_id(), "0000000000000000");
  EXPECT_TRUE(t.sampled());
  EXPECT_THAT(std::string(t.traceparent()), MatchesRegex(kHexPattern));
  EXPECT_EQ(t.traceparent(), absl::StrCat("00-", kTraceId, "-", t.span_id(), "-01"));
  EXPECT_EQ(t.tracestate(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

TEST(TraceContextTest, TheChildSpanIdIsDrawnAgainIfItEqualsTheParents) {
  // First draw: the caller's parent id; then zero (invalid); then 0x2a.
  SequenceGen gen({0xb702a90baa67f000u, 0, 0x2a});
  TraceContext t = TraceContext::ForCall(kValid, "", gen);
  EXPECT_EQ(t.span_id(), "2a00000000000000");  // Bytes from the low end.
  EXPECT_EQ(gen.calls(), 3u);
}

TEST(TraceContextTest, FlagsKeepTheKnownBitsOnly) {
  absl::BitGen gen;
  EXPECT_EQ(TraceContext::ForCall("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "", gen)
                .flags(),
            0x00);
  EXPECT_EQ(TraceContext::ForCall("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03", "", gen)
                .flags(),
            0x03);
  TraceContext reserved =
      TraceContext::ForCall("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", "", gen);
  EXPECT_EQ(reserved.flags(), 0x03);
  EXPECT_TRUE(absl::EndsWith(reserved.traceparent(), "-03"));
}

TEST(TraceContextTest, AFutureVersionIsContinuedAsVersion00) {
  absl::BitGen gen;
  TraceContext t = TraceContext::ForCall(
      "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "congo=1", gen);
  EXPECT_TRUE(t.continued());
  EXPECT_EQ(t.trace_id(), kTraceId);
  EXPECT_TRUE(absl::StartsWith(t.traceparent(), "00-"));
  EXPECT_EQ(t.traceparent().size(), 55u);
  EXPECT_EQ(t.tracestate(), "congo=1");
}

TEST(TraceContextTest, MissingOrInvalidTraceparentStartsANewSampledTrace) {
  for (const char* bad : {"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage"}) {
    SequenceGen gen({0x0123456789abcdefu, 0xfedcba9876543210u, 0x1122334455667788u});
    TraceContext t = TraceContext::ForCall(bad, "congo=t61rcWkgMzE", gen);
    EXPECT_FALSE(t.continued()) << bad;
    EXPECT_TRUE(t.caller_span_id().empty());
    EXPECT_EQ(t.trace_id(), "efcdab89674523011032547698badcfe") << bad;
    EXPECT_EQ(t.span_id(), "8877665544332211") << bad;
    EXPECT_EQ(t.flags(), kTraceFlagSampled);
    EXPECT_EQ(t.traceparent(),
              "00-efcdab89674523011032547698badcfe-8877665544332211-01");
    // tracestate is dropped with an invalid traceparent.
    EXPECT_EQ(t.tracestate(), "") << bad;
  }
}

TEST(TraceContextTest, NewIdsAreNeverAllZero) {
  SequenceGen gen({0, 0, 0, 7, 0, 9});
  TraceContext t = TraceContext::ForCall("", "", gen);
  EXPECT_NE(t.trace_id(), std::string(32, '0'));
  EXPECT_NE(t.span_id(), std::string(16, '0'));
  EXPECT_TRUE(ParseTraceParent(t.traceparent()).has_value());
}

TEST(TraceContextTest, AnInvalidTracestateIsDroppedButTheTraceContinues) {
  absl::BitGen gen;
  TraceContext t = TraceContext::ForCall(kValid, "Bad Key=1", gen);
  EXPECT_TRUE(t.continued());
  EXPECT_EQ(t.tracestate(), "");
}

TEST(TraceContextTest, NewTracesDiffer) {
  absl::BitGen gen;
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(std::string(TraceContext::ForCall("", "", gen).trace_id()));
  EXPECT_EQ(ids.size(), 100u);
}

TEST(TraceContextTest, ADefaultContextIsEmpty) {
  TraceContext t;
  EXPECT_EQ(t.traceparent(), "");
  EXPECT_EQ(t.tracestate(), "");
  EXPECT_EQ(t.trace_id(), "");
  EXPECT_EQ(t.span_id(), "");
  EXPECT_FALSE(t.continued());
  EXPECT_EQ(t.flags(), 0);
}

TEST(TraceContextTest, OutgoingTraceparentRoundTrips) {
  absl::BitGen gen;
  TraceContext first = TraceContext::ForCall("", "", gen);
  // What the upstream receives is a valid traceparent that continues the
  // same trace.
  TraceContext next = TraceContext::ForCall(first.traceparent(), "", gen);
  EXPECT_TRUE(next.continued());
  EXPECT_EQ(next.trace_id(), first.trace_id());
  EXPECT_EQ(next.caller_span_id(), first.span_id());
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
