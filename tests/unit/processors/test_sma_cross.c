/* test_sma_cross.c - processors/sma_cross.c: the exact-tie rule, warm-up, directions and volumes,
 * SL/TP prices, pending volume, reconfigure keeping history, parameter errors, and a differential
 * test of the running sums against a plain recomputation over 10k seeded bars. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "strategy_testutil.h"

static td_strategy_t *sma(const char *fast, const char *slow, const char *direction)
{
    char f[32], s[32], d[32];
    snprintf(f, sizeof f, "fast=%s", fast);
    snprintf(s, sizeof s, "slow=%s", slow);
    snprintf(d, sizeof d, "direction=%s", direction);
    td_params_changed_t params = params_of("sma_cross", 1, d, f, s, "volume=1", NULL);
    return strategy_of(&params);
}

/* Feeds closes[0..n) from bar index first; returns how many bars produced outputs, and the index
 * of the last one in *last. */
static size_t feed(sim_t *sim, td_strategy_t *strategy, size_t first, const td_price_t *closes, size_t n, size_t *last)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        if (sim_close(sim, strategy, first + i, closes[i])) {
            hits++;
            if (last)
                *last = first + i;
        }
    return hits;
}

static void test_tie_between_negative_and_positive(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    /* fast 2, slow 4. Bar 3: fast 10 < slow 11 (first sign: -, initialises). Bar 4: window
     * 12,10,10,12 -> slow 11, fast 11: an exact tie. Bar 5: slow 11.5, fast 13: + -> cross up here,
     * on the first bar whose sign differs from the last NON-ZERO sign. */
    td_strategy_t *strategy = sma("2", "4", "both");
    const td_price_t closes[] = {12, 12, 10, 10, 12, 14};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(sim_close(&sim, strategy, i, closes[i]), 0);
    assert_int_equal(sim_close(&sim, strategy, 5, closes[5]), 2);
    assert_string_equal(sim_signal(&sim)->reason, "cross_up");
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_LONG);
    assert_int_equal(sim_signal(&sim)->bar_time, bar_time(5));
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    assert_int_equal(sim_intent(&sim)->volume, LOT);
    td_strategy_destroy(strategy);

    /* fast 1, slow 2 (sign = direction of the close's change): -, 0, 0, + fires once, on the + */
    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = sma("1", "2", "both");
    const td_price_t c2[] = {100, 90, 90, 90, 95};
    size_t last = 0;
    assert_int_equal(feed(&sim, strategy, 0, c2, 5, &last), 1);
    assert_int_equal(last, 4);
    assert_string_equal(sim_signal(&sim)->reason, "cross_up");
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_tie_then_same_sign_no_trade(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    /* fast 2, slow 4: - (init), tie at bar 4, tie again at bar 5 (12+8 = 10+10), then - at bar 6:
     * the same sign as the last non-zero one: nothing at all */
    td_strategy_t *strategy = sma("2", "4", "both");
    const td_price_t closes[] = {12, 12, 10, 10, 12, 8, 6};
    assert_int_equal(feed(&sim, strategy, 0, closes, 7, NULL), 0);
    assert_int_equal(sim.ctx.position, 0);
    td_strategy_destroy(strategy);

    /* fast 1, slow 2: +, 0, + -> nothing (a rule comparing with the previous bar's sign would fire) */
    strategy = sma("1", "2", "both");
    const td_price_t c2[] = {90, 100, 100, 110, 110, 120};
    assert_int_equal(feed(&sim, strategy, 0, c2, 6, NULL), 0);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_warmup_no_trade(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    /* fast 2, slow 5: up, down, up before 5 bars: nothing; bar 4 is the first sign (+): nothing */
    td_strategy_t *strategy = sma("2", "5", "both");
    const td_price_t closes[] = {100, 50, 100, 50, 200, 210, 220};
    assert_int_equal(feed(&sim, strategy, 0, closes, 7, NULL), 0);
    /* then down: the first cross */
    assert_int_equal(sim_close(&sim, strategy, 7, 50), 2);
    assert_string_equal(sim_signal(&sim)->reason, "cross_down");
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, LOT);
    assert_int_equal(sim_close(&sim, strategy, 8, 40), 0);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

/* fast 1 / slow 2: 100, 90 initialise (-), then up, down, up, down. */
static const td_price_t ZIGZAG[] = {100, 90, 100, 90, 100, 90};

static void expect(sim_t *sim, td_strategy_t *strategy, size_t i, td_direction_t dir, td_side_t side,
                   td_volume_t volume, td_volume_t position_after)
{
    size_t n = sim_close(sim, strategy, i, ZIGZAG[i]);
    assert_true(n >= 1);
    assert_int_equal(sim_signal(sim)->direction, dir);
    if (side == TD_SIDE_NONE) {
        assert_int_equal(n, 1);
    } else {
        assert_int_equal(sim_intent(sim)->side, side);
        assert_int_equal(sim_intent(sim)->volume, volume);
        assert_string_equal(sim_intent(sim)->intent_id, "");
        assert_string_equal(sim_intent(sim)->strategy, "sma_cross");
        assert_int_equal(sim_intent(sim)->params_version, 1);
        assert_int_equal(sim_intent(sim)->type, 0);
    }
    assert_int_equal(sim->ctx.position, position_after);
}

static void test_directions_and_volumes(void **unused)
{
    (void)unused;
    sim_t sim;

    sim_init(&sim, 5);
    td_strategy_t *strategy = sma("1", "2", "both");
    assert_int_equal(sim_close(&sim, strategy, 0, ZIGZAG[0]), 0);
    assert_int_equal(sim_close(&sim, strategy, 1, ZIGZAG[1]), 0);
    expect(&sim, strategy, 2, TD_DIR_LONG, TD_SIDE_BUY, LOT, LOT);
    expect(&sim, strategy, 3, TD_DIR_SHORT, TD_SIDE_SELL, 2 * LOT, -LOT); /* reversal: 2x */
    expect(&sim, strategy, 4, TD_DIR_LONG, TD_SIDE_BUY, 2 * LOT, LOT);
    td_strategy_destroy(strategy);

    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = sma("1", "2", "long");
    assert_int_equal(feed(&sim, strategy, 0, ZIGZAG, 2, NULL), 0);
    expect(&sim, strategy, 2, TD_DIR_LONG, TD_SIDE_BUY, LOT, LOT);
    expect(&sim, strategy, 3, TD_DIR_FLAT, TD_SIDE_SELL, LOT, 0); /* close on cross down */
    expect(&sim, strategy, 4, TD_DIR_LONG, TD_SIDE_BUY, LOT, LOT);
    td_strategy_destroy(strategy);

    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = sma("1", "2", "short");
    assert_int_equal(feed(&sim, strategy, 0, ZIGZAG, 2, NULL), 0);
    expect(&sim, strategy, 2, TD_DIR_FLAT, TD_SIDE_NONE, 0, 0); /* flat already: signal only */
    expect(&sim, strategy, 3, TD_DIR_SHORT, TD_SIDE_SELL, LOT, -LOT);
    expect(&sim, strategy, 4, TD_DIR_FLAT, TD_SIDE_BUY, LOT, 0);
    td_strategy_destroy(strategy);

    /* pending volume counts: a buy of 1 lot in flight, cross up -> nothing more to send */
    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = sma("1", "2", "both");
    assert_int_equal(feed(&sim, strategy, 0, ZIGZAG, 2, NULL), 0);
    sim.ctx.pending = LOT;
    assert_int_equal(sim_close(&sim, strategy, 2, ZIGZAG[2]), 1);
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_LONG);
    /* filled meanwhile at half a lot, half still pending: cross down sells the whole lot + 1 */
    sim.ctx.position = LOT / 2;
    sim.ctx.pending = LOT / 2;
    assert_int_equal(sim_close(&sim, strategy, 3, ZIGZAG[3]), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, 2 * LOT);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_sl_tp_prices(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5); /* point = 0.00001 = 1000 */
    td_params_changed_t params = params_of("sma_cross", 7, "direction=both", "fast=1", "sl_points=200", "slow=2",
                                           "tp_points=350", "volume=0.10", NULL);
    td_strategy_t *strategy = strategy_of(&params);
    const td_price_t c[] = {114500000, 114400000, 114600000, 114300000};
    assert_int_equal(sim_close(&sim, strategy, 0, c[0]), 0);
    assert_int_equal(sim_close(&sim, strategy, 1, c[1]), 0);
    assert_int_equal(sim_close(&sim, strategy, 2, c[2]), 2);
    const td_order_intent_t *in = sim_intent(&sim);
    assert_int_equal(in->side, TD_SIDE_BUY);
    assert_int_equal(in->volume, 10000000);
    assert_int_equal(in->stop_loss, 114600000 - 200000);   /* 1.14600 - 0.00200 */
    assert_int_equal(in->take_profit, 114600000 + 350000); /* 1.14600 + 0.00350 */
    assert_int_equal(in->params_version, 7);
    assert_string_equal(in->reason, "cross_up");
    /* reversal to short: sell 0.2 with the short's stops */
    assert_int_equal(sim_close(&sim, strategy, 3, c[3]), 2);
    in = sim_intent(&sim);
    assert_int_equal(in->side, TD_SIDE_SELL);
    assert_int_equal(in->volume, 20000000);
    assert_int_equal(in->stop_loss, 114300000 + 200000);
    assert_int_equal(in->take_profit, 114300000 - 350000);
    td_strategy_destroy(strategy);

    /* a close-only intent carries no stops */
    sim_fini(&sim);
    sim_init(&sim, 5);
    params = params_of("sma_cross", 1, "direction=long", "fast=1", "sl_points=200", "slow=2", "tp_points=350",
                       "volume=1", NULL);
    strategy = strategy_of(&params);
    assert_int_equal(feed(&sim, strategy, 0, c, 3, NULL), 1);
    assert_int_equal(sim_close(&sim, strategy, 3, c[3]), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->stop_loss, 0);
    assert_int_equal(sim_intent(&sim)->take_profit, 0);

    /* stops without a symbol spec: refused, nothing changes */
    sim.ctx.spec = NULL;
    td_bar_t bar = bar_hlc(bar_time(4), c[2], c[2], c[2]);
    td_outbuf_clear(&sim.out);
    assert_int_equal(td_strategy_on_bar(strategy, &sim.ctx, &bar, &sim.out), TD_ERR_INVALID);
    assert_int_equal(sim.out.len, 0);
    td_strategy_destroy(strategy);

    /* no stops configured: 0 / 0 */
    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = sma("1", "2", "both");
    assert_int_equal(feed(&sim, strategy, 0, c, 3, NULL), 1);
    assert_int_equal(sim_intent(&sim)->stop_loss, 0);
    assert_int_equal(sim_intent(&sim)->take_profit, 0);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void random_closes(td_price_t *closes, size_t n, uint64_t seed, int64_t step_range)
{
    uint64_t s = seed;
    td_price_t c = 100000;
    for (size_t i = 0; i < n; i++) {
        c += (td_price_t)(rng_next(&s) % (uint64_t)(2 * step_range + 1)) - step_range;
        closes[i] = c;
    }
}

static void test_reconfigure_keeps_history(void **unused)
{
    (void)unused;
    enum { N = 400, SWITCH = 150 };
    td_price_t closes[N];
    random_closes(closes, N, 7, 30);

    /* A: fast 2 / slow 5 for SWITCH bars, then reconfigured to 3 / 40. B: 3 / 40 from the start.
     * From the switch on, both must decide identically (same history, warm at once). */
    sim_t a, b;
    sim_init(&a, 5);
    sim_init(&b, 5);
    td_params_changed_t pa = params_of("sma_cross", 1, "fast=2", "slow=5", "volume=1", NULL);
    td_params_changed_t pb = params_of("sma_cross", 2, "fast=3", "slow=40", "volume=1", NULL);
    td_strategy_t *sa = strategy_of(&pa), *sb = strategy_of(&pb);
    for (size_t i = 0; i < SWITCH; i++) {
        sim_close(&a, sa, i, closes[i]);
        sim_close(&b, sb, i, closes[i]);
    }
    char err[256];
    assert_int_equal(td_strategy_reconfigure(sa, &pb, err, sizeof err), TD_OK);
    assert_int_equal(td_strategy_params_version(sa), 2);
    a.ctx.position = b.ctx.position;
    td_buf_t la, lb;
    td_buf_init(&la);
    td_buf_init(&lb);
    size_t trades = 0;
    for (size_t i = SWITCH; i < N; i++) {
        trades += sim_close(&a, sa, i, closes[i]) > 0;
        log_outputs(&a.out, &la);
        sim_close(&b, sb, i, closes[i]);
        log_outputs(&b.out, &lb);
    }
    assert_true(trades >= 3);
    assert_int_equal(la.len, lb.len);
    assert_memory_equal(la.ptr, lb.ptr, la.len);

    /* a failed reconfigure changes nothing */
    td_buf_t before, after;
    td_buf_init(&before);
    td_buf_init(&after);
    assert_int_equal(td_strategy_encode(sa, &before), TD_OK);
    td_params_changed_t bad = params_of("sma_cross", 3, "fast=50", "slow=40", "volume=1", NULL);
    assert_int_equal(td_strategy_reconfigure(sa, &bad, err, sizeof err), TD_ERR_INVALID);
    td_params_changed_t other = params_of("breakout", 3, "lookback=20", "volume=1", NULL);
    assert_int_equal(td_strategy_reconfigure(sa, &other, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "breakout"));
    assert_int_equal(td_strategy_encode(sa, &after), TD_OK);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.ptr, after.ptr, before.len);
    assert_int_equal(td_strategy_params_version(sa), 2);

    td_buf_fini(&before);
    td_buf_fini(&after);
    td_buf_fini(&la);
    td_buf_fini(&lb);
    td_strategy_destroy(sa);
    td_strategy_destroy(sb);
    sim_fini(&a);
    sim_fini(&b);
}

