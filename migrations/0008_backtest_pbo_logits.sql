-- 0008: the distribution of the PBO's logits (one per CSCV split), as `tapedeck backtest` now
-- reports it: sample standard deviation, minimum, quartiles and median (linear interpolation
-- between order statistics), maximum. NULL when the PBO was not computed, and for runs stored
-- before 0008.
ALTER TABLE backtest_validation
    ADD COLUMN pbo_logit_sd double precision,
    ADD COLUMN pbo_logit_min double precision,
    ADD COLUMN pbo_logit_q1 double precision,
    ADD COLUMN pbo_logit_median double precision,
    ADD COLUMN pbo_logit_q3 double precision,
    ADD COLUMN pbo_logit_max double precision;
