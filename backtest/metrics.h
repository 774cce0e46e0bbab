/* metrics.h - the statistics of one backtest run: ratios from daily returns, and per-trade sums.
 *
 * Two halves, kept apart on purpose (DESIGN invariant 2):
 *   - td_btmetrics_trades_t is integer state: counts and money sums (1e8 scale), folded one closed
 *     trade at a time in trade order. Profit factor and win rate are the only doubles derived
 *     from it, and only when a report is written.
 *   - td_btmetrics_ratios() turns a series of daily returns (doubles, derived from the integer
 *     equity curve) into Sharpe, Sortino, volatility, annual return, maximum drawdown and Calmar.
 *     Every sum runs in index order, once, so a run gives the same bits on every machine that
 *     implements IEEE-754 double (the build never uses -ffast-math).
 *
 * Conventions (those of the widely used open-source metric libraries, e.g. empyrical):
 *   - risk-free rate 0, 252 trading days a year;
 *   - NaN returns are skipped by Sharpe, Sortino and volatility (mean and deviation over the
 *     non-NaN returns) and count as a day of return 0 in the compounded figures (annual return,
 *     maximum drawdown), where the number of years is (all returns, NaN included) / 252;
 *   - standard deviation: sample (ddof = 1), two passes (mean first);
 *   - Sharpe = mean / sd x sqrt(252); annual volatility = sd x sqrt(252);
 *   - Sortino = mean x 252 / downside risk, downside risk = sqrt(mean(min(r, 0)^2)) x sqrt(252)
 *     over all non-NaN returns (the positive ones count as 0);
 *   - annual return = (prod(1 + r))^(252 / n) - 1;
 *   - maximum drawdown = min over t of (W_t / max(1, W_0..W_t) - 1), W_t = prod(1 + r) up to t,
 *     so the starting wealth 1 is a peak (a first losing day is a drawdown); <= 0;
 *   - Calmar = annual return / |maximum drawdown|.
 * A figure that is not defined (fewer than 2 returns, a zero deviation, no drawdown for Calmar)
 * is NaN; +-inf only where the division is by an exact 0 with a non-zero numerator (Sortino with
 * no losing day).
 *
 * Threading: plain functions on caller-owned data; any thread.
 */
#ifndef TD_BACKTEST_METRICS_H
#define TD_BACKTEST_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

#define TD_BTMETRICS_DAYS_PER_YEAR 252

typedef struct td_btmetrics_ratios {
    size_t n;     /* returns given, NaN included */
    size_t valid; /* non-NaN returns */
    double mean;  /* of the valid returns */
    double sharpe, sortino, annual_volatility, annual_return, max_drawdown, calmar;
} td_btmetrics_ratios_t;

/* Computes every ratio of returns[0..n) (see the header comment) into *ratios. n may be 0. */
void td_btmetrics_ratios(const double *returns, size_t n, td_btmetrics_ratios_t *ratios);

/* Per-trade statistics. A trade's net P&L = pnl + commission + swap (costs are negative). */
typedef struct td_btmetrics_trades {
    uint64_t trades;             /* closed trades */
    uint64_t wins;               /* net P&L > 0 */
    uint64_t losses;             /* net P&L < 0 */
    td_money_t net_pnl;          /* sum of net P&L */
    td_money_t gross_profit;     /* sum of net P&L of the wins (>= 0) */
    td_money_t gross_loss;       /* sum of net P&L of the losses (<= 0) */
    td_money_t commission, swap; /* sums of the trades' costs */
    td_money_t by_month[12];     /* net P&L by the calendar month of the exit (Jan = 0) */
    td_money_t by_weekday[7];    /* net P&L by the weekday of the exit (Sunday = 0) */
} td_btmetrics_trades_t;

/* Zeroes *stats. */
void td_btmetrics_trades_init(td_btmetrics_trades_t *stats);

/* Folds one closed trade. The month and weekday are those of the trading day of the exit time
 * (core/timeutil.h, td_time_trading_day with day_offset_minutes). TD_ERR_OVERFLOW when a sum
 * leaves int64 (stats then unchanged). */
td_err_t td_btmetrics_trades_add(td_btmetrics_trades_t *stats, const td_trade_closed_t *trade,
                                 int day_offset_minutes) TD_WUR;

/* Net P&L of one trade: pnl + commission + swap; TD_ERR_OVERFLOW outside int64. */
td_err_t td_btmetrics_trade_net(const td_trade_closed_t *trade, td_money_t *net) TD_WUR;

/* Expectancy: net_pnl / trades in money, rounded half away from zero; 0 without trades. */
td_money_t td_btmetrics_expectancy(const td_btmetrics_trades_t *stats);

/* Win rate wins / trades; NaN without trades. */
double td_btmetrics_win_rate(const td_btmetrics_trades_t *stats);

/* Profit factor gross_profit / -gross_loss; +inf with profits and no loss, NaN with neither. */
double td_btmetrics_profit_factor(const td_btmetrics_trades_t *stats);

#endif
