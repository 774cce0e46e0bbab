#!/usr/bin/env bash
# tapedeck backtest reads its bars from a file, the tape or the warehouse, and the source changes
# nothing in the results:
# 1. Dukascopy EURUSD H4 bars imported into the tape (history stream EURUSD@H4): --data tape gives
#    result, trade and equity files byte-identical to --data FILE.
# 2. Two Dukascopy EURUSD tick days processed into M1 bars (the processor host's Bar outputs):
#    --data tape reads them; after `migrate` and `sink --once`, --data warehouse reads the same bars
#    from PostgreSQL and gives byte-identical files again. --warehouse stores the run and its sets;
#    with the H4 file, also the DSR, PBO and walk-forward, equal to the run's own report.
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
import_duka_eurusd "$live" "$cfg" sources
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
# the run's conventions (migration 0010) are the JSON report's; another --convention is told apart
bt "$TD_WORK/whconv" "$live" warehouse --timeframe M1 --convention grademark --json
jq -Sc '.. | objects | select(has("conventions")) | .conventions' "$TD_WORK/whconv.summary" | head -1 \
  > "$TD_WORK/want_conv.json"
pg_sql "SELECT conventions FROM backtest_runs WHERE symbol = 'EURUSD'" | jq -Sc . > "$TD_WORK/got_conv.json"
jq -e '.rules == "tapedeck" and .signal == "bar close"' "$TD_WORK/got_conv.json" > /dev/null ||
  fail "backtest_runs.conventions: $(cat "$TD_WORK/got_conv.json")"
jq -c '.rules = "tapedeck"' "$TD_WORK/want_conv.json" | cmp -s - "$TD_WORK/got_conv.json" ||
  fail "backtest_runs.conventions $(cat "$TD_WORK/got_conv.json") is not the report's $(cat "$TD_WORK/want_conv.json")"
grep -q '"rules":"no-decision-on-fill-bar' "$TD_WORK/want_conv.json" ||
  fail "the grademark report's conventions: $(cat "$TD_WORK/want_conv.json")"
# trades and fast per set, in index order, from the CSV (columns index,fast,slow,direction,volume,trades,...)
awk -F, 'NR > 1 { print $1 "|" $2 "|" $6 }' "$TD_WORK/whrun.csv" > "$TD_WORK/want_rows.txt"
pg_sql "SELECT param_index || '|' || (params->>'fast') || '|' || trades FROM backtest_results ORDER BY param_index" \
  > "$TD_WORK/got_rows.txt"
diff "$TD_WORK/want_rows.txt" "$TD_WORK/got_rows.txt" || fail "backtest_results differ from the CSV (want < > got)"
# and the figures of migration 0009, to the CSV's 12 digits: win_rate, profit_factor, expectancy,
# exposure, annual_volatility, final_equity (CSV columns 7, 9, 10, 15, 17, 18)
awk -F, 'NR > 1 { print $1 "|" $7 "|" $9 "|" $10 "|" $15 "|" $17 "|" $18 }' "$TD_WORK/whrun.csv" > "$TD_WORK/want_more.txt"
pg_sql "SELECT param_index || '|' || coalesce(win_rate::text, 'nan') || '|' ||
               coalesce(replace(profit_factor::text, 'Infinity', 'inf'), 'nan') || '|' ||
               (expectancy_e8::numeric / 1e8)::text || '|' || coalesce(exposure::text, 'nan') || '|' ||
               coalesce(annual_volatility::text, 'nan') || '|' || (final_equity_e8::numeric / 1e8)::text
        FROM backtest_results ORDER BY param_index" > "$TD_WORK/got_more.txt"
paste -d'#' "$TD_WORK/want_more.txt" "$TD_WORK/got_more.txt" | awk -F'#' '
  function same(a, b) {
    if (a !~ /^-?[0-9]/ || b !~ /^-?[0-9]/) return a == b
    d = a - b; if (d < 0) d = -d; m = (a < 0 ? -a : a); if (m < 1) m = 1
    return d <= 1e-10 * m
  }
  { n = split($1, w, "|"); split($2, g, "|"); rows++
    for (k = 1; k <= n; k++) if (!same(w[k], g[k])) { print "row " NR " field " k ": csv " w[k] ", warehouse " g[k]; bad++ } }
  END { exit (bad > 0 || rows == 0) }' || fail "backtest_results' win rate, profit factor, expectancy, exposure differ from the CSV"
[ "$(pg_sql "SELECT count(*) FROM backtest_results WHERE trades > 0 AND (win_rate IS NULL OR exposure IS NULL)")" -eq 0 ] ||
  fail "backtest_results: a set with trades lacks its win rate or exposure"
