#!/usr/bin/env bash
# Issue 19, defect 2: an order goes only to the account that trades its symbol. `tapedeck run`
# (all roles, broker.mode external, M1 bars) with EURUSD traded by account 1001
# (symbols.EURUSD.account) and every other symbol by 2002 (gateway.account); two EA sessions over
# bash /dev/tcp at once, each sending its own symbol's ticks, whose sma_cross 1/2 crosses make
# intents. Checked:
#   1. with both accounts connected, each receives ORDER lines, and only of its own symbols;
#   2. a TICK of EURUSD from account 2002 gets ERR naming the symbol and its account, and is not
#      appended;
#   3. once 1001 has gone, neither a new session of 2002 (the resend of 1001's pending intent) nor
#      a heartbeat of 2002 that closes EURUSD's bar (a new intent) sends a EURUSD order to 2002:
#      the new intent waits and is recorded as expired after router.max_age_ms.
# Before the fix the router wrote to "the" open session: with two open, to none (1. fails).
. "$(dirname "$0")/lib.sh"

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
cat > "$cfg" <<'YAML'
tape:
  sync: none
bars:
  timeframe: M1
broker:
  mode: external
router:
  max_age_ms: 1500
gateway:
  listen: 127.0.0.1:0
  token: acct-token
  account: "2002"
symbols:
  EURUSD:
    account: "1001"
YAML
dir="$TD_WORK/data"
for s in EURUSD XAUUSD; do
  td --data-dir "$dir" --config "$cfg" params push --symbol "$s" --strategy sma_cross \
     --set fast=1,slow=2,direction=both,volume=0.1 --author tests --reason it_gateway_accounts \
     --at 2019-02-04T00:00:00 > /dev/null
done
start_service "$TD_WORK/run.out" "$TD_WORK/run.err" --data-dir "$dir" --config "$cfg" run
grep -q "processor and order router" "$TD_WORK/run.out" || fail "startup line: $(cat "$TD_WORK/run.out")"

t0=1549238400000 # 2019-02-04 00:00:00 UTC, a Monday
# bar closes of minutes 0..3: up (the sign's start), down (cross: sell), up (cross: buy, closed by
# the next bar's first event)
prices=(1.10000 1.10100 1.10050 1.10150)
hello() { printf 'HELLO\t1\tversion=1\taccount=%s\tterminal=it\ttoken=acct-token\n' "$1"; }
ticks() { # SYMBOL DIGITS: its SPEC (seq 2), then one tick in each of minutes 0..3 (seq 3..6)
  local m
  printf 'SPEC\t2\tsymbol=%s\ttime=%s\tdigits=%s\tcontract_size=100000\ttick_size=0.00001\ttick_value=1\tswap_long=0\tswap_short=0\tswap_mode=points\ttriple_swap_weekday=3\tvolume_step=0.01\tvolume_min=0.01\tvolume_max=100\n' "$1" "$t0" "$2"
  for m in 0 1 2 3; do
    printf 'TICK\t%s\tsymbol=%s\ttime=%s\tbid=%s\task=%s\n' $((3 + m)) "$1" $((t0 + 60000 * m + 1000)) \
      "${prices[$m]}" "${prices[$m]}"
  done
}
# wait_for FILE REGEX SECONDS: polls until FILE has a line matching REGEX
wait_for() {
  local i
  for i in $(seq $(($3 * 20))); do
    grep -qE "$2" "$1" 2> /dev/null && return 0
    sleep 0.05
  done
  return 1
}
# open_session N ACCOUNT OUT: fd N connected, HELLO sent, the gateway's lines copied to OUT by a
# reader in the background (its pid in READER)
open_session() {
  eval "exec $1<>/dev/tcp/127.0.0.1/$PORT"
  cat <&"$1" > "$3" &
  READER=$!
  PIDS+=("$READER")
  hello "$2" >&"$1"
  wait_for "$3" '^WELCOME' 5 || fail "account $2: no WELCOME: $(cat "$3")"
}
close_session() { # N READER
  kill "$2" 2> /dev/null || true
  wait "$2" 2> /dev/null || true
  eval "exec $1>&-"
}

