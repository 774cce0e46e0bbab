/* walkforward.c - walk-forward optimisation (windows, choice, OOS run: see walkforward.h). */
#include "backtest/walkforward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

static const char *const metric_names[] = {"sharpe", "sortino", "calmar", "net_pnl", "profit_factor"};

td_err_t td_wf_metric_parse(const char *name, td_wf_metric_t *metric)
{
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
        if (strcmp(name, metric_names[i]) == 0) {
            *metric = (td_wf_metric_t)i;
            return TD_OK;
        }
    return TD_ERR_INVALID;
}

const char *td_wf_metric_name(td_wf_metric_t metric)
{
    return metric_names[metric];
}

double td_wf_metric_value(td_wf_metric_t metric, const td_backtest_result_t *result)
{
    switch (metric) {
    case TD_WF_SHARPE: return result->ratios.sharpe;
    case TD_WF_SORTINO: return result->ratios.sortino;
    case TD_WF_CALMAR: return result->ratios.calmar;
    case TD_WF_NET_PNL: return result->trades.trades ? (double)result->trades.net_pnl / 1e8 : NAN;
    case TD_WF_PROFIT_FACTOR: return td_btmetrics_profit_factor(&result->trades);
    }
    return NAN;
}

static bool parse_len(const char *s, size_t len, uint32_t *v, bool *months)
{
    *months = len > 0 && s[len - 1] == 'm';
    if (*months)
        len--;
    if (len == 0 || len > 9)
        return false;
    uint32_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (uint32_t)(s[i] - '0');
    }
    *v = x;
    return x > 0;
}

td_err_t td_wf_parse(const char *text, td_wf_spec_t *spec, char *errbuf, size_t errlen)
{
    const char *colon = strchr(text, ':');
    bool m1 = false, m2 = false;
    if (!colon || !parse_len(text, (size_t)(colon - text), &spec->is_len, &m1) ||
        !parse_len(colon + 1, strlen(colon + 1), &spec->oos_len, &m2) || m1 != m2)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "walk-forward '%s': expected IS:OOS lengths > 0, both in bars (6000:1500) or both in "
                          "months (24m:6m)",
                          text);
    spec->unit = m1 ? TD_WF_MONTHS : TD_WF_BARS;
    if (spec->unit == TD_WF_MONTHS && (spec->is_len > 1200 || spec->oos_len > 1200))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "walk-forward '%s': at most 1200 months a part", text);
    return TD_OK;
}

/* ---- windows ---- */

typedef struct windows {
    td_wf_window_t *v;
    size_t len;
} windows_t;

static uint32_t day_of(const td_backtest_config_t *config, const td_bar_t *bar)
{
    return td_time_trading_day(bar->open_time, config->day_offset_minutes);
}

/* The first trading-day start at or after bar i (n when none). */
static size_t day_start_from(const td_backtest_config_t *config, const td_bar_t *bars, size_t n, size_t i)
{
    while (i > 0 && i < n && day_of(config, &bars[i]) == day_of(config, &bars[i - 1]))
        i++;
    return i < n ? i : n;
}

static int64_t month_of(const td_backtest_config_t *config, const td_bar_t *bar)
{
    uint32_t d = day_of(config, bar);
    return (int64_t)(d / 10000) * 12 + (int64_t)(d / 100 % 100) - 1;
}

/* The first bar at or after `from` whose trading-day month is >= month (n when none). */
static size_t month_start(const td_backtest_config_t *config, const td_bar_t *bars, size_t n, size_t from,
                          int64_t month)
{
    size_t i = from;
    while (i < n && month_of(config, &bars[i]) < month)
        i++;
    return i;
}

static td_err_t make_windows(const td_wf_spec_t *spec, const td_backtest_config_t *config, const td_bar_t *bars,
                             size_t n, windows_t *w)
{
    w->v = NULL;
    w->len = 0;
    size_t cap = 0;
    size_t is_from = 0, oos_from = 0, oos_to = 0;
    int64_t m0 = n ? month_of(config, &bars[0]) : 0;
    for (size_t k = 0;; k++) {
        if (spec->unit == TD_WF_BARS) {
            oos_from = k == 0 ? day_start_from(config, bars, n, spec->is_len) : oos_to;
            if (oos_from >= n)
                break;
            is_from = day_start_from(config, bars, n, oos_from > spec->is_len ? oos_from - spec->is_len : 0);
            oos_to = day_start_from(config, bars, n, oos_from + spec->oos_len);
        } else {
            int64_t om = m0 + spec->is_len + (int64_t)k * spec->oos_len;
            oos_from = month_start(config, bars, n, 0, om);
            if (oos_from >= n)
                break;
            is_from = month_start(config, bars, n, 0, om - spec->is_len);
            oos_to = month_start(config, bars, n, oos_from, om + spec->oos_len);
        }
        if (oos_from - is_from < 2 || oos_to <= oos_from)
            continue;
        if (w->len == cap) {
            cap = cap ? 2 * cap : 16;
            td_wf_window_t *p = realloc(w->v, cap * sizeof *p);
            if (!p)
                return TD_ERR_NOMEM;
            w->v = p;
        }
        td_wf_window_t *win = &w->v[w->len];
        memset(win, 0, sizeof *win);
        win->number = w->len++;
        win->is_from = is_from;
        win->is_to = oos_from;
        win->oos_to = oos_to;
    }
    return TD_OK;
}

/* ---- the run ---- */

typedef struct wf_run {
    td_wf_metric_t metric;
    const td_wf_sink_t *sink;
    td_wf_result_t *result;
    td_wf_window_t *window;
    int day_offset_minutes;
    /* IS choice */
    bool have_best;
    uint64_t best_index;
    double best_metric;
    /* OOS filter */
    int64_t oos_start_ms;
    uint32_t oos_first_day;
    double *returns;
    size_t n_returns, cap_returns;
    double wealth;
    char err[256];
} wf_run_t;

