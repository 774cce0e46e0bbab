/* engine.h - one backtest: one parameter set of one strategy over one symbol's bars.
 *
 * The strategy and the fill model are the engine's own (DESIGN invariant 7), called as the live
 * pipeline calls them (processors/pipeline.c): on each closed bar the strategy gets
 * ctx.position from a td_positions_t fed only with the fill model's execution reports and
 * ctx.pending = the signed volume of intents submitted and not yet filled; its intents go to
 * td_fill_submit; td_fill_on_bar executes them; td_positions_apply turns the reports into trades.
 *
 * Conventions (explicit so that another backtester can be configured to agree trade for trade):
 *   - Signal at the bar's close, fill at the NEXT bar's open: bar i is first handed to
 *     td_fill_on_bar (filling what bar i-1's close decided, then checking stop / target inside
 *     bar i), then to the strategy. An intent decided on the last bar is never filled.
 *   - Price basis (td_backtest_config_t.basis): the bars are BID bars (MT5, Dukascopy and Lean bid
 *     files) or MID bars. The strategy always sees the bars as given. The fill model wants bid
 *     bars: MID bars are shifted down by floor(spread / 2) before it sees them, so that a buy fills
 *     at mid + ceil(spread / 2) and a sell at mid - floor(spread / 2).
 *   - Spread of a bar (used for the fills at its open, its stop checks and its mark): config.spread
 *     when >= 0, else the bar's own: spread_sum / tick_volume (floored) when both are > 0, else
 *     spread_min (0 when the file has no spread column: Lean and Dukascopy bar files).
 *   - costs == false: spread, slippage, commission and swap are all 0 whatever else is set; fills
 *     are then exactly at the next bar's open, the convention of the usual vectorised backtesters.
 *   - Stop loss / take profit: fill.h's bar rules (touch against high / low, the stop first when
 *     both are inside one bar, gaps fill at the open). A trade closed by a stop or target inside a
 *     bar carries that bar's open time as its exit time (a bar is the time resolution).
 *   - Switchable conventions (td_backtest_config_t.conventions, a set of TD_BACKTEST_* bits; 0 =
 *     the rules above, those of the live engine and the paper broker, the default). Each one is a
 *     rule of other backtesters (grademark's, docs/BACKTEST.md) so that a run can agree with them
 *     trade for trade:
 *       NO_DECISION_ON_FILL_BAR: on a bar on which the fill model filled something (an intent at
 *         the open, or a stop or target inside the bar) the strategy's decision at that bar's close
 *         is dropped: the strategy still folds the bar (its indicators and its held-bars count
 *         follow the position it is told, which is the one actually held), but its signal and
 *         intent are neither counted nor submitted;
 *       NO_STOPS_ON_ENTRY_BAR: the stop and target of a position opened (or reversed) at a bar's
 *         open are first checked on the next bar (fill.h TD_FILL_NO_STOPS_ON_ENTRY_BAR);
 *       GAP_FILLS_AT_LEVEL: a bar that opens beyond the stop or target fills the exit at the level,
 *         not at the open (fill.h TD_FILL_GAP_AT_LEVEL).
 *   - Times: every fill and trade time is a bar's open time; the trading day of a bar is
 *     td_time_trading_day(open_time, day_offset_minutes).
 *   - Equity (money, 1e8 scale) = initial_equity + realised P&L + commission + swap (reported and
 *     accrued) + the open position marked at the day's last close: a long at the bid close, a short
 *     at the ask close (bid + the bar's spread). One point per trading day that has bars, at the
 *     close of its last bar. Daily return = equity / previous equity - 1 (the first against
 *     initial_equity; NaN once the previous equity is <= 0).
 *   - A position still open after the last bar is not a trade; its unrealised P&L is in the last
 *     equity point. Exposure counts the bars at whose close a position was open.
 *
 * Floating point appears only in the ratios derived from the integer equity series, after the run.
 *
 * Threading: td_backtest_run keeps all state on its own stack and heap; the bars are read only, so
 * any number of threads may run backtests over the same bars at once.
 */
#ifndef TD_BACKTEST_ENGINE_H
#define TD_BACKTEST_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backtest/metrics.h"
#include "core/err.h"
#include "core/event.h"

typedef enum td_backtest_basis {
    TD_BACKTEST_BID = 0, /* bar prices are bids (the default; td_bar_t's contract) */
    TD_BACKTEST_MID = 1, /* bar prices are mids */
} td_backtest_basis_t;

/* The switchable conventions (see the header comment); td_backtest_config_t.conventions is a set of
 * these bits. */
