#!/usr/bin/env bash
# Converter benchmark: builds bench/convert_bench, runs it with Google
# Benchmark's JSON output and renders the `## Converter ...` section of
# bench/RESULTS.md with bench/render_results.py.
#
#   bench/run_convert_bench.sh [extra Google Benchmark flags...]
#
# The table gives, per benchmark (variant/document set), the median CPU
# time and MiB/s over the repetitions with their CV (the library's own
# aggregates); the ratios compare CPU time per document set (the same
# message in every form), never MiB/s, since the forms differ in size.
#
# Environment:
#   BUILD_DIR     build tree configured with a Release build type (default:
#                 build-release, `cmake --preset release`)
#   RESULTS_MD    Markdown file to update (default: bench/RESULTS.md)
#   REPETITIONS   repetitions per benchmark (default: 3)
#   MIN_TIME      --benchmark_min_time in seconds (default: 0.5)
#   JOBS          parallel build jobs (default: 2)
#   NO_BUILD=1    do not run cmake --build
#
# Run it on a machine that is otherwise idle: a CV above 5% is marked
# noisy, which it cannot fix.
set -euo pipefail
export LC_ALL=C
# shellcheck source=lib.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h | --help) show_help "$1" ;; esac

[[ -f "$build_dir/CMakeCache.txt" ]] || die "$build_dir is not a configured build tree (cmake --preset release)"
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
[[ "$build_type" == Release ]] || log "warning: CMAKE_BUILD_TYPE is '$build_type', not Release"
if [[ "${NO_BUILD:-0}" != 1 ]] && ! cmake --build "$build_dir" --target convert_bench -j "${JOBS:-2}" >&2; then
  die "building convert_bench failed; needs SESSION_GATEWAY_BUILD_BENCHMARKS=ON, libbenchmark-dev, libsimdjson-dev"
fi
bench=$build_dir/bench/convert_bench
[[ -x "$bench" ]] || die "convert_bench not found at $bench"

init_tmp
json="$tmp/convert.json"
cmd=("$bench" --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_min_time="${MIN_TIME:-0.5}" "$@")
# The library's context has no CPU model or kernel; the renderer shows
# these two when the JSON has them (its values may not hold a comma).
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | tr -d ,)
"${cmd[@]}" --benchmark_out="$json" --benchmark_out_format=json \
  --benchmark_context="cpu_model=${cpu_model:-unknown},kernel=$(uname -r | tr -d ,)"

invocation="$(invocation_line bench/run_convert_bench.sh REPETITIONS MIN_TIME RESULTS_MD)${*:+ $*}"
"$python" bench/render_results.py --md "$results_md" --section "Converter: REST JSON vs protobuf JSON, binary, simdjson (bench/run_convert_bench.sh)" \
  --command "$invocation" --noisy_cv 0.05 \
  --metric "cpu_time:CPU µs per document set" --metric "bytes_per_second/1048576:MiB/s" \
  --note "It ran \`${cmd[*]} --benchmark_out=FILE --benchmark_out_format=json\`." \
  --note "CPU time per iteration (one iteration processes a whole document set); MiB/s is of each benchmark's own input (decode) or output (encode) in the form it names, so binary rows count fewer bytes for the same message." \
  --ratio "decode speedup vs JsonStringToMessage (heap), small=decode/protobuf_json/small / decode/ours_heap/small>=5" \
  --ratio "decode speedup vs JsonStringToMessage (heap), 64KiB=decode/protobuf_json/64KiB / decode/ours_heap/64KiB>=8" \
  --ratio "decode speedup vs JsonStringToMessage (heap), 1MiB=decode/protobuf_json/1MiB / decode/ours_heap/1MiB" \
  --ratio "decode time / binary parse (heap), small=decode/ours_heap/small / decode/binary_heap/small<=1.5" \
  --ratio "decode time / binary parse (heap), 64KiB=decode/ours_heap/64KiB / decode/binary_heap/64KiB<=1.5" \
  --ratio "decode time / binary parse (heap), 1MiB=decode/ours_heap/1MiB / decode/binary_heap/1MiB<=1.5" \
  --ratio "decode time / binary parse (arena), small=decode/ours_arena/small / decode/binary_arena/small<=1.5" \
  --ratio "decode time / binary parse (arena), 64KiB=decode/ours_arena/64KiB / decode/binary_arena/64KiB<=1.5" \
  --ratio "decode time / binary parse (arena), 1MiB=decode/ours_arena/1MiB / decode/binary_arena/1MiB<=1.5" \
  --ratio "encode speedup vs MessageToJsonString, small=encode/protobuf_json/small / encode/ours/small>=5" \
  --ratio "encode speedup vs MessageToJsonString, 64KiB=encode/protobuf_json/64KiB / encode/ours/64KiB>=5" \
  --ratio "encode speedup vs MessageToJsonString, 1MiB=encode/protobuf_json/1MiB / encode/ours/1MiB>=5" \
  --ratio "decode time / simdjson DOM, 64KiB=decode/ours_heap/64KiB / decode/simdjson_dom/64KiB" \
  --ratio "encode time / binary serialize, 64KiB=encode/ours/64KiB / encode/binary/64KiB" \
  "$json"
if [[ -n "${KEEP_JSON:-}" ]]; then cp "$json" "$KEEP_JSON"; fi
