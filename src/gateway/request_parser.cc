#include "gateway/request_parser.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "convert/internal/json_path.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace session_gateway {
namespace gateway {
namespace {

using convert::internal::FormatJsonPath;
using convert::internal::JsonPath;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

// protobuf logs an ERROR line for a string field holding invalid UTF-8
// before it fails the parse. That line is about the caller's input, which
// our answer already describes, so it is dropped: only while this thread
// is parsing a request, and never a FATAL one. Everything else still goes
// to the handler that was there before.
thread_local bool parsing_request = false;
google::protobuf::LogHandler* previous_log_handler = nullptr;

void DropLogsWhileParsing(google::protobuf::LogLevel level, const char* filename, int line,
                          const std::string& message) {
  if (parsing_request && level < google::protobuf::LOGLEVEL_FATAL) return;
  if (previous_log_handler != nullptr) previous_log_handler(level, filename, line, message);
}

void InstallLogFilterOnce() {
  static const bool installed = [] {
    previous_log_handler = google::protobuf::SetLogHandler(&DropLogsWhileParsing);
    return true;
  }();
  (void)installed;
}

// What is wrong with a request, for the status message and BadRequest.
struct Problem {
  std::string path;
  std::string reason;
};

// One field as it appears on the wire.
struct WireField {
  int number;
  WireFormatLite::WireType type;
  absl::string_view payload;  // Contents of a length-delimited field.
};

enum class Split { kOk, kTruncated, kMalformed };

// Splits the wire form of one message into its fields, as protobuf's
// parser reads them.
Split SplitFields(absl::string_view data, std::vector<WireField>* fields) {
  const int size = static_cast<int>(data.size());
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(data.data()), size);
  while (in.CurrentPosition() < size) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.CurrentPosition() >= size ? Split::kTruncated : Split::kMalformed;
    WireField field{WireFormatLite::GetTagFieldNumber(tag), WireFormatLite::GetTagWireType(tag), {}};
    if (field.number == 0) return Split::kMalformed;
    uint64_t u64;
    uint32_t u32;
    switch (field.type) {
      case WireFormatLite::WIRETYPE_VARINT:
        if (!in.ReadVarint64(&u64)) return Split::kTruncated;
        break;
      case WireFormatLite::WIRETYPE_FIXED64:
        if (!in.ReadLittleEndian64(&u64)) return Split::kTruncated;
        break;
      case WireFormatLite::WIRETYPE_FIXED32:
        if (!in.ReadLittleEndian32(&u32)) return Split::kTruncated;
        break;
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        if (!in.ReadVarint32(&u32)) return Split::kTruncated;
        const int start = in.CurrentPosition();
        if (u32 > static_cast<uint32_t>(size - start)) return Split::kTruncated;
        field.payload = data.substr(static_cast<size_t>(start), u32);
        in.Skip(static_cast<int>(u32));
        break;
      }
      case WireFormatLite::WIRETYPE_START_GROUP:
        if (!WireFormatLite::SkipField(&in, tag)) return Split::kMalformed;
        break;
      default:  // An END_GROUP with no group, or wire type 6 or 7.
        return Split::kMalformed;
    }
    fields->push_back(field);
  }
  return Split::kOk;
}

bool IsJsonType(const Descriptor* type) {
  return type->file()->name() == "google/protobuf/struct.proto";
}

bool ChecksUtf8(const FieldDescriptor* field) {
  return field->type() == FieldDescriptor::TYPE_STRING &&
         field->file()->syntax() == google::protobuf::FileDescriptor::SYNTAX_PROTO3;
}

// Finds why protobuf refused a request by walking its wire form with the
// request's descriptors, keeping the JSON path of where it is. Runs only
// after a parse failed, so it favours saying where over speed.
class FailureFinder {
 public:
  FailureFinder(int recursion_limit, int max_json_depth)
      : recursion_limit_(recursion_limit), max_json_depth_(max_json_depth) {}

