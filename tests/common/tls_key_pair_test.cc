#include "common/tls_key_pair.h"

#include <fstream>

#include "gateway/tls_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace {

using testing::TlsFiles;
using ::testing::HasSubstr;

TEST(CheckTlsKeyPairTest, AcceptsAMatchingPair) {
  TlsFiles tls("pair");
  ASSERT_TRUE(tls.ok()) << "openssl could not make a certificate";
  EXPECT_TRUE(CheckTlsKeyPair(tls.cert(), tls.key()).ok());
}

TEST(CheckTlsKeyPairTest, NamesTheFlagOfTheFileAtFault) {
  TlsFiles first("first");
  TlsFiles second("second");
  ASSERT_TRUE(first.ok() && second.ok());
  const std::string garbage = first.dir() + "/garbage.pem";
  std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
  const std::string missing = first.dir() + "/missing.pem";
  struct Case {
    std::string cert, key, message;
  };
  for (const Case& c : std::vector<Case>{
           {first.cert(), second.key(), "--tls_key_file does not match --tls_cert_file"},
           {missing, first.key(), "--tls_cert_file: cannot read " + missing},
           {garbage, first.key(), "--tls_cert_file: " + garbage + " holds no PEM certificate"},
           {first.key(), first.key(), "--tls_cert_file: "},
           {first.cert(), missing, "--tls_key_file: cannot read " + missing},
           {first.cert(), garbage, "--tls_key_file: " + garbage + " holds no unencrypted PEM private key"},
           {first.cert(), first.cert(), "--tls_key_file: "}}) {
    absl::Status status = CheckTlsKeyPair(c.cert, c.key);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.cert << " " << c.key;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
}

TEST(CheckTlsClientCaFileTest, AcceptsACertificateAndNamesItsFlagOtherwise) {
  TlsFiles ca("client_ca");
  ASSERT_TRUE(ca.ok());
  EXPECT_TRUE(CheckTlsClientCaFile(ca.cert()).ok());
  const std::string empty = ca.dir() + "/empty.pem";
  std::ofstream(empty) << "";
  const std::string missing = ca.dir() + "/missing.pem";
  for (const auto& [file, message] : std::vector<std::pair<std::string, std::string>>{
           {missing, "--tls_client_ca_file: cannot read " + missing},
           {empty, "--tls_client_ca_file: " + empty + " holds no PEM certificate"},
           {ca.key(), "--tls_client_ca_file: " + ca.key() + " holds no PEM certificate"}}) {
    absl::Status status = CheckTlsClientCaFile(file);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << file;
    EXPECT_THAT(status.message(), HasSubstr(message));
    EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("BEGIN")));
  }
}

}  // namespace
}  // namespace session_gateway
