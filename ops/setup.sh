#!/usr/bin/env bash
# Installs every Debian package tapedeck needs to build, test and run. Idempotent: packages already
# present are not touched, and apt-get runs only when something is missing.
set -euo pipefail

# clang with its runtime libraries (libclang-rt-14-dev: libFuzzer and the sanitizers for Clang,
# only a recommendation of clang, so --no-install-recommends leaves it out) builds the fuzz targets.
PACKAGES=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  librdkafka-dev librocksdb-dev libpq-dev
  libprotobuf-c-dev protobuf-c-compiler
  libev-dev libcmocka-dev
  libssl-dev libyaml-dev liblzma-dev
  postgresql
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the trade-for-trade comparison with an open-source backtester
# (tests/integration/it_backtest_compare.sh installs grademark with `npm ci` from
# tests/integration/npm/package-lock.json into the build tree).
# Debian's packages when the machine has none; a node already on PATH is used as it is.
command -v node > /dev/null 2>&1 || missing+=(nodejs)
command -v npm > /dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
