#!/usr/bin/env bash
# Real data: M30 BID bars built from Dukascopy's EURUSD ticks equal the aggregation of Dukascopy's
# own M1 candles (96 bars); the raw .bi5 files import to exactly the ticks of the CSV.
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
csv="$TD_SHARED_DATA/ticks/dukascopy-eurusd-2019-02-04_05.csv"

td --data-dir "$TD_WORK/csv" --config "$cfg" import --format dukascopy-csv --symbol EURUSD --day-end last "$csv" > /dev/null
td --data-dir "$TD_WORK/csv" --config "$cfg" bars --symbol EURUSD --timeframe M30 --csv |
  tail -n +2 | cut -d, -f1-5 > "$TD_WORK/bars.csv"

# Dukascopy's own minute candles, aggregated per half hour (minutes without ticks have volume 0
# and carry no trade: they are left out)
tail -q -n +2 "$TD_SHARED_DATA"/candles/dukascopy-eurusd-m1-bid-2019-02-04.csv \
              "$TD_SHARED_DATA"/candles/dukascopy-eurusd-m1-bid-2019-02-05.csv |
  awk -F, '$6 > 0 {
      split($1, dt, " "); split(dt[2], hms, ":");
      slot = dt[1] "T" hms[1] ":" (hms[2] < 30 ? "00" : "30") ":00.000Z";
      if (slot != cur) { if (cur != "") printf "%s,%.5f,%.5f,%.5f,%.5f\n", cur, o, h, l, c;
                         cur = slot; o = $2; h = $3; l = $4 }
      if ($3 > h) h = $3; if ($4 < l) l = $4; c = $5 }
    END { printf "%s,%.5f,%.5f,%.5f,%.5f\n", cur, o, h, l, c }' > "$TD_WORK/candles.csv"

n=$(wc -l < "$TD_WORK/bars.csv")
[ "$n" -eq 96 ] || fail "expected 96 M30 bars, built $n"
diff "$TD_WORK/candles.csv" "$TD_WORK/bars.csv" > "$TD_WORK/bars.diff" || { head "$TD_WORK/bars.diff"; fail "bars differ from Dukascopy's candles"; }
pass "96 M30 bars equal Dukascopy's own candles"

td --data-dir "$TD_WORK/bi5" --config "$cfg" import --format dukascopy-bi5 --symbol EURUSD \
   "$TD_SHARED_DATA"/raw/dukascopy-bi5/EURUSD_2019_01_0[45]_*h_ticks.bi5 > /dev/null
ticks() { td --data-dir "$1" dump --symbol EURUSD | grep '"kind":"tick"' |
          sed -E 's/.*"time_ms":([0-9]+).*"bid":([0-9.]+),"ask":([0-9.]+).*/\1 \2 \3/'; }
ticks "$TD_WORK/csv" > "$TD_WORK/csv.ticks"
ticks "$TD_WORK/bi5" > "$TD_WORK/bi5.ticks"
[ "$(wc -l < "$TD_WORK/csv.ticks")" -eq 266219 ] || fail "CSV import: $(wc -l < "$TD_WORK/csv.ticks") ticks, expected 266219"
cmp "$TD_WORK/csv.ticks" "$TD_WORK/bi5.ticks" || fail ".bi5 ticks differ from the CSV's"
pass ".bi5 import equals the CSV: 266219 ticks (time, bid, ask)"

# an empty .bi5 hour (a quiet hour) appends nothing, registers nothing, and does not keep the
# symbol spec from the next import
: > "$TD_WORK/EURUSD_2019_01_03_12h_ticks.bi5"
expect_exit 0 td --data-dir "$TD_WORK/empty" --config "$cfg" import --format dukascopy-bi5 --symbol EURUSD "$TD_WORK/EURUSD_2019_01_03_12h_ticks.bi5"
grep -q "no events, nothing appended" "$TD_WORK/last.out" || fail "empty .bi5: $(cat "$TD_WORK/last.out")"
cp "$TD_WORK/EURUSD_2019_01_03_12h_ticks.bi5" "$TD_WORK/EURUSD_2019_01_03_13h_ticks.bi5"
expect_exit 0 td --data-dir "$TD_WORK/empty" --config "$cfg" import --format dukascopy-bi5 --symbol EURUSD "$TD_WORK/EURUSD_2019_01_03_13h_ticks.bi5"
td --data-dir "$TD_WORK/empty" --config "$cfg" import --format dukascopy-bi5 --symbol EURUSD \
   "$TD_SHARED_DATA"/raw/dukascopy-bi5/EURUSD_2019_01_04_0[0-3]h_ticks.bi5 > /dev/null
[ "$(td --data-dir "$TD_WORK/empty" dump --symbol EURUSD --limit 1 | grep -c '"kind":"symbol_spec"')" -eq 1 ] ||
  fail "after an empty first import the stream does not start with its symbol spec"
pass "empty .bi5 hours append nothing and keep the spec for the next import"

# both tapes hold the same days, and each closes with its day-end marks
td --data-dir "$TD_WORK/bi5" days | awk '{print $1, $2}' > "$TD_WORK/bi5.days"
td --data-dir "$TD_WORK/csv" days | awk '{print $1, $2}' > "$TD_WORK/csv.days"
cmp "$TD_WORK/csv.days" "$TD_WORK/bi5.days" || fail "day index differs between the CSV and .bi5 tapes"
pass "same trading days from both sources"
