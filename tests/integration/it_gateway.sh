#!/usr/bin/env bash
# The gateway end to end on real ticks: `feed` -> gateway -> local tape gives exactly the ticks
# `import` gives; a gateway killed with SIGKILL mid-stream and restarted, and a feed killed
# mid-stream and restarted with its state file, still leave every tick on the tape exactly once.
# Prints the ingest rate of one connection (ticks/s, --fast) without asserting it.
. "$(dirname "$0")/lib.sh"
need_data
csv="$TD_SHARED_DATA/ticks/dukascopy-eurusd-2019-02-04_05.csv"
N_TICKS=266219

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
write_config "$cfg"
cat >> "$cfg" <<'YAML'
gateway:
  token: it-s3cret
YAML

# start_gateway DIR LISTEN: runs the gateway in the background ($GW = its pid, $PORT = its port)
start_gateway() {
  local dir=$1 listen=$2
  mkdir -p "$dir"
  : > "$dir/gw.out"
  start_service "$dir/gw.out" "$dir/gw.err" --data-dir "$dir" --config "$cfg" --set "gateway.listen=$listen" \
    run --role gateway
  GW=$SVC
}

stop_gateway() {
  kill -TERM "$GW"
  set +e
  wait "$GW"
  local rc=$?
  set -e
  [ "$rc" -eq 0 ] || { cat "$1/gw.err" >&2; fail "the gateway exited $rc on SIGTERM"; }
}

# wait_acked STATE MIN: until the feed's state file says at least MIN were acknowledged (<= 30 s)
wait_acked() {
  local i a
  for i in $(seq 300); do
    a=$(sed -n 's/^acked=\([0-9]*\).*/\1/p' "$1" 2> /dev/null || true)
    [ -n "$a" ] && [ "$a" -ge "$2" ] && return 0
    sleep 0.1
  done
  fail "the feed did not get to $2 acknowledged lines"
}

# (time, bid, ask) of every tick; dump's fields are in a fixed order: symbol, offset, kind, time,
# time_ms, source, bid, ask, ...
ticks() { td --data-dir "$1" dump --symbol EURUSD | awk -F, '$3 == "\"kind\":\"tick\"" { print $5, $7, $8 }'; }

FEED_ARGS=(--config "$cfg" feed --token it-s3cret --format dukascopy-csv --symbol EURUSD)
feed() { td --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token it-s3cret --format dukascopy-csv \
            --symbol EURUSD "$@" "$csv"; }

# the reference: the same file through import
td --data-dir "$TD_WORK/ref" --config "$cfg" import --format dukascopy-csv --symbol EURUSD "$csv" > /dev/null
ticks "$TD_WORK/ref" > "$TD_WORK/ref.ticks"
[ "$(wc -l < "$TD_WORK/ref.ticks")" -eq "$N_TICKS" ] || fail "reference import: $(wc -l < "$TD_WORK/ref.ticks") ticks"

# 1. end to end, as fast as possible
start_gateway "$TD_WORK/e2e" 127.0.0.1:0
expect_exit 0 feed --account 1001 --fast --state "$TD_WORK/e2e.state"
grep -q "acked up to $((N_TICKS + 2)) of $((N_TICKS + 2))" "$TD_WORK/last.out" || fail "feed: $(cat "$TD_WORK/last.out")"
echo "benchmark: gateway ingest, one connection, --fast, tape.sync=none: $(grep -o '[0-9]* lines/s' "$TD_WORK/last.out")" \
     "($(grep -o '[0-9.]* s,' "$TD_WORK/last.out" | tr -d ,) for $N_TICKS ticks)"
stop_gateway "$TD_WORK/e2e"
grep -q "gateway stopped: .* $((N_TICKS + 1)) event(s) appended" "$TD_WORK/e2e/gw.out" || fail "gateway summary: $(cat "$TD_WORK/e2e/gw.out")"
ticks "$TD_WORK/e2e" > "$TD_WORK/e2e.ticks"
cmp "$TD_WORK/ref.ticks" "$TD_WORK/e2e.ticks" || fail "the gateway's ticks differ from import's"
[ "$(td --data-dir "$TD_WORK/e2e" dump --symbol EURUSD --limit 1 | grep -c '"kind":"symbol_spec"')" -eq 1 ] ||
  fail "the stream does not start with the feed's symbol spec"
