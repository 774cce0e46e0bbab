/* test_propose.c - backtest/propose.c: which thresholds a report's best set fails, and the
 * parameter file it writes, read back with core/params_file.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "backtest/propose.h"
#include "bt_testutil.h"
#include "core/params_file.h"

static const td_bt_thresholds_t thresholds = {
    .min_dsr = 0.95, .max_pbo = 0.5, .min_oos_trades = 30, .min_oos_sharpe = 0};

/* A report whose best set passes every threshold. */
static td_bt_report_t passing_report(void)
{
    td_bt_report_t r;
    memset(&r, 0, sizeof r);
    snprintf(r.symbol, sizeof r.symbol, "EURUSD");
    snprintf(r.strategy, sizeof r.strategy, "sma_cross");
    snprintf(r.grid, sizeof r.grid, "fast=5:15:5,slow=40");
    snprintf(r.data, sizeof r.data, "bars.csv");
    r.have_best = true;
    r.best_index = 1;
    r.params = params_of("sma_cross", "fast=10", "slow=40", "volume=0.1", NULL);
    r.best_sharpe = 1.2;
    r.best_trades = 120;
    r.dsr = 0.97;
    r.pbo = 0.2;
    r.pbo_combinations = 70;
    r.trials = 3;
    r.have_wf = true;
    snprintf(r.wf_spec, sizeof r.wf_spec, "24m:6m");
    snprintf(r.wf_metric, sizeof r.wf_metric, "sharpe");
    r.wf_trades = 40;
    r.wf_sharpe = 0.8;
    return r;
}

static char *judge(const td_bt_report_t *r, td_buf_t *fails)
{
    td_buf_reset(fails);
    td_bt_propose_judge(fails, r, &thresholds);
    assert_int_equal(td_buf_error(fails), TD_OK);
    return (char *)td_buf_cstr(fails);
}

static void test_judge(void **unused)
{
    (void)unused;
    td_buf_t fails;
    td_buf_init(&fails);
    td_bt_report_t r = passing_report();
    assert_string_equal(judge(&r, &fails), "");

    r.dsr = 0.5;
    r.pbo = NAN; /* no PBO in the report */
    r.wf_trades = 29;
    const char *text = judge(&r, &fails);
    const char *dsr = strstr(text, "DSR 0.5 is below params.min_dsr 0.95");
    const char *pbo = strstr(text, "PBO is missing from the report (params.max_pbo 0.5)");
    const char *trades = strstr(text, "out-of-sample trades 29 are fewer than params.min_oos_trades 30");
    assert_non_null(dsr);
    assert_non_null(pbo);
    assert_non_null(trades);
    assert_true(dsr < pbo && pbo < trades);
    assert_null(strstr(text, "Sharpe"));

    r = passing_report();
    r.have_wf = false;
    text = judge(&r, &fails);
    assert_non_null(strstr(text, "no walk-forward in the report"));
    td_buf_fini(&fails);
}

/* The file reads back as written, quotes and all, with the next version; the same report gives
 * the same bytes. */
static void test_file_round_trip(void **unused)
{
    (void)unused;
    td_bt_report_t r = passing_report();
    r.params = params_of("sma_cross", "fast=10", "note=it's", "slow=40", NULL);
    td_buf_t text, again;
    td_buf_init(&text);
    td_buf_init(&again);
    td_bt_propose_file(&text, "EURUSD", &r, &thresholds, "EURUSD.params.yaml", "report.json", 4);
    td_bt_propose_file(&again, "EURUSD", &r, &thresholds, "EURUSD.params.yaml", "report.json", 4);
    assert_int_equal(td_buf_error(&text), TD_OK);
    assert_int_equal(text.len, again.len);
    assert_memory_equal(text.ptr, again.ptr, text.len);

    char path[1024], err[512] = "";
    snprintf(path, sizeof path, "%s/test_propose.params.yaml", TD_TEST_BINARY_DIR);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text.ptr, 1, text.len, f), text.len);
    assert_int_equal(fclose(f), 0);
    td_params_file_t file;
    td_err_t rc = td_params_file_load(path, &file, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s: %s", td_err_name(rc), err);
    assert_string_equal(file.symbol, "EURUSD");
    assert_int_equal(file.version, 5);
    assert_int_equal(file.previous_version, 4);
    assert_non_null(strstr(file.reason, "DSR 0.9700"));
    assert_string_equal(file.params.strategy, "sma_cross");
    assert_int_equal(file.params.n_values, r.params.n_values);
    for (uint32_t i = 0; i < file.params.n_values; i++) {
        assert_string_equal(file.params.values[i].name, r.params.values[i].name);
        assert_string_equal(file.params.values[i].value, r.params.values[i].value);
    }
    remove(path);
    td_buf_fini(&text);
    td_buf_fini(&again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_file_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
