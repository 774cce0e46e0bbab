/* test_pbo.c - backtest/pbo.c: the CSCV probability of backtest overfitting on hand-computed
 * matrices, and against an independent brute-force computation (Python: every combination's rows
 * joined, statistics.stdev on them, the ranks counted; the logits' deviation and quartiles) of two
 * pseudo-random matrices made by the same integer generator as here; bad shapes; memory bound. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "backtest/pbo.h"

static void assert_rel(double got, double want, double tol, const char *what)
{
    double rel = fabs(got - want) / fabs(want);
    if (!(rel <= tol))
        fail_msg("%s: got %.17g, want %.17g (relative error %.3g)", what, got, want, rel);
}

/* Builds a PBO from a row-major T x N matrix (m[t * N + n]). */
static td_pbo_result_t pbo_of_threads(const double *m, size_t T, size_t N, unsigned S, unsigned threads)
{
    char err[256] = "";
    td_pbo_t *pbo = NULL;
    assert_int_equal(td_pbo_new(N, T, S, &pbo, err, sizeof err), TD_OK);
    double *col = malloc(T * sizeof *col);
    assert_non_null(col);
    for (size_t n = 0; n < N; n++) {
        for (size_t t = 0; t < T; t++)
            col[t] = m[t * N + n];
        assert_int_equal(td_pbo_add(pbo, col, T, err, sizeof err), TD_OK);
    }
    assert_int_equal(td_pbo_trials(pbo), N);
    td_pbo_result_t r;
    assert_int_equal(td_pbo_compute(pbo, threads, &r, err, sizeof err), TD_OK);
    free(col);
    td_pbo_destroy(pbo);
    return r;
}

static td_pbo_result_t pbo_of(const double *m, size_t T, size_t N, unsigned S)
{
    return pbo_of_threads(m, T, N, S, 1);
}

/* Two trials, two blocks: each is best where the other is worst. Either way the in-sample winner
 * ranks 1 of 2 out of sample: w = 1/3, lambda = ln(1/2) < 0 in both combinations: PBO = 1. */
static void test_always_overfit(void **state)
{
    (void)state;
    const double m[] = {
        0.01,  -0.01, /* t0: trial 0, trial 1 */
        0.03,  -0.03, /* t1 */
        -0.01, 0.01,  /* t2 */
        -0.03, 0.03,  /* t3 */
    };
    td_pbo_result_t r = pbo_of(m, 4, 2, 2);
    assert_int_equal(r.combinations, 2);
    assert_int_equal(r.overfit, 2);
    assert_true(r.pbo == 1.0);
    assert_rel(r.logit_mean, log(0.5), 1e-15, "logit mean");
    /* both logits ln(1/2): no spread */
    assert_true(r.logit_sd == 0.0);
    assert_true(r.logit_min == r.logit_max && r.logit_q1 == r.logit_min && r.logit_median == r.logit_min &&
                r.logit_q3 == r.logit_min);
    assert_rel(r.logit_median, log(0.5), 1e-15, "logit median");
    assert_true(r.prob_oos_loss == 1.0);
    assert_int_equal(r.block_len, 2);
    assert_int_equal(r.dropped, 0);
}

/* Trial 0 beats trial 1 in every block: Sharpe 2.12 / 3.54 against 0.71 / 0.71. The in-sample
 * winner is always the out-of-sample winner: rank 2, w = 2/3, lambda = ln 2 > 0: PBO = 0. */
static void test_never_overfit(void **state)
{
    (void)state;
    const double m[] = {0.02, 0.01, 0.01, 0.00, 0.03, 0.00, 0.02, 0.01};
    td_pbo_result_t r = pbo_of(m, 4, 2, 2);
    assert_true(r.pbo == 0.0);
    assert_rel(r.logit_mean, log(2.0), 1e-15, "logit mean");
    assert_true(r.prob_oos_loss == 0.0);
}

/* Same generator as the Python reference: x' = 1664525 x + 1013904223 mod 2^32. */
static double *gen(size_t T, size_t N, uint32_t seed)
{
    double *m = malloc(T * N * sizeof *m);
    assert_non_null(m);
    uint32_t x = seed;
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            x = 1664525u * x + 1013904223u;
            m[t * N + n] = ((double)(x >> 8) / 16777216.0 - 0.5) * 0.02 + ((double)n - 3.0) * 0.0002;
        }
    return m;
}

