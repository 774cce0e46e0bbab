#!/usr/bin/env bash
# The warehouse sink as a role of `tapedeck run`. One real day (OANDA XAUUSD 2014-05-06, M1 bars,
# a breakout set that trades, broker.mode external) goes through run (gateway, processor, router
# and - warehouse.enabled - the sink thread) fed by `tapedeck feed --fast`, while PostgreSQL is
# DOWN: the feed must still get every tick acknowledged, and the sink must log the outage. Once
# PostgreSQL is back the sink catches up by itself and the warehouse equals the tape (counts and
# sums per table, the input streams' specs, parameter sets and execution reports included). Then
# `run --role sink` alone, next to a `run` without the sink, writes the next day (2014-05-07).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/warehouse.sh"
need_data
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }
day1="$LEAN_XAU/20140506_xauusd_tick_quote.csv"
day2="$LEAN_XAU/20140507_xauusd_tick_quote.csv"
[ -f "$day1" ] && [ -f "$day2" ] || { echo "SKIP: the OANDA XAUUSD days 2014-05-06/07 are not there"; exit 77; }

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done; pg_stop; }
trap cleanup EXIT

cfg="$TD_WORK/config.yaml"
write_config "$cfg"
cat >> "$cfg" <<'YAML'
bars:
  timeframe: M1
gateway:
  token: it-s3cret
  account: "1001" # the feed's: its orders go to that session only
broker:
  mode: external
router:
  max_age_ms: 10000
warehouse:
  poll_ms: 100
  retry_max_ms: 400
YAML
dir="$TD_WORK/live"
tdc() { "$TAPEDECK" --data-dir "$dir" --config "$cfg" "$@"; }

pg_start
trap cleanup EXIT
td migrate > /dev/null
tdc params push --symbol XAUUSD --strategy breakout \
   --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
   --author tests --reason "it_warehouse_run" --at 2014-05-01T00:00:00 > /dev/null

