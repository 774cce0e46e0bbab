#!/usr/bin/env bash
# The gateway against bad clients (bash /dev/tcp): no token, a wrong token, no HELLO in time, an
# oversized line, garbage bytes, an unknown verb, too many errors, a slow client that never ends
# a line, lines dated ahead of the clock, one session too many - each gets its ERR/BYE or close -
# and a resend is dropped, not appended twice. Afterwards the same gateway still serves a good client. No real data needed.
. "$(dirname "$0")/lib.sh"

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
cat > "$cfg" <<'YAML'
tape:
  sync: none
gateway:
  listen: 127.0.0.1:0
  token: bad-input-token
  max_connections: 3
  max_errors: 3
  auth_timeout_ms: 500
  idle_timeout_ms: 700
YAML
dir="$TD_WORK/gw"
start_service "$TD_WORK/gw.out" "$TD_WORK/gw.err" --data-dir "$dir" --config "$cfg" run --role gateway
GW=$SVC
grep -q "writing to the local tape in $dir" "$TD_WORK/gw.out" || fail "startup line: $(cat "$TD_WORK/gw.out")"

T=$'\t'
HELLO="HELLO${T}1${T}version=1${T}account=77${T}terminal=it${T}token=bad-input-token"
tick() { printf 'TICK\t%s\tsymbol=EURUSD\ttime=%s\tbid=1.10000\task=1.10002\n' "$1" "$2"; }

# session NAME: sends $TD_WORK/NAME.in, then reads everything until the gateway closes (<= 5 s;
# every session here ends by the gateway closing it, at the latest by the idle timeout)
session() {
  local name=$1
  timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/$name.in' >&3 && cat <&3" \
    > "$TD_WORK/$name.out" 2> /dev/null || true
}
expect_line() { grep -qF -- "$2" "$TD_WORK/$1.out" || fail "$1: no '$2' in: $(tr '\t' ' ' < "$TD_WORK/$1.out")"; }
gateway_alive() { kill -0 "$GW" 2> /dev/null || { cat "$TD_WORK/gw.err" >&2; fail "the gateway died after $1"; }; }

printf 'HELLO\t1\tversion=1\taccount=77\tterminal=it\n' > "$TD_WORK/notoken.in"
session notoken
expect_line notoken "ERR${T}1${T}token: expected in HELLO, found nothing"
expect_line notoken "BYE${T}authentication failed"
printf 'HELLO\t1\tversion=1\taccount=77\tterminal=it\ttoken=guess\n%s\n' "$(tick 2 1549238400000)" > "$TD_WORK/wrong.in"
session wrong
expect_line wrong "ERR${T}1${T}token: refused"
expect_line wrong "BYE${T}authentication failed"
grep -q "ACK" "$TD_WORK/wrong.out" && fail "a line after a wrong token was acknowledged"
tick 1 1549238400000 > "$TD_WORK/nohello.in"
session nohello
expect_line nohello "verb: expected HELLO first"
: > "$TD_WORK/silent.in"
session silent
expect_line silent "BYE${T}no HELLO in time"
gateway_alive "bad HELLOs"
pass "no token, a wrong token, no HELLO first, no HELLO in time: ERR/BYE and closed"

# after a good HELLO: an oversized line, garbage bytes and an unknown verb each get ERR and the
# connection goes on (a good tick in between is acknowledged); the 4th error closes it
{
  echo "$HELLO"
  tick 2 1549238400000
  head -c 5000 /dev/zero | tr '\0' 'x'; echo
  printf 'TICK\t3\t\001\377garbage\n'
  printf 'FROB\t4\ta=b\n'
  tick 5 1549238400100
  printf 'TICK\t6\tsymbol=EURUSD\ttime=1549238400200\tbid=abc\task=1\n'
  tick 7 1549238400300
} > "$TD_WORK/errors.in"
session errors
expect_line errors "WELCOME${T}version=1${T}acked=1" # an account's first HELLO takes number 1
expect_line errors "ERR${T}0${T}line: expected at most 4095 bytes"
expect_line errors "ERR${T}3${T}line: expected printable ASCII and TABs, found byte 0x01"
expect_line errors "ERR${T}4${T}verb: expected HELLO, TICK, SPEC, EXEC, ACCOUNT or HEARTBEAT, found 'FROB'"
expect_line errors "ACK${T}5"
expect_line errors "ERR${T}6${T}bid: expected"
expect_line errors "BYE${T}too many errors"
grep -q "ACK${T}7" "$TD_WORK/errors.out" && fail "a line after the closing error was acknowledged"
[ "$(tail -n 1 "$TD_WORK/errors.out")" = "BYE${T}too many errors" ] || fail "BYE is not the last line (the burst's ACK goes before it)"
gateway_alive "malformed lines"
pass "oversized line, garbage bytes, unknown verb, bad value: ERR each; the 4th error closes with BYE"

