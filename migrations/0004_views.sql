-- 0004: numeric views of the 1e8-scaled columns, for people and spreadsheets.

-- A 1e8-scaled integer as an exact decimal with 8 places.
CREATE FUNCTION td_e8(v bigint) RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (v::numeric / 100000000)::numeric(28, 8) $$;

CREATE VIEW v_bars AS
SELECT symbol, timeframe_s, open_time,
       td_e8(open_e8) AS open, td_e8(high_e8) AS high, td_e8(low_e8) AS low, td_e8(close_e8) AS close,
       tick_volume, td_e8(spread_min_e8) AS spread_min, td_e8(spread_max_e8) AS spread_max,
       CASE WHEN tick_volume > 0 THEN round(td_e8(spread_sum_e8) / tick_volume, 10) END AS spread_mean,
       late_ticks, out_offset
FROM bars;

CREATE VIEW v_fills AS
SELECT symbol, event_time, intent_id, deal_id, order_id, position_id, side, td_e8(price_e8) AS price,
       td_e8(volume_e8) AS volume, td_e8(commission_e8) AS commission, td_e8(swap_e8) AS swap,
       td_e8(profit_e8) AS profit, status, reason, out_offset
FROM fills;

CREATE VIEW v_closed_trades AS
SELECT symbol, side, entry_time, td_e8(entry_price_e8) AS entry_price, exit_time,
       td_e8(exit_price_e8) AS exit_price, td_e8(volume_e8) AS volume, td_e8(pnl_e8) AS pnl,
       td_e8(commission_e8) AS commission, td_e8(swap_e8) AS swap,
       td_e8(pnl_e8 + commission_e8 + swap_e8) AS net_pnl, out_offset
FROM closed_trades;

CREATE VIEW v_day_digests AS
SELECT symbol, trading_day, encode(sha256, 'hex') AS sha256, first_offset, last_offset, inputs, outputs,
       trades, wins, td_e8(realized_pnl_e8) AS realized_pnl, td_e8(max_drawdown_e8) AS max_drawdown, late_ticks
FROM day_digests;
