// The public entry points: each looks up the message type's plan and runs
// MessageReader, MessageWriter or the JSON reader and writer on it. The
// rules themselves are documented in rest_json.h and docs/rest-json.md.
#include "convert/rest_json.h"

#include "absl/strings/str_cat.h"
#include "convert/internal/json_reader.h"
#include "convert/internal/json_writer.h"
#include "convert/internal/message_plan.h"
#include "convert/internal/message_reader.h"
#include "convert/internal/message_writer.h"

namespace session_gateway {
namespace convert {

using google::protobuf::Message;
using internal::JsonReader;
using internal::JsonWriter;
using internal::MessagePlan;

absl::Status RestJsonToMessage(absl::string_view json, Message* message,
                               const ParseOptions& options) {
  absl::StatusOr<const MessagePlan*> plan = internal::GetMessagePlan(message->GetDescriptor());
  if (!plan.ok()) return plan.status();
  if (absl::Status s = internal::CheckInputSize(json, options); !s.ok()) return s;
  message->Clear();
  JsonReader reader(json, options);
  if (reader.Peek() != '{') {
    reader.FailExpected(nullptr, "a JSON object");
  } else if (internal::MessageReader(&reader).ReadMessage(nullptr, 1, **plan, message) && !reader.AtEnd()) {
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
  return internal::MessageWriter(&writer, options.max_depth).WriteMessage(nullptr, 1, **plan, message);
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
