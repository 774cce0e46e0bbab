/* test_run.c - backtest/run.c and report_write.c: the report files of a run are the same bytes
 * with 1 and 2 threads, and hold what the run evaluated.
 *
 * A small grid over synthetic M30 bars (bt_testutil.h's write_mt5_bars) with every output: the
 * results, trades, equity and summary CSV files, the walk-forward files and the JSON document.
 * The text summary holds the timing and is not compared.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../scratch_tape.h"
#include "backtest/report.h"
#include "backtest/run.h"
#include "bt_testutil.h"

static const char *const names[] = {"results.csv", "trades.csv",    "equity.csv",    "summary.csv",
                                    "wf.csv",      "wf-trades.csv", "wf-equity.csv", "report.json"};
#define N_FILES (sizeof names / sizeof names[0])

static td_bt_opts_t grid_opts(unsigned threads)
{
    td_bt_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = "sma_cross";
    o.spec = "fast=2:12:5,slow=10:30:10,direction=both|long,volume=0.1";
    o.threads = threads;
    o.spread_points = -1;
    o.slippage = -1;
    o.best_n = 3;
    o.commission = -1;
    o.capital = INT64_C(100000) * TD_FX_SCALE;
    o.costs = true;
    o.basis = TD_BACKTEST_BID;
    o.pbo_blocks = 4;
    o.wf = true;
    o.wf_text = "600:300";
    char err[256];
    assert_int_equal(td_wf_parse(o.wf_text, &o.wf_spec, err, sizeof err), TD_OK);
    o.wf_metric = TD_WF_SHARPE;
    return o;
}

/* Runs the grid on `threads` threads into dir/<names>; *evaluated gets the sets run. */
static void run_into(const char *dir, const char *bars, unsigned threads, const td_config_t *config,
                     uint64_t *evaluated, td_bt_done_t *done)
{
    FILE *f[N_FILES];
    char path[1200], err[1024] = "";
    for (size_t k = 0; k < N_FILES; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[k]);
        f[k] = fopen(path, "w");
        assert_non_null(f[k]);
    }
    FILE *summary = tmpfile();
    assert_non_null(summary);
    td_bt_outputs_t out = {.csv = f[0],
                           .trades = f[1],
                           .equity = f[2],
                           .summary_csv = f[3],
                           .wf = f[4],
                           .wf_trades = f[5],
                           .wf_equity = f[6],
                           .json = f[7],
                           .summary = summary};
    td_bt_opts_t o = grid_opts(threads);
    td_grid_t *grid = NULL;
    assert_int_equal(td_grid_parse(o.spec, &grid, err, sizeof err), TD_OK);
    td_bt_job_t job = {.symbol = "EURUSD", .data = bars, .from_file = true, .format = TD_FMT_MT5_BARS};
    td_err_t rc = td_bt_run_begin(&out, grid, false, NULL, err, sizeof err);
    if (rc == TD_OK)
        rc = td_bt_run_symbol(config, dir, &o, grid, &job, 0, false, &out, done, err, sizeof err);
    if (rc == TD_OK)
        rc = td_bt_run_end(&out, grid, false, &job, done, 1, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("run: %s %s", td_err_name(rc), err);
    assert_true(done->have_best);
    /* the summary names the evaluated sets: "N combinations of SPEC: M evaluated, ..." */
    rewind(summary);
    char line[512];
    unsigned long long combos = 0, eval = 0;
    while (fgets(line, sizeof line, summary))
        if (sscanf(line, "%llu combinations of %*s %llu evaluated", &combos, &eval) == 2)
            break;
    assert_int_equal(combos, 18);
    *evaluated = eval;
    fclose(summary);
    for (size_t k = 0; k < N_FILES; k++)
        assert_int_equal(fclose(f[k]), 0);
    td_grid_destroy(grid);
}

/* A new folder under the build tree for a run's files (scratch_tape.h makes it, with a tape the
 * run does not use; scratch_tape_remove removes it). */
static void new_dir(char *dir, size_t size, const char *name)
{
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, size, name, &tape);
    td_tape_close(tape);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

static size_t count_lines(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += p[i] == '\n';
    return n;
}

