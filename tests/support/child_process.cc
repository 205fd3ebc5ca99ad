#include "support/child_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

extern char** environ;

namespace session_gateway {
namespace testing {
namespace {

// A line longer than this is not a ready line; keeping it whole would let
// a runaway child grow the buffer without bound.
constexpr size_t kMaxLineBytes = size_t{64} * 1024;
constexpr size_t kSkippedLinesKept = 10;
constexpr size_t kStderrTailBytes = 2048;

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

std::string TempDir() {
  const char* dir = getenv("TEST_TMPDIR");
  return dir != nullptr && *dir != '\0' ? dir : "/tmp";
}

std::string BaseName(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path
                                                      : path.substr(slash + 1));
}

// Everything the child needs after fork(), built beforehand: between fork
// and exec a multithreaded parent's child may only make async-signal-safe
// calls, which rules out allocating.
struct ExecPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecPlan MakePlan(const ChildProcessOptions& options) {
  ExecPlan plan;
  plan.argv_storage.push_back(options.path);
  plan.argv_storage.insert(plan.argv_storage.end(), options.args.begin(),
                           options.args.end());
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view var(*entry);
    absl::string_view name = var.substr(0, var.find('='));
    bool overridden =
        std::any_of(options.env.begin(), options.env.end(),
                    [&](const auto& extra) { return extra.first == name; });
    if (!overridden) plan.env_storage.emplace_back(var);
  }
  for (const auto& extra : options.env) {
    plan.env_storage.push_back(absl::StrCat(extra.first, "=", extra.second));
  }
  for (std::string& arg : plan.argv_storage) plan.argv.push_back(&arg[0]);
  plan.argv.push_back(nullptr);
  for (std::string& var : plan.env_storage) plan.envp.push_back(&var[0]);
  plan.envp.push_back(nullptr);
  return plan;
}

// Closes every descriptor from `first` up, except `keep`. Async-signal-safe.
void CloseDescriptorsFrom(int first, int keep, int max_fd) {
#ifdef SYS_close_range
  // One syscall when the kernel has it (5.9+); the loop is the fallback.
  bool closed =
      (keep <= first || syscall(SYS_close_range, static_cast<unsigned>(first),
                                static_cast<unsigned>(keep - 1), 0) == 0) &&
      syscall(SYS_close_range, static_cast<unsigned>(std::max(first, keep + 1)),
              ~0U, 0) == 0;
  if (closed) return;
#endif
  for (int fd = first; fd < max_fd; ++fd) {
    if (fd != keep) close(fd);
  }
}

// Runs in the child between fork() and execve(); never returns.
[[noreturn]] void ExecChild(const ExecPlan& plan, pid_t parent, bool pdeath,
                            int stdin_fd, int stdout_fd, int stderr_fd,
                            int error_fd, int max_fd) {
  if (pdeath) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    // The parent may have died before prctl() took effect.
    if (getppid() != parent) _exit(127);
  }
  // Ignored dispositions and blocked signals survive execve(); the test
  // process (gRPC ignores SIGPIPE, for one) must not pass them on.
  struct sigaction default_action;
  memset(&default_action, 0, sizeof(default_action));
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP)
      sigaction(sig, &default_action, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  int err = 0;
  if (dup2(stdin_fd, 0) < 0 || dup2(stdout_fd, 1) < 0 ||
      (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0)) {
    err = errno;
  } else {
    CloseDescriptorsFrom(3, error_fd, max_fd);
    execve(plan.argv[0], plan.argv.data(), plan.envp.data());
    err = errno;
  }
  // error_fd is close-on-exec: the parent reads EOF on success, or this.
  ssize_t ignored = write(error_fd, &err, sizeof(err));
  (void)ignored;
  _exit(127);
}

}  // namespace

std::string ExitStatus::ToString() const {
  if (term_signal != 0) {
    return absl::StrCat("killed by signal ", term_signal, " (",
                        strsignal(term_signal), ")");
  }
  return absl::StrCat("exited with code ", exit_code);
}

