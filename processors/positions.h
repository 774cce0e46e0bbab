/* positions.h - the position keeper of ONE symbol: a netting position driven only by execution
 * reports.
 *
 * A pure state machine (DESIGN invariant 2): td_positions_apply() looks only at the report, the
 * event time it is given and the state. A td_positions_t is plain data (no heap): copy it, init it
 * again, or drop it. One td_positions_t serves one symbol's stream.
 *
 * Netting rules (as an MT5 netting account):
 *   - Only FILLED and PARTIAL reports change anything; REJECTED, EXPIRED, CANCELLED (and NONE)
 *     change nothing and emit nothing.
 *   - A BUY of volume v adds +v to the signed net volume, a SELL adds -v. A fill in the direction
 *     of the position (or from flat) adds to it; a fill against it closes min(v, |position|) and a
 *     remainder opens a new position on the other side at the same price (a reversal).
 *   - The open position keeps its exact cost, sum(price x volume) in 128 bits (1e16 scale), so
 *     adding never loses precision. avg_price = cost / |volume| rounded half away from zero; it is
 *     reported, never fed back. A partial close takes closed_cost = cost x closed / |volume|
 *     (rounded half away from zero) out of the cost; the rest keeps the same average.
 *   - Realised P&L of a close, in money of the profit currency:
 *         long:  (exit_price x closed - closed_cost) x contract_size
 *         short: (closed_cost - exit_price x closed) x contract_size
 *     i.e. (exit - avg) x closed x contract_size with the exact average, computed in 128 bits and
 *     rounded once, half away from zero, to money scale (td_positions__money()).
 *   - Costs. Every report's commission and swap are added to the cumulative totals. Costs of
 *     deals that open or add wait in open_commission / open_swap. A closed trade carries:
 *         commission = the closing deal's commission (on a reversal only the closing share,
 *                      commission x closed / deal volume, rounded half away from zero; the rest
 *                      waits with the new position)
 *                    + open_commission x closed / |position| (rounded; all of it on a full close)
 *         swap       = the closing deal's swap (all of it: swap belongs to the position it closes)
 *                    + open_swap x closed / |position| (rounded; all of it on a full close)
 *     so once flat, the trades' costs add up exactly to the reports' costs. A FILLED report with
 *     volume 0 that carries costs only adds them to the totals and to the open costs.
 *   - Outputs per applied report, in this order: one TD_EV_TRADE_CLOSED when the report closed
 *     volume, then exactly one TD_EV_POSITION_CHANGED. Body and kind only: the caller fills the
 *     envelope (symbol, time, offsets).
 *   - Entry time of a trade = the event time of the report that opened the position from flat (or
 *     reversed it); adding keeps it.
 *
 * Duplicate deliveries. A FILLED/PARTIAL report must carry a deal id != 0. The keeper remembers the
 * highest applied deal id and the TD_POSITIONS_DEAL_WINDOW most recently applied ids. A report is a
 * duplicate (ignored: no change, no output, TD_OK) when its deal id is in that window, or when it is
 * older than every id in a full window. ASSUMPTION: the broker numbers deals increasingly (MT5 deal
 * tickets do) and a deal is never delivered for the first time after TD_POSITIONS_DEAL_WINDOW
 * later deals of the same symbol were applied; a late deal inside the window is applied normally.
 *
 * Errors. A fill before any SymbolSpec with contract_size > 0 is TD_ERR_STATE (message in
 * td_positions_error()); a malformed report (negative volume, no side, deal id 0) is
 * TD_ERR_INVALID; a report whose price, volume or money would take a position value out of the
 * int64 range is TD_ERR_OVERFLOW. All three leave the state and outputs unchanged and none is
 * sticky: the report is refused and the caller counts it (DESIGN invariant 9: no content can
 * wedge a stream).
 */
#ifndef TD_POSITIONS_H
#define TD_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "processors/output.h"

#define TD_POSITIONS_DEAL_WINDOW 32

