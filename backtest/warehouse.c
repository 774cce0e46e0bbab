/* warehouse.c - backtest runs and results into PostgreSQL (see warehouse.h). */
#include "backtest/warehouse.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "backtest/report_write.h"
#include "core/buf.h"
#include "core/pg.h"
#include "core/timeutil.h"

struct td_bt_wh {
    td_pg_t *pg;
    char run_id[24];
    uint64_t rows;
    bool open; /* a transaction is open */
    char symbol[TD_SYMBOL_MAX + 1];
    td_buf_t params, months, weekdays; /* scratch texts of one row */
};

td_err_t td_bt_wh_begin(const char *uri, const char *strategy, const char *symbol, const char *source,
                        const char *grid_spec, const char *conventions, td_bt_wh_t **out, int64_t *run_id, char *errbuf,
                        size_t errlen)
{
    *out = NULL;
    td_bt_wh_t *wh = calloc(1, sizeof *wh);
    if (!wh)
        return TD_ERR_NOMEM;
    td_buf_init(&wh->params);
    td_buf_init(&wh->months);
    td_buf_init(&wh->weekdays);
    snprintf(wh->symbol, sizeof wh->symbol, "%s", symbol);
    td_err_t rc = td_pg_connect(uri, &wh->pg, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_pg_begin(wh->pg, errbuf, errlen);
    wh->open = rc == TD_OK;
    td_pg_rows_t *rows = NULL;
    const char *params[] = {strategy, symbol, source, grid_spec, conventions};
    if (rc == TD_OK)
        rc = td_pg_query(wh->pg,
                         "INSERT INTO backtest_runs (strategy, symbol, data_source, grid_spec, conventions, author) "
                         "VALUES ($1, $2, $3, $4, $5::jsonb, current_user) RETURNING run_id",
                         5, params, &rows, errbuf, errlen);
    if (rc == TD_OK && td_pg_rows_count(rows) == 1) {
        snprintf(wh->run_id, sizeof wh->run_id, "%s", td_pg_rows_get(rows, 0, 0));
        *run_id = strtoll(wh->run_id, NULL, 10);
    } else if (rc == TD_OK) {
        rc = td_err_set(errbuf, errlen, TD_ERR_STORE, "backtest_runs: the insert returned no run_id");
    }
    td_pg_rows_destroy(rows);
    if (rc != TD_OK) {
        td_bt_wh_destroy(wh);
        return rc;
    }
    *out = wh;
    return TD_OK;
}

/* The text parameters of one statement: numbers are formatted into the slots, texts point to the
 * caller's storage, NULL is SQL NULL. */
#define ARGS_MAX 32
typedef struct args {
    const char *v[ARGS_MAX];
    char text[ARGS_MAX][40];
    int n;
} args_t;

static void arg_str(args_t *a, const char *s)
{
    TD_ASSERT(a->n < ARGS_MAX);
    a->v[a->n++] = s;
}

static void arg_u64(args_t *a, uint64_t v)
{
    TD_ASSERT(a->n < ARGS_MAX);
    snprintf(a->text[a->n], sizeof a->text[0], "%" PRIu64, v);
    a->v[a->n] = a->text[a->n];
    a->n++;
}

static void arg_i64(args_t *a, int64_t v)
{
    TD_ASSERT(a->n < ARGS_MAX);
    snprintf(a->text[a->n], sizeof a->text[0], "%" PRId64, v);
    a->v[a->n] = a->text[a->n];
    a->n++;
}

/* A derived double with 17 significant digits (the same bits back), NULL when not finite. */
static void arg_double(args_t *a, double v)
{
    TD_ASSERT(a->n < ARGS_MAX);
    if (isfinite(v)) {
        snprintf(a->text[a->n], sizeof a->text[0], "%.17g", v);
        a->v[a->n] = a->text[a->n];
    } else {
        a->v[a->n] = NULL;
    }
    a->n++;
}

/* buf's text as a C string for a statement parameter: TD_ERR_NOMEM when it could not be built. */
static td_err_t finish_text(td_buf_t *buf)
{
    if (td_buf_error(buf) == TD_OK && !td_buf_cstr(buf))
        td_buf_fail(buf, TD_ERR_NOMEM);
    return td_buf_error(buf);
}

/* Combination index's parameters as a JSON object into wh->params. */
static td_err_t params_json(td_bt_wh_t *wh, const td_grid_t *grid, uint64_t index)
{
    td_buf_reset(&wh->params);
    td_bt_report_params_json(&wh->params, grid, index);
    return finish_text(&wh->params);
}

/* An array literal {v0,v1,...} of n 1e8-scaled values into buf. */
static td_err_t e8_array(td_buf_t *buf, const td_money_t *v, size_t n)
{
    td_buf_reset(buf);
    td_buf_putc(buf, '{');
    for (size_t k = 0; k < n; k++)
        td_buf_putf(buf, "%s%" PRId64, k ? "," : "", v[k]);
    td_buf_putc(buf, '}');
    return finish_text(buf);
}

td_err_t td_bt_wh_add(td_bt_wh_t *wh, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *r,
                      char *errbuf, size_t errlen)
{
    td_err_t rc = params_json(wh, grid, index);
    if (rc == TD_OK)
        rc = e8_array(&wh->months, r->trades.by_month, 12);
    if (rc == TD_OK)
        rc = e8_array(&wh->weekdays, r->trades.by_weekday, 7);
    if (rc != TD_OK)
        return rc;
    double dd = r->ratios.max_drawdown;
    args_t a = {.n = 0};
    arg_str(&a, wh->run_id);
    arg_u64(&a, index);
    arg_str(&a, td_buf_cstr(&wh->params));
    arg_u64(&a, r->trades.trades);
    arg_u64(&a, r->trades.wins);
    arg_i64(&a, r->trades.net_pnl);
    snprintf(a.text[a.n], sizeof a.text[0], "%.0f", isfinite(dd) ? dd * 1e8 : 0.0); /* a fraction at 1e8 */
    arg_str(&a, a.text[a.n]);
    arg_double(&a, r->ratios.sharpe);
    arg_double(&a, r->ratios.sortino);
    arg_double(&a, r->ratios.calmar);
    arg_double(&a, r->ratios.annual_return);
    arg_str(&a, td_buf_cstr(&wh->months));
    arg_str(&a, td_buf_cstr(&wh->weekdays));
    arg_double(&a, td_btmetrics_win_rate(&r->trades));
    double pf = td_btmetrics_profit_factor(&r->trades);
    if (isinf(pf) && pf > 0)
        arg_str(&a, "Infinity"); /* profits and no loss: as the CSV's "inf" */
    else
        arg_double(&a, pf);
    arg_i64(&a, td_btmetrics_expectancy(&r->trades)); /* 0 without trades, as the CSV has it */
    arg_i64(&a, r->trades.gross_profit);
    arg_i64(&a, r->trades.gross_loss);
    arg_double(&a, td_backtest_exposure(r));
    arg_double(&a, r->ratios.annual_volatility);
    arg_i64(&a, r->final_equity);
    rc = td_pg_exec_params(wh->pg,
                           "INSERT INTO backtest_results (run_id, param_index, params, trades, wins, net_pnl_e8, "
                           "max_drawdown_e8, sharpe, sortino, calmar, annual_return, pnl_by_month_e8, "
                           "pnl_by_weekday_e8, win_rate, profit_factor, expectancy_e8, gross_profit_e8, "
                           "gross_loss_e8, exposure, annual_volatility, final_equity_e8) "
                           "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
                           "$17, $18, $19, $20, $21)",
                           a.n, a.v, NULL, errbuf, errlen);
    if (rc == TD_OK)
        wh->rows++;
    return rc;
}

td_err_t td_bt_wh_validation(td_bt_wh_t *wh, const td_validation_t *v, char *errbuf, size_t errlen)
{
    const double ann = sqrt((double)TD_BTMETRICS_DAYS_PER_YEAR);
    const td_pbo_result_t *p = &v->pbo;
    args_t a = {.n = 0};
    arg_str(&a, wh->run_id);
    arg_str(&a, wh->symbol);
    arg_u64(&a, v->trials);
    if (v->have_best)
        arg_u64(&a, v->best_index);
    else
        arg_str(&a, NULL);
    arg_double(&a, v->dsr.sharpe * ann);
    arg_double(&a, v->dsr.sharpe);
    arg_double(&a, v->dsr.var_sharpe);
    arg_double(&a, v->dsr.expected_max * ann);
    arg_double(&a, v->dsr.expected_max);
    arg_double(&a, v->dsr.skewness);
    arg_double(&a, v->dsr.kurtosis);
    arg_u64(&a, v->dsr.n_obs);
    arg_double(&a, v->dsr.psr0);
    arg_double(&a, v->dsr.dsr);
    if (v->have_pbo) {
        arg_double(&a, p->pbo);
        arg_u64(&a, p->blocks);
        arg_u64(&a, p->block_len);
        arg_u64(&a, p->dropped);
        arg_u64(&a, p->combinations);
        arg_u64(&a, p->overfit);
        arg_double(&a, p->logit_mean);
        arg_double(&a, p->prob_oos_loss);
        arg_str(&a, NULL);
        arg_double(&a, p->logit_sd);
        arg_double(&a, p->logit_min);
        arg_double(&a, p->logit_q1);
        arg_double(&a, p->logit_median);
        arg_double(&a, p->logit_q3);
        arg_double(&a, p->logit_max);
    } else {
        for (int k = 0; k < 8; k++)
            arg_str(&a, NULL);
        arg_str(&a, v->pbo_skipped[0] ? v->pbo_skipped : "not computed");
        for (int k = 0; k < 6; k++)
            arg_str(&a, NULL);
    }
    return td_pg_exec_params(wh->pg,
                             "INSERT INTO backtest_validation (run_id, symbol, trials, best_index, sharpe, "
                             "sharpe_per_day, sharpe_variance_per_day, expected_max_sharpe, "
                             "expected_max_sharpe_per_day, skewness, kurtosis, observations, psr, dsr, pbo, "
                             "pbo_blocks, pbo_block_days, pbo_dropped_days, pbo_combinations, pbo_overfit, "
                             "pbo_logit_mean, pbo_prob_oos_loss, pbo_skipped, pbo_logit_sd, pbo_logit_min, "
                             "pbo_logit_q1, pbo_logit_median, pbo_logit_q3, pbo_logit_max) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
                             "$18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29)",
                             a.n, a.v, NULL, errbuf, errlen);
}

td_err_t td_bt_wh_wf_window(td_bt_wh_t *wh, const td_grid_t *grid, const td_wf_window_t *w, const td_bar_t *bars,
                            char *errbuf, size_t errlen)
{
    char is_from[32], oos_from[32], oos_last[32];
    td_time_format_iso(bars[w->is_from].open_time, is_from);
    td_time_format_iso(bars[w->is_to].open_time, oos_from);
    td_time_format_iso(bars[w->oos_to - 1].open_time, oos_last);
    td_err_t rc = w->chosen ? params_json(wh, grid, w->index) : TD_OK;
    if (rc != TD_OK)
        return rc;
    args_t a = {.n = 0};
    arg_str(&a, wh->run_id);
    arg_u64(&a, w->number);
    arg_str(&a, is_from);
    arg_str(&a, oos_from);
    arg_str(&a, oos_last);
    arg_u64(&a, w->is_to - w->is_from);
    arg_u64(&a, w->oos_to - w->is_to);
    arg_u64(&a, w->is_evaluated);
    if (w->chosen) {
        arg_u64(&a, w->index);
        arg_str(&a, td_buf_cstr(&wh->params));
    } else {
        arg_str(&a, NULL);
        arg_str(&a, NULL);
    }
    arg_double(&a, w->is_metric);
    arg_u64(&a, w->oos_days);
    arg_u64(&a, w->oos_trades.trades);
    arg_u64(&a, w->oos_trades.wins);
    arg_i64(&a, w->oos_trades.net_pnl);
    arg_double(&a, w->oos_ratios.sharpe);
    arg_double(&a, w->oos_ratios.sortino);
    arg_double(&a, w->oos_ratios.max_drawdown);
    return td_pg_exec_params(wh->pg,
                             "INSERT INTO backtest_wf_windows (run_id, window_no, is_from, oos_from, oos_last_bar, "
                             "is_bars, oos_bars, is_evaluated, chosen_index, chosen_params, is_metric, oos_days, "
                             "oos_trades, oos_wins, oos_net_pnl_e8, oos_sharpe, oos_sortino, oos_max_drawdown) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15, $16, "
                             "$17, $18)",
                             a.n, a.v, NULL, errbuf, errlen);
}

td_err_t td_bt_wh_walkforward(td_bt_wh_t *wh, const char *spec, const char *metric, const td_wf_result_t *wf,
                              char *errbuf, size_t errlen)
{
    args_t a = {.n = 0};
    arg_str(&a, wh->run_id);
    arg_str(&a, wh->symbol);
    arg_str(&a, spec);
    arg_str(&a, metric);
    arg_u64(&a, wf->windows);
    arg_u64(&a, wf->chosen_windows);
    arg_u64(&a, wf->days);
    arg_u64(&a, wf->trades.trades);
    arg_u64(&a, wf->trades.wins);
    arg_i64(&a, wf->trades.net_pnl);
    arg_double(&a, td_btmetrics_win_rate(&wf->trades));
    arg_double(&a, td_btmetrics_profit_factor(&wf->trades));
    arg_double(&a, wf->ratios.sharpe);
    arg_double(&a, wf->ratios.sortino);
    arg_double(&a, wf->ratios.max_drawdown);
    arg_double(&a, wf->ratios.annual_return);
    arg_double(&a, wf->final_wealth);
    return td_pg_exec_params(wh->pg,
                             "INSERT INTO backtest_walkforward (run_id, symbol, spec, metric, windows, "
                             "chosen_windows, oos_days, oos_trades, oos_wins, oos_net_pnl_e8, oos_win_rate, "
                             "oos_profit_factor, oos_sharpe, oos_sortino, oos_max_drawdown, oos_annual_return, "
                             "oos_final_wealth) "
                             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
                             a.n, a.v, NULL, errbuf, errlen);
}

td_err_t td_bt_wh_finish(td_bt_wh_t *wh, char *errbuf, size_t errlen)
{
    char n[24];
    snprintf(n, sizeof n, "%" PRIu64, wh->rows);
    const char *params[] = {n, wh->run_id};
    td_err_t rc = td_pg_exec_params(wh->pg,
                                    "UPDATE backtest_runs SET param_sets = $1, finished_at = now() "
                                    "WHERE run_id = $2",
                                    2, params, NULL, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_pg_commit(wh->pg, errbuf, errlen);
    if (rc == TD_OK)
        wh->open = false;
    return rc;
}

void td_bt_wh_destroy(td_bt_wh_t *wh)
{
    if (!wh)
        return;
    if (wh->open)
        td_pg_rollback(wh->pg);
    td_pg_close(wh->pg);
    td_buf_fini(&wh->weekdays);
    td_buf_fini(&wh->months);
    td_buf_fini(&wh->params);
    free(wh);
}
