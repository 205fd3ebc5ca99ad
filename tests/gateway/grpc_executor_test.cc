// GrpcExecutor: every task runs exactly once, on gRPC's threads.
#include "gateway/grpc_executor.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/grpc.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace gateway {
namespace {

// gRPC must be initialised while tasks are pending, as the gateway's
// server keeps it.
class GrpcExecutorTest : public ::testing::Test {
 protected:
  GrpcExecutorTest() { grpc_init(); }
  ~GrpcExecutorTest() override { grpc_shutdown(); }
};

TEST_F(GrpcExecutorTest, RunsEachTaskExactlyOnceOnAnotherThread) {
  GrpcExecutor executor;
  constexpr int kTasks = 1000;
  std::vector<std::atomic<int>> runs(kTasks);
  std::atomic<int> on_caller{0};
  absl::Mutex mu;
  int finished = 0;
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < kTasks; ++i) {
    // Move-only, as the forwarder's tasks are.
    auto index = std::make_unique<int>(i);
    executor.Run([&, index = std::move(index)] {
      runs[static_cast<size_t>(*index)].fetch_add(1);
      // On another thread, so never inside Run(), which would be the
      // caller's.
      if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
      absl::MutexLock lock(&mu);
      ++finished;
    });
  }
  {
    absl::MutexLock lock(&mu);
    ASSERT_TRUE(mu.AwaitWithTimeout(
        absl::Condition(+[](int* n) { return *n == kTasks; }, &finished), absl::Seconds(20)))
        << finished << " of " << kTasks << " tasks ran";
  }
  for (int i = 0; i < kTasks; ++i) EXPECT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "task " << i;
  EXPECT_EQ(on_caller.load(), 0);
}

}  // namespace
}  // namespace gateway
}  // namespace session_gateway
