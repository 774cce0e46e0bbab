/* sweep.h - the grid backtester's fast engine: the indicators of one symbol's bars computed ONCE
 * and shared by every parameter set of a grid, each set then run through the strategy's own
 * decision rule and its own account.
 *
 * What is shared (read only, built by td_sweep_new):
 *   - per bar: the spread, the fill model's view (mid basis), the trading day and whether the bar
 *     ends it (engine.h's conventions);
 *   - sma_cross: the prefix sums of the closes (mod 2^64), so the sum of any window is one
 *     subtraction - exact, since every window sum fits in int64;
 *   - breakout: sparse tables of the highs and lows (the range of any lookback in two lookups), the
 *     minute of the day and weekday of each bar on the strategy's clock, and per ATR period the
 *     ATR state after each bar (built on first use, at most TD_SWEEP_ATR_CACHE periods kept).
 * What each set runs (td_sweep_run): the decision rule of processors/strategy_rules.h - the same
 * function the live strategy object calls -, td_strategy__act to turn the decision into the
 * signal and intent, and the account of backtest/engine_impl.h (fill model, position keeper,
 * daily equity, metrics), exactly as td_backtest_run does. The strategy object itself is created
 * per set (parameter validation, refusal messages, the names on signals and intents). The bars on
 * which a set may decide are found first, a block at a time (sma_cross: its crosses; breakout
 * without max_hold: closes beyond the range); between them, runs of bars on which the plain loop
 * would only count (no queued intent, flat or no stop / target, no day's end) are counted and
 * skipped. sweep.c gives the argument for each.
 *
 * Contract: td_sweep_run(sweep, params, ...) gives the same return code, message, result, trades
 * and equity points as td_backtest_run(config, params, bars, n, ...) with the config and bars the
 * sweep was made from. The differential tests (tests/unit/backtest/test_sweep.c) compare both
 * byte for byte against the reference mode on real and adversarial bars. When a bar would be
 * refused by the strategy (an invalid price, a time not after the previous one), or the strategy
 * has no shared-indicator path, td_sweep_run simply calls td_backtest_run.
 *
 * Conventions (engine.h): every switch is run here too. The fill model's two (no stops on the entry
 * bar, gap fills at the level) live inside td_fill_on_bar_conv, called through the same
 * td_backtest__fill_bar; a bar they could act on is never quiet (it has a queued intent or a
 * touched level). The third, no decision on a fill bar, drops the outputs of a decision bar whose
 * fill step made a fill; a skipped bar makes none, and the rule's own state (sma_cross's last
 * sign, breakout's held bars) follows the bars and the position, not the outputs, as in the
 * strategy object.
 *
 * Memory: O(bars) for the sweep (about 220 bytes a bar for breakout, 44 for sma_cross, plus one
 * bar copy per bar on the mid basis), whatever the grid; O(trading days) per running set.
 *
 * Threading: td_sweep_run may be called from any number of threads at once on one sweep.
 */
#ifndef TD_BACKTEST_SWEEP_H
#define TD_BACKTEST_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "backtest/engine.h"
#include "core/err.h"
#include "core/event.h"

#define TD_SWEEP_ATR_CACHE 16

typedef struct td_sweep td_sweep_t;

/* Prepares bars[0..n) (borrowed: they and *config must outlive the sweep) for the strategy named
 * `strategy` under config. Returns TD_OK and sets *sweep (td_sweep_destroy); TD_ERR_NOMEM. An
 * unknown strategy or refused bars are not errors here (td_sweep_run then falls back). */
td_err_t td_sweep_new(const td_backtest_config_t *config, const char *strategy, const td_bar_t *bars, size_t n,
                      td_sweep_t **sweep, char *errbuf, size_t errlen) TD_WUR;

/* Frees sweep; NULL is a no-op. */
void td_sweep_destroy(td_sweep_t *sweep);

/* True when td_sweep_run uses the shared indicators (false: it falls back to td_backtest_run). */
bool td_sweep_shared(const td_sweep_t *sweep);

/* Runs one parameter set; see the header comment. */
td_err_t td_sweep_run(td_sweep_t *sweep, const td_params_changed_t *params, const td_backtest_sink_t *sink,
                      td_backtest_result_t *result, char *errbuf, size_t errlen) TD_WUR;

#endif
