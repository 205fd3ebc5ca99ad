#include "sandbox/sandbox_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "convert/rest_json.h"
#include "google/protobuf/struct.pb.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "re2/re2.h"

namespace session_gateway {
namespace sandbox {
namespace {

using google::protobuf::Struct;

constexpr int kMinFailStatus = 400;
constexpr int kMaxFailStatus = 599;
constexpr int kMaxSlowMs = 60000;

std::string NewSessionId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("sbx_%016x", absl::Uniform<uint64_t>(gen));
}

// The error `code` the API's document gives each status it declares for
// the session operations (its Error400...Error504 schemas). Statuses it
// does not declare, which the sandbox can still rehearse, have no schema:
// those the sandbox answers itself get their reason phrase in the same
// style, any other the generic "error".
absl::string_view CodeFor(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 409: return "duplicate_record";
    case 415: return "unsupported_media_type";
    case 425: return "too_early";
    case 429: return "too_many_requests";
    case 500: return "server_error";
    case 501: return "not_implemented";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    default: return "error";
  }
}

// The API's error shape (its Error<status> schemas): one ErrorDetail, whose
// location must be one of the document's ErrorLocation values.
std::string ErrorBody(int status, absl::string_view message, absl::string_view location,
                      absl::string_view pointer) {
  Struct error;
  auto& f = *error.mutable_fields();
  f["type"].set_string_value("error");
  f["code"].set_string_value(std::string(CodeFor(status)));
  f["status"].set_number_value(status);
  f["message"].set_string_value(std::string(message));
  Struct detail;
  auto& d = *detail.mutable_fields();
  d["location"].set_string_value(std::string(location));
  d["pointer"].set_string_value(std::string(pointer));
  d["message"].set_string_value(std::string(message));
  d["type"].set_string_value("value_error");
  *f["details"].mutable_list_value()->add_values()->mutable_struct_value() = detail;
  std::string out;
  (void)convert::StructToJson(error, &out);
  return out;
}

std::string ValidationBody(absl::string_view message) {
  Struct body;
  Struct item;
  auto& i = *item.mutable_fields();
  auto* loc = i["loc"].mutable_list_value();
  loc->add_values()->set_string_value("body");
  i["msg"].set_string_value(std::string(message));
  i["type"].set_string_value("value_error");
  *(*body.mutable_fields())["detail"].mutable_list_value()->add_values()->mutable_struct_value() = item;
  std::string out;
  (void)convert::StructToJson(body, &out);
  return out;
}

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

void SendError(httplib::Response& res, int status, absl::string_view message, absl::string_view location,
               absl::string_view pointer) {
  SendJson(res, status, ErrorBody(status, message, location, pointer));
}

// A trigger's number, e.g. the 503 of sandbox-fail-503; nullopt unless it
// is decimal digits within [low, high].
std::optional<int> TriggerNumber(absl::string_view text, int low, int high) {
  if (text.empty() || text.size() > 9) return std::nullopt;  // 9 digits cannot overflow an int.
  for (char c : text) {
    if (!absl::ascii_isdigit(c)) return std::nullopt;
  }
  int number = 0;
  if (!absl::SimpleAtoi(text, &number) || number < low || number > high) return std::nullopt;
  return number;
}

// A reserved trigger prefix with a value the sandbox cannot honour is the
// caller's mistake: say so, rather than answer a success it did not ask for.
void SendBadTrigger(httplib::Response& res, absl::string_view path_parameter, const std::string& id,
                    absl::string_view form) {
  SendError(res, 400, absl::StrCat("sandbox: bad trigger ", id, ": ", form), "path",
            absl::StrCat("/", path_parameter));
}

// The id a session request names: its path parameter as the API's document
// names it (error details point at it) and the key that echoes it in the
// sandbox's response_body.
struct SessionId {
  absl::string_view path_parameter;  // e.g. "payment_service_definition_id"
  absl::string_view body_key;        // e.g. "paymentServiceDefinitionId"
};

// Handles one session request for `id`, already known to be well formed.
// `stopping` is notified when the sandbox stops, and cuts short a slow
// answer so that stopping never waits for one.
void HandleSession(const httplib::Request& req, httplib::Response& res, SessionId id_names,
                   const std::string& id, absl::Notification& stopping) {
  // Triggers first: they stand for what the payment service would do.
  absl::string_view trigger = id;
  if (absl::ConsumePrefix(&trigger, "sandbox-fail-")) {
    std::optional<int> status = TriggerNumber(trigger, kMinFailStatus, kMaxFailStatus);
    if (!status.has_value()) {
      return SendBadTrigger(res, id_names.path_parameter, id,
                            absl::StrCat("sandbox-fail-<status> takes a status in ", kMinFailStatus, "-",
                                         kMaxFailStatus));
    }
    if (*status == 429 || *status == 503) res.set_header("Retry-After", "1");
    if (*status == 422) return SendJson(res, 422, ValidationBody("sandbox: rehearsed validation error"));
    return SendError(res, *status, absl::StrCat("sandbox: rehearsed HTTP ", *status, " error"), "path",
                     absl::StrCat("/", id_names.path_parameter));
  }
  if (absl::ConsumePrefix(&trigger, "sandbox-slow-")) {
    std::optional<int> ms;
    if (absl::ConsumeSuffix(&trigger, "ms")) ms = TriggerNumber(trigger, 0, kMaxSlowMs);
    if (!ms.has_value()) {
      return SendBadTrigger(res, id_names.path_parameter, id,
                            absl::StrCat("sandbox-slow-<N>ms takes N in 0-", kMaxSlowMs));
    }
    if (stopping.WaitForNotificationWithTimeout(absl::Milliseconds(*ms))) {
      return SendError(res, 503, "sandbox: stopping", "unknown", "/");
    }
  }
  if (id == "sandbox-invalid-json") {
    res.status = 200;
    res.set_content("{\"type\":\"payment-service-session\",", "application/json");
    return;
  }

  Struct request_body;
  const std::string content_type = req.get_header_value("Content-Type");
  if (!absl::StartsWithIgnoreCase(content_type, "application/json")) {
    return SendError(res, 415, "Content-Type must be application/json", "header", "/Content-Type");
  }
  if (absl::Status s = convert::JsonToStruct(req.body, &request_body); !s.ok()) {
    return SendError(res, 400, absl::StrCat("Request body: ", s.message()), "body", "/");
  }

  gr4vy::sessions::v1::CreateSession session;
  session.set_type("payment-service-session");
  if (id == "sandbox-failed-session") {
    session.set_status(gr4vy::sessions::v1::CREATE_SESSION_STATUS_FAILED);
    session.set_code("UNKNOWN_ERROR");
    session.set_status_code(502);
    (*session.mutable_response_body()->mutable_fields())["error"].set_string_value(
        "sandbox: the payment service could not create a session");
    std::string out;
    (void)convert::MessageToRestJson(session, &out);
    return SendJson(res, 200, std::move(out));
  }
  session.set_status(gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED);
  session.set_status_code(201);
  auto& body = *session.mutable_response_body()->mutable_fields();
  body["sessionId"].set_string_value(NewSessionId());
  body[std::string(id_names.body_key)].set_string_value(id);
  std::string merchant = req.get_header_value("x-gr4vy-merchant-account-id");
  body["merchantAccountId"].set_string_value(merchant.empty() ? "default" : merchant);
  *body["request"].mutable_struct_value() = std::move(request_body);
  body["sandbox"].set_bool_value(true);
  std::string out;
  (void)convert::MessageToRestJson(session, &out);
  // The API answers 200 (not 201) for a created session; status_code above
  // is the payment service's own status.
  SendJson(res, 200, std::move(out));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxServer>> SandboxServer::Start(const SandboxOptions& options) {
  auto sandbox = std::unique_ptr<SandboxServer>(new SandboxServer());
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError("sandbox: TLS needs both a certificate and a key");
  }
  if (!options.tls_cert_file.empty()) {
    auto tls = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                    options.tls_key_file.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError("sandbox: cannot load the TLS certificate or key");
    }
    sandbox->server_ = std::move(tls);
    sandbox->scheme_ = "https";
  } else {
    sandbox->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *sandbox->server_;
  const int threads = std::max(1, options.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  // Serve a keep-alive connection for as long as the client keeps it, as
  // the real API's load balancers do: the gateway reuses its connections.
  server.set_keep_alive_max_count(1000000);
  server.set_keep_alive_timeout(60);
  server.set_payload_max_length(size_t{4} << 20);
  // cpp-httplib writes a response's headers and body in two send() calls;
  // with Nagle on, every keep-alive response after the first then waits
  // for the client's delayed ACK (~40 ms). Accepted sockets inherit
  // TCP_NODELAY from the listening socket.
  server.set_socket_options([](socket_t sock) {
    int one = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  });

  static const re2::RE2 kUuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  static const re2::RE2 kSlug("[a-z0-9][a-z0-9-]{0,63}");
  absl::Notification& stopping = sandbox->stopping_;
  server.Post(R"(/payment-services/([^/]+)/sessions)",
              [&stopping](const httplib::Request& req, httplib::Response& res) {
                const std::string& id = req.matches[1];
                if (!re2::RE2::FullMatch(id, kUuid)) {
                  return SendError(res, 404, "The payment service could not be found", "path",
                                   "/payment_service_id");
                }
                HandleSession(req, res, {"payment_service_id", "paymentServiceId"}, id, stopping);
              });
  server.Post(R"(/payment-service-definitions/([^/]+)/sessions)",
              [&stopping](const httplib::Request& req, httplib::Response& res) {
                const std::string& id = req.matches[1];
                if (!re2::RE2::FullMatch(id, kSlug)) {
                  return SendError(res, 404, "The payment service definition could not be found", "path",
                                   "/payment_service_definition_id");
                }
                HandleSession(req, res, {"payment_service_definition_id", "paymentServiceDefinitionId"}, id, stopping);
              });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(ErrorBody(res.status, "sandbox: no such endpoint", "path", "/"),
                      "application/json");
    }
  });

  int port = options.port == 0 ? server.bind_to_any_port(options.host)
                               : (server.bind_to_port(options.host, options.port) ? options.port : -1);
  if (port <= 0) {
    return absl::UnavailableError(absl::StrCat("sandbox: cannot listen on ", options.host, ":", options.port));
  }
  sandbox->host_ = options.host;
  sandbox->port_ = port;
  sandbox->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // The socket is bound, so early connections wait in the backlog; still,
  // return only once the accept loop runs (bounded wait).
  for (int i = 0; i < 1000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return sandbox;
}

SandboxServer::~SandboxServer() {
  // Wake slow answers first: stop() joins the worker threads, which would
  // otherwise sleep out their full delay.
  stopping_.Notify();
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string SandboxServer::base_url() const {
  return absl::StrCat(scheme_, "://", host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_, ":", port_);
}

}  // namespace sandbox
}  // namespace session_gateway
