/* sweep.c - the shared-indicator engine of the grid backtester (contract in sweep.h).
 *
 * Each per-set loop below is td_backtest_run's loop (engine.c) with the strategy object's bar
 * step replaced by the same rule over shared indicators: the fill model on the bars it is not
 * provably quiet on, the rule and td_strategy__act, td_backtest__submit, the counters, the day's
 * equity point. Every value the rule sees is the integer the strategy object would compute from
 * its own history:
 *   - sma_cross: the object keeps running sums of the last fast / slow closes; here a window sum is
 *     prefix[i + 1] - prefix[i + 1 - k] in uint64 arithmetic (mod 2^64). The true sum fits in
 *     int64 (at most 1000 prices of magnitude <= 2^52, which every accepted bar has), so the
 *     modular difference converted back to int64 is that sum exactly.
 *   - breakout: the object scans the previous lookback bars for the highest high and lowest low;
 *     here two lookups in a sparse table over the same bars give the same maximum and minimum. The
 *     ATR state after bar i depends only on the bars and atr_n and is folded with the object's own
 *     td_breakout__atr_fold; the clock values come from the object's own functions.
 * The strategy refuses bars with bad prices or times (TD_ERR_INVALID / TD_ERR_ORDER); when any
 * bar would be refused, the sweep is not shared and every set runs td_backtest_run, so that error
 * is reported exactly as there.
 */
#include "backtest/sweep.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backtest/engine_impl.h"
#include "core/timeutil.h"
#include "processors/strategy_rules.h"

enum { KIND_NONE, KIND_SMA, KIND_BREAKOUT };

/* Sparse-table levels: lookback <= 1000 < 2^10, so levels 0..9 answer every range. */
#define LEVELS 10

typedef struct atr_entry {
    uint32_t atr_n;
    int64_t *sum; /* ATR state (atr_sum) after each bar */
} atr_entry_t;

/* What the account loop reads of every bar, packed in one 32-byte record (one cache line holds
 * two): the fill model's view (high, low), the spread, the trading day, and the index of the
 * bar that ends that day (the bar itself when it does). */
typedef struct acct_bar {
    td_price_t high, low, spread;
    uint32_t day;
    uint32_t day_end;
} acct_bar_t;

struct td_sweep {
    td_backtest_config_t config;
    const td_bar_t *bars;
    size_t n;
    int kind;
    acct_bar_t *acct;
    uint32_t *ends; /* the bars that end a trading day, in order */
    size_t n_ends;
    td_bar_t *fill_view; /* mid basis only, else NULL */
    uint64_t *prefix;    /* sma_cross: prefix[i] = closes[0..i) summed mod 2^64 */
    int64_t *tr;         /* breakout: true range of each bar */
    td_price_t *hi[LEVELS], *lo[LEVELS];
    td_price_t *close; /* breakout: each bar's close, packed */
    int16_t *minute;
    uint8_t *weekday;
    pthread_mutex_t mu; /* guards atr */
    atr_entry_t atr[TD_SWEEP_ATR_CACHE];
    size_t n_atr;
};

/* The strategy's bar checks (strategy.c: hbar_valid and the time order). */
static bool bars_accepted(const td_bar_t *bars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const td_bar_t *b = &bars[i];
        if (b->low < -TD_STRATEGY__PRICE_MAX || b->high > TD_STRATEGY__PRICE_MAX || b->low > b->high ||
            b->close < b->low || b->close > b->high)
            return false;
        if (i > 0 && b->open_time <= bars[i - 1].open_time)
            return false;
    }
    return true;
}

