#!/usr/bin/env bash
# Overload: a burst of 20,000 calls at once, far beyond what the upstream
# can absorb, against session-gateway with its default flags; writes the
# `## Overload: ...` section of bench/RESULTS.md.
#
#   bench/overload.sh         (BUILD_DIR=build-release by default)
#
# Setup, fresh processes for each repetition:
#   - bench/slow_upstream.py (one asyncio thread, every session POST
#     answered after DELAY_MS, default 500), pinned to LOAD_CPU (default 1);
#   - session-gateway pinned alone to GATEWAY_CPU (default 0) with default
#     flags, plus --listen=127.0.0.1:0, --upstream (the server above) and
#     --shutdown_grace=1s (only so that stopping it is quick), call log to a
#     file. With the default --max_upstream_connections=1024 the upstream
#     completes at most 1024 / 0.5 s = 2,048 calls a second, and the
#     burst arrives within about 2 s: most calls must be shed, not queued;
#   - grpc_load_client, pinned with the upstream, fires BURST_CALLS
#     CreatePaymentServiceDefinitionSession calls at once (--concurrency
#     equal to --calls) over CHANNELS HTTP/2 connections, each call with a
#     DEADLINE_MS (20 s) deadline, and counts their gRPC statuses;
#   - meanwhile a prober starts, every PROBE_INTERVAL_MS (200), a new
#     grpc_load_client process that calls grpc.health.v1.Health/Check once
#     on a new connection, as a kubelet gRPC probe does: 1 s to connect,
#     PROBE_DEADLINE_MS (1 s) deadline for the call; it probes from just
#     before the burst until 1 s after its last answer; probes run at nice
#     -10 (when root), since a kubelet does not share the load generator's
#     CPU;
#   - a sampler reads the gateway's VmHWM and Threads (/proc/PID/status)
#     every 100 ms, so that a peak is known even if the gateway dies.
#
# Goals (the script exits 0 whenever it measured, met or not):
#   - every call answered within 20 s: the burst's wall time (the client's,
#     first call to last answer) at most DEADLINE_MS, no DEADLINE_EXCEEDED;
#   - each call OK or UNAVAILABLE (shed), nothing else; the gateway's call
#     log is counted too, by grpc_code and for lines marked shed=true (text
#     format) or "shed":true (JSON), the marker of a call refused by
#     admission control;
#   - the gateway's peak RSS (VmHWM) at most RSS_LIMIT_MIB (256), and the
#     gateway still running after the burst;
#   - Health/Check answering within 1 s throughout: no failed probe (no
#     connection within 1 s, not SERVING within the deadline, or the probe
#     process killed), and the slowest probe call at most PROBE_DEADLINE_MS.
#
# Environment:
#   BUILD_DIR          configured build tree (default: build-release)
#   RESULTS_MD         file to update (default: bench/RESULTS.md)
#   BURST_CALLS        calls in the burst (default 20000); REPS (default 1)
#   DELAY_MS           upstream delay (default 500); CHANNELS (default 8)
#   DEADLINE_MS        per-call deadline and the wall time goal (default 20000)
#   PROBE_INTERVAL_MS  health probe period (default 200)
#   PROBE_DEADLINE_MS  health probe connect timeout, deadline and goal (default 1000)
#   RSS_LIMIT_MIB      peak RSS goal (default 256)
#   NOTE               a paragraph added to the section (e.g. what the run is a
#                      baseline of); not part of the command shown there
#   GATEWAY_CPU, LOAD_CPU, JOBS, NO_BUILD=1  as in bench/ratio.sh
#
# Bounded: the burst client has per-call deadlines and a timeout, each probe
# a timeout, every process started here is stopped on exit and the temp
# dir removed; everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
show_help "$@"

