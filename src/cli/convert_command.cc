#include "cli/convert_command.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/json_depth.h"
#include "cli/proto_json.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "gr4vy/sessions/v1/session.pb.h"

namespace session_gateway {
namespace cli {
namespace {

using google::protobuf::Message;

std::unique_ptr<Message> NewMessage(absl::string_view name) {
  if (name == "CreateSession") return std::make_unique<gr4vy::sessions::v1::CreateSession>();
  if (name == "PaymentServiceSession") {
    return std::make_unique<gr4vy::sessions::v1::PaymentServiceSession>();
  }
  return nullptr;
}

absl::Status InputError(absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("$: ", reason));
}

// Collects text-format parse errors instead of letting protobuf log them.
class TextErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

absl::Status Read(const ConvertRequest& request, absl::string_view input, Message* message) {
  if (absl::Status s = input.size() > request.limits.max_input_bytes
                           ? InputError(absl::StrCat("input is ", input.size(),
                                                     " bytes, more than the limit of ",
                                                     request.limits.max_input_bytes, " bytes"))
                           : absl::OkStatus();
      !s.ok()) {
    return s;
  }
  // protobuf's parsers count message recursion: allow enough for
  // max_depth JSON levels, then count JSON levels exactly.
  const int recursion_limit = RecursionLimitFor(request.limits.max_depth);
  switch (request.from) {
    case Format::kRest: {
      convert::ParseOptions options = request.limits;
      options.strict = request.strict;
      return convert::RestJsonToMessage(input, message, options);
    }
    case Format::kProtoJson:
      return ProtoJsonToMessage(input, request.limits, /*ignore_unknown_fields=*/!request.strict,
                                message);
    case Format::kText: {
      google::protobuf::TextFormat::Parser parser;
      TextErrors errors;
      parser.RecordErrorsTo(&errors);
      parser.SetRecursionLimit(recursion_limit);
      if (!parser.ParseFromString(std::string(input), message)) {
        return InputError(errors.first().empty() ? "invalid text format" : errors.first());
      }
      return CheckJsonDepth(*message, request.limits.max_depth);
    }
    case Format::kBinary: {
      google::protobuf::io::CodedInputStream stream(
          reinterpret_cast<const uint8_t*>(input.data()), static_cast<int>(input.size()));
      stream.SetRecursionLimit(recursion_limit);
      if (!message->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
        return InputError(absl::StrCat("not a valid serialized ", message->GetTypeName()));
      }
      return CheckJsonDepth(*message, request.limits.max_depth);
    }
  }
  return absl::InternalError("unknown format");
}

absl::StatusOr<std::string> Write(const ConvertRequest& request, const Message& message) {
  std::string out;
  switch (request.to) {
    case Format::kRest: {
      convert::PrintOptions options;
      options.pretty = request.pretty;
      options.max_depth = request.limits.max_depth;
      if (absl::Status s = convert::MessageToRestJson(message, &out, options); !s.ok()) return s;
      out.push_back('\n');
      return out;
    }
    case Format::kProtoJson: {
      convert::PrintOptions options;
      options.pretty = request.pretty;
      options.max_depth = request.limits.max_depth;
      if (absl::Status s = MessageToProtoJson(message, options, &out); !s.ok()) return s;
      out.push_back('\n');
      return out;
    }
    case Format::kText:
      if (!google::protobuf::TextFormat::PrintToString(message, &out)) {
        return InputError("the message cannot be printed as text format");
      }
      return out;
    case Format::kBinary:
      if (!message.SerializeToString(&out)) return InputError("the message cannot be serialized");
      return out;
  }
  return absl::InternalError("unknown format");
}

}  // namespace

absl::StatusOr<Format> ParseFormat(absl::string_view name) {
  if (name == "rest") return Format::kRest;
  if (name == "protojson") return Format::kProtoJson;
  if (name == "text") return Format::kText;
  if (name == "binary") return Format::kBinary;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name, "\"; expected rest, protojson, text or binary"));
}

absl::StatusOr<std::string> Convert(const ConvertRequest& request, absl::string_view input) {
  std::unique_ptr<Message> message = NewMessage(request.message);
  if (message == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown message \"", request.message, "\"; expected CreateSession or PaymentServiceSession"));
  }
  if (absl::Status s = Read(request, input, message.get()); !s.ok()) return s;
  return Write(request, *message);
}

}  // namespace cli
}  // namespace session_gateway