static td_err_t build_breakout(td_sweep_t *sweep)
{
    const size_t n = sweep->n;
    const td_bar_t *bars = sweep->bars;
    sweep->tr = malloc(n * sizeof *sweep->tr);
    sweep->close = malloc(n * sizeof *sweep->close);
    sweep->minute = malloc(n * sizeof *sweep->minute);
    sweep->weekday = malloc(n * sizeof *sweep->weekday);
    if (!sweep->tr || !sweep->close || !sweep->minute || !sweep->weekday)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        sweep->close[i] = bars[i].close;
        sweep->tr[i] = td_breakout__true_range(i > 0, i > 0 ? bars[i - 1].close : 0, bars[i].high, bars[i].low);
        sweep->minute[i] = (int16_t)td_breakout__minute_of_day(bars[i].open_time, sweep->config.tz_offset_minutes);
        sweep->weekday[i] = (uint8_t)td_time_weekday(bars[i].open_time, sweep->config.tz_offset_minutes);
    }
    for (int k = 0; k < LEVELS; k++) {
        size_t width = (size_t)1 << k;
        if (width > n)
            break;
        size_t len = n - width + 1;
        sweep->hi[k] = malloc(len * sizeof(td_price_t));
        sweep->lo[k] = malloc(len * sizeof(td_price_t));
        if (!sweep->hi[k] || !sweep->lo[k])
            return TD_ERR_NOMEM;
        for (size_t i = 0; i < len; i++) {
            if (k == 0) {
                sweep->hi[0][i] = bars[i].high;
                sweep->lo[0][i] = bars[i].low;
            } else {
                size_t half = width / 2;
                td_price_t a = sweep->hi[k - 1][i], b = sweep->hi[k - 1][i + half];
                sweep->hi[k][i] = a > b ? a : b;
                a = sweep->lo[k - 1][i];
                b = sweep->lo[k - 1][i + half];
                sweep->lo[k][i] = a < b ? a : b;
            }
        }
    }
    return TD_OK;
}

td_err_t td_sweep_new(const td_backtest_config_t *config, const char *strategy, const td_bar_t *bars, size_t n,
                      td_sweep_t **sweep, char *errbuf, size_t errlen)
{
    *sweep = NULL;
    td_sweep_t *created = calloc(1, sizeof *created);
    if (!created)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "sweep: out of memory");
    pthread_mutex_init(&created->mu, NULL);
    created->config = *config;
    created->bars = bars;
    created->n = n;
    if (strcmp(strategy, "sma_cross") == 0)
        created->kind = KIND_SMA;
    else if (strcmp(strategy, "breakout") == 0)
        created->kind = KIND_BREAKOUT;
    if (n == 0 || !bars_accepted(bars, n))
        created->kind = KIND_NONE;

    td_err_t rc = TD_OK;
    if (created->kind != KIND_NONE) {
        created->acct = n <= UINT32_MAX ? malloc(n * sizeof *created->acct) : NULL;
        if (config->basis == TD_BACKTEST_MID)
            created->fill_view = malloc(n * sizeof *created->fill_view);
        if (!created->acct || (config->basis == TD_BACKTEST_MID && !created->fill_view))
            rc = TD_ERR_NOMEM;
    }
    if (rc == TD_OK && created->kind != KIND_NONE) {
        for (size_t i = 0; i < n; i++) {
            acct_bar_t *a = &created->acct[i];
            a->spread = td_backtest__bar_spread(config, &bars[i]);
            a->day = td_time_trading_day(bars[i].open_time, config->day_offset_minutes);
            td_bar_t shifted;
            const td_bar_t *view = td_backtest__fill_view(config, &bars[i], a->spread, &shifted);
            if (created->fill_view)
                created->fill_view[i] = *view;
            a->high = view->high;
            a->low = view->low;
        }
        for (size_t i = n; i-- > 0;)
            created->acct[i].day_end = i + 1 == n || created->acct[i + 1].day != created->acct[i].day
                                           ? (uint32_t)i
                                           : created->acct[i + 1].day_end;
        for (size_t i = 0; i < n; i++)
            created->n_ends += created->acct[i].day_end == i;
        created->ends = malloc(created->n_ends * sizeof *created->ends);
        if (!created->ends)
            rc = TD_ERR_NOMEM;
        for (size_t i = 0, k = 0; rc == TD_OK && i < n; i++)
            if (created->acct[i].day_end == i)
                created->ends[k++] = (uint32_t)i;
    }
    if (rc == TD_OK && created->kind == KIND_SMA) {
        created->prefix = malloc((n + 1) * sizeof *created->prefix);
        if (!created->prefix)
            rc = TD_ERR_NOMEM;
        else {
            created->prefix[0] = 0;
            for (size_t i = 0; i < n; i++)
                created->prefix[i + 1] = created->prefix[i] + (uint64_t)bars[i].close;
        }
    }
    if (rc == TD_OK && created->kind == KIND_BREAKOUT)
        rc = build_breakout(created);
    if (rc != TD_OK) {
        td_sweep_destroy(created);
        return td_err_set(errbuf, errlen, rc, "sweep: out of memory");
    }
    *sweep = created;
    return TD_OK;
}

