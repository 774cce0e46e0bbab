/* test_breakout.c - processors/breakout.c: entries beyond the previous N bars' range, directions,
 * ATR (Wilder, integer) on a hand-computed example, stop/target prices and point rounding, the
 * session window and weekday mask (entries only; exits always), max_hold, parameter errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "processors/strategy_impl.h"
#include "strategy_testutil.h"

static size_t hlc(sim_t *sim, td_strategy_t *strategy, size_t i, td_price_t h, td_price_t l, td_price_t c)
{
    td_bar_t bar = bar_hlc(bar_time(i), h, l, c);
    return sim_bar(sim, strategy, &bar);
}

static void test_entries_and_directions(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    td_params_changed_t p = params_of("breakout", 1, "lookback=3", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    assert_int_equal(hlc(&sim, strategy, 0, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 1, 200, 101, 190), 0); /* far above, but only 1 bar known */
    assert_int_equal(hlc(&sim, strategy, 2, 111, 99, 100), 0);
    /* previous 3 highs: 110, 200, 111 -> close 200 is not above 200 */
    assert_int_equal(hlc(&sim, strategy, 3, 205, 150, 200), 0);
    /* previous 3: 200, 111, 205; close 206 > 205 (the bar's own high 210 is not in the range) */
    assert_int_equal(hlc(&sim, strategy, 4, 210, 150, 206), 2);
    assert_string_equal(sim_signal(&sim)->reason, "breakout_high");
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_LONG);
    assert_string_equal(sim_signal(&sim)->strategy, "breakout");
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    assert_int_equal(sim_intent(&sim)->volume, LOT);
    assert_int_equal(sim_intent(&sim)->stop_loss, 0);
    assert_int_equal(sim_intent(&sim)->take_profit, 0);
    /* another high while long: nothing to do */
    assert_int_equal(hlc(&sim, strategy, 5, 220, 200, 215), 0);
    /* previous 3 lows: 150, 150, 200 -> close 149 reverses: sell 2 */
    assert_int_equal(hlc(&sim, strategy, 6, 210, 140, 149), 2);
    assert_string_equal(sim_signal(&sim)->reason, "breakout_low");
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, 2 * LOT);
    assert_int_equal(sim.ctx.position, -LOT);
    td_strategy_destroy(strategy);

    /* long only: a low when flat does nothing; a low when long closes */
    sim_fini(&sim);
    sim_init(&sim, 5);
    p = params_of("breakout", 1, "direction=long", "lookback=2", "volume=0.5", NULL);
    strategy = strategy_of(&p);
    assert_int_equal(hlc(&sim, strategy, 0, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 1, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 2, 100, 90, 95), 0);
    assert_int_equal(hlc(&sim, strategy, 3, 130, 95, 120), 2);
    assert_int_equal(sim_intent(&sim)->volume, LOT / 2);
    assert_int_equal(hlc(&sim, strategy, 4, 120, 80, 85), 2);
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_FLAT);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, LOT / 2);
    assert_int_equal(sim.ctx.position, 0);
    td_strategy_destroy(strategy);

    /* short only: the mirror */
    sim_fini(&sim);
    sim_init(&sim, 5);
    p = params_of("breakout", 1, "direction=short", "lookback=2", "volume=1", NULL);
    strategy = strategy_of(&p);
    assert_int_equal(hlc(&sim, strategy, 0, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 1, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 2, 130, 100, 120), 0);
    assert_int_equal(hlc(&sim, strategy, 3, 120, 90, 95), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(hlc(&sim, strategy, 4, 140, 95, 135), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    assert_int_equal(sim.ctx.position, 0);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_atr_hand_computed(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 8);
    td_params_changed_t p = params_of("breakout", 1, "atr_n=3", "lookback=100", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    td_price_t atr = -1;
    /*  bar  H    L    C    TR                                   S = 3 x ATR     ATR (exact)      */
    /*  0    110  100  105  10 (first bar: H - L)                10              -                */
    /*  1    125  105  120  max(20, |125-105|, |105-105|) = 20   30              -                */
    /*  2    130  100  110  max(30, 10, 20) = 30                 60              20               */
    /*  3    160  150  155  max(10, 50, 40) = 50 (gap)           60-20+50 = 90   30               */
    /*  4    160  150  152  max(10, 5, 5) = 10                   90-30+10 = 70   23 (23.33)       */
    /*  5    158  150  151  max(8, 6, 2) = 8                     70-23+8 = 55    18 (18.22)       */
    /*  6    151  147  150  max(4, 0, 4) = 4                     55-18+4 = 41    14 (13.48)       */
    hlc(&sim, strategy, 0, 110, 100, 105);
    assert_false(td_strategy__breakout_atr(strategy, &atr));
    hlc(&sim, strategy, 1, 125, 105, 120);
    assert_false(td_strategy__breakout_atr(strategy, &atr));
    hlc(&sim, strategy, 2, 130, 100, 110);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 20);
    hlc(&sim, strategy, 3, 160, 150, 155);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 30);
    hlc(&sim, strategy, 4, 160, 150, 152);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 23);
    hlc(&sim, strategy, 5, 158, 150, 151);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 18);
    hlc(&sim, strategy, 6, 151, 147, 150);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 14);
    /* half up: n = 2, TRs 10 and 11 -> 10.5 -> 11 */
    td_strategy_destroy(strategy);
    p = params_of("breakout", 1, "atr_n=2", "lookback=100", "volume=1", NULL);
    strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 110, 100, 105);
    hlc(&sim, strategy, 1, 111, 100, 105);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 11);

    /* a reconfigure to another atr_n recomputes over the kept history: n = 3 over the same two
     * bars is still warming up; one more bar completes it (TR 10, 11, 12 -> 11) */
    char err[256];
    td_params_changed_t p3 = params_of("breakout", 2, "atr_n=3", "lookback=100", "volume=1", NULL);
    assert_int_equal(td_strategy_reconfigure(strategy, &p3, err, sizeof err), TD_OK);
    assert_false(td_strategy__breakout_atr(strategy, &atr));
    hlc(&sim, strategy, 2, 112, 100, 105);
    assert_true(td_strategy__breakout_atr(strategy, &atr));
    assert_int_equal(atr, 11);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_stop_and_target_prices(void **unused)
{
    (void)unused;
    sim_t sim;
    /* point 1e-8 (digits 8): no rounding. ATR(3) = 30 after bar 3 (see the hand-computed table). */
    sim_init(&sim, 8);
    td_params_changed_t p =
        params_of("breakout", 1, "atr_n=3", "lookback=2", "sl_atr=2", "tp_atr=3.5", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    assert_int_equal(hlc(&sim, strategy, 0, 110, 100, 105), 0);
    assert_int_equal(hlc(&sim, strategy, 1, 125, 105, 120), 0);
    /* bar 2: close 110 is inside the range of bars 0-1: nothing */
    assert_int_equal(hlc(&sim, strategy, 2, 130, 100, 110), 0);
    assert_int_equal(hlc(&sim, strategy, 3, 160, 150, 155), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    assert_int_equal(sim_intent(&sim)->stop_loss, 155 - 60);
    assert_int_equal(sim_intent(&sim)->take_profit, 155 + 105);
    td_strategy_destroy(strategy);

    /* EURUSD points (1000): ATR(1) = 123456; SL 2 x -> 246912 -> 247 points; TP 0.1 x -> 12346 ->
     * 12 points; a tiny multiple still gives one point */
    sim_fini(&sim);
    sim_init(&sim, 5);
    p = params_of("breakout", 1, "atr_n=1", "lookback=2", "sl_atr=2", "tp_atr=0.1", "volume=1", NULL);
    strategy = strategy_of(&p);
    assert_int_equal(hlc(&sim, strategy, 0, 114600000, 114500000, 114550000), 0);
    assert_int_equal(hlc(&sim, strategy, 1, 114620000, 114520000, 114560000), 0);
    assert_int_equal(hlc(&sim, strategy, 2, 114683456, 114560000, 114680000), 2);
    assert_int_equal(sim_intent(&sim)->stop_loss, 114680000 - 247000);
    assert_int_equal(sim_intent(&sim)->take_profit, 114680000 + 12000);
    /* reversal short: mirrored around the close, TR = 114680000 - 114000000 */
    assert_int_equal(hlc(&sim, strategy, 3, 114600000, 114000000, 114100000), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->stop_loss, 114100000 + 1360000); /* 2 x 680000 */
    assert_int_equal(sim_intent(&sim)->take_profit, 114100000 - 68000); /* 0.1 x 680000 */
    td_strategy_destroy(strategy);

    sim_fini(&sim);
    sim_init(&sim, 5);
    p = params_of("breakout", 1, "atr_n=1", "lookback=2", "sl_atr=0.001", "volume=1", NULL);
    strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 114600000, 114500000, 114550000);
    hlc(&sim, strategy, 1, 114620000, 114520000, 114560000);
    assert_int_equal(hlc(&sim, strategy, 2, 114683456, 114560000, 114680000), 2);
    assert_int_equal(sim_intent(&sim)->stop_loss, 114680000 - 1000);
    assert_int_equal(sim_intent(&sim)->take_profit, 0);

    /* stops need a ready ATR: with atr_n 5 the same entry waits */
    td_strategy_destroy(strategy);
    p = params_of("breakout", 1, "atr_n=5", "lookback=2", "sl_atr=1", "volume=1", NULL);
    strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 114600000, 114500000, 114550000);
    hlc(&sim, strategy, 1, 114620000, 114520000, 114560000);
    assert_int_equal(hlc(&sim, strategy, 2, 114683456, 114560000, 114680000), 0);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

/* Two quiet bars before t, then a bar at t that closes above them; returns the outputs of the last. */
static size_t breakout_at(const char *session_start, const char *session_end, const char *weekdays, int tz, int64_t t,
                          td_volume_t position)
{
    char s[40], e[40], w[40];
    snprintf(s, sizeof s, "session_start=%s", session_start);
    snprintf(e, sizeof e, "session_end=%s", session_end);
    snprintf(w, sizeof w, "weekdays=%s", weekdays);
    td_params_changed_t p = params_of("breakout", 1, "lookback=2", e, s, "volume=1", w, NULL);
    td_strategy_t *strategy = strategy_of(&p);
    sim_t sim;
    sim_init(&sim, 5);
    sim.ctx.tz_offset_minutes = tz;
    td_bar_t b0 = bar_hlc(t - 2 * M30_MS, 110, 100, 105), b1 = bar_hlc(t - M30_MS, 110, 100, 105);
    td_bar_t b2 = position >= 0 ? bar_hlc(t, 120, 100, 115) : bar_hlc(t, 110, 90, 95);
    sim_bar(&sim, strategy, &b0);
    sim_bar(&sim, strategy, &b1);
    sim.ctx.position = position;
    size_t n = sim_bar(&sim, strategy, &b2);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
    return n;
}

static int64_t utc(int d, unsigned h, unsigned m)
{
    return td_time_ms_from_civil(2019, 2, (unsigned)d, h, m, 0, 0);
}

static void test_session_window_and_weekdays(void **unused)
{
    (void)unused;
    const char *all = "0123456";
    /* [08:00, 16:00) on Monday 2019-02-04, trading clock = UTC */
    assert_int_equal(breakout_at("08:00", "16:00", all, 0, utc(4, 7, 30), 0), 0);
    assert_int_equal(breakout_at("08:00", "16:00", all, 0, utc(4, 8, 0), 0), 2);
    assert_int_equal(breakout_at("08:00", "16:00", all, 0, utc(4, 15, 30), 0), 2);
    assert_int_equal(breakout_at("08:00", "16:00", all, 0, utc(4, 16, 0), 0), 0);
    /* wrapping midnight: [22:00, 02:00) */
    assert_int_equal(breakout_at("22:00", "02:00", all, 0, utc(4, 21, 30), 0), 0);
    assert_int_equal(breakout_at("22:00", "02:00", all, 0, utc(4, 22, 0), 0), 2);
    assert_int_equal(breakout_at("22:00", "02:00", all, 0, utc(4, 23, 30), 0), 2);
    assert_int_equal(breakout_at("22:00", "02:00", all, 0, utc(5, 1, 30), 0), 2);
    assert_int_equal(breakout_at("22:00", "02:00", all, 0, utc(5, 2, 0), 0), 0);
    /* start == end: all day */
    assert_int_equal(breakout_at("05:00", "05:00", all, 0, utc(4, 3, 0), 0), 2);
    /* the window is on the trading-day clock: +120 -> 06:00 UTC is 08:00 */
    assert_int_equal(breakout_at("08:00", "16:00", all, 120, utc(4, 6, 0), 0), 2);
    assert_int_equal(breakout_at("08:00", "16:00", all, 120, utc(4, 14, 0), 0), 0);
    assert_int_equal(breakout_at("08:00", "16:00", all, -60, utc(4, 8, 30), 0), 0);
    assert_int_equal(breakout_at("08:00", "16:00", all, -60, utc(4, 9, 0), 0), 2);

    /* weekdays Mon..Fri */
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 0, utc(3, 12, 0), 0), 0);  /* Sunday */
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 0, utc(4, 12, 0), 0), 2);  /* Monday */
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 0, utc(8, 23, 30), 0), 2); /* Friday */
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 0, utc(9, 12, 0), 0), 0);  /* Saturday */
    /* with the New York roll (+420), Sunday 17:00 UTC is Monday of the trading week, Friday 17:00
     * UTC is Saturday */
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 420, utc(3, 17, 0), 0), 2);
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 420, utc(3, 16, 30), 0), 0);
    assert_int_equal(breakout_at("00:00", "00:00", "12345", 420, utc(8, 17, 0), 0), 0);
    assert_int_equal(breakout_at("00:00", "00:00", "0", 0, utc(3, 12, 0), 0), 2); /* Sunday only */

    /* exits are always allowed: long 1 lot, a low outside the session (and on a Sunday) closes it
     * instead of reversing */
    assert_int_equal(breakout_at("08:00", "16:00", all, 0, utc(4, 7, 0), LOT), 0); /* a high: no-op */
    td_params_changed_t p = params_of("breakout", 1, "lookback=2", "session_end=16:00", "session_start=08:00",
                                      "volume=1", "weekdays=12345", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    sim_t sim;
    sim_init(&sim, 5);
    int64_t t = utc(3, 7, 0);
    td_bar_t b0 = bar_hlc(t - 2 * M30_MS, 110, 100, 105), b1 = bar_hlc(t - M30_MS, 110, 100, 105);
    td_bar_t b2 = bar_hlc(t, 110, 90, 95);
    sim_bar(&sim, strategy, &b0);
    sim_bar(&sim, strategy, &b1);
    sim.ctx.position = LOT;
    assert_int_equal(sim_bar(&sim, strategy, &b2), 2);
    assert_string_equal(sim_signal(&sim)->reason, "breakout_low");
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_FLAT);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, LOT);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void test_max_hold(void **unused)
{
    (void)unused;
    sim_t sim;
    sim_init(&sim, 5);
    td_params_changed_t p = params_of("breakout", 1, "lookback=2", "max_hold=3", "volume=1", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 104, 100, 102);
    hlc(&sim, strategy, 1, 104, 100, 102);
    assert_int_equal(hlc(&sim, strategy, 2, 105, 100, 105), 2); /* entry, filled at once */
    assert_int_equal(sim.ctx.position, LOT);
    assert_int_equal(hlc(&sim, strategy, 3, 104, 100, 102), 0); /* held 1 */
    assert_int_equal(hlc(&sim, strategy, 4, 104, 100, 102), 0); /* held 2 */
    assert_int_equal(hlc(&sim, strategy, 5, 104, 100, 102), 2); /* held 3: out */
    assert_string_equal(sim_signal(&sim)->reason, "max_hold");
    assert_int_equal(sim_signal(&sim)->direction, TD_DIR_FLAT);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_SELL);
    assert_int_equal(sim_intent(&sim)->volume, LOT);
    assert_string_equal(sim_intent(&sim)->reason, "max_hold");
    assert_int_equal(sim.ctx.position, 0);
    /* flat again: a new high enters again */
    assert_int_equal(hlc(&sim, strategy, 6, 110, 100, 110), 2);
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    td_strategy_destroy(strategy);

    /* stopped out by the broker (position flat) resets the count */
    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 104, 100, 102);
    hlc(&sim, strategy, 1, 104, 100, 102);
    assert_int_equal(hlc(&sim, strategy, 2, 105, 100, 105), 2);
    assert_int_equal(hlc(&sim, strategy, 3, 104, 100, 102), 0); /* held 1 */
    sim.ctx.position = 0;                                       /* stopped out */
    assert_int_equal(hlc(&sim, strategy, 4, 104, 100, 102), 0); /* held 0 */
    assert_int_equal(hlc(&sim, strategy, 5, 110, 100, 110), 2); /* re-entry */
    assert_int_equal(hlc(&sim, strategy, 6, 110, 100, 105), 0); /* held 1 */
    assert_int_equal(hlc(&sim, strategy, 7, 110, 100, 105), 0); /* held 2 */
    assert_int_equal(hlc(&sim, strategy, 8, 110, 100, 105), 2); /* held 3 */
    assert_string_equal(sim_signal(&sim)->reason, "max_hold");

    /* the close is still in flight (position 1, pending -1): a new high takes no entry */
    sim.ctx.position = LOT;
    sim.ctx.pending = -LOT;
    assert_int_equal(hlc(&sim, strategy, 9, 130, 100, 130), 0);
    /* once flat, it may */
    sim.ctx.position = 0;
    sim.ctx.pending = 0;
    assert_int_equal(hlc(&sim, strategy, 10, 140, 100, 140), 2);
    td_strategy_destroy(strategy);

    /* a reversal restarts the count */
    sim_fini(&sim);
    sim_init(&sim, 5);
    strategy = strategy_of(&p);
    hlc(&sim, strategy, 0, 104, 100, 102);
    hlc(&sim, strategy, 1, 104, 100, 102);
    assert_int_equal(hlc(&sim, strategy, 2, 105, 100, 105), 2); /* long */
    assert_int_equal(hlc(&sim, strategy, 3, 104, 100, 102), 0); /* held 1 */
    assert_int_equal(hlc(&sim, strategy, 4, 104, 90, 95), 2);   /* held 2; low: reverse */
    assert_int_equal(sim.ctx.position, -LOT);
    assert_int_equal(hlc(&sim, strategy, 5, 100, 95, 98), 0); /* held 1 (short) */
    assert_int_equal(hlc(&sim, strategy, 6, 100, 95, 98), 0); /* held 2 */
    assert_int_equal(hlc(&sim, strategy, 7, 100, 95, 98), 2); /* held 3 */
    assert_string_equal(sim_signal(&sim)->reason, "max_hold");
    assert_int_equal(sim_intent(&sim)->side, TD_SIDE_BUY);
    td_strategy_destroy(strategy);
    sim_fini(&sim);
}

