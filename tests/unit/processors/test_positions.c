/* test_positions.c - processors/positions.c: netting, average price, realised P&L, cost
 * attribution, duplicates, errors, state encoding and determinism across a decode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

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

static td_symbol_spec_t eurusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 5;
    spec.point = 1000;
    spec.contract_size = INT64_C(100000) * LOT;
    return spec;
}

static td_symbol_spec_t xauusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 2;
    spec.point = 1000000;
    spec.contract_size = INT64_C(100) * LOT;
    return spec;
}

static td_exec_report_t fill_report(uint64_t deal, td_side_t side, int64_t price, int64_t volume, int64_t commission,
                                    int64_t swap)
{
    td_exec_report_t exec;
    memset(&exec, 0, sizeof exec);
    snprintf(exec.intent_id, sizeof exec.intent_id, "EURUSD-%llu-0", (unsigned long long)deal);
    exec.deal_id = deal;
    exec.order_id = deal + 1000;
    exec.position_id = 7;
    exec.side = side;
    exec.price = price;
    exec.volume = volume;
    exec.commission = commission;
    exec.swap = swap;
    exec.status = TD_EXEC_FILLED;
    return exec;
}

/* Applies exec, expects TD_OK and n outputs; returns the last output (the PositionChanged). */
static const td_event_t *apply_ok(td_positions_t *positions, td_outbuf_t *out, int64_t t, td_exec_report_t exec,
                                  size_t n)
{
    td_outbuf_clear(out);
    assert_int_equal(td_positions_apply(positions, t, &exec, out), TD_OK);
    assert_int_equal(out->len, n);
    if (n == 0)
        return NULL;
    assert_int_equal(out->ev[n - 1].kind, TD_EV_POSITION_CHANGED);
    if (n == 2)
        assert_int_equal(out->ev[0].kind, TD_EV_TRADE_CLOSED);
    return &out->ev[n - 1];
}