void td_sweep_destroy(td_sweep_t *sweep)
{
    if (!sweep)
        return;
    free(sweep->acct);
    free(sweep->ends);
    free(sweep->fill_view);
    free(sweep->prefix);
    free(sweep->tr);
    free(sweep->close);
    free(sweep->minute);
    free(sweep->weekday);
    for (int k = 0; k < LEVELS; k++) {
        free(sweep->hi[k]);
        free(sweep->lo[k]);
    }
    for (size_t k = 0; k < sweep->n_atr; k++)
        free(sweep->atr[k].sum);
    pthread_mutex_destroy(&sweep->mu);
    free(sweep);
}

bool td_sweep_shared(const td_sweep_t *sweep)
{
    return sweep->kind != KIND_NONE;
}

/* ---- the per-set loops ---- */

/* Asks for the lines bar i's step will read (account record, bar, fill view). */
static inline void prefetch_bar(const td_sweep_t *sweep, size_t i)
{
    if (i >= sweep->n)
        return;
    __builtin_prefetch(&sweep->acct[i]);
    const td_bar_t *bar = &sweep->bars[i];
    __builtin_prefetch(bar);
    __builtin_prefetch((const char *)(bar + 1) - 1);
    if (sweep->fill_view) {
        __builtin_prefetch(&sweep->fill_view[i]);
        __builtin_prefetch((const char *)(&sweep->fill_view[i] + 1) - 1);
    }
}

/* The fill model's step on bar i, unless it is provably quiet (as td_backtest_run decides). */
static inline td_err_t fill_step(const td_sweep_t *sweep, td_backtest__run_t *run, size_t i)
{
    const acct_bar_t *a = &sweep->acct[i];
    if (td_fill_bar_quiet(&run->fill, a->high, a->low, a->spread, a->day))
        return TD_OK;
    const td_bar_t *view = sweep->fill_view ? &sweep->fill_view[i] : &sweep->bars[i];
    return td_backtest__fill_bar(run, view, a->spread, i);
}

/* Counters and the day's equity point after bar i, as td_backtest_run. */
static inline td_err_t close_step(const td_sweep_t *sweep, td_backtest__run_t *run, size_t i)
{
    run->result->bars++;
    if (run->positions.volume != 0)
        run->result->bars_in_position++;
    const acct_bar_t *a = &sweep->acct[i];
    if (a->day_end != i)
        return TD_OK;
    const td_bar_t *view = sweep->fill_view ? &sweep->fill_view[i] : &sweep->bars[i];
    return td_backtest__day_end(run, view, a->spread, a->day);
}

/* Bar i follows a bar the loop fully stepped, and the strategy decides nothing before bar `until`
 * (<= the block's end). Returns the first bar from i on that the loop must step, having counted
 * the bars before it: the bars up to the end of the current trading day (or `until`), when
 * nothing is queued and the position is flat or has neither stop nor target. On such a bar the
 * plain loop either leaves the fill model alone (td_fill_bar_quiet) or, on the first bar of a
 * trading day with a position open, lets it charge the rollover swap. That charge only accrues (it
 * is reported when the position closes) and depends only on the trading days left and the
 * position, so it is the same when made at a later bar of the same trading day - and the bar the
 * loop steps next is one: the day's last bar (whose equity point needs the accrued swap) or a
 * decision bar, both of which step the fill model first (their day is after fill.last_day, so it
 * is not quiet). No skipped bar ends a day or carries a decision; the counters are bumped here:
 * bars += count, and bars_in_position += count while a position is open. */
