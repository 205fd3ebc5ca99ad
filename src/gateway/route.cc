#include "gateway/route.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/header_value.h"
#include "convert/rest_json.h"
#include "google/api/annotations.pb.h"
#include "google/protobuf/struct.pb.h"
#include "gr4vy/rest/v1/annotations.pb.h"
#include "re2/re2.h"

namespace session_gateway {
namespace gateway {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

std::string Quote(absl::string_view value) {
  // Values in messages are caller input: show them escaped and short.
  std::string out = "\"";
  for (char c : value.substr(0, 64)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  if (value.size() > 64) out += "...";
  return out + "\"";
}

}  // namespace

std::string PercentEncodePathSegment(absl::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xF]);
    }
  }
  // "." and ".." are unreserved but mean something to path resolution.
  if (out == "." || out == "..") {
    std::string dots;
    for (size_t i = 0; i < out.size(); ++i) dots += "%2E";
    return dots;
  }
  return out;
}

absl::StatusOr<Route> Route::ForMethod(const google::protobuf::MethodDescriptor* method) {
  if (method == nullptr) return absl::InvalidArgumentError("no method");
  const google::api::HttpRule& rule = method->options().GetExtension(google::api::http);
  Route route;
  route.method_ = method;
  // Tokens are minted with exactly these scopes, so a method that declares
  // none could only ever be refused upstream: fail at start-up instead.
  const gr4vy::rest::v1::RestMethod& operation = method->options().GetExtension(gr4vy::rest::v1::method);
  if (operation.operation_id().empty() || operation.scopes().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        method->full_name(),
        " needs a (gr4vy.rest.v1.method) option with an operation_id and its OAuth scopes"));
  }
  route.operation_id_ = operation.operation_id();
  route.scopes_.assign(operation.scopes().begin(), operation.scopes().end());
  switch (rule.pattern_case()) {
    case google::api::HttpRule::kGet: route.http_method_ = "GET"; route.path_template_ = rule.get(); break;
    case google::api::HttpRule::kPost: route.http_method_ = "POST"; route.path_template_ = rule.post(); break;
    case google::api::HttpRule::kPut: route.http_method_ = "PUT"; route.path_template_ = rule.put(); break;
    case google::api::HttpRule::kPatch: route.http_method_ = "PATCH"; route.path_template_ = rule.patch(); break;
    case google::api::HttpRule::kDelete: route.http_method_ = "DELETE"; route.path_template_ = rule.delete_(); break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(method->full_name(), " has no supported google.api.http rule"));
  }
  const google::protobuf::Descriptor* input = method->input_type();
  auto add_binding = [&](const FieldDescriptor* field, std::string header) -> absl::Status {
    const gr4vy::rest::v1::RestField& options = field->options().GetExtension(gr4vy::rest::v1::field);
    Binding binding{field, std::move(header), nullptr};
    if (!options.pattern().empty()) {
      auto re = std::make_shared<re2::RE2>(options.pattern(), re2::RE2::Quiet);
      if (!re->ok()) {
        return absl::InvalidArgumentError(absl::StrCat(field->full_name(), ": bad pattern: ", re->error()));
      }
      binding.pattern = std::move(re);
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_STRING || field->is_repeated()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field->full_name(), ": only singular string fields can be bound to a path or header"));
    }
    route.bindings_.push_back(std::move(binding));
    return absl::OkStatus();
  };

  absl::string_view rest = route.path_template_;
  if (rest.empty() || rest[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": path must start with '/'"));
  }
  while (!rest.empty()) {
    size_t open = rest.find('{');
    if (open == absl::string_view::npos) {
      route.segments_.push_back(Segment{std::string(rest), nullptr});
      break;
    }
    if (open > 0) route.segments_.push_back(Segment{std::string(rest.substr(0, open)), nullptr});
    size_t close = rest.find('}', open);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": unbalanced '{' in path"));
    }
    std::string name(rest.substr(open + 1, close - open - 1));
    const FieldDescriptor* field = input->FindFieldByName(name);
    if (field == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          method->full_name(), ": path variable {", name, "} is not a field of ", input->full_name()));
    }
    if (absl::Status s = add_binding(field, ""); !s.ok()) return s;
    route.segments_.push_back(Segment{"", field});
    rest.remove_prefix(close + 1);
  }
  if (route.path_template_.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(method->full_name(), ": custom verbs are not supported"));
  }

  if (!rule.body().empty()) {
    route.body_field_ = input->FindFieldByName(rule.body());
    if (route.body_field_ == nullptr || route.body_field_->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InvalidArgumentError(absl::StrCat(
          method->full_name(), ": body \"", rule.body(), "\" must name a message field"));
    }
  }
  for (int i = 0; i < input->field_count(); ++i) {
    const FieldDescriptor* field = input->field(i);
    const std::string& header = field->options().GetExtension(gr4vy::rest::v1::field).header();
    if (header.empty()) continue;
    if (absl::Status s = add_binding(field, absl::AsciiStrToLower(header)); !s.ok()) return s;
    route.header_names_.push_back(route.bindings_.back().header);
  }
  for (int i = 0; i < input->field_count(); ++i) {
    const FieldDescriptor* field = input->field(i);
    if (field != route.body_field_ && route.FindBinding(field) == nullptr) {
      route.unbound_fields_.push_back(field);
    }
  }
  return route;
}

