#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and builds a separate
# consumer project against it with find_package(SessionGateway CONFIG).
# Usage: consumer_test.sh BUILD_DIR SOURCE_DIR [SANITIZERS]
# SANITIZERS (e.g. address,undefined) must match the installed libraries'.
set -euo pipefail
build_dir=$1
source_dir=$2
sanitize=${3:-}
extra=()
if [[ -n "$sanitize" ]]; then
  extra=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/session-gateway"
test -x "$work/prefix/bin/session-convert"
test -f "$work/prefix/share/session_gateway/proto/gr4vy/sessions/v1/session.proto"
cmake -S "$source_dir/tests/consumer" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${extra[@]}" >/dev/null
cmake --build "$work/build" >/dev/null
out=$("$work/build/consumer")
expected='{"type":"payment-service-session","status":"succeeded","status_code":201,"response_body":{"sessionId":"12345"}}'
if [[ "$out" != "$expected" ]]; then
  echo "consumer printed: $out"
  exit 1
fi
echo "consumer project built against the installed package and printed the document unchanged"
