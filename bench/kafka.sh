#!/usr/bin/env bash
# Kafka-mode benchmarks on librdkafka's mock cluster (3 brokers, td_kafka_mock), RelWithDebInfo:
#  0. the same feed into the gateway on the local tape, as the baseline under the same machine load;
#  1. gateway ingest from one `tapedeck feed --fast --window 0` connection (no bound on unacknowledged
#     lines, as the EA) into the input topic (every burst
#     ACKed only after delivery with acks=all), from HELLO to the last ACK as feed reports it, over
#     the 266,219 Dukascopy EURUSD ticks of 2019-02-04/05 (the mock keeps only ~5 MiB per
#     partition and drops older data: fine for the producer side measured here);
#  2. tick-to-order latency with all three roles and broker.mode external under the 18-symbol load
#     of bench/live.sh: `feed --synthetic desk` (18 symbols of the built-in SYNTHETIC day, generated
#     by our own code, not market data), the first HOURS hours at SPEED x real time, M1 bars, an
#     sma_cross set per symbol that trades every few minutes; the router (woken by its consumer)
#     reports p50/p99/max from the gateway reading the burst holding the tick to the ORDER written
#     to the feed's socket;
#  3. the floor under part 2: the same two Kafka hops with nothing of tapedeck in them
#     (bench/td_mock_hop.c: produce, consume and relay, consume, on our clients' settings) on a
#     fresh mock cluster with the same partitions, at part 2's rate, for 60 s.
# Usage: bench/kafka.sh [BUILD_DIR] [SPEED] [HOURS]   (defaults: ./build, 60, 1; as bench/live.sh)
#        ONLY_LATENCY=1 runs parts 2 and 3 alone, ONLY_INGEST=1 parts 0 and 1 alone,
#        ONLY_FLOOR=1 part 3 alone at FLOOR_RATE messages/s (default 675, the rate of part 2 at 60x)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
speed=${2:-60}
hours=${3:-1}
ticks=../shared/data/ticks/dukascopy-eurusd-2019-02-04_05.csv
td=$build/cli/tapedeck
mock=$build/tests/integration/td_kafka_mock
hop=$build/bench/td_mock_hop
[ -x "$td" ] && [ -x "$mock" ] && [ -x "$hop" ] || { echo "build first: ./ops/build.sh" >&2; exit 2; }
[ -f "$ticks" ] || { echo "needs ../shared/data" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tapedeck-bench-kafka.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
  sleep 0.5
  exec 3>&-
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

# start_mock PARTITIONS [TOPIC...]: a fresh mock cluster, the topics (default: tapedeck's input and
# output) with PARTITIONS partitions each; $boot its bootstrap servers
start_mock() {
  local n=$1 topics=() t
  shift
  [ $# -gt 0 ] || set -- tapedeck.input tapedeck.output
  for t in "$@"; do topics+=(--topic "$t:$n"); done
  exec 3>&-
  rm -f "$work/ctl" "$work/mock.out"
  mkfifo "$work/ctl"
  "$mock" "${topics[@]}" < "$work/ctl" > "$work/mock.out" 2> "$work/mock.err" &
  mock_pid=$!
  pids+=("$mock_pid")
  exec 3> "$work/ctl"
  for _ in $(seq 100); do grep -q '^bootstrap ' "$work/mock.out" && break; sleep 0.1; done
  boot=$(sed -n 's/^bootstrap //p' "$work/mock.out")
}
# cpu_s PID: the CPU seconds (user + system) the process has used so far
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
# start_role NAME ROLE [--set K=V...]: runs ROLE with $work/NAME as data directory, waits for its
# startup line
start_role() {
  "$td" --data-dir "$work/$1/$2" --config "$work/config.yaml" --set kafka.brokers="$boot" \
    --set kafka.partitions="$parts" "${@:3}" run --role "$2" \
    > "$work/$1.$2.out" 2> "$work/$1.$2.err" &
  pids+=("$!")
  eval "${2}_pid=$!"
  for _ in $(seq 300); do grep -q "tapedeck run: $2 " "$work/$1.$2.out" && break; sleep 0.1; done
}
cat > "$work/config.yaml" <<YAML
tape:
  sync: none
journal:
  mode: kafka
kafka:
  partitions: 4
  fetch_wait_ms: 1 # the mock answers an empty fetch only when this wait ends (a broker at once)
gateway:
  listen: 127.0.0.1:0
  token: bench
  account: "1" # the feed's --account: orders go only to the account that trades the symbol
bars:
  timeframe: M1
broker:
  mode: external
router:
  max_age_ms: 60000
YAML
echo "tapedeck kafka benchmark (mock cluster, 3 brokers): $(nproc) cores, $(date -u +%Y-%m-%d)"

# the floor: td_mock_hop at RATE messages/s on a fresh mock cluster with $parts partitions
floor() {
  start_mock "$parts" hop.a hop.b
  "$hop" "$boot" "$parts" "$1" 60 | sed "s/^/floor at $1 messages\/s (no tapedeck, bench\/td_mock_hop): /"
  echo "  CPU: mock cluster $(cpu_s "$mock_pid") s in the 60 s"
}
# 16 partitions: the mock finds a fetch's offset by walking the partition's message sets from the
# oldest ("FIXME: Maintain an index" in its source), so its cost grows with the messages of a
# partition; with 4 partitions of ~10k produce requests each the mock cluster alone took 70 % of
# a core by the end of the run and its produce round trip grew from 0.15 ms to 5 ms (p50)
parts=16
if [ -n "${ONLY_FLOOR:-}" ]; then
  floor "${FLOOR_RATE:-675}"
  exit 0
fi

if [ -z "${ONLY_LATENCY:-}" ]; then
# 0. the baseline: the gateway on the local tape
"$td" --data-dir "$work/ingest-tape" --config "$work/config.yaml" --set journal.mode=tape --set broker.mode=paper \
  run --role gateway > "$work/ingest.gateway.out" 2> "$work/ingest.gateway.err" &
gw=$!
pids+=("$gw")
for _ in $(seq 300); do grep -q "listening on" "$work/ingest.gateway.out" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/ingest.gateway.out")
"$td" --config "$work/config.yaml" feed --gateway "127.0.0.1:$port" --token bench --account 1 \
  --format dukascopy-csv --symbol EURUSD --fast --window 0 "$ticks" | tail -1 | sed "s/^/gateway ingest into the local tape: /"
kill -TERM "$gw"
wait "$gw" || true

# 1. ingest: the gateway alone; with broker.mode external it also mirrors both topics for its router
for mode in paper external; do
  start_mock 4
  "$td" --data-dir "$work/ingest-$mode" --config "$work/config.yaml" --set kafka.brokers="$boot" \
    --set broker.mode=$mode run --role gateway > "$work/ingest.gateway.out" 2> "$work/ingest.gateway.err" &
  gw=$!
  pids+=("$gw")
  for _ in $(seq 300); do grep -q "listening on" "$work/ingest.gateway.out" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/ingest.gateway.out")
  gw0=$(cpu_s "$gw")
  mk0=$(cpu_s "$mock_pid")
  "$td" --config "$work/config.yaml" feed --gateway "127.0.0.1:$port" --token bench --account 1 \
    --format dukascopy-csv --symbol EURUSD --fast --window 0 "$ticks" | tail -1 | sed "s/^/gateway ingest into kafka, broker.mode $mode: /"
  echo "  CPU during the run: gateway $(echo "$(cpu_s "$gw") - $gw0" | bc) s, mock cluster $(echo "$(cpu_s "$mock_pid") - $mk0" | bc) s"
  kill -TERM "$gw"
  wait "$gw" || true
  grep -o '[0-9]* commit(s)' "$work/ingest.gateway.out" | sed 's/^/  gateway: read bursts produced and committed: /'
done

fi # ONLY_LATENCY
[ -n "${ONLY_INGEST:-}" ] && exit 0

# 2. tick-to-order: archiver, processor, gateway with its router; the feed paced
# the "desk" set of feed/synthetic.c
symbols="EURUSD GBPUSD USDJPY USDCHF AUDUSD USDCAD NZDUSD EURGBP EURJPY GBPJPY EURCHF AUDJPY XAUUSD XAGUSD US500 US30 GER40 UK100"
start_mock $parts
# the archiver is not on the order's path: it fetches with the default wait (a mock broker
# answers an empty fetch only when the wait ends, so a short wait is a busy loop in the mock)
start_role lat archiver --set kafka.fetch_wait_ms=100
start_role lat processor
start_role lat gateway
for s in $symbols; do
  "$td" --data-dir "$work/lat/archiver" --config "$work/config.yaml" --set kafka.brokers="$boot" \
    --set kafka.partitions="$parts" params push \
    --symbol "$s" --strategy sma_cross --set direction=both,fast=2,slow=5,sl_points=0,tp_points=0,volume=0.10 \
    --author bench --reason bench --at 2024-01-02T00:00:00 > /dev/null
done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/lat.gateway.out")
"$td" --config "$work/config.yaml" feed --gateway "127.0.0.1:$port" --token bench --account 1 --synthetic desk \
  --hours "$hours" --speed "$speed" | tail -1 > "$work/lat.feed.out"
sed "s/^/latency run, 18 synthetic symbols, $hours h at ${speed}x: /" "$work/lat.feed.out"
echo "  CPU since start: mock cluster $(cpu_s "$mock_pid") s, gateway $(cpu_s "$gateway_pid") s, processor $(cpu_s "$processor_pid") s, archiver $(cpu_s "$archiver_pid") s"
kill -TERM "$gateway_pid"
wait "$gateway_pid" || true
grep 'router:' "$work/lat.gateway.out" | sed 's/^tapedeck run: /tick-to-order on kafka: /'
# where the time goes: the first hop (gateway read -> the processor's tape appending the intent)
# from the archive's ingest times (bench/td_hops.c); the rest of the path is the total minus it
for r in processor archiver; do
  eval "pid=\$${r}_pid"
  kill -TERM "$pid"
  wait "$pid" || true
done
"$build/bench/td_hops" "$work/lat/archiver" $symbols

# 3. the floor at the rate the feed reached (start_mock ends the cluster of part 2)
floor "$(sed -n 's/.*, \([0-9]*\) lines\/s$/\1/p' "$work/lat.feed.out")"
