// How the converter's error messages quote input and name the JSON path,
// shared by the reader and the writer so every message has one shape:
// "<path>: <reason>".
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_ERROR_TEXT_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_ERROR_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "convert/internal/json_path.h"

namespace session_gateway {
namespace convert {
namespace internal {

// `text`, cut to 40 bytes with "..." after, so a huge input cannot make a
// huge error message.
inline std::string Excerpt(absl::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(text.substr(0, kMax), "...");
}

// kInvalidArgument "<path>: <reason>".
inline absl::Status PathError(const JsonPath* path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(FormatJsonPath(path), ": ", reason));
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_ERROR_TEXT_H_
