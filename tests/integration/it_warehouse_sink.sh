#!/usr/bin/env bash
# The warehouse sink, exactly once: the Dukascopy EURUSD days (M1 bars, sma_cross) are imported and
# processed; the sink is SIGKILLed several times in the middle of its transactions, and PostgreSQL
# is restarted while the sink runs. After each kill the warehouse holds exactly the outputs below its
# recorded offset; at the end row counts and sums per table equal those computed from the tape's
# output stream (tapedeck dump), and no batch was ever committed twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/warehouse.sh"
need_data
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
printf 'bars:\n  timeframe: M1\nwarehouse:\n  retry_max_ms: 400\n  give_up_s: 60\n' >> "$cfg"
dir="$TD_WORK/tape"
tdc() { td --data-dir "$dir" --config "$cfg" "$@"; }
import_duka_eurusd "$dir" "$cfg" warehouse
tdc params push --symbol EURUSD --strategy sma_cross \
   --set fast=8,slow=30,direction=both,volume=1,sl_points=0,tp_points=0 --author tests --reason "second set" \
   --at 2019-02-06T00:00:00 > /dev/null
tdc process > /dev/null
td --data-dir "$dir" dump --stream output > "$TD_WORK/outputs.jsonl"
n_out=$(wc -l < "$TD_WORK/outputs.jsonl")
[ "$n_out" -gt 1000 ] || fail "only $n_out outputs: the test wants a long stream"

n_in=$(dump_inputs "$dir" "$TD_WORK/inputs.jsonl")
# the input events with a table (specs, parameter sets, execution reports), by offset
jq -r 'select(.kind == "symbol_spec" or .kind == "params_changed" or .kind == "execution_report") | .offset' \
   "$TD_WORK/inputs.jsonl" > "$TD_WORK/input_rows.txt"
[ "$(wc -l < "$TD_WORK/input_rows.txt")" -ge 3 ] || fail "the input stream lacks its specs and parameter sets"

# What the warehouse must hold, from the tape: per table a count and sums of its columns.
warehouse_want "$TD_WORK/outputs.jsonl" "$TD_WORK/inputs.jsonl" "$n_in" > "$TD_WORK/want.txt"
ALL=$WAREHOUSE_ALL

