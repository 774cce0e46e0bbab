/* propose.h - what `tapedeck params propose` decides from a backtest report, and the parameter file
 * it writes.
 *
 * The proposed set is the report's best set by Sharpe (best_by_sharpe[0], the set its Deflated
 * Sharpe Ratio is computed for), judged by
 *   DSR >= min_dsr, PBO <= max_pbo (of the grid it was chosen from),
 *   walk-forward out-of-sample trades >= min_oos_trades and Sharpe >= min_oos_sharpe.
 * A missing figure (no PBO, no walk-forward, an undefined DSR) fails its threshold. The file
 * (core/params_file.h) holds the evidence in its header comments and no wall-clock time, so the
 * same report gives the same bytes.
 *
 * Both writers append with the sticky text writers (core/buf.h): check td_buf_error() once.
 * Threading: plain functions; any thread.
 */
#ifndef TD_BACKTEST_PROPOSE_H
#define TD_BACKTEST_PROPOSE_H

#include <stdint.h>

#include "backtest/report.h"
#include "core/buf.h"

typedef struct td_bt_thresholds {
    double min_dsr, max_pbo;               /* params.min_dsr, params.max_pbo */
    double min_oos_trades, min_oos_sharpe; /* params.min_oos_trades, params.min_oos_sharpe */
} td_bt_thresholds_t;

/* Appends every failed threshold of report's best set to fails, "; "-separated ("DSR 0.8123 is
 * below params.min_dsr 0.95"); appends nothing when the set passes. */
void td_bt_propose_judge(td_buf_t *fails, const td_bt_report_t *report, const td_bt_thresholds_t *thresholds);

/* The parameter file of report's best set for symbol: version previous + 1, previous_version
 * previous, the strategy, a reason quoting the evidence, the parameters (YAML single-quoted).
 * out_path and report_path are named in the header comments. */
void td_bt_propose_file(td_buf_t *text, const char *symbol, const td_bt_report_t *report,
                        const td_bt_thresholds_t *thresholds, const char *out_path, const char *report_path,
                        uint32_t previous);

#endif
