#!/usr/bin/env bash
# tapedeck compact after a crash, and on a tape with a gap, on the Dukascopy EURUSD days
# (2019-02-04 and -05), each in its own database and tape copy of one private PostgreSQL:
#   - reference: sink, then compact of both days, uninterrupted;
#   - crash: the same, but each day's compact is SIGKILLed at several moments and run again; the
#     run after the kills completes it, and a further run says "already done". Bars, performance
#     rows, seal records (but for their path and time) and sealed files equal the reference's;
#   - gap: an input event deleted from the tape (a missing event): compact refuses with exit 1,
#     naming the symbol and the offset, and writes no seal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
base="$TD_WORK/base"
tdb() { td --data-dir "$base" --config "$cfg" "$@"; }
import_duka_eurusd "$base" "$cfg" compact
tdb process > /dev/null
for copy in ref crash gap; do cp -a "$base" "$TD_WORK/$copy"; done

pg_start
for db in ref crash gap; do
  "$PG_BIN/createdb" "$db" || fail "createdb $db failed"
  PGDATABASE=$db td migrate > /dev/null || fail "migrate $db failed"
done
# tdx NAME ARGS...: tapedeck on the tape copy NAME, with database NAME
tdx() { local name=$1; shift; PGDATABASE=$name td --data-dir "$TD_WORK/$name" --config "$cfg" "$@"; }
# snapshot NAME: what compact leaves, without the times rows were written and the seal records' path
snapshot() {
  local q
  for q in "SELECT md5(string_agg(b::text, '|' ORDER BY symbol, timeframe_s, open_time)) FROM bars b" \
           "SELECT md5(string_agg(concat_ws(',', symbol, trading_day, trades, wins, win_rate, realized_pnl_e8, sharpe,
                   max_drawdown_e8), '|' ORDER BY symbol, trading_day)) FROM perf_daily" \
           "SELECT md5(coalesce(string_agg(h::text, '|' ORDER BY symbol, trading_day, hour), '')) FROM perf_hourly h" \
           "SELECT md5(string_agg(concat_ws(',', symbol, trading_day, bytes, file_sha256, content_sha256, day_digest,
                   input_first, input_last, input_count, output_first, output_last, output_count), '|'
                   ORDER BY symbol, trading_day)) FROM sealed_days"; do
    PGDATABASE=$1 pg_sql "$q"
  done
  (cd "$TD_WORK/$1" && sha256sum sealed/EURUSD/*.tdseal)
}

# the reference
tdx ref sink --once > /dev/null || fail "sink (ref) failed"
declare -A took_ms
for d in 2019-02-04 2019-02-05; do
  t0=$(date +%s%N)
  tdx ref compact --date "$d" > "$TD_WORK/ref.out" 2>&1 || { cat "$TD_WORK/ref.out"; fail "compact $d (ref) failed"; }
  took_ms[$d]=$((($(date +%s%N) - t0) / 1000000))
done
snapshot ref > "$TD_WORK/ref.snap"
[ "$(wc -l < "$TD_WORK/ref.snap")" -eq 6 ] || { cat "$TD_WORK/ref.snap"; fail "reference: expected 4 digests and 2 sealed files"; }

# the crash copy: SIGKILL after 10, 30, 50, 70 and 90 % of the time the day's reference compact
# took (so through its checks, its warehouse writes and its seal), then a full run
tdx crash sink --once > /dev/null || fail "sink (crash) failed"
kills=0
for d in 2019-02-04 2019-02-05; do
  for pct in 10 30 50 70 90; do
    ms=$((took_ms[$d] * pct / 100))
    PGDATABASE=crash "$TAPEDECK" --data-dir "$TD_WORK/crash" --config "$cfg" compact --date "$d" \
      > "$TD_WORK/crash.out" 2>&1 &
    pid=$! # the binary itself (not a shell function): the kill reaches it
    sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
    if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
    wait "$pid" 2> /dev/null || true
  done
  tdx crash compact --date "$d" > "$TD_WORK/crash.out" 2>&1 || { cat "$TD_WORK/crash.out"; fail "compact $d after the kills failed"; }
  tdx crash compact --date "$d" > "$TD_WORK/crash.out" 2>&1 || { cat "$TD_WORK/crash.out"; fail "a further compact $d failed"; }
  grep -q "already done" "$TD_WORK/crash.out" || { cat "$TD_WORK/crash.out"; fail "a further compact $d did something"; }
done
[ "$kills" -ge 6 ] || fail "only $kills of 10 SIGKILLs hit a running compact"
snapshot crash > "$TD_WORK/crash.snap"
diff "$TD_WORK/ref.snap" "$TD_WORK/crash.snap" || fail "compact after SIGKILLs left other tables or sealed files than an uninterrupted run"
pass "compact SIGKILLed $kills times over the two days (reference runs ${took_ms[2019-02-04]} and ${took_ms[2019-02-05]} ms), then run again: tables, seal records and sealed files equal an uninterrupted run's"

# the gap copy: the input 1000 before the last deleted (2019-02-05 holds over 100k of them)
n=$(td --data-dir "$TD_WORK/gap" dump --symbol EURUSD | wc -l)
[ "$n" -gt 200000 ] || fail "expected over 200k inputs on the tape, found $n"
off=$((n - 1000))
"$TAPE_TAMPER" "$TD_WORK/gap" delete input EURUSD "$off" || fail "tape_tamper delete failed"
tdx gap sink --once > /dev/null 2>&1 || true # the outputs are whole; the input stream stops at the gap
expect_exit 0 tdx gap compact --date 2019-02-04
expect_exit 1 tdx gap compact --date 2019-02-05
expect_err "EURUSD"
expect_err "$off"
[ ! -e "$TD_WORK/gap/sealed/EURUSD/20190205.tdseal" ] || fail "a day with a missing event was sealed"
[ "$(PGDATABASE=gap pg_sql "SELECT count(*) FROM sealed_days WHERE trading_day = '2019-02-05'")" -eq 0 ] ||
  fail "a day with a missing event has a seal record"
pass "a tape with a missing input event (offset $off) is refused naming the symbol and offset, and not sealed ($(head -1 "$TD_WORK/last.err"))"
