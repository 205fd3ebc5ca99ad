// The one check every value bound for an HTTP header line goes through.
//
// A CR or LF inside a header value would end the line and let the value
// smuggle its own headers (or a whole request) upstream; a NUL cuts the
// value short in C APIs such as libcurl's. So any value that did not come
// from our own code is refused when it holds one of them.
//
// Usage:
//
//   if (ContainsCrLfNul(value)) return absl::InvalidArgumentError("...");
#ifndef SESSION_GATEWAY_COMMON_HEADER_VALUE_H_
#define SESSION_GATEWAY_COMMON_HEADER_VALUE_H_

#include "absl/strings/string_view.h"

namespace session_gateway {

// Whether `value` holds a CR, LF or NUL byte anywhere.
inline bool ContainsCrLfNul(absl::string_view value) {
  return value.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos;
}

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_HEADER_VALUE_H_
