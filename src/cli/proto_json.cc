// See proto_json.h for why the JSON-valued fields are taken out of
// protobuf's hands. The split is by top-level member: protobuf reads and
// writes a document holding the other members, and the members of
// JSON-valued fields are read and written here, in their place.
#include "cli/proto_json.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "convert/internal/json_path.h"
#include "convert/internal/json_reader.h"
#include "convert/internal/json_writer.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace session_gateway {
namespace cli {
namespace {

using convert::internal::JsonPath;
using convert::internal::JsonReader;
using convert::internal::JsonWriter;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The well-known type whose proto3 JSON form is plain JSON, or null.
const Descriptor* JsonValuedType(const FieldDescriptor* field) {
  if (field->is_repeated() || field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
    return nullptr;
  }
  const Descriptor* type = field->message_type();
  const std::string& name = type->full_name();
  if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
      name == "google.protobuf.ListValue") {
    return type;
  }
  return nullptr;
}

// The field a proto3 JSON key names: its JSON name or its proto name.
const FieldDescriptor* FieldForKey(const Descriptor* descriptor, absl::string_view key) {
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->json_name() == key || field->name() == key) return field;
  }
  return nullptr;
}

// protobuf's messages may span lines (its parser adds the input and a
// caret); session-convert promises one line.
absl::Status ProtobufError(absl::string_view message) {
  message = message.substr(0, message.find('\n'));
  return absl::InvalidArgumentError(absl::StrCat("$: ", message));
}

// One JSON-valued member read from the document, kept until protobuf has
// read the rest (which clears the message).
struct JsonMember {
  const FieldDescriptor* field;
  google::protobuf::Value value;  // Holds a Struct, a ListValue or itself.
  bool present = true;            // false for null (the field stays unset).
};

// Reads the value of the JSON-valued `field` at the reader's position.
bool ReadJsonMember(JsonReader& reader, const JsonPath* path, const FieldDescriptor* field,
                    JsonMember* member) {
  const std::string& type = field->message_type()->full_name();
  if (type == "google.protobuf.Value") {
    // proto3 JSON: null in a Value field is a Value holding null.
    return reader.ReadValue(path, 2, &member->value);
  }
  if (reader.Peek() == 'n') {
    member->present = false;
    return reader.ReadNull(path);
  }
  if (type == "google.protobuf.Struct") {
    if (reader.Peek() != '{') return reader.FailExpected(path, "an object");
    return reader.ReadStruct(path, 2, member->value.mutable_struct_value());
  }
  if (reader.Peek() != '[') return reader.FailExpected(path, "an array");
  return reader.ReadList(path, 2, member->value.mutable_list_value());
}

