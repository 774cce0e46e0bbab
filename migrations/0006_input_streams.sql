-- 0006: the input streams in the warehouse. The sink now also reads each symbol's INPUT stream
-- (sink_offsets row with stream = 'input') and writes, exactly once (upsert keyed by (symbol,
-- in_offset), the stream's offset in the same transaction):
--   SymbolSpec      -> symbol_specs   (0001)
--   ParamsChanged   -> params_history (0001)
--   ExecutionReport -> exec_reports   (below): the broker's fills, rejects and expiries as the EA
--                      (source 'mt5') or the order router (source 'router') reported them.
-- Ticks, clock and session marks stay on the tape (bars are their summary in the warehouse).

CREATE TABLE exec_reports (
    symbol          text NOT NULL,
    in_offset       bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    source          text NOT NULL,
    intent_id       text NOT NULL,
    deal_id         bigint NOT NULL,
    order_id        bigint NOT NULL,
    position_id     bigint NOT NULL,
    side            text NOT NULL,
    price_e8        bigint NOT NULL,
    volume_e8       bigint NOT NULL,
    commission_e8   bigint NOT NULL,
    swap_e8         bigint NOT NULL,
    profit_e8       bigint NOT NULL,
    status          text NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (symbol, in_offset)
);
CREATE INDEX exec_reports_symbol_time ON exec_reports (symbol, event_time);
CREATE INDEX exec_reports_intent_id ON exec_reports (intent_id);

-- Where a parameter set came from ('params' = tapedeck params push).
ALTER TABLE params_history ADD COLUMN source text NOT NULL DEFAULT '';
ALTER TABLE symbol_specs ADD COLUMN source text NOT NULL DEFAULT '';

-- The tape is the record: two ParamsChanged events with one (strategy, version) would be a bug of
-- whoever appended them, but the warehouse must still hold what the tape says. The version stays
-- indexed for the trader's "which set was in force" queries.
ALTER TABLE params_history DROP CONSTRAINT params_history_symbol_strategy_version_key;
CREATE INDEX params_history_version ON params_history (symbol, strategy, version);
CREATE INDEX params_history_time ON params_history (symbol, effective_at);

-- The previous version of each parameter set, as the design's "versioned (who, when, why, previous
-- version)" reads.
CREATE VIEW v_params_history AS
SELECT symbol, in_offset, effective_at, strategy, version,
       lag(version) OVER (PARTITION BY symbol, strategy ORDER BY in_offset) AS previous_version,
       params, author, reason, source
FROM params_history;

CREATE VIEW v_exec_reports AS
SELECT symbol, in_offset, event_time, source, intent_id, deal_id, order_id, position_id, side,
       td_e8(price_e8) AS price, td_e8(volume_e8) AS volume, td_e8(commission_e8) AS commission,
       td_e8(swap_e8) AS swap, td_e8(profit_e8) AS profit, status, reason
FROM exec_reports;
