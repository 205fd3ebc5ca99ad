// Tests of upstream/curl_trust.h: which CA settings a client ends up with
// for each shape of system store, without any network or thread.

#include "upstream/curl_trust.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace upstream {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

class TrustSettingsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_global_init(CURL_GLOBAL_DEFAULT); }

  void SetUp() override {
    prefix_ = absl::StrCat(::testing::TempDir(), "curl-trust-test-", getpid());
    extra_ = Write("-extra.pem", "EXTRA PEM\n");
    system_ = Write("-system.pem", "SYSTEM PEM");
  }
  void TearDown() override {
    std::remove(extra_.c_str());
    std::remove(system_.c_str());
  }

  std::string Write(const std::string& suffix, const std::string& contents) {
    const std::string path = prefix_ + suffix;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
    return path;
  }

  std::string prefix_;
  std::string extra_;
  std::string system_;
};

TEST_F(TrustSettingsTest, NoCaFileMeansLibcurlDefaults) {
  absl::StatusOr<TrustSettings> trust =
      TrustSettings::Load("", {system_, "/etc/ssl/certs"});
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_THAT(trust->ca_file(), IsEmpty());
  EXPECT_THAT(trust->ca_path(), IsEmpty());
  EXPECT_THAT(trust->ca_blob(), IsEmpty());
}

TEST_F(TrustSettingsTest, UnreadableCaFileIsInvalidArgumentNamingIt) {
  absl::StatusOr<TrustSettings> trust =
      TrustSettings::Load("/nonexistent/ca.pem", {system_, ""});
  EXPECT_EQ(trust.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(trust.status().message(), HasSubstr("/nonexistent/ca.pem"));
}

TEST_F(TrustSettingsTest, SystemDirectoryKeepsTheExtraFileSeparate) {
  absl::StatusOr<TrustSettings> trust =
      TrustSettings::Load(extra_, {system_, "/etc/ssl/certs"});
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ(trust->ca_file(), extra_);
  EXPECT_EQ(trust->ca_path(), "/etc/ssl/certs");
  EXPECT_THAT(trust->ca_blob(), IsEmpty());
}

TEST_F(TrustSettingsTest, SystemFileOnlyIsMergedWithTheExtraIntoOneBundle) {
  absl::StatusOr<TrustSettings> trust =
      TrustSettings::Load(extra_, {system_, ""});
  ASSERT_TRUE(trust.ok()) << trust.status();
  EXPECT_EQ(trust->ca_blob(), "SYSTEM PEM\nEXTRA PEM\n");
  EXPECT_THAT(trust->ca_file(), IsEmpty());
  EXPECT_THAT(trust->ca_path(), IsEmpty());
}

TEST_F(TrustSettingsTest, NoSystemStoreOrAnUnreadableOneTrustsTheExtraOnly) {
  for (const std::string& system_file :
       {std::string(), std::string("/nonexistent/system.pem")}) {
    absl::StatusOr<TrustSettings> trust =
        TrustSettings::Load(extra_, {system_file, ""});
    ASSERT_TRUE(trust.ok()) << trust.status();
    EXPECT_EQ(trust->ca_blob(), "EXTRA PEM\n") << system_file;
  }
}

TEST_F(TrustSettingsTest, EverySettingApplies) {
  CURL* easy = curl_easy_init();
  ASSERT_NE(easy, nullptr);
  for (const SystemCaLocations& system :
       {SystemCaLocations{system_, "/etc/ssl/certs"},
        SystemCaLocations{system_, ""}}) {
    absl::StatusOr<TrustSettings> trust = TrustSettings::Load(extra_, system);
    ASSERT_TRUE(trust.ok()) << trust.status();
    EXPECT_EQ(trust->ApplyTo(easy), CURLE_OK);
    curl_easy_reset(easy);
  }
  EXPECT_EQ(TrustSettings().ApplyTo(easy), CURLE_OK);
  curl_easy_cleanup(easy);
}

TEST_F(TrustSettingsTest, LibcurlKnowsWhereTheSystemStoreIs) {
  // Debian's libcurl is built with both; any build has at least one, or
  // https to public upstreams could not work without ca_file.
  const SystemCaLocations system = SystemCaLocations::FromCurl();
  EXPECT_FALSE(system.file.empty() && system.path.empty());
}

}  // namespace
}  // namespace upstream
}  // namespace session_gateway
