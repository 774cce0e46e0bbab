/* dsr.c - Deflated Sharpe Ratio (formulas, estimators and contract in dsr.h). */
#include "backtest/dsr.h"

#include <math.h>
#include <string.h>

#define EULER_E 2.71828182845904523536

double td_dsr_norm_cdf(double x)
{
    return 0.5 * erfc(-x / sqrt(2.0));
}

double td_dsr_norm_ppf(double p)
{
    if (isnan(p) || p < 0.0 || p > 1.0)
        return NAN;
    if (p == 0.0)
        return -INFINITY;
    if (p == 1.0)
        return INFINITY;
    /* Phi is increasing; |x| > 40 gives 0 or 1 in double. Halve until the bracket cannot shrink. */
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200; i++) {
        double mid = lo + (hi - lo) / 2.0;
        if (mid <= lo || mid >= hi)
            break;
        if (td_dsr_norm_cdf(mid) < p)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2.0;
}

void td_dsr_moments(const double *returns, size_t n, td_dsr_moments_t *moments)
{
    memset(moments, 0, sizeof *moments);
    double sum = 0.0;
    size_t valid = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(returns[i])) {
            sum += returns[i];
            valid++;
        }
    moments->n = valid;
    if (valid == 0) {
        moments->mean = moments->sd = moments->sharpe = moments->skewness = moments->kurtosis = NAN;
        return;
    }
    double mean = sum / (double)valid, s2 = 0.0, s3 = 0.0, s4 = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(returns[i]))
            continue;
        double d = returns[i] - mean, d2 = d * d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    double m2 = s2 / (double)valid, m3 = s3 / (double)valid, m4 = s4 / (double)valid;
    moments->mean = mean;
    moments->sd = valid >= 2 ? sqrt(s2 / (double)(valid - 1)) : NAN;
    moments->sharpe = valid >= 2 && moments->sd > 0.0 ? mean / moments->sd : NAN;
    moments->skewness = m2 > 0.0 ? m3 / pow(m2, 1.5) : NAN;
    moments->kurtosis = m2 > 0.0 ? m4 / (m2 * m2) : NAN;
}

double td_dsr_expected_max_sharpe(uint64_t n_trials, double var_sharpe)
{
    if (n_trials < 2 || !isfinite(var_sharpe) || var_sharpe < 0.0)
        return NAN;
    double n = (double)n_trials;
    double a = td_dsr_norm_ppf(1.0 - 1.0 / n), b = td_dsr_norm_ppf(1.0 - 1.0 / (n * EULER_E));
    return sqrt(var_sharpe) * ((1.0 - TD_DSR_EULER_GAMMA) * a + TD_DSR_EULER_GAMMA * b);
}

double td_dsr_psr(double sharpe, double benchmark, uint64_t n_obs, double skewness, double kurtosis)
{
    if (n_obs < 2 || !isfinite(sharpe) || !isfinite(benchmark) || !isfinite(skewness) || !isfinite(kurtosis))
        return NAN;
    double denom = 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe;
    if (!(denom > 0.0))
        return NAN;
    return td_dsr_norm_cdf((sharpe - benchmark) * sqrt((double)(n_obs - 1)) / sqrt(denom));
}

void td_dsr_trials_init(td_dsr_trials_t *trials)
{
    memset(trials, 0, sizeof *trials);
}

void td_dsr_trials_add(td_dsr_trials_t *trials, double sharpe)
{
    if (!isfinite(sharpe))
        return;
    trials->n++;
    double d = sharpe - trials->mean;
    trials->mean += d / (double)trials->n;
    trials->m2 += d * (sharpe - trials->mean);
}

double td_dsr_trials_variance(const td_dsr_trials_t *trials)
{
    return trials->n >= 2 ? trials->m2 / (double)(trials->n - 1) : NAN;
}

void td_dsr_compute(const td_dsr_moments_t *selected, uint64_t n_trials, double var_sharpe, td_dsr_t *out)
{
    memset(out, 0, sizeof *out);
    out->n_trials = n_trials;
    out->var_sharpe = var_sharpe;
    out->expected_max = td_dsr_expected_max_sharpe(n_trials, var_sharpe);
    out->sharpe = selected->sharpe;
    out->n_obs = selected->n;
    out->skewness = selected->skewness;
    out->kurtosis = selected->kurtosis;
    out->dsr = td_dsr_psr(selected->sharpe, out->expected_max, selected->n, selected->skewness, selected->kurtosis);
    out->psr0 = td_dsr_psr(selected->sharpe, 0.0, selected->n, selected->skewness, selected->kurtosis);
}
