/* test_sweep.c - backtest/sweep.c, the shared-indicator engine, against the plain reference: for
 * every parameter set of each grid, td_sweep_run must give exactly what td_backtest_run gives in
 * reference mode (every bar through the strategy object and the fill model): the return code, the
 * message, every field of the result (doubles compared by their bits), every trade and every daily
 * equity point, byte for byte. On real bars (../shared/data) and on adversarial synthetic bars
 * (exactly equal averages, gaps inside a day and over weekends and holidays, bars opening beyond a
 * stop, stops and targets inside a bar, both inside one bar), with costs, without, on the mid basis
 * and with clock offsets. Then td_grid_run with the sweep on 1 and 2 threads against td_grid_run
 * plain: the same rows in the same order. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backtest/grid.h"
#include "backtest/sweep.h"
#include "bt_testutil.h"

/* ---- what one run gives ---- */

typedef struct outcome {
    td_err_t rc;
    char err[512];
    td_backtest_result_t result;
    trade_list_t trades;
    td_grid_equity_t *equity;
    size_t n_equity, cap_equity;
} outcome_t;

static td_err_t outcome_trade(void *opaque, const td_trade_closed_t *trade)
{
    return trade_list_add(&((outcome_t *)opaque)->trades, trade);
}

static td_err_t outcome_equity(void *opaque, uint32_t day, td_money_t equity, double daily_return)
{
    outcome_t *o = opaque;
    if (o->n_equity == o->cap_equity) {
        size_t cap = o->cap_equity ? 2 * o->cap_equity : 256;
        td_grid_equity_t *p = realloc(o->equity, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        o->equity = p;
        o->cap_equity = cap;
    }
    td_grid_equity_t point;
    memset(&point, 0, sizeof point);
    point.trading_day = day;
    point.equity = equity;
    point.daily_return = daily_return;
    o->equity[o->n_equity++] = point;
    return TD_OK;
}

static void outcome_free(outcome_t *o)
{
    free(o->trades.v);
    free(o->equity);
    memset(o, 0, sizeof *o);
}

#define SAME_FIELD(f) assert_memory_equal(&a->f, &b->f, sizeof a->f)

/* Every field of two results, doubles by their bits (NaN included). */
static void assert_same_result(const td_backtest_result_t *a, const td_backtest_result_t *b)
{
    SAME_FIELD(refused);
    SAME_FIELD(bars);
    SAME_FIELD(bars_in_position);
    SAME_FIELD(signals);
    SAME_FIELD(intents);
    SAME_FIELD(fills);
    SAME_FIELD(days);
    SAME_FIELD(trades); /* integers only */
    SAME_FIELD(ratios.n);
    SAME_FIELD(ratios.valid);
    SAME_FIELD(ratios.mean);
    SAME_FIELD(ratios.sharpe);
    SAME_FIELD(ratios.sortino);
    SAME_FIELD(ratios.annual_volatility);
    SAME_FIELD(ratios.annual_return);
    SAME_FIELD(ratios.max_drawdown);
    SAME_FIELD(ratios.calmar);
    SAME_FIELD(final_equity);
    SAME_FIELD(open_volume);
    SAME_FIELD(trades_digest);
}

static void assert_same_outcome(const outcome_t *fast, const outcome_t *ref, const td_params_changed_t *params)
{
    char what[512];
    int len = snprintf(what, sizeof what, "%s", params->strategy);
    for (uint32_t k = 0; k < params->n_values && len > 0 && (size_t)len < sizeof what; k++)
        len +=
            snprintf(what + len, sizeof what - (size_t)len, " %s=%s", params->values[k].name, params->values[k].value);
    if (fast->rc != ref->rc || strcmp(fast->err, ref->err) != 0)
        fail_msg("%s: sweep %s '%s', reference %s '%s'", what, td_err_name(fast->rc), fast->err, td_err_name(ref->rc),
                 ref->err);
    if (fast->trades.len != ref->trades.len)
        fail_msg("%s: sweep %zu trades, reference %zu", what, fast->trades.len, ref->trades.len);
    assert_memory_equal(fast->trades.v, ref->trades.v, ref->trades.len * sizeof *ref->trades.v);
    if (fast->n_equity != ref->n_equity)
        fail_msg("%s: sweep %zu equity points, reference %zu", what, fast->n_equity, ref->n_equity);
    assert_memory_equal(fast->equity, ref->equity, ref->n_equity * sizeof *ref->equity);
    if (ref->rc == TD_OK)
        assert_same_result(&fast->result, &ref->result);
    else
        assert_int_equal(fast->result.refused, ref->result.refused);
}

typedef struct tally {
    size_t sets, refused, trades, stops, reversals, failed;
} tally_t;

/* Every combination of spec for strategy over bars: the sweep against the reference. */
static tally_t compare_grid(const td_backtest_config_t *config, const char *strategy, const char *spec,
                            const td_bar_t *bars, size_t n)
{
    td_grid_t *grid = NULL;
    char err[512] = "";
    if (td_grid_parse(spec, &grid, err, sizeof err) != TD_OK)
        fail_msg("grid %s: %s", spec, err);
    td_sweep_t *sweep = NULL;
    if (td_sweep_new(config, strategy, bars, n, &sweep, err, sizeof err) != TD_OK)
        fail_msg("td_sweep_new: %s", err);
    td_backtest_config_t ref_config = *config;
    ref_config.reference = true;
    tally_t tally = {0};
    for (uint64_t index = 0; index < td_grid_count(grid); index++) {
        td_params_changed_t params;
        td_grid_params(grid, strategy, index, &params);
        outcome_t fast = {0}, ref = {0};
        td_backtest_sink_t fast_sink = {outcome_trade, outcome_equity, &fast};
        td_backtest_sink_t ref_sink = {outcome_trade, outcome_equity, &ref};
        fast.rc = td_sweep_run(sweep, &params, &fast_sink, &fast.result, fast.err, sizeof fast.err);
        ref.rc = td_backtest_run(&ref_config, &params, bars, n, &ref_sink, &ref.result, ref.err, sizeof ref.err);
        assert_same_outcome(&fast, &ref, &params);
        tally.sets++;
        tally.refused += ref.result.refused;
        tally.failed += ref.rc != TD_OK && !ref.result.refused;
        tally.trades += ref.trades.len;
        for (size_t k = 0; k + 1 < ref.trades.len; k++) {
            const td_trade_closed_t *t = &ref.trades.v[k];
            /* a reversal: the next trade opens where this one closes */
            tally.reversals += ref.trades.v[k + 1].entry_time == t->exit_time;
        }
        /* stop and target exits: fills that no intent asked for */
        if (ref.rc == TD_OK && ref.result.fills > ref.result.intents)
            tally.stops += ref.result.fills - ref.result.intents;
        outcome_free(&fast);
        outcome_free(&ref);
    }
    td_sweep_destroy(sweep);
    td_grid_destroy(grid);
    return tally;
}

static void print_tally(const char *what, const tally_t *t)
{
    printf("%s: %zu sets (%zu refused, %zu failed), %zu trades (%zu reversals, at least %zu stop/target exits)\n", what,
           t->sets, t->refused, t->failed, t->trades, t->reversals, t->stops);
}

static td_backtest_config_t costly_config(void)
{
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "EURUSD");
    config.spec = eurusd_spec();
    config.spread = PX5(2);
    config.slippage_points = 1;
    config.commission_per_lot = MONEY(3);
    return config;
}

