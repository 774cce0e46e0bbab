#!/usr/bin/env bash
# `tapedeck audit` on the 13 OANDA XAUUSD days, with a second parameter set pushed between two days:
#   - at sampled instants (3 fixed times on every day, a day without inputs, after the end, and
#     instants exactly at - and 1 ms before - inputs that moved the position) audit's position equals
#     the last PositionChanged output at or before the instant (tapedeck dump), its parameter version
#     and ParamsChanged offset are the ones in force, and its output cut matches;
#   - with PostgreSQL installed, the warehouse (migrate + sink) holds the same position at each one;
#   - an instant inside a day the host has processed only in part says so;
#   - bad input (unknown symbol, malformed time, a time before the first event) exits 2.
# Prints the time per audit call (the target is <= 200 ms for any instant of a day; not asserted).
. "$(dirname "$0")/lib.sh"
need_data
command -v jq > /dev/null || { echo "SKIP: jq not installed"; exit 77; }
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
dir="$TD_WORK/tape"
tdc() { td --data-dir "$dir" --config "$cfg" "$@"; }
audit_json() { tdc audit --symbol XAUUSD --at "$1" --last 3 --json; }

# under the sanitizers every call is several times slower: sample fewer instants
slow=0
if ldd "$TAPEDECK" 2> /dev/null | grep -q libasan; then slow=1; fi

