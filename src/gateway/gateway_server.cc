#include "gateway/gateway_server.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/address_in_use.h"
#include "common/host_port.h"
#include "gateway/server_credentials.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace session_gateway {
namespace gateway {

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    GatewayOptions options, ForwarderDependencies dependencies) {
  absl::StatusOr<HostPort> listen = ParseHostPort(options.listen);
  if (!listen.ok()) return absl::InvalidArgumentError(absl::StrCat("--listen: ", listen.status().message()));
  std::unique_ptr<GatewayServer> gateway(new GatewayServer());
  options.forwarder.max_request_bytes = options.max_request_bytes;
  gateway->options_ = options;
  gateway->forwarder_ = std::make_unique<Forwarder>(options.forwarder, dependencies);
  if (absl::Status s = SessionServiceImpl::RegisterRoutes(gateway->forwarder_.get()); !s.ok()) {
    return s;
  }
  gateway->service_ = std::make_unique<SessionServiceImpl>(gateway->forwarder_.get());

  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = BuildServerCredentials(
      {options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file, options.tls_reload_interval});
  if (!credentials.ok()) return credentials.status();

  // The built-in health service does not register its schema; linking the
  // generated messages puts grpc.health.v1 in the descriptor pool, so that
  // reflection can describe it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  // Without this call, --as-needed linking drops the reflection plugin and
  // reflection answers UNIMPLEMENTED.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, *credentials, &port);
  // gRPC sets SO_REUSEPORT by default, so a second gateway on a port in use
  // would start and silently take half of the first one's connections.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(gateway->service_.get());
  builder.SetMaxReceiveMessageSize(GrpcReceiveLimit(options.max_request_bytes));
  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || port == 0) {
    if (AddressInUse(*listen)) {
      return absl::UnavailableError(absl::StrCat("--listen: ", options.listen, " is already in use"));
    }
    return absl::UnavailableError(absl::StrCat("--listen: cannot listen on ", options.listen));
  }
  const bool ipv6 = listen->host.find(':') != std::string::npos;
  gateway->address_ = absl::StrCat(ipv6 ? "[" : "", listen->host, ipv6 ? "]" : "", ":", port);
  gateway->SetServing(true);
  return gateway;
}

void GatewayServer::SetServing(bool serving) {
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  // The overall status ("") for load balancers, and the service's own for
  // clients that check the service they call.
  health->SetServingStatus(serving);
  health->SetServingStatus(gr4vy::sessions::v1::SessionService::service_full_name(), serving);
}

void GatewayServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  SetServing(false);
  forwarder_->BeginShutdown();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(options_.shutdown_grace));
  server_->Wait();
}

GatewayServer::~GatewayServer() {
  // Shutdown() returns once every call is done, so nothing of the
  // forwarder's is left with the HTTP client or the executor.
  if (server_ != nullptr) Shutdown();
}

}  // namespace gateway
}  // namespace session_gateway