/* ---- adversarial synthetic bars ---- */

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int64_t pick(uint64_t *s, int64_t k) /* uniform in 0..k-1 */
{
    return (int64_t)(next_rand(s) % (uint64_t)k);
}

/* n M30 bars built to hit the corner cases: closes on a coarse 10-point grid that repeats (so the
 * fast and slow means are often exactly equal), opens that jump far from the previous close (a
 * stop gapped through), wide bars (stops and targets inside, often both), skipped bars inside a
 * day, skipped days (weekends, a holiday, a week: swap over several days, the triple day),
 * per-bar spreads (some bars without ticks: spread_min). */
static td_bar_t *adversarial_bars(size_t n, uint64_t seed)
{
    td_bar_t *bars = calloc(n, sizeof *bars);
    assert_non_null(bars);
    uint64_t s = seed;
    int64_t t = td_time_ms_from_civil(2019, 1, 2, 20, 0, 0, 0);
    int64_t close = 110000;
    for (size_t i = 0; i < n; i++) {
        int64_t r = pick(&s, 100);
        if (r < 3)
            t += (1 + pick(&s, 6)) * 24 * 60 * M30_MS / 30; /* 1..6 days without bars */
        else if (r < 15)
            t += pick(&s, 5) * M30_MS; /* a few bars missing */
        td_bar_t *b = &bars[i];
        b->timeframe_s = 1800;
        b->open_time = t;
        int64_t open = close;
        if (pick(&s, 12) == 0)
            open += (pick(&s, 2) ? 1 : -1) * (20 + 10 * pick(&s, 8)); /* a gap at the open */
        int64_t c = 110000 + 10 * (pick(&s, 3) - 1) + (pick(&s, 4) == 0 ? 10 * (pick(&s, 9) - 4) : 0);
        if (pick(&s, 5) == 0)
            c = close; /* flat: equal sums */
        int64_t hi = (open > c ? open : c) + (pick(&s, 4) == 0 ? 40 + pick(&s, 60) : pick(&s, 6));
        int64_t lo = (open < c ? open : c) - (pick(&s, 4) == 0 ? 40 + pick(&s, 60) : pick(&s, 6));
        b->open = PX5(open);
        b->high = PX5(hi);
        b->low = PX5(lo);
        b->close = PX5(c);
        if (pick(&s, 6) != 0) {
            b->tick_volume = (uint64_t)(10 + pick(&s, 50));
            b->spread_sum = PX5(1 + pick(&s, 4)) * (int64_t)b->tick_volume + pick(&s, 1000);
        }
        b->spread_min = PX5(1);
        b->spread_max = PX5(5);
        close = c;
        t += M30_MS;
    }
    return bars;
}

