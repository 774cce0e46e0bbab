#!/usr/bin/env bash
# The command-line contract: --help everywhere, exit 2 with one clear line on bad usage, the demo.
. "$(dirname "$0")/lib.sh"

for cmd in import process replay audit days bars dump params config demo backtest run feed compact; do
  expect_exit 0 td "$cmd" --help
  grep -q "usage: tapedeck" "$TD_WORK/last.out" || fail "$cmd --help prints no usage"
done
expect_exit 0 td --help
pass "--help of every command"

expect_exit 2 td frobnicate
expect_err "unknown command 'frobnicate'"
expect_exit 2 td replay
expect_err "--date expects YYYY-MM-DD"
expect_exit 2 td replay --date 2019-02-30
expect_exit 2 td import --symbol EURUSD x.csv
expect_err "--format expects one of"
expect_exit 2 td --set tape.sync=sometimes days
expect_err "tape.sync: expected one of none|commit"
printf 'tape:\n  batch_evnts: 5\n' > "$TD_WORK/bad.yaml"
expect_exit 2 td --config "$TD_WORK/bad.yaml" config --check
expect_err "bad.yaml:2: tape.batch_evnts: unknown key"
pass "usage errors exit 2 naming the problem"

# the configuration reference in the docs is the one the key table prints
td config --reference > "$TD_WORK/reference.md"
while IFS= read -r row; do
  grep -qxF -- "$row" "$TD_SOURCE_DIR/docs/CONFIG.md" || fail "docs/CONFIG.md is out of date (no row '$row'): regenerate it with tapedeck config --reference"
done < "$TD_WORK/reference.md"
td config --example > "$TD_WORK/example.yaml"
expect_exit 0 td --config "$TD_WORK/example.yaml" config --check
pass "config reference and example"

# the demo: a synthetic day through the live pipeline (run + feed as child processes), replayed
# equal by the replay command it prints; twice the same day digests (the feed runs in step with the
# bars, so fills land at the same place); no child left running
expect_exit 0 td --data-dir "$TD_WORK/demo1" demo
cp "$TD_WORK/last.out" "$TD_WORK/demo1.out"
cat "$TD_WORK/demo1.out"
grep -q "SYNTHETIC" "$TD_WORK/demo1.out" || fail "demo output does not say the day is synthetic"
[ "$(grep -c ': equal - ' "$TD_WORK/demo1.out")" -eq 3 ] || fail "demo: replay not equal for each of the 3 symbols"
grep -q "DIFFERS\|diverged" "$TD_WORK/demo1.out" && fail "demo replay differs"
grep -q "service stopped with SIGTERM" "$TD_WORK/demo1.out" || fail "demo did not stop the service"
grep -qE "tick-to-order latency over [1-9][0-9]* order" "$TD_WORK/demo1.out" || fail "demo: no order latency"
grep -qE "paper broker: [1-9][0-9]* order\(s\) received" "$TD_WORK/demo1.out" || fail "demo: no orders reached the feed"
grep -q "at most 1 execution(s) per intent id" "$TD_WORK/demo1.out" || fail "demo: an intent executed twice"
# all 48 M30 bars of each symbol closed: the last one only by the midnight HEARTBEAT's Clock event
for sym in EURUSD XAUUSD US500; do
  awk -v s="$sym" '$1 == s && $4 >= 1 && $5 == 48 { ok = 1 } END { exit !ok }' "$TD_WORK/demo1.out" \
    || fail "demo: $sym lacks Clock events or 48 bars"
done
pid=$(sed -n 's/.*, pid \([0-9]*\)$/\1/p' "$TD_WORK/demo1.out")
[ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null || fail "demo left the service (pid $pid) running"
d1=$(ls -d "$TD_WORK"/demo1/demo-*)
expect_exit 0 td --data-dir "$TD_WORK/demo2" demo
d2=$(ls -d "$TD_WORK"/demo2/demo-*)
td --data-dir "$d1" days --json > "$TD_WORK/days1.json"
td --data-dir "$d2" days --json > "$TD_WORK/days2.json"
grep -q 2024 "$TD_WORK/days1.json" || fail "demo: no day on the tape"
cmp "$TD_WORK/days1.json" "$TD_WORK/days2.json" || fail "two demo runs gave different day digests"
expect_exit 0 td --data-dir "$d1" --config "$d1/demo.yaml" replay --date 2024-01-02 --json
grep -q '"verdict":"equal"' "$TD_WORK/last.out" || fail "replay --json verdict"
expect_exit 2 td --data-dir "$TD_WORK/demo3" demo --ticks
expect_err "--ticks expects --format F and tick FILEs"
expect_exit 2 td --data-dir "$TD_WORK/demo3" demo --ticks --format lean-ticks no-symbol.csv
expect_err "'no-symbol.csv' names no symbol"
# real ticks of two symbols, each file naming its symbol: merged, both traded, each day replayed equal
if [ -d "$TD_SHARED_DATA" ]; then
  T=$TD_SHARED_DATA/ticks
  expect_exit 0 td --data-dir "$TD_WORK/demo4" demo --ticks --format lean-ticks \
    EURUSD="$T/lean-oanda-eurusd/20140505_eurusd_tick_quote.csv" XAUUSD="$T/lean-oanda-xauusd/20140505_xauusd_tick_quote.csv"
  cp "$TD_WORK/last.out" "$TD_WORK/demo4.out"
  grep -q "ticks of EURUSD XAUUSD from 2 file(s)" "$TD_WORK/demo4.out" || fail "demo --ticks: not both symbols"
  for sym in EURUSD XAUUSD; do
    grep -q "replay 2014-05-05 $sym: equal" "$TD_WORK/demo4.out" || fail "demo --ticks: $sym not replayed equal"
    awk -v s="$sym" '$1 == s && $5 > 40 && $6 >= 1 { ok = 1 } END { exit !ok }' "$TD_WORK/demo4.out" \
      || fail "demo --ticks: $sym lacks bars or orders"
  done
  grep -q "at most 1 execution(s) per intent id" "$TD_WORK/demo4.out" || fail "demo --ticks: an intent executed twice"
else
  echo "SKIP (part): real market data not found at $TD_SHARED_DATA; demo --ticks with two symbols not run"
fi
pass "demo runs the live pipeline, replays equal, and is deterministic"
