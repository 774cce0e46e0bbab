/* test_mt5.c - import/mt5.c on small files written here in MT5's exact export formats: UTF-8 with
 * LF, UTF-8 with CRLF, UTF-16LE with a BOM and CRLF; empty-field carry-over; bar timeframes. */
#include "import_test_util.h"

#include "core/timeutil.h"

#define TICK_HDR "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"
#define BAR_HDR "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"

static const char *const tick_lines[] = {
    TICK_HDR,
    "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t6",
    "2024.01.02\t00:00:00.456\t1.10401\t\t\t\t2",
    "2024.01.02\t00:00:01.000\t\t1.10420\t\t\t4",
    "2024.01.02\t00:00:02.500\t1.10390\t1.10395\t1.10392\t0.5\t",
    "2024.01.02\t00:00:02.500\t\t\t\t\t",
    NULL,
};

/* Joins lines with `eol`; as UTF-16LE with a BOM when utf16. Returns the byte length. */
static size_t build(uint8_t *out, size_t cap, const char *const *lines, const char *eol, bool utf16, bool utf8_bom)
{
    char text[65536];
    size_t n = 0;
    for (size_t i = 0; lines[i]; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", lines[i], eol);
    assert_true(n < sizeof text);
    size_t k = 0;
    if (utf16) {
        assert_true(2 + 2 * n <= cap);
        out[k++] = 0xff;
        out[k++] = 0xfe;
        for (size_t i = 0; i < n; i++) {
            out[k++] = (uint8_t)text[i];
            out[k++] = 0;
        }
    } else {
        assert_true(3 + n <= cap);
        if (utf8_bom) {
            memcpy(out, "\xef\xbb\xbf", 3);
            k = 3;
        }
        memcpy(out + k, text, n);
        k += n;
    }
    return k;
}

static void check_ticks(const collect_t *col, const td_import_stats_t *stats, int tz_minutes)
{
    assert_int_equal(col->len, 5);
    int64_t t0 = td_time_ms_from_civil(2024, 1, 2, 0, 0, 0, 123) - (int64_t)tz_minutes * 60000;
    const td_tick_t *t = &col->ev[0].u.tick;
    assert_string_equal(col->ev[0].source, "mt5");
    assert_int_equal(col->ev[0].time_ms, t0);
    assert_int_equal(t->bid, 110400000);
    assert_int_equal(t->ask, 110410000);
    assert_int_equal(t->flags, 6);
    /* ask carried over */
    t = &col->ev[1].u.tick;
    assert_int_equal(col->ev[1].time_ms, t0 + 333);
    assert_int_equal(t->bid, 110401000);
    assert_int_equal(t->ask, 110410000);
    assert_int_equal(t->flags, TD_TICK_FLAG_BID);
    /* bid carried over */
    t = &col->ev[2].u.tick;
    assert_int_equal(t->bid, 110401000);
    assert_int_equal(t->ask, 110420000);
    /* empty FLAGS: computed from what changed */
    t = &col->ev[3].u.tick;
    assert_int_equal(t->last, 110392000);
    assert_int_equal(t->volume, 50000000);
    assert_int_equal(t->flags, TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK | TD_TICK_FLAG_LAST | TD_TICK_FLAG_VOLUME);
    /* everything empty: the previous tick repeated, no flags */
    t = &col->ev[4].u.tick;
    assert_int_equal(col->ev[4].time_ms, col->ev[3].time_ms);
    assert_int_equal(t->bid, 110390000);
    assert_int_equal(t->ask, 110395000);
    assert_int_equal(t->last, 110392000);
    assert_int_equal(t->volume, 50000000);
    assert_int_equal(t->flags, 0);
    /* carried fields: tick 2: ASK LAST VOLUME; tick 3: BID LAST VOLUME; tick 5: all four */
    assert_int_equal(stats->unchanged, 3 + 3 + 4);
    assert_int_equal(stats->lines, 6);
    assert_int_equal(stats->events, 5);
}

static void ticks_in_three_encodings(void **state)
{
    (void)state;
    static const struct {
        const char *name, *eol;
        bool utf16, bom;
    } variants[] = {
        {"mt5_ticks_utf8_lf.csv", "\n", false, false},
        {"mt5_ticks_utf8_crlf.csv", "\r\n", false, false},
        {"mt5_ticks_utf8_bom_crlf.csv", "\r\n", false, true},
        {"mt5_ticks_utf16_crlf.csv", "\r\n", true, false},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        uint8_t raw[8192];
        size_t n = build(raw, sizeof raw, tick_lines, variants[i].eol, variants[i].utf16, variants[i].bom);
        char path[1024], err[256] = "";
        write_tmp(path, sizeof path, variants[i].name, raw, n);
        collect_t col = {0};
        td_import_stats_t stats;
        td_import_opts_t opts = opts_for(TD_FMT_MT5_TICKS, "EURUSD");
        opts.tz_offset_minutes = 120; /* broker time UTC+2 */
        td_err_t rc = td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err);
        if (rc != TD_OK)
            fail_msg("%s: %s", variants[i].name, err);
        check_ticks(&col, &stats, 120);
        collect_free(&col);
    }
}

