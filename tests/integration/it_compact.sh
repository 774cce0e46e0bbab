#!/usr/bin/env bash
# tapedeck compact on the Dukascopy EURUSD days (2019-02-04 and -05): the warehouse's M30 bars equal
# Dukascopy's own candles aggregated per half hour and its M1 bars the M1 candles with volume > 0;
# perf rows agree with the day digests; a second run changes no table; the sealed files exist and a
# flipped byte in one is refused (exit 1); a tape with an altered output is refused naming the
# symbol and the offset (exit 1); a day not processed yet is refused (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
dir="$TD_WORK/tape"
tdc() { td --data-dir "$dir" --config "$cfg" "$@"; }
import_duka_eurusd "$dir" "$cfg" compact

pg_start
td migrate > /dev/null

# not processed yet: refused
expect_exit 1 tdc compact --date 2019-02-04
expect_err "EURUSD"
expect_err "not processed yet"
pass "a day not processed yet is refused (exit 1)"

tdc process > /dev/null
# the sink writes the processors' own M30 bars first: compact keeps them and checks they agree
tdc sink --once > /dev/null
for d in 2019-02-04 2019-02-05; do
  expect_exit 0 tdc compact --date "$d"
  cat "$TD_WORK/last.out"
  grep -q "EURUSD: verified" "$TD_WORK/last.out" || fail "compact $d: no 'verified' line"
  grep -q "EURUSD: sealed: .*(written)" "$TD_WORK/last.out" || fail "compact $d: no 'sealed' line"
done

# M30: Dukascopy's M1 candles aggregated per half hour, volume-0 minutes left out (as it_dukascopy.sh)
candles() { tail -q -n +2 "$TD_SHARED_DATA"/candles/dukascopy-eurusd-m1-bid-2019-02-04.csv \
                          "$TD_SHARED_DATA"/candles/dukascopy-eurusd-m1-bid-2019-02-05.csv; }
candles | awk -F, '$6 > 0 {
      split($1, dt, " "); split(dt[2], hms, ":");
      slot = dt[1] " " hms[1] ":" (hms[2] < 30 ? "00" : "30");
      if (slot != cur) { if (cur != "") printf "%s,%.5f,%.5f,%.5f,%.5f\n", cur, o, h, l, c;
                         cur = slot; o = $2; h = $3; l = $4 }
      if ($3 > h) h = $3; if ($4 < l) l = $4; c = $5 }
    END { printf "%s,%.5f,%.5f,%.5f,%.5f\n", cur, o, h, l, c }' > "$TD_WORK/m30.want"
candles | awk -F, '$6 > 0 { split($1, dt, " "); printf "%s %s,%.5f,%.5f,%.5f,%.5f\n", dt[1], substr(dt[2], 1, 5), $2, $3, $4, $5 }' \
  > "$TD_WORK/m1.want"
wh_bars() {
  pg_sql "SELECT to_char(open_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ',' ||
                 to_char(open_e8 / 1e8, 'FM0.00000') || ',' || to_char(high_e8 / 1e8, 'FM0.00000') || ',' ||
                 to_char(low_e8 / 1e8, 'FM0.00000') || ',' || to_char(close_e8 / 1e8, 'FM0.00000')
          FROM bars WHERE symbol = 'EURUSD' AND timeframe_s = $1 ORDER BY open_time"
}
wh_bars 1800 > "$TD_WORK/m30.got"
wh_bars 60 > "$TD_WORK/m1.got"
[ "$(wc -l < "$TD_WORK/m30.got")" -eq 96 ] || fail "expected 96 M30 bars in the warehouse, found $(wc -l < "$TD_WORK/m30.got")"
diff "$TD_WORK/m30.want" "$TD_WORK/m30.got" > "$TD_WORK/m30.diff" || { head "$TD_WORK/m30.diff"; fail "M30 bars differ from Dukascopy's candles"; }
diff "$TD_WORK/m1.want" "$TD_WORK/m1.got" > "$TD_WORK/m1.diff" || { head "$TD_WORK/m1.diff"; fail "M1 bars differ from Dukascopy's M1 candles"; }
pass "warehouse bars equal Dukascopy's candles: 96 M30, $(wc -l < "$TD_WORK/m1.got") M1 (volume > 0)"

