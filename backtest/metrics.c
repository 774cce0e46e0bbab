/* metrics.c - backtest statistics (contract and conventions in metrics.h).
 *
 * The ratio code is written as plain index-order loops so that its rounding is fixed by the
 * source: no pairwise or vectorised summation whose grouping a compiler or library could change.
 */
#include "backtest/metrics.h"

#include <math.h>
#include <string.h>

#include "core/timeutil.h"

void td_btmetrics_ratios(const double *returns, size_t n, td_btmetrics_ratios_t *ratios)
{
    const double days = TD_BTMETRICS_DAYS_PER_YEAR;
    memset(ratios, 0, sizeof *ratios);
    ratios->n = n;

    /* pass 1: mean of the valid returns; compounded wealth and its drawdown over all days */
    double sum = 0.0, wealth = 1.0, peak = 1.0, max_dd = 0.0;
    size_t valid = 0;
    for (size_t i = 0; i < n; i++) {
        double r = returns[i];
        if (isnan(r))
            continue; /* a day of return 0: wealth, peak and drawdown stay */
        sum += r;
        valid++;
        wealth *= 1.0 + r;
        if (wealth > peak)
            peak = wealth;
        double dd = wealth / peak - 1.0;
        if (dd < max_dd)
            max_dd = dd;
    }
    ratios->valid = valid;
    double mean = valid ? sum / (double)valid : NAN;
    ratios->mean = mean;

    /* pass 2: sample variance and downside square mean around the mean */
    double ss = 0.0, down = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = returns[i];
        if (isnan(r))
            continue;
        double d = r - mean;
        ss += d * d;
        if (r < 0.0)
            down += r * r;
    }
    double sd = valid >= 2 ? sqrt(ss / (double)(valid - 1)) : NAN;
    double root_days = sqrt(days);
    ratios->annual_volatility = sd * root_days;
    ratios->sharpe = (valid >= 2 && sd > 0.0) ? mean / sd * root_days : NAN;
    double downside = valid ? sqrt(down / (double)valid) * root_days : NAN;
    if (valid < 2)
        ratios->sortino = NAN;
    else if (downside > 0.0)
        ratios->sortino = mean * days / downside;
    else
        ratios->sortino = mean > 0.0 ? INFINITY : mean < 0.0 ? -INFINITY : NAN;

    ratios->max_drawdown = n ? max_dd : NAN;
    ratios->annual_return = n ? pow(wealth, 1.0 / ((double)n / days)) - 1.0 : NAN;
    ratios->calmar = (n && max_dd < 0.0) ? ratios->annual_return / -max_dd : NAN;
}

void td_btmetrics_trades_init(td_btmetrics_trades_t *stats)
{
    memset(stats, 0, sizeof *stats);
}

td_err_t td_btmetrics_trade_net(const td_trade_closed_t *trade, td_money_t *net)
{
    td_money_t v;
    if (__builtin_add_overflow(trade->pnl, trade->commission, &v) || __builtin_add_overflow(v, trade->swap, &v))
        return TD_ERR_OVERFLOW;
    *net = v;
    return TD_OK;
}

td_err_t td_btmetrics_trades_add(td_btmetrics_trades_t *stats, const td_trade_closed_t *trade, int day_offset_minutes)
{
    td_btmetrics_trades_t next = *stats;
    td_money_t net;
    if (td_btmetrics_trade_net(trade, &net) != TD_OK)
        return TD_ERR_OVERFLOW;
    uint32_t day = td_time_trading_day(trade->exit_time, day_offset_minutes);
    unsigned month = (day / 100) % 100;
    int64_t days = td_time_days_from_civil((int)(day / 10000), month, day % 100);
    int weekday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    TD_ASSERT(month >= 1 && month <= 12);

    next.trades++;
    if (net > 0)
        next.wins++;
    else if (net < 0)
        next.losses++;
    if (__builtin_add_overflow(next.net_pnl, net, &next.net_pnl) ||
        __builtin_add_overflow(next.commission, trade->commission, &next.commission) ||
        __builtin_add_overflow(next.swap, trade->swap, &next.swap) ||
        (net > 0 && __builtin_add_overflow(next.gross_profit, net, &next.gross_profit)) ||
        (net < 0 && __builtin_add_overflow(next.gross_loss, net, &next.gross_loss)) ||
        __builtin_add_overflow(next.by_month[month - 1], net, &next.by_month[month - 1]) ||
        __builtin_add_overflow(next.by_weekday[weekday], net, &next.by_weekday[weekday]))
        return TD_ERR_OVERFLOW;
    *stats = next;
    return TD_OK;
}

td_money_t td_btmetrics_expectancy(const td_btmetrics_trades_t *stats)
{
    if (stats->trades == 0)
        return 0;
    int64_t q = stats->net_pnl / (int64_t)stats->trades, r = stats->net_pnl % (int64_t)stats->trades;
    int64_t r2 = r < 0 ? -r : r;
    if (r2 >= (int64_t)stats->trades - r2) /* 2|r| >= trades, without overflow */
        q += stats->net_pnl < 0 ? -1 : 1;
    return q;
}

double td_btmetrics_win_rate(const td_btmetrics_trades_t *stats)
{
    return stats->trades ? (double)stats->wins / (double)stats->trades : NAN;
}

double td_btmetrics_profit_factor(const td_btmetrics_trades_t *stats)
{
    if (stats->gross_loss < 0)
        return (double)stats->gross_profit / -(double)stats->gross_loss;
    return stats->gross_profit > 0 ? INFINITY : NAN;
}
