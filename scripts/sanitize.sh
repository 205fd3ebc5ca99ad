#!/usr/bin/env bash
# The whole test suite, integration tests included, built with
# AddressSanitizer and UndefinedBehaviorSanitizer, leak detection on.
#
# Leak detection can be off without a word (an environment that disables
# it, a ptrace-restricted container, options that override the preset).
# So before the suite runs, a program that leaks on purpose must be
# reported with the same options, or this script fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset asan -DSESSION_GATEWAY_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build --preset asan -j "${JOBS:-$(nproc)}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"

# The preset's sanitizer options, read from CMakePresets.json so that the
# canary runs exactly as the tests do.
asan_options=$(python3 -c 'import json;p=json.load(open("CMakePresets.json"));print([t for t in p["testPresets"] if t["name"]=="asan"][0]["environment"]["ASAN_OPTIONS"])')
echo "== leak detection is live: build-asan/tests/support/lsan_canary must be reported"
canary_log=$(mktemp)
if ASAN_OPTIONS="$asan_options" build-asan/tests/support/lsan_canary >"$canary_log" 2>&1; then
  cat "$canary_log"
  echo "sanitize.sh: the leak canary exited 0: LeakSanitizer is not running, so the suite cannot find leaks" >&2
  exit 1
fi
if ! grep -q "ERROR: LeakSanitizer: detected memory leaks" "$canary_log"; then
  cat "$canary_log"
  echo "sanitize.sh: the leak canary failed without a LeakSanitizer report" >&2
  exit 1
fi
echo "leak canary reported by LeakSanitizer, as it must be"

ctest --preset asan
