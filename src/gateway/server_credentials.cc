#include "gateway/server_credentials.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "grpc/grpc_security_constants.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace session_gateway {
namespace gateway {
namespace {

absl::Status CheckReadable(const std::string& path, const char* flag) {
  if (!std::ifstream(path, std::ios::binary)) {
    return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read ", path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckServerTlsOptions(const ServerTlsOptions& options) {
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert_file and --tls_key_file go together");
  }
  if (!options.client_ca_file.empty() && options.cert_file.empty()) {
    return absl::InvalidArgumentError("--tls_client_ca_file needs --tls_cert_file and --tls_key_file");
  }
  if (options.reload_interval < absl::Seconds(1) || options.reload_interval > absl::Hours(24)) {
    return absl::InvalidArgumentError("--tls_reload_interval must be from 1s to 24h");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ServerTlsOptions& options) {
  if (absl::Status s = CheckServerTlsOptions(options); !s.ok()) return s;
  if (options.cert_file.empty()) return grpc::InsecureServerCredentials();
  if (absl::Status s = CheckReadable(options.cert_file, "--tls_cert_file"); !s.ok()) return s;
  if (absl::Status s = CheckReadable(options.key_file, "--tls_key_file"); !s.ok()) return s;
  if (!options.client_ca_file.empty()) {
    if (absl::Status s = CheckReadable(options.client_ca_file, "--tls_client_ca_file"); !s.ok()) return s;
  }
  // gRPC counts the interval in whole seconds; round up, so 1.5s is 2s
  // rather than a busier 1s.
  const auto seconds = static_cast<unsigned int>(
      absl::ToInt64Seconds(absl::Ceil(options.reload_interval, absl::Seconds(1))));
  // The provider reads the files once now, so the first handshake already
  // has them, then again on its own thread every `seconds`.
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      options.key_file, options.cert_file, options.client_ca_file, seconds);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (!options.client_ca_file.empty()) {
    tls.watch_root_certs();
    tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace gateway
}  // namespace session_gateway
