#!/usr/bin/env bash
# In-flight capacity of session-gateway: N calls at once (default 2,000)
# against an HTTP/1.1 upstream that takes 500 ms per request, with the
# gateway's default flags; writes the `## In-flight ...` section of
# bench/RESULTS.md.
#
#   bench/inflight.sh         (BUILD_DIR=build-release by default)
#
# Upstream: bench/slow_upstream.py, one asyncio thread that answers every
# session POST after DELAY_MS (500). Not nginx (it cannot delay an answer)
# and not session-sandbox's sandbox-slow-500ms: cpp-httplib holds a thread
# per connection, accepts with a listen backlog of 5 and polls idle
# keep-alive connections every 10 ms, so with thousands of connections it
# measured itself (this script used to need an LD_PRELOAD shim for it).
#
# Each repetition starts fresh processes (peak RSS is per process):
#   - slow_upstream.py pinned to LOAD_CPU (default 1);
#   - session-gateway pinned to GATEWAY_CPU (default 0) with default flags
#     (plus --upstream and --shutdown_grace=1s), call log to a file;
#   - grpc_load_client, pinned with the upstream, fires N
#     CreatePaymentServiceDefinitionSession calls at once (--concurrency=N,
#     CHANNELS HTTP/2 connections) and counts statuses and answers;
#   - the gateway's Threads: (/proc/PID/status) is sampled every 20 ms;
#     after the run its VmHWM (peak RSS) is read.
# Reported per repetition: wall seconds for all N calls (the client's),
# most gateway threads seen, peak RSS MiB, the most requests the upstream
# held at once and the connections it accepted. Every call must end OK
# with a SUCCEEDED session and be logged grpc_code=OK by the gateway.
# Targets at N=2000: wall <= 4 s, threads <= 16, peak RSS <= 256 MiB.
#
# Environment:
#   BUILD_DIR      configured build tree (default: build-release)
#   RESULTS_MD     file to update (default: bench/RESULTS.md)
#   INFLIGHT       calls in flight (default 2000); REPS (default 3)
#   DELAY_MS       upstream delay (default 500); CHANNELS (default 8)
#   DEADLINE_MS    per-call deadline (default 60000)
#   GATEWAY_CPU, LOAD_CPU, JOBS, NO_BUILD=1  as in bench/ratio.sh
#
# Bounded: the client run has per-call deadlines and a timeout, every
# process started here is stopped on exit and the temp dir removed;
# everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
show_help "$@"

n=${INFLIGHT:-2000}
reps=${REPS:-3}
delay_ms=${DELAY_MS:-500}
channels=${CHANNELS:-8}
deadline_ms=${DEADLINE_MS:-60000}
gateway_cpu=${GATEWAY_CPU:-0}
load_cpu=${LOAD_CPU:-1}
invocation=$(invocation_line bench/inflight.sh INFLIGHT REPS DELAY_MS CHANNELS DEADLINE_MS GATEWAY_CPU LOAD_CPU RESULTS_MD)
require_tools taskset curl
(( $(nproc) >= 2 )) || die "needs 2 CPUs"

find_binaries
init_tmp
# Each call may hold a socket in the gateway (upstream) and the upstream.
raise_fd_limit
note_start

