-- 0007: what `tapedeck backtest --warehouse` stores besides one row per parameter set: every set's
-- P&L by exit month and weekday, the overfitting statistics of the run (Deflated Sharpe Ratio,
-- Probability of Backtest Overfitting) and its walk-forward (each window and the concatenated
-- out-of-sample result). All of it is written in the run's one transaction: a run that fails
-- stores nothing. One backtest_runs row holds one symbol (a grid file over many symbols gives one
-- run per symbol); the symbol is repeated in the tables below so the trader's queries by symbol
-- need no join. Figures are the report's (docs/BACKTEST.md): Sharpe ratios annualised by sqrt(252)
-- unless the column says per_day, money at 1e8 scale (_e8), drawdowns as negative fractions.

-- Net P&L of the trades that exit in each calendar month (jan..dec) / weekday (sun..sat, UTC),
-- as in the report's pnl_by_month / pnl_by_weekday. NULL for rows written before 0007.
ALTER TABLE backtest_results
    ADD COLUMN pnl_by_month_e8 bigint[] CHECK (cardinality(pnl_by_month_e8) = 12),
    ADD COLUMN pnl_by_weekday_e8 bigint[] CHECK (cardinality(pnl_by_weekday_e8) = 7);

-- The best sets of a run: ORDER BY sharpe DESC NULLS LAST (a set without a defined Sharpe - no
-- trades, a flat curve - is never "best"), straight from the index.
DROP INDEX backtest_results_sharpe;
CREATE INDEX backtest_results_sharpe ON backtest_results (run_id, sharpe DESC NULLS LAST);

-- One row per run: the DSR of the best set by Sharpe among the run's evaluated sets, and the PBO
-- by CSCV over every evaluated set's daily returns.
CREATE TABLE backtest_validation (
    run_id                       bigint PRIMARY KEY REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    symbol                       text NOT NULL,
    trials                       bigint NOT NULL,   -- N: the evaluated sets (refused ones are no trials)
    best_index                   integer,           -- the set the DSR deflates; NULL: no defined Sharpe
    sharpe                       double precision,  -- its Sharpe (annualised), the one deflated
    sharpe_per_day               double precision,
    sharpe_variance_per_day      double precision,  -- V: sample variance of the trials' Sharpe ratios
    expected_max_sharpe          double precision,  -- SR0 (annualised): expected best of N luck-only trials
    expected_max_sharpe_per_day  double precision,
    skewness                     double precision,  -- of the best set's daily returns
    kurtosis                     double precision,  -- non-excess (a normal law has 3)
    observations                 bigint NOT NULL,   -- T: the best set's daily returns
    psr                          double precision,  -- PSR(0): probability without the deflation for N
    dsr                          double precision,  -- PSR(SR0)
    pbo                          double precision,  -- NULL when not computed (pbo_skipped says why)
    pbo_blocks                   integer,           -- S
    pbo_block_days               integer,           -- L
    pbo_dropped_days             integer,           -- oldest days left out (T - S x L)
    pbo_combinations             bigint,            -- C(S, S/2) in-sample / out-of-sample splits
    pbo_overfit                  bigint,            -- splits with logit <= 0
    pbo_logit_mean               double precision,  -- mean of the splits' logits
    pbo_prob_oos_loss            double precision,  -- share of splits with an out-of-sample loss
    pbo_skipped                  text,
    CHECK ((pbo IS NULL) = (pbo_skipped IS NOT NULL))
);
CREATE INDEX backtest_validation_symbol ON backtest_validation (symbol, run_id DESC);

-- One row per run with --walk-forward: the concatenated out-of-sample result, what walk-forward
-- reports.
CREATE TABLE backtest_walkforward (
    run_id             bigint PRIMARY KEY REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    symbol             text NOT NULL,
    spec               text NOT NULL,     -- IS:OOS as given: 6000:1500 (bars) or 24m:6m (months)
    metric             text NOT NULL,     -- what chose the in-sample set: sharpe, sortino, ...
    windows            integer NOT NULL,
    chosen_windows     integer NOT NULL,  -- windows in which some set had a defined metric
    oos_days           bigint NOT NULL,
    oos_trades         bigint NOT NULL,
    oos_wins           bigint NOT NULL,
    oos_net_pnl_e8     bigint NOT NULL,
    oos_win_rate       double precision,
    oos_profit_factor  double precision,
    oos_sharpe         double precision,
    oos_sortino        double precision,
    oos_max_drawdown   double precision,
    oos_annual_return  double precision,
    oos_final_wealth   double precision   -- product of 1 + the out-of-sample daily returns
);
CREATE INDEX backtest_walkforward_symbol ON backtest_walkforward (symbol, run_id DESC);

-- One row per walk-forward window: in-sample bars [is_from, oos_from), out-of-sample bars
-- [oos_from, oos_last_bar] (bar open times, UTC), the set chosen in-sample, its out-of-sample figures.
CREATE TABLE backtest_wf_windows (
    run_id            bigint NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    window_no         integer NOT NULL,  -- 0, 1, ... in time order
    is_from           timestamptz NOT NULL,
    oos_from          timestamptz NOT NULL,
    oos_last_bar      timestamptz NOT NULL,
    is_bars           integer NOT NULL,
    oos_bars          integer NOT NULL,
    is_evaluated      bigint NOT NULL,   -- sets run in-sample (refusals excluded)
    chosen_index      integer,           -- NULL: no set had a defined metric; the window stays flat
    chosen_params     jsonb,
    is_metric         double precision,  -- the chosen set's in-sample metric
    oos_days          bigint NOT NULL,
    oos_trades        bigint NOT NULL,
    oos_wins          bigint NOT NULL,
    oos_net_pnl_e8    bigint NOT NULL,
    oos_sharpe        double precision,
    oos_sortino       double precision,
    oos_max_drawdown  double precision,
    PRIMARY KEY (run_id, window_no)
);

-- The trader's question "which set is best for this symbol, and can I trust it": per run, its
-- best set by Sharpe (the one the DSR deflates) with the run's DSR, PBO and out-of-sample
-- figures. Newest run first per symbol: ORDER BY symbol, run_id DESC uses the indexes above.
CREATE VIEW v_backtest_best AS
SELECT u.run_id, u.symbol, u.strategy, u.started_at, u.grid_spec, u.param_sets,
       v.best_index, r.params, r.trades, r.wins, td_e8(r.net_pnl_e8) AS net_pnl, r.sharpe, r.sortino,
       td_e8(r.max_drawdown_e8) AS max_drawdown, v.trials, v.dsr, v.psr, v.expected_max_sharpe, v.pbo,
       w.spec AS wf_spec, w.oos_days AS wf_oos_days, w.oos_trades AS wf_oos_trades,
       td_e8(w.oos_net_pnl_e8) AS wf_oos_net_pnl, w.oos_sharpe AS wf_oos_sharpe,
       w.oos_max_drawdown AS wf_oos_max_drawdown
FROM backtest_runs u
JOIN backtest_validation v USING (run_id)
LEFT JOIN backtest_results r ON r.run_id = u.run_id AND r.param_index = v.best_index
LEFT JOIN backtest_walkforward w ON w.run_id = u.run_id
WHERE u.finished_at IS NOT NULL;