static void test_eurusd_open_add_partial_reverse_close(void **unused)
{
    (void)unused;
    td_positions_t positions;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_init(&positions);
    td_symbol_spec_t spec = eurusd_spec();
    td_positions_set_spec(&positions, &spec);

    /* buy 1.0 @ 1.10000, commission -3.50 */
    const td_event_t *ev =
        apply_ok(&positions, &out, 1000, fill_report(1, TD_SIDE_BUY, PX(1, 10000000), LOT, MONEY(-350), 0), 1);
    assert_int_equal(ev->u.position.volume, LOT);
    assert_int_equal(ev->u.position.avg_price, PX(1, 10000000));
    assert_int_equal(ev->u.position.commission, MONEY(-350));
    assert_int_equal(ev->u.position.deal_id, 1);
    assert_string_equal(ev->u.position.intent_id, "EURUSD-1-0");

    /* buy 0.5 @ 1.10300: avg (1.1 x 1 + 1.103 x 0.5) / 1.5 = 1.10100 */
    ev = apply_ok(&positions, &out, 2000, fill_report(2, TD_SIDE_BUY, PX(1, 10300000), LOT / 2, MONEY(-175), 0), 1);
    assert_int_equal(ev->u.position.volume, LOT + LOT / 2);
    assert_int_equal(ev->u.position.avg_price, PX(1, 10100000));
    assert_int_equal(td_positions_avg_price(&positions), PX(1, 10100000));

    /* sell 0.5 @ 1.10500: +0.004 x 0.5 x 100000 = +200.00; commission -1.75 closing + 1/3 of -5.25 open */
    ev = apply_ok(&positions, &out, 3000, fill_report(3, TD_SIDE_SELL, PX(1, 10500000), LOT / 2, MONEY(-175), 0), 2);
    const td_trade_closed_t *trade = &out.ev[0].u.trade;
    assert_int_equal(trade->side, TD_SIDE_BUY);
    assert_int_equal(trade->entry_time, 1000);
    assert_int_equal(trade->entry_price, PX(1, 10100000));
    assert_int_equal(trade->exit_time, 3000);
    assert_int_equal(trade->exit_price, PX(1, 10500000));
    assert_int_equal(trade->volume, LOT / 2);
    assert_int_equal(trade->pnl, MONEY(20000));
    assert_int_equal(trade->commission, MONEY(-350));
    assert_int_equal(trade->swap, 0);
    assert_int_equal(ev->u.position.volume, LOT);
    assert_int_equal(ev->u.position.avg_price, PX(1, 10100000));
    assert_int_equal(ev->u.position.realized_pnl, MONEY(20000));

    /* sell 1.5 @ 1.09900, commission -5.25, swap -1.20: closes the 1.0 long (-200.00) and opens 0.5 short */
    ev = apply_ok(&positions, &out, 4000,
                  fill_report(4, TD_SIDE_SELL, PX(1, 9900000), LOT + LOT / 2, MONEY(-525), MONEY(-120)), 2);
    trade = &out.ev[0].u.trade;
    assert_int_equal(trade->side, TD_SIDE_BUY);
    assert_int_equal(trade->entry_time, 1000);
    assert_int_equal(trade->volume, LOT);
    assert_int_equal(trade->pnl, MONEY(-20000));
    assert_int_equal(trade->commission, MONEY(-700)); /* -3.50 (2/3 of the deal) + -3.50 left open */
    assert_int_equal(trade->swap, MONEY(-120));
    assert_int_equal(ev->u.position.volume, -LOT / 2);
    assert_int_equal(ev->u.position.avg_price, PX(1, 9900000));
    assert_int_equal(ev->u.position.realized_pnl, 0);
    assert_int_equal(ev->u.position.swap, MONEY(-120));
    assert_int_equal(td_positions_volume(&positions), -LOT / 2);

    /* buy 0.5 @ 1.09700 closes the short: +0.002 x 0.5 x 100000 = +100.00 */
    ev = apply_ok(&positions, &out, 5000, fill_report(5, TD_SIDE_BUY, PX(1, 9700000), LOT / 2, MONEY(-175), 0), 2);
    trade = &out.ev[0].u.trade;
    assert_int_equal(trade->side, TD_SIDE_SELL);
    assert_int_equal(trade->entry_time, 4000);
    assert_int_equal(trade->entry_price, PX(1, 9900000));
    assert_int_equal(trade->pnl, MONEY(10000));
    assert_int_equal(trade->commission, MONEY(-350));
    assert_int_equal(trade->swap, 0);
    assert_int_equal(ev->u.position.volume, 0);
    assert_int_equal(ev->u.position.avg_price, 0);
    assert_int_equal(ev->u.position.realized_pnl, MONEY(10000));
    assert_int_equal(ev->u.position.commission, MONEY(-1400));
    assert_int_equal(ev->u.position.swap, MONEY(-120));
    assert_int_equal(positions.open_commission, 0);
    assert_int_equal(positions.entry_time, 0);
    td_outbuf_fini(&out);
}

