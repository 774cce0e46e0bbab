/* run.c - one backtest run over one or many symbols (contract in run.h). */
#include "backtest/run.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backtest/source.h"
#include "backtest/validate.h"
#include "backtest/warehouse.h"
#include "core/buf.h"
#include "core/event_json.h"
#include "core/timeutil.h"

#define BEST_MAX TD_BT_BEST_MAX

/* ---- text helpers ---- */

static td_err_t put_fixed(td_buf_t *buf, int64_t v)
{
    return td_json_fixed(buf, v);
}

static td_err_t put_price(td_buf_t *buf, int64_t v, unsigned digits)
{
    char num[48];
    td_fx_format(v, (int)digits, num, sizeof num);
    return td_buf_append(buf, num, strlen(num));
}

/* A derived double: "%.12g"; in CSV nan / inf / -inf, in JSON null for any non-finite value. */
static td_err_t put_double(td_buf_t *buf, double v, bool json)
{
    if (!isfinite(v))
        return json ? td_buf_printf(buf, "null") : td_buf_printf(buf, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    return td_buf_printf(buf, "%.12g", v);
}

static td_err_t put_iso(td_buf_t *buf, int64_t ms)
{
    char iso[32];
    td_time_format_iso(ms, iso);
    return td_buf_append(buf, iso, strlen(iso));
}

/* ---- the run ---- */

typedef struct best {
    uint64_t index;
    double sharpe;
    td_backtest_result_t result;
} best_t;

typedef struct bt_run {
    const td_grid_t *grid;
    const char *symbol;
    unsigned digits;
    FILE *csv, *trades, *equity;
    FILE *json; /* the JSON document; NULL without one */
    bool multi; /* several symbols: result and equity rows start with the symbol */
    bool first_json_row;
    td_validate_t *validate;
    td_bt_wh_t *wh; /* --warehouse: the run's open transaction */
    td_buf_t line;
    best_t best[BEST_MAX];
    size_t n_best, best_max;
    void (*progress)(void *opaque, uint64_t done, uint64_t total);
    void *progress_opaque;
    char err[512];
} bt_run_t;

static td_err_t write_line(bt_run_t *run, FILE *f, const char *what)
{
    if (fwrite(run->line.ptr, 1, run->line.len, f) != run->line.len)
        return td_err_set(run->err, sizeof run->err, TD_ERR_IO, "cannot write the %s", what);
    return TD_OK;
}

static td_err_t put_params_csv(bt_run_t *run, uint64_t index)
{
    td_err_t rc = run->multi ? td_buf_printf(&run->line, "%s,", run->symbol) : TD_OK;
    if (rc == TD_OK)
        rc = td_buf_printf(&run->line, "%" PRIu64, index);
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(run->grid); i++) {
        td_grid_value(run->grid, index, i, v);
        rc = td_buf_printf(&run->line, ",%s", v);
    }
    return rc;
}

static td_err_t put_params_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    td_err_t rc = td_buf_printf(buf, "\"index\":%" PRIu64 ",\"params\":{", index);
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        if (i)
            rc = td_buf_printf(buf, ",");
        if (rc == TD_OK)
            rc = td_json_string(buf, td_grid_param_name(grid, i));
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ":");
        if (rc == TD_OK)
            rc = td_json_string(buf, v);
    }
    return rc == TD_OK ? td_buf_printf(buf, "}") : rc;
}

/* The metric columns / members of one result. */
static td_err_t put_metrics(td_buf_t *buf, const td_backtest_result_t *r, bool json)
{
    const td_btmetrics_trades_t *t = &r->trades;
    const td_btmetrics_ratios_t *m = &r->ratios;
    td_err_t rc =
        json ? td_buf_printf(buf, ",\"trades\":%" PRIu64 ",\"wins\":%" PRIu64 ",\"win_rate\":", t->trades, t->wins)
             : td_buf_printf(buf, ",%" PRIu64 ",", t->trades);
    struct {
        const char *name;
        bool money;
        int64_t fixed;
        double v;
    } cols[] = {
        {"win_rate", false, 0, td_btmetrics_win_rate(t)},
        {"net_pnl", true, t->net_pnl, 0},
        {"profit_factor", false, 0, td_btmetrics_profit_factor(t)},
        {"expectancy", true, td_btmetrics_expectancy(t), 0},
        {"sharpe", false, 0, m->sharpe},
        {"sortino", false, 0, m->sortino},
        {"max_drawdown", false, 0, m->max_drawdown},
        {"calmar", false, 0, m->calmar},
        {"exposure", false, 0, td_backtest_exposure(r)},
        {"annual_return", false, 0, m->annual_return},
        {"annual_volatility", false, 0, m->annual_volatility},
        {"final_equity", true, r->final_equity, 0},
    };
    for (size_t k = 0; rc == TD_OK && k < sizeof cols / sizeof cols[0]; k++) {
        if (k > 0)
            rc = json ? td_buf_printf(buf, ",\"%s\":", cols[k].name) : td_buf_printf(buf, ",");
        if (rc == TD_OK)
            rc = cols[k].money ? put_fixed(buf, cols[k].fixed) : put_double(buf, cols[k].v, json);
    }
    if (rc == TD_OK && json) {
        rc = td_buf_printf(buf, ",\"commission\":");
        if (rc == TD_OK)
            rc = put_fixed(buf, t->commission);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"swap\":");
        if (rc == TD_OK)
            rc = put_fixed(buf, t->swap);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"days\":%" PRIu64 ",\"open_volume\":", r->days);
        if (rc == TD_OK)
            rc = put_fixed(buf, r->open_volume);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"pnl_by_month\":[");
        for (int k = 0; rc == TD_OK && k < 12; k++) {
            rc = k ? td_buf_printf(buf, ",") : TD_OK;
            if (rc == TD_OK)
                rc = put_fixed(buf, t->by_month[k]);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "],\"pnl_by_weekday\":[");
        for (int k = 0; rc == TD_OK && k < 7; k++) {
            rc = k ? td_buf_printf(buf, ",") : TD_OK;
            if (rc == TD_OK)
                rc = put_fixed(buf, t->by_weekday[k]);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "]");
    }
    return rc;
}

/* Keeps the best sets by Sharpe: higher first, ties by lower index; undefined Sharpe never. */
static void best_insert(bt_run_t *run, uint64_t index, const td_backtest_result_t *result)
{
    double sharpe = result->ratios.sharpe;
    if (isnan(sharpe) || run->best_max == 0)
        return;
    size_t pos = run->n_best;
    while (pos > 0 && run->best[pos - 1].sharpe < sharpe) /* equal: the earlier index stays first */
        pos--;
    if (pos >= run->best_max)
        return;
    size_t last = run->n_best < run->best_max ? run->n_best : run->best_max - 1;
    memmove(&run->best[pos + 1], &run->best[pos], (last - pos) * sizeof run->best[0]);
    run->best[pos] = (best_t){index, sharpe, *result};
    if (run->n_best < run->best_max)
        run->n_best++;
}

