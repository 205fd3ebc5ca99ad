// Where a piece of work runs, chosen by whoever wires the process together
// rather than by the code that has the work.
//
// The HTTP client's completion callbacks run on its event-loop thread,
// which every upstream exchange shares: decoding a response there (a 1 MiB
// body takes milliseconds) would stall all the others. So the forwarder
// hands each result to an Executor and decodes it there. Production code passes a ThreadPoolExecutor; tests
// pass an InlineExecutor, or one of their own that runs tasks when the
// test says so.
//
// Usage:
//
//   ThreadPoolExecutor pool(ThreadPoolExecutor::DefaultThreads());
//   pool.Run([response = std::move(response)]() mutable { Decode(response); });
#ifndef SESSION_GATEWAY_COMMON_EXECUTOR_H_
#define SESSION_GATEWAY_COMMON_EXECUTOR_H_

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace session_gateway {

class Executor {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  virtual ~Executor() = default;

  // Runs `task` exactly once, now or later, on a thread the executor
  // chooses (possibly the caller's, inside Run). Thread-safe. A task must
  // not block waiting for another task of the same executor.
  virtual void Run(Task task) = 0;
};

// Runs each task at once on the calling thread, inside Run().
class InlineExecutor final : public Executor {
 public:
  void Run(Task task) override { std::move(task)(); }
};

// Up to a fixed number of threads taking tasks from one queue, first in
// first out. Threads start when work needs them, not before: a thread is
// added (up to the limit) when a task arrives and more tasks wait than
// threads are idle, and it then stays. So an idle process keeps no idle
// threads for work that has not come. No thread is ever added per task
// beyond that.
class ThreadPoolExecutor final : public Executor {
 public:
  // The pool size to use when nothing says otherwise: one thread per core
  // (at least one), since tasks are short and CPU-bound.
  static int DefaultThreads();

  // A pool of at most `max_threads` (>= 1) threads, none started yet.
  explicit ThreadPoolExecutor(int max_threads);

  ThreadPoolExecutor(const ThreadPoolExecutor&) = delete;
  ThreadPoolExecutor& operator=(const ThreadPoolExecutor&) = delete;

  // Runs every task already queued, including tasks those tasks queue,
  // then joins the threads. Must not be called from a task.
  ~ThreadPoolExecutor() override;

  void Run(Task task) override;

  // Threads started so far.
  int threads_started() const;

 private:
  void Work();

  const size_t max_threads_;
  mutable absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;  // Threads waiting for a task.
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  int threads_started_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_EXECUTOR_H_
