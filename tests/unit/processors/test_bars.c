/* test_bars.c - processors/bars.c: boundaries, closing events, gaps, late ticks, alignment, spread
 * statistics, canonical state encoding (round trip, determinism, corrupt bytes) and real Dukascopy
 * ticks against Dukascopy's own candles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/timeutil.h"
#include "processors/bars.h"

#define P(x) ((td_price_t)(x)) /* prices in the tests are raw 1e-8 units */
#define MIN_MS INT64_C(60000)

/* 2019-02-04 hh:mm:ss.ms UTC */
static int64_t at(unsigned h, unsigned m, unsigned s, unsigned ms)
{
    return td_time_ms_from_civil(2019, 2, 4, h, m, s, ms);
}

static td_event_t tick(int64_t t, td_price_t bid, td_price_t ask)
{
    td_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TD_EV_TICK;
    ev.time_ms = t;
    ev.u.tick.bid = bid;
    ev.u.tick.ask = ask;
    ev.u.tick.flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK;
    return ev;
}

static td_event_t other(td_event_kind_t kind, int64_t t)
{
    td_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.time_ms = t;
    return ev;
}

/* Compares two states through their canonical encodings (struct padding is not state). */
static void assert_same_state(const td_bars_t *a, const td_bars_t *b)
{
    td_buf_t ea, eb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    assert_int_equal(td_bars_encode(a, &ea), TD_OK);
    assert_int_equal(td_bars_encode(b, &eb), TD_OK);
    assert_int_equal(ea.len, eb.len);
    assert_memory_equal(ea.ptr, eb.ptr, ea.len);
    td_buf_fini(&ea);
    td_buf_fini(&eb);
}

/* Steps one event and returns how many outputs it produced (all of them bars). */
static size_t step(td_bars_t *bars, td_event_t ev, td_outbuf_t *out)
{
    td_outbuf_clear(out);
    assert_int_equal(td_bars_step(bars, &ev, out), TD_OK);
    for (size_t i = 0; i < out->len; i++)
        assert_int_equal(out->ev[i].kind, TD_EV_BAR);
    return out->len;
}

static void test_boundaries(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 0, 0); /* default M30 */
    assert_int_equal(bars.timeframe_s, 1800);

    assert_int_equal(step(&bars, tick(at(10, 0, 0, 0), 100, 102), &out), 0);
    assert_int_equal(step(&bars, tick(at(10, 12, 0, 0), 110, 111), &out), 0);
    assert_int_equal(step(&bars, tick(at(10, 29, 59, 999), 90, 93), &out), 0);
    /* exactly at the end: closes the 10:00 bar, then opens 10:30 with this tick */
    assert_int_equal(step(&bars, tick(at(10, 30, 0, 0), 105, 106), &out), 1);
    const td_bar_t *b = &out.ev[0].u.bar;
    assert_int_equal(b->timeframe_s, 1800);
    assert_int_equal(b->open_time, at(10, 0, 0, 0));
    assert_int_equal(b->open, 100);
    assert_int_equal(b->high, 110);
    assert_int_equal(b->low, 90);
    assert_int_equal(b->close, 90);
    assert_int_equal(b->tick_volume, 3);
    assert_int_equal(b->late_ticks, 0);
    /* the caller fills the envelope */
    assert_int_equal(out.ev[0].time_ms, 0);
    assert_string_equal(out.ev[0].symbol, "");

    assert_true(bars.bar_open);
    assert_int_equal(bars.bar.open_time, at(10, 30, 0, 0));
    assert_int_equal(bars.bar.open, 105);
    assert_int_equal(bars.bar.tick_volume, 1);
    td_outbuf_fini(&out);
}

