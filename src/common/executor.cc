#include "common/executor.h"

#include <algorithm>
#include <utility>

#include "common/usable_cpus.h"

namespace session_gateway {

int ThreadPoolExecutor::DefaultThreads() {
  return UsableCpus();
}

ThreadPoolExecutor::ThreadPoolExecutor(int max_threads)
    : max_threads_(static_cast<size_t>(std::max(1, max_threads))) {}

ThreadPoolExecutor::~ThreadPoolExecutor() {
  // Tasks run while draining may queue more tasks, and Run() may then
  // start a thread: join until no thread is left.
  while (true) {
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      threads.swap(threads_);
    }
    if (threads.empty()) return;
    for (std::thread& thread : threads) thread.join();
  }
}

void ThreadPoolExecutor::Run(Task task) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(task));
  // More tasks wait than idle threads will take: one more thread, if the
  // limit allows. (Joined threads are no longer in threads_, so during
  // destruction a task queued by a task still gets a thread.)
  if (queue_.size() > idle_ && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { Work(); });
    ++threads_started_;
  }
}

int ThreadPoolExecutor::threads_started() const {
  absl::MutexLock lock(&mu_);
  return threads_started_;
}

void ThreadPoolExecutor::Work() {
  while (true) {
    Task task;
    {
      absl::MutexLock lock(&mu_);
      // Stopping only ends a thread once the queue is empty, so that no
      // task (a call's completion) is ever dropped.
      ++idle_;
      mu_.Await(absl::Condition(
          +[](ThreadPoolExecutor* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      --idle_;
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    std::move(task)();
  }
}

}  // namespace session_gateway
