/* test_fill.c - processors/fill.c: market fills at the next tick, stop loss / take profit (with a
 * gap), swap at rollovers (triple day), deterministic ids, queue limits, the bar variant, state
 * encoding and determinism across a decode, and agreement with the position keeper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "processors/fill.h"
#include "processors/positions.h"

/* Two output lists hold the same events: kind, envelope and body, byte for byte. */
static void assert_same_outputs(const td_outbuf_t *a, const td_outbuf_t *b)
{
    assert_int_equal(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        assert_int_equal(a->ev[i].kind, b->ev[i].kind);
        assert_memory_equal(&a->ev[i], &b->ev[i], td_outbuf_event_bytes(a->ev[i].kind));
    }
}

#define LOT INT64_C(100000000)                                  /* 1.0 lot */
#define PX(units, frac8) ((int64_t)(units)*100000000 + (frac8)) /* price from units and 1e-8 */
#define MONEY(cents) ((int64_t)(cents)*1000000)                 /* money from cents */
#define T(y, mo, d, h, mi) td_time_ms_from_civil(y, mo, d, h, mi, 0, 0)

static td_symbol_spec_t eurusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 5;
    spec.point = 1000;
    spec.contract_size = INT64_C(100000) * LOT;
    spec.swap_mode = TD_SWAP_POINTS;
    spec.swap_long = -650000000; /* -6.5 points */
    spec.swap_short = 120000000; /* +1.2 points */
    spec.triple_swap_weekday = 3;
    return spec;
}

static td_symbol_spec_t xauusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 2;
    spec.point = 1000000;
    spec.contract_size = INT64_C(100) * LOT;
    spec.swap_mode = TD_SWAP_MONEY;
    spec.swap_long = MONEY(-1234); /* -12.34 per lot and day */
    spec.swap_short = MONEY(500);
    spec.triple_swap_weekday = 3;
    return spec;
}

static const td_fill_config_t config = {.slippage_points = 2, .commission_per_lot = MONEY(350), .id_base = 1000};

static td_order_intent_t intent_of(const char *id, td_side_t side, int64_t volume, int64_t sl, int64_t tp)
{
    td_order_intent_t intent;
    memset(&intent, 0, sizeof intent);
    snprintf(intent.intent_id, sizeof intent.intent_id, "%s", id);
    intent.side = side;
    intent.volume = volume;
    intent.stop_loss = sl;
    intent.take_profit = tp;
    snprintf(intent.strategy, sizeof intent.strategy, "sma_cross");
    return intent;
}

static td_tick_t tick_of(int64_t bid, int64_t ask)
{
    td_tick_t tick;
    memset(&tick, 0, sizeof tick);
    tick.bid = bid;
    tick.ask = ask;
    tick.flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK;
    return tick;
}

static void submit_ok(td_fill_t *fill, int64_t t, td_order_intent_t intent)
{
    assert_int_equal(td_fill_submit(fill, t, &intent), TD_OK);
}

/* One tick; expects n outputs, all execution reports. */
static void tick_ok(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t t, int64_t bid, int64_t ask,
                    td_outbuf_t *out, size_t n)
{
    td_tick_t tick = tick_of(bid, ask);
    td_outbuf_clear(out);
    assert_int_equal(td_fill_on_tick(fill, spec, t, &tick, 0, out), TD_OK);
    assert_int_equal(out->len, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out->ev[i].kind, TD_EV_EXEC_REPORT);
}

