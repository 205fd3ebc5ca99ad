#!/usr/bin/env bash
# Quickstart: installs what is missing, builds the gateway and starts it on
# the built-in sandbox upstream (no account, no real payment service), then
# prints a call to paste into another terminal. Ctrl-C stops it.
#
#   scripts/run.sh                    # gRPC on 127.0.0.1:50051
#   LISTEN=127.0.0.1:6000 scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

BUILD_DIR=${BUILD_DIR:-build}
LISTEN=${LISTEN:-127.0.0.1:50051}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target session-gateway session-convert session-sandbox

cat <<EOT

session-gateway is starting on $LISTEN in SANDBOX mode. In another terminal:

  $PWD/.tools/node_modules/.bin/buf curl --http2-prior-knowledge --protocol grpc \\
    -d '{"payment_service_definition_id":"mock-card","request_body":{"amount":1299}}' \\
    http://$LISTEN/gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession

  grpcurl -plaintext -d '{"payment_service_definition_id":"mock-card"}' \\
    $LISTEN gr4vy.sessions.v1.SessionService/CreatePaymentServiceDefinitionSession

EOT
exec "$BUILD_DIR/src/gateway/session-gateway" --listen="$LISTEN"
