#!/usr/bin/env bash
# Ratio benchmark: the gateway's own CPU time per forwarded call against
# its CPU time per grpc.health.v1.Health/Check (the gRPC floor), side by
# side in one run; writes the `## Ratio: ...` section of bench/RESULTS.md.
#
#   bench/ratio.sh            (BUILD_DIR=build-release by default)
#
# Setup: session-gateway pinned alone to GATEWAY_CPU (default 0) with its
# default flags (plus --upstream, and --shutdown_grace=1s so that stopping
# it is quick), its call log on (the default) to a file; nginx as the REST
# upstream and h2load pinned together to LOAD_CPU (default 1). nginx answers
# POST on both session routes with a fixed CreateSession JSON: the docs'
# small example, or 2 KiB or 64 KiB ones (by definition id). A second
# gateway, started the same way plus --private_key_file (a P-521 key made
# with openssl for this run), signs an ES512 JWT for every upstream call.
#
# Workloads (h2load, gRPC framing, C x M connections x streams, default
# 8x32): Health/Check; CreatePaymentServiceDefinitionSession with the small,
# 2 KiB and 64 KiB answers; Health/Check and the small call on the key
# gateway. Each is warmed up and sized to about DURATION seconds; then REPS
# rounds run every workload once in turn, so a busy moment of this shared
# machine hits all of them alike. Each round ends with the floor under a
# forwarded call: bench/http_client_bench, the gateway's HTTP client alone,
# pinned to GATEWAY_CPU, POSTing the small call to the same nginx. Per repetition: gateway CPU µs per call
# (utime+stime from /proc/PID/stat over the phase / calls), wall µs per
# call, req/s, nginx CPU µs per call, upstream connections nginx accepted.
# Verified: h2load must report every call done with HTTP 2xx, the gateway
# must log exactly one grpc_code=OK line per forwarded call, and a
# grpc_load_client pass per workload checks gRPC statuses and answers.
#
# Environment:
#   BUILD_DIR      configured build tree (default: build-release)
#   RESULTS_MD     file to update (default: bench/RESULTS.md)
#   REPS           repetitions (default 3); DURATION seconds each (default 5)
#   CONNS, STREAMS h2load -c and -m (default 8 and 32)
#   GATEWAY_CPU, LOAD_CPU  cores (default 0 and 1)
#   JOBS, NO_BUILD=1       parallel build jobs; skip cmake --build
#   VERIFY_CALLS   calls of each grpc_load_client check (default 500)
#   ONLY           a regex: run only the workloads it matches
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
gateway_cpu=${GATEWAY_CPU:-0}
load_cpu=${LOAD_CPU:-1}
invocation=$(invocation_line bench/ratio.sh REPS DURATION CONNS STREAMS GATEWAY_CPU LOAD_CPU RESULTS_MD)
require_tools h2load nginx taskset curl openssl /usr/bin/time
(( $(nproc) >= 2 )) || die "needs 2 CPUs (gateway on one, nginx and h2load on the other)"

find_binaries
init_tmp
raise_fd_limit
declare -A phase_commands=()
note_start
make_payloads
start_nginx "$load_cpu"
log "nginx pid $nginx_pid on 127.0.0.1:$nginx_port (CPU $load_cpu)"

upstream=(--upstream="http://127.0.0.1:$nginx_port" --shutdown_grace=1s)
start_gateway "$tmp/gateway.log" "$gateway_cpu" "${upstream[@]}"
plain_pid=$gateway_pid plain_port=$gateway_port
plain_cmd=$(printf '%s ' "${gateway_cmd[@]}")

# A P-521 API key as Gr4vy issues them (PKCS#8 PEM), made for this run only.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out "$tmp/key.pem" 2>/dev/null ||
  die "openssl could not make a P-521 key"
start_gateway "$tmp/gateway-key.log" "$gateway_cpu" "${upstream[@]}" --private_key_file="$tmp/key.pem"
key_pid=$gateway_pid key_port=$gateway_port
key_cmd=$(printf '%s ' "${gateway_cmd[@]}")
log "gateways: default flags pid $plain_pid port $plain_port; with key pid $key_pid port $key_port (CPU $gateway_cpu)"

