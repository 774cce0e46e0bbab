/* report.h - what `tapedeck params propose` needs from a `tapedeck backtest --json` report.
 *
 * The report is one JSON document: a single run ({"symbol": ..., ...}) or, from a grid file, a
 * list of runs ({"runs": [{...}, ...]}). libyaml's event parser reads it (JSON is YAML's flow
 * style) as a stream: only the few members listed in td_bt_report_t are kept, so a report of any
 * size is read in constant memory. A JSON null, or a member that is absent, reads as NaN / not
 * present.
 *
 * Threading: plain function; any thread.
 */
#ifndef TD_BACKTEST_REPORT_H
#define TD_BACKTEST_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

typedef struct td_bt_report {
    char symbol[TD_SYMBOL_MAX + 1];
    char strategy[TD_ID_MAX + 1];
    char grid[512];
    char data[512];
    bool have_best;             /* best_by_sharpe[0] */
    double best_index;          /* its combination index */
    td_params_changed_t params; /* its parameters (strategy set, values sorted by name) */
    double best_sharpe, best_trades, best_net_pnl;
    double trials, validation_best_index, dsr, expected_max_sharpe;
    double pbo, pbo_combinations; /* NaN without a PBO */
    char pbo_skipped[160];
    bool have_wf; /* a walk_forward member */
    char wf_spec[32], wf_metric[32];
    double wf_windows, wf_days, wf_trades, wf_sharpe, wf_net_pnl, wf_max_drawdown;
} td_bt_report_t;

/* Reads the run of symbol from the report at path into *report. TD_ERR_NOT_FOUND when the report
 * has no run of that symbol; TD_ERR_INVALID when it is not a JSON document (message with the
 * line); TD_ERR_IO when it cannot be opened. */
td_err_t td_bt_report_find(const char *path, const char *symbol, td_bt_report_t *report, char *errbuf,
                           size_t errlen) TD_WUR;

#endif
