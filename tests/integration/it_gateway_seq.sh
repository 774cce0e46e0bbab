#!/usr/bin/env bash
# Issue 19, defect 4: sequence numbers have no gaps (bash /dev/tcp and `tapedeck feed` against
# `tapedeck run --role gateway`). A jump (2 then 1000, or 2^64-1) gets ERR "seq: expected N" and is
# neither appended nor recorded, so the next line in order is still taken; before, 1000 was
# acknowledged and 3..999 dropped as duplicates, and 2^64-1 took every later number of the account.
# An EA (here `feed`) that comes back without its sequence file continues above the gateway's
# WELCOME acked=N instead of sending lines the gateway drops. No real data needed.
. "$(dirname "$0")/lib.sh"

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
cat > "$cfg" <<'YAML'
tape:
  sync: none
gateway:
  listen: 127.0.0.1:0
  token: seq-token
  max_errors: 5
  idle_timeout_ms: 5000
YAML
dir="$TD_WORK/gw"
start_service "$TD_WORK/gw.out" "$TD_WORK/gw.err" --data-dir "$dir" --config "$cfg" run --role gateway
GW=$SVC

T=$'\t'
hello() { printf 'HELLO\t1\tversion=1\taccount=%s\tterminal=it-seq\ttoken=seq-token%s\n' "$1" "${2:-}"; }
tick() { printf 'TICK\t%s\tsymbol=EURUSD\ttime=%s\tbid=1.10000\task=1.10002\n' "$1" "$2"; }
t0=1549238400000 # 2019-02-04 00:00:00 UTC

# session NAME LAST: sends $TD_WORK/NAME.in, reads the replies until the one that starts with LAST
# (bounded: 5 s), then closes
session() {
  local name=$1 last=$2
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/$name.in' >&3 &&
    while IFS= read -r line <&3; do printf '%s\n' \"\$line\"; case \"\$line\" in \"$last\"*) break ;; esac; done" \
    > "$TD_WORK/$name.out" 2> /dev/null || true
}
expect_line() { grep -qF -- "$2" "$TD_WORK/$1.out" || fail "$1: no '$2' in: $(tr '\t' ' ' < "$TD_WORK/$1.out")"; }
alive() { kill -0 "$GW" 2> /dev/null || { cat "$TD_WORK/gw.err" >&2; fail "the gateway died after $1"; }; }
ticks_on_tape() { # the EURUSD tick times on the tape, one per line
  td --data-dir "$dir" dump --symbol EURUSD | awk -F, '$3 == "\"kind\":\"tick\"" { print $5 }'
}

# 1. seq 2, then 1000: ERR for 1000, nothing of it appended; 3 is taken next
{ hello 88; tick 2 "$t0"; tick 1000 $((t0 + 1000)); tick 3 $((t0 + 3000)); } > "$TD_WORK/jump.in"
session jump "ACK${T}3"
expect_line jump "WELCOME${T}version=1${T}acked=1"
expect_line jump "ERR${T}1000${T}seq: expected 3, found 1000"
expect_line jump "ACK${T}3"
grep -q "^ACK${T}1000" "$TD_WORK/jump.out" && fail "the jump to 1000 was acknowledged"
alive "a jump"
printf '"time_ms":%s\n' "$t0" $((t0 + 3000)) | cmp -s - <(ticks_on_tape) ||
  fail "after 2, 1000, 3 the tape's ticks are: $(ticks_on_tape | tr '\n' ' ')"
pass "seq 2, then 1000: ERR 'seq: expected 3, found 1000', not on the tape; 3 is acknowledged"

# 2. seq 2^64-1: ERR, and later lines of the account are still taken (the next session too)
{ hello 88; tick 18446744073709551615 $((t0 + 4000)); tick 4 $((t0 + 5000)); } > "$TD_WORK/max.in"
session max "ACK${T}4"
expect_line max "WELCOME${T}version=1${T}acked=3"
expect_line max "ERR${T}18446744073709551615${T}seq: expected 4, found 18446744073709551615"
expect_line max "ACK${T}4"
{ hello 88; tick 5 $((t0 + 6000)); } > "$TD_WORK/after.in"
session after "ACK${T}5"
expect_line after "WELCOME${T}version=1${T}acked=4"
expect_line after "ACK${T}5"
alive "seq 2^64-1"
[ "$(ticks_on_tape | wc -l)" -eq 4 ] || fail "the tape holds $(ticks_on_tape | wc -l) EURUSD ticks, expected 4"
pass "seq 2^64-1: ERR, not recorded (WELCOME acked=3 then 4); 4 and 5 of the account are taken"

