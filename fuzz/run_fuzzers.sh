#!/usr/bin/env bash
# Runs every libFuzzer target for a fixed time, one after another, each on a
# scratch copy of its seed corpus (fuzz/corpus/<target>/ is never written)
# and with its dictionary, fuzz/dict/<target>.dict, if there is one.
#
#   fuzz/run_fuzzers.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
#
# BUILD_DIR is a build configured with -DSESSION_GATEWAY_BUILD_FUZZERS=ON
# (see fuzz/README.md); the binaries are BUILD_DIR/fuzz/<target>. With no
# TARGET, every directory under fuzz/corpus names a target.
#
# Prints, per target, the executions run and the corpus size at the end.
# Exits 1 if any target crashed, timed out, ran out of memory or broke a
# property; the input that did it is kept under
# ${FUZZ_ARTIFACTS_DIR:-BUILD_DIR/fuzz-artifacts}/<target>/ and its path is
# printed, together with the end of the fuzzer's log. Exits 2 on a usage
# error. Set FUZZ_KEEP_CORPUS=1 to keep the grown corpora (next to the
# artifacts) for merging into the seeds by hand.
set -euo pipefail

usage() {
  echo "usage: $0 BUILD_DIR SECONDS_PER_TARGET [TARGET...]" >&2
  exit 2
}
[[ $# -ge 2 ]] || usage
build_dir=$(cd "$1" && pwd) || usage
seconds=$2
[[ $seconds =~ ^[1-9][0-9]*$ ]] || usage
shift 2

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
artifacts_root=${FUZZ_ARTIFACTS_DIR:-$build_dir/fuzz-artifacts}
mkdir -p "$artifacts_root"
artifacts_root=$(cd "$artifacts_root" && pwd)

if [[ $# -gt 0 ]]; then
  targets=("$@")
else
  targets=()
  for dir in "$fuzz_dir"/corpus/*/; do targets+=("$(basename "$dir")"); done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/session-gateway-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Sanitizer reports must end the run with a stack libFuzzer can save.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}

failed=()
summary=()
for target in "${targets[@]}"; do
  binary=$build_dir/fuzz/$target
  seeds=$fuzz_dir/corpus/$target
  if [[ ! -x $binary ]]; then
    echo "error: $binary is missing; build the 'fuzzers' target first" >&2
    exit 2
  fi
  corpus=$work/corpus/$target
  mkdir -p "$corpus"
  if [[ -d $seeds ]]; then cp -R "$seeds"/. "$corpus"/; fi
  artifacts=$artifacts_root/$target
  mkdir -p "$artifacts"
  log=$artifacts/fuzz.log

  flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536
         -print_final_stats=1 -artifact_prefix="$artifacts/")
  dict=$fuzz_dir/dict/$target.dict
  if [[ -f $dict ]]; then flags+=(-dict="$dict"); fi

  echo "== $target: ${seconds}s"
  status=0
  # Run from the scratch directory so that nothing lands in the caller's.
  (cd "$work" && "$binary" "${flags[@]}" "$corpus") >"$log" 2>&1 || status=$?

  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  files=$(find "$corpus" -type f | wc -l)
  last_corp=$(grep -o 'corp: [0-9]*/[0-9A-Za-z]*' "$log" | tail -n 1 | sed 's/corp: //' || true)
  line="$target: ${executions:-?} executions, corpus ${files} files (libFuzzer: ${last_corp:-?})"
  if [[ $status -ne 0 ]]; then
    line="$line, FAILED (exit $status)"
    failed+=("$target")
    echo "---- last lines of $log"
    tail -n 60 "$log"
    echo "----"
    # libFuzzer names the input it saved: "Test unit written to <path>".
    saved=$(sed -n 's/.*Test unit written to //p' "$log")
    if [[ -n $saved ]]; then
      while IFS= read -r artifact; do
        echo "    crash input: $artifact"
        echo "    reproduce:   $binary $artifact"
      done <<<"$saved"
    else
      echo "    no input was saved; see $log"
    fi
  fi
  echo "$line"
  summary+=("$line")
  if [[ ${FUZZ_KEEP_CORPUS:-0} == 1 ]]; then
    rm -rf "$artifacts/corpus"
    cp -R "$corpus" "$artifacts/corpus"
  fi
done

echo
echo "== summary (${seconds}s per target)"
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]} (inputs and logs under $artifacts_root)"
  exit 1
fi
echo "all ${#targets[@]} targets ran without a finding"
