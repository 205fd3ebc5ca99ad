#!/usr/bin/env bash
# `buf breaking` (FILE rules, buf.yaml) of the protos in the work tree
# against those of $BREAKING_BASELINE (a git revision). Both sides are built
# into images with the same workspace, so google/api resolves the same way.
#
#   BREAKING_BASELINE=<rev> scripts/buf-breaking.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BREAKING_BASELINE:?set BREAKING_BASELINE to a git revision}"
buf=$PWD/.tools/node_modules/.bin/buf
work=$(mktemp -d)
cleanup() { git worktree remove --force "$work/base" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
git worktree add -q --detach "$work/base" "$BREAKING_BASELINE"
ln -s "$PWD/.tools" "$work/base/.tools"
(cd "$work/base" && "$buf" build -o "$work/baseline.binpb")
"$buf" build -o "$work/current.binpb"
"$buf" breaking "$work/current.binpb" --against "$work/baseline.binpb"
echo "buf breaking: no breaking change against $BREAKING_BASELINE"