static const char *const sma_grid =
    "fast=1:5:2,slow=2:9:3,direction=long|short|both,sl_points=0|30,tp_points=0|50,volume=0.5|1.3";
/* (a list of HH:MM values would read as a range: sessions are single values, one grid each) */
static const char *const breakout_grids[] = {
    "lookback=2|3|7,atr_n=1|3|14,sl_atr=0|0.5|2.5,tp_atr=0|1.5,max_hold=0|3,weekdays=0123456|135,"
    "direction=both|long,volume=0.5",
    "lookback=2|7,atr_n=3,sl_atr=0|1,tp_atr=0|1.5,max_hold=0|3,session_start=08:00,session_end=13:30,"
    "direction=both|short,volume=0.5",
    "lookback=3,atr_n=2,sl_atr=0|1,tp_atr=2,session_start=22:00,session_end=03:30,weekdays=12345,volume=0.5",
};

static void test_adversarial_sma(void **state)
{
    (void)state;
    const size_t n = 2500;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        td_bar_t *bars = adversarial_bars(n, seed);
        td_backtest_config_t config = costly_config();
        config.spread = -1; /* the bars' own spreads */
        tally_t t = compare_grid(&config, "sma_cross", sma_grid, bars, n);
        print_tally("sma_cross adversarial, costs", &t);
        assert_true(t.trades > 1000 && t.stops > 100 && t.reversals > 100 && t.refused > 0);
        config = costly_config();
        config.costs = false;
        config.tz_offset_minutes = 120;
        config.day_offset_minutes = -420;
        t = compare_grid(&config, "sma_cross", "fast=1:3:1,slow=2:6:2,sl_points=0|20,tp_points=0|40,volume=1", bars, n);
        print_tally("sma_cross adversarial, no costs, offsets", &t);
        assert_true(t.trades > 100);
        config = costly_config();
        config.basis = TD_BACKTEST_MID;
        config.spread = -1;
        t = compare_grid(&config, "sma_cross", "fast=2,slow=3:5:1,sl_points=0|25,tp_points=0|25,volume=0.7", bars, n);
        print_tally("sma_cross adversarial, mid basis", &t);
        assert_true(t.trades > 100);
        free(bars);
    }
}

