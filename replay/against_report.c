/* against_report.c - text and JSON of `tapedeck replay --against backtest`. */
#include "replay/against_report.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/fixed.h"
#include "core/timeutil.h"

static const char *status_name(td_against_status_t s)
{
    return s == TD_AGAINST_MATCHED ? "matched" : s == TD_AGAINST_MISSING ? "missing" : "extra";
}

static const char *side_name(td_side_t side)
{
    return side == TD_SIDE_BUY ? "long" : "short";
}

/* "2024-01-03T10:30:00.250Z @ 2031.150" of a trade's entry or exit. */
static void leg(char *buf, size_t len, int64_t time_ms, td_price_t price)
{
    char t[32], p[40];
    td_time_format_iso(time_ms, t);
    td_fx_format(price, 8, p, sizeof p);
    snprintf(buf, len, "%s @ %s", t, p);
}

void td_against_print(const td_against_result_t *r, const char *date)
{
    char pl[40], pm[40];
    td_fx_format(r->pnl_live, 2, pl, sizeof pl);
    td_fx_format(r->pnl_model, 2, pm, sizeof pm);
    printf("replay %s %s against backtest: %s - live (%s broker) %zu trade(s) P&L %s; the fill model over the "
           "same %" PRIu64 " inputs %zu trade(s) P&L %s\n",
           date, r->symbol, r->consistent ? "consistent" : "DIVERGED", r->live_paper ? "paper" : "external",
           r->trades_live, pl, r->inputs - r->exec_inputs_skipped, r->trades_model, pm);
    for (size_t i = 0; i < r->n_rows; i++) {
        const td_against_row_t *row = &r->rows[i];
        const td_trade_closed_t *t = row->has_model ? &row->model : &row->live;
        char a[96], b[96];
        if (row->status == TD_AGAINST_MATCHED) {
            leg(a, sizeof a, row->live.entry_time, row->live.entry_price);
            leg(b, sizeof b, row->live.exit_time, row->live.exit_price);
            printf("  %-7s %-5s live %s -> %s; vs model: entry %+" PRId64 " ms %+.1f pt, exit %+" PRId64
                   " ms %+.1f pt\n",
                   status_name(row->status), side_name(t->side), a, b, row->entry_delay_ms, row->entry_diff_points,
                   row->exit_delay_ms, row->exit_diff_points);
        } else {
            leg(a, sizeof a, t->entry_time, t->entry_price);
            leg(b, sizeof b, t->exit_time, t->exit_price);
            printf("  %-7s %-5s %s %s -> %s (%s)\n", status_name(row->status), side_name(t->side),
                   row->has_model ? "model" : "live", a, b,
                   row->status == TD_AGAINST_MISSING ? "the model traded, live did not"
                                                     : "live traded, the model did not");
        }
    }
    printf("  trades: %zu matched, %zu missing, %zu extra; fills with the same intent: %zu of %zu live / %zu model",
           r->matched, r->missing, r->extra, r->fills_matched, r->fills_live, r->fills_model);
    if (r->fills_matched)
        printf(", slippage in points (+ = worse live) mean %+.2f min %+.2f max %+.2f", r->slip_mean, r->slip_min,
               r->slip_max);
    printf("%s\n", r->slip_exceeded ? " - above --max-slippage-points" : "");
}

static td_err_t json_trade(td_buf_t *out, const char *name, bool present, const td_trade_closed_t *t)
{
    if (!present)
        return td_buf_printf(out, ",\"%s\":null", name);
    char et[32], xt[32], ep[40], xp[40], pnl[40];
    td_time_format_iso(t->entry_time, et);
    td_time_format_iso(t->exit_time, xt);
    td_fx_format(t->entry_price, 8, ep, sizeof ep);
    td_fx_format(t->exit_price, 8, xp, sizeof xp);
    td_fx_format(t->pnl, 8, pnl, sizeof pnl);
    return td_buf_printf(out,
                         ",\"%s\":{\"entry_time\":\"%s\",\"entry_price\":%s,\"exit_time\":\"%s\",\"exit_price\":%s,"
                         "\"pnl\":%s}",
                         name, et, ep, xt, xp, pnl);
}

td_err_t td_against_json(td_buf_t *out, const td_against_result_t *r)
{
    char pl[40], pm[40];
    td_fx_format(r->pnl_live, 8, pl, sizeof pl);
    td_fx_format(r->pnl_model, 8, pm, sizeof pm);
    td_err_t rc = td_buf_printf(
        out,
        "{\"symbol\":\"%s\",\"verdict\":\"%s\",\"live_broker\":\"%s\",\"inputs\":%" PRIu64
        ",\"execution_reports_skipped\":%" PRIu64 ",\"trades_live\":%zu,\"trades_model\":%zu,\"matched\":%zu,"
        "\"missing\":%zu,\"extra\":%zu,\"pnl_live\":%s,\"pnl_model\":%s,\"fills_live\":%zu,\"fills_model\":%zu,"
        "\"fills_matched\":%zu,\"slippage_points\":{\"mean\":%.6f,\"min\":%.6f,\"max\":%.6f,\"exceeded\":%s},"
        "\"trades\":[",
        r->symbol, r->consistent ? "consistent" : "diverged", r->live_paper ? "paper" : "external", r->inputs,
        r->exec_inputs_skipped, r->trades_live, r->trades_model, r->matched, r->missing, r->extra, pl, pm,
        r->fills_live, r->fills_model, r->fills_matched, r->slip_mean, r->slip_min, r->slip_max,
        r->slip_exceeded ? "true" : "false");
    for (size_t i = 0; rc == TD_OK && i < r->n_rows; i++) {
        const td_against_row_t *row = &r->rows[i];
        const td_trade_closed_t *t = row->has_model ? &row->model : &row->live;
        rc = td_buf_printf(out, "%s{\"status\":\"%s\",\"side\":\"%s\"", i ? "," : "", status_name(row->status),
                           side_name(t->side));
        if (rc == TD_OK)
            rc = json_trade(out, "live", row->has_live, &row->live);
        if (rc == TD_OK)
            rc = json_trade(out, "model", row->has_model, &row->model);
        if (rc == TD_OK && row->status == TD_AGAINST_MATCHED)
            rc = td_buf_printf(out,
                               ",\"entry_delay_ms\":%" PRId64 ",\"entry_diff_points\":%.6f,\"exit_delay_ms\":%" PRId64
                               ",\"exit_diff_points\":%.6f",
                               row->entry_delay_ms, row->entry_diff_points, row->exit_delay_ms, row->exit_diff_points);
        if (rc == TD_OK)
            rc = td_buf_printf(out, "}");
    }
    if (rc == TD_OK)
        rc = td_buf_printf(out, "]}");
    return rc;
}
