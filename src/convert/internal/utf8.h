// UTF-8 validation shared by the JSON reader and writer.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_UTF8_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_UTF8_H_

#include <cstddef>

namespace session_gateway {
namespace convert {
namespace internal {

// Length of the valid UTF-8 sequence starting at `s`, whose first byte is
// >= 0x80, given `available` bytes; 0 if it is invalid. Overlong forms,
// encoded surrogates and code points above U+10FFFF are all invalid, as
// RFC 3629 requires.
size_t Utf8SequenceLength(const unsigned char* s, size_t available);

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF, not a
// surrogate) to `out` and returns the number of bytes written (1 to 4).
size_t EncodeUtf8(unsigned code_point, char* out);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_UTF8_H_
