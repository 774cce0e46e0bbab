/* sma_cross.c - "sma_cross": trade the crosses of two simple moving averages of bar closes.
 *
 * Parameters (ParamsChanged values; all text, validated by strategy.c from `defs` below):
 *
 *   name       type     range                 default  meaning
 *   ---------  -------  --------------------  -------  ------------------------------------------
 *   fast       integer  1..999                (req.)   bars in the fast SMA; must be < slow
 *   slow       integer  2..1000               (req.)   bars in the slow SMA
 *   direction  text     long | short | both   both     long: buy on cross up, close on cross down;
 *                                                      short: the mirror; both: long on cross up,
 *                                                      short on cross down (a reversal is 2x volume)
 *   volume     decimal  0.00000001..100000    (req.)   lots of a full position
 *   sl_points  integer  0..10000000           0        stop loss, points from the bar close; 0 = none
 *   tp_points  integer  0..10000000           0        take profit, points from the bar close; 0 = none
 *
 * Decision (the rule in processors/strategy_rules.h, shared with the grid backtester), on each
 * closed bar: with F and S the sums of the last `fast` and `slow` closes, the sign
 * of (F/fast - S/slow) is computed exactly, without division, as sign(F*slow - S*fast) in __int128.
 * A cross is a bar whose non-zero sign differs from the LAST NON-ZERO sign; a bar where the two
 * averages are exactly equal changes nothing and keeps the remembered sign. The first non-zero sign
 * after warm-up (slow bars) only initialises the remembered sign. Every cross emits a Signal
 * ("cross_up" / "cross_down", the target direction) and, when the position must change, a market
 * intent; a buy opening long carries SL = close - sl_points*point and TP = close + tp_points*point,
 * a sell opening short the mirror (point from ctx->spec, required when sl/tp points are set).
 *
 * State: the remembered sign (encoded) and the running sums F and S (derived from the history on
 * decode and reconfigure). A reconfigure that changes fast or slow recomputes the sums and the
 * remembered sign over the kept history, so the new averages are warm at once.
 */
#include <string.h>

#include "processors/strategy_rules.h"

enum { P_DIRECTION, P_FAST, P_SL_POINTS, P_SLOW, P_TP_POINTS, P_VOLUME, P_COUNT };

static const td_strategy__param_def_t defs[P_COUNT] = {
    [P_DIRECTION] = {"direction", TD_PT_DIRECTION, false, "both", 0, 0},
    [P_FAST] = {"fast", TD_PT_INT, true, NULL, 1, 999},
    [P_SL_POINTS] = {"sl_points", TD_PT_INT, false, "0", 0, 10000000},
    [P_SLOW] = {"slow", TD_PT_INT, true, NULL, 2, 1000},
    [P_TP_POINTS] = {"tp_points", TD_PT_INT, false, "0", 0, 10000000},
    [P_VOLUME] = {"volume", TD_PT_DECIMAL, true, NULL, 1, INT64_C(100000) * TD_FX_SCALE},
};

static td_err_t configure(const int64_t *vals, td_strategy__cfg_t *cfg, char *errbuf, size_t errlen)
{
    td_sma_cross_cfg_t *sma = &cfg->sma;
    if (vals[P_FAST] >= vals[P_SLOW])
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "sma_cross: parameter 'fast' (%lld) must be less than 'slow' (%lld)", (long long)vals[P_FAST],
                          (long long)vals[P_SLOW]);
    sma->fast = (uint32_t)vals[P_FAST];
    sma->slow = (uint32_t)vals[P_SLOW];
    sma->direction = (int)vals[P_DIRECTION];
    sma->volume = vals[P_VOLUME];
    sma->sl_points = vals[P_SL_POINTS];
    sma->tp_points = vals[P_TP_POINTS];
    return TD_OK;
}

/* Sum of the `k` closes ending at history index `end` (exclusive), or fewer if the history is
 * shorter. History closes are bar prices (|p| < 2^63 / 1000 for any real quote); sums of up to
 * 1000 of them are checked on the way in by on_bar, so the recomputation cannot overflow. */
static int64_t sum_closes(const td_strategy_t *strategy, size_t end, uint32_t k)
{
    int64_t sum = 0;
    size_t from = end > k ? end - k : 0;
    for (size_t i = from; i < end; i++)
        sum += td_strategy__hist_at(strategy, i)->close;
    return sum;
}

