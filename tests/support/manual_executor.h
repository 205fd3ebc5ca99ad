// An Executor that runs its tasks only when the test says so, on the
// test's thread: lets a test see work that was handed off but has not run
// yet (a response waiting to be decoded, a token refresh), then run it.
//
// Usage:
//
//   ManualExecutor executor;
//   ... code under test calls executor.Run(task) on any thread ...
//   ASSERT_EQ(executor.pending(), 1u);
//   executor.RunAll();
#ifndef SESSION_GATEWAY_TESTS_SUPPORT_MANUAL_EXECUTOR_H_
#define SESSION_GATEWAY_TESTS_SUPPORT_MANUAL_EXECUTOR_H_

#include <deque>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/executor.h"

namespace session_gateway {
namespace testing {

class ManualExecutor final : public Executor {
 public:
  // Queues `task`. Thread-safe.
  void Run(Task task) override {
    absl::MutexLock lock(&mu_);
    tasks_.push_back(std::move(task));
  }

  // Tasks queued and not yet run.
  size_t pending() const {
    absl::MutexLock lock(&mu_);
    return tasks_.size();
  }

  // Waits up to `timeout` until at least `count` tasks are queued.
  bool WaitForPending(size_t count, absl::Duration timeout = absl::Seconds(10)) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return tasks_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

  // Runs queued tasks, and those they queue, on the calling thread until
  // none is left.
  void RunAll() {
    while (true) {
      Task task;
      {
        absl::MutexLock lock(&mu_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      std::move(task)();
    }
  }

 private:
  mutable absl::Mutex mu_;
  std::deque<Task> tasks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TESTS_SUPPORT_MANUAL_EXECUTOR_H_
