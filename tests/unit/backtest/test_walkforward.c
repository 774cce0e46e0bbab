/* test_walkforward.c - backtest/walkforward.c: the IS:OOS spec, windows on trading-day starts that
 * tile the data, the in-sample choice and the out-of-sample trades against a plain reference
 * (every combination run alone on the IS bars, the best by the metric, then the chosen set run
 * alone over IS + OOS and its trades exiting in the OOS part kept), flat windows, months on real
 * EURUSD H4 bars, and "no window" refused. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>

#include <cmocka.h>

#include "backtest/walkforward.h"
#include "bt_testutil.h"

static void test_parse(void **state)
{
    (void)state;
    td_wf_spec_t spec;
    char err[256] = "";
    assert_int_equal(td_wf_parse("6000:1500", &spec, err, sizeof err), TD_OK);
    assert_int_equal(spec.unit, TD_WF_BARS);
    assert_int_equal(spec.is_len, 6000);
    assert_int_equal(spec.oos_len, 1500);
    assert_int_equal(td_wf_parse("24m:6m", &spec, err, sizeof err), TD_OK);
    assert_int_equal(spec.unit, TD_WF_MONTHS);
    assert_int_equal(spec.is_len, 24);
    const char *bad[] = {"24m:6", "0:5", "5", "a:b", "5:0", ":5", "5:", "12m:m", "2000m:6m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(td_wf_parse(bad[i], &spec, err, sizeof err), TD_ERR_INVALID);
        assert_non_null(strstr(err, "walk-forward"));
    }
    td_wf_metric_t m;
    assert_int_equal(td_wf_metric_parse("net_pnl", &m), TD_OK);
    assert_int_equal(m, TD_WF_NET_PNL);
    assert_string_equal(td_wf_metric_name(TD_WF_SORTINO), "sortino");
    assert_int_equal(td_wf_metric_parse("best", &m), TD_ERR_INVALID);
}

/* 40 days of M30 bars, 48 a day, a wavy price so that SMA crosses happen. */
static td_bar_t *wavy_bars(size_t *n)
{
    *n = 40 * 48;
    td_bar_t *bars = calloc(*n, sizeof *bars);
    assert_non_null(bars);
    int64_t t0 = td_time_ms_from_civil(2024, 1, 1, 0, 0, 0, 0);
    int64_t prev = 110000;
    for (size_t i = 0; i < *n; i++) {
        int64_t close = 110000 + (int64_t)(200.0 * sin((double)i / 37.0) + 90.0 * sin((double)i / 11.0));
        bars[i] = bar_oc(t0, (int)i, prev, close);
        prev = close;
    }
    return bars;
}

typedef struct seen {
    td_wf_window_t windows[64];
    size_t n_windows;
    trade_list_t trades;
    size_t days;
    double wealth;
} seen_t;

static td_err_t on_window(void *opaque, const td_wf_window_t *window)
{
    seen_t *seen = opaque;
    assert_true(seen->n_windows < 64);
    seen->windows[seen->n_windows++] = *window;
    return TD_OK;
}

static td_err_t on_trade(void *opaque, const td_wf_window_t *window, const td_trade_closed_t *trade)
{
    (void)window;
    return trade_list_add(&((seen_t *)opaque)->trades, trade);
}

static td_err_t on_equity(void *opaque, const td_wf_window_t *window, uint32_t day, double ret, double wealth)
{
    (void)window, (void)day, (void)ret;
    seen_t *seen = opaque;
    seen->days++;
    seen->wealth = wealth;
    return TD_OK;
}

static td_backtest_config_t eur_config(void)
{
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "EURUSD");
    config.spec = eurusd_spec();
    config.spread = PX5(1);
    return config;
}