td_err_t td_sma_cross__decide(const td_sma_cross_cfg_t *cfg, int cross, const td_symbol_spec_t *spec,
                              td_strategy__decision_t *decision)
{
    TD_ASSERT(cross == 1 || cross == -1);
    td_strategy__decision_t d = {0};
    d.volume = cfg->volume;
    d.signal_always = true;
    if (cross > 0) {
        d.reason = "cross_up";
        d.target = (cfg->direction & TD_STRATEGY_LONG) ? 1 : 0;
    } else {
        d.reason = "cross_down";
        d.target = (cfg->direction & TD_STRATEGY_SHORT) ? -1 : 0;
    }
    if (cfg->sl_points || cfg->tp_points) {
        int64_t point = spec->point;
        if (__builtin_mul_overflow(cfg->sl_points, point, &d.sl_dist) ||
            __builtin_mul_overflow(cfg->tp_points, point, &d.tp_dist))
            return TD_ERR_OVERFLOW;
    }
    *decision = d;
    return TD_OK;
}

static void rebuild(td_strategy_t *strategy, const td_strategy__cfg_t *old)
{
    const td_sma_cross_cfg_t *cfg = &strategy->cfg.sma;
    td_sma_cross_state_t *st = &strategy->st.sma;
    size_t n = strategy->hist_len;
    st->sum_fast = sum_closes(strategy, n, cfg->fast);
    st->sum_slow = sum_closes(strategy, n, cfg->slow);
    if (!old || (old->sma.fast == cfg->fast && old->sma.slow == cfg->slow))
        return;
    /* New periods: the remembered sign is the last non-zero one over the kept history. */
    int last = 0;
    int64_t f = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        f += td_strategy__hist_at(strategy, i)->close;
        s += td_strategy__hist_at(strategy, i)->close;
        if (i >= cfg->fast)
            f -= td_strategy__hist_at(strategy, i - cfg->fast)->close;
        if (i >= cfg->slow)
            s -= td_strategy__hist_at(strategy, i - cfg->slow)->close;
        if (i + 1 >= cfg->slow)
            (void)td_sma_cross__rule(cfg->fast, cfg->slow, f, s, &last);
    }
    st->last_sign = last;
}

static td_err_t on_bar(td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar, td_outbuf_t *out)
{
    const td_sma_cross_cfg_t *cfg = &strategy->cfg.sma;
    td_sma_cross_state_t st = strategy->st.sma;
    const size_t n = strategy->hist_len; /* bars before this one */
    const bool stops = cfg->sl_points || cfg->tp_points;
    if (stops && !(ctx->spec && ctx->spec->point > 0))
        return TD_ERR_INVALID;

    /* The bar leaving each window is the one `period` bars back (history index n - period). */
    int64_t drop_fast = n >= cfg->fast ? td_strategy__hist_at(strategy, n - cfg->fast)->close : 0;
    int64_t drop_slow = n >= cfg->slow ? td_strategy__hist_at(strategy, n - cfg->slow)->close : 0;
    if (__builtin_add_overflow(st.sum_fast, bar->close, &st.sum_fast) ||
        __builtin_sub_overflow(st.sum_fast, drop_fast, &st.sum_fast) ||
        __builtin_add_overflow(st.sum_slow, bar->close, &st.sum_slow) ||
        __builtin_sub_overflow(st.sum_slow, drop_slow, &st.sum_slow))
        return TD_ERR_OVERFLOW;

    td_err_t rc = TD_OK;
    if (n + 1 >= cfg->slow) {
        int cross = td_sma_cross__rule(cfg->fast, cfg->slow, st.sum_fast, st.sum_slow, &st.last_sign);
        if (cross != 0) {
            td_strategy__decision_t d;
            rc = td_sma_cross__decide(cfg, cross, ctx->spec, &d);
            if (rc == TD_OK)
                rc = td_strategy__act(strategy, ctx, bar, &d, out);
        }
    }
    if (rc == TD_OK)
        strategy->st.sma = st;
    return rc;
}

static void to_msg(const td_strategy_t *strategy, Td__StrategyState *msg, Td__SmaCrossState *sma,
                   Td__BreakoutState *brk)
{
    (void)brk;
    sma->last_sign = strategy->st.sma.last_sign;
    msg->sma_cross = sma;
}

static td_err_t from_msg(td_strategy_t *strategy, const Td__StrategyState *msg)
{
    if (!msg->sma_cross || msg->breakout || msg->sma_cross->last_sign < -1 || msg->sma_cross->last_sign > 1)
        return TD_ERR_CORRUPT;
    memset(&strategy->st.sma, 0, sizeof strategy->st.sma);
    strategy->st.sma.last_sign = msg->sma_cross->last_sign;
    return TD_OK;
}

const td_strategy__impl_t td_strategy__sma_cross = {
    .name = "sma_cross",
    .defs = defs,
    .n_defs = P_COUNT,
    .configure = configure,
    .rebuild = rebuild,
    .on_bar = on_bar,
    .to_msg = to_msg,
    .from_msg = from_msg,
};
