/* warehouse.h - `tapedeck backtest --warehouse`: a run, its results and its validation
 * into PostgreSQL (migrations 0003, 0007, 0008, 0009 and 0010).
 *
 * One transaction per run (one symbol): td_bt_wh_begin inserts the backtest_runs row (strategy,
 * symbol, where the bars came from, the grid, the conventions) and keeps the transaction open; td_bt_wh_add inserts
 * one backtest_results row per evaluated parameter set (params as a JSON object of the grid's
 * names and values; max_drawdown_e8 is the drawdown of the equity curve as a fraction at 1e8
 * scale, -0.1 = -10000000; the P&L by exit month and weekday as bigint arrays at 1e8 scale);
 * td_bt_wh_validation inserts the run's backtest_validation row (DSR, PBO); with walk-forward,
 * td_bt_wh_wf_window one backtest_wf_windows row per window and td_bt_wh_walkforward the
 * backtest_walkforward row (the concatenated out-of-sample figures); td_bt_wh_finish records
 * param_sets and finished_at and commits. A ratio that is not a finite number is NULL; doubles
 * are sent with 17 significant digits, so the stored value is the computed one, bit for bit.
 * A run that fails half-way is rolled back: the warehouse never holds a partial run. Rows are sent
 * one by one, so memory does not grow with the grid. Each call returns TD_OK or the libpq
 * adapter's code with the message in errbuf; TD_ERR_NOMEM.
 *
 * Threading: one thread (the backtest's calling thread).
 */
#ifndef TD_BACKTEST_WAREHOUSE_H
#define TD_BACKTEST_WAREHOUSE_H

#include <stdint.h>

#include "backtest/engine.h"
#include "backtest/grid.h"
#include "backtest/validate.h"
#include "backtest/walkforward.h"
#include "core/err.h"

typedef struct td_bt_wh td_bt_wh_t;

/* Connects (uri NULL/"" = the libpq environment), begins, inserts the run; conventions is the
 * JSON object of the report's "conventions" (migration 0010). *run_id gets its id. */
td_err_t td_bt_wh_begin(const char *uri, const char *strategy, const char *symbol, const char *source,
                        const char *grid_spec, const char *conventions, td_bt_wh_t **wh, int64_t *run_id, char *errbuf,
                        size_t errlen) TD_WUR;
/* One evaluated set. */
td_err_t td_bt_wh_add(td_bt_wh_t *wh, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *result,
                      char *errbuf, size_t errlen) TD_WUR;
/* The run's DSR and PBO. */
td_err_t td_bt_wh_validation(td_bt_wh_t *wh, const td_validation_t *validation, char *errbuf, size_t errlen) TD_WUR;
/* One walk-forward window; bars are the run's bars (the window's indices point into them). */
td_err_t td_bt_wh_wf_window(td_bt_wh_t *wh, const td_grid_t *grid, const td_wf_window_t *window, const td_bar_t *bars,
                            char *errbuf, size_t errlen) TD_WUR;
/* The walk-forward's concatenated out-of-sample result; spec as given (24m:6m), metric its name. */
td_err_t td_bt_wh_walkforward(td_bt_wh_t *wh, const char *spec, const char *metric, const td_wf_result_t *wf,
                              char *errbuf, size_t errlen) TD_WUR;
/* Commits with the number of sets added. */
td_err_t td_bt_wh_finish(td_bt_wh_t *wh, char *errbuf, size_t errlen) TD_WUR;
/* Rolls back what is not committed, closes, frees; NULL is a no-op. */
void td_bt_wh_destroy(td_bt_wh_t *wh);

#endif
