#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds twice (RelWithDebInfo with -Werror, then
# Debug with ASan+UBSan) and runs every CTest test (unit and integration) in both builds, then
# runs the coverage-guided libFuzzer targets (Clang) for a bounded time (tests/fuzz/libfuzzer.sh),
# and last builds the way a user does (a stock Release build, default options: no -Werror) and
# runs its unit tests. Exit 0 only when every test passes, every build succeeds and no fuzzer
# found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

./ops/setup.sh
jobs=$(nproc)

# build DIR CMAKE_ARGS...: configure and build into DIR, showing only the errors on failure.
build() {
  local dir=$1; shift
  mkdir -p "$dir"
  cmake -S . -B "$dir" "$@" > "$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
  if ! cmake --build "$dir" -j "$jobs" > "$dir/build.log" 2>&1; then
    grep -E 'error|warning|Error' "$dir/build.log" | head -60
    return 1
  fi
}

# run_build DIR CMAKE_ARGS...: a -Werror build into DIR, then every CTest test in it.
run_build() {
  local dir=$1; shift
  build "$dir" -DTD_WERROR=ON "$@"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
}

echo "== build and test: RelWithDebInfo, -Werror"
run_build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== build and test: Debug, ASan + UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_build build-asan -DCMAKE_BUILD_TYPE=Debug -DTD_SANITIZE=ON
echo "== fuzz: libFuzzer (Clang, ASan+UBSan), bounded time per parser"
./tests/fuzz/libfuzzer.sh build-fuzz
echo "== build as a user does: Release, default options (no -Werror), then the unit tests"
build build-release -DCMAKE_BUILD_TYPE=Release
(cd build-release && ctest --output-on-failure -j "$jobs" --timeout 900 -R '^unit_')
echo "test: all suites passed in both builds, the fuzzers found nothing, and the Release build passed its unit tests"