# a run that fails half-way (its trade file cannot be written) leaves nothing behind
set +e
td --data-dir "$live" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data warehouse --timeframe M1 \
   --grid "$grid" --warehouse --out "$TD_WORK/fail.csv" --trades-out /dev/full > /dev/null 2> "$TD_WORK/fail.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a backtest writing to /dev/full succeeded"
[ "$(pg_sql "SELECT count(*) FROM backtest_runs")" -eq 1 ] && [ "$(pg_sql "SELECT count(*) FROM backtest_results")" -eq "$sets" ] &&
  [ "$(pg_sql "SELECT count(*) FROM backtest_validation")" -eq 1 ] || fail "a failed run left rows in the warehouse"
pass "--warehouse: run (its conventions the JSON report's) + $sets result rows equal to the CSV (trades, win rate, profit factor, expectancy, exposure, volatility, final equity); a failed run is rolled back (exit $rc)"

# the validation into the warehouse: a grid over the H4 file with DSR, PBO and walk-forward.
#    The stored rows equal what the same run's JSON document and CSV files report: integers and
#    money exactly, doubles to the 12 significant digits the report prints (the warehouse keeps
#    17: the computed bits); the one recomputed figure - the deflated Sharpe annualised from the
#    per-day one - to 1e-12 relative of the best set's Sharpe. A re-run is a new run with equal
#    rows; a run failing in its walk-forward stores nothing.
vrun() { # OUT_PREFIX [more options]
  local out=$1; shift
  td --data-dir "$live" --config "$cfg" backtest --strategy sma_cross --symbol EURUSD --data "$h4" \
     --format dukascopy-bars --grid "fast=5:20:5,slow=60:120:60,volume=0.1" --spread 2 --threads 2 --pbo-blocks 6 \
     --walk-forward 24m:6m --warehouse --json --out "$out.csv" --summary-out "$out.sum" --wf-out "$out.wf" "$@" \
     > "$out.json" 2> "$out.err"
}
vrun "$TD_WORK/v1" || { cat "$TD_WORK/v1.err" >&2; fail "backtest --warehouse --walk-forward failed"; }
grep -q "warehouse: backtest run [0-9]*, 8 result row(s) in backtest_results, DSR and PBO in backtest_validation, walk-forward in backtest_walkforward and 29 row(s) in backtest_wf_windows" "$TD_WORK/v1.err" ||
  fail "summary: $(cat "$TD_WORK/v1.err")"
