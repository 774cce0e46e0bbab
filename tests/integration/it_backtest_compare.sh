#!/usr/bin/env bash
# tapedeck backtest against an established open-source backtester, trade for trade: grademark (npm,
# MIT, github.com/grademark/grademark), run by compare_grademark.js with the same conventions
# (signal at the bar's close, fill at the next bar's open, no costs) and the same rules of
# sma_cross and breakout (with max_hold, stops and targets), over real Dukascopy EURUSD and XAUUSD
# H4 bars, long and short. grademark and its dependencies are installed with `npm ci` from
# tests/integration/npm/package-lock.json (exact versions and hashes) into the build tree, kept
# between runs; without node/npm or the npm registry the test is skipped.
#
# grademark has three conventions of its own (docs/BACKTEST.md: it evaluates no rule on a bar on
# which it filled, it does not check stops on the entry bar, it fills a gap through a level at the
# level); tapedeck can switch to them (`backtest --convention grademark`). Every set is run both
# ways on tapedeck's side:
#   agree:     with --convention grademark, the two trade lists are equal line for line, for every
#              set and side (the point of the test);
# and with tapedeck's default conventions, where compare_grademark.js lists every event at which
# grademark's conventions would make a difference:
#   exact:     the set has no such event, and the two trade lists are equal line for line;
#   explained: the set has some; every trade that is not in both lists starts or ends after an
#              event that follows the last trade both agree on, and most trades (and each kind of
#              exit named) are in both lists, equal to the digit.
# A control set (sma_cross 10/40) has events and is shown to differ with the default conventions,
# so the comparison can fail; with grademark's it agrees.
. "$(dirname "$0")/lib.sh"
need_data
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "SKIP: node and npm not found (ops/setup.sh installs Debian's nodejs and npm when the machine has none)"
  exit 77
fi
here="$(dirname "$0")"
mods="$(dirname "$TD_WORK")/npm-compare"
if ! cmp -s "$here/npm/package-lock.json" "$mods/installed-lock.json"; then
  rm -rf "$mods"
  mkdir -p "$mods"
  cp "$here/npm/package.json" "$here/npm/package-lock.json" "$mods/"
  if ! timeout 300 npm ci --prefix "$mods" --no-audit --no-fund --loglevel=error > "$TD_WORK/npm.log" 2>&1; then
    echo "SKIP: npm ci could not install tests/integration/npm/package-lock.json (is the npm registry reachable?): $(tail -1 "$TD_WORK/npm.log")"
    exit 77
  fi
  cp "$here/npm/package-lock.json" "$mods/installed-lock.json"
fi
echo "  node $(node --version), grademark $(sed -n 's/.*"version": "\(.*\)".*/\1/p' "$mods/node_modules/grademark/package.json")"
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
js="$here/compare_grademark.js"

# compare FILE SYMBOL DIGITS STRATEGY PARAMS: both sides of one set, into $TD_WORK/{ours,gm}-SIDE.csv
# (gm-SIDE.csv without grademark's exit reasons, gm-SIDE.why with them) and gm-SIDE.err (its events);
# ours-SIDE.csv with tapedeck's conventions, ourgm-SIDE.csv with --convention grademark
compare() {
  local file=$TD_SHARED_DATA/bars/$1 sym=$2 digits=$3 strategy=$4 params=$5 conv
  for conv in tapedeck grademark; do
    td --config "$cfg" backtest --strategy "$strategy" --symbol "$sym" --data "$file" --format dukascopy-bars \
       --grid "$params,direction=long|short,volume=1" --no-costs --threads 1 --convention $conv \
       --trades-out "$TD_WORK/ours-$conv.csv" --out /dev/null > "$TD_WORK/td.out" 2> "$TD_WORK/td.err" ||
      { cat "$TD_WORK/td.err"; fail "tapedeck backtest $1 $strategy $params --convention $conv"; }
    grep -q "^conventions: $([ $conv = grademark ] && echo no-decision-on-fill-bar,no-stops-on-entry-bar,gap-fills-at-level || echo tapedeck)\$" "$TD_WORK/td.out" ||
      fail "the summary does not name the conventions $conv: $(cat "$TD_WORK/td.out")"
  done
  for side in long short; do
    local k=0; [ $side = short ] && k=1
    awk -F, -v k=$k 'NR > 1 && $1 == k { print $3 "," $4 "," $5 "," $6 "," $7 }' "$TD_WORK/ours-tapedeck.csv" > "$TD_WORK/ours-$side.csv"
    awk -F, -v k=$k 'NR > 1 && $1 == k { print $3 "," $4 "," $5 "," $6 "," $7 }' "$TD_WORK/ours-grademark.csv" > "$TD_WORK/ourgm-$side.csv"
    node "$js" "$mods/node_modules" "$file" "$digits" $side "$strategy" "$params" > "$TD_WORK/gm-$side.why" 2> "$TD_WORK/gm-$side.err" ||
      { cat "$TD_WORK/gm-$side.err"; fail "grademark run $1 $strategy $params $side"; }
    cut -d, -f1-5 "$TD_WORK/gm-$side.why" > "$TD_WORK/gm-$side.csv"
  done
}

