# lib.sh - shared helpers of the integration tests (sourced). Each test gets:
#   $TAPEDECK  the binary   $TD_WORK  a fresh work folder   $TD_SHARED_DATA  the real data folder
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }
td() { "$TAPEDECK" "$@"; }

# expect_exit CODE CMD...: runs CMD, keeps stderr in $TD_WORK/last.err, checks the exit code
expect_exit() {
  local want=$1; shift
  set +e
  "$@" > "$TD_WORK/last.out" 2> "$TD_WORK/last.err"
  local got=$?
  set -e
  [ "$got" -eq "$want" ] || { cat "$TD_WORK/last.err" >&2; fail "'$*' exited $got, expected $want"; }
}

# expect_err TEXT: the last command's stderr contains TEXT
expect_err() {
  grep -qF -- "$1" "$TD_WORK/last.err" || { cat "$TD_WORK/last.err" >&2; fail "stderr lacks '$1'"; }
}

# kill_services: SIGKILL to every process start_service started (PIDS); tests trap it on EXIT
# (kill_services_on_exit) so that a failed test leaves no service behind.
kill_services() { for p in "${PIDS[@]}"; do kill -9 "$p" 2> /dev/null || true; done; }
kill_services_on_exit() { trap kill_services EXIT; }

# stop_expect PID CODE ERRFILE WHAT: SIGTERM to PID, waits for it and fails unless it exited CODE
# (ERRFILE, its stderr, is shown on failure).
stop_expect() {
  local pid=$1 want=$2 errfile=$3 what=$4
  kill -TERM "$pid" 2> /dev/null || true
  set +e
  wait "$pid"
  local rc=$?
  set -e
  [ "$rc" -eq "$want" ] || { cat "$errfile" >&2; fail "$what exited $rc, expected $want"; }
}

# start_service OUT ERR ARGS...: runs "$TAPEDECK" ARGS... in the background (the binary itself, not a
# shell function, so that $SVC is its pid; also added to PIDS for the caller's cleanup), waits for
# its "listening on" line in OUT and sets PORT from it.
PIDS=()
start_service() {
  local out=$1 err=$2; shift 2
  "$TAPEDECK" "$@" >> "$out" 2>> "$err" &
  SVC=$!
  PIDS+=("$SVC")
  for _ in $(seq 300); do
    grep -q "listening on" "$out" && break
    kill -0 "$SVC" 2> /dev/null || { cat "$err" >&2; fail "tapedeck $* did not start"; }
    sleep 0.1
  done
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$out" | tail -1)
  [ -n "$PORT" ] || fail "no startup line from tapedeck $*: $(cat "$out")"
}

need_data() {
  if [ ! -d "$TD_SHARED_DATA" ]; then
    echo "SKIP: real market data not found at $TD_SHARED_DATA (../shared/data); this test needs it"
    exit 77
  fi
}

rm -rf "$TD_WORK"
mkdir -p "$TD_WORK"
set -e

# The XAUUSD and EURUSD specs and parameter sets the real-data tests use.
write_config() {
  cat > "$1" <<'YAML'
tape:
  sync: none
  batch_events: 5000
symbols:
  XAUUSD:
    digits: 3
    contract_size: 100
  EURUSD:
    digits: 5
    contract_size: 100000
YAML
}

DUKA_EURUSD="$TD_SHARED_DATA/ticks/dukascopy-eurusd-2019-02-04_05.csv"
# import_duka_eurusd DIR CONFIG REASON: the two Dukascopy EURUSD days (2019-02-04 and -05) with an
# sma_cross set in front, pushed with REASON
import_duka_eurusd() {
  local dir=$1 cfg=$2
  td --data-dir "$dir" --config "$cfg" params push --symbol EURUSD --strategy sma_cross \
     --set fast=5,slow=20,direction=both,volume=1,sl_points=0,tp_points=0 --author tests --reason "$3" \
     --at 2019-02-04T00:00:00 > /dev/null
  td --data-dir "$dir" --config "$cfg" import --format dukascopy-csv --symbol EURUSD --day-end last "$DUKA_EURUSD" > /dev/null
}

LEAN_XAU="$TD_SHARED_DATA/ticks/lean-oanda-xauusd"
# import_lean_xau DIR CONFIG: the 13 OANDA XAUUSD days with a parameter set in front
import_lean_xau() {
  local dir=$1 cfg=$2
  td --data-dir "$dir" --config "$cfg" params push --symbol XAUUSD --strategy breakout \
     --set lookback=12,atr_n=14,sl_atr=2,tp_atr=3,max_hold=16,direction=both,volume=0.10 \
     --author tests --reason "integration test" --at 2014-05-01T00:00:00 > /dev/null
  td --data-dir "$dir" --config "$cfg" import --format lean-ticks --symbol XAUUSD "$LEAN_XAU"/*.csv > /dev/null
}
