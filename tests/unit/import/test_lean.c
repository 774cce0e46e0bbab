/* test_lean.c - import/lean.c: the real OANDA/FXCM tick days and hourly bars, the parse rate, and
 * bad input. */
#include <dirent.h>

#include "import_test_util.h"

#include "core/timeutil.h"

/* Imports every file of a Lean tick folder (sorted by name), returns the tick count. */
static uint64_t import_folder(const char *dir, int tz, double *seconds, uint64_t *rounded)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n > 0);
    counter_t counter = {0};
    double total = 0;
    *rounded = 0;
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char path[2048], err[512] = "";
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            td_import_opts_t opts = opts_for(TD_FMT_LEAN_TICKS, "XAUUSD");
            opts.tz_offset_minutes = tz;
            td_import_stats_t stats;
            double t0 = now_s();
            td_err_t rc = td_import_file(path, &opts, count_sink, &counter, &stats, err, sizeof err);
            total += now_s() - t0;
            if (rc != TD_OK)
                fail_msg("%s", err);
            *rounded += stats.rounded;
        }
        free(names[i]);
    }
    free(names);
    *seconds = total;
    return counter.n;
}

static void real_oanda_xauusd_days(void **state)
{
    (void)state;
    char dir[1024];
    SHARED_OR_SKIP(dir, "ticks/lean-oanda-xauusd");
    double dt = 0;
    uint64_t rounded = 0;
    uint64_t n = import_folder(dir, 0, &dt, &rounded);
    /* 13 files; `wc -l` says 2,022,956 because no file ends with a line break: 2,022,956 + 13 */
    assert_int_equal(n, 2022969);
    assert_int_equal(rounded, 0);
    printf("  lean-ticks XAUUSD: %llu ticks in %.3f s = %.2f M ticks/s (import only, counting sink)\n",
           (unsigned long long)n, dt, (double)n / dt / 1e6);
}

static void real_oanda_eurusd_days(void **state)
{
    (void)state;
    char dir[1024];
    SHARED_OR_SKIP(dir, "ticks/lean-oanda-eurusd");
    double dt = 0;
    uint64_t rounded = 0;
    uint64_t n = import_folder(dir, 0, &dt, &rounded);
    assert_int_equal(n, 532903); /* 532,890 line breaks + 13 unterminated last lines */
    printf("  lean-ticks EURUSD (OANDA): %llu ticks, %.2f M ticks/s\n", (unsigned long long)n, (double)n / dt / 1e6);
}

/* FXCM's quotes are crossed (bid > ask) in about 10% of the ticks: the importer reports the first. */
static void real_fxcm_crossed_quotes_are_reported(void **state)
{
    (void)state;
    char path[1024];
    SHARED_OR_SKIP(path, "ticks/lean-fxcm-eurusd/20140501_eurusd_tick_quote.csv");
    td_import_opts_t opts = opts_for(TD_FMT_LEAN_TICKS, "EURUSD");
    opts.tz_offset_minutes = -300;
    /* the first crossed line: 364132,1.38724,1.38723 */
    expect_parse_error(path, &opts, ":37: bid: expected bid <= ask (1.38723), found '1.38724'", NULL);
}

static void first_tick_time_and_floor(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    write_tmp_str(path, sizeof path, "20140506_xauusd_tick_quote.csv",
                  "808.0672,1310.926,1311.237\n808.9999,1310.926,1311.24\n86399999,1310,1311");
    collect_t col = {0};
    td_import_stats_t stats;
    td_import_opts_t opts = opts_for(TD_FMT_LEAN_TICKS, "XAUUSD");
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
    assert_int_equal(col.len, 3);
    assert_string_equal(col.ev[0].source, "lean");
    int64_t day = td_time_ms_from_civil(2014, 5, 6, 0, 0, 0, 0);
    assert_int_equal(col.ev[0].time_ms, day + 808);
    assert_int_equal(col.ev[1].time_ms, day + 808); /* .9999 floored */
    assert_int_equal(col.ev[1].u.tick.flags, TD_TICK_FLAG_ASK);
    assert_int_equal(col.ev[0].u.tick.bid, 131092600000);
    assert_int_equal(col.ev[2].time_ms, day + 86399999);
    collect_free(&col);
    /* FXCM: UTC-05:00 */
    opts.tz_offset_minutes = -300;
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
    assert_int_equal(col.ev[0].time_ms, day + 808 + 5 * 3600000);
    collect_free(&col);
}