static void test_close_by_clock_and_other_events(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 1800, 0);
    assert_int_equal(step(&bars, tick(at(10, 5, 0, 0), 100, 101), &out), 0);
    /* a clock before the end changes nothing */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(10, 29, 59, 999)), &out), 0);
    assert_true(bars.bar_open);
    /* a clock at the end closes it */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(10, 30, 0, 0)), &out), 1);
    assert_int_equal(out.ev[0].u.bar.open_time, at(10, 0, 0, 0));
    assert_false(bars.bar_open);
    /* nothing open: more clocks emit nothing (no empty bars) */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(11, 30, 0, 0)), &out), 0);

    /* any other kind closes too: session mark, execution report, params, spec */
    td_event_kind_t kinds[] = {TD_EV_SESSION_MARK, TD_EV_EXEC_REPORT, TD_EV_PARAMS_CHANGED, TD_EV_SYMBOL_SPEC};
    int64_t t = at(12, 0, 0, 0);
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        assert_int_equal(step(&bars, tick(t + 1000, 100, 101), &out), 0);
        assert_int_equal(step(&bars, other(kinds[i], t + 1800 * 1000 - 1), &out), 0);
        assert_int_equal(step(&bars, other(kinds[i], t + 1800 * 1000 + 5), &out), 1);
        assert_int_equal(out.ev[0].u.bar.open_time, t);
        t += 2 * 1800 * 1000;
    }
    td_outbuf_fini(&out);
}

static void test_no_empty_bars_across_gap(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 1800, 0);
    assert_int_equal(step(&bars, tick(at(10, 5, 0, 0), 100, 101), &out), 0);
    /* next tick 3 hours later: one bar (10:00), not six */
    assert_int_equal(step(&bars, tick(at(13, 10, 0, 0), 200, 201), &out), 1);
    assert_int_equal(out.ev[0].u.bar.open_time, at(10, 0, 0, 0));
    assert_int_equal(bars.bar.open_time, at(13, 0, 0, 0));
    /* over a weekend */
    int64_t monday = td_time_ms_from_civil(2019, 2, 11, 0, 0, 1, 0);
    assert_int_equal(step(&bars, tick(monday, 300, 301), &out), 1);
    assert_int_equal(out.ev[0].u.bar.open_time, at(13, 0, 0, 0));
    assert_int_equal(bars.bar.open_time, monday - 1000);
    td_outbuf_fini(&out);
}

static void test_late_ticks(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 1800, 0);
    assert_int_equal(step(&bars, tick(at(10, 5, 0, 0), 100, 101), &out), 0);
    assert_int_equal(step(&bars, tick(at(10, 31, 0, 0), 120, 121), &out), 1);
    assert_int_equal(out.ev[0].u.bar.late_ticks, 0);
    /* before the open bar's start: counted, not folded */
    assert_int_equal(step(&bars, tick(at(10, 29, 0, 0), 1, 2), &out), 0);
    assert_int_equal(step(&bars, tick(at(9, 0, 0, 0), 999, 1000), &out), 0);
    assert_int_equal(bars.bar.tick_volume, 1);
    assert_int_equal(bars.bar.low, 120);
    assert_int_equal(bars.bar.high, 120);
    assert_int_equal(bars.bar.spread_max, 1);
    assert_int_equal(td_bars_late_total(&bars), 2);
    /* reported in the next emitted bar (the one open while they came) */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(11, 0, 0, 0)), &out), 1);
    assert_int_equal(out.ev[0].u.bar.late_ticks, 2);
    assert_int_equal(out.ev[0].u.bar.tick_volume, 1);
    assert_int_equal(out.ev[0].u.bar.open, 120);

    /* no bar open: before the last closed bar's end is late */
    assert_int_equal(step(&bars, tick(at(10, 59, 59, 999), 5, 6), &out), 0);
    assert_false(bars.bar_open);
    assert_int_equal(td_bars_late_total(&bars), 3);
    /* at the end is not late: opens 11:00 */
    assert_int_equal(step(&bars, tick(at(11, 0, 0, 0), 130, 131), &out), 0);
    assert_int_equal(bars.bar.open_time, at(11, 0, 0, 0));
    assert_int_equal(step(&bars, tick(at(11, 40, 0, 0), 140, 141), &out), 1);
    assert_int_equal(out.ev[0].u.bar.late_ticks, 1);
    /* the next bar starts counting from zero again, the total keeps running */
    assert_int_equal(step(&bars, tick(at(12, 0, 0, 0), 150, 151), &out), 1);
    assert_int_equal(out.ev[0].u.bar.late_ticks, 0);
    assert_int_equal(td_bars_late_total(&bars), 3);

    /* a late tick before any bar was ever closed, with none open, cannot exist: the first tick
     * opens a bar. A late non-tick event is simply ignored. */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(8, 0, 0, 0)), &out), 0);
    assert_int_equal(td_bars_late_total(&bars), 3);
    td_outbuf_fini(&out);
}

