#!/usr/bin/env bash
# replay --against backtest: the recorded day against the fill model over the same ticks.
# 1. Paper broker (the host's own fill model): two OANDA XAUUSD days; the model must reproduce every
#    trade and fill exactly (consistent, exit 0, equal P&L). With --slippage-points 30 the model pays
#    30 points more on every fill: every matched fill and trade leg differs by exactly -30 points
#    (live better), and --max-slippage-points 10 turns the verdict to diverged (exit 1).
# 2. External broker: `tapedeck run` + `tapedeck feed --fast` over 2014-05-06; the EA's fills are
#    left out and the model makes its own: the counts are coherent (matched + missing = model
#    trades, matched + extra = live trades), the skipped reports are the EA's, the exit code follows
#    the verdict.
. "$(dirname "$0")/lib.sh"
need_data
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }
day1="$LEAN_XAU/20140506_xauusd_tick_quote.csv"
day2="$LEAN_XAU/20140507_xauusd_tick_quote.csv"
[ -f "$day1" ] && [ -f "$day2" ] || { echo "SKIP: the 2014-05-06/07 XAUUSD files are not in $LEAN_XAU"; exit 77; }

cfg="$TD_WORK/config.yaml"
write_config "$cfg"
push_params() {
  td --data-dir "$1" --config "$cfg" params push --symbol XAUUSD --strategy breakout \
     --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
     --author tests --reason it_against --at 2014-05-01T00:00:00 > /dev/null
}

# ---- 1. paper
paper="$TD_WORK/paper"
push_params "$paper"
td --data-dir "$paper" --config "$cfg" import --format lean-ticks --symbol XAUUSD "$day1" "$day2" > /dev/null
td --data-dir "$paper" --config "$cfg" process > /dev/null
for d in 2014-05-06 2014-05-07; do
  expect_exit 0 td --data-dir "$paper" --config "$cfg" replay --date "$d" --against backtest --json
  r="$TD_WORK/last.out"
  jq -e '.against == "backtest" and .verdict == "consistent"' "$r" > /dev/null || fail "$d: $(cat "$r")"
  jq -e '.results[0] | .live_broker == "paper" and .trades_live >= 1 and .trades_live == .trades_model
         and .matched == .trades_live and .missing == 0 and .extra == 0 and .pnl_live == .pnl_model
         and .fills_matched == .fills_live and .fills_live == .fills_model and .slippage_points.max == 0
         and .slippage_points.min == 0 and .execution_reports_skipped == 0' "$r" > /dev/null ||
    fail "$d: the model does not reproduce the paper broker: $(cat "$r")"
  jq -e '[.results[0].trades[] | .live == .model and .entry_delay_ms == 0 and .exit_delay_ms == 0] | all' "$r" \
    > /dev/null || fail "$d: a matched trade differs from the model's"
  pass "$d paper: $(jq -r '.results[0] | "\(.trades_live) trade(s), \(.fills_live) fill(s)"' "$r") reproduced exactly"

  expect_exit 0 td --data-dir "$paper" --config "$cfg" replay --date "$d" --against backtest --slippage-points 30 --json
  jq -e '.verdict == "consistent" and (.results[0] | .slippage_points.min == -30 and .slippage_points.max == -30
         and .pnl_model < .pnl_live and .missing == 0 and .extra == 0)' "$r" > /dev/null ||
    fail "$d: with 30 points of model slippage: $(cat "$r")"
  jq -e '[.results[0].trades[] | .entry_diff_points == -30 and .exit_diff_points == -30] | all' "$r" > /dev/null ||
    fail "$d: a trade leg does not differ by exactly 30 points"
  expect_exit 1 td --data-dir "$paper" --config "$cfg" replay --date "$d" --against backtest --slippage-points 30 \
    --max-slippage-points 10
  grep -q "against backtest: DIVERGED" "$TD_WORK/last.out" || fail "$d: no DIVERGED line: $(cat "$TD_WORK/last.out")"
  pass "$d paper, model slippage 30 points: every fill and leg -30 points; --max-slippage-points 10 exits 1"
done

# bad usage
expect_exit 2 td --data-dir "$paper" --config "$cfg" replay --date 2014-05-06 --against model
expect_err "--against expects live or backtest"
expect_exit 2 td --data-dir "$paper" --config "$cfg" replay --date 2014-05-06 --against backtest --tolerance-ms -5
expect_err "--tolerance-ms expects milliseconds"
pass "bad --against and --tolerance-ms are usage errors (exit 2)"

# ---- 2. external broker: run + feed
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done; }
trap cleanup EXIT
printf 'gateway:\n  token: it-s3cret\n  account: "1001"\nbroker:\n  mode: external\nrouter:\n  max_age_ms: 10000\n' >> "$cfg"
live="$TD_WORK/live"
push_params "$live"
start_service "$TD_WORK/run.out" "$TD_WORK/run.err" --data-dir "$live" --config "$cfg" \
  --set gateway.listen=127.0.0.1:0 run
RUN=$SVC
set +e
timeout 300 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --account 1001 \
   --fast --linger-s 2 --format lean-ticks --symbol XAUUSD "$day1" > "$TD_WORK/feed.out" 2> "$TD_WORK/feed.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$TD_WORK/feed.err" >&2; fail "feed exited $rc"; }
kill -TERM "$RUN"
wait "$RUN" || { cat "$TD_WORK/run.err" >&2; fail "tapedeck run did not stop cleanly"; }

set +e
td --data-dir "$live" --config "$cfg" replay --date 2014-05-06 --against backtest --json > "$TD_WORK/ext.json" \
   2> "$TD_WORK/ext.err"
rc=$?
set -e
r="$TD_WORK/ext.json"
[ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || { cat "$TD_WORK/ext.err" >&2; fail "replay --against backtest exited $rc"; }
verdict=$(jq -r .verdict "$r")
{ [ "$rc" -eq 0 ] && [ "$verdict" = consistent ]; } || { [ "$rc" -eq 1 ] && [ "$verdict" = diverged ]; } ||
  fail "exit $rc with verdict $verdict"
n_exec=$(td --data-dir "$live" dump --symbol XAUUSD | jq -s '[.[] | select(.kind == "execution_report")] | length')
jq -e --argjson n "$n_exec" '.results[0] | .live_broker == "external" and .execution_reports_skipped == $n and $n >= 1
       and .matched + .missing == .trades_model and .matched + .extra == .trades_live and .trades_model >= 1
       and .fills_live >= 1 and .fills_matched <= .fills_live and (.trades | length) == .matched + .missing + .extra' \
  "$r" > /dev/null || fail "external: incoherent comparison: $(cat "$r")"
pass "external broker (run + feed --fast): $(jq -r '.results[0] | "\(.trades_live) live / \(.trades_model) model trade(s), \(.matched) matched, \(.fills_matched) fill(s) by intent, slippage mean \(.slippage_points.mean) pt"' "$r"); verdict $verdict (exit $rc)"
td --data-dir "$live" --config "$cfg" replay --date 2014-05-06 --against backtest | sed 's/^/  /'
