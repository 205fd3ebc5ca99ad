#include "convert/internal/json_writer.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "convert/internal/number_format.h"

namespace session_gateway {
namespace convert {
namespace internal {
void JsonWriter::NewLine() {
  out_->push_back('\n');
  out_->append(2 * has_members_.size(), ' ');
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (has_members_.empty()) return;
  if (has_members_.back()) out_->push_back(',');
  has_members_.back() = true;
  if (pretty_) NewLine();
}

void JsonWriter::Open(char bracket) {
  BeforeValue();
  out_->push_back(bracket);
  has_members_.push_back(false);
}

void JsonWriter::Close(char bracket) {
  bool had_members = has_members_.back();
  has_members_.pop_back();
  if (pretty_ && had_members) NewLine();
  out_->push_back(bracket);
}

bool JsonWriter::Key(absl::string_view key) {
  BeforeValue();
  if (!AppendJsonString(key, out_)) return false;
  out_->append(pretty_ ? ": " : ":");
  after_key_ = true;
  return true;
}

bool JsonWriter::String(absl::string_view text) {
  BeforeValue();
  return AppendJsonString(text, out_);
}

void JsonWriter::Double(double value) {
  BeforeValue();
  AppendShortestDouble(value, out_);
}

void JsonWriter::Int64(int64_t value) {
  BeforeValue();
  char buffer[24];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out_->append(buffer, r.ptr);
}

void JsonWriter::Uint64(uint64_t value) {
  BeforeValue();
  char buffer[24];
  std::to_chars_result r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out_->append(buffer, r.ptr);
}

namespace {

absl::Status PathError(const JsonPath* path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(FormatJsonPath(path), ": ", reason));
}

absl::Status CheckDepth(const JsonPath* path, int depth, int max_depth) {
  if (depth > max_depth) {
    return PathError(path, absl::StrCat("nesting is deeper than the limit of ",
                                        max_depth, " levels"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteValue(const google::protobuf::Value& value, const JsonPath* path,
                        int depth, int max_depth, JsonWriter* writer) {
  switch (value.kind_case()) {
    case google::protobuf::Value::kNullValue:
      // An unknown enum number would print as null and read back as
      // NULL_VALUE: refuse rather than change the data silently.
      if (value.null_value() != google::protobuf::NULL_VALUE) {
        return PathError(path, absl::StrCat("null_value ", value.null_value(),
                                            " is not NULL_VALUE and has no JSON form"));
      }
      writer->Null();
      return absl::OkStatus();
    case google::protobuf::Value::kBoolValue:
      writer->Bool(value.bool_value());
      return absl::OkStatus();
    case google::protobuf::Value::kNumberValue:
      if (!std::isfinite(value.number_value())) {
        return PathError(path, "NaN and infinite numbers have no JSON form");
      }
      writer->Double(value.number_value());
      return absl::OkStatus();
    case google::protobuf::Value::kStringValue:
      if (!writer->String(value.string_value())) {
        return PathError(path, "string is not valid UTF-8");
      }
      return absl::OkStatus();
    case google::protobuf::Value::kStructValue:
      return WriteStruct(value.struct_value(), path, depth, max_depth, writer);
    case google::protobuf::Value::kListValue:
      return WriteList(value.list_value(), path, depth, max_depth, writer);
    case google::protobuf::Value::KIND_NOT_SET:
      break;
  }
  return PathError(path, "google.protobuf.Value has no kind set");
}

absl::Status WriteStruct(const google::protobuf::Struct& value, const JsonPath* path,
                         int depth, int max_depth, JsonWriter* writer) {
  if (absl::Status s = CheckDepth(path, depth, max_depth); !s.ok()) return s;
  // A Struct is a hash map: sort the keys so equal messages print equal
  // bytes.
  using Entry = google::protobuf::Map<std::string, google::protobuf::Value>::value_type;
  absl::InlinedVector<const Entry*, 16> entries;
  entries.reserve(value.fields().size());
  for (const Entry& entry : value.fields()) entries.push_back(&entry);
  if (entries.size() > 1) {
    std::sort(entries.begin(), entries.end(),
              [](const Entry* a, const Entry* b) { return a->first < b->first; });
  }
  writer->BeginObject();
  for (const Entry* entry : entries) {
    JsonPath member = JsonPath::Member(path, entry->first);
    if (!writer->Key(entry->first)) return PathError(&member, "key is not valid UTF-8");
    absl::Status s = WriteValue(entry->second, &member, depth + 1, max_depth, writer);
    if (!s.ok()) return s;
  }
  writer->EndObject();
  return absl::OkStatus();
}

absl::Status WriteList(const google::protobuf::ListValue& value, const JsonPath* path,
                       int depth, int max_depth, JsonWriter* writer) {
  if (absl::Status s = CheckDepth(path, depth, max_depth); !s.ok()) return s;
  writer->BeginArray();
  for (int i = 0; i < value.values_size(); ++i) {
    JsonPath element = JsonPath::Element(path, i);
    absl::Status s = WriteValue(value.values(i), &element, depth + 1, max_depth, writer);
    if (!s.ok()) return s;
  }
  writer->EndArray();
  return absl::OkStatus();
}

std::string FormatJsonPath(const JsonPath* path) {
  std::vector<const JsonPath*> steps;
  for (const JsonPath* p = path; p != nullptr; p = p->parent) steps.push_back(p);
  std::string out = "$";
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const JsonPath& step = **it;
    if (step.index >= 0) {
      absl::StrAppend(&out, "[", step.index, "]");
      continue;
    }
    bool identifier = !step.key.empty() && !(step.key[0] >= '0' && step.key[0] <= '9');
    for (char c : step.key) {
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_')) {
        identifier = false;
        break;
      }
    }
    if (identifier) {
      absl::StrAppend(&out, ".", step.key);
    } else {
      out.push_back('[');
      // Keys reach a path only after the reader validated them, but a key
      // from a message built in memory may not be UTF-8; fall back to a
      // lossy but safe form.
      std::string quoted;
      if (!AppendJsonString(step.key, &quoted)) quoted = "\"<invalid UTF-8>\"";
      out.append(quoted);
      out.push_back(']');
    }
  }
  return out;
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
