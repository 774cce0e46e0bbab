/* pbo.h - the Probability of Backtest Overfitting by combinatorially symmetric cross-validation.
 *
 * Method (Bailey, Borwein, Lopez de Prado & Zhu, "The Probability of Backtest Overfitting",
 * Journal of Computational Finance 20(4), 2017; section "CSCV"):
 *   1. M is the T x N matrix of per-period returns of the N trials (here: the daily returns of
 *      every evaluated parameter set, all on the same trading days).
 *   2. The rows are cut into S disjoint blocks of equal length L = floor(T / S), S even. When S
 *      does not divide T, the first T - S x L rows (the oldest days) are left out.
 *   3. For every one of the C(S, S/2) ways of choosing S/2 blocks (in lexicographic order), the
 *      chosen blocks joined in time order are the in-sample set J, the other S/2 the
 *      out-of-sample set Jc.
 *   4. The performance of each trial on J and on Jc is its Sharpe ratio there (mean / sample
 *      standard deviation of the returns of those rows; a trial whose returns there are all equal
 *      has Sharpe 0 when they are 0, else +-inf). n* = the trial with the best in-sample Sharpe
 *      (ties: the lowest trial number).
 *   5. w = r / (N + 1), r = the rank of n*'s out-of-sample Sharpe among the N trials' (1 = worst;
 *      ties share the average rank); the logit lambda = ln(w / (1 - w)).
 *   6. PBO = the fraction of the combinations with lambda <= 0: how often the in-sample best is
 *      at or below the median out of sample.
 * Also reported: the distribution of the logits over the combinations (mean, sample standard
 * deviation, minimum, quartiles and median by linear interpolation between order statistics -
 * numpy's default -, maximum: the paper's histogram in seven numbers) and the fraction of
 * combinations in which n*'s out-of-sample Sharpe is negative (probability of an out-of-sample
 * loss).
 *
 * Memory is bounded and independent of T: the returns are streamed one trial at a time and only
 * per-block sums are kept: 16 x N x S bytes, plus 24 x N (trial means, scratch) - for
 * N = 1000 trials and S = 16 blocks about 0.28 MiB, whatever the number of days. A NaN return (equity at or below 0)
 * counts as a return of 0. Each trial's returns are centred on its own mean before the sums are formed, so the block
 * variances do not lose precision to cancellation.
 *
 * Determinism: fixed combination order, sums in row order, the logits summed in combination order
 * whatever the number of threads td_pbo_compute uses: the same bits every run.
 *
 * Threading: td_pbo_new / td_pbo_add / td_pbo_compute on one thread at a time; td_pbo_compute
 * starts its own helpers and joins them before it returns.
 */
#ifndef TD_BACKTEST_PBO_H
#define TD_BACKTEST_PBO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TD_PBO_MAX_BLOCKS 20
#define TD_PBO_MAX_TRIALS 100000 /* 25.6 MB of sums at 16 blocks */

typedef struct td_pbo td_pbo_t;

/* Bytes td_pbo_new would allocate for n_trials and blocks (to state and check the bound). */
size_t td_pbo_memory(size_t n_trials, unsigned blocks);

/* Creates the accumulator for up to max_trials trials of n_obs returns each, cut into blocks
 * blocks. TD_ERR_INVALID (message in errbuf) unless 2 <= max_trials <= TD_PBO_MAX_TRIALS, blocks even in
 * 2..TD_PBO_MAX_BLOCKS and n_obs >= blocks x 2 (two returns per block at least, for a
 * deviation); TD_ERR_NOMEM. */
td_err_t td_pbo_new(size_t max_trials, size_t n_obs, unsigned blocks, td_pbo_t **pbo, char *errbuf,
                    size_t errlen) TD_WUR;

/* Frees pbo; NULL is a no-op. */
void td_pbo_destroy(td_pbo_t *pbo);

/* Folds the next trial (numbered 0, 1, ... in the order given) with its n_obs returns in time
 * order. TD_ERR_INVALID when n differs from n_obs or max_trials are already given. */
td_err_t td_pbo_add(td_pbo_t *pbo, const double *returns, size_t n, char *errbuf, size_t errlen) TD_WUR;

/* Trials given so far. */
size_t td_pbo_trials(const td_pbo_t *pbo);

typedef struct td_pbo_result {
    size_t trials;         /* N: the trials given */
    unsigned blocks;       /* S */
    size_t block_len;      /* L */
    size_t dropped;        /* oldest rows left out: T - S x L */
    uint64_t combinations; /* C(S, S/2) */
    uint64_t overfit;      /* combinations with lambda <= 0 */
    double pbo;            /* overfit / combinations */
    double logit_mean;     /* mean of lambda */
    double logit_sd;       /* its sample standard deviation (n - 1); 0 with one combination */
    double logit_min, logit_q1, logit_median, logit_q3, logit_max; /* quantiles 0, .25, .5, .75, 1 */
    double prob_oos_loss; /* fraction of combinations where n*'s out-of-sample Sharpe < 0 */
} td_pbo_result_t;

/* Runs the cross-validation over every combination with the trials given, on `threads` threads
 * (1..64; the calling thread is one of them): each combination's logit is kept in its slot and
 * the sums run in combination order afterwards, so the result has the same bits for any thread
 * count. Extra memory: 9 x C(S, S/2) + 16 x N x threads bytes. TD_ERR_INVALID with fewer than 2
 * trials; TD_ERR_NOMEM. */
td_err_t td_pbo_compute(const td_pbo_t *pbo, unsigned threads, td_pbo_result_t *result, char *errbuf,
                        size_t errlen) TD_WUR;

#endif