/* One trades-file line: N,symbol,side,entry_time,entry_price,exit_time,exit_price,volume,pnl,
 * commission,swap,net (N: the set's index, or the window in walk-forward files). */
static td_err_t put_trade(td_buf_t *line, uint64_t n, const char *symbol, unsigned digits, const td_trade_closed_t *t)
{
    td_money_t net = 0;
    td_err_t rc = td_buf_printf(line, "%" PRIu64 ",%s,%s,", n, symbol, t->side == TD_SIDE_BUY ? "long" : "short");
    if (rc == TD_OK)
        rc = put_iso(line, t->entry_time);
    if (rc == TD_OK)
        rc = td_buf_printf(line, ",");
    if (rc == TD_OK)
        rc = put_price(line, t->entry_price, digits);
    if (rc == TD_OK)
        rc = td_buf_printf(line, ",");
    if (rc == TD_OK)
        rc = put_iso(line, t->exit_time);
    if (rc == TD_OK)
        rc = td_buf_printf(line, ",");
    if (rc == TD_OK)
        rc = put_price(line, t->exit_price, digits);
    const int64_t money[] = {t->volume, t->pnl, t->commission, t->swap};
    for (size_t j = 0; rc == TD_OK && j < 4; j++) {
        rc = td_buf_printf(line, ",");
        if (rc == TD_OK)
            rc = put_fixed(line, money[j]);
    }
    if (rc == TD_OK)
        rc = td_btmetrics_trade_net(t, &net);
    if (rc == TD_OK)
        rc = td_buf_printf(line, ",");
    if (rc == TD_OK)
        rc = put_fixed(line, net);
    return rc == TD_OK ? td_buf_printf(line, "\n") : rc;
}

static td_err_t on_row(void *opaque, const td_grid_row_t *row)
{
    bt_run_t *run = opaque;
    td_err_t rc = TD_OK;
    if (!row->refused) {
        best_insert(run, row->index, row->result);
        if (run->validate)
            rc = td_validate_add(run->validate, row);
        if (rc == TD_OK && run->wh)
            rc = td_bt_wh_add(run->wh, run->grid, row->index, row->result, run->err, sizeof run->err);
        if (rc == TD_OK && run->csv) {
            td_buf_reset(&run->line);
            rc = put_params_csv(run, row->index);
            if (rc == TD_OK)
                rc = put_metrics(&run->line, row->result, false);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "\n");
            if (rc == TD_OK)
                rc = write_line(run, run->csv, "results");
        }
        if (rc == TD_OK && run->json) {
            td_buf_reset(&run->line);
            rc = td_buf_printf(&run->line, "%s{", run->first_json_row ? "\n" : ",\n");
            run->first_json_row = false;
            if (rc == TD_OK)
                rc = put_params_json(&run->line, run->grid, row->index);
            if (rc == TD_OK)
                rc = put_metrics(&run->line, row->result, true);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "}");
            if (rc == TD_OK)
                rc = write_line(run, run->json, "JSON document");
        }
        for (size_t k = 0; rc == TD_OK && run->trades && k < row->n_trades; k++) {
            td_buf_reset(&run->line);
            rc = put_trade(&run->line, row->index, run->symbol, run->digits, &row->trades[k]);
            if (rc == TD_OK)
                rc = write_line(run, run->trades, "trades file");
        }
        for (size_t k = 0; rc == TD_OK && run->equity && k < row->n_equity; k++) {
            const td_grid_equity_t *e = &row->equity[k];
            td_buf_reset(&run->line);
            uint32_t d = e->trading_day;
            rc = run->multi ? td_buf_printf(&run->line, "%s,", run->symbol) : TD_OK;
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "%" PRIu64 ",%04u-%02u-%02u,", row->index, d / 10000, d / 100 % 100,
                                   d % 100);
            if (rc == TD_OK)
                rc = put_fixed(&run->line, e->equity);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_double(&run->line, e->daily_return, false);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "\n");
            if (rc == TD_OK)
                rc = write_line(run, run->equity, "equity file");
        }
    }
    if (rc == TD_OK && run->progress)
        run->progress(run->progress_opaque, row->index + 1, td_grid_count(run->grid));
    if (rc == TD_ERR_NOMEM)
        td_err_set(run->err, sizeof run->err, rc, "out of memory");
    return rc;
}

/* ---- the bars ---- */

typedef struct bar_vec {
    td_bar_t *v;
    size_t len, cap;
} bar_vec_t;

