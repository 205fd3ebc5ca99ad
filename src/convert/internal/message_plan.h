// The REST mapping of a message type, read once from its descriptor and
// the gr4vy.rest.v1 annotations, then shared by every conversion.
#ifndef SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_PLAN_H_
#define SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_PLAN_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"

namespace session_gateway {
namespace convert {
namespace internal {

struct MessagePlan;

// How one field is read and written.
struct FieldPlan {
  enum class Kind {
    kString,
    kBool,
    kInt32,
    kInt64,
    kUint32,
    kUint64,
    kDouble,
    kFloat,
    kEnum,
    kStruct,     // google.protobuf.Struct: any JSON object.
    kValue,      // google.protobuf.Value: any JSON value.
    kListValue,  // google.protobuf.ListValue: any JSON array.
    kMessage,    // Another message with its own plan.
  };

  const google::protobuf::FieldDescriptor* field = nullptr;
  Kind kind = Kind::kString;
  std::string wire_name;  // The REST key: the proto field name.
  std::string alias;      // The camelCase JSON name, if it differs; else empty.
  std::string constant;   // (gr4vy.rest.v1.field).constant, or empty.
  bool open_enum = false;
  bool required = false;
  // kEnum with (gr4vy.rest.v1.field).unrecognized_value_field: the sibling
  // string field that keeps a REST string naming no known value, so that
  // lenient parsing loses nothing. Null otherwise.
  const google::protobuf::FieldDescriptor* unrecognized_value = nullptr;
  // True for a field named by another field's unrecognized_value_field. It
  // has no wire key of its own: the enum field reads and writes it.
  bool holds_unrecognized_value = false;
  // kEnum: the REST string of each named value, in declaration order.
  std::vector<std::pair<std::string, int>> enum_names;
  // kMessage: the nested message's plan (owned by the plan cache).
  const MessagePlan* message = nullptr;

  // The REST string of enum value `number`, or null if it has none.
  const std::string* EnumName(int number) const;
  // The enum value named `name` on the wire, or false if none is.
  bool EnumNumber(absl::string_view name, int* number) const;
};

struct MessagePlan {
  const google::protobuf::Descriptor* descriptor = nullptr;
  std::vector<FieldPlan> fields;  // In field-number order: the print order.
  // Wire name or alias -> (index into `fields`, whether it is the alias).
  absl::flat_hash_map<std::string, std::pair<int, bool>> by_key;
};

// Returns the plan of `descriptor`, building and caching it on first use.
// kUnimplemented if a field has no REST mapping (repeated, map, bytes or
// group fields) or an annotation cannot be honoured (a constant that is no
// value of its field, an unrecognized_value_field that does not name a
// singular string sibling of an open enum). Thread-safe; plans live for the
// life of the process.
absl::StatusOr<const MessagePlan*> GetMessagePlan(const google::protobuf::Descriptor* descriptor);

}  // namespace internal
}  // namespace convert
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_CONVERT_INTERNAL_MESSAGE_PLAN_H_
