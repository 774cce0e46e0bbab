/* test_source.c - backtest/source.c: the bars of a file, the kind of a --data value, and an empty
 * tape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../scratch_tape.h"
#include "backtest/source.h"
#include "bt_testutil.h"

static void test_kind(void **unused)
{
    (void)unused;
    assert_int_equal(td_bt_source_kind("tape"), TD_BT_TAPE);
    assert_int_equal(td_bt_source_kind("warehouse"), TD_BT_WAREHOUSE);
    assert_int_equal(td_bt_source_kind("tape.csv"), TD_BT_FILE);
}

/* A file the test writes comes back bar for bar, in order, with its timeframe and prices. */
static void test_file(void **unused)
{
    (void)unused;
    char path[1024], described[256], err[512] = "";
    snprintf(path, sizeof path, "%s/test_source_bars.csv", TD_TEST_BINARY_DIR);
    assert_int_equal(write_mt5_bars(path, 50), 0);
    td_config_t *config = td_config_new();
    assert_non_null(config);
    td_import_opts_t iopts = {.format = TD_FMT_MT5_BARS, .symbol = "EURUSD", .price_divisor_digits = 5};
    bar_list_t bars = {0};
    td_err_t rc = td_bt_source_read(config, TD_TEST_BINARY_DIR, path, "EURUSD", 0, &iopts, bar_list_sink, &bars,
                                    described, sizeof described, err, sizeof err);
    assert_int_equal(rc, TD_OK);
    assert_string_equal(described, path);
    assert_int_equal(bars.len, 50);
    assert_int_equal(bars.v[0].timeframe_s, 1800);
    assert_int_equal(bars.v[0].open_time, INT64_C(1704067200000));
    assert_int_equal(bars.v[0].open, PX5(110000));
    for (size_t i = 1; i < bars.len; i++) {
        assert_int_equal(bars.v[i].open_time - bars.v[i - 1].open_time, M30_MS);
        assert_true(bars.v[i].low <= bars.v[i].open && bars.v[i].open <= bars.v[i].high);
        assert_true(bars.v[i].low <= bars.v[i].close && bars.v[i].close <= bars.v[i].high);
    }
    free(bars.v);
    td_config_destroy(config);
    remove(path);
}

/* A file that does not exist: an error naming it, no bar. */
static void test_missing_file(void **unused)
{
    (void)unused;
    char described[256], err[512] = "";
    td_config_t *config = td_config_new();
    assert_non_null(config);
    td_import_opts_t iopts = {.format = TD_FMT_MT5_BARS, .symbol = "EURUSD", .price_divisor_digits = 5};
    bar_list_t bars = {0};
    td_err_t rc = td_bt_source_read(config, TD_TEST_BINARY_DIR, "/nonexistent/bars.csv", "EURUSD", 0, &iopts,
                                    bar_list_sink, &bars, described, sizeof described, err, sizeof err);
    assert_int_not_equal(rc, TD_OK);
    assert_non_null(strstr(err, "/nonexistent/bars.csv"));
    assert_int_equal(bars.len, 0);
    td_config_destroy(config);
}

/* A tape with no bars of the symbol: TD_ERR_NOT_FOUND naming the data directory. */
static void test_empty_tape(void **unused)
{
    (void)unused;
    char dir[1024], described[256], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "source", &tape);
    td_tape_close(tape);
    td_config_t *config = td_config_new();
    assert_non_null(config);
    bar_list_t bars = {0};
    td_err_t rc = td_bt_source_read(config, dir, "tape", "EURUSD", 0, NULL, bar_list_sink, &bars, described,
                                    sizeof described, err, sizeof err);
    assert_int_equal(rc, TD_ERR_NOT_FOUND);
    assert_non_null(strstr(err, dir));
    assert_non_null(strstr(described, "tape output stream EURUSD"));
    td_config_destroy(config);
    scratch_tape_remove(dir, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_empty_tape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
