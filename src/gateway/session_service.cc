#include "gateway/session_service.h"

namespace session_gateway {
namespace gateway {
namespace {

// Generated gRPC classes carry no descriptor; the service lives in the
// same file as its request messages.
const google::protobuf::ServiceDescriptor* SessionServiceDescriptor() {
  return gr4vy::sessions::v1::CreatePaymentServiceSessionRequest::descriptor()->file()->FindServiceByName(
      "SessionService");
}

const google::protobuf::MethodDescriptor* Method(const char* name) {
  return SessionServiceDescriptor()->FindMethodByName(name);
}

}  // namespace

absl::Status SessionServiceImpl::RegisterRoutes(Forwarder* forwarder) {
  const google::protobuf::ServiceDescriptor* service = SessionServiceDescriptor();
  for (int i = 0; i < service->method_count(); ++i) {
    if (absl::Status s = forwarder->AddMethod(service->method(i)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* SessionServiceImpl::CreatePaymentServiceSession(
    grpc::CallbackServerContext* context,
    const gr4vy::sessions::v1::CreatePaymentServiceSessionRequest* request,
    gr4vy::sessions::v1::CreateSession* response) {
  static const google::protobuf::MethodDescriptor* method = Method("CreatePaymentServiceSession");
  return forwarder_.Forward(method, context, *request, response);
}

grpc::ServerUnaryReactor* SessionServiceImpl::CreatePaymentServiceDefinitionSession(
    grpc::CallbackServerContext* context,
    const gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest* request,
    gr4vy::sessions::v1::CreateSession* response) {
  static const google::protobuf::MethodDescriptor* method =
      Method("CreatePaymentServiceDefinitionSession");
  return forwarder_.Forward(method, context, *request, response);
}

}  // namespace gateway
}  // namespace session_gateway