static void test_xauusd_average_and_exact_pnl(void **unused)
{
    (void)unused;
    td_positions_t positions;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_init(&positions);
    td_symbol_spec_t spec = xauusd_spec();
    td_positions_set_spec(&positions, &spec);

    /* 0.3 @ 2000.50 + 0.2 @ 2001.00 -> avg 2000.70; sell 0.5 @ 1995.25 -> -5.45 x 0.5 x 100 = -272.50 */
    apply_ok(&positions, &out, 1, fill_report(1, TD_SIDE_BUY, PX(2000, 50000000), 3 * LOT / 10, 0, 0), 1);
    td_exec_report_t partial = fill_report(2, TD_SIDE_BUY, PX(2001, 0), 2 * LOT / 10, 0, 0);
    partial.status = TD_EXEC_PARTIAL; /* a partial fill counts like a fill */
    const td_event_t *ev = apply_ok(&positions, &out, 2, partial, 1);
    assert_int_equal(ev->u.position.avg_price, PX(2000, 70000000));
    apply_ok(&positions, &out, 3, fill_report(3, TD_SIDE_SELL, PX(1995, 25000000), LOT / 2, 0, 0), 2);
    assert_int_equal(out.ev[0].u.trade.pnl, MONEY(-27250));

    /* an average that is not a whole 1e-8: 0.1 @ 2000.00 + 0.2 @ 2000.01 = 2000.0066666...; the
     * reported avg is rounded half away from zero, the P&L uses the exact cost:
     * (2001 x 0.3 - 600.002) x 100 = 29.80 exactly */
    apply_ok(&positions, &out, 4, fill_report(4, TD_SIDE_BUY, PX(2000, 0), LOT / 10, 0, 0), 1);
    ev = apply_ok(&positions, &out, 5, fill_report(5, TD_SIDE_BUY, PX(2000, 1000000), 2 * LOT / 10, 0, 0), 1);
    assert_int_equal(ev->u.position.avg_price, PX(2000, 666667));
    apply_ok(&positions, &out, 6, fill_report(6, TD_SIDE_SELL, PX(2001, 0), 3 * LOT / 10, 0, 0), 2);
    assert_int_equal(out.ev[0].u.trade.entry_price, PX(2000, 666667));
    assert_int_equal(out.ev[0].u.trade.pnl, MONEY(2980));

    /* short 1.0 @ 1900.00, cover @ 1890.00: +10 x 1 x 100 = +1000.00 */
    apply_ok(&positions, &out, 7, fill_report(7, TD_SIDE_SELL, PX(1900, 0), LOT, 0, 0), 1);
    assert_int_equal(td_positions_volume(&positions), -LOT);
    apply_ok(&positions, &out, 8, fill_report(8, TD_SIDE_BUY, PX(1890, 0), LOT, 0, 0), 2);
    assert_int_equal(out.ev[0].u.trade.side, TD_SIDE_SELL);
    assert_int_equal(out.ev[0].u.trade.pnl, MONEY(100000));
    assert_int_equal(positions.realized_pnl, MONEY(-27250) + MONEY(2980) + MONEY(100000));
    td_outbuf_fini(&out);
}

static void test_costs_accumulate_and_attribute(void **unused)
{
    (void)unused;
    td_positions_t positions;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_init(&positions);
    td_symbol_spec_t spec = eurusd_spec();
    td_positions_set_spec(&positions, &spec);

    /* open 0.3 with -1.00 commission, a cost-only deal (volume 0) with swap -0.60 */
    apply_ok(&positions, &out, 1, fill_report(1, TD_SIDE_BUY, PX(1, 0), 3 * LOT / 10, MONEY(-100), 0), 1);
    td_exec_report_t swap_only = fill_report(2, TD_SIDE_NONE, 0, 0, 0, MONEY(-60));
    const td_event_t *ev = apply_ok(&positions, &out, 2, swap_only, 1);
    assert_int_equal(ev->u.position.volume, 3 * LOT / 10);
    assert_int_equal(ev->u.position.swap, MONEY(-60));
    assert_int_equal(positions.open_swap, MONEY(-60));

    /* close 0.1: commission -0.30 + 1/3 of -1.00 = -0.33333333 -> -0.63333333, swap 1/3 of -0.60 */
    apply_ok(&positions, &out, 3, fill_report(3, TD_SIDE_SELL, PX(1, 0), LOT / 10, MONEY(-30), 0), 2);
    assert_int_equal(out.ev[0].u.trade.commission, MONEY(-30) - 33333333);
    assert_int_equal(out.ev[0].u.trade.swap, MONEY(-20));
    td_money_t sum_comm = out.ev[0].u.trade.commission, sum_swap = out.ev[0].u.trade.swap;
    /* close the remaining 0.2 with a swap of -0.10 on the closing deal: the rest of everything */
    apply_ok(&positions, &out, 4, fill_report(4, TD_SIDE_SELL, PX(1, 0), 2 * LOT / 10, MONEY(-60), MONEY(-10)), 2);
    sum_comm += out.ev[0].u.trade.commission;
    sum_swap += out.ev[0].u.trade.swap;
    assert_int_equal(out.ev[0].u.trade.commission, MONEY(-60) - 66666667);
    assert_int_equal(sum_comm, positions.commission);
    assert_int_equal(sum_swap, positions.swap);
    assert_int_equal(positions.commission, MONEY(-190));
    assert_int_equal(positions.swap, MONEY(-70));
    assert_int_equal(out.ev[1].u.position.commission, MONEY(-190));
    td_outbuf_fini(&out);
}