static void write_lines(char *path, size_t pathlen, const char *name, const char *const *lines, const char *eol,
                        bool utf16)
{
    uint8_t raw[65536 * 2 + 8];
    size_t n = build(raw, sizeof raw, lines, eol, utf16, false);
    write_tmp(path, pathlen, name, raw, n);
}

#define BAD_TICKS(name, utf16, ...)                                   \
    do {                                                              \
        char path_[1024];                                             \
        write_lines(path_, sizeof path_, name, lines, "\r\n", utf16); \
        td_import_opts_t o_ = opts_for(TD_FMT_MT5_TICKS, "EURUSD");   \
        expect_parse_error(path_, &o_, __VA_ARGS__, NULL);            \
    } while (0)

static void bad_ticks(void **state)
{
    (void)state;
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t\t1.10410\t\t\t4", NULL};
        BAD_TICKS("mt5_first_empty.csv", false, ":2: BID: expected a price on the first tick");
    }
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t", NULL};
        BAD_TICKS("mt5_trunc.csv", false, ":2: fields: expected 7 TAB-separated fields (line has 6)");
    }
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t6",
                               "2024.01.02\t00:00:00.200\t1.10420\t\t\t\t2", NULL};
        /* the bid crosses the carried-over ask */
        BAD_TICKS("mt5_cross.csv", true, ":3: bid: expected bid <= ask (1.1041)", "'1.10420'");
    }
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t6",
                               "2024.01.02\t00:00:00.122\t1.10400\t1.10410\t\t\t6", NULL};
        BAD_TICKS("mt5_back.csv", false, ":3: time: expected a time at or after", "'00:00:00.122'");
    }
    {
        const char *lines[] = {TICK_HDR, "2024-01-02\t00:00:00.123\t1.10400\t1.10410\t\t\t6", NULL};
        BAD_TICKS("mt5_date.csv", false, ":2: DATE: expected a date YYYY.MM.DD", "'2024-01-02'");
    }
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1,10400\t1.10410\t\t\t6", NULL};
        BAD_TICKS("mt5_comma.csv", true, ":2: BID: expected a decimal price", "'1,10400'");
    }
    {
        const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t-6", NULL};
        BAD_TICKS("mt5_flags.csv", false, ":2: FLAGS: expected an unsigned integer");
    }
    {
        const char *lines[] = {"<DATE>\t<TIME>\t<BID>\t<ASK>", "2024.01.02\t00:00:00.123\t1.10400\t1.10410", NULL};
        BAD_TICKS("mt5_header.csv", true, ":1: header: expected the header <DATE>\\t<TIME>\\t<BID>\\t<ASK>\\t<LAST>");
    }
    {
        /* a bar file given as ticks */
        const char *lines[] = {BAR_HDR, NULL};
        BAD_TICKS("mt5_bars_as_ticks.csv", false, ":1: header: expected the header <DATE>\\t<TIME>\\t<BID>",
                  "found '<DATE>\\t<TIME>\\t<OPEN>");
    }
    /* UTF-16LE with a non-ASCII character (e acute, U+00E9) on line 2 */
    char path[1024];
    uint8_t raw[1024];
    const char *lines[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t6", NULL};
    size_t n = build(raw, sizeof raw, lines, "\r\n", true, false);
    raw[n - 4] = 0xe9;
    write_tmp(path, sizeof path, "mt5_utf16_nonascii.csv", raw, n);
    td_import_opts_t opts = opts_for(TD_FMT_MT5_TICKS, "EURUSD");
    expect_parse_error(path, &opts, ":2: encoding: expected ASCII characters in UTF-16LE", NULL);
    write_tmp(path, sizeof path, "mt5_utf16_odd.csv", raw, n - 1);
    expect_parse_error(path, &opts, "encoding: expected UTF-16LE text of whole 2-byte units", NULL);
    /* UTF-16BE is not an MT5 encoding */
    raw[0] = 0xfe;
    raw[1] = 0xff;
    write_tmp(path, sizeof path, "mt5_utf16be.csv", raw, n);
    expect_parse_error(path, &opts, ":1: encoding: expected UTF-8 text (this file starts with a UTF-16", NULL);
}