static void test_alignment_d1_m1_h4_with_offset(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);

    /* D1 with the New York 17:00 roll (+420): days start at 17:00 UTC */
    td_bars_init(&bars, 86400, 420);
    assert_int_equal(step(&bars, tick(at(16, 59, 59, 999), 100, 101), &out), 0);
    assert_int_equal(bars.bar.open_time, td_time_ms_from_civil(2019, 2, 3, 17, 0, 0, 0));
    assert_int_equal(bars.bar.open_time, td_time_trading_day_start(20190204, 420));
    assert_int_equal(step(&bars, tick(at(17, 0, 0, 0), 110, 111), &out), 1);
    assert_int_equal(out.ev[0].u.bar.open_time, td_time_ms_from_civil(2019, 2, 3, 17, 0, 0, 0));
    assert_int_equal(out.ev[0].u.bar.timeframe_s, 86400);
    assert_int_equal(bars.bar.open_time, at(17, 0, 0, 0));

    /* D1 with a negative offset (-60: the day starts at 01:00 UTC) */
    td_bars_init(&bars, 86400, -60);
    assert_int_equal(step(&bars, tick(at(0, 59, 0, 0), 100, 101), &out), 0);
    assert_int_equal(bars.bar.open_time, td_time_ms_from_civil(2019, 2, 3, 1, 0, 0, 0));
    assert_int_equal(step(&bars, tick(at(1, 0, 0, 0), 100, 101), &out), 1);
    assert_int_equal(bars.bar.open_time, at(1, 0, 0, 0));

    /* M1 with an offset of 7 minutes: still whole minutes */
    td_bars_init(&bars, 60, 7);
    assert_int_equal(step(&bars, tick(at(9, 3, 59, 999), 100, 101), &out), 0);
    assert_int_equal(bars.bar.open_time, at(9, 3, 0, 0));
    assert_int_equal(step(&bars, tick(at(9, 4, 0, 0), 100, 101), &out), 1);
    assert_int_equal(out.ev[0].u.bar.open_time, at(9, 3, 0, 0));

    /* H4 with +420: 17:00, 21:00, 01:00, ... UTC */
    td_bars_init(&bars, 14400, 420);
    assert_int_equal(step(&bars, tick(at(0, 30, 0, 0), 100, 101), &out), 0);
    assert_int_equal(bars.bar.open_time, td_time_ms_from_civil(2019, 2, 3, 21, 0, 0, 0));
    assert_int_equal(step(&bars, tick(at(1, 0, 0, 0), 100, 101), &out), 1);
    assert_int_equal(bars.bar.open_time, at(1, 0, 0, 0));

    /* M30 with +15: bars at hh:15 and hh:45 */
    td_bars_init(&bars, 1800, 15);
    assert_int_equal(step(&bars, tick(at(10, 14, 0, 0), 100, 101), &out), 0);
    assert_int_equal(bars.bar.open_time, at(9, 45, 0, 0));

    /* every timeframe, zero offset, before 1970 too (floor, not truncation) */
    const uint32_t tfs[] = {60, 300, 900, 1800, 3600, 14400, 86400};
    for (size_t i = 0; i < sizeof tfs / sizeof tfs[0]; i++) {
        assert_true(td_bars_timeframe_valid(tfs[i]));
        td_bars_init(&bars, tfs[i], 0);
        assert_int_equal(step(&bars, tick(-1, 100, 101), &out), 0);
        assert_int_equal(bars.bar.open_time, -(int64_t)tfs[i] * 1000);
    }
    assert_false(td_bars_timeframe_valid(0));
    assert_false(td_bars_timeframe_valid(120));
    assert_false(td_bars_timeframe_valid(604800));
    td_outbuf_fini(&out);
}

