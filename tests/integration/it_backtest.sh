#!/usr/bin/env bash
# tapedeck backtest on real bars: a grid over Dukascopy EURUSD H4 (2007-2023) and OANDA XAUUSD H1;
# byte-identical result, trade and equity files with 1 and 2 threads; one JSON document; an MT5
# bar file with its spread column; bad input (a grid with no combinations, fast >= slow only, an
# unknown symbol, a daily bar inside an M30 file) exits 2 with a clear message. Prints the
# measured bar-steps/s (not asserted).
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
h4="$TD_SHARED_DATA/bars/dukascopy-eurusd-h4.csv"
xau="$TD_SHARED_DATA/bars/lean-oanda-xauusd-h1.csv"
grid="fast=5:25:5,slow=20:60:20,direction=both|long,volume=0.1"

td backtest --help | grep -q "bar-steps\|--grid SPEC" || fail "backtest --help"
pass "backtest --help"

# determinism: 1 and 2 threads, every output byte-identical
for n in 1 2; do
  td --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$h4" --format dukascopy-bars \
     --grid "$grid" --spread 2 --commission 3.5 --threads $n --out "$TD_WORK/r$n.csv" \
     --trades-out "$TD_WORK/t$n.csv" --equity-out "$TD_WORK/e$n.csv" > "$TD_WORK/summary$n.txt"
done
for f in r t e; do
  cmp "$TD_WORK/${f}1.csv" "$TD_WORK/${f}2.csv" || fail "$f file differs between --threads 1 and --threads 2"
done
rows=$(($(wc -l < "$TD_WORK/r1.csv") - 1))
# 5 fast x 3 slow x 2 directions = 30; fast=20|25 with slow=20 refused in both directions
[ "$rows" -eq 26 ] || fail "expected 26 result rows, found $rows"
grep -q "30 combinations of .*: 26 evaluated, 4 refused by the strategy (first: sma_cross: parameter 'fast' (20) must be less than 'slow' (20))" \
  "$TD_WORK/summary1.txt" || { cat "$TD_WORK/summary1.txt"; fail "summary lacks the refusals"; }
grep -q "25847 bars" "$TD_WORK/summary1.txt" || fail "summary lacks the bar count"
grep -q "weekends" "$TD_WORK/summary1.txt" || fail "summary lacks the gap report"
grep -q "best by Sharpe:" "$TD_WORK/summary1.txt" || fail "summary lacks the best sets"
head -1 "$TD_WORK/r1.csv" | grep -q "^index,fast,slow,direction,volume,trades,win_rate,net_pnl,profit_factor,expectancy,sharpe,sortino,max_drawdown,calmar,exposure" ||
  fail "results header"
[ "$(wc -l < "$TD_WORK/t1.csv")" -gt 1000 ] || fail "too few trades"
pass "EURUSD H4 grid: $rows sets, results/trades/equity byte-identical with 1 and 2 threads"
echo "  $(grep 'bar-steps/s' "$TD_WORK/summary2.txt")"

# one JSON document on stdout, nothing else
td --config "$cfg" backtest --strategy breakout --symbol XAUUSD --data "$xau" --format lean-bars \
   --grid "lookback=20:60:20,sl_atr=0|2,tp_atr=3,volume=0.1" --json > "$TD_WORK/b.json" 2> "$TD_WORK/b.err"
if command -v python3 > /dev/null; then
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["results"]) == 6 and d["evaluated"] == 6 and len(d["best_by_sharpe"]) == 5, d' \
    "$TD_WORK/b.json" || fail "backtest --json is not the expected JSON document"
fi
grep -q '"pnl_by_month":\[' "$TD_WORK/b.json" || fail "JSON lacks the P&L by month"
echo "  XAUUSD H1 breakout: $(grep 'bar-steps/s' "$TD_WORK/b.err")"
pass "XAUUSD H1 breakout --json: one document"

# MT5 Export Bars with a spread column (points x 10^-digits)
mt5="$TD_WORK/eurusd-m30.csv"
{
  printf '<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n'
  awk 'BEGIN { p = 1.10000; for (i = 0; i < 200; i++) { t = i * 30; h = int(t / 60); m = t % 60;
       d = 2 + int(h / 24); h = h % 24; o = p; p = p + 0.0004 * sin(i / 7.0); c = p;
       hi = (o > c ? o : c) + 0.0002; lo = (o < c ? o : c) - 0.0002;
       printf "2024.01.%02d\t%02d:%02d:00\t%.5f\t%.5f\t%.5f\t%.5f\t100\t0\t12\r\n", d, h, m, o, hi, lo, c } }'
} > "$mt5"
td --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$mt5" --format mt5-bars \
   --grid "fast=2:4:1,slow=8,volume=1" --trades-out "$TD_WORK/mt5-trades.csv" > "$TD_WORK/mt5.csv" 2> "$TD_WORK/mt5.err"
[ "$(($(wc -l < "$TD_WORK/mt5.csv") - 1))" -eq 3 ] || fail "MT5 bars: expected 3 rows"
grep -q "200 bars" "$TD_WORK/mt5.err" || fail "MT5 bars: summary"
pass "MT5 Export Bars file with a spread column"

# bad input: exit 2, one clear line
run_bad() { expect_exit 2 td --config "$cfg" backtest --strategy sma_cross --data "$h4" --format dukascopy-bars "$@"; }
run_bad --symbol EURUSD --grid "fast=50:20:5,slow=100,volume=0.1"
expect_err "empty range (LO > HI): the grid has no combinations"
run_bad --symbol EURUSD --grid "fast=50:60:10,slow=20:50:10,volume=0.1"
expect_err "sma_cross refuses all 8 combinations of the grid"
expect_err "must be less than 'slow'"
run_bad --symbol GBPUSD --grid "fast=5,slow=20,volume=0.1"
expect_err "unknown symbol 'GBPUSD': the config has no symbols.GBPUSD section"
run_bad --symbol EURUSD --grid "fast=5,slow=20,volume=0.1" --format ticks-please
expect_err "--format expects a bar format"
# a daily bar inside an M30 file
daily="$TD_WORK/m30-with-daily.csv"
{
  printf '<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n'
  for t in 00:00 00:30 01:00 01:30 02:00 02:30; do printf '2024.01.02\t%s:00\t1.10000\t1.10100\t1.09900\t1.10050\t100\t0\t10\r\n' $t; done
  printf '2024.01.03\t00:00:00\t1.10000\t1.10500\t1.09500\t1.10200\t4800\t0\t10\r\n'
  for t in 00:00 00:30 01:00; do printf '2024.01.03\t%s:00\t1.10000\t1.10100\t1.09900\t1.10050\t100\t0\t10\r\n' $t; done
} > "$daily"
expect_exit 2 td --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$daily" --format mt5-bars \
  --grid "fast=2,slow=3,volume=0.1"
expect_err "m30-with-daily.csv:9:"
pass "bad input exits 2: no combinations, fast >= slow only, unknown symbol, bad format, a daily bar in an M30 file"
