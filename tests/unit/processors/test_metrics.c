/* test_metrics.c - processors/metrics.c: wins, net P&L, drawdown, day reset, overflow, state
 * encoding and determinism across a decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "processors/metrics.h"

#define MONEY(cents) ((int64_t)(cents)*1000000) /* money from cents */

static td_trade_closed_t trade_of(int64_t pnl, int64_t commission, int64_t swap)
{
    td_trade_closed_t trade;
    memset(&trade, 0, sizeof trade);
    trade.side = TD_SIDE_BUY;
    trade.volume = 10000000;
    trade.pnl = pnl;
    trade.commission = commission;
    trade.swap = swap;
    return trade;
}

/* Net +100, -50, -80, +40, +200, -10, 0: equity 100 50 -30 10 210 200 200, peak 100 .. 210,
 * drawdown 0 50 130 90 0 10 10 -> max 130; wins 3 (a zero net trade is not a win). */
static td_trade_closed_t sequence(unsigned i)
{
    switch (i) {
    case 0: return trade_of(MONEY(10350), MONEY(-350), 0);
    case 1: return trade_of(MONEY(-4650), MONEY(-350), 0);
    case 2: return trade_of(MONEY(-7500), MONEY(-350), MONEY(-150));
    case 3: return trade_of(MONEY(4400), MONEY(-350), MONEY(-50));
    case 4: return trade_of(MONEY(20000), 0, 0);
    case 5: return trade_of(MONEY(-1000), 0, 0);
    default: return trade_of(MONEY(350), MONEY(-350), 0);
    }
}

static void test_day_sequence(void **unused)
{
    (void)unused;
    td_metrics_t metrics;
    td_metrics_init(&metrics);
    for (unsigned i = 0; i < 7; i++) {
        td_trade_closed_t trade = sequence(i);
        assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_OK);
    }
    assert_int_equal(metrics.day.trades, 7);
    assert_int_equal(metrics.day.wins, 3);
    assert_int_equal(metrics.day.realized_pnl, MONEY(20000));
    assert_int_equal(metrics.day.peak, MONEY(21000));
    assert_int_equal(metrics.day.max_drawdown, MONEY(13000));
    assert_memory_equal(&metrics.day, &metrics.total, sizeof metrics.day);

    td_money_t net;
    td_trade_closed_t trade = sequence(2);
    assert_int_equal(td_metrics_net_pnl(&trade, &net), TD_OK);
    assert_int_equal(net, MONEY(-8000));

    /* a new day: the day restarts at 0 (a first loss is a drawdown), the lifetime goes on */
    td_metrics_day_reset(&metrics);
    assert_int_equal(metrics.day.trades, 0);
    assert_int_equal(metrics.day.realized_pnl, 0);
    assert_int_equal(metrics.days, 1);
    trade = trade_of(MONEY(-2000), 0, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_OK);
    assert_int_equal(metrics.day.trades, 1);
    assert_int_equal(metrics.day.wins, 0);
    assert_int_equal(metrics.day.realized_pnl, MONEY(-2000));
    assert_int_equal(metrics.day.peak, 0);
    assert_int_equal(metrics.day.max_drawdown, MONEY(2000));
    assert_int_equal(metrics.total.trades, 8);
    assert_int_equal(metrics.total.wins, 3);
    assert_int_equal(metrics.total.realized_pnl, MONEY(18000));
    assert_int_equal(metrics.total.peak, MONEY(21000));
    assert_int_equal(metrics.total.max_drawdown, MONEY(13000));
    /* deeper than ever over the lifetime: 210 -> 140 is 70, still < 130; -> 60 is 150 */
    trade = trade_of(MONEY(-12000), 0, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_OK);
    assert_int_equal(metrics.total.max_drawdown, MONEY(15000));
    assert_int_equal(metrics.day.max_drawdown, MONEY(14000));
}

/* A trade whose sums would leave int64 is refused and leaves the totals as they were; the next
 * trade counts as if the refused one had never come (nothing sticks: DESIGN invariant 9). */
static void test_overflow_refused_not_sticky(void **unused)
{
    (void)unused;
    td_metrics_t metrics;
    td_metrics_init(&metrics);
    td_trade_closed_t trade = trade_of(INT64_MAX, 1, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_ERR_OVERFLOW);
    assert_int_equal(metrics.day.trades, 0);
    trade = trade_of(MONEY(100), 0, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_OK);
    assert_int_equal(metrics.total.trades, 1);
    assert_int_equal(metrics.total.realized_pnl, MONEY(100));

    /* a sum that leaves int64 */
    td_metrics_init(&metrics);
    trade = trade_of(INT64_MAX - 10, 0, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_OK);
    trade = trade_of(11, 0, 0);
    assert_int_equal(td_metrics_on_trade(&metrics, &trade), TD_ERR_OVERFLOW);
    assert_int_equal(metrics.total.realized_pnl, INT64_MAX - 10);
}

static void test_encode_decode_determinism(void **unused)
{
    (void)unused;
    enum { N = 40, CUT = 13 };
    td_metrics_t a, b;
    td_metrics_init(&a);
    td_metrics_init(&b);
    td_buf_t buf;
    td_buf_init(&buf);
    for (unsigned i = 0; i < N; i++) {
        td_trade_closed_t trade = sequence(i % 9);
        if (i == CUT) {
            td_buf_reset(&buf);
            assert_int_equal(td_metrics_encode(&b, &buf), TD_OK);
            td_metrics_t fresh;
            td_metrics_init(&fresh);
            assert_int_equal(td_metrics_decode(&fresh, buf.ptr, buf.len), TD_OK);
            assert_memory_equal(&fresh, &b, sizeof fresh);
            b = fresh;
        }
        assert_int_equal(td_metrics_on_trade(&a, &trade), TD_OK);
        assert_int_equal(td_metrics_on_trade(&b, &trade), TD_OK);
        if (i % 10 == 9) {
            td_metrics_day_reset(&a);
            td_metrics_day_reset(&b);
        }
        assert_memory_equal(&a, &b, sizeof a);
    }
    td_buf_t ea, eb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    assert_int_equal(td_metrics_encode(&a, &ea), TD_OK);
    assert_int_equal(td_metrics_encode(&b, &eb), TD_OK);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.ptr, eb.ptr, ea.len);

    td_metrics_t c = a;
    uint8_t junk[] = {0x12, 0x7f};
    assert_int_equal(td_metrics_decode(&c, junk, sizeof junk), TD_ERR_CORRUPT);
    uint8_t wins_gt_trades[] = {0x18, 0x01}; /* day_wins = 1, day_trades = 0 */
    assert_int_equal(td_metrics_decode(&c, wins_gt_trades, sizeof wins_gt_trades), TD_ERR_CORRUPT);
    assert_memory_equal(&c, &a, sizeof c);
    td_buf_fini(&ea);
    td_buf_fini(&eb);
    td_buf_fini(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_sequence),
        cmocka_unit_test(test_overflow_refused_not_sticky),
        cmocka_unit_test(test_encode_decode_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
