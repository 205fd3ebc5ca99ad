# shellcheck shell=bash
# Shared part of the gateway benchmarks bench/gateway_load.sh and
# bench/inflight.sh; sourced by them, not run:
#
#   source "$(dirname "$0")/lib.sh"
#
# Sourcing makes the checkout the working directory and sets:
#   repo         the checkout
#   build_dir    BUILD_DIR (default: build)
#   results_md   RESULTS_MD (default: bench/RESULTS.md)
#   bench_name   the script's name without .sh, the prefix of log lines
# Everything else is in the functions below, which the scripts call.
# Variables set here are read by the scripts, not here.
# shellcheck disable=SC2034

bench_name=$(basename "$0" .sh)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
build_dir=${BUILD_DIR:-build}
results_md=${RESULTS_MD:-bench/RESULTS.md}

# Progress and errors, on stderr.
log() { echo "$bench_name: $*" >&2; }
die() { log "$*"; exit 1; }

# invocation_line SCRIPT VAR... : the command that repeats this run, for
# the report: "VAR=value ... BUILD_DIR=dir SCRIPT" with each VAR that is
# set and not empty.
invocation_line() {
  local line="BUILD_DIR=$build_dir $1" var
  shift
  for var in "$@"; do
    if [[ -n "${!var:-}" ]]; then line="$var=${!var} $line"; fi
  done
  echo "$line"
}

# ---------------------------------------------------------------- build
# find_binaries: checks that build_dir is a configured build tree, builds
# session-gateway, session-sandbox and grpc_load_client there (not with
# NO_BUILD=1; not grpc_load_client when GRPC_LOAD_CLIENT names one) and
# sets build_type, gateway_bin, sandbox_bin and client_bin.
find_binaries() {
  [[ -f "$build_dir/CMakeCache.txt" ]] || die "$build_dir is not a configured build tree"
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
  if [[ "${NO_BUILD:-0}" != 1 ]]; then
    cmake --build "$build_dir" --target session-gateway session-sandbox -j "${JOBS:-2}" >&2 ||
      die "building session-gateway and session-sandbox failed"
  fi
  gateway_bin=$build_dir/src/gateway/session-gateway
  sandbox_bin=$build_dir/src/sandbox/session-sandbox
  [[ -x "$gateway_bin" && -x "$sandbox_bin" ]] || die "binaries not found under $build_dir/src"
  client_bin=${GRPC_LOAD_CLIENT:-}
  if [[ -z "$client_bin" ]]; then
    if [[ "${NO_BUILD:-0}" != 1 ]] &&
       ! cmake --build "$build_dir" --target grpc_load_client -j "${JOBS:-2}" >&2; then
      die "cannot build grpc_load_client: include bench/gateway_bench.cmake from bench/CMakeLists.txt" \
          "(or set GRPC_LOAD_CLIENT to a built binary)"
    fi
    client_bin=$build_dir/bench/grpc_load_client
  fi
  [[ -x "$client_bin" ]] || die "grpc_load_client not found at $client_bin"
}