a_out="$TD_WORK/a.out" b_out="$TD_WORK/b.out"
open_session 3 1001 "$a_out"
a_reader=$READER
open_session 4 2002 "$b_out"
b_reader=$READER

# 1. both connected: each account's ticks make an intent, sent to that account only
ticks EURUSD 5 >&3
ticks XAUUSD 5 >&4
wait_for "$a_out" '^ACK	6$' 5 || fail "account 1001: no ACK 6: $(cat "$a_out")"
wait_for "$b_out" '^ACK	6$' 5 || fail "account 2002: no ACK 6: $(cat "$b_out")"
wait_for "$a_out" '^ORDER	' 5 || fail "account 1001 received no ORDER with 2002 connected: $(cat "$a_out")"
wait_for "$b_out" '^ORDER	' 5 || fail "account 2002 received no ORDER with 1001 connected: $(cat "$b_out")"
grep '^ORDER' "$a_out" | grep -qv 'symbol=EURUSD' && fail "account 1001 received another symbol's order: $(cat "$a_out")"
grep '^ORDER' "$b_out" | grep -q 'symbol=EURUSD' && fail "account 2002 received a EURUSD order: $(cat "$b_out")"
pass "two accounts connected: 1001 got $(grep -c '^ORDER' "$a_out") EURUSD order(s), 2002 $(grep -c '^ORDER' "$b_out") XAUUSD order(s)"

# 2. a EURUSD tick from 2002: ERR naming the symbol and the account that trades it, not appended
printf 'TICK\t7\tsymbol=EURUSD\ttime=%s\tbid=1.2\task=1.2\n' $((t0 + 60000 * 3 + 2000)) >&4
wait_for "$b_out" '^ERR	7	' 5 || fail "no ERR for a EURUSD tick from 2002: $(cat "$b_out")"
grep -E '^ERR	7	' "$b_out" | grep -q 'EURUSD' || fail "the ERR does not name the symbol: $(grep '^ERR' "$b_out")"
grep -E '^ERR	7	' "$b_out" | grep -q '1001' || fail "the ERR does not name account 1001: $(grep '^ERR' "$b_out")"
pass "a EURUSD tick from account 2002: $(grep -E '^ERR	7	' "$b_out" | cut -f3)"

# 3. 1001 leaves; 2002 reconnects (a new session: the resend of pending intents) and its
# heartbeat closes EURUSD's minute-3 bar (a cross: a new EURUSD intent). The refused tick took
# number 7 in its session only (nothing refused is recorded): the new session expects 7 again.
close_session 3 "$a_reader"
close_session 4 "$b_reader"
open_session 4 2002 "$TD_WORK/b2.out"
b_reader=$READER
printf 'HEARTBEAT\t7\ttime=%s\n' $((t0 + 60000 * 4 + 1000)) >&4
wait_for "$TD_WORK/b2.out" '^ACK	7$' 5 || fail "account 2002: no ACK 7: $(cat "$TD_WORK/b2.out")"
wait_for "$TD_WORK/run.err" 'expired intent=EURUSD[^ ]* symbol=EURUSD' 10 ||
  fail "the EURUSD intent made with 1001 away was not expired: $(grep router "$TD_WORK/run.err" | tail -5)"
grep -q 'symbol=EURUSD' "$TD_WORK/b2.out" && fail "account 2002 received a EURUSD order: $(cat "$TD_WORK/b2.out")"
close_session 4 "$b_reader"
stop_expect "$SVC" 0 "$TD_WORK/run.err" "tapedeck run"
[ "$(td --data-dir "$dir" dump --symbol EURUSD | jq -c 'select(.kind == "tick" and .bid == "1.2")' | wc -l)" -eq 0 ] ||
  fail "the refused EURUSD tick is on the tape"
td --data-dir "$dir" dump --symbol EURUSD |
  jq -e -s '[.[] | select(.kind == "execution_report" and .source == "router")] | length >= 1' > /dev/null ||
  fail "no expiry report on EURUSD's input stream"
pass "1001 away: no EURUSD order reached 2002 (reconnect, heartbeat); the new intent expired"
