// Binds JsonWriter to messages: one function per kind of field.
#include "convert/internal/message_writer.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "convert/internal/error_text.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace convert {
namespace internal {
namespace {

using google::protobuf::Message;
using google::protobuf::Reflection;
using Kind = FieldPlan::Kind;

// The generated class behind a well-known-type field; a message from a
// dynamic pool goes through a generated copy in `scratch`.
template <typename T>
const T& ReadWellKnown(const Message& message, const google::protobuf::FieldDescriptor* field,
                       T* scratch) {
  const Message& target = message.GetReflection()->GetMessage(message, field);
  if (const T* typed = dynamic_cast<const T*>(&target)) return *typed;
  scratch->ParseFromString(target.SerializeAsString());
  return *scratch;
}

}  // namespace

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
    if (field.holds_unrecognized_value) {
      continue;  // Written by its enum field, under the enum's key.
    } else if (!field.constant.empty()) {
      status = WriteConstant(&member, field, message);
    } else if (field.kind == Kind::kEnum) {
      status = WriteEnum(&member, field, message);
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

absl::Status MessageWriter::WriteEnum(const JsonPath* path, const FieldPlan& field,
                                      const Message& message) {
  const Reflection* reflection = message.GetReflection();
  if (!reflection->HasField(message, field.field)) {
    return WriteUnrecognizedValue(path, field, message);
  }
  // Decide before writing the key: an unnamed zero value is "unspecified"
  // and is omitted.
  const int number = reflection->GetEnumValue(message, field.field);
  const std::string* name = field.EnumName(number);
  if (name == nullptr) {
    if (number == 0) return WriteUnrecognizedValue(path, field, message);
    return PathError(path, absl::StrCat("enum value ", number, " of ",
                                        field.field->enum_type()->full_name(),
                                        " has no REST name"));
  }
  if (field.unrecognized_value != nullptr &&
      reflection->HasField(message, field.unrecognized_value)) {
    // Two values for one key: printing either would silently drop the
    // other, so neither is printed.
    return PathError(path, absl::StrCat("the message holds both ", field.field->name(), " = \"",
                                        *name, "\" and ", field.unrecognized_value->name(),
                                        " = \"",
                                        Excerpt(reflection->GetString(message,
                                                                      field.unrecognized_value)),
                                        "\"; only one can be written"));
  }
  writer_.Key(field.wire_name);
  writer_.String(*name);
  return absl::OkStatus();
}

absl::Status MessageWriter::WriteUnrecognizedValue(const JsonPath* path, const FieldPlan& field,
                                                   const Message& message) {
  if (field.unrecognized_value == nullptr) return absl::OkStatus();
  const Reflection* reflection = message.GetReflection();
  if (!reflection->HasField(message, field.unrecognized_value)) return absl::OkStatus();
  const std::string value = reflection->GetString(message, field.unrecognized_value);
  int number;
  if (field.EnumNumber(value, &number)) {
    // It would read back as the known value, not as itself.
    return PathError(path, absl::StrCat(field.unrecognized_value->name(), " holds \"", value,
                                        "\", which names a known value; set ",
                                        field.field->name(), " instead"));
  }
  writer_.Key(field.wire_name);
  if (!writer_.String(value)) return PathError(path, "string is not valid UTF-8");
  return absl::OkStatus();
}

absl::Status MessageWriter::WriteField(const JsonPath* path, int depth, const FieldPlan& field,
                                       const Message& message) {
  const Reflection* reflection = message.GetReflection();
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
    case Kind::kEnum:  // WriteEnum's.
      break;
  }
  return absl::InternalError("unhandled field kind");
}

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
