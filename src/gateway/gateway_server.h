// The running gateway: a gRPC server with SessionService, server
// reflection and the standard health service, forwarding to the upstream
// through the HTTP client it is given. Health is SERVING, both overall
// ("") and for gr4vy.sessions.v1.SessionService, from Start() until
// Shutdown().
//
// The server makes none of its collaborators: the HTTP client, the
// credentials and the executor that decodes responses come from the caller
// (gateway_main.cc wires the real ones; tests pass a fake HTTP client), and
// must outlive the server.
//
// Usage:
//
//   ForwarderDependencies deps{http_client.get(), tokens.get(), &executor, metrics.get()};
//   absl::StatusOr<std::unique_ptr<GatewayServer>> server = GatewayServer::Start(options, deps);
//   std::printf("listening on %s\n", (*server)->address().c_str());
//   ...wait for SIGTERM...
//   (*server)->Shutdown();
#ifndef SESSION_GATEWAY_GATEWAY_GATEWAY_SERVER_H_
#define SESSION_GATEWAY_GATEWAY_GATEWAY_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/forwarder.h"
#include "gateway/session_service.h"
#include "grpcpp/server.h"

namespace session_gateway {
namespace gateway {

// The options mirror the gateway's flags, and Start()'s errors name an
// option by its flag (e.g. "--listen: 127.0.0.1:50051 is already in use").
struct GatewayOptions {
  // host:port ([ipv6]:port) to serve gRPC on; port 0 picks a free one (see
  // address()). A port another socket listens on is refused, not shared.
  std::string listen = "127.0.0.1:50051";
  // Largest gRPC request message accepted, in bytes.
  int max_request_bytes = 4 << 20;
  // On shutdown, how long calls in flight may take to finish before they
  // are cancelled.
  absl::Duration shutdown_grace = absl::Seconds(10);
  // Serve TLS with this certificate chain and key (PEM files) when both
  // are set; plaintext otherwise.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS: require client certificates signed by this PEM CA bundle.
  std::string tls_client_ca_file;
  // With TLS: how often the certificate, key and client CA files are
  // re-read (see server_credentials.h).
  absl::Duration tls_reload_interval = absl::Seconds(60);
  ForwarderOptions forwarder;
};

class GatewayServer {
 public:
  // Builds and starts the server, forwarding through `dependencies` (see
  // ForwarderDependencies: `http` and `executor` non-null, `tokens` may be
  // null), which must outlive the server.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(GatewayOptions options,
                                                              ForwarderDependencies dependencies);

  ~GatewayServer();

  // "host:port" actually listened on.
  const std::string& address() const { return address_; }

  // Graceful stop: health goes NOT_SERVING, new calls are refused, calls in
  // flight get `shutdown_grace` to finish. Idempotent; blocks until done.
  void Shutdown();

  const Forwarder& forwarder() const { return *forwarder_; }

 private:
  GatewayServer() = default;

  // Sets the health of the server and of SessionService.
  void SetServing(bool serving);

  GatewayOptions options_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<SessionServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_GATEWAY_SERVER_H_
