#!/usr/bin/env bash
# Retention of raw tape events (compact.retain_raw_days) on the Dukascopy EURUSD days 2019-02-04 and -05:
#   - a day without a seal keeps its events; once sealed, compact of 2019-02-05 with retain_raw_days 1
#     retires 2019-02-04 (its raw events leave RocksDB; the newest day, -05, keeps its own);
#   - afterwards every reader gives the same answer as before: dump of both streams (same offsets,
#     same bytes), replay --date (same digests, exit 0), audit at several instants, replay --against
#     backtest, backtest --data tape, the day list;
#   - the reads really come from the sealed file: moved away, replay of -04 fails naming it; one
#     altered byte is refused with exit 1 naming the file and the failed check;
#   - compact twice (with retention) changes nothing: tables, sealed files, tape contents.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
dir="$TD_WORK/tape"
tdc() { td --data-dir "$dir" --config "$cfg" "$@"; }
import_duka_eurusd "$dir" "$cfg" retention
tdc process > /dev/null
pg_start
td migrate > /dev/null
tdc sink --once > /dev/null

instants=(2019-02-04T00:30:00 2019-02-04T09:15:00 2019-02-04T15:59:59 2019-02-04T23:59:00 2019-02-05T11:00:00)
# everything a reader of the tape can say about the two days, into folder $1
observe() {
  local o=$1
  mkdir -p "$o"
  td --data-dir "$dir" dump --stream input > "$o/input.jsonl"
  td --data-dir "$dir" dump --stream output > "$o/output.jsonl"
  tdc days > "$o/days.txt"
  for d in 2019-02-04 2019-02-05; do
    tdc replay --date "$d" --json > "$o/replay-$d.json" || fail "replay --date $d failed: $(cat "$o/replay-$d.json")"
    tdc replay --date "$d" --against backtest > "$o/against-$d.txt" || fail "replay --date $d --against backtest failed"
  done
  for t in "${instants[@]}"; do
    tdc audit --symbol EURUSD --at "$t" --last 5 --json > "$o/audit-$t.json" || fail "audit at $t failed"
  done
  tdc backtest --strategy sma_cross --symbol EURUSD --data tape --grid fast=5,slow=20,direction=both,volume=1 \
     --json > "$o/backtest.json" 2> "$o/backtest.err" || fail "backtest --data tape failed: $(cat "$o/backtest.err")"
}
observe "$TD_WORK/before"
[ "$(wc -l < "$TD_WORK/before/input.jsonl")" -gt 100000 ] || fail "too few input events to be a test"
grep -q '"verdict":"equal"' "$TD_WORK/before/replay-2019-02-04.json" || fail "replay of 2019-02-04 not equal before retention"

# 1. retention of a day that is not sealed yet: nothing happens
expect_exit 0 tdc --set compact.retain_raw_days=1 compact --date 2019-02-05
grep -q "retired now, 0 already; 1 unsealed" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "an unsealed day was retired"; }
td --data-dir "$dir" dump --stream input | cmp -s - "$TD_WORK/before/input.jsonl" || fail "the tape changed"
pass "retention leaves a day without a seal alone"

# 2. the default keeps everything
expect_exit 0 tdc compact --date 2019-02-04
grep -q "compact.retain_raw_days is 0, the tape keeps every raw event" "$TD_WORK/last.out" ||
  { cat "$TD_WORK/last.out"; fail "no retention line with the default"; }

# 3. 2019-02-04 sealed: retained now
du_before=$(du -sk "$dir/tape" | cut -f1)
expect_exit 0 tdc --set compact.retain_raw_days=1 compact --date 2019-02-05
cat "$TD_WORK/last.out"
grep -q "raw events of 1 sealed day(s) before 20190205 retired now (20190204..20190204)" "$TD_WORK/last.out" ||
  fail "2019-02-04 was not retired"
grep -q "1 day(s) of raw events retired" "$TD_WORK/last.out" || fail "the summary does not count the retired day"
du_after=$(du -sk "$dir/tape" | cut -f1)
echo "tape folder: ${du_before} KiB before, ${du_after} KiB after retiring 2019-02-04 (not asserted)"

