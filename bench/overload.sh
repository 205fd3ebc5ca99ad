#!/usr/bin/env bash
# Overload: a burst far beyond what the upstream can absorb, against
# session-gateway with its default flags. Checks that the gateway stays
# bounded and healthy and answers every call quickly, OK or shed.
#
#   BUILD_DIR=build bench/overload.sh
#
# Setup, with fresh processes:
#   - upstream: the in-repo session-sandbox (default flags, 128 threads);
#     every call asks for definition id sandbox-slow-500ms, which it
#     answers after 500 ms while holding one of its threads;
#   - session-gateway with default flags, except --listen=127.0.0.1:0,
#     --upstream (the sandbox above, not the in-process one, so that the
#     gateway's memory and CPU are its own) and --shutdown_grace=1s (only so
#     that stopping it at the end is quick). With the default
#     --max_upstream_connections=64 the upstream completes at most
#     64 / 0.5 s = 128 calls a second: the 20,000 calls of the burst would
#     need ~160 s, so most of them must be shed, not queued;
#   - grpc_load_client (bench/grpc_load_client.cc) starts BURST_CALLS calls
#     at once (--concurrency equal to --calls) over CHANNELS HTTP/2
#     connections, each with a DEADLINE_MS deadline, and counts statuses;
#   - meanwhile, every 200 ms, a separate grpc_load_client process probes
#     grpc.health.v1.Health/Check on a new connection (as a Kubernetes gRPC
#     probe does), with 1 s to connect and a 1 s deadline for the call.
#
# Goals (exit status 0 only if all are met; today's gateway, which has no
# admission control, is expected to miss them):
#   1. every call answered within 20 s: the burst client finished within
#      DEADLINE_MS and no call ended DEADLINE_EXCEEDED;
#   2. each call OK or UNAVAILABLE (shed), with nothing else;
#   3. the gateway's peak RSS (VmHWM) at most 256 MiB, and it is still
#      running after the burst;
#   4. every health probe SERVING within its 1 s deadline (and connected
#      within 1 s).
# With call logging on (the default), the gateway's stderr is also counted
# for lines saying shed=true (CallLog's marker once admission control is
# wired in), to tell shed calls from other UNAVAILABLE answers.
#
# Environment:
#   BUILD_DIR         configured build tree (default: build)
#   GRPC_LOAD_CLIENT  grpc_load_client binary (default: built in BUILD_DIR)
#   BURST_CALLS       calls in the burst (default 20000)
#   CHANNELS          client connections for the burst (default 8)
#   DEADLINE_MS       per-call deadline and the answer-time goal (default 20000)
#   PROBE_INTERVAL_MS health probe period (default 200)
#   PROBE_DEADLINE_MS health probe deadline and goal (default 1000)
#   RSS_LIMIT_MIB     peak RSS goal (default 256)
#   SLOW_ID           definition id (default sandbox-slow-500ms)
#   UPSTREAM_MODE     tuned (default: the sandbox under bench/lib.sh's
#                     LD_PRELOAD shim: listen backlog 4096 and no busy
#                     keep-alive polling, see bench/inflight.sh) or shipped
#   GATEWAY_CPU, LOAD_CPU  cores to pin to (default 0 and 1)
#   JOBS, NO_BUILD=1  as in gateway_load.sh
#
# Prints its findings on stdout; writes nothing outside its temporary
# directory. Bounded: every client run has a deadline and a timeout, every
# process started here is stopped on exit, everything listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"

burst=${BURST_CALLS:-20000}
channels=${CHANNELS:-8}
deadline_ms=${DEADLINE_MS:-20000}
probe_interval_ms=${PROBE_INTERVAL_MS:-200}
probe_deadline_ms=${PROBE_DEADLINE_MS:-1000}
rss_limit_mib=${RSS_LIMIT_MIB:-256}
slow_id=${SLOW_ID:-sandbox-slow-500ms}
mode=${UPSTREAM_MODE:-tuned}

[[ "$mode" == tuned || "$mode" == shipped ]] || die "UPSTREAM_MODE must be tuned or shipped"
for n in "$burst" "$channels" "$deadline_ms" "$probe_interval_ms" "$probe_deadline_ms" "$rss_limit_mib"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "numeric settings must be positive integers (got '$n')"
done
for tool in taskset awk timeout date; do command -v "$tool" >/dev/null || die "$tool not found"; done

find_binaries
init_tmp
raise_fd_limit
setup_pinning "sandbox and the burst client"
log "$pinning; open files limit $(ulimit -n)"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---------------------------------------------------------------- processes
preload=()
if [[ "$mode" == tuned ]]; then
  build_tuning_shim UPSTREAM_MODE
  preload=(env "LD_PRELOAD=$tmp/sandbox_tuning.so")