# ---------------------------------------------------------------- processes
# init_tmp: makes the temp dir tmp (/tmp/<script>.XXXXXX) and installs the
# exit trap that stops every pid in started_pids and removes tmp.
init_tmp() {
  tmp=$(mktemp -d "/tmp/$bench_name.XXXXXX")
  declare -ga started_pids=()
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

# reap_pid PID: after a TERM, waits up to 5 s for PID to end, then KILLs
# it, and collects its exit status.
reap_pid() {
  local pid=$1
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The exit trap: TERM to all started processes at once, then reap each.
cleanup() {
  local pid
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do reap_pid "$pid"; done
  rm -rf "$tmp"
}

# stop_pid PID: stops one started process and drops it from started_pids.
stop_pid() {
  local pid=$1 keep=() p
  kill "$pid" 2>/dev/null || true
  reap_pid "$pid"
  for p in "${started_pids[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  started_pids=("${keep[@]}")
}

# raise_fd_limit: open files limit 65536, or the hard limit if lower.
raise_fd_limit() {
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
}

# setup_pinning WHAT: with 2 or more CPUs, pins the gateway alone to
# GATEWAY_CPU (default 0) and WHAT (e.g. "sandbox and grpc_load_client")
# to LOAD_CPU (default 1). Sets ncpu, pin_gateway and pin_load (command
# prefixes, empty with 1 CPU) and pinning (the report's sentence).
setup_pinning() {
  ncpu=$(nproc)
  local gateway_cpu=${GATEWAY_CPU:-0} load_cpu=${LOAD_CPU:-1}
  if (( ncpu >= 2 )); then
    pin_gateway=(taskset -c "$gateway_cpu")
    pin_load=(taskset -c "$load_cpu")
    pinning="gateway pinned to CPU $gateway_cpu; $1 pinned to CPU $load_cpu (taskset)"
  else
    pin_gateway=()
    pin_load=()
    pinning="not pinned (1 CPU)"
  fi
}

# start_server NAME OUTFILE ERRFILE CMD... : starts CMD in the background,
# waits (server_start_tries x 0.1 s, default 10 s) for its "listening on
# host:port" line, sets server_pid, server_port; exits if it does not come.
start_server() {
  local name=$1 out=$2 err=$3
  shift 3
  # Emptied here, not by the background job's redirection, so that a
  # previous server's "listening on" line cannot be read meanwhile.
  : >"$out"
  "$@" >>"$out" 2>"$err" &
  server_pid=$!
  started_pids+=("$server_pid")
  for _ in $(seq "${server_start_tries:-100}"); do
    if grep -q '^listening on ' "$out" 2>/dev/null; then
      server_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out" | head -1)
      return 0
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "$name did not start:"; tail -5 "$err" >&2
  exit 1
}

# build_tuning_shim SETTING: compiles the LD_PRELOAD shim of the "tuned"
# upstream mode to $tmp/sandbox_tuning.so. SETTING is the variable that
# asked for it (UPSTREAM_MODE[S]), for the error message.
build_tuning_shim() {
  command -v cc >/dev/null || die "cc not found (needed for $1=tuned)"
  cat >"$tmp/sandbox_tuning.c" <<'EOF'
/* LD_PRELOAD shim for session-sandbox: TCP_NODELAY and a real listen
 * backlog on its listening socket (accepted sockets inherit TCP_NODELAY),
 * and no busy keep-alive wait. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
int listen(int fd, int backlog) {
  static int (*real)(int, int);
  int one = 1;
  if (!real) real = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return real(fd, backlog < 4096 ? 4096 : backlog);
}
/* cpp-httplib 0.11 waits for the next request on a keep-alive connection
 * with poll(fd, POLLIN, 10 ms) then a 1 ms sleep, in a loop: every idle
 * connection's thread wakes ~90 times a second. Wait 1 s per poll instead
 * (a request or a close still ends the wait at once). */
int poll(struct pollfd* fds, nfds_t n, int timeout) {
  static int (*real)(struct pollfd*, nfds_t, int);
  if (!real) real = (int (*)(struct pollfd*, nfds_t, int))dlsym(RTLD_NEXT, "poll");
  if (n == 1 && timeout == 10 && fds[0].events == POLLIN) timeout = 1000;
  return real(fds, n, timeout);
}
EOF
  cc -O2 -shared -fPIC -o "$tmp/sandbox_tuning.so" "$tmp/sandbox_tuning.c" -ldl ||
    die "cannot build the sandbox tuning shim"
}

# ---------------------------------------------------------------- reading output
# json_num JSON KEY / json_str JSON KEY: the first value of KEY in the
# one-line JSON that grpc_load_client prints (empty if absent).
json_num() { sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p" <<<"$1" | head -1; }
json_str() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" <<<"$1" | head -1; }

# Words quoted for a shell where they need it, for the recorded commands.
quote_args() {
  local a out=()
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+-]+$ ]]; then out+=("$a"); else out+=("'$a'"); fi
  done
  echo "${out[*]}"
}

# ---------------------------------------------------------------- report
# note_run_start: load average, source revision and date before the runs.
note_run_start() {
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  source_rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
  source_rev="$source_rev ($( (git -C "$repo" status --porcelain -- src 2>/dev/null || true) | wc -l) files changed under src/)"
  date_utc=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
}

# note_run_end: load average after the runs, CPU model and clock.
note_run_end() {
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  cpu_mhz=$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -1)
}

# section_header TITLE SCRIPT: the first lines of a RESULTS.md subsection:
# "### TITLE (SCRIPT)", who writes it, date, machine, load average.
section_header() {
  echo "### $1 ($2)"
  echo
  echo "Written by \`$2\`; rerun it to refresh this subsection."
  echo
  echo "- Date: $date_utc"
  echo "- Machine: $ncpu online CPUs (nproc), \`$cpu_model\`, $cpu_mhz MHz, kernel $(uname -r); shared with other users"
  echo "- Load average before / after: $load_before / $load_after"
}

# update_results KEY BODYFILE MD: replaces the subsection whose heading
# starts with KEY ("### Load") inside `## Gateway` of MD by BODYFILE,
# creating the file, the section or the subsection as needed, and leaves
# every other line of MD as it was.
update_results() {
  local key=$1 body=$2 md=$3
  [[ -f "$md" ]] || printf '# Benchmark results\n\nEach section is written by its own benchmark script in bench/.\n' >"$md"
  awk -v key="$key" -v bodyfile="$body" '
    function emit(   line) {
      if (last != "") print ""
      while ((getline line < bodyfile) > 0) print line
      close(bodyfile); done = 1; last = ""
    }
    /^## / {
      if (in_gw && !done) emit()
      in_gw = ($0 == "## Gateway"); skipping = 0
      if (in_gw) seen = 1
      print; last = $0; next
    }
    in_gw && /^### / {
      if (index($0, key) == 1) { skipping = 1; emit(); next }
      skipping = 0
    }
    skipping { next }
    { print; last = $0 }
    END {
      if (!seen) {
        if (last != "") print ""
        print "## Gateway"
        print ""
        print "Written by `bench/gateway_load.sh` (subsection Load) and `bench/inflight.sh` (subsection In-flight capacity); each script rewrites only its own subsection."
        last = ""
        emit()
      } else if (in_gw && !done) emit()
    }' "$md" >"$md.tmp.$$"
  mv "$md.tmp.$$" "$md"
}

# publish_section KEY FILE: FILE, with the temp dir shown as $TMP/, becomes
# subsection KEY of `## Gateway` in results_md; logs that and prints FILE.
publish_section() {
  local key=$1 body=$2
  sed -i "s#$tmp/#\$TMP/#g" "$body"
  update_results "$key" "$body" "$results_md"
  log "wrote the ${key#"### "} subsection of ## Gateway in $results_md"
  cat "$body"
}
