#include "convert/internal/json_reader.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json_text.h"

namespace session_gateway {
namespace convert {
namespace internal {
namespace {

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Bytes that a string copies as they are, with no escape, control or
// UTF-8 handling: printable ASCII but '"' and '\\'.
constexpr auto kPlainStringByte = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[static_cast<size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

// Quotes a literal for an error message, shortening hostile ones (a number
// may have a million digits).
std::string Excerpt(absl::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(text.substr(0, kMax), "...");
}

}  // namespace

absl::string_view DescribeValueStart(char first_byte) {
  switch (first_byte) {
    case '{': return "an object";
    case '[': return "an array";
    case '"': return "a string";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    case '\0': return "the end of input";
    default:
      if (first_byte == '-' || (first_byte >= '0' && first_byte <= '9')) return "a number";
      return "invalid JSON";
  }
}

char JsonReader::Peek() {
  while (pos_ < input_.size() && IsWhitespace(input_[pos_])) ++pos_;
  return pos_ < input_.size() ? input_[pos_] : '\0';
}

bool JsonReader::Fail(const JsonPath* path, absl::string_view reason) {
  if (status_.ok()) {
    status_ = absl::InvalidArgumentError(absl::StrCat(FormatJsonPath(path), ": ", reason));
  }
  return false;
}

bool JsonReader::FailExpected(const JsonPath* path, absl::string_view expected) {
  return Fail(path, absl::StrCat("expected ", expected, ", got ", DescribeValueStart(Peek())));
}

bool JsonReader::FailSyntax(const JsonPath* path, absl::string_view what) {
  if (pos_ >= input_.size()) {
    return Fail(path, absl::StrCat("invalid JSON: unexpected end of input, expected ", what));
  }
  unsigned char c = static_cast<unsigned char>(input_[pos_]);
  std::string shown = (c >= 0x20 && c < 0x7F) ? absl::StrFormat("'%c'", c)
                                              : absl::StrFormat("byte 0x%02x", c);
  return Fail(path, absl::StrCat("invalid JSON: expected ", what, " at byte ", pos_,
                                 ", found ", shown));
}

bool JsonReader::CheckDepth(const JsonPath* path, int depth) {
  if (depth > options_.max_depth) {
    return Fail(path, absl::StrCat("nesting is deeper than the limit of ", options_.max_depth,
                                   " levels"));
  }
  return true;
}

bool JsonReader::ReadHex4(size_t at, unsigned* value) const {
  if (at + 4 > input_.size()) return false;
  unsigned v = 0;
  for (size_t i = at; i < at + 4; ++i) {
    char c = input_[i];
    unsigned digit;
    if (c >= '0' && c <= '9') {
      digit = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      digit = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return false;
    }
    v = v * 16 + digit;
  }
  *value = v;
  return true;
}

// `*i` is at a backslash; decodes one escape (a surrogate pair counts as
// one) into `out` and advances `*i` past it.
bool JsonReader::ReadEscape(const JsonPath* path, size_t* i, std::string* out) {
  size_t at = *i;
  if (at + 1 >= input_.size()) {
    pos_ = input_.size();
    return FailSyntax(path, "an escape sequence");
  }
  char c = input_[at + 1];
  char simple = 0;
  switch (c) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default:
      pos_ = at + 1;
      return FailSyntax(path, "a valid escape character after '\\'");
  }
  if (simple != 0) {
    out->push_back(simple);
    *i = at + 2;
    return true;
  }
  unsigned unit;
  if (!ReadHex4(at + 2, &unit)) {
    pos_ = at + 2;
    return FailSyntax(path, "four hex digits after \\u");
  }
  size_t next = at + 6;
  unsigned code_point = unit;
  if (unit >= 0xDC00 && unit <= 0xDFFF) {
    return Fail(path, absl::StrFormat("invalid string: lone low surrogate \\u%04x at byte %d",
                                      unit, at));
  }
  if (unit >= 0xD800 && unit <= 0xDBFF) {
    unsigned low;
    if (next + 1 >= input_.size() || input_[next] != '\\' || input_[next + 1] != 'u' ||
        !ReadHex4(next + 2, &low) || low < 0xDC00 || low > 0xDFFF) {
      return Fail(path, absl::StrFormat(
                            "invalid string: high surrogate \\u%04x at byte %d is not followed "
                            "by a low surrogate escape",
                            unit, at));
    }
    code_point = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
    next += 6;
  }
  char buffer[4];
  out->append(buffer, EncodeUtf8(code_point, buffer));
  *i = next;
  return true;
}

bool JsonReader::ReadString(const JsonPath* path, std::string* out) {
  if (Peek() != '"') return FailExpected(path, "a string");
  out->clear();
  const auto* s = reinterpret_cast<const unsigned char*>(input_.data());
  const size_t n = input_.size();
  size_t i = pos_ + 1;
  size_t run_start = i;
  while (true) {
    // The common case: a run of plain ASCII to copy in one go.
    while (i < n && kPlainStringByte[s[i]]) ++i;
    if (i >= n) {
      pos_ = n;
      return FailSyntax(path, "the closing quote of a string");
    }
    unsigned char c = s[i];
    if (c == '"') {
      out->append(input_.data() + run_start, i - run_start);
      pos_ = i + 1;
      return true;
    }
    if (c >= 0x80) {
      size_t len = Utf8SequenceLength(s + i, n - i);
      if (len == 0) {
        return Fail(path, absl::StrCat("invalid string: invalid UTF-8 at byte ", i));
      }
      i += len;
      continue;
    }
    if (c < 0x20) {
      return Fail(path, absl::StrFormat(
                            "invalid string: unescaped control character 0x%02x at byte %d", c, i));
    }
    out->append(input_.data() + run_start, i - run_start);
    if (!ReadEscape(path, &i, out)) return false;
    run_start = i;
  }
}

bool JsonReader::ReadNumber(const JsonPath* path, NumberLiteral* literal) {
  char c = Peek();
  if (c != '-' && !(c >= '0' && c <= '9')) return FailExpected(path, "a number");
  size_t length = ScanNumberLiteral(input_.substr(pos_), literal);
  if (length == 0) {
    // Point at the byte where the literal goes wrong.
    size_t end = pos_ + 1;
    while (end < input_.size() && (input_[end] >= '0' && input_[end] <= '9')) ++end;
    pos_ = end;
    return FailSyntax(path, "a valid number");
  }
  pos_ += length;
  return true;
}

bool JsonReader::ReadBool(const JsonPath* path, bool* value) {
  char c = Peek();
  if (c == 't' && input_.substr(pos_, 4) == "true") {
    pos_ += 4;
    *value = true;
    return true;
  }
  if (c == 'f' && input_.substr(pos_, 5) == "false") {
    pos_ += 5;
    *value = false;
    return true;
  }
  if (c == 't' || c == 'f') return FailSyntax(path, "a value");
  return FailExpected(path, "a boolean");
}

bool JsonReader::ReadNull(const JsonPath* path) {
  if (Peek() == 'n' && input_.substr(pos_, 4) == "null") {
    pos_ += 4;
    return true;
  }
  return FailSyntax(path, "a value");
}

bool JsonReader::ReadValue(const JsonPath* path, int depth, google::protobuf::Value* out) {
  char c = Peek();
  switch (c) {
    case '{':
      return ReadStruct(path, depth, out ? out->mutable_struct_value() : nullptr);
    case '[':
      return ReadList(path, depth, out ? out->mutable_list_value() : nullptr);
    case '"':
      return ReadString(path, out ? out->mutable_string_value() : &scratch_);
    case 't':
    case 'f': {
      bool b;
      if (!ReadBool(path, &b)) return false;
      if (out) out->set_bool_value(b);
      return true;
    }
    case 'n':
      if (!ReadNull(path)) return false;
      if (out) out->set_null_value(google::protobuf::NULL_VALUE);
      return true;
    default:
      break;
  }
  if (c != '-' && !(c >= '0' && c <= '9')) return FailSyntax(path, "a value");
  NumberLiteral literal;
  if (!ReadNumber(path, &literal)) return false;
  if (options_.strict && IsIntegerBeyondDoublePrecision(literal)) {
    return Fail(path, absl::StrCat("integer ", Excerpt(literal.text),
                                   " is beyond 2^53 and would lose precision as a double "
                                   "(strict mode)"));
  }
  double d;
  if (ReadDouble(literal, &d) != NumberReadResult::kOk) {
    return Fail(path, absl::StrCat("number ", Excerpt(literal.text),
                                   " is outside the range of a double"));
  }
  if (out) out->set_number_value(d);
  return true;
}

bool JsonReader::BeginObject(const JsonPath* path, int depth) {
  if (Peek() != '{') return FailExpected(path, "an object");
  if (!CheckDepth(path, depth)) return false;
  ++pos_;
  return true;
}

bool JsonReader::NextMember(const JsonPath* path, bool* first, std::string* key) {
  char c = Peek();
  if (c == '}') {
    ++pos_;
    return false;
  }
  if (*first) {
    *first = false;
    if (c != '"') return FailSyntax(path, "a string key or '}'");
  } else {
    if (c != ',') return FailSyntax(path, "',' or '}'");
    ++pos_;
    if (Peek() != '"') return FailSyntax(path, "a string key after ','");
  }
  if (!ReadString(path, key)) return false;
  if (Peek() != ':') return FailSyntax(path, "':' after an object key");
  ++pos_;
  return true;
}

bool JsonReader::ReadStruct(const JsonPath* path, int depth, google::protobuf::Struct* out) {
  if (!BeginObject(path, depth)) return false;
  bool first = true;
  std::string key;
  while (NextMember(path, &first, &key)) {
    JsonPath member = JsonPath::Member(path, key);
    google::protobuf::Value* value = nullptr;
    if (out != nullptr) {
      auto [it, inserted] = out->mutable_fields()->try_emplace(key);
      value = &it->second;
      if (!inserted) {
        if (options_.strict) return Fail(&member, "duplicate key (strict mode)");
        value->Clear();  // The last duplicate wins.
      }
    }
    if (!ReadValue(&member, depth + 1, value)) return false;
  }
  return ok();
}

bool JsonReader::ReadList(const JsonPath* path, int depth, google::protobuf::ListValue* out) {
  if (Peek() != '[') return FailExpected(path, "an array");
  if (!CheckDepth(path, depth)) return false;
  ++pos_;
  if (Peek() == ']') {
    ++pos_;
    return true;
  }
  for (int64_t index = 0;; ++index) {
    JsonPath element = JsonPath::Element(path, index);
    if (!ReadValue(&element, depth + 1, out ? out->add_values() : nullptr)) return false;
    char c = Peek();
    if (c == ']') {
      ++pos_;
      return true;
    }
    if (c != ',') return FailSyntax(path, "',' or ']'");
    ++pos_;
  }
}

absl::Status CheckInputSize(absl::string_view json, const ParseOptions& options) {
  if (json.size() > options.max_input_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("$: input is ", json.size(),
                                                   " bytes, more than the limit of ",
                                                   options.max_input_bytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status ReadDocument(absl::string_view json, const ParseOptions& options,
                          google::protobuf::Value* out) {
  if (absl::Status s = CheckInputSize(json, options); !s.ok()) return s;
  JsonReader reader(json, options);
  if (reader.ReadValue(nullptr, 1, out) && !reader.AtEnd()) {
    reader.Fail(nullptr, absl::StrCat("invalid JSON: unexpected data after the value at byte ",
                                      reader.offset()));
  }
  return reader.status();
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
