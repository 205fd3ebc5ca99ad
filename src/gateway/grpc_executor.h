// An Executor that runs tasks on gRPC's own threads, so that the gateway
// keeps no thread pool of its own for work that must leave the HTTP
// client's event loop (decoding responses, finishing calls, refreshing
// tokens).
//
// Each task rides a grpc::Alarm set to fire at once: gRPC runs an alarm's
// callback on its executor threads, the ones that already run the
// server's callbacks, and sizes that pool itself (two per core at most).
// Measured against a ThreadPoolExecutor of one thread per core: 1.5 us
// per task against 0.4 us, on calls that cost about 120 us of CPU, and two
// threads fewer (see bench/RESULTS.md, "In-flight").
//
// Usage:
//
//   GrpcExecutor executor;
//   executor.Run([] { ...decode and finish a call... });
#ifndef SESSION_GATEWAY_GATEWAY_GRPC_EXECUTOR_H_
#define SESSION_GATEWAY_GATEWAY_GRPC_EXECUTOR_H_

#include "common/executor.h"

namespace session_gateway {
namespace gateway {

class GrpcExecutor final : public Executor {
 public:
  // Runs `task` soon on one of gRPC's executor threads, never inside Run().
  // gRPC must be initialised (a server or channel exists, or grpc_init()
  // was called) for as long as tasks are pending. Thread-safe.
  void Run(Task task) override;
};

}  // namespace gateway
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_GATEWAY_GRPC_EXECUTOR_H_