  // The first problem in `data` read as a `type` at `depth` levels of
  // nesting, if any.
  std::optional<Problem> InMessage(absl::string_view data, const Descriptor* type,
                                   const JsonPath* path, int depth) const {
    std::vector<WireField> fields;
    if (std::optional<Problem> p = SplitOrProblem(data, type, path, &fields)) return p;
    absl::flat_hash_map<int, int64_t> seen;  // Elements so far, by field number.
    for (const WireField& wire : fields) {
      const FieldDescriptor* field = type->FindFieldByNumber(wire.number);
      // Anything else is either fine or kept as an unknown field.
      if (field == nullptr || wire.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) continue;
      const int64_t index = seen[wire.number]++;
      JsonPath nodes[2];
      const JsonPath* at = ChildPath(type, field, index, path, nodes);
      std::optional<Problem> problem;
      if (ChecksUtf8(field)) {
        problem = CheckUtf8(wire.payload, at, "is not valid UTF-8");
      } else if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
        if (depth + 1 > recursion_limit_) return TooDeep(at);
        problem = field->is_map() ? InMapEntry(wire.payload, field->message_type(), at, depth + 1)
                                  : InMessage(wire.payload, field->message_type(), at, depth + 1);
      }
      if (problem.has_value()) return problem;
    }
    return std::nullopt;
  }

 private:
  // A map entry: the key names the value's place, as a JSON member does.
  std::optional<Problem> InMapEntry(absl::string_view data, const Descriptor* entry,
                                    const JsonPath* path, int depth) const {
    std::vector<WireField> fields;
    if (std::optional<Problem> p = SplitOrProblem(data, entry, path, &fields)) return p;
    const FieldDescriptor* key_field = entry->map_key();
    const FieldDescriptor* value_field = entry->map_value();
    std::optional<absl::string_view> key, value;
    for (const WireField& wire : fields) {  // The last of each wins, as in protobuf.
      if (wire.type != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) continue;
      if (wire.number == key_field->number()) key = wire.payload;
      if (wire.number == value_field->number()) value = wire.payload;
    }
    const JsonPath* at = path;
    JsonPath member;
    if (key.has_value() && ChecksUtf8(key_field)) {
      if (std::optional<Problem> p = CheckUtf8(*key, path, "has a key that is not valid UTF-8")) return p;
      member = JsonPath::Member(path, *key);
      at = &member;
    }
    if (!value.has_value()) return std::nullopt;
    if (ChecksUtf8(value_field)) return CheckUtf8(*value, at, "is not valid UTF-8");
    if (value_field->type() != FieldDescriptor::TYPE_MESSAGE) return std::nullopt;
    if (depth + 1 > recursion_limit_) return TooDeep(at);
    return InMessage(*value, value_field->message_type(), at, depth + 1);
  }

  // Where a field's value sits in the request's JSON form. Struct, Value
  // and ListValue are JSON themselves and add no member of their own.
  static const JsonPath* ChildPath(const Descriptor* type, const FieldDescriptor* field,
                                   int64_t index, const JsonPath* path, JsonPath nodes[2]) {
    if (IsJsonType(type)) {
      if (!field->is_repeated() || field->is_map()) return path;
      nodes[0] = JsonPath::Element(path, index);  // ListValue.values.
      return &nodes[0];
    }
    nodes[0] = JsonPath::Member(path, field->name());
    if (!field->is_repeated() || field->is_map()) return &nodes[0];
    nodes[1] = JsonPath::Element(&nodes[0], index);
    return &nodes[1];
  }

  std::optional<Problem> SplitOrProblem(absl::string_view data, const Descriptor* type,
                                        const JsonPath* path, std::vector<WireField>* fields) const {
    switch (SplitFields(data, fields)) {
      case Split::kOk:
        return std::nullopt;
      case Split::kTruncated:
        return Problem{FormatJsonPath(path), "is truncated: the request ends in the middle of a field"};
      case Split::kMalformed:
        break;
    }
    return Problem{FormatJsonPath(path),
                   absl::StrCat("is not a valid protobuf encoding of ", type->full_name())};
  }

  static std::optional<Problem> CheckUtf8(absl::string_view text, const JsonPath* path,
                                          const char* reason) {
    if (google::protobuf::internal::IsStructurallyValidUTF8(text.data(), static_cast<int>(text.size()))) {
      return std::nullopt;
    }
    return Problem{FormatJsonPath(path), reason};
  }

  std::optional<Problem> TooDeep(const JsonPath* path) const {
    return Problem{FormatJsonPath(path), absl::StrCat("is nested deeper than --max_json_depth (",
                                                      max_json_depth_, " levels)")};
  }

  const int recursion_limit_;
  const int max_json_depth_;
};

std::string Flatten(const grpc::ByteBuffer& bytes) {
  std::vector<grpc::Slice> slices;
  std::string flat;
  if (!bytes.Dump(&slices).ok()) return flat;
  for (const grpc::Slice& slice : slices) {
    flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return flat;
}

}  // namespace

int RequestRecursionLimit(int max_json_depth) {
  // protobuf counts nested messages only, and the body is a field of the
  // request itself, so a body's JSON level N ends at level 3N (its Struct,
  // map entry and Value): nothing is fixed above the body's first level.
  constexpr int kLevelsAboveBody = 0;
  return kLevelsAboveBody + 3 * max_json_depth;
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, int max_json_depth,
                          google::protobuf::Message* request, FieldViolation* violation) {
  InstallLogFilterOnce();
  request->Clear();
  // gRPC may hand over no buffer at all for a request of zero bytes, which
  // is a valid, empty message.
  if (!bytes.Valid()) return absl::OkStatus();
  const int limit = RequestRecursionLimit(max_json_depth);
  grpc::ByteBuffer shared(bytes);  // The reader wants a mutable buffer; this shares the slices.
  bool parsed = false;
  {
    grpc::ProtoBufferReader reader(&shared);
    google::protobuf::io::CodedInputStream input(&reader);
    input.SetRecursionLimit(limit);
    parsing_request = true;
    parsed = reader.status().ok() && request->ParseFromCodedStream(&input) &&
             input.ConsumedEntireMessage();
    parsing_request = false;
  }
  if (parsed) return absl::OkStatus();

  std::optional<Problem> problem =
      FailureFinder(limit, max_json_depth).InMessage(Flatten(bytes), request->GetDescriptor(), nullptr, 0);
  if (!problem.has_value()) {
    problem = Problem{"$", absl::StrCat("is not a valid protobuf encoding of ",
                                        request->GetDescriptor()->full_name())};
  }
  if (violation != nullptr) *violation = FieldViolation{problem->path, problem->reason};
  return absl::InvalidArgumentError(absl::StrCat(problem->path, ": ", problem->reason));
}

}  // namespace gateway
}  // namespace session_gateway
