/* backtest_warehouse.c - backtest runs and results into PostgreSQL (see backtest_warehouse.h). */
#include "cli/backtest_warehouse.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/event_json.h"
#include "core/pg.h"

struct td_bt_wh {
    td_pg_t *pg;
    char run_id[24];
    uint64_t rows;
    bool open; /* a transaction is open */
    td_buf_t params;
};

td_err_t td_bt_wh_begin(const char *uri, const char *strategy, const char *symbol, const char *source,
                        const char *grid_spec, td_bt_wh_t **out, int64_t *run_id, char *errbuf, size_t errlen)
{
    *out = NULL;
    td_bt_wh_t *wh = calloc(1, sizeof *wh);
    if (!wh)
        return TD_ERR_NOMEM;
    td_buf_init(&wh->params);
    td_err_t rc = td_pg_connect(uri, &wh->pg, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_pg_begin(wh->pg, errbuf, errlen);
    wh->open = rc == TD_OK;
    td_pg_rows_t *rows = NULL;
    const char *params[] = {strategy, symbol, source, grid_spec};
    if (rc == TD_OK)
        rc = td_pg_query(wh->pg,
                         "INSERT INTO backtest_runs (strategy, symbol, data_source, grid_spec, author) "
                         "VALUES ($1, $2, $3, $4, current_user) RETURNING run_id",
                         4, params, &rows, errbuf, errlen);
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

/* A ratio as SQL text, NULL when it is not a finite number. */
static const char *ratio(char buf[40], double v)
{
    if (!isfinite(v))
        return NULL;
    snprintf(buf, 40, "%.17g", v);
    return buf;
}

td_err_t td_bt_wh_add(td_bt_wh_t *wh, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *r,
                      char *errbuf, size_t errlen)
{
    td_buf_reset(&wh->params);
    td_err_t rc = td_buf_printf(&wh->params, "{");
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        rc = td_buf_printf(&wh->params, "%s", i ? "," : "");
        if (rc == TD_OK)
            rc = td_json_string(&wh->params, td_grid_param_name(grid, i));
        if (rc == TD_OK)
            rc = td_buf_printf(&wh->params, ":");
        if (rc == TD_OK)
            rc = td_json_string(&wh->params, v);
    }
    if (rc == TD_OK)
        rc = td_buf_printf(&wh->params, "}");
    if (rc != TD_OK)
        return rc;
    double dd = r->ratios.max_drawdown;
    char idx[24], trades[24], wins[24], pnl[24], dd_e8[24], sharpe[40], sortino[40], calmar[40], ann[40];
    snprintf(idx, sizeof idx, "%" PRIu64, index);
    snprintf(trades, sizeof trades, "%" PRIu64, r->trades.trades);
    snprintf(wins, sizeof wins, "%" PRIu64, r->trades.wins);
    snprintf(pnl, sizeof pnl, "%" PRId64, r->trades.net_pnl);
    snprintf(dd_e8, sizeof dd_e8, "%.0f", isfinite(dd) ? dd * 1e8 : 0.0);
    const char *params[] = {wh->run_id,
                            idx,
                            td_buf_cstr(&wh->params),
                            trades,
                            wins,
                            pnl,
                            dd_e8,
                            ratio(sharpe, r->ratios.sharpe),
                            ratio(sortino, r->ratios.sortino),
                            ratio(calmar, r->ratios.calmar),
                            ratio(ann, r->ratios.annual_return)};
    rc = td_pg_exec_params(wh->pg,
                           "INSERT INTO backtest_results (run_id, param_index, params, trades, wins, net_pnl_e8, "
                           "max_drawdown_e8, sharpe, sortino, calmar, annual_return) "
                           "VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11)",
                           11, params, NULL, errbuf, errlen);
    if (rc == TD_OK)
        wh->rows++;
    return rc;
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
    td_buf_fini(&wh->params);
    free(wh);
}