/* ---- bars ---- */

/* n M30 bars from 2024.01.05 (a Friday) 20:00, skipping the weekend; `time_fmt` 0 = HH:MM:SS, 1 = HH:MM. */
static size_t m30_lines(char (*store)[128], const char **lines, size_t n, int time_fmt)
{
    size_t k = 0;
    lines[k++] = BAR_HDR;
    int64_t t = td_time_ms_from_civil(2024, 1, 5, 20, 0, 0, 0);
    for (size_t i = 0; i < n; i++) {
        if (td_time_weekday(t, 0) == 6) /* Saturday 00:00 -> Sunday 22:00 */
            t += 46 * 3600000;
        int y;
        unsigned mo, d;
        td_time_civil_from_days(td_time_day_number(t), &y, &mo, &d);
        int64_t sod = (t % TD_MS_PER_DAY) / 1000;
        char tm[16];
        if (time_fmt)
            snprintf(tm, sizeof tm, "%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60));
        else
            snprintf(tm, sizeof tm, "%02d:%02d:00", (int)(sod / 3600), (int)(sod / 60 % 60));
        snprintf(store[i], 128, "%04d.%02u.%02u\t%s\t1.10400\t1.10500\t1.10300\t1.10450\t%zu\t0\t12", y, mo, d, tm,
                 100 + i);
        lines[k++] = store[i];
        t += 1800000;
    }
    lines[k] = NULL;
    return k;
}

static void bars_m30(void **state)
{
    (void)state;
    static char store[200][128];
    const char *lines[210];
    for (int fmt = 0; fmt < 2; fmt++) {
        m30_lines(store, lines, 150, fmt);
        char path[1024], err[256] = "";
        write_lines(path, sizeof path, fmt ? "mt5_bars_hhmm.csv" : "mt5_bars.csv", lines, "\r\n", fmt == 1);
        collect_t col = {0};
        td_import_stats_t stats;
        td_import_opts_t opts = opts_for(TD_FMT_MT5_BARS, "EURUSD");
        opts.price_divisor_digits = 5;
        td_err_t rc = td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err);
        if (rc != TD_OK)
            fail_msg("%s", err);
        assert_int_equal(col.len, 150);
        const td_bar_t *bar = &col.ev[0].u.bar;
        assert_int_equal(col.ev[0].kind, TD_EV_BAR);
        assert_int_equal(bar->timeframe_s, 1800);
        assert_int_equal(bar->open_time, td_time_ms_from_civil(2024, 1, 5, 20, 0, 0, 0));
        assert_int_equal(col.ev[0].time_ms, bar->open_time + 1800000);
        assert_int_equal(bar->open, 110400000);
        assert_int_equal(bar->high, 110500000);
        assert_int_equal(bar->low, 110300000);
        assert_int_equal(bar->close, 110450000);
        assert_int_equal(bar->tick_volume, 100);
        assert_int_equal(bar->spread_min, 12000); /* 12 points of 0.00001 */
        assert_int_equal(bar->spread_max, 12000);
        assert_int_equal(bar->spread_sum, 12000 * 100);
        /* the weekend gap is fine: Friday 23:30 then Sunday 22:00 */
        assert_int_equal(col.ev[8].u.bar.open_time, td_time_ms_from_civil(2024, 1, 7, 22, 0, 0, 0));
        collect_free(&col);
        /* digits unknown: no spread */
        opts.price_divisor_digits = 0;
        assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
        assert_int_equal(col.ev[0].u.bar.spread_min, 0);
        assert_int_equal(col.ev[0].u.bar.spread_sum, 0);
        collect_free(&col);
        /* the right timeframe given */
        opts.timeframe_s = 1800;
        assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
        collect_free(&col);
        /* a wrong one */
        opts.timeframe_s = 3600;
        expect_parse_error(path, &opts, ":3: timeframe: expected bars 3600 s apart as requested", NULL);
    }
}

