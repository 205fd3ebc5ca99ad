# shellcheck shell=bash
# Shared part of the gateway benchmarks bench/ratio.sh, bench/scaling.sh
# and bench/inflight.sh; sourced by them, not run:
#
#   source "$(dirname "$0")/lib.sh"
#
# Sourcing makes the checkout the working directory and sets:
#   repo         the checkout
#   build_dir    BUILD_DIR (default: build-release: benchmarks want Release)
#   results_md   RESULTS_MD (default: bench/RESULTS.md)
#   bench_name   the script's name without .sh, the prefix of log lines
#   python       Debian's /usr/bin/python3 (the renderer needs no packages)
# Measurements go to $tmp/runs.txt (one line per repetition, see
# bench/gbench_json.py) and become RESULTS.md through finish_report.
# Variables set here are read by the scripts, not here.
# shellcheck disable=SC2034

bench_name=$(basename "$0" .sh)
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
build_dir=${BUILD_DIR:-build-release}
results_md=${RESULTS_MD:-bench/RESULTS.md}
python=/usr/bin/python3
[[ -x "$python" ]] || python=python3
clk_tck=$(getconf CLK_TCK)

# Progress and errors, on stderr.
log() { echo "$bench_name: $*" >&2; }
die() { log "$*"; exit 1; }

# show_help: prints the script's leading comment block (its documentation)
# when the first argument is -h or --help, and exits.
show_help() {
  case "${1:-}" in
    -h | --help) sed -n '2,/^[^#]/{/^#/!q;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    "") ;;
    *) die "unknown argument $1 (settings are environment variables; see --help)" ;;
  esac
}

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

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null ||
      die "$tool not found (Debian: scripts/install-deps.sh installs nginx, nghttp2-client for h2load)"
  done
}

# ---------------------------------------------------------------- build
# find_binaries: checks that build_dir is a configured build tree, builds
# session-gateway, grpc_load_client and http_client_bench there (not with
# NO_BUILD=1) and sets build_type, gateway_bin, client_bin and
# http_bench_bin.
find_binaries() {
  [[ -f "$build_dir/CMakeCache.txt" ]] ||
    die "$build_dir is not a configured build tree (cmake --preset release)"
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
  [[ "$build_type" == Release ]] || log "warning: $build_dir is a $build_type build, not Release"
  if [[ "${NO_BUILD:-0}" != 1 ]]; then
    cmake --build "$build_dir" --target session-gateway grpc_load_client http_client_bench -j "${JOBS:-2}" >&2 ||
      die "building session-gateway, grpc_load_client and http_client_bench failed"
  fi
  gateway_bin=$build_dir/src/gateway/session-gateway
  client_bin=$build_dir/bench/grpc_load_client
  http_bench_bin=$build_dir/bench/http_client_bench
  [[ -x "$gateway_bin" && -x "$client_bin" ]] || die "binaries not found under $build_dir"
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

# start_slow_upstream CPU DELAY_MS: starts bench/slow_upstream.py pinned to
# CPU, answering every POST after DELAY_MS, as a started pid; sets
# upstream_cmd, upstream_pid and upstream_port (dies if it does not listen
# within 10 s).
start_slow_upstream() {
  local cpu=$1 delay=$2
  : >"$tmp/upstream.out"
  upstream_cmd=(taskset -c "$cpu" "$python" bench/slow_upstream.py --delay_ms="$delay")
  "${upstream_cmd[@]}" >"$tmp/upstream.out" 2>"$tmp/upstream.err" &
  upstream_pid=$!
  started_pids+=("$upstream_pid")
  upstream_port=
  for _ in $(seq 100); do
    upstream_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/upstream.out")
    [[ -n "$upstream_port" ]] && break
    kill -0 "$upstream_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$upstream_port" ]] || { cat "$tmp/upstream.err" >&2; die "slow_upstream.py did not start"; }
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

# start_gateway LOGFILE CPULIST ARGS... : session-gateway on a free
# loopback port, pinned to CPULIST (taskset -c), stderr (its call log) to
# LOGFILE. Sets gateway_pid, gateway_port and gateway_cmd (for the report).
start_gateway() {
  local logfile=$1 cpus=$2 out
  shift 2
  out="$logfile.stdout"
  : >"$out"
  gateway_cmd=(taskset -c "$cpus" "$gateway_bin" --listen=127.0.0.1:0 "$@")
  "${gateway_cmd[@]}" >"$out" 2>"$logfile" &
  gateway_pid=$!
  started_pids+=("$gateway_pid")
  for _ in $(seq 100); do
    gateway_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$out" | head -1)
    [[ -n "$gateway_port" ]] && return 0
    kill -0 "$gateway_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "session-gateway did not start:"; tail -5 "$logfile" >&2
  exit 1
}

