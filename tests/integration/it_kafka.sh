#!/usr/bin/env bash
# The live pipeline on Kafka (journal.mode kafka) against librdkafka's mock cluster (3 brokers, in
# the td_kafka_mock process this test starts): `tapedeck run --role archiver`, `--role processor`
# and `--role gateway`, each its own process and data directory, fed by `tapedeck feed` with the
# OANDA EURUSD ticks of 2014-05-04 and 2014-05-05 (the 4th closes when the 5th begins; ~26k ticks,
# well under the mock's ~5 MiB per partition), with heartbeats. The reference is the same feed into
# `tapedeck run` on the local tape. Five runs on Kafka, each on a fresh mock cluster:
#   1. clean: the archiver's tape has every input and output - the Clock events the gateway made
#      of the heartbeats included, some of which close bars - its day digests and output events
#      equal the reference's, and `replay --date` exits 0 on it for both days;
#   2. every broker down for 4 s mid-stream, then injected Produce errors: the same digests;
#   3. each role killed with SIGKILL mid-stream and restarted: the same digests (the restarted
#      gateway makes the same Clocks of the resent heartbeats: its clock state is recorded with
#      the acknowledged sequence number);
#   4. broker.mode external: the parameter set pushed through the input topic, the order router in
#      the gateway process; every intent routed once, filled at most once, replay exits 0;
#   5. broker.mode external with the gateway SIGKILLed mid-stream (between an intent's "sent"
#      record and its write) and restarted: that intent resent and filled once, the archive's
#      ticks and Clocks equal the reference's, no intent filled twice, replay exits 0.
. "$(dirname "$0")/lib.sh"
need_data
[ -x "${TD_KAFKA_MOCK:-}" ] || { echo "SKIP: td_kafka_mock not built"; exit 77; }
EUR="$TD_SHARED_DATA/ticks/lean-oanda-eurusd"
FILES=("$EUR/20140504_eurusd_tick_quote.csv" "$EUR/20140505_eurusd_tick_quote.csv")
for f in "${FILES[@]}"; do [ -f "$f" ] || { echo "SKIP: $f not found"; exit 77; }; done

PIDS=()
EXTRA=(--set log.level=info) # more --set options for the roles
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  exec 3>&-
}
trap cleanup EXIT

cfg="$TD_WORK/config.yaml"
write_config "$cfg"
cat >> "$cfg" <<'YAML'
gateway:
  token: it-s3cret
kafka:
  partitions: 4
  batch_messages: 2000
  fetch_wait_ms: 5 # the mock cluster answers an empty fetch only when this wait ends
  max_in_flight: 1 # the mock does not keep a partition's order when it fails a request (injected errors)
YAML

# feed ARGS...: the two days to the gateway at $PORT, bounded in time, with a HEARTBEAT every 60 s
# of tick time (the gateway turns them into Clock events: some bars, and 2014-05-05 itself, close
# on a heartbeat alone)
feed() {
  timeout 300 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --account 1001 \
     --retry-s 60 --heartbeat-s 60 --format lean-ticks --symbol EURUSD "$@" "${FILES[@]}"
}

# wait_line FILE TEXT PID [N]: until FILE has more than N (default 0) lines with TEXT (a startup line)
wait_line() {
  for _ in $(seq 300); do
    [ "$(grep -c "$2" "$1" 2> /dev/null)" -gt "${4:-0}" ] && return 0
    kill -0 "$3" 2> /dev/null || { cat "${1%.out}.err" >&2; fail "$1: the process ended before '$2'"; }
    sleep 0.1
  done
  fail "$1: no '$2' within 30 s"
}

# ---- the reference: the same feed on the local tape ----
"$TAPEDECK" --data-dir "$TD_WORK/ref" --config "$cfg" --set gateway.listen=127.0.0.1:0 run \
   > "$TD_WORK/ref.out" 2> "$TD_WORK/ref.err" &
