#include "common/stop_signals.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

namespace session_gateway {
namespace {

sigset_t StopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void BlockStopSignals() {
  sigset_t signals = StopSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForStopSignal() {
  sigset_t signals = StopSignals();
  int signal_number = 0;
  while (sigwait(&signals, &signal_number) != 0) {
  }
  return signal_number;
}

void ExitOnNextStopSignal(const char* program) {
  // The stop signals stay blocked in every thread, so this thread's sigwait
  // takes the next one, even one that arrived before it started.
  std::thread([program] {
    const int signal_number = WaitForStopSignal();
    std::fprintf(stderr, "%s: second stop signal (%d): exiting now without waiting for calls in flight\n",
                 program, signal_number);
    std::fflush(stderr);
    std::_Exit(kForcedStopExitCode);
  }).detach();
}

}  // namespace session_gateway