const Route::Binding* Route::FindBinding(const FieldDescriptor* field) const {
  for (const Binding& binding : bindings_) {
    if (binding.field == field) return &binding;
  }
  return nullptr;
}

absl::Status Route::CheckValue(const Binding& binding, absl::string_view value,
                               FieldViolation* violation) const {
  std::string reason;
  if (value.empty()) {
    reason = "must not be empty";
  } else if (ContainsCrLfNul(value)) {
    reason = absl::StrCat("must not contain CR, LF or NUL, got ", Quote(value));
  } else if (binding.pattern != nullptr && !re2::RE2::FullMatch(re2::StringPiece(value.data(), value.size()), *binding.pattern)) {
    reason = absl::StrCat("must match ", binding.pattern->pattern(), ", got ", Quote(value));
  }
  if (reason.empty()) return absl::OkStatus();
  std::string path = absl::StrCat("$.", binding.field->name());
  if (violation != nullptr) *violation = FieldViolation{path, reason};
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
}

absl::Status Route::CheckUnboundFieldsUnset(const Message& request, FieldViolation* violation) const {
  const google::protobuf::Reflection* reflection = request.GetReflection();
  for (const FieldDescriptor* field : unbound_fields_) {
    bool set = field->is_repeated() ? reflection->FieldSize(request, field) > 0
                                    : reflection->HasField(request, field);
    if (!set) continue;
    std::string path = absl::StrCat("$.", field->name());
    std::string reason = absl::StrCat("the API's ", operation_id_, " operation takes no ",
                                      absl::StrReplaceAll(field->name(), {{"_", " "}}));
    if (violation != nullptr) *violation = FieldViolation{path, reason};
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", reason));
  }
  return absl::OkStatus();
}

absl::StatusOr<UpstreamRequestParts> Route::Build(const Message& request, FieldViolation* violation,
                                                   int max_json_depth) const {
  if (absl::Status s = CheckUnboundFieldsUnset(request, violation); !s.ok()) return s;
  const google::protobuf::Reflection* reflection = request.GetReflection();
  UpstreamRequestParts parts;
  parts.method = http_method_;
  for (const Segment& segment : segments_) {
    if (segment.field == nullptr) {
      parts.path += segment.literal;
      continue;
    }
    std::string value = reflection->GetString(request, segment.field);
    if (absl::Status s = CheckValue(*FindBinding(segment.field), value, violation); !s.ok()) return s;
    parts.path += PercentEncodePathSegment(value);
  }
  for (const Binding& binding : bindings_) {
    if (binding.header.empty()) continue;
    if (!reflection->HasField(request, binding.field)) continue;
    std::string value = reflection->GetString(request, binding.field);
    if (absl::Status s = CheckValue(binding, value, violation); !s.ok()) return s;
    parts.headers.emplace_back(binding.header, std::move(value));
  }
  if (body_field_ != nullptr) {
    if (!reflection->HasField(request, body_field_)) {
      parts.body = "{}";
    } else {
      const Message& body = reflection->GetMessage(request, body_field_);
      absl::Status s;
      convert::PrintOptions print;
      print.max_depth = max_json_depth;
      if (const auto* as_struct = dynamic_cast<const google::protobuf::Struct*>(&body)) {
        s = convert::StructToJson(*as_struct, &parts.body, print);
      } else {
        s = convert::MessageToRestJson(body, &parts.body, print);
      }
      if (!s.ok()) {
        // The printer's path is relative to the body: anchor it.
        std::string message(s.message());
        if (absl::StartsWith(message, "$")) message.erase(0, 1);
        std::string path = absl::StrCat("$.", body_field_->name());
        if (violation != nullptr) *violation = FieldViolation{path, message};
        return absl::InvalidArgumentError(absl::StrCat(path, message));
      }
    }
  }
  return parts;
}

absl::Status Route::ValidateHeaderValue(absl::string_view header, absl::string_view value) const {
  for (const Binding& binding : bindings_) {
    if (binding.header == header) return CheckValue(binding, value, nullptr);
  }
  if (ContainsCrLfNul(value)) {
    return absl::InvalidArgumentError(absl::StrCat(header, ": must not contain CR, LF or NUL"));
  }
  return absl::OkStatus();
}


}  // namespace gateway
}  // namespace session_gateway