typedef struct td_positions {
    td_volume_t contract_size;                 /* of the last spec; 0 = none yet */
    td_volume_t volume;                        /* signed net volume */
    __int128 cost;                             /* sum of price x volume of the open volume, 1e16 scale */
    int64_t entry_time;                        /* when the open position was opened; 0 when flat */
    td_money_t realized_pnl;                   /* cumulative, from prices */
    td_money_t commission, swap;               /* cumulative over all reports */
    td_money_t open_commission;                /* not yet attributed to a closed trade */
    td_money_t open_swap;                      /* not yet attributed to a closed trade */
    uint64_t max_deal_id;                      /* highest applied deal id */
    uint32_t n_recent;                         /* entries used in recent[] */
    uint64_t recent[TD_POSITIONS_DEAL_WINDOW]; /* applied deal ids, oldest first */
    char errmsg[128];                          /* detail of the last error; not part of the state */
} td_positions_t;

/* Resets positions to flat, no spec, no history. */
void td_positions_init(td_positions_t *positions);

/* Takes the contract size (units per lot) of spec for all later P&L. The spec may change over
 * time; a change applies to later closes only. */
void td_positions_set_spec(td_positions_t *positions, const td_symbol_spec_t *spec);

/* Applies one execution report received at event time time_ms. Appends 0, 1 or 2 outputs to out
 * (see the header comment); out may be NULL for a caller that only wants the state (the fill
 * model's own book). Returns TD_OK (also for ignored reports and duplicates), TD_ERR_STATE (no
 * spec yet), TD_ERR_INVALID (malformed report), TD_ERR_NOMEM (out cannot grow), TD_ERR_OVERFLOW
 * (a value out of range). On any error neither positions (apart from errmsg) nor out changed. */
td_err_t td_positions_apply(td_positions_t *positions, int64_t time_ms, const td_exec_report_t *exec,
                            td_outbuf_t *out) TD_WUR;

/* Signed net volume: + long, - short, 0 flat. */
td_volume_t td_positions_volume(const td_positions_t *positions);

/* Average price of the open volume, cost / |volume| rounded half away from zero; 0 when flat. */
td_price_t td_positions_avg_price(const td_positions_t *positions);

/* Detail of the last error returned by td_positions_apply() ("" when none). */
const char *td_positions_error(const td_positions_t *positions);

/* Appends the canonical encoding (proto/state_positions.proto PositionsState) to out. TD_ERR_NOMEM
 * leaves out as it was. */
td_err_t td_positions_encode(const td_positions_t *positions, td_buf_t *out) TD_WUR;

/* Replaces *positions with the state encoded in p[0..n). TD_ERR_CORRUPT (positions untouched) when
 * the bytes do not decode, are not the canonical encoding, or describe an impossible state. */
td_err_t td_positions_decode(td_positions_t *positions, const uint8_t *p, size_t n) TD_WUR;

/* Shared with processors/fill.c. Money of a price x volume quantity (1e16 scale, e.g. a price
 * difference times a volume) for contract_size (> 0) units per lot: pv x contract_size / 1e16,
 * exact in 128 bits, rounded once half away from zero. TD_ERR_OVERFLOW outside int64. */
td_err_t td_positions__money(__int128 pv, td_volume_t contract_size, td_money_t *out) TD_WUR;

/* Shared with processors/fill.c, which nests the broker's book in its own state message.
 * to_msg fills msg (already initialised) from positions; msg->recent_deal_ids points into ids, so
 * ids must outlive msg. from_msg validates and fills *positions: TD_ERR_CORRUPT for an impossible
 * state. Neither does the canonical check: the caller re-encodes the outer message. */
struct Td__PositionsState;
void td_positions__to_msg(const td_positions_t *positions, struct Td__PositionsState *msg,
                          uint64_t ids[TD_POSITIONS_DEAL_WINDOW]);
td_err_t td_positions__from_msg(const struct Td__PositionsState *msg, td_positions_t *positions) TD_WUR;

#endif
