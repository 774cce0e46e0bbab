/* report_write.c - the text of a backtest's reports (contract in report_write.h).
 *
 * Each writer reads as the text it writes: literal text, then the values, with no error check in
 * between (the buffer's error sticks; the caller reads it once).
 */
#include "backtest/report_write.h"

#include <inttypes.h>
#include <math.h>

#include "core/csv_out.h"
#include "core/json_out.h"
#include "core/names.h"

static const char *const month_names[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const weekday_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* The Sharpe ratio's yearly scale: the DSR works per day. */
static double annualize(void)
{
    return sqrt((double)TD_BTMETRICS_DAYS_PER_YEAR);
}

/* Money with 2 decimals, for the text summary. */
static void put_money2(td_buf_t *buf, td_money_t v)
{
    td_buf_put_price(buf, v, 2);
}

/* The first fields of a line: [symbol,]n. */
static void put_line_start(td_buf_t *buf, const char *symbol, uint64_t n)
{
    if (symbol) {
        td_buf_puts(buf, symbol);
        td_csv_u64(buf, n);
    } else {
        td_buf_putf(buf, "%" PRIu64, n);
    }
}

/* ---- parameters ---- */

/* "fast=10 slow=30 ..." (no commas: it sits in one CSV field) */
static void put_params_text(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        td_buf_putf(buf, "%s%s=%s", i ? " " : "", td_grid_param_name(grid, i), v);
    }
}

void td_bt_report_params_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    char v[TD_PARAM_VALUE_MAX + 1];
    td_buf_putc(buf, '{');
    for (size_t i = 0; i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        td_json_key_str(buf, td_grid_param_name(grid, i), v);
    }
    td_buf_putc(buf, '}');
}

/* The parameters as one CSV field, "fast=10 slow=30" (no commas). */
static void csv_params_text(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    td_buf_putc(buf, ',');
    put_params_text(buf, grid, index);
}

/* "index":N,"params":{"fast":"10",...} */
static void put_params_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    td_json_key_u64(buf, "index", index);
    td_json_key(buf, "params");
    td_bt_report_params_json(buf, grid, index);
}

/* ---- headers ---- */

void td_bt_report_header(td_buf_t *buf, td_bt_file_t file, const td_grid_t *grid, bool multi)
{
    static const char *const trade_columns =
        "side,entry_time,entry_price,exit_time,exit_price,volume,pnl,commission,swap,net\n";
    switch (file) {
    case TD_BT_FILE_RESULTS:
        td_buf_puts(buf, multi ? "symbol,index" : "index");
        for (size_t i = 0; i < td_grid_n_params(grid); i++)
            td_buf_putf(buf, ",%s", td_grid_param_name(grid, i));
        td_buf_puts(buf, ",trades,win_rate,net_pnl,profit_factor,expectancy,sharpe,sortino,max_drawdown,calmar,"
                         "exposure,annual_return,annual_volatility,final_equity\n");
        break;
    case TD_BT_FILE_TRADES: td_buf_putf(buf, "index,symbol,%s", trade_columns); break;
    case TD_BT_FILE_WF_TRADES: td_buf_putf(buf, "window,symbol,%s", trade_columns); break;
    case TD_BT_FILE_EQUITY: td_buf_putf(buf, "%sindex,day,equity,return\n", multi ? "symbol," : ""); break;
    case TD_BT_FILE_WF_EQUITY: td_buf_putf(buf, "%swindow,day,return,wealth\n", multi ? "symbol," : ""); break;
    case TD_BT_FILE_WF:
        td_buf_putf(buf,
                    "%swindow,is_from,oos_from,oos_last_bar,chosen_index,chosen_params,is_metric,oos_days,"
                    "oos_trades,oos_net_pnl,oos_sharpe,oos_max_drawdown\n",
                    multi ? "symbol," : "");
        break;
    case TD_BT_FILE_SUMMARY:
        td_buf_puts(buf, "symbol,strategy,format,bars,gaps,weekend_gaps,other_gaps,combinations,evaluated,refused,"
                         "best_index,best_params,best_sharpe,best_trades,best_net_pnl");
        for (int k = 0; k < 12; k++)
            td_buf_putf(buf, ",pnl_%s", month_names[k]);
        for (int k = 0; k < 7; k++)
            td_buf_putf(buf, ",pnl_%s", weekday_names[k]);
        td_buf_puts(buf, ",dsr,expected_max_sharpe,pbo,walk_forward,wf_windows,wf_oos_days,wf_oos_trades,"
                         "wf_oos_net_pnl,wf_oos_sharpe,wf_oos_max_drawdown\n");
        break;
    }
}