static void test_against_reference(void **state)
{
    (void)state;
    size_t n;
    td_bar_t *bars = wavy_bars(&n);
    td_backtest_config_t config = eur_config();
    td_grid_t *grid = NULL;
    char err[512] = "";
    assert_int_equal(td_grid_parse("fast=2:8:3,slow=10:30:10,volume=1", &grid, err, sizeof err), TD_OK);
    td_wf_spec_t spec = {TD_WF_BARS, 480, 230}; /* 10 days in, 230 bars (rounded up to 5 days) out */
    td_grid_opts_t opts = {.threads = 2};
    seen_t seen;
    memset(&seen, 0, sizeof seen);
    td_wf_sink_t sink = {on_window, on_trade, on_equity, &seen};
    td_wf_result_t result;
    td_err_t rc =
        td_wf_run(&spec, TD_WF_SHARPE, grid, "sma_cross", &config, bars, n, &opts, &sink, &result, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("td_wf_run: %s %s", td_err_name(rc), err);

    /* windows: OOS parts start at day 10 and tile the rest in 5-day steps: days 10..39 = 6 windows */
    assert_int_equal(result.windows, 6);
    assert_int_equal(seen.n_windows, 6);
    for (size_t k = 0; k < seen.n_windows; k++) {
        const td_wf_window_t *w = &seen.windows[k];
        assert_int_equal(w->number, k);
        assert_int_equal(w->is_to, 480 + k * 240);
        assert_int_equal(w->is_from, w->is_to - 480);
        assert_int_equal(w->oos_to, w->is_to + 240);
        assert_int_equal(w->oos_days, 5);
    }
    assert_int_equal(result.days, 30);
    assert_int_equal(seen.days, 30);

    /* the reference: each window by hand */
    size_t k_trade = 0;
    uint64_t all_trades = 0;
    for (size_t k = 0; k < seen.n_windows; k++) {
        const td_wf_window_t *w = &seen.windows[k];
        bool have = false;
        uint64_t best = 0;
        double best_v = 0;
        for (uint64_t c = 0; c < td_grid_count(grid); c++) {
            td_params_changed_t params;
            td_grid_params(grid, "sma_cross", c, &params);
            td_backtest_result_t r;
            assert_int_equal(
                td_backtest_run(&config, &params, bars + w->is_from, w->is_to - w->is_from, NULL, &r, err, sizeof err),
                TD_OK);
            if (!isnan(r.ratios.sharpe) && (!have || r.ratios.sharpe > best_v)) {
                have = true;
                best = c;
                best_v = r.ratios.sharpe;
            }
        }
        assert_true(have && w->chosen);
        assert_int_equal(w->index, best);
        assert_true(w->is_metric == best_v);
        td_params_changed_t params;
        td_grid_params(grid, "sma_cross", best, &params);
        trade_list_t list = {0};
        td_backtest_sink_t bsink = {.trade = trade_list_add, .opaque = &list};
        td_backtest_result_t r;
        assert_int_equal(
            td_backtest_run(&config, &params, bars + w->is_from, w->oos_to - w->is_from, &bsink, &r, err, sizeof err),
            TD_OK);
        uint64_t in_oos = 0;
        for (size_t i = 0; i < list.len; i++) {
            if (list.v[i].exit_time < bars[w->is_to].open_time)
                continue;
            in_oos++;
            assert_true(k_trade < seen.trades.len);
            assert_memory_equal(&list.v[i], &seen.trades.v[k_trade], sizeof list.v[i]);
            k_trade++;
        }
        assert_int_equal(w->oos_trades.trades, in_oos);
        all_trades += in_oos;
        free(list.v);
    }
    assert_int_equal(k_trade, seen.trades.len);
    assert_int_equal(result.trades.trades, all_trades);
    assert_true(all_trades > 10);
    assert_true(seen.wealth == result.final_wealth);
    assert_int_equal(result.chosen_windows, 6);

    /* the same run on 1 thread gives the same bits */
    td_wf_result_t again;
    opts.threads = 1;
    assert_int_equal(
        td_wf_run(&spec, TD_WF_SHARPE, grid, "sma_cross", &config, bars, n, &opts, NULL, &again, err, sizeof err),
        TD_OK);
    assert_memory_equal(&result.trades, &again.trades, sizeof result.trades);
    assert_true(memcmp(&result.ratios, &again.ratios, sizeof result.ratios) == 0);
    free(seen.trades.v);
    td_grid_destroy(grid);
    free(bars);
}

/* A set that never trades has no Sharpe: nothing is chosen, the OOS days are flat. */
static void test_flat_windows(void **state)
{
    (void)state;
    size_t n;
    td_bar_t *bars = wavy_bars(&n);
    td_backtest_config_t config = eur_config();
    td_grid_t *grid = NULL;
    char err[512] = "";
    /* a slow average of 1000 bars never forms in 960 in-sample bars: no trade, no Sharpe */
    assert_int_equal(td_grid_parse("fast=2,slow=1000,volume=1", &grid, err, sizeof err), TD_OK);
    td_wf_spec_t spec = {TD_WF_BARS, 960, 480};
    td_grid_opts_t opts = {.threads = 1};
    td_wf_result_t result;
    td_err_t rc =
        td_wf_run(&spec, TD_WF_SHARPE, grid, "sma_cross", &config, bars, n, &opts, NULL, &result, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("td_wf_run: %s %s", td_err_name(rc), err);
    assert_int_equal(result.windows, 2);
    assert_int_equal(result.chosen_windows, 0);
    assert_int_equal(result.trades.trades, 0);
    assert_int_equal(result.days, 20);
    assert_true(result.final_wealth == 1.0);
    td_grid_destroy(grid);
    free(bars);
}

static void test_no_window(void **state)
{
    (void)state;
    size_t n;
    td_bar_t *bars = wavy_bars(&n);
    td_backtest_config_t config = eur_config();
    td_grid_t *grid = NULL;
    char err[512] = "";
    assert_int_equal(td_grid_parse("fast=2,slow=10,volume=1", &grid, err, sizeof err), TD_OK);
    td_wf_spec_t spec = {TD_WF_MONTHS, 2, 1}; /* 40 days hold no 2 months + 1 */
    td_grid_opts_t opts = {.threads = 1};
    td_wf_result_t result;
    assert_int_equal(
        td_wf_run(&spec, TD_WF_SHARPE, grid, "sma_cross", &config, bars, n, &opts, NULL, &result, err, sizeof err),
        TD_ERR_INVALID);
    assert_non_null(strstr(err, "hold no window"));
    td_grid_destroy(grid);
    free(bars);
}

/* Months on real data: Dukascopy EURUSD H4, 24 months in, 6 out. */
static void test_months_real(void **state)
{
    (void)state;
    size_t n;
    td_bar_t *bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, SIZE_MAX, &n);
    if (!bars)
        skip();
    td_backtest_config_t config = eur_config();
    td_grid_t *grid = NULL;
    char err[512] = "";
    assert_int_equal(td_grid_parse("fast=5:15:10,slow=30:60:30,volume=0.1", &grid, err, sizeof err), TD_OK);
    td_wf_spec_t spec = {TD_WF_MONTHS, 24, 6};
    td_grid_opts_t opts = {.threads = 2};
    seen_t seen;
    memset(&seen, 0, sizeof seen);
    td_wf_sink_t sink = {on_window, on_trade, on_equity, &seen};
    td_wf_result_t result;
    td_err_t rc =
        td_wf_run(&spec, TD_WF_NET_PNL, grid, "sma_cross", &config, bars, n, &opts, &sink, &result, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("td_wf_run: %s %s", td_err_name(rc), err);
    int64_t m0 = (int64_t)(td_time_trading_day(bars[0].open_time, 0) / 10000) * 12 +
                 td_time_trading_day(bars[0].open_time, 0) / 100 % 100 - 1;
    int64_t mn = (int64_t)(td_time_trading_day(bars[n - 1].open_time, 0) / 10000) * 12 +
                 td_time_trading_day(bars[n - 1].open_time, 0) / 100 % 100 - 1;
    /* OOS parts start at m0 + 24, m0 + 30, ... up to the last bar's month */
    assert_int_equal(result.windows, (size_t)((mn - (m0 + 24)) / 6 + 1));
    for (size_t k = 0; k < seen.n_windows; k++) {
        const td_wf_window_t *w = &seen.windows[k];
        uint32_t d = td_time_trading_day(bars[w->is_to].open_time, 0);
        int64_t m = (int64_t)(d / 10000) * 12 + d / 100 % 100 - 1;
        assert_true(m == m0 + 24 + (int64_t)k * 6);
        uint32_t dp = td_time_trading_day(bars[w->is_to - 1].open_time, 0);
        assert_true((int64_t)(dp / 10000) * 12 + dp / 100 % 100 - 1 < m);
        if (k > 0)
            assert_int_equal(w->is_to, seen.windows[k - 1].oos_to);
    }
    assert_int_equal(seen.windows[seen.n_windows - 1].oos_to, n);
    /* every OOS trade exits in its window: in time order, after the first OOS start */
    for (size_t i = 0; i < seen.trades.len; i++) {
        assert_true(seen.trades.v[i].exit_time >= bars[seen.windows[0].is_to].open_time);
        if (i)
            assert_true(seen.trades.v[i].exit_time >= seen.trades.v[i - 1].exit_time);
    }
    assert_int_equal(result.trades.trades, seen.trades.len);
    assert_true(result.trades.trades > 50);
    printf("EURUSD H4 24m:6m: %zu windows, %" PRIu64 " OOS trades, OOS Sharpe %.3f, %" PRIu64 " days\n", result.windows,
           result.trades.trades, result.ratios.sharpe, result.days);
    free(seen.trades.v);
    td_grid_destroy(grid);
    free(bars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),     cmocka_unit_test(test_against_reference), cmocka_unit_test(test_flat_windows),
        cmocka_unit_test(test_no_window), cmocka_unit_test(test_months_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
