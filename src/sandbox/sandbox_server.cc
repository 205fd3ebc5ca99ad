#include "sandbox/sandbox_server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "convert/rest_json.h"
#include "google/protobuf/struct.pb.h"
#include "gr4vy/sessions/v1/session.pb.h"
#include "re2/re2.h"

namespace session_gateway {
namespace sandbox {
namespace {

using google::protobuf::Struct;

constexpr int kMaxSlowMs = 60000;

std::string NewSessionId() {
  thread_local absl::BitGen gen;
  return absl::StrFormat("sbx_%016x", absl::Uniform<uint64_t>(gen));
}

// The API's error shape.
std::string ErrorBody(int status, absl::string_view code, absl::string_view message,
                      absl::string_view location, absl::string_view pointer) {
  Struct error;
  auto& f = *error.mutable_fields();
  f["type"].set_string_value("error");
  f["code"].set_string_value(std::string(code));
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

absl::string_view CodeFor(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 401: return "unauthorized";
    case 403: return "forbidden";
    case 404: return "not_found";
    case 409: return "duplicate_record";
    case 429: return "too_many_requests";
    case 500: return "server_error";
    case 502: return "bad_gateway";
    case 503: return "service_unavailable";
    case 504: return "gateway_timeout";
    default: return "error";
  }
}

void SendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

// Handles one session request for `id`, already known to be well formed.
void HandleSession(const httplib::Request& req, httplib::Response& res, absl::string_view id_key,
                   const std::string& id) {
  // Triggers first: they stand for what the payment service would do.
  absl::string_view trigger = id;
  if (absl::ConsumePrefix(&trigger, "sandbox-fail-")) {
    int status = 0;
    if (absl::SimpleAtoi(trigger, &status) && status >= 400 && status <= 599) {
      if (status == 429 || status == 503) res.set_header("Retry-After", "1");
      if (status == 422) return SendJson(res, 422, ValidationBody("sandbox: rehearsed validation error"));
      return SendJson(res, status,
                      ErrorBody(status, CodeFor(status),
                                absl::StrCat("sandbox: rehearsed HTTP ", status, " error"), "path",
                                absl::StrCat("/", id_key)));
    }
  }
  if (absl::ConsumePrefix(&trigger, "sandbox-slow-") && absl::ConsumeSuffix(&trigger, "ms")) {
    int ms = 0;
    if (absl::SimpleAtoi(trigger, &ms) && ms >= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, kMaxSlowMs)));
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
    return SendJson(res, 415,
                    ErrorBody(415, "unsupported_media_type", "Content-Type must be application/json",
                              "header", "/Content-Type"));
  }
  if (absl::Status s = convert::JsonToStruct(req.body, &request_body); !s.ok()) {
    return SendJson(res, 400,
                    ErrorBody(400, "bad_request", absl::StrCat("Request body: ", s.message()), "body", "/"));
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
  body[std::string(id_key)].set_string_value(id);
  std::string merchant = req.get_header_value("x-gr4vy-merchant-account-id");
  body["merchantAccountId"].set_string_value(merchant.empty() ? "default" : merchant);
  *body["request"].mutable_struct_value() = std::move(request_body);
  body["sandbox"].set_bool_value(true);
  std::string out;
  (void)convert::MessageToRestJson(session, &out);
  SendJson(res, 201, std::move(out));
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
  server.Post(R"(/payment-services/([^/]+)/sessions)",
              [](const httplib::Request& req, httplib::Response& res) {
                const std::string& id = req.matches[1];
                if (!re2::RE2::FullMatch(id, kUuid)) {
                  return SendJson(res, 404,
                                  ErrorBody(404, "not_found", "The payment service could not be found",
                                            "path", "/payment_service_id"));
                }
                HandleSession(req, res, "paymentServiceId", id);
              });
  server.Post(R"(/payment-service-definitions/([^/]+)/sessions)",
              [](const httplib::Request& req, httplib::Response& res) {
                const std::string& id = req.matches[1];
                if (!re2::RE2::FullMatch(id, kSlug)) {
                  return SendJson(res, 404,
                                  ErrorBody(404, "not_found",
                                            "The payment service definition could not be found",
                                            "path", "/payment_service_definition_id"));
                }
                HandleSession(req, res, "paymentServiceDefinitionId", id);
              });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(ErrorBody(res.status, CodeFor(res.status), "sandbox: no such endpoint", "path", "/"),
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
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string SandboxServer::base_url() const {
  return absl::StrCat(scheme_, "://", host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_, ":", port_);
}

}  // namespace sandbox
}  // namespace session_gateway
