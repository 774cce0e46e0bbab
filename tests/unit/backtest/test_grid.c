/* test_grid.c - backtest/grid.c: spec parsing and errors, enumeration order, refusals counted, a
 * grid nothing of which the strategy accepts, the differential test (every combination's trades
 * from the threaded grid equal a plain one-set-at-a-time reference run) and determinism across
 * thread counts and windows. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backtest/grid.h"
#include "bt_testutil.h"
#include "processors/strategy.h"

static td_grid_t *parse_ok(const char *spec)
{
    td_grid_t *grid = NULL;
    char err[256] = "";
    td_err_t rc = td_grid_parse(spec, &grid, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("td_grid_parse(%s): %s %s", spec, td_err_name(rc), err);
    return grid;
}

static void parse_bad(const char *spec, const char *want)
{
    td_grid_t *grid = NULL;
    char err[256] = "";
    assert_int_equal(td_grid_parse(spec, &grid, err, sizeof err), TD_ERR_INVALID);
    assert_null(grid);
    if (!strstr(err, want))
        fail_msg("td_grid_parse(%s): message '%s' lacks '%s'", spec, err, want);
}

static void test_parse_and_order(void **state)
{
    (void)state;
    td_grid_t *grid = parse_ok("slow=20:40:10,fast=5:12:5,direction=long|short,volume=0.1:0.3:0.1,session_start=08:00");
    assert_int_equal(td_grid_count(grid), 3 * 2 * 2 * 3);
    assert_int_equal(td_grid_n_params(grid), 5);
    assert_string_equal(td_grid_param_name(grid, 0), "slow");
    char v[TD_PARAM_VALUE_MAX + 1];
    /* the first item changes slowest, the last fastest */
    td_grid_value(grid, 0, 0, v);
    assert_string_equal(v, "20");
    td_grid_value(grid, 0, 1, v);
    assert_string_equal(v, "5");
    td_grid_value(grid, 1, 3, v);
    assert_string_equal(v, "0.2");
    td_grid_value(grid, 2, 3, v);
    assert_string_equal(v, "0.3");
    td_grid_value(grid, 3, 2, v);
    assert_string_equal(v, "short");
    td_grid_value(grid, 6, 1, v);
    assert_string_equal(v, "10");
    td_grid_value(grid, 12, 0, v);
    assert_string_equal(v, "30");
    td_grid_value(grid, 35, 0, v);
    assert_string_equal(v, "40");
    td_grid_value(grid, 35, 4, v);
    assert_string_equal(v, "08:00");
    /* ParamsChanged values sorted by name */
    td_params_changed_t params;
    td_grid_params(grid, "sma_cross", 35, &params);
    assert_string_equal(params.strategy, "sma_cross");
    assert_int_equal(params.n_values, 5);
    const char *names[] = {"direction", "fast", "session_start", "slow", "volume"};
    const char *values[] = {"short", "10", "08:00", "40", "0.3"};
    for (int k = 0; k < 5; k++) {
        assert_string_equal(params.values[k].name, names[k]);
        assert_string_equal(params.values[k].value, values[k]);
    }
    td_grid_destroy(grid);
    grid = parse_ok("fast=5:50:5,slow=20:200:10,direction=both,volume=0.1");
    assert_int_equal(td_grid_count(grid), 10 * 19);
    td_grid_destroy(grid);
    td_grid_destroy(NULL);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("", "no combinations");
    parse_bad("fast=50:20:5", "no combinations");
    parse_bad("fast=", "no combinations");
    parse_bad("fast=5:20:0", "step must be > 0");
    parse_bad("fast=5:x:1", "expected a range");
    parse_bad("fast", "expected NAME=VALUES");
    parse_bad("=5", "expected NAME=VALUES");
    parse_bad("fast=5,fast=6", "given twice");
    parse_bad("fast=5,", "ends with ','");
    parse_bad("direction=long||short", "empty");
    parse_bad("a=1:100000:1,b=1:100000:1", "combinations");
    parse_bad("fast=1:2:3:4", "expected LO:HI:STEP");
    parse_bad("fast=1:2:3:4:5:6", "expected LO:HI:STEP, HH:MM:HH:MM:STEP");
}

static const td_bar_t *g_bars;
static size_t g_n;

