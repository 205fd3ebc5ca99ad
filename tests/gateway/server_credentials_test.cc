// BuildServerCredentials in a real gRPC server on 127.0.0.1, called by real
// gRPC TLS clients: who gets through the handshake with and without mutual
// TLS, and certificates rotated on disk being served without a restart.
// Certificates are made with openssl at test time; every wait is bounded.
#include "gateway/server_credentials.h"

#include <stdio.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gateway/test_ca.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using testing::ReadTextFile;
using testing::TestCa;
using ::testing::HasSubstr;

// A gRPC server with the standard health service, on 127.0.0.1:0.
class TestServer {
 public:
  explicit TestServer(std::shared_ptr<grpc::ServerCredentials> credentials) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    // A callback service, as the gateway has: without one gRPC refuses to
    // build a server whose only service is the built-in health service.
    builder.RegisterCallbackGenericService(&generic_);
    server_ = builder.BuildAndStart();
  }
  ~TestServer() {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  }
  bool ok() const { return server_ != nullptr && port_ != 0; }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  grpc::CallbackGenericService generic_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// One health check over a new TLS connection that trusts `root_file` and
// presents the client pair if given.
grpc::Status Check(const std::string& address, const std::string& root_file, const std::string& client_cert = "",
                   const std::string& client_key = "") {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadTextFile(root_file);
  if (!client_cert.empty()) {
    tls.pem_cert_chain = ReadTextFile(client_cert);
    tls.pem_private_key = ReadTextFile(client_key);
  }
  grpc::ChannelArguments args;
  // A connection of its own, never one the last check left open.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(address, grpc::SslCredentials(tls), args);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse response;
  return Health::NewStub(channel)->Check(&context, HealthCheckRequest(), &response);
}

class MutualTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(servers_.ok() && callers_.ok() && strangers_.ok()) << "openssl could not make a CA";
    server_pair_ = servers_.Issue("server");
    caller_ = callers_.Issue("caller");
    stranger_ = strangers_.Issue("stranger");
    ASSERT_TRUE(server_pair_ && caller_ && stranger_) << "openssl could not issue certificates";
  }

  TestCa servers_{"servers"};
  TestCa callers_{"callers"};
  TestCa strangers_{"strangers"};
  std::optional<TestCa::Leaf> server_pair_, caller_, stranger_;
};

TEST_F(MutualTlsTest, OnlyCallersWithACertificateFromTheClientCaGetThrough) {
  auto credentials = BuildServerCredentials(
      {server_pair_->cert, server_pair_->key, callers_.cert(), absl::Seconds(60)});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  TestServer server(*credentials);
  ASSERT_TRUE(server.ok());

  grpc::Status signed_by_ca = Check(server.address(), servers_.cert(), caller_->cert, caller_->key);
  EXPECT_TRUE(signed_by_ca.ok()) << signed_by_ca.error_message();

  grpc::Status no_certificate = Check(server.address(), servers_.cert());
  EXPECT_EQ(no_certificate.error_code(), grpc::StatusCode::UNAVAILABLE) << no_certificate.error_message();

  grpc::Status other_ca = Check(server.address(), servers_.cert(), stranger_->cert, stranger_->key);
  EXPECT_EQ(other_ca.error_code(), grpc::StatusCode::UNAVAILABLE) << other_ca.error_message();
}

TEST_F(MutualTlsTest, WithoutAClientCaAnyTlsClientGetsThrough) {
  auto credentials = BuildServerCredentials({server_pair_->cert, server_pair_->key, "", absl::Seconds(60)});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  TestServer server(*credentials);
  ASSERT_TRUE(server.ok());
  grpc::Status anonymous = Check(server.address(), servers_.cert());
  EXPECT_TRUE(anonymous.ok()) << anonymous.error_message();
}

