#!/usr/bin/env bash
# Installs what building and testing session-gateway needs on Debian 12:
# the Debian packages (only those missing, so a ready machine stays
# offline) and buf from the npm registry into .tools/ (not on the PATH).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libssl-dev openssl libcpp-httplib-dev rapidjson-dev libsimdjson-dev
  golang-github-gogo-googleapis-dev grpc-proto
  clang-14 libclang-rt-14-dev nghttp2-client nginx
  python3 python3-jsonschema python3-cryptography
  prometheus-cpp-dev python3-prometheus-client python3-yaml
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node.js may come from elsewhere than Debian (it does on our CI image);
# only a machine without npm at all gets Debian's.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# buf (lint, format, curl) comes from npm: pinned, project-local.
# buf resolves google/api/*.proto through this link (see buf.yaml).
mkdir -p .tools
ln -sfn /usr/share/gocode/src/github.com/gogo/googleapis .tools/googleapis

BUF_VERSION=1.75.0
if [[ ! -x .tools/node_modules/.bin/buf ]] || \
   [[ $(.tools/node_modules/.bin/buf --version 2>/dev/null) != "$BUF_VERSION" ]]; then
  echo "install-deps: installing buf $BUF_VERSION from npm"
  mkdir -p .tools
  npm install --silent --no-save --no-audit --no-fund --prefix .tools "@bufbuild/buf@$BUF_VERSION" >/dev/null
fi
