#!/usr/bin/env bash
# Bad input gets its own clear message (file, line, field), exit 2, and leaves the tape unchanged;
# a file imported twice is refused unless --force; a file that starts before the stream's end is refused.
. "$(dirname "$0")/lib.sh"
dir="$TD_WORK/tape"
good="$TD_WORK/20140506_xauusd_tick_quote.csv"
printf '1000,1310.5,1310.9\n2000,1310.6,1311.0\n3000.5,1310.7,1311.1\n' > "$good"
expect_exit 0 td --data-dir "$dir" import --format lean-ticks --symbol XAUUSD "$good"
td --data-dir "$dir" dump > "$TD_WORK/before.txt"

# check_bad NAME CONTENT WORDS...: the import fails with exit 2, stderr has every WORD, tape unchanged
check_bad() {
  local name=$1 content=$2; shift 2
  local f="$TD_WORK/20140507_$name.csv"
  printf "$content" > "$f"
  expect_exit 2 td --data-dir "$dir" import --format lean-ticks --symbol XAUUSD "$f"
  for w in "$@"; do expect_err "$w"; done
  [ "$(wc -l < "$TD_WORK/last.err")" -eq 1 ] || fail "$name: expected one line on stderr"
  td --data-dir "$dir" dump > "$TD_WORK/after.txt"
  cmp -s "$TD_WORK/before.txt" "$TD_WORK/after.txt" || fail "$name: the tape changed"
  pass "$name: $(cat "$TD_WORK/last.err")"
}
check_bad truncated   '1000,1310.5,1310.9\n2000,1310.6\n'                 "20140507_truncated.csv:2" "expected 3 comma-separated fields"
check_bad nonnumeric  '1000,1310.5,1310.9\n2000,13x0.6,1311.0\n'          "20140507_nonnumeric.csv:2: bid" "13x0.6"
check_bad crossed     '1000,1310.5,1310.9\n2000,1311.6,1311.0\n'          "20140507_crossed.csv:2: bid" "bid <= ask"
check_bad backwards   '5000,1310.5,1310.9\n4000,1310.6,1311.0\n'          "20140507_backwards.csv:2: time" "at or after the previous tick"
check_bad utf16       '\xff\xfe1\x000\x000\x000\x00,\x001\x00\n\x00'      "20140507_utf16.csv:1: encoding" "UTF-16"
check_bad nul         '1000,1310.5,13\x0010.9\n'                          "20140507_nul.csv:1: encoding" "NUL"

check_bad absurd      '1000,1310.5,1310.9\n2000,90000000000,90000000001\n' "20140507_absurd.csv:2: bid" "at most 10000000"

# the trading-day roll of a tape is fixed when it is created
expect_exit 2 td --data-dir "$dir" --set session.day_offset_minutes=420 days
expect_err "day_offset_minutes 0, the configuration says 420"
pass "a tape refuses another trading-day roll"

# crossed quotes can be kept on purpose, counted
crossed="$TD_WORK/20140507_keep.csv"
printf '1000,1310.5,1310.9\n2000,1311.6,1311.0\n3000,1310.6,1311.0\n' > "$crossed"
expect_exit 0 td --data-dir "$dir" import --format lean-ticks --symbol XAUUSD --crossed keep "$crossed"
grep -q "3 ticks into XAUUSD.*1 crossed quote(s) kept" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "--crossed keep did not report the count"; }
pass "--crossed keep imports a crossed quote and says so"

# MT5 Export Ticks: UTF-16LE with BOM and CRLF is a valid input of its own format
mt5="$TD_WORK/mt5.csv"
printf '<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\r\n2014.05.08\t00:00:01.000\t1290.10\t1290.40\t\t\t6\r\n2014.05.08\t00:00:02.500\t\t1290.50\t\t\t4\r\n' |
  iconv -f UTF-8 -t UTF-16LE | { printf '\xff\xfe'; cat; } > "$mt5"
expect_exit 0 td --data-dir "$dir" import --format mt5-ticks --symbol XAUUSD "$mt5"
td --data-dir "$dir" dump --symbol XAUUSD | grep '"time":"2014-05-08T00:00:02.500Z"' | grep -q '"bid":1290.1,"ask":1290.5' ||
  fail "MT5 UTF-16 import: an empty BID did not carry the previous value"
pass "MT5 UTF-16LE ticks with empty fields import"
td --data-dir "$dir" dump > "$TD_WORK/before.txt"

# the same file twice: refused, unless --force (which then meets the time-order rule)
expect_exit 2 td --data-dir "$dir" import --format mt5-ticks --symbol XAUUSD "$mt5"
expect_err "already imported"
expect_err "--force"
expect_exit 2 td --data-dir "$dir" import --format mt5-ticks --symbol XAUUSD --force "$mt5"
expect_err "before the last event of stream XAUUSD"
td --data-dir "$dir" dump > "$TD_WORK/after.txt"
cmp -s "$TD_WORK/before.txt" "$TD_WORK/after.txt" || fail "a refused import changed the tape"
pass "a second import of the same file is refused; --force still keeps time order"

# the same content as another symbol is a different import
expect_exit 0 td --data-dir "$dir" import --format mt5-ticks --symbol XAUUSD.b "$mt5"
pass "the registry is per symbol"
