// TLS trust for CurlHttpClient: which CA certificates verify an https
// upstream, and how that is handed to each libcurl transfer.
//
// The option CurlHttpClient::Options::ca_file means "trust this PEM file in
// addition to the system store". libcurl has no such mode: setting
// CURLOPT_CAINFO replaces its default bundle. TrustSettings finds a
// combination that keeps both, decided once per client rather than per
// request.
//
// Usage:
//
//   absl::StatusOr<TrustSettings> trust =
//       TrustSettings::Load(options.ca_file, SystemCaLocations::FromCurl());
//   if (!trust.ok()) return trust.status();
//   ...
//   CURLcode rc = trust->ApplyTo(easy);  // For every transfer.
//
// Verification itself (CURLOPT_SSL_VERIFYPEER/HOST) is always on and set
// by the transfer (upstream/curl_transfer.h), not here.

#ifndef SESSION_GATEWAY_UPSTREAM_CURL_TRUST_H_
#define SESSION_GATEWAY_UPSTREAM_CURL_TRUST_H_

#include <curl/curl.h>

#include <string>

#include "absl/status/statusor.h"

namespace session_gateway {
namespace upstream {

// Where the linked libcurl looks for the system's CA certificates when a
// transfer sets none (Debian: path /etc/ssl/certs and file
// /etc/ssl/certs/ca-certificates.crt). Either may be empty.
struct SystemCaLocations {
  std::string file;  // CURLINFO_CAINFO of a fresh easy handle.
  std::string path;  // CURLINFO_CAPATH of a fresh easy handle.

  // Asks libcurl (curl_global_init must have run). Empty fields if libcurl
  // cannot make an easy handle or has no default.
  static SystemCaLocations FromCurl();
};

// The CA settings every https transfer of one client gets. Immutable once
// loaded, so transfers on any thread may share one.
class TrustSettings {
 public:
  // No extra trust: libcurl's defaults (the system store).
  TrustSettings() = default;

  // Trusts the PEM file `ca_file` in addition to the `system` store; an
  // empty `ca_file` means the system store only. Returns kInvalidArgument,
  // naming the path, if the file cannot be read. The file is read now (so
  // an unreadable file fails client creation, not every request); its
  // contents are not parsed here: libcurl rejects a bad one per transfer
  // (CURLE_SSL_CACERT_BADFILE).
  static absl::StatusOr<TrustSettings> Load(const std::string& ca_file,
                                            const SystemCaLocations& system);

  // Sets CURLOPT_CAINFO / CURLOPT_CAPATH / CURLOPT_CAINFO_BLOB on `easy` as
  // needed. The blob is not copied: this object must outlive the transfer.
  CURLcode ApplyTo(CURL* easy) const;

  // What ApplyTo sets; empty means not set.
  const std::string& ca_file() const { return ca_file_; }
  const std::string& ca_path() const { return ca_path_; }
  // A PEM bundle, used only when the system store has no directory form;
  // it wins over ca_file and ca_path.
  const std::string& ca_blob() const { return ca_blob_; }

 private:
  std::string ca_file_;
  std::string ca_path_;
  std::string ca_blob_;
};

}  // namespace upstream
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_UPSTREAM_CURL_TRUST_H_
