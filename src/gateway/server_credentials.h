// The gRPC server's transport security, from the gateway's TLS flags:
// plaintext, TLS, or TLS that requires a client certificate from a given CA
// (mutual TLS, so that only known services may call the gateway).
//
// The certificate, key and client CA are files re-read every
// `reload_interval` (gRPC's FileWatcherCertificateProvider): rotating them
// (cert-manager, a renewed Kubernetes Secret) needs no restart. New
// handshakes use the new files; open connections keep the session they
// negotiated. Replace the files atomically (a Kubernetes Secret volume
// swaps a symlink; by hand, write a new directory and rename it over, or
// swap a symlink): gRPC reads the certificate and key separately and a
// half-replaced pair fails handshakes until the next read.
//
// Usage:
//
//   ServerTlsOptions tls{.cert_file = "cert.pem", .key_file = "key.pem",
//                        .client_ca_file = "callers_ca.pem"};
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
//       BuildServerCredentials(tls);
//   if (!credentials.ok()) return credentials.status();  // Names the flag.
//   builder.AddListeningPort(address, *credentials, &port);
#ifndef SESSION_GATEWAY_GATEWAY_SERVER_CREDENTIALS_H_
#define SESSION_GATEWAY_GATEWAY_SERVER_CREDENTIALS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/server_credentials.h"

namespace session_gateway {
namespace gateway {

struct ServerTlsOptions {
  // PEM certificate chain and private key; both or neither (plaintext).
  std::string cert_file;
  std::string key_file;
  // PEM CA bundle. When set, a client must present a certificate that
  // chains to it, or the handshake fails. Needs cert_file and key_file.
  std::string client_ca_file;
  // How often the files are re-read; whole seconds, 1 s to 24 h.
  absl::Duration reload_interval = absl::Seconds(60);
};

// kInvalidArgument, naming the flag, unless `options` can describe a server:
// the certificate and key both or neither, a client CA only with them, the
// reload interval from 1 s to 24 h. Reads no file: for start-up checks of
// the flags, before anything runs.
absl::Status CheckServerTlsOptions(const ServerTlsOptions& options);

// The credentials for `options`. kInvalidArgument, naming the flag
// (--tls_cert_file, --tls_key_file, --tls_client_ca_file,
// --tls_reload_interval), for a missing partner file, an unreadable file or
// a reload interval out of range. Contents are not checked here beyond being
// readable: CheckTlsKeyPair and CheckTlsClientCaFile (common/tls_key_pair.h)
// say what is wrong with them.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> BuildServerCredentials(
    const ServerTlsOptions& options);

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_SERVER_CREDENTIALS_H_
