/* test_engine.c - backtest/engine.c: the conventions by hand (signal at close, fill at the next
 * open, reversals, costs, mid basis, a stop inside a bar, daily equity), refusals and bad bars,
 * the quiet-bar fast path against the reference mode on real data with costs and stops, and the
 * switchable conventions (each by hand, their text form, and on real data). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bt_testutil.h"

/* Closes of the hand-made run (5 decimals); opens are the previous close except where given. */
static const int64_t opens[] = {110000, 110000, 110010, 110020, 110005, 110000, 110012, 110020, 110016};
static const int64_t closes[] = {110000, 110010, 110020, 110010, 110000, 110010, 110020, 110015, 110015};
#define N_HAND 9

static void hand_bars(td_bar_t *bars, int64_t t0)
{
    for (int i = 0; i < N_HAND; i++)
        bars[i] = bar_oc(t0, i, opens[i], closes[i]);
}

typedef struct equity_log {
    uint32_t days[16];
    td_money_t equity[16];
    double ret[16];
    size_t n;
} equity_log_t;

static td_err_t log_equity(void *opaque, uint32_t day, td_money_t equity, double ret)
{
    equity_log_t *log = opaque;
    log->days[log->n] = day;
    log->equity[log->n] = equity;
    log->ret[log->n] = ret;
    log->n++;
    return TD_OK;
}

typedef struct both {
    trade_list_t trades;
    equity_log_t equity;
} both_t;

static td_err_t both_trade(void *opaque, const td_trade_closed_t *trade)
{
    return trade_list_add(&((both_t *)opaque)->trades, trade);
}

static td_err_t both_equity(void *opaque, uint32_t day, td_money_t equity, double ret)
{
    return log_equity(&((both_t *)opaque)->equity, day, equity, ret);
}

static td_backtest_config_t config_no_costs(void)
{
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "EURUSD");
    config.spec = eurusd_spec();
    config.costs = false;
    return config;
}

/* The hand-made bars from 02:00 on 2019-02-05: all in one trading day. */
static void hand_bars_one_day(td_bar_t *bars)
{
    hand_bars(bars, td_time_ms_from_civil(2019, 2, 5, 2, 0, 0, 0));
}

/* Runs config over n bars, the closed trades into trades (emptied first); the run's code, its
 * error printed when it failed. */
static td_err_t run_trades(const td_backtest_config_t *config, const td_params_changed_t *params, const td_bar_t *bars,
                           size_t n, trade_list_t *trades, td_backtest_result_t *result)
{
    td_backtest_sink_t sink = {trade_list_add, NULL, trades};
    char err[256] = "";
    trades->len = 0;
    td_err_t rc = td_backtest_run(config, params, bars, n, &sink, result, err, sizeof err);
    if (rc != TD_OK)
        print_error("%s\n", err);
    return rc;
}

/* Runs config over n bars in the fast mode and in the reference mode (every bar through the fill
 * model) and asserts the same trades, equity and digest, at least min_trades of them; returns the
 * fast run's result. */
static td_backtest_result_t fast_equals_reference(td_backtest_config_t config, const td_params_changed_t *params,
                                                  const td_bar_t *bars, size_t n, size_t min_trades)
{
    trade_list_t fast = {0}, ref = {0};
    td_backtest_result_t fres, rres;
    config.reference = false;
    assert_int_equal(run_trades(&config, params, bars, n, &fast, &fres), TD_OK);
    config.reference = true;
    assert_int_equal(run_trades(&config, params, bars, n, &ref, &rres), TD_OK);
    assert_true(fast.len >= min_trades);
    assert_int_equal(fast.len, ref.len);
    assert_memory_equal(fast.v, ref.v, fast.len * sizeof *fast.v);
    assert_int_equal(fres.final_equity, rres.final_equity);
    assert_int_equal(fres.trades_digest, rres.trades_digest);
    assert_true(memcmp(&fres.ratios, &rres.ratios, sizeof fres.ratios) == 0);
    free(fast.v);
    free(ref.v);
    return fres;
}

