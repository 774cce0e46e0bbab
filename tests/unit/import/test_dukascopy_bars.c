/* test_dukascopy_bars.c - import/dukascopy_bars.c on the real H1 and H4 exports, and bad input. */
#include "import_test_util.h"

#include "core/timeutil.h"

static void real_files(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        uint32_t tf;
        size_t bars;
    } files[] = {
        {"bars/dukascopy-usa500-h1.csv", 3600, 53257},
        {"bars/dukascopy-deu40-h1.csv", 3600, 53521},
        {"bars/dukascopy-eurusd-h4.csv", 14400, 25847},
        {"bars/dukascopy-xauusd-h4.csv", 14400, 26630},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024], err[512] = "";
        SHARED_OR_SKIP(path, files[i].file);
        collect_t col = {0};
        td_import_stats_t stats;
        td_import_opts_t opts = opts_for(TD_FMT_DUKASCOPY_BARS, "X");
        td_err_t rc = td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err);
        if (rc != TD_OK)
            fail_msg("%s", err);
        assert_int_equal(col.len, files[i].bars);
        assert_int_equal(stats.lines, files[i].bars + 1);
        assert_int_equal(col.ev[0].u.bar.timeframe_s, files[i].tf);
        assert_string_equal(col.ev[0].source, "dukascopy");
        printf("  %s: %zu bars, timeframe %u s\n", files[i].file, col.len, col.ev[0].u.bar.timeframe_s);
        if (i == 1) {
            /* 2013-05-21 14:00:00	8434.5	8444	8423.8	8438.8	35 */
            const td_bar_t *bar = &col.ev[0].u.bar;
            assert_int_equal(bar->open_time, td_time_ms_from_civil(2013, 5, 21, 14, 0, 0, 0));
            assert_int_equal(bar->open, 843450000000);
            assert_int_equal(bar->high, 844400000000);
            assert_int_equal(bar->low, 842380000000);
            assert_int_equal(bar->close, 843880000000);
            assert_int_equal(bar->tick_volume, 35);
            assert_int_equal(bar->spread_max, 0);
        }
        /* the H1 file is not an H4 file */
        if (files[i].tf == 3600) {
            opts.timeframe_s = 14400;
            expect_parse_error(path, &opts, "timeframe: expected bars 14400 s apart as requested", NULL);
        }
        collect_free(&col);
    }
}

#define HDR "Time\tOpen\tHigh\tLow\tClose\tVolume\n"
#define L1 "2013-05-21 14:00:00\t8434.5\t8444\t8423.8\t8438.8\t35\n"

#define BAD(name, content, ...)                                     \
    do {                                                            \
        char path_[1024];                                           \
        write_tmp_str(path_, sizeof path_, name, content);          \
        td_import_opts_t o_ = opts_for(TD_FMT_DUKASCOPY_BARS, "X"); \
        expect_parse_error(path_, &o_, __VA_ARGS__, NULL);          \
    } while (0)

static void bad_input(void **state)
{
    (void)state;
    BAD("dbars_hdr.csv", L1 L1, ":1: header: expected the header Time\\tOpen");
    BAD("dbars_comma.csv", "Time,Open,High,Low,Close,Volume\n", ":1: header:", "found 'Time,Open");
    BAD("dbars_trunc.csv", HDR L1 "2013-05-21 15:00:00\t8434.5\t8444\t8423.8\n",
        ":3: fields: expected 6 TAB-separated");
    BAD("dbars_low.csv", HDR L1 "2013-05-21 15:00:00\t8434.5\t8444\t8435\t8438.8\t35\n",
        ":3: Low: expected a low <= open and close", "'8435'");
    BAD("dbars_nan.csv", HDR L1 "2013-05-21 15:00:00\t8434.5\tNaN\t8423.8\t8438.8\t35\n",
        ":3: High: expected a decimal price");
    BAD("dbars_zero.csv", HDR L1 "2013-05-21 15:00:00\t0\t8444\t8423.8\t8438.8\t35\n",
        ":3: Open: expected a price > 0");
    BAD("dbars_vol.csv", HDR L1 "2013-05-21 15:00:00\t8434.5\t8444\t8423.8\t8438.8\t-1\n",
        ":3: Volume: expected a volume >= 0");
    BAD("dbars_time.csv", HDR "2013-05-21T14:00:00\t8434.5\t8444\t8423.8\t8438.8\t35\n",
        ":2: Time: expected a time YYYY-MM-DD HH:MM:SS");
    BAD("dbars_dup.csv", HDR L1 L1,
        ":3: time: expected a time after the previous bar's ('2013-05-21 14:00:00' at line 2)");
    BAD("dbars_odd.csv",
        HDR L1 "2013-05-21 15:00:00\t8434.5\t8444\t8423.8\t8438.8\t35\n"
               "2013-05-21 15:00:01\t8434.5\t8444\t8423.8\t8438.8\t35\n",
        ":4: timeframe: expected a timeframe of 60..86400 s that divides a day");
    /* fractional volume: not a tick count, so 0 */
    char path[1024], err[256] = "";
    write_tmp_str(path, sizeof path, "dbars_fracvol.csv",
                  HDR "2013-05-21 14:00:00\t8434.5\t8444\t8423.8\t8438.8\t35.25\n"
                      "2013-05-21 16:00:00\t8434.5\t8444\t8423.8\t8438.8\t35\n");
    collect_t col = {0};
    td_import_opts_t opts = opts_for(TD_FMT_DUKASCOPY_BARS, "X");
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, NULL, err, sizeof err), TD_OK);
    assert_int_equal(col.len, 2);
    assert_int_equal(col.ev[0].u.bar.timeframe_s, 7200);
    assert_int_equal(col.ev[0].u.bar.tick_volume, 0);
    assert_int_equal(col.ev[1].u.bar.tick_volume, 35);
    collect_free(&col);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_files),
        cmocka_unit_test(bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