static void test_market_fill_next_tick(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    int64_t t0 = T(2024, 1, 8, 10, 0);

    tick_ok(&fill, &spec, t0, PX(1, 9990000), PX(1, 10000000), &out, 0);
    submit_ok(&fill, t0 + 1, intent_of("EURUSD-10-0", TD_SIDE_BUY, LOT, PX(1, 9800000), PX(1, 10500000)));
    assert_int_equal(td_fill_volume(&fill), 0);
    /* the next tick: buy at ask 1.10010 + 2 points */
    tick_ok(&fill, &spec, t0 + 2, PX(1, 10000000), PX(1, 10010000), &out, 1);
    const td_exec_report_t *exec = &out.ev[0].u.exec;
    assert_string_equal(exec->intent_id, "EURUSD-10-0");
    assert_int_equal(exec->deal_id, 1001);
    assert_int_equal(exec->order_id, 1001);
    assert_int_equal(exec->position_id, 1001);
    assert_int_equal(exec->side, TD_SIDE_BUY);
    assert_int_equal(exec->price, PX(1, 10012000));
    assert_int_equal(exec->volume, LOT);
    assert_int_equal(exec->commission, MONEY(-350));
    assert_int_equal(exec->swap, 0);
    assert_int_equal(exec->profit, 0);
    assert_int_equal(exec->status, TD_EXEC_FILLED);
    assert_string_equal(exec->reason, "market");
    assert_int_equal(td_fill_volume(&fill), LOT);
    assert_int_equal(fill.stop_loss, PX(1, 9800000));
    assert_int_equal(fill.take_profit, PX(1, 10500000));

    tick_ok(&fill, &spec, t0 + 3, PX(1, 10100000), PX(1, 10110000), &out, 0);
    /* add 0.5 without stops: the stops of the opening intent stay */
    submit_ok(&fill, t0 + 4, intent_of("EURUSD-11-0", TD_SIDE_BUY, LOT / 2, 0, 0));
    tick_ok(&fill, &spec, t0 + 5, PX(1, 10100000), PX(1, 10110000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.position_id, 1001);
    assert_int_equal(out.ev[0].u.exec.commission, MONEY(-175));
    assert_int_equal(fill.stop_loss, PX(1, 9800000));

    /* sell 1.5 at bid 1.10200 - 2 points: profit (1.10198 - 1.10012) x 100000 + (1.10198 - 1.10112) x 50000 */
    submit_ok(&fill, t0 + 6, intent_of("EURUSD-12-0", TD_SIDE_SELL, LOT + LOT / 2, 0, 0));
    tick_ok(&fill, &spec, t0 + 7, PX(1, 10200000), PX(1, 10210000), &out, 1);
    exec = &out.ev[0].u.exec;
    assert_int_equal(exec->deal_id, 1003);
    assert_int_equal(exec->position_id, 1001);
    assert_int_equal(exec->price, PX(1, 10198000));
    assert_int_equal(exec->commission, MONEY(-525));
    assert_int_equal(exec->profit, MONEY(18600) + MONEY(4300));
    assert_int_equal(td_fill_volume(&fill), 0);
    assert_int_equal(fill.stop_loss, 0);
    assert_int_equal(fill.position_id, 0);

    /* a new position gets a new position id */
    submit_ok(&fill, t0 + 8, intent_of("EURUSD-13-0", TD_SIDE_SELL, LOT, 0, 0));
    tick_ok(&fill, &spec, t0 + 9, PX(1, 10200000), PX(1, 10210000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.position_id, 1004);
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 10198000));
    td_outbuf_fini(&out);
}

static void test_stop_loss_and_take_profit(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    int64_t t = T(2024, 1, 8, 10, 0);

    /* long 1.0 from 1.10012, SL 1.09800 */
    submit_ok(&fill, t, intent_of("EURUSD-10-0", TD_SIDE_BUY, LOT, PX(1, 9800000), PX(1, 10500000)));
    tick_ok(&fill, &spec, t + 1, PX(1, 10000000), PX(1, 10010000), &out, 1);
    tick_ok(&fill, &spec, t + 2, PX(1, 9801000), PX(1, 9811000), &out, 0);
    /* a gap through the stop: filled at the tick's bid 1.09700 - 2 points, worse than the SL */
    tick_ok(&fill, &spec, t + 3, PX(1, 9700000), PX(1, 9710000), &out, 1);
    const td_exec_report_t *exec = &out.ev[0].u.exec;
    assert_string_equal(exec->intent_id, "sl:EURUSD-10-0");
    assert_string_equal(exec->reason, "stop_loss");
    assert_int_equal(exec->side, TD_SIDE_SELL);
    assert_int_equal(exec->volume, LOT);
    assert_int_equal(exec->price, PX(1, 9698000));
    assert_int_equal(exec->position_id, 1001);
    assert_int_equal(exec->profit, MONEY(-31400));
    assert_int_equal(td_fill_volume(&fill), 0);
    tick_ok(&fill, &spec, t + 4, PX(1, 9600000), PX(1, 9610000), &out, 0);

    /* long exactly at the stop: bid <= SL triggers */
    submit_ok(&fill, t + 5, intent_of("EURUSD-20-0", TD_SIDE_BUY, LOT, PX(1, 9500000), 0));
    tick_ok(&fill, &spec, t + 6, PX(1, 9600000), PX(1, 9610000), &out, 1);
    tick_ok(&fill, &spec, t + 7, PX(1, 9500000), PX(1, 9510000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.intent_id, "sl:EURUSD-20-0");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9498000));

    /* short 1.0 from 1.09998 with TP 1.09000: ask 1.08990 <= TP, bought at ask + 2 points */
    submit_ok(&fill, t + 8, intent_of("EURUSD-30-0", TD_SIDE_SELL, LOT, PX(1, 10400000), PX(1, 9000000)));
    tick_ok(&fill, &spec, t + 9, PX(1, 10000000), PX(1, 10010000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9998000));
    tick_ok(&fill, &spec, t + 10, PX(1, 9000000), PX(1, 9010000), &out, 0);
    tick_ok(&fill, &spec, t + 11, PX(1, 8980000), PX(1, 8990000), &out, 1);
    exec = &out.ev[0].u.exec;
    assert_string_equal(exec->intent_id, "tp:EURUSD-30-0");
    assert_string_equal(exec->reason, "take_profit");
    assert_int_equal(exec->side, TD_SIDE_BUY);
    assert_int_equal(exec->price, PX(1, 8992000));
    assert_int_equal(exec->profit, MONEY(100600));

    /* short stopped when ask >= SL; long takes profit when bid >= TP */
    submit_ok(&fill, t + 12, intent_of("EURUSD-40-0", TD_SIDE_SELL, LOT, PX(1, 9100000), 0));
    tick_ok(&fill, &spec, t + 13, PX(1, 9000000), PX(1, 9010000), &out, 1);
    tick_ok(&fill, &spec, t + 14, PX(1, 9090000), PX(1, 9100000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.intent_id, "sl:EURUSD-40-0");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9102000));
    submit_ok(&fill, t + 15, intent_of("EURUSD-50-0", TD_SIDE_BUY, LOT, 0, PX(1, 9200000)));
    tick_ok(&fill, &spec, t + 16, PX(1, 9100000), PX(1, 9110000), &out, 1);
    tick_ok(&fill, &spec, t + 17, PX(1, 9200000), PX(1, 9210000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.intent_id, "tp:EURUSD-50-0");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9198000));

    /* a reversal takes the stops of the reversing intent; a long id is cut to fit */
    char long_id[TD_ID_MAX + 1];
    memset(long_id, 'x', TD_ID_MAX);
    long_id[TD_ID_MAX] = '\0';
    submit_ok(&fill, t + 18, intent_of("EURUSD-60-0", TD_SIDE_BUY, LOT, PX(1, 8000000), 0));
    tick_ok(&fill, &spec, t + 19, PX(1, 9100000), PX(1, 9110000), &out, 1);
    submit_ok(&fill, t + 20, intent_of(long_id, TD_SIDE_SELL, 2 * LOT, PX(1, 9300000), 0));
    tick_ok(&fill, &spec, t + 21, PX(1, 9100000), PX(1, 9110000), &out, 1);
    assert_int_equal(td_fill_volume(&fill), -LOT);
    assert_int_equal(fill.stop_loss, PX(1, 9300000));
    assert_int_equal(out.ev[0].u.exec.position_id, fill.position_id);
    tick_ok(&fill, &spec, t + 22, PX(1, 9290000), PX(1, 9300000), &out, 1);
    assert_int_equal(strlen(out.ev[0].u.exec.intent_id), TD_ID_MAX);
    assert_memory_equal(out.ev[0].u.exec.intent_id, "sl:xxx", 6);
    td_outbuf_fini(&out);
}

