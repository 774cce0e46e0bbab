/* metrics.h - per-symbol trading-day metrics, fed by the position keeper's TradeClosed outputs.
 *
 * A pure state machine (DESIGN invariant 2), plain data (no heap). One td_metrics_t serves one
 * symbol. It keeps two sets of totals with the same rules: `day` (since the last
 * td_metrics_day_reset(), the numbers of the DayDigest) and `total` (since init: lifetime).
 *
 * Rules:
 *   - net P&L of a trade = pnl + commission + swap (costs are negative money);
 *   - a win is a trade with net P&L > 0 (a zero trade is not a win);
 *   - realized_pnl is the sum of the trades' net P&L;
 *   - the equity curve is realized_pnl after each trade, starting at 0: so a losing first trade
 *     is a drawdown. peak = max(0, equity so far); max_drawdown = max(peak - equity) >= 0, in
 *     money, over closed trades only (open positions are not marked to market).
 * Integer arithmetic only; a trade whose sums would leave int64 is TD_ERR_OVERFLOW and refused:
 * the totals stay as they were (DESIGN invariant 9).
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"

typedef struct td_metrics_totals {
    uint64_t trades, wins;
    td_money_t realized_pnl; /* net of commission and swap */
    td_money_t peak;         /* highest equity so far, >= 0 */
    td_money_t max_drawdown; /* >= 0 */
} td_metrics_totals_t;

typedef struct td_metrics {
    td_metrics_totals_t day;   /* the current trading day */
    td_metrics_totals_t total; /* since init (lifetime) */
    uint64_t days;             /* td_metrics_day_reset() calls since init */
} td_metrics_t;

/* Resets metrics to zero trades, day and lifetime. */
void td_metrics_init(td_metrics_t *metrics);

/* Counts one closed trade in the day and lifetime totals. TD_OK, or TD_ERR_OVERFLOW (metrics
 * unchanged) when a sum would leave int64. */
td_err_t td_metrics_on_trade(td_metrics_t *metrics, const td_trade_closed_t *trade) TD_WUR;

/* Starts a new trading day: the day totals go back to zero (equity curve restarts at 0); the
 * lifetime totals stay. The caller reads the day totals (for the DayDigest) before. */
void td_metrics_day_reset(td_metrics_t *metrics);

/* Net P&L of a trade (pnl + commission + swap); TD_ERR_OVERFLOW outside int64. */
td_err_t td_metrics_net_pnl(const td_trade_closed_t *trade, td_money_t *net) TD_WUR;

/* Appends the canonical encoding (proto/state_positions.proto MetricsState) to out. TD_ERR_NOMEM
 * leaves out as it was. */
td_err_t td_metrics_encode(const td_metrics_t *metrics, td_buf_t *out) TD_WUR;

/* Replaces *metrics with the state encoded in p[0..n). TD_ERR_CORRUPT (metrics untouched) when the
 * bytes do not decode, are not canonical, or describe an impossible state. */
td_err_t td_metrics_decode(td_metrics_t *metrics, const uint8_t *p, size_t n) TD_WUR;

#endif
