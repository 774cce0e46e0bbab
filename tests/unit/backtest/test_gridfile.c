/* test_gridfile.c - backtest/gridfile.c: a grid file becomes the same spec as the command line,
 * symbols in order with paths resolved against the file's folder; every bad shape, and every bad
 * grid value (times of day included), is refused naming the line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backtest/gridfile.h"

static const char *write_file(const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/test_gridfile.yaml", TD_TEST_BINARY_DIR);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_good(void **state)
{
    (void)state;
    const char *path = write_file("strategy: sma_cross\n"
                                  "grid:\n"
                                  "  fast: 5:50:5\n"
                                  "  slow: [20, 50, 100]\n"
                                  "  direction: long|short\n"
                                  "  volume: 0.1\n"
                                  "symbols:\n"
                                  "  EURUSD:\n"
                                  "    data: bars/eurusd.csv\n"
                                  "    format: mt5-bars\n"
                                  "  XAUUSD:\n"
                                  "    data: /abs/xau.csv\n"
                                  "    format: lean-bars\n"
                                  "    tz_offset: -300\n"
                                  "  US500: {data: tape, timeframe: H1}\n"
                                  "walk_forward: 24m:6m\n");
    td_gridfile_t *file = malloc(sizeof *file);
    assert_non_null(file);
    char err[512] = "";
    td_err_t rc = td_gridfile_load(path, file, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s", err);
    assert_string_equal(file->strategy, "sma_cross");
    assert_string_equal(file->grid, "fast=5:50:5,slow=20|50|100,direction=long|short,volume=0.1");
    assert_int_equal(file->n_symbols, 3);
    assert_string_equal(file->symbols[2].data, "tape"); /* not a path: not resolved */
    assert_string_equal(file->symbols[2].format, "");
    assert_string_equal(file->symbols[2].timeframe, "H1");
    assert_string_equal(file->symbols[0].timeframe, "");
    assert_string_equal(file->symbols[0].symbol, "EURUSD");
    char want[1024];
    snprintf(want, sizeof want, "%s/bars/eurusd.csv", TD_TEST_BINARY_DIR);
    assert_string_equal(file->symbols[0].data, want);
    assert_string_equal(file->symbols[0].format, "mt5-bars");
    assert_int_equal(file->symbols[0].line, 8);
    assert_string_equal(file->symbols[1].data, "/abs/xau.csv");
    assert_int_equal(file->symbols[1].tz_offset_minutes, -300);
    assert_string_equal(file->walk_forward, "24m:6m");
    assert_string_equal(file->wf_metric, "");
    free(file);
}

static void bad(const char *text, const char *want)
{
    const char *path = write_file(text);
    td_gridfile_t *file = malloc(sizeof *file);
    assert_non_null(file);
    char err[512] = "";
    assert_int_equal(td_gridfile_load(path, file, err, sizeof err), TD_ERR_INVALID);
    if (!strstr(err, want))
        fail_msg("message '%s' lacks '%s'", err, want);
    assert_non_null(strstr(err, "test_gridfile.yaml:"));
    free(file);
}

static void test_bad(void **state)
{
    (void)state;
    const char *sym = "symbols:\n  EURUSD: {data: a.csv, format: mt5-bars}\n";
    char text[512];
    bad("strategy: sma_cross\n", "grid: missing");
    snprintf(text, sizeof text, "grid: {fast: 5}\n%s", sym);
    bad(text, "strategy: missing");
    snprintf(text, sizeof text, "strategy: sma_cross\ngrid: {}\n%s", sym);
    bad(text, "grid: expected a mapping");
    snprintf(text, sizeof text, "strategy: sma_cross\ngrid: {fast: []}\n%s", sym);
    bad(text, "empty list of values gives no combinations");
    bad("strategy: sma_cross\ngrid: {fast: 5}\n", "symbols: missing");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols: {}\n", "symbols: expected one or more");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols:\n  EURUSD: {data: a.csv}\n",
        "expected data: FILE with format: FORMAT, or data: tape|warehouse");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols:\n  EURUSD: {data: tape, format: mt5-bars}\n",
        "format is for files");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols:\n  EURUSD: {data: a.csv, format: mt5-bars, timeframe: H1}\n",
        "timeframe is for data: tape or warehouse");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols:\n  EURUSD: {data: a, format: b, speed: 3}\n",
        "unknown key 'speed'");
    bad("strategy: sma_cross\ngrid: {fast: 5}\nsymbols:\n  EURUSD: {data: a, format: b, tz_offset: 900}\n",
        "tz_offset: expected minutes");
    snprintf(text, sizeof text, "strategy: sma_cross\nthreads: 4\ngrid: {fast: 5}\n%s", sym);
    bad(text, ":2: unknown key 'threads'");
    bad("strategy: [a\n", "YAML");
    bad("- a\n- b\n", "expected a mapping");
}

/* Times of day: a value, a block or flow list, a range; the file gives the command line's spec, and
 * a bad time is refused with the line of its value. */
static void test_times(void **state)
{
    (void)state;
    const char *path = write_file("strategy: breakout\n"
                                  "grid:\n"
                                  "  lookback: 20\n"
                                  "  session_start: 08:00:12:00:30\n"
                                  "  session_end: [16:00, 17:30]\n"
                                  "  weekdays: 12345\n"
                                  "  max_hold:\n"
                                  "    - 0\n"
                                  "    - 10\n"
                                  "  volume: 0.1\n"
                                  "symbols:\n"
                                  "  EURUSD: {data: /abs/e.csv, format: mt5-bars}\n");
    td_gridfile_t *file = malloc(sizeof *file);
    assert_non_null(file);
    char err[512] = "";
    td_err_t rc = td_gridfile_load(path, file, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s", err);
    assert_string_equal(file->grid, "lookback=20,session_start=08:00:12:00:30,session_end=16:00|17:30,weekdays=12345,"
                                    "max_hold=0|10,volume=0.1");
    free(file);

    const char *sym = "symbols:\n  EURUSD: {data: a.csv, format: mt5-bars}\n";
    char text[512];
    snprintf(text, sizeof text, "strategy: breakout\ngrid:\n  lookback: 20\n  session_start: 08:00:25:00:30\n%s", sym);
    bad(text, ":4: grid: session_start=08:00:25:00:30: expected a time range HH:MM:HH:MM:STEP");
    snprintf(text, sizeof text, "strategy: breakout\ngrid:\n  session_end: [16:00, '7:30']\n%s", sym);
    bad(text, ":3: grid: session_end=16:00|7:30: value 2 '7:30': expected a time HH:MM in 00:00..23:59");
    snprintf(text, sizeof text, "strategy: breakout\ngrid:\n  lookback: 20\n\n  session_start: 12:00:08:00:30\n%s",
             sym);
    bad(text, ":5: grid: session_start=12:00:08:00:30: empty range");
    snprintf(text, sizeof text, "strategy: breakout\ngrid:\n  session_start: 24:00\n%s", sym);
    bad(text, "session_start=24:00: value 1 '24:00': expected a time HH:MM");
    snprintf(text, sizeof text, "strategy: breakout\ngrid:\n  session_start: 08:00:12:00:0\n%s", sym);
    bad(text, "the step must be 1..1439 minutes");
}

static void test_missing_file(void **state)
{
    (void)state;
    td_gridfile_t *file = malloc(sizeof *file);
    assert_non_null(file);
    char err[512] = "";
    assert_int_equal(td_gridfile_load("/nonexistent/grid.yaml", file, err, sizeof err), TD_ERR_IO);
    assert_non_null(strstr(err, "/nonexistent/grid.yaml"));
    free(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