observe "$TD_WORK/after"
for f in input.jsonl output.jsonl days.txt backtest.json replay-2019-02-04.json replay-2019-02-05.json \
         against-2019-02-04.txt against-2019-02-05.txt; do
  # the backtest's JSON carries its own run time: compare it without
  if [ "$f" = backtest.json ]; then
    a=$(sed 's/"[a-z_]*seconds":[0-9.e+-]*//g; s/"elapsed[a-z_]*":[0-9.e+-]*//g' "$TD_WORK/before/$f")
    b=$(sed 's/"[a-z_]*seconds":[0-9.e+-]*//g; s/"elapsed[a-z_]*":[0-9.e+-]*//g' "$TD_WORK/after/$f")
    [ "$a" = "$b" ] || fail "backtest --data tape differs after retention"
  else
    cmp -s "$TD_WORK/before/$f" "$TD_WORK/after/$f" || { diff "$TD_WORK/before/$f" "$TD_WORK/after/$f" | head -5; fail "$f differs after retention"; }
  fi
done
for t in "${instants[@]}"; do
  cmp -s "$TD_WORK/before/audit-$t.json" "$TD_WORK/after/audit-$t.json" || fail "audit at $t differs after retention"
done
pass "after retention: dump (same offsets, same bytes), replay digests, replay --against backtest, audit at ${#instants[@]} instants, backtest --data tape and the day list are unchanged"

# 4. the reads of 2019-02-04 come from its sealed file now
f="$dir/sealed/EURUSD/20190204.tdseal"
mv "$f" "$TD_WORK/moved.tdseal"
expect_exit 1 tdc replay --date 2019-02-04
expect_err "$f is missing"
expect_exit 0 tdc replay --date 2019-02-05
mv "$TD_WORK/moved.tdseal" "$f"
pass "the raw events of 2019-02-04 are gone from RocksDB: without its sealed file its replay fails, naming it; 2019-02-05 replays"

# 5. one altered byte in the sealed file is refused (exit 1, the file and the failed check named)
cp "$f" "$TD_WORK/sealed.orig"
chmod u+w "$f"
printf '\x5a' | dd of="$f" bs=1 seek=3000 conv=notrunc status=none
cmp -s "$f" "$TD_WORK/sealed.orig" && printf '\xa5' | dd of="$f" bs=1 seek=3000 conv=notrunc status=none
expect_exit 1 tdc replay --date 2019-02-04
expect_err "$f: damaged"
expect_exit 1 tdc audit --symbol EURUSD --at 2019-02-04T12:00:00
expect_err "$f: damaged"
expect_exit 1 tdc compact --date 2019-02-04
expect_err "damaged"
td --data-dir "$dir" dump --stream input > /dev/null 2> "$TD_WORK/last.err" && fail "dump of a damaged retired day exited 0"
expect_err "$f: damaged"
expect_exit 0 tdc replay --date 2019-02-05
cp "$TD_WORK/sealed.orig" "$f"
expect_exit 0 tdc replay --date 2019-02-04
pass "a sealed file altered by one byte is refused (exit 1 naming it) by replay, audit, compact and dump"

# 6. compact twice changes nothing (with retention on)
snapshot() {
  pg_sql "SELECT md5(string_agg(b::text, '|' ORDER BY symbol, timeframe_s, open_time)) FROM bars b"
  pg_sql "SELECT md5(string_agg(p::text, '|' ORDER BY symbol, trading_day)) FROM perf_daily p"
  pg_sql "SELECT md5(string_agg(s::text, '|' ORDER BY symbol, trading_day)) FROM sealed_days s"
  sha256sum "$dir"/sealed/EURUSD/*.tdseal
  td --data-dir "$dir" dump --stream input | sha256sum
  td --data-dir "$dir" dump --stream output | sha256sum
}
snapshot > "$TD_WORK/snap1"
for d in 2019-02-04 2019-02-05; do
  expect_exit 0 tdc --set compact.retain_raw_days=1 compact --date "$d"
  grep -q "already done" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "a second compact $d did something"; }
done
grep -q "retired now, 1 already" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "the retired day is not reported as already retired"; }
snapshot > "$TD_WORK/snap2"
cmp "$TD_WORK/snap1" "$TD_WORK/snap2" || fail "a second compact changed the warehouse, the sealed files or the tape"
pass "compact twice with retention: identical tables, sealed files and tape contents"