events() { sed -n 's/^convention events: \([0-9]*\).*/\1/p' "$TD_WORK/gm-$1.err"; }

# agree LABEL MIN_TRADES: with --convention grademark, both sides' trade lists equal grademark's
# line for line (entry and exit time and price to the digit), at least MIN_TRADES trades each
agree() {
  local label=$1 min=$2 side
  for side in long short; do
    local n; n=$(wc -l < "$TD_WORK/ourgm-$side.csv")
    [ "$n" -ge "$min" ] || fail "$label $side (grademark's conventions): only $n trades"
    diff "$TD_WORK/ourgm-$side.csv" "$TD_WORK/gm-$side.csv" > "$TD_WORK/diff.txt" ||
      { head -20 "$TD_WORK/diff.txt"; fail "$label $side: with --convention grademark, tapedeck and grademark disagree"; }
    pass "$label $side, --convention grademark: $n trades equal to grademark's, line for line ($(cut -d, -f6 "$TD_WORK/gm-$side.why" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'); $(events $side) events where the conventions differ)"
  done
}

# exact LABEL MIN_TRADES SIDE...: no convention event, equal trade lists
exact() {
  local label=$1 min=$2; shift 2
  for side in "$@"; do
    [ "$(events $side)" = 0 ] || fail "$label $side: $(head -1 "$TD_WORK/gm-$side.err")"
    local n; n=$(wc -l < "$TD_WORK/ours-$side.csv")
    [ "$n" -ge "$min" ] || fail "$label $side: only $n trades"
    diff "$TD_WORK/ours-$side.csv" "$TD_WORK/gm-$side.csv" > "$TD_WORK/diff.txt" ||
      { head -20 "$TD_WORK/diff.txt"; fail "$label $side: tapedeck and grademark disagree"; }
    pass "$label $side: $n trades, entry and exit time and price equal to grademark's ($(cut -d, -f6 "$TD_WORK/gm-$side.why" | sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }'))"
  done
}

