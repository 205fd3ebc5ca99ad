#include "common/reload_signal.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace session_gateway {
namespace {

sigset_t ReloadSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

void BlockReloadSignal() {
  sigset_t signals = ReloadSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

ReloadSignalWatcher::ReloadSignalWatcher(std::function<void()> on_reload)
    : on_reload_(std::move(on_reload)), thread_([this] { Run(); }) {}

ReloadSignalWatcher::~ReloadSignalWatcher() {
  stopping_.store(true);
  // A SIGHUP aimed at the watcher thread itself wakes its sigwait; one sent
  // to the process meanwhile is taken by the same sigwait, and either way
  // the thread sees stopping_ and returns.
  pthread_kill(thread_.native_handle(), SIGHUP);
  thread_.join();
}

void ReloadSignalWatcher::Run() {
  const sigset_t signals = ReloadSignals();
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (stopping_.load()) return;
    on_reload_();
  }
}

}  // namespace session_gateway
