// Self-signed certificates for TLS tests, made with the openssl command
// line at test time (no key material is checked in).
//
// Usage:
//
//   TlsFiles tls("server");
//   ASSERT_TRUE(tls.ok());
//   GatewayProcess::Start({"--tls_cert_file=" + tls.cert(), "--tls_key_file=" + tls.key()});
#ifndef SESSION_GATEWAY_TEST_GATEWAY_TLS_FILES_H_
#define SESSION_GATEWAY_TEST_GATEWAY_TLS_FILES_H_

#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace testing {

// An EC P-256 key and a one-day self-signed certificate for 127.0.0.1 and
// localhost, in a directory of its own named after `name`, so that a test
// can make several unrelated pairs.
class TlsFiles {
 public:
  explicit TlsFiles(const std::string& name = "tls") {
    dir_ = absl::StrCat(::testing::TempDir(), "/", name, "_", getpid());
    std::string command = absl::StrCat(
        "mkdir -p ", dir_, " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes ",
        "-keyout ", key(), " -out ", cert(), " -days 1 -subj /CN=localhost ",
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1");
    ok_ = std::system(command.c_str()) == 0;
  }
  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  std::string cert() const { return dir_ + "/cert.pem"; }
  std::string key() const { return dir_ + "/key.pem"; }

 private:
  std::string dir_;
  bool ok_ = false;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_GATEWAY_TLS_FILES_H_
