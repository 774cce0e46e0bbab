#!/usr/bin/env bash
# Issue 19, defect 1: execution reports whose fill takes a position value out of the int64 range
# are refused and counted by the processor, never fatal. A report beyond the protocol's bounds (a
# volume of 5e10 lots) gets ERR at the gateway; one within them can still overflow with its spec
# (1,000,000 lots of a 100,000,000-unit contract opened at 10,000,000 and closed at 0.00001: the
# P&L is 1e21) and is refused by the processor.
# Before the fix the service answered "BYE storage failure" and exited, and every restart and
# every `tapedeck process` failed at the same offset. Here the service (all roles, local tape,
# broker.mode external: the EA's reports drive the position) keeps acknowledging and processing,
# the later ticks build their bars, SIGTERM exits 0, the log names the refusal, `process` after a
# restart has nothing left to fail on, and `replay` of the day exits 0. No real data needed.
. "$(dirname "$0")/lib.sh"

kill_services_on_exit

cfg="$TD_WORK/config.yaml"
cat > "$cfg" <<'YAML'
tape:
  sync: none
broker:
  mode: external
gateway:
  listen: 127.0.0.1:0
  token: poison-token
YAML
dir="$TD_WORK/data"
start_service "$TD_WORK/run.out" "$TD_WORK/run.err" --data-dir "$dir" --config "$cfg" run
SVC_PID=$SVC

T=$'\t'
t0=1549238400000 # 2019-02-04 00:00:00 UTC, a Monday
{
  printf 'HELLO\t1\tversion=1\taccount=77\tterminal=it\ttoken=poison-token\n'
  printf 'SPEC\t2\tsymbol=EURUSD\ttime=%s\tdigits=5\tcontract_size=100000000\ttick_size=0.00001\ttick_value=1\tswap_long=0\tswap_short=0\tswap_mode=points\ttriple_swap_weekday=3\tvolume_step=0.01\tvolume_min=0.01\tvolume_max=100\n' "$t0"
  printf 'TICK\t3\tsymbol=EURUSD\ttime=%s\tbid=1.10000\task=1.10002\n' $((t0 + 1000))
  printf 'EXEC\t4\tsymbol=EURUSD\ttime=%s\tdeal=1\torder=1\tposition=1\tside=buy\tprice=10000000\tvolume=1000000\tcommission=0\tswap=0\tprofit=0\tstatus=filled\n' $((t0 + 2000))
  printf 'EXEC\t5\tsymbol=EURUSD\ttime=%s\tdeal=2\torder=2\tposition=1\tside=sell\tprice=0.00001\tvolume=1000000\tcommission=0\tswap=0\tprofit=0\tstatus=filled\n' $((t0 + 3000))
  seq=6
  for m in $(seq 1 70); do # ticks every minute past the first bar's end
    printf 'TICK\t%s\tsymbol=EURUSD\ttime=%s\tbid=1.10%03d\task=1.10%03d\n' "$seq" $((t0 + 60000 * m)) "$m" $((m + 2))
    seq=$((seq + 1))
  done
} > "$TD_WORK/poison.in"
last=$((6 + 70 - 1))
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/poison.in' >&3 && sleep 1.5 && printf 'HEARTBEAT\t$((last + 1))\ttime=$((t0 + 60000 * 71))\n' >&3 && sleep 1 && exec 3>&-" \
  > /dev/null 2>&1 || true
# beyond the protocol's bounds: ERR at the gateway, nothing appended
printf 'HELLO\t1\tversion=1\taccount=77\tterminal=it\ttoken=poison-token\nEXEC\t%s\tsymbol=EURUSD\ttime=%s\tdeal=3\tside=buy\tprice=1.1\tvolume=50000000000\tstatus=filled\n' \
  $((last + 2)) $((t0 + 60000 * 71)) > "$TD_WORK/huge.in"
timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/huge.in' >&3 && cat <&3" > "$TD_WORK/huge.out" 2> /dev/null || true
grep -qF "ERR${T}$((last + 2))${T}volume: expected lots from 0 to 1000000, found '50000000000'" "$TD_WORK/huge.out" ||
  fail "a volume of 5e10 lots was not refused by the gateway: $(tr '\t' ' ' < "$TD_WORK/huge.out")"
pass "a volume of 5e10 lots gets ERR at the gateway"
kill -0 "$SVC_PID" 2> /dev/null || { cat "$TD_WORK/run.err" >&2; fail "the service died on the poison reports"; }
grep -q "storage failure" "$TD_WORK/run.err" "$TD_WORK/run.out" && fail "the service reported a storage failure"
stop_expect "$SVC_PID" 0 "$TD_WORK/run.err" "tapedeck run after the poison reports"
pass "two out-of-range execution reports: the service stayed up and stopped with 0 on SIGTERM"

grep -q "execution report refused (TD_ERR_OVERFLOW)" "$TD_WORK/run.err" ||
  fail "the log does not name the refusal: $(grep -i refus "$TD_WORK/run.err" | head -3)"
pass "the log names the refused report: $(grep -o 'offset [0-9]*: execution report refused[^;]*' "$TD_WORK/run.err" | head -1)"

bars=$(td --data-dir "$dir" --config "$cfg" bars --symbol EURUSD --csv | tail -n +2 | wc -l)
[ "$bars" -ge 2 ] || fail "only $bars bar(s) after the poison reports"
td --data-dir "$dir" --config "$cfg" process > "$TD_WORK/process.out" 2> "$TD_WORK/process.err" ||
  { cat "$TD_WORK/process.err" >&2; fail "tapedeck process failed after the poison reports"; }
td --data-dir "$dir" --config "$cfg" replay --date 2019-02-04 > "$TD_WORK/replay.out" 2> "$TD_WORK/replay.err" ||
  { cat "$TD_WORK/replay.out" "$TD_WORK/replay.err" >&2; fail "replay of the day failed"; }
grep -q "equal" "$TD_WORK/replay.out" || fail "replay: $(cat "$TD_WORK/replay.out")"
pass "$bars bars built after them; process and replay of the day succeed (the refusal replays the same way)"