REF=$!
PIDS+=("$REF")
wait_line "$TD_WORK/ref.out" "listening on" "$REF"
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TD_WORK/ref.out")
feed --fast > "$TD_WORK/ref-feed.out" 2> "$TD_WORK/ref-feed.err" || { cat "$TD_WORK/ref-feed.err" >&2; fail "reference feed"; }
kill -TERM "$REF"
wait "$REF" || fail "reference run exited $?"
td --data-dir "$TD_WORK/ref" days --json > "$TD_WORK/ref.days"
td --data-dir "$TD_WORK/ref" dump --symbol EURUSD --stream output | jq -c 'del(.ingest_ms)' > "$TD_WORK/ref.outputs"
td --data-dir "$TD_WORK/ref" dump --symbol EURUSD | jq -c 'del(.ingest_ms)' > "$TD_WORK/ref.inputs"
N_IN=$(wc -l < "$TD_WORK/ref.inputs")
N_OUT=$(wc -l < "$TD_WORK/ref.outputs")
grep -q '"day":20140504.*"digest":"[0-9a-f]\{64\}"' "$TD_WORK/ref.days" || fail "reference: 2014-05-04 not closed: $(cat "$TD_WORK/ref.days")"
grep -q '"day":20140505.*"digest":"[0-9a-f]\{64\}"' "$TD_WORK/ref.days" ||
  fail "reference: 2014-05-05 not closed by the last heartbeat: $(cat "$TD_WORK/ref.days")"
# bars_by_clock NAME: how many bars of NAME.outputs a Clock event of NAME.inputs closed
bars_by_clock() {
  jq -r 'select(.kind == "clock") | .offset' "$TD_WORK/$1.inputs" | sort > "$TD_WORK/$1.clocks"
  jq -r 'select(.kind == "bar") | .input_offset' "$TD_WORK/$1.outputs" | sort -u > "$TD_WORK/$1.bar_inputs"
  comm -12 "$TD_WORK/$1.clocks" "$TD_WORK/$1.bar_inputs" | wc -l
}
N_CLOCK_BARS=$(bars_by_clock ref)
[ "$N_CLOCK_BARS" -ge 1 ] || fail "reference: no bar closed by a heartbeat's Clock event"
pass "reference on the local tape: $N_IN inputs ($(wc -l < "$TD_WORK/ref.clocks") Clock), $N_OUT outputs, $N_CLOCK_BARS bar(s) closed by a heartbeat"

# ---- the Kafka runs ----
# start_mock NAME: a fresh mock cluster, its control on fd 3, its bootstrap servers in $BOOT
start_mock() {
  exec 3>&-
  rm -f "$TD_WORK/$1.ctl"
  mkfifo "$TD_WORK/$1.ctl"
  "$TD_KAFKA_MOCK" --brokers 3 --topic tapedeck.input:4 --topic tapedeck.output:4 < "$TD_WORK/$1.ctl" \
     > "$TD_WORK/$1.mock" 2> "$TD_WORK/$1.mock.err" &
  PIDS+=("$!")
  exec 3> "$TD_WORK/$1.ctl"
  for _ in $(seq 100); do grep -q '^bootstrap ' "$TD_WORK/$1.mock" && break; sleep 0.1; done
  BOOT=$(sed -n 's/^bootstrap //p' "$TD_WORK/$1.mock")
  [ -n "$BOOT" ] || fail "the mock cluster did not start: $(cat "$TD_WORK/$1.mock.err")"
  MOCK_LOG="$TD_WORK/$1.mock"
}

# mock CMD: one command to the mock cluster, waiting for its answer
mock() {
  local n
  n=$(grep -c '' "$MOCK_LOG")
  echo "$*" >&3
  for _ in $(seq 100); do
    [ "$(grep -c '' "$MOCK_LOG")" -gt "$n" ] && break
    sleep 0.05
  done
  tail -1 "$MOCK_LOG" | grep -q '^ok' || fail "mock '$*': $(tail -1 "$MOCK_LOG")"
}