static void test_adversarial_breakout(void **state)
{
    (void)state;
    const size_t n = 1500;
    for (uint64_t seed = 7; seed <= 8; seed++) {
        td_bar_t *bars = adversarial_bars(n, seed);
        td_backtest_config_t config = costly_config();
        config.spread = -1;
        config.tz_offset_minutes = 180;
        tally_t t = compare_grid(&config, "breakout", breakout_grids[0], bars, n);
        print_tally("breakout adversarial", &t);
        assert_true(t.trades > 1000 && t.stops > 100);
        t = compare_grid(&config, "breakout", breakout_grids[1], bars, n);
        print_tally("breakout adversarial, a session", &t);
        assert_true(t.trades > 100);
        t = compare_grid(&config, "breakout", breakout_grids[2], bars, n);
        print_tally("breakout adversarial, a session over midnight, weekdays", &t);
        assert_true(t.trades > 20);
        config.basis = TD_BACKTEST_MID;
        config.costs = false;
        t = compare_grid(&config, "breakout", "lookback=2|5,atr_n=2,sl_atr=0|1,tp_atr=0|2,max_hold=0|4,volume=1", bars,
                         n);
        print_tally("breakout adversarial, mid, no costs", &t);
        assert_true(t.trades > 100);
        free(bars);
    }
}

/* max_hold: the sweep calls the rule only on bars beyond the range and from a held position's
 * deadline on, and keeps the held-bars count itself. Holds of 1 bar (the exit decided on the entry's
 * fill bar), 2 and longer ones; positions without stops (the bars between are skipped), with stops
 * and targets that end a hold early (the count restarts from flat), reversals (restart at 1). */
static void test_max_hold(void **state)
{
    (void)state;
    const size_t n = 1500;
    for (uint64_t seed = 21; seed <= 22; seed++) {
        td_bar_t *bars = adversarial_bars(n, seed);
        td_backtest_config_t config = costly_config();
        config.spread = -1;
        tally_t t = compare_grid(&config, "breakout",
                                 "lookback=2|4|9,atr_n=3,sl_atr=0|1.5,tp_atr=0|2,max_hold=1|2|5|40,"
                                 "direction=both|long|short,volume=0.5",
                                 bars, n);
        print_tally("breakout max_hold adversarial", &t);
        assert_true(t.trades > 5000 && t.stops > 100 && t.reversals > 100);
        config.costs = false;
        config.tz_offset_minutes = -300;
        t = compare_grid(&config, "breakout",
                         "lookback=3|6,max_hold=1|3|7,session_start=09:00,session_end=15:00,weekdays=1234,"
                         "direction=both|long,volume=1",
                         bars, n);
        print_tally("breakout max_hold adversarial, a session, no costs", &t);
        assert_true(t.trades > 40);
        free(bars);
    }
    size_t n_real = 0;
    td_bar_t *bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, 8000, &n_real);
    if (!bars)
        return;
    td_backtest_config_t config = costly_config();
    tally_t t = compare_grid(&config, "breakout",
                             "lookback=5|20|60,max_hold=1|2|6|30|200,sl_atr=0|2,direction=both|long|short,volume=0.5",
                             bars, n_real);
    print_tally("breakout max_hold, Dukascopy EURUSD H4", &t);
    assert_true(t.trades > 5000 && t.reversals > 100);
    free(bars);
}

