#!/usr/bin/env bash
# Gateway load benchmark: session-gateway in front of session-sandbox,
# driven by h2load, checked by grpc_load_client, and written into the
# `### Load` part of the `## Gateway` section of bench/RESULTS.md.
#
#   BUILD_DIR=build bench/gateway_load.sh
#
# What one run does, for each upstream mode (UPSTREAM_MODES):
#   1. starts session-sandbox (the REST upstream) and session-gateway as
#      separate processes on loopback ports, pinned when there are >= 2
#      CPUs: the gateway alone on GATEWAY_CPU, the sandbox and every load
#      generator (h2load, grpc_load_client) on LOAD_CPU;
#   2. for each row -- grpc.health.v1.Health/Check on the gateway (the gRPC
#      floor), the sandbox hit directly over HTTP/1.1, and both
#      SessionService RPCs through the gateway -- at 1x1 and 8x32
#      connections x streams (and the sandbox at 64x1, the way the
#      gateway's connection pool uses it): for gateway rows a warm-up h2load
#      run, then REPS measured h2load runs (-n sized for about DURATION
#      seconds each; every call completes, none is cut off); for direct
#      upstream rows REPS runs of -D DURATION after --warm-up-time (h2load
#      opens new connections each run, and the sandbox's accept backlog
#      of 5 makes connecting slow). Each run records req/s, p50/p99 (from
#      h2load's per-request --log-file), gateway and sandbox CPU per call
#      (/proc/PID/stat), upstream connections opened (ss snapshots of the
#      sandbox port: every ephemeral port seen in any state, TIME-WAIT
#      included, that was not there before the run) and the CPU that other
#      processes on the machine used meanwhile;
#   3. verifies: h2load must report every request done with HTTP 2xx, and,
#      because h2load counts HTTP 200 whatever the grpc-status, the
#      gateway (run with --log_calls=true, its default) must have logged
#      exactly one grpc_code=OK line per call and nothing else; then a
#      grpc_load_client pass at the same concurrency counts gRPC statuses
#      and response contents (this also covers the health rows). A row
#      failing any check is reported as FAILED, not as a result.
#
# Upstream modes:
#   shipped  the sandbox as built.
#   tuned    the same binary under an LD_PRELOAD shim this script compiles
#            into its temp dir: listen backlog 4096 instead of cpp-httplib's
#            5 (SYNs beyond it are dropped and retried after 1 s, 3 s...), a
#            1 s instead of 10 ms poll() in cpp-httplib's keep-alive wait
#            (which otherwise wakes each idle connection's thread ~90 times a
#            second), and TCP_NODELAY on the listening socket. Before commit
#            801bef9 the sandbox left Nagle on, and since cpp-httplib writes
#            a response's headers and body in two send() calls every
#            keep-alive response waited ~40 ms for the peer's delayed ACK;
#            the sandbox now sets TCP_NODELAY itself. This mode shows what
#            the gateway does with a prompt upstream. src/ is not changed.
#
# Environment:
#   BUILD_DIR         configured build tree (default: build)
#   RESULTS_MD        file to update (default: bench/RESULTS.md)
#   GRPC_LOAD_CLIENT  grpc_load_client binary (default: build it as target
#                     grpc_load_client of BUILD_DIR, see gateway_bench.cmake)
#   UPSTREAM_MODES    default "shipped tuned"
#   DURATION          target seconds per measured h2load run (default 5)
#   DIRECT_WARMUP     h2load --warm-up-time of direct upstream rows (default 3)
#   QUIET_WAIT        before each row, wait up to this many seconds for the
#                     rest of the machine to use < QUIET_CORES CPUs (default
#                     15; 0: do not wait); QUIET_CORES default 0.5
#   REPS              measured runs per row; tables give the median (3)
#   MAX_CALLS         upper bound of -n per run (default 300000)
#   GATEWAY_CPU, LOAD_CPU  cores to pin to (default 0 and 1)
#   MAX_UPSTREAM_CONNECTIONS  gateway flag (default 64, the gateway's default)
#   SANDBOX_THREADS   sandbox worker threads (default 160)
#   JOBS              parallel build jobs (default 2)
#   NO_BUILD=1        do not run cmake --build
#
# Bounded: every process started here is killed on exit; every h2load run
# has a request count and a timeout; everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

