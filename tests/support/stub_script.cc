#include "support/stub_script.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace session_gateway {
namespace testing {
namespace {

constexpr absl::string_view kHugePrefix =
    R"({"type":"payment-service-session","status":"succeeded",)"
    R"("response_body":{"pad":")";
constexpr absl::string_view kHugeSuffix = R"("}})";

// Caps that keep a scripting mistake from wedging a test for minutes or
// asking the stub for absurd amounts of output.
constexpr int64_t kMaxDelayMs = int64_t{10} * 60 * 1000;
constexpr int64_t kMaxDripIntervalMs = int64_t{60} * 1000;
constexpr uint64_t kMaxHugeBytes = uint64_t{1} << 40;

struct ActionSpelling {
  const char* name;
  StubStep::Action action;
};

constexpr ActionSpelling kActions[] = {
    {"respond", StubStep::Action::kRespond},
    {"reset", StubStep::Action::kReset},
    {"close", StubStep::Action::kClose},
    {"hang", StubStep::Action::kHang},
    {"headers_then_stall", StubStep::Action::kHeadersThenStall},
    {"drip", StubStep::Action::kDrip},
    {"truncate", StubStep::Action::kTruncate},
    {"huge", StubStep::Action::kHuge},
    {"raw", StubStep::Action::kRaw},
};

bool IsHeaderName(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
           absl::string_view("!#$%&'*+-.^_`|~").find(c) !=
               absl::string_view::npos;
  });
}

bool IsHeaderValue(absl::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '\r' || c == '\n' || c == '\0';
  });
}

absl::string_view View(const rapidjson::Value& v) {
  return absl::string_view(v.GetString(), v.GetStringLength());
}

absl::Status ReadInt(const rapidjson::Value& value, absl::string_view where,
                     int64_t min, int64_t max, int64_t* out) {
  if (!value.IsInt64() || value.GetInt64() < min || value.GetInt64() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected an integer from ", min, " to ", max));
  }
  *out = value.GetInt64();
  return absl::OkStatus();
}

absl::Status ParseStep(const rapidjson::Value& object, absl::string_view where,
                       StubStep* step) {
  if (!object.IsObject()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": a step must be a JSON object"));
  }
  bool has_body = false;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    absl::string_view key = View(it->name);
    const rapidjson::Value& value = it->value;
    std::string field = absl::StrCat(where, ".", key);
    absl::Status status;
    int64_t number = 0;
    if (key == "status") {
      status = ReadInt(value, field, 100, 999, &number);
      step->status = static_cast<int>(number);
    } else if (key == "body" || key == "json") {
      if (has_body) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": \"body\" and \"json\" are exclusive"));
      }
      has_body = true;
      if (key == "body") {
        if (!value.IsString()) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ": expected a string"));
        }
        step->body = std::string(View(value));
      } else {
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
        value.Accept(writer);
        step->body = std::string(buffer.GetString(), buffer.GetSize());
      }
    } else if (key == "headers") {
      if (!value.IsObject()) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": expected an object of strings"));
      }
      for (auto h = value.MemberBegin(); h != value.MemberEnd(); ++h) {
        if (!IsHeaderName(View(h->name)) || !h->value.IsString() ||
            !IsHeaderValue(View(h->value))) {
          return absl::InvalidArgumentError(absl::StrCat(
              field, ".", View(h->name),
              ": expected a field name token with a one-line string value"));
        }
        step->headers.emplace_back(std::string(View(h->name)),
                                   std::string(View(h->value)));
      }
    } else if (key == "delay_ms") {
      status = ReadInt(value, field, 0, kMaxDelayMs, &step->delay_ms);
    } else if (key == "drip_interval_ms") {
      status =
          ReadInt(value, field, 0, kMaxDripIntervalMs, &step->drip_interval_ms);
    } else if (key == "size_bytes") {
      status = ReadInt(value, field, static_cast<int64_t>(MinHugeBodyBytes()),
                       static_cast<int64_t>(kMaxHugeBytes), &number);
      step->size_bytes = static_cast<uint64_t>(number);
    } else if (key == "action") {
      const ActionSpelling* found = nullptr;
      if (value.IsString()) {
        for (const ActionSpelling& spelling : kActions) {
          if (View(value) == spelling.name) found = &spelling;
        }
      }
      if (found == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(field,
                         ": expected one of respond, reset, close, hang, "
                         "headers_then_stall, drip, truncate, huge, raw"));
      }
      step->action = found->action;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": unknown step field"));
    }
    if (!status.ok()) return status;
  }
  if (step->action == StubStep::Action::kRaw && !step->body.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": action \"raw\" needs a \"body\""));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view HugeBodyPrefix() { return kHugePrefix; }
absl::string_view HugeBodySuffix() { return kHugeSuffix; }
uint64_t MinHugeBodyBytes() { return kHugePrefix.size() + kHugeSuffix.size(); }

std::string DefaultSessionBody(int64_t request_number) {
  return absl::StrCat(
      R"({"type":"payment-service-session","status":"succeeded",)"
      R"("status_code":201,"response_body":{"sessionId":"stub-)",
      request_number, R"("}})");
}

absl::StatusOr<std::vector<StubStep>> ParseStubScript(absl::string_view json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    return absl::InvalidArgumentError(
        absl::StrCat("script is not valid JSON: ",
                     rapidjson::GetParseError_En(document.GetParseError()),
                     " at offset ", document.GetErrorOffset()));
  }
  if (!document.IsArray()) {
    return absl::InvalidArgumentError("script must be a JSON array of steps");
  }
  std::vector<StubStep> steps;
  steps.reserve(document.Size());
  for (rapidjson::SizeType i = 0; i < document.Size(); ++i) {
    StubStep step;
    absl::Status status =
        ParseStep(document[i], absl::StrCat("$[", i, "]"), &step);
    if (!status.ok()) return status;
    steps.push_back(std::move(step));
  }
  return steps;
}

absl::string_view ActionName(StubStep::Action action) {
  for (const ActionSpelling& spelling : kActions) {
    if (spelling.action == action) return spelling.name;
  }
  return "?";
}

}  // namespace testing
}  // namespace session_gateway