# A number from grpc_load_client's one-line JSON summary.
json_num() { sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p" <<<"$1" | head -1; }
status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

: >"$tmp/runs.txt"
for (( r = 1; r <= reps; r++ )); do
  start_slow_upstream "$load_cpu" "$delay_ms"

  start_gateway "$tmp/gateway.log" "$gateway_cpu" --upstream="http://127.0.0.1:$upstream_port" --shutdown_grace=1s
  sleep 0.5
  idle_threads=$(status_field "$gateway_pid" Threads)
  idle_rss_kb=$(status_field "$gateway_pid" VmRSS)

  ( while :; do
      awk '$1 == "Threads:" { print $2 }' "/proc/$gateway_pid/status" 2>/dev/null || break
      sleep 0.02
    done ) >"$tmp/threads" &
  sampler=$!
  started_pids+=("$sampler")

  client_cmd=(taskset -c "$load_cpu" "$client_bin" --target="127.0.0.1:$gateway_port" --rpc=definition
              --id=bench-slow --calls="$n" --concurrency="$n" --channels="$channels" --deadline_ms="$deadline_ms")
  rc=0
  json=$(timeout --kill-after=5 $(( deadline_ms / 1000 + 30 )) "${client_cmd[@]}") || rc=$?
  sleep 0.1
  stop_pid "$sampler"
  max_threads=$(sort -n "$tmp/threads" | tail -1)
  samples=$(wc -l <"$tmp/threads")
  hwm_kb=$(status_field "$gateway_pid" VmHWM)
  cpu_ticks=$(proc_ticks "$gateway_pid")
  # The count includes this query's own connection (removed below).
  read -r up_max up_accepted up_requests < <(curl -sf "http://127.0.0.1:$upstream_port/stats" || echo "0 0 0")
  ok=$(json_num "$json" ok)
  elapsed=$(json_num "$json" elapsed_s)
  logged_ok=$(grep -c ' grpc_code=OK ' "$tmp/gateway.log" || true)
  log "repetition $r: client rc $rc: $json"
  log "repetition $r: gateway threads max $max_threads (idle $idle_threads, $samples samples)," \
      "VmHWM $(( hwm_kb / 1024 )) MiB (idle RSS $(( idle_rss_kb / 1024 )) MiB); upstream held at most $up_max" \
      "requests at once over $up_accepted connections; gateway logged $logged_ok grpc_code=OK"
  if [[ "$rc" != 0 || "$ok" != "$n" || "$logged_ok" != "$n" || -z "$elapsed" ]]; then
    die "repetition $r failed: client rc $rc, $ok of $n ok, gateway logged $logged_ok grpc_code=OK"
  fi
  printf 'inflight/%s\t%s\n' "$n" "$(awk -v e="$elapsed" -v n="$n" -v t="$max_threads" -v h="$hwm_kb" \
      -v c="$cpu_ticks" -v hz="$clk_tck" -v um="$up_max" -v ua="$(( up_accepted - 1 ))" -v it="$idle_threads" -v ir="$idle_rss_kb" 'BEGIN {
      printf "real_time=%.0f cpu_time=%.0f iterations=%d wall_s=%.3f threads_max=%d peak_rss_mib=%.1f upstream_max_in_flight=%d upstream_conns=%d idle_threads=%d idle_rss_mib=%.1f",
        e * 1e6, c / hz * 1e6, n, e, t, h / 1024, um, ua, it, ir / 1024 }')" >>"$tmp/runs.txt"
  gateway_cmd_line=$(printf '%s ' "${gateway_cmd[@]}")
  stop_pid "$gateway_pid"
  stop_pid "$upstream_pid"
  : >"$tmp/gateway.log"
done

json="$tmp/inflight.json"
write_json "$json" "pinning=gateway alone on CPU $gateway_cpu; slow_upstream.py and grpc_load_client on CPU $load_cpu (taskset)"
{
  echo "Commands (\$TMP: the script's temp dir; ports picked at run time; fresh processes per repetition):"
  echo
  echo "- upstream: \`${upstream_cmd[*]}\` (one asyncio thread; every POST answered after ${delay_ms} ms)"
  echo "- gateway (default flags): \`${gateway_cmd_line% } 2>\$TMP/gateway.log\`"
  echo "- client: \`$(printf '%s ' "${client_cmd[@]}" | sed 's/--target=127.0.0.1:[0-9]*/--target=127.0.0.1:PORT/; s/ $//')\`"
  echo
  echo "wall s: the client's time from the first call to the last answer; threads: most gateway threads in" \
       "/proc/PID/status (sampled every 20 ms); peak RSS: VmHWM after the run; upstream max in flight: most" \
       "requests the upstream held at once (the gateway's upstream concurrency); cpu_time: gateway CPU µs for" \
       "the whole process life. Every call ended OK with a SUCCEEDED session and was logged grpc_code=OK."
} | hide_tmp >"$tmp/notes.md"
hide_tmp_in "$json"

"$python" bench/render_results.py --md "$results_md" --print \
  --section "In-flight: $n calls against a ${delay_ms} ms upstream (bench/inflight.sh)" \
  --command "$invocation" --note_file "$tmp/notes.md" --noisy_cv 0.10 \
  --metric "wall_s:wall s" --metric "threads_max:gateway threads (max)" \
  --metric "peak_rss_mib:peak RSS MiB" --metric "upstream_max_in_flight:upstream max in flight" \
  --metric "upstream_conns:upstream conns" \
  --ratio "wall time=[wall_s] inflight/$n<=4" \
  --ratio "gateway threads=[threads_max] inflight/$n<=16" \
  --ratio "peak RSS MiB=[peak_rss_mib] inflight/$n<=256" \
  "$json"
if [[ -n "${KEEP_JSON:-}" ]]; then cp "$json" "$KEEP_JSON"; fi