static void test_next_open_no_costs(void **state)
{
    (void)state;
    /* 22:00 on 2019-02-04: bars 4.. fall on the next trading day */
    int64_t t0 = td_time_ms_from_civil(2019, 2, 4, 22, 0, 0, 0);
    td_bar_t bars[N_HAND];
    hand_bars(bars, t0);
    td_backtest_config_t config = config_no_costs();
    config.spread = PX5(50); /* ignored: costs off */
    td_params_changed_t params = params_of("sma_cross", "direction=both", "fast=1", "slow=2", "volume=1", NULL);
    both_t out = {0};
    td_backtest_sink_t sink = {both_trade, both_equity, &out};
    td_backtest_result_t result;
    char err[256] = "";
    assert_int_equal(td_backtest_run(&config, &params, bars, N_HAND, &sink, &result, err, sizeof err), TD_OK);

    assert_int_equal(result.bars, N_HAND);
    assert_int_equal(out.trades.len, 2);
    /* cross down at bar 3's close: short filled at bar 4's open; cross up at bar 5: reversed at 6 */
    const td_trade_closed_t *a = &out.trades.v[0], *b = &out.trades.v[1];
    assert_int_equal(a->side, TD_SIDE_SELL);
    assert_int_equal(a->entry_time, bars[4].open_time);
    assert_int_equal(a->entry_price, PX5(110005));
    assert_int_equal(a->exit_time, bars[6].open_time);
    assert_int_equal(a->exit_price, PX5(110012));
    assert_int_equal(a->volume, LOT);
    assert_int_equal(a->pnl, -MONEY(7));
    assert_int_equal(b->side, TD_SIDE_BUY);
    assert_int_equal(b->entry_price, PX5(110012));
    assert_int_equal(b->exit_time, bars[8].open_time);
    assert_int_equal(b->exit_price, PX5(110016));
    assert_int_equal(b->pnl, MONEY(4));
    assert_int_equal(a->commission + a->swap + b->commission + b->swap, 0);
    assert_int_equal(result.open_volume, -LOT);
    assert_int_equal(result.trades.net_pnl, -MONEY(3));
    assert_int_equal(result.signals, 3);
    assert_int_equal(result.intents, 3);
    assert_int_equal(result.bars_in_position, 5); /* bars 4..8 */
    /* two trading days: flat at the first's end; -3 realised and the short from 1.10016 marked at
     * 1.10015: +1 */
    assert_int_equal(out.equity.n, 2);
    assert_int_equal(out.equity.days[0], 20190204);
    assert_int_equal(out.equity.days[1], 20190205);
    assert_int_equal(out.equity.equity[0], MONEY(100000));
    assert_int_equal(out.equity.equity[1], MONEY(99998));
    assert_true(out.equity.ret[0] == 0.0);
    assert_true(fabs(out.equity.ret[1] - (-0.00002)) < 1e-15);
    assert_int_equal(result.final_equity, MONEY(99998));
    free(out.trades.v);
}