# free_port: a loopback port nobody listens on now (the kernel's choice).
free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- nginx upstream
# session_json BYTES: a CreateSession answer (the docs' shape) of exactly
# BYTES bytes, or the docs' own small example with BYTES=0. Padding is an
# array of records so the converter walks a realistic response_body; no
# character nginx would treat specially in a return string ($ ' \).
session_json() {
  "$python" - "$1" <<'EOF'
import json, sys
size = int(sys.argv[1])
def doc(body):
    return json.dumps({"type": "payment-service-session", "status": "succeeded",
                       "code": "UNKNOWN_ERROR", "status_code": 200, "response_body": body},
                      separators=(",", ":"))
if size == 0:
    print(doc({"sessionId": "12345"}), end="")
    sys.exit()
records = []
while len(doc({"data": records, "pad": ""})) < size - 120:
    i = len(records)
    records.append({"id": f"item-{i:05d}", "amount": i * 100 + 7, "currency": "EUR",
                    "captured": i % 2 == 0, "note": "line item"})
text = doc({"data": records, "pad": ""})
if len(text) > size:
    sys.exit(f"cannot make {size} bytes")
print(doc({"data": records, "pad": "x" * (size - len(text))}), end="")
EOF
}

# start_nginx CPULIST: nginx (one worker, no master) on a free loopback
# port, pinned to CPULIST, answering POST on both session routes with a
# fixed CreateSession JSON file: definition id bench-2k gets a 2 KiB answer,
# bench-64k a 64 KiB one, anything else (bench-small, any payment service)
# the docs' small example. nginx's static module refuses POST (405) and
# `return 200 '...'` cannot hold 64 KiB (a config token is limited to a few
# KiB), so each route returns 405 and error_page turns that into a 200
# with the file (nginx fetches error pages with GET). Sets nginx_pid,
# nginx_port, nginx_cmd; /nginx_status is stub_status, for connection counts.
start_nginx() {
  local cpus=$1 dir="$tmp/nginx"
  mkdir -p "$dir/tmp" "$dir/www/answers"
  nginx_port=$(free_port)
  session_json 0 >"$dir/www/answers/small.json"
  session_json 2048 >"$dir/www/answers/2k.json"
  session_json 65536 >"$dir/www/answers/64k.json"
  cat >"$dir/nginx.conf" <<EOF
# Written by bench/lib.sh start_nginx for one benchmark run.
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  # The gateway keeps its upstream connections; never make it reconnect.
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type application/json;
  root $dir/www;
  server {
    listen 127.0.0.1:$nginx_port backlog=4096;
    location = /nginx_status { stub_status; }
    location /answers/ { internal; }
    location = /payment-service-definitions/bench-2k/sessions { error_page 405 =200 /answers/2k.json; return 405; }
    location = /payment-service-definitions/bench-64k/sessions { error_page 405 =200 /answers/64k.json; return 405; }
    location ~ ^/payment-service(-definition)?s/[^/]+/sessions\$ { error_page 405 =200 /answers/small.json; return 405; }
  }
}
EOF
  nginx_cmd=(taskset -c "$cpus" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf")
  "${nginx_cmd[@]}" >"$dir/stdout" 2>&1 &
  nginx_pid=$!
  started_pids+=("$nginx_pid")
  for _ in $(seq 50); do
    if curl -sf "http://127.0.0.1:$nginx_port/nginx_status" >/dev/null 2>&1; then
      # Every answer must have the size it claims (and be POSTable).
      local got
      got=$(curl -s -X POST -d '{}' "http://127.0.0.1:$nginx_port/payment-service-definitions/bench-64k/sessions" | wc -c)
      [[ "$got" == 65536 ]] || die "nginx answered $got bytes for bench-64k, want 65536"
      return 0
    fi
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.1
  done
  log "nginx did not start:"; cat "$dir/stdout" "$dir/error.log" >&2
  exit 1
}

# nginx_accepts: connections nginx has accepted so far (stub_status); the
# count includes this query's own connection, and the next query's count
# the previous one's.
nginx_accepts() {
  curl -sf "http://127.0.0.1:$nginx_port/nginx_status" | awk 'NR == 3 { print $1 }'
}