# role RUN ROLE [PORT]: starts ROLE of run RUN in the background ($RUN_ROLE_PID), waits for its startup line
role() {
  local run=$1 r=$2 listen=${3:-0} before
  before=$(grep -c "tapedeck run: $r " "$TD_WORK/$run.$r.out" 2> /dev/null || true)
  "$TAPEDECK" --data-dir "$TD_WORK/$run/$r" --config "$cfg" --set journal.mode=kafka --set kafka.brokers="$BOOT" \
     --set gateway.listen="127.0.0.1:$listen" "${EXTRA[@]}" run --role "$r" >> "$TD_WORK/$run.$r.out" 2>> "$TD_WORK/$run.$r.err" &
  local pid=$!
  PIDS+=("$pid")
  eval "${r}_pid=$pid"
  wait_line "$TD_WORK/$run.$r.out" "tapedeck run: $r " "$pid" "${before:-0}"
}

start_roles() {
  role "$1" archiver
  role "$1" processor
  role "$1" gateway
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TD_WORK/$1.gateway.out" | tail -1)
}

# wait_archived RUN: until the archiver's tape holds every input and output of the reference
wait_archived() {
  local days
  for _ in $(seq 600); do
    days=$(td --data-dir "$TD_WORK/$1/archiver" days --json 2> /dev/null || true)
    if [ -n "$days" ] && [ "$(echo "$days" | jq '[.days[].inputs] | add')" = "$N_IN" ] &&
       [ "$(echo "$days" | jq '[.days[].outputs] | add')" = "$N_OUT" ]; then
      return 0
    fi
    sleep 0.2
  done
  fail "$1: the archiver has not got everything within 120 s: $days"
}

stop_roles() {
  for r in gateway processor archiver; do
    local pid
    eval "pid=\$${r}_pid"
    kill -TERM "$pid"
    wait "$pid" || { cat "$TD_WORK/$1.$r.err" >&2; fail "$1: --role $r exited $? on SIGTERM"; }
  done
}

# check RUN: the archiver's record equals the reference; replay exits 0 on it
check() {
  local a="$TD_WORK/$1/archiver"
  td --data-dir "$a" days --json > "$TD_WORK/$1.days"
  cmp -s "$TD_WORK/ref.days" "$TD_WORK/$1.days" ||
    fail "$1: days differ: $(cat "$TD_WORK/$1.days") vs the reference $(cat "$TD_WORK/ref.days")"
  td --data-dir "$a" dump --symbol EURUSD --stream output | jq -c 'del(.ingest_ms)' > "$TD_WORK/$1.outputs"
  cmp -s "$TD_WORK/ref.outputs" "$TD_WORK/$1.outputs" || fail "$1: the archived outputs differ from the reference"
  td --data-dir "$a" dump --symbol EURUSD | jq -c 'del(.ingest_ms)' > "$TD_WORK/$1.inputs"
  cmp -s "$TD_WORK/ref.inputs" "$TD_WORK/$1.inputs" || fail "$1: the archived inputs differ from the reference"
  td --data-dir "$TD_WORK/$1/processor" days --json > "$TD_WORK/$1.proc.days"
  cmp -s "$TD_WORK/ref.days" "$TD_WORK/$1.proc.days" || fail "$1: the processor's own tape differs"
  expect_exit 0 td --data-dir "$a" --config "$cfg" replay --date 2014-05-04
  grep -q "equal" "$TD_WORK/last.out" || fail "$1: replay 2014-05-04: $(cat "$TD_WORK/last.out")"
  expect_exit 0 td --data-dir "$a" --config "$cfg" replay --date 2014-05-05
}