# The invariant at any instant: the rows are exactly the outputs 0 .. next_offset-1, once each, and
# every committed batch was counted once (rows_written).
check_prefix() {
  local state
  state=$(pg_sql "SELECT coalesce((SELECT next_offset || ' ' || rows_written FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'output'), '0 0')
                  || ' ' || (SELECT count(*) || ' ' || count(DISTINCT out_offset) || ' ' || coalesce(max(out_offset) + 1, 0) FROM ($ALL) x)")
  read -r next written rows distinct top <<< "$state"
  [ "$next" -eq "$written" ] && [ "$rows" -eq "$next" ] && [ "$distinct" -eq "$next" ] && [ "$top" -eq "$next" ] ||
    fail "$1: offset $next, rows_written $written, rows $rows ($distinct distinct, max+1 $top): not exactly the prefix"
  # the input stream: its rows are exactly the table events below its own offset
  state=$(pg_sql "SELECT coalesce((SELECT next_offset || ' ' || rows_written FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'input'), '0 0')
                  || ' ' || (SELECT count(*) || ' ' || coalesce(sum(in_offset), 0) FROM (SELECT in_offset FROM symbol_specs
                             UNION ALL SELECT in_offset FROM params_history UNION ALL SELECT in_offset FROM exec_reports) x)")
  read -r inext iwritten irows isum <<< "$state"
  local want_rows want_sum
  want_rows=$(awk -v n="$inext" '$1 < n' "$TD_WORK/input_rows.txt" | wc -l)
  want_sum=$(awk -v n="$inext" '$1 < n { s += $1 } END { print s + 0 }' "$TD_WORK/input_rows.txt")
  [ "$irows" -eq "$want_rows" ] && [ "$isum" -eq "$want_sum" ] && [ "$iwritten" -eq "$irows" ] ||
    fail "$1: input offset $inext: $irows input rows (offsets summing to $isum, rows_written $iwritten), the tape has $want_rows below it (sum $want_sum)"
  echo "$next"
}

# until_progress PID FUNCTION LAST: polls FUNCTION (a number) until it is above LAST or PID has ended
until_progress() {
  for _ in $(seq 600); do
    [ "$($2)" -gt "$3" ] && return 0
    kill -0 "$1" 2> /dev/null || return 0
    sleep 0.05
  done
}

pg_start
expect_exit 3 td --data-dir "$dir" --config "$cfg" sink --once
expect_err "run tapedeck migrate"
td migrate > /dev/null
expect_exit 3 env PGPORT=1 "$TAPEDECK" --data-dir "$dir" --config "$cfg" --set warehouse.give_up_s=1 sink --once
expect_err "PostgreSQL unreachable for 1 s, giving up"
pass "an unreachable PostgreSQL is retried, then given up after warehouse.give_up_s (exit 3)"
for bad in 0 17 two; do
  expect_exit 2 td --data-dir "$dir" --config "$cfg" sink --once --sessions "$bad"
  expect_err "--sessions expects"
done
expect_exit 2 td --data-dir "$dir" --config "$cfg" --set warehouse.sessions=17 sink --once
expect_err "warehouse.sessions"
pass "--sessions and warehouse.sessions outside 1..16 are refused (exit 2)"

# 1. SIGKILL inside transactions: batches of 10 rows, each held open 25 ms before COMMIT (ten
#    seconds at least for the stream, so that five kills land before its end on a loaded machine).
#    Each kill waits (polling, not a fixed delay) until the sink has committed a batch beyond the
#    previous kill's offset, then lands a few ms later - mostly inside the next one.
out_offset() {
  pg_sql "SELECT coalesce((SELECT next_offset FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'output'), 0)"
}
kills=0 last=0
for delay in 0.035 0.06 0.02 0.045 0.01; do
  "$TAPEDECK" --data-dir "$dir" --config "$cfg" sink --once --batch-rows 10 --hold-ms 25 > /dev/null 2> "$TD_WORK/kill.err" &
  pid=$!
  until_progress "$pid" out_offset "$last"
  sleep "$delay"
  if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2> /dev/null || true
  at=$(check_prefix "after SIGKILL $kills")
  [ "$at" -gt "$last" ] || { cat "$TD_WORK/kill.err" >&2; fail "the sink made no progress after $last, or went back ($at)"; }
  last=$at
done
[ "$kills" -ge 4 ] || fail "only $kills of 5 SIGKILLs hit a running sink"
[ "$last" -lt "$n_out" ] || fail "after the kills the sink is at $last of $n_out: the kills did not land mid-stream"
pass "$kills SIGKILLs mid-transaction: the warehouse always held exactly outputs 0..$((last - 1)) (of $n_out)"

# 2. PostgreSQL restarted while the sink runs (and holds a transaction open)
"$TAPEDECK" --data-dir "$dir" --config "$cfg" sink --once --batch-rows 10 --hold-ms 25 > "$TD_WORK/restart.out" 2> "$TD_WORK/restart.err" &
pid=$!
until_progress "$pid" out_offset "$last"
mid=$(check_prefix "before the restart")
pg_restart
wait "$pid" || { cat "$TD_WORK/restart.err" >&2; fail "the sink did not survive a PostgreSQL restart"; }
grep -qE "lost PostgreSQL|PostgreSQL unreachable" "$TD_WORK/restart.err" || { cat "$TD_WORK/restart.err" >&2; fail "the sink did not log the lost database"; }
grep -q "reachable again" "$TD_WORK/restart.err" || { cat "$TD_WORK/restart.err" >&2; fail "the sink did not log the reconnect"; }
[ "$mid" -lt "$n_out" ] || fail "the restart came after the sink had finished"
pass "PostgreSQL restarted at output $mid of $n_out: the sink logged it, reconnected and finished"

# 3. the end: equal to the tape, and a further run writes nothing
expect_exit 0 td --data-dir "$dir" --config "$cfg" sink --once
grep -q "^sink: 0 row(s)" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "a run after the end wrote rows"; }
check_prefix "at the end" > /dev/null
warehouse_summary > "$TD_WORK/got.txt"
diff "$TD_WORK/want.txt" "$TD_WORK/got.txt" || fail "the warehouse differs from the tape (want < > got)"
[ "$(pg_sql "SELECT next_offset FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'output'")" -eq "$n_out" ] || fail "the stored offset is not the stream's end"
[ "$(pg_sql "SELECT count(*) FROM day_index WHERE stream = 'input'")" -eq 2 ] || fail "day_index lacks the 2 days"
[ "$(pg_sql "SELECT count(*) FROM pg_inherits WHERE inhparent = 'bars'::regclass")" -ge 1 ] || fail "no month partition of bars"
[ "$(pg_sql "SELECT next_offset FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'input'")" -eq "$n_in" ] || fail "the stored input offset is not the stream's end"
pass "after $kills SIGKILLs and a PostgreSQL restart, counts and sums of all 10 tables equal the tape's ($n_out outputs, $n_in inputs)"

# 3b. a replayed range: both offsets set back to 0 (as after restoring an old offset table). The
#     direct COPY meets existing keys, its savepoint is rolled back and the batches go through the
#     staging + upsert path: the warehouse is the same afterwards, nothing doubled.
pg_sql "UPDATE sink_offsets SET next_offset = 0, rows_written = 0 WHERE symbol = 'EURUSD'"
expect_exit 0 td --data-dir "$dir" --config "$cfg" sink --once
grep -qE " [1-9][0-9]* upserted" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "a replayed range was not upserted"; }
check_prefix "after a replayed range" > /dev/null
warehouse_summary > "$TD_WORK/got_replayed.txt"
diff "$TD_WORK/want.txt" "$TD_WORK/got_replayed.txt" || fail "after a replayed range the warehouse differs from the tape (want < > got)"
pass "a replayed range (offsets set back to 0): upserted, the warehouse still equals the tape"

