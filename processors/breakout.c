/* breakout.c - "breakout": trade closes beyond the range of the previous N bars, ATR stops.
 *
 * Parameters (ParamsChanged values; all text, validated by strategy.c from `defs` below):
 *
 *   name           type      range                default   meaning
 *   -------------  --------  -------------------  --------  ----------------------------------------
 *   lookback       integer   2..1000              (req.)    N: the range is the highest high and the
 *                                                           lowest low of the previous N bars (not
 *                                                           including the deciding bar)
 *   atr_n          integer   1..1000              14        ATR period (Wilder's smoothing)
 *   sl_atr         decimal   0..100               0         stop loss, multiples of ATR; 0 = none
 *   tp_atr         decimal   0..100               0         take profit, multiples of ATR; 0 = none
 *   session_start  HH:MM     00:00..23:59         00:00     entries only when the bar's open time is
 *   session_end    HH:MM     00:00..23:59         00:00     in [start, end) of the trading-day clock
 *                                                           (UTC + ctx->tz_offset_minutes); start > end
 *                                                           wraps midnight; start == end: all day
 *   weekdays       digits    distinct 0..6        0123456   weekdays (0 = Sunday, of the trading-day
 *                                                           clock) on which entries are allowed
 *   max_hold       integer   0..1000000           0         close after holding this many bars; 0 = none
 *   direction      text      long | short | both  both      as sma_cross: long only, short only, or
 *                                                           both with reversal
 *   volume         decimal   0.00000001..100000   (req.)    lots of a full position
 *
 * Decision (td_breakout__decide, processors/strategy_rules.h, shared with the grid backtester), on
 * each closed bar once `lookback` earlier bars are known:
 *   - close > highest high: go long (reason "breakout_high") when long entries are allowed and the
 *     session, the weekday mask and (when stops are set) a ready ATR permit; otherwise a short
 *     exposure is closed (exits are always allowed).
 *   - close < lowest low: the mirror ("breakout_low").
 *   - max_hold: counts the bars closed while ctx->position keeps the same non-zero sign (the count
 *     restarts at 1 on a reversal and at 0 when the position is flat - e.g. stopped out by the
 *     broker). When it reaches max_hold with a position open, the target is flat ("max_hold") and
 *     no entry is taken until the position is flat again.
 *   A Signal and an intent are emitted only when the target differs from position + pending.
 *   Entries carry SL = close -/+ sl_atr*ATR and TP = close +/- tp_atr*ATR, each distance rounded to
 *   the nearest whole point (half up) and at least one point (point from ctx->spec, required when
 *   sl_atr or tp_atr is set).
 *
 * ATR in integers: TR = max(high - low, |high - prev close|, |low - prev close|) (the very first bar
 * of the history: high - low). We keep S = atr_n x ATR. While warming up S is the plain sum of the
 * true ranges, so the first ATR = S / atr_n is their simple mean; after that Wilder's
 * ATR' = (ATR*(n-1) + TR)/n is, multiplied by n, S' = S - S/n + TR, where S/n is rounded half up.
 * Why: an exact Wilder average needs denominators n^k; rounding ATR itself would let the error
 * build up to n/2 price units. Rounding only the S/n term keeps |S - exact S| <= n/2 (each step
 * adds at most 1/2 and shrinks the old error by (n-1)/n), so ATR = S/n (rounded half up) is within
 * one price unit (1e-8) of the exact value. A reconfigure that changes atr_n recomputes S over the
 * kept history (its first bar then counts high - low).
 */
#include <string.h>

#include "core/timeutil.h"
#include "processors/strategy_rules.h"

enum {
    P_ATR_N,
    P_DIRECTION,
    P_LOOKBACK,
    P_MAX_HOLD,
    P_SESSION_END,
    P_SESSION_START,
    P_SL_ATR,
    P_TP_ATR,
    P_VOLUME,
    P_WEEKDAYS,
    P_COUNT
};