#define BAD(name, content, ...)                                      \
    do {                                                             \
        char path_[1024];                                            \
        write_tmp_str(path_, sizeof path_, name, content);           \
        td_import_opts_t o_ = opts_for(TD_FMT_LEAN_TICKS, "XAUUSD"); \
        expect_parse_error(path_, &o_, __VA_ARGS__, NULL);           \
    } while (0)

static void bad_ticks(void **state)
{
    (void)state;
    BAD("xauusd_tick_quote.csv", "1,2,3\n", ":0: file name: expected a name starting with the date");
    BAD("20141301_x.csv", "1,2,3\n", ":0: file name: expected a real calendar date", "'20141301'");
    BAD("20140506_trunc.csv", "808,1310.926,1311.237\n900,1310.9\n", ":2: fields: expected 3");
    BAD("20140506_nan.csv", "808,1310.926,1311.237\n900,1310.9,x1\n", ":2: ask: expected a decimal price", "'x1'");
    BAD("20140506_cross.csv", "808,1311.926,1311.237\n", ":1: bid: expected bid <= ask");
    BAD("20140506_zero.csv", "808,0,1311.237\n", ":1: bid: expected a price > 0");
    BAD("20140506_back.csv", "808,1310.926,1311.237\n807.9,1310.926,1311.237\n",
        ":2: time: expected a time at or after", "'807.9'");
    BAD("20140506_time.csv", "8e2,1310.926,1311.237\n", ":1: time: expected milliseconds since midnight", "'8e2'");
    BAD("20140506_day.csv", "86400000,1310.926,1311.237\n", ":1: time: expected milliseconds since midnight below");
    BAD("20140506_blank.csv", "808,1310.926,1311.237\n\n900,1310.926,1311.237\n", ":2: fields: expected 3");
    const char utf16[] = "\xff\xfe"
                         "8\0"
                         "0\0"
                         "8\0";
    char path[1024];
    write_tmp(path, sizeof path, "20140506_utf16.csv", utf16, sizeof utf16 - 1);
    td_import_opts_t opts = opts_for(TD_FMT_LEAN_TICKS, "XAUUSD");
    expect_parse_error(path, &opts, ":1: encoding: expected UTF-8", NULL);
}

static void real_bars(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int tz;
        uint64_t bars;
    } files[] = {
        {"bars/lean-oanda-xauusd-h1.csv", 0, 76499},
        {"bars/lean-oanda-eurusd-h1.csv", 0, 74439},
        {"bars/lean-oanda-nzdusd-h1.csv", 0, 74451},
        {"bars/lean-fxcm-eurusd-h1.csv", -300, 69928},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024], err[512] = "";
        SHARED_OR_SKIP(path, files[i].file);
        collect_t col = {0};
        td_import_stats_t stats;
        td_import_opts_t opts = opts_for(TD_FMT_LEAN_BARS, "X");
        opts.tz_offset_minutes = files[i].tz;
        double t0 = now_s();
        td_err_t rc = td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err);
        double dt = now_s() - t0;
        if (rc != TD_OK)
            fail_msg("%s", err);
        assert_int_equal(col.len, files[i].bars);
        assert_int_equal(col.ev[0].kind, TD_EV_BAR);
        assert_int_equal(col.ev[0].u.bar.timeframe_s, 3600);
        assert_int_equal(col.ev[0].time_ms, col.ev[0].u.bar.open_time + 3600000);
        printf("  %s: %zu H1 bars, %.2f M bars/s\n", files[i].file, col.len, (double)col.len / dt / 1e6);
        if (i == 0) {
            /* 20060320 00:00,552.8,554.7,552.4,554.2,0,555.3,... */
            assert_int_equal(col.ev[0].u.bar.open_time, td_time_ms_from_civil(2006, 3, 20, 0, 0, 0, 0));
            assert_int_equal(col.ev[0].u.bar.open, 55280000000);
            assert_int_equal(col.ev[0].u.bar.high, 55470000000);
            assert_int_equal(col.ev[0].u.bar.low, 55240000000);
            assert_int_equal(col.ev[0].u.bar.close, 55420000000);
            assert_int_equal(col.ev[0].u.bar.tick_volume, 0);
        }
        if (files[i].tz) /* 20070330 00:00 New York winter-less fixed offset = 05:00 UTC */
            assert_int_equal(col.ev[0].u.bar.open_time, td_time_ms_from_civil(2007, 3, 30, 5, 0, 0, 0));
        collect_free(&col);
    }
}

