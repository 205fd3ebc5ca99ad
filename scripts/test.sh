#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, checks the protos
# with buf, then runs every test with CTest (its summary is the last line).
#
#   scripts/test.sh            # Release-ish build in build/
#   BUILD_DIR=out scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
buf=.tools/node_modules/.bin/buf
# The last revision whose protos callers may have compiled against: a
# change that breaks them (FILE rules) fails here. Advance it deliberately.
export BREAKING_BASELINE=${BREAKING_BASELINE:-e9dcc33be4190fe06480c90b5c5e1a567b393ae0}

echo "== buf lint"
"$buf" lint
echo "== buf format"
"$buf" format proto --diff --exit-code
echo "== buf breaking (against $BREAKING_BASELINE)"
scripts/buf-breaking.sh

echo "== build ($BUILD_DIR)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSESSION_GATEWAY_WERROR=ON -DSESSION_GATEWAY_BUF="$PWD/$buf" >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

echo "== tests"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 300
