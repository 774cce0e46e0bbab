-- 0009: the rest of the per-set figures that the CSV and JSON results carry, so that the warehouse
-- answers "which sets have a win rate above 55 % and a profit factor above 1.5" without the files.
-- Each value is computed once, by the backtester (backtest/metrics.c, backtest/engine.c), and
-- stored as it prints it: win_rate = wins / trades; profit_factor = gross profit / -gross loss
-- ('Infinity' with profits and no loss, NULL with neither); expectancy = net P&L / trades
-- (0 without trades, as printed);
-- exposure = share of bars with a position open; money in units of 1e-8 (*_e8) as elsewhere.
-- NULL where the figure is undefined (no trades, a flat curve), and for rows stored before 0009.
ALTER TABLE backtest_results
    ADD COLUMN win_rate          double precision,
    ADD COLUMN profit_factor     double precision,
    ADD COLUMN expectancy_e8     bigint,
    ADD COLUMN gross_profit_e8   bigint,
    ADD COLUMN gross_loss_e8     bigint,
    ADD COLUMN exposure          double precision,
    ADD COLUMN annual_volatility double precision,
    ADD COLUMN final_equity_e8   bigint;