static void expect_invalid(const td_params_changed_t *params, const char *needle)
{
    td_strategy_t *strategy = (td_strategy_t *)1;
    char err[256] = "";
    assert_int_equal(td_strategy_new(params, &strategy, err, sizeof err), TD_ERR_INVALID);
    assert_null(strategy);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_invalid_params(void **unused)
{
    (void)unused;
    td_params_changed_t p;
    p = params_of("sma_cross", 1, "fast=20", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "fast");
    p = params_of("sma_cross", 1, "fast=10", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "fast");
    p = params_of("sma_cross", 1, "fast=2", "slow=10", "volume=1", "colour=red", NULL);
    expect_invalid(&p, "unknown parameter 'colour'");
    p = params_of("sma_cross", 1, "fast=abc", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "'fast'");
    const char *bad_ints[] = {"fast=",   "fast= 2",  "fast=2 ", "fast=+2",
                              "fast=-2", "fast=2.0", "fast=0",  "fast=99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        p = params_of("sma_cross", 1, bad_ints[i], "slow=10", "volume=1", NULL);
        expect_invalid(&p, "'fast'");
    }
    p = params_of("sma_cross", 1, "fast=2", "slow=1001", "volume=1", NULL);
    expect_invalid(&p, "'slow'");
    p = params_of("sma_cross", 1, "fast=2", "slow=10", NULL);
    expect_invalid(&p, "missing required parameter 'volume'");
    p = params_of("sma_cross", 1, "slow=10", "volume=1", NULL);
    expect_invalid(&p, "missing required parameter 'fast'");
    const char *bad_vols[] = {"volume=0",   "volume=-1",          "volume=abc",
                              "volume=1e2", "volume=0.000000001", "volume=100001"};
    for (size_t i = 0; i < sizeof bad_vols / sizeof bad_vols[0]; i++) {
        p = params_of("sma_cross", 1, "fast=2", "slow=10", bad_vols[i], NULL);
        expect_invalid(&p, "'volume'");
    }
    p = params_of("sma_cross", 1, "direction=up", "fast=2", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "'direction'");
    p = params_of("sma_cross", 1, "fast=2", "sl_points=-5", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "'sl_points'");
    p = params_of("sma_cross", 1, "fast=2", "fast=3", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "given twice");
    p = params_of("sma_crossover", 1, "fast=2", "slow=10", "volume=1", NULL);
    expect_invalid(&p, "unknown strategy 'sma_crossover'");

    /* the edges of the ranges are fine */
    p = params_of("sma_cross", 1, "fast=999", "slow=1000", "volume=0.00000001", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    assert_string_equal(td_strategy_name(strategy), "sma_cross");
    td_strategy_destroy(strategy);
    p = params_of("sma_cross", 1, "fast=1", "slow=2", "volume=100000", "sl_points=0", "tp_points=10000000", NULL);
    strategy = strategy_of(&p);
    td_strategy_destroy(strategy);
}

/* The reference: SMA signs recomputed from scratch (O(n) per bar), the last-non-zero rule. */
static void test_differential_sums_vs_recompute(void **unused)
{
    (void)unused;
    enum { N = 10000 };
    td_price_t *closes = malloc(N * sizeof *closes);
    assert_non_null(closes);
    const unsigned pairs[][2] = {{1, 2}, {2, 4}, {3, 7}, {5, 20}, {10, 50}, {50, 200}, {200, 1000}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
        /* small steps make exact ties frequent */
        random_closes(closes, N, 1000 + k, k < 3 ? 2 : 40);
        const unsigned fast = pairs[k][0], slow = pairs[k][1];
        char f[32], s[32];
        snprintf(f, sizeof f, "%u", fast);
        snprintf(s, sizeof s, "%u", slow);
        td_strategy_t *strategy = sma(f, s, "both");
        sim_t sim;
        sim_init(&sim, 5);
        int last = 0;
        size_t crosses = 0, ties = 0;
        td_volume_t ref_position = 0;
        for (size_t i = 0; i < N; i++) {
            size_t n = sim_close(&sim, strategy, i, closes[i]);
            const char *want = NULL;
            if (i + 1 >= slow) {
                int64_t sf = 0, ss = 0;
                for (size_t j = i + 1 - fast; j <= i; j++)
                    sf += closes[j];
                for (size_t j = i + 1 - slow; j <= i; j++)
                    ss += closes[j];
                /* compare sf/fast with ss/slow by cross-multiplying in long double-free integers */
                __int128 lhs = (__int128)sf * slow, rhs = (__int128)ss * fast;
                int sign = lhs > rhs ? 1 : lhs < rhs ? -1 : 0;
                ties += sign == 0;
                if (sign != 0 && last != 0 && sign != last)
                    want = sign > 0 ? "cross_up" : "cross_down";
                if (sign != 0)
                    last = sign;
            }
            if (want) {
                crosses++;
                assert_true(n >= 1);
                assert_string_equal(sim_signal(&sim)->reason, want);
                ref_position = strcmp(want, "cross_up") == 0 ? LOT : -LOT;
            } else {
                assert_int_equal(n, 0);
            }
            assert_int_equal(sim.ctx.position, ref_position);
        }
        assert_true(crosses > 10);
        if (k < 3)
            assert_true(ties > 10);
        td_strategy_destroy(strategy);
        sim_fini(&sim);
    }
    free(closes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tie_between_negative_and_positive),
        cmocka_unit_test(test_tie_then_same_sign_no_trade),
        cmocka_unit_test(test_warmup_no_trade),
        cmocka_unit_test(test_directions_and_volumes),
        cmocka_unit_test(test_sl_tp_prices),
        cmocka_unit_test(test_reconfigure_keeps_history),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_differential_sums_vs_recompute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
