// SIGHUP as "re-read your files", the Unix convention for daemons, taken
// synchronously by main() together with the stop signals (sigwait), so no
// signal handler ever runs in the middle of gRPC or libcurl code, SIGHUP
// never stops the process (its default action would), and no thread of its
// own waits for it.
//
// Usage:
//
//   int main(int argc, char** argv) {
//     session_gateway::BlockStopSignals();
//     session_gateway::BlockReloadSignal();  // Before any thread starts.
//     ...start the server...
//     int signal_number =
//         session_gateway::WaitForStopSignalReloadingOnHangup([&] { tokens->Reload(); });
//     ...shut down gracefully...
//   }
#ifndef SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_
#define SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_

#include "absl/functional/function_ref.h"

namespace session_gateway {

// Blocks SIGHUP in the calling thread; threads started later inherit the
// mask. Call before creating any thread, or a SIGHUP delivered to a thread
// that does not block it ends the process.
void BlockReloadSignal();

// Waits until SIGINT or SIGTERM arrives and returns its number, running
// `on_reload` on the calling thread for every SIGHUP meanwhile (one at a
// time; SIGHUPs arriving during a run merge into one more run). Needs
// BlockStopSignals() and BlockReloadSignal() first. After it returns,
// SIGHUP stays blocked and pending: a reload during shutdown is ignored.
int WaitForStopSignalReloadingOnHangup(absl::FunctionRef<void()> on_reload);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_RELOAD_SIGNAL_H_
