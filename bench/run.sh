#!/usr/bin/env bash
# Engine benchmarks on the 2.02M OANDA XAUUSD ticks (13 days, ../shared/data): import into the
# tape, processing (bars + strategy + paper fills + positions + digests, state committed), and
# replay of every day. Usage: bench/run.sh [BUILD_DIR] (default ./build, built by ops/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
td=$build/cli/tapedeck
bench=$build/bench/td_bench
data=../shared/data/ticks/lean-oanda-xauusd
[ -x "$td" ] && [ -x "$bench" ] || { echo "build first: ./ops/build.sh" >&2; exit 2; }
[ -d "$data" ] || { echo "needs ../shared/data (real ticks)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tapedeck-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
ticks=$(cat "$data"/*.csv | awk 'END {print NR}')
echo "tapedeck engine benchmark: $ticks ticks, $(nproc) cores, $(date -u +%Y-%m-%d)"
for sync in commit none; do
  rm -rf "$work/tape"
  cat > "$work/config.yaml" <<YAML
tape:
  sync: $sync
  batch_events: 4096
symbols:
  XAUUSD:
    digits: 3
    contract_size: 100
YAML
  T() { "$td" --data-dir "$work/tape" --config "$work/config.yaml" "$@"; }
  T params push --symbol XAUUSD --strategy breakout \
    --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
    --author bench --reason bench --at 2014-05-01T00:00:00 > /dev/null
  echo "-- tape.sync: $sync"
  "$bench" "import (13 files)" "$ticks" -- "$td" --data-dir "$work/tape" --config "$work/config.yaml" \
    import --format lean-ticks --symbol XAUUSD "$data"/*.csv
  inputs=$(T days --json | grep -o '"inputs":[0-9]*' | cut -d: -f2 | paste -sd+ | bc)
  "$bench" "process (committed)" "$inputs" -- "$td" --data-dir "$work/tape" --config "$work/config.yaml" process
  [ "$sync" = commit ] || continue
  # replay: the whole command once (td_bench: start-up and open included), then the replay loop's
  # own rate as `replay` reports it, best of three runs (the machine's other load only slows)
  for day in $(T days --json | grep -o '"day":[0-9]*' | cut -d: -f2); do
    n=$(T days --json | grep -o "\"day\":$day,[^}]*" | grep -o '"inputs":[0-9]*' | cut -d: -f2)
    "$bench" "replay $day" "$n" -- "$td" --data-dir "$work/tape" --config "$work/config.yaml" replay --date "$day"
    best=0
    for run in 1 2 3; do
      rate=$(T replay --date "$day" | sed -nE 's/.*, ([0-9]+) inputs\/s\)$/\1/p')
      [ "${rate:-0}" -gt "$best" ] && best=$rate
    done
    printf '%-28s %10s inputs           %12s inputs/s  (replay loop, best of 3)\n' "  replay loop $day" "$n" "$best"
  done
done
