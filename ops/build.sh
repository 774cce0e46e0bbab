#!/usr/bin/env bash
# Builds tapedeck into ./build (RelWithDebInfo, warnings are errors) after installing what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
./ops/setup.sh > /dev/null
mkdir -p build
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTD_WERROR=ON > build/configure.log 2>&1 || { cat build/configure.log; exit 1; }
cmake --build build -j "$(nproc)" > build/build.log 2>&1 || { grep -E 'error|warning' build/build.log | head -40; exit 1; }
