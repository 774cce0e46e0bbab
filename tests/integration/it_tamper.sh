#!/usr/bin/env bash
# Replay catches a changed record: a tampered recorded output, and two input events swapped, each
# make `replay` exit 1 naming the right offset; the other day stays equal.
. "$(dirname "$0")/lib.sh"
need_data
cfg="$TD_WORK/config.yaml"
write_config "$cfg"
dir="$TD_WORK/tape"
import_duka_eurusd "$dir" "$cfg" tamper
td --data-dir "$dir" --config "$cfg" process > /dev/null
for d in 2019-02-04 2019-02-05; do expect_exit 0 td --data-dir "$dir" --config "$cfg" replay --date $d; done
td --data-dir "$dir" dump --stream output --symbol EURUSD > "$TD_WORK/outputs.txt"
dir2="$TD_WORK/tape2"
cp -r "$dir" "$dir2" # an untouched copy for the second case
grep -q '"kind":"order_intent"' "$TD_WORK/outputs.txt" || fail "the strategy placed no order: the test needs some"

# 1. a recorded output changed after the fact
victim=$(grep '"kind":"position_changed"' "$TD_WORK/outputs.txt" | head -1 | sed -E 's/.*"offset":([0-9]+),.*/\1/')
day=$(grep "\"offset\":$victim," "$TD_WORK/outputs.txt" | sed -E 's/.*"time":"([0-9-]+)T.*/\1/')
"$TAPE_TAMPER" "$dir" alter output EURUSD "$victim"
expect_exit 1 td --data-dir "$dir" --config "$cfg" replay --date "$day"
grep -q "DIVERGED at output offset $victim," "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "replay did not name output $victim"; }
expect_exit 1 td --data-dir "$dir" --config "$cfg" replay --date "$day" --json
grep -q "\"output_offset\":$victim," "$TD_WORK/last.out" || fail "replay --json did not name output $victim"
pass "a tampered output ($victim on $day) is named, exit 1"

# 2. input order changed: the tick that closed a bar on the 5th swapped with the one before it
closer=$(grep '"kind":"bar"' "$TD_WORK/outputs.txt" | grep '"time":"2019-02-05T1' | head -1 | sed -E 's/.*"input_offset":([0-9]+),.*/\1/')
prev=$((closer - 1))
"$TAPE_TAMPER" "$dir2" swap input EURUSD "$prev" "$closer"
expect_exit 1 td --data-dir "$dir2" --config "$cfg" replay --date 2019-02-05
grep -q "produced by input offset $prev:" "$TD_WORK/last.out" || { cat "$TD_WORK/last.out"; fail "replay did not name input $prev"; }
grep -q "input offset $closer goes back in time" "$TD_WORK/last.out" || fail "replay did not report the reversal at $closer"
expect_exit 0 td --data-dir "$dir2" --config "$cfg" replay --date 2019-02-04
pass "swapped inputs $prev/$closer are named, exit 1; the other day is still equal"
