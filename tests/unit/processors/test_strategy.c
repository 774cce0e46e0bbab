/* test_strategy.c - processors/strategy.c: the interface shared by both strategies: creation and
 * names, appending to the caller's output list, refusing bad bars without changing anything, the
 * bounded history, canonical state encoding (round trip, corrupt bytes) and a determinism test:
 * encode/decode after every bar gives the same outputs as an uninterrupted run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "processors/strategy_impl.h"
#include "strategy_testutil.h"

static void encode_ok(const td_strategy_t *strategy, td_buf_t *buf)
{
    td_buf_reset(buf);
    assert_int_equal(td_strategy_encode(strategy, buf), TD_OK);
}

static void assert_same_state(const td_strategy_t *a, const td_strategy_t *b)
{
    td_buf_t ea, eb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    encode_ok(a, &ea);
    encode_ok(b, &eb);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.ptr, eb.ptr, ea.len);
    td_buf_fini(&ea);
    td_buf_fini(&eb);
}

static void test_new_name_version_destroy(void **unused)
{
    (void)unused;
    td_params_changed_t p = params_of("sma_cross", 42, "fast=2", "slow=3", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    assert_string_equal(td_strategy_name(strategy), "sma_cross");
    assert_int_equal(td_strategy_params_version(strategy), 42);
    td_strategy_destroy(strategy);
    p = params_of("breakout", 3, "lookback=20", "volume=1", NULL);
    strategy = strategy_of(&p);
    assert_string_equal(td_strategy_name(strategy), "breakout");
    assert_int_equal(td_strategy_params_version(strategy), 3);
    td_strategy_destroy(strategy);
    td_strategy_destroy(NULL);

    /* errbuf may be NULL */
    p = params_of("martingale", 1, NULL);
    strategy = (td_strategy_t *)&p;
    assert_int_equal(td_strategy_new(&p, &strategy, NULL, 0), TD_ERR_INVALID);
    assert_null(strategy);
}

