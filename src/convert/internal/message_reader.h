// Reads REST documents into messages, field by field, following each
// type's MessagePlan. The rules are documented in rest_json.h and
// docs/rest-json.md; the JSON syntax itself is JsonReader's concern.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_READER_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_READER_H_

#include "convert/internal/json_path.h"
#include "convert/internal/json_reader.h"
#include "convert/internal/message_plan.h"
#include "google/protobuf/message.h"

namespace session_gateway {
namespace convert {
namespace internal {

class MessageReader {
 public:
  // `reader` must outlive this object; its options decide the mode.
  explicit MessageReader(JsonReader* reader) : reader_(*reader) {}

  // Reads the object at the reader's position into `message` (which the
  // caller has cleared). `depth` is the object's nesting level. Returns
  // false after recording the error in the JsonReader.
  bool ReadMessage(const JsonPath* path, int depth, const MessagePlan& plan,
                   google::protobuf::Message* message);

 private:
  // `repeated_key`: the field was already given earlier in this object.
  bool ReadField(const JsonPath* path, int depth, const FieldPlan& field,
                 google::protobuf::Message* message, bool repeated_key);
  bool ReadInteger(const JsonPath* path, const FieldPlan& field, google::protobuf::Message* message);
  bool ReadFloating(const JsonPath* path, const FieldPlan& field,
                    google::protobuf::Message* message);
  bool ReadEnum(const JsonPath* path, const FieldPlan& field, google::protobuf::Message* message);
  bool strict() const { return reader_.options().strict; }

  JsonReader& reader_;
};

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_READER_H_
