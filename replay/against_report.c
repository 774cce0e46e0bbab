/* against_report.c - text and JSON of `tapedeck replay --against backtest` (against_report.h). */
#include "replay/against_report.h"

#include <inttypes.h>

#include "core/json_out.h"
#include "core/names.h"

static const char *status_name(td_against_status_t s)
{
    return s == TD_AGAINST_MATCHED ? "matched" : s == TD_AGAINST_MISSING ? "missing" : "extra";
}

/* "2024-01-03T10:30:00.250Z @ 2031.15000000" of a trade's entry or exit. */
static void put_leg(td_buf_t *buf, int64_t time_ms, td_price_t price)
{
    td_buf_put_iso_time(buf, time_ms);
    td_buf_puts(buf, " @ ");
    td_buf_put_price(buf, price, 8);
}

static void text_row(td_buf_t *buf, const td_against_row_t *row)
{
    const td_trade_closed_t *t = row->has_model ? &row->model : &row->live;
    td_buf_putf(buf, "  %-7s %-5s ", status_name(row->status), td_direction_name(td_direction_of_side(t->side)));
    if (row->status == TD_AGAINST_MATCHED) {
        td_buf_puts(buf, "live ");
        put_leg(buf, row->live.entry_time, row->live.entry_price);
        td_buf_puts(buf, " -> ");
        put_leg(buf, row->live.exit_time, row->live.exit_price);
        td_buf_putf(buf, "; vs model: entry %+" PRId64 " ms %+.1f pt, exit %+" PRId64 " ms %+.1f pt\n",
                    row->entry_delay_ms, row->entry_diff_points, row->exit_delay_ms, row->exit_diff_points);
        return;
    }
    td_buf_puts(buf, row->has_model ? "model " : "live ");
    put_leg(buf, t->entry_time, t->entry_price);
    td_buf_puts(buf, " -> ");
    put_leg(buf, t->exit_time, t->exit_price);
    td_buf_putf(buf, " (%s)\n",
                row->status == TD_AGAINST_MISSING ? "the model traded, live did not"
                                                  : "live traded, the model did not");
}

void td_against_text(td_buf_t *buf, const td_against_result_t *r, const char *date)
{
    td_buf_putf(buf, "replay %s %s against backtest: %s - live (%s broker) %zu trade(s) P&L ", date, r->symbol,
                r->consistent ? "consistent" : "DIVERGED", r->live_paper ? "paper" : "external", r->trades_live);
    td_buf_put_price(buf, r->pnl_live, 2);
    td_buf_putf(buf, "; the fill model over the same %" PRIu64 " inputs %zu trade(s) P&L ",
                r->inputs - r->exec_inputs_skipped, r->trades_model);
    td_buf_put_price(buf, r->pnl_model, 2);
    td_buf_putc(buf, '\n');
    for (size_t i = 0; i < r->n_rows; i++)
        text_row(buf, &r->rows[i]);
    td_buf_putf(buf,
                "  trades: %zu matched, %zu missing, %zu extra; fills with the same intent: %zu of %zu live / %zu "
                "model",
                r->matched, r->missing, r->extra, r->fills_matched, r->fills_live, r->fills_model);
    if (r->fills_matched)
        td_buf_putf(buf, ", slippage in points (+ = worse live) mean %+.2f min %+.2f max %+.2f", r->slip_mean,
                    r->slip_min, r->slip_max);
    td_buf_putf(buf, "%s\n", r->slip_exceeded ? " - above --max-slippage-points" : "");
}

static void json_price(td_buf_t *buf, const char *name, td_price_t v)
{
    td_json_key(buf, name);
    td_buf_put_price(buf, v, 8);
}

static void json_time(td_buf_t *buf, const char *name, int64_t ms)
{
    td_json_key(buf, name);
    td_buf_putc(buf, '"');
    td_buf_put_iso_time(buf, ms);
    td_buf_putc(buf, '"');
}

static void json_size(td_buf_t *buf, const char *name, size_t v)
{
    td_json_key_u64(buf, name, v);
}

static void json_trade(td_buf_t *buf, const char *name, bool present, const td_trade_closed_t *t)
{
    td_json_key(buf, name);
    if (!present) {
        td_buf_puts(buf, "null");
        return;
    }
    td_buf_putc(buf, '{');
    json_time(buf, "entry_time", t->entry_time);
    json_price(buf, "entry_price", t->entry_price);
    json_time(buf, "exit_time", t->exit_time);
    json_price(buf, "exit_price", t->exit_price);
    json_price(buf, "pnl", t->pnl);
    td_buf_putc(buf, '}');
}

static void json_row(td_buf_t *buf, const td_against_row_t *row)
{
    const td_trade_closed_t *t = row->has_model ? &row->model : &row->live;
    td_buf_putc(buf, '{');
    td_json_key_str(buf, "status", status_name(row->status));
    td_json_key_str(buf, "side", td_direction_name(td_direction_of_side(t->side)));
    json_trade(buf, "live", row->has_live, &row->live);
    json_trade(buf, "model", row->has_model, &row->model);
    if (row->status == TD_AGAINST_MATCHED)
        td_buf_putf(buf,
                    ",\"entry_delay_ms\":%" PRId64 ",\"entry_diff_points\":%.6f,\"exit_delay_ms\":%" PRId64
                    ",\"exit_diff_points\":%.6f",
                    row->entry_delay_ms, row->entry_diff_points, row->exit_delay_ms, row->exit_diff_points);
    td_buf_putc(buf, '}');
}

void td_against_json(td_buf_t *buf, const td_against_result_t *r)
{
    td_buf_putc(buf, '{');
    td_json_key_str(buf, "symbol", r->symbol);
    td_json_key_str(buf, "verdict", r->consistent ? "consistent" : "diverged");
    td_json_key_str(buf, "live_broker", r->live_paper ? "paper" : "external");
    td_json_key_u64(buf, "inputs", r->inputs);
    td_json_key_u64(buf, "execution_reports_skipped", r->exec_inputs_skipped);
    json_size(buf, "trades_live", r->trades_live);
    json_size(buf, "trades_model", r->trades_model);
    json_size(buf, "matched", r->matched);
    json_size(buf, "missing", r->missing);
    json_size(buf, "extra", r->extra);
    json_price(buf, "pnl_live", r->pnl_live);
    json_price(buf, "pnl_model", r->pnl_model);
    json_size(buf, "fills_live", r->fills_live);
    json_size(buf, "fills_model", r->fills_model);
    json_size(buf, "fills_matched", r->fills_matched);
    td_json_key(buf, "slippage_points");
    td_buf_putf(buf, "{\"mean\":%.6f,\"min\":%.6f,\"max\":%.6f,\"exceeded\":%s}", r->slip_mean, r->slip_min,
                r->slip_max, r->slip_exceeded ? "true" : "false");
    td_json_key(buf, "trades");
    td_buf_putc(buf, '[');
    for (size_t i = 0; i < r->n_rows; i++) {
        td_json_comma(buf);
        json_row(buf, &r->rows[i]);
    }
    td_buf_puts(buf, "]}");
}