# name|gateway (plain or key)|method|payload|grpc_load_client rpc|id
workloads=(
  "health|plain|$grpc_method_health|$tmp/health.bin|health|"
  "forwarded/small|plain|$grpc_method_definition|$tmp/definition-bench-small.bin|definition|bench-small"
  "forwarded/2KiB|plain|$grpc_method_definition|$tmp/definition-bench-2k.bin|definition|bench-2k"
  "forwarded/64KiB|plain|$grpc_method_definition|$tmp/definition-bench-64k.bin|definition|bench-64k"
  "key/health|key|$grpc_method_health|$tmp/health.bin|health|"
  "key/forwarded/small|key|$grpc_method_definition|$tmp/definition-bench-small.bin|definition|bench-small"
)
# ONLY (an extended regex) keeps the workloads whose names match, e.g. to
# profile one: ONLY='^forwarded/small$'. Ratios need both of their sides.
if [[ -n "${ONLY:-}" ]]; then
  kept=()
  for w in "${workloads[@]}"; do [[ "${w%%|*}" =~ $ONLY ]] && kept+=("$w"); done
  (( ${#kept[@]} )) || die "ONLY='$ONLY' matches no workload"
  workloads=("${kept[@]}")
fi
use_gateway() {
  if [[ "$1" == key ]]; then
    gateway_pid=$key_pid gateway_port=$key_port gateway_log=$tmp/gateway-key.log
  else
    gateway_pid=$plain_pid gateway_port=$plain_port gateway_log=$tmp/gateway.log
  fi
}

declare -A calls_of=()
log "checking and sizing (${conns}x${streams}):"
for w in "${workloads[@]}"; do
  IFS='|' read -r name gw method payload rpc id <<<"$w"
  use_gateway "$gw"
  verify_grpc "$name" "$gateway_port" "$rpc" "$id"
  size_calls "$name" "$gateway_port" "$method" "$payload" "$conns" "$streams" "$load_cpu"
  calls_of[$name]=$sized_calls
done

# The floor under a forwarded call: the gateway's upstream HTTP client
# alone (CurlHttpClient, one event loop, on the gateway's CPU) sending the
# small call's POST to the same nginx, 256 in flight. A forwarded call costs
# at least a health call's gRPC work plus this.
client_url="http://127.0.0.1:$nginx_port/payment-service-definitions/bench-small/sessions"
client_cmd=(taskset -c "$gateway_cpu" "$http_bench_bin" --url="$client_url" --requests=40000 --concurrency=256
            --event_loops=1)
client_phase() {
  local out
  out=$("${client_cmd[@]}" 2>/dev/null | tail -1) || die "http_client_bench failed"
  "$python" - "$out" >>"$tmp/runs.txt" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["completed"] and r["errors"] == 0, r
print("upstream-client-alone\treal_time=%.3f cpu_time=%.3f iterations=%d rps=%.1f nginx_cpu_us=0 "
      "upstream_conns=%d others_cpus=0" % (r["wall_s"] * 1e6 / r["requests"], r["cpu_us_per_req"],
                                          r["requests"], r["req_per_s"], r["connections_opened"]))
PY
}

: >"$tmp/runs.txt"
for (( r = 1; r <= reps; r++ )); do
  log "repetition $r of $reps"
  for w in "${workloads[@]}"; do
    IFS='|' read -r name gw method payload rpc id <<<"$w"
    use_gateway "$gw"
    h2load_phase "$name" "$gateway_port" "$method" "$payload" "${calls_of[$name]}" "$conns" "$streams" \
      "$load_cpu" "$gateway_log"
  done
  [[ -z "${ONLY:-}" ]] && client_phase
done

# Both gateways answered every call; their logs must hold no warning about
# the upstream (the no-credentials warning at start-up is expected).
json="$tmp/ratio.json"
write_json "$json" "pinning=gateway alone on CPU $gateway_cpu; nginx (1 worker) and h2load on CPU $load_cpu (taskset)" \
  "h2load=$(h2load --version | head -1)" "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"

{
  echo "Commands (\$TMP: the script's temp dir; ports picked at run time):"
  echo
  echo "- gateway: \`${plain_cmd% } 2>\$TMP/gateway.log\`"
  echo "- gateway with key: \`${key_cmd% } 2>\$TMP/gateway-key.log\` (key: \`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521\`)"
  echo "- nginx: \`${nginx_cmd[*]}\` (config written by \`start_nginx\` in bench/lib.sh)"
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    echo "- \`$name\`: \`${phase_commands[$name]}\`"
  done
  echo "- \`upstream-client-alone\`: \`${client_cmd[*]}\` (its own getrusage CPU per request)"
  echo
  echo "cpu_time is the gateway's own CPU time per call: utime+stime of all its threads from /proc/PID/stat" \
       "(10 ms ticks) over the phase, divided by the calls; \`key/\` rows ran on the gateway with" \
       "\`--private_key_file\`. Response sizes: small = the docs' example (\`{\"sessionId\":\"12345\"}\` body)," \
       "2KiB/64KiB = whole upstream answer. Every call verified: h2load counted all done with HTTP 2xx, the gateway" \
       "logged one grpc_code=OK per forwarded call, and grpc_load_client checked statuses and answers" \
       "(${VERIFY_CALLS:-500} calls per workload). upstream conns = connections nginx accepted during the" \
       "repetition (the gateway keeps its pool open, so 0 after the warm-up is the expected value)." \
       "\`upstream-client-alone\` is the floor under a forwarded call: the gateway's HTTP client alone" \
       "(libcurl multi, one event loop) sending the same POST to the same nginx; a forwarded call also" \
       "pays the gRPC work of a health call, so with x = health / client alone, health / forwarded cannot" \
       "exceed x / (1 + x) whatever the rest of the gateway costs."
  echo
  others_note
} | hide_tmp >"$tmp/notes.md"
hide_tmp_in "$json"

"$python" bench/render_results.py --md "$results_md" --print \
  --section "Ratio: gateway CPU per call, forwarded vs Health/Check (bench/ratio.sh)" \
  --command "$invocation" --note_file "$tmp/notes.md" --noisy_cv 0.10 \
  --metric "cpu_time:gateway CPU µs/call" --metric "rps:req/s" --metric "nginx_cpu_us:nginx CPU µs/call" \
  --metric "upstream_conns:upstream conns" --baseline forwarded/small \
  --ratio "health / forwarded, CPU per call=health / forwarded/small>=0.40" \
  --ratio "health / forwarded 2 KiB=health / forwarded/2KiB" \
  --ratio "health / forwarded 64 KiB=health / forwarded/64KiB" \
  --ratio "with key: health / forwarded=key/health / key/forwarded/small>=0.40" \
  --ratio "cost of signing: forwarded with key / without=key/forwarded/small / forwarded/small" \
  --ratio "throughput forwarded / health=[rps] forwarded/small / health" \
  --ratio "health / upstream client alone (x), CPU per call=health / upstream-client-alone" \
  "$json"
if [[ -n "${KEEP_JSON:-}" ]]; then cp "$json" "$KEEP_JSON"; fi