static inline size_t skip_quiet(const td_sweep_t *sweep, td_backtest__run_t *run, size_t i, size_t until,
                                size_t *end_cursor)
{
    const td_fill_t *fill = &run->fill;
    if (fill->n_queue != 0 || (fill->book.volume != 0 && (fill->stop_loss != 0 || fill->take_profit != 0)))
        return i;
    /* the end of bar i's trading day: the first day end at or after i (the cursor only moves on) */
    while (sweep->ends[*end_cursor] < i) {
        ++*end_cursor;
        prefetch_bar(sweep, sweep->ends[*end_cursor + 1 < sweep->n_ends ? *end_cursor + 1 : *end_cursor]);
    }
    size_t day_end = sweep->ends[*end_cursor];
    size_t stop = day_end < until ? day_end : until;
    size_t count = stop - i;
    run->result->bars += count;
    if (run->positions.volume != 0)
        run->result->bars_in_position += count;
    return stop;
}

static td_strategy_ctx_t ctx_of(const td_backtest__run_t *run)
{
    td_strategy_ctx_t ctx = {
        .spec = &run->spec,
        .position = td_positions_volume(&run->positions),
        .pending = run->pending,
        .tz_offset_minutes = run->config->tz_offset_minutes,
    };
    return ctx;
}

/* A decision into outputs and intents, as td_strategy_on_bar + td_backtest__submit; with `drop`
 * (the NO_DECISION_ON_FILL_BAR convention on a bar with a fill) the outputs are made, so that an
 * error is reported as td_backtest_run reports it, and then discarded. */
static td_err_t act(td_backtest__run_t *run, const td_strategy_ctx_t *ctx, const td_strategy__decision_t *d, size_t i,
                    const td_bar_t *bar, bool drop)
{
    td_outbuf_clear(&run->strategy_out);
    td_err_t rc = td_strategy__act(run->strategy, ctx, bar, d, &run->strategy_out);
    if (rc != TD_OK)
        return td_backtest__strategy_failed(run, bar, i, rc);
    if (drop) {
        td_outbuf_clear(&run->strategy_out);
        return TD_OK;
    }
    return td_backtest__submit(run, bar, i);
}

/* Whether the decision on a bar is dropped: the NO_DECISION_ON_FILL_BAR convention and the fill
 * step of that bar made a fill (fills_before: the count before it). A skipped bar makes no fill. */
static inline bool drop_decision(const td_backtest__run_t *run, uint64_t fills_before)
{
    return (run->config->conventions & TD_BACKTEST_NO_DECISION_ON_FILL_BAR) && run->result->fills != fills_before;
}

/* Bars per block of run_sma: the crosses of a block are found first (a tight loop over the prefix
 * sums), then the block's bars are stepped with the crosses known a few ahead, so that the bars a
 * decision or a fill will read are fetched from memory early. */
#define BLOCK 2048

/* How many marked bars ahead step_block_hold asks for the lines a decision will read (step_block,
 * tuned for sma_cross, asks 2 ahead). */
#define PREFETCH_AHEAD 6

/* The bars of one block on which a set's strategy may decide something ("marks"), found before
 * the block's account is stepped, with a small integer the decision step receives. */
typedef struct marks {
    size_t n;
    uint32_t at[BLOCK];  /* bar index - block start, ascending */
    int8_t value[BLOCK]; /* sma_cross: the cross; breakout: unused */
} marks_t;

/* A decision on marked bar i: the strategy's outputs into intents (act; `drop`: discarded). */
typedef td_err_t (*decide_fn)(void *self, td_backtest__run_t *run, size_t i, int value, bool drop);

