/* test_validate.c - backtest/validate.c: the DSR and PBO folded from a threaded grid's rows equal
 * those computed directly (dsr.c and pbo.c, tested on their own against independent values) from
 * every set's daily returns collected by plain one-set-at-a-time runs; refusals are no trials. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backtest/validate.h"
#include "bt_testutil.h"

typedef struct eq_list {
    double *v;
    size_t len, cap;
} eq_list_t;

static td_err_t eq_add(void *opaque, uint32_t day, td_money_t equity, double ret)
{
    (void)day, (void)equity;
    eq_list_t *l = opaque;
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->len++] = ret;
    return TD_OK;
}

static td_err_t fold(void *opaque, const td_grid_row_t *row)
{
    return td_validate_add(opaque, row);
}

static void test_against_direct(void **state)
{
    (void)state;
    size_t n = 60 * 48;
    td_bar_t *bars = calloc(n, sizeof *bars);
    assert_non_null(bars);
    int64_t t0 = td_time_ms_from_civil(2024, 1, 1, 0, 0, 0, 0), prev = 110000;
    for (size_t i = 0; i < n; i++) {
        int64_t close = 110000 + (int64_t)(200.0 * sin((double)i / 37.0) + 90.0 * sin((double)i / 13.0));
        bars[i] = bar_oc(t0, (int)i, prev, close);
        prev = close;
    }
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "EURUSD");
    config.spec = eurusd_spec();
    config.spread = PX5(2);
    td_grid_t *grid = NULL;
    char err[512] = "";
    /* fast=12 with slow=10 is refused: 11 of 12 combinations are trials */
    assert_int_equal(td_grid_parse("fast=3:12:3,slow=10:30:10,volume=1", &grid, err, sizeof err), TD_OK);
    td_validate_t *v = NULL;
    assert_int_equal(td_validate_new(td_grid_count(grid), 4, &v, err, sizeof err), TD_OK);
    td_grid_opts_t opts = {.threads = 2, .window = 3, .collect_equity = true};
    td_grid_stats_t stats;
    assert_int_equal(td_grid_run(grid, "sma_cross", &config, bars, n, &opts, fold, v, &stats, err, sizeof err), TD_OK);
    td_validation_t got;
    assert_int_equal(td_validate_finish(v, 2, &got), TD_OK);
    td_validate_destroy(v);

    /* direct */
    td_dsr_trials_t trials;
    td_dsr_trials_init(&trials);
    td_pbo_t *pbo = NULL;
    assert_int_equal(td_pbo_new(12, 60, 4, &pbo, err, sizeof err), TD_OK);
    bool have = false;
    uint64_t best = 0;
    double best_sharpe = 0;
    td_dsr_moments_t best_m;
    uint64_t evaluated = 0;
    for (uint64_t c = 0; c < td_grid_count(grid); c++) {
        td_params_changed_t params;
        td_grid_params(grid, "sma_cross", c, &params);
        eq_list_t eq = {0};
        td_backtest_sink_t sink = {.equity = eq_add, .opaque = &eq};
        td_backtest_result_t r;
        td_err_t rc = td_backtest_run(&config, &params, bars, n, &sink, &r, err, sizeof err);
        if (rc == TD_ERR_INVALID && r.refused) {
            free(eq.v);
            continue;
        }
        assert_int_equal(rc, TD_OK);
        evaluated++;
        assert_int_equal(eq.len, 60);
        td_dsr_moments_t m;
        td_dsr_moments(eq.v, eq.len, &m);
        td_dsr_trials_add(&trials, m.sharpe);
        if (!isnan(r.ratios.sharpe) && (!have || r.ratios.sharpe > best_sharpe)) {
            have = true;
            best = c;
            best_sharpe = r.ratios.sharpe;
            best_m = m;
        }
        assert_int_equal(td_pbo_add(pbo, eq.v, eq.len, err, sizeof err), TD_OK);
        free(eq.v);
    }
    assert_int_equal(evaluated, 11);
    assert_int_equal(got.trials, 11);
    assert_true(got.have_best && have);
    assert_int_equal(got.best_index, best);
    td_dsr_t want;
    td_dsr_compute(&best_m, evaluated, td_dsr_trials_variance(&trials), &want);
    assert_true(!isnan(want.dsr));
    assert_true(memcmp(&got.dsr, &want, sizeof want) == 0);
    td_pbo_result_t want_pbo;
    assert_int_equal(td_pbo_compute(pbo, 1, &want_pbo, err, sizeof err), TD_OK);
    assert_true(got.have_pbo);
    assert_true(memcmp(&got.pbo, &want_pbo, sizeof want_pbo) == 0);
    assert_int_equal(got.pbo.combinations, 6);
    td_pbo_destroy(pbo);
    td_grid_destroy(grid);
    free(bars);
}

static void test_bad_blocks_and_cap(void **state)
{
    (void)state;
    td_validate_t *v = NULL;
    char err[256] = "";
    assert_int_equal(td_validate_new(10, 5, &v, err, sizeof err), TD_ERR_INVALID);
    assert_null(v);
    /* more sets than the PBO cap: no PBO, and nothing allocated for it */
    assert_int_equal(td_validate_new((uint64_t)TD_PBO_MAX_TRIALS + 1, 16, &v, err, sizeof err), TD_OK);
    td_validation_t out;
    assert_int_equal(td_validate_finish(v, 1, &out), TD_OK);
    assert_false(out.have_pbo);
    assert_non_null(strstr(out.pbo_skipped, "memory bound"));
    assert_true(isnan(out.dsr.dsr));
    td_validate_destroy(v);
    td_validate_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_direct),
        cmocka_unit_test(test_bad_blocks_and_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
