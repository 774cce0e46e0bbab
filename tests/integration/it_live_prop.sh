#!/usr/bin/env bash
# Issue 19: a property test of the live path. `tapedeck run` (all roles, local tape, tape.sync none,
# broker.mode external, an sma_cross set on every symbol so that orders flow) is driven by
# td_live_prop with random valid and invalid sessions of two accounts at once, for several seeds
# (each seed its own accounts and symbols; td_live_prop.c says what it sends). After each seed
# the service is up. At the end: SIGTERM exits 0; and from the drivers' ledger and the tape
# (`tapedeck dump`):
#   I0  every line the gateway wrote parses (td_gw_parse_reply, the EA's side of the protocol)
#   I1  every line the gateway answered (numbered lines: an ERR or an ACK covering them)
#   I2  every ACKed TICK/SPEC/EXEC is on the tape exactly once (its symbol, kind and time)
#   I3  no refused line's event is on the tape (a refused HEARTBEAT: no Clock at its time)
#   I4  every ORDER an account received is for a symbol that account sends - checked only when
#       the config has symbols.<SYMBOL>.account (the routing of defect 2); else reported
#   I5  `replay --date D` of every day `tapedeck days` lists exits 0
# Every failed invariant is printed with its seed and lines before the test exits 1.
# TD_PROP_SEEDS (default "1 2 3 4 5") and TD_PROP_SESSIONS (default 4) change the run;
# TD_PROP_NO_GAPS=1 leaves out the sequence jumps (to see the other invariants while a jump still
# makes the gateway drop what follows it, defect 4).
. "$(dirname "$0")/lib.sh"

[ -x "${TD_LIVE_PROP:-}" ] || fail "TD_LIVE_PROP (the td_live_prop driver) is not set"
kill_services_on_exit

seeds=${TD_PROP_SEEDS:-1 2 3 4 5}
sessions=${TD_PROP_SESSIONS:-4}
token=prop-token
now_s=$(date +%s)
from0=$(((now_s - 20 * 3600) * 1000)) # every line within the last day, never ahead of the clock

# the routing by configuration (defect 2) exists when the config reference has the key
routing=0
if td config --reference | grep -qF 'symbols.<SYMBOL>.account'; then
  routing=1
fi

# seed s: accounts 90s01 (symbols EURs, XAUs) and 90s02 (GBPs, US5s)
accounts_of() { echo "90${1}01=EUR${1},XAU${1} 90${1}02=GBP${1},US5${1}"; }

cfg="$TD_WORK/config.yaml"
{
  cat <<YAML
tape:
  sync: none
broker:
  mode: external
bars:
  timeframe: M1
gateway:
  listen: 127.0.0.1:0
  token: $token
  max_errors: 1000000
router:
  max_age_ms: 60000
symbols:
YAML
  for s in $seeds; do
    for pair in $(accounts_of "$s"); do
      for sym in $(echo "${pair#*=}" | tr ',' ' '); do
        echo "  $sym:"
        echo "    digits: 5"
        if [ "$routing" = 1 ]; then echo "    account: \"${pair%%=*}\""; fi
      done
    done
  done
} > "$cfg"
dir="$TD_WORK/data"
at=$(date -u -d "@$((from0 / 1000 - 60))" +%Y-%m-%dT%H:%M:%S)
for s in $seeds; do
  for pair in $(accounts_of "$s"); do
    for sym in $(echo "${pair#*=}" | tr ',' ' '); do
      td --data-dir "$dir" --config "$cfg" params push --symbol "$sym" --strategy sma_cross \
        --set fast=2,slow=4,direction=both,volume=0.1,sl_points=0,tp_points=0 --author tests \
        --reason "it_live_prop" --at "$at" > /dev/null
    done
  done
done

start_service "$TD_WORK/run.out" "$TD_WORK/run.err" --data-dir "$dir" --config "$cfg" run
RUN=$SVC
ledger="$TD_WORK/ledger"
: > "$ledger"
failures="$TD_WORK/failures"
: > "$failures"
bad() { echo "$*" >> "$failures"; }

k=0
for s in $seeds; do
  args=()
  if [ "${TD_PROP_NO_GAPS:-0}" = 1 ]; then args+=(--no-gaps); fi
  for pair in $(accounts_of "$s"); do args+=(--account "$pair"); done
  "$TD_LIVE_PROP" --port "$PORT" --token "$token" --seed "$s" --sessions "$sessions" \
    --from-ms $((from0 + k * 3 * 3600 * 1000)) --ledger "$ledger" "${args[@]}" 2>> "$TD_WORK/driver.err" ||
    fail "td_live_prop --seed $s failed: $(tail -3 "$TD_WORK/driver.err")"
  kill -0 "$RUN" 2> /dev/null || { tail -20 "$TD_WORK/run.err" >&2; fail "seed $s: the service is down"; }
  pass "seed $s: $(grep -c "^line seed=$s " "$ledger") lines sent, $(grep -c "^order seed=$s " "$ledger") ORDERs received; the service is up"
  k=$((k + 1))
done
stop_expect "$RUN" 0 "$TD_WORK/run.err" "tapedeck run after the random sessions"
pass "SIGTERM: tapedeck run exited 0"
# with an ASan/UBSan build (TD_SANITIZE), a report that did not stop the service
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$TD_WORK/run.err" "$TD_WORK/driver.err"; then
  bad "a sanitizer report: $(grep -m3 -E "Sanitizer|runtime error:" "$TD_WORK/run.err" "$TD_WORK/driver.err")"
