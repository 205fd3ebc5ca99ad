// A throwaway certificate authority for mutual-TLS tests, made with the
// openssl command line at test time (no key material is checked in): a CA
// certificate, and leaf key/certificate pairs it signs for 127.0.0.1 and
// localhost, usable by servers and clients alike.
//
// Usage:
//
//   TestCa ca("callers");
//   ASSERT_TRUE(ca.ok());
//   std::optional<TestCa::Leaf> client = ca.Issue("client");
//   ASSERT_TRUE(client.has_value());
//   // ca.cert() is the bundle to trust; client->cert, client->key the pair.
#ifndef SESSION_GATEWAY_TEST_GATEWAY_TEST_CA_H_
#define SESSION_GATEWAY_TEST_GATEWAY_TEST_CA_H_

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace testing {

class TestCa {
 public:
  struct Leaf {
    std::string cert;  // PEM file paths.
    std::string key;
  };

  // An EC P-256 CA valid for a day, in a directory of its own named after
  // `name`.
  explicit TestCa(const std::string& name) {
    dir_ = absl::StrCat(::testing::TempDir(), "/ca_", name, "_", getpid());
    ok_ = Run(absl::StrCat("rm -rf ", dir_, " && mkdir -p ", dir_,
                           " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ",
                           dir_, "/ca.key -out ", cert(), " -days 1 -subj /CN=", name,
                           "-test-ca -addext basicConstraints=critical,CA:TRUE"
                           " -addext keyUsage=critical,keyCertSign,cRLSign"));
  }

  bool ok() const { return ok_; }
  const std::string& dir() const { return dir_; }
  // The CA certificate: what a peer trusts.
  std::string cert() const { return dir_ + "/ca.pem"; }

  // A key and a certificate signed by this CA for CN=`name`, DNS:localhost
  // and IP:127.0.0.1, for both client and server authentication.
  std::optional<Leaf> Issue(const std::string& name) const {
    const std::string base = absl::StrCat(dir_, "/", name);
    {
      std::ofstream ext(base + ".ext");
      ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
          << "extendedKeyUsage=serverAuth,clientAuth\n";
    }
    const bool issued = Run(absl::StrCat(
        "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ", base, ".key -out ",
        base, ".csr -subj /CN=", name, " && openssl x509 -req -in ", base, ".csr -CA ", cert(), " -CAkey ",
        dir_, "/ca.key -CAcreateserial -days 1 -out ", base, ".pem -extfile ", base, ".ext"));
    if (!issued) return std::nullopt;
    return Leaf{base + ".pem", base + ".key"};
  }

 private:
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  std::string dir_;
  bool ok_ = false;
};

// The contents of a file, "" if unreadable.
inline std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_GATEWAY_TEST_CA_H_