static const td_strategy__param_def_t defs[P_COUNT] = {
    [P_ATR_N] = {"atr_n", TD_PT_INT, false, "14", 1, 1000},
    [P_DIRECTION] = {"direction", TD_PT_DIRECTION, false, "both", 0, 0},
    [P_LOOKBACK] = {"lookback", TD_PT_INT, true, NULL, 2, 1000},
    [P_MAX_HOLD] = {"max_hold", TD_PT_INT, false, "0", 0, 1000000},
    [P_SESSION_END] = {"session_end", TD_PT_HHMM, false, "00:00", 0, 0},
    [P_SESSION_START] = {"session_start", TD_PT_HHMM, false, "00:00", 0, 0},
    [P_SL_ATR] = {"sl_atr", TD_PT_DECIMAL, false, "0", 0, 100 * TD_FX_SCALE},
    [P_TP_ATR] = {"tp_atr", TD_PT_DECIMAL, false, "0", 0, 100 * TD_FX_SCALE},
    [P_VOLUME] = {"volume", TD_PT_DECIMAL, true, NULL, 1, INT64_C(100000) * TD_FX_SCALE},
    [P_WEEKDAYS] = {"weekdays", TD_PT_WEEKDAYS, false, "0123456", 0, 0},
};

static td_err_t configure(const int64_t *vals, td_strategy__cfg_t *cfg, char *errbuf, size_t errlen)
{
    (void)errbuf;
    (void)errlen;
    td_breakout_cfg_t *brk = &cfg->brk;
    brk->lookback = (uint32_t)vals[P_LOOKBACK];
    brk->atr_n = (uint32_t)vals[P_ATR_N];
    brk->sl_atr = vals[P_SL_ATR];
    brk->tp_atr = vals[P_TP_ATR];
    brk->session_start = (int)vals[P_SESSION_START];
    brk->session_end = (int)vals[P_SESSION_END];
    brk->weekday_mask = (unsigned)vals[P_WEEKDAYS];
    brk->max_hold = (uint32_t)vals[P_MAX_HOLD];
    brk->direction = (int)vals[P_DIRECTION];
    brk->volume = vals[P_VOLUME];
    return TD_OK;
}

/* a / n rounded half up, for a >= 0, n >= 1 */
static int64_t rdiv(int64_t a, int64_t n)
{
    return a / n + (2 * (a % n) >= n ? 1 : 0);
}

static int64_t abs64(int64_t x)
{
    return x < 0 ? -x : x;
}

/* Prices are within +-2^52 (TD_STRATEGY__PRICE_MAX), so these differences fit. */
int64_t td_breakout__true_range(bool has_prev, td_price_t prev_close, td_price_t high, td_price_t low)
{
    int64_t tr = high - low;
    if (has_prev) {
        if (abs64(high - prev_close) > tr)
            tr = abs64(high - prev_close);
        if (abs64(low - prev_close) > tr)
            tr = abs64(low - prev_close);
    }
    return tr;
}

static int64_t true_range(const td_strategy__hbar_t *prev, td_price_t high, td_price_t low)
{
    return td_breakout__true_range(prev != NULL, prev ? prev->close : 0, high, low);
}

void td_breakout__atr_fold(td_breakout_state_t *st, uint32_t n, int64_t tr)
{
    if (st->atr_count < n) {
        st->atr_sum += tr;
        st->atr_count++;
    } else {
        st->atr_sum = st->atr_sum - rdiv(st->atr_sum, n) + tr;
    }
}

static void rebuild(td_strategy_t *strategy, const td_strategy__cfg_t *old)
{
    const td_breakout_cfg_t *cfg = &strategy->cfg.brk;
    td_breakout_state_t *st = &strategy->st.brk;
    if (!old || old->brk.atr_n == cfg->atr_n)
        return;
    st->atr_sum = 0;
    st->atr_count = 0;
    for (size_t i = 0; i < strategy->hist_len; i++) {
        const td_strategy__hbar_t *hb = td_strategy__hist_at(strategy, i);
        td_breakout__atr_fold(st, cfg->atr_n,
                              true_range(i ? td_strategy__hist_at(strategy, i - 1) : NULL, hb->high, hb->low));
    }
}

