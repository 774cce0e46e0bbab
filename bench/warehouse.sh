#!/usr/bin/env bash
# Warehouse benchmarks: the sink and compact over the 2.02M OANDA XAUUSD ticks (13 days,
# ../shared/data) processed with M1 bars, into a private PostgreSQL 15 started as the tests start it
# (tests/integration/pg.sh: fsync off, synchronous_commit off). Usage: bench/warehouse.sh [BUILD_DIR]
# (default ./build). Prints td_bench lines: the sink into an emptied warehouse (direct COPY and the
# staging + upsert path, two batch sizes), then compact of three days and of a SYNTHETIC 2M-tick day,
# then the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build}
td=$PWD/$build/cli/tapedeck
bench=$PWD/$build/bench/td_bench
data=$PWD/../shared/data/ticks/lean-oanda-xauusd
[ -x "$td" ] && [ -x "$bench" ] || { echo "build first: ./ops/build.sh" >&2; exit 2; }
[ -d "$data" ] || { echo "needs ../shared/data (real ticks)" >&2; exit 2; }
TD_WORK=$(mktemp -d "${TMPDIR:-/tmp}/tapedeck-whbench.XXXXXX")
fail() { echo "bench: $*" >&2; exit 3; }
. "$src/tests/integration/pg.sh"
trap 'pg_stop; rm -rf "$TD_WORK"' EXIT
cat > "$TD_WORK/c.yaml" <<YAML
tape:
  sync: none
  batch_events: 4096
bars:
  timeframe: M1
symbols:
  XAUUSD:
    digits: 3
    contract_size: 100
YAML
T() { "$td" --data-dir "$TD_WORK/tape" --config "$TD_WORK/c.yaml" "$@"; }
T params push --symbol XAUUSD --strategy breakout \
  --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
  --author bench --reason bench --at 2014-05-01T00:00:00 > /dev/null
T import --format lean-ticks --symbol XAUUSD "$data"/*.csv > /dev/null
T process > /dev/null
pg_start
trap 'pg_stop; rm -rf "$TD_WORK"' EXIT # pg_start set its own trap (pg_stop only): the work folder went with it
"$td" migrate > /dev/null
outputs=$(T dump --stream output | wc -l)
echo "tapedeck warehouse benchmark: $outputs output rows, 2.02M inputs, $(nproc) cores, $(date -u +%Y-%m-%d)"
empty() { pg_sql "TRUNCATE bars, signals, order_intents, fills, position_changes, closed_trades, day_digests, day_index,
                  symbol_specs, params_history, exec_reports, sink_offsets, perf_daily, perf_hourly, sealed_days"; }
# the sink into an empty warehouse: both paths, two batch sizes. td_bench's rate is output rows per
# second of the whole command (the input stream's 2.02M events are scanned too; their 2 rows are
# specs and parameter sets). The sink's debug log gives each stream's wall time and the sink's own
# CPU time in it; the PostgreSQL backend's CPU time is the growth of the postmaster's reaped
# children's time (/proc/PID/stat cutime + cstime) over the run, autovacuum off so that no worker
# adds to it: on a loaded machine these CPU times say more than the wall times.
pg_sql "ALTER SYSTEM SET autovacuum = off" > /dev/null && pg_sql "SELECT pg_reload_conf()" > /dev/null
tck=$(getconf CLK_TCK)
backend_ms() { sleep 0.5; awk -v t="$tck" '{ print int(($16 + $17) * 1000 / t) }' "/proc/$(head -1 "$PG_DIR/data/postmaster.pid")/stat"; }
for direct in true false; do
  for rows in 10000 50000; do
    empty
    b0=$(backend_ms)
    "$bench" "sink (direct_copy $direct, batch $rows)" "$outputs" -- "$td" --data-dir "$TD_WORK/tape" \
      --config "$TD_WORK/c.yaml" --set warehouse.direct_copy=$direct --set log.level=debug \
      sink --once --batch-rows "$rows" 2> "$TD_WORK/sink.log"
    b1=$(backend_ms)
    read -r ms cpu <<< "$(sed -nE 's/.*outputs 0\.\..* written: .* in ([0-9]+) ms, ([0-9]+) ms CPU.*/\1 \2/p' "$TD_WORK/sink.log")"
    read -r ims icpu <<< "$(sed -nE 's/.*inputs 0\.\..* written: .* in ([0-9]+) ms, ([0-9]+) ms CPU.*/\1 \2/p' "$TD_WORK/sink.log")"
    printf '  output phase alone: %d rows in %d ms = %d rows/s; CPU: sink %d ms, PostgreSQL backend %d ms (whole run)\n' \
      "$outputs" "$ms" $(( outputs * 1000 / (ms > 0 ? ms : 1) )) "$cpu" $(( b1 - b0 ))
    printf '  input scan: 2.02M events in %d ms, sink CPU %d ms\n' "$ims" "$icpu"
  done
