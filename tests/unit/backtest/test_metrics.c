/* test_metrics.c - backtest/metrics.c: the ratios against the published reference vectors (issue 5,
 * the values of the widely used open-source metric libraries) to 1e-12 relative, edge cases, and
 * the fixed-point trade statistics. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backtest/metrics.h"
#include "core/timeutil.h"

#define MONEY(units) ((int64_t)(units)*100000000)

static void assert_rel(double got, double want, const char *what)
{
    double rel = fabs(got - want) / fabs(want);
    if (!(rel <= 1e-12))
        fail_msg("%s: got %.17g, want %.17g (relative error %.3g)", what, got, want, rel);
}

static void test_reference_positive(void **state)
{
    (void)state;
    const double r[] = {NAN, 0.01, 0.1, -0.04, 0.02, 0.03, 0.02, 0.01, -0.1};
    td_btmetrics_ratios_t m;
    td_btmetrics_ratios(r, 9, &m);
    assert_int_equal(m.n, 9);
    assert_int_equal(m.valid, 8);
    assert_rel(m.sharpe, 1.7238613961706866, "sharpe");
    assert_rel(m.sortino, 2.605531251673693, "sortino");
    assert_rel(m.max_drawdown, -0.1, "max drawdown");
    assert_rel(m.annual_volatility, 0.9136465399704637, "annual volatility");
    assert_rel(m.annual_return, 1.9135925373194231, "annual return");
    assert_rel(m.calmar, 1.9135925373194231 / 0.1, "calmar");
}

static void test_reference_negative(void **state)
{
    (void)state;
    const double r[] = {0, -0.06, -0.07, -0.01, -0.09, -0.02, -0.06, -0.08, -0.05};
    td_btmetrics_ratios_t m;
    td_btmetrics_ratios(r, 9, &m);
    assert_rel(m.sharpe, -24.406808633910085, "sharpe");
    assert_rel(m.sortino, -13.532743075043401, "sortino");
    /* the starting wealth is the peak: the drawdown is the whole compounded loss */
    double wealth = 1.0;
    for (int i = 0; i < 9; i++)
        wealth *= 1.0 + r[i];
    assert_rel(m.max_drawdown, wealth - 1.0, "max drawdown");
}

static void test_undefined(void **state)
{
    (void)state;
    td_btmetrics_ratios_t m;
    td_btmetrics_ratios(NULL, 0, &m);
    assert_true(isnan(m.sharpe) && isnan(m.sortino) && isnan(m.max_drawdown) && isnan(m.annual_return));
    const double one[] = {0.01};
    td_btmetrics_ratios(one, 1, &m);
    assert_true(isnan(m.sharpe) && isnan(m.sortino) && isnan(m.annual_volatility));
    const double flat[] = {0.0, 0.0, 0.0};
    td_btmetrics_ratios(flat, 3, &m);
    assert_true(isnan(m.sharpe) && isnan(m.calmar));
    assert_true(m.max_drawdown == 0.0 && m.annual_return == 0.0);
    const double up[] = {0.01, 0.02, 0.01};
    td_btmetrics_ratios(up, 3, &m);
    assert_true(isinf(m.sortino) && m.sortino > 0);
}

static td_trade_closed_t trade_of(int64_t exit_time, int64_t pnl, int64_t commission, int64_t swap)
{
    td_trade_closed_t trade;
    memset(&trade, 0, sizeof trade);
    trade.side = TD_SIDE_BUY;
    trade.exit_time = exit_time;
    trade.pnl = pnl;
    trade.commission = commission;
    trade.swap = swap;
    return trade;
}

static void test_trade_stats(void **state)
{
    (void)state;
    td_btmetrics_trades_t s;
    td_btmetrics_trades_init(&s);
    assert_true(isnan(td_btmetrics_win_rate(&s)) && isnan(td_btmetrics_profit_factor(&s)));
    assert_int_equal(td_btmetrics_expectancy(&s), 0);
    /* 2019-02-04 is a Monday (weekday 1), in February (month index 1) */
    int64_t mon = td_time_ms_from_civil(2019, 2, 4, 10, 0, 0, 0);
    int64_t sun = td_time_ms_from_civil(2019, 3, 3, 23, 0, 0, 0);
    td_trade_closed_t a = trade_of(mon, MONEY(100), -MONEY(7), -MONEY(3)); /* net +90 */
    td_trade_closed_t b = trade_of(mon, -MONEY(40), -MONEY(7), 0);         /* net -47 */
    td_trade_closed_t c = trade_of(sun, MONEY(7), -MONEY(7), 0);           /* net 0: neither */
    assert_int_equal(td_btmetrics_trades_add(&s, &a, 0), TD_OK);
    assert_int_equal(td_btmetrics_trades_add(&s, &b, 0), TD_OK);
    assert_int_equal(td_btmetrics_trades_add(&s, &c, 0), TD_OK);
    assert_int_equal(s.trades, 3);
    assert_int_equal(s.wins, 1);
    assert_int_equal(s.losses, 1);
    assert_int_equal(s.net_pnl, MONEY(43));
    assert_int_equal(s.gross_profit, MONEY(90));
    assert_int_equal(s.gross_loss, -MONEY(47));
    assert_int_equal(s.commission, -MONEY(21));
    assert_int_equal(s.swap, -MONEY(3));
    assert_int_equal(s.by_month[1], MONEY(43));
    assert_int_equal(s.by_weekday[1], MONEY(43));
    assert_int_equal(s.by_weekday[0], 0);
    assert_int_equal(s.by_month[2], 0);
    /* 43 / 3 = 14.333... rounded half away from zero at 1e-8 */
    assert_int_equal(td_btmetrics_expectancy(&s), INT64_C(1433333333));
    assert_rel(td_btmetrics_profit_factor(&s), 90.0 / 47.0, "profit factor");
    assert_rel(td_btmetrics_win_rate(&s), 1.0 / 3.0, "win rate");
    /* with a day offset of +120 minutes the Sunday 23:00 exit belongs to Monday 2019-03-04 */
    td_btmetrics_trades_t t;
    td_btmetrics_trades_init(&t);
    td_trade_closed_t d = trade_of(sun, MONEY(5), 0, 0);
    assert_int_equal(td_btmetrics_trades_add(&t, &d, 120), TD_OK);
    assert_int_equal(t.by_weekday[1], MONEY(5));
    assert_int_equal(t.by_month[2], MONEY(5));
    /* overflow leaves the stats unchanged */
    td_trade_closed_t big = trade_of(mon, INT64_MAX, 0, 0);
    td_btmetrics_trades_t before = t;
    assert_int_equal(td_btmetrics_trades_add(&t, &big, 0), TD_ERR_OVERFLOW);
    assert_memory_equal(&t, &before, sizeof t);
    /* negative expectancy rounds half away from zero */
    td_btmetrics_trades_t u;
    td_btmetrics_trades_init(&u);
    td_trade_closed_t e = trade_of(mon, -3, 0, 0), f = trade_of(mon, 0, 0, 0);
    assert_int_equal(td_btmetrics_trades_add(&u, &e, 0), TD_OK);
    assert_int_equal(td_btmetrics_trades_add(&u, &f, 0), TD_OK);
    assert_int_equal(td_btmetrics_expectancy(&u), -2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_positive),
        cmocka_unit_test(test_reference_negative),
        cmocka_unit_test(test_undefined),
        cmocka_unit_test(test_trade_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
