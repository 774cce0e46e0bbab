#!/usr/bin/env bash
# Crash safety: the processor host is killed with SIGKILL at several points while it processes the
# 13 OANDA XAUUSD days; after each restart it goes on, and the final day digests equal those of an
# uninterrupted run. A --stop-after run (an uncommitted batch dropped on purpose) resumes the same way.
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
# small batches, fsync on every commit: a long, realistic window for the kills to land in
sed -i 's/batch_events: 5000/batch_events: 2000/; s/sync: none/sync: commit/' "$cfg"

import_lean_xau "$TD_WORK/ref" "$cfg"
t0=$(date +%s%N)
td --data-dir "$TD_WORK/ref" --config "$cfg" process > /dev/null
ref_ms=$((($(date +%s%N) - t0) / 1000000))
td --data-dir "$TD_WORK/ref" days --json > "$TD_WORK/ref.json"

import_lean_xau "$TD_WORK/crash" "$cfg"

# a host stopped in the middle of 2014-05-02 (offsets 129747..394762): it committed every whole
# batch of 2000 before input 300000 and dropped the rest. Replay of that day is open, up to there.
td --data-dir "$TD_WORK/crash" --config "$cfg" process --stop-after 300000 > /dev/null
expect_exit 0 td --data-dir "$TD_WORK/crash" --config "$cfg" replay --date 2014-05-02
grep -q "open - the host has processed this day up to input offset 297999;" "$TD_WORK/last.out" ||
  fail "replay of a partly processed day: $(cat "$TD_WORK/last.out")"
expect_exit 0 td --data-dir "$TD_WORK/crash" --config "$cfg" replay --date 2014-05-01
pass "a partly processed day replays as open up to where the host got; the day before is equal"

kills=0
# each run is killed after a few percent of an uninterrupted run's time, at varying points: even
# on a machine much faster (or less loaded) than during the reference run, every kill lands while
# the host is busy
for part in 4 7 5 8 6 5; do
  delay=$(awk -v ms="$ref_ms" -v p="$part" 'BEGIN { printf "%.3f", ms * p / 100 / 1000 }')
  "$TAPEDECK" --data-dir "$TD_WORK/crash" --config "$cfg" process > /dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  if kill -9 "$pid" 2> /dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2> /dev/null || true
done
td --data-dir "$TD_WORK/crash" --config "$cfg" process --stop-after 12345 > /dev/null
td --data-dir "$TD_WORK/crash" --config "$cfg" process > "$TD_WORK/final.out"
[ "$kills" -ge 4 ] || fail "only $kills of 6 SIGKILLs hit a running host (an uninterrupted run took $ref_ms ms)"
td --data-dir "$TD_WORK/crash" days --json > "$TD_WORK/crash.json"
cmp "$TD_WORK/ref.json" "$TD_WORK/crash.json" || fail "digests after $kills SIGKILLs differ from the uninterrupted run"
pass "$kills SIGKILLs and a dropped batch: day digests equal the uninterrupted run's"

for d in 20140502 20140509 20140515; do
  expect_exit 0 td --data-dir "$TD_WORK/crash" --config "$cfg" replay --date "$d"
done
pass "replay after the crashes is equal"
