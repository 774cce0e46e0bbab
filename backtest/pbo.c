/* pbo.c - Probability of Backtest Overfitting by CSCV (method, bounds and contract in pbo.h). */
#include "backtest/pbo.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct td_pbo {
    size_t n_trials, n_obs, block_len, dropped;
    unsigned blocks;
    double *mean; /* [trial]: the trial's mean return over the rows used */
    double *sum;  /* [trial * blocks + b]: sum of (r - mean) over block b */
    double *sq;   /* [trial * blocks + b]: sum of (r - mean)^2 over block b */
    size_t given; /* trials folded */
};

static uint64_t choose(unsigned n, unsigned k)
{
    uint64_t c = 1;
    for (unsigned i = 1; i <= k; i++)
        c = c * (n - k + i) / i; /* exact: c * (n-k+i) is divisible by i at each step */
    return c;
}

size_t td_pbo_memory(size_t n_trials, unsigned blocks)
{
    return n_trials * (2 * (size_t)blocks * sizeof(double) + 3 * sizeof(double));
}

td_err_t td_pbo_new(size_t n_trials, size_t n_obs, unsigned blocks, td_pbo_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (n_trials < 2 || n_trials > TD_PBO_MAX_TRIALS)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO needs 2..%d trials, found %zu", TD_PBO_MAX_TRIALS,
                          n_trials);
    if (blocks < 2 || blocks > TD_PBO_MAX_BLOCKS || blocks % 2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO blocks: expected an even number in 2..%d, found %u",
                          TD_PBO_MAX_BLOCKS, blocks);
    if (n_obs < (size_t)blocks * 2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "PBO: %zu returns per trial cannot fill %u blocks of at least 2", n_obs, blocks);
    td_pbo_t *pbo = calloc(1, sizeof *pbo);
    if (!pbo)
        return TD_ERR_NOMEM;
    pbo->n_trials = n_trials;
    pbo->n_obs = n_obs;
    pbo->blocks = blocks;
    pbo->block_len = n_obs / blocks;
    pbo->dropped = n_obs - pbo->block_len * blocks;
    pbo->mean = calloc(n_trials, sizeof *pbo->mean);
    pbo->sum = calloc(n_trials * blocks, sizeof *pbo->sum);
    pbo->sq = calloc(n_trials * blocks, sizeof *pbo->sq);
    if (!pbo->mean || !pbo->sum || !pbo->sq) {
        td_pbo_destroy(pbo);
        return TD_ERR_NOMEM;
    }
    *out = pbo;
    return TD_OK;
}

void td_pbo_destroy(td_pbo_t *pbo)
{
    if (!pbo)
        return;
    free(pbo->mean);
    free(pbo->sum);
    free(pbo->sq);
    free(pbo);
}

static double ret_at(const double *returns, size_t i)
{
    return isnan(returns[i]) ? 0.0 : returns[i];
}

size_t td_pbo_trials(const td_pbo_t *pbo)
{
    return pbo->given;
}

td_err_t td_pbo_add(td_pbo_t *pbo, const double *returns, size_t n, char *errbuf, size_t errlen)
{
    size_t trial = pbo->given;
    if (trial >= pbo->n_trials)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO: more than %zu trials", pbo->n_trials);
    if (n != pbo->n_obs)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO: trial %zu has %zu returns, the others %zu", trial, n,
                          pbo->n_obs);
    size_t used = pbo->block_len * pbo->blocks;
    double total = 0.0;
    for (size_t i = pbo->dropped; i < n; i++)
        total += ret_at(returns, i);
    double mean = total / (double)used;
    double *sum = &pbo->sum[trial * pbo->blocks], *sq = &pbo->sq[trial * pbo->blocks];
    for (unsigned b = 0; b < pbo->blocks; b++) {
        double s = 0.0, s2 = 0.0;
        size_t from = pbo->dropped + b * pbo->block_len;
        for (size_t i = from; i < from + pbo->block_len; i++) {
            double d = ret_at(returns, i) - mean;
            s += d;
            s2 += d * d;
        }
        sum[b] = s;
        sq[b] = s2;
    }
    pbo->mean[trial] = mean;
    pbo->given++;
    return TD_OK;
}

/* Sharpe of rows with n returns whose deviations from the trial mean sum to s and s2. */
static double sharpe_of(double trial_mean, double s, double s2, size_t n)
{
    double dn = (double)n, mean_d = s / dn;
    double var = (s2 - dn * mean_d * mean_d) / (dn - 1.0);
    double mean = trial_mean + mean_d;
    if (var > 0.0)
        return mean / sqrt(var);
    return mean == 0.0 ? 0.0 : mean > 0.0 ? INFINITY : -INFINITY;
}

td_err_t td_pbo_compute(const td_pbo_t *pbo, td_pbo_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    if (pbo->given < 2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO needs 2 trials at least, found %zu", pbo->given);
    const unsigned S = pbo->blocks, half = S / 2;
    const size_t N = pbo->given, half_n = pbo->block_len * half;
    double *is = malloc(N * sizeof *is), *oos = malloc(N * sizeof *oos);
    if (!is || !oos) {
        free(is);
        free(oos);
        return TD_ERR_NOMEM;
    }
    unsigned pick[TD_PBO_MAX_BLOCKS];
    for (unsigned k = 0; k < half; k++)
        pick[k] = k;
    uint64_t combos = 0, overfit = 0, losses = 0;
    double logit_sum = 0.0;
    for (;;) {
        bool in[TD_PBO_MAX_BLOCKS] = {false};
        for (unsigned k = 0; k < half; k++)
            in[pick[k]] = true;
        size_t best = 0;
        for (size_t t = 0; t < N; t++) {
            const double *sum = &pbo->sum[t * S], *sq = &pbo->sq[t * S];
            double s_in = 0.0, q_in = 0.0, s_out = 0.0, q_out = 0.0;
            for (unsigned b = 0; b < S; b++) {
                if (in[b]) {
                    s_in += sum[b];
                    q_in += sq[b];
                } else {
                    s_out += sum[b];
                    q_out += sq[b];
                }
            }
            is[t] = sharpe_of(pbo->mean[t], s_in, q_in, half_n);
            oos[t] = sharpe_of(pbo->mean[t], s_out, q_out, half_n);
            if (is[t] > is[best])
                best = t;
        }
        size_t below = 0, equal = 0;
        for (size_t t = 0; t < N; t++) {
            if (oos[t] < oos[best])
                below++;
            else if (oos[t] == oos[best] && t != best)
                equal++;
        }
        double rank = 1.0 + (double)below + (double)equal / 2.0;
        double w = rank / (double)(N + 1);
        double logit = log(w / (1.0 - w));
        combos++;
        logit_sum += logit;
        if (logit <= 0.0)
            overfit++;
        if (oos[best] < 0.0)
            losses++;
        /* next combination in lexicographic order */
        int k = (int)half - 1;
        while (k >= 0 && pick[k] == S - half + (unsigned)k)
            k--;
        if (k < 0)
            break;
        pick[k]++;
        for (unsigned j = (unsigned)k + 1; j < half; j++)
            pick[j] = pick[j - 1] + 1;
    }
    free(is);
    free(oos);
    TD_ASSERT(combos == choose(S, half));
    result->trials = N;
    result->blocks = S;
    result->block_len = pbo->block_len;
    result->dropped = pbo->dropped;
    result->combinations = combos;
    result->overfit = overfit;
    result->pbo = (double)overfit / (double)combos;
    result->logit_mean = logit_sum / (double)combos;
    result->prob_oos_loss = (double)losses / (double)combos;
    return TD_OK;
}
