// UTF-8 and JSON string text, shared by the REST JSON converter
// (src/convert) and the JWT signer, which must not depend on protobuf: a
// small library of its own (session_gateway_json_text) with no
// dependency beyond abseil's string_view.
//
// Usage:
//
//   std::string out;
//   if (!AppendJsonString(scope, &out)) return absl::InvalidArgumentError("not UTF-8");
//   // out == "\"transactions.write\""
#ifndef SESSION_GATEWAY_COMMON_JSON_TEXT_H_
#define SESSION_GATEWAY_COMMON_JSON_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace session_gateway {

// Length of the valid UTF-8 sequence starting at `s`, whose first byte is
// >= 0x80, given `available` bytes; 0 if it is invalid. Overlong forms,
// encoded surrogates and code points above U+10FFFF are all invalid, as
// RFC 3629 requires.
size_t Utf8SequenceLength(const unsigned char* s, size_t available);

// Whether all of `text` is valid UTF-8 (see Utf8SequenceLength).
bool IsValidUtf8(absl::string_view text);

// Writes the UTF-8 encoding of `code_point` (at most U+10FFFF, not a
// surrogate) to `out`, which has room for 4 bytes, and returns the number
// of bytes written (1 to 4).
size_t EncodeUtf8(unsigned code_point, char* out);

// Appends `text` as a quoted JSON string (RFC 8259). Escapes '"', '\\' and
// control characters; everything else, including non-ASCII, is copied raw.
// Returns false, having appended an unspecified prefix, if `text` is not
// valid UTF-8.
bool AppendJsonString(absl::string_view text, std::string* out);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_JSON_TEXT_H_