modes=${UPSTREAM_MODES:-shipped tuned}
duration=${DURATION:-5}
direct_warmup=${DIRECT_WARMUP:-3}
quiet_wait=${QUIET_WAIT:-15}
quiet_cores=${QUIET_CORES:-0.5}
reps=${REPS:-3}
max_calls=${MAX_CALLS:-300000}
max_upstream_connections=${MAX_UPSTREAM_CONNECTIONS:-64}
sandbox_threads=${SANDBOX_THREADS:-160}
invocation=$(invocation_line bench/gateway_load.sh GRPC_LOAD_CLIENT UPSTREAM_MODES DURATION DIRECT_WARMUP QUIET_WAIT \
               QUIET_CORES REPS MAX_CALLS GATEWAY_CPU LOAD_CPU MAX_UPSTREAM_CONNECTIONS SANDBOX_THREADS RESULTS_MD)

for tool in h2load taskset ss /usr/bin/time awk sort; do
  command -v "$tool" >/dev/null || die "$tool not found (h2load: apt-get install -y nghttp2-client)"
done

# ---------------------------------------------------------------- build
find_binaries

# ---------------------------------------------------------------- processes
init_tmp
raise_fd_limit
setup_pinning "sandbox, h2load and grpc_load_client"
log "$pinning"

# ---------------------------------------------------------------- measuring
clk_tck=$(getconf CLK_TCK)

# utime+stime of a process, all threads, in clock ticks.
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Busy ticks of the whole machine (steal included) and of all states.
machine_ticks() { awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }

# Ephemeral ports of every TCP socket, in any state, talking to port $1.
upstream_ports() {
  ss -Htan "( sport = :$1 or dport = :$1 )" 2>/dev/null | awk -v p="$1" '
    $1 == "LISTEN" { next }
    { n = split($4, l, ":"); m = split($5, r, ":");
      if (l[n] == p) print r[m]; else print l[n] }' | sort -u
}

