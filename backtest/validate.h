/* validate.h - the overfitting statistics of one grid run, folded row by row as the grid streams.
 *
 * td_grid_run hands every combination's row, in combination order, with its daily equity points
 * (td_grid_opts_t.collect_equity). td_validate_add folds each evaluated row:
 *   - its per-period Sharpe into the variance of the trials' Sharpe ratios (dsr.h);
 *   - its moments, kept only while it is the best set by Sharpe (higher wins, ties: the lower
 *     index - the ordering of the report's best_by_sharpe list);
 *   - its daily returns into the CSCV block sums (pbo.h), while the number of trials stays within
 *     the PBO cap.
 * td_validate_finish then gives the Deflated Sharpe Ratio of the best set (N = the evaluated
 * combinations; refused ones are not trials) and the PBO.
 *
 * Memory: the PBO block sums (16 x trials x blocks bytes, see pbo.h), nothing per day once a row
 * is folded. Grids with more evaluated sets than TD_PBO_MAX_TRIALS get no PBO (said in
 * pbo_skipped), never an unbounded allocation.
 *
 * Threading: the calling thread of td_grid_run (rows come in order).
 */
#ifndef TD_BACKTEST_VALIDATE_H
#define TD_BACKTEST_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backtest/dsr.h"
#include "backtest/grid.h"
#include "backtest/pbo.h"
#include "core/err.h"

typedef struct td_validate td_validate_t;

/* A validator for a grid of up to max_trials combinations, PBO with pbo_blocks blocks (even,
 * 2..TD_PBO_MAX_BLOCKS, else TD_ERR_INVALID). TD_ERR_NOMEM. */
td_err_t td_validate_new(uint64_t max_trials, unsigned pbo_blocks, td_validate_t **validate, char *errbuf,
                         size_t errlen) TD_WUR;
void td_validate_destroy(td_validate_t *validate);

/* Folds one row (refused rows are ignored). The row must carry its equity points. TD_ERR_NOMEM. */
td_err_t td_validate_add(td_validate_t *validate, const td_grid_row_t *row) TD_WUR;

typedef struct td_validation {
    uint64_t trials; /* evaluated combinations folded */
    bool have_best;  /* a set with a defined Sharpe exists */
    uint64_t best_index;
    td_dsr_t dsr; /* of the best set; NaN figures when undefined */
    bool have_pbo;
    td_pbo_result_t pbo;
    char pbo_skipped[160]; /* why there is no PBO (have_pbo false) */
} td_validation_t;

/* Computes the statistics of what was folded, the PBO on `threads` threads (same result for any
 * count). TD_ERR_NOMEM; other failures only leave have_pbo false with the reason. */
td_err_t td_validate_finish(td_validate_t *validate, unsigned threads, td_validation_t *out) TD_WUR;

#endif
