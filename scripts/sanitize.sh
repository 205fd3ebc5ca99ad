#!/usr/bin/env bash
# The whole test suite, integration tests included, built with
# AddressSanitizer and UndefinedBehaviorSanitizer, leak detection on.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset asan -DSESSION_GATEWAY_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build --preset asan -j "${JOBS:-$(nproc)}"
export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
ctest --preset asan
