#include "gateway/forwarder.h"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gateway/gateway_metrics.h"
#include "gateway/trace_context.h"
#include "common/header_value.h"
#include "common/uuid.h"
#include "convert/rest_json.h"
#include "gateway/request_parser.h"
#include "gateway/status_mapping.h"
#include "grpcpp/alarm.h"
#include "grpcpp/impl/codegen/proto_utils.h"

namespace session_gateway {
namespace gateway {
namespace {

constexpr char kRequestIdHeader[] = "x-request-id";
constexpr char kAttemptsTrailer[] = "x-gateway-attempts";

// The caller's deadline timer and the server's race: a call cancelled this
// close to its deadline was cut by the deadline, as its caller sees it.
constexpr absl::Duration kDeadlineSlack = absl::Milliseconds(100);

// A request id only has to be unique, not unguessable, so a fast
// per-thread generator draws it.
std::string NewRequestId() {
  thread_local absl::BitGen gen;
  std::array<uint8_t, 16> random;
  for (uint8_t& byte : random) byte = absl::Uniform<uint8_t>(gen);
  return FormatUuidV4(random);
}

// A request id from the caller is echoed into logs and headers: keep it to
// visible ASCII of sensible length.
bool IsValidRequestId(absl::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// gRPC and absl share code numbers and names ("OK", "NOT_FOUND", ...).
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string Metadata(const grpc::CallbackServerContext& context, absl::string_view key) {
  auto range = context.client_metadata().equal_range(grpc::string_ref(key.data(), key.size()));
  if (range.first == range.second) return "";
  return std::string(range.first->second.data(), range.first->second.size());
}

bool HasMetadata(const grpc::CallbackServerContext& context, absl::string_view key) {
  return context.client_metadata().count(grpc::string_ref(key.data(), key.size())) > 0;
}

// The caller's authorization metadata, or "" if it sent none or only
// whitespace: an empty value must not replace the gateway's credentials.
std::string CallerAuthorization(const grpc::CallbackServerContext& context) {
  std::string value = Metadata(context, "authorization");
  if (absl::StripAsciiWhitespace(value).empty()) value.clear();
  return value;
}

// The call's trace context from its `traceparent` and `tracestate`
// metadata. A `traceparent` sent more than once is invalid (the spec), so
// it starts a new trace; several `tracestate` values are one list.
TraceContext TraceFor(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto parents = metadata.equal_range(kTraceParentHeader);
  std::string traceparent;
  if (parents.first != parents.second && std::next(parents.first) == parents.second) {
    traceparent.assign(parents.first->second.data(), parents.first->second.size());
  }
  std::string tracestate;
  auto states = metadata.equal_range(kTraceStateHeader);
  for (auto it = states.first; it != states.second; ++it) {
    if (!tracestate.empty()) tracestate.push_back(',');
    tracestate.append(it->second.data(), it->second.size());
  }
  thread_local absl::BitGen gen;
  return TraceContext::ForCall(traceparent, tracestate, gen);
}

// The caller's request id if valid, else a new one.
std::string RequestIdFor(const grpc::CallbackServerContext& context) {
  std::string id = Metadata(context, kRequestIdHeader);
  return IsValidRequestId(id) ? id : NewRequestId();
}

bool IsJsonContentType(absl::string_view content_type) {
  absl::string_view media = content_type.substr(0, content_type.find(';'));
  media = absl::StripAsciiWhitespace(media);
  return absl::EqualsIgnoreCase(media, "application/json") || absl::EndsWithIgnoreCase(media, "+json");
}

}  // namespace

// One call in flight. Exactly one asynchronous step (an HTTP exchange or a
// backoff alarm) is pending at a time until Finish(), so the completion of
// that step is the only thing that can finish the call, and nothing refers
// to the reactor once it has finished.
class ForwardCall final : public grpc::ServerUnaryReactor {
 public:
  ForwardCall(Forwarder* forwarder, const Forwarder::Method& method,
              grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
              grpc::ByteBuffer* response_bytes, AdmissionControl::Ticket ticket)
      : forwarder_(*forwarder),
        ticket_(std::move(ticket)),
        route_(*method.route),
        context_(*context),
        request_bytes_(*request_bytes),
        response_bytes_(response_bytes),
        request_message_(method.request_prototype->New()),
        response_message_(method.response_prototype->New()),
        request_(*request_message_),
        response_(response_message_.get()),
        started_(absl::Now()) {}

