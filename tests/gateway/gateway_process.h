// Runs the real session-gateway binary for integration tests and gives a
// gRPC stub connected to it.
//
// Usage:
//
//   auto gateway = GatewayProcess::Start({"--upstream=" + stub->base_url()});
//   ASSERT_TRUE(gateway.ok()) << gateway.status();
//   auto stub = (*gateway)->NewStub();
#ifndef SESSION_GATEWAY_TEST_GATEWAY_GATEWAY_PROCESS_H_
#define SESSION_GATEWAY_TEST_GATEWAY_GATEWAY_PROCESS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpcpp/channel.h"
#include "support/child_process.h"

namespace session_gateway {
namespace testing {

class GatewayProcess {
 public:
  // Starts the gateway on an ephemeral loopback port with `args` (plus
  // --listen) and the extra environment `env`; waits until it listens.
  static absl::StatusOr<std::unique_ptr<GatewayProcess>> Start(
      std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env = {});

  const std::string& address() const { return address_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> NewStub() const;
  ChildProcess& process() { return *process_; }
  // What the gateway wrote to stderr so far.
  std::string Stderr() const;

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_GATEWAY_GATEWAY_PROCESS_H_