/* Steps bars [from, to) of a set's account as td_backtest_run does, with the strategy's decision
 * taken only on the marked bars (the caller proves nothing is decided on the others), and runs of
 * bars on which the plain loop only counts skipped (skip_quiet). */
static td_err_t step_block(const td_sweep_t *sweep, td_backtest__run_t *run, size_t from, size_t to,
                           const marks_t *marks, decide_fn decide, void *self, size_t *end_cursor)
{
    for (size_t k = 0; k < marks->n && k < 2; k++) {
        prefetch_bar(sweep, from + marks->at[k]);
        prefetch_bar(sweep, from + marks->at[k] + 1);
    }
    td_err_t rc = TD_OK;
    size_t k = 0;
    for (size_t i = from; rc == TD_OK && i < to;) {
        const uint64_t fills_before = run->result->fills;
        rc = fill_step(sweep, run, i);
        if (rc == TD_OK && k < marks->n && from + marks->at[k] == i) {
            if (k + 2 < marks->n) {
                prefetch_bar(sweep, from + marks->at[k + 2]);
                prefetch_bar(sweep, from + marks->at[k + 2] + 1);
            }
            rc = decide(self, run, i, marks->value[k], drop_decision(run, fills_before));
            k++;
        }
        if (rc == TD_OK)
            rc = close_step(sweep, run, i);
        i++;
        if (rc == TD_OK && i < to)
            i = skip_quiet(sweep, run, i, k < marks->n ? from + marks->at[k] : to, end_cursor);
    }
    return rc;
}

typedef struct sma_self {
    const td_sweep_t *sweep;
    td_sma_cross_cfg_t cfg;
} sma_self_t;

static td_err_t sma_decide(void *opaque, td_backtest__run_t *run, size_t i, int cross, bool drop)
{
    const sma_self_t *self = opaque;
    const td_bar_t *bar = &self->sweep->bars[i];
    td_strategy_ctx_t ctx = ctx_of(run);
    td_strategy__decision_t d;
    td_err_t rc = td_sma_cross__decide(&self->cfg, cross, ctx.spec, &d);
    if (rc != TD_OK)
        return td_backtest__strategy_failed(run, bar, i, rc);
    return act(run, &ctx, &d, i, bar, drop);
}

static td_err_t run_sma(const td_sweep_t *sweep, td_backtest__run_t *run)
{
    sma_self_t self = {sweep, run->strategy->cfg.sma};
    const td_sma_cross_cfg_t *cfg = &self.cfg;
    const uint64_t *prefix = sweep->prefix;
    int last_sign = 0;
    marks_t marks;
    size_t end_cursor = 0;
    td_err_t rc = TD_OK;
    for (size_t from = 0; rc == TD_OK && from < sweep->n; from += BLOCK) {
        size_t to = from + BLOCK < sweep->n ? from + BLOCK : sweep->n;
        /* the rule on every bar of the block, in order (it depends on the bars alone); a bar
         * without a cross decides nothing, exactly as in the strategy object's bar step */
        marks.n = 0;
        for (size_t i = from < cfg->slow - 1 ? cfg->slow - 1 : from; i < to; i++) {
            int64_t sum_fast = (int64_t)(prefix[i + 1] - prefix[i + 1 - cfg->fast]);
            int64_t sum_slow = (int64_t)(prefix[i + 1] - prefix[i + 1 - cfg->slow]);
            int cross = td_sma_cross__rule(cfg->fast, cfg->slow, sum_fast, sum_slow, &last_sign);
            marks.at[marks.n] = (uint32_t)(i - from);
            marks.value[marks.n] = (int8_t)cross;
            marks.n += cross != 0;
        }
        rc = step_block(sweep, run, from, to, &marks, sma_decide, &self, &end_cursor);
    }
    return rc;
}

/* The ATR state series of period atr_n: from the cache (filled on first use), or computed into
 * *owned (freed by the caller) when the cache is full. NULL when out of memory. */