bool td_strategy__breakout_atr(const td_strategy_t *strategy, td_price_t *atr)
{
    if (strategy->impl != &td_strategy__breakout || strategy->st.brk.atr_count < strategy->cfg.brk.atr_n)
        return false;
    *atr = rdiv(strategy->st.brk.atr_sum, strategy->cfg.brk.atr_n);
    return true;
}

int td_breakout__minute_of_day(int64_t open_time, int tz_offset_minutes)
{
    int64_t local = open_time + (int64_t)tz_offset_minutes * 60000;
    int64_t ms_of_day = local - td_time_day_number(local) * TD_MS_PER_DAY;
    return (int)(ms_of_day / 60000);
}

static bool in_session(const td_breakout_cfg_t *cfg, int m)
{
    int s = cfg->session_start, e = cfg->session_end;
    if (s == e)
        return true;
    if (s < e)
        return m >= s && m < e;
    return m >= s || m < e;
}

/* A stop or target distance: mult (x 1e8) times atr, rounded half up to whole points, at least one
 * point. 0 when mult is 0. */
static td_err_t stop_distance(int64_t mult, td_price_t atr, td_price_t point, td_price_t *dist)
{
    *dist = 0;
    if (mult == 0)
        return TD_OK;
    int64_t raw;
    td_err_t rc = td_fx_mul(mult, atr, &raw);
    if (rc != TD_OK)
        return rc;
    int64_t points = rdiv(raw, point);
    if (points < 1)
        points = 1;
    if (__builtin_mul_overflow(points, point, dist))
        return TD_ERR_OVERFLOW;
    return TD_OK;
}

td_err_t td_breakout__decide(const td_breakout_cfg_t *cfg, td_breakout_state_t *st, const td_strategy_ctx_t *ctx,
                             const td_breakout__bar_in_t *in, bool *decided_out, td_strategy__decision_t *decision)
{
    const bool stops = cfg->sl_atr || cfg->tp_atr;
    const bool atr_ready = st->atr_count == cfg->atr_n;

    int pos_sign = td_strategy__sign64(ctx->position);
    if (pos_sign == 0)
        st->held_bars = 0;
    else if (pos_sign != st->held_sign)
        st->held_bars = 1;
    else if (st->held_bars < UINT32_MAX)
        st->held_bars++;
    st->held_sign = pos_sign;

    td_volume_t exposure;
    if (td_fx_add(ctx->position, ctx->pending, &exposure) != TD_OK)
        return TD_ERR_OVERFLOW;
    const int exp_sign = td_strategy__sign64(exposure);

    td_strategy__decision_t d = {0};
    bool decided = false;
    d.volume = cfg->volume;
    if (cfg->max_hold && pos_sign != 0 && st->held_bars >= cfg->max_hold) {
        d.target = 0;
        d.reason = "max_hold";
        decided = true;
    } else if (in->have_range) {
        const bool entries_ok =
            in_session(cfg, in->minute) && (cfg->weekday_mask & (1u << in->weekday)) && (atr_ready || !stops);
        if (in->close > in->hh) {
            d.reason = "breakout_high";
            if ((cfg->direction & TD_STRATEGY_LONG) && entries_ok) {
                d.target = 1;
                decided = true;
            } else if (exp_sign < 0) {
                d.target = 0;
                decided = true;
            }
        } else if (in->close < in->ll) {
            d.reason = "breakout_low";
            if ((cfg->direction & TD_STRATEGY_SHORT) && entries_ok) {
                d.target = -1;
                decided = true;
            } else if (exp_sign > 0) {
                d.target = 0;
                decided = true;
            }
        }
    }

    td_err_t rc = TD_OK;
    if (decided && d.target != 0 && stops) {
        td_price_t atr = rdiv(st->atr_sum, cfg->atr_n);
        rc = stop_distance(cfg->sl_atr, atr, ctx->spec->point, &d.sl_dist);
        if (rc == TD_OK)
            rc = stop_distance(cfg->tp_atr, atr, ctx->spec->point, &d.tp_dist);
    }
    if (rc != TD_OK)
        return rc;
    *decided_out = decided;
    if (decided)
        *decision = d;
    return TD_OK;
}

