-- 0002: what the processors produced (the output streams): bars, signals, order intents, fills
-- (execution reports), position changes, closed trades, day digests, and the day index.

-- Bars by symbol, timeframe and open time, partitioned by month of open_time (UTC). A bar is one
-- row per (symbol, timeframe_s, open_time): the partition key has to be part of every unique key,
-- and within one output stream that triple and the bar's output id (input_offset, idx) identify
-- the same bar. Month partitions are created on demand by td_ensure_month_partition().
CREATE TABLE bars (
    symbol          text NOT NULL,
    timeframe_s     integer NOT NULL CHECK (timeframe_s > 0),
    open_time       timestamptz NOT NULL,
    open_e8         bigint NOT NULL,
    high_e8         bigint NOT NULL,
    low_e8          bigint NOT NULL,
    close_e8        bigint NOT NULL,
    tick_volume     bigint NOT NULL,
    spread_min_e8   bigint NOT NULL,
    spread_max_e8   bigint NOT NULL,
    spread_sum_e8   bigint NOT NULL,
    late_ticks      bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    out_offset      bigint NOT NULL,
    input_offset    bigint NOT NULL,
    idx             integer NOT NULL,
    PRIMARY KEY (symbol, timeframe_s, open_time)
) PARTITION BY RANGE (open_time);

-- Creates the month partition of `parent` that holds t, if it does not exist yet.
CREATE FUNCTION td_ensure_month_partition(parent text, t timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    lo   timestamp := date_trunc('month', t AT TIME ZONE 'UTC');
    name text := parent || '_' || to_char(lo, 'YYYYMM');
BEGIN
    IF to_regclass(quote_ident(name)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', name, parent,
                       (lo AT TIME ZONE 'UTC'), ((lo + interval '1 month') AT TIME ZONE 'UTC'));
    END IF;
END
$$;

CREATE TABLE signals (
    symbol          text NOT NULL,
    input_offset    bigint NOT NULL,
    idx             integer NOT NULL,
    out_offset      bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    strategy        text NOT NULL,
    params_version  integer NOT NULL,
    direction       text NOT NULL,
    bar_time        timestamptz NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (symbol, input_offset, idx)
);
CREATE INDEX signals_symbol_time ON signals (symbol, event_time);

CREATE TABLE order_intents (
    symbol          text NOT NULL,
    input_offset    bigint NOT NULL,
    idx             integer NOT NULL,
    out_offset      bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    intent_id       text NOT NULL,
    side            text NOT NULL,
    volume_e8       bigint NOT NULL,
    order_type      smallint NOT NULL,
    stop_loss_e8    bigint NOT NULL,
    take_profit_e8  bigint NOT NULL,
    strategy        text NOT NULL,
    params_version  integer NOT NULL,
    reason          text NOT NULL,
    PRIMARY KEY (symbol, input_offset, idx)
);
CREATE INDEX order_intents_symbol_time ON order_intents (symbol, event_time);
CREATE INDEX order_intents_intent_id ON order_intents (intent_id);

-- Execution reports: the paper broker's (in output streams) and, later, the broker's (inputs).
CREATE TABLE fills (
    symbol          text NOT NULL,
    input_offset    bigint NOT NULL,
    idx             integer NOT NULL,
    out_offset      bigint NOT NULL,
    event_time      timestamptz NOT NULL,
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
    PRIMARY KEY (symbol, input_offset, idx)
);
CREATE INDEX fills_symbol_time ON fills (symbol, event_time);
CREATE INDEX fills_intent_id ON fills (intent_id);

CREATE TABLE position_changes (
    symbol           text NOT NULL,
    input_offset     bigint NOT NULL,
    idx              integer NOT NULL,
    out_offset       bigint NOT NULL,
    event_time       timestamptz NOT NULL,
    volume_e8        bigint NOT NULL,
    avg_price_e8     bigint NOT NULL,
    realized_pnl_e8  bigint NOT NULL,
    commission_e8    bigint NOT NULL,
    swap_e8          bigint NOT NULL,
    deal_id          bigint NOT NULL,
    intent_id        text NOT NULL,
    PRIMARY KEY (symbol, input_offset, idx)
);
CREATE INDEX position_changes_symbol_time ON position_changes (symbol, event_time);

CREATE TABLE closed_trades (
    symbol          text NOT NULL,
    input_offset    bigint NOT NULL,
    idx             integer NOT NULL,
    out_offset      bigint NOT NULL,
    event_time      timestamptz NOT NULL,
    side            text NOT NULL,
    entry_time      timestamptz NOT NULL,
    entry_price_e8  bigint NOT NULL,
    exit_time       timestamptz NOT NULL,
    exit_price_e8   bigint NOT NULL,
    volume_e8       bigint NOT NULL,
    pnl_e8          bigint NOT NULL,
    commission_e8   bigint NOT NULL,
    swap_e8         bigint NOT NULL,
    PRIMARY KEY (symbol, input_offset, idx)
);
CREATE INDEX closed_trades_symbol_exit ON closed_trades (symbol, exit_time);

CREATE TABLE day_digests (
    symbol           text NOT NULL,
    input_offset     bigint NOT NULL,
    idx              integer NOT NULL,
    out_offset       bigint NOT NULL,
    event_time       timestamptz NOT NULL,
    trading_day      date NOT NULL,
    sha256           bytea NOT NULL CHECK (length(sha256) = 32),
    first_offset     bigint NOT NULL,
    last_offset      bigint NOT NULL,
    inputs           bigint NOT NULL,
    outputs          bigint NOT NULL,
    trades           bigint NOT NULL,
    wins             bigint NOT NULL,
    realized_pnl_e8  bigint NOT NULL,
    max_drawdown_e8  bigint NOT NULL,
    late_ticks       bigint NOT NULL,
    PRIMARY KEY (symbol, input_offset, idx),
    UNIQUE (symbol, trading_day)
);

-- The trading-day index: for (symbol, stream, day) the first and last offset, inclusive.
CREATE TABLE day_index (
    symbol        text NOT NULL,
    stream        text NOT NULL CHECK (stream IN ('input', 'output')),
    trading_day   date NOT NULL,
    first_offset  bigint NOT NULL,
    last_offset   bigint NOT NULL,
    count         bigint NOT NULL,
    PRIMARY KEY (symbol, stream, trading_day)
);
