/* report_write.h - the text of a backtest's reports: the CSV files, the JSON document and the
 * text summary (docs/BACKTEST.md has their columns and members).
 *
 * Every writer appends to a td_buf_t with the sticky text writers (core/buf.h, core/json_out.h):
 * it returns nothing, and the caller checks td_buf_error() once before writing the buffer out.
 * Nothing here does I/O or reads a clock, so the same results give the same bytes whatever the
 * thread count. Money prints exact (1e8 scale, zeros trimmed), prices with the symbol's digits,
 * derived doubles as "%.12g" (CSV: nan, inf; JSON: null when not finite).
 *
 * `symbol` arguments: the symbol column of a several-symbol run, NULL for none.
 *
 * Threading: plain functions; any thread.
 */
#ifndef TD_BACKTEST_REPORT_WRITE_H
#define TD_BACKTEST_REPORT_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backtest/engine.h"
#include "backtest/grid.h"
#include "backtest/run.h"
#include "backtest/validate.h"
#include "backtest/walkforward.h"
#include "core/buf.h"

/* The CSV files of a run, for their header lines. */
typedef enum td_bt_file {
    TD_BT_FILE_RESULTS,
    TD_BT_FILE_TRADES,
    TD_BT_FILE_EQUITY,
    TD_BT_FILE_SUMMARY,
    TD_BT_FILE_WF,
    TD_BT_FILE_WF_TRADES,
    TD_BT_FILE_WF_EQUITY,
} td_bt_file_t;

/* Steps between consecutive bars longer than the timeframe (weekend: the missing span holds a
 * Saturday). */
typedef struct td_bt_gaps {
    uint64_t total, weekend, other;
    int64_t largest_ms;
    int64_t largest_at; /* open time of the bar after the largest gap */
} td_bt_gaps_t;

/* What the reports say about a symbol's bars. */
typedef struct td_bt_data {
    const char *symbol;
    const char *source; /* where the bars came from (source.h's described) */
    const char *format; /* the file format's name, or the job's data ("tape", "warehouse") */
    size_t n_bars;      /* at least 2 */
    uint32_t timeframe_s;
    int64_t first_bar, last_bar; /* open times */
    td_bt_gaps_t gaps;
} td_bt_data_t;

/* One of the best sets by Sharpe. */
typedef struct td_bt_best {
    uint64_t index;
    double sharpe;
    td_backtest_result_t result;
} td_bt_best_t;

/* The parameters of combination index as a JSON object {"fast":"10","slow":"30",...} (names and
 * values as strings, the grid's order): the reports' "params", backtest_results.params. */
void td_bt_report_params_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index);

/* The header line of a CSV file; multi adds the symbol column where the file has none. */
void td_bt_report_header(td_buf_t *buf, td_bt_file_t file, const td_grid_t *grid, bool multi);

/* One results row: [symbol,]index,params...,metrics... and a line end. */
void td_bt_report_result_csv(td_buf_t *buf, const td_grid_t *grid, const char *symbol, uint64_t index,
                             const td_backtest_result_t *result);
/* One result as a JSON object {"index":..,"params":{..},"trades":..,...}. */
void td_bt_report_result_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *result);
/* One trades-file line: n (the set's index, or the window),symbol,side,entry_time,... A trade
 * whose net does not fit sticks TD_ERR_OVERFLOW. */
void td_bt_report_trade(td_buf_t *buf, uint64_t n, const char *symbol, unsigned digits, const td_trade_closed_t *trade);
/* One equity-file line: [symbol,]index,day,equity,return. */
void td_bt_report_equity(td_buf_t *buf, const char *symbol, uint64_t index, const td_grid_equity_t *equity);

/* Walk-forward: a window's CSV line ([symbol,]window,dates,chosen set,IS metric,OOS figures), its
 * JSON object, and a line of the OOS equity file. bars are the run's (the window indexes them). */
void td_bt_report_wf_window_csv(td_buf_t *buf, const td_grid_t *grid, const char *symbol, const td_wf_window_t *window,
                                const td_bar_t *bars);
void td_bt_report_wf_window_json(td_buf_t *buf, const td_grid_t *grid, const td_wf_window_t *window,
                                 const td_bar_t *bars);
void td_bt_report_wf_equity(td_buf_t *buf, const char *symbol, size_t window, uint32_t trading_day, double ret,
                            double wealth);

/* The run's conventions as a JSON object: the report's "conventions", backtest_runs.conventions. */
void td_bt_report_conventions_json(td_buf_t *buf, const td_bt_opts_t *opts, const td_backtest_config_t *config);

/* A symbol's JSON document in three parts around the rows: its opening up to "results":[ (n > 0:
 * a comma before it), the part after the rows up to the walk-forward's "windows":[ (when
 * opts->wf), and the walk-forward's closing; the caller closes the object with '}'. */
void td_bt_report_json_open(td_buf_t *buf, size_t n, const td_bt_data_t *data, const td_bt_opts_t *opts,
                            const td_backtest_config_t *config);
void td_bt_report_json_after_rows(td_buf_t *buf, const td_grid_t *grid, const td_grid_stats_t *stats,
                                  const td_bt_best_t *best, size_t n_best, const td_validation_t *validation,
                                  const td_bt_opts_t *opts);
void td_bt_report_json_wf_close(td_buf_t *buf, const td_wf_result_t *wf);

/* The text summary of a symbol: its bars and gaps, conventions, the grid's counts, the first
 * n_show best sets, DSR, PBO, the best set's P&L by month and weekday, the walk-forward. multi:
 * the line of the bars starts with the symbol. best holds n_best sets (n_show <= n_best). */
void td_bt_report_summary_text(td_buf_t *buf, bool multi, const td_bt_data_t *data, const td_grid_t *grid,
                               const td_grid_stats_t *stats, const td_bt_best_t *best, size_t n_best, size_t n_show,
                               const td_validation_t *validation, const td_wf_result_t *wf, const td_bt_opts_t *opts);
/* The summary file's row of a symbol; best NULL when no set has a defined Sharpe. */
void td_bt_report_summary_csv(td_buf_t *buf, const td_bt_data_t *data, const td_grid_t *grid,
                              const td_grid_stats_t *stats, const td_bt_best_t *best, const td_validation_t *validation,
                              const td_wf_result_t *wf, const td_bt_opts_t *opts);

/* A several-symbol run's end: the JSON document's opening and closing (best set per symbol), and
 * the text summary's table of them. */
void td_bt_report_multi_json_open(td_buf_t *buf, const char *grid_file);
void td_bt_report_multi_json_close(td_buf_t *buf, const td_grid_t *grid, const td_bt_job_t *jobs,
                                   const td_bt_done_t *done, size_t n_jobs);
void td_bt_report_multi_text(td_buf_t *buf, const td_grid_t *grid, const td_bt_job_t *jobs, const td_bt_done_t *done,
                             size_t n_jobs);

#endif