id1=$(pg_sql "SELECT max(run_id) FROM backtest_runs")
# the stored rows of a run as one JSON document, without the run id
wh_json() { # RUN_ID
  pg_sql "SELECT json_build_object(
    'results', (SELECT json_agg(to_jsonb(r) - 'run_id' ORDER BY param_index) FROM backtest_results r WHERE run_id = $1),
    'validation', (SELECT to_jsonb(v) - 'run_id' FROM backtest_validation v WHERE run_id = $1),
    'walkforward', (SELECT to_jsonb(w) - 'run_id' FROM backtest_walkforward w WHERE run_id = $1),
    'windows', (SELECT json_agg(json_build_object('w', to_jsonb(x) - 'run_id', 'is_from', to_char(is_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
       'oos_from', to_char(oos_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
       'oos_last_bar', to_char(oos_last_bar AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) ORDER BY window_no)
       FROM backtest_wf_windows x WHERE run_id = $1),
    'run', (SELECT row_to_json(u) FROM (SELECT symbol, strategy, param_sets, finished_at IS NOT NULL AS finished
       FROM backtest_runs WHERE run_id = $1) u))"
}
wh_json "$id1" > "$TD_WORK/v1.wh.json"
python3 - "$TD_WORK/v1" <<'PY' || fail "the stored validation differs from the report (see above)"
import csv, json, math, sys
from decimal import Decimal
pre = sys.argv[1]
rep = json.load(open(pre + ".json"), parse_float=Decimal)
wh = json.load(open(pre + ".wh.json"), parse_float=Decimal)
summ = next(csv.DictReader(open(pre + ".sum")))
wfcsv = list(csv.DictReader(open(pre + ".wf")))
bad = []
def dbl(what, stored, reported):
    """a stored double against a report figure printed with %.12g (JSON null / CSV nan = SQL NULL)"""
    if reported is None or str(reported) in ("nan", "inf", "-inf"):
        ok = stored is None
    else:
        ok = stored is not None and "%.12g" % float(stored) == "%.12g" % float(reported)
    if not ok:
        bad.append("%s: stored %r, reported %r" % (what, stored, reported))
def same(what, stored, reported):
    if stored != reported:
        bad.append("%s: stored %r, reported %r" % (what, stored, reported))
def money(what, stored_e8, reported):
    same(what, Decimal(stored_e8), Decimal(str(reported)) * 100000000)

same("run", wh["run"], {"symbol": "EURUSD", "strategy": "sma_cross", "param_sets": 8, "finished": True})
# every set: the P&L by exit month and weekday
same("results", len(wh["results"]), len(rep["results"]))
for got, want in zip(wh["results"], rep["results"]):
    same("param_index", got["param_index"], want["index"])
    same("params %d" % want["index"], got["params"], want["params"])
    same("trades %d" % want["index"], got["trades"], want["trades"])
    money("net_pnl %d" % want["index"], got["net_pnl_e8"], want["net_pnl"])
    dbl("sharpe %d" % want["index"], got["sharpe"], want["sharpe"])
    same("months %d" % want["index"], len(got["pnl_by_month_e8"]), 12)
    same("weekdays %d" % want["index"], len(got["pnl_by_weekday_e8"]), 7)
    for k in range(12):
        money("pnl_by_month[%d] of %d" % (k, want["index"]), got["pnl_by_month_e8"][k], want["pnl_by_month"][k])
    for k in range(7):
        money("pnl_by_weekday[%d] of %d" % (k, want["index"]), got["pnl_by_weekday_e8"][k], want["pnl_by_weekday"][k])
# DSR and PBO
v, rv = wh["validation"], rep["validation"]
same("symbol", v["symbol"], "EURUSD")
for col, key in [("trials", "trials"), ("best_index", "best_index"), ("observations", "observations")]:
    same(col, v[col], rv[key])
for col, key in [("dsr", "dsr"), ("psr", "psr"), ("sharpe_per_day", "sharpe_per_day"),
                 ("sharpe_variance_per_day", "sharpe_variance_per_day"), ("expected_max_sharpe", "expected_max_sharpe"),
                 ("expected_max_sharpe_per_day", "expected_max_sharpe_per_day"), ("skewness", "skewness"),
                 ("kurtosis", "kurtosis")]:
    dbl(col, v[col], rv[key])
dbl("dsr (summary CSV)", v["dsr"], summ["dsr"])
dbl("expected_max_sharpe (summary CSV)", v["expected_max_sharpe"], summ["expected_max_sharpe"])
best = rep["best_by_sharpe"][0]
same("best set", v["best_index"], best["index"])
if v["sharpe"] is None or abs(float(v["sharpe"]) - float(best["sharpe"])) > 1e-12 * abs(float(best["sharpe"])):
    bad.append("sharpe: stored %r, best set %s" % (v["sharpe"], best["sharpe"]))
p = rv["pbo"]
if p is None:
    bad.append("the report has no PBO: %s" % rv["pbo_skipped"])
else:
    dbl("pbo", v["pbo"], p["value"])
    dbl("pbo (summary CSV)", v["pbo"], summ["pbo"])
    for col, key in [("pbo_blocks", "blocks"), ("pbo_block_days", "block_days"), ("pbo_dropped_days", "dropped_days"),
                     ("pbo_combinations", "combinations"), ("pbo_overfit", "overfit")]:
        same(col, v[col], p[key])
    for col in ["mean", "sd", "min", "q1", "median", "q3", "max"]:
        dbl("pbo_logit_" + col, v["pbo_logit_" + col], p["logit_" + col])
    if not (v["pbo_logit_min"] <= v["pbo_logit_q1"] <= v["pbo_logit_median"] <= v["pbo_logit_q3"] <= v["pbo_logit_max"]):
        bad.append("the logit quantiles are not in order: %r" % v)
    dbl("pbo_prob_oos_loss", v["pbo_prob_oos_loss"], p["prob_oos_loss"])
    same("pbo_skipped", v["pbo_skipped"], None)
# walk-forward: the concatenated out-of-sample result
w, rw = wh["walkforward"], rep["walk_forward"]
oos = rw["oos"]
same("wf spec", (w["spec"], w["metric"]), (rw["spec"], rw["metric"]))
for col, key in [("windows", "windows"), ("chosen_windows", "chosen_windows"), ("oos_days", "days"),
                 ("oos_trades", "trades"), ("oos_wins", "wins")]:
    same(col, w[col], oos[key])
money("oos_net_pnl", w["oos_net_pnl_e8"], oos["net_pnl"])
for col in ["win_rate", "profit_factor", "sharpe", "sortino", "max_drawdown", "annual_return"]:
    dbl("oos_" + col, w["oos_" + col], oos[col])
dbl("oos_final_wealth", w["oos_final_wealth"], oos["final_wealth"])
same("wf_windows (summary CSV)", str(w["windows"]), summ["wf_windows"])
same("wf_oos_trades (summary CSV)", str(w["oos_trades"]), summ["wf_oos_trades"])
money("wf_oos_net_pnl (summary CSV)", w["oos_net_pnl_e8"], summ["wf_oos_net_pnl"])
dbl("wf_oos_sharpe (summary CSV)", w["oos_sharpe"], summ["wf_oos_sharpe"])
dbl("wf_oos_max_drawdown (summary CSV)", w["oos_max_drawdown"], summ["wf_oos_max_drawdown"])
# every window against the JSON windows and the --wf-out rows
same("windows", (len(wh["windows"]), len(rw["windows"])), (len(wfcsv), len(wfcsv)))
for got, want, row in zip(wh["windows"], rw["windows"], wfcsv):
    x, n = got["w"], want["window"]
    same("window_no", x["window_no"], n)
    same("window %d dates" % n, (got["is_from"], got["oos_from"], got["oos_last_bar"]),
         (row["is_from"], row["oos_from"], row["oos_last_bar"]))
    same("window %d is_evaluated" % n, x["is_evaluated"], want["is_evaluated"])
    chosen = want["chosen"]
    same("window %d chosen" % n, (x["chosen_index"], x["chosen_params"]),
         (chosen["index"], chosen["params"]) if chosen else (None, None))
    same("window %d chosen_index (CSV)" % n, "" if x["chosen_index"] is None else str(x["chosen_index"]),
         row["chosen_index"])
    dbl("window %d is_metric" % n, x["is_metric"], row["is_metric"])
    same("window %d oos" % n, (x["oos_days"], x["oos_trades"], x["oos_wins"]),
         (want["oos_days"], want["trades"], want["wins"]))
    money("window %d oos_net_pnl" % n, x["oos_net_pnl_e8"], row["oos_net_pnl"])
    dbl("window %d oos_sharpe" % n, x["oos_sharpe"], row["oos_sharpe"])
    dbl("window %d oos_sortino" % n, x["oos_sortino"], want["sortino"])
    dbl("window %d oos_max_drawdown" % n, x["oos_max_drawdown"], row["oos_max_drawdown"])
    if x["is_bars"] <= 0 or x["oos_bars"] <= 0:
        bad.append("window %d: %d in-sample, %d out-of-sample bars" % (n, x["is_bars"], x["oos_bars"]))
for b in bad[:20]:
    print("  " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
# the trader's query: the newest run's best set for the symbol, with its evidence
best=$(pg_sql "SELECT best_index || '|' || (params->>'fast') || '|' || (params->>'slow') FROM v_backtest_best
               WHERE symbol = 'EURUSD' AND wf_spec = '24m:6m' ORDER BY run_id DESC LIMIT 1")
want=$(python3 -c 'import json,sys; b = json.load(open(sys.argv[1]))["best_by_sharpe"][0]
print("%d|%s|%s" % (b["index"], b["params"]["fast"], b["params"]["slow"]))' "$TD_WORK/v1.json")
[ "$best" = "$want" ] || fail "v_backtest_best gives $best, the report $want"
pass "--warehouse: DSR, PBO, 29 walk-forward windows, the OOS result and P&L by month/weekday equal the report"

# a re-run: a new run id with the same rows; a run failing in its walk-forward stores nothing
vrun "$TD_WORK/v2" || { cat "$TD_WORK/v2.err" >&2; fail "the second validated run failed"; }
id2=$(pg_sql "SELECT max(run_id) FROM backtest_runs")
[ "$id2" -gt "$id1" ] || fail "the re-run did not get a new run id ($id1, $id2)"
wh_json "$id2" > "$TD_WORK/v2.wh.json"
cmp "$TD_WORK/v1.wh.json" "$TD_WORK/v2.wh.json" || fail "the re-run stored different rows"
[ "$(pg_sql "SELECT count(*) FROM backtest_validation WHERE run_id IN ($id1, $id2)")" -eq 2 ] &&
  [ "$(pg_sql "SELECT count(*) FROM backtest_wf_windows WHERE run_id IN ($id1, $id2)")" -eq 58 ] ||
  fail "the re-run's rows are not its own"
runs=$(pg_sql "SELECT count(*) FROM backtest_runs")
set +e
vrun "$TD_WORK/v3" --wf-trades-out /dev/full
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a validated run writing its walk-forward trades to /dev/full succeeded"
[ "$(pg_sql "SELECT count(*) FROM backtest_runs")" -eq "$runs" ] &&
  [ "$(pg_sql "SELECT count(*) FROM backtest_validation")" -eq "$((runs))" ] &&
  [ "$(pg_sql "SELECT count(*) FROM backtest_wf_windows")" -eq 58 ] || fail "a run failing in its walk-forward left rows"
pass "--warehouse re-run: run $id2 after $id1 with identical rows; a failure in the walk-forward stores nothing (exit $rc)"

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