static void bars_bad(void **state)
{
    (void)state;
    static char store[200][128];
    const char *lines[210];
    char path[1024];
    td_import_opts_t opts = opts_for(TD_FMT_MT5_BARS, "EURUSD");

    /* a daily bar (00:00 of the next day) inside the M30 file, after the timeframe is known */
    size_t k = m30_lines(store, lines, 150, 0);
    (void)k;
    snprintf(store[144], 128, "%.10s\t00:00:00\t1.10400\t1.10500\t1.10300\t1.10450\t100\t0\t12", store[145]);
    write_lines(path, sizeof path, "mt5_bars_daily.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":146: time: expected a bar at least 1800 s after the previous one", "at line 145",
                       NULL);

    /* a bar off the M30 grid after the sample */
    m30_lines(store, lines, 150, 0);
    memcpy(store[120] + 11, "10:15", 5);
    write_lines(path, sizeof path, "mt5_bars_grid.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":122: time: expected a bar open time on a multiple of the 1800 s timeframe", NULL);

    /* within the sample: time going backwards */
    m30_lines(store, lines, 10, 0);
    const char *tmp = lines[5];
    lines[5] = lines[6];
    lines[6] = tmp;
    write_lines(path, sizeof path, "mt5_bars_back.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":7: time: expected a time after the previous bar's", NULL);

    /* OHLC */
    m30_lines(store, lines, 3, 0);
    snprintf(store[1], 128, "2024.01.05\t20:30\t1.10400\t1.10440\t1.10300\t1.10450\t100\t0\t12");
    write_lines(path, sizeof path, "mt5_bars_high.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":3: HIGH: expected a high >= open and close", "'1.10440'", NULL);
    snprintf(store[1], 128, "2024.01.05\t20:30\t1.10400\t1.10500\t1.10300\t1.10450\t1.5\t0\t12");
    write_lines(path, sizeof path, "mt5_bars_tickvol.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":3: TICKVOL: expected an unsigned integer", NULL);
    snprintf(store[1], 128, "2024.01.05\t20:30:00.5\t1.10400\t1.10500\t1.10300\t1.10450\t1\t0\t12");
    write_lines(path, sizeof path, "mt5_bars_time.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":3: TIME: expected a time HH:MM[:SS]", NULL);
    snprintf(store[1], 128, "2024.01.05\t20:30\t1.10400\t1.10500\t1.10300\t1.10450\t1\t0");
    write_lines(path, sizeof path, "mt5_bars_trunc.csv", lines, "\n", false);
    expect_parse_error(path, &opts, ":3: fields: expected 9 TAB-separated fields (line has 8)", NULL);

    /* ticks given as bars */
    const char *tick_file[] = {TICK_HDR, "2024.01.02\t00:00:00.123\t1.10400\t1.10410\t\t\t6", NULL};
    write_lines(path, sizeof path, "mt5_ticks_as_bars.csv", tick_file, "\n", false);
    expect_parse_error(path, &opts, ":1: header: expected the header <DATE>\\t<TIME>\\t<OPEN>", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ticks_in_three_encodings),
        cmocka_unit_test(bad_ticks),
        cmocka_unit_test(bars_m30),
        cmocka_unit_test(bars_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