static int load_bars(void **state)
{
    (void)state;
    g_bars = real_bars("bars/dukascopy-eurusd-h4.csv", TD_FMT_DUKASCOPY_BARS, 6000, &g_n);
    return 0;
}

static int free_bars(void **state)
{
    (void)state;
    free((void *)g_bars);
    return 0;
}

static td_backtest_config_t costly_config(void)
{
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "EURUSD");
    config.spec = eurusd_spec();
    config.spread = PX5(2);
    config.slippage_points = 1;
    config.commission_per_lot = MONEY(3);
    return config;
}

/* Rows as the grid hands them over: index, refusal, digest, trades. */
typedef struct collected {
    uint64_t next_index;
    uint64_t rows, refused;
    uint64_t digests[64];
    bool refused_at[64];
    trade_list_t trades[64];
    td_money_t final_equity[64];
} collected_t;

static td_err_t collect_row(void *opaque, const td_grid_row_t *row)
{
    collected_t *c = opaque;
    assert_int_equal(row->index, c->next_index); /* in order, none skipped */
    c->next_index++;
    c->rows++;
    assert_true(row->index < 64);
    c->refused_at[row->index] = row->refused;
    if (row->refused) {
        c->refused++;
        assert_non_null(strstr(row->message, "must be less than 'slow'"));
        return TD_OK;
    }
    c->digests[row->index] = row->result->trades_digest;
    c->final_equity[row->index] = row->result->final_equity;
    assert_int_equal(row->n_trades, row->result->trades.trades);
    for (size_t k = 0; k < row->n_trades; k++)
        assert_int_equal(trade_list_add(&c->trades[row->index], &row->trades[k]), TD_OK);
    return TD_OK;
}

static void collected_free(collected_t *c)
{
    for (int k = 0; k < 64; k++)
        free(c->trades[k].v);
}

/* Times of day: single values, lists, ranges HH:MM:HH:MM:STEP in minutes; every bad time names the
 * parameter, the value and what was expected. */
static void test_times(void **state)
{
    (void)state;
    td_grid_t *grid = parse_ok("lookback=20,session_start=08:00:12:00:30,session_end=16:00|17:30|00:00,volume=0.1");
    assert_int_equal(td_grid_count(grid), 9 * 3);
    char v[TD_PARAM_VALUE_MAX + 1];
    const char *starts[] = {"08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00", "11:30", "12:00"};
    for (uint64_t k = 0; k < 9; k++) {
        td_grid_value(grid, k * 3, 1, v);
        assert_string_equal(v, starts[k]);
    }
    td_grid_value(grid, 4, 2, v);
    assert_string_equal(v, "17:30");
    td_grid_value(grid, 26, 2, v);
    assert_string_equal(v, "00:00");
    td_params_changed_t params;
    td_grid_params(grid, "breakout", 5, &params); /* session_start 08:30, session_end 00:00 */
    assert_string_equal(params.values[2].name, "session_start");
    assert_string_equal(params.values[2].value, "08:30");
    assert_string_equal(params.values[1].name, "session_end");
    assert_string_equal(params.values[1].value, "00:00");
    td_grid_destroy(grid);
    /* the whole day every 7 minutes; a step past the last time; one time; leading zeros in the step */
    grid = parse_ok("session_start=00:00:23:59:7");
    assert_int_equal(td_grid_count(grid), 1439 / 7 + 1);
    td_grid_value(grid, td_grid_count(grid) - 1, 0, v);
    assert_string_equal(v, "23:55");
    td_grid_destroy(grid);
    grid = parse_ok("session_start=09:00:09:59:60");
    assert_int_equal(td_grid_count(grid), 1);
    td_grid_destroy(grid);
    grid = parse_ok("session_end=23:59:23:59:015");
    td_grid_value(grid, 0, 0, v);
    assert_string_equal(v, "23:59");
    td_grid_destroy(grid);
    /* the strategy takes them: every combination of a breakout grid over times is accepted */
    grid = parse_ok("lookback=20,session_start=08:00:09:00:30,session_end=17:00|00:00,volume=0.1");
    for (uint64_t k = 0; k < td_grid_count(grid); k++) {
        td_grid_params(grid, "breakout", k, &params);
        td_strategy_t *strategy = NULL;
        char err[256] = "";
        if (td_strategy_new(&params, &strategy, err, sizeof err) != TD_OK)
            fail_msg("combination %llu refused: %s", (unsigned long long)k, err);
        td_strategy_destroy(strategy);
    }
    td_grid_destroy(grid);

    parse_bad("session_start=08:00:25:00:30",
              "grid: session_start=08:00:25:00:30: expected a time range HH:MM:HH:MM:STEP (times 00:00..23:59, STEP in "
              "whole minutes");
    parse_bad("session_start=8:00:12:00:30", "session_start=8:00:12:00:30: expected a time range HH:MM:HH:MM:STEP");
    parse_bad("session_start=08:00:12:60:30", "expected a time range");
    parse_bad("session_start=08:00:12:00:", "expected a time range");
    parse_bad("session_start=08:00:12:00:x", "expected a time range");
    parse_bad("session_start=08:00:12:00:-5", "expected a time range");
    parse_bad("session_start=08:00:12:00:0", "session_start=08:00:12:00:0: the step must be 1..1439 minutes");
    parse_bad("session_start=08:00:12:00:1440", "the step must be 1..1439 minutes");
    parse_bad("session_start=22:00:02:00:60", "session_start=22:00:02:00:60: empty range");
    parse_bad("session_start=22:00:02:00:60", "does not wrap midnight");
    parse_bad("session_start=08:00|9:30", "grid: session_start=08:00|9:30: value 2 '9:30': expected a time HH:MM in "
                                          "00:00..23:59");
    parse_bad("session_end=24:00", "session_end=24:00: value 1 '24:00': expected a time HH:MM in 00:00..23:59");
    parse_bad("session_end=12:5", "value 1 '12:5': expected a time HH:MM");
    parse_bad("session_end=12:00|5:10:1", "value 2 '5:10:1': expected a time HH:MM");
    parse_bad("session_start=08:00,09:30",
              "grid: '09:30' after session_start=...: expected NAME=VALUES; several values of one parameter are "
              "separated by '|' (session_start=V1|V2|...)");
}