/* ---- rows ---- */

/* "name":[v,...] of n money values. */
static void put_money_array(td_buf_t *buf, const char *name, const td_money_t *v, size_t n)
{
    td_json_key(buf, name);
    td_buf_putc(buf, '[');
    for (size_t k = 0; k < n; k++) {
        td_json_comma(buf);
        td_buf_put_fixed(buf, v[k]);
    }
    td_buf_putc(buf, ']');
}

/* The metric columns (CSV) or members (JSON) of one result. */
static void put_metrics(td_buf_t *buf, const td_backtest_result_t *r, bool json)
{
    const td_btmetrics_trades_t *t = &r->trades;
    const td_btmetrics_ratios_t *m = &r->ratios;
    const struct {
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
    if (!json) {
        td_csv_u64(buf, t->trades);
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
            if (cols[k].money)
                td_csv_fixed(buf, cols[k].fixed);
            else
                td_csv_double(buf, cols[k].v);
        return;
    }
    td_json_key_u64(buf, "trades", t->trades);
    td_json_key_u64(buf, "wins", t->wins);
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        if (cols[k].money)
            td_json_key_fixed(buf, cols[k].name, cols[k].fixed);
        else
            td_json_key_double(buf, cols[k].name, cols[k].v);
    td_json_key_fixed(buf, "commission", t->commission);
    td_json_key_fixed(buf, "swap", t->swap);
    td_json_key_u64(buf, "days", r->days);
    td_json_key_fixed(buf, "open_volume", r->open_volume);
    put_money_array(buf, "pnl_by_month", t->by_month, 12);
    put_money_array(buf, "pnl_by_weekday", t->by_weekday, 7);
}

void td_bt_report_result_csv(td_buf_t *buf, const td_grid_t *grid, const char *symbol, uint64_t index,
                             const td_backtest_result_t *result)
{
    char v[TD_PARAM_VALUE_MAX + 1];
    put_line_start(buf, symbol, index);
    for (size_t i = 0; i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        td_csv_str(buf, v);
    }
    put_metrics(buf, result, false);
    td_csv_end(buf);
}

void td_bt_report_result_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index, const td_backtest_result_t *result)
{
    td_buf_putc(buf, '{');
    put_params_json(buf, grid, index);
    put_metrics(buf, result, true);
    td_buf_putc(buf, '}');
}

void td_bt_report_trade(td_buf_t *buf, uint64_t n, const char *symbol, unsigned digits, const td_trade_closed_t *trade)
{
    td_money_t net = 0;
    td_buf_fail(buf, td_btmetrics_trade_net(trade, &net));
    td_buf_putf(buf, "%" PRIu64, n);
    td_csv_str(buf, symbol);
    td_csv_str(buf, td_direction_name(td_direction_of_side(trade->side)));
    td_csv_iso_time(buf, trade->entry_time);
    td_csv_price(buf, trade->entry_price, digits);
    td_csv_iso_time(buf, trade->exit_time);
    td_csv_price(buf, trade->exit_price, digits);
    const int64_t money[] = {trade->volume, trade->pnl, trade->commission, trade->swap, net};
    for (size_t j = 0; j < sizeof money / sizeof money[0]; j++)
        td_csv_fixed(buf, money[j]);
    td_csv_end(buf);
}

void td_bt_report_equity(td_buf_t *buf, const char *symbol, uint64_t index, const td_grid_equity_t *equity)
{
    put_line_start(buf, symbol, index);
    td_csv_day(buf, equity->trading_day);
    td_csv_fixed(buf, equity->equity);
    td_csv_double(buf, equity->daily_return);
    td_csv_end(buf);
}

/* ---- walk-forward ---- */

