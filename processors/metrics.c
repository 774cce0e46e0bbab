/* metrics.c - day and lifetime metrics over closed trades (contract in metrics.h). */
#include "processors/metrics.h"

#include <string.h>

#include "state_positions.pb-c.h"

void td_metrics_init(td_metrics_t *metrics)
{
    memset(metrics, 0, sizeof *metrics);
}

td_err_t td_metrics_net_pnl(const td_trade_closed_t *trade, td_money_t *net)
{
    td_money_t v;
    td_err_t rc = td_fx_add(trade->pnl, trade->commission, &v);
    if (rc == TD_OK)
        rc = td_fx_add(v, trade->swap, &v);
    if (rc == TD_OK)
        *net = v;
    return rc;
}

/* Folds a trade of net P&L `net` into totals (a copy: the caller commits on success). */
static td_err_t add_trade(td_metrics_totals_t *totals, td_money_t net)
{
    td_money_t dd;
    td_err_t rc = td_fx_add(totals->realized_pnl, net, &totals->realized_pnl);
    if (rc != TD_OK)
        return rc;
    totals->trades++;
    if (net > 0)
        totals->wins++;
    if (totals->realized_pnl > totals->peak)
        totals->peak = totals->realized_pnl;
    rc = td_fx_sub(totals->peak, totals->realized_pnl, &dd);
    if (rc == TD_OK && dd > totals->max_drawdown)
        totals->max_drawdown = dd;
    return rc;
}

td_err_t td_metrics_on_trade(td_metrics_t *metrics, const td_trade_closed_t *trade)
{
    td_money_t net = 0;
    td_metrics_totals_t day = metrics->day, total = metrics->total;
    td_err_t rc = td_metrics_net_pnl(trade, &net);
    if (rc == TD_OK)
        rc = add_trade(&day, net);
    if (rc == TD_OK)
        rc = add_trade(&total, net);
    if (rc != TD_OK)
        return rc; /* refused: the totals stay as they were */
    metrics->day = day;
    metrics->total = total;
    return TD_OK;
}

void td_metrics_day_reset(td_metrics_t *metrics)
{
    memset(&metrics->day, 0, sizeof metrics->day);
    metrics->days++;
}

td_err_t td_metrics_encode(const td_metrics_t *metrics, td_buf_t *out)
{
    Td__MetricsState msg = TD__METRICS_STATE__INIT;
    msg.day_trades = metrics->day.trades;
    msg.day_wins = metrics->day.wins;
    msg.day_realized_pnl = metrics->day.realized_pnl;
    msg.day_peak = metrics->day.peak;
    msg.day_max_drawdown = metrics->day.max_drawdown;
    msg.total_trades = metrics->total.trades;
    msg.total_wins = metrics->total.wins;
    msg.total_realized_pnl = metrics->total.realized_pnl;
    msg.total_peak = metrics->total.peak;
    msg.total_max_drawdown = metrics->total.max_drawdown;
    msg.days = metrics->days;
    size_t n = td__metrics_state__get_packed_size(&msg);
    td_err_t rc = td_buf_reserve(out, n);
    if (rc != TD_OK)
        return rc;
    size_t w = td__metrics_state__pack(&msg, out->ptr + out->len);
    TD_ASSERT(w == n);
    out->len += n;
    return TD_OK;
}

/* The consistency td_metrics_on_trade() always keeps. */
static int totals_valid(const td_metrics_totals_t *totals)
{
    return totals->wins <= totals->trades && totals->peak >= 0 && totals->peak >= totals->realized_pnl &&
           totals->max_drawdown >= 0 &&
           (totals->trades > 0 || (totals->realized_pnl == 0 && totals->peak == 0 && totals->max_drawdown == 0));
}

td_err_t td_metrics_decode(td_metrics_t *metrics, const uint8_t *p, size_t n)
{
    Td__MetricsState *msg = td__metrics_state__unpack(NULL, n, p);
    if (!msg)
        return TD_ERR_CORRUPT;
    td_metrics_t tmp;
    td_metrics_init(&tmp);
    td_err_t rc = TD_OK;
    if (msg->base.n_unknown_fields != 0 || msg->failed > 0 || msg->failed < TD_ERR_END)
        rc = TD_ERR_CORRUPT;
    if (rc == TD_OK) {
        /* `failed`: the sticky code of older versions, ignored (a refused input never changed the state) */
        tmp.day.trades = msg->day_trades;
        tmp.day.wins = msg->day_wins;
        tmp.day.realized_pnl = msg->day_realized_pnl;
        tmp.day.peak = msg->day_peak;
        tmp.day.max_drawdown = msg->day_max_drawdown;
        tmp.total.trades = msg->total_trades;
        tmp.total.wins = msg->total_wins;
        tmp.total.realized_pnl = msg->total_realized_pnl;
        tmp.total.peak = msg->total_peak;
        tmp.total.max_drawdown = msg->total_max_drawdown;
        tmp.days = msg->days;
        if (!totals_valid(&tmp.day) || !totals_valid(&tmp.total) || tmp.day.trades > tmp.total.trades)
            rc = TD_ERR_CORRUPT;
    }
    td__metrics_state__free_unpacked(msg, NULL);
    if (rc == TD_OK) {
        td_buf_t again;
        td_buf_init(&again);
        rc = td_metrics_encode(&tmp, &again);
        if (rc == TD_OK && (again.len != n || (n && memcmp(again.ptr, p, n) != 0)))
            rc = TD_ERR_CORRUPT;
        td_buf_fini(&again);
    }
    if (rc == TD_OK)
        *metrics = tmp;
    return rc;
}