static td_err_t on_bar(td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar, td_outbuf_t *out)
{
    const td_breakout_cfg_t *cfg = &strategy->cfg.brk;
    td_breakout_state_t st = strategy->st.brk;
    const size_t n = strategy->hist_len; /* bars before this one */
    const bool stops = cfg->sl_atr || cfg->tp_atr;
    if (stops && !(ctx->spec && ctx->spec->point > 0))
        return TD_ERR_INVALID;

    td_breakout__atr_fold(&st, cfg->atr_n,
                          true_range(n ? td_strategy__hist_at(strategy, n - 1) : NULL, bar->high, bar->low));
    td_breakout__bar_in_t in = {
        .close = bar->close,
        .have_range = n >= cfg->lookback,
        .minute = td_breakout__minute_of_day(bar->open_time, ctx->tz_offset_minutes),
        .weekday = td_time_weekday(bar->open_time, ctx->tz_offset_minutes),
    };
    if (in.have_range) {
        in.hh = td_strategy__hist_at(strategy, n - cfg->lookback)->high;
        in.ll = td_strategy__hist_at(strategy, n - cfg->lookback)->low;
        for (size_t i = n - cfg->lookback + 1; i < n; i++) {
            const td_strategy__hbar_t *hb = td_strategy__hist_at(strategy, i);
            if (hb->high > in.hh)
                in.hh = hb->high;
            if (hb->low < in.ll)
                in.ll = hb->low;
        }
    }
    bool decided = false;
    td_strategy__decision_t d;
    td_err_t rc = td_breakout__decide(cfg, &st, ctx, &in, &decided, &d);
    if (rc == TD_OK && decided)
        rc = td_strategy__act(strategy, ctx, bar, &d, out);
    if (rc == TD_OK)
        strategy->st.brk = st;
    return rc;
}

static void to_msg(const td_strategy_t *strategy, Td__StrategyState *msg, Td__SmaCrossState *sma,
                   Td__BreakoutState *brk)
{
    (void)sma;
    brk->atr_sum = strategy->st.brk.atr_sum;
    brk->atr_count = strategy->st.brk.atr_count;
    brk->held_bars = strategy->st.brk.held_bars;
    brk->held_sign = strategy->st.brk.held_sign;
    msg->breakout = brk;
}

static td_err_t from_msg(td_strategy_t *strategy, const Td__StrategyState *msg)
{
    const Td__BreakoutState *brk = msg->breakout;
    if (!brk || msg->sma_cross)
        return TD_ERR_CORRUPT;
    const int64_t max_sum = (int64_t)strategy->cfg.brk.atr_n * (2 * TD_STRATEGY__PRICE_MAX + 1);
    if (brk->atr_count > strategy->cfg.brk.atr_n || brk->atr_sum < 0 || brk->atr_sum > max_sum ||
        (brk->atr_count == 0 && brk->atr_sum != 0) || brk->held_sign < -1 || brk->held_sign > 1 ||
        (brk->held_sign == 0 && brk->held_bars != 0) || (brk->held_sign != 0 && brk->held_bars == 0))
        return TD_ERR_CORRUPT;
    strategy->st.brk.atr_sum = brk->atr_sum;
    strategy->st.brk.atr_count = brk->atr_count;
    strategy->st.brk.held_bars = brk->held_bars;
    strategy->st.brk.held_sign = brk->held_sign;
    return TD_OK;
}

const td_strategy__impl_t td_strategy__breakout = {
    .name = "breakout",
    .defs = defs,
    .n_defs = P_COUNT,
    .configure = configure,
    .rebuild = rebuild,
    .on_bar = on_bar,
    .to_msg = to_msg,
    .from_msg = from_msg,
};
