// Graceful stop for our servers: SIGINT and SIGTERM are blocked in every
// thread and taken synchronously by main(), so no signal handler ever runs
// in the middle of gRPC or libcurl code.
//
// Usage:
//
//   int main(int argc, char** argv) {
//     session_gateway::BlockStopSignals();  // Before any thread starts.
//     ...start the server...
//     int signal_number = session_gateway::WaitForStopSignal();
//     session_gateway::ExitOnNextStopSignal("my-server");
//     ...shut down gracefully...
//   }
#ifndef SESSION_GATEWAY_COMMON_STOP_SIGNALS_H_
#define SESSION_GATEWAY_COMMON_STOP_SIGNALS_H_

namespace session_gateway {

// Blocks SIGINT and SIGTERM in the calling thread; threads started later
// inherit the mask. Call before creating any thread.
void BlockStopSignals();

// Waits until SIGINT or SIGTERM arrives and returns its number.
int WaitForStopSignal();

// The exit code after a second stop signal cut a graceful shutdown short.
inline constexpr int kForcedStopExitCode = 1;

// Call once a graceful shutdown has begun. A second SIGINT or SIGTERM then
// means "stop now" (an operator pressing Ctrl-C again, or a supervisor
// escalating): it prints one line, "<program>: second stop signal (N):
// exiting now without waiting for calls in flight", and ends the process
// at once with kForcedStopExitCode, running no destructors (other threads
// are still serving). Without it the second signal would stay pending and
// be ignored.
void ExitOnNextStopSignal(const char* program);

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_STOP_SIGNALS_H_
