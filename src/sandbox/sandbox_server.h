// A built-in stand-in for the Gr4vy REST session API, so that a newcomer
// can run the gateway with no account. It speaks the same HTTP as the real
// API: it validates the path and the JSON body, answers a CreateSession in
// REST JSON, and answers errors in the API's error shape.
//
// Documented triggers (payment service definition ids) rehearse failures:
//   sandbox-fail-<status>    an error answer with that HTTP status (400-599),
//                            in the API's error shape with the code its
//                            document gives that status (422: validation
//                            shape; 429 and 503 carry Retry-After: 1)
//   sandbox-slow-<N>ms       success after N milliseconds (0-60000); cut
//                            short with a 503 if the sandbox stops meanwhile
//   sandbox-failed-session   200 with a `failed` session, code UNKNOWN_ERROR
//   sandbox-invalid-json     200 with a body that is not JSON
// An id with one of the first two prefixes but a value out of range or not
// a number (sandbox-fail-600, sandbox-slow-5s) is answered 400 naming the
// trigger and its range. Anything else that is a valid id succeeds, as the
// API does, with HTTP 200 and a CreateSession of status `succeeded`,
// status_code 201 (the payment service's status) and a response_body
// holding a generated sessionId and what the request asked for.
//
// Usage:
//
//   auto sandbox = SandboxServer::Start({.host = "127.0.0.1", .port = 0});
//   std::string url = (*sandbox)->base_url();  // "http://127.0.0.1:41234"
#ifndef SESSION_GATEWAY_SANDBOX_SANDBOX_SERVER_H_
#define SESSION_GATEWAY_SANDBOX_SANDBOX_SERVER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"

namespace httplib {
class Server;
}

namespace session_gateway {
namespace sandbox {

struct SandboxOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: any free port.
  // Worker threads. cpp-httplib keeps a keep-alive connection on one thread
  // for its whole life, so this bounds the connections served at once: keep
  // it above the gateway's --max_upstream_connections.
  int threads = 128;
  // Serve https with this PEM certificate chain and key when both are set
  // (to rehearse an https upstream, e.g. with a private CA).
  std::string tls_cert_file;
  std::string tls_key_file;
};

class SandboxServer {
 public:
  // Binds and starts serving on a background thread.
  static absl::StatusOr<std::unique_ptr<SandboxServer>> Start(const SandboxOptions& options);

  // Stops serving and joins the threads, waking slow answers first.
  ~SandboxServer();

  int port() const { return port_; }
  // "http://host:port" (or https), with no trailing slash.
  std::string base_url() const;

 private:
  SandboxServer() = default;

  // Notified when stopping; slow answers wait on it rather than sleep.
  absl::Notification stopping_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  std::string scheme_ = "http";
  int port_ = 0;
};

}  // namespace sandbox
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_SANDBOX_SANDBOX_SERVER_H_
