// grpc_load_client: drives one RPC of session-gateway with a fixed number
// of calls, a fixed number in flight, over a fixed number of channels, and
// prints one JSON object: how many calls ended in which gRPC status and the
// latency distribution. bench/ratio.sh and bench/scaling.sh use it to
// check gRPC statuses and answers (h2load counts HTTP 200 whatever the
// grpc-status); bench/inflight.sh uses it to put N calls in flight at once.
//
//   grpc_load_client --target=127.0.0.1:50051 --rpc=definition --id=mock-card
//       --calls=10000 --concurrency=256 --channels=8 --deadline_ms=10000
//   (one command line)
//
// --rpc: definition (CreatePaymentServiceDefinitionSession), service
// (CreatePaymentServiceSession; --id must be a UUID) or health
// (grpc.health.v1.Health/Check, the gRPC floor). --concurrency equal to
// --calls fires every call at once. A call counts as "ok" only when its
// status is OK and its response is what a healthy upstream answers (a
// SUCCEEDED session, a SERVING health status); OK with anything else is
// counted under "bad_response". Exit status: 0 if every call was ok, 1 if
// not, 2 on a usage error.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "gr4vy/sessions/v1/session_service.grpc.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051", "host:port of the gateway (plaintext).");
ABSL_FLAG(std::string, rpc, "definition",
          "definition: CreatePaymentServiceDefinitionSession; service: CreatePaymentServiceSession; "
          "health: grpc.health.v1.Health/Check.");
ABSL_FLAG(std::string, id, "",
          "payment_service_definition_id (definition; default mock-card) or payment_service_id "
          "(service; default a fixed UUID). Ignored for health.");
ABSL_FLAG(int64_t, calls, 1000, "Calls to make in all.");
ABSL_FLAG(int64_t, concurrency, 64, "Calls in flight at once (at most --calls).");
ABSL_FLAG(int, channels, 8, "Channels (each its own HTTP/2 connection); calls go round-robin.");
ABSL_FLAG(int64_t, deadline_ms, 10000, "Deadline of each call, in milliseconds.");
ABSL_FLAG(int64_t, connect_timeout_ms, 5000, "How long to wait for every channel to connect first.");

