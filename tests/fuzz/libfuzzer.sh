#!/usr/bin/env bash
# libfuzzer.sh BUILD_DIR - builds the coverage-guided libFuzzer targets with Clang into BUILD_DIR
# and runs each for a bounded time (seconds per target below, scaled by FUZZ_SECONDS_SCALE), seeded
# with the committed corpus and the drivers' generated seeds. Exit 0 when no target found a crash,
# a leak, a timeout or an out-of-memory; otherwise 1, with the reproducing input left in
# BUILD_DIR/tests/fuzz/findings-<name>/ (replay it with either binary: ./fuzz_<name> FILE).
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
build=${1:?usage: libfuzzer.sh BUILD_DIR}
scale=${FUZZ_SECONDS_SCALE:-1}
command -v clang > /dev/null || { echo "libfuzzer: clang not installed (ops/setup.sh installs it)" >&2; exit 1; }

mkdir -p "$build"
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DTD_WERROR=ON > "$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" --target fuzz_libfuzzer fuzz_codec fuzz_import fuzz_config fuzz_protocol fuzz_gridfile \
  > "$build/build.log" 2>&1 || { grep -E 'error|warning' "$build/build.log" | head -40; exit 1; }

cd "$build/tests/fuzz"
status=0
# name seconds max_len: the EA's line protocol gets the most time (it faces the network)
for target in "protocol 40 4200" "codec 15 4096" "import 15 4096" "config 10 4096" "gridfile 10 4096"; do
  read -r name seconds max_len <<< "$target"
  seconds=$((seconds * scale))
  work="work-$name"; findings="findings-$name"
  rm -rf "$work" "$findings"; mkdir -p "$work" "$findings"
  ./fuzz_"$name" --write-seeds "$work" > /dev/null
  if ./fuzz_"$name"_libfuzzer -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$findings/" -print_final_stats=1 "$work" "$src/tests/fuzz/corpus/$name" \
       > "libfuzzer-$name.log" 2>&1; then
    echo "libfuzzer: $name: no crash in ${seconds}s ($(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "libfuzzer-$name.log" | grep -o '[0-9]*$') inputs)"
  else
    status=1
    echo "libfuzzer: $name FAILED; the last lines of its log ($PWD/libfuzzer-$name.log):" >&2
    tail -40 "libfuzzer-$name.log" >&2
    ls "$findings" >&2
  fi
done
exit "$status"
