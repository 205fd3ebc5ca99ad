// gr4vy.sessions.v1.SessionService on the gRPC callback API: each RPC is
// handed to the Forwarder, which owns the call from then on.
#ifndef SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_
#define SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_

#include "absl/status/status.h"
#include "gateway/forwarder.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"

namespace session_gateway {
namespace gateway {

class SessionServiceImpl final : public gr4vy::sessions::v1::SessionService::CallbackService {
 public:
  // `forwarder` must outlive the service.
  explicit SessionServiceImpl(Forwarder* forwarder) : forwarder_(*forwarder) {}

  // Registers every RPC of the service with the forwarder.
  static absl::Status RegisterRoutes(Forwarder* forwarder);

  grpc::ServerUnaryReactor* CreatePaymentServiceSession(
      grpc::CallbackServerContext* context,
      const gr4vy::sessions::v1::CreatePaymentServiceSessionRequest* request,
      gr4vy::sessions::v1::CreateSession* response) override;

  grpc::ServerUnaryReactor* CreatePaymentServiceDefinitionSession(
      grpc::CallbackServerContext* context,
      const gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest* request,
      gr4vy::sessions::v1::CreateSession* response) override;

 private:
  Forwarder& forwarder_;
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_