// A Kubernetes Secret volume rotates its files by swapping a symlink to a
// new directory; the same here, and the server must pick it up within a
// few reload intervals.
TEST(CertificateRotationTest, NewCertificateIsServedAfterTheFilesChange) {
  TestCa old_ca("rotation_old");
  TestCa new_ca("rotation_new");
  ASSERT_TRUE(old_ca.ok() && new_ca.ok());
  std::optional<TestCa::Leaf> old_pair = old_ca.Issue("server");
  std::optional<TestCa::Leaf> new_pair = new_ca.Issue("server");
  ASSERT_TRUE(old_pair && new_pair);

  const std::string dir = absl::StrCat(::testing::TempDir(), "/rotation_", getpid());
  ASSERT_EQ(std::system(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir, "/v1 ", dir, "/v2 && cp ", old_pair->cert,
                                     " ", dir, "/v1/tls.crt && cp ", old_pair->key, " ", dir, "/v1/tls.key && cp ",
                                     new_pair->cert, " ", dir, "/v2/tls.crt && cp ", new_pair->key, " ", dir,
                                     "/v2/tls.key && ln -s v1 ", dir, "/live")
                            .c_str()),
            0);
  auto credentials =
      BuildServerCredentials({dir + "/live/tls.crt", dir + "/live/tls.key", "", absl::Seconds(1)});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  TestServer server(*credentials);
  ASSERT_TRUE(server.ok());
  grpc::Status before = Check(server.address(), old_ca.cert());
  ASSERT_TRUE(before.ok()) << before.error_message();
  EXPECT_FALSE(Check(server.address(), new_ca.cert()).ok());

  // Atomic swap: a new link renamed over the old one.
  ASSERT_EQ(symlink("v2", (dir + "/live.next").c_str()), 0);
  ASSERT_EQ(rename((dir + "/live.next").c_str(), (dir + "/live").c_str()), 0);

  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  grpc::Status after;
  do {
    absl::SleepFor(absl::Milliseconds(250));
    after = Check(server.address(), new_ca.cert());
  } while (!after.ok() && absl::Now() < deadline);
  EXPECT_TRUE(after.ok()) << "still not serving the new certificate 15s after the swap (reload 1s): "
                          << after.error_message();
  EXPECT_FALSE(Check(server.address(), old_ca.cert()).ok()) << "the old certificate is still served";
}

TEST(BuildServerCredentialsTest, NoFilesMeansPlaintext) {
  auto credentials = BuildServerCredentials({});
  ASSERT_TRUE(credentials.ok()) << credentials.status();
  TestServer server(*credentials);
  ASSERT_TRUE(server.ok());
  auto channel = grpc::CreateChannel(server.address(), grpc::InsecureChannelCredentials());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthCheckResponse response;
  EXPECT_TRUE(Health::NewStub(channel)->Check(&context, HealthCheckRequest(), &response).ok());
}

TEST(BuildServerCredentialsTest, RefusalsNameTheirFlag) {
  TestCa ca("refusals");
  ASSERT_TRUE(ca.ok());
  std::optional<TestCa::Leaf> pair = ca.Issue("server");
  ASSERT_TRUE(pair);
  const std::string missing = ca.dir() + "/missing.pem";
  struct Case {
    ServerTlsOptions options;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {{"", "", ca.cert(), absl::Seconds(60)}, "--tls_client_ca_file needs --tls_cert_file and --tls_key_file"},
           {{pair->cert, "", "", absl::Seconds(60)}, "--tls_cert_file and --tls_key_file go together"},
           {{pair->cert, pair->key, "", absl::Milliseconds(500)}, "--tls_reload_interval must be from 1s to 24h"},
           {{pair->cert, pair->key, "", absl::Hours(25)}, "--tls_reload_interval must be from 1s to 24h"},
           {{missing, pair->key, "", absl::Seconds(60)}, "--tls_cert_file: cannot read " + missing},
           {{pair->cert, missing, "", absl::Seconds(60)}, "--tls_key_file: cannot read " + missing},
           {{pair->cert, pair->key, missing, absl::Seconds(60)}, "--tls_client_ca_file: cannot read " + missing}}) {
    auto credentials = BuildServerCredentials(c.options);
    ASSERT_FALSE(credentials.ok()) << c.message;
    EXPECT_EQ(credentials.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(credentials.status().message(), c.message);
  }
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