# ---------------------------------------------------------------- gRPC payloads
# make_payloads: gRPC-framed requests for h2load -d in $tmp: a 5-byte
# header (flag 0, big-endian length) and the message.
#   health.bin                    HealthCheckRequest{} (empty message)
#   definition-<id>.bin           CreatePaymentServiceDefinitionSessionRequest{1: id}
#                                 for bench-small, bench-2k, bench-64k
make_payloads() {
  "$python" - "$tmp" <<'EOF'
import struct, sys
tmp = sys.argv[1]
def frame(message):
    return b"\0" + struct.pack(">I", len(message)) + message
open(f"{tmp}/health.bin", "wb").write(frame(b""))
for ident in ("bench-small", "bench-2k", "bench-64k"):
    field1 = b"\x0a" + bytes([len(ident)]) + ident.encode()
    open(f"{tmp}/definition-{ident}.bin", "wb").write(frame(field1))
EOF
}

# ---------------------------------------------------------------- measuring
# utime+stime of a process, all threads, in clock ticks.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Busy ticks of the whole machine (steal included).
machine_busy_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9 }' /proc/stat; }

grpc_method_health=/grpc.health.v1.Health/Check
grpc_method_definition=/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession

# h2load_phase NAME PORT METHOD PAYLOAD CALLS C M LOADCPUS GATEWAY_LOG
#   CALLS gRPC calls through h2load (-n: every call completes, none is cut
#   off) at C connections x M streams, pinned to LOADCPUS, against the
#   gateway gateway_pid on PORT. Appends one repetition to $tmp/runs.txt:
#   cpu_time = gateway CPU µs per call (utime+stime, /proc/PID/stat),
#   real_time = wall µs per call, rps, nginx CPU µs per call, upstream
#   connections nginx accepted, and others_cpus (CPUs used meanwhile by
#   processes other than the gateway, nginx and h2load: the noise).
#   Verifies h2load's counts (every request done, HTTP 2xx) and, for
#   SessionService calls, that the gateway logged one grpc_code=OK line per
#   call and nothing else; a failed check ends the script. Sets phase_rps.
h2load_phase() {
  local name=$1 port=$2 method=$3 payload=$4 calls=$5 c=$6 m=$7 load_cpus=$8 gw_log=$9
  local out="$tmp/h2load.out" limit=$(( ${PHASE_TIMEOUT:-120} ))
  local log_off g0 n0 b0 a0 t0 g1 n1 b1 a1 t1 h2 rc=0
  log_off=$(stat -c %s "$gw_log")
  a0=$(nginx_accepts)
  g0=$(proc_ticks "$gateway_pid"); n0=$(proc_ticks "$nginx_pid"); b0=$(machine_busy_ticks)
  t0=$(date +%s.%N)
  timeout --kill-after=5 "$limit" taskset -c "$load_cpus" /usr/bin/time -f '%U %S' -o "$tmp/h2load.time" \
    h2load -n "$calls" -c "$c" -m "$m" -d "$payload" -H 'content-type: application/grpc' -H 'te: trailers' \
    "http://127.0.0.1:$port$method" >"$out" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  g1=$(proc_ticks "$gateway_pid"); n1=$(proc_ticks "$nginx_pid"); b1=$(machine_busy_ticks)
  a1=$(nginx_accepts)
  h2=$(awk '{ print $1 + $2 }' "$tmp/h2load.time" 2>/dev/null || echo 0)
  phase_commands["$name"]="h2load -n $calls -c $c -m $m -d \$TMP/$(basename "$payload") -H 'content-type: application/grpc' -H 'te: trailers' http://127.0.0.1:PORT$method"
  local succeeded twoxx rps
  succeeded=$(sed -n 's/^requests: .* \([0-9]*\) succeeded.*/\1/p' "$out")
  twoxx=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' "$out")
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$out")
  if [[ "$rc" != 0 || "$succeeded" != "$calls" || "$twoxx" != "$calls" || -z "$rps" ]]; then
    tail -8 "$out" >&2
    die "$name: h2load rc $rc, $succeeded of $calls succeeded, ${twoxx:-0} HTTP 2xx"
  fi
  if [[ "$method" != "$grpc_method_health" ]]; then
    # h2load counts HTTP 200 whatever the grpc-status: the gateway's own
    # call log (on by default) says how each call really ended.
    local ok other
    read -r ok other < <(tail -c +"$((log_off + 1))" "$gw_log" |
      awk '/session-gateway: call / { if (/ grpc_code=OK /) ok++; else other++ } END { print ok + 0, other + 0 }')
    if [[ "$ok" != "$calls" || "$other" != 0 ]]; then
      tail -c +"$((log_off + 1))" "$gw_log" | grep -v ' grpc_code=OK ' | head -3 >&2 || true
      die "$name: gateway logged $ok grpc_code=OK and $other other calls, want $calls OK"
    fi
  fi
  local line
  line=$(awk -v g="$((g1 - g0))" -v n="$((n1 - n0))" -v b="$((b1 - b0))" -v hz="$clk_tck" \
             -v calls="$calls" -v t0="$t0" -v t1="$t1" -v h2="$h2" -v rps="$rps" -v conns="$((a1 - a0 - 1))" 'BEGIN {
      el = t1 - t0; others = el > 0 ? (b / hz - g / hz - n / hz - h2) / el : 0; if (others < 0) others = 0
      printf "real_time=%.3f cpu_time=%.3f iterations=%d rps=%s nginx_cpu_us=%.3f upstream_conns=%d others_cpus=%.3f",
        el * 1e6 / calls, g / hz * 1e6 / calls, calls, rps, n / hz * 1e6 / calls, conns, others }')
  printf '%s\t%s\n' "$name" "$line" >>"$tmp/runs.txt"
  phase_rps=$rps
  log "  $name: $calls calls, $rps req/s; $line"
}

