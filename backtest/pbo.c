/* pbo.c - Probability of Backtest Overfitting by CSCV (method, bounds and contract in pbo.h). */
#include "backtest/pbo.h"

#include <math.h>
#include <pthread.h>
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

/* The work of one thread: combinations first, first + step, ... of the list. */
typedef struct job {
    const td_pbo_t *pbo;
    const uint8_t (*picks)[TD_PBO_MAX_BLOCKS / 2]; /* [combination][k]: the chosen blocks */
    size_t n_combos, first, step;
    const double *tot_sum, *tot_sq; /* [trial]: over every block */
    double *logit;                  /* [combination] */
    uint8_t *flags;                 /* [combination]: 1 overfit, 2 out-of-sample loss */
    double *is, *oos;               /* scratch [trial] */
} job_t;

static void *run_job(void *arg)
{
    job_t *job = arg;
    const td_pbo_t *pbo = job->pbo;
    const unsigned S = pbo->blocks, half = S / 2;
    const size_t N = pbo->given, half_n = pbo->block_len * half;
    for (size_t c = job->first; c < job->n_combos; c += job->step) {
        const uint8_t *pick = job->picks[c];
        size_t best = 0;
        for (size_t t = 0; t < N; t++) {
            const double *sum = &pbo->sum[t * S], *sq = &pbo->sq[t * S];
            double s_in = 0.0, q_in = 0.0;
            for (unsigned k = 0; k < half; k++) {
                s_in += sum[pick[k]];
                q_in += sq[pick[k]];
            }
            job->is[t] = sharpe_of(pbo->mean[t], s_in, q_in, half_n);
            job->oos[t] = sharpe_of(pbo->mean[t], job->tot_sum[t] - s_in, job->tot_sq[t] - q_in, half_n);
            if (job->is[t] > job->is[best])
                best = t;
        }
        size_t below = 0, equal = 0;
        const double target = job->oos[best];
        for (size_t t = 0; t < N; t++) {
            below += job->oos[t] < target;
            equal += job->oos[t] == target;
        }
        double rank = 1.0 + (double)below + (double)(equal - 1) / 2.0; /* equal counts n* itself */
        double w = rank / (double)(N + 1);
        job->logit[c] = log(w / (1.0 - w));
        job->flags[c] = (uint8_t)((job->logit[c] <= 0.0 ? 1 : 0) | (target < 0.0 ? 2 : 0));
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile of sorted[0..n), n >= 1: linear interpolation between the order statistics at
 * (n - 1) p (numpy's default). */
static double quantile(const double *sorted, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)h;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + (h - (double)lo) * (sorted[lo + 1] - sorted[lo]);
}

td_err_t td_pbo_compute(const td_pbo_t *pbo, unsigned threads, td_pbo_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    if (pbo->given < 2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO needs 2 trials at least, found %zu", pbo->given);
    const unsigned S = pbo->blocks, half = S / 2;
    const size_t N = pbo->given;
    const size_t n_combos = (size_t)choose(S, half);
    if (threads < 1)
        threads = 1;
    if (threads > 64)
        threads = 64;
    uint8_t(*picks)[TD_PBO_MAX_BLOCKS / 2] = malloc(n_combos * sizeof *picks);
    double *logit = malloc(n_combos * sizeof *logit);
    uint8_t *flags = malloc(n_combos);
    double *tot = malloc(2 * N * sizeof *tot);
    double *scratch = malloc(2 * N * threads * sizeof *scratch);
    job_t *jobs = calloc(threads, sizeof *jobs);
    pthread_t *tids = calloc(threads, sizeof *tids);
    td_err_t rc = picks && logit && flags && tot && scratch && jobs && tids ? TD_OK : TD_ERR_NOMEM;
    if (rc == TD_OK) {
        /* every combination of half of the S blocks, in lexicographic order */
        unsigned pick[TD_PBO_MAX_BLOCKS];
        for (unsigned k = 0; k < half; k++)
            pick[k] = k;
        for (size_t c = 0; c < n_combos; c++) {
            for (unsigned k = 0; k < half; k++)
                picks[c][k] = (uint8_t)pick[k];
            int k = (int)half - 1;
            while (k >= 0 && pick[k] == S - half + (unsigned)k)
                k--;
            if (k < 0) {
                TD_ASSERT(c + 1 == n_combos);
                break;
            }
            pick[k]++;
            for (unsigned j = (unsigned)k + 1; j < half; j++)
                pick[j] = pick[j - 1] + 1;
        }
        /* each trial's sums over every block, in block order */
        for (size_t t = 0; t < N; t++) {
            double a = 0.0, b = 0.0;
            for (unsigned k = 0; k < S; k++) {
                a += pbo->sum[t * S + k];
                b += pbo->sq[t * S + k];
            }
            tot[t] = a;
            tot[N + t] = b;
        }
        bool started[64] = {false};
        for (unsigned i = 0; i < threads; i++)
            jobs[i] = (job_t){pbo,
                              (const uint8_t(*)[TD_PBO_MAX_BLOCKS / 2]) picks,
                              n_combos,
                              i,
                              threads,
                              tot,
                              tot + N,
                              logit,
                              flags,
                              scratch + 2 * N * i,
                              scratch + 2 * N * i + N};
        for (unsigned i = 1; i < threads; i++)
            started[i] = pthread_create(&tids[i], NULL, run_job, &jobs[i]) == 0;
        run_job(&jobs[0]);
        for (unsigned i = 1; i < threads; i++) {
            if (started[i])
                pthread_join(tids[i], NULL);
            else
                run_job(&jobs[i]); /* a thread that could not start: its share runs here */
        }
    }
    free(picks);
    free(tot);
    free(scratch);
    free(jobs);
    free(tids);
    if (rc == TD_OK) {
        /* in combination order: the same bits whatever the thread count */
        uint64_t overfit = 0, losses = 0;
        double logit_sum = 0.0;
        for (size_t c = 0; c < n_combos; c++) {
            logit_sum += logit[c];
            overfit += flags[c] & 1;
            losses += (flags[c] >> 1) & 1;
        }
        result->trials = N;
        result->blocks = S;
        result->block_len = pbo->block_len;
        result->dropped = pbo->dropped;
        result->combinations = n_combos;
        result->overfit = overfit;
        result->pbo = (double)overfit / (double)n_combos;
        result->logit_mean = logit_sum / (double)n_combos;
        result->prob_oos_loss = (double)losses / (double)n_combos;
        double dev = 0.0;
        for (size_t c = 0; c < n_combos; c++)
            dev += (logit[c] - result->logit_mean) * (logit[c] - result->logit_mean);
        result->logit_sd = n_combos > 1 ? sqrt(dev / (double)(n_combos - 1)) : 0.0;
        qsort(logit, n_combos, sizeof *logit, cmp_double); /* a total order: the logits are finite */
        result->logit_min = logit[0];
        result->logit_q1 = quantile(logit, n_combos, 0.25);
        result->logit_median = quantile(logit, n_combos, 0.5);
        result->logit_q3 = quantile(logit, n_combos, 0.75);
        result->logit_max = logit[n_combos - 1];
    }
    free(logit);
    free(flags);
    return rc;
}