pass "feed -> gateway -> tape: $N_TICKS ticks equal to import's (time, bid, ask), SIGTERM exits 0"
# the feed's window (default 4096 lines sent and not acknowledged): the gateway saw at most that
# many new lines per burst, so it committed at least once per 4096 lines (unbounded: ~10 commits)
commits=$(sed -n 's/.* \([0-9]*\) commit(s).*/\1/p' "$TD_WORK/e2e/gw.out")
[ -n "$commits" ] && [ "$commits" -ge $(((N_TICKS + 2 + 4095) / 4096)) ] ||
  fail "feed --window 4096: the gateway committed ${commits:-?} times for $((N_TICKS + 2)) lines"
pass "feed --fast keeps at most its window (4096 lines) unacknowledged: $commits gateway commits"

# a second feed of the same account with the first one's state file: the gateway has it all,
# nothing is appended twice (without the state file the feed would number its lines after the
# gateway's, as another day's: it_gateway_seq.sh)
start_gateway "$TD_WORK/e2e" 127.0.0.1:0
expect_exit 0 feed --account 1001 --fast --state "$TD_WORK/e2e.state"
grep -q "0 lines sent" "$TD_WORK/last.out" || fail "a repeated feed sent lines: $(cat "$TD_WORK/last.out")"
stop_gateway "$TD_WORK/e2e"
ticks "$TD_WORK/e2e" | cmp - "$TD_WORK/ref.ticks" || fail "a repeated feed changed the tape"
pass "a repeated feed of the same account with its state file appends nothing (WELCOME acked=N)"

# 2. the gateway killed with SIGKILL mid-stream and restarted on the same port
start_gateway "$TD_WORK/crash" 127.0.0.1:0
"$TAPEDECK" "${FEED_ARGS[@]}" --gateway "127.0.0.1:$PORT" "$csv" --account 2002 --speed 80000 --retry-s 20 --state "$TD_WORK/crash.state" > "$TD_WORK/crash.out" 2> "$TD_WORK/crash.err" &
FEED=$!
PIDS+=("$FEED")
wait_acked "$TD_WORK/crash.state" 60000
kill -9 "$GW"
wait "$GW" 2> /dev/null || true
start_gateway "$TD_WORK/crash" "127.0.0.1:$PORT"
set +e
wait "$FEED"
rc=$?
set -e
[ "$rc" -eq 0 ] || { cat "$TD_WORK/crash.err" >&2; fail "feed exited $rc after the gateway's restart"; }
grep -qE "[1-9][0-9]* reconnect" "$TD_WORK/crash.out" || fail "feed did not reconnect: $(cat "$TD_WORK/crash.out")"
stop_gateway "$TD_WORK/crash"
ticks "$TD_WORK/crash" | cmp - "$TD_WORK/ref.ticks" || fail "after the gateway's SIGKILL the tape's ticks differ"
pass "gateway SIGKILLed mid-stream and restarted: every tick once ($(grep -o '[0-9]* resent' "$TD_WORK/crash.out"))"

# 3. the feed killed with SIGKILL mid-stream (its connection drops), restarted with its state file
start_gateway "$TD_WORK/drop" 127.0.0.1:0
"$TAPEDECK" "${FEED_ARGS[@]}" --gateway "127.0.0.1:$PORT" "$csv" --account 3003 --speed 80000 --state "$TD_WORK/drop.state" > "$TD_WORK/drop.out" 2>&1 &
FEED=$!
PIDS+=("$FEED")
wait_acked "$TD_WORK/drop.state" 60000
kill -9 "$FEED"
wait "$FEED" 2> /dev/null || true
expect_exit 0 feed --account 3003 --fast --state "$TD_WORK/drop.state"
grep -q "acked up to $((N_TICKS + 2)) of" "$TD_WORK/last.out" || fail "restarted feed: $(cat "$TD_WORK/last.out")"
stop_gateway "$TD_WORK/drop"
grep -q "duplicate(s) dropped" "$TD_WORK/drop/gw.out" || fail "gateway summary missing"
ticks "$TD_WORK/drop" | cmp - "$TD_WORK/ref.ticks" || fail "after the feed's SIGKILL the tape's ticks differ"
pass "feed SIGKILLed mid-stream and restarted with --state: every tick once ($(grep -o '[0-9]* lines sent ([0-9]* resent)' "$TD_WORK/last.out"))"
