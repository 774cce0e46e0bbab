/* strategy_rules.h - the decision rules of the strategies, factored out of their bar steps so that
 * the live strategy object (processors/sma_cross.c, breakout.c) and the grid backtester's shared-
 * indicator engine (backtest/sweep.c) run ONE implementation of each rule (DESIGN invariant 7).
 *
 * A rule takes the indicator values of one bar (sums of closes, the range of the previous bars,
 * the ATR state) however the caller obtained them: the strategy object from its own history, the
 * grid engine from arrays computed once per symbol and shared by every parameter set. The values
 * are integers and equal either way, so the decisions are equal; backtest's differential tests
 * check it on real and adversarial bars.
 *
 * Everything is deterministic integer code (DESIGN invariant 2). Thread: any (pure functions).
 */
#ifndef TD_STRATEGY_RULES_H
#define TD_STRATEGY_RULES_H

#include <stdbool.h>

#include "processors/strategy_impl.h"

/* ---- sma_cross ---- */

/* The cross rule of one bar (sma_cross.c's header): with sum_fast and sum_slow the sums of the
 * last fast / slow closes (the slow window full), the sign of fast mean - slow mean is computed
 * exactly as sign(sum_fast * slow - sum_slow * fast) in 128 bits. Returns +1 (cross up) or -1
 * (cross down) when that sign is not 0 and differs from the remembered last non-zero sign (itself
 * not 0), else 0. A non-zero sign becomes the remembered one; a tie (0) keeps it. */
static inline int td_sma_cross__rule(uint32_t fast, uint32_t slow, int64_t sum_fast, int64_t sum_slow, int *last_sign)
{
    int64_t a, b, d64;
    int sign;
    if (!__builtin_mul_overflow(sum_fast, (int64_t)slow, &a) && !__builtin_mul_overflow(sum_slow, (int64_t)fast, &b) &&
        !__builtin_sub_overflow(a, b, &d64)) {
        sign = (d64 > 0) - (d64 < 0); /* the same difference, when it fits in 64 bits (any real quote) */
    } else {
        __int128 d = (__int128)sum_fast * slow - (__int128)sum_slow * fast;
        sign = (d > 0) - (d < 0);
    }
    int cross = (sign != 0 && *last_sign != 0 && sign != *last_sign) ? sign : 0;
    if (sign != 0)
        *last_sign = sign;
    return cross;
}

/* The decision on a cross (+1 / -1): target from the direction, the stop distances from
 * sl_points / tp_points x spec->point (spec required when either is set). TD_ERR_OVERFLOW. */
td_err_t td_sma_cross__decide(const td_sma_cross_cfg_t *cfg, int cross, const td_symbol_spec_t *spec,
                              td_strategy__decision_t *decision) TD_WUR;

/* ---- breakout ---- */

/* True range of a bar: high - low, widened by the previous close when there is one. Prices within
 * +-TD_STRATEGY__PRICE_MAX. */
int64_t td_breakout__true_range(bool has_prev, td_price_t prev_close, td_price_t high, td_price_t low);

/* Folds one true range into the ATR state (atr_sum, atr_count) for period n (breakout.c's header). */
void td_breakout__atr_fold(td_breakout_state_t *st, uint32_t n, int64_t tr);

/* Minute of the day (0..1439) of open_time on the clock UTC + tz_offset_minutes. */
int td_breakout__minute_of_day(int64_t open_time, int tz_offset_minutes);

/* What the breakout rule needs to know about one closed bar. */
typedef struct td_breakout__bar_in {
    td_price_t close;
    bool have_range;   /* lookback earlier bars are known */
    td_price_t hh, ll; /* highest high and lowest low of the previous lookback bars (have_range) */
    int minute;        /* td_breakout__minute_of_day of the bar's open (ctx tz) */
    int weekday;       /* td_time_weekday of the bar's open (ctx tz), 0 = Sunday */
} td_breakout__bar_in_t;

/* The decision of one bar. st holds the ATR state with this bar's true range already folded, and
 * the held-bars counter of the previous bar, which this call advances from ctx->position. Sets
 * *decided and, when set, *decision (stop distances priced from the ATR when stops are set).
 * TD_ERR_OVERFLOW. */
td_err_t td_breakout__decide(const td_breakout_cfg_t *cfg, td_breakout_state_t *st, const td_strategy_ctx_t *ctx,
                             const td_breakout__bar_in_t *in, bool *decided, td_strategy__decision_t *decision) TD_WUR;

#endif
