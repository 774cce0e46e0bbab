/* fill.h - the fill model: the paper broker of the processor host and `feed`, and the backtester's
 * executions (DESIGN invariant 7: one model for both).
 *
 * A pure state machine (DESIGN invariant 2), plain data (no heap): copy it, init it again, or drop
 * it. One td_fill_t serves one symbol. It models a netting account with market orders only.
 *
 * Conventions:
 *   - Intents are queued by td_fill_submit() (at most TD_FILL_QUEUE_MAX) and all filled, oldest
 *     first, at the NEXT price: the next td_fill_on_tick() (buy at ask + slippage, sell at bid -
 *     slippage) or the next td_fill_on_bar() (see there). slippage = slippage_points x point.
 *   - Each fill is one order and one deal: order_id = id_base + orders, deal_id = id_base + deals
 *     (counters from 1). position_id = the order id of the fill that opened the position from flat;
 *     it stays on adds, partial closes and reversals, and is 0 in the state once flat (the closing
 *     report carries the id of the position it closed).
 *   - commission of a deal = -(commission_per_lot x volume), rounded half away from zero.
 *   - profit of a deal = the realised P&L of the broker's own book (a td_positions_t fed with its
 *     own reports), so the broker's profit equals the position keeper's P&L by construction.
 *   - Stops: the SL/TP of the open position are those of the last filled intent that opened it
 *     from flat or reversed it (0 = none); adds and partial closes keep them, flat clears them.
 *     After the queued fills, every tick checks them: a long is stopped when bid <= SL and takes
 *     profit when bid >= TP; a short when ask >= SL / ask <= TP. A triggered stop is a market order
 *     and fills like one, at the tick's bid - slippage (long) / ask + slippage (short), which after a
 *     gap is worse than the SL. When both would trigger (a misplaced TP) the SL wins. The closing
 *     report has intent_id "sl:<id>" / "tp:<id>" (<id> = the opening intent's id, cut to fit
 *     TD_ID_MAX) and reason "stop_loss" / "take_profit"; market fills have reason "market".
 *   - Swap: at each trading-day rollover (the first tick or bar whose trading day,
 *     td_time_trading_day(time, day_offset_minutes), is after the last one seen) while a position
 *     is open, the position is charged once for every day LEFT that is a Monday..Friday, three
 *     times when that day's weekday is spec->triple_swap_weekday. This is MT5's convention: with
 *     triple_swap_weekday = 3 the triple charge is on the rollover from Wednesday to Thursday, and
 *     no swap is charged for Saturdays and Sundays left. A gap of several days charges every
 *     weekday in it. One day's charge:
 *         SWAP_POINTS: (swap_long|swap_short x point, rounded to price scale) x |volume| x
 *                      contract_size, rounded once to money (exact whenever the swap has at most
 *                      8 - digits decimals);
 *         SWAP_MONEY:  swap_long|swap_short x lots, rounded half away from zero;
 *         SWAP_DISABLED: 0;  SWAP_INTEREST: TD_ERR_UNSUPPORTED.
 *     The charge accrues in the state and is reported in the swap field of the deal that closes
 *     the position (a partial close takes accrued x closed / |position|, rounded; the rest waits),
 *     as MT5 shows swap on the closing deal. The swap is charged before the tick's fills.
 *   - Outputs are TD_EV_EXEC_REPORT (status FILLED), body and kind only: the caller fills the
 *     envelope and feeds them back as the symbol's execution reports.
 *
 * Errors (TD_ERR_OVERFLOW for a value out of range, TD_ERR_INVALID, ...) leave fill and out
 * unchanged, and none is sticky: the caller refuses that one input and goes on (DESIGN invariant 9).
 */
#ifndef TD_FILL_H
#define TD_FILL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "processors/output.h"
#include "processors/positions.h"

#define TD_FILL_QUEUE_MAX 16

typedef struct td_fill_config {
    int64_t slippage_points;       /* whole points against the trader on every fill, >= 0 */
    td_money_t commission_per_lot; /* money per lot per side, >= 0, charged as negative commission */
    uint64_t id_base;              /* order and deal ids are id_base + counter (keeps symbols apart) */
} td_fill_config_t;

typedef struct td_fill_intent {
    char intent_id[TD_ID_MAX + 1];
    td_side_t side;
    td_volume_t volume;
    td_price_t stop_loss, take_profit; /* 0 = none */
    int64_t submit_time;
} td_fill_intent_t;

typedef struct td_fill {
    td_fill_config_t config;
    uint64_t deals, orders; /* executed so far */
    uint64_t position_id;   /* of the open position; 0 when flat */
    uint32_t n_queue;
    td_fill_intent_t queue[TD_FILL_QUEUE_MAX]; /* oldest first */
    td_positions_t book;                       /* the broker's view of the net position */
    td_price_t stop_loss, take_profit;         /* of the open position; 0 = none */
    char open_intent_id[TD_ID_MAX + 1];        /* the intent that opened or reversed it */
    td_money_t accrued_swap;                   /* charged at rollovers, not yet reported */
    uint32_t last_day;                         /* YYYYMMDD of the latest tick or bar; 0 = none yet */
} td_fill_t;

/* Resets fill to flat with an empty queue and the given configuration (asserted:
 * slippage_points >= 0, commission_per_lot >= 0; validate at the edge). */
void td_fill_init(td_fill_t *fill, const td_fill_config_t *config);

