#!/usr/bin/env bash
# tapedeck params propose: a parameter file only from a set that passes the thresholds, with its
# evidence in the header; accepted by params validate --file and params push --file; versioned;
# refused (exit 1, every failed threshold named, nothing written) otherwise; config keys honoured;
# the same report gives the same bytes.
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
cat > "$TD_WORK/grid.yaml" <<YAML
strategy: sma_cross
grid:
  fast: [5, 10, 20]
  slow: 50:100:50
  volume: 0.1
symbols:
  EURUSD: {data: $TD_SHARED_DATA/bars/dukascopy-eurusd-h4.csv, format: dukascopy-bars}
  XAUUSD: {data: $TD_SHARED_DATA/bars/lean-oanda-xauusd-h1.csv, format: lean-bars}
walk_forward: 36m:12m
YAML
report="$TD_WORK/report.json"
td --config "$cfg" backtest --config "$TD_WORK/grid.yaml" --json > "$report" 2> "$TD_WORK/bt.err"
td params --help | grep -q "params propose" || fail "params --help lacks propose"
td params propose --help | grep -q "params.min_dsr" || fail "params propose --help lacks the thresholds"

cd "$TD_WORK"
td --config "$cfg" params propose --symbol XAUUSD --report "$report" > propose.out
grep -q "^wrote XAUUSD.params.yaml: XAUUSD sma_cross version 1 (DSR 0\.9" propose.out || { cat propose.out; fail "propose XAUUSD"; }
f=XAUUSD.params.yaml
grep -q "^#   report: $report" $f || fail "header lacks the report path"
grep -q "^#   DSR: 0\.[0-9]* (params.min_dsr 0.95" $f || fail "header lacks the DSR"
grep -q "^#   PBO: 0\.[0-9]* (params.max_pbo 0.5" $f || fail "header lacks the PBO"
grep -q "^#   walk-forward 36m:12m by sharpe: [0-9]* windows, [0-9]* out-of-sample days, [0-9]* trades" $f || fail "header lacks the OOS figures"
grep -q "^version: 1$" $f && grep -q "^previous_version: 0$" $f || fail "version 1"
# the set is the report's best by Sharpe
if command -v python3 > /dev/null; then
  python3 - "$report" $f <<'PY' || fail "the file's set is not the report's best set"
import json, sys
run = [r for r in json.load(open(sys.argv[1]))["runs"] if r["symbol"] == "XAUUSD"][0]
best = run["best_by_sharpe"][0]["params"]
text = open(sys.argv[2]).read().split("params:\n")[1]
got = dict(l.strip().split(": ") for l in text.strip().split("\n"))
assert {k: v.strip("'") for k, v in got.items()} == best, (got, best)
PY
fi
td params validate --file $f | grep -q "^ok: sma_cross with 3 parameter(s) is valid for XAUUSD" || fail "validate --file"
td --data-dir tape params push --file $f --author alice --at 2020-01-01T00:00:00 | grep -q "pushed sma_cross version 1 to XAUUSD" ||
  fail "push --file"
td --data-dir tape params show --symbol XAUUSD | grep -q '"values":{"fast":"5","slow":"50","volume":"0.1"},"author":"alice","reason":"proposed: DSR' ||
  fail "the pushed set or its reason"
pass "XAUUSD: proposed (version 1), evidence in the header, validate --file and push --file accept it"

cp $f first.yaml
td --config "$cfg" params propose --symbol XAUUSD --report "$report" > /dev/null
grep -q "^version: 2$" $f && grep -q "^previous_version: 1$" $f || fail "version 2 replaces version 1"
diff <(grep -v "version" first.yaml) <(grep -v "version" $f) > /dev/null || fail "the same report gave different evidence"
pass "proposing again writes version 2 with previous_version 1, the same evidence byte for byte"

expect_exit 1 td --config "$cfg" params propose --symbol EURUSD --report "$report"
expect_err "EURUSD: refused, nothing written: DSR 0.399 is below params.min_dsr 0.95; PBO 0.5372 is above params.max_pbo 0.5"
[ ! -e EURUSD.params.yaml ] || fail "a refused proposal wrote a file"
# the thresholds come from the config
cp "$cfg" strict.yaml
printf 'params:\n  min_dsr: 0.99\n  min_oos_trades: 5000\n' >> strict.yaml
expect_exit 1 td --config strict.yaml params propose --symbol XAUUSD --report "$report" --out strict-xau.yaml
expect_err "is below params.min_dsr 0.99"
expect_err "out-of-sample trades 1828 are fewer than params.min_oos_trades 5000"
[ ! -e strict-xau.yaml ] || fail "a refused proposal wrote a file"
# a report without walk-forward
td --config "$cfg" backtest --strategy sma_cross --symbol XAUUSD --data "$TD_SHARED_DATA/bars/lean-oanda-xauusd-h1.csv" \
   --format lean-bars --grid "fast=5|10,slow=50,volume=0.1" --json > nowf.json 2> /dev/null
expect_exit 1 td --config "$cfg" params propose --symbol XAUUSD --report nowf.json --out nowf.yaml
expect_err "no walk-forward in the report (run tapedeck backtest with --walk-forward IS:OOS)"
pass "refused with exit 1 naming each failed threshold (DSR, PBO, OOS trades, config keys, no walk-forward); nothing written"

expect_exit 2 td --config "$cfg" params propose --symbol GBPUSD --report "$report"
expect_err "the report has no run of symbol GBPUSD"
printf 'not json: [\n' > broken.json
expect_exit 2 td --config "$cfg" params propose --symbol XAUUSD --report broken.json
expect_err "broken.json:"
expect_exit 2 td params propose --symbol XAUUSD
expect_err "propose needs --symbol and --report"
sed 's/^params:/speed: 3\nparams:/' $f > bad-key.yaml
expect_exit 2 td params validate --file bad-key.yaml
expect_err "bad-key.yaml:17: speed: unknown key"
sed "s/  fast: '5'/  fast: '500'/" $f > bad-set.yaml
expect_exit 2 td params validate --file bad-set.yaml
expect_err "bad-set.yaml: sma_cross: parameter 'fast' (500) must be less than 'slow' (50)"
expect_exit 2 td --data-dir tape params push --file $f --symbol EURUSD --author alice
expect_err "--symbol EURUSD, but XAUUSD.params.yaml is for XAUUSD"
pass "bad input exits 2: symbol not in the report, a broken report, missing options, a bad parameter file"