static const int64_t *atr_series(td_sweep_t *sweep, uint32_t atr_n, int64_t **owned)
{
    *owned = NULL;
    const int64_t *found = NULL;
    pthread_mutex_lock(&sweep->mu);
    for (size_t k = 0; k < sweep->n_atr && !found; k++)
        if (sweep->atr[k].atr_n == atr_n)
            found = sweep->atr[k].sum;
    if (!found) {
        int64_t *sum = malloc(sweep->n * sizeof *sum);
        if (sum) {
            td_breakout_state_t st = {0};
            for (size_t i = 0; i < sweep->n; i++) {
                td_breakout__atr_fold(&st, atr_n, sweep->tr[i]);
                sum[i] = st.atr_sum;
            }
            if (sweep->n_atr < TD_SWEEP_ATR_CACHE) {
                sweep->atr[sweep->n_atr].atr_n = atr_n;
                sweep->atr[sweep->n_atr].sum = sum;
                sweep->n_atr++;
            } else {
                *owned = sum;
            }
            found = sum;
        }
    }
    pthread_mutex_unlock(&sweep->mu);
    return found;
}

static inline td_price_t range_max(td_price_t *const *table, size_t from, size_t len)
{
    int k = 31 - __builtin_clz((unsigned)len);
    td_price_t a = table[k][from], b = table[k][from + len - ((size_t)1 << k)];
    return a > b ? a : b;
}

static inline td_price_t range_min(td_price_t *const *table, size_t from, size_t len)
{
    int k = 31 - __builtin_clz((unsigned)len);
    td_price_t a = table[k][from], b = table[k][from + len - ((size_t)1 << k)];
    return a < b ? a : b;
}

typedef struct breakout_self {
    const td_sweep_t *sweep;
    td_breakout_cfg_t cfg;
    const int64_t *atr;
    td_breakout_state_t st; /* held bars; the ATR fields are set per bar from atr */
} breakout_self_t;

/* True when td_breakout__decide, on a bar whose close is beyond the range on side `beyond` (+1 above
 * the high, -1 below the low) and on which max_hold does not fire, provably changes nothing: the
 * position already has that side's full volume (exposure = +-volume) and entries on that side are
 * allowed - the target equals the exposure, so td_strategy__act emits nothing (breakout has no
 * signal_always) - or entries on that side are not allowed and the exposure is not against it -
 * nothing is decided. Either way whether the session, the weekday or the ATR permit an entry does
 * not matter, and the only state the rule changes, the held-bars count, is kept by the caller (or
 * unused without max_hold). The stop distances the rule would price cannot fail for accepted bars
 * (sl_atr, tp_atr <= 100 and an ATR <= 2^53 stay far from overflow), so no error is skipped. */
static inline bool breakout_idle(const td_breakout_cfg_t *cfg, int beyond, const td_backtest__run_t *run)
{
    td_volume_t exposure;
    if (__builtin_add_overflow(td_positions_volume(&run->positions), run->pending, &exposure))
        return false; /* the rule reports it */
    const int side = beyond > 0 ? TD_STRATEGY_LONG : TD_STRATEGY_SHORT;
    if (cfg->direction & side)
        return exposure == beyond * cfg->volume;
    return beyond > 0 ? exposure >= 0 : exposure <= 0;
}

/* The breakout rule on bar i (td_breakout__decide with the shared indicators). beyond: +1 / -1 on a
 * bar whose close is above / below the range and on which max_hold cannot fire (breakout_idle may
 * skip it), else 0. drop: the outputs are discarded (act). */