burst=${BURST_CALLS:-20000}
reps=${REPS:-1}
delay_ms=${DELAY_MS:-500}
channels=${CHANNELS:-8}
deadline_ms=${DEADLINE_MS:-20000}
probe_interval_ms=${PROBE_INTERVAL_MS:-200}
probe_deadline_ms=${PROBE_DEADLINE_MS:-1000}
rss_limit_mib=${RSS_LIMIT_MIB:-256}
gateway_cpu=${GATEWAY_CPU:-0}
load_cpu=${LOAD_CPU:-1}
for n in "$burst" "$reps" "$delay_ms" "$channels" "$deadline_ms" "$probe_interval_ms" \
         "$probe_deadline_ms" "$rss_limit_mib"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "numeric settings must be positive integers (got '$n'; see --help)"
done
invocation=$(invocation_line bench/overload.sh BURST_CALLS REPS DELAY_MS CHANNELS DEADLINE_MS \
  PROBE_INTERVAL_MS PROBE_DEADLINE_MS RSS_LIMIT_MIB GATEWAY_CPU LOAD_CPU RESULTS_MD)
require_tools taskset curl timeout /usr/bin/time
(( $(nproc) >= 2 )) || die "needs 2 CPUs"

find_binaries
init_tmp
# Every call may hold a socket in the gateway, and the burst is 20,000.
raise_fd_limit
note_start

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
# CPU seconds (user + system) that /usr/bin/time -f '%U %S' wrote to FILE.
time_s() { { cat "$@" 2>/dev/null || true; } | awk '{ s += $1 + $2 } END { printf "%.3f", s + 0 }'; }

# probe_once FILE: one health probe, a new process and connection. Writes
# "start_ms wall_ms rc call_ms" to FILE (call_ms: the call's latency as the
# client measured it, empty if it never called) and its CPU time to
# FILE.time. grpc_load_client exits 1 if the call failed or was not
# SERVING, 2 if it could not connect within --connect_timeout_ms;
# timeout(1) gives 124 or 137.
probe_once() {
  local file=$1 start end rc=0 out
  start=$(now_ms)
  out=$(timeout --kill-after=1 $(( probe_deadline_ms * 3 / 1000 + 2 )) \
          /usr/bin/time -f '%U %S' -o "$file.time" "${probe_cmd[@]}" 2>/dev/null) || rc=$?
  end=$(now_ms)
  echo "$start $(( end - start )) $rc $(sed -n 's/.*"max":\([0-9.]*\).*/\1/p' <<<"$out")" >"$file"
}