# 1. clean
start_mock clean
start_roles clean
feed --fast > "$TD_WORK/clean.feed.out" 2> "$TD_WORK/clean.feed.err" || { cat "$TD_WORK/clean.feed.err" >&2; fail "feed"; }
wait_archived clean
stop_roles clean
check clean
grep -q "$N_IN input(s), $N_OUT output(s)" "$TD_WORK/clean.archiver.out" || fail "archiver summary: $(cat "$TD_WORK/clean.archiver.out")"
[ "$(bars_by_clock clean)" -eq "$N_CLOCK_BARS" ] || fail "clean: $(bars_by_clock clean) bar(s) closed by a Clock, reference $N_CLOCK_BARS"
pass "kafka: gateway, processor, archiver: $N_IN inputs and $N_OUT outputs archived; days, outputs and inputs (the heartbeats' Clock events included, $N_CLOCK_BARS bar(s) closed by one) equal the local tape's; replay exits 0"

# 2. every broker down for 4 s mid-stream, then injected Produce errors
start_mock down
DOWN_T0=$SECONDS
start_roles down
feed --speed 20000 > "$TD_WORK/down.feed.out" 2> "$TD_WORK/down.feed.err" &
FEED=$!
PIDS+=("$FEED")
sleep 1.5
mock down 1
mock down 2
mock down 3
sleep 4
mock up 1
mock up 2
mock up 3
mock err Produce REQUEST_TIMED_OUT NOT_LEADER_FOR_PARTITION NOT_ENOUGH_REPLICAS
wait "$FEED" || { cat "$TD_WORK/down.feed.err" >&2; fail "feed with the brokers down exited $?"; }
wait_archived down
stop_roles down
DOWN_S=$((SECONDS - DOWN_T0 + 1))
check down
# the processor's state record goes out at most once a second (kafka.state_interval_ms), not
# after each of its hundreds of input batches: + the first, the last and the 2 days' snapshots
STATES=$(sed -n 's/.* output(s) and \([0-9]*\) state record(s) produced$/\1/p' "$TD_WORK/down.processor.out")
BATCHES=$(sed -n 's/^tapedeck run: processor: .* \([0-9]*\) commit(s)$/\1/p' "$TD_WORK/down.processor.out")
[ -n "$STATES" ] && [ "$STATES" -le $((DOWN_S + 4)) ] ||
  fail "down: $STATES state record(s) produced in $DOWN_S s ($BATCHES input batches); expected at most $((DOWN_S + 4))"
pass "every broker down for 4 s mid-stream, then Produce errors: nothing lost or doubled, same digests; $STATES state records over $BATCHES input batches in $DOWN_S s"

# 3. each role SIGKILLed mid-stream and restarted
start_mock kill
start_roles kill
feed --speed 20000 > "$TD_WORK/kill.feed.out" 2> "$TD_WORK/kill.feed.err" &
FEED=$!
PIDS+=("$FEED")
sleep 1
for r in gateway processor archiver; do
  eval "pid=\$${r}_pid"
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  role kill "$r" "$PORT"
  sleep 0.7
done
kill -0 "$FEED" 2> /dev/null || echo "note: the feed ended before the last kill (a fast machine)"
wait "$FEED" || { cat "$TD_WORK/kill.feed.err" >&2; fail "feed across the kills exited $?"; }
wait_archived kill
stop_roles kill
check kill
pass "gateway, processor and archiver each SIGKILLed and restarted mid-stream: same digests, outputs and inputs"
cat "$TD_WORK/kill.archiver.out" | grep "archiver:" || true

# 4. broker.mode external: the order router in the gateway process follows the output topic; the
# parameter set reaches the processor through the input topic (params push in Kafka mode)
EXTRA=(--set broker.mode=external --set gateway.account=1001 --set router.max_age_ms=10000 --set router.interval_ms=1)
start_mock orders
start_roles orders
td --data-dir "$TD_WORK/orders/archiver" --config "$cfg" --set journal.mode=kafka --set kafka.brokers="$BOOT" \
   params push --symbol EURUSD --strategy breakout \
   --set lookback=4,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
   --author tests --reason it_kafka --at 2014-05-01T00:00:00 > "$TD_WORK/orders.push.out"
