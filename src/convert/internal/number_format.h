// Exact conversions between JSON number literals and C++ numbers.
//
// JSON numbers are decimal text of unbounded precision; the REST form needs
// three readings of them: as a double (what JSON.parse does), as an exact
// integer (status codes, which must not silently lose digits), and as a
// check of whether an integer literal is beyond 2^53 (where a double stops
// holding every integer). Printing uses ECMAScript's Number#toString rules,
// so a number reads back exactly and looks the way a JavaScript client
// would print it.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_NUMBER_FORMAT_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_NUMBER_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace session_gateway {
namespace convert {
namespace internal {

// The parts of a syntactically valid JSON number literal
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
struct NumberLiteral {
  absl::string_view text;        // The whole literal.
  bool negative = false;
  absl::string_view int_digits;  // Digits before the point.
  absl::string_view frac_digits; // Digits after the point, possibly empty.
  bool has_exponent = false;
  // The exponent's value, clamped to +-1,000,000 (far beyond any double), so
  // that an absurd exponent cannot overflow the arithmetic below.
  int64_t exponent = 0;

  // True if the literal is written as a plain integer: no point, no
  // exponent.
  bool IsIntegerLiteral() const { return frac_digits.empty() && !has_exponent; }
};

// Scans a JSON number at the start of `input`. Returns the number of bytes
// it spans and fills `*literal`, or returns 0 if `input` does not start with
// a valid JSON number.
size_t ScanNumberLiteral(absl::string_view input, NumberLiteral* literal);

enum class NumberReadResult { kOk, kFraction, kOutOfRange };

// Reads `literal` as an exact integer in [min, max]. Any integral value is
// accepted however it is written (201, 201.0, 2.01e2). kFraction if the
// value is not an integer, kOutOfRange if it is outside [min, max].
NumberReadResult ReadExactInteger(const NumberLiteral& literal, int64_t min,
                                  int64_t max, int64_t* value);

// The same for unsigned values in [0, max].
NumberReadResult ReadExactUnsigned(const NumberLiteral& literal, uint64_t max,
                                   uint64_t* value);

// Reads `literal` as the nearest double, as JSON.parse does. kOutOfRange if
// the magnitude is too large for a double; underflow rounds to zero.
NumberReadResult ReadDouble(const NumberLiteral& literal, double* value);

// True if `literal` is an integer literal whose magnitude exceeds 2^53, so
// that reading it as a double may change its value.
bool IsIntegerBeyondDoublePrecision(const NumberLiteral& literal);

// Appends the shortest decimal form of `value` that reads back as the same
// double, formatted like ECMAScript's Number#toString ("201", "0.1",
// "1e+21", "1e-7"), except that negative zero prints as "-0" so that it
// survives a round trip. `value` must be finite.
void AppendShortestDouble(double value, std::string* out);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_NUMBER_FORMAT_H_
