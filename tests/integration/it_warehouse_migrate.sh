#!/usr/bin/env bash
# Warehouse migrations against a private PostgreSQL: they apply to an empty database, re-running
# applies nothing, --status lists them; an applied file that changed (on disk with --dir, or as the
# database recorded it) is refused with exit 1 naming the file, before anything runs; a migration
# whose SQL fails rolls back alone and names its file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
pg_start

n_files=$(ls "$TD_SOURCE_DIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
expect_exit 0 td migrate --status
[ "$(grep -c '^pending ' "$TD_WORK/last.out")" -eq "$n_files" ] || { cat "$TD_WORK/last.out"; fail "--status on an empty database should list $n_files pending"; }

expect_exit 0 td migrate
[ "$(grep -c '^applied ' "$TD_WORK/last.out")" -eq "$n_files" ] || { cat "$TD_WORK/last.out"; fail "migrate did not apply $n_files files"; }
[ "$(pg_sql "SELECT count(*) FROM schema_migrations")" -eq "$n_files" ] || fail "schema_migrations lacks rows"
for t in symbols symbol_specs params_history sink_offsets bars signals order_intents fills position_changes \
         closed_trades day_digests day_index perf_daily perf_hourly backtest_runs backtest_results; do
  [ "$(pg_sql "SELECT to_regclass('$t') IS NOT NULL")" = t ] || fail "table $t missing after migrate"
done
[ "$(pg_sql "SELECT relkind FROM pg_class WHERE relname = 'bars'")" = p ] || fail "bars is not partitioned"
# the checksums recorded are the files' SHA-256
for f in "$TD_SOURCE_DIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql; do
  want=$(sha256sum "$f" | cut -d' ' -f1)
  got=$(pg_sql "SELECT checksum FROM schema_migrations WHERE name = '$(basename "$f")'")
  [ "$want" = "$got" ] || fail "checksum of $(basename "$f"): recorded $got, file $want"
done
pass "$n_files migrations applied to an empty database with their checksums"

before=$(pg_sql "SELECT string_agg(version || ' ' || applied_at::text, ',' ORDER BY version) FROM schema_migrations")
expect_exit 0 td migrate
grep -q "^0 migration(s) applied" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "a second migrate applied something"; }
[ "$before" = "$(pg_sql "SELECT string_agg(version || ' ' || applied_at::text, ',' ORDER BY version) FROM schema_migrations")" ] || fail "a second migrate changed schema_migrations"
expect_exit 0 td migrate --status
[ "$(grep -c '^applied ' "$TD_WORK/last.out")" -eq "$n_files" ] || fail "--status does not list every file as applied"
pass "re-running migrate is a no-op; --status lists them applied"

# a built-in file whose recorded checksum differs (as if the file had been edited after it ran)
victim=$(basename "$(ls "$TD_SOURCE_DIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql | sed -n 2p)")
pg_sql "UPDATE schema_migrations SET checksum = repeat('0', 64) WHERE name = '$victim'"
expect_exit 1 td migrate
expect_err "migrations/$victim: changed after it was applied"
expect_exit 1 td migrate --status
grep -q "^CHANGED  $victim" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "--status does not show $victim as CHANGED"; }
pass "a changed applied migration is refused, exit 1, naming $victim"

# the same with files on disk (--dir): apply a copy, edit one applied file, add a failing one
pg_sql "DROP SCHEMA public CASCADE; CREATE SCHEMA public"
mig="$TD_WORK/migrations"
mkdir -p "$mig"
cp "$TD_SOURCE_DIR"/migrations/[0-9][0-9][0-9][0-9]_*.sql "$mig/"
expect_exit 0 td migrate --dir "$mig"
echo "-- an edit after the fact" >> "$mig/$victim"
expect_exit 1 td migrate --dir "$mig"
expect_err "$mig/$victim: changed after it was applied"
cp "$TD_SOURCE_DIR/migrations/$victim" "$mig/$victim"
printf 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n' > "$mig/9001_broken.sql"
expect_exit 3 td migrate --dir "$mig"
expect_err "$mig/9001_broken.sql: not applied (rolled back)"
[ "$(pg_sql "SELECT to_regclass('half_done') IS NULL")" = t ] || fail "a failed migration left a table behind"
[ "$(pg_sql "SELECT count(*) FROM schema_migrations WHERE version = 9001")" -eq 0 ] || fail "a failed migration was recorded"
printf 'CREATE TABLE extra_one (x int);\n' > "$mig/9001_broken.sql"
expect_exit 0 td migrate --dir "$mig"
grep -q "^applied 9001_broken.sql" "$TD_WORK/last.out" || fail "the fixed migration was not applied"
rm "$mig/9001_broken.sql"
expect_exit 1 td migrate --dir "$mig"
expect_err "9001_broken.sql: applied on"
pass "--dir: an edited applied file is refused; a failing file rolls back alone; a vanished applied file is refused"