# Nearest-rank percentile of column 3 (microseconds) of an h2load log, in ms.
percentiles_ms() {
  cut -f3 "$1" | sort -n | awk -v list="$2" '
    { v[NR] = $1 }
    END { n = split(list, ps, " ");
          for (i = 1; i <= n; i++) {
            r = int(ps[i] / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR;
            printf "%s%.2f", (i > 1 ? " " : ""), (NR ? v[r] / 1000 : 0) } print "" }'
}

# ---------------------------------------------------------------- payloads
# gRPC framing: flag byte 0, 4-byte big-endian length, message.
# CreatePaymentServiceDefinitionSessionRequest{payment_service_definition_id: "mock-card"}:
#   0a 09 "mock-card" (11 bytes)
printf '\x00\x00\x00\x00\x0b\x0a\x09mock-card' >"$tmp/definition.bin"
# CreatePaymentServiceSessionRequest{payment_service_id: <UUID>}: 0a 24 <36 bytes> (38)
service_uuid=46973e9d-88a7-44a6-abfe-be4ff0134ff6
printf '\x00\x00\x00\x00\x26\x0a\x24%s' "$service_uuid" >"$tmp/service.bin"
# HealthCheckRequest{} is the empty message: 5 zero bytes.
printf '\x00\x00\x00\x00\x00' >"$tmp/health.bin"
# What the gateway sends upstream for these requests (no request_body).
printf '{}' >"$tmp/body.json"
[[ $(stat -c %s "$tmp/definition.bin") == 16 && $(stat -c %s "$tmp/service.bin") == 43 ]] ||
  die "payload files have the wrong size"

if [[ " $modes " == *" tuned "* ]]; then build_tuning_shim UPSTREAM_MODES; fi

# ---------------------------------------------------------------- one row
# run_h2load OUTPREFIX ARGS... : one h2load run pinned to the load CPU,
# with its own CPU time measured and a fresh per-request log (h2load
# appends to an existing one). A timeout shows up as missing requests.
run_h2load() {
  local prefix=$1
  shift
  local limit=$(( duration * 8 + direct_warmup + 60 ))
  rm -f "$prefix.log" "$prefix.time"
  set +e
  timeout --kill-after=5 "$limit" "${pin_load[@]}" /usr/bin/time -f '%U %S' -o "$prefix.time" \
    h2load --log-file="$prefix.log" "$@" >"$prefix.out" 2>&1
  local rc=$?
  set -e
  if (( rc == 124 || rc == 137 )); then log "h2load timed out after ${limit}s"; fi
  return 0
}

# CPUs the machine used over SECONDS, all processes (ours are idle when
# this is called between rows).
busy_cores() {
  local a b
  a=$(machine_ticks); sleep "$1"; b=$(machine_ticks)
  awk -v a="${a% *}" -v b="${b% *}" -v hz="$clk_tck" -v s="$1" 'BEGIN { printf "%.2f", (b - a) / hz / s }'
}

# Waits (at most QUIET_WAIT seconds) until the rest of the machine is
# quieter than QUIET_CORES; sets quiet_note to what was seen.
wait_for_quiet() {
  quiet_note=""
  (( quiet_wait > 0 )) || return 0
  local waited=0 busy
  while :; do
    busy=$(busy_cores 2)
    awk -v b="$busy" -v q="$quiet_cores" 'BEGIN { exit !(b < q) }' && return 0
    if (( waited >= quiet_wait )); then
      quiet_note="$busy"
      return 0
    fi
    sleep 3
    waited=$(( waited + 5 ))
  done
}

declare -a table_rows=() verify_rows=()
declare -A rps_of=() conn_of=() ok_of=()
busy_rows=0 total_rows=0 quiet_note=""

# measure_row MODE LABEL KIND C M URL [h2load args...]
#   KIND: health | session (through the gateway: fixed call counts) or
#   upstream (the sandbox directly: fixed duration after a warm-up).
measure_row() {
  local mode=$1 label=$2 kind=$3 c=$4 m=$5 url=$6
  shift 6
  local args=(-c "$c" -m "$m" "$@" "$url")
  local key="$mode|$label|${c}x${m}"
  local prefix="$tmp/run"
  local failures=()

  wait_for_quiet
  local n=0 count_args=()
  if [[ "$kind" == upstream ]]; then
    count_args=(-D "$duration" --warm-up-time="$direct_warmup")
    log "$mode $label ${c}x${m}: $reps x ${duration}s after ${direct_warmup}s warm-up"
  else
    # Warm-up: ten rounds of the concurrency (at least 50 calls), which also
    # tells how many calls make about DURATION seconds.
    local warm=$(( c * m * 10 ))
    if (( warm < 50 )); then warm=50; fi
    run_h2load "$prefix.warm" -n "$warm" "${args[@]}"
    local warm_rps
    warm_rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$prefix.warm.out")
    if [[ -z "$warm_rps" ]]; then
      log "warm-up of $key failed:"; tail -5 "$prefix.warm.out" >&2; warm_rps=0
    fi
    n=$(awk -v r="$warm_rps" -v d="$duration" -v max="$max_calls" -v cm="$((c * m))" \
          'BEGIN { n = int(r * d); if (n < 100) n = 100; if (n < cm) n = cm; if (n > max) n = max; print n }')
    count_args=(-n "$n")
    log "$mode $label ${c}x${m}: warm-up $warm calls at $warm_rps req/s; measuring $reps x $n calls"
    sleep 0.3
  fi
  command_lines+=("$(quote_args h2load "${count_args[@]}" "${args[@]}")")

  local r rps_list=() p50_list=() p99_list=() gw_us_list=() sb_us_list=() other_list=() n_list=()
  local total_calls=0 total_new_conns=0
  for (( r = 1; r <= reps; r++ )); do
    local before_ports="$prefix.ports.before" seen_ports="$prefix.ports.seen" snap="$prefix.snap"
    upstream_ports "$sandbox_port" >"$before_ports"
    : >"$seen_ports"
    local log_off
    log_off=$(stat -c %s "$gateway_err")
    # Counters at the start of the measured period: now, or for a timed
    # run once h2load's warm-up is over.
    local snap_delay=0
    [[ "$kind" == upstream ]] && snap_delay=$direct_warmup
    ( sleep "$snap_delay"
      echo "$(proc_ticks "$gateway_pid") $(proc_ticks "$sandbox_pid") $(machine_ticks) $(date +%s.%N)" >"$snap" ) &
    local snapper=$!
    started_pids+=("$snapper")
    # Sample connections while the run goes (closed ones stay as TIME-WAIT).
    ( while :; do upstream_ports "$sandbox_port" >>"$seen_ports"; sleep 0.5; done ) &
    local sampler=$!
    started_pids+=("$sampler")
    run_h2load "$prefix.$r" "${count_args[@]}" "${args[@]}"
    local gw1 sb1 m1 t1
    gw1=$(proc_ticks "$gateway_pid"); sb1=$(proc_ticks "$sandbox_pid"); m1=$(machine_ticks)
    t1=$(date +%s.%N)
    stop_pid "$sampler"
    wait "$snapper" 2>/dev/null || true
    stop_pid "$snapper"
    local gw0 sb0 mb0 t0
    read -r gw0 sb0 mb0 _ t0 <"$snap"
    sleep 0.05
    upstream_ports "$sandbox_port" >>"$seen_ports"
    local new_conns
    new_conns=$(sort -u "$seen_ports" | comm -13 "$before_ports" - | wc -l)

    # Checked per request from h2load's log (its summary counters of a
    # timed run also count some requests of the warm-up). A timed run logs
    # the requests it cut off at the end with a status below 100; those
    # are left out, every other request must have answered 2xx.
    local outfile="$prefix.$r.out" run_n logged non2xx cut
    read -r logged non2xx cut < <(awk '$2 < 100 { cut++; next } $2 !~ /^2/ { bad++ } { n++ }
                                       END { print n + 0, bad + 0, cut + 0 }' "$prefix.$r.log" 2>/dev/null ||
                                   echo "0 0 0")
    if [[ "$kind" != upstream && "$cut" != 0 ]]; then non2xx=$(( non2xx + cut )); fi
    run_n=$logged
    [[ "$kind" == upstream ]] || run_n=$n
    local rps failed errored timeouts
    rps=$(sed -n 's/^finished in .*, \([0-9.]*\) req\/s.*/\1/p' "$outfile")
    failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' "$outfile")
    errored=$(sed -n 's/^requests: .* \([0-9]*\) errored.*/\1/p' "$outfile")
    timeouts=$(sed -n 's/^requests: .* \([0-9]*\) timeout.*/\1/p' "$outfile")
    if [[ -z "$rps" || "$logged" == 0 || "$logged" != "$run_n" || "$non2xx" != 0 ||
          "$failed" != 0 || "$errored" != 0 || "$timeouts" != 0 ]]; then
      failures+=("run $r: h2load: $logged requests logged (want $run_n), $non2xx not 2xx, failed ${failed:-?}, errored ${errored:-?}, timeout ${timeouts:-?}")
      rps=${rps:-0}
      tail -6 "$outfile" >&2
    fi
    if [[ "$kind" == session ]]; then
      # Every call must have logged grpc_code=OK, and nothing else.
      local calls_ok calls_other
      read -r calls_ok calls_other < <(tail -c +"$((log_off + 1))" "$gateway_err" |
        awk '/session-gateway: call / { if (/ grpc_code=OK /) ok++; else other++ }
             END { print ok + 0, other + 0 }')
      if [[ "$calls_ok" != "$n" || "$calls_other" != 0 ]]; then
        failures+=("run $r: gateway log: $calls_ok grpc_code=OK, $calls_other other (want $n OK)")
        tail -c +"$((log_off + 1))" "$gateway_err" | grep -v ' grpc_code=OK ' | head -3 >&2 || true
      fi
    fi
    local h2_user h2_sys
    read -r h2_user h2_sys < <(tail -n 1 "$prefix.$r.time" 2>/dev/null || echo "0 0")
    # For a timed run h2load's CPU includes its warm-up; scale it down.
    local stats
    stats=$(awk -v gw="$((gw1 - gw0))" -v sb="$((sb1 - sb0))" -v hz="$clk_tck" -v n="$run_n" \
              -v mb0="$mb0" -v mb1="${m1% *}" -v hu="$h2_user" -v hs="$h2_sys" \
              -v t0="$t0" -v t1="$t1" -v wu="$snap_delay" 'BEGIN {
        el = t1 - t0; busy = (mb1 - mb0) / hz;
        h2 = (hu + hs) * (el + wu > 0 ? el / (el + wu) : 1);
        ours = (gw + sb) / hz + h2;
        other = el > 0 ? (busy - ours) / el : 0; if (other < 0) other = 0;
        printf "%.1f %.1f %.2f", n ? gw / hz * 1e6 / n : 0, n ? sb / hz * 1e6 / n : 0, other }')
    local gw_us sb_us other
    read -r gw_us sb_us other <<<"$stats"
    local p50 p99
    read -r p50 p99 < <(awk '$2 >= 100' "$prefix.$r.log" | percentiles_ms - "50 99")
    rps_list+=("$rps"); p50_list+=("$p50"); p99_list+=("$p99"); n_list+=("$run_n")
    gw_us_list+=("$gw_us"); sb_us_list+=("$sb_us"); other_list+=("$other")
    total_calls=$(( total_calls + run_n )); total_new_conns=$(( total_new_conns + new_conns ))
    log "  run $r: $run_n calls, $rps req/s, p50 $p50 ms, p99 $p99 ms, gateway $gw_us us/call," \
        "sandbox $sb_us us/call, $new_conns new upstream connections, other processes $other CPUs"
  done

  # The median run by req/s gives the row; the spread marks noise.
  local summary
  summary=$(for (( r = 0; r < reps; r++ )); do
      echo "${rps_list[r]} ${p50_list[r]} ${p99_list[r]} ${gw_us_list[r]} ${sb_us_list[r]} ${other_list[r]} ${n_list[r]}"
    done | sort -g | awk '
      { rps[NR] = $1; line[NR] = $0; s += $1; ss += $1 * $1; if ($6 > maxo) maxo = $6 }
      END { mid = int((NR + 1) / 2); mean = s / NR; var = ss / NR - mean * mean; if (var < 0) var = 0;
            cv = mean > 0 ? sqrt(var) / mean * 100 : 0;
            printf "%s %s %s %.1f %.2f\n", line[mid], rps[1], rps[NR], cv, maxo }')
  local m_rps m_p50 m_p99 m_gw m_sb m_n lo hi cv max_other
  read -r m_rps m_p50 m_p99 m_gw m_sb _ m_n lo hi cv max_other <<<"$summary"
  local per_k
  per_k=$(awk -v c="$total_new_conns" -v n="$total_calls" 'BEGIN { printf "%.2f", n ? c * 1000 / n : 0 }')
  local notes=()
  if awk -v cv="$cv" -v o="$max_other" 'BEGIN { exit !(cv > 10 || o > 0.25) }'; then
    notes+=("noisy (req/s CV ${cv}%, others used up to ${max_other} CPUs)")
  fi
  if [[ -n "$quiet_note" ]]; then busy_rows=$(( busy_rows + 1 )); fi
  total_rows=$(( total_rows + 1 ))
  local verified="yes"
  if (( ${#failures[@]} )); then
    verified="**FAILED**"
    notes+=("${failures[@]}")
    log "  FAILED: ${failures[*]}"
  fi
  if [[ "$verified" == yes && "$kind" == health ]]; then verified="HTTP 2xx (gRPC status: client pass)"; fi
  if [[ "$verified" == yes && "$kind" == upstream ]]; then verified="yes (HTTP 2xx)"; fi
  local conn_cell="$per_k ($total_new_conns in $total_calls)"
  local gw_cell=$m_gw
  if [[ "$kind" == upstream ]]; then conn_cell="n/a (direct)"; gw_cell="n/a"; fi
  if [[ "$kind" == health ]]; then conn_cell="n/a"; fi
  local rps_cell=$m_rps
  if (( ${#failures[@]} )); then rps_cell="FAILED ($m_rps)"; fi
  table_rows+=("| $mode | $label | ${c}x${m} | $m_n | $rps_cell | $lo–$hi | $m_p50 | $m_p99 | $gw_cell | $m_sb | $conn_cell | $max_other | $verified | $(IFS='|'; s="${notes[*]:-}"; echo "${s//|/; }") |")
  rps_of[$key]=$m_rps
  conn_of[$key]=$per_k
  if (( ${#failures[@]} )); then ok_of[$key]=0; else ok_of[$key]=1; fi
}

# verify_client MODE RPC C CHANNELS CALLS
verify_client() {
  local mode=$1 rpc=$2 conc=$3 channels=$4 calls=$5
  local json rc=0
  json=$(timeout --kill-after=5 $(( duration * 8 + 60 )) "${pin_load[@]}" "$client_bin" \
           --target="127.0.0.1:$gateway_port" --rpc="$rpc" --calls="$calls" --concurrency="$conc" \
           --channels="$channels" --deadline_ms=30000) || rc=$?
  local okc errs bad
  okc=$(json_num "$json" ok); errs=$(json_num "$json" errors); bad=$(json_num "$json" bad_response)
  local verdict="yes"
  if (( rc != 0 )) || [[ "$okc" != "$calls" ]]; then
    verdict="**FAILED** (rc $rc; $(json_str "$json" first_error))"
    ok_of["$mode|client|$rpc|$conc"]=0
  fi
  client_cmds+=("$(basename "$client_bin") --target=127.0.0.1:$gateway_port --rpc=$rpc --calls=$calls --concurrency=$conc --channels=$channels --deadline_ms=30000")
  local codes; codes=$(sed -n 's/.*"error_codes":{\([^}]*\)}.*/\1/p' <<<"$json" | tr -d '"')
  verify_rows+=("| $mode | $rpc | $conc/$channels | $calls | ${okc:-?} | ${bad:-?} | ${errs:-?}${codes:+ ($codes)} | $(json_num "$json" calls_per_s) | $(json_num "$json" p50) | $(json_num "$json" p90) | $(json_num "$json" p99) | $(json_num "$json" max) | $verdict |")
  log "  client $rpc $conc/$channels: ${json:-no output}"
}

# ---------------------------------------------------------------- the runs
declare -a command_lines=() client_cmds=() server_cmds=()
note_run_start
grpc_headers=(-H 'content-type: application/grpc' -H 'te: trailers')

for mode in $modes; do
  preload=()
  if [[ "$mode" == tuned ]]; then preload=(env "LD_PRELOAD=$tmp/sandbox_tuning.so"); fi
  sandbox_cmd=("${preload[@]}" "${pin_load[@]}" "$sandbox_bin" --listen=127.0.0.1:0 --threads="$sandbox_threads")
  start_server "session-sandbox ($mode)" "$tmp/sandbox.out" "$tmp/sandbox.$mode.err" "${sandbox_cmd[@]}"
  sandbox_pid=$server_pid sandbox_port=$server_port
  gateway_err="$tmp/gateway.$mode.err"
  gateway_cmd=("${pin_gateway[@]}" "$gateway_bin" --listen=127.0.0.1:0
               --upstream="http://127.0.0.1:$sandbox_port"
               --max_upstream_connections="$max_upstream_connections" --log_calls=true
               --shutdown_grace=1s)
  start_server "session-gateway ($mode)" "$tmp/gateway.out" "$gateway_err" "${gateway_cmd[@]}"
  gateway_pid=$server_pid gateway_port=$server_port
  server_cmds+=("$mode: $(quote_args "${sandbox_cmd[@]}")" "$mode: $(quote_args "${gateway_cmd[@]}") 2>gateway.log")
  log "mode $mode: sandbox pid $sandbox_pid port $sandbox_port, gateway pid $gateway_pid port $gateway_port"

  gw=http://127.0.0.1:$gateway_port
  for cm in "1 1" "8 32"; do
    read -r c m <<<"$cm"
    measure_row "$mode" "Health/Check (gRPC floor)" health "$c" "$m" \
      "$gw/grpc.health.v1.Health/Check" -d "$tmp/health.bin" "${grpc_headers[@]}"
    measure_row "$mode" "upstream direct, HTTP/1.1" upstream "$c" "$m" \
      "http://127.0.0.1:$sandbox_port/payment-service-definitions/mock-card/sessions" \
      --h1 -d "$tmp/body.json" -H 'content-type: application/json'
    measure_row "$mode" "CreatePaymentServiceDefinitionSession" session "$c" "$m" \
      "$gw/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession" \
      -d "$tmp/definition.bin" "${grpc_headers[@]}"
    measure_row "$mode" "CreatePaymentServiceSession" session "$c" "$m" \
      "$gw/gr4vy.sessions.v1.SessionService/CreatePaymentServiceSession" \
      -d "$tmp/service.bin" "${grpc_headers[@]}"
  done
  # The gateway's pool as the sandbox sees it: 64 connections, one request
  # each at a time (curl does not pipeline HTTP/1.1).
  measure_row "$mode" "upstream direct, HTTP/1.1" upstream "$max_upstream_connections" 1 \
    "http://127.0.0.1:$sandbox_port/payment-service-definitions/mock-card/sessions" \
    --h1 -d "$tmp/body.json" -H 'content-type: application/json'

  # gRPC-level verification and client-side latency at both concurrencies.
  for rpc in health definition service; do
    single=$(awk -v r="${rps_of[$mode|CreatePaymentServiceSession|1x1]:-20}" 'BEGIN { n = int(r * 2); if (n < 50) n = 50; if (n > 2000) n = 2000; print n }')
    verify_client "$mode" "$rpc" 1 1 "$single"
    verify_client "$mode" "$rpc" 256 8 5000
  done
  stop_pid "$gateway_pid"
  stop_pid "$sandbox_pid"
done
note_run_end

# ---------------------------------------------------------------- report
targets=()
for mode in $modes; do
  health=${rps_of[$mode|Health/Check (gRPC floor)|8x32]:-0}
  service=${rps_of[$mode|CreatePaymentServiceSession|8x32]:-0}
  conns=${conn_of[$mode|CreatePaymentServiceSession|8x32]:-?}
  ratio=$(awk -v s="$service" -v h="$health" 'BEGIN { printf "%.1f", (h > 0 ? s / h * 100 : 0) }')
  valid=1
  [[ "${ok_of[$mode|CreatePaymentServiceSession|8x32]:-0}" == 1 && "${ok_of[$mode|client|service|256]:-1}" == 1 &&
     "${ok_of[$mode|client|health|256]:-1}" == 1 ]] || valid=0
  if (( valid )); then
    ratio_ok=$(awk -v r="$ratio" 'BEGIN { print (r >= 40 ? "met" : "**missed**") }')
    conns_ok=$(awk -v c="$conns" 'BEGIN { print (c < 5 ? "met" : "**missed**") }')
  else
    ratio_ok="**FAILED run**"; conns_ok="**FAILED run**"
  fi
  targets+=("| $mode | $service / $health = **$ratio%** | >= 40% | $ratio_ok | $conns | < 5 | $conns_ok |")
done

section="$tmp/section.md"
{
  section_header Load bench/gateway_load.sh
  if (( quiet_wait > 0 )); then
    echo "- Quiet check: before $busy_rows of $total_rows rows the machine (our idle servers included) still used more than $quiet_cores CPUs after waiting ${quiet_wait} s; those rows ran anyway"
  fi
  echo "- Build: \`$build_dir\`, CMAKE_BUILD_TYPE=$build_type, source $source_rev; $(h2load --version | head -1)"
  echo "- Command: \`$invocation\` ($reps measured runs of about ${duration} s per row after a warm-up)"
  echo "- Pinning: $pinning"
  echo "- Servers (ports picked by the kernel):"
  for s in "${server_cmds[@]}"; do echo "  - \`$s\`"; done
  echo "- Requests: SessionService requests carry only field 1 (\`mock-card\`, or the UUID $service_uuid) and no request_body, so the gateway sends \`{}\` upstream, as the direct upstream rows do; gRPC framing as in the script. h2load commands (URL ports as above):"
  printf '%s\n' "${command_lines[@]}" | awk '!seen[$0]++ { print "  - `" $0 "`" }'
  echo "- grpc_load_client commands (\`$client_bin\`):"
  printf '%s\n' "${client_cmds[@]}" | awk '!seen[$0]++ { print "  - `" $0 "`" }'
  echo "- \$TMP is the script's temporary directory (payload files, the tuning shim)."
  echo
  echo "Upstream modes: **shipped** is session-sandbox as built. **tuned** is the same binary under an LD_PRELOAD shim the script builds (src/ untouched) that raises the listen backlog from cpp-httplib's 5 to 4096 (SYNs beyond it are dropped and retried after 1 s, 3 s, ...: it slows connecting, as in the 64x1 direct rows), turns cpp-httplib 0.11's keep-alive wait (poll 10 ms, sleep 1 ms, repeat: ~90 wakeups a second per idle connection) into 1 s polls, and sets TCP_NODELAY on the listening socket (accepted sockets inherit it). Before commit 801bef9 the sandbox left Nagle on, and as cpp-httplib writes a response's headers and body in two send() calls, every keep-alive response after a connection's first waited for the peer's delayed ACK (~40 ms); the sandbox now sets TCP_NODELAY itself (see Build above for the source this run used)."
  echo
  echo "Columns: req/s is the median run (range over the runs next to it); p50/p99 are h2load per-request times (\`--log-file\`) of that run; CPU µs/call is utime+stime from /proc/PID/stat (all threads, 10 ms ticks) over the run divided by its calls; upstream connections counts ephemeral ports seen at the sandbox port (ss, any state, TIME-WAIT included) that were not there before the run, summed over the runs. Verified: h2load reported no failed, errored or timed-out request and its per-request log shows every request answered with HTTP 2xx (a timed run's requests cut off at its end excluded), and for SessionService rows the gateway (\`--log_calls=true\`, its default, stderr to a file) logged exactly one \`grpc_code=OK\` line per call and nothing else. \`noisy\`: req/s varied more than 10% between runs, or processes other than ours (the gateway, the sandbox, h2load) used more than 0.25 CPU during a run (others' CPU use: machine busy time from /proc/stat minus ours, per second of the run). Direct upstream rows are timed (\`-D\` after \`--warm-up-time\`) and their calls/run is what h2load completed in the median run."
  echo
  echo "| Upstream | Workload | c x m | calls/run | req/s | req/s range | p50 ms | p99 ms | gateway CPU µs/call | sandbox CPU µs/call | upstream conns opened per 1,000 calls | others' CPU use (max, CPUs) | verified | notes |"
  echo "|---|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|---|---|"
  printf '%s\n' "${table_rows[@]}"
  echo
  echo "gRPC-level check (grpc_load_client, pinned with the load generators; ok = status OK and a SUCCEEDED session / SERVING health answer); latencies are the client's own, in ms:"
  echo
  echo "| Upstream | RPC | concurrency/channels | calls | ok | OK but bad response | errors | calls/s | p50 | p90 | p99 | max | verified |"
  echo "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${verify_rows[@]}"
  echo
  echo "Targets (8x32): CreatePaymentServiceSession req/s as a share of Health/Check req/s, and upstream connections opened per 1,000 calls."
  echo
  echo "| Upstream | service / health req/s | target | | connections per 1,000 calls | target | |"
  echo "|---|---|---|---|---:|---|---|"
  printf '%s\n' "${targets[@]}"
  echo
} >"$section"
publish_section "### Load" "$section"
