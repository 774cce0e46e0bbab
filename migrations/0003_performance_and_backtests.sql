-- 0003: performance summaries (filled by `compact`) and the backtester's tables.

-- One row per symbol and trading day.
CREATE TABLE perf_daily (
    symbol            text NOT NULL,
    trading_day       date NOT NULL,
    trades            integer NOT NULL,
    wins              integer NOT NULL,
    win_rate          double precision,
    realized_pnl_e8   bigint NOT NULL,
    sharpe            double precision,
    max_drawdown_e8   bigint NOT NULL,
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, trading_day)
);
CREATE INDEX perf_daily_day ON perf_daily (trading_day);

-- One row per symbol, trading day and hour-of-day window (UTC hour the trade closed in).
CREATE TABLE perf_hourly (
    symbol            text NOT NULL,
    trading_day       date NOT NULL,
    hour              smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    trades            integer NOT NULL,
    wins              integer NOT NULL,
    realized_pnl_e8   bigint NOT NULL,
    max_drawdown_e8   bigint NOT NULL,
    PRIMARY KEY (symbol, trading_day, hour)
);

CREATE TABLE backtest_runs (
    run_id        bigserial PRIMARY KEY,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    strategy      text NOT NULL,
    symbol        text NOT NULL,
    data_source   text NOT NULL,
    data_sha256   bytea,
    grid_spec     text NOT NULL,
    param_sets    integer NOT NULL DEFAULT 0,
    author        text,
    note          text
);
CREATE INDEX backtest_runs_symbol ON backtest_runs (symbol, started_at);

CREATE TABLE backtest_results (
    run_id            bigint NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    param_index       integer NOT NULL,
    params            jsonb NOT NULL,
    trades            integer NOT NULL,
    wins              integer NOT NULL,
    net_pnl_e8        bigint NOT NULL,
    max_drawdown_e8   bigint NOT NULL,
    sharpe            double precision,
    sortino           double precision,
    calmar            double precision,
    annual_return     double precision,
    PRIMARY KEY (run_id, param_index)
);
CREATE INDEX backtest_results_sharpe ON backtest_results (run_id, sharpe DESC);
