#!/usr/bin/env bash
# tapedeck backtest --convention: the switchable fill conventions (docs/BACKTEST.md). On real
# Dukascopy EURUSD H4 bars with stops and targets (breakout 50, sl_atr 3, tp_atr 6, long and
# short; this set has every kind of event the switches change):
#   - --convention tapedeck gives byte for byte the results, trades and equity of no option;
#   - each switch alone changes the trades; grademark = the three names; the result files are the
#     same on 1 and 2 threads and from run to run;
#   - the summary and the JSON report name the conventions; bad values exit 2 with one line.
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
file=$TD_SHARED_DATA/bars/dukascopy-eurusd-h4.csv

# run NAME ARGS...: the set's results, trades and equity into $TD_WORK/NAME.{csv,trades,equity}
run() {
  local name=$1; shift
  td --config "$cfg" backtest --strategy breakout --symbol EURUSD --data "$file" --format dukascopy-bars \
     --grid "lookback=50,sl_atr=3,tp_atr=6,direction=long|short,volume=1" --no-costs \
     --out "$TD_WORK/$name.csv" --trades-out "$TD_WORK/$name.trades" --equity-out "$TD_WORK/$name.equity" "$@" \
     > "$TD_WORK/$name.out" 2> "$TD_WORK/$name.err" || { cat "$TD_WORK/$name.err"; fail "backtest $name $*"; }
}
same() { # same A B: all three files equal
  local f
  for f in csv trades equity; do
    cmp -s "$TD_WORK/$1.$f" "$TD_WORK/$2.$f" || fail "$1 and $2: the $f files differ"
  done
}

run none --threads 2
run tapedeck --threads 2 --convention tapedeck
same none tapedeck
grep -qx "conventions: tapedeck" "$TD_WORK/none.out" || fail "the summary does not name the default conventions"
n=$(($(wc -l < "$TD_WORK/none.trades") - 1))
[ "$n" -gt 300 ] || fail "only $n trades"
pass "--convention tapedeck: results, $n trades and equity byte for byte those of no option"

for conv in no-decision-on-fill-bar no-stops-on-entry-bar gap-fills-at-level; do
  run "$conv" --threads 2 --convention "$conv"
  grep -qx "conventions: $conv" "$TD_WORK/$conv.out" || fail "the summary does not name $conv"
  ! cmp -s "$TD_WORK/none.trades" "$TD_WORK/$conv.trades" || fail "$conv changes no trade"
  k=$(comm -3 <(sort "$TD_WORK/none.trades") <(sort "$TD_WORK/$conv.trades") | wc -l)
  pass "$conv alone: $k trade lines differ from tapedeck's conventions"
done

run grademark --threads 2 --convention grademark
run list --threads 1 --convention gap-fills-at-level,no-decision-on-fill-bar,no-stops-on-entry-bar
same grademark list
run again --threads 2 --convention grademark
same grademark again
grep -qx "conventions: no-decision-on-fill-bar,no-stops-on-entry-bar,gap-fills-at-level" "$TD_WORK/grademark.out" ||
  fail "the summary does not name grademark's conventions: $(cat "$TD_WORK/grademark.out")"
pass "grademark = the three switches, the same files on 1 and 2 threads and run to run"

td --config "$cfg" backtest --strategy breakout --symbol EURUSD --data "$file" --format dukascopy-bars \
   --grid "lookback=50,volume=1" --no-costs --json --convention grademark > "$TD_WORK/report.json" 2> /dev/null ||
  fail "backtest --json"
grep -q '"rules":"no-decision-on-fill-bar,no-stops-on-entry-bar,gap-fills-at-level"' "$TD_WORK/report.json" ||
  fail "the JSON report does not name the conventions"
td --config "$cfg" backtest --strategy breakout --symbol EURUSD --data "$file" --format dukascopy-bars \
   --grid "lookback=50,volume=1" --no-costs --json > "$TD_WORK/report.json" 2> /dev/null || fail "backtest --json"
grep -q '"rules":"tapedeck"' "$TD_WORK/report.json" || fail "the JSON report does not name the default conventions"
pass "the JSON report names the conventions"

for bad in "" grademark, tapedeck,gap-fills-at-level gap-fills-at-level,gap-fills-at-level no-stops; do
  expect_exit 2 td --config "$cfg" backtest --strategy breakout --symbol EURUSD --data "$file" \
    --format dukascopy-bars --grid "lookback=50,volume=1" --convention "$bad"
  expect_err "--convention expects tapedeck, grademark or a comma-separated list of"
  [ "$(wc -l < "$TD_WORK/last.err")" -le 2 ] || fail "more than a short message for --convention '$bad'"
done
pass "bad --convention values exit 2 with one line: $(head -1 "$TD_WORK/last.err")"
td backtest --help | grep -q "gap-fills-at-level" || fail "--help does not explain --convention"