fi
sandbox_cmd=("${preload[@]}" "${pin_load[@]}" "$sandbox_bin" --listen=127.0.0.1:0)
start_server "session-sandbox" "$tmp/sandbox.out" "$tmp/sandbox.err" "${sandbox_cmd[@]}"
sandbox_pid=$server_pid sandbox_port=$server_port

gateway_cmd=("${pin_gateway[@]}" "$gateway_bin" --listen=127.0.0.1:0
             --upstream="http://127.0.0.1:$sandbox_port" --shutdown_grace=1s)
start_server "session-gateway" "$tmp/gateway.out" "$tmp/gateway.err" "${gateway_cmd[@]}"
gateway_pid=$server_pid gateway_port=$server_port
target=127.0.0.1:$gateway_port
sleep 0.5
idle_rss_kb=$(status_kb "$gateway_pid" VmRSS)
log "sandbox pid $sandbox_pid port $sandbox_port; gateway pid $gateway_pid port $gateway_port," \
    "$(( idle_rss_kb / 1024 )) MiB idle"

# One health probe: a new process and connection, like a kubelet probe.
# Writes "start_ms wall_ms rc call_latency_ms" to its own file.
probe_cmd=("$client_bin" --target="$target" --rpc=health --calls=1 --concurrency=1 --channels=1
           --deadline_ms="$probe_deadline_ms" --connect_timeout_ms="$probe_deadline_ms")
probe_once() {
  local file=$1 start end rc=0 json
  start=$(now_ms)
  json=$(timeout --kill-after=1 $(( probe_deadline_ms * 2 / 1000 + 2 )) "${probe_cmd[@]}" 2>/dev/null) || rc=$?
  end=$(now_ms)
  echo "$start $(( end - start )) $rc $(json_num "$json" max)" >"$file"
}

# Checks the probe works before the burst, so that a failure later is the
# burst's doing.
probe_once "$tmp/probe.pre"
read -r _ pre_wall pre_rc _ <"$tmp/probe.pre"
[[ "$pre_rc" == 0 ]] || die "health probe fails before the burst (rc $pre_rc)"
log "health probe before the burst: ${pre_wall} ms wall"

# The prober: a probe every probe_interval_ms, each in the background so a
# slow one does not delay the next, until $tmp/stop exists; then it waits
# for its probes (each bounded by its timeout).
mkdir "$tmp/probes"
(
  trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM
  i=0
  while [[ ! -e "$tmp/stop" ]]; do
    probe_once "$tmp/probes/$(printf '%05d' "$i")" &
    i=$(( i + 1 ))
    sleep "$(awk -v ms="$probe_interval_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  done
  wait
) &
prober_pid=$!
started_pids+=("$prober_pid")

# ---------------------------------------------------------------- the burst
client_cmd=("${pin_load[@]}" "$client_bin" --target="$target" --rpc=definition --id="$slow_id"
            --calls="$burst" --concurrency="$burst" --channels="$channels" --deadline_ms="$deadline_ms")
log "burst: $(quote_args "${client_cmd[@]}")"
rc=0
burst_start=$(now_ms)
json=$(timeout --kill-after=5 $(( deadline_ms / 1000 + 40 )) "${client_cmd[@]}" 2>"$tmp/client.err") || rc=$?
burst_end=$(now_ms)
# Keep probing a little after the last answer: the gateway may still be
# busy with work its callers have given up on.
sleep 1
touch "$tmp/stop"
for _ in $(seq 100); do kill -0 "$prober_pid" 2>/dev/null || break; sleep 0.1; done
stop_pid "$prober_pid"

gateway_alive=1
kill -0 "$gateway_pid" 2>/dev/null || gateway_alive=0
hwm_kb=$(status_kb "$gateway_pid" VmHWM); hwm_kb=${hwm_kb:-0}
rss_kb=$(status_kb "$gateway_pid" VmRSS); rss_kb=${rss_kb:-0}
threads=$(status_kb "$gateway_pid" Threads); threads=${threads:-?}
stop_pid "$gateway_pid"
stop_pid "$sandbox_pid"

# ---------------------------------------------------------------- verdicts
log "burst client rc $rc: ${json:-<no output>}"
[[ -s "$tmp/client.err" ]] && { log "burst client stderr:"; tail -5 "$tmp/client.err" >&2; }