static void test_same_bytes_with_1_and_2_threads(void **unused)
{
    (void)unused;
    char dir1[1024], dir2[1024], bars[1100];
    new_dir(dir1, sizeof dir1, "run1");
    new_dir(dir2, sizeof dir2, "run2");
    snprintf(bars, sizeof bars, "%s/bars.csv", dir1);
    assert_int_equal(write_mt5_bars(bars, 3000), 0);
    td_config_t *config = td_config_new();
    assert_non_null(config);
    char err[256];
    assert_int_equal(td_config_set(config, "symbols.EURUSD.digits", "5", "test", err, sizeof err), TD_OK);
    assert_int_equal(td_config_set(config, "symbols.EURUSD.contract_size", "100000", "test", err, sizeof err), TD_OK);

    uint64_t eval1 = 0, eval2 = 0;
    td_bt_done_t done1, done2;
    run_into(dir1, bars, 1, config, &eval1, &done1);
    run_into(dir2, bars, 2, config, &eval2, &done2);
    assert_int_equal(eval1, eval2);
    assert_int_equal(done1.index, done2.index);
    assert_int_equal(eval1, 16); /* 3 x 3 x 2 sets; fast 12 >= slow 10 is refused in both directions */

    for (size_t k = 0; k < N_FILES; k++) {
        size_t len1, len2;
        char *a = slurp(dir1, names[k], &len1), *b = slurp(dir2, names[k], &len2);
        if (len1 != len2 || memcmp(a, b, len1) != 0)
            fail_msg("%s differs between 1 and 2 threads", names[k]);
        if (strcmp(names[k], "results.csv") == 0) /* a header and one row per evaluated set */
            assert_int_equal(count_lines(a, len1), 1 + eval1);
        else if (strcmp(names[k], "summary.csv") == 0)
            assert_int_equal(count_lines(a, len1), 2);
        else if (strcmp(names[k], "report.json") == 0)
            assert_true(strncmp(a, "{\"symbol\":\"EURUSD\"", 18) == 0 && a[len1 - 2] == '}');
        else
            assert_true(count_lines(a, len1) > 2); /* every file holds rows, not just its header */
        free(a);
        free(b);
    }

    /* the JSON document reads back (backtest/report.c) with the run's best set and figures */
    char path[1200];
    snprintf(path, sizeof path, "%s/report.json", dir1);
    td_bt_report_t *report = malloc(sizeof *report);
    assert_non_null(report);
    td_err_t rc = td_bt_report_find(path, "EURUSD", report, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s: %s", td_err_name(rc), err);
    assert_true(report->have_best);
    assert_true(report->best_index == (double)done1.index);
    assert_true(fabs(report->best_sharpe - done1.sharpe) <= 1e-9 * fabs(done1.sharpe));
    assert_true(fabs(report->dsr - done1.dsr) <= 1e-9);
    assert_true(report->trials == (double)eval1);
    assert_true(report->have_wf);
    assert_string_equal(report->wf_spec, "600:300");
    assert_string_equal(report->strategy, "sma_cross");
    free(report);
    td_config_destroy(config);
    scratch_tape_remove(dir1, NULL);
    scratch_tape_remove(dir2, NULL);
}

/* A results file that refuses writes (/dev/full, unbuffered) stops the run with TD_ERR_IO naming
 * the file, and fills no done record. */
static void test_failed_write(void **unused)
{
    (void)unused;
    char dir[1024], bars[1100], err[1024] = "";
    new_dir(dir, sizeof dir, "runfail");
    snprintf(bars, sizeof bars, "%s/bars.csv", dir);
    assert_int_equal(write_mt5_bars(bars, 600), 0);
    td_config_t *config = td_config_new();
    assert_non_null(config);
    FILE *full = fopen("/dev/full", "w");
    if (!full) {
        printf("SKIP: no /dev/full\n");
        td_config_destroy(config);
        scratch_tape_remove(dir, NULL);
        return;
    }
    setvbuf(full, NULL, _IONBF, 0);
    FILE *summary = tmpfile();
    assert_non_null(summary);
    td_bt_outputs_t out = {.csv = full, .summary = summary};
    td_bt_opts_t o = grid_opts(1);
    o.wf = false;
    td_grid_t *grid = NULL;
    assert_int_equal(td_grid_parse(o.spec, &grid, err, sizeof err), TD_OK);
    td_bt_job_t job = {.symbol = "EURUSD", .data = bars, .from_file = true, .format = TD_FMT_MT5_BARS};
    td_bt_done_t done = {.have_best = true, .index = 12345};
    td_err_t rc = td_bt_run_symbol(config, dir, &o, grid, &job, 0, false, &out, &done, err, sizeof err);
    assert_int_equal(rc, TD_ERR_IO);
    assert_non_null(strstr(err, "cannot write the results"));
    assert_int_equal(done.index, 12345);
    fclose(full);
    fclose(summary);
    td_grid_destroy(grid);
    td_config_destroy(config);
    scratch_tape_remove(dir, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_with_1_and_2_threads),
        cmocka_unit_test(test_failed_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
