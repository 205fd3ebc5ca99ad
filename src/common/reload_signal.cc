#include "common/reload_signal.h"

#include <pthread.h>
#include <signal.h>

namespace session_gateway {

void BlockReloadSignal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForStopSignalReloadingOnHangup(absl::FunctionRef<void()> on_reload) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  while (true) {
    int signal_number = 0;
    if (sigwait(&signals, &signal_number) != 0) continue;
    if (signal_number != SIGHUP) return signal_number;
    on_reload();
  }
}

}  // namespace session_gateway