static td_err_t bar_sink(void *opaque, const td_event_t *ev)
{
    bar_vec_t *bars = opaque;
    if (ev->kind != TD_EV_BAR)
        return TD_ERR_INVALID;
    if (bars->len == bars->cap) {
        size_t cap = bars->cap ? 2 * bars->cap : 4096;
        td_bar_t *p = realloc(bars->v, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        bars->v = p;
        bars->cap = cap;
    }
    bars->v[bars->len++] = ev->u.bar;
    return TD_OK;
}

typedef struct gaps {
    uint64_t total, weekend, other;
    int64_t largest_ms;
    int64_t largest_at; /* open time of the bar after the largest gap */
} gaps_t;

/* A gap is a step between consecutive bars longer than the timeframe. It is a weekend gap when the
 * missing span contains a Saturday (UTC): weekends are expected, other gaps (holidays, missing
 * data) are worth a look. */
static void find_gaps(const bar_vec_t *bars, gaps_t *gaps)
{
    memset(gaps, 0, sizeof *gaps);
    for (size_t i = 1; i < bars->len; i++) {
        const td_bar_t *a = &bars->v[i - 1], *b = &bars->v[i];
        int64_t step = b->open_time - a->open_time, tf = (int64_t)a->timeframe_s * 1000;
        if (step <= tf)
            continue;
        gaps->total++;
        bool weekend = false;
        for (int64_t day = td_time_day_number(a->open_time + tf); day <= td_time_day_number(b->open_time - 1); day++)
            if (td_time_weekday(day * TD_MS_PER_DAY, 0) == 6) {
                weekend = true;
                break;
            }
        if (weekend)
            gaps->weekend++;
        else
            gaps->other++;
        if (step - tf > gaps->largest_ms) {
            gaps->largest_ms = step - tf;
            gaps->largest_at = b->open_time;
        }
    }
}

static td_err_t write_summary(FILE *out, const bt_run_t *run, const td_grid_stats_t *stats, const char *spec)
{
    fprintf(out, "%" PRIu64 " combinations of %s: %" PRIu64 " evaluated, %" PRIu64 " refused by the strategy%s%s%s\n",
            stats->combinations, spec, stats->evaluated, stats->refused, stats->refused ? " (first: " : "",
            stats->refused ? stats->first_refusal : "", stats->refused ? ")" : "");
    if (run->n_best)
        fprintf(out, "best by Sharpe:\n");
    td_buf_t line;
    td_buf_init(&line);
    td_err_t rc = TD_OK;
    for (size_t k = 0; rc == TD_OK && k < run->n_best; k++) {
        const best_t *b = &run->best[k];
        td_buf_reset(&line);
        char v[TD_PARAM_VALUE_MAX + 1];
        rc = td_buf_printf(&line, "  #%zu index %" PRIu64 ":", k + 1, b->index);
        for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(run->grid); i++) {
            td_grid_value(run->grid, b->index, i, v);
            rc = td_buf_printf(&line, " %s=%s", td_grid_param_name(run->grid, i), v);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&line, "  sharpe %.4f sortino %.4f trades %" PRIu64 " net_pnl ", b->sharpe,
                               b->result.ratios.sortino, b->result.trades.trades);
        if (rc == TD_OK)
            rc = put_fixed(&line, b->result.trades.net_pnl);
        if (rc == TD_OK)
            rc = td_buf_printf(&line, " max_dd %.4f\n", b->result.ratios.max_drawdown);
        if (rc == TD_OK)
            fwrite(line.ptr, 1, line.len, out);
    }
    td_buf_fini(&line);
    return rc;
}

/* ---- validation and walk-forward output ---- */

static const char *const month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const weekday_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* "fast=10 slow=30 ..." (no commas: it sits in one CSV field) */
static td_err_t put_params_text(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    td_err_t rc = TD_OK;
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        rc = td_buf_printf(buf, "%s%s=%s", i ? " " : "", td_grid_param_name(grid, i), v);
    }
    return rc;
}

static td_err_t put_validation_json(td_buf_t *buf, const td_validation_t *v)
{
    const double ann = sqrt((double)TD_BTMETRICS_DAYS_PER_YEAR);
    td_err_t rc = td_buf_printf(buf, ",\"validation\":{\"trials\":%" PRIu64 ",\"best_index\":", v->trials);
    if (rc == TD_OK)
        rc = v->have_best ? td_buf_printf(buf, "%" PRIu64, v->best_index) : td_buf_printf(buf, "null");
    struct {
        const char *name;
        double value;
    } f[] = {
        {"dsr", v->dsr.dsr},
        {"psr", v->dsr.psr0},
        {"sharpe_per_day", v->dsr.sharpe},
        {"sharpe_variance_per_day", v->dsr.var_sharpe},
        {"expected_max_sharpe_per_day", v->dsr.expected_max},
        {"expected_max_sharpe", v->dsr.expected_max * ann},
        {"skewness", v->dsr.skewness},
        {"kurtosis", v->dsr.kurtosis},
    };
    for (size_t k = 0; rc == TD_OK && k < sizeof f / sizeof f[0]; k++) {
        rc = td_buf_printf(buf, ",\"%s\":", f[k].name);
        if (rc == TD_OK)
            rc = put_double(buf, f[k].value, true);
    }
    if (rc == TD_OK)
        rc = td_buf_printf(buf, ",\"observations\":%" PRIu64 ",\"pbo\":", v->dsr.n_obs);
    if (rc == TD_OK && v->have_pbo) {
        const td_pbo_result_t *p = &v->pbo;
        rc = td_buf_printf(buf, "{\"value\":");
        if (rc == TD_OK)
            rc = put_double(buf, p->pbo, true);
        if (rc == TD_OK)
            rc = td_buf_printf(buf,
                               ",\"blocks\":%u,\"block_days\":%zu,\"dropped_days\":%zu,\"combinations\":%" PRIu64
                               ",\"overfit\":%" PRIu64 ",\"logit_mean\":",
                               p->blocks, p->block_len, p->dropped, p->combinations, p->overfit);
        if (rc == TD_OK)
            rc = put_double(buf, p->logit_mean, true);
        const struct {
            const char *name;
            double value;
        } logits[] = {{"logit_sd", p->logit_sd},         {"logit_min", p->logit_min}, {"logit_q1", p->logit_q1},
                      {"logit_median", p->logit_median}, {"logit_q3", p->logit_q3},   {"logit_max", p->logit_max}};
        for (size_t k = 0; rc == TD_OK && k < sizeof logits / sizeof logits[0]; k++) {
            rc = td_buf_printf(buf, ",\"%s\":", logits[k].name);
            if (rc == TD_OK)
                rc = put_double(buf, logits[k].value, true);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"prob_oos_loss\":");
        if (rc == TD_OK)
            rc = put_double(buf, p->prob_oos_loss, true);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "},\"pbo_skipped\":null}");
    } else if (rc == TD_OK) {
        rc = td_buf_printf(buf, "null,\"pbo_skipped\":");
        if (rc == TD_OK)
            rc = td_json_string(buf, v->pbo_skipped);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "}");
    }
    return rc;
}

/* The figures of an out-of-sample trade list and return series, as JSON members. */
static td_err_t put_oos_json(td_buf_t *buf, const td_btmetrics_trades_t *t, const td_btmetrics_ratios_t *m)
{
    td_err_t rc = td_buf_printf(buf, "\"trades\":%" PRIu64 ",\"wins\":%" PRIu64 ",\"net_pnl\":", t->trades, t->wins);
    if (rc == TD_OK)
        rc = put_fixed(buf, t->net_pnl);
    struct {
        const char *name;
        double value;
    } f[] = {
        {"win_rate", td_btmetrics_win_rate(t)},
        {"profit_factor", td_btmetrics_profit_factor(t)},
        {"sharpe", m->sharpe},
        {"sortino", m->sortino},
        {"max_drawdown", m->max_drawdown},
        {"annual_return", m->annual_return},
    };
    for (size_t k = 0; rc == TD_OK && k < sizeof f / sizeof f[0]; k++) {
        rc = td_buf_printf(buf, ",\"%s\":", f[k].name);
        if (rc == TD_OK)
            rc = put_double(buf, f[k].value, true);
    }
    return rc;
}

