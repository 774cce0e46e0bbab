# warehouse.sh - what the warehouse must hold, from the tape, and what it holds (sourced after
# pg.sh). warehouse_want OUTPUTS.jsonl INPUTS.jsonl N_INPUTS: per table a count and sums of its
# columns, computed with jq from `tapedeck dump --stream output` and from `tapedeck dump` (the input
# streams) without its ticks (dump_inputs), N_INPUTS = the input events with ticks. warehouse_summary: the same lines from
# PostgreSQL. Equal lines = the warehouse holds exactly what the tape says.
warehouse_want() {
  jq -rs '
    def e8: . * 100000000 | round;
    def sum(f): map(f) | add // 0;
    def t(k): map(select(.kind == k));
    (t("bar") | "bars \(length) \(sum(.close | e8)) \(sum(.high | e8)) \(sum(.tick_volume)) \(sum(.spread_sum | e8))"),
    (t("signal") | "signals \(length) \(sum(.params_version)) \(sum(.input_offset))"),
    (t("order_intent") | "order_intents \(length) \(sum(.volume | e8)) \(sum(.input_offset))"),
    (t("execution_report") | "fills \(length) \(sum(.price | e8)) \(sum(.volume | e8))"),
    (t("position_changed") | "position_changes \(length) \(sum(.avg_price | e8)) \(sum(.realized_pnl | e8))"),
    (t("trade_closed") | "closed_trades \(length) \(sum(.pnl | e8)) \(sum(.exit_price | e8))"),
    (t("day_digest") | "day_digests \(length) \(sum(.realized_pnl | e8)) \(map(.sha256) | join(","))"),
    "offsets \(length) \(sum(.offset))"
  ' "$1"
  jq -rs '
    def e8: . * 100000000 | round;
    def sum(f): map(f) | add // 0;
    def t(k): map(select(.kind == k));
    (t("symbol_spec") | "symbol_specs \(length) \(sum(.offset)) \(sum(.digits)) \(sum(.contract_size | e8)) \(sum(.volume_step | e8)) \(map(.swap_mode + "/" + .source) | join(","))"),
    (t("params_changed") | "params_history \(length) \(sum(.offset)) \(sum(.version)) \(map(.strategy + ":" + .author + ":" + .reason + ":" + (.values | to_entries | map("\(.key)=\(.value)") | join(";"))) | join(","))"),
    (t("execution_report") | "exec_reports \(length) \(sum(.offset)) \(sum(.price | e8)) \(sum(.volume | e8)) \(sum(.profit | e8)) \(map(.source + ":" + .intent_id) | join(","))"),
    "input_offsets \($n)"
  ' --argjson n "$3" "$2"
}

WAREHOUSE_ALL="SELECT out_offset FROM bars UNION ALL SELECT out_offset FROM signals UNION ALL SELECT out_offset FROM order_intents
     UNION ALL SELECT out_offset FROM fills UNION ALL SELECT out_offset FROM position_changes
     UNION ALL SELECT out_offset FROM closed_trades UNION ALL SELECT out_offset FROM day_digests"

warehouse_summary() {
  pg_sql "SELECT 'bars ' || count(*) || ' ' || coalesce(sum(close_e8), 0) || ' ' || coalesce(sum(high_e8), 0) || ' ' ||
                 coalesce(sum(tick_volume), 0) || ' ' || coalesce(sum(spread_sum_e8), 0) FROM bars"
  pg_sql "SELECT 'signals ' || count(*) || ' ' || coalesce(sum(params_version), 0) || ' ' || coalesce(sum(input_offset), 0) FROM signals"
  pg_sql "SELECT 'order_intents ' || count(*) || ' ' || coalesce(sum(volume_e8), 0) || ' ' || coalesce(sum(input_offset), 0) FROM order_intents"
  pg_sql "SELECT 'fills ' || count(*) || ' ' || coalesce(sum(price_e8), 0) || ' ' || coalesce(sum(volume_e8), 0) FROM fills"
  pg_sql "SELECT 'position_changes ' || count(*) || ' ' || coalesce(sum(avg_price_e8), 0) || ' ' || coalesce(sum(realized_pnl_e8), 0) FROM position_changes"
  pg_sql "SELECT 'closed_trades ' || count(*) || ' ' || coalesce(sum(pnl_e8), 0) || ' ' || coalesce(sum(exit_price_e8), 0) FROM closed_trades"
  pg_sql "SELECT 'day_digests ' || count(*) || ' ' || coalesce(sum(realized_pnl_e8), 0) || ' ' ||
                 coalesce(string_agg(encode(sha256, 'hex'), ',' ORDER BY symbol, out_offset), '') FROM day_digests"
  pg_sql "SELECT 'offsets ' || count(*) || ' ' || coalesce(sum(out_offset), 0) FROM ($WAREHOUSE_ALL) x"
  pg_sql "SELECT 'symbol_specs ' || count(*) || ' ' || coalesce(sum(in_offset), 0) || ' ' || coalesce(sum(digits), 0) || ' ' ||
                 coalesce(sum(contract_size_e8), 0) || ' ' || coalesce(sum(volume_step_e8), 0) || ' ' ||
                 coalesce(string_agg(swap_mode || '/' || source, ',' ORDER BY symbol, in_offset), '') FROM symbol_specs"
  pg_sql "SELECT 'params_history ' || count(*) || ' ' || coalesce(sum(in_offset), 0) || ' ' || coalesce(sum(version), 0) || ' ' ||
                 coalesce(string_agg(strategy || ':' || author || ':' || reason || ':' ||
                   (SELECT string_agg(key || '=' || value, ';' ORDER BY key) FROM jsonb_each_text(params)), ',' ORDER BY symbol, in_offset), '')
          FROM params_history"
  pg_sql "SELECT 'exec_reports ' || count(*) || ' ' || coalesce(sum(in_offset), 0) || ' ' || coalesce(sum(price_e8), 0) || ' ' ||
                 coalesce(sum(volume_e8), 0) || ' ' || coalesce(sum(profit_e8), 0) || ' ' ||
                 coalesce(string_agg(source || ':' || intent_id, ',' ORDER BY symbol, in_offset), '') FROM exec_reports"
  pg_sql "SELECT 'input_offsets ' || coalesce(sum(next_offset), 0) FROM sink_offsets WHERE stream = 'input'"
}

# dump_inputs DIR OUT: the input streams without ticks into OUT; prints the number of input events
dump_inputs() {
  "$TAPEDECK" --data-dir "$1" dump > "$2.all"
  wc -l < "$2.all"
  grep -v '"kind":"tick"' "$2.all" > "$2" || true
  rm -f "$2.all"
}
