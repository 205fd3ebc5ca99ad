// Property tests of the REST JSON converter over seeded random documents.
//
//   * proto -> REST -> proto gives an equal message, and printing that
//     message again gives the same bytes (REST -> proto -> REST is the
//     identity on printed documents).
//   * Randomly spelled REST text (whitespace, escapes, number spellings, key
//     order; in lenient mode also aliases, unknown keys and duplicate keys)
//     parses to the message it was generated from.
//
// Every generator is driven by std::mt19937 with fixed seeds, so a failure
// names its seed and reproduces exactly. Doubles are compared bit for bit:
// the printer must write the shortest form that reads back to the same
// double, and -0 must stay -0.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "convert/rest_json.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace convert {
namespace {

using ::google::protobuf::Message;
using ::google::protobuf::NULL_VALUE;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::gr4vy::sessions::v1::CreateSession;
using ::gr4vy::sessions::v1::CreateSessionStatus;
using ::gr4vy::sessions::v1::PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION;
using ::gr4vy::sessions::v1::PaymentServiceSession;
using ::gr4vy::sessions::v1::PaymentServiceSessionStatus;

constexpr char kType[] = "payment-service-session";
constexpr double kTwoTo53 = 9007199254740992.0;

// Nesting inside response_body reaches at most this many levels, so whole
// documents stay well within the default limit of 100.
constexpr int kMaxBodyDepth = 20;

// ---------------------------------------------------------------------------
// Randomness. Only the engine's raw output is used (never a distribution),
// so sequences are identical on every standard library.

class Random {
 public:
  explicit Random(uint32_t seed) : engine_(seed) {}

  uint32_t Next32() { return static_cast<uint32_t>(engine_()); }
  uint64_t Next64() { return (uint64_t{Next32()} << 32) | Next32(); }
  // Uniform in [0, n), n > 0.
  int Below(int n) {
    return static_cast<int>(Next32() % static_cast<uint32_t>(n));
  }
  // Uniform in [lo, hi].
  int Between(int lo, int hi) { return lo + Below(hi - lo + 1); }
  bool OneIn(int n) { return Below(n) == 0; }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next64() >> 11) * 0x1p-53; }

  template <typename T>
  void Shuffle(std::vector<T>* items) {
    for (size_t i = items->size(); i > 1; --i) {
      std::swap((*items)[i - 1], (*items)[Next32() % i]);
    }
  }

 private:
  std::mt19937 engine_;
};

// ---------------------------------------------------------------------------
// Random building blocks.

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string ToUtf8(const std::vector<uint32_t>& cps) {
  std::string out;
  for (uint32_t cp : cps) AppendUtf8(cp, &out);
  return out;
}

// A Unicode scalar value, biased towards the ones that need care: quotes,
// backslashes, control characters, DEL, multi-byte and astral characters.
uint32_t RandomCodePoint(Random& r) {
  static const uint32_t kSpecial[] = {
      0x00,   0x1F,   0x7F,   0x80,    0xE9,    0x7FF,   0x800,  0x2028,
      0x2029, 0x4E2D, 0xD7FF, 0xE000,  0xFEFF,  0xFFFD,  0xFFFF, 0x10000,
      0x1F600, 0x1F4A9, 0x10FFFF};
  switch (r.Below(12)) {
    case 0: case 1: case 2: case 3: case 4:
      return static_cast<uint32_t>(r.Between(0x20, 0x7E));
    case 5: {
      static const char kTricky[] = "\"\\/ ";
      return static_cast<unsigned char>(kTricky[r.Below(4)]);
    }
    case 6:
      return r.OneIn(8) ? 0x7F : static_cast<uint32_t>(r.Below(0x20));
    case 7:
      return static_cast<uint32_t>(r.Between(0x80, 0x7FF));
    case 8: {
      uint32_t cp;
      do {
        cp = static_cast<uint32_t>(r.Between(0x800, 0xFFFF));
      } while (cp >= 0xD800 && cp <= 0xDFFF);
      return cp;
    }
    case 9:
      return static_cast<uint32_t>(r.Between(0x10000, 0x10FFFF));
    default:
      return kSpecial[r.Below(static_cast<int>(sizeof(kSpecial) /
                                               sizeof(kSpecial[0])))];
  }
}

std::vector<uint32_t> RandomCodePoints(Random& r) {
  const int length = r.OneIn(20) ? r.Below(300) : r.Below(10);
  std::vector<uint32_t> cps;
  for (int i = 0; i < length; ++i) cps.push_back(RandomCodePoint(r));
  return cps;
}

