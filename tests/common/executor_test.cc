#include "common/executor.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace session_gateway {
namespace {

TEST(InlineExecutorTest, RunsTheTaskInsideRun) {
  InlineExecutor executor;
  std::thread::id ran_on;
  executor.Run([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(ThreadPoolExecutorTest, RunsEveryTaskOffTheCallersThread) {
  ThreadPoolExecutor pool(2);
  constexpr int kTasks = 1000;
  absl::BlockingCounter done(kTasks);
  std::atomic<int> on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < kTasks; ++i) {
    pool.Run([&] {
      if (std::this_thread::get_id() == caller) on_caller.fetch_add(1);
      done.DecrementCount();
    });
  }
  done.Wait();
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(ThreadPoolExecutorTest, TasksRunConcurrently) {
  // Two tasks that each wait for the other only finish on two threads.
  ThreadPoolExecutor pool(2);
  absl::Notification first, second;
  absl::Notification both_done[2];
  pool.Run([&] {
    first.Notify();
    second.WaitForNotification();
    both_done[0].Notify();
  });
  pool.Run([&] {
    second.Notify();
    first.WaitForNotification();
    both_done[1].Notify();
  });
  both_done[0].WaitForNotification();
  both_done[1].WaitForNotification();
}

TEST(ThreadPoolExecutorTest, DestructionRunsQueuedTasksAndTheTasksTheyQueue) {
  std::atomic<int> ran{0};
  {
    ThreadPoolExecutor pool(1);
    absl::Notification release;
    pool.Run([&] { release.WaitForNotification(); });
    for (int i = 0; i < 10; ++i) {
      pool.Run([&] {
        ran.fetch_add(1);
        pool.Run([&] { ran.fetch_add(1); });
      });
    }
    release.Notify();
  }
  EXPECT_EQ(ran.load(), 20);
}

TEST(ThreadPoolExecutorTest, StartsThreadsOnlyWhenTasksNeedThem) {
  ThreadPoolExecutor pool(4);
  EXPECT_EQ(pool.threads_started(), 0) << "no task yet, no thread";
  absl::Notification ran;
  pool.Run([&] { ran.Notify(); });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(pool.threads_started(), 1) << "one task, one thread";
}

TEST(ThreadPoolExecutorTest, NeverStartsMoreThreadsThanItsLimit) {
  // Declared before the pool, which drains its tasks when destroyed.
  absl::Notification release;
  std::atomic<int> finished{0};
  {
    ThreadPoolExecutor pool(2);
    for (int i = 0; i < 10; ++i) {
      pool.Run([&] {
        release.WaitForNotificationWithTimeout(absl::Seconds(10));
        finished.fetch_add(1);
      });
    }
    EXPECT_EQ(pool.threads_started(), 2);
    release.Notify();
  }
  EXPECT_EQ(finished.load(), 10);
}

TEST(ThreadPoolExecutorTest, DefaultThreadsIsAtLeastOne) {
  EXPECT_GE(ThreadPoolExecutor::DefaultThreads(), 1);
}

}  // namespace
}  // namespace session_gateway
