/* test_dsr.c - backtest/dsr.c: the Deflated Sharpe Ratio against the worked example of Bailey &
 * Lopez de Prado (2014) and against values derived by hand and by an independent computation
 * (Python's math.erfc with bisection for the inverse, the moments written out term by term). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backtest/dsr.h"

static void assert_rel(double got, double want, double tol, const char *what)
{
    double rel = fabs(got - want) / fabs(want);
    if (!(rel <= tol))
        fail_msg("%s: got %.17g, want %.17g (relative error %.3g)", what, got, want, rel);
}

static void test_normal_law(void **state)
{
    (void)state;
    /* published quantiles of the standard normal law */
    assert_rel(td_dsr_norm_ppf(0.975), 1.959963984540054, 1e-12, "ppf(0.975)");
    assert_rel(td_dsr_norm_ppf(0.99), 2.3263478740408408, 1e-12, "ppf(0.99)");
    assert_rel(td_dsr_norm_ppf(0.025), -1.959963984540054, 1e-12, "ppf(0.025)");
    assert_true(fabs(td_dsr_norm_ppf(0.5)) < 1e-15); /* Phi is 0.5 to the last bit within ~1e-16 */
    assert_rel(td_dsr_norm_cdf(1.959963984540054), 0.975, 1e-12, "cdf");
    assert_true(isinf(td_dsr_norm_ppf(1.0)) && td_dsr_norm_ppf(1.0) > 0);
    assert_true(isinf(td_dsr_norm_ppf(0.0)) && td_dsr_norm_ppf(0.0) < 0);
    assert_true(isnan(td_dsr_norm_ppf(1.5)));
    /* round trip deep in the tail (N = 1e8 trials) */
    double p = 1.0 - 1.0 / 1e8;
    assert_rel(td_dsr_norm_cdf(td_dsr_norm_ppf(p)), p, 1e-15, "round trip");
}

/* The paper's numerical example: N = 100 trials, variance of the annualised Sharpe ratios 1/2,
 * selected annualised Sharpe 2.5, T = 1250 daily returns, skewness -3, kurtosis 10, 250 days a
 * year: DSR = 0.9004 (published to 4 places; 0.90039683444939 by the independent computation). */
static void test_paper_example(void **state)
{
    (void)state;
    td_dsr_moments_t m = {.n = 1250, .sharpe = 2.5 / sqrt(250.0), .skewness = -3.0, .kurtosis = 10.0};
    td_dsr_t d;
    td_dsr_compute(&m, 100, 0.5 / 250.0, &d);
    assert_true(fabs(d.dsr - 0.9004) < 0.00005);
    assert_rel(d.dsr, 0.9003968344493911, 1e-9, "dsr");
    assert_rel(d.expected_max * sqrt(250.0), 1.7894064662732052, 1e-12, "SR0 annualised");
    /* without deflation (benchmark 0) the same set looks nearly certain */
    assert_true(d.psr0 > 0.9999);
    /* the more trials, the higher the bar */
    td_dsr_t d1000;
    td_dsr_compute(&m, 1000, 0.5 / 250.0, &d1000);
    assert_true(d1000.expected_max > d.expected_max && d1000.dsr < d.dsr);
}

static void test_expected_max(void **state)
{
    (void)state;
    assert_rel(td_dsr_expected_max_sharpe(100, 1.0), 2.530602893201681, 1e-12, "N=100 V=1");
    assert_rel(td_dsr_expected_max_sharpe(1000, 0.0004), 0.06510243027305386, 1e-12, "N=1000 V=0.0004");
    /* V = 0: every trial alike, the benchmark is 0 */
    assert_true(td_dsr_expected_max_sharpe(10, 0.0) == 0.0);
    assert_true(isnan(td_dsr_expected_max_sharpe(1, 1.0)));
    assert_true(isnan(td_dsr_expected_max_sharpe(10, NAN)));
}

