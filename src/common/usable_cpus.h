// How many CPUs this process may run on: the default size of thread pools
// whose work is CPU-bound (the HTTP event loops, the decoding pool).
//
// Usage:
//
//   int loops = options.event_loops == 0 ? UsableCpus() : options.event_loops;
#ifndef SESSION_GATEWAY_COMMON_USABLE_CPUS_H_
#define SESSION_GATEWAY_COMMON_USABLE_CPUS_H_

namespace session_gateway {

// The CPUs in the calling thread's affinity mask (taskset, a cpuset
// cgroup, Kubernetes' static CPU manager), or the machine's CPU count if
// the mask cannot be read; at least 1. A process pinned to one core of a
// 64-core machine gets 1, so it does not run 64 threads that can only
// take turns on that core.
int UsableCpus();

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_USABLE_CPUS_H_