static void test_costs_and_mid(void **state)
{
    (void)state;
    td_bar_t bars[N_HAND];
    hand_bars_one_day(bars);
    td_backtest_config_t config = config_no_costs();
    config.costs = true;
    config.spread = PX5(2); /* 2 points */
    config.slippage_points = 1;
    config.commission_per_lot = MONEY(3); /* per side */
    td_params_changed_t params = params_of("sma_cross", "fast=1", "slow=2", "volume=1", NULL);
    trade_list_t trades = {0};
    td_backtest_result_t result;
    assert_int_equal(run_trades(&config, &params, bars, N_HAND, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 2);
    /* bid bars: a sell fills at the bid open - slippage, a buy at open + spread + slippage */
    assert_int_equal(trades.v[0].entry_price, PX5(110004));
    assert_int_equal(trades.v[0].exit_price, PX5(110015));
    assert_int_equal(trades.v[0].pnl, -MONEY(11));
    /* the reversal's commission (2 lots x 3) is split: 3 closes the short, 3 waits with the long */
    assert_int_equal(trades.v[0].commission, -MONEY(6));
    assert_int_equal(trades.v[1].entry_price, PX5(110015));
    assert_int_equal(trades.v[1].exit_price, PX5(110015));
    assert_int_equal(trades.v[1].commission, -MONEY(6));

    /* mid bars: half the spread each way (1 point), plus the slippage */
    config.basis = TD_BACKTEST_MID;
    assert_int_equal(run_trades(&config, &params, bars, N_HAND, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 2);
    assert_int_equal(trades.v[0].entry_price, PX5(110003));
    assert_int_equal(trades.v[0].exit_price, PX5(110014));
    free(trades.v);
}

static void test_stop_inside_bar(void **state)
{
    (void)state;
    td_bar_t bars[N_HAND];
    hand_bars_one_day(bars);
    td_backtest_config_t config = config_no_costs();
    /* short from bar 4's open 1.10005 with SL = bar 3's close + 8 points = 1.10018; bar 5's high is
     * 1.10015 (no), bar 6 opens at 1.10012 and reaches 1.10025: stopped at the SL */
    td_params_changed_t params = params_of("sma_cross", "fast=1", "sl_points=8", "slow=2", "volume=1", NULL);
    trade_list_t trades = {0};
    td_backtest_result_t result;
    assert_int_equal(run_trades(&config, &params, bars, N_HAND, &trades, &result), TD_OK);
    assert_true(trades.len >= 1);
    assert_int_equal(trades.v[0].side, TD_SIDE_SELL);
    /* the cross up at bar 5's close reversed (a buy of 2 lots), filled at bar 6's open before the
     * stop check: the short closed there at the open */
    assert_int_equal(trades.v[0].exit_time, bars[6].open_time);
    assert_int_equal(trades.v[0].exit_price, PX5(110012));

    /* direction=short: the cross up only closes; make the stop fire at bar 5 instead with 4 points:
     * SL 1.10014 <= bar 5's high 1.10015 -> closed at the SL inside bar 5 */
    params = params_of("sma_cross", "direction=short", "fast=1", "sl_points=4", "slow=2", "volume=1", NULL);
    assert_int_equal(run_trades(&config, &params, bars, N_HAND, &trades, &result), TD_OK);
    assert_true(trades.len >= 1);
    assert_int_equal(trades.v[0].exit_time, bars[5].open_time);
    assert_int_equal(trades.v[0].exit_price, PX5(110014));
    assert_int_equal(trades.v[0].pnl, -MONEY(9));
    free(trades.v);
}

static void test_refused_and_bad_bars(void **state)
{
    (void)state;
    td_bar_t bars[N_HAND];
    hand_bars_one_day(bars);
    td_backtest_config_t config = config_no_costs();
    td_backtest_result_t result;
    char err[256] = "";
    td_params_changed_t params = params_of("sma_cross", "fast=5", "slow=5", "volume=1", NULL);
    assert_int_equal(td_backtest_run(&config, &params, bars, N_HAND, NULL, &result, err, sizeof err), TD_ERR_INVALID);
    assert_true(result.refused);
    assert_non_null(strstr(err, "must be less than 'slow'"));

    params = params_of("sma_cross", "fast=1", "slow=2", "volume=1", NULL);
    bars[5].open_time = bars[4].open_time; /* not after the previous bar */
    assert_int_equal(td_backtest_run(&config, &params, bars, N_HAND, NULL, &result, err, sizeof err), TD_ERR_ORDER);
    assert_false(result.refused);
    assert_non_null(strstr(err, "bar 5"));

    config.spec.contract_size = 0;
    assert_int_equal(td_backtest_run(&config, &params, bars, N_HAND, NULL, &result, err, sizeof err), TD_ERR_INVALID);
}

/* The fast path (bars on which the fill model does nothing are skipped) against the reference
 * (every bar through td_fill_on_bar), with spread, slippage, commission, swap and stops. */
static void test_fast_path_equals_reference(void **state)
{
    (void)state;
    size_t n = 0;
    td_bar_t *bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, 8000, &n);
    if (!bars)
        skip();
    td_backtest_config_t config = config_no_costs();
    config.costs = true;
    config.spread = PX5(2);
    config.slippage_points = 1;
    config.commission_per_lot = MONEY(3);
    const td_params_changed_t sets[] = {
        params_of("sma_cross", "fast=10", "slow=40", "volume=0.5", NULL),
        params_of("sma_cross", "direction=long", "fast=5", "sl_points=300", "slow=20", "tp_points=600", "volume=1",
                  NULL),
        params_of("breakout", "atr_n=14", "lookback=20", "max_hold=30", "sl_atr=2", "tp_atr=3", "volume=1", NULL),
    };
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
        td_backtest_result_t result = fast_equals_reference(config, &sets[k], bars, n, 11);
        assert_true(result.trades.swap != 0); /* the swap path was exercised */
    }
    free(bars);
}