typedef struct wf_out {
    bt_run_t *run;
    const td_grid_t *grid;
    const td_bar_t *bars;
    size_t n_bars;
    FILE *csv, *trades, *equity;
    bool first_window;
} wf_out_t;

static td_err_t wf_window(void *opaque, const td_wf_window_t *w)
{
    wf_out_t *out = opaque;
    bt_run_t *run = out->run;
    char from[32], oos[32], to[32];
    td_time_format_iso(out->bars[w->is_from].open_time, from);
    td_time_format_iso(out->bars[w->is_to].open_time, oos);
    td_time_format_iso(out->bars[w->oos_to - 1].open_time, to);
    td_err_t rc = run->wh ? td_bt_wh_wf_window(run->wh, out->grid, w, out->bars, run->err, sizeof run->err) : TD_OK;
    if (rc == TD_OK && out->csv) {
        td_buf_reset(&run->line);
        rc = run->multi ? td_buf_printf(&run->line, "%s,", run->symbol) : TD_OK;
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, "%zu,%s,%s,%s,", w->number, from, oos, to);
        if (rc == TD_OK && w->chosen) {
            rc = td_buf_printf(&run->line, "%" PRIu64 ",", w->index);
            if (rc == TD_OK)
                rc = put_params_text(&run->line, out->grid, w->index);
        } else if (rc == TD_OK) {
            rc = td_buf_printf(&run->line, ",none");
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",");
        if (rc == TD_OK)
            rc = put_double(&run->line, w->is_metric, false);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",%" PRIu64 ",%" PRIu64 ",", w->oos_days, w->oos_trades.trades);
        if (rc == TD_OK)
            rc = put_fixed(&run->line, w->oos_trades.net_pnl);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",");
        if (rc == TD_OK)
            rc = put_double(&run->line, w->oos_ratios.sharpe, false);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",");
        if (rc == TD_OK)
            rc = put_double(&run->line, w->oos_ratios.max_drawdown, false);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, "\n");
        if (rc == TD_OK)
            rc = write_line(run, out->csv, "walk-forward file");
    }
    if (rc == TD_OK && run->json) {
        td_buf_reset(&run->line);
        rc = td_buf_printf(&run->line,
                           "%s{\"window\":%zu,\"is_from\":\"%s\",\"oos_from\":\"%s\",\"oos_last_bar\":\"%s\","
                           "\"is_evaluated\":%" PRIu64 ",\"chosen\":",
                           out->first_window ? "" : ",", w->number, from, oos, to, w->is_evaluated);
        out->first_window = false;
        if (rc == TD_OK && w->chosen) {
            rc = td_buf_printf(&run->line, "{");
            if (rc == TD_OK)
                rc = put_params_json(&run->line, out->grid, w->index);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "}");
        } else if (rc == TD_OK) {
            rc = td_buf_printf(&run->line, "null");
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"is_metric\":");
        if (rc == TD_OK)
            rc = put_double(&run->line, w->is_metric, true);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"oos_days\":%" PRIu64 ",", w->oos_days);
        if (rc == TD_OK)
            rc = put_oos_json(&run->line, &w->oos_trades, &w->oos_ratios);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, "}");
        if (rc == TD_OK)
            rc = write_line(run, run->json, "JSON document");
    }
    return rc;
}

static td_err_t wf_trade(void *opaque, const td_wf_window_t *w, const td_trade_closed_t *trade)
{
    wf_out_t *out = opaque;
    if (!out->trades)
        return TD_OK;
    td_buf_reset(&out->run->line);
    td_err_t rc = put_trade(&out->run->line, w->number, out->run->symbol, out->run->digits, trade);
    return rc == TD_OK ? write_line(out->run, out->trades, "walk-forward trades file") : rc;
}

static td_err_t wf_equity(void *opaque, const td_wf_window_t *w, uint32_t d, double ret, double wealth)
{
    wf_out_t *out = opaque;
    if (!out->equity)
        return TD_OK;
    bt_run_t *run = out->run;
    td_buf_reset(&run->line);
    td_err_t rc = run->multi ? td_buf_printf(&run->line, "%s,", run->symbol) : TD_OK;
    if (rc == TD_OK)
        rc = td_buf_printf(&run->line, "%zu,%04u-%02u-%02u,", w->number, d / 10000, d / 100 % 100, d % 100);
    if (rc == TD_OK)
        rc = put_double(&run->line, ret, false);
    if (rc == TD_OK)
        rc = td_buf_printf(&run->line, ",%.12g\n", wealth);
    return rc == TD_OK ? write_line(run, out->equity, "walk-forward equity file") : rc;
}

static void summary_text(FILE *out, const bt_run_t *run, const td_validation_t *v, const td_wf_result_t *wf,
                         const td_bt_opts_t *o)
{
    const double ann = sqrt((double)TD_BTMETRICS_DAYS_PER_YEAR);
    if (v->have_best)
        fprintf(out,
                "DSR %.4f: best set #%" PRIu64 " (Sharpe %.4f, %" PRIu64 " days, skewness %.3f, kurtosis %.3f) against "
                "an expected maximum Sharpe of %.4f from %" PRIu64 " sets; PSR(0) %.4f\n",
                v->dsr.dsr, v->best_index, v->dsr.sharpe * ann, v->dsr.n_obs, v->dsr.skewness, v->dsr.kurtosis,
                v->dsr.expected_max * ann, v->trials, v->dsr.psr0);
    else
        fprintf(out, "DSR: no set has a defined Sharpe ratio\n");
    if (v->have_pbo)
        fprintf(out,
                "PBO %.4f: %" PRIu64 " of %" PRIu64 " splits (%u blocks of %zu days%s) put the in-sample best at or "
                "below the out-of-sample median; mean logit %.3f, out-of-sample loss in %.1f%%\n",
                v->pbo.pbo, v->pbo.overfit, v->pbo.combinations, v->pbo.blocks, v->pbo.block_len,
                v->pbo.dropped ? ", oldest days left out" : "", v->pbo.logit_mean, v->pbo.prob_oos_loss * 100.0);
    if (v->have_pbo)
        fprintf(out, "  logits of the splits: min %.3f, q1 %.3f, median %.3f, q3 %.3f, max %.3f, sd %.3f\n",
                v->pbo.logit_min, v->pbo.logit_q1, v->pbo.logit_median, v->pbo.logit_q3, v->pbo.logit_max,
                v->pbo.logit_sd);
    else
        fprintf(out, "PBO: not computed (%s)\n", v->pbo_skipped);
    if (run->n_best) {
        const td_btmetrics_trades_t *t = &run->best[0].result.trades;
        char num[48];
        fprintf(out, "best set P&L by exit month:");
        for (int k = 0; k < 12; k++) {
            td_fx_format(t->by_month[k], 2, num, sizeof num);
            fprintf(out, " %s %s", month_names[k], num);
        }
        fprintf(out, "\nbest set P&L by exit weekday:");
        for (int k = 0; k < 7; k++) {
            td_fx_format(t->by_weekday[k], 2, num, sizeof num);
            fprintf(out, " %s %s", weekday_names[k], num);
        }
        fprintf(out, "\n");
    }
    if (o->wf) {
        char num[48];
        td_fx_format(wf->trades.net_pnl, 2, num, sizeof num);
        fprintf(out,
                "walk-forward %s by %s: %zu windows (%zu with a chosen set), out of sample %" PRIu64 " days, %" PRIu64
                " trades, net P&L %s, Sharpe %.4f, max drawdown %.4f\n",
                o->wf_text, td_wf_metric_name(o->wf_metric), wf->windows, wf->chosen_windows, wf->days,
                wf->trades.trades, num, wf->ratios.sharpe, wf->ratios.max_drawdown);
    }
}