static void test_swap_rollover_and_triple(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_t positions;
    td_positions_init(&positions);
    td_positions_set_spec(&positions, &spec);
    td_outbuf_t pos_out;
    td_outbuf_init(&pos_out);

    /* 2024-01-08 is a Monday. Long 1.0 lot: -6.5 points x 0.00001 x 100000 = -6.50 a day. */
    submit_ok(&fill, T(2024, 1, 8, 9, 0), intent_of("EURUSD-1-0", TD_SIDE_BUY, LOT, 0, 0));
    tick_ok(&fill, &spec, T(2024, 1, 8, 10, 0), PX(1, 10000000), PX(1, 10010000), &out, 1);
    assert_int_equal(td_positions_apply(&positions, T(2024, 1, 8, 10, 0), &out.ev[0].u.exec, &pos_out), TD_OK);
    tick_ok(&fill, &spec, T(2024, 1, 8, 23, 59), PX(1, 10000000), PX(1, 10010000), &out, 0);
    assert_int_equal(fill.accrued_swap, 0);
    tick_ok(&fill, &spec, T(2024, 1, 9, 0, 0), PX(1, 10000000), PX(1, 10010000), &out, 0); /* Mon left */
    assert_int_equal(fill.accrued_swap, MONEY(-650));
    tick_ok(&fill, &spec, T(2024, 1, 9, 12, 0), PX(1, 10000000), PX(1, 10010000), &out, 0);
    assert_int_equal(fill.accrued_swap, MONEY(-650));
    tick_ok(&fill, &spec, T(2024, 1, 10, 0, 5), PX(1, 10000000), PX(1, 10010000), &out, 0); /* Tue left */
    assert_int_equal(fill.accrued_swap, MONEY(-1300));
    tick_ok(&fill, &spec, T(2024, 1, 11, 0, 5), PX(1, 10000000), PX(1, 10010000), &out, 0); /* Wed left: x3 */
    assert_int_equal(fill.accrued_swap, MONEY(-3250));
    /* Thursday to Monday: Thu and Fri charged once, Sat and Sun not at all */
    tick_ok(&fill, &spec, T(2024, 1, 15, 0, 5), PX(1, 10000000), PX(1, 10010000), &out, 0);
    assert_int_equal(fill.accrued_swap, MONEY(-4550));
    /* a late tick from the day before is no rollover */
    tick_ok(&fill, &spec, T(2024, 1, 14, 23, 0), PX(1, 10000000), PX(1, 10010000), &out, 0);
    assert_int_equal(fill.accrued_swap, MONEY(-4550));

    /* close 0.4: 40% of the accrued swap on that deal; then the rest on the final close */
    submit_ok(&fill, T(2024, 1, 15, 1, 0), intent_of("EURUSD-2-0", TD_SIDE_SELL, 4 * LOT / 10, 0, 0));
    tick_ok(&fill, &spec, T(2024, 1, 15, 1, 1), PX(1, 10000000), PX(1, 10010000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.swap, MONEY(-1820));
    assert_int_equal(td_positions_apply(&positions, T(2024, 1, 15, 1, 1), &out.ev[0].u.exec, &pos_out), TD_OK);
    submit_ok(&fill, T(2024, 1, 15, 2, 0), intent_of("EURUSD-3-0", TD_SIDE_SELL, 6 * LOT / 10, 0, 0));
    tick_ok(&fill, &spec, T(2024, 1, 15, 2, 1), PX(1, 10000000), PX(1, 10010000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.swap, MONEY(-2730));
    assert_int_equal(fill.accrued_swap, 0);
    td_outbuf_clear(&pos_out);
    assert_int_equal(td_positions_apply(&positions, T(2024, 1, 15, 2, 1), &out.ev[0].u.exec, &pos_out), TD_OK);
    assert_int_equal(pos_out.ev[0].kind, TD_EV_TRADE_CLOSED);
    assert_int_equal(pos_out.ev[0].u.trade.swap, MONEY(-2730));
    assert_int_equal(positions.swap, MONEY(-4550));
    /* flat over a rollover: nothing charged */
    tick_ok(&fill, &spec, T(2024, 1, 16, 0, 5), PX(1, 10000000), PX(1, 10010000), &out, 0);
    assert_int_equal(fill.accrued_swap, 0);

    /* short 0.5: +1.2 points x 0.00001 x 50000 = +0.60 a day; with trading days starting at
     * 17:00 UTC (offset +420), 16:59 -> 17:00 UTC on Tuesday leaves Tuesday */
    submit_ok(&fill, T(2024, 1, 16, 10, 0), intent_of("EURUSD-4-0", TD_SIDE_SELL, LOT / 2, 0, 0));
    td_tick_t tick = tick_of(PX(1, 10000000), PX(1, 10010000));
    td_outbuf_clear(&out);
    assert_int_equal(td_fill_on_tick(&fill, &spec, T(2024, 1, 16, 16, 59), &tick, 420, &out), TD_OK);
    assert_int_equal(out.len, 1);
    assert_int_equal(td_fill_on_tick(&fill, &spec, T(2024, 1, 16, 17, 0), &tick, 420, &out), TD_OK);
    assert_int_equal(fill.accrued_swap, MONEY(60));

    /* SWAP_INTEREST is not modelled: refused, nothing changed, not sticky */
    spec.swap_mode = TD_SWAP_INTEREST;
    td_fill_t before = fill;
    assert_int_equal(td_fill_on_tick(&fill, &spec, T(2024, 1, 18, 0, 0), &tick, 420, &out), TD_ERR_UNSUPPORTED);
    assert_memory_equal(&before, &fill, sizeof fill);
    spec.swap_mode = TD_SWAP_DISABLED;
    assert_int_equal(td_fill_on_tick(&fill, &spec, T(2024, 1, 18, 0, 0), &tick, 420, &out), TD_OK);
    assert_int_equal(fill.accrued_swap, MONEY(60));
    td_outbuf_fini(&out);
    td_outbuf_fini(&pos_out);
}

static void test_swap_money_mode(void **unused)
{
    (void)unused;
    td_fill_config_t cfg = {.slippage_points = 0, .commission_per_lot = 0, .id_base = 0};
    td_fill_t fill;
    td_fill_init(&fill, &cfg);
    td_symbol_spec_t spec = xauusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    /* long 0.3 lot gold, -12.34 a lot a day: -3.702 a day; Tue -> Thu charges Tue once, Wed x3 */
    submit_ok(&fill, T(2024, 1, 9, 9, 0), intent_of("XAUUSD-1-0", TD_SIDE_BUY, 3 * LOT / 10, 0, 0));
    tick_ok(&fill, &spec, T(2024, 1, 9, 10, 0), PX(2000, 0), PX(2000, 30000000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.deal_id, 1);
    assert_int_equal(out.ev[0].u.exec.price, PX(2000, 30000000));
    tick_ok(&fill, &spec, T(2024, 1, 11, 10, 0), PX(2000, 0), PX(2000, 30000000), &out, 0);
    assert_int_equal(fill.accrued_swap, -370200000 * 4);
    submit_ok(&fill, T(2024, 1, 11, 11, 0), intent_of("XAUUSD-2-0", TD_SIDE_SELL, 3 * LOT / 10, 0, 0));
    tick_ok(&fill, &spec, T(2024, 1, 11, 12, 0), PX(2010, 0), PX(2010, 30000000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.swap, -370200000 * 4);
    assert_int_equal(out.ev[0].u.exec.profit, MONEY(29100)); /* (2010 - 2000.30) x 0.3 x 100 */
    td_outbuf_fini(&out);
}

static void test_queue_and_validation(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    char id[32];
    for (int i = 0; i < TD_FILL_QUEUE_MAX; i++) {
        snprintf(id, sizeof id, "EURUSD-%d-0", i);
        submit_ok(&fill, 1, intent_of(id, i % 2 ? TD_SIDE_SELL : TD_SIDE_BUY, (i + 1) * LOT / 100, 0, 0));
    }
    td_order_intent_t intent = intent_of("EURUSD-99-0", TD_SIDE_BUY, LOT, 0, 0);
    assert_int_equal(td_fill_submit(&fill, 1, &intent), TD_ERR_STATE);
    intent.type = 1;
    assert_int_equal(td_fill_submit(&fill, 1, &intent), TD_ERR_UNSUPPORTED);
    intent.type = 0;
    intent.volume = 0;
    assert_int_equal(td_fill_submit(&fill, 1, &intent), TD_ERR_INVALID);
    intent.volume = LOT;
    intent.side = TD_SIDE_NONE;
    assert_int_equal(td_fill_submit(&fill, 1, &intent), TD_ERR_INVALID);

    /* invalid spec or tick: refused, queue kept */
    td_symbol_spec_t bad = spec;
    bad.contract_size = 0;
    td_tick_t tick = tick_of(PX(1, 0), PX(1, 10000));
    assert_int_equal(td_fill_on_tick(&fill, &bad, 2, &tick, 0, &out), TD_ERR_INVALID);
    tick.bid = 0;
    assert_int_equal(td_fill_on_tick(&fill, &spec, 2, &tick, 0, &out), TD_ERR_INVALID);
    assert_int_equal(fill.n_queue, TD_FILL_QUEUE_MAX);

    /* all sixteen fill at the next tick, in order, with consecutive ids */
    tick_ok(&fill, &spec, 3, PX(1, 0), PX(1, 10000), &out, TD_FILL_QUEUE_MAX);
    td_volume_t net = 0;
    for (int i = 0; i < TD_FILL_QUEUE_MAX; i++) {
        const td_exec_report_t *exec = &out.ev[i].u.exec;
        snprintf(id, sizeof id, "EURUSD-%d-0", i);
        assert_string_equal(exec->intent_id, id);
        assert_int_equal(exec->deal_id, 1001 + i);
        assert_int_equal(exec->order_id, 1001 + i);
        assert_int_equal(exec->position_id, 1001);
        net += exec->side == TD_SIDE_BUY ? exec->volume : -exec->volume;
    }
    assert_int_equal(net, td_fill_volume(&fill));
    assert_int_equal(net, -8 * LOT / 100);
    assert_int_equal(fill.n_queue, 0);
    submit_ok(&fill, 4, intent_of("EURUSD-100-0", TD_SIDE_BUY, LOT, 0, 0));

    /* an overflow refuses that one tick and sticks nowhere: a swap that leaves int64 */
    td_fill_t big;
    td_fill_init(&big, &config);
    td_symbol_spec_t huge = spec;
    huge.swap_mode = TD_SWAP_MONEY;
    huge.swap_long = INT64_MAX / 2;
    submit_ok(&big, 1, intent_of("EURUSD-1-0", TD_SIDE_BUY, 10 * LOT, 0, 0));
    tick = tick_of(PX(1, 0), PX(1, 10000));
    assert_int_equal(td_fill_on_tick(&big, &huge, T(2024, 1, 8, 1, 0), &tick, 0, &out), TD_OK);
    td_outbuf_clear(&out);
    td_fill_t before = big;
    assert_int_equal(td_fill_on_tick(&big, &huge, T(2024, 1, 9, 1, 0), &tick, 0, &out), TD_ERR_OVERFLOW);
    assert_int_equal(out.len, 0);
    assert_memory_equal(&before, &big, sizeof big);
    assert_int_equal(td_fill_on_tick(&big, &spec, T(2024, 1, 9, 1, 0), &tick, 0, &out), TD_OK);
    assert_int_equal(td_fill_volume(&big), 10 * LOT); /* the position is still there */
    submit_ok(&big, T(2024, 1, 9, 1, 1), intent_of("EURUSD-2-0", TD_SIDE_SELL, LOT, 0, 0));
    td_outbuf_fini(&out);
}

/* An M30 bar opening at t, tick volume 100. */
static td_bar_t m30_bar(int64_t t, int64_t o, int64_t h, int64_t l, int64_t c)
{
    td_bar_t bar;
    memset(&bar, 0, sizeof bar);
    bar.timeframe_s = 1800;
    bar.open_time = t;
    bar.open = o;
    bar.high = h;
    bar.low = l;
    bar.close = c;
    bar.tick_volume = 100;
    return bar;
}

static void bar_ok(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t t, int64_t o, int64_t h, int64_t l, int64_t c,
                   td_outbuf_t *out, size_t n)
{
    td_bar_t bar = m30_bar(t, o, h, l, c);
    td_outbuf_clear(out);
    assert_int_equal(td_fill_on_bar(fill, spec, t, &bar, 10000 /* 1 pip */, 0, out), TD_OK);
    assert_int_equal(out->len, n);
}

static void test_bar_fills(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    int64_t t = T(2024, 1, 8, 10, 0), m30 = 1800000;

    /* buy at open 1.10000 + spread 0.00010 + 2 points; SL 1.09800 / TP 1.10500 not touched */
    submit_ok(&fill, t, intent_of("B-1", TD_SIDE_BUY, LOT, PX(1, 9800000), PX(1, 10500000)));
    bar_ok(&fill, &spec, t, PX(1, 10000000), PX(1, 10300000), PX(1, 9900000), PX(1, 10100000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 10012000));
    /* both SL and TP inside the bar: the stop, at the SL - 2 points */
    bar_ok(&fill, &spec, t + m30, PX(1, 10100000), PX(1, 10600000), PX(1, 9700000), PX(1, 10000000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.reason, "stop_loss");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9798000));

    /* a gap: the bar opens below the stop, filled at the open - 2 points */
    submit_ok(&fill, t, intent_of("B-2", TD_SIDE_BUY, LOT, PX(1, 9800000), 0));
    bar_ok(&fill, &spec, t + 2 * m30, PX(1, 10000000), PX(1, 10100000), PX(1, 9900000), PX(1, 10000000), &out, 1);
    bar_ok(&fill, &spec, t + 3 * m30, PX(1, 9700000), PX(1, 9750000), PX(1, 9600000), PX(1, 9700000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.intent_id, "sl:B-2");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9698000));

    /* a long target: filled at the TP - 2 points; the position opened at this bar's open counts */
    submit_ok(&fill, t, intent_of("B-3", TD_SIDE_BUY, LOT, 0, PX(1, 10050000)));
    bar_ok(&fill, &spec, t + 4 * m30, PX(1, 10000000), PX(1, 10100000), PX(1, 9990000), PX(1, 10000000), &out, 2);
    assert_string_equal(out.ev[1].u.exec.reason, "take_profit");
    assert_int_equal(out.ev[1].u.exec.price, PX(1, 10048000));

    /* a short: sold at the open bid - 2 points; stop on the ask (high + spread >= SL), filled at
     * max(open ask, SL) + 2 points */
    submit_ok(&fill, t, intent_of("B-4", TD_SIDE_SELL, LOT, PX(1, 10200000), PX(1, 9000000)));
    bar_ok(&fill, &spec, t + 5 * m30, PX(1, 10000000), PX(1, 10180000), PX(1, 9950000), PX(1, 10000000), &out, 1);
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9998000));
    bar_ok(&fill, &spec, t + 6 * m30, PX(1, 10000000), PX(1, 10190000), PX(1, 9950000), PX(1, 10000000), &out, 1);
    assert_string_equal(out.ev[0].u.exec.reason, "stop_loss");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 10202000));
    /* short target on the ask: low + spread <= TP, filled at min(open ask, TP) + 2 points */
    submit_ok(&fill, t, intent_of("B-5", TD_SIDE_SELL, LOT, 0, PX(1, 9900000)));
    bar_ok(&fill, &spec, t + 7 * m30, PX(1, 10000000), PX(1, 10050000), PX(1, 9890000), PX(1, 9950000), &out, 2);
    assert_string_equal(out.ev[1].u.exec.reason, "take_profit");
    assert_int_equal(out.ev[1].u.exec.price, PX(1, 9902000));
    assert_int_equal(td_fill_volume(&fill), 0);
    td_outbuf_fini(&out);
}