# 3. a reset is explicit, authenticated and logged: HELLO reset=1 with a wrong token changes
# nothing; with the token the gateway records 0 for the account (WELCOME acked=1: the HELLO is the
# first number again), logs it at WARN with the peer and terminal, and the next session starts from it
printf 'HELLO\t1\tversion=1\taccount=88\tterminal=it-seq\ttoken=guess\treset=1\n' > "$TD_WORK/badreset.in"
session badreset "BYE"
expect_line badreset "ERR${T}1${T}token: refused"
{ hello 88; } > "$TD_WORK/still.in"
session still "WELCOME"
expect_line still "WELCOME${T}version=1${T}acked=5"
{ hello 88 "${T}reset=1"; } > "$TD_WORK/reset.in"
session reset "WELCOME"
expect_line reset "WELCOME${T}version=1${T}acked=1"
grep -q 'level=warn .*sequence reset peer=127\.0\.0\.1:[0-9]* account=88 terminal=\\"it-seq\\": acked 5 -> 0' "$TD_WORK/gw.err" ||
  fail "no WARN line for the reset: $(grep -i reset "$TD_WORK/gw.err")"
{ hello 88; tick 2 $((t0 + 7000)); tick 3 $((t0 + 8000)); } > "$TD_WORK/restart.in"
session restart "ACK${T}3"
expect_line restart "WELCOME${T}version=1${T}acked=1"
expect_line restart "ACK${T}3"
[ "$(ticks_on_tape | wc -l)" -eq 6 ] || fail "after the reset the tape holds $(ticks_on_tape | wc -l) EURUSD ticks, expected 6"
alive "a reset"
pass "HELLO reset=1: refused with a wrong token; with the token logged at WARN, the account restarts at 1"

# 4. `tapedeck feed`, two days one after the other on the same account, the second with a fresh
# state file (an EA that lost its sequence file): the second day's lines are numbered after the
# gateway's WELCOME acked=N and appended. Before, the second feed sent 0 lines, exited 0 and
# appended nothing: its numbers 2.. were all below N, dropped as resends.
feed_day() { # feed_day DATE STATE: the synthetic demo day's first hour, account 99
  timeout 60 "$TAPEDECK" --config "$cfg" feed --gateway "127.0.0.1:$PORT" --token seq-token --account 99 --fast \
    --synthetic demo --date "$1" --hours 1 --state "$2" > "$TD_WORK/feed-$1.out" 2> "$TD_WORK/feed-$1.err" ||
    { cat "$TD_WORK/feed-$1.err" >&2; fail "feed of $1 exited $?"; }
}
ticks_of_day() { # the ticks on the tape dated DATE, every symbol
  td --data-dir "$dir" dump | grep '"kind":"tick"' | grep -c "\"time\":\"$1T" || true
}
feed_day 2024-01-02 "$TD_WORK/day1.state"
n1=$(ticks_of_day 2024-01-02)
sent1=$(sed -n 's/^tapedeck feed: \([0-9]*\) ticks of .*/\1/p' "$TD_WORK/feed-2024-01-02.out")
[ "$n1" -gt 0 ] && [ "$n1" -eq "$sent1" ] || fail "day 1: $n1 ticks on the tape, the feed had $sent1"
feed_day 2024-01-03 "$TD_WORK/day2.state"
n2=$(ticks_of_day 2024-01-03)
sent2=$(sed -n 's/^tapedeck feed: \([0-9]*\) ticks of .*/\1/p' "$TD_WORK/feed-2024-01-03.out")
[ "$n2" -gt 0 ] && [ "$n2" -eq "$sent2" ] ||
  fail "day 2 with a fresh state file: $n2 of its $sent2 ticks on the tape ($(tail -1 "$TD_WORK/feed-2024-01-03.out"))"
acked1=$(sed -n 's/.* acked up to \([0-9]*\) of .*/\1/p' "$TD_WORK/feed-2024-01-02.out")
grep -q "up to $acked1, .* numbered $((acked1 + 1)) and on" "$TD_WORK/feed-2024-01-03.err" ||
  fail "the second feed did not say how it numbers its lines: $(cat "$TD_WORK/feed-2024-01-03.err")"
[ "$(ticks_of_day 2024-01-02)" -eq "$n1" ] || fail "day 1's ticks changed with day 2"
alive "two days on one account"
pass "feed: two days on account 99, the second with a fresh state file: $n1 + $n2 ticks on the tape"