# a slow client that never ends its line is closed by the idle timeout
{ echo "$HELLO"; printf 'TICK\t8\tsymbol=EURUSD\ttime=15492384'; } > "$TD_WORK/slow.in"
t0=$(date +%s%N)
session slow
t1=$(date +%s%N)
expect_line slow "BYE${T}idle timeout"
[ $(((t1 - t0) / 1000000)) -lt 4000 ] || fail "the slow client was closed only after $(((t1 - t0) / 1000000)) ms"
gateway_alive "a slow client"
pass "a slow client that never ends a line: BYE idle timeout after $(((t1 - t0) / 1000000)) ms"

# a resend after a reconnect: WELCOME says acked=N (the highest appended; refused lines do not
# count), lines <= N are acknowledged again and dropped, N + 1 is taken
{ echo "$HELLO"; tick 5 1549238400100; tick 6 1549238400400; } > "$TD_WORK/resend.in"
session resend
expect_line resend "WELCOME${T}version=1${T}acked=5"
expect_line resend "ACK${T}6"
gateway_alive "a resend"

# a tick dated tomorrow and a HEARTBEAT dated 2030 (issue 19, defect 3): ERR each, not appended
# and not acknowledged, so they close no trading day; the next session resumes at acked=6
now_ms=$(date +%s%3N)
{ echo "$HELLO"; tick 7 $((now_ms + 86400000)); printf 'HEARTBEAT\t8\ttime=1893456000000\n'; } > "$TD_WORK/ahead.in"
session ahead
expect_line ahead "ERR${T}7${T}time: expected at most 10000 ms ahead of the gateway's clock"
expect_line ahead "ERR${T}8${T}time: expected at most 10000 ms ahead of the gateway's clock"
grep -q "^ACK" "$TD_WORK/ahead.out" && fail "a line ahead of the clock was acknowledged: $(tr '\t' ' ' < "$TD_WORK/ahead.out")"
gateway_alive "lines ahead of the clock"
pass "a tick a day ahead and a heartbeat dated 2030: ERR each, nothing appended or acknowledged"

# one session too many: max_connections counts sessions (connections awaiting HELLO have their
# own budget, it_gateway_auth.sh): three sessions are served, the fourth HELLO gets BYE
exec 4<>/dev/tcp/127.0.0.1/$PORT 5<>/dev/tcp/127.0.0.1/$PORT 6<>/dev/tcp/127.0.0.1/$PORT
for fd in 4 5 6; do
  printf 'HELLO\t1\tversion=1\taccount=8%s\tterminal=it\ttoken=bad-input-token\n' "$fd" >&$fd
  IFS= read -r -t 3 -u $fd line || fail "session $fd: no WELCOME"
  [ "${line%%$T*}" = "WELCOME" ] || fail "session $fd: '$line'"
done
printf 'HELLO\t1\tversion=1\taccount=89\tterminal=it\ttoken=bad-input-token\n' > "$TD_WORK/fourth.in"
session fourth
expect_line fourth "BYE${T}too many connections"
grep -q "WELCOME" "$TD_WORK/fourth.out" && fail "the fourth session was welcomed"
exec 4>&- 5>&- 6>&-
gateway_alive "too many connections"
pass "max_connections: the fourth session's HELLO gets BYE"

# the gateway still serves a good client, then stops on SIGTERM; the tape holds ticks 2, 5 and 6
# once each (the resent 5 was dropped)
sleep 0.6 # the closed idle connections are gone
{ echo "$HELLO"; tick 7 1549238400500; printf 'HEARTBEAT\t8\ttime=1549238400600\n'; } > "$TD_WORK/good.in"
session good
expect_line good "WELCOME${T}version=1${T}acked=6"
expect_line good "ACK${T}8"
kill -TERM "$GW"
set +e
wait "$GW"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "the gateway exited $rc on SIGTERM"
grep -q "gateway stopped: .* 4 event(s) appended, 1 duplicate(s) dropped, [0-9]* error(s) (2 ahead of the clock, 0 sequence gap(s), 0 of another account's symbol)" "$TD_WORK/gw.out" ||
  fail "summary: $(cat "$TD_WORK/gw.out")"
td --data-dir "$dir" dump --symbol EURUSD | awk -F, '$3 == "\"kind\":\"tick\"" { print $5 }' > "$TD_WORK/ticks"
printf '"time_ms":%s\n' 1549238400000 1549238400100 1549238400400 1549238400500 | cmp - "$TD_WORK/ticks" ||
  fail "the tape's ticks: $(cat "$TD_WORK/ticks")"
grep -q "auth failure" "$TD_WORK/gw.err" || fail "no auth failure in the log"
pass "a resend is dropped, a good client is served after all that, SIGTERM exits 0; the tape holds each tick once"