static void bar_rules_ok(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t t, int64_t o, int64_t h, int64_t l,
                         int64_t c, unsigned rules, td_outbuf_t *out, size_t n)
{
    td_bar_t bar = m30_bar(t, o, h, l, c);
    td_outbuf_clear(out);
    assert_int_equal(td_fill_on_bar_conv(fill, spec, t, &bar, 10000 /* 1 pip */, 0, rules, out), TD_OK);
    assert_int_equal(out->len, n);
}

/* td_fill_on_bar_conv's switches (the backtester's conventions), with spread and slippage: the
 * entry bar not checked (long and a reversal to short), gaps filled at the level (long stop,
 * short stop and target on the ask). rules 0 is td_fill_on_bar (test_bar_fills). */
static void test_bar_rules(void **unused)
{
    (void)unused;
    td_fill_t fill;
    td_fill_init(&fill, &config);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    int64_t t = T(2024, 1, 8, 10, 0), m30 = 1800000;
    const unsigned all = TD_FILL_NO_STOPS_ON_ENTRY_BAR | TD_FILL_GAP_AT_LEVEL;

    /* a long whose entry bar reaches its SL: not checked there; the next bar opens below the SL:
     * filled at the SL - 2 points, not at the open */
    submit_ok(&fill, t, intent_of("C-1", TD_SIDE_BUY, LOT, PX(1, 9800000), 0));
    bar_rules_ok(&fill, &spec, t, PX(1, 10000000), PX(1, 10100000), PX(1, 9700000), PX(1, 10000000), all, &out, 1);
    assert_int_equal(td_fill_volume(&fill), LOT);
    bar_rules_ok(&fill, &spec, t + m30, PX(1, 9700000), PX(1, 9750000), PX(1, 9600000), PX(1, 9700000), all, &out, 1);
    assert_string_equal(out.ev[0].u.exec.reason, "stop_loss");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9798000));

    /* only the entry-bar switch: the same gap fills at the open - 2 points */
    submit_ok(&fill, t, intent_of("C-2", TD_SIDE_BUY, LOT, PX(1, 9800000), 0));
    bar_rules_ok(&fill, &spec, t + 2 * m30, PX(1, 10000000), PX(1, 10100000), PX(1, 9700000), PX(1, 10000000),
                 TD_FILL_NO_STOPS_ON_ENTRY_BAR, &out, 1);
    bar_rules_ok(&fill, &spec, t + 3 * m30, PX(1, 9700000), PX(1, 9750000), PX(1, 9600000), PX(1, 9700000),
                 TD_FILL_NO_STOPS_ON_ENTRY_BAR, &out, 1);
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9698000));

    /* a long, then a reversal to short at an open: the short's SL (on the ask) is touched in its
     * entry bar but not checked there; a bar without a fill that touches it is checked */
    submit_ok(&fill, t, intent_of("C-3", TD_SIDE_BUY, LOT, 0, 0));
    bar_rules_ok(&fill, &spec, t + 4 * m30, PX(1, 10000000), PX(1, 10010000), PX(1, 9990000), PX(1, 10000000), all,
                 &out, 1);
    submit_ok(&fill, t, intent_of("C-4", TD_SIDE_SELL, 2 * LOT, PX(1, 10100000), PX(1, 9900000)));
    bar_rules_ok(&fill, &spec, t + 5 * m30, PX(1, 10000000), PX(1, 10200000), PX(1, 9950000), PX(1, 10000000), all,
                 &out, 1);
    assert_int_equal(td_fill_volume(&fill), -LOT);
    /* the next bar opens with the ask (1.10200 + 1 pip) beyond the SL 1.10100: at the SL + 2 points */
    bar_rules_ok(&fill, &spec, t + 6 * m30, PX(1, 10200000), PX(1, 10250000), PX(1, 10150000), PX(1, 10200000), all,
                 &out, 1);
    assert_string_equal(out.ev[0].u.exec.reason, "stop_loss");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 10102000));

    /* a short target gapped through (open ask 1.09810 below the TP 1.09900): at the TP + 2 points
     * with the switch; the entry bar reaching neither level is checked as usual */
    submit_ok(&fill, t, intent_of("C-5", TD_SIDE_SELL, LOT, 0, PX(1, 9900000)));
    bar_rules_ok(&fill, &spec, t + 7 * m30, PX(1, 10000000), PX(1, 10050000), PX(1, 9950000), PX(1, 10000000), all,
                 &out, 1);
    bar_rules_ok(&fill, &spec, t + 8 * m30, PX(1, 9800000), PX(1, 9850000), PX(1, 9750000), PX(1, 9800000), all, &out,
                 1);
    assert_string_equal(out.ev[0].u.exec.reason, "take_profit");
    assert_int_equal(out.ev[0].u.exec.price, PX(1, 9902000));
    assert_int_equal(td_fill_volume(&fill), 0);
    td_outbuf_fini(&out);
}

