/* grid.h - parameter grids: parsing, enumeration, and evaluating every combination on N threads.
 *
 * Spec syntax (one line, as on the command line):
 *     fast=5:50:5,slow=20:200:10,direction=long|short,volume=0.1
 * Comma-separated NAME=VALUES items. VALUES is one of
 *   - a range LO:HI:STEP, inclusive, STEP > 0, LO <= HI: integers ("5:50:5") or decimals with at
 *     most 8 places ("0.1:0.5:0.1", exact in fixed point, no float drift);
 *   - a time range HH:MM:HH:MM:STEP, inclusive, STEP in whole minutes 1..1439, the first time
 *     not after the second (a range does not wrap midnight): "08:00:12:00:30" is 08:00, 08:30,
 *     ..., 12:00 - for the strategies' HH:MM parameters (breakout's session_start/session_end);
 *   - a list V1|V2|... of texts, given to the strategy as written ("08:00|09:30|22:00");
 *   - a single text.
 * A value holding a ':' outside a range is a time of day and must be HH:MM in 00:00..23:59 (the
 * strategies' only such type), so a bad time is refused here, naming the item and the value,
 * rather than refused per combination. Several values of one name are separated by '|', never
 * by ',' (the item separator): "session_start=08:00,09:30" is refused with that hint.
 * Names are unique, at most TD_PARAMS_MAX items, names and values within the ParamsChanged limits.
 * Values are not checked against the strategy here: the strategy does that, per combination.
 *
 * Order: combinations are numbered 0..count-1 like nested loops in the spec's order, the first
 * item outermost (it changes slowest), each item's values in the order given (ranges ascending).
 *
 * Evaluation (td_grid_run): every combination is one run over the same bars: td_sweep_run
 * (backtest/sweep.h: the indicators computed once for all combinations, each combination through
 * the strategy's own decision rule and account - the same results as td_backtest_run, tested
 * differentially), or td_backtest_run itself with opts.plain or config.reference. Workers
 * claim combinations in index order; results are handed to the caller's callback on the calling
 * thread strictly in index order, whatever the thread count, so output written from the callback
 * is byte-identical for 1 or N threads. At most `window` combinations are in flight or waiting to
 * be handed over, so memory stays bounded however large the grid (a slot holds one combination's
 * summary, plus its trades and equity points only when asked for).
 * A combination the strategy refuses (fast >= slow, an unknown parameter) is not an error: it is
 * handed over with refused set and the strategy's message, and counted. A grid none of whose
 * combinations the strategy accepts is TD_ERR_INVALID before any is evaluated.
 */
#ifndef TD_BACKTEST_GRID_H
#define TD_BACKTEST_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backtest/engine.h"
#include "core/err.h"
#include "core/event.h"

/* Grids larger than this are refused (a typo such as 1:1000000000:1 would never finish). */
#define TD_GRID_MAX_COMBINATIONS UINT64_C(100000000)

typedef struct td_grid td_grid_t;

/* Parses spec. Returns TD_OK and sets *grid (td_grid_destroy); TD_ERR_INVALID with a message naming
 * the item at fault (no '=', an empty or duplicate name, a bad range, an empty range such as
 * 50:20:5 - a grid with no combinations -, a bad time, too many combinations, a value too long);
 * TD_ERR_NOMEM. */
td_err_t td_grid_parse(const char *spec, td_grid_t **grid, char *errbuf, size_t errlen) TD_WUR;

/* Frees grid; NULL is a no-op. */
void td_grid_destroy(td_grid_t *grid);

/* Number of combinations (>= 1 for a parsed grid). */
uint64_t td_grid_count(const td_grid_t *grid);

/* Number of items, and the name of item i (spec order). */
size_t td_grid_n_params(const td_grid_t *grid);
const char *td_grid_param_name(const td_grid_t *grid, size_t i);

/* Writes the text of item i's value in combination index (< count) into buf (NUL-terminated,
 * at most TD_PARAM_VALUE_MAX characters). */
void td_grid_value(const td_grid_t *grid, uint64_t index, size_t i, char buf[TD_PARAM_VALUE_MAX + 1]);

/* Fills *params with strategy and combination index's values sorted by name (the ParamsChanged
 * rule), version 1. index < count. */
void td_grid_params(const td_grid_t *grid, const char *strategy, uint64_t index, td_params_changed_t *params);

/* One equity point, for callers that collect the equity curves. */
typedef struct td_grid_equity {
    uint32_t trading_day;
    td_money_t equity;
    double daily_return;
} td_grid_equity_t;

/* One combination's outcome, as handed to the callback. Pointers are valid during the call only. */
typedef struct td_grid_row {
    uint64_t index;      /* combination number */
    bool refused;        /* the strategy refused the parameters: no result */
    const char *message; /* why (refused only) */
    const td_backtest_result_t *result;
    const td_trade_closed_t *trades; /* opts.collect_trades: every closed trade in order */
    size_t n_trades;
    const td_grid_equity_t *equity; /* opts.collect_equity: every daily point in order */
    size_t n_equity;
} td_grid_row_t;

/* Receives rows in index order on the thread that called td_grid_run. A non-TD_OK return stops
 * the run (td_grid_run then returns that code). */
typedef td_err_t (*td_grid_row_fn)(void *opaque, const td_grid_row_t *row);

typedef struct td_grid_opts {
    unsigned threads;    /* worker threads; 0 = the number of online cores */
    size_t window;       /* combinations in flight or waiting; 0 = 4 x threads */
    bool collect_trades; /* hand each row its trades */
    bool collect_equity; /* hand each row its equity points */
    bool plain;          /* every combination through td_backtest_run (no shared indicators) */
} td_grid_opts_t;

typedef struct td_grid_stats {
    uint64_t combinations;   /* in the grid */
    uint64_t evaluated;      /* run to the end */
    uint64_t refused;        /* refused by the strategy */
    uint64_t bar_steps;      /* bars x evaluated combinations */
    unsigned threads;        /* workers used */
    char first_refusal[160]; /* the strategy's message for the first refused combination */
} td_grid_stats_t;

/* Evaluates every combination of grid for strategy over bars[0..n) with config (see the header
 * comment) and hands the rows to on_row in index order. Returns TD_OK; TD_ERR_INVALID when the
 * strategy refuses every combination (message with the first refusal); the first error of any
 * run (bars the strategy refuses...: the run stops, rows after it are not handed over); the
 * callback's code; TD_ERR_NOMEM; TD_ERR_IO when a thread cannot be started. stats is filled in
 * every case (may be NULL). */
td_err_t td_grid_run(const td_grid_t *grid, const char *strategy, const td_backtest_config_t *config,
                     const td_bar_t *bars, size_t n, const td_grid_opts_t *opts, td_grid_row_fn on_row, void *opaque,
                     td_grid_stats_t *stats, char *errbuf, size_t errlen) TD_WUR;

#endif