static td_err_t breakout_decide(void *opaque, td_backtest__run_t *run, size_t i, int beyond, bool drop)
{
    breakout_self_t *self = opaque;
    const td_sweep_t *sweep = self->sweep;
    const td_breakout_cfg_t *cfg = &self->cfg;
    if (beyond != 0 && breakout_idle(cfg, beyond, run))
        return TD_OK;
    self->st.atr_sum = self->atr[i];
    self->st.atr_count = i + 1 < cfg->atr_n ? (uint32_t)(i + 1) : cfg->atr_n;
    td_breakout__bar_in_t in = {
        .close = sweep->close[i],
        .have_range = i >= cfg->lookback,
        .minute = sweep->minute[i],
        .weekday = sweep->weekday[i],
    };
    if (in.have_range) {
        in.hh = range_max(sweep->hi, i - cfg->lookback, cfg->lookback);
        in.ll = range_min(sweep->lo, i - cfg->lookback, cfg->lookback);
    }
    td_strategy_ctx_t ctx = ctx_of(run);
    bool decided = false;
    td_strategy__decision_t d;
    td_err_t rc = td_breakout__decide(cfg, &self->st, &ctx, &in, &decided, &d);
    if (rc != TD_OK)
        return td_backtest__strategy_failed(run, &sweep->bars[i], i, rc);
    return decided ? act(run, &ctx, &d, i, &sweep->bars[i], drop) : TD_OK;
}

/* max_hold: td_breakout__decide's held-bars count follows the sign of the position at each bar's
 * close: 0 while flat, 1 on the first bar of a new sign, +1 on each further bar of that sign. The
 * position only changes on a bar the loop steps through the fill model (a skipped bar leaves it
 * alone, see skip_quiet), so the sign of the last stepped bar and the first bar of its run give the
 * count of any bar without calling the rule on every bar. */
typedef struct hold_track {
    int sign;     /* position sign at the close of the last stepped bar */
    size_t start; /* the first bar of the run of that sign (sign != 0) */
} hold_track_t;

/* The first bar from which the max_hold rule fires with the position of the track: held bars
 * (bar - start + 1) >= max_hold. SIZE_MAX while flat. */
static inline size_t hold_deadline(const hold_track_t *hold, uint32_t max_hold)
{
    return hold->sign != 0 ? hold->start + max_hold - 1 : SIZE_MAX;
}

/* step_block for breakout with max_hold: the rule is called on the marked bars (close beyond the
 * range) and on every bar from the held position's deadline on, the only bars on which it can
 * decide something; the held-bars state it reads is set from the track first. On any other bar
 * the rule would only advance the count, which the track reproduces. */
static td_err_t step_block_hold(const td_sweep_t *sweep, td_backtest__run_t *run, size_t from, size_t to,
                                const marks_t *marks, breakout_self_t *self, hold_track_t *hold, size_t *end_cursor)
{
    const uint32_t max_hold = self->cfg.max_hold;
    for (size_t k = 0; k < marks->n && k < PREFETCH_AHEAD; k++) {
        prefetch_bar(sweep, from + marks->at[k]);
        prefetch_bar(sweep, from + marks->at[k] + 1);
    }
    td_err_t rc = TD_OK;
    size_t k = 0;
    for (size_t i = from; rc == TD_OK && i < to;) {
        const uint64_t fills_before = run->result->fills;
        rc = fill_step(sweep, run, i);
        if (rc != TD_OK)
            break;
        /* the count after bar i - 1 (what the rule's state holds before bar i), then bar i's sign */
        const int prev_sign = hold->sign;
        const uint32_t prev_held = prev_sign != 0 ? (uint32_t)(i - hold->start) : 0;
        const int sign = td_strategy__sign64(td_positions_volume(&run->positions));
        if (sign != hold->sign) {
            hold->sign = sign;
            hold->start = i;
            if (sign != 0) /* the deadline's bar and the fill after it */
                prefetch_bar(sweep, i + max_hold - 1), prefetch_bar(sweep, i + max_hold);
        }
        const bool marked = k < marks->n && from + marks->at[k] == i;
        if (marked && k + PREFETCH_AHEAD < marks->n) {
            prefetch_bar(sweep, from + marks->at[k + PREFETCH_AHEAD]);
            prefetch_bar(sweep, from + marks->at[k + PREFETCH_AHEAD] + 1);
        }
        if (marked || i >= hold_deadline(hold, max_hold)) {
            self->st.held_sign = prev_sign;
            self->st.held_bars = prev_held;
            rc = breakout_decide(self, run, i, i < hold_deadline(hold, max_hold) ? marks->value[k] : 0,
                                 drop_decision(run, fills_before));
            k += marked;
        }
        if (rc == TD_OK)
            rc = close_step(sweep, run, i);
        i++;
        if (rc == TD_OK && i < to) {
            size_t until = k < marks->n ? from + marks->at[k] : to;
            size_t deadline = hold_deadline(hold, max_hold);
            i = skip_quiet(sweep, run, i, deadline < until ? (deadline > i ? deadline : i) : until, end_cursor);
        }
    }
    return rc;
}

