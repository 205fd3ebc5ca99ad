#include "gateway/gateway_server.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace session_gateway {
namespace gateway {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(
    GatewayOptions options, std::unique_ptr<upstream::TokenSource> tokens) {
  std::unique_ptr<GatewayServer> gateway(new GatewayServer());
  options.forwarder.max_request_bytes = options.max_request_bytes;
  gateway->options_ = options;
  gateway->tokens_ = std::move(tokens);

  absl::StatusOr<std::unique_ptr<upstream::CurlHttpClient>> http =
      upstream::CurlHttpClient::Create(options.http);
  if (!http.ok()) return http.status();
  gateway->http_ = *std::move(http);
  gateway->forwarder_ =
      std::make_unique<Forwarder>(options.forwarder, gateway->http_.get(), gateway->tokens_.get());
  if (absl::Status s = SessionServiceImpl::RegisterRoutes(gateway->forwarder_.get()); !s.ok()) {
    return s;
  }
  gateway->service_ = std::make_unique<SessionServiceImpl>(gateway->forwarder_.get());

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    absl::StatusOr<std::string> cert = ReadFile(options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadFile(options.tls_key_file);
    if (!key.ok()) return key.status();
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    credentials = grpc::SslServerCredentials(ssl);
  }

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
  builder.AddListeningPort(options.listen, credentials, &port);
  builder.RegisterService(gateway->service_.get());
  builder.SetMaxReceiveMessageSize(GrpcReceiveLimit(options.max_request_bytes));
  gateway->server_ = builder.BuildAndStart();
  if (gateway->server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  std::string host = options.listen.substr(0, options.listen.rfind(':'));
  gateway->address_ = absl::StrCat(host, ":", port);
  gateway->server_->GetHealthCheckService()->SetServingStatus(true);
  return gateway;
}

void GatewayServer::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  server_->GetHealthCheckService()->SetServingStatus(false);
  forwarder_->BeginShutdown();
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoNanoseconds(options_.shutdown_grace));
  server_->Wait();
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr) Shutdown();
  // The HTTP client goes before the forwarder: its destructor runs every
  // pending callback, and those reach into the forwarder's calls.
  http_.reset();
}

}  // namespace gateway
}  // namespace session_gateway
