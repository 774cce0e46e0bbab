#!/usr/bin/env bash
# The sink at scale: about 1M output rows, almost all M1 bars, into a private PostgreSQL 15 (as the
# tests start it: fsync off, synchronous_commit off), beside PostgreSQL alone loading the same bars.
# The data is SYNTHETIC, not market data: 4 symbols x 174 days, one tick a minute (a deterministic
# random walk, MINSTD generator, written as Lean tick files), so that every minute closes one bar.
# Usage: bench/warehouse_scale.sh [BUILD_DIR] [DAYS]   (defaults: ./build, 174)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build}
days=${2:-174}
td=$PWD/$build/cli/tapedeck
[ -x "$td" ] || { echo "build first: ./ops/build.sh" >&2; exit 2; }
TD_WORK=$(mktemp -d "${TMPDIR:-/tmp}/tapedeck-whscale.XXXXXX")
fail() { echo "bench: $*" >&2; exit 3; }
. "$src/tests/integration/pg.sh"
trap 'rm -rf "$TD_WORK"' EXIT
symbols="SYNA SYNB SYNC SYND"
{ printf 'tape:\n  sync: none\nbars:\n  timeframe: M1\nsymbols:\n'
  for s in $symbols; do printf '  %s:\n    digits: 3\n    contract_size: 100\n' "$s"; done; } > "$TD_WORK/c.yaml"
T() { "$td" --data-dir "$TD_WORK/tape" --config "$TD_WORK/c.yaml" "$@"; }
seed=1
for s in $symbols; do
  mkdir -p "$TD_WORK/$s"
  awk -v days="$days" -v seed="$seed" -v dir="$TD_WORK/$s" -v sym="$(echo "$s" | tr A-Z a-z)" 'BEGIN {
    x = seed; p = 1290000
    for (d = 0; d < days; d++) {
      t = 1388534400 + d * 86400
      cmd = "date -u -d @" t " +%Y%m%d"; cmd | getline ymd; close(cmd)
      f = dir "/" ymd "_" sym "_tick_quote.csv"
      for (m = 0; m < 1440; m++) { x = (x * 48271) % 2147483647; p += (x % 5 - 2) * 10
        printf "%d,%.3f,%.3f\n", m * 60000 + 30000, p / 1000, (p + 340) / 1000 > f }
      close(f) } }'
  T import --format lean-ticks --symbol "$s" "$TD_WORK/$s"/*.csv > /dev/null
  seed=$((seed + 1))
done
T process > /dev/null
outputs=$(T dump --stream output | wc -l)
pg_start
trap 'pg_stop; rm -rf "$TD_WORK"' EXIT
"$td" migrate > /dev/null
pg_sql "ALTER SYSTEM SET autovacuum = off" > /dev/null && pg_sql "SELECT pg_reload_conf()" > /dev/null
echo "tapedeck warehouse scale benchmark: SYNTHETIC $(echo $symbols | wc -w) symbols x $days days, $outputs output rows, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M') UTC"
empty() { pg_sql "TRUNCATE bars, signals, order_intents, fills, position_changes, closed_trades, day_digests, day_index,
                  symbol_specs, params_history, exec_reports, sink_offsets, perf_daily, perf_hourly, sealed_days" > /dev/null
          pg_sql "CHECKPOINT" > /dev/null; }
# each run: the whole command's rate (its rows over its wall time: both streams of every symbol, the
# scan of every input tick included) and, with one session, the output streams' own rate from the
# debug log (their written time, one symbol after the other)
sink_run() { # direct_copy batch_rows sessions
  empty
  T --set warehouse.direct_copy="$1" --set log.level=debug sink --once --batch-rows "$2" --sessions "$3" \
    > "$TD_WORK/sink.out" 2> "$TD_WORK/sink.log"
  read -r n ms cpu <<< "$(sed -nE 's/.*outputs 0\.\..* written: ([0-9]+) row\(s\) in ([0-9]+) ms, ([0-9]+) ms CPU.*/\1 \2 \3/p' \
    "$TD_WORK/sink.log" | awk '{ n += $1; ms += $2; cpu += $3 } END { print n, ms, cpu }')"
  printf '  sink (direct_copy %s, batch %d, %d session(s)): %s' "$1" "$2" "$3" \
    "$(sed -nE 's/^sink: ([0-9]+ row\(s\)).*, ([0-9.]+ s \([0-9]+ rows\/s\)).*/\1 in \2/p' "$TD_WORK/sink.out")"
  [ "$3" -gt 1 ] || printf '; output streams %d rows in %d ms = %d rows/s, sink CPU %d ms' \
    "$n" "$ms" $(( n * 1000 / (ms > 0 ? ms : 1) )) "$cpu"
  printf '\n'
}
for sessions in 1 2; do
  for direct in true false; do
    sink_run "$direct" 50000 "$sessions"
  done
done
sink_run true 200000 2
# PostgreSQL alone: the bars as the last run left them, saved as two binary COPY files (half the
# symbols each) and loaded into the emptied table by one session, then by two at once
n_bars=$(pg_sql "SELECT count(*) FROM bars" | tr -d ' ')
"$PG_BIN/psql" -X -q -c "\copy (SELECT * FROM bars WHERE symbol < 'SYNC') TO '$TD_WORK/a.copy' (FORMAT binary)"
"$PG_BIN/psql" -X -q -c "\copy (SELECT * FROM bars WHERE symbol >= 'SYNC') TO '$TD_WORK/b.copy' (FORMAT binary)"
now_ms() { date +%s%3N; }
for run in 1 2; do
  empty
  t0=$(now_ms)
  "$PG_BIN/psql" -X -q -c "\copy bars FROM '$TD_WORK/a.copy' (FORMAT binary)" -c "\copy bars FROM '$TD_WORK/b.copy' (FORMAT binary)"
  t1=$(now_ms)
  printf '  PostgreSQL alone, 1 session: %d bars in %d ms = %d rows/s\n' "$n_bars" $((t1 - t0)) $(( n_bars * 1000 / (t1 - t0) ))
  empty
  t0=$(now_ms)
  "$PG_BIN/psql" -X -q -c "\copy bars FROM '$TD_WORK/a.copy' (FORMAT binary)" & p1=$!
  "$PG_BIN/psql" -X -q -c "\copy bars FROM '$TD_WORK/b.copy' (FORMAT binary)" & p2=$!
  wait $p1 $p2
  t1=$(now_ms)
  printf '  PostgreSQL alone, 2 sessions: %d bars in %d ms = %d rows/s\n' "$n_bars" $((t1 - t0)) $(( n_bars * 1000 / (t1 - t0) ))
done
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
