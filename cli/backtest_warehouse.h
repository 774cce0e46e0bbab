/* backtest_warehouse.h - `tapedeck backtest --warehouse`: a run and its results into PostgreSQL.
 *
 * One transaction per run: td_bt_wh_begin inserts the backtest_runs row (strategy, symbol, where
 * the bars came from, the grid) and keeps the transaction open; td_bt_wh_add inserts one
 * backtest_results row per evaluated parameter set (params as a JSON object of the grid's names
 * and values; max_drawdown_e8 is the drawdown of the equity curve as a fraction at 1e8 scale,
 * -0.1 = -10000000; a ratio that is not a number is NULL); td_bt_wh_finish records param_sets and
 * finished_at and commits. A run that fails half-way is rolled back: the warehouse never holds a
 * partial grid. Rows are sent one by one, so memory does not grow with the grid.
 */
#ifndef TD_CLI_BACKTEST_WAREHOUSE_H
#define TD_CLI_BACKTEST_WAREHOUSE_H

#include <stdint.h>

#include "backtest/engine.h"
#include "backtest/grid.h"
#include "core/err.h"

typedef struct td_bt_wh td_bt_wh_t;

/* Connects (uri NULL/"" = the libpq environment), begins, inserts the run. *run_id gets its id. */
td_err_t td_bt_wh_begin(const char *uri, const char *strategy, const char *symbol, const char *source,
                        const char *grid_spec, td_bt_wh_t **wh, int64_t *run_id, char *errbuf, size_t errlen) TD_WUR;
/* One evaluated set. */
td_err_t td_bt_wh_add(td_bt_wh_t *wh, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *result,
                      char *errbuf, size_t errlen) TD_WUR;
/* Commits with the number of sets added. */
td_err_t td_bt_wh_finish(td_bt_wh_t *wh, char *errbuf, size_t errlen) TD_WUR;
/* Rolls back what is not committed, closes, frees; NULL is a no-op. */
void td_bt_wh_destroy(td_bt_wh_t *wh);

#endif
