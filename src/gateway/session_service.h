// gr4vy.sessions.v1.SessionService on the gRPC callback API: each RPC is
// handed to the Forwarder, which owns the call from then on.
//
// The RPCs are served raw: gRPC hands over the request's bytes and takes
// the response's bytes, and the Forwarder parses and serializes the
// messages itself. gRPC's own deserializer would refuse a request nested
// deeper than protobuf's default limit, or any malformed one, with an empty
// UNIMPLEMENTED before our code runs, unlogged. The service keeps its name
// and method names, so server reflection lists and describes it as before.
#ifndef SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_
#define SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_

#include "absl/status/status.h"
#include "gateway/forwarder.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"

namespace session_gateway {
namespace gateway {

using RawSessionService = gr4vy::sessions::v1::SessionService::WithRawCallbackMethod_CreatePaymentServiceSession<
    gr4vy::sessions::v1::SessionService::WithRawCallbackMethod_CreatePaymentServiceDefinitionSession<
        gr4vy::sessions::v1::SessionService::Service>>;

class SessionServiceImpl final : public RawSessionService {
 public:
  // `forwarder` must outlive the service.
  explicit SessionServiceImpl(Forwarder* forwarder) : forwarder_(*forwarder) {}

  // Registers every RPC of the service with the forwarder.
  static absl::Status RegisterRoutes(Forwarder* forwarder);

  grpc::ServerUnaryReactor* CreatePaymentServiceSession(grpc::CallbackServerContext* context,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) override;

  grpc::ServerUnaryReactor* CreatePaymentServiceDefinitionSession(grpc::CallbackServerContext* context,
                                                                  const grpc::ByteBuffer* request,
                                                                  grpc::ByteBuffer* response) override;

 private:
  Forwarder& forwarder_;
};

// gRPC's receive limit for a gateway whose own is `max_request_bytes`.
// gRPC refuses a larger message itself, before any of our code runs, so it
// must sit above ours for the Forwarder to answer and log oversized
// requests: twice ours covers the usual "a bit too big" while still
// bounding what one call can make the server buffer. Beyond it, gRPC still
// answers RESOURCE_EXHAUSTED, but the call is not logged.
int GrpcReceiveLimit(int max_request_bytes);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_SESSION_SERVICE_H_