/* The ATR cache holds TD_SWEEP_ATR_CACHE periods; more periods are computed per run. */
static void test_many_atr_periods(void **state)
{
    (void)state;
    const size_t n = 600;
    td_bar_t *bars = adversarial_bars(n, 11);
    td_backtest_config_t config = costly_config();
    tally_t t = compare_grid(&config, "breakout", "lookback=4,atr_n=1:40:2,sl_atr=1.5,tp_atr=2,volume=1", bars, n);
    print_tally("breakout, 20 ATR periods", &t);
    assert_int_equal(t.sets, 20);
    assert_true(t.trades > 100);
    free(bars);
}

/* Warm-up edges: many short series, so that decisions fall on the first bars where the slow mean,
 * the range or the ATR become ready. */
static void test_warmup_edges(void **state)
{
    (void)state;
    const size_t n = 40;
    tally_t all = {0};
    for (uint64_t seed = 100; seed < 160; seed++) {
        td_bar_t *bars = adversarial_bars(n, seed);
        td_backtest_config_t config = costly_config();
        tally_t t =
            compare_grid(&config, "breakout", "lookback=2:5:1,atr_n=1:6:1,sl_atr=1,tp_atr=0|2,volume=1", bars, n);
        all.trades += t.trades;
        t = compare_grid(&config, "sma_cross", "fast=1:3:1,slow=2:6:1,sl_points=0|30,volume=1", bars, n);
        all.trades += t.trades;
        free(bars);
    }
    printf("warm-up edges: %zu trades\n", all.trades);
    assert_true(all.trades > 1000);
}

/* Bars the strategy refuses: the sweep falls back and reports the very same error. */
static void test_refused_bars(void **state)
{
    (void)state;
    const size_t n = 300;
    td_bar_t *bars = adversarial_bars(n, 5);
    td_backtest_config_t config = costly_config();
    bars[200].close = bars[200].high + PX5(1); /* close above the high */
    tally_t t = compare_grid(&config, "sma_cross", "fast=1:3:1,slow=4,volume=1", bars, n);
    assert_int_equal(t.failed, 3);
    bars[200].close = bars[200].high;
    bars[150].open_time = bars[149].open_time; /* not after the previous bar */
    t = compare_grid(&config, "breakout", "lookback=3,volume=1", bars, n);
    assert_int_equal(t.failed, 1);
    td_sweep_t *sweep = NULL;
    char err[256];
    assert_int_equal(td_sweep_new(&config, "breakout", bars, n, &sweep, err, sizeof err), TD_OK);
    assert_false(td_sweep_shared(sweep));
    td_sweep_destroy(sweep);
    free(bars);
}

/* ---- real bars ---- */

/* Every combination of the switched conventions (engine.h): the sweep stays shared and gives the
 * reference's outcome, with stops, targets, max_hold, reversals and dropped decisions. */
static void test_conventions(void **state)
{
    (void)state;
    const size_t n = 1200;
    td_bar_t *bars = adversarial_bars(n, 31);
    const char *const brk_grid =
        "lookback=3|8,atr_n=3,sl_atr=0|1.5,tp_atr=0|2,max_hold=0|2|9,direction=both|long,volume=0.5";
    td_backtest_config_t plain = costly_config();
    const size_t plain_trades = compare_grid(&plain, "breakout", brk_grid, bars, n).trades;
    for (unsigned bits = 1; bits <= TD_BACKTEST_CONVENTIONS_ALL; bits++) {
        td_backtest_config_t config = costly_config();
        config.conventions = bits;
        td_sweep_t *sweep = NULL;
        char err[256] = "";
        assert_int_equal(td_sweep_new(&config, "breakout", bars, n, &sweep, err, sizeof err), TD_OK);
        assert_true(td_sweep_shared(sweep));
        td_sweep_destroy(sweep);
        tally_t t = compare_grid(&config, "breakout", brk_grid, bars, n);
        assert_true(t.trades > 500 && t.stops > 50);
        if (bits & (TD_BACKTEST_NO_DECISION_ON_FILL_BAR | TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR))
            assert_true(t.trades != plain_trades); /* the switch changes the trades */
        t = compare_grid(&config, "sma_cross", "fast=2|4,slow=6|12,sl_points=0|40,tp_points=0|80,volume=1", bars, n);
        assert_true(t.trades > 100);
    }
    free(bars);
}