/* Queues a market intent received at time_ms, filled at the next tick or bar. TD_ERR_UNSUPPORTED
 * for a non-market type, TD_ERR_INVALID for a side other than buy/sell or volume <= 0, TD_ERR_STATE
 * when the queue is full; fill unchanged on error. */
td_err_t td_fill_submit(td_fill_t *fill, int64_t time_ms, const td_order_intent_t *intent) TD_WUR;

/* One tick at time_ms: swap at a rollover, then fills every queued intent at this tick, then
 * checks the stop / target (see the header comment). Appends one TD_EV_EXEC_REPORT per deal to
 * out. spec must have contract_size > 0 and point > 0, the tick bid > 0 and ask > 0
 * (TD_ERR_INVALID otherwise). */
td_err_t td_fill_on_tick(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_tick_t *tick,
                         int day_offset_minutes, td_outbuf_t *out) TD_WUR;

/* The bar-level variant for the backtester, for a bar of BID prices (td_bar_t's contract) that
 * starts at time_ms, with a given spread (ask - bid, price scale, >= 0):
 *   - swap at a rollover as for ticks (on the bar's start time);
 *   - queued intents fill at the bar's open as at a tick whose bid = open and ask = open + spread:
 *     buy at open + spread + slippage, sell at open - slippage;
 *   - then the stop / target of the position (also one opened at this open) is checked inside the
 *     bar: a long is stopped when low <= SL, takes profit when high >= TP, and fills at SL (or the
 *     open if the bar opened beyond it: a gap) minus slippage / at TP (or the better open) minus
 *     slippage; a short is checked on ask = bid + spread: stopped when high + spread >= SL, target
 *     when low + spread <= TP, filling at max(open + spread, SL) / min(open + spread, TP) plus
 *     slippage. When both lie inside one bar the order of the touches is unknown and the worse one,
 *     the stop, is taken. At most one stop / target exit per bar; no re-entry inside a bar.
 * Errors as td_fill_on_tick(). */
td_err_t td_fill_on_bar(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_bar_t *bar,
                        td_price_t spread, int day_offset_minutes, td_outbuf_t *out) TD_WUR;

/* Switches of td_fill_on_bar_conv away from td_fill_on_bar's rules (the backtester's conventions,
 * backtest/engine.h; the live engine and the paper broker never set them):
 *   TD_FILL_NO_STOPS_ON_ENTRY_BAR: a position opened or reversed at a bar's open is not checked
 *     against its stop and target inside that bar (the next bar is the first checked);
 *   TD_FILL_GAP_AT_LEVEL: a stop or target exit fills at the level itself (then minus / plus
 *     slippage) also when the bar opened beyond it, instead of at the open. */
#define TD_FILL_NO_STOPS_ON_ENTRY_BAR 1u
#define TD_FILL_GAP_AT_LEVEL 2u

/* td_fill_on_bar with the switches `rules` (a set of TD_FILL_* bits above; 0 = td_fill_on_bar). */
td_err_t td_fill_on_bar_conv(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_bar_t *bar,
                             td_price_t spread, int day_offset_minutes, unsigned rules, td_outbuf_t *out) TD_WUR;

/* True when td_fill_on_bar(fill, spec, time_ms, bar, spread, ...) with a bar of that high and
 * low whose trading day is `day` can change nothing that any later call or output depends on: no
 * queued intent, and either flat (only last_day would move, and the next call that matters - a
 * queued intent - rolls the day over itself while still flat, so no swap is lost) or a position on
 * a trading day already seen (no rollover) whose stop and target the bar does not touch by the
 * rules of td_fill_on_bar. The caller may then skip td_fill_on_bar. False whenever an ask price
 * would overflow (the real call reports that). A skipped bar is not validated: a caller that must
 * see td_fill_on_bar refuse a bad bar (the backtester's reference mode) hands it every bar. */
static inline bool td_fill_bar_quiet(const td_fill_t *fill, td_price_t high, td_price_t low, td_price_t spread,
                                     uint32_t day)
{
    if (fill->n_queue != 0)
        return false;
    td_volume_t v = fill->book.volume;
    if (v == 0)
        return true;
    if (day > fill->last_day)
        return false;
    td_price_t sl = fill->stop_loss, tp = fill->take_profit;
    if (sl == 0 && tp == 0)
        return true;
    if (v > 0)
        return !(sl != 0 && low <= sl) && !(tp != 0 && high >= tp);
    td_price_t ask_high, ask_low;
    if (__builtin_add_overflow(high, spread, &ask_high) || __builtin_add_overflow(low, spread, &ask_low))
        return false;
    return !(sl != 0 && ask_high >= sl) && !(tp != 0 && ask_low <= tp);
}

/* The broker's signed net volume. */
td_volume_t td_fill_volume(const td_fill_t *fill);

/* Appends the canonical encoding (proto/state_positions.proto FillState) to out; the configuration
 * is part of the state. TD_ERR_NOMEM leaves out as it was. */
td_err_t td_fill_encode(const td_fill_t *fill, td_buf_t *out) TD_WUR;

/* Replaces *fill with the state encoded in p[0..n). TD_ERR_CORRUPT (fill untouched) when the bytes
 * do not decode, are not canonical, or describe an impossible state. */
td_err_t td_fill_decode(td_fill_t *fill, const uint8_t *p, size_t n) TD_WUR;

#endif