ExitStatus ExitStatus::FromWaitStatus(int wait_status) {
  ExitStatus status;
  if (WIFEXITED(wait_status)) status.exit_code = WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) status.term_signal = WTERMSIG(wait_status);
  return status;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const ChildProcessOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("ChildProcess: empty program path");
  }
  int stdout_pipe[2];
  if (pipe2(stdout_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd stdout_read(stdout_pipe[0]);
  UniqueFd stdout_write(stdout_pipe[1]);
  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) return ErrnoError("pipe2");
  UniqueFd error_read(error_pipe[0]);
  UniqueFd error_write(error_pipe[1]);
  UniqueFd dev_null(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!dev_null.valid()) return ErrnoError("open /dev/null");

  std::string stderr_path;
  UniqueFd stderr_file;
  if (options.stderr_mode == ChildProcessOptions::Stderr::kCaptureToFile) {
    if (options.stderr_file.empty()) {
      std::string pattern = absl::StrCat(TempDir(), "/", BaseName(options.path),
                                         ".stderr.XXXXXX");
      stderr_file.reset(mkostemp(&pattern[0], O_CLOEXEC));
      if (!stderr_file.valid())
        return ErrnoError(absl::StrCat("mkostemp ", pattern));
      stderr_path = pattern;
    } else {
      stderr_path = options.stderr_file;
      stderr_file.reset(open(stderr_path.c_str(),
                             O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (!stderr_file.valid())
        return ErrnoError(absl::StrCat("open ", stderr_path));
    }
  }

  ExecPlan plan = MakePlan(options);
  rlimit limit;
  int max_fd = 1024;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 65536));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    ExecChild(plan, parent, options.kill_on_parent_death, dev_null.get(),
              stdout_write.get(), stderr_file.get(), error_write.get(), max_fd);
  }

  // Only the child may hold the write ends, or EOF would never come.
  stdout_write.reset();
  error_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(error_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int wait_status;
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    std::string message = absl::StrCat("cannot execute ", options.path, ": ",
                                       strerror(child_errno));
    if (child_errno == ENOENT) return absl::NotFoundError(message);
    return absl::FailedPreconditionError(message);
  }
  fcntl(stdout_read.get(), F_SETFL,
        fcntl(stdout_read.get(), F_GETFL) | O_NONBLOCK);
  bool owns_stderr_file = !stderr_path.empty() && options.stderr_file.empty();
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, std::move(stdout_read), std::move(stderr_path),
                       owns_stderr_file, options.path));
}

ChildProcess::~ChildProcess() {
  if (!exit_status_.has_value()) {
    kill(pid_, SIGKILL);
    // SIGKILL cannot be caught, so this wait is short; a child stuck in an
    // uninterruptible sleep would be a kernel problem, not a test one.
    int wait_status;
    while (waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
    }
  }
  if (owns_stderr_file_) unlink(stderr_path_.c_str());
}

void ChildProcess::PollExit() {
  if (exit_status_.has_value()) return;
  int wait_status;
  pid_t r = waitpid(pid_, &wait_status, WNOHANG);
  if (r == pid_) exit_status_ = ExitStatus::FromWaitStatus(wait_status);
}

std::string ChildProcess::Diagnostics() const {
  std::string out;
  if (!skipped_lines_.empty()) {
    absl::StrAppend(&out, "; last stdout lines: [",
                    absl::StrJoin(skipped_lines_, " | "), "]");
  }
  if (!stdout_buffer_.empty()) {
    absl::StrAppend(&out, "; unterminated stdout: \"",
                    stdout_buffer_.substr(0, 200), "\"");
  }
  if (exit_status_.has_value()) {
    absl::StrAppend(&out, "; the process ", exit_status_->ToString());
  }
  if (!stderr_path_.empty()) {
    absl::StrAppend(&out, "; stderr (", stderr_path_, ") ends: \"",
                    ReadStderr(kStderrTailBytes), "\"");
  }
  return out;
}

