#!/usr/bin/env bash
# Core scaling benchmark: forwarded CreatePaymentServiceDefinitionSession
# throughput with the gateway on 1 core against 2 cores, in one run;
# writes the `## Core scaling ...` section of bench/RESULTS.md.
#
#   bench/scaling.sh          (BUILD_DIR=build-release by default)
#
# Two gateways with default flags (plus --upstream and --shutdown_grace=1s)
# run side by side from the start: one pinned to CPU 0, one to CPUs 0,1.
# Both are started pinned because gRPC sizes its thread pools from the CPUs
# a process may use when it starts (re-pinning a running gateway would keep
# a 1-core pool). nginx (the REST upstream, the docs' small answer, see
# bench/ratio.sh) and h2load are pinned to CPU 1 in both cases: on a
# 2-CPU machine the 2-core gateway shares CPU 1 with them, so the figure
# is a lower bound of what a second core gives. Each round measures both
# at the same call count, in turn; REPS rounds. Calls are checked as in
# bench/ratio.sh (h2load counts, one grpc_code=OK log line per call, a
# grpc_load_client pass). Target: 2 cores / 1 core throughput >= 1.7.
#
# Environment:
#   BUILD_DIR      configured build tree (default: build-release)
#   RESULTS_MD     file to update (default: bench/RESULTS.md)
#   REPS           repetitions (default 3); DURATION seconds each (default 5)
#   CONNS, STREAMS h2load -c and -m (default 8 and 32)
#   JOBS, NO_BUILD=1, VERIFY_CALLS  as in bench/ratio.sh
#
# Bounded: every h2load run has a call count and a timeout, every process
# started here is stopped on exit and the temp dir removed; everything
# listens on 127.0.0.1.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
show_help "$@"

reps=${REPS:-3}
conns=${CONNS:-8}
streams=${STREAMS:-32}
invocation=$(invocation_line bench/scaling.sh REPS DURATION CONNS STREAMS RESULTS_MD)
require_tools h2load nginx taskset curl /usr/bin/time
(( $(nproc) >= 2 )) || die "needs 2 CPUs"

find_binaries
init_tmp
raise_fd_limit
declare -A phase_commands=()
note_start
make_payloads
start_nginx 1
log "nginx pid $nginx_pid on 127.0.0.1:$nginx_port (CPU 1)"

upstream=(--upstream="http://127.0.0.1:$nginx_port" --shutdown_grace=1s)
start_gateway "$tmp/gateway-1.log" 0 "${upstream[@]}"
one_pid=$gateway_pid one_port=$gateway_port one_cmd=$(printf '%s ' "${gateway_cmd[@]}")
start_gateway "$tmp/gateway-2.log" 0,1 "${upstream[@]}"
two_pid=$gateway_pid two_port=$gateway_port two_cmd=$(printf '%s ' "${gateway_cmd[@]}")
log "gateways: 1 core pid $one_pid ($(awk '$1 == "Threads:" { print $2 }' /proc/$one_pid/status) threads)," \
    "2 cores pid $two_pid ($(awk '$1 == "Threads:" { print $2 }' /proc/$two_pid/status) threads)"

payload=$tmp/definition-bench-small.bin
method=$grpc_method_definition
verify_grpc "1core" "$one_port" definition bench-small
verify_grpc "2cores" "$two_port" definition bench-small
# One call count for both, sized on the 2-core gateway (the faster one,
# so neither run is shorter than DURATION).
gateway_pid=$two_pid
size_calls "2cores" "$two_port" "$method" "$payload" "$conns" "$streams" 1
gateway_pid=$one_pid
size_calls "1core" "$one_port" "$method" "$payload" "$conns" "$streams" 1
calls=$sized_calls

: >"$tmp/runs.txt"
for (( r = 1; r <= reps; r++ )); do
  log "repetition $r of $reps"
  gateway_pid=$one_pid
  h2load_phase 1core "$one_port" "$method" "$payload" "$calls" "$conns" "$streams" 1 "$tmp/gateway-1.log"
  gateway_pid=$two_pid
  h2load_phase 2cores "$two_port" "$method" "$payload" "$calls" "$conns" "$streams" 1 "$tmp/gateway-2.log"
done

threads_one=$(awk '$1 == "Threads:" { print $2 }' "/proc/$one_pid/status")
threads_two=$(awk '$1 == "Threads:" { print $2 }' "/proc/$two_pid/status")
json="$tmp/scaling.json"
write_json "$json" "pinning=gateway on CPU 0 (1core) or CPUs 0,1 (2cores); nginx (1 worker) and h2load on CPU 1, shared with the 2-core gateway" \
  "h2load=$(h2load --version | head -1)" "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
{
  echo "Commands (\$TMP: the script's temp dir; ports picked at run time):"
  echo
  echo "- 1core gateway: \`${one_cmd% } 2>\$TMP/gateway-1.log\` ($threads_one threads after the run)"
  echo "- 2cores gateway: \`${two_cmd% } 2>\$TMP/gateway-2.log\` ($threads_two threads after the run)"
  echo "- nginx: \`${nginx_cmd[*]}\` (config written by \`start_nginx\` in bench/lib.sh; small answer)"
  echo "- both rows: \`${phase_commands[1core]}\`"
  echo
  echo "Throughput of the same forwarded call (CreatePaymentServiceDefinitionSession, the docs' small answer)" \
       "with the gateway pinned to 1 core or to 2 cores. On this 2-CPU machine the 2-core gateway shares CPU 1" \
       "with nginx and h2load, which were pinned there in both rows. cpu_time is gateway CPU µs per call" \
       "(/proc/PID/stat). Every call verified as in bench/ratio.sh."
  echo
  others_note
} | hide_tmp >"$tmp/notes.md"
hide_tmp_in "$json"

"$python" bench/render_results.py --md "$results_md" --print \
  --section "Core scaling: gateway on 1 vs 2 cores (bench/scaling.sh)" \
  --command "$invocation" --note_file "$tmp/notes.md" --noisy_cv 0.10 \
  --metric "rps:req/s" --metric "cpu_time:gateway CPU µs/call" --metric "real_time:wall µs/call" \
  --baseline 1core \
  --ratio "throughput, 2 cores / 1 core=[rps] 2cores / 1core>=1.7" \
  "$json"
if [[ -n "${KEEP_JSON:-}" ]]; then cp "$json" "$KEEP_JSON"; fi
