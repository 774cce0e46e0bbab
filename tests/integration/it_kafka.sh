#!/usr/bin/env bash
# The live pipeline on Kafka (journal.mode kafka) against librdkafka's mock cluster (3 brokers, in
# the td_kafka_mock process this test starts): `tapedeck run --role archiver`, `--role processor`
# and `--role gateway`, each its own process and data directory, fed by `tapedeck feed` with the
# OANDA EURUSD ticks of 2014-05-04 and 2014-05-05 (the 4th closes when the 5th begins; ~26k ticks,
# well under the mock's ~5 MiB per partition). The reference is the same feed into `tapedeck run`
# on the local tape. Three runs on Kafka, each on a fresh mock cluster:
#   1. clean: the archiver's tape has every input and output, its day digests and output events
#      equal the reference's, and `replay --date` exits 0 on it for both days;
#   2. every broker down for 4 s mid-stream, then injected Produce errors: the same digests;
#   3. each role killed with SIGKILL mid-stream and restarted: the same digests.
. "$(dirname "$0")/lib.sh"
need_data
[ -x "${TD_KAFKA_MOCK:-}" ] || { echo "SKIP: td_kafka_mock not built"; exit 77; }
EUR="$TD_SHARED_DATA/ticks/lean-oanda-eurusd"
FILES=("$EUR/20140504_eurusd_tick_quote.csv" "$EUR/20140505_eurusd_tick_quote.csv")
for f in "${FILES[@]}"; do [ -f "$f" ] || { echo "SKIP: $f not found"; exit 77; }; done

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done
  exec 3>&- 2> /dev/null || true
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
YAML

# feed ARGS...: the two days to the gateway at $PORT, bounded in time
feed() {
  timeout 300 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --account 1001 \
     --retry-s 60 --format lean-ticks --symbol EURUSD "$@" "${FILES[@]}"
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
pass "reference on the local tape: $N_IN inputs, $N_OUT outputs"

# ---- the Kafka runs ----
# start_mock NAME: a fresh mock cluster, its control on fd 3, its bootstrap servers in $BOOT
start_mock() {
  exec 3>&- 2> /dev/null || true
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
     --set gateway.listen="127.0.0.1:$listen" run --role "$r" >> "$TD_WORK/$run.$r.out" 2>> "$TD_WORK/$run.$r.err" &
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
pass "kafka: gateway, processor, archiver: $N_IN inputs and $N_OUT outputs archived; days, outputs and inputs equal the local tape's; replay exits 0"

# 2. every broker down for 4 s mid-stream, then injected Produce errors
start_mock down
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
check down
pass "every broker down for 4 s mid-stream, then Produce errors: nothing lost or doubled, same digests"

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