static void test_outputs_append_and_bad_bars_change_nothing(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    td_params_changed_t p = params_of("sma_cross", 1, "fast=1", "slow=2", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    sim_close(&sim, strategy, 0, 100);
    sim_close(&sim, strategy, 1, 90);

    /* outputs are appended after what the caller already has */
    td_outbuf_t out;
    td_outbuf_init(&out);
    assert_non_null(td_outbuf_add(&out, TD_EV_BAR));
    td_bar_t up = bar_hlc(bar_time(2), 100, 100, 100);
    td_buf_t before;
    td_buf_init(&before);
    encode_ok(strategy, &before);

    /* the same bar time again, an older one, high < low, close outside, a price beyond 2^52 */
    td_bar_t bad[5] = {bar_hlc(bar_time(1), 100, 100, 100), bar_hlc(bar_time(0), 100, 100, 100),
                       bar_hlc(bar_time(2), 90, 100, 95), bar_hlc(bar_time(2), 100, 90, 101),
                       bar_hlc(bar_time(2), INT64_C(1) << 53, 90, 100)};
    td_err_t want[5] = {TD_ERR_ORDER, TD_ERR_ORDER, TD_ERR_INVALID, TD_ERR_INVALID, TD_ERR_INVALID};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(td_strategy_on_bar(strategy, &sim.ctx, &bad[i], &out), want[i]);
        assert_int_equal(out.len, 1);
        td_buf_t now;
        td_buf_init(&now);
        encode_ok(strategy, &now);
        assert_int_equal(now.len, before.len);
        assert_memory_equal(now.ptr, before.ptr, now.len);
        td_buf_fini(&now);
    }
    assert_int_equal(td_strategy_on_bar(strategy, &sim.ctx, &up, &out), TD_OK);
    assert_int_equal(out.len, 3);
    assert_int_equal(out.ev[0].kind, TD_EV_BAR);
    assert_int_equal(out.ev[1].kind, TD_EV_SIGNAL);
    assert_int_equal(out.ev[2].kind, TD_EV_ORDER_INTENT);
    assert_string_equal(out.ev[2].u.intent.intent_id, "");
    /* envelope fields are the caller's */
    assert_string_equal(out.ev[2].symbol, "");
    assert_int_equal(out.ev[2].time_ms, 0);

    /* an overflowing position is refused and nothing is appended */
    sim.ctx.position = INT64_MAX;
    sim.ctx.pending = 1;
    out.len = 1;
    td_bar_t down = bar_hlc(bar_time(3), 50, 50, 50);
    encode_ok(strategy, &before);
    assert_int_equal(td_strategy_on_bar(strategy, &sim.ctx, &down, &out), TD_ERR_OVERFLOW);
    assert_int_equal(out.len, 1);
    td_buf_t now;
    td_buf_init(&now);
    encode_ok(strategy, &now);
    assert_int_equal(now.len, before.len);
    assert_memory_equal(now.ptr, before.ptr, now.len);
    td_buf_fini(&now);

    td_buf_fini(&before);
    td_outbuf_fini(&out);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_history_is_bounded(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    td_params_changed_t p = params_of("breakout", 1, "lookback=1000", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    for (size_t i = 0; i < 1500; i++)
        sim_close(&sim, strategy, i, 100000 + (td_price_t)(i % 7));
    assert_int_equal(strategy->hist_len, TD_STRATEGY_HISTORY_MAX);
    assert_int_equal(td_strategy__hist_at(strategy, 0)->open_time, bar_time(1500 - TD_STRATEGY_HISTORY_MAX));
    assert_int_equal(td_strategy__hist_at(strategy, TD_STRATEGY_HISTORY_MAX - 1)->open_time, bar_time(1499));
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

/* Random OHLC bars, a broker that fills at once and sometimes stops a position out. */
static void run(const td_params_changed_t *params, const td_params_changed_t *switch_to, size_t n, bool roundtrip,
                td_buf_t *log, td_buf_t *final_state)
{
    sim_t sim;
    sim_init(&sim, 5);
    td_strategy_t *strategy = strategy_of(params);
    uint64_t s = 99;
    td_price_t c = 114500000;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&s);
        td_price_t o = c;
        c += (td_price_t)(r % 40001) - 20000;
        td_price_t h = (o > c ? o : c) + (td_price_t)((r >> 20) % 10000);
        td_price_t l = (o < c ? o : c) - (td_price_t)((r >> 36) % 10000);
        if ((r >> 50) % 50 == 0)
            sim.ctx.position = 0; /* stopped out */
        td_bar_t bar = bar_hlc(bar_time(i), h, l, c);
        sim_bar(&sim, strategy, &bar);
        log_outputs(&sim.out, log);
        if (switch_to && i == n / 2) {
            char err[256];
            assert_int_equal(td_strategy_reconfigure(strategy, switch_to, err, sizeof err), TD_OK);
        }
        if (roundtrip) {
            td_buf_t enc;
            td_buf_init(&enc);
            encode_ok(strategy, &enc);
            td_strategy_t *fresh = NULL;
            assert_int_equal(td_strategy_decode(enc.ptr, enc.len, &fresh), TD_OK);
            assert_same_state(fresh, strategy);
            td_strategy_destroy(strategy);
            strategy = fresh;
            td_buf_fini(&enc);
        }
    }
    encode_ok(strategy, final_state);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void determinism(const td_params_changed_t *params, const td_params_changed_t *switch_to)
{
    td_buf_t l1, l2, s1, s2;
    td_buf_init(&l1);
    td_buf_init(&l2);
    td_buf_init(&s1);
    td_buf_init(&s2);
    run(params, switch_to, 2500, false, &l1, &s1);
    run(params, switch_to, 2500, true, &l2, &s2);
    assert_true(l1.len > 200); /* it traded */
    assert_int_equal(l1.len, l2.len);
    assert_memory_equal(l1.ptr, l2.ptr, l1.len);
    assert_int_equal(s1.len, s2.len);
    assert_memory_equal(s1.ptr, s2.ptr, s1.len);
    td_buf_fini(&l1);
    td_buf_fini(&l2);
    td_buf_fini(&s1);
    td_buf_fini(&s2);
}

static void test_determinism_sma_cross(void **unused)
{
    (void)unused;
    td_params_changed_t p = params_of("sma_cross", 1, "direction=both", "fast=5", "sl_points=150", "slow=20",
                                      "tp_points=300", "volume=0.3", NULL);
    td_params_changed_t q = params_of("sma_cross", 2, "direction=long", "fast=8", "slow=50", "volume=0.1", NULL);
    determinism(&p, &q);
}

static void test_determinism_breakout(void **unused)
{
    (void)unused;
    td_params_changed_t p =
        params_of("breakout", 1, "atr_n=14", "lookback=20", "max_hold=12", "session_end=20:00", "session_start=07:00",
                  "sl_atr=2", "tp_atr=3.5", "volume=1", "weekdays=12345", NULL);
    td_params_changed_t q = params_of("breakout", 2, "atr_n=5", "lookback=10", "sl_atr=1.5", "volume=2", NULL);
    determinism(&p, &q);
}

static void test_decode_restores_params(void **unused)
{
    (void)unused;
    td_params_changed_t p = params_of("breakout", 9, "lookback=20", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    td_params_changed_t q = params_of("breakout", 10, "atr_n=7", "lookback=30", "volume=1.5", NULL);
    char err[256];
    assert_int_equal(td_strategy_reconfigure(strategy, &q, err, sizeof err), TD_OK);
    td_buf_t enc;
    td_buf_init(&enc);
    assert_int_equal(td_buf_append(&enc, "ab", 2), TD_OK);
    assert_int_equal(td_strategy_encode(strategy, &enc), TD_OK); /* appends */
    assert_memory_equal(enc.ptr, "ab", 2);
    td_strategy_t *copy = NULL;
    assert_int_equal(td_strategy_decode(enc.ptr + 2, enc.len - 2, &copy), TD_OK);
    assert_string_equal(td_strategy_name(copy), "breakout");
    assert_int_equal(td_strategy_params_version(copy), 10);
    assert_int_equal(copy->cfg.brk.atr_n, 7);
    assert_int_equal(copy->cfg.brk.lookback, 30);
    assert_int_equal(copy->cfg.brk.volume, 150000000);
    td_strategy_destroy(copy);
    td_strategy_destroy(strategy);
    td_buf_fini(&enc);
}

/* Packs a hand-built state message. */
static void pack(const Td__StrategyState *msg, td_buf_t *buf)
{
    td_buf_reset(buf);
    size_t n = td__strategy_state__get_packed_size(msg);
    assert_int_equal(td_buf_reserve(buf, n), TD_OK);
    buf->len = td__strategy_state__pack(msg, buf->ptr);
}

static void expect_corrupt(const uint8_t *p, size_t n)
{
    td_strategy_t *strategy = (td_strategy_t *)&n;
    assert_int_equal(td_strategy_decode(p, n, &strategy), TD_ERR_CORRUPT);
    assert_null(strategy);
}

static void test_decode_refuses_bad_bytes(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    td_params_changed_t p = params_of("sma_cross", 1, "fast=2", "slow=3", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    for (size_t i = 0; i < 10; i++)
        sim_close(&sim, strategy, i, 100 + (td_price_t)(i * 7 % 5));
    td_buf_t good, bad;
    td_buf_init(&good);
    td_buf_init(&bad);
    encode_ok(strategy, &good);

    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0xff};
    expect_corrupt(garbage, sizeof garbage);
    expect_corrupt(good.ptr, good.len - 1);
    expect_corrupt((const uint8_t *)"", 0);
    /* an unknown field appended */
    const uint8_t unknown[] = {0x98, 0x06, 0x01};
    assert_int_equal(td_buf_append(&bad, good.ptr, good.len), TD_OK);
    assert_int_equal(td_buf_append(&bad, unknown, sizeof unknown), TD_OK);
    expect_corrupt(bad.ptr, bad.len);

    /* hand-built messages */
    Td__StrategyParam pv[3], *pp[3];
    const char *names[3] = {"fast", "slow", "volume"}, *values[3] = {"2", "3", "1"};
    for (int i = 0; i < 3; i++) {
        td__strategy_param__init(&pv[i]);
        pv[i].name = (char *)names[i];
        pv[i].value = (char *)values[i];
        pp[i] = &pv[i];
    }
    int64_t times[2] = {bar_time(0), bar_time(1)}, highs[2] = {110, 110}, lows[2] = {100, 100}, closes[2] = {105, 105};
    Td__SmaCrossState sma;
    Td__BreakoutState brk;
    td__sma_cross_state__init(&sma);
    td__breakout_state__init(&brk);
    Td__StrategyState msg;
    td__strategy_state__init(&msg);
    msg.strategy = "sma_cross";
    msg.params_version = 1;
    msg.n_params = 3;
    msg.params = pp;
    msg.n_hist_open_time = msg.n_hist_high = msg.n_hist_low = msg.n_hist_close = 2;
    msg.hist_open_time = times;
    msg.hist_high = highs;
    msg.hist_low = lows;
    msg.hist_close = closes;
    msg.sma_cross = &sma;

    pack(&msg, &bad); /* the well-formed one decodes */
    td_strategy_t *ok = NULL;
    assert_int_equal(td_strategy_decode(bad.ptr, bad.len, &ok), TD_OK);
    td_strategy_destroy(ok);

    msg.strategy = "martingale";
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    msg.strategy = "sma_cross";

    values[0] = "3"; /* fast == slow */
    pv[0].value = (char *)values[0];
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    pv[0].value = "2";

    msg.breakout = &brk; /* both sub-messages */
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    msg.breakout = NULL;
    msg.sma_cross = NULL; /* none */
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    msg.sma_cross = &sma;

    sma.last_sign = 2;
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    sma.last_sign = -1;

    times[1] = times[0]; /* history not increasing */
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    times[1] = bar_time(1);

    closes[1] = 111; /* close above high */
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    closes[1] = 105;

    msg.n_hist_close = 1; /* arrays of different lengths */
    pack(&msg, &bad);
    expect_corrupt(bad.ptr, bad.len);
    msg.n_hist_close = 2;

    /* breakout: atr_count above atr_n, a held count with a flat sign */
    td_params_changed_t bp = params_of("breakout", 1, "atr_n=3", "lookback=5", "volume=1", NULL);
    td_strategy_t *b = strategy_of(&bp);
    td_buf_t enc;
    td_buf_init(&enc);
    encode_ok(b, &enc);
    Td__StrategyState *m = td__strategy_state__unpack(NULL, enc.len, enc.ptr);
    assert_non_null(m);
    assert_non_null(m->breakout);
    m->breakout->atr_count = 4;
    m->breakout->atr_sum = 40;
    pack(m, &bad);
    expect_corrupt(bad.ptr, bad.len);
    m->breakout->atr_count = 0;
    m->breakout->atr_sum = 0;
    m->breakout->held_bars = 3;
    pack(m, &bad);
    expect_corrupt(bad.ptr, bad.len);
    m->breakout->held_bars = 0;
    pack(m, &bad);
    td_strategy_t *again = NULL;
    assert_int_equal(td_strategy_decode(bad.ptr, bad.len, &again), TD_OK);
    td_strategy_destroy(again);
    td__strategy_state__free_unpacked(m, NULL);

    td_buf_fini(&enc);
    td_strategy_destroy(b);
    td_buf_fini(&good);
    td_buf_fini(&bad);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_name_version_destroy),
        cmocka_unit_test(test_outputs_append_and_bad_bars_change_nothing),
        cmocka_unit_test(test_history_is_bounded),
        cmocka_unit_test(test_determinism_sma_cross),
        cmocka_unit_test(test_determinism_breakout),
        cmocka_unit_test(test_decode_restores_params),
        cmocka_unit_test(test_decode_refuses_bad_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