double FromBits(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

// True if the printer writes `d` as an integer literal beyond 2^53, which
// strict mode rejects: |d| in (2^53, 1e21) prints without a decimal point
// or exponent.
bool PrintsAsBigInteger(double d) {
  const double a = std::fabs(d);
  return a > kTwoTo53 && a < 1e21;
}

// A finite double, biased towards the hard cases for shortest printing.
double RandomDouble(Random& r, bool strict_safe) {
  static const double kSpecial[] = {
      0.0,
      -0.0,
      5e-324,
      -5e-324,
      std::numeric_limits<double>::max(),
      std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::min(),
      2.2250738585072009e-308,  // Largest subnormal.
      1e21,
      1e-7,
      1e-6,
      0.1,
      1e20,
      1.2345678901234568e20,
      0.30000000000000004,
      kTwoTo53,
      -kTwoTo53,
      9007199254740991.0,
      1e16,
      123456789.0,
  };
  for (;;) {
    double d = 0;
    switch (r.Below(13)) {
      case 0:
        d = r.Between(-1000, 1000);
        break;
      case 1:  // Any integer of magnitude up to 2^53.
        d = static_cast<double>(
                static_cast<int64_t>(r.Next64() % (uint64_t{1} << 54)) -
                (int64_t{1} << 53));
        break;
      case 2:
      case 3:  // Any finite bit pattern.
        d = FromBits(r.Next64());
        break;
      case 4:  // Subnormal.
        d = FromBits((r.Next64() & ((uint64_t{1} << 52) - 1)) |
                     (r.OneIn(2) ? uint64_t{1} << 63 : 0));
        break;
      case 5:  // Huge.
        d = std::ldexp(1.0 + r.Unit(), r.Between(900, 1023));
        break;
      case 6:  // Tiny but normal.
        d = std::ldexp(1.0 + r.Unit(), r.Between(-1022, -900));
        break;
      case 7:
        d = kSpecial[r.Below(static_cast<int>(sizeof(kSpecial) /
                                              sizeof(kSpecial[0])))];
        break;
      case 8:  // Short decimals such as 123.45 or 0.007.
        d = r.Below(1000000) / std::pow(10.0, r.Below(12));
        break;
      case 9:
        d = -(r.Below(1000000) / std::pow(10.0, r.Below(12)));
        break;
      case 10:  // Around the integer/exponent switch at 1e21 and 1e-7.
        d = std::ldexp(1.0 + r.Unit(), r.Between(60, 75));
        break;
      case 11:
        d = std::ldexp(1.0 + r.Unit(), r.Between(-30, -15));
        break;
      default:  // Any magnitude.
        d = std::ldexp(r.Unit(), r.Between(-1074, 1023)) *
            (r.OneIn(2) ? -1 : 1);
        break;
    }
    if (!std::isfinite(d)) continue;
    if (strict_safe && PrintsAsBigInteger(d)) continue;
    return d;
  }
}

// A CreateSession status string this schema does not know: lenient mode
// keeps it in unrecognized_status. Never empty (an empty string field is
// "unset" in proto3) and never a known REST name.
std::vector<uint32_t> RandomUnknownStatus(Random& r) {
  static const char* const kNear[] = {"pending", "SUCCEEDED", "Succeeded", "succeeded ",
                                      "failed\n", "processing", "null"};
  if (r.OneIn(2)) {
    const char* near = kNear[r.Below(static_cast<int>(sizeof(kNear) / sizeof(kNear[0])))];
    return std::vector<uint32_t>(near, near + std::strlen(near));
  }
  std::vector<uint32_t> cps = RandomCodePoints(r);
  cps.push_back(RandomCodePoint(r));  // Never empty; never exactly "failed" etc. by luck alone.
  const std::string text = ToUtf8(cps);
  if (text == "succeeded" || text == "failed") cps.push_back('!');
  return cps;
}

// ---------------------------------------------------------------------------
// Bit-exact comparison of Values (MessageDifferencer treats 0 and -0 as
// equal).

bool SameValue(const Value& a, const Value& b, const std::string& path,
               std::string* why) {
  if (a.kind_case() != b.kind_case()) {
    *why = absl::StrCat(path, ": kind ", a.kind_case(), " vs ", b.kind_case());
    return false;
  }
  switch (a.kind_case()) {
    case Value::kNumberValue: {
      const double x = a.number_value();
      const double y = b.number_value();
      if (std::memcmp(&x, &y, sizeof(double)) != 0) {
        char buf[128];
        std::snprintf(buf, sizeof(buf), "%.17g vs %.17g", x, y);
        *why = absl::StrCat(path, ": ", buf);
        return false;
      }
      return true;
    }
    case Value::kStringValue:
      if (a.string_value() != b.string_value()) {
        *why = absl::StrCat(path, ": \"", absl::CEscape(a.string_value()),
                            "\" vs \"", absl::CEscape(b.string_value()), "\"");
        return false;
      }
      return true;
    case Value::kBoolValue:
      if (a.bool_value() != b.bool_value()) {
        *why = absl::StrCat(path, ": bool differs");
        return false;
      }
      return true;
    case Value::kListValue: {
      const auto& x = a.list_value().values();
      const auto& y = b.list_value().values();
      if (x.size() != y.size()) {
        *why = absl::StrCat(path, ": list sizes ", x.size(), " vs ", y.size());
        return false;
      }
      for (int i = 0; i < x.size(); ++i) {
        if (!SameValue(x.Get(i), y.Get(i), absl::StrCat(path, "[", i, "]"),
                       why)) {
          return false;
        }
      }
      return true;
    }
    case Value::kStructValue: {
      const auto& x = a.struct_value().fields();
      const auto& y = b.struct_value().fields();
      if (x.size() != y.size()) {
        *why =
            absl::StrCat(path, ": object sizes ", x.size(), " vs ", y.size());
        return false;
      }
      for (const auto& [key, value] : x) {
        auto it = y.find(key);
        const std::string child =
            absl::StrCat(path, "[\"", absl::CEscape(key), "\"]");
        if (it == y.end()) {
          *why = absl::StrCat(child, ": missing");
          return false;
        }
        if (!SameValue(value, it->second, child, why)) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

// Checks `actual` equals `expected` with MessageDifferencer and, for the
// response_body, bit for bit.
template <typename M>
::testing::AssertionResult SameMessage(const M& expected, const M& actual) {
  std::string diff;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  if (!differencer.Compare(expected, actual)) {
    return ::testing::AssertionFailure() << "messages differ:\n" << diff;
  }
  if (!MessageDifferencer::Equals(expected, actual)) {
    return ::testing::AssertionFailure() << "Equals() is false";
  }
  Value a;
  Value b;
  *a.mutable_struct_value() = expected.response_body();
  *b.mutable_struct_value() = actual.response_body();
  std::string why;
  if (!SameValue(a, b, "$.response_body", &why)) {
    return ::testing::AssertionFailure() << "response_body differs: " << why;
  }
  return ::testing::AssertionSuccess();
}

ParseOptions Options(bool strict) {
  ParseOptions options;
  options.strict = strict;
  return options;
}

// ---------------------------------------------------------------------------
// Random messages, for proto -> REST -> proto.

class MessageGenerator {
 public:
  MessageGenerator(Random& r, bool strict_safe)
      : r_(r), strict_safe_(strict_safe) {}

  void FillValue(int depth, int spine, Value* out) {
    --budget_;
    if (spine > 0) {
      // Force a container on the spine, one of whose children continues it.
      const int n = r_.Between(1, 3);
      const int next = r_.Below(n);
      if (r_.OneIn(2)) {
        auto* list = out->mutable_list_value();
        for (int i = 0; i < n; ++i) {
          FillValue(depth + 1, i == next ? spine - 1 : 0, list->add_values());
        }
      } else {
        Struct* object = out->mutable_struct_value();
        for (int i = 0; i < n; ++i) {
          std::string key = ToUtf8(RandomCodePoints(r_));
          if (i == next) {
            // Make sure the spine's key is not overwritten by a sibling.
            key = absl::StrCat("spine", depth);
          }
          FillValue(depth + 1, i == next ? spine - 1 : 0,
                    &(*object->mutable_fields())[key]);
        }
      }
      return;
    }
    const bool leaf_only = depth >= kMaxBodyDepth || budget_ <= 0;
    switch (r_.Below(leaf_only ? 6 : 10)) {
      case 0:
        out->set_null_value(NULL_VALUE);
        break;
      case 1:
        out->set_bool_value(r_.OneIn(2));
        break;
      case 2:
      case 3:
        out->set_number_value(RandomDouble(r_, strict_safe_));
        break;
      case 4:
      case 5:
        out->set_string_value(ToUtf8(RandomCodePoints(r_)));
        break;
      case 6:
      case 7: {
        auto* list = out->mutable_list_value();
        const int n = r_.Below(5);
        for (int i = 0; i < n; ++i) FillValue(depth + 1, 0, list->add_values());
        break;
      }
      default:
        FillStruct(depth + 1, 0, out->mutable_struct_value());
        break;
    }
  }

  void FillStruct(int depth, int spine, Struct* out) {
    const int n = spine > 0 ? r_.Between(1, 4) : r_.Below(5);
    const int next = r_.Below(n > 0 ? n : 1);
    for (int i = 0; i < n; ++i) {
      std::string key = ToUtf8(RandomCodePoints(r_));
      if (spine > 0 && i == next) key = "spine";
      FillValue(depth, (spine > 0 && i == next) ? spine - 1 : 0,
                &(*out->mutable_fields())[key]);
    }
  }

  void FillBody(Struct* body) {
    budget_ = 200;
    const int spine = r_.OneIn(3) ? r_.Between(1, kMaxBodyDepth - 1) : 0;
    FillStruct(1, spine, body);
  }

  int64_t StatusCode() {
    switch (r_.Below(6)) {
      case 0:
        return std::numeric_limits<int64_t>::max();
      case 1:
        return std::numeric_limits<int64_t>::min();
      case 2:
        return static_cast<int64_t>(r_.Next64());
      case 3:
        return r_.Between(-5, 5);
      default:
        return r_.Between(100, 599);
    }
  }

  template <typename M>
  void FillCommon(M* message) {
    if (!r_.OneIn(3)) message->set_code(ToUtf8(RandomCodePoints(r_)));
    if (!r_.OneIn(3)) message->set_status_code(StatusCode());
    if (!r_.OneIn(4)) FillBody(message->mutable_response_body());
  }

  void Fill(CreateSession* message) {
    if (r_.OneIn(2)) message->set_type(kType);
    const int status = r_.Below(4);
    if (status < 3) {
      message->set_status(static_cast<CreateSessionStatus>(status));
    } else {
      // A status this schema does not know, as lenient parsing keeps it.
      message->set_unrecognized_status(ToUtf8(RandomUnknownStatus(r_)));
    }
    FillCommon(message);
  }

  void Fill(PaymentServiceSession* message) {
    if (r_.OneIn(2)) {
      message->set_type(PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
    }
    message->set_status(static_cast<PaymentServiceSessionStatus>(r_.Below(3)));
    FillCommon(message);
  }

 private:
  Random& r_;
  bool strict_safe_;
  int budget_ = 200;
};

void SetTypeConstant(CreateSession* message) { message->set_type(kType); }
void SetTypeConstant(PaymentServiceSession* message) {
  message->set_type(PAYMENT_SERVICE_SESSION_TYPE_PAYMENT_SERVICE_SESSION);
}

bool StrictParsable(const CreateSession& message) {
  // status is required in strict mode, and strict mode rejects strings
  // that name no known value.
  return message.status() != 0;
}

// Where lenient parsing keeps an unknown status string: CreateSession has
// a place for it; PaymentServiceSession's status is closed.
void SetUnrecognizedStatus(CreateSession* message, std::string value) {
  message->set_unrecognized_status(std::move(value));
}
void SetUnrecognizedStatus(PaymentServiceSession*, std::string) {}
bool StrictParsable(const PaymentServiceSession&) { return true; }

template <typename M>
void CheckProtoRestProto(uint32_t seed, bool strict_safe) {
  SCOPED_TRACE(absl::StrCat("seed ", seed, strict_safe ? " (strict-safe)" : ""));
  Random r(seed);
  MessageGenerator generator(r, strict_safe);
  M original;
  generator.Fill(&original);

  // Parsing always sets the constant type.
  M expected = original;
  SetTypeConstant(&expected);

  absl::StatusOr<std::string> printed = MessageToRestJson(original);
  ASSERT_TRUE(printed.ok()) << printed.status();
  // Only REST wire keys are printed; in particular unrecognized_status is
  // written under "status", never under a key of its own.
  Value document;
  ASSERT_TRUE(JsonToValue(*printed, &document).ok());
  for (const auto& [key, unused] : document.struct_value().fields()) {
    EXPECT_THAT(key, ::testing::AnyOf("type", "status", "code", "status_code", "response_body"));
  }
  // Printing a message whose type is unset prints the constant.
  absl::StatusOr<std::string> printed_expected = MessageToRestJson(expected);
  ASSERT_TRUE(printed_expected.ok()) << printed_expected.status();
  EXPECT_EQ(*printed, *printed_expected);

  M parsed;
  absl::Status status = RestJsonToMessage(*printed, &parsed);
  ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(*printed);
  EXPECT_TRUE(SameMessage(expected, parsed)) << absl::CEscape(*printed);

  absl::StatusOr<std::string> reprinted = MessageToRestJson(parsed);
  ASSERT_TRUE(reprinted.ok()) << reprinted.status();
  EXPECT_EQ(*reprinted, *printed);

  if (strict_safe && StrictParsable(original)) {
    M strict_parsed;
    status = RestJsonToMessage(*printed, &strict_parsed, Options(true));
    ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(*printed);
    EXPECT_TRUE(SameMessage(expected, strict_parsed));
  }

  // Pretty output reads back to the same message too.
  PrintOptions pretty;
  pretty.pretty = true;
  absl::StatusOr<std::string> pretty_printed =
      MessageToRestJson(original, pretty);
  ASSERT_TRUE(pretty_printed.ok()) << pretty_printed.status();
  M pretty_parsed;
  status = RestJsonToMessage(*pretty_printed, &pretty_parsed);
  ASSERT_TRUE(status.ok()) << status << "\n" << *pretty_printed;
  EXPECT_TRUE(SameMessage(expected, pretty_parsed)) << *pretty_printed;
}

class SeededTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(SeededTest, CreateSessionProtoToRestToProto) {
  const uint32_t base = GetParam() * 1000;
  for (uint32_t seed = base; seed < base + 50; ++seed) {
    CheckProtoRestProto<CreateSession>(seed, seed % 2 == 0);
  }
}

TEST_P(SeededTest, PaymentServiceSessionProtoToRestToProto) {
  const uint32_t base = GetParam() * 1000 + 500;
  for (uint32_t seed = base; seed < base + 50; ++seed) {
    CheckProtoRestProto<PaymentServiceSession>(seed, seed % 2 == 0);
  }
}

// ---------------------------------------------------------------------------
// Random REST text, for REST -> proto -> REST.

class TextGenerator {
 public:
  // `lenient` adds what only lenient mode accepts: camelCase aliases,
  // unknown top-level keys, duplicate keys, unknown CreateSession.status
  // strings and integer literals beyond 2^53.
  TextGenerator(Random& r, bool lenient) : r_(r), lenient_(lenient) {}

  // Optional JSON whitespace.
  void Ws(std::string* out) {
    static const char* const kWhitespace[] = {" ", "\n  ", "\t", "\r\n", "  "};
    if (r_.OneIn(4)) *out += kWhitespace[r_.Below(5)];
  }

  void Hex4(uint32_t unit, std::string* out) {
    static const char kLower[] = "0123456789abcdef";
    static const char kUpper[] = "0123456789ABCDEF";
    *out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
      const int digit = static_cast<int>((unit >> shift) & 0xF);
      *out += r_.OneIn(2) ? kLower[digit] : kUpper[digit];
    }
  }

  // A JSON string literal for these code points, spelled randomly.
  void String(const std::vector<uint32_t>& cps, std::string* out) {
    *out += '"';
    for (uint32_t cp : cps) {
      const bool escape = r_.OneIn(4);
      switch (cp) {
        case '"':
          if (escape) Hex4(cp, out); else *out += "\\\"";
          continue;
        case '\\':
          if (escape) Hex4(cp, out); else *out += "\\\\";
          continue;
        case '/':
          if (escape) *out += "\\/"; else *out += '/';
          continue;
        case '\b': if (!escape) { *out += "\\b"; continue; } break;
        case '\f': if (!escape) { *out += "\\f"; continue; } break;
        case '\n': if (!escape) { *out += "\\n"; continue; } break;
        case '\r': if (!escape) { *out += "\\r"; continue; } break;
        case '\t': if (!escape) { *out += "\\t"; continue; } break;
        default: break;
      }
      if (cp < 0x20 || escape) {
        if (cp >= 0x10000) {
          const uint32_t v = cp - 0x10000;
          Hex4(0xD800 + (v >> 10), out);
          Hex4(0xDC00 + (v & 0x3FF), out);
        } else {
          Hex4(cp, out);
        }
      } else {
        AppendUtf8(cp, out);
      }
    }
    *out += '"';
  }

  std::string StringOf(absl::string_view ascii) {
    std::vector<uint32_t> cps(ascii.begin(), ascii.end());
    std::string out;
    String(cps, &out);
    return out;
  }

  // A JSON number literal that reads as `d`.
  void Number(double d, std::string* out) {
    char buf[64];
    const bool integral = std::floor(d) == d;
    if (integral && std::fabs(d) <= kTwoTo53) {
      std::snprintf(buf, sizeof(buf), "%.0f", d);  // "-0" for -0.0.
      static const char* const kSuffixes[] = {"", "", ".0", "e0", "E+0",
                                              ".000E0", "00e-2"};
      // "00e-2" would give "000e-2" for zero: leading zeros are invalid.
      absl::StrAppend(out, buf, kSuffixes[r_.Below(d == 0 ? 6 : 7)]);
      return;
    }
    if (lenient_ && integral && std::fabs(d) < 1e21 && r_.OneIn(2)) {
      // The exact integer: beyond 2^53, so lenient mode only.
      std::snprintf(buf, sizeof(buf), "%.0f", d);
      *out += buf;
      return;
    }
    // 17 significant digits always read back exactly; %e forces an
    // exponent so that strict mode never sees a big integer literal.
    std::snprintf(buf, sizeof(buf), r_.OneIn(2) ? "%.17e" : "%.17E", d);
    if (!integral && r_.OneIn(2)) {
      std::snprintf(buf, sizeof(buf), "%.17g", d);
    }
    *out += buf;
  }

  // A random JSON value written to `out`, and the Value it stands for.
  void AnyValue(int depth, google::protobuf::Value* expected, std::string* out) {
    --budget_;
    const bool leaf_only = depth >= kMaxBodyDepth || budget_ <= 0;
    switch (r_.Below(leaf_only ? 7 : 11)) {
      case 0:
        *out += "null";
        expected->set_null_value(NULL_VALUE);
        break;
      case 1:
        expected->set_bool_value(r_.OneIn(2));
        *out += expected->bool_value() ? "true" : "false";
        break;
      case 2:
      case 3: {
        const double d = RandomDouble(r_, /*strict_safe=*/false);
        expected->set_number_value(d);
        Number(d, out);
        break;
      }
      case 4:
        if (lenient_) {
          // An integer literal of 16 to 25 digits: beyond 2^53 it reads as
          // the nearest double, as JSON.parse does.
          std::string digits = std::to_string(r_.Between(1, 9));
          const int n = r_.Between(15, 24);
          for (int i = 0; i < n; ++i) digits += static_cast<char>('0' + r_.Below(10));
          if (r_.OneIn(2)) digits.insert(0, "-");
          expected->set_number_value(std::strtod(digits.c_str(), nullptr));
          *out += digits;
          break;
        }
        [[fallthrough]];
      case 5:
      case 6: {
        const std::vector<uint32_t> cps = RandomCodePoints(r_);
        expected->set_string_value(ToUtf8(cps));
        String(cps, out);
        break;
      }
      case 7:
      case 8: {
        *out += '[';
        Ws(out);
        auto* list = expected->mutable_list_value();
        const int n = r_.Below(5);
        for (int i = 0; i < n; ++i) {
          if (i > 0) {
            *out += ',';
            Ws(out);
          }
          AnyValue(depth + 1, list->add_values(), out);
          Ws(out);
        }
        *out += ']';
        break;
      }
      default:
        Object(depth + 1, expected->mutable_struct_value(), out);
        break;
    }
  }

  // A random JSON object with distinct keys (in lenient mode, sometimes a
  // key is written twice; the last value counts).
  void Object(int depth, Struct* expected, std::string* out) {
    *out += '{';
    Ws(out);
    std::set<std::string> keys;
    const int n = r_.Below(5);
    bool first = true;
    for (int i = 0; i < n; ++i) {
      std::vector<uint32_t> cps = RandomCodePoints(r_);
      const std::string key = ToUtf8(cps);
      if (!keys.insert(key).second) continue;
      std::string key_text;
      String(cps, &key_text);
      if (lenient_ && r_.OneIn(6)) {
        // A duplicate written first, with a throwaway value.
        google::protobuf::Value ignored;
        WriteMember(first, key_text, depth, &ignored, out);
        first = false;
        // Write the same key spelled differently, if escapes allow.
        key_text.clear();
        String(cps, &key_text);
      }
      WriteMember(first, key_text, depth, &(*expected->mutable_fields())[key],
                  out);
      first = false;
    }
    *out += '}';
  }

  void WriteMember(bool first, const std::string& key_text, int depth,
              google::protobuf::Value* expected, std::string* out) {
    if (!first) {
      *out += ',';
      Ws(out);
    }
    *out += key_text;
    Ws(out);
    *out += ':';
    Ws(out);
    AnyValue(depth, expected, out);
    Ws(out);
  }

  // The top-level document for a CreateSession or PaymentServiceSession.
  // `expected` receives the message the document stands for.
  template <typename M>
  std::string Document(M* expected, bool create_session) {
    SetTypeConstant(expected);
    struct TopMember {
      std::string key;   // As written (maybe an alias).
      std::string text;  // "key":value.
    };
    std::vector<TopMember> members;
    auto add = [&](const std::string& key, const std::string& value_text) {
      std::string text = StringOf(key);
      Ws(&text);
      text += ':';
      Ws(&text);
      text += value_text;
      members.push_back({key, text});
    };

    switch (r_.Below(3)) {
      case 0:
        add("type", StringOf(kType));
        break;
      case 1:
        add("type", "null");
        break;
      default:
        break;
    }

    static const char* const kStatuses[] = {"succeeded", "failed"};
    const int status_choice =
        create_session && !lenient_ ? r_.Between(2, 3) : r_.Below(lenient_ ? 5 : 4);
    switch (status_choice) {
      case 0:
        break;
      case 1:
        add("status", "null");
        break;
      case 2:
      case 3:
        add("status", StringOf(kStatuses[status_choice - 2]));
        expected->set_status(static_cast<decltype(expected->status())>(
            status_choice - 1));
        break;
      default:
        // An unknown status: kept beside the unspecified enum for
        // CreateSession (open enum), an error for PaymentServiceSession
        // (closed), so use null there.
        if (create_session) {
          const std::vector<uint32_t> cps = RandomUnknownStatus(r_);
          std::string text;
          String(cps, &text);
          add("status", text);
          SetUnrecognizedStatus(expected, ToUtf8(cps));
        } else {
          add("status", "null");
        }
        break;
    }

    switch (r_.Below(3)) {
      case 0:
        break;
      case 1:
        add("code", "null");
        break;
      default: {
        const std::vector<uint32_t> cps = RandomCodePoints(r_);
        expected->set_code(ToUtf8(cps));
        std::string text;
        String(cps, &text);
        add("code", text);
      }
    }

    const std::string status_code_key =
        lenient_ && r_.OneIn(2) ? "statusCode" : "status_code";
    switch (r_.Below(3)) {
      case 0:
        break;
      case 1:
        add(status_code_key, "null");
        break;
      default: {
        int64_t code = 0;
        switch (r_.Below(4)) {
          case 0: code = static_cast<int64_t>(r_.Next64()); break;
          case 1: code = r_.OneIn(2) ? std::numeric_limits<int64_t>::max()
                                     : std::numeric_limits<int64_t>::min();
                  break;
          default: code = r_.Between(100, 599); break;
        }
        expected->set_status_code(code);
        std::string text = std::to_string(code);
        if (code >= -(int64_t{1} << 53) && code <= (int64_t{1} << 53)) {
          static const char* const kSuffixes[] = {"", ".0", "e0", ".000",
                                                  "00e-2"};
          text += kSuffixes[r_.Below(code == 0 ? 4 : 5)];
        }
        add(status_code_key, text);
      }
    }

    const std::string body_key =
        lenient_ && r_.OneIn(2) ? "responseBody" : "response_body";
    switch (r_.Below(4)) {
      case 0:
        break;
      case 1:
        add(body_key, "null");
        break;
      default: {
        budget_ = 200;
        std::string text;
        Object(2, expected->mutable_response_body(), &text);
        add(body_key, text);
      }
    }

    if (lenient_) {
      // Unknown keys, ignored.
      const int unknown = r_.Below(3);
      for (int i = 0; i < unknown; ++i) {
        google::protobuf::Value ignored;
        std::string text;
        budget_ = 20;
        AnyValue(2, &ignored, &text);
        add(absl::StrCat("unknown_", i), text);
      }
    }

    r_.Shuffle(&members);

    if (lenient_ && !members.empty() && r_.OneIn(3)) {
      // Write a known member twice: first with a throwaway null, which the
      // real value written later replaces.
      const size_t i = r_.Next32() % members.size();
      if (members[i].key.rfind("unknown_", 0) != 0) {
        std::string text = StringOf(members[i].key) + ":null";
        members.insert(members.begin() + static_cast<std::ptrdiff_t>(
                                             r_.Next32() % (i + 1)),
                       TopMember{members[i].key, text});
      }
    }

    std::string out;
    Ws(&out);
    out += '{';
    Ws(&out);
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) {
        out += ',';
        Ws(&out);
      }
      out += members[i].text;
      Ws(&out);
    }
    out += '}';
    Ws(&out);
    return out;
  }

 private:
  Random& r_;
  bool lenient_;
  int budget_ = 200;
};

template <typename M>
void CheckRestProtoRest(uint32_t seed, bool lenient) {
  SCOPED_TRACE(absl::StrCat("seed ", seed, lenient ? " (lenient)" : ""));
  Random r(seed);
  TextGenerator generator(r, lenient);
  M expected;
  const std::string text =
      generator.Document(&expected, std::is_same<M, CreateSession>::value);

  // The generated text reads as the message it was generated from, in
  // lenient mode and (unless it uses lenient-only features) in strict mode.
  M parsed;
  absl::Status status = RestJsonToMessage(text, &parsed);
  ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(text);
  EXPECT_TRUE(SameMessage(expected, parsed)) << absl::CEscape(text);
  if (!lenient) {
    M strict_parsed;
    status = RestJsonToMessage(text, &strict_parsed, Options(true));
    ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(text);
    EXPECT_TRUE(SameMessage(expected, strict_parsed)) << absl::CEscape(text);
  }

  // REST -> proto -> REST: printing is a fixed point.
  absl::StatusOr<std::string> printed = MessageToRestJson(parsed);
  ASSERT_TRUE(printed.ok()) << printed.status();
  absl::StatusOr<std::string> printed_expected = MessageToRestJson(expected);
  ASSERT_TRUE(printed_expected.ok()) << printed_expected.status();
  EXPECT_EQ(*printed, *printed_expected);

  M reparsed;
  status = RestJsonToMessage(*printed, &reparsed);
  ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(*printed);
  EXPECT_TRUE(SameMessage(parsed, reparsed)) << absl::CEscape(*printed);
  absl::StatusOr<std::string> reprinted = MessageToRestJson(reparsed);
  ASSERT_TRUE(reprinted.ok()) << reprinted.status();
  EXPECT_EQ(*reprinted, *printed);
}

TEST_P(SeededTest, CreateSessionRestToProtoToRest) {
  const uint32_t base = GetParam() * 1000 + 100;
  for (uint32_t seed = base; seed < base + 50; ++seed) {
    CheckRestProtoRest<CreateSession>(seed, /*lenient=*/seed % 2 == 1);
  }
}

TEST_P(SeededTest, PaymentServiceSessionRestToProtoToRest) {
  const uint32_t base = GetParam() * 1000 + 600;
  for (uint32_t seed = base; seed < base + 50; ++seed) {
    CheckRestProtoRest<PaymentServiceSession>(seed, /*lenient=*/seed % 2 == 1);
  }
}

// The brief's example, exactly: an unknown status comes back unchanged.
TEST(UnrecognizedStatusRoundTripTest, PendingComesBackUnchanged) {
  const std::string document = R"({"type":"payment-service-session","status":"pending"})";
  CreateSession parsed;
  ASSERT_TRUE(RestJsonToMessage(document, &parsed).ok());
  EXPECT_EQ(parsed.status(), 0);
  EXPECT_EQ(parsed.unrecognized_status(), "pending");
  absl::StatusOr<std::string> printed = MessageToRestJson(parsed);
  ASSERT_TRUE(printed.ok()) << printed.status();
  EXPECT_EQ(*printed, document);
}

// Six blocks of 50 seeds: 300 documents per property and message type.
INSTANTIATE_TEST_SUITE_P(Seeds, SeededTest, ::testing::Range(1u, 7u));

// ---------------------------------------------------------------------------
// Arbitrary JSON values through JsonToValue / ValueToJson.

TEST(ValueRoundTripTest, RandomValuesSurviveBitForBit) {
  for (uint32_t seed = 0; seed < 300; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    Random r(seed);
    MessageGenerator generator(r, /*strict_safe=*/false);
    Value original;
    generator.FillValue(0, r.OneIn(2) ? r.Between(1, kMaxBodyDepth) : 0,
                        &original);
    std::string json;
    ASSERT_TRUE(ValueToJson(original, &json).ok());
    Value parsed;
    absl::Status status = JsonToValue(json, &parsed);
    ASSERT_TRUE(status.ok()) << status << "\n" << absl::CEscape(json);
    std::string why;
    EXPECT_TRUE(SameValue(original, parsed, "$", &why))
        << why << "\n" << absl::CEscape(json);
    EXPECT_TRUE(MessageDifferencer::Equals(original, parsed));
    std::string again;
    ASSERT_TRUE(ValueToJson(parsed, &again).ok());
    EXPECT_EQ(again, json);
  }
}

TEST(ValueRoundTripTest, RandomDoublesPrintShortestAndReadBackExactly) {
  Random r(12345);
  for (int i = 0; i < 20000; ++i) {
    const double d = RandomDouble(r, /*strict_safe=*/false);
    Value value;
    value.set_number_value(d);
    std::string json;
    ASSERT_TRUE(ValueToJson(value, &json).ok());
    Value parsed;
    ASSERT_TRUE(JsonToValue(json, &parsed).ok()) << json;
    const double back = parsed.number_value();
    ASSERT_EQ(std::memcmp(&back, &d, sizeof(double)), 0)
        << json << " read back differently";
    // Shortest: no representation with fewer significant digits reads back
    // to the same double.
    char buf[64];
    // Leading zeros of "0.000123" and trailing zeros of "1200" are not
    // significant; count conservatively by stripping them.
    std::string mantissa;
    for (const char c : json) {
      if (c == 'e') break;
      if (c >= '0' && c <= '9') mantissa += c;
    }
    const size_t first = mantissa.find_first_not_of('0');
    if (first == std::string::npos) continue;  // Zero.
    const size_t last = mantissa.find_last_not_of('0');
    const int significant = static_cast<int>(last - first + 1);
    if (significant > 1) {
      std::snprintf(buf, sizeof(buf), "%.*e", significant - 2, d);
      ASSERT_NE(std::strtod(buf, nullptr), d)
          << json << " is not the shortest form: " << buf << " also reads back";
    }
  }
}

}  // namespace
}  // namespace convert
}  // namespace session_gateway
