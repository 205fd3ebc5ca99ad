#include "convert/internal/number_format.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

namespace session_gateway {
namespace convert {
namespace internal {
namespace {

constexpr int64_t kExponentClamp = 1000000;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A literal's value as significant digits times a power of ten, with
// leading and trailing zeros removed from the digits: value = digits * 10^e.
struct Decimal {
  std::string digits;  // Empty for zero.
  int64_t exponent = 0;
};

Decimal ToDecimal(const NumberLiteral& literal) {
  Decimal d;
  d.digits.reserve(literal.int_digits.size() + literal.frac_digits.size());
  d.digits.append(literal.int_digits.data(), literal.int_digits.size());
  d.digits.append(literal.frac_digits.data(), literal.frac_digits.size());
  d.exponent = literal.exponent - static_cast<int64_t>(literal.frac_digits.size());
  size_t first = d.digits.find_first_not_of('0');
  if (first == std::string::npos) return Decimal{};
  d.digits.erase(0, first);
  size_t last = d.digits.find_last_not_of('0');
  d.exponent += static_cast<int64_t>(d.digits.size() - last - 1);
  d.digits.resize(last + 1);
  return d;
}

// Reads the magnitude exactly into a uint64, or fails for fractions and
// values above `max`.
NumberReadResult ReadMagnitude(const NumberLiteral& literal, uint64_t max,
                               uint64_t* magnitude) {
  Decimal d = ToDecimal(literal);
  if (d.digits.empty()) {
    *magnitude = 0;
    return NumberReadResult::kOk;
  }
  if (d.exponent < 0) return NumberReadResult::kFraction;
  // 20 digits already exceed uint64 (1.8e19), so bail out before the loop.
  if (static_cast<int64_t>(d.digits.size()) + d.exponent > 20) {
    return NumberReadResult::kOutOfRange;
  }
  uint64_t value = 0;
  auto push_digit = [&](unsigned digit) {
    if (digit > max || value > (max - digit) / 10) return false;
    value = value * 10 + digit;
    return true;
  };
  for (char c : d.digits) {
    if (!push_digit(static_cast<unsigned>(c - '0'))) return NumberReadResult::kOutOfRange;
  }
  for (int64_t i = 0; i < d.exponent; ++i) {
    if (!push_digit(0)) return NumberReadResult::kOutOfRange;
  }
  *magnitude = value;
  return NumberReadResult::kOk;
}

}  // namespace

size_t ScanNumberLiteral(absl::string_view input, NumberLiteral* literal) {
  *literal = NumberLiteral{};
  size_t i = 0;
  const size_t n = input.size();
  if (i < n && input[i] == '-') {
    literal->negative = true;
    ++i;
  }
  size_t int_start = i;
  if (i < n && input[i] == '0') {
    ++i;
  } else if (i < n && input[i] >= '1' && input[i] <= '9') {
    while (i < n && IsDigit(input[i])) ++i;
  } else {
    return 0;
  }
  literal->int_digits = input.substr(int_start, i - int_start);
  if (i < n && input[i] == '.') {
    size_t frac_start = ++i;
    while (i < n && IsDigit(input[i])) ++i;
    if (i == frac_start) return 0;
    literal->frac_digits = input.substr(frac_start, i - frac_start);
  }
  if (i < n && (input[i] == 'e' || input[i] == 'E')) {
    ++i;
    bool negative_exponent = false;
    if (i < n && (input[i] == '+' || input[i] == '-')) {
      negative_exponent = input[i] == '-';
      ++i;
    }
    size_t exp_start = i;
    int64_t exponent = 0;
    while (i < n && IsDigit(input[i])) {
      if (exponent < kExponentClamp) exponent = exponent * 10 + (input[i] - '0');
      ++i;
    }
    if (i == exp_start) return 0;
    if (exponent > kExponentClamp) exponent = kExponentClamp;
    literal->has_exponent = true;
    literal->exponent = negative_exponent ? -exponent : exponent;
  }
  literal->text = input.substr(0, i);
  return i;
}

NumberReadResult ReadExactInteger(const NumberLiteral& literal, int64_t min,
                                  int64_t max, int64_t* value) {
  // Magnitudes are read as unsigned so that INT64_MIN, whose magnitude has
  // no int64 form, stays exact.
  uint64_t limit = literal.negative
                       ? (min >= 0 ? 0 : static_cast<uint64_t>(-(min + 1)) + 1)
                       : (max < 0 ? 0 : static_cast<uint64_t>(max));
  uint64_t magnitude = 0;
  NumberReadResult result = ReadMagnitude(literal, limit, &magnitude);
  if (result != NumberReadResult::kOk) return result;
  if (literal.negative) {
    *value = magnitude == 0 ? 0 : -static_cast<int64_t>(magnitude - 1) - 1;
  } else {
    *value = static_cast<int64_t>(magnitude);
  }
  if (*value < min || *value > max) return NumberReadResult::kOutOfRange;
  return NumberReadResult::kOk;
}

NumberReadResult ReadExactUnsigned(const NumberLiteral& literal, uint64_t max,
                                   uint64_t* value) {
  uint64_t magnitude = 0;
  NumberReadResult result = ReadMagnitude(literal, max, &magnitude);
  if (result != NumberReadResult::kOk) return result;
  if (literal.negative && magnitude != 0) return NumberReadResult::kOutOfRange;
  *value = magnitude;
  return NumberReadResult::kOk;
}

NumberReadResult ReadDouble(const NumberLiteral& literal, double* value) {
  // Short integers (most numbers in payloads) are exact in a double: no
  // need for the general decimal-to-binary conversion.
  if (literal.IsIntegerLiteral() && literal.int_digits.size() <= 15) {
    int64_t magnitude = 0;
    for (char c : literal.int_digits) magnitude = magnitude * 10 + (c - '0');
    *value = literal.negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
    return NumberReadResult::kOk;
  }
  const char* begin = literal.text.data();
  const char* end = begin + literal.text.size();
  std::from_chars_result r = std::from_chars(begin, end, *value);
  if (r.ec == std::errc()) return NumberReadResult::kOk;
  if (r.ec != std::errc::result_out_of_range) return NumberReadResult::kOutOfRange;
  // from_chars reports underflow and overflow alike; only overflow is an
  // error, since JSON.parse also reads 1e-400 as 0.
  Decimal d = ToDecimal(literal);
  if (!d.digits.empty() &&
      static_cast<int64_t>(d.digits.size()) + d.exponent > 0) {
    return NumberReadResult::kOutOfRange;
  }
  *value = literal.negative ? -0.0 : 0.0;
  return NumberReadResult::kOk;
}

bool IsIntegerBeyondDoublePrecision(const NumberLiteral& literal) {
  if (!literal.IsIntegerLiteral()) return false;
  static constexpr absl::string_view kTwoToThe53 = "9007199254740992";
  absl::string_view digits = literal.int_digits;  // No leading zeros in JSON.
  if (digits.size() != kTwoToThe53.size()) return digits.size() > kTwoToThe53.size();
  return digits > kTwoToThe53;
}

void AppendShortestDouble(double value, std::string* out) {
  if (value == 0) {
    out->append(std::signbit(value) ? "-0" : "0");
    return;
  }
  // Integers below 2^53 (most numbers in payment payloads) are exact in a
  // double and print as plain integers: skip the shortest-digits search.
  if (std::abs(value) < 9007199254740992.0 && value == std::trunc(value)) {
    char digits[24];
    std::to_chars_result r = std::to_chars(digits, digits + sizeof(digits), static_cast<int64_t>(value));
    out->append(digits, r.ptr);
    return;
  }
  // Scientific to_chars gives the shortest round-tripping digits:
  // "-d.ddde+XX". Reformat them by ECMAScript's rules.
  char buffer[64];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value,
                                         std::chars_format::scientific);
  const char* p = buffer;
  if (*p == '-') {
    out->push_back('-');
    ++p;
  }
  char digits[32];
  int k = 0;
  for (; p < r.ptr && *p != 'e'; ++p) {
    if (*p != '.') digits[k++] = *p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), r.ptr, exponent);
  const int n = exponent + 1;  // Position of the decimal point.
  if (k <= n && n <= 21) {
    out->append(digits, k);
    out->append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, n);
    out->push_back('.');
    out->append(digits + n, k - n);
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-n), '0');
    out->append(digits, k);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits + 1, k - 1);
    }
    out->push_back('e');
    out->push_back(n - 1 >= 0 ? '+' : '-');
    int e = n - 1 >= 0 ? n - 1 : -(n - 1);
    char exp_buf[8];
    std::to_chars_result er = std::to_chars(exp_buf, exp_buf + sizeof(exp_buf), e);
    out->append(exp_buf, er.ptr);
  }
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
