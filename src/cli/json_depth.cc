#include "cli/json_depth.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "convert/internal/json_path.h"
#include "google/protobuf/struct.pb.h"

namespace session_gateway {
namespace cli {
namespace {

using convert::internal::JsonPath;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Walks a message as its JSON form nests. Recursion is bounded: the walk
// stops one level past the limit, and the message was parsed with a
// recursion limit of about three times it.
class DepthCheck {
 public:
  explicit DepthCheck(int max_depth) : max_depth_(max_depth) {}

  absl::Status Message(const google::protobuf::Message& message, const JsonPath* path,
                       int depth) {
    // A Value holding a scalar adds no level.
    if (const auto* value = dynamic_cast<const google::protobuf::Value*>(&message)) {
      return Nested(*value, path, depth);
    }
    if (absl::Status s = Enter(path, depth); !s.ok()) return s;
    if (const auto* object = dynamic_cast<const google::protobuf::Struct*>(&message)) {
      return Struct(*object, path, depth);
    }
    if (const auto* list = dynamic_cast<const google::protobuf::ListValue*>(&message)) {
      return List(*list, path, depth);
    }
    const google::protobuf::Reflection* reflection = message.GetReflection();
    std::vector<const FieldDescriptor*> fields;
    reflection->ListFields(message, &fields);
    for (const FieldDescriptor* field : fields) {
      if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
      const JsonPath member = JsonPath::Member(path, field->name());
      if (!field->is_repeated()) {
        if (absl::Status s = Message(reflection->GetMessage(message, field), &member, depth + 1);
            !s.ok()) {
          return s;
        }
        continue;
      }
      // A repeated field is an array, one level, of its elements.
      if (absl::Status s = Enter(&member, depth + 1); !s.ok()) return s;
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        const JsonPath element = JsonPath::Element(&member, i);
        if (absl::Status s = Message(reflection->GetRepeatedMessage(message, field, i), &element,
                                     depth + 2);
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Enter(const JsonPath* path, int depth) const {
    if (depth <= max_depth_) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat(convert::internal::FormatJsonPath(path),
                     ": nesting is deeper than the limit of ", max_depth_, " levels"));
  }

  // `depth` is the level the value has if it is an object or array; the
  // caller has checked it.
  absl::Status Value(const google::protobuf::Value& value, const JsonPath* path, int depth) {
    if (value.has_struct_value()) return Struct(value.struct_value(), path, depth);
    if (value.has_list_value()) return List(value.list_value(), path, depth);
    return absl::OkStatus();
  }

  absl::Status Struct(const google::protobuf::Struct& object, const JsonPath* path, int depth) {
    for (const auto& [key, value] : object.fields()) {
      const JsonPath member = JsonPath::Member(path, key);
      if (absl::Status s = Nested(value, &member, depth + 1); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status List(const google::protobuf::ListValue& list, const JsonPath* path, int depth) {
    for (int i = 0; i < list.values_size(); ++i) {
      const JsonPath element = JsonPath::Element(path, i);
      if (absl::Status s = Nested(list.values(i), &element, depth + 1); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // A member or element: only objects and arrays add a level.
  absl::Status Nested(const google::protobuf::Value& value, const JsonPath* path, int depth) {
    if (!value.has_struct_value() && !value.has_list_value()) return absl::OkStatus();
    if (absl::Status s = Enter(path, depth); !s.ok()) return s;
    return Value(value, path, depth);
  }

  int max_depth_;
};

}  // namespace

absl::Status CheckJsonDepth(const google::protobuf::Message& message, int max_depth) {
  return DepthCheck(max_depth).Message(message, nullptr, 1);
}

int RecursionLimitFor(int max_depth) {
  const int64_t limit = int64_t{3} * max_depth + 8;
  return limit > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                 : static_cast<int>(limit);
}

}  // namespace cli
}  // namespace session_gateway
