// stub_upstream: a scripted stand-in for the Gr4vy REST API, run as a
// separate process by integration tests (see support/stub_upstream.h for
// the control protocol and the harness that drives it).
//
//   stub_upstream [--port=0] [--max_lifetime=300s] [--log_requests]
//                 [--max_records=1000]
//
// Once it accepts connections it prints exactly one line to stdout,
// "listening on 127.0.0.1:PORT", and flushes. It exits with status 0 on
// SIGTERM or SIGINT, and by itself after --max_lifetime so that a crashed
// or forgetful test never leaves it behind. It exits 2 if it cannot listen.

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "support/stub_server.h"

ABSL_FLAG(int32_t, port, 0,
          "TCP port on 127.0.0.1 to listen on; 0 picks an ephemeral one.");
ABSL_FLAG(absl::Duration, max_lifetime, absl::Seconds(300),
          "Exit after this long even if nobody asks; \"inf\" for never.");
ABSL_FLAG(bool, log_requests, false,
          "Log one line per scripted request to stderr.");
ABSL_FLAG(int32_t, max_records, 1000,
          "Keep at most this many recorded requests, dropping the oldest.");

namespace {

// Waits for SIGTERM/SIGINT or the deadline, whichever comes first.
// Returns the signal number, or 0 at the deadline.
int WaitForStopSignal(const sigset_t& stop_signals, absl::Time deadline) {
  for (;;) {
    int signal_number;
    if (deadline == absl::InfiniteFuture()) {
      signal_number = sigwaitinfo(&stop_signals, nullptr);
    } else {
      absl::Duration left =
          std::max(deadline - absl::Now(), absl::ZeroDuration());
      timespec timeout = absl::ToTimespec(left);
      signal_number = sigtimedwait(&stop_signals, nullptr, &timeout);
    }
    if (signal_number > 0) return signal_number;
    if (errno == EAGAIN) return 0;
    // EINTR: some other signal (e.g. a debugger's); keep waiting.
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Scripted HTTP/1.1 stand-in for the Gr4vy REST API, for tests.\n"
      "Usage: stub_upstream [--port=0] [--max_lifetime=300s] "
      "[--log_requests] [--max_records=1000]");
  absl::ParseCommandLine(argc, argv);
  absl::Duration max_lifetime = absl::GetFlag(FLAGS_max_lifetime);
  if (max_lifetime <= absl::ZeroDuration()) {
    std::fprintf(stderr, "stub_upstream: --max_lifetime must be positive\n");
    return 2;
  }
  absl::Time deadline = max_lifetime == absl::InfiniteDuration()
                            ? absl::InfiniteFuture()
                            : absl::Now() + max_lifetime;

  // Clients that vanish mid-response must cost an error return, not the
  // process.
  ::signal(SIGPIPE, SIG_IGN);
  // Blocked before any thread starts, so every thread inherits the mask and
  // only the main thread's sigtimedwait() ever sees these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  session_gateway::testing::StubServerOptions options;
  options.log_requests = absl::GetFlag(FLAGS_log_requests);
  if (absl::GetFlag(FLAGS_max_records) < 1) {
    std::fprintf(stderr, "stub_upstream: --max_records must be positive\n");
    return 2;
  }
  options.max_records = static_cast<size_t>(absl::GetFlag(FLAGS_max_records));
  auto owned = std::make_unique<session_gateway::testing::StubServer>(options);
  absl::Status listening = owned->Listen(absl::GetFlag(FLAGS_port));
  if (!listening.ok()) {
    std::fprintf(stderr, "stub_upstream: %s\n",
                 std::string(listening.message()).c_str());
    return 2;  // `owned` frees the server: nothing else refers to it yet.
  }
  // Never destroyed from here on: connection threads may use it until
  // _exit(), which runs no destructors (and LeakSanitizer does not run
  // after _exit either).
  session_gateway::testing::StubServer* server = owned.release();
  std::thread([server] { server->AcceptLoop(); }).detach();

  std::printf("listening on 127.0.0.1:%d\n", server->port());
  std::fflush(stdout);

  int signal_number = WaitForStopSignal(stop_signals, deadline);
  server->ShutdownListener();
  if (signal_number == 0) {
    std::fprintf(stderr, "stub_upstream: --max_lifetime=%s reached, exiting\n",
                 absl::FormatDuration(max_lifetime).c_str());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  // _exit, not exit: connection threads may be blocked in a hang or stall,
  // and static destructors must not run under them.
  ::_exit(0);
}