/* The run's conventions as a JSON object: the report's "conventions", backtest_runs.conventions. */
static td_err_t put_conventions_json(td_buf_t *buf, const td_bt_opts_t *o, const td_backtest_config_t *config)
{
    char conv_text[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    td_err_t rc =
        td_buf_printf(buf,
                      "{\"signal\":\"bar close\",\"fill\":\"next bar open\",\"rules\":\"%s\",\"basis\":\"%s\","
                      "\"costs\":%s,\"spread_points\":",
                      td_backtest_conventions_format(o->conventions, conv_text),
                      o->basis == TD_BACKTEST_MID ? "mid" : "bid", o->costs ? "true" : "false");
    if (rc == TD_OK)
        rc = o->spread_points >= 0 ? td_buf_printf(buf, "%ld", o->spread_points)
                                   : td_buf_printf(buf, "\"from the bars\"");
    if (rc == TD_OK)
        rc = td_buf_printf(buf, ",\"slippage_points\":%" PRId64 ",\"commission_per_lot\":", config->slippage_points);
    if (rc == TD_OK)
        rc = put_fixed(buf, config->commission_per_lot);
    if (rc == TD_OK)
        rc = td_buf_printf(buf, ",\"initial_equity\":");
    if (rc == TD_OK)
        rc = put_fixed(buf, o->capital);
    if (rc == TD_OK)
        rc = td_buf_printf(buf, ",\"day_offset_minutes\":%d,\"days_per_year\":%d,\"risk_free\":0}",
                           config->day_offset_minutes, TD_BTMETRICS_DAYS_PER_YEAR);
    return rc;
}

static td_err_t summary_csv_row(FILE *f, td_buf_t *line, const bt_run_t *run, const td_bt_job_t *job, size_t n_bars,
                                const gaps_t *gaps, const td_grid_stats_t *stats, const td_validation_t *v,
                                const td_wf_result_t *wf, const td_bt_opts_t *o)
{
    const double ann = sqrt((double)TD_BTMETRICS_DAYS_PER_YEAR);
    td_buf_reset(line);
    td_err_t rc =
        td_buf_printf(line, "%s,%s,%s,%zu,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
                      job->symbol, o->strategy, job->from_file ? td_import_format_name(job->format) : job->data, n_bars,
                      gaps->total, gaps->weekend, gaps->other, stats->combinations, stats->evaluated, stats->refused);
    const best_t *b = run->n_best ? &run->best[0] : NULL;
    if (rc == TD_OK && b) {
        rc = td_buf_printf(line, "%" PRIu64 ",", b->index);
        if (rc == TD_OK)
            rc = put_params_text(line, run->grid, b->index);
        if (rc == TD_OK)
            rc = td_buf_printf(line, ",");
        if (rc == TD_OK)
            rc = put_double(line, b->sharpe, false);
        if (rc == TD_OK)
            rc = td_buf_printf(line, ",%" PRIu64 ",", b->result.trades.trades);
        if (rc == TD_OK)
            rc = put_fixed(line, b->result.trades.net_pnl);
        for (int k = 0; rc == TD_OK && k < 12; k++) {
            rc = td_buf_printf(line, ",");
            if (rc == TD_OK)
                rc = put_fixed(line, b->result.trades.by_month[k]);
        }
        for (int k = 0; rc == TD_OK && k < 7; k++) {
            rc = td_buf_printf(line, ",");
            if (rc == TD_OK)
                rc = put_fixed(line, b->result.trades.by_weekday[k]);
        }
    } else if (rc == TD_OK) {
        rc = td_buf_printf(line, ",,nan,,,,,,,,,,,,,,,,,,,,,");
    }
    double figs[] = {v->dsr.dsr, v->dsr.expected_max * ann, v->have_pbo ? v->pbo.pbo : NAN};
    for (size_t k = 0; rc == TD_OK && k < 3; k++) {
        rc = td_buf_printf(line, ",");
        if (rc == TD_OK)
            rc = put_double(line, figs[k], false);
    }
    if (rc == TD_OK && o->wf) {
        rc = td_buf_printf(line, ",%s,%zu,%" PRIu64 ",%" PRIu64 ",", o->wf_text, wf->windows, wf->days,
                           wf->trades.trades);
        if (rc == TD_OK)
            rc = put_fixed(line, wf->trades.net_pnl);
        if (rc == TD_OK)
            rc = td_buf_printf(line, ",");
        if (rc == TD_OK)
            rc = put_double(line, wf->ratios.sharpe, false);
        if (rc == TD_OK)
            rc = td_buf_printf(line, ",");
        if (rc == TD_OK)
            rc = put_double(line, wf->ratios.max_drawdown, false);
    } else if (rc == TD_OK) {
        rc = td_buf_printf(line, ",,,,,,,");
    }
    if (rc == TD_OK)
        rc = td_buf_printf(line, "\n");
    if (rc == TD_OK && fwrite(line->ptr, 1, line->len, f) != line->len)
        rc = TD_ERR_IO;
    return rc;
}

/* Runs one symbol: bars, grid, validation, walk-forward, outputs. n is the job's number (0 = the
 * first: no comma before its JSON document). */
td_err_t td_bt_run_symbol(const td_config_t *cfg, const char *data_dir, const td_bt_opts_t *o, const td_grid_t *grid,
                          const td_bt_job_t *job, size_t n, bool multi, const td_bt_outputs_t *files,
                          td_bt_done_t *done, char *err, size_t errlen)
{
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "%s", job->symbol);
    td_config_symbol_spec(cfg, job->symbol, &config.spec);
    config.basis = o->basis;
    config.costs = o->costs;
    config.conventions = o->conventions;
    config.spread = o->spread_points >= 0 ? (td_price_t)o->spread_points * config.spec.point : -1;
    config.slippage_points = o->slippage >= 0 ? o->slippage : td_config_int(cfg, "broker.slippage_points");
    config.commission_per_lot =
        o->commission >= 0 ? o->commission : td_config_decimal(cfg, "broker.commission_per_lot");
    config.day_offset_minutes = (int)td_config_int(cfg, "session.day_offset_minutes");
    config.tz_offset_minutes = (int)td_config_int(cfg, "session.tz_offset_minutes");
    config.initial_equity = o->capital;

    /* the bars */
    bar_vec_t bars = {0};
    td_import_opts_t iopts = {
        .format = job->format,
        .symbol = job->symbol,
        .tz_offset_minutes = job->tz_offset,
        .price_divisor_digits = config.spec.digits,
    };
    char source[192];
    td_err_t rc = td_bt_source_read(cfg, data_dir, job->data, job->symbol, job->timeframe_s, &iopts, bar_sink, &bars,
                                    source, sizeof source, err, errlen);
    if (rc == TD_OK && bars.len < 2)
        rc = td_err_set(err, errlen, TD_ERR_PARSE, "%s: %zu bars: a backtest needs at least 2", job->data, bars.len);
    if (rc != TD_OK) {
        free(bars.v);
        return rc;
    }
    gaps_t gaps;
    find_gaps(&bars, &gaps);

    bt_run_t *run = calloc(1, sizeof *run);
    if (!run) {
        free(bars.v);
        return TD_ERR_NOMEM;
    }
    run->grid = grid;
    run->symbol = job->symbol;
    run->digits = config.spec.digits;
    run->json = files->json;
    run->multi = multi;
    run->first_json_row = true;
    run->best_max = (size_t)(o->best_n > 0 ? o->best_n : 1); /* the best set is always kept for the summary */
    run->csv = files->csv;
    run->trades = files->trades;
    run->equity = files->equity;
    td_buf_init(&run->line);
    run->progress = files->progress;
    run->progress_opaque = files->progress_opaque;
    rc = td_validate_new(td_grid_count(grid), o->pbo_blocks, &run->validate, err, errlen);

    char conv_text[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    if (rc == TD_OK && files->json) {
        td_buf_reset(&run->line);
        rc = td_buf_printf(&run->line, "%s{\"symbol\":", n ? ",\n" : "");
        if (rc == TD_OK)
            rc = td_json_string(&run->line, job->symbol);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"strategy\":");
        if (rc == TD_OK)
            rc = td_json_string(&run->line, o->strategy);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"grid\":");
        if (rc == TD_OK)
            rc = td_json_string(&run->line, o->spec);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"data\":{\"file\":");
        if (rc == TD_OK)
            rc = td_json_string(&run->line, source);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"format\":\"%s\",\"bars\":%zu,\"timeframe_s\":%u,\"first_bar\":\"",
                               job->from_file ? td_import_format_name(job->format) : job->data, bars.len,
                               bars.v[0].timeframe_s);
        if (rc == TD_OK)
            rc = put_iso(&run->line, bars.v[0].open_time);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, "\",\"last_bar\":\"");
        if (rc == TD_OK)
            rc = put_iso(&run->line, bars.v[bars.len - 1].open_time);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line,
                               "\",\"gaps\":%" PRIu64 ",\"weekend_gaps\":%" PRIu64 ",\"other_gaps\":%" PRIu64
                               ",\"largest_gap_hours\":%.2f},\"conventions\":",
                               gaps.total, gaps.weekend, gaps.other, (double)gaps.largest_ms / 3600000.0);
        if (rc == TD_OK)
            rc = put_conventions_json(&run->line, o, &config);
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"results\":[");
        if (rc == TD_OK)
            rc = write_line(run, run->json, "JSON document");
    }

    int64_t run_id = 0;
    if (rc == TD_OK && o->to_warehouse) {
        td_buf_t conventions;
        td_buf_init(&conventions);
        rc = put_conventions_json(&conventions, o, &config);
        const char *text = rc == TD_OK ? td_buf_cstr(&conventions) : NULL;
        if (rc == TD_OK && !text)
            rc = TD_ERR_NOMEM;
        if (rc == TD_OK)
            rc = td_bt_wh_begin(td_config_str(cfg, "warehouse.uri"), o->strategy, job->symbol, source, o->spec, text,
                                &run->wh, &run_id, err, errlen);
        td_buf_fini(&conventions);
    }

    /* the grid */
    td_grid_stats_t stats;
    memset(&stats, 0, sizeof stats);
    double t0 = td_mono_s(), elapsed = 0;
    if (rc == TD_OK) {
        td_grid_opts_t gopts = {
            .threads = (unsigned)o->threads,
            .collect_trades = files->trades != NULL,
            .collect_equity = true, /* the DSR and PBO fold every set's daily returns */
        };
        rc = td_grid_run(grid, o->strategy, &config, bars.v, bars.len, &gopts, on_row, run, &stats, err, errlen);
        elapsed = td_mono_s() - t0;
        if (rc != TD_OK && run->err[0])
            snprintf(err, errlen, "%s", run->err);
    }
    td_validation_t validation;
    memset(&validation, 0, sizeof validation);
    if (rc == TD_OK)
        rc = td_validate_finish(run->validate, stats.threads, &validation);
    if (rc == TD_OK && run->wh)
        rc = td_bt_wh_validation(run->wh, &validation, err, errlen);

    if (rc == TD_OK && files->json) {
        td_buf_reset(&run->line);
        rc = td_buf_printf(&run->line,
                           "\n],\"combinations\":%" PRIu64 ",\"evaluated\":%" PRIu64 ",\"refused\":%" PRIu64
                           ",\"first_refusal\":",
                           stats.combinations, stats.evaluated, stats.refused);
        if (rc == TD_OK)
            rc = stats.refused ? td_json_string(&run->line, stats.first_refusal) : td_buf_printf(&run->line, "null");
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, ",\"best_by_sharpe\":[");
        for (size_t k = 0; rc == TD_OK && k < run->n_best && k < (size_t)o->best_n; k++) {
            rc = td_buf_printf(&run->line, "%s{", k ? "," : "");
            if (rc == TD_OK)
                rc = put_params_json(&run->line, grid, run->best[k].index);
            if (rc == TD_OK)
                rc = put_metrics(&run->line, &run->best[k].result, true);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "}");
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&run->line, "]");
        if (rc == TD_OK)
            rc = put_validation_json(&run->line, &validation);
        if (rc == TD_OK && o->wf) {
            rc = td_buf_printf(&run->line, ",\"walk_forward\":{\"spec\":");
            if (rc == TD_OK)
                rc = td_json_string(&run->line, o->wf_text);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",\"metric\":\"%s\",\"windows\":[", td_wf_metric_name(o->wf_metric));
        }
        if (rc == TD_OK)
            rc = write_line(run, run->json, "JSON document");
    }

    /* walk-forward */
    td_wf_result_t wf;
    memset(&wf, 0, sizeof wf);
    if (rc == TD_OK && o->wf) {
        wf_out_t wout = {run, grid, bars.v, bars.len, files->wf, files->wf_trades, files->wf_equity, true};
        td_wf_sink_t sink = {wf_window, wf_trade, wf_equity, &wout};
        td_grid_opts_t gopts = {.threads = (unsigned)o->threads};
        double t1 = td_mono_s();
        rc = td_wf_run(&o->wf_spec, o->wf_metric, grid, o->strategy, &config, bars.v, bars.len, &gopts, &sink, &wf, err,
                       errlen);
        elapsed += td_mono_s() - t1;
        if (rc != TD_OK && run->err[0])
            snprintf(err, errlen, "%s", run->err);
        if (rc == TD_OK && run->wh)
            rc = td_bt_wh_walkforward(run->wh, o->wf_text, td_wf_metric_name(o->wf_metric), &wf, err, errlen);
        if (rc == TD_OK && files->json) {
            td_buf_reset(&run->line);
            rc = td_buf_printf(
                &run->line,
                "],\"oos\":{\"windows\":%zu,\"chosen_windows\":%zu,\"days\":%" PRIu64 ",\"final_wealth\":", wf.windows,
                wf.chosen_windows, wf.days);
            if (rc == TD_OK)
                rc = put_double(&run->line, wf.final_wealth, true);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_oos_json(&run->line, &wf.trades, &wf.ratios);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "}}");
            if (rc == TD_OK)
                rc = write_line(run, run->json, "JSON document");
        }
    }
    if (rc == TD_OK && files->json) {
        td_buf_reset(&run->line);
        rc = td_buf_printf(&run->line, "}");
        if (rc == TD_OK)
            rc = write_line(run, run->json, "JSON document");
    }

    if (rc == TD_OK) {
        FILE *out = files->summary;
        fprintf(out, "%s%s%s: %zu bars of %us (%s .. ", multi ? job->symbol : "", multi ? " " : "", source, bars.len,
                bars.v[0].timeframe_s, job->from_file ? td_import_format_name(job->format) : job->data);
        char iso[32];
        td_time_format_iso(bars.v[0].open_time, iso);
        fprintf(out, "%s", iso);
        td_time_format_iso(bars.v[bars.len - 1].open_time, iso);
        fprintf(out, " .. %s); gaps: %" PRIu64 " (%" PRIu64 " weekends, %" PRIu64 " other; largest %.1f h", iso,
                gaps.total, gaps.weekend, gaps.other, (double)gaps.largest_ms / 3600000.0);
        if (gaps.total) {
            td_time_format_iso(gaps.largest_at, iso);
            fprintf(out, " before %s", iso);
        }
        fprintf(out, ")\n");
        fprintf(out, "conventions: %s\n", td_backtest_conventions_format(o->conventions, conv_text));
        size_t keep = run->n_best;
        run->n_best = keep < (size_t)o->best_n ? keep : (size_t)o->best_n;
        rc = write_summary(out, run, &stats, o->spec);
        run->n_best = keep;
        if (rc == TD_OK)
            summary_text(out, run, &validation, &wf, o);
        fprintf(out, "%" PRIu64 " bar-steps (%zu bars x %" PRIu64 " sets) in %.3f s on %u threads: %.0f bar-steps/s\n",
                stats.bar_steps + wf.bar_steps, bars.len, stats.evaluated, elapsed, stats.threads,
                elapsed > 0 ? (double)(stats.bar_steps + wf.bar_steps) / elapsed : 0.0);
        if (rc != TD_OK)
            td_err_set(err, errlen, rc, "out of memory");
    }
    if (rc == TD_OK && files->summary_csv) {
        rc = summary_csv_row(files->summary_csv, &run->line, run, job, bars.len, &gaps, &stats, &validation, &wf, o);
        if (rc != TD_OK)
            td_err_set(err, errlen, rc, "cannot write the summary file");
    }
    /* the warehouse commits last: a run whose outputs failed stores nothing */
    if (rc == TD_OK && run->wh)
        rc = td_bt_wh_finish(run->wh, err, errlen);
    if (rc == TD_OK && run->wh) {
        fprintf(files->summary,
                "warehouse: backtest run %" PRId64 ", %" PRIu64 " result row(s) in backtest_results, DSR and PBO in "
                "backtest_validation",
                run_id, stats.evaluated);
        if (o->wf)
            fprintf(files->summary, ", walk-forward in backtest_walkforward and %zu row(s) in backtest_wf_windows",
                    wf.windows);
        fprintf(files->summary, "\n");
    }
    if (rc == TD_OK) {
        memset(done, 0, sizeof *done);
        done->have_best = run->n_best > 0;
        if (done->have_best) {
            done->index = run->best[0].index;
            done->sharpe = run->best[0].sharpe;
            done->trades = run->best[0].result.trades.trades;
            done->net_pnl = run->best[0].result.trades.net_pnl;
        }
        done->dsr = validation.dsr.dsr;
        done->pbo = validation.have_pbo ? validation.pbo.pbo : NAN;
    }
    if (rc != TD_OK && !err[0])
        td_err_set(err, errlen, rc, "cannot write the outputs");
    td_bt_wh_destroy(run->wh);
    td_validate_destroy(run->validate);
    td_buf_fini(&run->line);
    free(run);
    free(bars.v);
    return rc;
}