static void test_all_refused(void **state)
{
    (void)state;
    td_bar_t bars[3];
    for (int i = 0; i < 3; i++)
        bars[i] = bar_oc(td_time_ms_from_civil(2019, 2, 5, 2, 0, 0, 0), i, 110000, 110010);
    td_backtest_config_t config = costly_config();
    td_grid_t *grid = parse_ok("fast=20:30:5,slow=10:20:10,volume=1");
    td_grid_opts_t opts = {.threads = 2};
    td_grid_stats_t stats;
    collected_t c = {0};
    char err[512] = "";
    assert_int_equal(td_grid_run(grid, "sma_cross", &config, bars, 3, &opts, collect_row, &c, &stats, err, sizeof err),
                     TD_ERR_INVALID);
    assert_non_null(strstr(err, "refuses all 6 combinations"));
    assert_non_null(strstr(err, "must be less than 'slow'"));
    assert_int_equal(stats.refused, 6);
    assert_int_equal(c.rows, 0);
    td_grid_destroy(grid);
    /* a parameter the strategy does not know: every combination refused as well */
    grid = parse_ok("fast=5,slow=10,volume=1,colour=red");
    assert_int_equal(td_grid_run(grid, "sma_cross", &config, bars, 3, &opts, collect_row, &c, &stats, err, sizeof err),
                     TD_ERR_INVALID);
    assert_non_null(strstr(err, "unknown parameter 'colour'"));
    td_grid_destroy(grid);
}