/* A scripted mixed stream over two weeks: ticks every 3 hours, intents now and then, stops. */
struct step {
    int submit; /* 0 none, else an intent before this tick */
    td_order_intent_t intent;
    int64_t t;
    td_tick_t tick;
};

static struct step script(unsigned i)
{
    struct step s;
    memset(&s, 0, sizeof s);
    s.t = T(2024, 1, 8, 0, 30) + (int64_t)i * 3 * 3600000;
    int64_t wave = (int64_t)((i * 37u) % 23u) * 20000 - 200000; /* +-0.002 */
    s.tick = tick_of(PX(1, 10000000) + wave, PX(1, 10000000) + wave + 8000 + (int64_t)(i % 3) * 1000);
    if (i % 7 == 2 || i % 11 == 5) {
        char id[32];
        snprintf(id, sizeof id, "EURUSD-%u-0", i);
        td_side_t side = (i / 7) % 2 ? TD_SIDE_SELL : TD_SIDE_BUY;
        int64_t mid = s.tick.bid;
        int64_t sl = side == TD_SIDE_BUY ? mid - 150000 : mid + 150000;
        int64_t tp = side == TD_SIDE_BUY ? mid + 180000 : mid - 180000;
        s.submit = 1;
        s.intent = intent_of(id, side, (int64_t)(1 + i % 4) * LOT / 10, i % 3 ? sl : 0, i % 4 ? tp : 0);
    }
    return s;
}