#define BARLINE(t) t ",1.1,1.2,1.0,1.15,0,1.2,1.3,1.1,1.25,0\n"

static void bad_bars(void **state)
{
    (void)state;
    char path[1024];
    td_import_opts_t opts = opts_for(TD_FMT_LEAN_BARS, "X");
    write_tmp_str(path, sizeof path, "lean_bars_hl.csv",
                  BARLINE("20070101 21:00") "20070101 22:00,1.1,1.05,1.0,1.15,0,1.2,1.3,1.1,1.25,0\n");
    expect_parse_error(path, &opts, ":2: bid high: expected a high >= open and close", "'1.05'", NULL);
    write_tmp_str(path, sizeof path, "lean_bars_asklow.csv",
                  BARLINE("20070101 21:00") "20070101 22:00,1.1,1.2,1.0,1.15,0,1.2,1.3,1.21,1.25,0\n");
    expect_parse_error(path, &opts, ":2: ask low: expected a low <= open and close", NULL);
    write_tmp_str(path, sizeof path, "lean_bars_time.csv", BARLINE("2007-01-01 21:00"));
    expect_parse_error(path, &opts, ":1: time: expected a time YYYYMMDD HH:mm", NULL);
    /* an M30 bar inside an H1 file */
    write_tmp_str(path, sizeof path, "lean_bars_m30.csv",
                  BARLINE("20070101 21:00") BARLINE("20070101 22:00") BARLINE("20070101 23:00")
                      BARLINE("20070101 23:30") BARLINE("20070102 00:00"));
    opts.timeframe_s = 3600;
    expect_parse_error(path, &opts, ":4: timeframe: expected bars 3600 s apart as requested", "1800 s", NULL);
    opts.timeframe_s = 0; /* inferred: the same file is a valid M30 file with gaps */
    collect_t col = {0};
    char err[256];
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, NULL, err, sizeof err), TD_OK);
    assert_int_equal(col.len, 5);
    assert_int_equal(col.ev[0].u.bar.timeframe_s, 1800);
    collect_free(&col);
    /* a daily bar at 00:00 followed by the 00:00 intraday bar */
    write_tmp_str(path, sizeof path, "lean_bars_daily.csv",
                  BARLINE("20070101 23:00") BARLINE("20070101 23:30") BARLINE("20070102 00:00")
                      BARLINE("20070102 00:00"));
    expect_parse_error(path, &opts, ":4: time: expected a time after the previous bar's ('20070102 00:00' at line 3)",
                       NULL);
    /* a single bar: the timeframe cannot be inferred ... */
    write_tmp_str(path, sizeof path, "lean_bars_one.csv", BARLINE("20070101 21:00"));
    expect_parse_error(path, &opts, ":1: timeframe: expected at least two bars", NULL);
    /* ... unless it is given */
    opts.timeframe_s = 3600;
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, NULL, err, sizeof err), TD_OK);
    assert_int_equal(col.len, 1);
    collect_free(&col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_oanda_xauusd_days),
        cmocka_unit_test(real_oanda_eurusd_days),
        cmocka_unit_test(real_fxcm_crossed_quotes_are_reported),
        cmocka_unit_test(first_tick_time_and_floor),
        cmocka_unit_test(bad_ticks),
        cmocka_unit_test(real_bars),
        cmocka_unit_test(bad_bars),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