static td_err_t run_breakout(td_sweep_t *sweep, td_backtest__run_t *run)
{
    breakout_self_t self = {.sweep = sweep, .cfg = run->strategy->cfg.brk};
    const td_breakout_cfg_t *cfg = &self.cfg;
    int64_t *owned = NULL;
    self.atr = atr_series(sweep, cfg->atr_n, &owned);
    if (!self.atr)
        return td_err_set(run->errbuf, run->errlen, TD_ERR_NOMEM, "%s: out of memory", run->config->symbol);
    marks_t marks;
    size_t end_cursor = 0;
    hold_track_t hold = {0, 0};
    td_err_t rc = TD_OK;
    for (size_t from = 0; rc == TD_OK && from < sweep->n; from += BLOCK) {
        size_t to = from + BLOCK < sweep->n ? from + BLOCK : sweep->n;
        /* td_breakout__decide decides something only when the close is above the range's high or
         * below its low (and only then needs the account), or, with max_hold, when the held-bars
         * count reaches it (step_block_hold); on any other bar it changes nothing but that count. */
        marks.n = 0;
        size_t first = from < cfg->lookback ? cfg->lookback : from;
        for (size_t i = first; i < to; i++) {
            td_price_t close = sweep->close[i];
            int beyond = close > range_max(sweep->hi, i - cfg->lookback, cfg->lookback)   ? 1
                         : close < range_min(sweep->lo, i - cfg->lookback, cfg->lookback) ? -1
                                                                                          : 0;
            marks.at[marks.n] = (uint32_t)(i - from);
            marks.value[marks.n] = (int8_t)beyond;
            marks.n += beyond != 0;
        }
        if (cfg->max_hold != 0)
            rc = step_block_hold(sweep, run, from, to, &marks, &self, &hold, &end_cursor);
        else
            rc = step_block(sweep, run, from, to, &marks, breakout_decide, &self, &end_cursor);
    }
    free(owned);
    return rc;
}

td_err_t td_sweep_run(td_sweep_t *sweep, const td_params_changed_t *params, const td_backtest_sink_t *sink,
                      td_backtest_result_t *result, char *errbuf, size_t errlen)
{
    if (sweep->kind == KIND_NONE)
        return td_backtest_run(&sweep->config, params, sweep->bars, sweep->n, sink, result, errbuf, errlen);
    td_backtest__run_t run;
    td_err_t rc = td_backtest__begin(&run, &sweep->config, params, sink, result, errbuf, errlen);
    if (rc == TD_OK && strcmp(td_strategy_name(run.strategy), "sma_cross") == 0 && sweep->kind == KIND_SMA)
        rc = run_sma(sweep, &run);
    else if (rc == TD_OK && strcmp(td_strategy_name(run.strategy), "breakout") == 0 && sweep->kind == KIND_BREAKOUT)
        rc = run_breakout(sweep, &run);
    else if (rc == TD_OK) {
        rc = td_backtest__end(&run, TD_OK);
        return td_backtest_run(&sweep->config, params, sweep->bars, sweep->n, sink, result, errbuf, errlen);
    }
    return td_backtest__end(&run, rc);
}
