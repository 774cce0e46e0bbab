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
grep -qF "$(sed -n 3p "$TD_WORK/reference.md")" "$TD_SOURCE_DIR/docs/CONFIG.md" || fail "docs/CONFIG.md is out of date: regenerate it with tapedeck config --reference"
td config --example > "$TD_WORK/example.yaml"
expect_exit 0 td --config "$TD_WORK/example.yaml" config --check
pass "config reference and example"

# the demo: a synthetic day through the engine, replayed equal, twice the same digests
expect_exit 0 td --data-dir "$TD_WORK/demo1" demo
grep -q "equal" "$TD_WORK/last.out" || fail "demo did not replay equal"
grep -q "DIFFERS" "$TD_WORK/last.out" && fail "demo replay differs"
d1=$(ls -d "$TD_WORK"/demo1/demo-*)
expect_exit 0 td --data-dir "$TD_WORK/demo2" demo
d2=$(ls -d "$TD_WORK"/demo2/demo-*)
td --data-dir "$d1" days --json > "$TD_WORK/days1.json"
td --data-dir "$d2" days --json > "$TD_WORK/days2.json"
cmp "$TD_WORK/days1.json" "$TD_WORK/days2.json" || fail "two demo runs gave different day digests"
expect_exit 0 td --data-dir "$d1" replay --date 2024-01-02 --json
grep -q '"verdict":"equal"' "$TD_WORK/last.out" || fail "replay --json verdict"
pass "demo runs, replays equal, and is deterministic"
