#include "gateway/session_service.h"

#include <limits>

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
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  static const google::protobuf::MethodDescriptor* method = Method("CreatePaymentServiceSession");
  return forwarder_.Forward(method, context, *request, response);
}

grpc::ServerUnaryReactor* SessionServiceImpl::CreatePaymentServiceDefinitionSession(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request, grpc::ByteBuffer* response) {
  static const google::protobuf::MethodDescriptor* method =
      Method("CreatePaymentServiceDefinitionSession");
  return forwarder_.Forward(method, context, *request, response);
}

int GrpcReceiveLimit(int max_request_bytes) {
  return max_request_bytes > std::numeric_limits<int>::max() / 2 ? std::numeric_limits<int>::max()
                                                                 : 2 * max_request_bytes;
}

}  // namespace gateway
}  // namespace session_gateway
