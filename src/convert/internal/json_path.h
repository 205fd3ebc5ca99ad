// Where a value sits inside a JSON document, for error messages such as
// "$.response_body.items[3]: expected an object, got a string".
//
// Paths are chains of nodes that live on the stack of the recursive reader
// and writer, so tracking them costs nothing until an error is formatted.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_JSON_PATH_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_JSON_PATH_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace session_gateway {
namespace convert {
namespace internal {

// One step of a path: an object member or an array element. The root is a
// null pointer and prints as "$".
struct JsonPath {
  const JsonPath* parent;
  absl::string_view key;  // The member name; unused for elements.
  int64_t index;          // The element index, or -1 for a member.

  static JsonPath Member(const JsonPath* parent, absl::string_view key) {
    return JsonPath{parent, key, -1};
  }
  static JsonPath Element(const JsonPath* parent, int64_t index) {
    return JsonPath{parent, absl::string_view(), index};
  }
};

// Formats `path` as "$", "$.a.b[2]" or, for members that are not plain
// identifiers, "$[\"a b\"]" with the key JSON-escaped.
std::string FormatJsonPath(const JsonPath* path);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_JSON_PATH_H_