fi
# I0: every line the gateway wrote is one the EA's parser accepts
while read -r line; do bad "I0 a gateway line td_gw_parse_reply refuses: $line"; done < <(grep '^badreply' "$ledger" | sort -u -k5)

# the tape's input events as "symbol kind time_ms", counted
td --data-dir "$dir" --config "$cfg" dump > "$TD_WORK/dump.jsonl"
sed -n 's/^{"symbol":"\([^"]*\)",.*"kind":"\([a-z_]*\)",.*"time_ms":\(-\{0,1\}[0-9]*\),.*/\1 \2 \3/p' \
  "$TD_WORK/dump.jsonl" | sort | uniq -c | awk '{ print $2, $3, $4, $1 }' > "$TD_WORK/tape.count"
[ -s "$TD_WORK/tape.count" ] || fail "the tape has no input events"

# I1 - I3: the ledger against the tape
awk -v failures="$failures" '
  FNR == NR { n[$1 " " $2 " " $3] = $4; if ($2 == "clock") clock[$3] = 1; next }
  $1 != "line" { next }
  {
    delete f
    for (i = 2; i <= NF; i++) { eq = index($i, "="); f[substr($i, 1, eq - 1)] = substr($i, eq + 1) }
    id = f["symbol"] " " f["kind"] " " f["time"]
    where = "seed " f["seed"] " round " f["round"] " account " f["account"] " seq " f["seq"] " class " f["class"] " " f["verb"] " " id
    if (f["status"] == "noreply") { print "I1 no answer: " where > failures; next }
    if (f["kind"] == "-") next
    got = (id in n) ? n[id] : 0
    if (f["kind"] == "clock") {
      if (f["status"] == "refused" && (f["time"] in clock)) print "I3 refused HEARTBEAT has a Clock: " where > failures
      next
    }
    if (f["status"] == "acked" && got != 1) print "I2 ACKed, on the tape " got " times: " where > failures
    if (f["status"] == "refused" && got != 0) print "I3 refused (" f["err"] "), on the tape " got " times: " where > failures
  }' "$TD_WORK/tape.count" "$ledger"
acked=$(grep -c ' status=acked' "$ledger" || true)
refused=$(grep -c ' status=refused' "$ledger" || true)
echo "ledger: $acked ACKed, $refused refused, $(grep -c '^order' "$ledger" || true) ORDERs; tape: $(wc -l < "$TD_WORK/dump.jsonl") input events"

# no stream of a symbol the drivers never sent validly (a bad symbol never became a stream)
td --data-dir "$dir" --config "$cfg" days > "$TD_WORK/days"
for sym in $(awk '{ print $1 }' "$TD_WORK/days" | sort -u); do
  grep -q "^  $sym:" "$cfg" || bad "I3 a stream of an unconfigured symbol: $sym"
done

# I4: the orders' accounts
if [ "$routing" = 1 ]; then
  while read -r _ seed _ account symbol _; do
    account=${account#account=} symbol=${symbol#symbol=}
    grep -q "^ *account: \"$account\"" "$cfg" || continue
    sed -n "/^  $symbol:/,/account/p" "$cfg" | grep -qF "account: \"$account\"" ||
      bad "I4 ORDER for $symbol reached account $account ($seed)"
  done < <(grep '^order' "$ledger")
  echo "I4 checked: $(grep -c '^order' "$ledger" || true) ORDERs, each to an account configured for its symbol unless listed below"
else
  foreign=0
  while read -r _ seed _ account symbol _; do
    account=${account#account=} symbol=${symbol#symbol=}
    s=${seed#seed=}
    case " $(accounts_of "$s" | tr ' ' '\n' | grep "^$account=" | cut -d= -f2 | tr ',' ' ') " in
      *" $symbol "*) ;;
      *) foreign=$((foreign + 1)) ;;
    esac
  done < <(grep '^order' "$ledger")
  echo "I4 skipped: tapedeck config --reference has no symbols.<SYMBOL>.account (orders are not routed by account);" \
    "seen: $foreign of $(grep -c '^order' "$ledger" || true) ORDERs reached an account that does not send their symbol"
fi

# I5: replay of every day
replayed=""
for day in $(awk '{ print $2 }' "$TD_WORK/days" | sort -u); do
  d="${day:0:4}-${day:4:2}-${day:6:2}"
  replayed="$replayed $d"
  td --data-dir "$dir" --config "$cfg" replay --date "$d" > "$TD_WORK/replay-$d.out" 2> "$TD_WORK/replay-$d.err" ||
    bad "I5 replay --date $d exited $?: $(tail -3 "$TD_WORK/replay-$d.out" "$TD_WORK/replay-$d.err" | tr '\n' ' ')"
done
[ -n "$replayed" ] || bad "I5 tapedeck days lists no day"
echo "I5 replayed:$replayed"

if [ -s "$failures" ]; then
  echo "FAILED invariants ($(wc -l < "$failures") line(s)); by invariant and class:" >&2
  sed 's/:.* class \([a-z]*\) .*/: class \1/' "$failures" | sort | uniq -c >&2
  echo "the first of each invariant, seed and class:" >&2
  awk '{ s = ""; c = ""; if (match($0, /seed[ =][0-9]+/)) s = substr($0, RSTART, RLENGTH)
         if (match($0, /class [a-z]+/)) c = substr($0, RSTART, RLENGTH)
         if (!seen[$1 " " s " " c]++) print }' "$failures" >&2
  fail "the live path broke an invariant (all of them in $failures)"
fi
pass "every line answered, every ACKed line on the tape once, nothing refused on it, every day replays"
