/* dsr.h - the Deflated Sharpe Ratio: is the best of N backtests edge, or the luck of trying N?
 *
 * Formulas (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio: Correcting for Selection Bias,
 * Backtest Overfitting and Non-Normality", Journal of Portfolio Management 40(5), 2014):
 *
 *   Probabilistic Sharpe Ratio of an observed per-period Sharpe SR against a benchmark SR0 (eq. 9
 *   of the paper, after Bailey & Lopez de Prado 2012):
 *       PSR(SR0) = Phi( (SR - SR0) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2) )
 *   with T the number of return observations, g3 the skewness and g4 the (NON-excess) kurtosis of
 *   the selected strategy's returns, Phi the standard normal distribution function.
 *
 *   Expected maximum Sharpe of N independent trials whose Sharpe ratios have variance V (the
 *   benchmark of the deflated ratio; eq. 10, from the false strategy theorem):
 *       SR0 = sqrt(V) * ( (1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)) )
 *   gamma = 0.5772156649... (Euler-Mascheroni), e = Euler's number.
 *
 *   DSR = PSR(SR0): the probability that the true Sharpe of the selected set exceeds what the best
 *   of N trials without any edge would show.
 *
 * Every Sharpe here is PER PERIOD (not annualised): mean / sample standard deviation of the daily
 * returns. The report's annualised Sharpe (metrics.h) divided by sqrt(252) is this one. The
 * paper's worked example (N = 100, V = 1/2 annualised, SR = 2.5 annualised, T = 1250 daily
 * returns, g3 = -3, g4 = 10, 250 days a year) gives DSR = 0.9004; tests/unit/backtest/test_dsr.c
 * checks it.
 *
 * Estimators (stated because the paper leaves them to the user):
 *   - skewness g3 = m3 / m2^1.5 and kurtosis g4 = m4 / m2^2 with the population central moments
 *     m_k = mean((r - mean)^k) (biased, as scipy.stats.skew / kurtosis(fisher=False));
 *   - V = the sample variance (n - 1) of the trials' per-period Sharpe ratios;
 *   - NaN returns are skipped, as by the Sharpe of metrics.h.
 * An undefined input (N < 2, V not finite, T < 2, a zero deviation, a negative denominator under
 * the root) gives NaN, never a made-up probability.
 *
 * Threading: plain functions and caller-owned accumulators; any thread.
 */
#ifndef TD_BACKTEST_DSR_H
#define TD_BACKTEST_DSR_H

#include <stddef.h>
#include <stdint.h>

#define TD_DSR_EULER_GAMMA 0.57721566490153286061

/* Standard normal distribution function Phi(x) = erfc(-x / sqrt 2) / 2. */
double td_dsr_norm_cdf(double x);

/* Its inverse for p in (0, 1), by bisection on td_dsr_norm_cdf to the last bit (deterministic,
 * no tabulated approximation); -inf for 0, +inf for 1, NaN outside [0, 1]. */
double td_dsr_norm_ppf(double p);

/* The moments of one return series (NaN skipped). */
typedef struct td_dsr_moments {
    size_t n;        /* non-NaN returns */
    double mean;     /* of the returns */
    double sd;       /* sample standard deviation (n - 1) */
    double sharpe;   /* mean / sd: per period */
    double skewness; /* m3 / m2^1.5 */
    double kurtosis; /* m4 / m2^2, NOT excess (a normal law has 3) */
} td_dsr_moments_t;

/* Fills *moments from returns[0..n) in index order; undefined figures are NaN. */
void td_dsr_moments(const double *returns, size_t n, td_dsr_moments_t *moments);

/* SR0 above: the expected maximum per-period Sharpe of n_trials trials with Sharpe variance
 * var_sharpe. NaN when n_trials < 2 or var_sharpe is negative or not finite. */
double td_dsr_expected_max_sharpe(uint64_t n_trials, double var_sharpe);

/* PSR above: probability that the true per-period Sharpe exceeds benchmark, given the observed
 * one over n_obs returns with that skewness and (non-excess) kurtosis. NaN when undefined. */
double td_dsr_psr(double sharpe, double benchmark, uint64_t n_obs, double skewness, double kurtosis);

/* The variance of the trials' Sharpe ratios, folded one trial at a time (Welford, in the order
 * given: callers fold in combination order, so the bits do not depend on the thread count). */
typedef struct td_dsr_trials {
    uint64_t n;  /* trials folded (finite Sharpe only) */
    double mean; /* of their per-period Sharpe */
    double m2;   /* sum of squared deviations */
} td_dsr_trials_t;

void td_dsr_trials_init(td_dsr_trials_t *trials);
/* Folds one trial's per-period Sharpe; a NaN or infinite one is not counted. */
void td_dsr_trials_add(td_dsr_trials_t *trials, double sharpe);
/* Sample variance of the folded Sharpe ratios; NaN with fewer than 2. */
double td_dsr_trials_variance(const td_dsr_trials_t *trials);

/* The deflated ratio of a selected set. */
typedef struct td_dsr {
    uint64_t n_trials;   /* N */
    double var_sharpe;   /* V, per period */
    double expected_max; /* SR0, per period */
    double sharpe;       /* the selected set's per-period Sharpe */
    uint64_t n_obs;      /* T */
    double skewness;     /* g3 of its returns */
    double kurtosis;     /* g4 of its returns (non-excess) */
    double dsr;          /* PSR(SR0) */
    double psr0;         /* PSR(0): the probability without the deflation for N trials */
} td_dsr_t;

/* DSR of the set with moments *selected among n_trials trials whose Sharpe variance is
 * var_sharpe; fills *out (NaN figures where undefined). */
void td_dsr_compute(const td_dsr_moments_t *selected, uint64_t n_trials, double var_sharpe, td_dsr_t *out);

#endif
