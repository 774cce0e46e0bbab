#!/usr/bin/env bash
# The Expert Advisor cannot be compiled here (MetaEditor runs only inside MT5), so this checks its
# source against the gateway's parser, the protocol's one definition: every key the EA writes for a
# verb is a key the parser accepts for that verb, every key the parser requires is written, and the
# EA's protocol version and line limit are gateway/protocol.h's.
. "$(dirname "$0")/lib.sh"
ea="$TD_SOURCE_DIR/ops/mt5/TapedeckBridge.mq5"
proto_c="$TD_SOURCE_DIR/gateway/protocol.c"
proto_h="$TD_SOURCE_DIR/gateway/protocol.h"
[ -f "$ea" ] || fail "$ea is missing"

# The parser's key tables: "VERB key required" per line, from `static const key_def_t x_keys[]`.
awk '
  /static const key_def_t [a-z]+_keys\[\] = \{/ { verb = toupper($4); sub(/_KEYS\[\]/, "", verb); next }
  verb != "" && /^\};/ { verb = ""; next }
  verb != "" {
    line = $0
    while (match(line, /\{"[a-z_]+", K_[A-Z0-9]+, (true|false)/)) {
      entry = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
      split(entry, f, /[{", ]+/); print verb, f[2], f[4]
    }
  }' "$proto_c" > "$TD_WORK/parser_keys.txt"
[ "$(awk '{print $1}' "$TD_WORK/parser_keys.txt" | sort -u | tr '\n' ' ')" = "ACCOUNT EXEC HEARTBEAT HELLO SPEC TICK " ] ||
  fail "could not read the parser's key tables from $proto_c (got: $(awk '{print $1}' "$TD_WORK/parser_keys.txt" | sort -u | tr '\n' ' '))"

# The keys the EA writes, per verb: each function that builds a line's body, and its verb.
ea_keys() { # FUNCTION...: the key= literals inside those functions of the EA
  for fn in "$@"; do
    awk -v fn="$fn" '
      $0 ~ "^[a-z]+ " fn "\\(" { inside = 1; next }
      inside && /^}/ { inside = 0 }
      inside { line = $0
        while (match(line, /("|\\t)[a-z_]+=/)) {
          k = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
          gsub(/"|\\t|=/, "", k); print k
        }
      }' "$ea"
  done | sort -u
}
check_verb() { # VERB FUNCTION...
  local verb=$1; shift
  ea_keys "$@" > "$TD_WORK/ea_$verb.txt"
  [ -s "$TD_WORK/ea_$verb.txt" ] || fail "found no keys for $verb in the EA's $*"
  while read -r k; do
    grep -q "^$verb $k " "$TD_WORK/parser_keys.txt" || fail "the EA writes $verb key '$k', which the gateway refuses"
  done < "$TD_WORK/ea_$verb.txt"
  awk -v v="$verb" '$1 == v && $3 == "true" { print $2 }' "$TD_WORK/parser_keys.txt" | while read -r k; do
    grep -qx "$k" "$TD_WORK/ea_$verb.txt" || fail "the EA never writes $verb's required key '$k'"
  done
  pass "$verb: the EA writes $(wc -l < "$TD_WORK/ea_$verb.txt") key(s), all accepted, every required one present"
}
check_verb HELLO Connect
check_verb TICK PollTicks
check_verb SPEC SpecBody CheckSpecs
check_verb EXEC OnTradeTransaction
check_verb ACCOUNT SendAccount
check_verb HEARTBEAT OnTimer
# A rejected order's EXEC carries the required keys too (its optional ones are not needed).
ea_keys Reject > "$TD_WORK/ea_reject.txt"
awk '$1 == "EXEC" && $3 == "true" { print $2 }' "$TD_WORK/parser_keys.txt" | while read -r k; do
  grep -qx "$k" "$TD_WORK/ea_reject.txt" || fail "the EA's rejected EXEC lacks the required key '$k'"
done
pass "EXEC for a rejected order: every required key present"

# Constants shared with the gateway.
want_version=$(awk '/#define TD_GW_PROTOCOL_VERSION/ { print $3 }' "$proto_h")
want_max=$(awk '/#define TD_GW_LINE_MAX/ { print $3 }' "$proto_h")
got_version=$(awk '/#define PROTOCOL_VERSION/ { print $3 }' "$ea")
got_max=$(awk '/#define MAX_LINE/ { print $3 }' "$ea")
[ "$got_version" = "$want_version" ] || fail "the EA speaks protocol $got_version, the gateway $want_version"
[ "$got_max" -eq $((want_max - 1)) ] || fail "the EA's MAX_LINE $got_max is not TD_GW_LINE_MAX - 1 ($((want_max - 1)))"
pass "protocol version $got_version and line limit $got_max bytes + LF agree with gateway/protocol.h"

# What the EA reads: the ORDER keys the gateway writes.
for k in intent symbol side volume sl tp; do
  grep -q "\\\\t$k=%s" "$proto_c" || fail "the gateway's ORDER line has no '$k' (the EA reads it)"
  grep -q "KeyValue(fields, \"$k\")" "$ea" || fail "the EA does not read ORDER's '$k'"
done
grep -q 'KeyValue(f, "acked")' "$ea" || fail "the EA does not read WELCOME's acked"
pass "the EA reads every key of ORDER and WELCOME that the gateway writes"