: >"$tmp/runs.txt"
for (( r = 1; r <= reps; r++ )); do
  # ---------------------------------------------------------------- processes
  start_slow_upstream "$load_cpu" "$delay_ms"

  : >"$tmp/gateway.log"
  start_gateway "$tmp/gateway.log" "$gateway_cpu" --upstream="http://127.0.0.1:$upstream_port" --shutdown_grace=1s
  gateway_cmd_line=$(printf '%s ' "${gateway_cmd[@]}")
  sleep 0.5
  idle_rss_kb=$(status_field "$gateway_pid" VmRSS)
  idle_threads=$(status_field "$gateway_pid" Threads)

  # A kubelet probes from its own node agent, not from the CPU a load
  # generator saturates: here the probes share CPU 1 with the burst client
  # and the upstream, so they run at a higher priority (nice -10, as root)
  # to measure the gateway's answer, not their own wait for CPU 1.
  probe_prio=()
  [[ $(id -u) -eq 0 ]] && probe_prio=(nice -n -10)
  probe_cmd=("${probe_prio[@]}" taskset -c "$load_cpu" "$client_bin" --target="127.0.0.1:$gateway_port" --rpc=health --calls=1
             --concurrency=1 --channels=1 --deadline_ms="$probe_deadline_ms"
             --connect_timeout_ms="$probe_deadline_ms")
  # A probe must work before the burst, so that a failure later is the
  # burst's doing.
  probe_once "$tmp/probe.pre"
  read -r _ pre_wall pre_rc _ <"$tmp/probe.pre"
  [[ "$pre_rc" == 0 ]] || die "repetition $r: health probe fails before the burst (rc $pre_rc)"

  # The sampler: "VmHWM_kB Threads" every 100 ms while the gateway lives.
  ( while kill -0 "$gateway_pid" 2>/dev/null; do
      awk '$1 == "VmHWM:" { h = $2 } $1 == "Threads:" { t = $2 } END { if (h) print h, t }' \
        "/proc/$gateway_pid/status" 2>/dev/null || true
      sleep 0.1
    done ) >"$tmp/samples" &
  sampler_pid=$!
  started_pids+=("$sampler_pid")

  # The prober: a probe every probe_interval_ms, each in the background so
  # that a slow one does not delay the next, until $tmp/stop exists; then
  # it waits for its probes (each bounded by its timeout).
  rm -rf "$tmp/probes" "$tmp/stop"
  mkdir "$tmp/probes"
  interval_s=$(awk -v ms="$probe_interval_ms" 'BEGIN { printf "%.3f", ms / 1000 }')
  ( trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
    i=0
    while [[ ! -e "$tmp/stop" ]]; do
      probe_once "$tmp/probes/$(printf '%05d' "$i")" &
      i=$(( i + 1 ))
      sleep "$interval_s"
    done
    wait ) &
  prober_pid=$!
  started_pids+=("$prober_pid")
  sleep 0.5  # a few probes of the idle gateway first

  # ---------------------------------------------------------------- the burst
  client_cmd=(taskset -c "$load_cpu" "$client_bin" --target="127.0.0.1:$gateway_port" --rpc=definition
              --id=bench-slow --calls="$burst" --concurrency="$burst" --channels="$channels"
              --deadline_ms="$deadline_ms")
  log "repetition $r: burst of $burst calls (gateway pid $gateway_pid, idle RSS $(( idle_rss_kb / 1024 )) MiB," \
      "upstream pid $upstream_pid; probe before the burst ${pre_wall} ms)"
  g0=$(proc_ticks "$gateway_pid"); u0=$(proc_ticks "$upstream_pid"); b0=$(machine_busy_ticks)
  t0=$(date +%s.%N)
  burst_start=$(now_ms)
  rc=0
  json=$(timeout --kill-after=5 $(( deadline_ms / 1000 + 30 )) \
           /usr/bin/time -f '%U %S' -o "$tmp/client.time" "${client_cmd[@]}" 2>"$tmp/client.err") || rc=$?
  burst_end=$(now_ms)
  # Keep probing a second after the last answer: the gateway may still be
  # busy with calls whose callers have given up.
  sleep 1
  touch "$tmp/stop"
  for _ in $(seq 100); do kill -0 "$prober_pid" 2>/dev/null || break; sleep 0.1; done
  stop_pid "$prober_pid"
  t1=$(date +%s.%N)

  gateway_alive=0
  kill -0 "$gateway_pid" 2>/dev/null && gateway_alive=1
  g1=$g0 u1=$u0
  if (( gateway_alive )); then g1=$(proc_ticks "$gateway_pid"); fi
  if kill -0 "$upstream_pid" 2>/dev/null; then u1=$(proc_ticks "$upstream_pid"); fi
  b1=$(machine_busy_ticks)
  hwm_now=$(status_field "$gateway_pid" VmHWM)
  stop_pid "$sampler_pid"
  if [[ -n "$hwm_now" ]]; then echo "$hwm_now 0" >>"$tmp/samples"; fi
  read -r hwm_kb threads_max < <(awk '{ if ($1 > h) h = $1; if ($2 > t) t = $2 } END { print h + 0, t + 0 }' \
                                   "$tmp/samples")
  # The count includes this query's own connection (removed below).
  read -r up_max up_accepted up_requests < <(curl -sf "http://127.0.0.1:$upstream_port/stats" || echo "0 1 0")
  stop_pid "$gateway_pid"
  stop_pid "$upstream_pid"

  # ---------------------------------------------------------------- counting
  log "repetition $r: client rc $rc: ${json:-<no output>}"
  if [[ -s "$tmp/client.err" ]]; then tail -3 "$tmp/client.err" >&2; fi
  [[ "$json" == "{"* ]] || die "repetition $r: the burst client printed no summary (rc $rc)"
  # ok bad_response unavailable deadline_exceeded other_errors elapsed_s p50 p99 max ramp_ms
  read -r ok bad unavailable late other elapsed p50 p99 lat_max ramp_ms < <("$python" -c '
import json, sys
s = json.loads(sys.argv[1])
codes = s["error_codes"]
una, late = codes.get("UNAVAILABLE", 0), codes.get("DEADLINE_EXCEEDED", 0)
lat = s["latency_ms"]
print(s["ok"], s["bad_response"], una, late, s["errors"] - una - late, s["elapsed_s"],
      lat["p50"], lat["p99"], lat["max"], s["start_ramp_ms"])' "$json")
  codes=$(sed -n 's/.*"error_codes":{\([^}]*\)}.*/\1/p' <<<"$json" | tr -d '"')
  first_error=$(sed -n 's/.*"first_error":"\([^"]*\)".*/\1/p' <<<"$json")
  # The gateway's call log: lines per grpc_code, and shed-marked lines.
  logged_codes=$(awk '/session-gateway: call / { for (i = 1; i <= NF; i++) if ($i ~ /^grpc_code=/) n[substr($i, 11)]++ }
                      /"method":/ && /"code":"/ { c = $0; sub(/.*"code":"/, "", c); sub(/".*/, "", c); n[c]++ }
                      END { for (c in n) printf "%s%s:%d", (s++ ? "," : ""), c, n[c] }' "$tmp/gateway.log")
  shed_logged=$(grep -c -e ' shed=true' -e '"shed":true' "$tmp/gateway.log" || true)

  probes=0 probe_failures=0 probe_slowest_ms=0 probe_wall_max_ms=0 failed_list=""
  for f in "$tmp"/probes/?????; do
    [[ -e "$f" ]] || continue
    read -r start wall prc call_ms <"$f" || continue
    probes=$(( probes + 1 ))
    if (( wall > probe_wall_max_ms )); then probe_wall_max_ms=$wall; fi
    probe_slowest_ms=$(awk -v a="$probe_slowest_ms" -v b="${call_ms:-0}" 'BEGIN { print (b > a ? b : a) }')
    if [[ "$prc" != 0 ]]; then
      probe_failures=$(( probe_failures + 1 ))
      case "$prc" in
        1) why="not SERVING in ${probe_deadline_ms} ms${call_ms:+ (${call_ms} ms)}" ;;
        2) why="no connection in ${probe_deadline_ms} ms" ;;
        124 | 137) why="probe process timed out" ;;
        *) why="rc $prc" ;;
      esac
      failed_list+="${failed_list:+; }+$(awk -v s="$start" -v b="$burst_start" 'BEGIN { printf "%.1f", (s - b) / 1000 }') s: $why"
    fi
  done
  (( probes > 0 )) || die "repetition $r: no health probe ran"
  probe_cpu_s=$(time_s "$tmp"/probes/*.time)
  client_cpu_s=$(time_s "$tmp/client.time")
  log "repetition $r: wall ${elapsed} s (script $(( burst_end - burst_start )) ms, start ramp ${ramp_ms} ms); OK $ok, UNAVAILABLE $unavailable," \
      "DEADLINE_EXCEEDED $late, other $other${codes:+ ($codes)}, bad response $bad${first_error:+, first error: $first_error}; gateway log ${logged_codes:-empty}," \
      "shed=true $shed_logged; VmHWM $(( hwm_kb / 1024 )) MiB, threads max $threads_max, alive $gateway_alive;" \
      "probes $probes, failed $probe_failures, slowest call ${probe_slowest_ms} ms, slowest process ${probe_wall_max_ms} ms;" \
      "upstream held at most $up_max, answered $up_requests over $(( up_accepted - 1 )) connections"
  [[ -z "$failed_list" ]] || log "repetition $r: failed probes (start relative to the burst): $failed_list"

  printf 'overload/%s\t%s\n' "$burst" "$(awk -v e="$elapsed" -v n="$burst" -v ok="$ok" -v una="$unavailable" \
      -v late="$late" -v other="$other" -v bad="$bad" -v shed="$shed_logged" -v h="$hwm_kb" -v alive="$gateway_alive" \
      -v th="$threads_max" -v ir="$idle_rss_kb" -v it="$idle_threads" -v p50="$p50" -v p99="$p99" -v lmax="$lat_max" \
      -v pr="$probes" -v pf="$probe_failures" -v ps="$probe_slowest_ms" -v pw="$probe_wall_max_ms" \
      -v um="$up_max" -v ureq="$up_requests" -v g="$((g1 - g0))" -v u="$((u1 - u0))" -v b="$((b1 - b0))" \
      -v hz="$clk_tck" -v t0="$t0" -v t1="$t1" -v cc="$client_cpu_s" -v pc="$probe_cpu_s" -v ramp="$ramp_ms" 'BEGIN {
      el = t1 - t0; others = el > 0 ? (b / hz - g / hz - u / hz - cc - pc) / el : 0; if (others < 0) others = 0
      printf "real_time=%.0f cpu_time=%.0f iterations=%d wall_s=%.3f ok=%d unavailable=%d deadline_exceeded=%d",
        e * 1e6, g / hz * 1e6, n, e, ok, una, late
      printf " not_ok_or_unavailable=%d shed_logged=%d peak_rss_mib=%.1f gateway_alive=%d threads_max=%d",
        late + other + bad, shed, h / 1024, alive, th
      printf " idle_rss_mib=%.1f idle_threads=%d latency_p50_ms=%.1f latency_p99_ms=%.1f latency_max_ms=%.1f",
        ir / 1024, it, p50, p99, lmax
      printf " probes=%d probe_failures=%d probe_slowest_ms=%.1f probe_wall_max_ms=%d upstream_max_in_flight=%d",
        pr, pf, ps, pw, um
      printf " upstream_requests=%d start_ramp_ms=%.1f others_cpus=%.3f", ureq, ramp, others }')" >>"$tmp/runs.txt"
  printf '%s\n' "$failed_list" >"$tmp/failed-$r"
  printf '%s\n' "${first_error:-none}" >"$tmp/first-error-$r"
done

# ---------------------------------------------------------------- report
json="$tmp/overload.json"
write_json "$json" "pinning=gateway alone on CPU $gateway_cpu; slow_upstream.py, grpc_load_client and the probes on CPU $load_cpu (taskset)"
{
  echo "Commands (\$TMP: the script's temp dir; ports picked at run time; fresh processes per repetition):"
  echo
  echo "- upstream: \`${upstream_cmd[*]}\` (one asyncio thread; every POST answered after ${delay_ms} ms)"
  echo "- gateway (default flags): \`${gateway_cmd_line% } 2>\$TMP/gateway.log\`"
  echo "- burst: \`$(printf '%s ' "${client_cmd[@]}" | sed 's/--target=127.0.0.1:[0-9]*/--target=127.0.0.1:PORT/; s/ $//')\`"
  echo "- health probe, a new process every ${probe_interval_ms} ms from 0.5 s before the burst to 1 s after its" \
       "last answer: \`$(printf '%s ' "${probe_cmd[@]}" | sed 's/--target=127.0.0.1:[0-9]*/--target=127.0.0.1:PORT/; s/ $//')\`"
  echo
  echo "wall s: the burst client's time from its first call to its last answer (its calls have a" \
       "${deadline_ms} ms deadline, so a gateway that cannot answer in time shows about $(( deadline_ms / 1000 )) s" \
       "and DEADLINE_EXCEEDED calls). ok / unavailable / deadline exceeded: the client's counts of gRPC statuses;" \
       "not OK or UNAVAILABLE: every other ending (DEADLINE_EXCEEDED, other codes, OK without a SUCCEEDED session)." \
       "shed logged: gateway call-log lines marked shed=true (a call refused by admission control)." \
       "peak RSS: the gateway's VmHWM (sampled every 100 ms and read after the burst). Probes: each probe is" \
       "a new grpc_load_client process and connection; it fails if it cannot connect within ${probe_deadline_ms} ms," \
       "gets no SERVING answer within its ${probe_deadline_ms} ms deadline, or is killed by its timeout; slowest" \
       "probe call is the call's own latency, slowest probe process the probe's whole wall time (process start" \
       "and connection included). The probes share CPU $load_cpu with the burst client, so a probe's" \
       "connection time also holds its own wait for that CPU while the client starts its calls." \
       "cpu_time: gateway CPU µs from" \
       "the burst's start to the end of probing."
  for (( r = 1; r <= reps; r++ )); do
    if [[ -s "$tmp/failed-$r" && -n "$(cat "$tmp/failed-$r")" ]]; then
      echo
      echo "Failed probes, repetition $r (start relative to the burst): $(cat "$tmp/failed-$r")"
    fi
  done
  echo
  echo "Last repetition in detail: the client took ${ramp_ms} ms to start all $burst calls (part of wall s);" \
       "call latency p50 ${p50} ms, p99 ${p99} ms, max ${lat_max} ms; first error" \
       "\`$(cat "$tmp/first-error-$reps")\`; gateway threads at most $threads_max (idle $idle_threads), idle RSS" \
       "$(( idle_rss_kb / 1024 )) MiB; $probes probes, slowest probe process ${probe_wall_max_ms} ms; the upstream" \
       "held at most $up_max requests at once and answered $up_requests; gateway call log, lines per grpc_code:" \
       "${logged_codes:-none}, with shed=true: $shed_logged."
  echo
  others_note
} | hide_tmp >"$tmp/notes.md"
hide_tmp_in "$json"