static void test_real_bars(void **state)
{
    (void)state;
    size_t n = 0;
    td_bar_t *bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, 8000, &n);
    if (!bars)
        skip();
    td_backtest_config_t config = costly_config();
    tally_t t = compare_grid(
        &config, "sma_cross",
        "fast=5:45:20,slow=20:200:60,direction=both|long,sl_points=0|300,tp_points=0|600,volume=0.5", bars, n);
    print_tally("sma_cross, Dukascopy EURUSD H4", &t);
    assert_true(t.trades > 1000 && t.stops > 50);
    t = compare_grid(&config, "breakout",
                     "lookback=10|40,atr_n=14|30,sl_atr=0|2,tp_atr=0|3,max_hold=0|20,direction=both|long,volume=0.5",
                     bars, n);
    print_tally("breakout, Dukascopy EURUSD H4", &t);
    assert_true(t.trades > 1000 && t.stops > 50);
    t = compare_grid(&config, "breakout",
                     "lookback=10|40,sl_atr=0|2,tp_atr=3,session_start=07:00,session_end=17:00,volume=0.5", bars, n);
    print_tally("breakout, Dukascopy EURUSD H4, a session", &t);
    assert_true(t.trades > 200);
    /* grademark's conventions without costs (the it_backtest_compare comparison's configuration) */
    td_backtest_config_t grademark = config;
    grademark.costs = false;
    grademark.conventions = TD_BACKTEST_CONVENTIONS_ALL;
    t = compare_grid(&grademark, "sma_cross", "fast=5:45:20,slow=20:200:60,sl_points=0|300,tp_points=0|600,volume=1",
                     bars, n);
    print_tally("sma_cross, Dukascopy EURUSD H4, grademark's conventions", &t);
    assert_true(t.trades > 500 && t.stops > 50);
    t = compare_grid(&grademark, "breakout", "lookback=10|40,sl_atr=0|2,tp_atr=0|3,max_hold=0|20,volume=1", bars, n);
    print_tally("breakout, Dukascopy EURUSD H4, grademark's conventions", &t);
    assert_true(t.trades > 500 && t.stops > 50);
    free(bars);

    bars = real_bars("bars/lean-oanda-xauusd-h1.csv", TD_FMT_LEAN_BARS, 12000, &n);
    assert_non_null(bars);
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "XAUUSD");
    config.spec.digits = 3;
    config.spec.point = 100000;
    config.spec.contract_size = 100 * LOT;
    config.spec.swap_mode = TD_SWAP_MONEY;
    config.spec.swap_long = -MONEY(5);
    config.spec.swap_short = MONEY(1);
    config.spec.triple_swap_weekday = 3;
    config.basis = TD_BACKTEST_MID;
    config.commission_per_lot = MONEY(7);
    t = compare_grid(&config, "sma_cross", "fast=8:48:20,slow=50:250:100,sl_points=0|2000,tp_points=0|5000,volume=0.1",
                     bars, n);
    print_tally("sma_cross, OANDA XAUUSD H1, mid basis, bars' spreads", &t);
    assert_true(t.trades > 500);
    t = compare_grid(&config, "breakout", "lookback=12|48,sl_atr=0|1.5,tp_atr=0|2.5,max_hold=0|10,volume=0.1", bars, n);
    print_tally("breakout, OANDA XAUUSD H1", &t);
    assert_true(t.trades > 500);
    free(bars);
}

