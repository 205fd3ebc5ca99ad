// ChildProcess runs a program (the gateway, the stub upstream) as a child
// of the test, so that integration tests exercise the real binaries, their
// flags and their exit codes.
//
// Every wait is bounded, and the destructor kills (SIGKILL) and reaps a
// child that is still running, so a failing ASSERT never leaks a process.
// By default the child is also killed if the thread that started it dies
// (PR_SET_PDEATHSIG), covering a test binary that crashes outright.
//
// Usage:
//
//   ChildProcessOptions options;
//   options.path = GATEWAY_PATH;
//   options.args = {"--port=0", absl::StrCat("--upstream=", stub->base_url())};
//   options.env = {{"GR4VY_PRIVATE_KEY_FILE", key_path}};
//   options.stderr_mode = ChildProcessOptions::Stderr::kCaptureToFile;
//   absl::StatusOr<std::unique_ptr<ChildProcess>> gateway =
//       ChildProcess::Start(options);
//   ASSERT_TRUE(gateway.ok()) << gateway.status();
//   absl::StatusOr<std::string> ready =
//       (*gateway)->ReadLineMatching("listening on ", absl::Seconds(10));
//   ASSERT_TRUE(ready.ok()) << ready.status();  // Includes the stderr tail.
//   ...
//   absl::StatusOr<ExitStatus> exit = (*gateway)->Terminate(absl::Seconds(5));
//   EXPECT_TRUE(exit.ok() && exit->ExitedWith(0)) << exit.status();
//
// A ChildProcess is not thread-safe: use each one from a single thread.

#ifndef SESSION_GATEWAY_TEST_SUPPORT_CHILD_PROCESS_H_
#define SESSION_GATEWAY_TEST_SUPPORT_CHILD_PROCESS_H_

#include <sys/types.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "support/socket_util.h"

namespace session_gateway {
namespace testing {

// How a reaped child ended.
struct ExitStatus {
  // The exit code if the child exited normally, else -1.
  int exit_code = -1;
  // The signal that killed it, else 0.
  int term_signal = 0;

  bool ExitedWith(int code) const {
    return term_signal == 0 && exit_code == code;
  }
  bool KilledBy(int signal_number) const {
    return term_signal == signal_number;
  }
  // "exited with code 3", "killed by signal 9 (Killed)".
  std::string ToString() const;

  static ExitStatus FromWaitStatus(int wait_status);
};

struct ChildProcessOptions {
  // The program to execute; not searched in PATH.
  std::string path;
  // argv[1...]; argv[0] is `path`.
  std::vector<std::string> args;
  // Added to (or replacing same-named entries of) the test's environment.
  std::vector<std::pair<std::string, std::string>> env;

  enum class Stderr {
    kInherit,        // Goes wherever the test's stderr goes (CTest's log).
    kCaptureToFile,  // Written to stderr_file, readable later.
  };
  Stderr stderr_mode = Stderr::kInherit;
  // With kCaptureToFile: the file to (over)write, kept afterwards. Empty
  // picks a fresh file under $TEST_TMPDIR or /tmp, readable for as long as
  // the ChildProcess lives and deleted with it, so that test runs do not
  // litter /tmp.
  std::string stderr_file;

  // Kill the child with SIGKILL when the *thread* that started it exits.
  // Turn this off when starting a long-lived child from a short-lived
  // thread.
  bool kill_on_parent_death = true;
};

class ChildProcess {
 public:
  // Forks and execs the program: stdin reads /dev/null, stdout is a pipe
  // read by ReadLineMatching(), stderr is per options. No other descriptor
  // of the test process leaks into the child, and signal dispositions and
  // the signal mask are reset to defaults.
  //
  // Fails with kInvalidArgument for an empty path, and with the exec error
  // (kNotFound for ENOENT, else kFailedPrecondition) if the program cannot
  // be executed at all.
  //
  // stdout is a pipe of limited capacity (64 KiB on Linux): a child that
  // writes more than that which nobody reads blocks in write(). Programs
  // run this way should log to stderr.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const ChildProcessOptions& options);

  // Kills the child with SIGKILL and reaps it if it is still running;
  // deletes a stderr file it picked itself.
  ~ChildProcess();

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Reads stdout lines until one starts with `prefix` and returns it
  // without its line terminator; lines read on the way are discarded. More
  // lines may be requested later. Errors:
  //   kDeadlineExceeded    `timeout` passed first;
  //   kFailedPrecondition  stdout was closed (usually: the child exited)
  //                        first.
  // Error messages quote the last lines skipped, how the child exited if it
  // did, and the tail of the captured stderr, which is usually all that is
  // needed to see why a binary did not start.
  absl::StatusOr<std::string> ReadLineMatching(absl::string_view prefix,
                                               absl::Duration timeout);

  // Sends `signal_number`. kFailedPrecondition once the child was reaped
  // (its pid may belong to another process by then).
  absl::Status Signal(int signal_number);

  // Waits up to `timeout` for the child to end and reaps it; after that it
  // keeps returning the same ExitStatus. kDeadlineExceeded if it is still
  // running.
  absl::StatusOr<ExitStatus> Wait(absl::Duration timeout);

  // Asks the child to stop with SIGTERM, waits up to `grace`, then uses
  // SIGKILL. Returns how it ended (KilledBy(SIGKILL) tells the two apart).
  absl::StatusOr<ExitStatus> Terminate(absl::Duration grace);

  // Whether the child has been reaped.
  bool exited() const { return exit_status_.has_value(); }

  // The capture file's path; empty with Stderr::kInherit.
  const std::string& stderr_path() const { return stderr_path_; }

  // Everything captured from stderr so far (at most the last `max_bytes`);
  // empty with Stderr::kInherit.
  std::string ReadStderr(size_t max_bytes = size_t{1} << 20) const;

 private:
  ChildProcess(pid_t pid, UniqueFd stdout_fd, std::string stderr_path,
               bool owns_stderr_file, std::string path)
      : pid_(pid),
        stdout_fd_(std::move(stdout_fd)),
        stderr_path_(std::move(stderr_path)),
        owns_stderr_file_(owns_stderr_file),
        path_(std::move(path)) {}

  // Reaps the child if it has ended, without blocking.
  void PollExit();

  // Context for error messages: skipped lines, exit, stderr tail.
  std::string Diagnostics() const;

  pid_t pid_;
  UniqueFd stdout_fd_;
  std::string stderr_path_;
  bool owns_stderr_file_;
  std::string path_;
  std::string stdout_buffer_;  // Read, but not yet a complete line.
  bool stdout_eof_ = false;
  std::deque<std::string> skipped_lines_;  // The last few, for messages.
  std::optional<ExitStatus> exit_status_;
};

}  // namespace testing
}  // namespace session_gateway

#endif  // SESSION_GATEWAY_TEST_SUPPORT_CHILD_PROCESS_H_