absl::Status StoreJsonMember(JsonMember& member, Message* message) {
  const google::protobuf::Reflection* reflection = message->GetReflection();
  if (!member.present) {
    reflection->ClearField(message, member.field);
    return absl::OkStatus();
  }
  // The CLI converts generated messages only, so the field holds the
  // generated class and the value moves without a copy.
  Message* target = reflection->MutableMessage(message, member.field);
  if (auto* value = dynamic_cast<google::protobuf::Value*>(target)) {
    value->Swap(&member.value);
  } else if (auto* object = dynamic_cast<google::protobuf::Struct*>(target)) {
    object->Swap(member.value.mutable_struct_value());
  } else if (auto* list = dynamic_cast<google::protobuf::ListValue*>(target)) {
    list->Swap(member.value.mutable_list_value());
  } else {
    return absl::InternalError(absl::StrCat(member.field->full_name(), " is not a generated ",
                                            member.field->message_type()->full_name()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProtoJsonToMessage(absl::string_view json, const convert::ParseOptions& limits,
                                bool ignore_unknown_fields, Message* message) {
  if (absl::Status s = convert::internal::CheckInputSize(json, limits); !s.ok()) return s;
  // Duplicate keys and long integers are protobuf's business (it takes the
  // last and rounds); only depth and JSON validity are checked here.
  convert::ParseOptions options = limits;
  options.strict = false;
  JsonReader reader(json, options);
  if (reader.Peek() != '{') {
    reader.FailExpected(nullptr, "a JSON object");
    return reader.status();
  }
  std::string others = "{";  // The members protobuf reads.
  std::vector<JsonMember> json_members;
  bool first = true;
  std::string key;
  if (!reader.BeginObject(nullptr, 1)) return reader.status();
  while (reader.NextMember(nullptr, &first, &key)) {
    const JsonPath path = JsonPath::Member(nullptr, key);
    const FieldDescriptor* field = FieldForKey(message->GetDescriptor(), key);
    if (field != nullptr && JsonValuedType(field) != nullptr) {
      // The last of duplicate keys wins, as in protobuf.
      auto it = std::find_if(json_members.begin(), json_members.end(),
                             [field](const JsonMember& m) { return m.field == field; });
      if (it != json_members.end()) json_members.erase(it);
      json_members.push_back(JsonMember{field, {}, true});
      if (!ReadJsonMember(reader, &path, field, &json_members.back())) return reader.status();
      continue;
    }
    reader.Peek();  // Skip whitespace: the value starts here.
    const size_t start = reader.offset();
    if (!reader.ReadValue(&path, 2, nullptr)) return reader.status();
    if (others.size() > 1) others.push_back(',');
    convert::internal::AppendJsonString(key, &others);  // The reader checked its UTF-8.
    others.push_back(':');
    absl::StrAppend(&others, json.substr(start, reader.offset() - start));
  }
  if (!reader.ok()) return reader.status();
  if (!reader.AtEnd()) {
    reader.Fail(nullptr, absl::StrCat("invalid JSON: unexpected data after the object at byte ",
                                      reader.offset()));
    return reader.status();
  }
  others.push_back('}');

  google::protobuf::util::JsonParseOptions protobuf_options;
  protobuf_options.ignore_unknown_fields = ignore_unknown_fields;
  // protobuf 3.21 has its own Status type, not absl's.
  auto status = google::protobuf::util::JsonStringToMessage(others, message, protobuf_options);
  if (!status.ok()) return ProtobufError(status.message().as_string());
  for (JsonMember& member : json_members) {
    if (absl::Status s = StoreJsonMember(member, message); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MessageToProtoJson(const Message& message, const convert::PrintOptions& options,
                                std::string* output) {
  // protobuf prints everything but the JSON-valued fields.
  std::unique_ptr<Message> others(message.New());
  others->CopyFrom(message);
  const google::protobuf::Reflection* reflection = message.GetReflection();
  const Descriptor* descriptor = message.GetDescriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (JsonValuedType(field) != nullptr) reflection->ClearField(others.get(), field);
  }
  std::string printed;
  auto status = google::protobuf::util::MessageToJsonString(
      *others, &printed, google::protobuf::util::JsonPrintOptions());
  if (!status.ok()) return ProtobufError(status.message().as_string());

  // protobuf's members, each with its field number, to merge with the
  // JSON-valued fields in field-number order (protobuf's own order).
  struct Member {
    int number;
    std::string key;
    std::string json;                    // protobuf's text of the value, or
    const FieldDescriptor* field = nullptr;  // a JSON-valued field to write.
  };
  std::vector<Member> members;
  convert::ParseOptions reread;
  reread.max_depth = std::numeric_limits<int>::max();  // protobuf bounded it already.
  JsonReader reader(printed, reread);
  bool first = true;
  std::string key;
  if (!reader.BeginObject(nullptr, 1)) return absl::InternalError(reader.status().ToString());
  while (reader.NextMember(nullptr, &first, &key)) {
    reader.Peek();
    const size_t start = reader.offset();
    if (!reader.ReadValue(nullptr, 2, nullptr)) break;
    const FieldDescriptor* field = FieldForKey(descriptor, key);
    members.push_back(Member{field != nullptr ? field->number() : std::numeric_limits<int>::max(),
                             key, printed.substr(start, reader.offset() - start)});
  }
  if (!reader.ok()) return absl::InternalError(reader.status().ToString());
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (JsonValuedType(field) != nullptr && reflection->HasField(message, field)) {
      members.push_back(Member{field->number(), field->json_name(), "", field});
    }
  }
  std::stable_sort(members.begin(), members.end(),
                   [](const Member& a, const Member& b) { return a.number < b.number; });

  if (options.max_depth < 1) {
    return absl::InvalidArgumentError(absl::StrCat("$: nesting is deeper than the limit of ",
                                                   options.max_depth, " levels"));
  }
  JsonWriter writer(output, options.pretty);
  writer.BeginObject();
  for (const Member& member : members) {
    writer.Key(member.key);
    if (member.field == nullptr) {
      // protobuf's compact text; a nested message would stay compact in
      // pretty output (the session messages have none).
      writer.Verbatim(member.json);
      continue;
    }
    const JsonPath path = JsonPath::Member(nullptr, member.key);
    const Message& held = reflection->GetMessage(message, member.field);
    absl::Status written;
    if (const auto* value = dynamic_cast<const google::protobuf::Value*>(&held)) {
      written = convert::internal::WriteValue(*value, &path, 2, options.max_depth, &writer);
    } else if (const auto* object = dynamic_cast<const google::protobuf::Struct*>(&held)) {
      written = convert::internal::WriteStruct(*object, &path, 2, options.max_depth, &writer);
    } else if (const auto* list = dynamic_cast<const google::protobuf::ListValue*>(&held)) {
      written = convert::internal::WriteList(*list, &path, 2, options.max_depth, &writer);
    } else {
      written = absl::InternalError(absl::StrCat(member.field->full_name(),
                                                 " is not a generated well-known type"));
    }
    if (!written.ok()) return written;
  }
  writer.EndObject();
  return absl::OkStatus();
}

}  // namespace cli
}  // namespace session_gateway
