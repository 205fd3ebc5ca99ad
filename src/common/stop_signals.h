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

}  // namespace session_gateway

#endif  // SESSION_GATEWAY_COMMON_STOP_SIGNALS_H_
