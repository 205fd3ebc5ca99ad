// Writes messages as REST documents, field by field, following each type's
// MessagePlan. The rules are documented in rest_json.h and
// docs/rest-json.md; JSON formatting itself is JsonWriter's concern.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_WRITER_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_WRITER_H_

#include "absl/status/status.h"
#include "convert/internal/json_path.h"
#include "convert/internal/json_writer.h"
#include "convert/internal/message_plan.h"
#include "google/protobuf/message.h"

namespace session_gateway {
namespace convert {
namespace internal {

class MessageWriter {
 public:
  // `writer` must outlive this object. Nesting deeper than `max_depth` is
  // an error.
  MessageWriter(JsonWriter* writer, int max_depth) : writer_(*writer), max_depth_(max_depth) {}

  // Writes `message` as an object at nesting level `depth`. On error the
  // writer holds an unspecified partial document.
  absl::Status WriteMessage(const JsonPath* path, int depth, const MessagePlan& plan,
                            const google::protobuf::Message& message);

 private:
  absl::Status WriteConstant(const JsonPath* path, const FieldPlan& field,
                             const google::protobuf::Message& message);
  absl::Status WriteEnum(const JsonPath* path, const FieldPlan& field,
                         const google::protobuf::Message& message);
  // The enum's value, or the unrecognized string kept beside it.
  absl::Status WriteUnrecognizedValue(const JsonPath* path, const FieldPlan& field,
                                      const google::protobuf::Message& message);
  absl::Status WriteField(const JsonPath* path, int depth, const FieldPlan& field,
                          const google::protobuf::Message& message);

  JsonWriter& writer_;
  int max_depth_;
};

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_WRITER_H_