ok=$(json_num "$json" ok); ok=${ok:-0}
bad=$(json_num "$json" bad_response); bad=${bad:-0}
elapsed_s=$(json_num "$json" elapsed_s); elapsed_s=${elapsed_s:-?}
codes=$(sed -n 's/.*"error_codes":{\([^}]*\)}.*/\1/p' <<<"$json" | tr -d '"')
count_of() { sed -n "s/.*\"error_codes\":{[^}]*\"$1\":\([0-9]*\).*/\1/p" <<<"$json"; }
unavailable=$(count_of UNAVAILABLE); unavailable=${unavailable:-0}
deadline_exceeded=$(count_of DEADLINE_EXCEEDED); deadline_exceeded=${deadline_exceeded:-0}
errors=$(json_num "$json" errors); errors=${errors:-0}
other=$(( errors - unavailable ))
first_error=$(json_str "$json" first_error)
shed_logged=$(grep -c 'shed=true\|"shed":true' "$tmp/gateway.err" || true)
unavailable_logged=$(grep -c 'grpc_code=UNAVAILABLE\|"code":"UNAVAILABLE"' "$tmp/gateway.err" || true)

probes=0 probes_ok=0 probe_wall_max=0 probe_latency_max=0 probe_fail_list=""
for f in "$tmp"/probes/*; do
  [[ -e "$f" ]] || continue
  read -r start wall prc latency <"$f" || continue
  probes=$(( probes + 1 ))
  (( wall > probe_wall_max )) && probe_wall_max=$wall
  if [[ "$prc" == 0 ]]; then
    probes_ok=$(( probes_ok + 1 ))
    probe_latency_max=$(awk -v a="$probe_latency_max" -v b="${latency:-0}" 'BEGIN { print (b > a ? b : a) }')
  else
    # grpc_load_client: 1 = the call failed or was not SERVING, 2 = no
    # connection within --connect_timeout_ms; 124/137 = timeout(1).
    case "$prc" in
      1) why="call failed" ;;
      2) why="no connection in ${probe_deadline_ms} ms" ;;
      124 | 137) why="probe timed out" ;;
      *) why="rc $prc" ;;
    esac
    probe_fail_list+=" +$(( start - burst_start )) ms ($why, ${wall} ms wall);"
  fi
done

verdict() { if [[ "$1" == 1 ]]; then echo "met"; else echo "MISSED"; fi; }
answered_in_time=0
if [[ -n "$json" && "$deadline_exceeded" == 0 ]] &&
   awk -v e="$elapsed_s" -v d="$deadline_ms" 'BEGIN { exit !(e != "?" && e * 1000 <= d) }'; then
  answered_in_time=1
fi
only_ok_or_shed=0
[[ -n "$json" && "$bad" == 0 && "$other" == 0 && $(( ok + unavailable )) == "$burst" ]] && only_ok_or_shed=1
hwm_mib=$(awk -v k="$hwm_kb" 'BEGIN { printf "%.1f", k / 1024 }')
rss_ok=0
[[ "$gateway_alive" == 1 ]] && awk -v h="$hwm_mib" -v l="$rss_limit_mib" 'BEGIN { exit !(h <= l) }' && rss_ok=1
health_ok=0
(( probes > 0 && probes_ok == probes )) && health_ok=1

echo "## Overload burst (bench/overload.sh)"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); source $(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)"
echo "- Upstream: session-sandbox, definition id $slow_id (500 ms per call), mode $mode"
echo "- Gateway: $(quote_args "${gateway_cmd[@]}")"
echo "- Burst: $(quote_args "${client_cmd[@]}")"
echo "- Probe: every ${probe_interval_ms} ms, $(quote_args "${probe_cmd[@]}")"
echo
echo "| goal | result | verdict |"
echo "|---|---|---|"
echo "| all $burst calls answered within ${deadline_ms} ms | burst took ${elapsed_s} s (client wall $(( burst_end - burst_start )) ms, rc $rc), DEADLINE_EXCEEDED $deadline_exceeded | $(verdict $answered_in_time) |"
echo "| each call OK or UNAVAILABLE | OK $ok, UNAVAILABLE $unavailable, bad response $bad, other errors $other${codes:+ ($codes)}${first_error:+; first error: $first_error} | $(verdict $only_ok_or_shed) |"
echo "| gateway peak RSS <= ${rss_limit_mib} MiB | VmHWM $hwm_mib MiB (idle $(( idle_rss_kb / 1024 )) MiB, after $(( rss_kb / 1024 )) MiB), $threads threads, $([[ $gateway_alive == 1 ]] && echo "still running" || echo "NOT RUNNING after the burst") | $(verdict $rss_ok) |"
echo "| Health/Check within ${probe_deadline_ms} ms throughout | $probes_ok of $probes probes SERVING in time; slowest call ${probe_latency_max} ms, slowest probe process ${probe_wall_max} ms wall (connect and process start included)${probe_fail_list:+; failed (start relative to the burst):$probe_fail_list} | $(verdict $health_ok) |"
echo
echo "Gateway log: $shed_logged lines with shed=true, $unavailable_logged with UNAVAILABLE."

(( answered_in_time && only_ok_or_shed && rss_ok && health_ok ))
