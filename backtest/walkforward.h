/* walkforward.h - walk-forward optimisation: choose on the past, judge on what follows.
 *
 * Windows roll over the bars: window k has an in-sample (IS) part followed directly by an
 * out-of-sample (OOS) part; the next window's OOS part starts where this one's ends, so the OOS
 * parts tile the data after the first IS period without overlap. Lengths are given as "IS:OOS"
 * either in bars ("6000:1500") or in calendar months ("24m:6m"; both parts in the same unit).
 * Every boundary falls on the start of a trading day (td_time_trading_day with the config's
 * day_offset_minutes): in bars, a boundary moves forward to the next trading-day start; in months,
 * the OOS part of window k is the trading-day months [m0 + IS + k x OOS, m0 + IS + (k+1) x OOS) and
 * its IS part the IS months before it, m0 being the month of the first bar. The last OOS part may
 * be shorter (it ends with the data); a window needs 2 IS bars and 1 OOS bar.
 *
 * In each window:
 *   1. every grid combination runs on the IS bars alone (td_grid_run, all threads); the chosen
 *      set is the one with the best value of the configured metric (NaN never wins; ties go to the
 *      lower combination index). When no set has a defined metric (no trades...), nothing is
 *      chosen and the window's OOS days are flat: return 0, no trades.
 *   2. the chosen set runs once over IS + OOS bars: the IS bars warm its indicators up (and a
 *      position it opened there may still be open when the OOS part starts: that is what having
 *      the set in force means). Of that run, the OOS result is the equity points of the OOS
 *      trading days (their daily returns as the engine computes them) and the trades that EXIT in
 *      the OOS part (their whole P&L is realised there).
 * The concatenated OOS result - every OOS trade and every OOS daily return in time order, metrics
 * (metrics.h) over them - is what walk-forward reports; the equity of the concatenation is a
 * wealth index starting at 1 (the product of 1 + return).
 *
 * Memory: one double per OOS trading day plus the grid's own bounded window; nothing per
 * combination is kept beyond the current best.
 *
 * Threading: td_wf_run calls the sink on the calling thread, in time order, window by window.
 */
#ifndef TD_BACKTEST_WALKFORWARD_H
#define TD_BACKTEST_WALKFORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backtest/engine.h"
#include "backtest/grid.h"
#include "core/err.h"

typedef enum td_wf_unit { TD_WF_BARS = 0, TD_WF_MONTHS = 1 } td_wf_unit_t;

typedef struct td_wf_spec {
    td_wf_unit_t unit;
    uint32_t is_len, oos_len; /* > 0, in bars or months */
} td_wf_spec_t;

/* Parses "6000:1500" or "24m:6m". TD_ERR_INVALID with a message otherwise (mixed units, 0, text). */
td_err_t td_wf_parse(const char *text, td_wf_spec_t *spec, char *errbuf, size_t errlen) TD_WUR;

/* The metric that chooses the IS set; higher is better. */
typedef enum td_wf_metric {
    TD_WF_SHARPE = 0,
    TD_WF_SORTINO,
    TD_WF_CALMAR,
    TD_WF_NET_PNL,
    TD_WF_PROFIT_FACTOR,
} td_wf_metric_t;

/* "sharpe", "sortino", "calmar", "net_pnl", "profit_factor" <-> the enum. */
td_err_t td_wf_metric_parse(const char *name, td_wf_metric_t *metric) TD_WUR;
const char *td_wf_metric_name(td_wf_metric_t metric);
/* The metric's value for a result (net P&L in money units, as a double); NaN when undefined. */
double td_wf_metric_value(td_wf_metric_t metric, const td_backtest_result_t *result);

typedef struct td_wf_window {
    size_t number;                 /* 0, 1, ... */
    size_t is_from, is_to, oos_to; /* bar indices: IS [is_from, is_to), OOS [is_to, oos_to) */
    bool chosen;                   /* false: no set had a defined metric in-sample */
    uint64_t index;                /* the chosen combination */
    double is_metric;              /* its in-sample metric */
    uint64_t is_evaluated;         /* combinations run in-sample (refusals excluded) */
    td_btmetrics_trades_t oos_trades;
    td_btmetrics_ratios_t oos_ratios; /* over this window's OOS daily returns */
    uint64_t oos_days;
} td_wf_window_t;

typedef struct td_wf_sink {
    /* after a window's OOS run, with everything about it */
    td_err_t (*window)(void *opaque, const td_wf_window_t *window);
    /* each OOS trade, in time order, before its window's callback */
    td_err_t (*trade)(void *opaque, const td_wf_window_t *window, const td_trade_closed_t *trade);
    /* each OOS day: its daily return and the concatenation's wealth index after it */
    td_err_t (*equity)(void *opaque, const td_wf_window_t *window, uint32_t trading_day, double daily_return,
                       double wealth);
    void *opaque;
} td_wf_sink_t;

typedef struct td_wf_result {
    size_t windows;               /* windows run */
    size_t chosen_windows;        /* windows in which a set was chosen */
    td_btmetrics_trades_t trades; /* every OOS trade */
    td_btmetrics_ratios_t ratios; /* over every OOS daily return */
    uint64_t days;                /* OOS trading days */
    double final_wealth;          /* product of 1 + the OOS returns (NaN ones count as 0) */
    uint64_t bar_steps;           /* bars x combinations run, IS grids and OOS runs */
} td_wf_result_t;

/* Runs the walk-forward of grid for strategy over bars[0..n) (see the header comment). opts gives
 * the threads of the IS grids (its collect flags are ignored). Returns TD_OK; TD_ERR_INVALID when
 * the data holds no window (message says how many bars / months are needed) or the strategy refuses
 * every combination; an error of a run (as td_grid_run / td_backtest_run); a sink's code;
 * TD_ERR_NOMEM. */
td_err_t td_wf_run(const td_wf_spec_t *spec, td_wf_metric_t metric, const td_grid_t *grid, const char *strategy,
                   const td_backtest_config_t *config, const td_bar_t *bars, size_t n, const td_grid_opts_t *opts,
                   const td_wf_sink_t *sink, td_wf_result_t *result, char *errbuf, size_t errlen) TD_WUR;

#endif