  // Begins the call; may finish it at once for an invalid request.
  void Start() {
    {
      absl::MutexLock lock(&mu_);
      StartLocked();
    }
    FinishIfDone();
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    cancel_code_ = forwarder_.CancelledCode(absl::FromChrono(context_.deadline()));
    if (http_id_ != 0) forwarder_.http_->Cancel(http_id_);
    if (alarm_ != nullptr) alarm_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  void StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendAttemptLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finish() must run without mu_ held, since it may lead to OnDone(),
  // which deletes this reactor, mutex included. So FinishLocked() only
  // records the status, and the entry point that recorded it takes it out
  // under the lock and calls Finish() after unlocking.
  void OnHttpDone(upstream::HttpResult result);
  void HandleResult(upstream::HttpResult result);
  // What to do after an attempt: finish with `status`, or retry after
  // `retry_delay`.
  struct Outcome {
    grpc::Status status;
    std::optional<absl::Duration> retry_delay;
  };
  Outcome Decode(const upstream::HttpResult& result);
  // Takes out the status FinishLocked() recorded, if any, and finishes.
  void FinishIfDone() ABSL_LOCKS_EXCLUDED(mu_);
  void OnBackoffDone(bool fired);
  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status CancelledStatusLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  grpc::Status SuccessStatus(const upstream::HttpResponse& response);
  CallFacts facts() const { return CallFacts{request_id_, attempts_}; }

  Forwarder& forwarder_;
  // The call's admission slot, freed when the reactor is deleted (after
  // gRPC has sent the status), so a call counts until it is really done.
  AdmissionControl::Ticket ticket_;
  const Route& route_;
  grpc::CallbackServerContext& context_;
  const grpc::ByteBuffer& request_bytes_;
  grpc::ByteBuffer* response_bytes_;
  // gRPC hands us bytes (so that parsing follows our limits and errors):
  // the messages are ours, parsed from and serialized into those bytes.
  const std::unique_ptr<google::protobuf::Message> request_message_;
  const std::unique_ptr<google::protobuf::Message> response_message_;
  const google::protobuf::Message& request_;
  google::protobuf::Message* response_;
  const absl::Time started_;

  // Fixed before the first attempt.
  upstream::HttpRequest prototype_;
  std::string request_id_;
  TraceContext trace_;
  std::string caller_authorization_;  // Empty: the gateway's credentials.
  absl::Time deadline_;

  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::StatusCode cancel_code_ ABSL_GUARDED_BY(mu_) = grpc::StatusCode::CANCELLED;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t http_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<grpc::Alarm> alarm_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  int attempts_ = 0;         // Written only by the single pending step.
  int upstream_status_ = 0;  // Last HTTP status seen, for the log.
};

void ForwardCall::StartLocked() {
  trace_ = TraceFor(context_);
  const std::string caller_id = Metadata(context_, kRequestIdHeader);
  request_id_ = caller_id.empty() ? NewRequestId() : caller_id;
  if (!caller_id.empty() && !IsValidRequestId(caller_id)) {
    request_id_ = NewRequestId();
    context_.AddInitialMetadata(kRequestIdHeader, request_id_);
    return FinishLocked(InvalidRequestStatus(
        "x-request-id metadata must be 1 to 128 visible ASCII characters",
        FieldViolation{"x-request-id", "must be 1 to 128 visible ASCII characters"}));
  }
  context_.AddInitialMetadata(kRequestIdHeader, request_id_);

  const ForwarderOptions& options = forwarder_.options_;
  if (static_cast<int64_t>(request_bytes_.Length()) > options.max_request_bytes) {
    return FinishLocked(SimpleStatus(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("request of ", request_bytes_.Length(), " bytes is larger than the limit of ",
                     options.max_request_bytes, " bytes (--max_request_bytes)")));
  }
  FieldViolation violation;
  if (absl::Status s = ParseRequest(request_bytes_, options.max_json_depth, request_message_.get(),
                                    &violation);
      !s.ok()) {
    return FinishLocked(InvalidRequestStatus(s.message(), violation));
  }
  absl::StatusOr<UpstreamRequestParts> parts = route_.Build(request_, &violation, options.max_json_depth);
  if (!parts.ok()) return FinishLocked(InvalidRequestStatus(parts.status().message(), violation));

  prototype_.method = parts->method;
  prototype_.url = absl::StrCat(options.upstream_base, parts->path);
  prototype_.body = std::move(parts->body);
  auto& headers = prototype_.headers;
  headers.emplace_back("content-type", "application/json");
  headers.emplace_back("accept", "application/json");
  headers.emplace_back("user-agent", options.user_agent);
  headers.emplace_back(kRequestIdHeader, request_id_);
  // W3C trace context: the gateway's span is the caller's child and the
  // upstream's parent.
  headers.emplace_back(kTraceParentHeader, std::string(trace_.traceparent()));
  if (!trace_.tracestate().empty()) headers.emplace_back(kTraceStateHeader, std::string(trace_.tracestate()));

  // Header-bound fields: the request field, else the caller's metadata,
  // else the gateway's default.
  for (const std::string& name : route_.HeaderNames()) {
    std::string value;
    for (const auto& [header, field_value] : parts->headers) {
      if (header == name) value = field_value;
    }
    if (value.empty() && HasMetadata(context_, name)) {
      value = Metadata(context_, name);
      if (absl::Status s = route_.ValidateHeaderValue(name, value); !s.ok()) {
        return FinishLocked(InvalidRequestStatus(
            absl::StrCat(name, " metadata: ", s.message()), FieldViolation{name, std::string(s.message())}));
      }
    }
    if (value.empty()) {
      auto it = options.default_headers.find(name);
      if (it != options.default_headers.end()) value = it->second;
    }
    if (!value.empty()) headers.emplace_back(name, value);
  }

  // The caller's own credentials win over the gateway's, which are made
  // per attempt (SendAttemptLocked).
  caller_authorization_ = CallerAuthorization(context_);
  if (!caller_authorization_.empty()) {
    if (ContainsCrLfNul(caller_authorization_)) {
      return FinishLocked(InvalidRequestStatus("authorization metadata must not contain CR, LF or NUL",
                                               FieldViolation{"authorization", "contains CR, LF or NUL"}));
    }
    headers.emplace_back("authorization", caller_authorization_);
  }

  deadline_ = std::min(started_ + options.upstream_timeout, absl::FromChrono(context_.deadline()));
  SendAttemptLocked();
}

void ForwardCall::SendAttemptLocked() {
  if (cancelled_) return FinishLocked(CancelledStatusLocked());
  upstream::HttpRequest request = prototype_;
  request.deadline = deadline_;
  if (caller_authorization_.empty() && forwarder_.tokens_ != nullptr) {
    // Asked per attempt, with exactly the scopes of this route's REST
    // operation; a caching source hands back the token it already holds.
    absl::StatusOr<std::string> authorization =
        forwarder_.tokens_->AuthorizationHeader(absl::Now(), route_.scopes());
    if (!authorization.ok()) {
      return FinishLocked(SimpleStatus(grpc::StatusCode::INTERNAL,
                                       absl::StrCat("cannot make upstream credentials: ",
                                                    authorization.status().message())));
    }
    request.headers.emplace_back("authorization", *std::move(authorization));
  }
  if (forwarder_.metrics_ != nullptr) forwarder_.metrics_->OnAttempt(/*retry=*/attempts_ > 0);
  ++attempts_;
  forwarder_.stats_.upstream_attempts.fetch_add(1, std::memory_order_relaxed);
  ticket_.BeginUpstream();
  forwarder_.UpdateWaitingGauge();
  http_id_ = forwarder_.http_->Start(std::move(request), [this](upstream::HttpResult result) {
    OnHttpDone(std::move(result));
  });
}

void ForwardCall::OnHttpDone(upstream::HttpResult result) {
  // The only pending step touches the ticket; the slot stays held.
  ticket_.EndUpstream();
  forwarder_.UpdateWaitingGauge();
  // This runs on the HTTP client's event loop, which every exchange
  // shares: decoding here (a 1 MiB body takes milliseconds) would stall
  // them all, so only hand the result over. The reactor stays alive until
  // the task finishes it: nothing else can while this step is pending.
  forwarder_.executor_->Run(
      [this, result = std::move(result)]() mutable { HandleResult(std::move(result)); });
}

void ForwardCall::HandleResult(upstream::HttpResult result) {
  bool cancelled;
  {
    absl::MutexLock lock(&mu_);
    http_id_ = 0;
    if (result.status.ok()) upstream_status_ = result.response.status;
    if (GatewayMetrics* metrics = forwarder_.metrics_; metrics != nullptr) {
      if (result.status.ok()) {
        metrics->OnUpstreamAnswer(result.response.status);
      } else if (!absl::IsCancelled(result.status)) {
        metrics->OnUpstreamTransportError();
      }
    }
    if (cancelled_ || absl::IsCancelled(result.status)) FinishLocked(CancelledStatusLocked());
    cancelled = finished_;
  }
  if (cancelled) return FinishIfDone();
  // Decoded without mu_, so that OnCancel (on a gRPC thread) never waits
  // for a large body; while this step is pending nothing else touches the
  // response or the attempt count.
  Outcome outcome = Decode(result);
  {
    absl::MutexLock lock(&mu_);
    if (!outcome.retry_delay.has_value()) {
      FinishLocked(outcome.status);
    } else if (cancelled_) {
      FinishLocked(CancelledStatusLocked());
    } else {
      alarm_ = std::make_unique<grpc::Alarm>();
      alarm_->Set(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(*outcome.retry_delay),
                  [this](bool fired) { OnBackoffDone(fired); });
    }
  }
  FinishIfDone();
}

ForwardCall::Outcome ForwardCall::Decode(const upstream::HttpResult& result) {
  if (result.status.ok() && result.response.status >= 200 && result.response.status < 300) {
    return {SuccessStatus(result.response), std::nullopt};
  }
  thread_local absl::BitGen gen;
  upstream::RetryPolicy::Decision decision = forwarder_.retry_policy_.Decide(
      attempts_, result, absl::Now(), deadline_, absl::Uniform<double>(gen, 0.0, 1.0));
  if (decision.retry) return {grpc::Status::OK, decision.delay};
  if (!result.status.ok()) {
    absl::Status failure = result.status;
    if (absl::IsDeadlineExceeded(failure)) {
      failure = absl::DeadlineExceededError(absl::StrCat(
          "upstream did not answer before the deadline (", failure.message(), ")"));
    }
    return {TransportErrorStatus(failure, facts()), std::nullopt};
  }
  return {UpstreamErrorStatus(result.response, facts()), std::nullopt};
}

void ForwardCall::FinishIfDone() {
  std::optional<grpc::Status> done;
  {
    absl::MutexLock lock(&mu_);
    done = std::exchange(finish_status_, std::nullopt);
  }
  if (done.has_value()) Finish(*done);
}

void ForwardCall::OnBackoffDone(bool fired) {
  {
    absl::MutexLock lock(&mu_);
    if (!fired || cancelled_) {
      FinishLocked(CancelledStatusLocked());
    } else {
      SendAttemptLocked();
    }
  }
  FinishIfDone();
}

grpc::Status ForwardCall::SuccessStatus(const upstream::HttpResponse& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "content-type" && !IsJsonContentType(value)) {
      return UnreadableSuccessStatus(
          response, absl::StrCat("Content-Type \"", value.substr(0, 64), "\", not JSON"), facts());
    }
  }
  convert::ParseOptions lenient;  // Responses are read as the SDKs read them.
  lenient.max_depth = forwarder_.options_.max_json_depth;
  absl::Status parsed = convert::RestJsonToMessage(response.body, response_, lenient);
  if (!parsed.ok()) {
    return UnreadableSuccessStatus(response,
                                   absl::StrCat("a body that is not a valid ",
                                                response_->GetDescriptor()->name(), ": ", parsed.message()),
                                   facts());
  }
  // Serialized here too, with the parse, off the HTTP client's thread and
  // outside the call's lock.
  bool own_buffer = false;
  grpc::Status serialized =
      grpc::SerializationTraits<google::protobuf::Message>::Serialize(*response_, response_bytes_, &own_buffer);
  if (!serialized.ok()) {
    return SimpleStatus(grpc::StatusCode::INTERNAL,
                        absl::StrCat("cannot serialize the response: ", serialized.error_message()));
  }
  return grpc::Status::OK;
}

grpc::Status ForwardCall::CancelledStatusLocked() const {
  switch (cancel_code_) {
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return SimpleStatus(cancel_code_, "the caller's deadline passed");
    case grpc::StatusCode::UNAVAILABLE:
      return SimpleStatus(cancel_code_, "the server is shutting down");
    default:
      return SimpleStatus(grpc::StatusCode::CANCELLED, "call cancelled");
  }
}

void ForwardCall::FinishLocked(const grpc::Status& given) {
  if (finished_) return;
  finished_ = true;
  // An OK status comes only from SuccessStatus(), which has already put
  // the response into response_bytes_.
  const grpc::Status& status = given;
  context_.AddTrailingMetadata(kAttemptsTrailer, std::to_string(attempts_));
  Forwarder& forwarder = forwarder_;
  if (status.ok()) forwarder.stats_.calls_ok.fetch_add(1, std::memory_order_relaxed);
  CallRecord record;
  record.timestamp = absl::Now();
  record.method = route_.method()->name();
  record.request_id = request_id_;
  record.trace_id = trace_.trace_id();
  record.upstream_status = upstream_status_;
  record.attempts = attempts_;
  record.latency = record.timestamp - started_;
  forwarder.ReportFinished(record, status.error_code());
  forwarder.stats_.calls_finished.fetch_add(1, std::memory_order_relaxed);
  finish_status_ = status;
}

Forwarder::Forwarder(ForwarderOptions options, ForwarderDependencies dependencies)
    : options_(std::move(options)),
      http_(dependencies.http),
      tokens_(dependencies.tokens),
      executor_(dependencies.executor),
      metrics_(dependencies.metrics),
      retry_policy_(options_.retry),
      admission_(options_.admission),
      log_sink_(STDERR_FILENO) {
  while (!options_.upstream_base.empty() && options_.upstream_base.back() == '/') {
    options_.upstream_base.pop_back();
  }
}

absl::Status Forwarder::AddMethod(const google::protobuf::MethodDescriptor* method) {
  absl::StatusOr<Route> route = Route::ForMethod(method);
  if (!route.ok()) return route.status();
  google::protobuf::MessageFactory* factory = google::protobuf::MessageFactory::generated_factory();
  const google::protobuf::Message* request = factory->GetPrototype(method->input_type());
  const google::protobuf::Message* response = factory->GetPrototype(method->output_type());
  if (request == nullptr || response == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(method->full_name(), ": its message types are not linked into the gateway"));
  }
  methods_[method] = Method{std::make_unique<Route>(*std::move(route)), request, response};
  return absl::OkStatus();
}

grpc::StatusCode Forwarder::CancelledCode(absl::Time call_deadline) const {
  if (absl::Now() + kDeadlineSlack >= call_deadline) return grpc::StatusCode::DEADLINE_EXCEEDED;
  // gRPC cancels the calls still running when the shutdown grace ends;
  // their callers see UNAVAILABLE.
  if (shutting_down_.load(std::memory_order_relaxed)) return grpc::StatusCode::UNAVAILABLE;
  return grpc::StatusCode::CANCELLED;
}

grpc::ServerUnaryReactor* Forwarder::Forward(const google::protobuf::MethodDescriptor* method,
                                             grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer& request,
                                             grpc::ByteBuffer* response) {
  stats_.calls_started.fetch_add(1, std::memory_order_relaxed);
  auto it = methods_.find(method);
  if (it == methods_.end()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(SimpleStatus(grpc::StatusCode::UNIMPLEMENTED, "method has no route"));
    stats_.calls_finished.fetch_add(1, std::memory_order_relaxed);
    return reactor;
  }
  if (metrics_ != nullptr) metrics_->OnCallStarted(it->first->name());
  // Admission first: a shed call costs no parsing, no memory for its
  // request beyond what gRPC holds, and no upstream work.
  AdmissionControl::Decision decision = admission_.TryAdmit();
  if (!decision.ticket.has_value()) return Shed(it->second, context, decision.shed_by);
  auto* call = new ForwardCall(this, it->second, context, &request, response, *std::move(decision.ticket));
  call->Start();
  return call;
}

grpc::ServerUnaryReactor* Forwarder::Shed(const Method& method, grpc::CallbackServerContext* context,
                                          AdmissionControl::Limit limit) {
  const absl::Time started = absl::Now();
  const std::string request_id = RequestIdFor(*context);
  context->AddInitialMetadata(kRequestIdHeader, request_id);
  const TraceContext trace = TraceFor(*context);
  const grpc::Status shed = admission_.ShedStatus(limit);
  const grpc::Status status = OverloadedStatus(shed.error_message(), AdmissionControl::LimitName(limit));
  CallRecord record;
  record.timestamp = absl::Now();
  record.method = method.route->method()->name();
  record.request_id = request_id;
  record.trace_id = trace.trace_id();
  record.latency = record.timestamp - started;
  record.shed = true;
  if (metrics_ != nullptr) metrics_->OnShed(record.method);
  ReportFinished(record, status.error_code());
  stats_.calls_finished.fetch_add(1, std::memory_order_relaxed);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

void Forwarder::ReportFinished(CallRecord record, grpc::StatusCode code) {
  if (metrics_ != nullptr) metrics_->OnCallFinished(record.method, code, record.latency);
  if (!options_.log_calls) return;
  // Never the request body or credentials: ids, codes and timing only.
  const std::string code_name = CodeName(code);
  record.grpc_code = code_name;
  log_sink_.Write(record, options_.log_format);
}

void Forwarder::UpdateWaitingGauge() {
  if (metrics_ != nullptr) metrics_->SetWaiting(admission_.calls_waiting());
}

}  // namespace gateway
}  // namespace session_gateway