static void test_spread_stats(void **unused)
{
    (void)unused;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 60, 0);
    assert_int_equal(step(&bars, tick(at(10, 0, 1, 0), 114543000, 114545000), &out), 0); /* 2000 */
    assert_int_equal(step(&bars, tick(at(10, 0, 2, 0), 114544000, 114551000), &out), 0); /* 7000 */
    assert_int_equal(step(&bars, tick(at(10, 0, 3, 0), 114540000, 114541000), &out), 0); /* 1000 */
    assert_int_equal(step(&bars, tick(at(10, 0, 4, 0), 114542000, 114545000), &out), 0); /* 3000 */
    assert_int_equal(step(&bars, other(TD_EV_CLOCK, at(10, 1, 0, 0)), &out), 1);
    const td_bar_t *b = &out.ev[0].u.bar;
    assert_int_equal(b->spread_min, 1000);
    assert_int_equal(b->spread_max, 7000);
    assert_int_equal(b->spread_sum, 13000);
    assert_int_equal(b->tick_volume, 4);
    assert_int_equal(b->open, 114543000);
    assert_int_equal(b->high, 114544000);
    assert_int_equal(b->low, 114540000);
    assert_int_equal(b->close, 114542000);

    /* overflow of the spread sum is refused and changes nothing */
    td_bars_init(&bars, 60, 0);
    assert_int_equal(step(&bars, tick(at(10, 0, 1, 0), 0, INT64_MAX), &out), 0);
    td_bars_t before = bars;
    td_event_t ev = tick(at(10, 0, 2, 0), 0, 10);
    td_outbuf_clear(&out);
    assert_int_equal(td_bars_step(&bars, &ev, &out), TD_ERR_OVERFLOW);
    assert_same_state(&before, &bars);
    assert_int_equal(out.len, 0);
    td_outbuf_fini(&out);
}

/* ---- determinism: encode/decode mid-stream gives the same outputs as an uninterrupted run ---- */

static uint64_t rng_next(uint64_t *s)
{
    /* splitmix64: a fixed, seeded sequence */
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static size_t make_stream(td_event_t *evs, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    int64_t t = at(0, 0, 0, 0);
    td_price_t bid = 114500000;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng_next(&s);
        unsigned what = (unsigned)(r % 100);
        if (what < 2)
            t += (int64_t)(r >> 8) % (4 * 3600 * 1000); /* a gap */
        else
            t += (int64_t)((r >> 8) % 20000);
        bid += (td_price_t)((r >> 24) % 2001) - 1000;
        td_price_t spread = 1000 + (td_price_t)((r >> 40) % 3000);
        if (what < 90)
            evs[i] = tick(t, bid, bid + spread);
        else if (what < 95)
            evs[i] = tick(t - (int64_t)((r >> 16) % (3600 * 1000)), bid, bid + spread); /* maybe late */
        else
            evs[i] = other(TD_EV_CLOCK, t);
    }
    return n;
}

static void collect(td_bars_t *bars, const td_event_t *ev, td_buf_t *log)
{
    td_outbuf_t out;
    td_outbuf_init(&out);
    assert_int_equal(td_bars_step(bars, ev, &out), TD_OK);
    for (size_t i = 0; i < out.len; i++) {
        const td_bar_t *b = &out.ev[i].u.bar;
        assert_int_equal(td_buf_printf(log, "%u %lld %lld %lld %lld %lld %llu %lld %lld %lld %llu\n", b->timeframe_s,
                                       (long long)b->open_time, (long long)b->open, (long long)b->high,
                                       (long long)b->low, (long long)b->close, (unsigned long long)b->tick_volume,
                                       (long long)b->spread_min, (long long)b->spread_max, (long long)b->spread_sum,
                                       (unsigned long long)b->late_ticks),
                         TD_OK);
    }
    td_outbuf_fini(&out);
}

static void test_encode_decode_determinism(void **unused)
{
    (void)unused;
    enum { N = 20000 };
    td_event_t *evs = calloc(N, sizeof *evs);
    assert_non_null(evs);
    make_stream(evs, N, 42);

    td_bars_t straight;
    td_buf_t log1, log2, enc1, enc2;
    td_buf_init(&log1);
    td_buf_init(&log2);
    td_buf_init(&enc1);
    td_buf_init(&enc2);
    td_bars_init(&straight, 900, 0);
    for (size_t i = 0; i < N; i++)
        collect(&straight, &evs[i], &log1);
    assert_true(log1.len > 100 * 40);
    assert_true(td_bars_late_total(&straight) > 100);

    /* the same stream, the state encoded and decoded into a fresh object after every event */
    td_bars_t bars;
    td_bars_init(&bars, 900, 0);
    for (size_t i = 0; i < N; i++) {
        collect(&bars, &evs[i], &log2);
        td_buf_reset(&enc2);
        assert_int_equal(td_bars_encode(&bars, &enc2), TD_OK);
        td_bars_t fresh;
        td_bars_init(&fresh, 60, 0);
        assert_int_equal(td_bars_decode(&fresh, enc2.ptr, enc2.len), TD_OK);
        assert_same_state(&fresh, &bars);
        bars = fresh;
    }
    assert_int_equal(log1.len, log2.len);
    assert_memory_equal(log1.ptr, log2.ptr, log1.len);
    assert_int_equal(td_bars_encode(&straight, &enc1), TD_OK);
    assert_int_equal(enc1.len, enc2.len);
    assert_memory_equal(enc1.ptr, enc2.ptr, enc1.len);

    td_buf_fini(&log1);
    td_buf_fini(&log2);
    td_buf_fini(&enc1);
    td_buf_fini(&enc2);
    free(evs);
}