namespace {

using Clock = std::chrono::steady_clock;
using gr4vy::sessions::v1::CreatePaymentServiceDefinitionSessionRequest;
using gr4vy::sessions::v1::CreatePaymentServiceSessionRequest;
using gr4vy::sessions::v1::CreateSession;
using gr4vy::sessions::v1::SessionService;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using HealthStub = grpc::TemplatedGenericStub<HealthCheckRequest, HealthCheckResponse>;

constexpr int kCodes = 17;  // grpc::StatusCode OK (0) to UNAUTHENTICATED (16).

const char* CodeName(int code) {
  static constexpr std::array<const char*, kCodes> kNames = {
      "OK",           "CANCELLED",          "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",     "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",    "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",          "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  return code >= 0 && code < kCodes ? kNames[static_cast<size_t>(code)] : "OTHER";
}

enum class Rpc { kDefinition, kService, kHealth };

// Shared by every call; completion callbacks run on gRPC's threads.
class Load {
 public:
  Load(Rpc rpc, std::string id, int64_t calls, int64_t concurrency, int64_t deadline_ms,
       std::vector<std::shared_ptr<grpc::Channel>> channels)
      : rpc_(rpc),
        id_(std::move(id)),
        calls_(calls),
        concurrency_(concurrency),
        deadline_(std::chrono::milliseconds(deadline_ms)),
        channels_(std::move(channels)),
        latency_us_(static_cast<size_t>(calls), -1) {
    for (const auto& channel : channels_) {
      session_stubs_.push_back(SessionService::NewStub(channel));
      health_stubs_.push_back(std::make_unique<HealthStub>(channel));
    }
  }

  // Runs every call; returns once the last one has completed.
  void Run() {
    start_ = Clock::now();
    for (int64_t i = 0; i < concurrency_; ++i) StartNext();
    started_all_in_flight_ = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [this] { return completed_ == calls_; });
    end_ = Clock::now();
  }

  void PrintJson(const std::string& target, const std::string& rpc_name, int channel_count) const {
    std::vector<int64_t> sorted;
    sorted.reserve(latency_us_.size());
    double sum = 0;
    for (int64_t us : latency_us_) {
      if (us < 0) continue;
      sorted.push_back(us);
      sum += static_cast<double>(us);
    }
    std::sort(sorted.begin(), sorted.end());
    const auto pct = [&sorted](double p) -> double {
      if (sorted.empty()) return 0;
      // Nearest rank.
      size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
      rank = std::clamp<size_t>(rank, 1, sorted.size());
      return static_cast<double>(sorted[rank - 1]) / 1000.0;
    };
    const double elapsed = std::chrono::duration<double>(end_ - start_).count();
    const double ramp_ms =
        std::chrono::duration<double, std::milli>(started_all_in_flight_ - start_).count();
    int64_t errors = 0;
    std::string codes;
    for (int c = 1; c < kCodes; ++c) {
      const int64_t n = code_counts_[static_cast<size_t>(c)].load();
      if (n == 0) continue;
      errors += n;
      if (!codes.empty()) codes += ",";
      codes += "\"" + std::string(CodeName(c)) + "\":" + std::to_string(n);
    }
    std::printf(
        "{\"target\":\"%s\",\"rpc\":\"%s\",\"id\":\"%s\",\"calls\":%lld,\"concurrency\":%lld,"
        "\"channels\":%d,\"ok\":%lld,\"bad_response\":%lld,\"errors\":%lld,\"error_codes\":{%s},"
        "\"first_error\":\"%s\",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
        "\"max\":%.3f,\"mean\":%.3f},\"start_ramp_ms\":%.1f,\"elapsed_s\":%.3f,"
        "\"calls_per_s\":%.1f}\n",
        target.c_str(), rpc_name.c_str(), rpc_ == Rpc::kHealth ? "" : id_.c_str(),
        static_cast<long long>(calls_), static_cast<long long>(concurrency_), channel_count,
        static_cast<long long>(ok_.load()), static_cast<long long>(bad_response_.load()),
        static_cast<long long>(errors), codes.c_str(), JsonEscape(first_error_).c_str(), pct(50),
        pct(90), pct(99), sorted.empty() ? 0.0 : static_cast<double>(sorted.back()) / 1000.0,
        sorted.empty() ? 0.0 : sum / static_cast<double>(sorted.size()) / 1000.0, ramp_ms, elapsed,
        elapsed > 0 ? static_cast<double>(calls_) / elapsed : 0.0);
  }

  bool AllOk() const { return ok_.load() == calls_; }

 private:
  // One call's state, alive until its completion callback has run.
  struct Call {
    int64_t index = 0;
    Clock::time_point started;
    grpc::ClientContext context;
    CreatePaymentServiceDefinitionSessionRequest definition_request;
    CreatePaymentServiceSessionRequest service_request;
    CreateSession session;
    HealthCheckRequest health_request;
    HealthCheckResponse health;
  };

  static std::string JsonEscape(const std::string& s) {
    std::string out;
    for (char c : s.substr(0, 300)) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        out += ' ';
      } else {
        out += c;
      }
    }
    return out;
  }

  void StartNext() {
    const int64_t index = next_.fetch_add(1);
    if (index >= calls_) return;
    auto* call = new Call();
    call->index = index;
    const size_t channel = static_cast<size_t>(index) % channels_.size();
    call->started = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() + deadline_);
    auto done = [this, call](grpc::Status status) { Finish(call, status); };
    switch (rpc_) {
      case Rpc::kDefinition:
        call->definition_request.set_payment_service_definition_id(id_);
        session_stubs_[channel]->async()->CreatePaymentServiceDefinitionSession(
            &call->context, &call->definition_request, &call->session, std::move(done));
        break;
      case Rpc::kService:
        call->service_request.set_payment_service_id(id_);
        session_stubs_[channel]->async()->CreatePaymentServiceSession(
            &call->context, &call->service_request, &call->session, std::move(done));
        break;
      case Rpc::kHealth:
        health_stubs_[channel]->UnaryCall(&call->context, "/grpc.health.v1.Health/Check", {},
                                          &call->health_request, &call->health, std::move(done));
        break;
    }
  }

  void Finish(Call* call, const grpc::Status& status) {
    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->started);
    latency_us_[static_cast<size_t>(call->index)] = latency.count();
    const int code = static_cast<int>(status.error_code());
    if (code >= 0 && code < kCodes) code_counts_[static_cast<size_t>(code)].fetch_add(1);
    if (status.ok()) {
      const bool good = rpc_ == Rpc::kHealth
                            ? call->health.status() == HealthCheckResponse::SERVING
                            : call->session.status() == gr4vy::sessions::v1::CREATE_SESSION_STATUS_SUCCEEDED;
      (good ? ok_ : bad_response_).fetch_add(1);
    } else {
      std::lock_guard<std::mutex> lock(mu_);
      if (first_error_.empty()) {
        first_error_ = std::string(CodeName(code)) + ": " + status.error_message();
      }
    }
    delete call;
    // Keep the number in flight: each completion starts the next call.
    StartNext();
    std::lock_guard<std::mutex> lock(mu_);
    if (++completed_ == calls_) done_cv_.notify_all();
  }

  const Rpc rpc_;
  const std::string id_;
  const int64_t calls_;
  const int64_t concurrency_;
  const std::chrono::milliseconds deadline_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<SessionService::Stub>> session_stubs_;
  std::vector<std::unique_ptr<HealthStub>> health_stubs_;

  std::atomic<int64_t> next_{0};
  std::array<std::atomic<int64_t>, kCodes> code_counts_{};
  std::atomic<int64_t> ok_{0};
  std::atomic<int64_t> bad_response_{0};
  std::vector<int64_t> latency_us_;  // Each slot written by one callback.

  std::mutex mu_;
  std::condition_variable done_cv_;
  int64_t completed_ = 0;  // Guarded by mu_.
  std::string first_error_;  // Guarded by mu_.
  Clock::time_point start_, started_all_in_flight_, end_;
};

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr, "grpc_load_client: %s\n", message.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs --calls unary calls of one session-gateway RPC with --concurrency in flight over "
      "--channels channels and prints a JSON summary.");
  absl::ParseCommandLine(argc, argv);

  const std::string target = absl::GetFlag(FLAGS_target);
  const std::string rpc_name = absl::GetFlag(FLAGS_rpc);
  std::string id = absl::GetFlag(FLAGS_id);
  const int64_t calls = absl::GetFlag(FLAGS_calls);
  const int64_t concurrency = std::min(absl::GetFlag(FLAGS_concurrency), calls);
  const int channel_count = absl::GetFlag(FLAGS_channels);
  const int64_t deadline_ms = absl::GetFlag(FLAGS_deadline_ms);

  Rpc rpc;
  if (rpc_name == "definition") {
    rpc = Rpc::kDefinition;
    if (id.empty()) id = "mock-card";
  } else if (rpc_name == "service") {
    rpc = Rpc::kService;
    if (id.empty()) id = "46973e9d-88a7-44a6-abfe-be4ff0134ff6";
  } else if (rpc_name == "health") {
    rpc = Rpc::kHealth;
  } else {
    Usage("--rpc must be definition, service or health");
  }
  if (calls < 1) Usage("--calls must be positive");
  if (concurrency < 1) Usage("--concurrency must be positive");
  if (channel_count < 1) Usage("--channels must be positive");
  if (deadline_ms < 1) Usage("--deadline_ms must be positive");

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  const auto connect_deadline =
      std::chrono::system_clock::now() + std::chrono::milliseconds(absl::GetFlag(FLAGS_connect_timeout_ms));
  for (int i = 0; i < channel_count; ++i) {
    grpc::ChannelArguments args;
    // Without these, channels to the same target share one subchannel and
    // so one TCP connection.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("grpc_load_client.channel", i);
    args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 << 20);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    if (!channel->WaitForConnected(connect_deadline)) {
      Usage("cannot connect to " + target);
    }
    channels.push_back(std::move(channel));
  }

  Load load(rpc, id, calls, concurrency, deadline_ms, std::move(channels));
  load.Run();
  load.PrintJson(target, rpc_name, channel_count);
  std::fflush(stdout);
  return load.AllOk() ? 0 : 1;
}
