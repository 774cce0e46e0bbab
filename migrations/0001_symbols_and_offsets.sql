-- 0001: symbols, their specifications, parameter-set history and the sink's consumed offsets.
-- Conventions of every tapedeck table: prices, volumes and money are bigint at the tape's 1e8 scale
-- (columns ending in _e8; the v_* views show them as numeric); times are timestamptz (UTC); stream
-- offsets are bigint. Rows that come from the tape carry the deterministic id of the event that
-- produced them: (symbol, input_offset, idx) for outputs, (symbol, in_offset) for inputs.

CREATE TABLE symbols (
    symbol      text PRIMARY KEY,
    first_seen  timestamptz NOT NULL DEFAULT now()
);

-- SymbolSpec events of a symbol's input stream, each from the offset where it took effect.
CREATE TABLE symbol_specs (
    symbol              text NOT NULL,
    in_offset           bigint NOT NULL,
    effective_at        timestamptz NOT NULL,
    digits              smallint NOT NULL,
    point_e8            bigint NOT NULL,
    contract_size_e8    bigint NOT NULL,
    tick_size_e8        bigint NOT NULL,
    tick_value_e8       bigint NOT NULL,
    swap_mode           text NOT NULL,
    swap_long_e8        bigint NOT NULL,
    swap_short_e8       bigint NOT NULL,
    triple_swap_weekday smallint NOT NULL,
    volume_step_e8      bigint NOT NULL,
    volume_min_e8       bigint NOT NULL,
    volume_max_e8       bigint NOT NULL,
    PRIMARY KEY (symbol, in_offset)
);

-- ParamsChanged events: the parameter set in force from in_offset on.
CREATE TABLE params_history (
    symbol        text NOT NULL,
    in_offset     bigint NOT NULL,
    effective_at  timestamptz NOT NULL,
    strategy      text NOT NULL,
    version       integer NOT NULL,
    params        jsonb NOT NULL,
    author        text NOT NULL,
    reason        text NOT NULL,
    PRIMARY KEY (symbol, in_offset),
    UNIQUE (symbol, strategy, version)
);

-- What the sink has written: per symbol and stream, the next offset to read. Updated in the same
-- SQL transaction as the rows of each batch, so rows and offset are committed together or not.
CREATE TABLE sink_offsets (
    symbol        text NOT NULL,
    stream        text NOT NULL CHECK (stream IN ('input', 'output')),
    next_offset   bigint NOT NULL CHECK (next_offset >= 0),
    rows_written  bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, stream)
);