static void test_encode_appends_and_decode_refuses(void **unused)
{
    (void)unused;
    td_bars_t bars, copy;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 1800, 0);
    assert_int_equal(step(&bars, tick(at(10, 5, 0, 0), 100, 101), &out), 0);

    td_buf_t buf;
    td_buf_init(&buf);
    assert_int_equal(td_buf_append(&buf, "xy", 2), TD_OK);
    assert_int_equal(td_bars_encode(&bars, &buf), TD_OK);
    assert_memory_equal(buf.ptr, "xy", 2);
    td_bars_init(&copy, 60, 0);
    assert_int_equal(td_bars_decode(&copy, buf.ptr + 2, buf.len - 2), TD_OK);
    assert_same_state(&copy, &bars);

    td_bars_t before = copy;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(td_bars_decode(&copy, garbage, sizeof garbage), TD_ERR_CORRUPT);
    assert_int_equal(td_bars_decode(&copy, buf.ptr + 2, buf.len - 3), TD_ERR_CORRUPT); /* truncated */
    /* an unknown field (number 99, varint 1) appended */
    td_buf_t ext;
    td_buf_init(&ext);
    const uint8_t unknown[] = {0x98, 0x06, 0x01};
    assert_int_equal(td_buf_append(&ext, buf.ptr + 2, buf.len - 2), TD_OK);
    assert_int_equal(td_buf_append(&ext, unknown, sizeof unknown), TD_OK);
    assert_int_equal(td_bars_decode(&copy, ext.ptr, ext.len), TD_ERR_CORRUPT);
    /* empty bytes: timeframe 0 is not a state */
    assert_int_equal(td_bars_decode(&copy, (const uint8_t *)"", 0), TD_ERR_CORRUPT);
    /* an impossible state: high below low */
    td_bars_t bad = bars;
    bad.bar.high = 50;
    td_buf_reset(&ext);
    assert_int_equal(td_bars_encode(&bad, &ext), TD_OK);
    assert_int_equal(td_bars_decode(&copy, ext.ptr, ext.len), TD_ERR_CORRUPT);
    /* a misaligned bar */
    bad = bars;
    bad.bar.open_time += 1000;
    td_buf_reset(&ext);
    assert_int_equal(td_bars_encode(&bad, &ext), TD_OK);
    assert_int_equal(td_bars_decode(&copy, ext.ptr, ext.len), TD_ERR_CORRUPT);
    assert_same_state(&copy, &before);

    td_buf_fini(&ext);
    td_buf_fini(&buf);
    td_outbuf_fini(&out);
}

/* ---- real data: Dukascopy EURUSD ticks -> M30 bid bars == Dukascopy's M1 candles aggregated ---- */

#define DATA_TICKS TD_SHARED_DATA "/ticks/dukascopy-eurusd-2019-02-04_05.csv"
#define DATA_M1_4 TD_SHARED_DATA "/candles/dukascopy-eurusd-m1-bid-2019-02-04.csv"
#define DATA_M1_5 TD_SHARED_DATA "/candles/dukascopy-eurusd-m1-bid-2019-02-05.csv"

