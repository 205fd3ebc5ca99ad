#include "convert/internal/message_plan.h"

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gr4vy/rest/v1/annotations.pb.h"

namespace session_gateway {
namespace convert {
namespace internal {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

struct PlanCache {
  absl::Mutex mutex;
  absl::flat_hash_map<const Descriptor*, std::unique_ptr<MessagePlan>> plans
      ABSL_GUARDED_BY(mutex);
  // Types whose plan failed, with the reason, so a bad type fails fast.
  absl::flat_hash_map<const Descriptor*, absl::Status> failures ABSL_GUARDED_BY(mutex);
  // Plans of failed types stay allocated: a recursive type's nested plan
  // may already point at them.
  std::vector<std::unique_ptr<MessagePlan>> retired ABSL_GUARDED_BY(mutex);
};

PlanCache& Cache() {
  static PlanCache* cache = new PlanCache;  // Never destroyed: plans outlive all users.
  return *cache;
}

absl::StatusOr<FieldPlan::Kind> KindOf(const FieldDescriptor* field) {
  using Kind = FieldPlan::Kind;
  switch (field->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      if (field->type() == FieldDescriptor::TYPE_BYTES) break;
      return Kind::kString;
    case FieldDescriptor::CPPTYPE_BOOL: return Kind::kBool;
    case FieldDescriptor::CPPTYPE_INT32: return Kind::kInt32;
    case FieldDescriptor::CPPTYPE_INT64: return Kind::kInt64;
    case FieldDescriptor::CPPTYPE_UINT32: return Kind::kUint32;
    case FieldDescriptor::CPPTYPE_UINT64: return Kind::kUint64;
    case FieldDescriptor::CPPTYPE_DOUBLE: return Kind::kDouble;
    case FieldDescriptor::CPPTYPE_FLOAT: return Kind::kFloat;
    case FieldDescriptor::CPPTYPE_ENUM: return Kind::kEnum;
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      if (field->type() == FieldDescriptor::TYPE_GROUP) break;
      const std::string& name = field->message_type()->full_name();
      if (name == "google.protobuf.Struct") return Kind::kStruct;
      if (name == "google.protobuf.Value") return Kind::kValue;
      if (name == "google.protobuf.ListValue") return Kind::kListValue;
      return Kind::kMessage;
    }
  }
  return absl::UnimplementedError(
      absl::StrCat("field ", field->full_name(), " has no REST JSON mapping (",
                   field->type_name(), ")"));
}

absl::StatusOr<const MessagePlan*> BuildLocked(const Descriptor* descriptor, PlanCache& cache)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(cache.mutex);

absl::Status FillField(const FieldDescriptor* field, PlanCache& cache, FieldPlan* plan)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(cache.mutex) {
  if (field->is_repeated()) {
    return absl::UnimplementedError(
        absl::StrCat("field ", field->full_name(), " is repeated: repeated fields have no REST "
                     "JSON mapping yet"));
  }
  absl::StatusOr<FieldPlan::Kind> kind = KindOf(field);
  if (!kind.ok()) return kind.status();
  plan->field = field;
  plan->kind = *kind;
  plan->wire_name = field->name();
  if (field->json_name() != field->name()) plan->alias = field->json_name();
  const gr4vy::rest::v1::RestField& options = field->options().GetExtension(gr4vy::rest::v1::field);
  plan->constant = options.constant();
  plan->open_enum = options.open_enum();
  plan->required = options.required();
  if (plan->kind == FieldPlan::Kind::kEnum) {
    const google::protobuf::EnumDescriptor* type = field->enum_type();
    for (int i = 0; i < type->value_count(); ++i) {
      const google::protobuf::EnumValueDescriptor* value = type->value(i);
      const std::string& name = value->options().GetExtension(gr4vy::rest::v1::enum_value).name();
      if (!name.empty()) plan->enum_names.emplace_back(name, value->number());
    }
  }
  if (!plan->constant.empty() && plan->kind != FieldPlan::Kind::kString) {
    int unused;
    if (plan->kind != FieldPlan::Kind::kEnum || !plan->EnumNumber(plan->constant, &unused)) {
      return absl::UnimplementedError(
          absl::StrCat("field ", field->full_name(), ": constant \"", plan->constant,
                       "\" must be a string field or name one of its enum values"));
    }
  }
  if (plan->kind == FieldPlan::Kind::kMessage) {
    absl::StatusOr<const MessagePlan*> nested = BuildLocked(field->message_type(), cache);
    if (!nested.ok()) return nested.status();
    plan->message = *nested;
  }
  return absl::OkStatus();
}

// Binds each open enum's unrecognized_value_field to its sibling. A bad
// annotation is an error: silently ignoring it would drop the very strings
// it was written to keep.
absl::Status BindUnrecognizedValueFields(MessagePlan* plan) {
  for (FieldPlan& field : plan->fields) {
    const std::string& name = field.field->options()
                                  .GetExtension(gr4vy::rest::v1::field)
                                  .unrecognized_value_field();
    if (name.empty()) continue;
    auto fail = [&](absl::string_view why) {
      return absl::UnimplementedError(absl::StrCat("field ", field.field->full_name(),
                                                   ": unrecognized_value_field \"", name, "\" ",
                                                   why));
    };
    if (field.kind != FieldPlan::Kind::kEnum || !field.open_enum) {
      return fail("is allowed only on an enum field with open_enum: true");
    }
    FieldPlan* sibling = nullptr;
    for (FieldPlan& candidate : plan->fields) {
      if (candidate.field->name() == name) sibling = &candidate;
    }
    if (sibling == nullptr || sibling == &field) {
      return fail(absl::StrCat("names no other field of ", plan->descriptor->full_name()));
    }
    // FillField already rejected repeated fields; bytes have no REST kind.
    if (sibling->kind != FieldPlan::Kind::kString || sibling->field->real_containing_oneof()) {
      return fail("must name a singular string field outside any oneof");
    }
    if (!sibling->constant.empty() || sibling->required || sibling->holds_unrecognized_value) {
      return fail("names a field that has a REST role of its own");
    }
    field.unrecognized_value = sibling->field;
    sibling->holds_unrecognized_value = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<const MessagePlan*> BuildLocked(const Descriptor* descriptor, PlanCache& cache) {
  if (auto it = cache.plans.find(descriptor); it != cache.plans.end()) return it->second.get();
  if (auto it = cache.failures.find(descriptor); it != cache.failures.end()) return it->second;
  // Insert before filling, so a recursive message type finds its own plan.
  auto owned = std::make_unique<MessagePlan>();
  MessagePlan* plan = owned.get();
  cache.plans.emplace(descriptor, std::move(owned));
  plan->descriptor = descriptor;

  std::vector<const FieldDescriptor*> fields;
  for (int i = 0; i < descriptor->field_count(); ++i) fields.push_back(descriptor->field(i));
  std::sort(fields.begin(), fields.end(),
            [](const FieldDescriptor* a, const FieldDescriptor* b) {
              return a->number() < b->number();
            });
  absl::Status status;
  for (const FieldDescriptor* field : fields) {
    FieldPlan field_plan;
    status = FillField(field, cache, &field_plan);
    if (!status.ok()) break;
    plan->fields.push_back(std::move(field_plan));
  }
  if (status.ok()) status = BindUnrecognizedValueFields(plan);
  for (int i = 0; status.ok() && i < static_cast<int>(plan->fields.size()); ++i) {
    const FieldPlan& field = plan->fields[i];
    if (field.holds_unrecognized_value) continue;  // No wire key: an unknown key on input.
    for (auto [key, is_alias] : {std::pair<const std::string*, bool>{&field.wire_name, false},
                                 std::pair<const std::string*, bool>{&field.alias, true}}) {
      if (key->empty()) continue;
      if (!plan->by_key.emplace(*key, std::make_pair(i, is_alias)).second) {
        status = absl::UnimplementedError(absl::StrCat(
            descriptor->full_name(), ": two fields share the REST key \"", *key, "\""));
      }
    }
  }
  if (!status.ok()) {
    auto it = cache.plans.find(descriptor);
    cache.retired.push_back(std::move(it->second));
    cache.plans.erase(it);
    cache.failures.emplace(descriptor, status);
    return status;
  }
  return plan;
}

absl::StatusOr<const MessagePlan*> LookUpOrBuild(const Descriptor* descriptor, PlanCache& cache) {
  {
    absl::ReaderMutexLock lock(&cache.mutex);
    if (auto it = cache.plans.find(descriptor); it != cache.plans.end()) {
      return it->second.get();
    }
    if (auto it = cache.failures.find(descriptor); it != cache.failures.end()) {
      return it->second;
    }
  }
  absl::MutexLock lock(&cache.mutex);
  return BuildLocked(descriptor, cache);
}

}  // namespace

const std::string* FieldPlan::EnumName(int number) const {
  for (const auto& [name, value] : enum_names) {
    if (value == number) return &name;
  }
  return nullptr;
}

bool FieldPlan::EnumNumber(absl::string_view name, int* number) const {
  for (const auto& [wire, value] : enum_names) {
    if (wire == name) {
      *number = value;
      return true;
    }
  }
  return false;
}

absl::StatusOr<const MessagePlan*> GetMessagePlan(const Descriptor* descriptor) {
  // Conversions come in runs of one type: remember the last plan per
  // thread and skip the lock. Plans are never freed, so this cannot dangle.
  thread_local const Descriptor* last_descriptor = nullptr;
  thread_local const MessagePlan* last_plan = nullptr;
  if (descriptor == last_descriptor) return last_plan;
  PlanCache& cache = Cache();
  absl::StatusOr<const MessagePlan*> plan = LookUpOrBuild(descriptor, cache);
  if (plan.ok()) {
    last_descriptor = descriptor;
    last_plan = *plan;
  }
  return plan;
}


}  // namespace internal
}  // namespace convert
}  // namespace session_gateway
