// Streaming JSON output with the REST form's formatting rules: RFC 8259
// string escaping with raw UTF-8, ECMAScript-style numbers, optional
// two-space indentation.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_JSON_WRITER_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/json_text.h"
#include "convert/internal/json_path.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace convert {
namespace internal {

// Quoting and escaping is shared with the JWT signer (common/json_text.h).
using ::session_gateway::AppendJsonString;

// Writes one JSON document into a string, inserting separators and (when
// pretty) newlines and indentation. The caller is responsible for calling
// Key() before each object member and for balancing Begin/End calls.
class JsonWriter {
 public:
  JsonWriter(std::string* out, bool pretty) : out_(out), pretty_(pretty) {}

  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  // Returns false if `key` is not valid UTF-8.
  bool Key(absl::string_view key);
  // Returns false if `text` is not valid UTF-8.
  bool String(absl::string_view text);
  // `value` must be finite.
  void Double(double value);
  void Int64(int64_t value);
  void Uint64(uint64_t value);
  void Bool(bool value) { Raw(value ? "true" : "false"); }
  void Null() { Raw("null"); }
  // Writes `json`, one complete JSON value formatted elsewhere, unchanged
  // as the next value. The caller vouches that it is valid JSON.
  void Verbatim(absl::string_view json) { Raw(json); }

 private:
  void BeforeValue();
  void Raw(absl::string_view text) {
    BeforeValue();
    out_->append(text.data(), text.size());
  }
  void Open(char bracket);
  void Close(char bracket);
  void NewLine();

  std::string* out_;
  bool pretty_;
  // One entry per open container: whether it has members yet.
  std::vector<char> has_members_;  // Not vector<bool>: bit twiddling is slow.
  bool after_key_ = false;
};

// Writes `value` (a Struct field's contents) at `path`, whose nesting depth
// is `depth`. Fails, naming the path, on a NaN or infinite number, a Value
// with no kind, invalid UTF-8, or nesting deeper than `max_depth`.
absl::Status WriteValue(const google::protobuf::Value& value,
                        const JsonPath* path, int depth, int max_depth,
                        JsonWriter* writer);
absl::Status WriteStruct(const google::protobuf::Struct& value,
                         const JsonPath* path, int depth, int max_depth,
                         JsonWriter* writer);
absl::Status WriteList(const google::protobuf::ListValue& value,
                       const JsonPath* path, int depth, int max_depth,
                       JsonWriter* writer);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_JSON_WRITER_H_
