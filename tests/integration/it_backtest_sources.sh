#!/usr/bin/env bash
# tapedeck backtest reads its bars from a file, the tape or the warehouse, and the source changes
# nothing in the results:
# 1. Dukascopy EURUSD H4 bars imported into the tape (history stream EURUSD@H4): --data tape gives
#    result, trade and equity files byte-identical to --data FILE.
# 2. Two Dukascopy EURUSD tick days processed into M1 bars (the processor host's Bar outputs):
#    --data tape reads them; after `migrate` and `sink --once`, --data warehouse reads the same bars
#    from PostgreSQL and gives byte-identical files again.
# 3. Bad input: --format with tape, --timeframe with a file, no bars for a symbol: exit 2.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
h4="$TD_SHARED_DATA/bars/dukascopy-eurusd-h4.csv"
grid="fast=5:15:5,slow=20:40:20,direction=both,volume=0.1"
bt() { # OUT_PREFIX DATA_DIR DATA [more options]: a backtest writing OUT_PREFIX.{csv,trades,equity}
  local out=$1 dir=$2 data=$3; shift 3
  td --data-dir "$dir" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$data" "$@" \
     --grid "$grid" --threads 2 --out "$out.csv" --trades-out "$out.trades" --equity-out "$out.equity" \
     > "$out.summary" 2> "$out.err" || { cat "$out.err" >&2; fail "backtest --data $data $* failed"; }
}
same() { # A B: the three result files are byte-identical
  for f in csv trades equity; do cmp "$1.$f" "$2.$f" || fail "$f of $1 and $2 differ"; done
}

# 1. the tape's bar history against the file
hist="$TD_WORK/hist"
td --data-dir "$hist" --config "$cfg" import --format dukascopy-bars --symbol EURUSD "$h4" > /dev/null
bt "$TD_WORK/file" "$hist" "$h4" --format dukascopy-bars
bt "$TD_WORK/tape" "$hist" tape
same "$TD_WORK/file" "$TD_WORK/tape"
grep -q "tape history stream EURUSD@H4" "$TD_WORK/tape.summary" || fail "summary: $(cat "$TD_WORK/tape.summary")"
[ "$(wc -l < "$TD_WORK/tape.trades")" -gt 100 ] || fail "too few trades from the tape"
pass "--data tape (history EURUSD@H4) = --data FILE: $(($(wc -l < "$TD_WORK/tape.csv") - 1)) sets, $(($(wc -l < "$TD_WORK/tape.trades") - 1)) trades, byte-identical"

# 2. bars the host built, on the tape and in the warehouse
printf 'bars:\n  timeframe: M1\n' >> "$cfg"
live="$TD_WORK/live"
td --data-dir "$live" --config "$cfg" params push --symbol EURUSD --strategy sma_cross \
   --set fast=5,slow=20,direction=both,volume=1,sl_points=0,tp_points=0 --author tests --reason sources \
   --at 2019-02-04T00:00:00 > /dev/null
td --data-dir "$live" --config "$cfg" import --format dukascopy-csv --symbol EURUSD --day-end last \
   "$TD_SHARED_DATA/ticks/dukascopy-eurusd-2019-02-04_05.csv" > /dev/null
td --data-dir "$live" --config "$cfg" process > /dev/null
bt "$TD_WORK/out" "$live" tape
grep -q "tape output stream EURUSD (M1 bars built from the ticks)" "$TD_WORK/out.summary" ||
  fail "summary: $(cat "$TD_WORK/out.summary")"
n_bars=$(td --data-dir "$live" dump --stream output --symbol EURUSD | grep -c '"kind":"bar"')
grep -q "$n_bars bars" "$TD_WORK/out.summary" || fail "the backtest did not read the $n_bars bars: $(cat "$TD_WORK/out.summary")"
pass "--data tape without a history: the $n_bars M1 bars the processor host built"

pg_start
td --data-dir "$live" --config "$cfg" migrate > /dev/null
td --data-dir "$live" --config "$cfg" sink --once > /dev/null
bt "$TD_WORK/wh" "$live" warehouse --timeframe M1
same "$TD_WORK/out" "$TD_WORK/wh"
grep -q "warehouse .*table bars, EURUSD M1" "$TD_WORK/wh.summary" || fail "summary: $(cat "$TD_WORK/wh.summary")"
pass "--data warehouse --timeframe M1 = --data tape: byte-identical results from PostgreSQL's bars"

# the results into the warehouse: one run, one row per set, equal to the CSV
bt "$TD_WORK/whrun" "$live" warehouse --timeframe M1 --warehouse
same "$TD_WORK/out" "$TD_WORK/whrun"
sets=$(($(wc -l < "$TD_WORK/whrun.csv") - 1))
grep -q "warehouse: backtest run [0-9]*, $sets result row(s)" "$TD_WORK/whrun.summary" ||
  fail "summary: $(cat "$TD_WORK/whrun.summary")"
[ "$(pg_sql "SELECT count(*) FROM backtest_runs WHERE finished_at IS NOT NULL AND param_sets = $sets AND symbol = 'EURUSD'")" -eq 1 ] ||
  fail "backtest_runs: $(pg_sql "SELECT * FROM backtest_runs")"
# trades and fast per set, in index order, from the CSV (columns index,fast,slow,direction,volume,trades,...)
awk -F, 'NR > 1 { print $1 "|" $2 "|" $6 }' "$TD_WORK/whrun.csv" > "$TD_WORK/want_rows.txt"
pg_sql "SELECT param_index || '|' || (params->>'fast') || '|' || trades FROM backtest_results ORDER BY param_index" \
  > "$TD_WORK/got_rows.txt"
diff "$TD_WORK/want_rows.txt" "$TD_WORK/got_rows.txt" || fail "backtest_results differ from the CSV (want < > got)"
# a run that fails half-way (its trade file cannot be written) leaves nothing behind
set +e
td --data-dir "$live" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data warehouse --timeframe M1 \
   --grid "$grid" --warehouse --out "$TD_WORK/fail.csv" --trades-out /dev/full > /dev/null 2> "$TD_WORK/fail.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a backtest writing to /dev/full succeeded"
[ "$(pg_sql "SELECT count(*) FROM backtest_runs")" -eq 1 ] && [ "$(pg_sql "SELECT count(*) FROM backtest_results")" -eq "$sets" ] ||
  fail "a failed run left rows in the warehouse"
pass "--warehouse: run + $sets result rows equal to the CSV; a failed run is rolled back (exit $rc)"

# 3. bad input
expect_exit 2 td --data-dir "$hist" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data tape \
  --format mt5-bars --grid "$grid"
expect_err "--format is for files"
expect_exit 2 td --data-dir "$hist" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$h4" \
  --format dukascopy-bars --timeframe M30 --grid "$grid"
expect_err "--timeframe is for --data tape or warehouse"
expect_exit 2 td --data-dir "$TD_WORK/empty" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD \
  --data tape --grid "$grid"
expect_err "no tape here"
expect_exit 2 td --data-dir "$hist" --config "$cfg" backtest --strategy sma_cross --symbol XAUUSD \
  --data tape --grid "$grid"
expect_err "has no bars of XAUUSD"
expect_exit 2 td --data-dir "$live" --config "$cfg" backtest --strategy sma_cross --symbol XAUUSD \
  --data warehouse --grid "$grid"
expect_err "no bars"
pass "bad sources: clear messages, exit 2"