static void test_moments_by_hand(void **state)
{
    (void)state;
    /* r = 1%, -2%, 3%, 0: mean 0.005, deviations 0.005 -0.025 0.025 -0.005;
     * sum d^2 = 1.3e-3 (sample var 4.3333e-4), sum d^3 = 0, sum d^4 = 7.825e-7;
     * m2 = 3.25e-4, m4 = 1.95625e-7: kurtosis 1.95625e-7 / 1.05625e-7 = 1.852071005917... */
    const double r[] = {0.01, -0.02, NAN, 0.03, 0.0};
    td_dsr_moments_t m;
    td_dsr_moments(r, 5, &m);
    assert_int_equal(m.n, 4);
    assert_rel(m.mean, 0.005, 1e-12, "mean");
    assert_rel(m.sd, sqrt(1.3e-3 / 3.0), 1e-12, "sd");
    assert_rel(m.sharpe, 0.005 / sqrt(1.3e-3 / 3.0), 1e-12, "sharpe");
    assert_true(fabs(m.skewness) < 1e-12);
    assert_rel(m.kurtosis, 1.95625e-7 / 1.05625e-7, 1e-12, "kurtosis");
}

static void test_skewed_series(void **state)
{
    (void)state;
    const double r[] = {0.012, -0.031, 0.004, 0.027, -0.008, 0.019, -0.044, 0.006, 0.015, 0.001};
    td_dsr_moments_t m;
    td_dsr_moments(r, 10, &m);
    assert_rel(m.mean, 0.00010000000000000018, 1e-9, "mean");
    assert_rel(m.sd, 0.022293247607490678, 1e-12, "sd");
    assert_rel(m.skewness, -0.8975086419510552, 1e-12, "skewness");
    assert_rel(m.kurtosis, 2.7211110290785876, 1e-12, "kurtosis");
    assert_rel(td_dsr_psr(m.sharpe, 0.0, m.n, m.skewness, m.kurtosis), 0.5053576037607075, 1e-9, "PSR(0)");
    td_dsr_t d;
    td_dsr_compute(&m, 50, 0.01, &d);
    assert_rel(d.dsr, 0.2520388481907274, 1e-9, "DSR N=50 V=0.01");
}

static void test_trials_variance(void **state)
{
    (void)state;
    td_dsr_trials_t t;
    td_dsr_trials_init(&t);
    assert_true(isnan(td_dsr_trials_variance(&t)));
    const double s[] = {0.02, -0.01, NAN, 0.05, INFINITY, 0.00};
    for (int i = 0; i < 6; i++)
        td_dsr_trials_add(&t, s[i]);
    assert_int_equal(t.n, 4);
    /* mean 0.015; deviations 0.005 -0.025 0.035 -0.015; squares sum 2.1e-3; / 3 */
    assert_rel(td_dsr_trials_variance(&t), 2.1e-3 / 3.0, 1e-12, "variance");
}

static void test_undefined(void **state)
{
    (void)state;
    td_dsr_moments_t m;
    td_dsr_moments(NULL, 0, &m);
    assert_true(isnan(m.sharpe) && isnan(m.kurtosis));
    const double flat[] = {0.0, 0.0, 0.0};
    td_dsr_moments(flat, 3, &m);
    assert_true(isnan(m.sharpe) && isnan(m.skewness));
    td_dsr_t d;
    td_dsr_compute(&m, 10, 0.1, &d);
    assert_true(isnan(d.dsr));
    /* a root of a negative number is refused, not clamped */
    assert_true(isnan(td_dsr_psr(1.0, 0.0, 100, 10.0, 3.0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_law),    cmocka_unit_test(test_paper_example),
        cmocka_unit_test(test_expected_max),  cmocka_unit_test(test_moments_by_hand),
        cmocka_unit_test(test_skewed_series), cmocka_unit_test(test_trials_variance),
        cmocka_unit_test(test_undefined),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
