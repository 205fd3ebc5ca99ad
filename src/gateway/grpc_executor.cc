#include "gateway/grpc_executor.h"

#include <chrono>
#include <memory>
#include <utility>

#include "grpcpp/alarm.h"

namespace session_gateway {
namespace gateway {

namespace {

// A task and the alarm that carries it, which own each other until the
// alarm's callback has run the task.
struct PendingTask {
  explicit PendingTask(Executor::Task t) : task(std::move(t)) {}
  grpc::Alarm alarm;
  Executor::Task task;
};

}  // namespace

void GrpcExecutor::Run(Task task) {
  auto* pending = new PendingTask(std::move(task));
  // gRPC holds its own reference to the alarm while its callback runs, so
  // deleting the grpc::Alarm from inside the callback is safe. (Alarm
  // callbacks are std::function, which must be copyable: hence the raw
  // pointer rather than a capture of the move-only task.)
  pending->alarm.Set(std::chrono::system_clock::now(), [pending](bool /*fired*/) {
    // Run whether or not it "fired": a task must run exactly once.
    std::move(pending->task)();
    delete pending;
  });
}

}  // namespace gateway
}  // namespace session_gateway
