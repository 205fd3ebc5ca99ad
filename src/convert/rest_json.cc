// Binds the JSON reader and writer to messages, field by field, following
// each type's MessagePlan. The rules themselves are documented in
// rest_json.h and docs/rest-json.md.
#include "convert/rest_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "convert/internal/json_reader.h"
#include "convert/internal/json_writer.h"
#include "convert/internal/message_plan.h"

namespace session_gateway {
namespace convert {
namespace {

using google::protobuf::Message;
using google::protobuf::Reflection;
using internal::FieldPlan;
using internal::JsonPath;
using internal::JsonReader;
using internal::JsonWriter;
using internal::MessagePlan;
using internal::NumberLiteral;
using internal::NumberReadResult;
using Kind = internal::FieldPlan::Kind;

std::string Excerpt(absl::string_view text) {
  constexpr size_t kMax = 40;
  if (text.size() <= kMax) return std::string(text);
  return absl::StrCat(text.substr(0, kMax), "...");
}

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

template <typename T>
const T& ReadWellKnown(const Message& message, const google::protobuf::FieldDescriptor* field,
                       T* scratch) {
  const Message& target = message.GetReflection()->GetMessage(message, field);
  if (const T* typed = dynamic_cast<const T*>(&target)) return *typed;
  scratch->ParseFromString(target.SerializeAsString());
  return *scratch;
}

// Reads documents into messages.
class MessageReader {
 public:
  explicit MessageReader(JsonReader* reader) : reader_(*reader) {}

  bool ReadMessage(const JsonPath* path, int depth, const MessagePlan& plan, Message* message);

 private:
  // `repeated_key`: the field was already given earlier in this object.
  bool ReadField(const JsonPath* path, int depth, const FieldPlan& field, Message* message,
                 bool repeated_key);
  bool ReadInteger(const JsonPath* path, const FieldPlan& field, Message* message);
  bool ReadFloating(const JsonPath* path, const FieldPlan& field, Message* message);
  bool ReadEnum(const JsonPath* path, const FieldPlan& field, Message* message);
  bool strict() const { return reader_.options().strict; }

  JsonReader& reader_;
};

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
  if (repeated_key) reflection->ClearField(message, field.field);
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
  if (field.open_enum && !strict()) return true;  // Left unspecified.
  std::vector<std::string> known;
  for (const auto& entry : field.enum_names) known.push_back(absl::StrCat("\"", entry.first, "\""));
  return reader_.Fail(path, absl::StrCat("unknown value \"", Excerpt(name), "\"; expected one of ",
                                         absl::StrJoin(known, ", "),
                                         field.open_enum ? " (strict mode)" : ""));
}

absl::Status PathError(const JsonPath* path, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat(internal::FormatJsonPath(path), ": ", reason));
}

// Writes messages as documents.
class MessageWriter {
 public:
  MessageWriter(JsonWriter* writer, int max_depth) : writer_(*writer), max_depth_(max_depth) {}

  absl::Status WriteMessage(const JsonPath* path, int depth, const MessagePlan& plan,
                            const Message& message);

 private:
  absl::Status WriteConstant(const JsonPath* path, const FieldPlan& field, const Message& message);
  absl::Status WriteField(const JsonPath* path, int depth, const FieldPlan& field,
                          const Message& message);