# size_calls NAME PORT METHOD PAYLOAD C M LOADCPUS: a warm-up h2load run of
# ten rounds of C x M calls (unmeasured), then sets sized_calls to the
# number of calls that take about DURATION seconds at that rate.
size_calls() {
  local name=$1 port=$2 method=$3 payload=$4 c=$5 m=$6 load_cpus=$7 warm rps
  warm=$(( c * m * 10 ))
  timeout --kill-after=5 "${PHASE_TIMEOUT:-120}" taskset -c "$load_cpus" h2load -n "$warm" -c "$c" -m "$m" -d "$payload" \
    -H 'content-type: application/grpc' -H 'te: trailers' "http://127.0.0.1:$port$method" >"$tmp/warm.out" 2>&1 || true
  rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$tmp/warm.out")
  [[ -n "$rps" ]] || { tail -5 "$tmp/warm.out" >&2; die "$name: warm-up failed"; }
  sized_calls=$(awk -v r="$rps" -v d="${DURATION:-5}" -v cm="$((c * m))" -v max="${MAX_CALLS:-400000}" \
    'BEGIN { n = int(r * d); if (n < cm * 4) n = cm * 4; if (n > max) n = max; print n }')
  log "  $name: warm-up $warm calls at $rps req/s; measuring $sized_calls calls per repetition"
}

# verify_grpc NAME PORT RPC ID: a grpc_load_client pass (VERIFY_CALLS calls,
# default 500, 64 in flight) that checks gRPC statuses and contents (a
# SUCCEEDED session, a SERVING health answer), which h2load cannot see.
verify_grpc() {
  local name=$1 port=$2 rpc=$3 id=$4 calls=${VERIFY_CALLS:-500} json rc=0
  json=$(timeout --kill-after=5 60 "$client_bin" --target="127.0.0.1:$port" --rpc="$rpc" ${id:+--id="$id"} \
           --calls="$calls" --concurrency=64 --channels=4 --deadline_ms=20000) || rc=$?
  [[ "$rc" == 0 ]] || die "$name: grpc_load_client check failed (rc $rc): $json"
  log "  $name: gRPC check: $calls of $calls OK with a good answer"
}

# ---------------------------------------------------------------- report
# note_start: date, load and source revision for the JSON context.
note_start() {
  source_rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
}

# hide_tmp: a filter writing this run's temp dir as $TMP, so that results
# name no per-run path. hide_tmp_in FILE: the same, in place.
hide_tmp() { sed "s#$tmp/#\$TMP/#g; s#$tmp#\$TMP#g"; }
hide_tmp_in() { sed -i "s#$tmp/#\$TMP/#g; s#$tmp#\$TMP#g" "$1"; }

# write_json FILE CONTEXT... : $tmp/runs.txt as Google Benchmark JSON.
write_json() {
  local file=$1 item args=()
  shift
  for item in "$@"; do args+=(--context "$item"); done
  "$python" "$repo/bench/gbench_json.py" --out "$file" --time_unit us \
    --context "executable=$invocation" --context "source=$source_rev, $build_type build in $build_dir" \
    --context "load average before / after=$load_before / $(cut -d' ' -f1-3 /proc/loadavg)" \
    "${args[@]}" "$tmp/runs.txt"
}

# others_note: a sentence on how busy the rest of the machine was, from the
# others_cpus counter of $tmp/runs.txt (the most any repetition saw).
others_note() {
  awk -F'others_cpus=' 'NF > 1 { split($2, a, " "); if (a[1] > m) m = a[1] } END {
    printf "Other processes on the machine used up to %.2f CPUs during a measured repetition", m
    if (m > 0.25) printf " (**noisy run**: this machine is shared; ratios within the run still compare like with like)"
    print "." }' "$tmp/runs.txt"
}
