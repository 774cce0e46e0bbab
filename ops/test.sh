#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds twice (plain -Werror, then ASan+UBSan) and
# runs every CTest test in both builds. Exit 0 only when every test of both builds passes.
set -euo pipefail
cd "$(dirname "$0")/.."

./ops/setup.sh
jobs=$(nproc)

run_build() {
  local dir=$1; shift
  cmake -S . -B "$dir" -DTD_WERROR=ON "$@" > "$dir.configure.log" 2>&1 || { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j "$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
  test "${PIPESTATUS[0]}" -eq 0
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600)
}

mkdir -p build build-asan
echo "== build: RelWithDebInfo, -Werror"
run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build: ASan + UBSan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_build build-asan -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=ON
echo "test: all suites passed"