/* "2019-02-04 00:00:00.994" or "2019-02-04 00:00:00" */
static int parse_time(const char *s, int64_t *t)
{
    int y;
    unsigned mo, d, h, mi, sec, ms = 0;
    int n = 0;
    if (sscanf(s, "%4d-%2u-%2u %2u:%2u:%2u%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return -1;
    if (s[n] == '.' && sscanf(s + n + 1, "%3u", &ms) != 1)
        return -1;
    *t = td_time_ms_from_civil(y, mo, d, h, mi, sec, ms);
    return 0;
}

/* Splits a CSV line in place into at most max fields. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *p = line;
    while (n < max) {
        f[n++] = p;
        p = strchr(p, ',');
        if (!p)
            break;
        *p++ = '\0';
    }
    return n;
}

static td_price_t price(const char *s)
{
    int64_t v = 0;
    assert_int_equal(td_fx_parse(s, strcspn(s, ",\r\n"), &v, NULL), TD_OK);
    return v;
}

static void aggregate_m1(const char *path, td_bar_t *m30, size_t *n)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char *fl[6] = {0};
        assert_int_equal(split(line, fl, 6), 6);
        int64_t t;
        assert_int_equal(parse_time(fl[0], &t), 0);
        int64_t start = t - t % (1800 * 1000);
        td_bar_t *b = *n ? &m30[*n - 1] : NULL;
        if (!b || b->open_time != start) {
            assert_true(*n < 200);
            b = &m30[(*n)++];
            memset(b, 0, sizeof *b);
            b->open_time = start;
            b->open = price(fl[1]);
            b->high = price(fl[2]);
            b->low = price(fl[3]);
        }
        if (price(fl[2]) > b->high)
            b->high = price(fl[2]);
        if (price(fl[3]) < b->low)
            b->low = price(fl[3]);
        b->close = price(fl[4]);
    }
    fclose(f);
}

static void test_real_dukascopy_m30(void **unused)
{
    (void)unused;
    FILE *f = fopen(DATA_TICKS, "r");
    if (!f) {
        printf("SKIP test_real_dukascopy_m30: %s is absent (no ../shared/data here)\n", DATA_TICKS);
        skip();
    }
    td_bar_t want[200];
    size_t nwant = 0;
    aggregate_m1(DATA_M1_4, want, &nwant);
    aggregate_m1(DATA_M1_5, want, &nwant);
    assert_int_equal(nwant, 96);

    td_bar_t *got = calloc(200, sizeof *got);
    assert_non_null(got);
    size_t ngot = 0, nticks = 0;
    td_bars_t bars;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_bars_init(&bars, 1800, 0);
    char line[256];
    assert_non_null(fgets(line, sizeof line, f));
    int64_t last_t = 0;
    while (fgets(line, sizeof line, f)) {
        char *fl[5] = {0};
        assert_int_equal(split(line, fl, 5), 5);
        int64_t t;
        assert_int_equal(parse_time(fl[0], &t), 0);
        last_t = t;
        td_event_t ev = tick(t, price(fl[1]), price(fl[2]));
        td_outbuf_clear(&out);
        assert_int_equal(td_bars_step(&bars, &ev, &out), TD_OK);
        for (size_t i = 0; i < out.len; i++) {
            assert_true(ngot < 200);
            got[ngot++] = out.ev[i].u.bar;
        }
        nticks++;
    }
    fclose(f);
    /* the clock at the end of the second day closes the last bar */
    td_event_t clk = other(TD_EV_CLOCK, td_time_ms_from_civil(2019, 2, 6, 0, 0, 0, 0));
    assert_true(clk.time_ms > last_t);
    td_outbuf_clear(&out);
    assert_int_equal(td_bars_step(&bars, &clk, &out), TD_OK);
    assert_int_equal(out.len, 1);
    got[ngot++] = out.ev[0].u.bar;

    assert_int_equal(nticks, 266219);
    assert_int_equal(ngot, 96);
    uint64_t volume = 0;
    for (size_t i = 0; i < 96; i++) {
        assert_int_equal(got[i].open_time, want[i].open_time);
        assert_int_equal(got[i].open, want[i].open);
        assert_int_equal(got[i].high, want[i].high);
        assert_int_equal(got[i].low, want[i].low);
        assert_int_equal(got[i].close, want[i].close);
        assert_int_equal(got[i].late_ticks, 0);
        assert_true(got[i].spread_min >= 0 && got[i].spread_min <= got[i].spread_max);
        volume += got[i].tick_volume;
    }
    assert_int_equal(volume, nticks);
    assert_int_equal(td_bars_late_total(&bars), 0);
    td_outbuf_fini(&out);
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_close_by_clock_and_other_events),
        cmocka_unit_test(test_no_empty_bars_across_gap),
        cmocka_unit_test(test_late_ticks),
        cmocka_unit_test(test_alignment_d1_m1_h4_with_offset),
        cmocka_unit_test(test_spread_stats),
        cmocka_unit_test(test_encode_decode_determinism),
        cmocka_unit_test(test_encode_appends_and_decode_refuses),
        cmocka_unit_test(test_real_dukascopy_m30),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