# 3c. SIGKILL inside input-stream batches: the warehouse loses its input rows and input offset (the
#     outputs stay complete), then a sink with batches of one row, each held open 400 ms, is killed
#     three times while it writes the input stream - each kill waits (polling) until the sink has
#     committed beyond the previous kill's offset. After each kill the input tables hold exactly
#     the tape's table events below the input offset; at the end they equal the tape's.
in_offset() {
  pg_sql "SELECT coalesce((SELECT next_offset FROM sink_offsets WHERE symbol = 'EURUSD' AND stream = 'input'), 0)"
}
pg_sql "DELETE FROM symbol_specs WHERE symbol = 'EURUSD'; DELETE FROM params_history WHERE symbol = 'EURUSD';
        DELETE FROM exec_reports WHERE symbol = 'EURUSD';
        UPDATE sink_offsets SET next_offset = 0, rows_written = 0 WHERE symbol = 'EURUSD' AND stream = 'input'"
check_prefix "the input stream emptied" > /dev/null
ikills=0 ilast=0
for delay in 0.1 0.25 0.05; do
  "$TAPEDECK" --data-dir "$dir" --config "$cfg" sink --once --batch-rows 1 --hold-ms 400 > /dev/null 2> "$TD_WORK/kill.err" &
  pid=$!
  until_progress "$pid" in_offset "$ilast"
  sleep "$delay"
  killed=0
  if kill -9 "$pid" 2> /dev/null; then killed=1; fi
  wait "$pid" 2> /dev/null || true
  check_prefix "after a SIGKILL in the input stream" > /dev/null
  at=$(in_offset)
  [ "$at" -gt "$ilast" ] || { cat "$TD_WORK/kill.err" >&2; fail "the sink made no progress in the input stream after $ilast, or went back ($at)"; }
  [ "$killed" -eq 1 ] && [ "$at" -lt "$n_in" ] && ikills=$((ikills + 1))
  ilast=$at
done
[ "$ikills" -ge 2 ] || fail "only $ikills of 3 SIGKILLs hit a sink inside the input stream"
expect_exit 0 td --data-dir "$dir" --config "$cfg" sink --once
check_prefix "the input stream after its kills" > /dev/null
warehouse_summary > "$TD_WORK/got_inputs.txt"
diff "$TD_WORK/want.txt" "$TD_WORK/got_inputs.txt" || fail "after SIGKILLs in the input stream the warehouse differs from the tape (want < > got)"
[ "$(in_offset)" -eq "$n_in" ] || fail "the stored input offset is not the stream's end"
pass "$ikills SIGKILLs inside input-stream batches: the input tables always held exactly the tape's rows below the offset, and equal the tape's at the end"

# 4. follow mode: a running sink picks up what a later `process` appends (its read-only opens race
#    with process's flushes and compactions: it must outlive them), and stops on SIGTERM
tdc params push --symbol GBPUSD --strategy sma_cross --set fast=5,slow=20,direction=both,volume=1,sl_points=0,tp_points=0 \
   --author tests --reason warehouse --at 2019-02-04T00:00:00 > /dev/null
tdc import --format dukascopy-csv --symbol GBPUSD --day-end last "$TD_SHARED_DATA/ticks/dukascopy-eurusd-2019-02-04_05.csv" > /dev/null
"$TAPEDECK" --data-dir "$dir" --config "$cfg" --set warehouse.poll_ms=100 sink > "$TD_WORK/follow.out" 2> "$TD_WORK/follow.err" &
pid=$!
tdc process > /dev/null
for _ in $(seq 1 100); do
  [ "$(pg_sql "SELECT coalesce((SELECT next_offset FROM sink_offsets WHERE symbol = 'GBPUSD' AND stream = 'output'), 0)")" -eq "$n_out" ] && break
  kill -0 "$pid" 2> /dev/null || break
  sleep 0.1
done
kill -TERM "$pid" 2> /dev/null || { cat "$TD_WORK/follow.err" >&2; fail "the following sink had exited while process ran"; }
wait "$pid" || { cat "$TD_WORK/follow.err" >&2; fail "the following sink did not stop cleanly on SIGTERM"; }
[ "$(pg_sql "SELECT count(*) FROM bars WHERE symbol = 'GBPUSD'")" -eq "$(pg_sql "SELECT count(*) FROM bars WHERE symbol = 'EURUSD'")" ] ||
  fail "the following sink did not write GBPUSD's bars"
