// SIGHUP as "re-read your files", the Unix convention for daemons: a
// watcher thread takes it synchronously (sigwait) and runs a callback, so
// no signal handler ever runs in the middle of gRPC or libcurl code, and
// SIGHUP never stops the process (its default action would).
//
// Usage:
//
//   int main(int argc, char** argv) {
//     session_gateway::BlockStopSignals();
//     session_gateway::BlockReloadSignal();  // Before any thread starts.
//     ...start the server...
//     session_gateway::ReloadSignalWatcher reload([&] { tokens->Reload(); });
//     ...wait for SIGTERM; `reload` stops before what its callback uses...
//   }
#ifndef SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_
#define SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_

#include <atomic>
#include <functional>
#include <thread>

namespace session_gateway {

// Blocks SIGHUP in the calling thread; threads started later inherit the
// mask. Call before creating any thread, or a SIGHUP delivered to a thread
// that does not block it ends the process.
void BlockReloadSignal();

// Runs `on_reload` on a thread of its own for every SIGHUP, one at a time
// (signals arriving during a run merge into one more run). Needs
// BlockReloadSignal() first. The destructor stops and joins the thread,
// waiting for a running callback, so whatever the callback uses may be
// destroyed right after.
class ReloadSignalWatcher {
 public:
  explicit ReloadSignalWatcher(std::function<void()> on_reload);
  ~ReloadSignalWatcher();

  ReloadSignalWatcher(const ReloadSignalWatcher&) = delete;
  ReloadSignalWatcher& operator=(const ReloadSignalWatcher&) = delete;

 private:
  void Run();

  std::function<void()> on_reload_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_
