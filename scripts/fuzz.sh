#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, ASan and UBSan in build-fuzz/ and
# runs each for SECONDS (default 20) on a copy of its seed corpus.
#
#   scripts/fuzz.sh          # 20 s per target, as CI does
#   scripts/fuzz.sh 600      # a longer local run
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
seconds=${1:-20}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DSESSION_GATEWAY_SANITIZE=address,undefined \
  -DSESSION_GATEWAY_BUILD_FUZZERS=ON \
  -DSESSION_GATEWAY_BUILD_TESTS=OFF -DSESSION_GATEWAY_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-fuzz -j "${JOBS:-$(nproc)}" --target fuzzers
fuzz/run_fuzzers.sh build-fuzz "$seconds"