grep -q "pushed breakout version 1 to EURUSD on the kafka input topic" "$TD_WORK/orders.push.out" ||
  fail "params push (kafka): $(cat "$TD_WORK/orders.push.out")"
feed --fast --linger-s 5 > "$TD_WORK/orders.feed.out" 2> "$TD_WORK/orders.feed.err" ||
  { cat "$TD_WORK/orders.feed.err" >&2; fail "feed (external broker) exited $?"; }
kill -TERM "$gateway_pid"
wait "$gateway_pid" || fail "orders: --role gateway exited $? on SIGTERM"
n_gw=$(sed -n 's/.* \([0-9]*\) event(s) delivered to kafka.*/\1/p' "$TD_WORK/orders.gateway.out")
n_exp=$(sed -n 's/.*order(s) sent, \([0-9]*\) expired.*/\1/p' "$TD_WORK/orders.gateway.out")
want=$((n_gw + 1 + n_exp)) # the EA's events, the parameter set, the router's expiry reports
prev=""
for _ in $(seq 600); do
  a=$(td --data-dir "$TD_WORK/orders/archiver" days --json 2> /dev/null | jq -c '[([.days[].inputs] | add), ([.days[].outputs] | add)]' || true)
  p=$(td --data-dir "$TD_WORK/orders/processor" days --json 2> /dev/null | jq -c '[([.days[].inputs] | add), ([.days[].outputs] | add)]' || true)
  if [ "$a" = "$p" ] && [ "$(echo "$a" | jq '.[0]')" = "$want" ] && [ "$a" = "$prev" ]; then break; fi
  prev=$a
  sleep 0.3
done
[ "$a" = "$p" ] && [ "$(echo "$a" | jq '.[0]')" = "$want" ] || fail "orders: archiver $a, processor $p, expected $want inputs"
for r in processor archiver; do
  eval "pid=\$${r}_pid"
  kill -TERM "$pid"
  wait "$pid" || fail "orders: --role $r exited $? on SIGTERM"
done
a="$TD_WORK/orders/archiver"
td --data-dir "$a" dump --symbol EURUSD --stream output > "$TD_WORK/orders.out.jsonl"
td --data-dir "$a" dump --symbol EURUSD > "$TD_WORK/orders.in.jsonl"
jq -r 'select(.kind == "order_intent") | .intent_id' "$TD_WORK/orders.out.jsonl" > "$TD_WORK/orders.intents"
n_intents=$(wc -l < "$TD_WORK/orders.intents")
[ "$n_intents" -ge 1 ] || fail "orders: no OrderIntent on the archived output stream"
jq -r 'select(.kind == "execution_report" and .source == "mt5" and .status == 1
              and (.intent_id | test("^(sl|tp):") | not)) | .intent_id' "$TD_WORK/orders.in.jsonl" > "$TD_WORK/orders.filled"
[ -z "$(sort "$TD_WORK/orders.filled" | uniq -d)" ] || fail "orders: an intent was filled twice"
n_filled=$(wc -l < "$TD_WORK/orders.filled")
[ "$n_filled" -ge 1 ] || fail "orders: no intent was filled"
# what the router sent, the feed received, each once (an intent that came after the feed left
# waits unsent: never sent late twice); what the feed executed is what the archive holds
n_sent=$(sed -n 's/.*router: \([0-9]*\) order(s) sent, 0 expired, 0 lost.*, 0 resent.*/\1/p' "$TD_WORK/orders.gateway.out")
[ -n "$n_sent" ] && [ "$n_sent" -ge 1 ] && [ "$n_sent" -le "$n_intents" ] ||
  fail "orders: router summary: $(grep router: "$TD_WORK/orders.gateway.out")"