static void run_stream(td_fill_t *fill, td_positions_t *positions, const td_symbol_spec_t *spec, unsigned from,
                       unsigned to, td_outbuf_t *all, td_outbuf_t *pos_all)
{
    td_outbuf_t out;
    td_outbuf_init(&out);
    for (unsigned i = from; i < to; i++) {
        struct step s = script(i);
        if (s.submit)
            assert_int_equal(td_fill_submit(fill, s.t - 1, &s.intent), TD_OK);
        td_outbuf_clear(&out);
        assert_int_equal(td_fill_on_tick(fill, spec, s.t, &s.tick, 0, &out), TD_OK);
        for (size_t k = 0; k < out.len; k++) {
            td_event_t *ev = td_outbuf_add(all, TD_EV_EXEC_REPORT);
            assert_non_null(ev);
            *ev = out.ev[k];
            assert_int_equal(td_positions_apply(positions, s.t, &out.ev[k].u.exec, pos_all), TD_OK);
        }
    }
    td_outbuf_fini(&out);
}

static void test_encode_decode_determinism(void **unused)
{
    (void)unused;
    enum { N = 112 };
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t all_a, all_b, pos_a, pos_b;
    td_outbuf_init(&all_a);
    td_outbuf_init(&all_b);
    td_outbuf_init(&pos_a);
    td_outbuf_init(&pos_b);
    td_positions_t pa, pb;
    td_positions_init(&pa);
    td_positions_set_spec(&pa, &spec);
    td_positions_init(&pb);
    td_positions_set_spec(&pb, &spec);

    td_fill_t a, b;
    td_fill_init(&a, &config);
    run_stream(&a, &pa, &spec, 0, N, &all_a, &pos_a);

    /* cut at several points, including with a queued intent and an open position with swap */
    td_fill_init(&b, &config);
    td_buf_t buf;
    td_buf_init(&buf);
    unsigned cuts[] = {0, 9, 19, 30, 31, 38, 41, 57, 80, N};
    int saw_queue = 0, saw_swap = 0;
    for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++) {
        run_stream(&b, &pb, &spec, cuts[c], cuts[c + 1], &all_b, &pos_b);
        struct step next = script(cuts[c + 1]);
        if (next.submit && cuts[c + 1] < N) {
            /* submit now, so the encoded state holds a queued intent */
            assert_int_equal(td_fill_submit(&b, next.t - 1, &next.intent), TD_OK);
            saw_queue = 1;
        }
        saw_swap |= b.accrued_swap != 0;
        td_buf_reset(&buf);
        assert_int_equal(td_fill_encode(&b, &buf), TD_OK);
        td_fill_t fresh;
        td_fill_init(&fresh, &(td_fill_config_t){0, 0, 0});
        assert_int_equal(td_fill_decode(&fresh, buf.ptr, buf.len), TD_OK);
        b = fresh;
        if (next.submit && cuts[c + 1] < N) {
            /* the stream would submit it again: take it back out of the script by running this
             * one step by hand */
            td_outbuf_t out;
            td_outbuf_init(&out);
            assert_int_equal(td_fill_on_tick(&b, &spec, next.t, &next.tick, 0, &out), TD_OK);
            for (size_t k = 0; k < out.len; k++) {
                td_event_t *ev = td_outbuf_add(&all_b, TD_EV_EXEC_REPORT);
                *ev = out.ev[k];
                assert_int_equal(td_positions_apply(&pb, next.t, &out.ev[k].u.exec, &pos_b), TD_OK);
            }
            td_outbuf_fini(&out);
            cuts[c + 1]++;
        }
    }
    assert_true(saw_queue);
    assert_true(saw_swap);
    assert_true(all_a.len > 10);
    assert_same_outputs(&all_a, &all_b);
    assert_same_outputs(&pos_a, &pos_b);

    td_buf_t ea, eb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    assert_int_equal(td_fill_encode(&a, &ea), TD_OK);
    assert_int_equal(td_fill_encode(&b, &eb), TD_OK);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.ptr, eb.ptr, ea.len);

    /* the broker's profit equals the position keeper's P&L; stops fired in this stream */
    td_money_t profit = 0;
    int stops = 0;
    for (size_t k = 0; k < all_a.len; k++) {
        profit += all_a.ev[k].u.exec.profit;
        const char *id = all_a.ev[k].u.exec.intent_id;
        stops += strncmp(id, "sl:", 3) == 0 || strncmp(id, "tp:", 3) == 0;
    }
    assert_int_equal(profit, pa.realized_pnl);
    assert_true(stops > 0);

    /* corrupt bytes are refused, the target untouched */
    td_fill_t c = a;
    uint8_t junk[] = {0x42, 0x05, 0x01};
    assert_int_equal(td_fill_decode(&c, junk, sizeof junk), TD_ERR_CORRUPT);
    assert_int_equal(td_fill_decode(&c, NULL, 0), TD_ERR_CORRUPT); /* no book */
    assert_memory_equal(&c, &a, sizeof c);

    td_buf_fini(&ea);
    td_buf_fini(&eb);
    td_buf_fini(&buf);
    td_outbuf_fini(&all_a);
    td_outbuf_fini(&all_b);
    td_outbuf_fini(&pos_a);
    td_outbuf_fini(&pos_b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_market_fill_next_tick),
        cmocka_unit_test(test_stop_loss_and_take_profit),
        cmocka_unit_test(test_swap_rollover_and_triple),
        cmocka_unit_test(test_swap_money_mode),
        cmocka_unit_test(test_queue_and_validation),
        cmocka_unit_test(test_bar_fills),
        cmocka_unit_test(test_bar_rules),
        cmocka_unit_test(test_encode_decode_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