# version 1 from the start, version 2 (twice the volume) from 2014-05-07T00:00:00, between two days
files=("$LEAN_XAU"/*.csv)
[ "${#files[@]}" -eq 13 ] || fail "expected 13 Lean XAUUSD files, found ${#files[@]}"
set_v() { echo "lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=$1"; }
p1=$(tdc params push --symbol XAUUSD --strategy breakout --set "$(set_v 0.10)" --author tests --reason first \
     --at 2014-05-01T00:00:00)
tdc import --format lean-ticks --symbol XAUUSD "${files[@]:0:5}" > /dev/null
p2=$(tdc params push --symbol XAUUSD --strategy breakout --set "$(set_v 0.20)" --author compliance --reason second \
     --at 2014-05-07T00:00:00)
tdc import --format lean-ticks --symbol XAUUSD "${files[@]:5}" > /dev/null
v1_off=$(sed -n 's/.*version 1 to XAUUSD at offset \([0-9]*\)$/\1/p' <<< "$p1")
v2_off=$(sed -n 's/.*version 2 to XAUUSD at offset \([0-9]*\)$/\1/p' <<< "$p2")
[ -n "$v1_off" ] && [ -n "$v2_off" ] || fail "params push said '$p1' / '$p2'"
v2_ms=$(date -u -d 2014-05-07T00:00:00Z +%s000)

# 1. the host stopped inside 2014-05-06 (batches of 5000: it committed up to a multiple of 5000)
tdc process --stop-after 700000 > /dev/null
expect_exit 0 tdc audit --symbol XAUUSD --at 2014-05-06T20:00:00
grep -q "NOT COMPLETE: the host has processed XAUUSD only up to input offset" "$TD_WORK/last.out" ||
  { cat "$TD_WORK/last.out"; fail "audit inside a partly processed day did not say so"; }
j=$(audit_json 2014-05-06T20:00:00)
[ "$(jq -r '.beyond_processed' <<< "$j")" = true ] || fail "beyond_processed is not true: $j"
[ "$(jq -r '.last_applied_offset + 1 == .host_next_offset' <<< "$j")" = true ] || fail "did not stop at the host's offset: $j"
[ "$(jq -r '.start_day' <<< "$j")" = 20140506 ] || fail "wrong start day: $j"
j=$(audit_json 2014-05-12T12:00:00)
[ "$(jq -r '.beyond_processed and .start_day == 20140506' <<< "$j")" = true ] || fail "an unprocessed day: $j"
j=$(audit_json 2014-05-06T01:00:00)
[ "$(jq -r '.beyond_processed' <<< "$j")" = false ] || fail "an instant the host has passed is complete: $j"
pass "an instant past what the host has processed is answered as of its last committed input, and says so"

# 2. the rest processed; what the output stream says
tdc process > /dev/null
td --data-dir "$dir" dump --stream output > "$TD_WORK/outputs.jsonl"
jq -r 'select(.kind == "position_changed") | "\(.offset) \(.time_ms) \(.volume) \(.avg_price) \(.realized_pnl) \(.commission) \(.swap)"' \
  "$TD_WORK/outputs.jsonl" > "$TD_WORK/pc.txt"
[ "$(wc -l < "$TD_WORK/pc.txt")" -gt 20 ] || fail "too few position changes to sample"

# the instants
instants=(2014-05-03T12:00:00 2014-05-20T00:00:00 2014-05-07T00:00:00 2014-05-06T23:59:59.999)
times=(T01:00:00 T12:30:00 T22:30:00)
[ "$slow" -eq 1 ] && times=(T12:30:00)
for f in "${files[@]}"; do
  d=$(basename "$f" | cut -c1-8)
  for t in "${times[@]}"; do instants+=("${d:0:4}-${d:4:2}-${d:6:2}$t"); done
done
n_pc=$(wc -l < "$TD_WORK/pc.txt")
picks=(3 $((n_pc / 2)) $((n_pc - 2)))
[ "$slow" -eq 0 ] && picks+=(1 $((n_pc / 3)) $((2 * n_pc / 3)))
for k in "${picks[@]}"; do
  ms=$(sed -n "${k}p" "$TD_WORK/pc.txt" | cut -d' ' -f2)
  instants+=("$ms" "$((ms - 1))")
done
[ "$(jq -r .at_ms <<< "$(audit_json 2014-05-06T12:30:00.5Z)")" = "$(date -u -d 2014-05-06T12:30:00.500Z +%s500)" ] ||
  fail "--at 2014-05-06T12:30:00.5Z is not 12:30:00.500 UTC"

# 3. each instant against the output stream
: > "$TD_WORK/audit_e8.txt"
total_ms=0 max_ms=0 calls=0
for at in "${instants[@]}"; do
  t0=$(date +%s%N)
  j=$(audit_json "$at") || fail "audit --at $at failed"
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  total_ms=$((total_ms + ms)) calls=$((calls + 1))
  [ "$ms" -gt "$max_ms" ] && max_ms=$ms
  at_ms=$(jq -r .at_ms <<< "$j")
  got=$(jq -r '.position | "\(.volume) \(.avg_price) \(.realized_pnl) \(.commission) \(.swap)"' <<< "$j")
  want=$(awk -v t="$at_ms" '$2 <= t { v = $3 " " $4 " " $5 " " $6 " " $7 } END { print (v == "" ? "0 0 0 0 0" : v) }' "$TD_WORK/pc.txt")
  [ "$got" = "$want" ] || fail "audit at $at: position '$got', the output stream says '$want'"
  # the output cut: the position changes below next_output_offset are exactly those at or before the instant
  cut=$(jq -r .next_output_offset <<< "$j")
  n_before=$(awk -v t="$at_ms" '$2 <= t' "$TD_WORK/pc.txt" | wc -l)
  n_cut=$(awk -v c="$cut" '$1 < c' "$TD_WORK/pc.txt" | wc -l)
  [ "$n_before" -eq "$n_cut" ] || fail "audit at $at: $n_cut position changes below output offset $cut, $n_before at or before the instant"
  # the parameter set in force
  if [ "$at_ms" -ge "$v2_ms" ]; then want_p="2 $v2_off"; else want_p="1 $v1_off"; fi
  got_p=$(jq -r '"\(.params.version) \(.params.set_by.offset)"' <<< "$j")
  [ "$got_p" = "$want_p" ] || fail "audit at $at: parameters (version, offset) '$got_p', expected '$want_p'"
  [ "$(jq -r '.beyond_processed' <<< "$j")" = false ] || fail "audit at $at: not complete after a full process"
  [ "$(jq -r '.last_events | length == 3 and .[2].offset == .[0].offset + 2' <<< "$j")" = true ] ||
    fail "audit at $at: the last 3 events are not 3 consecutive offsets"
  [ "$(jq -r '.last_events[2].offset' <<< "$j")" = "$(jq -r .last_applied_offset <<< "$j")" ] ||
    fail "audit at $at: the last event is not the last input applied"
  jq -r --arg ms "$at_ms" '[.position.volume, .position.avg_price, .position.realized_pnl, .position.commission,
    .position.swap] | map(. * 100000000 | round) | "\($ms) " + (map(tostring) | join(" "))' <<< "$j" >> "$TD_WORK/audit_e8.txt"
done
pass "$calls instants: position, output cut and parameter version equal the output stream's"
echo "audit: $calls calls, mean $((total_ms / calls)) ms, max $max_ms ms per call (whole command, JSON; target <= 200 ms)"
for at in 2014-05-02T20:59:59 2014-05-15T23:59:59; do
  tdc audit --symbol XAUUSD --at "$at" | tail -1 | sed "s/^ */audit --at $at, in the command: /"
done

# 4. deterministic: the same question twice, the same document
audit_json 2014-05-13T15:00:00 > "$TD_WORK/a1.json"
audit_json 2014-05-13T15:00:00 > "$TD_WORK/a2.json"
cmp -s "$TD_WORK/a1.json" "$TD_WORK/a2.json" || fail "two audits of one instant differ"
pass "the same instant gives the same JSON document"

# 5. bad input
expect_exit 2 tdc audit --symbol NOPE --at 2014-05-06T12:00:00
expect_err "no input stream for symbol NOPE"
expect_exit 2 tdc dump --stream output --symbol NOPE
expect_err "no output stream for NOPE"
for bad in 2014-13-01T00:00:00 2014-05-06T25:00:00 yesterday 2014-05-06 2014-05-06T12:00:00+02; do
  expect_exit 2 tdc audit --symbol XAUUSD --at "$bad"
  expect_err "--at expects"
done
expect_exit 2 tdc audit --symbol XAUUSD --at 2014-04-30T23:59:59
expect_err "is before the stream's first event"
expect_exit 2 tdc audit --symbol XAUUSD
expect_err "--at is required"
expect_exit 2 tdc audit --at 2014-05-06T12:00:00
expect_err "--symbol is required"
expect_exit 2 tdc audit --symbol XAUUSD --at 2014-05-06T12:00:00 --last 5000
pass "unknown symbol, malformed times, a time before the first event and missing options exit 2"

# 6. the warehouse agrees at every instant
. "$(dirname "$0")/pg.sh"
if [ -z "$PG_BIN" ]; then
  echo "note: PostgreSQL server binaries not installed: the warehouse comparison is skipped"
  exit 0
fi
pg_start
td migrate > /dev/null
tdc sink --once > /dev/null
values=$(cut -d' ' -f1 "$TD_WORK/audit_e8.txt" | sort -n -u | sed 's/.*/(&::bigint)/' | paste -sd,)
pg_sql "SELECT t.ms, coalesce(p.volume_e8, 0), coalesce(p.avg_price_e8, 0), coalesce(p.realized_pnl_e8, 0),
               coalesce(p.commission_e8, 0), coalesce(p.swap_e8, 0)
        FROM (VALUES $values) AS t(ms)
        LEFT JOIN LATERAL (SELECT * FROM position_changes
                           WHERE symbol = 'XAUUSD' AND event_time <= timestamptz 'epoch' + t.ms * interval '1 millisecond'
                           ORDER BY out_offset DESC LIMIT 1) p ON true
        ORDER BY t.ms" | tr '|' ' ' > "$TD_WORK/warehouse_e8.txt"
sort -n -u "$TD_WORK/audit_e8.txt" > "$TD_WORK/audit_e8.sorted"
diff "$TD_WORK/audit_e8.sorted" "$TD_WORK/warehouse_e8.txt" ||
  fail "audit and the warehouse's last position_changes row differ (audit < > warehouse)"
pass "the warehouse's last position_changes row equals audit's position at all $(wc -l < "$TD_WORK/warehouse_e8.txt") instants"