pass "a following sink wrote a stream processed while it ran, and stopped on SIGTERM"

# 5. two sessions at once (warehouse.sessions), each over its own symbol: the warehouse is emptied
#    and a two-session sink with batches of 10 rows held open 25 ms is SIGKILLed three times. Both
#    symbols' streams must have been mid-way at once (two sessions really wrote side by side, both
#    creating the same month partition first); after each kill each symbol holds exactly its outputs
#    below its own offset, and at the end the warehouse equals the tape's two symbols.
td --data-dir "$dir" dump --stream output > "$TD_WORK/outputs2.jsonl"
n_in2=$(dump_inputs "$dir" "$TD_WORK/inputs2.jsonl")
warehouse_want "$TD_WORK/outputs2.jsonl" "$TD_WORK/inputs2.jsonl" "$n_in2" > "$TD_WORK/want2.txt"
pg_sql "TRUNCATE bars, signals, order_intents, fills, position_changes, closed_trades, day_digests, day_index,
        symbol_specs, params_history, exec_reports, sink_offsets; DROP TABLE IF EXISTS bars_201902" > /dev/null
# per symbol: "SYMBOL next_offset rows distinct max+1" for the output stream
sym_state() {
  pg_sql "SELECT s.symbol || ' ' || coalesce(o.next_offset, 0) || ' ' || count(x.out_offset) || ' ' ||
                 count(DISTINCT x.out_offset) || ' ' || coalesce(max(x.out_offset) + 1, 0)
          FROM (VALUES ('EURUSD'), ('GBPUSD')) s(symbol)
          LEFT JOIN sink_offsets o ON o.symbol = s.symbol AND o.stream = 'output'
          LEFT JOIN (SELECT symbol, out_offset FROM bars UNION ALL SELECT symbol, out_offset FROM signals
                     UNION ALL SELECT symbol, out_offset FROM order_intents UNION ALL SELECT symbol, out_offset FROM fills
                     UNION ALL SELECT symbol, out_offset FROM position_changes
                     UNION ALL SELECT symbol, out_offset FROM closed_trades
                     UNION ALL SELECT symbol, out_offset FROM day_digests) x ON x.symbol = s.symbol
          GROUP BY s.symbol, o.next_offset ORDER BY s.symbol"
}
both_offsets() { sym_state | awk '{ s += $2 } END { print s }'; }
both_mid=0 skills=0
for delay in 0.03 0.05 0.02; do
  "$TAPEDECK" --data-dir "$dir" --config "$cfg" sink --once --sessions 2 --batch-rows 10 --hold-ms 25 \
    > /dev/null 2> "$TD_WORK/kill2.err" &
  pid=$!
  until_progress "$pid" both_offsets "$(both_offsets)"
  sleep "$delay"
  if kill -9 "$pid" 2> /dev/null; then
    skills=$((skills + 1))
    wait "$pid" 2> /dev/null || true
  else # it ended before the kill: it must have finished, not failed (two sessions creating one partition)
    wait "$pid" || { cat "$TD_WORK/kill2.err" >&2; fail "the two-session sink failed on its own"; }
  fi
  while read -r sym next rows distinct top; do
    [ "$rows" -eq "$next" ] && [ "$distinct" -eq "$next" ] && [ "$top" -eq "$next" ] ||
      { cat "$TD_WORK/kill2.err" >&2; fail "two sessions, after SIGKILL $skills: $sym at offset $next holds $rows rows ($distinct distinct, max+1 $top)"; }
  done <<< "$(sym_state)"
  [ "$(sym_state | awk -v n="$n_out" '$2 > 0 && $2 < n' | wc -l)" -eq 2 ] && both_mid=1
done
[ "$skills" -ge 2 ] || fail "only $skills of 3 SIGKILLs hit the two-session sink"
[ "$both_mid" -eq 1 ] || fail "the two symbols were never mid-stream at once: the sessions did not write side by side ($(sym_state | tr '\n' ';'))"
expect_exit 0 td --data-dir "$dir" --config "$cfg" sink --once --sessions 2
grep -q "from 2 stream(s)" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "the two-session run did not visit both symbols"; }
warehouse_summary > "$TD_WORK/got2.txt"
diff "$TD_WORK/want2.txt" "$TD_WORK/got2.txt" || fail "after a two-session sink and its kills the warehouse differs from the tape (want < > got)"
pass "two sessions side by side, $skills SIGKILLs: each symbol always held exactly its outputs below its offset, and the warehouse equals the tape's two symbols at the end"