static void test_differential_and_determinism(void **state)
{
    (void)state;
    if (!g_bars)
        skip();
    /* 4 x 3 x 2 = 24 combinations, the 12 with fast >= slow refused */
    const char *spec = "fast=10:40:10,slow=20:40:10,sl_points=0|400,volume=0.5";
    td_grid_t *grid = parse_ok(spec);
    td_backtest_config_t config = costly_config();
    const uint64_t count = td_grid_count(grid);
    assert_int_equal(count, 24);

    const struct {
        unsigned threads;
        size_t window;
    } runs[] = {{1, 0}, {2, 1}, {3, 5}, {2, 0}};
    collected_t *first = NULL;
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        collected_t *c = calloc(1, sizeof *c);
        td_grid_opts_t opts = {.threads = runs[r].threads, .window = runs[r].window, .collect_trades = true};
        td_grid_stats_t stats;
        char err[512] = "";
        td_err_t rc =
            td_grid_run(grid, "sma_cross", &config, g_bars, g_n, &opts, collect_row, c, &stats, err, sizeof err);
        if (rc != TD_OK)
            fail_msg("td_grid_run: %s %s", td_err_name(rc), err);
        assert_int_equal(c->rows, count);
        assert_int_equal(stats.combinations, count);
        assert_int_equal(stats.refused, 12);
        assert_int_equal(stats.evaluated, 12);
        assert_int_equal(stats.bar_steps, 12 * (uint64_t)g_n);
        assert_non_null(strstr(stats.first_refusal, "must be less than 'slow'"));
        if (!first) {
            first = c;
            /* the reference: each combination on its own, parameters written out by hand, every
             * bar through the fill model */
            for (uint64_t index = 0; index < count; index++) {
                int fast = 10 + 10 * (int)(index / 6), slow = 20 + 10 * (int)((index / 2) % 3);
                const char *sl = index % 2 ? "sl_points=400" : "sl_points=0";
                char f[32], s[32];
                snprintf(f, sizeof f, "fast=%d", fast);
                snprintf(s, sizeof s, "slow=%d", slow);
                td_params_changed_t params = params_of("sma_cross", f, sl, s, "volume=0.5", NULL);
                td_backtest_config_t ref_config = config;
                ref_config.reference = true;
                trade_list_t ref = {0};
                td_backtest_sink_t sink = {trade_list_add, NULL, &ref};
                td_backtest_result_t result;
                rc = td_backtest_run(&ref_config, &params, g_bars, g_n, &sink, &result, err, sizeof err);
                if (fast >= slow) {
                    assert_int_equal(rc, TD_ERR_INVALID);
                    assert_true(c->refused_at[index]);
                    continue;
                }
                assert_int_equal(rc, TD_OK);
                assert_false(c->refused_at[index]);
                assert_true(ref.len > 5);
                assert_int_equal(c->trades[index].len, ref.len);
                assert_memory_equal(c->trades[index].v, ref.v, ref.len * sizeof *ref.v);
                assert_int_equal(c->digests[index], result.trades_digest);
                assert_int_equal(c->final_equity[index], result.final_equity);
                free(ref.v);
            }
        } else {
            for (uint64_t index = 0; index < count; index++) {
                assert_int_equal(c->refused_at[index], first->refused_at[index]);
                assert_int_equal(c->digests[index], first->digests[index]);
                assert_int_equal(c->final_equity[index], first->final_equity[index]);
            }
            collected_free(c);
            free(c);
        }
    }
    collected_free(first);
    free(first);
    td_grid_destroy(grid);
}

/* A failing callback stops the run with its code; the rows before it were handed over in order. */
static td_err_t stop_at_3(void *opaque, const td_grid_row_t *row)
{
    uint64_t *seen = opaque;
    assert_int_equal(row->index, *seen);
    (*seen)++;
    return row->index == 3 ? TD_ERR_IO : TD_OK;
}

static void test_callback_stops(void **state)
{
    (void)state;
    td_bar_t bars[40];
    for (int i = 0; i < 40; i++)
        bars[i] = bar_oc(td_time_ms_from_civil(2019, 2, 5, 0, 0, 0, 0), i, 110000 + (i % 7) * 3, 110000 + (i % 5) * 4);
    td_backtest_config_t config = costly_config();
    td_grid_t *grid = parse_ok("fast=1:5:1,slow=6:9:1,volume=1");
    td_grid_opts_t opts = {.threads = 2, .window = 2};
    uint64_t seen = 0;
    char err[512] = "";
    assert_int_equal(td_grid_run(grid, "sma_cross", &config, bars, 40, &opts, stop_at_3, &seen, NULL, err, sizeof err),
                     TD_ERR_IO);
    assert_int_equal(seen, 4);
    td_grid_destroy(grid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_order), cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_times),           cmocka_unit_test(test_all_refused),
        cmocka_unit_test(test_callback_stops),  cmocka_unit_test(test_differential_and_determinism),
    };
    return cmocka_run_group_tests(tests, load_bars, free_bars);
}