done
# PostgreSQL alone, for scale: the same output rows (as the last run left them) saved as binary COPY
# files and loaded back by psql's \copy into the emptied tables in one transaction - the sink's
# output phase without the tape, the encoding and the round trips of the offsets. Three runs.
out_tables="bars signals order_intents fills position_changes closed_trades day_digests"
for t in $out_tables; do "$PG_BIN/psql" -X -q -c "\copy (SELECT * FROM $t) TO '$TD_WORK/$t.copy' (FORMAT binary)"; done
for run in 1 2 3; do
  empty
  { echo '\timing on'; echo 'BEGIN;'
    for t in $out_tables; do echo "\copy $t FROM '$TD_WORK/$t.copy' (FORMAT binary)"; done
    echo 'COMMIT;'; } > "$TD_WORK/floor.sql"
  ms=$("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -f "$TD_WORK/floor.sql" | awk '/^Time:/ { s += $2 } END { printf "%d", s }')
  printf '  PostgreSQL alone (psql \\copy of the same %d rows, one transaction): %d ms = %d rows/s\n' \
    "$outputs" "$ms" $(( outputs * 1000 / (ms > 0 ? ms : 1) ))
done
pg_sql "ALTER SYSTEM RESET autovacuum" > /dev/null && pg_sql "SELECT pg_reload_conf()" > /dev/null
for day in 2014-05-02 2014-05-07 2014-05-15; do
  "$bench" "compact $day" 1 -- "$td" --data-dir "$TD_WORK/tape" --config "$TD_WORK/c.yaml" compact --date "$day"
done
# compact of a 2M-tick day (issue 4: <= 5 s). No real day has that many ticks, so this one is
# SYNTHETIC, not market data: a deterministic random walk (MINSTD generator, seed 20140520; a tick
# every 43.2 ms, -2..+2 steps of 0.01, spread 0.34) written as Lean ticks for 2014-05-20, after the
# real days; imported, processed and sunk like them, then compacted. /usr/bin/time gives the CPU time,
# which depends less than the wall time on what else the machine runs.
syn="$TD_WORK/20140520_xauusd_tick_quote.csv"
awk -v n=2000000 'BEGIN { x = 20140520; p = 1290000
  for (i = 0; i < n; i++) { x = (x * 48271) % 2147483647; p += (x % 5 - 2) * 10
    printf "%.1f,%.3f,%.3f\n", i * 43.2 + x % 7, p / 1000, (p + 340) / 1000 } }' > "$syn"
echo "SYNTHETIC day 2014-05-20: $(wc -l < "$syn") ticks, sha256 $(sha256sum "$syn" | cut -c1-16)"
T import --format lean-ticks --symbol XAUUSD "$syn" > /dev/null
T process > /dev/null
T sink --once > /dev/null
/usr/bin/time -f "  CPU: %U s user + %S s system, peak RSS %M KiB" \
  "$bench" "compact 2014-05-20 (SYNTHETIC, 2M ticks)" 2000000 -- "$td" --data-dir "$TD_WORK/tape" --config "$TD_WORK/c.yaml" \
  compact --date 2014-05-20
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