/* The figures of an out-of-sample trade list and return series, as JSON members. */
static void put_oos_json(td_buf_t *buf, const td_btmetrics_trades_t *t, const td_btmetrics_ratios_t *m)
{
    td_json_key_u64(buf, "trades", t->trades);
    td_json_key_u64(buf, "wins", t->wins);
    td_json_key_fixed(buf, "net_pnl", t->net_pnl);
    td_json_key_double(buf, "win_rate", td_btmetrics_win_rate(t));
    td_json_key_double(buf, "profit_factor", td_btmetrics_profit_factor(t));
    td_json_key_double(buf, "sharpe", m->sharpe);
    td_json_key_double(buf, "sortino", m->sortino);
    td_json_key_double(buf, "max_drawdown", m->max_drawdown);
    td_json_key_double(buf, "annual_return", m->annual_return);
}

void td_bt_report_wf_window_csv(td_buf_t *buf, const td_grid_t *grid, const char *symbol, const td_wf_window_t *w,
                                const td_bar_t *bars)
{
    put_line_start(buf, symbol, w->number);
    td_csv_iso_time(buf, bars[w->is_from].open_time);
    td_csv_iso_time(buf, bars[w->is_to].open_time);
    td_csv_iso_time(buf, bars[w->oos_to - 1].open_time);
    if (w->chosen) {
        td_csv_u64(buf, w->index);
        csv_params_text(buf, grid, w->index);
    } else {
        td_csv_str(buf, "");
        td_csv_str(buf, "none");
    }
    td_csv_double(buf, w->is_metric);
    td_csv_u64(buf, w->oos_days);
    td_csv_u64(buf, w->oos_trades.trades);
    td_csv_fixed(buf, w->oos_trades.net_pnl);
    td_csv_double(buf, w->oos_ratios.sharpe);
    td_csv_double(buf, w->oos_ratios.max_drawdown);
    td_csv_end(buf);
}

static void put_iso_member(td_buf_t *buf, const char *name, int64_t ms)
{
    td_json_key(buf, name);
    td_buf_putc(buf, '"');
    td_buf_put_iso_time(buf, ms);
    td_buf_putc(buf, '"');
}

void td_bt_report_wf_window_json(td_buf_t *buf, const td_grid_t *grid, const td_wf_window_t *w, const td_bar_t *bars)
{
    td_buf_putc(buf, '{');
    td_json_key_u64(buf, "window", w->number);
    put_iso_member(buf, "is_from", bars[w->is_from].open_time);
    put_iso_member(buf, "oos_from", bars[w->is_to].open_time);
    put_iso_member(buf, "oos_last_bar", bars[w->oos_to - 1].open_time);
    td_json_key_u64(buf, "is_evaluated", w->is_evaluated);
    td_json_key(buf, "chosen");
    if (w->chosen) {
        td_buf_putc(buf, '{');
        put_params_json(buf, grid, w->index);
        td_buf_putc(buf, '}');
    } else {
        td_buf_puts(buf, "null");
    }
    td_json_key_double(buf, "is_metric", w->is_metric);
    td_json_key_u64(buf, "oos_days", w->oos_days);
    put_oos_json(buf, &w->oos_trades, &w->oos_ratios);
    td_buf_putc(buf, '}');
}

void td_bt_report_wf_equity(td_buf_t *buf, const char *symbol, size_t window, uint32_t trading_day, double ret,
                            double wealth)
{
    put_line_start(buf, symbol, window);
    td_csv_day(buf, trading_day);
    td_csv_double(buf, ret);
    td_buf_putf(buf, ",%.12g", wealth); /* printf's spelling when not finite, as before */
    td_csv_end(buf);
}

/* ---- the JSON document of a symbol ---- */