static td_err_t put_header(FILE *f, bool multi, const char *text)
{
    if (!f)
        return TD_OK;
    return fprintf(f, "%s%s", multi ? "symbol," : "", text) < 0 ? TD_ERR_IO : TD_OK;
}

td_err_t td_bt_begin(const td_bt_outputs_t *files, const td_grid_t *grid, bool multi, const char *grid_file, char *err,
                     size_t errlen)
{
    td_err_t rc = TD_OK;
    td_buf_t head;
    td_buf_init(&head);
    if (rc == TD_OK && files->csv) {
        for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++)
            rc = td_buf_printf(&head, ",%s", td_grid_param_name(grid, i));
        if (rc == TD_OK)
            rc = td_buf_printf(&head, ",trades,win_rate,net_pnl,profit_factor,expectancy,sharpe,sortino,"
                                      "max_drawdown,calmar,exposure,annual_return,annual_volatility,final_equity\n");
        if (rc == TD_OK)
            rc = multi ? fprintf(files->csv, "symbol,index%s", td_buf_cstr(&head)) < 0 ? TD_ERR_IO : TD_OK
                 : fprintf(files->csv, "index%s", td_buf_cstr(&head)) < 0 ? TD_ERR_IO
                                                                          : TD_OK;
    }
    if (rc == TD_OK)
        rc = put_header(
            files->trades, false,
            "index,symbol,side,entry_time,entry_price,exit_time,exit_price,volume,pnl,commission,swap,net\n");
    if (rc == TD_OK)
        rc = put_header(files->equity, multi, "index,day,equity,return\n");
    if (rc == TD_OK)
        rc = put_header(files->wf, multi,
                        "window,is_from,oos_from,oos_last_bar,chosen_index,chosen_params,is_metric,oos_days,"
                        "oos_trades,oos_net_pnl,oos_sharpe,oos_max_drawdown\n");
    if (rc == TD_OK)
        rc = put_header(files->wf_trades, false,
                        "window,symbol,side,entry_time,entry_price,exit_time,exit_price,volume,pnl,commission,swap,"
                        "net\n");
    if (rc == TD_OK)
        rc = put_header(files->wf_equity, multi, "window,day,return,wealth\n");
    if (rc == TD_OK && files->summary_csv) {
        td_buf_reset(&head);
        rc = td_buf_printf(&head, "symbol,strategy,format,bars,gaps,weekend_gaps,other_gaps,combinations,evaluated,"
                                  "refused,best_index,best_params,best_sharpe,best_trades,best_net_pnl");
        for (int k = 0; rc == TD_OK && k < 12; k++)
            rc = td_buf_printf(&head, ",pnl_%s", month_names[k]);
        for (int k = 0; rc == TD_OK && k < 7; k++)
            rc = td_buf_printf(&head, ",pnl_%s", weekday_names[k]);
        if (rc == TD_OK)
            rc = td_buf_printf(&head, ",dsr,expected_max_sharpe,pbo,walk_forward,wf_windows,wf_oos_days,"
                                      "wf_oos_trades,wf_oos_net_pnl,wf_oos_sharpe,wf_oos_max_drawdown\n");
        if (rc == TD_OK)
            rc = fputs(td_buf_cstr(&head), files->summary_csv) < 0 ? TD_ERR_IO : TD_OK;
    }
    if (rc == TD_OK && files->json && multi) {
        td_buf_reset(&head);
        rc = td_buf_printf(&head, "{\"grid_file\":");
        if (rc == TD_OK)
            rc = td_json_string(&head, grid_file);
        if (rc == TD_OK)
            rc = td_buf_printf(&head, ",\"runs\":[\n");
        if (rc == TD_OK)
            rc = fputs(td_buf_cstr(&head), files->json) < 0 ? TD_ERR_IO : TD_OK;
    }
    if (rc != TD_OK)
        td_err_set(err, errlen, rc, "cannot write the outputs");
    td_buf_fini(&head);
    return rc;
}

