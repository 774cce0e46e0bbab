#!/usr/bin/env bash
# Issue 19, defect 7: a full disk fails cleanly. On a small tmpfs (mounted here; skipped without the
# right to mount one), `import`, `process` and `run` each meet a full disk: each exits 3 with a
# message naming it (No space left on device) instead of aborting inside RocksDB (exit 134); the
# tape stays consistent, and once space is freed the same commands resume and finish: the imported
# ticks are all there once, the day replays equal, and the EA's lines are on the tape once each.
# SYNTHETIC ticks (generated here), no real data needed.
. "$(dirname "$0")/lib.sh"

mnt="/tmp/tapedeck-it-disk-full.$$"
cleanup() {
  kill_services
  umount "$mnt" 2> /dev/null || true
  rmdir "$mnt" 2> /dev/null || true
}
trap cleanup EXIT
mkdir -p "$mnt"
if ! mount -t tmpfs -o size=6m tmpfs "$mnt" 2> "$TD_WORK/mount.err"; then
  echo "SKIP: cannot mount a small tmpfs for the disk-full test (needs root): $(cat "$TD_WORK/mount.err")"
  exit 77
fi

# leave_free KB: fills the tmpfs up to KB kilobytes free (a filler file)
leave_free() {
  rm -f "$mnt/filler"
  local avail
  avail=$(df -k --output=avail "$mnt" | tail -1)
  [ "$avail" -gt "$1" ] || return 0
  dd if=/dev/zero of="$mnt/filler" bs=1k count=$((avail - $1)) 2> /dev/null || true
}

# a SYNTHETIC Dukascopy-style CSV: 150,000 ticks of 2019-02-04, one every 0.5 s from 00:00
csv="$TD_WORK/synthetic-eurusd.csv"
awk 'BEGIN { print "time_utc,bid,ask,bid_volume,ask_volume";
  for (i = 0; i < 150000; i++) { ms = i * 500; s = int(ms / 1000);
    printf "2019-02-04 %02d:%02d:%02d.%03d,%.5f,%.5f,1.00,1.00\n", int(s / 3600), int(s / 60) % 60, s % 60, ms % 1000,
      1.1 + (i % 400) / 100000, 1.1 + (i % 400) / 100000 + 0.00002 } }' > "$csv"
cfg="$TD_WORK/config.yaml"
printf 'tape:\n  sync: commit\n  batch_events: 4096\ngateway:\n  listen: 127.0.0.1:0\n  token: full-disk\n' > "$cfg"
dir="$mnt/data"

# 1. import into 6 MB: the disk fills part-way
expect_exit 3 td --data-dir "$dir" --config "$cfg" import --format dukascopy-csv --symbol EURUSD "$csv"
expect_err "No space left on device"
pass "import on a full disk exits 3: $(head -c 200 "$TD_WORK/last.err")"
mount -o remount,size=200m "$mnt"
expect_exit 0 td --data-dir "$dir" --config "$cfg" import --format dukascopy-csv --symbol EURUSD "$csv"
n=$(td --data-dir "$dir" --config "$cfg" dump --symbol EURUSD | grep -c '"kind":"tick"')
[ "$n" -eq 150000 ] || fail "after the resumed import the tape holds $n ticks, expected 150000 once each"
pass "with space freed the import finishes: 150000 ticks once each"

# 2. process with a few hundred KB left: exits 3; with the space back it finishes and replays equal
leave_free 24
expect_exit 3 td --data-dir "$dir" --config "$cfg" process
expect_err "No space left on device"
pass "process on a full disk exits 3: $(grep -o 'tapedeck process:.*' "$TD_WORK/last.err" | head -c 200)"
rm -f "$mnt/filler"
expect_exit 0 td --data-dir "$dir" --config "$cfg" process
expect_exit 0 td --data-dir "$dir" --config "$cfg" replay --date 2019-02-04
grep -q "equal" "$TD_WORK/last.out" || fail "replay after the resumed process: $(cat "$TD_WORK/last.out")"
pass "with space freed process finishes and the day replays equal"

# 3. run: the service is up, the disk fills, the EA's lines cannot be committed
T=$'\t'
hello="HELLO${T}1${T}version=1${T}account=9${T}terminal=it${T}token=full-disk"
ticks() { # ticks FROM TO: TICK lines with sequence numbers FROM..TO on 2019-02-05
  for s in $(seq "$1" "$2"); do
    printf 'TICK\t%s\tsymbol=GBPUSD\ttime=%s\tbid=1.30000\task=1.30002\n' "$s" $((1549324800000 + s * 1000))
  done
}
start_service "$TD_WORK/run1.out" "$TD_WORK/run1.err" --data-dir "$dir" --config "$cfg" run --role gateway
gw=$SVC
leave_free 40
{ echo "$hello"; ticks 2 3001; } > "$TD_WORK/full.in"
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/full.in' >&3 && cat <&3" > "$TD_WORK/full.out" 2> /dev/null || true
set +e
timeout 10 tail --pid="$gw" -f /dev/null
wait "$gw"
rc=$?
set -e
[ "$rc" -eq 3 ] || { cat "$TD_WORK/run1.err" >&2; fail "tapedeck run on a full disk exited $rc, expected 3"; }
grep -q "No space left on device" "$TD_WORK/run1.err" "$TD_WORK/run1.out" || fail "run's log does not name the full disk: $(tail -3 "$TD_WORK/run1.err")"
grep -q "BYE${T}storage failure" "$TD_WORK/full.out" || fail "the EA got no BYE storage failure: $(tail -2 "$TD_WORK/full.out")"
acked=$(grep -o "^ACK${T}[0-9]*" "$TD_WORK/full.out" | tail -1 | cut -f2)
pass "run on a full disk: BYE storage failure to the EA, exit 3 (acked up to ${acked:-nothing})"

rm -f "$mnt/filler"
start_service "$TD_WORK/run2.out" "$TD_WORK/run2.err" --data-dir "$dir" --config "$cfg" run --role gateway
gw=$SVC
{ echo "$hello"; ticks 2 3001; } > "$TD_WORK/resend.in"
timeout 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT && cat '$TD_WORK/resend.in' >&3 && sleep 2" > "$TD_WORK/resend.out" 2> /dev/null || true
stop_expect "$gw" 0 "$TD_WORK/run2.err" "the restarted service"
m=$(td --data-dir "$dir" --config "$cfg" dump --symbol GBPUSD | grep -c '"kind":"tick"')
[ "$m" -eq 3000 ] || fail "after the resend the tape holds $m GBPUSD ticks, expected 3000 once each"
pass "with space freed the EA's resend is taken: 3000 ticks on the tape once each"