void td_bt_report_conventions_json(td_buf_t *buf, const td_bt_opts_t *opts, const td_backtest_config_t *config)
{
    char rules[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    td_buf_putc(buf, '{');
    td_json_key_str(buf, "signal", "bar close");
    td_json_key_str(buf, "fill", "next bar open");
    td_json_key_str(buf, "rules", td_backtest_conventions_format(opts->conventions, rules));
    td_json_key_str(buf, "basis", opts->basis == TD_BACKTEST_MID ? "mid" : "bid");
    td_json_key(buf, "costs");
    td_buf_puts(buf, opts->costs ? "true" : "false");
    if (opts->spread_points >= 0) {
        td_json_key(buf, "spread_points");
        td_buf_putf(buf, "%ld", opts->spread_points);
    } else {
        td_json_key_str(buf, "spread_points", "from the bars");
    }
    td_json_key(buf, "slippage_points");
    td_buf_putf(buf, "%" PRId64, config->slippage_points);
    td_json_key_fixed(buf, "commission_per_lot", config->commission_per_lot);
    td_json_key_fixed(buf, "initial_equity", opts->capital);
    td_json_key(buf, "day_offset_minutes");
    td_buf_putf(buf, "%d", config->day_offset_minutes);
    td_json_key(buf, "days_per_year");
    td_buf_putf(buf, "%d", TD_BTMETRICS_DAYS_PER_YEAR);
    td_json_key(buf, "risk_free");
    td_buf_puts(buf, "0}");
}

void td_bt_report_json_open(td_buf_t *buf, size_t n, const td_bt_data_t *data, const td_bt_opts_t *opts,
                            const td_backtest_config_t *config)
{
    td_buf_puts(buf, n ? ",\n{" : "{");
    td_json_key_str(buf, "symbol", data->symbol);
    td_json_key_str(buf, "strategy", opts->strategy);
    td_json_key_str(buf, "grid", opts->spec);
    td_json_key(buf, "data");
    td_buf_putc(buf, '{');
    td_json_key_str(buf, "file", data->source);
    td_json_key_str(buf, "format", data->format);
    td_json_key_u64(buf, "bars", data->n_bars);
    td_json_key_u64(buf, "timeframe_s", data->timeframe_s);
    put_iso_member(buf, "first_bar", data->first_bar);
    put_iso_member(buf, "last_bar", data->last_bar);
    td_json_key_u64(buf, "gaps", data->gaps.total);
    td_json_key_u64(buf, "weekend_gaps", data->gaps.weekend);
    td_json_key_u64(buf, "other_gaps", data->gaps.other);
    td_json_key(buf, "largest_gap_hours");
    td_buf_putf(buf, "%.2f}", (double)data->gaps.largest_ms / 3600000.0);
    td_json_key(buf, "conventions");
    td_bt_report_conventions_json(buf, opts, config);
    td_json_key(buf, "results");
    td_buf_putc(buf, '[');
}

static void put_pbo_json(td_buf_t *buf, const td_pbo_result_t *p)
{
    td_buf_putc(buf, '{');
    td_json_key_double(buf, "value", p->pbo);
    td_json_key_u64(buf, "blocks", p->blocks);
    td_json_key_u64(buf, "block_days", p->block_len);
    td_json_key_u64(buf, "dropped_days", p->dropped);
    td_json_key_u64(buf, "combinations", p->combinations);
    td_json_key_u64(buf, "overfit", p->overfit);
    td_json_key_double(buf, "logit_mean", p->logit_mean);
    td_json_key_double(buf, "logit_sd", p->logit_sd);
    td_json_key_double(buf, "logit_min", p->logit_min);
    td_json_key_double(buf, "logit_q1", p->logit_q1);
    td_json_key_double(buf, "logit_median", p->logit_median);
    td_json_key_double(buf, "logit_q3", p->logit_q3);
    td_json_key_double(buf, "logit_max", p->logit_max);
    td_json_key_double(buf, "prob_oos_loss", p->prob_oos_loss);
    td_buf_putc(buf, '}');
}

static void put_validation_json(td_buf_t *buf, const td_validation_t *v)
{
    td_json_key(buf, "validation");
    td_buf_putc(buf, '{');
    td_json_key_u64(buf, "trials", v->trials);
    td_json_key(buf, "best_index");
    if (v->have_best)
        td_buf_putf(buf, "%" PRIu64, v->best_index);
    else
        td_buf_puts(buf, "null");
    td_json_key_double(buf, "dsr", v->dsr.dsr);
    td_json_key_double(buf, "psr", v->dsr.psr0);
    td_json_key_double(buf, "sharpe_per_day", v->dsr.sharpe);
    td_json_key_double(buf, "sharpe_variance_per_day", v->dsr.var_sharpe);
    td_json_key_double(buf, "expected_max_sharpe_per_day", v->dsr.expected_max);
    td_json_key_double(buf, "expected_max_sharpe", v->dsr.expected_max * annualize());
    td_json_key_double(buf, "skewness", v->dsr.skewness);
    td_json_key_double(buf, "kurtosis", v->dsr.kurtosis);
    td_json_key_u64(buf, "observations", v->dsr.n_obs);
    td_json_key(buf, "pbo");
    if (v->have_pbo) {
        put_pbo_json(buf, &v->pbo);
        td_json_key(buf, "pbo_skipped");
        td_buf_puts(buf, "null");
    } else {
        td_buf_puts(buf, "null");
        td_json_key_str(buf, "pbo_skipped", v->pbo_skipped);
    }
    td_buf_putc(buf, '}');
}

void td_bt_report_json_after_rows(td_buf_t *buf, const td_grid_t *grid, const td_grid_stats_t *stats,
                                  const td_bt_best_t *best, size_t n_best, const td_validation_t *validation,
                                  const td_bt_opts_t *opts)
{
    td_buf_puts(buf, "\n]");
    td_json_key_u64(buf, "combinations", stats->combinations);
    td_json_key_u64(buf, "evaluated", stats->evaluated);
    td_json_key_u64(buf, "refused", stats->refused);
    td_json_key(buf, "first_refusal");
    if (stats->refused)
        td_json_str(buf, stats->first_refusal);
    else
        td_buf_puts(buf, "null");
    td_json_key(buf, "best_by_sharpe");
    td_buf_putc(buf, '[');
    for (size_t k = 0; k < n_best; k++) {
        td_json_comma(buf);
        td_bt_report_result_json(buf, grid, best[k].index, &best[k].result);
    }
    td_buf_putc(buf, ']');
    put_validation_json(buf, validation);
    if (opts->wf) {
        td_json_key(buf, "walk_forward");
        td_buf_putc(buf, '{');
        td_json_key_str(buf, "spec", opts->wf_text);
        td_json_key_str(buf, "metric", td_wf_metric_name(opts->wf_metric));
        td_json_key(buf, "windows");
        td_buf_putc(buf, '[');
    }
}

void td_bt_report_json_wf_close(td_buf_t *buf, const td_wf_result_t *wf)
{
    td_buf_puts(buf, "],\"oos\":{");
    td_json_key_u64(buf, "windows", wf->windows);
    td_json_key_u64(buf, "chosen_windows", wf->chosen_windows);
    td_json_key_u64(buf, "days", wf->days);
    td_json_key_double(buf, "final_wealth", wf->final_wealth);
    put_oos_json(buf, &wf->trades, &wf->ratios);
    td_buf_puts(buf, "}}");
}

/* ---- the text summary ---- */

static void summary_data(td_buf_t *buf, bool multi, const td_bt_data_t *data, const td_bt_opts_t *opts)
{
    const td_bt_gaps_t *gaps = &data->gaps;
    char rules[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    if (multi)
        td_buf_putf(buf, "%s ", data->symbol);
    td_buf_putf(buf, "%s: %zu bars of %us (%s .. ", data->source, data->n_bars, data->timeframe_s, data->format);
    td_buf_put_iso_time(buf, data->first_bar);
    td_buf_puts(buf, " .. ");
    td_buf_put_iso_time(buf, data->last_bar);
    td_buf_putf(buf, "); gaps: %" PRIu64 " (%" PRIu64 " weekends, %" PRIu64 " other; largest %.1f h", gaps->total,
                gaps->weekend, gaps->other, (double)gaps->largest_ms / 3600000.0);
    if (gaps->total) {
        td_buf_puts(buf, " before ");
        td_buf_put_iso_time(buf, gaps->largest_at);
    }
    td_buf_puts(buf, ")\n");
    td_buf_putf(buf, "conventions: %s\n", td_backtest_conventions_format(opts->conventions, rules));
}

static void summary_best(td_buf_t *buf, const td_grid_t *grid, const td_grid_stats_t *stats, const td_bt_best_t *best,
                         size_t n_show, const char *spec)
{
    td_buf_putf(buf, "%" PRIu64 " combinations of %s: %" PRIu64 " evaluated, %" PRIu64 " refused by the strategy",
                stats->combinations, spec, stats->evaluated, stats->refused);
    if (stats->refused)
        td_buf_putf(buf, " (first: %s)", stats->first_refusal);
    td_buf_putc(buf, '\n');
    if (n_show)
        td_buf_puts(buf, "best by Sharpe:\n");
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t k = 0; k < n_show; k++) {
        const td_bt_best_t *b = &best[k];
        td_buf_putf(buf, "  #%zu index %" PRIu64 ":", k + 1, b->index);
        for (size_t i = 0; i < td_grid_n_params(grid); i++) {
            td_grid_value(grid, b->index, i, v);
            td_buf_putf(buf, " %s=%s", td_grid_param_name(grid, i), v);
        }
        td_buf_putf(buf, "  sharpe %.4f sortino %.4f trades %" PRIu64 " net_pnl ", b->sharpe, b->result.ratios.sortino,
                    b->result.trades.trades);
        td_buf_put_fixed(buf, b->result.trades.net_pnl);
        td_buf_putf(buf, " max_dd %.4f\n", b->result.ratios.max_drawdown);
    }
}

static void summary_validation(td_buf_t *buf, const td_validation_t *v)
{
    const double ann = annualize();
    if (v->have_best)
        td_buf_putf(buf,
                    "DSR %.4f: best set #%" PRIu64 " (Sharpe %.4f, %" PRIu64 " days, skewness %.3f, kurtosis %.3f) "
                    "against an expected maximum Sharpe of %.4f from %" PRIu64 " sets; PSR(0) %.4f\n",
                    v->dsr.dsr, v->best_index, v->dsr.sharpe * ann, v->dsr.n_obs, v->dsr.skewness, v->dsr.kurtosis,
                    v->dsr.expected_max * ann, v->trials, v->dsr.psr0);
    else
        td_buf_puts(buf, "DSR: no set has a defined Sharpe ratio\n");
    if (!v->have_pbo) {
        td_buf_putf(buf, "PBO: not computed (%s)\n", v->pbo_skipped);
        return;
    }
    const td_pbo_result_t *p = &v->pbo;
    td_buf_putf(buf,
                "PBO %.4f: %" PRIu64 " of %" PRIu64 " splits (%u blocks of %zu days%s) put the in-sample best at or "
                "below the out-of-sample median; mean logit %.3f, out-of-sample loss in %.1f%%\n",
                p->pbo, p->overfit, p->combinations, p->blocks, p->block_len,
                p->dropped ? ", oldest days left out" : "", p->logit_mean, p->prob_oos_loss * 100.0);
    td_buf_putf(buf, "  logits of the splits: min %.3f, q1 %.3f, median %.3f, q3 %.3f, max %.3f, sd %.3f\n",
                p->logit_min, p->logit_q1, p->logit_median, p->logit_q3, p->logit_max, p->logit_sd);
}

void td_bt_report_summary_text(td_buf_t *buf, bool multi, const td_bt_data_t *data, const td_grid_t *grid,
                               const td_grid_stats_t *stats, const td_bt_best_t *best, size_t n_best, size_t n_show,
                               const td_validation_t *validation, const td_wf_result_t *wf, const td_bt_opts_t *opts)
{
    summary_data(buf, multi, data, opts);
    summary_best(buf, grid, stats, best, n_show, opts->spec);
    summary_validation(buf, validation);
    if (n_best) {
        const td_btmetrics_trades_t *t = &best[0].result.trades;
        td_buf_puts(buf, "best set P&L by exit month:");
        for (int k = 0; k < 12; k++) {
            td_buf_putf(buf, " %s ", month_names[k]);
            put_money2(buf, t->by_month[k]);
        }
        td_buf_puts(buf, "\nbest set P&L by exit weekday:");
        for (int k = 0; k < 7; k++) {
            td_buf_putf(buf, " %s ", weekday_names[k]);
            put_money2(buf, t->by_weekday[k]);
        }
        td_buf_putc(buf, '\n');
    }
    if (opts->wf) {
        td_buf_putf(buf,
                    "walk-forward %s by %s: %zu windows (%zu with a chosen set), out of sample %" PRIu64
                    " days, %" PRIu64 " trades, net P&L ",
                    opts->wf_text, td_wf_metric_name(opts->wf_metric), wf->windows, wf->chosen_windows, wf->days,
                    wf->trades.trades);
        put_money2(buf, wf->trades.net_pnl);
        td_buf_putf(buf, ", Sharpe %.4f, max drawdown %.4f\n", wf->ratios.sharpe, wf->ratios.max_drawdown);
    }
}

void td_bt_report_summary_csv(td_buf_t *buf, const td_bt_data_t *data, const td_grid_t *grid,
                              const td_grid_stats_t *stats, const td_bt_best_t *best, const td_validation_t *validation,
                              const td_wf_result_t *wf, const td_bt_opts_t *opts)
{
    const td_bt_gaps_t *gaps = &data->gaps;
    td_buf_puts(buf, data->symbol);
    td_csv_str(buf, opts->strategy);
    td_csv_str(buf, data->format);
    td_csv_u64(buf, data->n_bars);
    td_csv_u64(buf, gaps->total);
    td_csv_u64(buf, gaps->weekend);
    td_csv_u64(buf, gaps->other);
    td_csv_u64(buf, stats->combinations);
    td_csv_u64(buf, stats->evaluated);
    td_csv_u64(buf, stats->refused);
    if (best) {
        const td_btmetrics_trades_t *t = &best->result.trades;
        td_csv_u64(buf, best->index);
        csv_params_text(buf, grid, best->index);
        td_csv_double(buf, best->sharpe);
        td_csv_u64(buf, t->trades);
        td_csv_fixed(buf, t->net_pnl);
        for (int k = 0; k < 12; k++)
            td_csv_fixed(buf, t->by_month[k]);
        for (int k = 0; k < 7; k++)
            td_csv_fixed(buf, t->by_weekday[k]);
    } else {
        td_buf_puts(buf, ",,,nan,,,,,,,,,,,,,,,,,,,,,"); /* no index, no params, nan, 21 empty P&L fields */
    }
    td_csv_double(buf, validation->dsr.dsr);
    td_csv_double(buf, validation->dsr.expected_max * annualize());
    td_csv_double(buf, validation->have_pbo ? validation->pbo.pbo : NAN);
    if (opts->wf) {
        td_csv_str(buf, opts->wf_text);
        td_csv_u64(buf, wf->windows);
        td_csv_u64(buf, wf->days);
        td_csv_u64(buf, wf->trades.trades);
        td_csv_fixed(buf, wf->trades.net_pnl);
        td_csv_double(buf, wf->ratios.sharpe);
        td_csv_double(buf, wf->ratios.max_drawdown);
    } else {
        td_buf_puts(buf, ",,,,,,,");
    }
    td_csv_end(buf);
}

/* ---- a several-symbol run ---- */

void td_bt_report_multi_json_open(td_buf_t *buf, const char *grid_file)
{
    td_buf_putc(buf, '{');
    td_json_key_str(buf, "grid_file", grid_file);
    td_json_key(buf, "runs");
    td_buf_puts(buf, "[\n");
}

void td_bt_report_multi_json_close(td_buf_t *buf, const td_grid_t *grid, const td_bt_job_t *jobs,
                                   const td_bt_done_t *done, size_t n_jobs)
{
    td_buf_puts(buf, "\n]");
    td_json_key(buf, "best_by_symbol");
    td_buf_putc(buf, '[');
    for (size_t i = 0; i < n_jobs; i++) {
        td_json_comma(buf);
        td_buf_putc(buf, '{');
        td_json_key_str(buf, "symbol", jobs[i].symbol);
        if (done[i].have_best) {
            put_params_json(buf, grid, done[i].index);
            td_json_key_double(buf, "sharpe", done[i].sharpe);
        } else {
            td_json_key(buf, "index");
            td_buf_puts(buf, "null");
        }
        td_json_key_double(buf, "dsr", done[i].dsr);
        td_json_key_double(buf, "pbo", done[i].pbo);
        td_buf_putc(buf, '}');
    }
    td_buf_puts(buf, "]}\n");
}

void td_bt_report_multi_text(td_buf_t *buf, const td_grid_t *grid, const td_bt_job_t *jobs, const td_bt_done_t *done,
                             size_t n_jobs)
{
    td_buf_puts(buf, "best set per symbol (by Sharpe):\n");
    for (size_t i = 0; i < n_jobs; i++) {
        const td_bt_done_t *d = &done[i];
        td_buf_putf(buf, "  %-10s ", jobs[i].symbol);
        if (!d->have_best) {
            td_buf_puts(buf, "no set with a defined Sharpe\n");
            continue;
        }
        td_buf_putf(buf, "#%" PRIu64 " ", d->index);
        put_params_text(buf, grid, d->index);
        td_buf_putf(buf, "  sharpe %.4f trades %" PRIu64 " net_pnl ", d->sharpe, d->trades);
        put_money2(buf, d->net_pnl);
        td_buf_putf(buf, " dsr %.4f pbo %.4f\n", d->dsr, d->pbo);
    }
}