/* ---- the switchable conventions (engine.h) ---- */

/* Bars i = 0..n-1 with the given opens and closes (5-decimal integers), high / low 5 points beyond. */
static void bars_oc(td_bar_t *bars, int64_t t0, const int64_t *o, const int64_t *c, int n)
{
    for (int i = 0; i < n; i++)
        bars[i] = bar_oc(t0, i, o[i], c[i]);
}

static td_err_t run_conv(unsigned conventions, const td_params_changed_t *params, const td_bar_t *bars, size_t n,
                         trade_list_t *trades, td_backtest_result_t *result)
{
    td_backtest_config_t config = config_no_costs();
    config.conventions = conventions;
    return run_trades(&config, params, bars, n, trades, result);
}

/* no-decision-on-fill-bar: fast=1 / slow=2 crosses down at bar 2 and up at bar 3, bar 3 being the
 * short's fill bar. Default: reversed at bar 4's open, reversed again after bar 5's cross down.
 * Switched on: bar 3's cross is dropped, the short stays, bar 5's cross down finds it short. */
static void test_convention_fill_bar_decision(void **state)
{
    (void)state;
    static const int64_t c[] = {110000, 110010, 110000, 110010, 110020, 110010, 110000};
    static const int64_t o[] = {110000, 110000, 110010, 110000, 110010, 110020, 110010};
    td_bar_t bars[7];
    bars_oc(bars, td_time_ms_from_civil(2019, 2, 5, 2, 0, 0, 0), o, c, 7);
    td_params_changed_t params = params_of("sma_cross", "fast=1", "slow=2", "volume=1", NULL);
    trade_list_t trades = {0};
    td_backtest_result_t result;
    assert_int_equal(run_conv(0, &params, bars, 7, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 2);
    assert_int_equal(trades.v[0].exit_time, bars[4].open_time);
    assert_int_equal(result.intents, 3);
    assert_int_equal(result.open_volume, -LOT);
    assert_int_equal(run_conv(TD_BACKTEST_NO_DECISION_ON_FILL_BAR, &params, bars, 7, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 0);
    assert_int_equal(result.signals, 2); /* bar 2's and bar 5's (no intent: already short); bar 3's dropped */
    assert_int_equal(result.intents, 1);
    assert_int_equal(result.open_volume, -LOT);
    assert_int_equal(result.bars_in_position, 4); /* bars 3..6 */
    /* the other two switches change nothing here (no stops) */
    assert_int_equal(run_conv(TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR | TD_BACKTEST_GAP_FILLS_AT_LEVEL, &params, bars, 7,
                              &trades, &result),
                     TD_OK);
    assert_int_equal(trades.len, 2);
    free(trades.v);
}

/* no-stops-on-entry-bar and gap-fills-at-level: a short decided at bar 2's close 1.10000 with SL
 * 2 points above (1.10002) fills at bar 3's open 1.10000; bar 3 reaches 1.10005. Default: stopped
 * inside bar 3 at the SL. Not checked on the entry bar: stopped on bar 4, which opens at 1.10010,
 * beyond the SL: at the open, or at the SL with gap-fills-at-level. */
static void test_convention_entry_bar_stops(void **state)
{
    (void)state;
    static const int64_t c[] = {110000, 110010, 110000, 109995, 110010, 110010};
    static const int64_t o[] = {110000, 110000, 110010, 110000, 110010, 110010};
    td_bar_t bars[6];
    bars_oc(bars, td_time_ms_from_civil(2019, 2, 5, 2, 0, 0, 0), o, c, 6);
    td_params_changed_t params =
        params_of("sma_cross", "direction=short", "fast=1", "sl_points=2", "slow=2", "volume=1", NULL);
    trade_list_t trades = {0};
    td_backtest_result_t result;
    const struct {
        unsigned conventions;
        int exit_bar;
        int64_t exit_price;
    } cases[] = {
        {0, 3, 110002},
        {TD_BACKTEST_GAP_FILLS_AT_LEVEL, 3, 110002}, /* bar 3 opened below the SL: no gap */
        {TD_BACKTEST_NO_DECISION_ON_FILL_BAR, 3, 110002},
        {TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR, 4, 110010},
        {TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR | TD_BACKTEST_GAP_FILLS_AT_LEVEL, 4, 110002},
        {TD_BACKTEST_CONVENTIONS_ALL, 4, 110002},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        assert_int_equal(run_conv(cases[k].conventions, &params, bars, 6, &trades, &result), TD_OK);
        assert_true(trades.len >= 1);
        assert_int_equal(trades.v[0].side, TD_SIDE_SELL);
        assert_int_equal(trades.v[0].entry_time, bars[3].open_time);
        assert_int_equal(trades.v[0].exit_time, bars[cases[k].exit_bar].open_time);
        assert_int_equal(trades.v[0].exit_price, PX5(cases[k].exit_price));
    }
    free(trades.v);
}

/* gap-fills-at-level alone: a short from bar 3's open with SL 1.10020 (20 points above bar 2's
 * close) survives bar 3; bar 4 opens at 1.10030, beyond the SL: filled at the open by default, at
 * the SL with the switch. */
static void test_convention_gap_at_level(void **state)
{
    (void)state;
    static const int64_t c[] = {110000, 110010, 110000, 109990, 110030, 110030};
    static const int64_t o[] = {110000, 110000, 110010, 110000, 110030, 110030};
    td_bar_t bars[6];
    bars_oc(bars, td_time_ms_from_civil(2019, 2, 5, 2, 0, 0, 0), o, c, 6);
    td_params_changed_t params =
        params_of("sma_cross", "direction=short", "fast=1", "sl_points=20", "slow=2", "volume=1", NULL);
    trade_list_t trades = {0};
    td_backtest_result_t result;
    assert_int_equal(run_conv(0, &params, bars, 6, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 1);
    assert_int_equal(trades.v[0].exit_time, bars[4].open_time);
    assert_int_equal(trades.v[0].exit_price, PX5(110030));
    assert_int_equal(run_conv(TD_BACKTEST_GAP_FILLS_AT_LEVEL, &params, bars, 6, &trades, &result), TD_OK);
    assert_int_equal(trades.len, 1);
    assert_int_equal(trades.v[0].exit_time, bars[4].open_time);
    assert_int_equal(trades.v[0].exit_price, PX5(110020));
    assert_int_equal(trades.v[0].pnl, -MONEY(20));
    free(trades.v);
}

static void test_conventions_text(void **state)
{
    (void)state;
    char buf[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    unsigned c = 99;
    assert_true(td_backtest_conventions_parse("tapedeck", &c));
    assert_int_equal(c, 0);
    assert_string_equal(td_backtest_conventions_format(c, buf), "tapedeck");
    assert_true(td_backtest_conventions_parse("grademark", &c));
    assert_int_equal(c, TD_BACKTEST_CONVENTIONS_ALL);
    assert_string_equal(td_backtest_conventions_format(c, buf),
                        "no-decision-on-fill-bar,no-stops-on-entry-bar,gap-fills-at-level");
    assert_true(strlen(buf) < sizeof buf);
    assert_true(td_backtest_conventions_parse("gap-fills-at-level,no-decision-on-fill-bar", &c));
    assert_int_equal(c, TD_BACKTEST_GAP_FILLS_AT_LEVEL | TD_BACKTEST_NO_DECISION_ON_FILL_BAR);
    assert_string_equal(td_backtest_conventions_format(c, buf), "no-decision-on-fill-bar,gap-fills-at-level");
    for (unsigned bits = 0; bits <= TD_BACKTEST_CONVENTIONS_ALL; bits++) {
        assert_true(td_backtest_conventions_parse(td_backtest_conventions_format(bits, buf), &c));
        assert_int_equal(c, bits);
    }
    const char *bad[] = {"",
                         "grademark,",
                         ",gap-fills-at-level",
                         "gap-fills-at-level,gap-fills-at-level",
                         "no-stops",
                         "tapedeck,gap-fills-at-level",
                         "GRADEMARK"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        c = 42;
        assert_false(td_backtest_conventions_parse(bad[k], &c));
        assert_int_equal(c, 42);
    }
    td_backtest_config_t config = config_no_costs();
    config.conventions = 8;
    td_params_changed_t params = params_of("sma_cross", "fast=1", "slow=2", "volume=1", NULL);
    td_bar_t bars[N_HAND];
    hand_bars_one_day(bars);
    td_backtest_result_t result;
    char err[256] = "";
    assert_int_equal(td_backtest_run(&config, &params, bars, N_HAND, NULL, &result, err, sizeof err), TD_ERR_INVALID);
}

/* On real bars with stops, targets and max_hold: under every combination of the switches the fast
 * path equals the reference, and each switch alone changes the trades. */
static void test_conventions_real_bars(void **state)
{
    (void)state;
    size_t n = 0;
    td_bar_t *bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, 100000, &n);
    if (!bars)
        skip();
    td_backtest_config_t config = config_no_costs();
    td_params_changed_t params =
        params_of("breakout", "lookback=50", "max_hold=30", "sl_atr=3", "tp_atr=6", "volume=1", NULL);
    uint64_t digest[TD_BACKTEST_CONVENTIONS_ALL + 1];
    for (unsigned bits = 0; bits <= TD_BACKTEST_CONVENTIONS_ALL; bits++) {
        config.conventions = bits;
        digest[bits] = fast_equals_reference(config, &params, bars, n, 101).trades_digest;
    }
    for (unsigned bits = 1; bits <= TD_BACKTEST_CONVENTIONS_ALL; bits++)
        if (digest[bits] == digest[0])
            fail_msg("conventions %u: the same trades as tapedeck's", bits);
    free(bars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_open_no_costs),
        cmocka_unit_test(test_costs_and_mid),
        cmocka_unit_test(test_stop_inside_bar),
        cmocka_unit_test(test_refused_and_bad_bars),
        cmocka_unit_test(test_fast_path_equals_reference),
        cmocka_unit_test(test_convention_fill_bar_decision),
        cmocka_unit_test(test_convention_entry_bar_stops),
        cmocka_unit_test(test_convention_gap_at_level),
        cmocka_unit_test(test_conventions_text),
        cmocka_unit_test(test_conventions_real_bars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
