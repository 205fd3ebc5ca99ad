// Binds JsonReader to messages: one function per kind of field.
#include "convert/internal/message_reader.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "convert/internal/error_text.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace convert {
namespace internal {
namespace {

using google::protobuf::Message;
using google::protobuf::Reflection;
using Kind = FieldPlan::Kind;

// The generated class behind a well-known-type field. Messages from a
// dynamic pool are not generated classes; they go through a generated copy
// (slower, but only tools ever do that).
template <typename T>
class WellKnownField {
 public:
  WellKnownField(Message* message, const google::protobuf::FieldDescriptor* field)
      : target_(message->GetReflection()->MutableMessage(message, field)),
        typed_(dynamic_cast<T*>(target_)) {
    if (typed_ == nullptr) copy_.emplace();
  }
  ~WellKnownField() {
    if (copy_.has_value()) target_->ParseFromString(copy_->SerializeAsString());
  }
  WellKnownField(const WellKnownField&) = delete;
  WellKnownField& operator=(const WellKnownField&) = delete;
  T* get() { return typed_ != nullptr ? typed_ : &*copy_; }

 private:
  Message* target_;
  T* typed_;
  std::optional<T> copy_;  // Only for messages that are not generated classes.
};

}  // namespace

bool MessageReader::ReadMessage(const JsonPath* path, int depth, const MessagePlan& plan,
                                Message* message) {
  if (!reader_.BeginObject(path, depth)) return false;
  // How each field was spelled, to catch a key given twice or under both
  // of its names.
  enum Spelling : uint8_t { kUnseen, kWireName, kAlias };
  absl::InlinedVector<Spelling, 8> seen(plan.fields.size(), kUnseen);
  bool first = true;
  std::string key;
  while (reader_.NextMember(path, &first, &key)) {
    JsonPath member = JsonPath::Member(path, key);
    auto it = plan.by_key.find(key);
    if (it == plan.by_key.end()) {
      if (strict()) return reader_.Fail(&member, "unknown field (strict mode)");
      if (!reader_.ReadValue(&member, depth + 1, nullptr)) return false;
      continue;
    }
    const auto [index, is_alias] = it->second;
    const FieldPlan& field = plan.fields[index];
    if (is_alias && strict()) {
      return reader_.Fail(&member, absl::StrCat("unknown field (strict mode accepts only \"",
                                                field.wire_name, "\")"));
    }
    const Spelling spelling = is_alias ? kAlias : kWireName;
    if (seen[index] != kUnseen && seen[index] != spelling) {
      return reader_.Fail(&member, absl::StrCat("\"", field.wire_name, "\" and \"", field.alias,
                                                "\" name the same field; give only one"));
    }
    if (seen[index] == spelling && strict()) {
      return reader_.Fail(&member, "duplicate key (strict mode)");
    }
    const bool repeated_key = seen[index] != kUnseen;
    seen[index] = spelling;
    if (!ReadField(&member, depth, field, message, repeated_key)) return false;
  }
  if (!reader_.ok()) return false;

  const Reflection* reflection = message->GetReflection();
  for (const FieldPlan& field : plan.fields) {
    if (!field.constant.empty() && !reflection->HasField(*message, field.field)) {
      // The resource type is implied by the schema even when the document
      // leaves it out.
      if (field.kind == Kind::kString) {
        reflection->SetString(message, field.field, field.constant);
      } else {
        int number = 0;
        field.EnumNumber(field.constant, &number);
        reflection->SetEnumValue(message, field.field, number);
      }
    }
    if (field.required && strict() && !reflection->HasField(*message, field.field)) {
      JsonPath member = JsonPath::Member(path, field.wire_name);
      return reader_.Fail(&member, "required field is missing (strict mode)");
    }
  }
  return true;
}

bool MessageReader::ReadField(const JsonPath* path, int depth, const FieldPlan& field,
                              Message* message, bool repeated_key) {
  const Reflection* reflection = message->GetReflection();
  // A repeated key replaces what came before it, whatever its kind. (The
  // message was cleared before parsing, so a first key needs nothing.)
  if (repeated_key) {
    reflection->ClearField(message, field.field);
    // The earlier value may have been an unrecognized string kept beside
    // the enum; it is replaced too.
    if (field.unrecognized_value != nullptr) {
      reflection->ClearField(message, field.unrecognized_value);
    }
  }
  if (reader_.Peek() == 'n') return reader_.ReadNull(path);  // null means absent.

  switch (field.kind) {
    case Kind::kString: {
      std::string value;
      if (!reader_.ReadString(path, &value)) return false;
      if (!field.constant.empty() && value != field.constant) {
        return reader_.Fail(path, absl::StrCat("expected \"", field.constant, "\", got \"",
                                               Excerpt(value), "\""));
      }
      reflection->SetString(message, field.field, std::move(value));
      return true;
    }
    case Kind::kBool: {
      bool value;
      if (!reader_.ReadBool(path, &value)) return false;
      reflection->SetBool(message, field.field, value);
      return true;
    }
    case Kind::kInt32:
    case Kind::kInt64:
    case Kind::kUint32:
    case Kind::kUint64:
      return ReadInteger(path, field, message);
    case Kind::kDouble:
    case Kind::kFloat:
      return ReadFloating(path, field, message);
    case Kind::kEnum:
      return ReadEnum(path, field, message);
    case Kind::kStruct: {
      if (reader_.Peek() != '{') return reader_.FailExpected(path, "an object");
      WellKnownField<google::protobuf::Struct> target(message, field.field);
      return reader_.ReadStruct(path, depth + 1, target.get());
    }
    case Kind::kValue: {
      WellKnownField<google::protobuf::Value> target(message, field.field);
      return reader_.ReadValue(path, depth + 1, target.get());
    }
    case Kind::kListValue: {
      if (reader_.Peek() != '[') return reader_.FailExpected(path, "an array");
      WellKnownField<google::protobuf::ListValue> target(message, field.field);
      return reader_.ReadList(path, depth + 1, target.get());
    }
    case Kind::kMessage:
      return ReadMessage(path, depth + 1, *field.message,
                         reflection->MutableMessage(message, field.field));
  }
  return reader_.Fail(path, "internal error: unhandled field kind");
}

bool MessageReader::ReadInteger(const JsonPath* path, const FieldPlan& field, Message* message) {
  char c = reader_.Peek();
  if (c != '-' && !(c >= '0' && c <= '9')) return reader_.FailExpected(path, "an integer");
  NumberLiteral literal;
  if (!reader_.ReadNumber(path, &literal)) return false;
  const Reflection* reflection = message->GetReflection();
  NumberReadResult result;
  absl::string_view range;
  switch (field.kind) {
    case Kind::kInt32: {
      int64_t value = 0;
      range = "int32";
      result = internal::ReadExactInteger(literal, std::numeric_limits<int32_t>::min(),
                                          std::numeric_limits<int32_t>::max(), &value);
      if (result == NumberReadResult::kOk) {
        reflection->SetInt32(message, field.field, static_cast<int32_t>(value));
      }
      break;
    }
    case Kind::kInt64: {
      int64_t value = 0;
      range = "int64";
      result = internal::ReadExactInteger(literal, std::numeric_limits<int64_t>::min(),
                                          std::numeric_limits<int64_t>::max(), &value);
      if (result == NumberReadResult::kOk) reflection->SetInt64(message, field.field, value);
      break;
    }
    case Kind::kUint32: {
      uint64_t value = 0;
      range = "uint32";
      result = internal::ReadExactUnsigned(literal, std::numeric_limits<uint32_t>::max(), &value);
      if (result == NumberReadResult::kOk) {
        reflection->SetUInt32(message, field.field, static_cast<uint32_t>(value));
      }
      break;
    }
    default: {
      uint64_t value = 0;
      range = "uint64";
      result = internal::ReadExactUnsigned(literal, std::numeric_limits<uint64_t>::max(), &value);
      if (result == NumberReadResult::kOk) reflection->SetUInt64(message, field.field, value);
      break;
    }
  }
  switch (result) {
    case NumberReadResult::kOk:
      return true;
    case NumberReadResult::kFraction:
      return reader_.Fail(path, absl::StrCat("expected an integer, got ", Excerpt(literal.text),
                                             " which has a fractional part"));
    case NumberReadResult::kOutOfRange:
      break;
  }
  return reader_.Fail(path, absl::StrCat("integer ", Excerpt(literal.text),
                                         " is outside the range of ", range));
}

bool MessageReader::ReadFloating(const JsonPath* path, const FieldPlan& field, Message* message) {
  NumberLiteral literal;
  if (!reader_.ReadNumber(path, &literal)) return false;
  double value;
  if (internal::ReadDouble(literal, &value) != NumberReadResult::kOk ||
      (field.kind == Kind::kFloat && std::abs(value) > std::numeric_limits<float>::max())) {
    return reader_.Fail(path, absl::StrCat("number ", Excerpt(literal.text), " is outside the range of ",
                                           field.kind == Kind::kFloat ? "float" : "double"));
  }
  const Reflection* reflection = message->GetReflection();
  if (field.kind == Kind::kFloat) {
    reflection->SetFloat(message, field.field, static_cast<float>(value));
  } else {
    reflection->SetDouble(message, field.field, value);
  }
  return true;
}

bool MessageReader::ReadEnum(const JsonPath* path, const FieldPlan& field, Message* message) {
  std::string name;
  if (!reader_.ReadString(path, &name)) return false;
  int number = 0;
  if (!field.constant.empty() && name != field.constant) {
    return reader_.Fail(path, absl::StrCat("expected \"", field.constant, "\", got \"",
                                           Excerpt(name), "\""));
  }
  if (field.EnumNumber(name, &number)) {
    message->GetReflection()->SetEnumValue(message, field.field, number);
    return true;
  }
  if (field.open_enum && !strict()) {
    // Left unspecified; the string itself is kept when the schema has a
    // place for it, so the value survives to gRPC callers and back.
    if (field.unrecognized_value != nullptr) {
      message->GetReflection()->SetString(message, field.unrecognized_value, std::move(name));
    }
    return true;
  }
  std::vector<std::string> known;
  for (const auto& entry : field.enum_names) known.push_back(absl::StrCat("\"", entry.first, "\""));
  return reader_.Fail(path, absl::StrCat("unknown value \"", Excerpt(name), "\"; expected one of ",
                                         absl::StrJoin(known, ", "),
                                         field.open_enum ? " (strict mode)" : ""));
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