grep -qE "paper broker: $n_sent order\(s\) received, $n_filled executed, 0 refused repeat\(s\)" "$TD_WORK/orders.feed.out" ||
  fail "orders: feed summary: $(cat "$TD_WORK/orders.feed.out")"
grep -q "at most 1 execution(s) per intent id" "$TD_WORK/orders.feed.out" || fail "orders: feed executed an intent twice"
jq -r 'select(.kind == "execution_report" and .source == "mt5" and .status == 1) | .offset' "$TD_WORK/orders.in.jsonl" \
   > "$TD_WORK/orders.exec"
jq -r 'select(.kind == "position_changed") | .input_offset' "$TD_WORK/orders.out.jsonl" > "$TD_WORK/orders.pos"
for off in $(cat "$TD_WORK/orders.exec"); do
  grep -qx "$off" "$TD_WORK/orders.pos" || fail "orders: no PositionChanged for the EXEC report at input offset $off"
done
td --data-dir "$TD_WORK/orders/processor" days --json > "$TD_WORK/orders.proc.days"
td --data-dir "$a" days --json > "$TD_WORK/orders.days"
cmp -s "$TD_WORK/orders.proc.days" "$TD_WORK/orders.days" || fail "orders: the archive's days differ from the processor's"
expect_exit 0 td --data-dir "$a" --config "$cfg" --set broker.mode=external replay --date 2014-05-04
expect_exit 0 td --data-dir "$a" --config "$cfg" --set broker.mode=external replay --date 2014-05-05
pass "broker.mode external on kafka: $n_intents intent(s), $n_sent routed once each by the gateway's router, $n_filled filled once, PositionChanged after each fill, replay exits 0"
echo "tick-to-order on kafka (feed --fast, a backlog: not a latency figure): $(grep -o 'latency over.*' "$TD_WORK/orders.gateway.out")"

# 5. broker.mode external with the gateway (and so the order router) SIGKILLed mid-stream and
# restarted - killed by the router's test hook (gateway/router.h) right after the first intent's
# "sent" record, before its ORDER is written: the restarted gateway resends that intent to the
# feed's new session and it is filled once; the archive's ticks and Clock events equal the
# reference's (none lost or doubled), no intent is executed twice (the feed's count per intent id,
# the fills on the tape), the archive equals the processor's tape, and replay exits 0
start_mock okill
role okill archiver
role okill processor
TD_TEST_ROUTER_CRASH_AFTER_SENT=1 role okill gateway
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TD_WORK/okill.gateway.out" | tail -1)
td --data-dir "$TD_WORK/okill/archiver" --config "$cfg" --set journal.mode=kafka --set kafka.brokers="$BOOT" \
   params push --symbol EURUSD --strategy breakout \
   --set lookback=4,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
   --author tests --reason it_kafka --at 2014-05-01T00:00:00 > /dev/null