#define TD_BACKTEST_NO_DECISION_ON_FILL_BAR 1u
#define TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR 2u
#define TD_BACKTEST_GAP_FILLS_AT_LEVEL 4u
#define TD_BACKTEST_CONVENTIONS_ALL 7u /* grademark's conventions */

/* Longest text td_backtest_conventions_format writes, with its NUL. */
#define TD_BACKTEST_CONVENTIONS_TEXT_MAX 72

typedef struct td_backtest_config {
    char symbol[TD_SYMBOL_MAX + 1]; /* for intent ids and messages */
    td_symbol_spec_t spec;          /* point > 0 and contract_size > 0 */
    td_backtest_basis_t basis;
    bool costs;                    /* false: no spread, slippage, commission or swap */
    td_price_t spread;             /* >= 0: every bar's spread (price scale); < 0: the bar's own */
    int64_t slippage_points;       /* >= 0, against the trader on every fill */
    td_money_t commission_per_lot; /* >= 0, per lot per side */
    int day_offset_minutes;        /* trading-day roll (swap, equity days, P&L by month/weekday) */
    int tz_offset_minutes;         /* the strategies' trading-hours clock */
    td_money_t initial_equity;     /* > 0 */
    unsigned conventions;          /* TD_BACKTEST_* bits; 0 = tapedeck's (the live engine's) */
    bool reference;                /* hand every bar to td_fill_on_bar (no skipping of bars on which
                                      the fill model provably does nothing): the plain reference
                                      of the differential tests */
} td_backtest_config_t;

/* Sets *config to the defaults: bid basis, costs on, the bars' own spread, no slippage or
 * commission, offsets 0, initial equity 100000, tapedeck's conventions (0), reference off; symbol
 * and spec are cleared. */
void td_backtest_config_init(td_backtest_config_t *config);

/* Parses a conventions list: "tapedeck" (0, the default), "grademark" (all three), or a comma-
 * separated list of no-decision-on-fill-bar, no-stops-on-entry-bar, gap-fills-at-level (each at
 * most once). Returns true and sets *conventions; false for anything else (*conventions unchanged). */
bool td_backtest_conventions_parse(const char *text, unsigned *conventions);

/* Writes the conventions as td_backtest_conventions_parse reads them: "tapedeck" for 0, else the
 * comma-separated names in the order above (all three, not "grademark"). buf holds at least
 * TD_BACKTEST_CONVENTIONS_TEXT_MAX bytes. Returns buf. */
const char *td_backtest_conventions_format(unsigned conventions, char *buf);

/* Optional per-run outputs, called in time order from the running thread. A non-TD_OK return
 * stops the run with that code. Either function may be NULL. */
typedef struct td_backtest_sink {
    td_err_t (*trade)(void *opaque, const td_trade_closed_t *trade);
    td_err_t (*equity)(void *opaque, uint32_t trading_day, td_money_t equity, double daily_return);
    void *opaque;
} td_backtest_sink_t;

typedef struct td_backtest_result {
    bool refused;              /* the strategy refused the parameters (TD_ERR_INVALID, nothing run) */
    uint64_t bars;             /* bars stepped */
    uint64_t bars_in_position; /* bars at whose close a position was open */
    uint64_t signals, intents; /* strategy outputs */
    uint64_t fills;            /* execution reports of the fill model */
    uint64_t days;             /* equity points (trading days with bars) */
    td_btmetrics_trades_t trades;
    td_btmetrics_ratios_t ratios;
    td_money_t final_equity;
    td_volume_t open_volume; /* position left open after the last bar */
    uint64_t trades_digest;  /* FNV-1a (64 bit) over every trade's fields in order: a cheap identity
                                of the trade list for differential and determinism checks */
} td_backtest_result_t;

/* Runs params (a ParamsChanged body: strategy name and values) over bars[0..n) and fills *result.
 * Returns TD_OK; TD_ERR_INVALID with the strategy's message when it refuses params (then
 * result->refused is set), or for a
 * config outside its ranges; TD_ERR_ORDER / TD_ERR_INVALID for a bar the strategy or the fill
 * model refuses (message names the bar); TD_ERR_OVERFLOW; TD_ERR_UNSUPPORTED (swap mode
 * interest); TD_ERR_NOMEM; or a sink's code. Detail in errbuf. */
td_err_t td_backtest_run(const td_backtest_config_t *config, const td_params_changed_t *params, const td_bar_t *bars,
                         size_t n, const td_backtest_sink_t *sink, td_backtest_result_t *result, char *errbuf,
                         size_t errlen) TD_WUR;

/* Exposure: bars_in_position / bars; NaN without bars. */
double td_backtest_exposure(const td_backtest_result_t *result);

#endif
