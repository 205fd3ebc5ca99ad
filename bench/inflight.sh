#!/usr/bin/env bash
# In-flight capacity of session-gateway: N calls at once against an
# upstream that takes 500 ms per request; writes the `### In-flight
# capacity` part of the `## Gateway` section of bench/RESULTS.md.
#
#   BUILD_DIR=build bench/inflight.sh
#
# For each N in INFLIGHT_COUNTS (default 1000 2000 5000), with fresh
# processes each time:
#   - session-sandbox --threads=N+16 (each upstream connection holds a
#     sandbox thread for the 500 ms, so every call can be served at once);
#   - session-gateway --max_upstream_connections=N --log_calls=false, so
#     that every call is truly in flight upstream at the same time rather
#     than queued inside the gateway for a free connection;
#   - grpc_load_client fires N CreatePaymentServiceDefinitionSession calls
#     for definition id sandbox-slow-500ms at once (--concurrency=N) over
#     CHANNELS HTTP/2 connections, and counts statuses and latencies;
#   - meanwhile the gateway's thread count (/proc/PID/status Threads:) is
#     sampled every 20 ms, and the upstream connections it has established
#     (ss) every 100 ms; at the end its peak RSS (VmHWM) is read.
# Targets: 2,000 in flight all succeed with at most 16 gateway threads and
# at most 256 MiB peak RSS.
#
# Upstream mode (UPSTREAM_MODE): "tuned" (default) runs the sandbox under an
# LD_PRELOAD shim built here that (1) raises its listen backlog from
# cpp-httplib's 5 to 4096: with a backlog of 5, N connections opened at
# once lose SYNs, which are retried after 1 s, 3 s, 7 s...; (2) makes
# cpp-httplib's keep-alive wait poll for 1 s instead of 10 ms: its loop
# (poll 10 ms, sleep 1 ms, repeat) wakes each idle connection's thread ~90
# times a second, and with thousands of connections those wakeups take
# every core and starve the gateway (seen: 1,600 calls all timing out with
# their responses unread in the gateway's socket buffers); (3) sets
# TCP_NODELAY (which the sandbox does itself since commit 801bef9).
# "shipped" runs the sandbox as built, which measures (1) and (2) rather
# than the gateway. src/ is not changed.
#
# Environment:
#   BUILD_DIR         configured build tree (default: build)
#   RESULTS_MD        file to update (default: bench/RESULTS.md)
#   GRPC_LOAD_CLIENT  grpc_load_client binary (default: target grpc_load_client
#                     of BUILD_DIR, see bench/gateway_bench.cmake)
#   INFLIGHT_COUNTS   default "1000 2000 5000"
#   UPSTREAM_MODE     tuned (default) or shipped
#   SLOW_ID           definition id (default sandbox-slow-500ms)
#   CHANNELS          client channels (default 8)
#   DEADLINE_MS       per-call deadline (default 60000)
#   GATEWAY_CPU, LOAD_CPU  cores to pin to (default 0 and 1)
#   JOBS, NO_BUILD=1  as in gateway_load.sh
#
# Bounded: every process started here is killed on exit, every client run
# has a deadline and a timeout, everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

counts=${INFLIGHT_COUNTS:-1000 2000 5000}
mode=${UPSTREAM_MODE:-tuned}
slow_id=${SLOW_ID:-sandbox-slow-500ms}
channels=${CHANNELS:-8}
deadline_ms=${DEADLINE_MS:-60000}
invocation=$(invocation_line bench/inflight.sh GRPC_LOAD_CLIENT INFLIGHT_COUNTS UPSTREAM_MODE SLOW_ID CHANNELS \
               DEADLINE_MS GATEWAY_CPU LOAD_CPU RESULTS_MD)

[[ "$mode" == tuned || "$mode" == shipped ]] || die "UPSTREAM_MODE must be tuned or shipped"
for tool in taskset ss awk; do command -v "$tool" >/dev/null || die "$tool not found"; done

# ---------------------------------------------------------------- build
find_binaries

# ---------------------------------------------------------------- processes
init_tmp
# Each call holds a socket in the gateway (upstream) and in the sandbox.
raise_fd_limit
fd_limit=$(ulimit -n)
setup_pinning "sandbox and grpc_load_client"
log "$pinning; open files limit $fd_limit"
# Up to 30 s for a server's "listening on" line (lib.sh default: 10 s).
server_start_tries=300

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

preload=()
if [[ "$mode" == tuned ]]; then
  build_tuning_shim UPSTREAM_MODE
  preload=(env "LD_PRELOAD=$tmp/sandbox_tuning.so")
fi

