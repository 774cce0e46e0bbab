#!/usr/bin/env bash
# The live pipeline end to end on one real day: `tapedeck run` (gateway, processor and order router
# in one process, local tape, broker.mode external) and `tapedeck feed --fast` (the EA's side and
# the paper broker) over the OANDA XAUUSD ticks of 2014-05-06, with a breakout parameter set that
# trades. Afterwards: the output stream has OrderIntents; feed executed each of them exactly once
# (its summary; the input stream's EXEC reports) or the router recorded it as expired; the EXEC
# reports are on the input stream and PositionChanged outputs follow each fill; `replay --date`
# exits 0. Prints the router's tick-to-order latency without asserting it.
. "$(dirname "$0")/lib.sh"
need_data
csv="$LEAN_XAU/20140506_xauusd_tick_quote.csv"
[ -f "$csv" ] || { echo "SKIP: $csv not found"; exit 77; }

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
write_config "$cfg"
cat >> "$cfg" <<'YAML'
gateway:
  token: it-s3cret
  account: "1001" # the feed's: its orders go to that session only
broker:
  mode: external
router:
  max_age_ms: 10000
YAML
dir="$TD_WORK/live"

# the processor and router roles alone are refused with a clear line
expect_exit 2 td --data-dir "$TD_WORK/none" --config "$cfg" run --role processor
expect_err "--role processor alone is not built yet"
expect_exit 2 td --data-dir "$TD_WORK/none" --config "$cfg" run --role router
pass "run --role processor|router alone refused"

# the parameter set goes on the tape first, as an event before the day's ticks
td --data-dir "$dir" --config "$cfg" params push --symbol XAUUSD --strategy breakout \
   --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
   --author tests --reason "it_live" --at 2014-05-01T00:00:00 > /dev/null

# all roles in one process (no --role), in the background; the binary itself so $RUN is its pid
"$TAPEDECK" --data-dir "$dir" --config "$cfg" --set gateway.listen=127.0.0.1:0 run \
   > "$TD_WORK/run.out" 2> "$TD_WORK/run.err" &
RUN=$!
PIDS+=("$RUN")
for i in $(seq 100); do
  grep -q "listening on" "$TD_WORK/run.out" && break
  kill -0 "$RUN" 2> /dev/null || { cat "$TD_WORK/run.err" >&2; fail "tapedeck run did not start"; }
  sleep 0.1
done
grep -q "processor and order router" "$TD_WORK/run.out" || fail "startup line: $(cat "$TD_WORK/run.out")"
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TD_WORK/run.out" | head -1)
[ -n "$PORT" ] || fail "no startup line: $(cat "$TD_WORK/run.out")"

# the feed, bounded in time; --linger-s waits for the last ORDERs after everything is acknowledged
set +e
timeout 120 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --account 1001 \
   --fast --linger-s 2 --format lean-ticks --symbol XAUUSD "$csv" > "$TD_WORK/feed.out" 2> "$TD_WORK/feed.err"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$TD_WORK/feed.err" >&2; fail "feed exited $rc"; }

kill -TERM "$RUN"
set +e
timeout 30 tail --pid="$RUN" -f /dev/null
wait "$RUN"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$TD_WORK/run.err" >&2; fail "tapedeck run exited $rc on SIGTERM"; }
cat "$TD_WORK/feed.out" "$TD_WORK/run.out"
pass "run (all roles) and feed --fast over 2014-05-06"

# what the tape holds
td --data-dir "$dir" dump --symbol XAUUSD --stream output > "$TD_WORK/out.jsonl"
td --data-dir "$dir" dump --symbol XAUUSD > "$TD_WORK/in.jsonl"
jq -r 'select(.kind == "order_intent") | .intent_id' "$TD_WORK/out.jsonl" > "$TD_WORK/intents"
n_intents=$(wc -l < "$TD_WORK/intents")
[ "$n_intents" -ge 1 ] || fail "no OrderIntent on the output stream"
# fills of intents (not the stop/target exits, whose intent ids are sl:/tp:<id>), from the feed
jq -r 'select(.kind == "execution_report" and .source == "mt5" and .status == 1
              and (.intent_id | test("^(sl|tp):") | not)) | .intent_id' "$TD_WORK/in.jsonl" > "$TD_WORK/filled"
jq -r 'select(.kind == "execution_report" and .source == "router" and .status == 4) | .intent_id' \
   "$TD_WORK/in.jsonl" > "$TD_WORK/expired"
[ -z "$(sort "$TD_WORK/filled" | uniq -d)" ] || fail "an intent was filled twice: $(sort "$TD_WORK/filled" | uniq -d)"
n_filled=$(wc -l < "$TD_WORK/filled")
[ "$n_filled" -ge 1 ] || fail "no intent was filled"
# every intent was filled once or expired, never both
for id in $(cat "$TD_WORK/intents"); do
  f=$(grep -cxF "$id" "$TD_WORK/filled" || true)
  e=$(grep -cxF "$id" "$TD_WORK/expired" || true)
  [ $((f + e)) -eq 1 ] || fail "intent $id: $f fill(s), $e expiry(ies)"
done
pass "$n_intents intent(s): $n_filled filled once each, $(wc -l < "$TD_WORK/expired") expired"

# the feed's own count: every ORDER it received executed once, no repeat, nothing left
grep -qE "paper broker: $n_filled order\(s\) received, $n_filled executed, 0 refused repeat\(s\), 0 malformed, 0 unfilled" \
   "$TD_WORK/feed.out" || fail "feed summary: $(cat "$TD_WORK/feed.out")"
grep -q "at most 1 execution(s) per intent id" "$TD_WORK/feed.out" || fail "feed executed an intent twice"
grep -q "router: $n_filled order(s) sent" "$TD_WORK/run.out" || fail "router summary: $(cat "$TD_WORK/run.out")"

# a PositionChanged output follows every EXEC fill on the input stream
jq -r 'select(.kind == "execution_report" and .source == "mt5" and .status == 1) | .offset' "$TD_WORK/in.jsonl" \
   > "$TD_WORK/exec.offsets"
jq -r 'select(.kind == "position_changed") | .input_offset' "$TD_WORK/out.jsonl" > "$TD_WORK/pos.offsets"
[ -s "$TD_WORK/exec.offsets" ] || fail "no EXEC report on the input stream"
for off in $(cat "$TD_WORK/exec.offsets"); do
  grep -qx "$off" "$TD_WORK/pos.offsets" || fail "no PositionChanged for the EXEC report at input offset $off"
done
pass "$(wc -l < "$TD_WORK/exec.offsets") EXEC report(s) on the input stream, each followed by PositionChanged"

expect_exit 0 td --data-dir "$dir" --config "$cfg" replay --date 2014-05-06
pass "replay --date 2014-05-06: $(head -1 "$TD_WORK/last.out")"
echo "benchmark: tick-to-order (gateway burst read -> ORDER written), feed --fast:" \
     "$(grep -o 'latency over.*' "$TD_WORK/run.out")"
