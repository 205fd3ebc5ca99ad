#include "gateway/gateway_process.h"


#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/read_file.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include <unistd.h>

namespace session_gateway {
namespace testing {

absl::StatusOr<std::unique_ptr<GatewayProcess>> GatewayProcess::Start(
    std::vector<std::string> args, std::vector<std::pair<std::string, std::string>> env) {
  static int counter = 0;
  ChildProcessOptions options;
  options.path = SESSION_GATEWAY_PATH;
  options.args = std::move(args);
  options.args.push_back("--listen=127.0.0.1:0");
  options.env = std::move(env);
  options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
  options.stderr_file = absl::StrCat(::testing::TempDir(), "/gateway_", getpid(), "_", ++counter, ".log");
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(options);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line = (*process)->ReadLineMatching("listening on ", absl::Seconds(15));
  if (!line.ok()) return line.status();
  auto gateway = std::unique_ptr<GatewayProcess>(new GatewayProcess());
  gateway->process_ = *std::move(process);
  absl::string_view address = *line;
  absl::ConsumePrefix(&address, "listening on ");
  gateway->address_ = std::string(absl::StripAsciiWhitespace(address));
  gateway->channel_ = grpc::CreateChannel(gateway->address_, grpc::InsecureChannelCredentials());
  return gateway;
}

std::unique_ptr<gr4vy::sessions::v1::SessionService::Stub> GatewayProcess::NewStub() const {
  return gr4vy::sessions::v1::SessionService::NewStub(channel_);
}

std::string GatewayProcess::Stderr() const {
  return ReadFile(process_->stderr_path()).value_or("");
}

}  // namespace testing
}  // namespace session_gateway
