#!/usr/bin/env bash
# The gateway against clients that never log in (issue 19, defect 6), over bash /dev/tcp on
# 127.0.0.1: idle connections that never say HELLO cannot keep an EA out (they have their own
# budget, gateway.max_unauthenticated, and the oldest is closed to make room); repeated wrong
# tokens from one address block it for a cool-down (gateway.auth_max_failures within
# gateway.auth_failure_window_ms: gateway.auth_cooldown_ms); and a flood of refused connections
# writes a bounded number of log lines, which still account for every refusal. No real data needed.
. "$(dirname "$0")/lib.sh"

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
cat > "$cfg" <<'YAML'
tape:
  sync: none
gateway:
  listen: 127.0.0.1:0
  token: auth-token
  max_connections: 3
  max_unauthenticated: 2
  auth_timeout_ms: 4000
  idle_timeout_ms: 4000
  auth_max_failures: 3
  auth_failure_window_ms: 10000
  auth_cooldown_ms: 1000
YAML
dir="$TD_WORK/gw"
start_service "$TD_WORK/gw.out" "$TD_WORK/gw.err" --data-dir "$dir" --config "$cfg" run --role gateway
GW=$SVC

T=$'\t'
gateway_alive() { kill -0 "$GW" 2> /dev/null || { cat "$TD_WORK/gw.err" >&2; fail "the gateway died after $1"; }; }

# ea NAME ACCOUNT TOKEN: a new connection says HELLO and one tick (seq 2) and reads the gateway's
# lines into $TD_WORK/NAME.out until its ACK or a BYE (each read waits at most 3 s); the connection
# is closed afterwards.
ea() {
  local name=$1 account=$2 token=$3 line
  : > "$TD_WORK/$name.out"
  exec 3<> "/dev/tcp/127.0.0.1/$PORT"
  printf 'HELLO\t1\tversion=1\taccount=%s\tterminal=it\ttoken=%s\n' "$account" "$token" >&3
  printf 'TICK\t2\tsymbol=EURUSD\ttime=1549238400000\tbid=1.10000\task=1.10002\n' >&3
  for _ in 1 2 3 4; do
    IFS= read -r -t 3 -u 3 line || break
    printf '%s\n' "$line" >> "$TD_WORK/$name.out"
    case $line in ACK* | BYE*) break ;; esac
  done
  exec 3>&-
}
expect_line() { grep -qF -- "$2" "$TD_WORK/$1.out" || fail "$1: no '$2' in: $(tr '\t' ' ' < "$TD_WORK/$1.out")"; }

# more idle connections than max_unauthenticated (and than max_connections), all held open: the
# EA's HELLO on a new connection still gets WELCOME and its tick ACK
idle=()
for _ in 1 2 3 4 5; do
  exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"
  idle+=("$fd")
done
ea held 51 auth-token
expect_line held "WELCOME${T}version=1${T}acked=1" # an account's first HELLO takes number 1
expect_line held "ACK${T}2"
# the oldest idle connection was closed to make room, with a BYE that says why
IFS= read -r -t 3 -u "${idle[0]}" first || fail "the oldest idle connection got no BYE"
[ "$first" = "BYE${T}too many connections awaiting HELLO" ] || fail "the oldest idle connection got '$first'"
for fd in "${idle[@]}"; do exec {fd}>&-; done
gateway_alive "idle connections"
pass "5 idle connections held open (budget 2): the oldest get BYE, an EA's HELLO still gets WELCOME and ACK"

# three wrong tokens from 127.0.0.1 within the window: the next connection gets BYE naming the
# throttle at once, even with the right token
for i in 1 2 3; do
  ea wrong$i 52 guess$i
  expect_line wrong$i "BYE${T}authentication failed"
done
t0=$(date +%s%N)
ea blocked 52 auth-token
expect_line blocked "BYE${T}too many failed logins from this address; retry later"
grep -q "WELCOME" "$TD_WORK/blocked.out" && fail "a blocked address was welcomed"
grep -q "auth throttle address=127.0.0.1 failures=3 cooldown_ms=1000" "$TD_WORK/gw.err" ||
  fail "no throttle line in the log: $(grep gateway "$TD_WORK/gw.err" | tail -3)"
# the cool-down (1 s) ends: the right token is welcomed again (tries every 0.2 s, at most 3 s;
# the refused tries neither count nor extend it)
for _ in $(seq 15); do
  ea after 52 auth-token
  grep -q "WELCOME" "$TD_WORK/after.out" && break
  expect_line after "BYE${T}too many failed logins from this address; retry later"
  sleep 0.2
done
t1=$(date +%s%N)
expect_line after "ACK${T}2"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 900 ] || fail "the address was welcomed again after $ms ms, before the 1000 ms cool-down"
gateway_alive "wrong tokens"
pass "3 wrong tokens: BYE naming the throttle, even for the right token; welcomed again after $ms ms"

# a flood of 200 connections that never say HELLO, held open (budget 2): 198 of them are closed
# to make room, yet the log gets at most one "refused" line per second, each with the count of
# the lines held back since the one before (the rest are written when the gateway stops)
N=200
start_s=$(date +%s)
flood=()
for _ in $(seq $N); do
  exec {fd}<> "/dev/tcp/127.0.0.1/$PORT"
  flood+=("$fd")
done
# the last connection was accepted once the oldest it pushed out got its BYE
IFS= read -r -t 3 -u "${flood[$((N - 3))]}" line || fail "the flood's 198th connection got no BYE"
[ "$line" = "BYE${T}too many connections awaiting HELLO" ] || fail "the flood's 198th connection got '$line'"
for fd in "${flood[@]}"; do exec {fd}>&-; done
gateway_alive "a flood of connections"
elapsed=$(($(date +%s) - start_s + 1))
kill -TERM "$GW"
set +e
wait "$GW"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "the gateway exited $rc on SIGTERM"
refused=$(sed -n 's/.*gateway stopped: [0-9]* connection(s), \([0-9]*\) refused.*/\1/p' "$TD_WORK/gw.out")
[ -n "$refused" ] && [ "$refused" -ge $((N - 2)) ] || fail "summary: $(cat "$TD_WORK/gw.out")"
# every warning of the gateway, in any words: at most one line per second and kind (refused,
# auth failure, auth throttle) over the whole run, the sections above included, and the summaries
# of the held-back lines at the stop
warnings=$(grep -c 'level=warn module=gateway' "$TD_WORK/gw.err" || true)
[ "$warnings" -le $((3 * (elapsed + 1) + 3)) ] ||
  fail "$warnings gateway warnings in the log for $refused refusals in about $elapsed s"
lines=$(grep -c 'msg="refused peer=' "$TD_WORK/gw.err" || true)
held=$(grep 'msg="refused ' "$TD_WORK/gw.err" | sed -n 's/.* suppressed=\([0-9]*\).*/\1/p' | awk '{ n += $1 } END { print n + 0 }')
[ $((lines + held)) -eq "$refused" ] ||
  fail "the log accounts for $lines written + $held held back refusals, the summary says $refused"
pass "$refused refused connections: $warnings warning(s) in the log, $lines refused line(s), $held held back and counted"
