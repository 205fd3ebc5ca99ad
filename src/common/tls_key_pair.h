// Checks a TLS certificate and private key before a server is built with
// them. gRPC only reports "cannot listen" when the files are unreadable,
// not PEM, or do not belong together; this says which file is wrong.
//
// Usage:
//
//   if (absl::Status s = CheckTlsKeyPair(cert_file, key_file); !s.ok()) {
//     UsageError(s.message());  // e.g. "--tls_key_file does not match --tls_cert_file"
//   }
#ifndef SESSION_GATEWAY_COMMON_TLS_KEY_PAIR_H_
#define SESSION_GATEWAY_COMMON_TLS_KEY_PAIR_H_

#include <string>

#include "absl/status/status.h"

namespace session_gateway {

// kInvalidArgument unless `cert_file` holds a PEM certificate (the first of
// a chain), `key_file` an unencrypted PEM private key, and the key is the
// certificate's. Messages name the files by the flags every binary of ours
// takes them from, --tls_cert_file and --tls_key_file, and never quote
// their contents.
absl::Status CheckTlsKeyPair(const std::string& cert_file, const std::string& key_file);

// kInvalidArgument unless `ca_file` holds at least one PEM certificate: the
// CA bundle that client certificates must chain to (--tls_client_ca_file,
// the flag messages name). An empty or unreadable bundle would otherwise
// start a server that refuses every caller.
absl::Status CheckTlsClientCaFile(const std::string& ca_file);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_TLS_KEY_PAIR_H_