# ---------------------------------------------------------------- runs
declare -a rows=() commands=() names_rows=()
declare -A all_ok_of=() threads_of=() rss_of=()
note_run_start

for n in $counts; do
  sandbox_cmd=("${preload[@]}" "${pin_load[@]}" "$sandbox_bin" --listen=127.0.0.1:0 --threads=$(( n + 16 )))
  start_server "session-sandbox" "$tmp/sandbox.out" "$tmp/sandbox.err" "${sandbox_cmd[@]}"
  sandbox_pid=$server_pid sandbox_port=$server_port
  gateway_cmd=("${pin_gateway[@]}" "$gateway_bin" --listen=127.0.0.1:0
               --upstream="http://127.0.0.1:$sandbox_port" --max_upstream_connections="$n"
               --log_calls=false --upstream_timeout=60s --shutdown_grace=1s)
  start_server "session-gateway" "$tmp/gateway.out" "$tmp/gateway.err" "${gateway_cmd[@]}"
  gateway_pid=$server_pid gateway_port=$server_port
  sleep 0.5
  idle_threads=$(status_kb "$gateway_pid" Threads)
  idle_rss_kb=$(status_kb "$gateway_pid" VmRSS)
  sandbox_threads=$(status_kb "$sandbox_pid" Threads)
  log "N=$n: sandbox pid $sandbox_pid ($sandbox_threads threads), gateway pid $gateway_pid" \
      "($idle_threads threads, $(( idle_rss_kb / 1024 )) MiB idle)"

  # Samplers: gateway threads every 20 ms; every 250 ms the established
  # gateway->sandbox connections, and how many of them hold response bytes
  # the gateway has not read yet (Recv-Q > 0).
  ( while :; do
      t=$(awk '$1 == "Threads:" { print $2 }' "/proc/$gateway_pid/status" 2>/dev/null) || break
      echo "$t"
      sleep 0.02
    done ) >"$tmp/threads.$n" &
  thread_sampler=$!
  started_pids+=("$thread_sampler")
  ( while :; do
      ss -Htn state established "( dport = :$sandbox_port )" 2>/dev/null |
        awk '{ n++; if ($2 > 0) q++ } END { print n + 0, q + 0 }'
      sleep 0.25
    done ) >"$tmp/conns.$n" &
  conn_sampler=$!
  started_pids+=("$conn_sampler")

  client_cmd=("${pin_load[@]}" "$client_bin" --target="127.0.0.1:$gateway_port" --rpc=definition
              --id="$slow_id" --calls="$n" --concurrency="$n" --channels="$channels"
              --deadline_ms="$deadline_ms")
  commands+=("N=$n: $(quote_args "${sandbox_cmd[@]}")"
             "N=$n: $(quote_args "${gateway_cmd[@]}")"
             "N=$n: $(quote_args "${client_cmd[@]}")")
  rc=0
  json=$(timeout --kill-after=5 $(( deadline_ms / 1000 + 60 )) "${client_cmd[@]}") || rc=$?
  sleep 0.1
  stop_pid "$thread_sampler"
  stop_pid "$conn_sampler"
  end_threads=$(status_kb "$gateway_pid" Threads)
  # Which threads the gateway has after the run, by name (comm).
  thread_names=$(cat /proc/"$gateway_pid"/task/*/comm 2>/dev/null | sort | uniq -c |
    awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
  hwm_kb=$(status_kb "$gateway_pid" VmHWM)
  rss_kb=$(status_kb "$gateway_pid" VmRSS)
  max_threads=$(sort -n "$tmp/threads.$n" | tail -1)
  max_threads=${max_threads:-$end_threads}
  (( end_threads > max_threads )) && max_threads=$end_threads
  max_conns=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$tmp/conns.$n")
  max_unread=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$tmp/conns.$n")
  samples=$(wc -l <"$tmp/threads.$n")
  log "N=$n: client rc $rc: $json"
  log "N=$n: gateway threads after the run: $thread_names"
  log "N=$n: gateway threads max $max_threads (idle $idle_threads, end $end_threads, $samples samples)," \
      "VmHWM $(( hwm_kb / 1024 )) MiB, VmRSS $(( rss_kb / 1024 )) MiB, upstream connections max ${max_conns:-?}," \
      "with unread responses max ${max_unread:-?}"

  ok=$(json_num "$json" ok); errors=$(json_num "$json" errors); bad=$(json_num "$json" bad_response)
  codes=$(sed -n 's/.*"error_codes":{\([^}]*\)}.*/\1/p' <<<"$json" | tr -d '"')
  first_error=$(json_str "$json" first_error)
  hwm_mib=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k / 1024 }')
  all_ok=0
  [[ "$rc" == 0 && "$ok" == "$n" ]] && all_ok=1
  all_ok_of[$n]=$all_ok; threads_of[$n]=$max_threads; rss_of[$n]=$hwm_mib
  verdict="all succeeded"
  if (( ! all_ok )); then
    verdict="**FAILED**: ${ok:-0} ok, ${bad:-?} bad response, ${errors:-?} errors${codes:+ ($codes)}${first_error:+; first: $first_error}"
    [[ -n "$json" ]] || verdict="**FAILED**: client rc $rc, no output"
  fi
  names_rows+=("| $n | $thread_names |")
  rows+=("| $n | ${ok:-0} / $n | $verdict | **$max_threads** (idle $idle_threads, $samples samples) | **$hwm_mib** (idle $(awk -v k="$idle_rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')) | ${max_conns:-?} | ${max_unread:-?} | $(json_num "$json" p50) | $(json_num "$json" p99) | $(json_num "$json" max) | $(json_num "$json" start_ramp_ms) | $(json_num "$json" elapsed_s) | $(( n + 16 )) |")

  stop_pid "$gateway_pid"
  stop_pid "$sandbox_pid"
done
note_run_end

# ---------------------------------------------------------------- report
target_line="N=2000 not run"
if [[ -n "${all_ok_of[2000]:-}" ]]; then
  t_ok=$([[ "${all_ok_of[2000]}" == 1 ]] && echo met || echo "**missed**")
  t_threads=$(awk -v t="${threads_of[2000]}" 'BEGIN { print (t <= 16 ? "met" : "**missed**") }')
  t_rss=$(awk -v r="${rss_of[2000]}" 'BEGIN { print (r <= 256 ? "met" : "**missed**") }')
  target_line="N=2000: all succeed: $t_ok; at most 16 gateway threads (${threads_of[2000]}): $t_threads; at most 256 MiB peak RSS (${rss_of[2000]} MiB): $t_rss"
fi

section="$tmp/section.md"
{
  section_header "In-flight capacity" bench/inflight.sh
  echo "- Build: \`$build_dir\`, CMAKE_BUILD_TYPE=$build_type, source $source_rev; open files limit $fd_limit"
  echo "- Command: \`$invocation\`"
  echo "- Pinning: $pinning"
  echo "- Commands per N (ports picked by the kernel; \$TMP is the script's temporary directory):"
  for c in "${commands[@]}"; do echo "  - \`$c\`"; done
  echo
  echo "Setup: every call is CreatePaymentServiceDefinitionSession for \`$slow_id\`, which the sandbox answers after 500 ms while holding one of its threads. The gateway gets \`--max_upstream_connections=N\` and the sandbox N+16 threads, so all N calls are in flight upstream at the same time (column *upstream conns*: most gateway-to-sandbox connections seen ESTABLISHED, sampled every 250 ms; *unread upstream responses*: most of those holding response bytes the gateway had not read yet, Recv-Q > 0) rather than queued in the gateway for a connection. Upstream mode: **$mode**$([[ "$mode" == tuned ]] && echo " (sandbox under an LD_PRELOAD shim, src/ untouched, that raises its listen backlog from cpp-httplib's 5 to 4096, makes cpp-httplib's keep-alive wait poll 1 s instead of 10 ms, and sets TCP_NODELAY (a no-op since the sandbox sets it itself, commit 801bef9): with a backlog of 5, N simultaneous connects lose SYNs that are retried after 1 s, 3 s, 7 s...; with the 10 ms poll-and-sleep loop, thousands of idle keep-alive threads wake ~90 times a second each, take every core and starve the gateway)"). The client (\`grpc_load_client\`, $channels channels) starts all N calls at once (*ramp*: time to issue them); a call counts as succeeded with status OK and a SUCCEEDED session. *Threads*: most gateway threads seen in /proc/PID/status, sampled every 20 ms from before the first call until after the last answer; *peak RSS*: VmHWM of the gateway process (fresh for each N) after the run. Latencies are the client's, in ms."
  echo
  echo "| N in flight | succeeded | result | gateway threads (max sampled) | gateway peak RSS MiB (VmHWM) | upstream conns (max) | unread upstream responses (max) | p50 ms | p99 ms | max ms | ramp ms | elapsed s | sandbox threads |"
  echo "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Gateway threads after each run, by name (/proc/PID/task/*/comm; gRPC names its threads):"
  echo
  echo "| N | threads |"
  echo "|---:|---|"
  printf '%s\n' "${names_rows[@]}"
  echo
  echo "Targets: $target_line."
  echo
} >"$section"
publish_section "### In-flight" "$section"
