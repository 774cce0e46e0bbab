/* validate.c - DSR and PBO folded from a grid's rows (contract in validate.h). */
#include "backtest/validate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct td_validate {
    uint64_t max_trials;
    unsigned blocks;
    td_dsr_trials_t trials;
    uint64_t evaluated;
    bool have_best;
    uint64_t best_index;
    double best_sharpe; /* annualised, as ordered in the report */
    td_dsr_moments_t best;
    td_pbo_t *pbo;
    size_t n_obs;
    bool pbo_off;
    char pbo_skipped[160];
    double *returns;
    size_t cap;
};

td_err_t td_validate_new(uint64_t max_trials, unsigned pbo_blocks, td_validate_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (pbo_blocks < 2 || pbo_blocks > TD_PBO_MAX_BLOCKS || pbo_blocks % 2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "PBO blocks: expected an even number in 2..%d, found %u",
                          TD_PBO_MAX_BLOCKS, pbo_blocks);
    td_validate_t *v = calloc(1, sizeof *v);
    if (!v)
        return TD_ERR_NOMEM;
    v->max_trials = max_trials;
    v->blocks = pbo_blocks;
    td_dsr_trials_init(&v->trials);
    if (max_trials > TD_PBO_MAX_TRIALS) {
        v->pbo_off = true;
        snprintf(v->pbo_skipped, sizeof v->pbo_skipped, "more than %d parameter sets (the PBO memory bound)",
                 TD_PBO_MAX_TRIALS);
    }
    *out = v;
    return TD_OK;
}

void td_validate_destroy(td_validate_t *validate)
{
    if (!validate)
        return;
    td_pbo_destroy(validate->pbo);
    free(validate->returns);
    free(validate);
}

td_err_t td_validate_add(td_validate_t *v, const td_grid_row_t *row)
{
    if (row->refused)
        return TD_OK;
    if (row->n_equity > v->cap) {
        double *p = realloc(v->returns, row->n_equity * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        v->returns = p;
        v->cap = row->n_equity;
    }
    for (size_t i = 0; i < row->n_equity; i++)
        v->returns[i] = row->equity[i].daily_return;
    td_dsr_moments_t m;
    td_dsr_moments(v->returns, row->n_equity, &m);
    v->evaluated++;
    td_dsr_trials_add(&v->trials, m.sharpe);
    double sharpe = row->result->ratios.sharpe;
    if (!isnan(sharpe) && (!v->have_best || sharpe > v->best_sharpe)) {
        v->have_best = true;
        v->best_index = row->index;
        v->best_sharpe = sharpe;
        v->best = m;
    }
    if (v->pbo_off)
        return TD_OK;
    char err[160] = "";
    td_err_t rc = TD_OK;
    if (!v->pbo) {
        v->n_obs = row->n_equity;
        rc = td_pbo_new(v->max_trials < 2 ? 2 : (size_t)v->max_trials, row->n_equity, v->blocks, &v->pbo, err,
                        sizeof err);
    }
    if (rc == TD_OK)
        rc = td_pbo_add(v->pbo, v->returns, row->n_equity, err, sizeof err);
    if (rc == TD_ERR_NOMEM)
        return rc;
    if (rc != TD_OK) {
        v->pbo_off = true;
        snprintf(v->pbo_skipped, sizeof v->pbo_skipped, "%s", err);
        td_pbo_destroy(v->pbo);
        v->pbo = NULL;
    }
    return TD_OK;
}

td_err_t td_validate_finish(td_validate_t *v, unsigned threads, td_validation_t *out)
{
    memset(out, 0, sizeof *out);
    out->trials = v->evaluated;
    out->have_best = v->have_best;
    out->best_index = v->best_index;
    td_dsr_moments_t none = {.sharpe = NAN, .skewness = NAN, .kurtosis = NAN};
    td_dsr_compute(v->have_best ? &v->best : &none, v->evaluated, td_dsr_trials_variance(&v->trials), &out->dsr);
    if (v->pbo_off) {
        snprintf(out->pbo_skipped, sizeof out->pbo_skipped, "%s", v->pbo_skipped);
        return TD_OK;
    }
    if (!v->pbo || td_pbo_trials(v->pbo) < 2) {
        snprintf(out->pbo_skipped, sizeof out->pbo_skipped, "fewer than 2 evaluated parameter sets");
        return TD_OK;
    }
    char err[160] = "";
    td_err_t rc = td_pbo_compute(v->pbo, threads, &out->pbo, err, sizeof err);
    if (rc == TD_ERR_NOMEM)
        return rc;
    out->have_pbo = rc == TD_OK;
    if (rc != TD_OK)
        snprintf(out->pbo_skipped, sizeof out->pbo_skipped, "%s", err);
    return TD_OK;
}