feed --speed 20000 > "$TD_WORK/okill.feed.out" 2> "$TD_WORK/okill.feed.err" &
FEED=$!
PIDS+=("$FEED")
for _ in $(seq 600); do kill -0 "$gateway_pid" 2> /dev/null || break; sleep 0.1; done
kill -0 "$gateway_pid" 2> /dev/null && fail "okill: the router's crash hook did not fire within 60 s"
set +e
wait "$gateway_pid"
rc=$?
set -e
[ "$rc" -eq 137 ] || { cat "$TD_WORK/okill.gateway.err" >&2; fail "okill: the gateway exited $rc, expected 137 (SIGKILL)"; }
caught=$(sed -n 's/.*killing the process after recording intent=\([^ ]*\) as sent, before writing it.*/\1/p' "$TD_WORK/okill.gateway.err")
[ -n "$caught" ] || { cat "$TD_WORK/okill.gateway.err" >&2; fail "okill: no test hook line in the gateway's log"; }
role okill gateway "$PORT"
wait "$FEED" || { cat "$TD_WORK/okill.feed.err" >&2; fail "okill: feed across the gateway's SIGKILL exited $?"; }
kill -TERM "$gateway_pid"
wait "$gateway_pid" || fail "okill: --role gateway exited $? on SIGTERM"
jq -c 'select(.kind == "tick" or .kind == "clock") | del(.offset)' "$TD_WORK/ref.inputs" > "$TD_WORK/ref.ticks"
n_ticks=$(wc -l < "$TD_WORK/ref.ticks")
a=""
p=""
prev=""
for _ in $(seq 600); do
  a=$(td --data-dir "$TD_WORK/okill/archiver" days --json 2> /dev/null | jq -c '[([.days[].inputs] | add), ([.days[].outputs] | add)]' || true)
  p=$(td --data-dir "$TD_WORK/okill/processor" days --json 2> /dev/null | jq -c '[([.days[].inputs] | add), ([.days[].outputs] | add)]' || true)
  if [ -n "$a" ] && [ "$a" = "$p" ] && [ "$a" = "$prev" ] &&
     [ "$(td --data-dir "$TD_WORK/okill/archiver" dump --symbol EURUSD 2> /dev/null |
          jq -c 'select(.kind == "tick" or .kind == "clock")' | wc -l)" -ge "$n_ticks" ]; then break; fi
  prev=$a
  sleep 0.3
done
[ -n "$a" ] && [ "$a" = "$p" ] || fail "okill: the archiver ($a) and the processor ($p) did not agree within 180 s"
for r in processor archiver; do
  eval "pid=\$${r}_pid"
  kill -TERM "$pid"
  wait "$pid" || fail "okill: --role $r exited $? on SIGTERM"
done
a="$TD_WORK/okill/archiver"
td --data-dir "$a" dump --symbol EURUSD | jq -c 'del(.ingest_ms)' > "$TD_WORK/okill.in.jsonl"
jq -c 'select(.kind == "tick" or .kind == "clock") | del(.offset)' "$TD_WORK/okill.in.jsonl" > "$TD_WORK/okill.ticks"
cmp -s "$TD_WORK/ref.ticks" "$TD_WORK/okill.ticks" ||
  fail "okill: the archived ticks and Clocks differ from the reference ($(wc -l < "$TD_WORK/okill.ticks") vs $n_ticks)"
jq -r 'select(.kind == "execution_report" and .source == "mt5" and .status == 1
              and (.intent_id | test("^(sl|tp):") | not)) | .intent_id' "$TD_WORK/okill.in.jsonl" > "$TD_WORK/okill.filled"
[ -z "$(sort "$TD_WORK/okill.filled" | uniq -d)" ] || fail "okill: an intent was filled twice on the tape"
grep -qx "$caught" "$TD_WORK/okill.filled" || fail "okill: intent $caught (caught by the kill) was never filled"
grep -q "resent intent=$caught " "$TD_WORK/okill.gateway.err" || fail "okill: the restarted gateway did not resend $caught"
grep -q "at most 1 execution(s) per intent id" "$TD_WORK/okill.feed.out" || fail "okill: feed executed an intent twice: $(cat "$TD_WORK/okill.feed.out")"
td --data-dir "$TD_WORK/okill/processor" days --json > "$TD_WORK/okill.proc.days"
td --data-dir "$a" days --json > "$TD_WORK/okill.days"
cmp -s "$TD_WORK/okill.proc.days" "$TD_WORK/okill.days" || fail "okill: the archive's days differ from the processor's"
expect_exit 0 td --data-dir "$a" --config "$cfg" --set broker.mode=external replay --date 2014-05-04
expect_exit 0 td --data-dir "$a" --config "$cfg" --set broker.mode=external replay --date 2014-05-05
pass "broker.mode external, the gateway SIGKILLed between the \"sent\" record of $caught and its write: resent and" \
     "filled once; the same $n_ticks ticks and Clocks as the reference, $(wc -l < "$TD_WORK/okill.filled") intent(s)" \
     "filled once each, archive equals the processor, replay exits 0"
