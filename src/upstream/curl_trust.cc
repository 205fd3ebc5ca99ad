#include "upstream/curl_trust.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/read_file.h"

namespace session_gateway {
namespace upstream {
namespace {

std::string GetInfoString(CURL* easy, CURLINFO info) {
  char* value = nullptr;
  if (curl_easy_getinfo(easy, info, &value) != CURLE_OK || value == nullptr) {
    return "";
  }
  return value;
}

}  // namespace

SystemCaLocations SystemCaLocations::FromCurl() {
  SystemCaLocations locations;
  CURL* probe = curl_easy_init();
  if (probe == nullptr) return locations;
  locations.file = GetInfoString(probe, CURLINFO_CAINFO);
  locations.path = GetInfoString(probe, CURLINFO_CAPATH);
  curl_easy_cleanup(probe);
  return locations;
}

absl::StatusOr<TrustSettings> TrustSettings::Load(
    const std::string& ca_file, const SystemCaLocations& system) {
  TrustSettings trust;
  if (ca_file.empty()) return trust;
  absl::StatusOr<std::string> extra = ReadFile(ca_file);
  if (!extra.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("ca_file: ", extra.status().message()));
  }
  if (!system.path.empty()) {
    // The usual case (Debian: /etc/ssl/certs): the system store stays
    // reachable through the directory while the file slot holds the extra.
    trust.ca_file_ = ca_file;
    trust.ca_path_ = system.path;
    return trust;
  }
  // No default directory: hand libcurl one bundle holding both. A system
  // file that cannot be read leaves the extra file alone, as libcurl
  // itself would have failed to use it.
  if (!system.file.empty()) {
    absl::StatusOr<std::string> system_pem = ReadFile(system.file);
    if (system_pem.ok()) trust.ca_blob_ = *std::move(system_pem) + "\n";
  }
  trust.ca_blob_ += *extra;
  return trust;
}

CURLcode TrustSettings::ApplyTo(CURL* easy) const {
  if (!ca_blob_.empty()) {
    curl_blob blob;
    // curl_blob::data is not const, but libcurl only reads through it.
    blob.data = const_cast<char*>(ca_blob_.data());
    blob.len = ca_blob_.size();
    blob.flags = CURL_BLOB_NOCOPY;  // This object outlives the transfer.
    return curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!ca_file_.empty()) {
    if (CURLcode rc = curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file_.c_str());
        rc != CURLE_OK) {
      return rc;
    }
  }
  if (!ca_path_.empty()) {
    return curl_easy_setopt(easy, CURLOPT_CAPATH, ca_path_.c_str());
  }
  return CURLE_OK;
}

}  // namespace upstream
}  // namespace session_gateway