static void test_against_brute_force(void **state)
{
    (void)state;
    /* 103 rows, 7 trials, 8 blocks of 12 (7 oldest rows left out): C(8,4) = 70 combinations */
    double *m = gen(103, 7, 12345);
    td_pbo_result_t r = pbo_of(m, 103, 7, 8);
    assert_int_equal(r.combinations, 70);
    assert_int_equal(r.dropped, 7);
    assert_int_equal(r.overfit, 64);
    assert_rel(r.logit_mean, -0.7097359755043902, 1e-12, "logit mean 103x7");
    /* the logits' distribution: sample deviation, quartiles by numpy's interpolation (the
     * reference: statistics.stdev and the same interpolation over the brute-force logits) */
    assert_rel(r.logit_sd, 0.72858166726543361, 1e-12, "logit sd 103x7");
    assert_rel(r.logit_min, -1.9459101490553135, 1e-15, "logit min 103x7"); /* ln(1/7) */
    assert_rel(r.logit_q1, -1.0986122886681098, 1e-15, "logit q1 103x7");   /* ln(1/3) */
    assert_rel(r.logit_median, -0.51082562376599072, 1e-15, "logit median 103x7");
    assert_true(r.logit_q3 == 0.0);                                        /* ln(1) */
    assert_rel(r.logit_max, 1.0986122886681098, 1e-15, "logit max 103x7"); /* ln 3 */
    assert_rel(r.prob_oos_loss, 35.0 / 70.0, 1e-15, "OOS loss 103x7");
    free(m);
    /* 250 rows, 12 trials with a drift favouring the later ones, 10 blocks: 252 combinations */
    m = gen(250, 12, 777);
    r = pbo_of(m, 250, 12, 10);
    assert_int_equal(r.combinations, 252);
    assert_int_equal(r.overfit, 10);
    assert_rel(r.pbo, 10.0 / 252.0, 1e-15, "pbo 250x12");
    assert_rel(r.logit_mean, 0.7990859654509084, 1e-12, "logit mean 250x12");
    assert_rel(r.logit_sd, 0.49149489823276971, 1e-12, "logit sd 250x12");
    assert_rel(r.logit_min, -1.2039728043259359, 1e-15, "logit min 250x12");
    assert_rel(r.logit_q1, 0.47000362924573574, 1e-15, "logit q1 250x12");
    assert_rel(r.logit_median, 0.81093021621632877, 1e-15, "logit median 250x12");
    assert_rel(r.logit_q3, 1.2039728043259361, 1e-15, "logit q3 250x12");
    assert_rel(r.logit_max, 2.4849066497880012, 1e-15, "logit max 250x12");
    assert_rel(r.prob_oos_loss, 2.0 / 252.0, 1e-15, "OOS loss 250x12");
    /* the same input gives the same bits, on 1, 2 or 3 threads */
    for (unsigned threads = 1; threads <= 3; threads++) {
        td_pbo_result_t again = pbo_of_threads(m, 250, 12, 10, threads);
        assert_memory_equal(&r, &again, sizeof r);
    }
    free(m);
}

static void test_bad_shapes(void **state)
{
    (void)state;
    char err[256] = "";
    td_pbo_t *pbo = NULL;
    assert_int_equal(td_pbo_new(1, 100, 8, &pbo, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_pbo_new(10, 100, 7, &pbo, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_pbo_new(10, 100, 22, &pbo, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_pbo_new(10, 15, 8, &pbo, err, sizeof err), TD_ERR_INVALID);
    assert_null(pbo);
    assert_int_equal(td_pbo_new(3, 16, 4, &pbo, err, sizeof err), TD_OK);
    double r[16] = {0};
    assert_int_equal(td_pbo_add(pbo, r, 15, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_pbo_add(pbo, r, 16, err, sizeof err), TD_OK);
    td_pbo_result_t res;
    assert_int_equal(td_pbo_compute(pbo, 1, &res, err, sizeof err), TD_ERR_INVALID); /* one trial only */
    assert_int_equal(td_pbo_add(pbo, r, 16, err, sizeof err), TD_OK);
    assert_int_equal(td_pbo_add(pbo, r, 16, err, sizeof err), TD_OK);
    assert_int_equal(td_pbo_add(pbo, r, 16, err, sizeof err), TD_ERR_INVALID); /* a 4th of 3 */
    /* all flat: every Sharpe 0, all ranks tied at the median: lambda = 0 counts as overfit */
    assert_int_equal(td_pbo_compute(pbo, 1, &res, err, sizeof err), TD_OK);
    assert_true(res.pbo == 1.0 && res.logit_mean == 0.0);
    td_pbo_destroy(pbo);
    td_pbo_destroy(NULL);
}

static void test_memory_bound(void **state)
{
    (void)state;
    /* independent of the number of days; 1000 trials x 16 blocks well under a MiB */
    assert_true(td_pbo_memory(1000, 16) < 300 * 1024);
    assert_int_equal(td_pbo_memory(2000, 16), 2 * td_pbo_memory(1000, 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_always_overfit),      cmocka_unit_test(test_never_overfit),
        cmocka_unit_test(test_against_brute_force), cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
