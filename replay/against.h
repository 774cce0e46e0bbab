/* against.h - `tapedeck replay --date D --against backtest`: did live trade as the model predicts?
 *
 * For one symbol and trading day, the MODEL is the backtest's fill model (processors/fill.h, the
 * paper broker) run over the day's recorded inputs: the pipeline restarts from the day-start
 * snapshot in paper mode, every recorded ExecutionReport INPUT (the live broker's answer) is left
 * out, and every other input - ticks, specs, parameter changes, clocks, session marks - is stepped
 * at its own offset, so the strategy sees the same market and the model's order intents get the
 * same ids as live ones wherever the decisions agree. LIVE is what the tape recorded: the day's
 * TradeClosed outputs, and its fills (ExecutionReport inputs from the EA with broker.mode external,
 * or the paper broker's ExecutionReport outputs with broker.mode paper).
 *
 * When the snapshot comes from an external broker, the model takes over the live position at the
 * day's start (volume and average price, no stop or target: those were the broker's) and forgets
 * intents still waiting for the broker's answer. The model's costs are the snapshot's fill
 * configuration unless opts override the slippage.
 *
 * Comparison:
 *   - trades: in order, each model trade is matched with the first unmatched live trade of the
 *     same side whose entry time is within opts->tolerance_ms; unmatched model trades are MISSING
 *     (the model traded, live did not), unmatched live trades EXTRA. Matched trades report the
 *     entry and exit delays (live - model, ms) and price differences in points, signed so that a
 *     positive number is worse for the account (paid more to buy, got less for a sell);
 *   - fills: market fills of the same intent id in both (stop/target exits carry no shared id)
 *     give the slippage statistics, in points, with the same sign;
 *   - the verdict is CONSISTENT when no trade is missing or extra and, when opts->max_slip_points
 *     is set (>= 0), no matched fill slipped more than that; otherwise DIVERGED.
 *
 * Floating point appears only in the derived statistics (means, points); nothing is fed back.
 */
#ifndef TD_AGAINST_H
#define TD_AGAINST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"
#include "processors/pipeline.h"

typedef struct td_against_opts {
    int64_t tolerance_ms;    /* entry times further apart than this do not match; >= 0 */
    int64_t slippage_points; /* the model's slippage when slippage_set */
    bool slippage_set;       /* else the snapshot's fill configuration */
    double max_slip_points;  /* < 0: not checked */
} td_against_opts_t;

typedef enum td_against_status {
    TD_AGAINST_MATCHED = 0,
    TD_AGAINST_MISSING = 1,
    TD_AGAINST_EXTRA = 2
} td_against_status_t;

/* One row of the trade-by-trade table. */
typedef struct td_against_row {
    td_against_status_t status;
    bool has_live, has_model;
    td_trade_closed_t live, model;
    int64_t entry_delay_ms, exit_delay_ms;      /* live - model (matched only) */
    double entry_diff_points, exit_diff_points; /* + = worse for the account (matched only) */
} td_against_row_t;

typedef struct td_against_result {
    char symbol[TD_SYMBOL_MAX + 1];
    uint32_t day;
    bool live_paper;  /* the day was traded by the paper broker (else an external one) */
    td_price_t point; /* of the symbol's spec; 0 when none (points are then price units) */
    uint64_t inputs, exec_inputs_skipped;
    td_volume_t start_volume;                      /* the live position at the day's start */
    td_volume_t end_volume_live, end_volume_model; /* at the day's end */
    td_money_t pnl_live, pnl_model;                /* sum of the trades' P&L (prices), the day */
    size_t trades_live, trades_model, matched, missing, extra;
    td_against_row_t *rows; /* matched and missing in model order, then the extra ones */
    size_t n_rows;
    size_t fills_live, fills_model, fills_matched;
    double slip_mean, slip_min, slip_max; /* points, over the matched fills (0 when none) */
    bool slip_exceeded;
    bool consistent;
} td_against_result_t;

/* Compares (symbol, day). TD_OK with *result filled (free it with td_against_result_fini);
 * TD_ERR_NOT_FOUND when the day has no inputs or was not processed yet, detail in errbuf. */
td_err_t td_against_day(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                        const td_against_opts_t *opts, td_against_result_t *result, char *errbuf, size_t errlen) TD_WUR;
void td_against_result_fini(td_against_result_t *result);

#endif
