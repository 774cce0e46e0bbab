-- 0010: the conventions a backtest run was made with, so that two runs of the same grid on the
-- same bars under different fill rules (--convention), price basis, costs or capital are told
-- apart in the warehouse as they are in the JSON report. The value is that report's
-- "conventions" object: {"signal", "fill", "rules", "basis", "costs", "spread_points",
-- "slippage_points", "commission_per_lot", "initial_equity", "day_offset_minutes",
-- "days_per_year", "risk_free"}. NULL for runs stored before 0010.
ALTER TABLE backtest_runs ADD COLUMN conventions jsonb;
