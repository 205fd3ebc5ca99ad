#include "gateway/trace_context.h"

#include <cstddef>
#include <vector>

#include "absl/random/distributions.h"

namespace session_gateway {
namespace gateway {
namespace {

// Version 00: "vv-" + 32 + "-" + 16 + "-" + 2.
constexpr size_t kTraceParentLength = 55;
constexpr size_t kTraceIdOffset = 3;
constexpr size_t kParentIdOffset = 36;
constexpr size_t kFlagsOffset = 53;

// Flags the gateway passes on for version 00: those the spec defines
// (sampled in Level 1, random in Level 2); the rest "MUST" be sent as 0.
constexpr uint8_t kKnownFlags = kTraceFlagSampled | kTraceFlagRandom;

// A new trace is sampled: the gateway logs every call with its trace id.
constexpr uint8_t kNewTraceFlags = kTraceFlagSampled;

constexpr char kHex[] = "0123456789abcdef";

// Lowercase hex only: the spec forbids uppercase, and accepting it would
// let two spellings of one id through as different ids.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes 2 * out.size() lowercase hex digits at `text`; false if any is
// not one.
template <size_t N>
bool DecodeHex(absl::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexValue(text[2 * i]), lo = HexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

bool DecodeByte(absl::string_view text, uint8_t& out) {
  std::array<uint8_t, 1> b{};
  if (!DecodeHex(text, b)) return false;
  out = b[0];
  return true;
}

template <size_t N>
bool AllZero(const std::array<uint8_t, N>& bytes) {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

template <size_t N>
void AppendHex(const std::array<uint8_t, N>& bytes, std::string& out) {
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xF]);
  }
}

template <size_t N>
void FillRandom(absl::BitGenRef gen, std::array<uint8_t, N>& bytes) {
  do {
    for (size_t i = 0; i < N; i += 8) {
      uint64_t r = absl::Uniform<uint64_t>(gen);
      for (size_t j = i; j < i + 8 && j < N; ++j, r >>= 8) bytes[j] = static_cast<uint8_t>(r);
    }
  } while (AllZero(bytes));  // All-zero ids are invalid.
}

bool IsTraceStateKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/';
}

bool IsValidTraceStateKey(absl::string_view key) {
  if (key.empty() || key.size() > 256) return false;
  if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) return false;
  int ats = 0;
  for (char c : key) {
    if (c == '@') {
      ++ats;
    } else if (!IsTraceStateKeyChar(c)) {
      return false;
    }
  }
  // tenant@system: one '@', not last.
  return ats == 0 || (ats == 1 && key.back() != '@');
}

bool IsValidTraceStateValue(absl::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    if (c < 0x20 || c > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

absl::string_view StripOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<TraceParent> ParseTraceParent(absl::string_view value) {
  // Shorter than version 00's layout: nothing to parse, by any version.
  if (value.size() < kTraceParentLength) return std::nullopt;
  TraceParent parsed;
  if (!DecodeByte(value.substr(0, 2), parsed.version) || parsed.version == 0xff) {
    return std::nullopt;
  }
  // Version 00 has exactly this length; a later version may append fields
  // after a '-', which this version must not interpret.
  if (parsed.version == 0 ? value.size() != kTraceParentLength
                          : value.size() > kTraceParentLength && value[kTraceParentLength] != '-') {
    return std::nullopt;
  }
  if (value[2] != '-' || value[kParentIdOffset - 1] != '-' || value[kFlagsOffset - 1] != '-') {
    return std::nullopt;
  }
  if (!DecodeHex(value.substr(kTraceIdOffset, 32), parsed.trace_id) ||
      !DecodeHex(value.substr(kParentIdOffset, 16), parsed.parent_id) ||
      !DecodeByte(value.substr(kFlagsOffset, 2), parsed.flags)) {
    return std::nullopt;
  }
  if (AllZero(parsed.trace_id) || AllZero(parsed.parent_id)) return std::nullopt;
  if (parsed.version != 0) parsed.flags &= kTraceFlagSampled;
  return parsed;
}

bool IsValidTraceState(absl::string_view value) {
  if (value.size() > kMaxTraceStateLength) return false;
  std::vector<absl::string_view> keys;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == absl::string_view::npos) comma = value.size();
    const absl::string_view member = StripOws(value.substr(start, comma - start));
    start = comma + 1;
    if (member.empty()) continue;  // The spec allows empty list members.
    const size_t eq = member.find('=');
    if (eq == absl::string_view::npos) return false;
    const absl::string_view key = member.substr(0, eq);
    if (!IsValidTraceStateKey(key) || !IsValidTraceStateValue(member.substr(eq + 1))) return false;
    for (absl::string_view seen : keys) {
      if (seen == key) return false;
    }
    if (keys.size() == kMaxTraceStateMembers) return false;
    keys.push_back(key);
  }
  return true;
}

TraceContext TraceContext::ForCall(absl::string_view traceparent, absl::string_view tracestate,
                                   absl::BitGenRef gen) {
  TraceContext context;
  std::array<uint8_t, 16> trace_id{};
  std::array<uint8_t, 8> span_id{};
  std::optional<TraceParent> parent = ParseTraceParent(traceparent);
  if (parent.has_value()) {
    trace_id = parent->trace_id;
    context.flags_ = parent->flags & kKnownFlags;
    // The gateway's span is a new one, never the caller's.
    do {
      FillRandom(gen, span_id);
    } while (span_id == parent->parent_id);
    context.caller_span_id_.reserve(16);
    AppendHex(parent->parent_id, context.caller_span_id_);
    if (IsValidTraceState(tracestate)) context.tracestate_ = std::string(StripOws(tracestate));
  } else {
    FillRandom(gen, trace_id);
    FillRandom(gen, span_id);
    context.flags_ = kNewTraceFlags;
  }
  std::string& out = context.traceparent_;
  out.reserve(kTraceParentLength);
  out.append("00-");
  AppendHex(trace_id, out);
  out.push_back('-');
  AppendHex(span_id, out);
  out.push_back('-');
  out.push_back(kHex[context.flags_ >> 4]);
  out.push_back(kHex[context.flags_ & 0xF]);
  return context;
}

}  // namespace gateway
}  // namespace session_gateway