/* ---- the grid: sweep on 1 and 2 threads against plain ---- */

typedef struct rows {
    uint64_t next;
    outcome_t *v; /* by index */
    size_t count;
} rows_t;

static td_err_t keep_row(void *opaque, const td_grid_row_t *row)
{
    rows_t *rows = opaque;
    assert_int_equal(row->index, rows->next);
    rows->next++;
    outcome_t *o = &rows->v[row->index];
    o->result = *row->result;
    o->rc = row->refused ? TD_ERR_INVALID : TD_OK;
    snprintf(o->err, sizeof o->err, "%s", row->refused ? row->message : "");
    for (size_t k = 0; k < row->n_trades; k++)
        assert_int_equal(trade_list_add(&o->trades, &row->trades[k]), TD_OK);
    for (size_t k = 0; k < row->n_equity; k++)
        assert_int_equal(
            outcome_equity(o, row->equity[k].trading_day, row->equity[k].equity, row->equity[k].daily_return), TD_OK);
    return TD_OK;
}

static void test_grid_threads(void **state)
{
    (void)state;
    const size_t n = 3000;
    td_bar_t *bars = adversarial_bars(n, 21);
    td_backtest_config_t config = costly_config();
    config.spread = -1;
    const struct {
        const char *strategy, *spec;
    } grids[] = {{"sma_cross", sma_grid},
                 {"breakout", "lookback=2|6,atr_n=3|9,sl_atr=0|1,tp_atr=0|2,max_hold=0|5,volume=1"}};
    for (size_t g = 0; g < 2; g++) {
        td_grid_t *grid = NULL;
        char err[512] = "";
        assert_int_equal(td_grid_parse(grids[g].spec, &grid, err, sizeof err), TD_OK);
        size_t count = (size_t)td_grid_count(grid);
        rows_t runs[3];
        const unsigned threads[3] = {1, 2, 2};
        const bool plain[3] = {true, false, false};
        for (int r = 0; r < 3; r++) {
            runs[r].next = 0;
            runs[r].count = count;
            runs[r].v = calloc(count, sizeof *runs[r].v);
            td_grid_opts_t opts = {.threads = threads[r],
                                   .window = r == 2 ? 3 : 0,
                                   .collect_trades = true,
                                   .collect_equity = true,
                                   .plain = plain[r]};
            td_grid_stats_t stats;
            td_err_t rc = td_grid_run(grid, grids[g].strategy, &config, bars, n, &opts, keep_row, &runs[r], &stats, err,
                                      sizeof err);
            if (rc != TD_OK)
                fail_msg("td_grid_run: %s %s", td_err_name(rc), err);
            assert_int_equal(runs[r].next, count);
        }
        for (size_t k = 0; k < count; k++) {
            td_params_changed_t params;
            td_grid_params(grid, grids[g].strategy, k, &params);
            assert_same_outcome(&runs[1].v[k], &runs[0].v[k], &params);
            assert_same_outcome(&runs[2].v[k], &runs[0].v[k], &params);
        }
        for (int r = 0; r < 3; r++) {
            for (size_t k = 0; k < count; k++)
                outcome_free(&runs[r].v[k]);
            free(runs[r].v);
        }
        td_grid_destroy(grid);
    }
    free(bars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adversarial_sma), cmocka_unit_test(test_adversarial_breakout),
        cmocka_unit_test(test_max_hold),        cmocka_unit_test(test_many_atr_periods),
        cmocka_unit_test(test_warmup_edges),    cmocka_unit_test(test_refused_bars),
        cmocka_unit_test(test_real_bars),       cmocka_unit_test(test_grid_threads),
        cmocka_unit_test(test_conventions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