static void expect_invalid(const td_params_changed_t *params, const char *needle)
{
    td_strategy_t *strategy = NULL;
    char err[256] = "";
    assert_int_equal(td_strategy_new(params, &strategy, err, sizeof err), TD_ERR_INVALID);
    assert_null(strategy);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_invalid_params(void **unused)
{
    (void)unused;
    const char *cases[][2] = {
        {"lookback=1", "'lookback'"},
        {"lookback=1001", "'lookback'"},
        {"atr_n=0", "'atr_n'"},
        {"sl_atr=-1", "'sl_atr'"},
        {"tp_atr=x", "'tp_atr'"},
        {"sl_atr=101", "'sl_atr'"},
        {"session_start=8:00", "'session_start'"},
        {"session_end=24:00", "'session_end'"},
        {"session_start=12:60", "'session_start'"},
        {"weekdays=7", "'weekdays'"},
        {"weekdays=112", "'weekdays'"},
        {"weekdays=", "'weekdays'"},
        {"max_hold=-1", "'max_hold'"},
        {"direction=sideways", "'direction'"},
        {"fast=2", "unknown parameter 'fast'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *lookback = strncmp(cases[i][0], "lookback=", 9) == 0 ? cases[i][0] : "lookback=20";
        td_params_changed_t p = lookback == cases[i][0]
                                    ? params_of("breakout", 1, lookback, "volume=1", NULL)
                                    : params_of("breakout", 1, cases[i][0], lookback, "volume=1", NULL);
        expect_invalid(&p, cases[i][1]);
    }
    td_params_changed_t p = params_of("breakout", 1, "volume=1", NULL);
    expect_invalid(&p, "missing required parameter 'lookback'");
    p = params_of("breakout", 1, "atr_n=1000", "direction=short", "lookback=1000", "max_hold=1000000",
                  "session_end=23:59", "session_start=00:00", "sl_atr=100", "tp_atr=0.5", "volume=2.5",
                  "weekdays=6543210", NULL);
    td_strategy_t *strategy = strategy_of(&p);
    assert_string_equal(td_strategy_name(strategy), "breakout");
    td_strategy_destroy(strategy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries_and_directions),
        cmocka_unit_test(test_atr_hand_computed),
        cmocka_unit_test(test_stop_and_target_prices),
        cmocka_unit_test(test_session_window_and_weekdays),
        cmocka_unit_test(test_max_hold),
        cmocka_unit_test(test_invalid_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