# start_run NAME ARGS...: `tapedeck run` in the background (the binary itself, so that RUN is its
# pid); sets RUN and PORT
start_run() {
  local name=$1; shift
  "$TAPEDECK" --data-dir "$dir" --config "$cfg" --set gateway.listen=127.0.0.1:0 "$@" run > "$TD_WORK/$name.out" 2> "$TD_WORK/$name.err" &
  RUN=$!
  PIDS+=("$RUN")
  for _ in $(seq 300); do
    grep -qs "listening on" "$TD_WORK/$name.out" && break
    kill -0 "$RUN" 2> /dev/null || { cat "$TD_WORK/$name.err" >&2; fail "tapedeck run ($name) did not start"; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TD_WORK/$name.out" | head -1)
  [ -n "$PORT" ] || fail "no startup line: $(cat "$TD_WORK/$name.out")"
}

# feed_day FILE NAME: the EA's side, bounded in time; exit 0 = every line acknowledged
feed_day() {
  set +e
  timeout 300 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --account 1001 \
     --fast --linger-s 2 --format lean-ticks --symbol XAUUSD "$1" > "$TD_WORK/$2.out" 2> "$TD_WORK/$2.err"
  local rc=$?
  set -e
  [ "$rc" -eq 0 ] || { cat "$TD_WORK/$2.err" >&2; fail "feed $2 exited $rc"; }
}

# stop_pid PID NAME: SIGTERM, then it must exit 0 within 60 s
stop_pid() {
  kill -TERM "$1" 2> /dev/null || { cat "$TD_WORK/$2.err" >&2; fail "$2 had exited before SIGTERM"; }
  set +e
  timeout 60 tail --pid="$1" -f /dev/null
  wait "$1"
  local rc=$?
  set -e
  [ "$rc" -eq 0 ] || { cat "$TD_WORK/$2.err" >&2; fail "$2 exited $rc on SIGTERM"; }
}

# wait_caught_up NAME: polls (up to 120 s) until the warehouse's offsets are the tape's output and
# input ends (the tape read beside the running writer), and prints the output end
wait_caught_up() {
  local end=0 got=-1 in_end=0 in_got=-1
  for _ in $(seq 300); do
    end=$(td --data-dir "$dir" dump --stream output --symbol XAUUSD | wc -l)
    in_end=$(td --data-dir "$dir" dump --symbol XAUUSD | wc -l)
    got=$(pg_sql "SELECT coalesce((SELECT next_offset FROM sink_offsets WHERE symbol = 'XAUUSD' AND stream = 'output'), 0)")
    in_got=$(pg_sql "SELECT coalesce((SELECT next_offset FROM sink_offsets WHERE symbol = 'XAUUSD' AND stream = 'input'), 0)")
    [ "$end" -gt 0 ] && [ "$got" -eq "$end" ] && [ "$in_got" -eq "$in_end" ] && { echo "$end"; return 0; }
    sleep 0.2
  done
  cat "$TD_WORK/$1.err" >&2
  fail "$1: the warehouse is at output $got and input $in_got, the tape at $end and $in_end, after 120 s"
}

# 1. all roles with the sink; PostgreSQL down for the whole day's feed
start_run run1 --set warehouse.enabled=true
grep -q "warehouse sink" "$TD_WORK/run1.out" || fail "startup line lacks the sink: $(cat "$TD_WORK/run1.out")"
pg_down
feed_day "$day1" feed1
n_ticks=$(grep -c . "$day1")
grep -qE "PostgreSQL unreachable .*retrying" "$TD_WORK/run1.err" ||
  { cat "$TD_WORK/run1.err" >&2; fail "the sink did not log the unreachable PostgreSQL"; }
kill -0 "$RUN" 2> /dev/null || { cat "$TD_WORK/run1.err" >&2; fail "run died while PostgreSQL was down"; }
pass "PostgreSQL down: the gateway acknowledged all $n_ticks ticks of 2014-05-06 (feed exit 0), the sink logged the outage"
pg_up
end1=$(wait_caught_up run1)
grep -q "reachable again" "$TD_WORK/run1.err" || { cat "$TD_WORK/run1.err" >&2; fail "the sink did not log the reconnect"; }
stop_pid "$RUN" run1
grep -q "tapedeck run: sink: [1-9][0-9]* row(s)" "$TD_WORK/run1.out" || fail "run's sink summary: $(cat "$TD_WORK/run1.out")"
td --data-dir "$dir" dump --stream output > "$TD_WORK/out1.jsonl"
[ "$(wc -l < "$TD_WORK/out1.jsonl")" -eq "$end1" ] || fail "the tape grew after the warehouse caught up"
grep -q '"kind":"position_changed"' "$TD_WORK/out1.jsonl" || fail "the day made no trade: the test wants one"
n_in1=$(dump_inputs "$dir" "$TD_WORK/in1.jsonl")
grep -q '"kind":"execution_report"' "$TD_WORK/in1.jsonl" || fail "no execution report on the input stream"
warehouse_want "$TD_WORK/out1.jsonl" "$TD_WORK/in1.jsonl" "$n_in1" > "$TD_WORK/want1.txt"
warehouse_summary > "$TD_WORK/got1.txt"
diff "$TD_WORK/want1.txt" "$TD_WORK/got1.txt" || fail "after the outage the warehouse differs from the tape (want < > got)"
pass "PostgreSQL back: the sink thread caught up by itself; all 10 tables equal the tape ($end1 outputs, $n_in1 inputs: specs, parameter sets, $(grep -c execution_report "$TD_WORK/in1.jsonl") execution reports)"

# 2. run without the sink, and run --role sink beside it
start_run run2
grep -q "warehouse sink" "$TD_WORK/run2.out" && fail "the sink runs without warehouse.enabled"
"$TAPEDECK" --data-dir "$dir" --config "$cfg" run --role sink > "$TD_WORK/sink2.out" 2> "$TD_WORK/sink2.err" &
SINK=$!
PIDS+=("$SINK")
feed_day "$day2" feed2
end2=$(wait_caught_up sink2)
[ "$end2" -gt "$end1" ] || fail "day 2 added no outputs"
stop_pid "$SINK" sink2
stop_pid "$RUN" run2
td --data-dir "$dir" dump --stream output > "$TD_WORK/out2.jsonl"
n_in2=$(dump_inputs "$dir" "$TD_WORK/in2.jsonl")
warehouse_want "$TD_WORK/out2.jsonl" "$TD_WORK/in2.jsonl" "$n_in2" > "$TD_WORK/want2.txt"
warehouse_summary > "$TD_WORK/got2.txt"
diff "$TD_WORK/want2.txt" "$TD_WORK/got2.txt" || fail "after run --role sink the warehouse differs from the tape (want < > got)"
pass "run --role sink beside run: day 2 written, all 10 tables equal the tape ($end2 outputs, $n_in2 inputs)"