# perf_daily agrees with the day digests the processors recorded
tdc days > "$TD_WORK/days.txt"
n_perf=$(pg_sql "SELECT count(*) FROM perf_daily WHERE symbol = 'EURUSD'")
[ "$n_perf" -eq 2 ] || fail "expected 2 perf_daily rows, found $n_perf"
trades=$(pg_sql "SELECT sum(trades) FROM perf_daily")
hourly=$(pg_sql "SELECT coalesce(sum(trades), 0) || ' ' || coalesce(sum(realized_pnl_e8), 0) FROM perf_hourly")
daily=$(pg_sql "SELECT sum(trades) || ' ' || sum(realized_pnl_e8) FROM perf_daily")
[ "$hourly" = "$daily" ] || fail "perf_hourly ($hourly) does not add up to perf_daily ($daily)"
pass "perf_daily: 2 days, $trades trades; perf_hourly adds up to it"

# a second run changes nothing
snapshot() {
  pg_sql "SELECT md5(string_agg(b::text, '|' ORDER BY symbol, timeframe_s, open_time)) FROM bars b"
  pg_sql "SELECT md5(string_agg(p::text, '|' ORDER BY symbol, trading_day)) FROM perf_daily p"
  pg_sql "SELECT md5(coalesce(string_agg(h::text, '|' ORDER BY symbol, trading_day, hour), '')) FROM perf_hourly h"
  pg_sql "SELECT md5(string_agg(s::text, '|' ORDER BY symbol, trading_day)) FROM sealed_days s"
  sha256sum "$dir"/sealed/EURUSD/*.tdseal
}
snapshot > "$TD_WORK/snap1"
for d in 2019-02-04 2019-02-05; do
  expect_exit 0 tdc compact --date "$d"
  grep -q "already done" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "second compact $d did something"; }
done
snapshot > "$TD_WORK/snap2"
cmp "$TD_WORK/snap1" "$TD_WORK/snap2" || fail "a second compact changed the warehouse or the sealed files"
pass "compact twice: identical tables and sealed files"

# retention of M1 bars (compact.retain_m1_days N: the N trading days ending with the compacted day
# keep theirs; sealed older days lose them; M30 bars, perf, sealed files stay)
m1_of() { pg_sql "SELECT count(*) FROM bars WHERE symbol = 'EURUSD' AND timeframe_s = 60 AND open_time >= '$1' AND open_time < '$2'"; }
others() {
  pg_sql "SELECT md5(string_agg(b::text, '|' ORDER BY symbol, timeframe_s, open_time)) FROM bars b WHERE timeframe_s <> 60"
  pg_sql "SELECT md5(string_agg(p::text, '|' ORDER BY symbol, trading_day)) FROM perf_daily p"
  pg_sql "SELECT md5(string_agg(s::text, '|' ORDER BY symbol, trading_day)) FROM sealed_days s"
  pg_sql "SELECT count(*) || ' ' || sum(close_e8) FROM bars WHERE timeframe_s = 60 AND open_time >= '2019-02-05'"
  sha256sum "$dir"/sealed/EURUSD/*.tdseal
}
m1_04=$(m1_of 2019-02-04 2019-02-05)
m1_05=$(m1_of 2019-02-05 2019-02-06)
[ "$m1_04" -gt 1000 ] && [ "$m1_05" -gt 1000 ] || fail "M1 bars before retention: $m1_04 and $m1_05"
others > "$TD_WORK/others1"
expect_exit 0 tdc --set compact.retain_m1_days=2 compact --date 2019-02-05
grep -q "retention: 0 M1 bar(s) of sealed days before 20190204 deleted" "$TD_WORK/last.out" ||
  { cat "$TD_WORK/last.out"; fail "retain_m1_days 2: expected nothing deleted"; }
[ "$(m1_of 2019-02-04 2019-02-05)" -eq "$m1_04" ] || fail "retain_m1_days 2 deleted M1 bars inside the window"
expect_exit 0 tdc --set compact.retain_m1_days=1 compact --date 2019-02-05
grep -q "retention: $m1_04 M1 bar(s) of sealed days before 20190205 deleted" "$TD_WORK/last.out" ||
  { cat "$TD_WORK/last.out"; fail "retain_m1_days 1: expected $m1_04 M1 bars of 2019-02-04 deleted"; }
[ "$(m1_of 2019-02-04 2019-02-05)" -eq 0 ] || fail "M1 bars of 2019-02-04 are still there"
[ "$(m1_of 2019-02-05 2019-02-06)" -eq "$m1_05" ] || fail "M1 bars of the compacted day were touched"
others > "$TD_WORK/others2"
cmp "$TD_WORK/others1" "$TD_WORK/others2" || fail "retention touched M30 bars, perf, sealed_days or the sealed files"
expect_exit 0 tdc --set compact.retain_m1_days=1 compact --date 2019-02-05
grep -q "retention: 0 M1 bar(s)" "$TD_WORK/last.out" && grep -q "already done" "$TD_WORK/last.out" ||
  { cat "$TD_WORK/last.out"; fail "a second compact with retention did something"; }
others > "$TD_WORK/others3"
cmp "$TD_WORK/others1" "$TD_WORK/others3" || fail "a second compact with retention changed a table"
# a day whose seal record is missing keeps its M1 bars
expect_exit 0 tdc compact --date 2019-02-04
[ "$(m1_of 2019-02-04 2019-02-05)" -eq "$m1_04" ] || fail "compact 2019-02-04 did not rebuild its M1 bars"
pg_sql "DELETE FROM sealed_days WHERE trading_day = '2019-02-04'"
expect_exit 0 tdc --set compact.retain_m1_days=1 compact --date 2019-02-05
[ "$(m1_of 2019-02-04 2019-02-05)" -eq "$m1_04" ] || fail "retention deleted M1 bars of a day without a seal record"
expect_exit 0 tdc compact --date 2019-02-04
pass "retention: $m1_04 M1 bars of the sealed 2019-02-04 deleted with retain_m1_days 1 (none with 2, none of an unsealed day), the compacted day's $m1_05 and every other table untouched, a second run deletes nothing"

# the sealed file: present, read-only; a flipped byte is refused
f="$dir/sealed/EURUSD/20190204.tdseal"
[ -f "$f" ] || fail "no sealed file $f"
cp "$f" "$TD_WORK/sealed.orig"
chmod u+w "$f"
printf '\xff' | dd of="$f" bs=1 seek=4000 conv=notrunc status=none
expect_exit 1 tdc compact --date 2019-02-04
expect_err "EURUSD"
expect_err "damaged"
cp "$TD_WORK/sealed.orig" "$f"
printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
expect_exit 1 tdc compact --date 2019-02-04
expect_err "header's SHA-256"
cp "$TD_WORK/sealed.orig" "$f"
expect_exit 0 tdc compact --date 2019-02-04
pass "a flipped byte in the sealed file (payload or header) is refused (exit 1)"

# a sink-written bar that disagrees with the ticks: refused, naming it
pg_sql "UPDATE bars SET close_e8 = close_e8 + 1 WHERE symbol = 'EURUSD' AND timeframe_s = 1800 AND out_offset >= 0
        AND open_time = '2019-02-05T10:00:00Z'"
expect_exit 1 tdc compact --date 2019-02-05
expect_err "bar 1800 s at 2019-02-05T10:00:00Z"
pg_sql "UPDATE bars SET close_e8 = close_e8 - 1 WHERE symbol = 'EURUSD' AND timeframe_s = 1800 AND open_time = '2019-02-05T10:00:00Z'"
pass "a warehouse bar that disagrees with the tape is refused (exit 1)"

# an altered output event: refused, naming the symbol and the offset
first=$(td --data-dir "$dir" dump --stream output --symbol EURUSD | grep -n '"kind":"trade_closed"' | head -1 | cut -d: -f1)
off=$((first - 1))
"$TAPE_TAMPER" "$dir" alter output EURUSD "$off"
expect_exit 1 tdc compact --date 2019-02-04
expect_err "EURUSD"
expect_err "output offset $off"
pass "a tape with an altered output (offset $off) is refused naming the symbol and offset"
