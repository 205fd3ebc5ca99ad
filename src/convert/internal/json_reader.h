// A validating recursive-descent JSON reader that builds
// google.protobuf.Value trees directly and lets the message binder
// (rest_json.cc) walk objects member by member.
//
// It enforces the REST form's input rules in one pass: strict RFC 8259
// syntax, UTF-8 validity, surrogate pairing, nesting depth, duplicate keys
// and integer precision (per ParseOptions), and it reports the first
// problem with the JSON path of the value it was reading. Recursion is
// bounded by ParseOptions::max_depth.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_JSON_READER_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_JSON_READER_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "convert/internal/json_path.h"
#include "convert/internal/number_format.h"
#include "convert/rest_json.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace convert {
namespace internal {

// The kind of JSON value that starts with a given byte, for messages such
// as "expected an integer, got a string".
absl::string_view DescribeValueStart(char first_byte);

class JsonReader {
 public:
  // `input` must outlive the reader.
  JsonReader(absl::string_view input, const ParseOptions& options)
      : input_(input), options_(options) {}

  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  const ParseOptions& options() const { return options_; }

  // Skips whitespace and returns the next byte without consuming it, or
  // '\0' at the end of input.
  char Peek();

  // Skips whitespace; true if nothing but whitespace is left.
  bool AtEnd() { return Peek() == '\0' && pos_ == input_.size(); }

  // Byte offset of the next unread byte.
  size_t offset() const { return pos_; }

  // Each reading function below returns false after recording an error
  // (see status()) and true on success.

  // Reads a string token into `*out`, unescaped and validated.
  bool ReadString(const JsonPath* path, std::string* out);
  // Reads a number token.
  bool ReadNumber(const JsonPath* path, NumberLiteral* literal);
  // Reads `true` or `false`.
  bool ReadBool(const JsonPath* path, bool* value);
  // Reads `null`.
  bool ReadNull(const JsonPath* path);

  // Reads any value into `*out`; with `out` null the value is validated and
  // discarded. `depth` is the nesting depth the value would have if it is
  // an object or array.
  bool ReadValue(const JsonPath* path, int depth, google::protobuf::Value* out);
  bool ReadStruct(const JsonPath* path, int depth, google::protobuf::Struct* out);
  bool ReadList(const JsonPath* path, int depth, google::protobuf::ListValue* out);

  // Walks an object one member at a time:
  //
  //   bool first = true;
  //   std::string key;
  //   if (!reader.BeginObject(path, depth)) return false;
  //   while (reader.NextMember(path, &first, &key)) { ...read the value... }
  //   if (!reader.ok()) return false;
  //
  // BeginObject checks the depth and consumes '{'. NextMember reads the
  // next key and its ':' and returns true, or consumes '}' (or fails) and
  // returns false.
  bool BeginObject(const JsonPath* path, int depth);
  bool NextMember(const JsonPath* path, bool* first, std::string* key);

  // Records "<path>: <reason>" as the error (the first one wins) and
  // returns false.
  bool Fail(const JsonPath* path, absl::string_view reason);
  // Records "<path>: expected <expected>, got <what the next value is>".
  bool FailExpected(const JsonPath* path, absl::string_view expected);

  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

 private:
  bool FailSyntax(const JsonPath* path, absl::string_view what);
  bool CheckDepth(const JsonPath* path, int depth);
  bool ReadEscape(const JsonPath* path, size_t* i, std::string* out);
  bool ReadHex4(size_t at, unsigned* value) const;

  absl::string_view input_;
  const ParseOptions& options_;
  size_t pos_ = 0;
  absl::Status status_;
  // Reused for string values that are validated and discarded.
  std::string scratch_;
};

// Reads a whole document consisting of one JSON value, checking the size
// limit first and that nothing but whitespace follows the value.
absl::Status ReadDocument(absl::string_view json, const ParseOptions& options,
                          google::protobuf::Value* out);

// Returns the "$: input is N bytes, more than the limit of M" error if
// `json` is too large for `options`, and OK otherwise.
absl::Status CheckInputSize(absl::string_view json, const ParseOptions& options);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_JSON_READER_H_