static td_err_t on_is_row(void *opaque, const td_grid_row_t *row)
{
    wf_run_t *run = opaque;
    if (row->refused)
        return TD_OK;
    run->window->is_evaluated++;
    double v = td_wf_metric_value(run->metric, row->result);
    if (isnan(v))
        return TD_OK;
    if (!run->have_best || v > run->best_metric) { /* rows come in index order: ties keep the lower */
        run->have_best = true;
        run->best_index = row->index;
        run->best_metric = v;
    }
    return TD_OK;
}

static td_err_t push_day(wf_run_t *run, uint32_t day, double ret)
{
    if (run->n_returns == run->cap_returns) {
        size_t cap = run->cap_returns ? 2 * run->cap_returns : 1024;
        double *p = realloc(run->returns, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        run->returns = p;
        run->cap_returns = cap;
    }
    run->returns[run->n_returns++] = ret;
    run->window->oos_days++;
    if (!isnan(ret))
        run->wealth *= 1.0 + ret;
    if (run->sink && run->sink->equity)
        return run->sink->equity(run->sink->opaque, run->window, day, ret, run->wealth);
    return TD_OK;
}

static td_err_t on_oos_trade(void *opaque, const td_trade_closed_t *trade)
{
    wf_run_t *run = opaque;
    if (trade->exit_time < run->oos_start_ms)
        return TD_OK;
    td_err_t rc = td_btmetrics_trades_add(&run->window->oos_trades, trade, run->day_offset_minutes);
    if (rc == TD_OK)
        rc = td_btmetrics_trades_add(&run->result->trades, trade, run->day_offset_minutes);
    if (rc == TD_OK && run->sink && run->sink->trade)
        rc = run->sink->trade(run->sink->opaque, run->window, trade);
    return rc;
}

static td_err_t on_oos_equity(void *opaque, uint32_t trading_day, td_money_t equity, double daily_return)
{
    (void)equity;
    wf_run_t *run = opaque;
    if (trading_day < run->oos_first_day)
        return TD_OK;
    return push_day(run, trading_day, daily_return);
}

td_err_t td_wf_run(const td_wf_spec_t *spec, td_wf_metric_t metric, const td_grid_t *grid, const char *strategy,
                   const td_backtest_config_t *config, const td_bar_t *bars, size_t n, const td_grid_opts_t *opts,
                   const td_wf_sink_t *sink, td_wf_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    result->final_wealth = 1.0;
    windows_t w;
    td_err_t rc = make_windows(spec, config, bars, n, &w);
    if (rc == TD_OK && w.len == 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID,
                        "walk-forward %u%s:%u%s: the %zu bars hold no window (an in-sample part of %u %s and at "
                        "least one out-of-sample bar after it)",
                        spec->is_len, spec->unit == TD_WF_MONTHS ? "m" : "", spec->oos_len,
                        spec->unit == TD_WF_MONTHS ? "m" : "", n, spec->is_len,
                        spec->unit == TD_WF_MONTHS ? "months" : "bars");
    wf_run_t run;
    memset(&run, 0, sizeof run);
    run.metric = metric;
    run.sink = sink;
    run.result = result;
    run.day_offset_minutes = config->day_offset_minutes;
    run.wealth = 1.0;
    td_grid_opts_t gopts = *opts;
    gopts.collect_trades = gopts.collect_equity = false;
    td_params_changed_t params;
    td_backtest_result_t oos;
    for (size_t k = 0; rc == TD_OK && k < w.len; k++) {
        td_wf_window_t *win = &w.v[k];
        run.window = win;
        run.have_best = false;
        td_grid_stats_t stats;
        rc = td_grid_run(grid, strategy, config, bars + win->is_from, win->is_to - win->is_from, &gopts, on_is_row,
                         &run, &stats, errbuf, errlen);
        result->bar_steps += stats.bar_steps;
        if (rc != TD_OK)
            break;
        size_t first_returns = run.n_returns;
        run.oos_start_ms = bars[win->is_to].open_time;
        run.oos_first_day = day_of(config, &bars[win->is_to]);
        if (run.have_best) {
            win->chosen = true;
            win->index = run.best_index;
            win->is_metric = run.best_metric;
            result->chosen_windows++;
            td_grid_params(grid, strategy, run.best_index, &params);
            td_backtest_sink_t bsink = {.trade = on_oos_trade, .equity = on_oos_equity, .opaque = &run};
            rc = td_backtest_run(config, &params, bars + win->is_from, win->oos_to - win->is_from, &bsink, &oos, errbuf,
                                 errlen);
            result->bar_steps += win->oos_to - win->is_from;
        } else {
            win->is_metric = NAN;
            for (size_t i = win->is_to; rc == TD_OK && i < win->oos_to; i++)
                if (i == win->is_to || day_of(config, &bars[i]) != day_of(config, &bars[i - 1]))
                    rc = push_day(&run, day_of(config, &bars[i]), 0.0);
        }
        if (rc == TD_OK)
            td_btmetrics_ratios(run.returns + first_returns, run.n_returns - first_returns, &win->oos_ratios);
        if (rc == TD_OK && sink && sink->window)
            rc = sink->window(sink->opaque, win);
        result->windows = k + 1;
    }
    if (rc == TD_OK) {
        td_btmetrics_ratios(run.returns, run.n_returns, &result->ratios);
        result->days = run.n_returns;
        result->final_wealth = run.wealth;
    } else if (rc == TD_ERR_NOMEM && errbuf && !errbuf[0]) {
        td_err_set(errbuf, errlen, rc, "out of memory");
    }
    free(run.returns);
    free(w.v);
    return rc;
}