notes=()
if [[ -n "${NOTE:-}" ]]; then notes=(--note "$NOTE"); fi
"$python" bench/render_results.py --md "$results_md" --print \
  --section "Overload: a burst of $burst calls against a ${delay_ms} ms upstream (bench/overload.sh)" \
  --command "$invocation" "${notes[@]}" --note_file "$tmp/notes.md" --noisy_cv 0.10 \
  --metric "wall_s:wall s" --metric "ok:OK" --metric "unavailable:UNAVAILABLE" \
  --metric "not_ok_or_unavailable:not OK or UNAVAILABLE" --metric "shed_logged:shed logged" \
  --metric "peak_rss_mib:peak RSS MiB" --metric "probe_failures:probes failed" \
  --metric "probe_slowest_ms:slowest probe call ms" \
  --ratio "every call answered within $(( deadline_ms / 1000 )) s=[wall_s] overload/$burst<=$(( deadline_ms / 1000 ))" \
  --ratio "calls past their deadline=[deadline_exceeded] overload/$burst<=0" \
  --ratio "calls neither OK nor UNAVAILABLE=[not_ok_or_unavailable] overload/$burst<=0" \
  --ratio "peak RSS MiB=[peak_rss_mib] overload/$burst<=$rss_limit_mib" \
  --ratio "gateway still running after the burst=[gateway_alive] overload/$burst>=1" \
  --ratio "failed health probes=[probe_failures] overload/$burst<=0" \
  --ratio "slowest health probe call ms=[probe_slowest_ms] overload/$burst<=$probe_deadline_ms" \
  "$json"
if [[ -n "${KEEP_JSON:-}" ]]; then cp "$json" "$KEEP_JSON"; fi
