/* propose.c - the judgement of a report's best set and its parameter file (contract in propose.h). */
#include "backtest/propose.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "core/event.h"

/* One failed threshold: "WHAT VALUE RELATION KEY WANT", or the figure missing. */
static void failed(td_buf_t *fails, const char *what, double got, const char *relation, const char *key, double want)
{
    if (fails->len)
        td_buf_puts(fails, "; ");
    if (isnan(got))
        td_buf_putf(fails, "%s is missing from the report (%s %g)", what, key, want);
    else
        td_buf_putf(fails, "%s %.4g %s %s %g", what, got, relation, key, want);
}

void td_bt_propose_judge(td_buf_t *fails, const td_bt_report_t *r, const td_bt_thresholds_t *t)
{
    if (isnan(r->dsr) || r->dsr < t->min_dsr)
        failed(fails, "DSR", r->dsr, "is below", "params.min_dsr", t->min_dsr);
    if (isnan(r->pbo) || r->pbo > t->max_pbo)
        failed(fails, "PBO", r->pbo, "is above", "params.max_pbo", t->max_pbo);
    if (!r->have_wf) {
        if (fails->len)
            td_buf_puts(fails, "; ");
        td_buf_puts(fails, "no walk-forward in the report (run tapedeck backtest with --walk-forward IS:OOS): "
                           "params.min_oos_trades and params.min_oos_sharpe cannot be checked");
        return;
    }
    if (isnan(r->wf_trades) || r->wf_trades < t->min_oos_trades)
        failed(fails, "out-of-sample trades", r->wf_trades, "are fewer than", "params.min_oos_trades",
               t->min_oos_trades);
    if (isnan(r->wf_sharpe) || r->wf_sharpe < t->min_oos_sharpe)
        failed(fails, "out-of-sample Sharpe", r->wf_sharpe, "is below", "params.min_oos_sharpe", t->min_oos_sharpe);
}

/* A YAML single-quoted scalar: any text, quotes doubled. */
static void put_quoted(td_buf_t *buf, const char *s)
{
    td_buf_putc(buf, '\'');
    for (; *s; s++)
        td_buf_puts(buf, *s == '\'' ? "''" : (char[2]){*s, '\0'});
    td_buf_putc(buf, '\'');
}

static void put_field(td_buf_t *buf, const char *indent, const char *name, const char *value)
{
    td_buf_putf(buf, "%s%s: ", indent, name);
    put_quoted(buf, value);
    td_buf_putc(buf, '\n');
}

void td_bt_propose_file(td_buf_t *text, const char *symbol, const td_bt_report_t *r, const td_bt_thresholds_t *t,
                        const char *out_path, const char *report_path, uint32_t previous)
{
    char reason[TD_TEXT_MAX + 1];
    snprintf(reason, sizeof reason, "proposed: DSR %.4f, PBO %.4f, OOS %.0f trades Sharpe %.4f (walk-forward %s)",
             r->dsr, r->pbo, r->wf_trades, r->wf_sharpe, r->wf_spec);
    td_buf_putf(text,
                "# tapedeck parameter file: %s %s, version %" PRIu32 "\n"
                "# written by tapedeck params propose; push it with\n"
                "#   tapedeck params push --file %s --author WHO\n"
                "# evidence:\n"
                "#   report: %s\n"
                "#   data: %s\n"
                "#   grid: %s (%.0f sets evaluated)\n",
                symbol, r->strategy, previous + 1, out_path, report_path, r->data, r->grid, r->trials);
    td_buf_putf(text, "#   set: #%.0f of the grid, best by Sharpe: Sharpe %.4f, %.0f trades, net P&L %.2f\n",
                r->best_index, r->best_sharpe, r->best_trades, r->best_net_pnl);
    td_buf_putf(text, "#   DSR: %.4f (params.min_dsr %g; expected maximum Sharpe of the trials %.4f)\n", r->dsr,
                t->min_dsr, r->expected_max_sharpe);
    td_buf_putf(text, "#   PBO: %.4f (params.max_pbo %g; %.0f CSCV splits)\n", r->pbo, t->max_pbo, r->pbo_combinations);
    td_buf_putf(text,
                "#   walk-forward %s by %s: %.0f windows, %.0f out-of-sample days, %.0f trades "
                "(params.min_oos_trades %g), Sharpe %.4f (params.min_oos_sharpe %g), net P&L %.2f, max "
                "drawdown %.4f\n",
                r->wf_spec, r->wf_metric, r->wf_windows, r->wf_days, r->wf_trades, t->min_oos_trades, r->wf_sharpe,
                t->min_oos_sharpe, r->wf_net_pnl, r->wf_max_drawdown);
    td_buf_putf(text, "version: %" PRIu32 "\nprevious_version: %" PRIu32 "\n", previous + 1, previous);
    put_field(text, "", "symbol", symbol);
    put_field(text, "", "strategy", r->strategy);
    put_field(text, "", "reason", reason);
    td_buf_puts(text, "params:\n");
    for (uint32_t i = 0; i < r->params.n_values; i++)
        put_field(text, "  ", r->params.values[i].name, r->params.values[i].value);
}
