#include "support/stub_upstream.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "rapidjson/document.h"
#include "rapidjson/error/en.h"
#include "support/http_client.h"

namespace session_gateway {
namespace testing {
namespace {

constexpr absl::string_view kReadyPrefix = "listening on ";
constexpr absl::string_view kReadyAddress = "listening on 127.0.0.1:";

std::string String(const rapidjson::Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

absl::StatusOr<rapidjson::Document> ParseJson(absl::string_view json,
                                              absl::string_view what) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  if (document.HasParseError()) {
    return absl::InternalError(
        absl::StrCat("stub_upstream sent invalid JSON for ", what, ": ",
                     rapidjson::GetParseError_En(document.GetParseError())));
  }
  return document;
}

absl::Status Malformed(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("unexpected JSON shape from stub_upstream: ", what));
}

}  // namespace

std::string RecordedRequest::Header(absl::string_view name) const {
  auto it = headers.find(absl::AsciiStrToLower(name));
  return it == headers.end() ? "" : it->second;
}

std::string RecordedRequest::DebugString() const {
  return absl::StrCat(method, " ", path, " (connection ", connection, ", ",
                      body.size(), " body bytes)");
}

absl::StatusOr<std::unique_ptr<StubUpstream>> StubUpstream::Start(
    const StubUpstreamOptions& options) {
  std::string binary = options.binary_path;
#ifdef STUB_UPSTREAM_PATH
  if (binary.empty()) binary = STUB_UPSTREAM_PATH;
#endif
  if (binary.empty()) {
    return absl::InvalidArgumentError(
        "no stub_upstream binary: set StubUpstreamOptions::binary_path");
  }
  ChildProcessOptions child;
  child.path = binary;
  child.args = {absl::StrCat("--port=", options.port),
                absl::StrCat("--max_lifetime=",
                             absl::FormatDuration(options.max_lifetime))};
  if (options.log_requests) child.args.push_back("--log_requests");
  child.args.insert(child.args.end(), options.extra_args.begin(),
                    options.extra_args.end());
  if (options.capture_stderr) {
    child.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
  }
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Start(child);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> ready =
      (*process)->ReadLineMatching(kReadyPrefix, options.start_timeout);
  if (!ready.ok()) return ready.status();
  int port = 0;
  if (!absl::StartsWith(*ready, kReadyAddress) ||
      !absl::SimpleAtoi(absl::string_view(*ready).substr(kReadyAddress.size()),
                        &port) ||
      port <= 0 || port > 65535) {
    return absl::InternalError(absl::StrCat(
        "unexpected ready line from stub_upstream: \"", *ready, "\""));
  }
  return std::unique_ptr<StubUpstream>(
      new StubUpstream(std::move(*process), port, options.control_timeout));
}

std::string StubUpstream::base_url() const {
  return absl::StrCat("http://127.0.0.1:", port_);
}

absl::StatusOr<std::string> StubUpstream::Control(absl::string_view method,
                                                  absl::string_view path,
                                                  absl::string_view body) {
  HttpHeaders headers;
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  absl::StatusOr<HttpResponse> response =
      HttpFetch(port_, method, path, body, headers, control_timeout_);
  if (!response.ok()) {
    return absl::Status(response.status().code(),
                        absl::StrCat("stub_upstream ", method, " ", path, ": ",
                                     response.status().message()));
  }
  if (response->status == 200) return std::move(response->body);
  std::string message =
      absl::StrCat("stub_upstream ", method, " ", path, " answered ",
                   response->status, ": ", response->body);
  if (response->status == 400) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

absl::Status StubUpstream::Script(absl::string_view json_steps) {
  return Control("POST", "/__stub/script", json_steps).status();
}

absl::Status StubUpstream::Reset() {
  return Control("POST", "/__stub/reset", "").status();
}

absl::StatusOr<std::vector<RecordedRequest>> StubUpstream::Requests() {
  absl::StatusOr<std::string> body = Control("GET", "/__stub/requests", "");
  if (!body.ok()) return body.status();
  absl::StatusOr<rapidjson::Document> document = ParseJson(*body, "requests");
  if (!document.ok()) return document.status();
  if (!document->IsArray()) return Malformed("requests is not an array");
  std::vector<RecordedRequest> requests;
  for (const rapidjson::Value& item : document->GetArray()) {
    if (!item.IsObject() || !item.HasMember("method") ||
        !item["method"].IsString() || !item.HasMember("path") ||
        !item["path"].IsString() || !item.HasMember("headers") ||
        !item["headers"].IsObject() || !item.HasMember("body") ||
        !item["body"].IsString() || !item.HasMember("connection") ||
        !item["connection"].IsInt64()) {
      return Malformed("request record");
    }
    RecordedRequest request;
    request.method = String(item["method"]);
    request.path = String(item["path"]);
    for (const auto& field : item["headers"].GetObject()) {
      if (!field.value.IsString()) return Malformed("header value");
      request.headers[String(field.name)] = String(field.value);
    }
    request.body = String(item["body"]);
    request.connection = item["connection"].GetInt64();
    requests.push_back(std::move(request));
  }
  return requests;
}

absl::StatusOr<std::vector<RecordedRequest>> StubUpstream::WaitForRequests(
    size_t count, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<std::vector<RecordedRequest>> requests = Requests();
    if (!requests.ok() || requests->size() >= count) return requests;
    if (absl::Now() >= deadline) {
      std::vector<std::string> seen;
      for (const RecordedRequest& request : *requests) {
        seen.push_back(request.DebugString());
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "stub_upstream recorded ", requests->size(), " of ", count,
          " requests within ", absl::FormatDuration(timeout), ": [",
          absl::StrJoin(seen, "; "), "]"));
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

absl::StatusOr<StubStats> StubUpstream::Stats() {
  absl::StatusOr<std::string> body = Control("GET", "/__stub/stats", "");
  if (!body.ok()) return body.status();
  absl::StatusOr<rapidjson::Document> document = ParseJson(*body, "stats");
  if (!document.ok()) return document.status();
  StubStats stats;
  std::pair<const char*, int64_t*> fields[] = {
      {"connections", &stats.connections},
      {"requests", &stats.requests},
      {"open_connections", &stats.open_connections},
      {"pending_steps", &stats.pending_steps},
      {"dropped_records", &stats.dropped_records},
  };
  if (!document->IsObject()) return Malformed("stats is not an object");
  for (const auto& field : fields) {
    auto it = document->FindMember(field.first);
    if (it == document->MemberEnd() || !it->value.IsInt64()) {
      return Malformed(absl::StrCat("stats.", field.first));
    }
    *field.second = it->value.GetInt64();
  }
  return stats;
}

}  // namespace testing
}  // namespace session_gateway
