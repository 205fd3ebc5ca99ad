#!/usr/bin/env bash
# Builds bench/convert_bench if needed, runs it and rewrites the
# `## Converter` section of bench/RESULTS.md.
#
#   bench/run_convert_bench.sh [extra Google Benchmark flags...]
#
# Environment:
#   BUILD_DIR     build tree configured from the root CMakeLists.txt with a
#                 Release-ish build type (default: build)
#   RESULTS_MD    Markdown file to update (default: bench/RESULTS.md)
#   REPETITIONS   repetitions per benchmark; tables use the median (default: 3)
#   MIN_TIME      --benchmark_min_time in seconds (default: 0.5)
#   JOBS          parallel build jobs (default: 2)
#
# Run it on a machine that is otherwise idle: the tables mark a benchmark
# whose repetitions vary by more than 5% as noisy, but cannot fix it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_dir=${BUILD_DIR:-build}
results_md=${RESULTS_MD:-bench/RESULTS.md}

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  echo "run_convert_bench: $build_dir is not a configured build tree; configure it with" >&2
  echo "  cmake -S . -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
case "$build_type" in
  Release | RelWithDebInfo | MinSizeRel) ;;
  *) echo "run_convert_bench: warning: CMAKE_BUILD_TYPE is '${build_type}', not Release;" \
          "numbers will not be representative" >&2 ;;
esac

if ! cmake --build "$build_dir" --target convert_bench -j "${JOBS:-2}"; then
  echo "run_convert_bench: building convert_bench failed; is the project configured with" \
       "-DSESSION_GATEWAY_BUILD_BENCHMARKS=ON and libbenchmark-dev, libsimdjson-dev installed?" >&2
  exit 1
fi

bench=
for candidate in "$build_dir/bench/convert_bench" "$build_dir/bench/$build_type/convert_bench"; do
  if [[ -x "$candidate" ]]; then
    bench=$candidate
    break
  fi
done
if [[ -z "$bench" ]]; then
  echo "run_convert_bench: convert_bench not found under $build_dir/bench" >&2
  exit 1
fi

# Recorded in RESULTS.md next to the benchmark's own command line.
CONVERT_BENCH_WRAPPER="BUILD_DIR=$build_dir bench/run_convert_bench.sh${*:+ $*}"
export CONVERT_BENCH_WRAPPER
exec "$bench" \
  --benchmark_repetitions="${REPETITIONS:-3}" \
  --benchmark_min_time="${MIN_TIME:-0.5}" \
  --results_md="$results_md" \
  "$@"