# explained LABEL MIN_PERCENT REASON...: every difference follows a convention event; at least
# MIN_PERCENT of each side's trades agree, among them at least one exit of each REASON
explained() {
  local label=$1 pct=$2; shift 2
  for side in long short; do
    local ev; ev=$(events $side)
    [ "$ev" -gt 0 ] || fail "$label $side: expected convention events (else use exact)"
    sed -n 's/^event \([^ ]*\) .*/\1/p' "$TD_WORK/gm-$side.err" > "$TD_WORK/events.txt"
    # a trade in one list only is explained when an event lies between the exit of the last
    # trade before it that both lists hold and its own exit (times in ISO form compare as text)
    local out
    out=$(awk -F, '
      FILENAME == ARGV[1] { ev[++ne] = $1; next }
      FILENAME == ARGV[2] { ours[++no] = $0; in_ours[$0] = 1; next }
      { gm[++ng] = $0; in_gm[$0] = 1 }
      function check(list, n, other, name,    i, last, f, j, ok, bad) {
        last = ""; bad = 0
        for (i = 1; i <= n; i++) {
          if (list[i] in other) { split(list[i], f, ","); last = f[4]; matched[name]++; continue }
          split(list[i], f, ",")
          ok = 0
          for (j = 1; j <= ne && !ok; j++) ok = ev[j] >= last && ev[j] <= f[4]
          if (!ok) { print "unexplained " name ": " list[i]; bad++ }
        }
        return bad
      }
      END {
        bad = check(ours, no, in_gm, "tapedeck") + check(gm, ng, in_ours, "grademark")
        printf "%d %d %d %d\n", bad, matched["tapedeck"], no, ng
      }' "$TD_WORK/events.txt" "$TD_WORK/ours-$side.csv" "$TD_WORK/gm-$side.csv")
    local summary; summary=$(echo "$out" | tail -1)
    set -- $summary "$@"
    local bad=$1 same=$2 n_ours=$3 n_gm=$4; shift 4
    [ "$bad" = 0 ] || { echo "$out" | head -10; fail "$label $side: $bad trades differ with no convention event before them"; }
    [ $((same * 100)) -ge $((pct * n_ours)) ] && [ $((same * 100)) -ge $((pct * n_gm)) ] ||
      fail "$label $side: only $same of $n_ours / $n_gm trades agree"
    local reason
    for reason in "$@"; do
      local k
      k=$(awk -F, -v r="$reason" 'FILENAME == ARGV[1] { ours[$0] = 1; next }
            $6 == r && ($1 "," $2 "," $3 "," $4 "," $5) in ours { k++ } END { print k + 0 }' \
            "$TD_WORK/ours-$side.csv" "$TD_WORK/gm-$side.why")
      [ "$k" -gt 0 ] || fail "$label $side: no trade that both agree on ends by $reason"
    done
    pass "$label $side: $same of $n_ours / $n_gm trades equal; the $((n_ours - same)) / $((n_gm - same)) others each follow one of $ev convention events ($(sed -n 's/^convention events: [0-9]* (\(.*\))/\1/p' "$TD_WORK/gm-$side.err"))"
  done
}

# sma_cross (no stops): exact
compare dukascopy-eurusd-h4.csv EURUSD 5 sma_cross fast=40,slow=160
agree "EURUSD H4 sma_cross 40/160" 50
exact "EURUSD H4 sma_cross 40/160" 50 long short
compare dukascopy-xauusd-h4.csv XAUUSD 3 sma_cross fast=50,slow=200
agree "XAUUSD H4 sma_cross 50/200" 50
exact "XAUUSD H4 sma_cross 50/200" 50 long short

# breakout without stops or max_hold: exact
compare dukascopy-eurusd-h4.csv EURUSD 5 breakout lookback=50
agree "EURUSD H4 breakout 50" 100
exact "EURUSD H4 breakout 50" 100 long short
compare dukascopy-xauusd-h4.csv XAUUSD 3 breakout lookback=60
agree "XAUUSD H4 breakout 60" 100
exact "XAUUSD H4 breakout 60" 100 long short
# a stop loss (sl_atr) with no entry-bar touch or gap in this set's long trades: exact
compare dukascopy-eurusd-h4.csv EURUSD 5 breakout lookback=100,sl_atr=3
agree "EURUSD H4 breakout 100 sl_atr 3" 50
exact "EURUSD H4 breakout 100 sl_atr 3" 50 long
[ "$(grep -c ',stop_loss$' "$TD_WORK/gm-long.why")" -gt 20 ] || fail "EURUSD H4 breakout 100 sl_atr 3: too few stop exits"
# entries limited to a session and weekdays (on the UTC clock), with the ATR's readiness: exact
compare dukascopy-eurusd-h4.csv EURUSD 5 breakout lookback=30,session_start=08:00,session_end=16:00,weekdays=1234
agree "EURUSD H4 breakout 30 session 08:00-16:00 Mon-Thu" 100
exact "EURUSD H4 breakout 30 session 08:00-16:00 Mon-Thu" 100 long short
compare dukascopy-xauusd-h4.csv XAUUSD 3 breakout lookback=40,atr_n=10,sl_atr=5,session_start=12:00,session_end=20:00,weekdays=12345
agree "XAUUSD H4 breakout 40 atr_n 10 sl_atr 5 session 12:00-20:00 Mon-Fri" 100
exact "XAUUSD H4 breakout 40 atr_n 10 sl_atr 5 session 12:00-20:00 Mon-Fri" 100 long short

# breakout with stops, targets and max_hold: equal with grademark's conventions, explained with
# tapedeck's; each kind of event occurs in these sets (checked), so each switch is exercised
compare dukascopy-eurusd-h4.csv EURUSD 5 breakout lookback=50,sl_atr=3,tp_atr=6
agree "EURUSD H4 breakout 50 sl_atr 3 tp_atr 6" 150
explained "EURUSD H4 breakout 50 sl_atr 3 tp_atr 6" 60 stop_loss take_profit signal
for side in long short; do
  grep -q "entry-bar levels [1-9]" "$TD_WORK/gm-$side.err" && grep -q "gaps through a level [1-9]" "$TD_WORK/gm-$side.err" ||
    fail "EURUSD H4 breakout 50 sl_atr 3 tp_atr 6 $side: expected entry-bar levels and gaps: $(head -1 "$TD_WORK/gm-$side.err")"
done
compare dukascopy-eurusd-h4.csv EURUSD 5 breakout lookback=50,max_hold=30
agree "EURUSD H4 breakout 50 max_hold 30" 150
explained "EURUSD H4 breakout 50 max_hold 30" 80 max_hold signal
compare dukascopy-xauusd-h4.csv XAUUSD 3 breakout lookback=50,atr_n=20,sl_atr=4,tp_atr=8,max_hold=60
agree "XAUUSD H4 breakout 50 atr_n 20 sl_atr 4 tp_atr 8 max_hold 60" 150
explained "XAUUSD H4 breakout 50 atr_n 20 sl_atr 4 tp_atr 8 max_hold 60" 60 stop_loss take_profit max_hold

# the control: EURUSD 10/40 has crosses on fill bars, which grademark does not see: the lists differ
# with tapedeck's conventions and are equal with grademark's
compare dukascopy-eurusd-h4.csv EURUSD 5 sma_cross fast=10,slow=40
! diff -q "$TD_WORK/ours-long.csv" "$TD_WORK/gm-long.csv" > /dev/null || fail "the control set should differ"
explained "control: EURUSD H4 sma_cross 10/40" 50
agree "control: EURUSD H4 sma_cross 10/40" 300