absl::StatusOr<std::string> ChildProcess::ReadLineMatching(
    absl::string_view prefix, absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    size_t newline;
    while ((newline = stdout_buffer_.find('\n')) != std::string::npos) {
      std::string line = stdout_buffer_.substr(0, newline);
      stdout_buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (absl::StartsWith(line, prefix)) return line;
      skipped_lines_.push_back(line.substr(0, 200));
      if (skipped_lines_.size() > kSkippedLinesKept) skipped_lines_.pop_front();
    }
    if (stdout_buffer_.size() > kMaxLineBytes) {
      skipped_lines_.push_back(
          absl::StrCat(stdout_buffer_.substr(0, 200), "... (overlong line)"));
      if (skipped_lines_.size() > kSkippedLinesKept) skipped_lines_.pop_front();
      stdout_buffer_.clear();
    }
    if (stdout_eof_) {
      // Give a child that is exiting a moment to be reaped, so the message
      // can say how it ended.
      Wait(std::min(absl::Milliseconds(200),
                    std::max(deadline - absl::Now(), absl::ZeroDuration())))
          .IgnoreError();
      return absl::FailedPreconditionError(
          absl::StrCat(path_,
                       " closed stdout before printing a line starting "
                       "with \"",
                       prefix, "\"", Diagnostics()));
    }
    pollfd p = {stdout_fd_.get(), POLLIN, 0};
    int ready = poll(&p, 1, PollTimeoutMs(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return ErrnoError("poll");
    if (ready == 0) {
      PollExit();
      return absl::DeadlineExceededError(absl::StrCat(
          "no line starting with \"", prefix, "\" from ", path_, " within ",
          absl::FormatDuration(timeout), Diagnostics()));
    }
    char chunk[4096];
    ssize_t n = read(stdout_fd_.get(), chunk, sizeof(chunk));
    if (n > 0) {
      stdout_buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0) {
      stdout_eof_ = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      return ErrnoError("read child stdout");
    }
  }
}

absl::Status ChildProcess::Signal(int signal_number) {
  if (exit_status_.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process ", pid_, " already reaped: ", exit_status_->ToString()));
  }
  if (kill(pid_, signal_number) != 0) return ErrnoError("kill");
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> ChildProcess::Wait(absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  // Polling with a growing sleep: simple, needs no SIGCHLD handler (which
  // would belong to the whole test process), and costs at most 20 ms.
  absl::Duration nap = absl::Milliseconds(1);
  for (;;) {
    if (exit_status_.has_value()) return *exit_status_;
    int wait_status;
    pid_t r = waitpid(pid_, &wait_status, WNOHANG);
    if (r == pid_) {
      exit_status_ = ExitStatus::FromWaitStatus(wait_status);
      return *exit_status_;
    }
    if (r < 0 && errno != EINTR) return ErrnoError("waitpid");
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(
          absl::StrCat(path_, " (pid ", pid_, ") still running after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(std::min(nap, left));
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
}

absl::StatusOr<ExitStatus> ChildProcess::Terminate(absl::Duration grace) {
  if (exit_status_.has_value()) return *exit_status_;
  absl::Status signalled = Signal(SIGTERM);
  if (!signalled.ok()) return signalled;
  absl::StatusOr<ExitStatus> status = Wait(grace);
  if (status.ok() || !absl::IsDeadlineExceeded(status.status())) return status;
  signalled = Signal(SIGKILL);
  if (!signalled.ok()) return signalled;
  return Wait(absl::Seconds(10));
}

std::string ChildProcess::ReadStderr(size_t max_bytes) const {
  if (stderr_path_.empty()) return "";
  std::ifstream in(stderr_path_, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = std::max<std::streamoff>(
      0, size - static_cast<std::streamoff>(max_bytes));
  in.seekg(start);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

}  // namespace testing
}  // namespace session_gateway
