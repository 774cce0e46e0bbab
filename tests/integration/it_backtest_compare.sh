#!/usr/bin/env bash
# tapedeck backtest against an established open-source backtester, trade for trade: grademark (npm,
# MIT, github.com/grademark/grademark), run by compare_grademark.js with the same conventions
# (signal at the bar's close, fill at the next bar's open, no costs) and the same sma_cross rules,
# over real Dukascopy EURUSD and XAUUSD H4 bars, long and short. grademark is installed with npm into
# the build tree (kept between runs); without node/npm or the npm registry the test is skipped.
# grademark evaluates no rule on a bar at whose open it fills: the sets compared have no cross on
# such a bar (the script counts them and the test asserts 0), and a set that has some is shown to
# differ exactly there - the comparison can fail.
. "$(dirname "$0")/lib.sh"
need_data
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "SKIP: node and npm not found (ops/setup.sh installs Debian's nodejs and npm when the machine has none)"
  exit 77
fi
mods="$(dirname "$TD_WORK")/npm-grademark"
if [ ! -f "$mods/node_modules/grademark/package.json" ] || [ ! -f "$mods/node_modules/chai/package.json" ]; then
  mkdir -p "$mods"
  if ! timeout 240 npm install --prefix "$mods" --no-audit --no-fund --no-save --loglevel=error \
       grademark@0.3.0 data-forge@1.10.5 chai@4.2.0 > "$TD_WORK/npm.log" 2>&1; then
    echo "SKIP: npm could not install grademark@0.3.0 (is the npm registry reachable?): $(tail -1 "$TD_WORK/npm.log")"
    exit 77
  fi
fi
echo "  node $(node --version), grademark $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$mods/node_modules/grademark/package.json")"
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
js="$(dirname "$0")/compare_grademark.js"

# compare FILE SYMBOL DIGITS FAST SLOW: writes $TD_WORK/{ours,gm}-SIDE.csv and the fill-bar crosses
compare() {
  local file=$TD_SHARED_DATA/bars/$1 sym=$2 digits=$3 fast=$4 slow=$5
  td --config "$cfg" backtest --strategy sma_cross --symbol "$sym" --data "$file" --format dukascopy-bars \
     --grid "fast=$fast,slow=$slow,direction=long|short,volume=1" --no-costs --threads 1 \
     --trades-out "$TD_WORK/ours.csv" --out /dev/null > /dev/null 2>&1 || fail "tapedeck backtest $1"
  for side in long short; do
    local k=0; [ $side = short ] && k=1
    awk -F, -v k=$k 'NR > 1 && $1 == k { print $3 "," $4 "," $5 "," $6 "," $7 }' "$TD_WORK/ours.csv" > "$TD_WORK/ours-$side.csv"
    node "$js" "$mods/node_modules" "$file" "$digits" "$fast" "$slow" $side > "$TD_WORK/gm-$side.csv" 2> "$TD_WORK/gm-$side.err" ||
      { cat "$TD_WORK/gm-$side.err"; fail "grademark run $1 $side"; }
  done
}

for c in "dukascopy-eurusd-h4.csv EURUSD 5 40 160" "dukascopy-xauusd-h4.csv XAUUSD 3 50 200"; do
  set -- $c
  compare "$@"
  for side in long short; do
    grep -q "^fill-bar crosses: 0$" "$TD_WORK/gm-$side.err" || fail "$2 $4/$5 $side: $(cat "$TD_WORK/gm-$side.err")"
    n=$(wc -l < "$TD_WORK/ours-$side.csv")
    [ "$n" -gt 50 ] || fail "$2 $4/$5 $side: only $n trades"
    diff "$TD_WORK/ours-$side.csv" "$TD_WORK/gm-$side.csv" > "$TD_WORK/diff.txt" ||
      { head -20 "$TD_WORK/diff.txt"; fail "$2 $4/$5 $side: tapedeck and grademark disagree"; }
    pass "$2 H4 sma_cross $4/$5 $side: $n trades, entry and exit time and price equal to grademark's"
  done
done

# the control: EURUSD 10/40 has crosses on fill bars, which grademark does not see
compare dukascopy-eurusd-h4.csv EURUSD 5 10 40
missed=$(sed -n 's/^fill-bar crosses: //p' "$TD_WORK/gm-long.err")
[ "$missed" -gt 0 ] || fail "the control set should have crosses on fill bars"
! diff -q "$TD_WORK/ours-long.csv" "$TD_WORK/gm-long.csv" > /dev/null || fail "the control set should differ"
pass "control: EURUSD 10/40 has $missed crosses on fill bars, which grademark skips: the trade lists differ, as they must"