  JsonWriter& writer_;
  int max_depth_;
};

absl::Status MessageWriter::WriteMessage(const JsonPath* path, int depth, const MessagePlan& plan,
                                         const Message& message) {
  if (depth > max_depth_) {
    return PathError(path, absl::StrCat("nesting is deeper than the limit of ", max_depth_,
                                        " levels"));
  }
  const Reflection* reflection = message.GetReflection();
  writer_.BeginObject();
  for (const FieldPlan& field : plan.fields) {
    JsonPath member = JsonPath::Member(path, field.wire_name);
    absl::Status status;
    if (!field.constant.empty()) {
      status = WriteConstant(&member, field, message);
    } else if (reflection->HasField(message, field.field)) {
      status = WriteField(&member, depth, field, message);
    }
    if (!status.ok()) return status;
  }
  writer_.EndObject();
  return absl::OkStatus();
}

absl::Status MessageWriter::WriteConstant(const JsonPath* path, const FieldPlan& field,
                                          const Message& message) {
  const Reflection* reflection = message.GetReflection();
  bool holds_constant;
  std::string held;
  if (field.kind == Kind::kString) {
    held = reflection->GetString(message, field.field);
    holds_constant = held.empty() || held == field.constant;
  } else {
    int number = reflection->GetEnumValue(message, field.field);
    int constant_number = 0;
    field.EnumNumber(field.constant, &constant_number);
    holds_constant = number == 0 || number == constant_number;
    held = absl::StrCat("enum value ", number);
  }
  if (!holds_constant) {
    return PathError(path, absl::StrCat("the message holds \"", Excerpt(held),
                                        "\" but the REST form allows only \"", field.constant,
                                        "\""));
  }
  writer_.Key(field.wire_name);
  writer_.String(field.constant);
  return absl::OkStatus();
}

absl::Status MessageWriter::WriteField(const JsonPath* path, int depth, const FieldPlan& field,
                                       const Message& message) {
  const Reflection* reflection = message.GetReflection();
  if (field.kind == Kind::kEnum) {
    // Decide before writing the key: an unnamed zero value is "unspecified"
    // and is omitted.
    int number = reflection->GetEnumValue(message, field.field);
    const std::string* name = field.EnumName(number);
    if (name == nullptr) {
      if (number == 0) return absl::OkStatus();
      return PathError(path, absl::StrCat("enum value ", number, " of ",
                                          field.field->enum_type()->full_name(),
                                          " has no REST name"));
    }
    writer_.Key(field.wire_name);
    writer_.String(*name);
    return absl::OkStatus();
  }
  writer_.Key(field.wire_name);
  switch (field.kind) {
    case Kind::kString:
      if (!writer_.String(reflection->GetString(message, field.field))) {
        return PathError(path, "string is not valid UTF-8");
      }
      return absl::OkStatus();
    case Kind::kBool:
      writer_.Bool(reflection->GetBool(message, field.field));
      return absl::OkStatus();
    case Kind::kInt32:
      writer_.Int64(reflection->GetInt32(message, field.field));
      return absl::OkStatus();
    case Kind::kInt64:
      writer_.Int64(reflection->GetInt64(message, field.field));
      return absl::OkStatus();
    case Kind::kUint32:
      writer_.Uint64(reflection->GetUInt32(message, field.field));
      return absl::OkStatus();
    case Kind::kUint64:
      writer_.Uint64(reflection->GetUInt64(message, field.field));
      return absl::OkStatus();
    case Kind::kDouble:
    case Kind::kFloat: {
      double value = field.kind == Kind::kFloat ? reflection->GetFloat(message, field.field)
                                                : reflection->GetDouble(message, field.field);
      if (!std::isfinite(value)) return PathError(path, "NaN and infinite numbers have no JSON form");
      writer_.Double(value);
      return absl::OkStatus();
    }
    case Kind::kStruct: {
      google::protobuf::Struct scratch;
      return internal::WriteStruct(ReadWellKnown(message, field.field, &scratch), path, depth + 1,
                                   max_depth_, &writer_);
    }
    case Kind::kValue: {
      google::protobuf::Value scratch;
      return internal::WriteValue(ReadWellKnown(message, field.field, &scratch), path, depth + 1,
                                  max_depth_, &writer_);
    }
    case Kind::kListValue: {
      google::protobuf::ListValue scratch;
      return internal::WriteList(ReadWellKnown(message, field.field, &scratch), path, depth + 1,
                                 max_depth_, &writer_);
    }
    case Kind::kMessage:
      return WriteMessage(path, depth + 1, *field.message,
                          reflection->GetMessage(message, field.field));
    case Kind::kEnum:
      break;
  }
  return absl::InternalError("unhandled field kind");
}

}  // namespace

absl::Status RestJsonToMessage(absl::string_view json, Message* message,
                               const ParseOptions& options) {
  absl::StatusOr<const MessagePlan*> plan = internal::GetMessagePlan(message->GetDescriptor());
  if (!plan.ok()) return plan.status();
  if (absl::Status s = internal::CheckInputSize(json, options); !s.ok()) return s;
  message->Clear();
  JsonReader reader(json, options);
  if (reader.Peek() != '{') {
    reader.FailExpected(nullptr, "a JSON object");
  } else if (MessageReader(&reader).ReadMessage(nullptr, 1, **plan, message) && !reader.AtEnd()) {
    reader.Fail(nullptr, absl::StrCat("invalid JSON: unexpected data after the object at byte ",
                                      reader.offset()));
  }
  return reader.status();
}

absl::Status MessageToRestJson(const Message& message, std::string* output,
                               const PrintOptions& options) {
  absl::StatusOr<const MessagePlan*> plan = internal::GetMessagePlan(message.GetDescriptor());
  if (!plan.ok()) return plan.status();
  JsonWriter writer(output, options.pretty);
  return MessageWriter(&writer, options.max_depth).WriteMessage(nullptr, 1, **plan, message);
}

absl::StatusOr<std::string> MessageToRestJson(const Message& message, const PrintOptions& options) {
  std::string output;
  absl::Status status = MessageToRestJson(message, &output, options);
  if (!status.ok()) return status;
  return output;
}

absl::Status JsonToValue(absl::string_view json, google::protobuf::Value* value,
                         const ParseOptions& options) {
  value->Clear();
  return internal::ReadDocument(json, options, value);
}

absl::Status JsonToStruct(absl::string_view json, google::protobuf::Struct* value,
                          const ParseOptions& options) {
  if (absl::Status s = internal::CheckInputSize(json, options); !s.ok()) return s;
  value->Clear();
  JsonReader reader(json, options);
  if (reader.ReadStruct(nullptr, 1, value) && !reader.AtEnd()) {
    reader.Fail(nullptr, absl::StrCat("invalid JSON: unexpected data after the object at byte ",
                                      reader.offset()));
  }
  return reader.status();
}

absl::Status ValueToJson(const google::protobuf::Value& value, std::string* output,
                         const PrintOptions& options) {
  JsonWriter writer(output, options.pretty);
  return internal::WriteValue(value, nullptr, 1, options.max_depth, &writer);
}

absl::Status StructToJson(const google::protobuf::Struct& value, std::string* output,
                          const PrintOptions& options) {
  JsonWriter writer(output, options.pretty);
  return internal::WriteStruct(value, nullptr, 1, options.max_depth, &writer);
}

}  // namespace convert
}  // namespace session_gateway