td_err_t td_bt_end(const td_bt_outputs_t *files, const td_grid_t *grid, bool multi, const td_bt_job_t *jobs,
                   const td_bt_done_t *done, size_t n_jobs, char *err, size_t errlen)
{
    td_err_t rc = TD_OK;
    td_buf_t head;
    td_buf_init(&head);
    if (rc == TD_OK && multi) {
        if (files->json) {
            td_buf_reset(&head);
            rc = td_buf_printf(&head, "\n],\"best_by_symbol\":[");
            for (size_t i = 0; rc == TD_OK && i < n_jobs; i++) {
                rc = td_buf_printf(&head, "%s{\"symbol\":", i ? "," : "");
                if (rc == TD_OK)
                    rc = td_json_string(&head, jobs[i].symbol);
                if (rc == TD_OK && done[i].have_best) {
                    rc = td_buf_printf(&head, ",");
                    if (rc == TD_OK)
                        rc = put_params_json(&head, grid, done[i].index);
                    if (rc == TD_OK)
                        rc = td_buf_printf(&head, ",\"sharpe\":");
                    if (rc == TD_OK)
                        rc = put_double(&head, done[i].sharpe, true);
                } else if (rc == TD_OK) {
                    rc = td_buf_printf(&head, ",\"index\":null");
                }
                if (rc == TD_OK)
                    rc = td_buf_printf(&head, ",\"dsr\":");
                if (rc == TD_OK)
                    rc = put_double(&head, done[i].dsr, true);
                if (rc == TD_OK)
                    rc = td_buf_printf(&head, ",\"pbo\":");
                if (rc == TD_OK)
                    rc = put_double(&head, done[i].pbo, true);
                if (rc == TD_OK)
                    rc = td_buf_printf(&head, "}");
            }
            if (rc == TD_OK)
                rc = td_buf_printf(&head, "]}\n");
            if (rc == TD_OK)
                rc = fputs(td_buf_cstr(&head), files->json) < 0 ? TD_ERR_IO : TD_OK;
        }
        fprintf(files->summary, "best set per symbol (by Sharpe):\n");
        for (size_t i = 0; rc == TD_OK && i < n_jobs; i++) {
            td_buf_reset(&head);
            rc = td_buf_printf(&head, "  %-10s ", jobs[i].symbol);
            if (rc == TD_OK && done[i].have_best) {
                rc = td_buf_printf(&head, "#%" PRIu64 " ", done[i].index);
                if (rc == TD_OK)
                    rc = put_params_text(&head, grid, done[i].index);
                char num[48];
                td_fx_format(done[i].net_pnl, 2, num, sizeof num);
                if (rc == TD_OK)
                    rc = td_buf_printf(&head, "  sharpe %.4f trades %" PRIu64 " net_pnl %s dsr %.4f pbo %.4f\n",
                                       done[i].sharpe, done[i].trades, num, done[i].dsr, done[i].pbo);
            } else if (rc == TD_OK) {
                rc = td_buf_printf(&head, "no set with a defined Sharpe\n");
            }
            if (rc == TD_OK)
                fputs(td_buf_cstr(&head), files->summary);
        }
    } else if (rc == TD_OK && files->json) {
        rc = fputs("\n", files->json) < 0 ? TD_ERR_IO : TD_OK;
    }
    if (rc != TD_OK)
        td_err_set(err, errlen, rc, "cannot write the outputs");
    td_buf_fini(&head);
    return rc;
}
