#include "common/tls_key_pair.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace session_gateway {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

// OpenSSL's default would prompt on the terminal for the passphrase of an
// encrypted key; gRPC cannot use one anyway, so refuse it instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::unique_ptr<BIO, BioDeleter>> Open(const std::string& path, const char* flag) {
  errno = 0;
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat(flag, ": cannot read ", path, errno != 0 ? absl::StrCat(" (", std::strerror(errno), ")") : ""));
  }
  return bio;
}

}  // namespace

absl::Status CheckTlsKeyPair(const std::string& cert_file, const std::string& key_file) {
  auto cert_bio = Open(cert_file, "--tls_cert_file");
  if (!cert_bio.ok()) return cert_bio.status();
  std::unique_ptr<X509, X509Deleter> cert(PEM_read_bio_X509(cert_bio->get(), nullptr, NoPassphrase, nullptr));
  if (cert == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("--tls_cert_file: ", cert_file, " holds no PEM certificate"));
  }
  auto key_bio = Open(key_file, "--tls_key_file");
  if (!key_bio.ok()) return key_bio.status();
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio->get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_key_file: ", key_file, " holds no unencrypted PEM private key"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("--tls_key_file does not match --tls_cert_file");
  }
  return absl::OkStatus();
}

absl::Status CheckTlsClientCaFile(const std::string& ca_file) {
  auto bio = Open(ca_file, "--tls_client_ca_file");
  if (!bio.ok()) return bio.status();
  std::unique_ptr<X509, X509Deleter> first(PEM_read_bio_X509(bio->get(), nullptr, NoPassphrase, nullptr));
  ERR_clear_error();
  if (first == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--tls_client_ca_file: ", ca_file, " holds no PEM certificate"));
  }
  return absl::OkStatus();
}

}  // namespace session_gateway
