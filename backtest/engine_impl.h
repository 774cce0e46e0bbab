/* engine_impl.h - private to backtest/engine.c and backtest/sweep.c: the account of one backtest
 * run (fill model, position keeper, counters, daily equity, trade metrics) and the steps that drive
 * it. td_backtest_run (engine.c) feeds it from the strategy object; td_sweep_run (sweep.c) feeds it
 * from the same decision rules over indicators shared by the sets of a grid. Either way the fill
 * model, the position keeper, the equity and the metrics are this one code.
 *
 * Life cycle: td_backtest__begin, then per bar in order: td_backtest__fill_bar (or skip it when
 * td_fill_bar_quiet says so), the strategy's outputs into run->strategy_out then
 * td_backtest__submit, the counters, td_backtest__day_end after a trading day's last bar; finally
 * td_backtest__end (always, also after an error). Thread: the run's own.
 */
#ifndef TD_BACKTEST_ENGINE_IMPL_H
#define TD_BACKTEST_ENGINE_IMPL_H

#include "backtest/engine.h"
#include "processors/fill.h"
#include "processors/output.h"
#include "processors/positions.h"
#include "processors/strategy.h"

typedef struct td_backtest__run {
    const td_backtest_config_t *config;
    const td_backtest_sink_t *sink;
    td_backtest_result_t *result;
    td_symbol_spec_t spec; /* the config's, swap disabled when costs are off */
    td_strategy_t *strategy;
    td_fill_t fill;
    td_positions_t positions;
    td_volume_t pending;
    td_outbuf_t fills, outs, strategy_out;
    double *returns;
    size_t n_returns, cap_returns;
    td_money_t prev_equity;
    char *errbuf;
    size_t errlen;
} td_backtest__run_t;

/* Zeroes *result (trades digest seeded), checks config, sets up the account and creates the
 * strategy from params. Returns TD_OK; TD_ERR_INVALID for a config out of range or parameters the
 * strategy refuses (then result->refused); TD_ERR_NOMEM. Call td_backtest__end in every case. */
td_err_t td_backtest__begin(td_backtest__run_t *run, const td_backtest_config_t *config,
                            const td_params_changed_t *params, const td_backtest_sink_t *sink,
                            td_backtest_result_t *result, char *errbuf, size_t errlen) TD_WUR;

/* Finishes the result when rc is TD_OK (open volume, ratios) and frees the run. Returns rc. */
td_err_t td_backtest__end(td_backtest__run_t *run, td_err_t rc);

/* The spread of a bar by the config's rules (engine.h). */
td_price_t td_backtest__bar_spread(const td_backtest_config_t *config, const td_bar_t *bar);

/* The fill model's view of bar: bar itself, or (mid basis) a copy in *shifted moved down by
 * floor(spread / 2). */
const td_bar_t *td_backtest__fill_view(const td_backtest_config_t *config, const td_bar_t *bar, td_price_t spread,
                                       td_bar_t *shifted);

/* The fill model on bar `index` and its reports through the position keeper and the metrics. */
td_err_t td_backtest__fill_bar(td_backtest__run_t *run, const td_bar_t *fill_view, td_price_t spread,
                               size_t index) TD_WUR;

/* Counts run->strategy_out's signals and submits its intents (ids "bt-<index>-<j>") to the fill
 * model; bar is the bar (as the strategy saw it) whose close decided them. */
td_err_t td_backtest__submit(td_backtest__run_t *run, const td_bar_t *bar, size_t index) TD_WUR;

/* The message for a strategy error rc on bar index; returns rc. */
td_err_t td_backtest__strategy_failed(td_backtest__run_t *run, const td_bar_t *bar, size_t index, td_err_t rc);

/* The equity point of trading day `day` at the close of its last bar (fill_view, spread). */
td_err_t td_backtest__day_end(td_backtest__run_t *run, const td_bar_t *fill_view, td_price_t spread,
                              uint32_t day) TD_WUR;

#endif