static void test_duplicates_and_ignored_reports(void **unused)
{
    (void)unused;
    td_positions_t positions;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_init(&positions);
    td_symbol_spec_t spec = eurusd_spec();
    td_positions_set_spec(&positions, &spec);

    apply_ok(&positions, &out, 1, fill_report(10, TD_SIDE_BUY, PX(1, 0), LOT, MONEY(-350), 0), 1);
    td_positions_t before = positions;
    /* the same deal delivered again: nothing */
    apply_ok(&positions, &out, 2, fill_report(10, TD_SIDE_BUY, PX(1, 0), LOT, MONEY(-350), 0), 0);
    assert_memory_equal(&before, &positions, sizeof positions);

    /* rejected / expired / cancelled (deal 0) change nothing and emit nothing */
    td_exec_status_t ignored[] = {TD_EXEC_REJECTED, TD_EXEC_EXPIRED, TD_EXEC_CANCELLED, TD_EXEC_NONE};
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
        td_exec_report_t exec = fill_report(0, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0);
        exec.status = ignored[i];
        snprintf(exec.reason, sizeof exec.reason, "no money");
        apply_ok(&positions, &out, 3, exec, 0);
    }
    assert_memory_equal(&before, &positions, sizeof positions);

    /* a late deal with a lower id that was never applied is applied; then it is a duplicate too */
    apply_ok(&positions, &out, 4, fill_report(20, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 1);
    apply_ok(&positions, &out, 5, fill_report(15, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 1);
    apply_ok(&positions, &out, 6, fill_report(15, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 0);
    assert_int_equal(td_positions_volume(&positions), 3 * LOT);

    /* after a full window of later deals, an id older than all of them is assumed applied */
    for (uint64_t d = 100; d < 100 + TD_POSITIONS_DEAL_WINDOW; d++)
        apply_ok(&positions, &out, 7, fill_report(d, TD_SIDE_BUY, PX(1, 0), LOT / 100, 0, 0), 1);
    apply_ok(&positions, &out, 8, fill_report(10, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 0);
    apply_ok(&positions, &out, 8, fill_report(99, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 0);
    apply_ok(&positions, &out, 8, fill_report(100 + TD_POSITIONS_DEAL_WINDOW - 1, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0), 0);
    td_outbuf_fini(&out);
}

static void test_errors(void **unused)
{
    (void)unused;
    td_positions_t positions;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_positions_init(&positions);

    /* no spec yet: refused, not sticky */
    td_exec_report_t exec = fill_report(1, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0);
    assert_int_equal(td_positions_apply(&positions, 1, &exec, &out), TD_ERR_STATE);
    assert_non_null(strstr(td_positions_error(&positions), "SymbolSpec"));
    assert_int_equal(out.len, 0);
    assert_int_equal(td_positions_volume(&positions), 0);

    td_symbol_spec_t spec = eurusd_spec();
    td_positions_set_spec(&positions, &spec);
    /* malformed reports */
    exec = fill_report(0, TD_SIDE_BUY, PX(1, 0), LOT, 0, 0);
    assert_int_equal(td_positions_apply(&positions, 1, &exec, &out), TD_ERR_INVALID);
    exec = fill_report(1, TD_SIDE_NONE, PX(1, 0), LOT, 0, 0);
    assert_int_equal(td_positions_apply(&positions, 1, &exec, &out), TD_ERR_INVALID);
    exec = fill_report(1, TD_SIDE_BUY, PX(1, 0), -LOT, 0, 0);
    assert_int_equal(td_positions_apply(&positions, 1, &exec, &out), TD_ERR_INVALID);
    assert_int_equal(out.len, 0);

    /* overflow: 10000 lots bought at 1.0 and sold at ~9.2e10: the P&L leaves int64; refused, the
     * position as it was, and the next report applies normally (nothing sticks) */
    apply_ok(&positions, &out, 2, fill_report(1, TD_SIDE_BUY, PX(1, 0), 10000 * LOT, 0, 0), 1);
    td_outbuf_clear(&out);
    exec = fill_report(2, TD_SIDE_SELL, INT64_MAX / 2, 10000 * LOT, 0, 0);
    assert_int_equal(td_positions_apply(&positions, 3, &exec, &out), TD_ERR_OVERFLOW);
    assert_int_equal(out.len, 0);
    assert_int_equal(td_positions_volume(&positions), 10000 * LOT);
    assert_non_null(strstr(td_positions_error(&positions), "deal 2"));
    exec = fill_report(3, TD_SIDE_SELL, PX(1, 0), LOT, 0, 0);
    apply_ok(&positions, &out, 4, exec, 2); /* a TradeClosed for the lot, then the PositionChanged */
    assert_int_equal(td_positions_volume(&positions), 9999 * LOT);
    td_outbuf_clear(&out);

    /* overflow of the summed commission */
    td_positions_init(&positions);
    td_positions_set_spec(&positions, &spec);
    apply_ok(&positions, &out, 1, fill_report(1, TD_SIDE_BUY, PX(1, 0), LOT, INT64_MIN + 5, 0), 1);
    exec = fill_report(2, TD_SIDE_BUY, PX(1, 0), LOT, -10, 0);
    assert_int_equal(td_positions_apply(&positions, 2, &exec, &out), TD_ERR_OVERFLOW);

    assert_int_equal(td_positions_volume(&positions), LOT);

    /* a state encoded after a refusal equals one that never saw the refused report */
    td_positions_t clean;
    td_positions_init(&clean);
    td_positions_set_spec(&clean, &spec);
    apply_ok(&clean, &out, 1, fill_report(1, TD_SIDE_BUY, PX(1, 0), LOT, INT64_MIN + 5, 0), 1);
    td_buf_t buf, want;
    td_buf_init(&buf);
    td_buf_init(&want);
    assert_int_equal(td_positions_encode(&positions, &buf), TD_OK);
    assert_int_equal(td_positions_encode(&clean, &want), TD_OK);
    assert_int_equal(buf.len, want.len);
    assert_memory_equal(buf.ptr, want.ptr, buf.len);
    td_buf_fini(&buf);
    td_buf_fini(&want);
    td_outbuf_fini(&out);
}

/* A mixed stream over both symbols' sizes with reversals, partials and costs. */
static td_exec_report_t stream_report(unsigned i)
{
    static const int sides[] = {1, 1, 2, 2, 2, 1, 1, 2, 1, 2, 2, 1};
    static const int64_t vols[] = {3, 2, 1, 6, 1, 5, 4, 2, 1, 7, 1, 4};
    int64_t price = PX(1, 10000000) + (int64_t)((i * 7919u) % 500u) * 1000;
    td_exec_report_t exec =
        fill_report(i + 1, sides[i % 12] == 1 ? TD_SIDE_BUY : TD_SIDE_SELL, price, vols[i % 12] * LOT / 10,
                    -(int64_t)vols[i % 12] * MONEY(35) / 10, i % 5 == 0 ? MONEY(-13) : 0);
    if (i % 9 == 4) {
        exec.status = TD_EXEC_REJECTED;
        exec.deal_id = 0;
    }
    return exec;
}

static void test_encode_decode_determinism(void **unused)
{
    (void)unused;
    enum { N = 60, CUT = 23 };
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t all, part, step;
    td_outbuf_init(&all);
    td_outbuf_init(&part);
    td_outbuf_init(&step);

    td_positions_t a;
    td_positions_init(&a);
    td_positions_set_spec(&a, &spec);
    for (unsigned i = 0; i < N; i++) {
        td_exec_report_t exec = stream_report(i);
        assert_int_equal(td_positions_apply(&a, 1000 + i, &exec, &all), TD_OK);
        if (i % 11 == 3) /* a duplicate delivery now and then */
            assert_int_equal(td_positions_apply(&a, 1000 + i, &exec, &all), TD_OK);
    }

    td_positions_t b;
    td_positions_init(&b);
    td_positions_set_spec(&b, &spec);
    td_buf_t buf;
    td_buf_init(&buf);
    for (unsigned i = 0; i < N; i++) {
        if (i == CUT) {
            td_buf_reset(&buf);
            assert_int_equal(td_positions_encode(&b, &buf), TD_OK);
            td_positions_t fresh;
            td_positions_init(&fresh);
            assert_int_equal(td_positions_decode(&fresh, buf.ptr, buf.len), TD_OK);
            b = fresh;
        }
        td_exec_report_t exec = stream_report(i);
        assert_int_equal(td_positions_apply(&b, 1000 + i, &exec, &part), TD_OK);
        if (i % 11 == 3)
            assert_int_equal(td_positions_apply(&b, 1000 + i, &exec, &part), TD_OK);
    }
    assert_int_equal(all.len, part.len);
    assert_true(all.len > N);
    assert_same_outputs(&all, &part);

    td_buf_t ea, eb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    assert_int_equal(td_positions_encode(&a, &ea), TD_OK);
    assert_int_equal(td_positions_encode(&b, &eb), TD_OK);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.ptr, eb.ptr, ea.len);

    /* corrupt and non-canonical bytes are refused, the target untouched */
    td_positions_t c = a;
    uint8_t junk[] = {0xff, 0xff, 0xff};
    assert_int_equal(td_positions_decode(&c, junk, sizeof junk), TD_ERR_CORRUPT);
    assert_int_equal(td_buf_append(&ea, "\x08\x00", 2), TD_OK); /* failed = 0 written explicitly */
    assert_int_equal(td_positions_decode(&c, ea.ptr, ea.len), TD_ERR_CORRUPT);
    assert_memory_equal(&c, &a, sizeof c);
    uint8_t flat_with_cost[] = {0x28, 0x01}; /* cost_lo = 1 while flat */
    assert_int_equal(td_positions_decode(&c, flat_with_cost, sizeof flat_with_cost), TD_ERR_CORRUPT);
    assert_int_equal(td_positions_decode(&c, NULL, 0), TD_OK); /* the empty state */
    assert_int_equal(td_positions_volume(&c), 0);

    td_buf_fini(&ea);
    td_buf_fini(&eb);
    td_buf_fini(&buf);
    td_outbuf_fini(&all);
    td_outbuf_fini(&part);
    td_outbuf_fini(&step);
}

static void test_money_rounding(void **unused)
{
    (void)unused;
    td_money_t m;
    /* 0.5e-8 money rounds away from zero both ways */
    assert_int_equal(td_positions__money(50000000, INT64_C(100000000), &m), TD_OK);
    assert_int_equal(m, 1);
    assert_int_equal(td_positions__money(-50000000, INT64_C(100000000), &m), TD_OK);
    assert_int_equal(m, -1);
    assert_int_equal(td_positions__money(49999999, INT64_C(100000000), &m), TD_OK);
    assert_int_equal(m, 0);
    /* across the 1e16 split: (3 x 1e16 + 5e7) x 1e8 / 1e16 = 3e8 + 0.5 -> 300000001 */
    assert_int_equal(td_positions__money((__int128)3 * 10000000000000000 + 50000000, INT64_C(100000000), &m), TD_OK);
    assert_int_equal(m, 300000001);
    assert_int_equal(td_positions__money(-((__int128)3 * 10000000000000000 + 50000000), INT64_C(100000000), &m), TD_OK);
    assert_int_equal(m, -300000001);
    /* a big but representable value: 1e20 x 1e13 / 1e16 = 1e17 */
    assert_int_equal(td_positions__money((__int128)100000000000 * 1000000000, INT64_C(10000000000000), &m), TD_OK);
    assert_int_equal(m, INT64_C(100000000000000000));
    assert_int_equal(td_positions__money((__int128)INT64_MAX * INT64_MAX, INT64_MAX, &m), TD_ERR_OVERFLOW);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eurusd_open_add_partial_reverse_close),
        cmocka_unit_test(test_xauusd_average_and_exact_pnl),
        cmocka_unit_test(test_costs_accumulate_and_attribute),
        cmocka_unit_test(test_duplicates_and_ignored_reports),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_encode_decode_determinism),
        cmocka_unit_test(test_money_rounding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
