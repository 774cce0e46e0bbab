/* event_json.c - JSON rendering of td_event_t (field names as in proto/events.proto). */
#include "core/event_json.h"

#include <inttypes.h>
#include <string.h>

#include "core/digest.h"
#include "core/names.h"
#include "core/timeutil.h"

td_err_t td_json_string(td_buf_t *out, const char *s)
{
    td_err_t rc = td_buf_append(out, "\"", 1);
    for (; rc == TD_OK && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            rc = td_buf_printf(out, "\\%c", c);
        else if (c < 0x20)
            rc = td_buf_printf(out, "\\u%04x", c);
        else
            rc = td_buf_append(out, &c, 1);
    }
    if (rc == TD_OK)
        rc = td_buf_append(out, "\"", 1);
    return rc;
}

td_err_t td_json_fixed(td_buf_t *out, int64_t v)
{
    /* the sticky writer on a scratch error: this function's callers check each append */
    td_err_t kept = out->err;
    out->err = TD_OK;
    td_buf_put_fixed(out, v);
    td_err_t rc = out->err;
    out->err = kept;
    return rc;
}

/* Field writers: each appends ,"name":value */
static td_err_t f_fixed(td_buf_t *out, const char *name, int64_t v)
{
    td_err_t rc = td_buf_printf(out, ",\"%s\":", name);
    return rc == TD_OK ? td_json_fixed(out, v) : rc;
}

static td_err_t f_int(td_buf_t *out, const char *name, int64_t v)
{
    return td_buf_printf(out, ",\"%s\":%" PRId64, name, v);
}

static td_err_t f_uint(td_buf_t *out, const char *name, uint64_t v)
{
    return td_buf_printf(out, ",\"%s\":%" PRIu64, name, v);
}

static td_err_t f_str(td_buf_t *out, const char *name, const char *v)
{
    td_err_t rc = td_buf_printf(out, ",\"%s\":", name);
    return rc == TD_OK ? td_json_string(out, v) : rc;
}

static td_err_t f_time(td_buf_t *out, const char *name, int64_t ms)
{
    char iso[32];
    td_time_format_iso(ms, iso);
    return td_buf_printf(out, ",\"%s\":\"%s\"", name, iso);
}

static td_err_t body(const td_event_t *ev, td_buf_t *out)
{
    td_err_t rc = TD_OK;
    switch (ev->kind) {
    case TD_EV_TICK: {
        const td_tick_t *t = &ev->u.tick;
        rc = f_fixed(out, "bid", t->bid);
        if (rc == TD_OK)
            rc = f_fixed(out, "ask", t->ask);
        if (rc == TD_OK)
            rc = f_fixed(out, "last", t->last);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume", t->volume);
        if (rc == TD_OK)
            rc = f_uint(out, "flags", t->flags);
        break;
    }
    case TD_EV_SYMBOL_SPEC: {
        const td_symbol_spec_t *s = &ev->u.spec;
        rc = f_uint(out, "digits", s->digits);
        if (rc == TD_OK)
            rc = f_fixed(out, "point", s->point);
        if (rc == TD_OK)
            rc = f_fixed(out, "contract_size", s->contract_size);
        if (rc == TD_OK)
            rc = f_fixed(out, "tick_size", s->tick_size);
        if (rc == TD_OK)
            rc = f_fixed(out, "tick_value", s->tick_value);
        if (rc == TD_OK)
            rc = f_fixed(out, "swap_long", s->swap_long);
        if (rc == TD_OK)
            rc = f_fixed(out, "swap_short", s->swap_short);
        if (rc == TD_OK)
            rc = f_str(out, "swap_mode", td_swap_mode_name(s->swap_mode));
        if (rc == TD_OK)
            rc = f_uint(out, "triple_swap_weekday", s->triple_swap_weekday);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume_step", s->volume_step);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume_min", s->volume_min);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume_max", s->volume_max);
        break;
    }
    case TD_EV_EXEC_REPORT: {
        const td_exec_report_t *x = &ev->u.exec;
        rc = f_str(out, "intent_id", x->intent_id);
        if (rc == TD_OK)
            rc = f_uint(out, "deal_id", x->deal_id);
        if (rc == TD_OK)
            rc = f_uint(out, "order_id", x->order_id);
        if (rc == TD_OK)
            rc = f_uint(out, "position_id", x->position_id);
        if (rc == TD_OK)
            rc = f_str(out, "side", td_side_name(x->side));
        if (rc == TD_OK)
            rc = f_fixed(out, "price", x->price);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume", x->volume);
        if (rc == TD_OK)
            rc = f_fixed(out, "commission", x->commission);
        if (rc == TD_OK)
            rc = f_fixed(out, "swap", x->swap);
        if (rc == TD_OK)
            rc = f_fixed(out, "profit", x->profit);
        if (rc == TD_OK)
            rc = f_uint(out, "status", (uint64_t)x->status);
        if (rc == TD_OK)
            rc = f_str(out, "reason", x->reason);
        break;
    }
    case TD_EV_PARAMS_CHANGED: {
        const td_params_changed_t *p = &ev->u.params;
        rc = f_str(out, "strategy", p->strategy);
        if (rc == TD_OK)
            rc = f_uint(out, "version", p->version);
        if (rc == TD_OK)
            rc = td_buf_printf(out, ",\"values\":{");
        for (uint32_t i = 0; rc == TD_OK && i < p->n_values; i++) {
            if (i)
                rc = td_buf_append(out, ",", 1);
            if (rc == TD_OK)
                rc = td_json_string(out, p->values[i].name);
            if (rc == TD_OK)
                rc = td_buf_append(out, ":", 1);
            if (rc == TD_OK)
                rc = td_json_string(out, p->values[i].value);
        }
        if (rc == TD_OK)
            rc = td_buf_append(out, "}", 1);
        if (rc == TD_OK)
            rc = f_str(out, "author", p->author);
        if (rc == TD_OK)
            rc = f_str(out, "reason", p->reason);
        break;
    }
    case TD_EV_SESSION_MARK:
        rc = f_str(out, "session", ev->u.session.kind == TD_SESSION_DAY_START ? "day_start" : "day_end");
        if (rc == TD_OK)
            rc = f_uint(out, "trading_day", ev->u.session.trading_day);
        break;
    case TD_EV_BAR: {
        const td_bar_t *b = &ev->u.bar;
        rc = f_uint(out, "timeframe_s", b->timeframe_s);
        if (rc == TD_OK)
            rc = f_time(out, "open_time", b->open_time);
        if (rc == TD_OK)
            rc = f_fixed(out, "open", b->open);
        if (rc == TD_OK)
            rc = f_fixed(out, "high", b->high);
        if (rc == TD_OK)
            rc = f_fixed(out, "low", b->low);
        if (rc == TD_OK)
            rc = f_fixed(out, "close", b->close);
        if (rc == TD_OK)
            rc = f_uint(out, "tick_volume", b->tick_volume);
        if (rc == TD_OK)
            rc = f_fixed(out, "spread_min", b->spread_min);
        if (rc == TD_OK)
            rc = f_fixed(out, "spread_max", b->spread_max);
        if (rc == TD_OK)
            rc = f_fixed(out, "spread_sum", b->spread_sum);
        if (rc == TD_OK)
            rc = f_uint(out, "late_ticks", b->late_ticks);
        break;
    }
    case TD_EV_SIGNAL: {
        const td_signal_t *s = &ev->u.signal;
        rc = f_str(out, "strategy", s->strategy);
        if (rc == TD_OK)
            rc = f_uint(out, "params_version", s->params_version);
        if (rc == TD_OK)
            rc = f_str(out, "direction", td_direction_name(s->direction));
        if (rc == TD_OK)
            rc = f_time(out, "bar_time", s->bar_time);
        if (rc == TD_OK)
            rc = f_str(out, "reason", s->reason);
        break;
    }
    case TD_EV_ORDER_INTENT: {
        const td_order_intent_t *o = &ev->u.intent;
        rc = f_str(out, "intent_id", o->intent_id);
        if (rc == TD_OK)
            rc = f_str(out, "side", td_side_name(o->side));
        if (rc == TD_OK)
            rc = f_fixed(out, "volume", o->volume);
        if (rc == TD_OK)
            rc = f_fixed(out, "stop_loss", o->stop_loss);
        if (rc == TD_OK)
            rc = f_fixed(out, "take_profit", o->take_profit);
        if (rc == TD_OK)
            rc = f_str(out, "strategy", o->strategy);
        if (rc == TD_OK)
            rc = f_uint(out, "params_version", o->params_version);
        if (rc == TD_OK)
            rc = f_str(out, "reason", o->reason);
        break;
    }
    case TD_EV_POSITION_CHANGED: {
        const td_position_changed_t *p = &ev->u.position;
        rc = f_fixed(out, "volume", p->volume);
        if (rc == TD_OK)
            rc = f_fixed(out, "avg_price", p->avg_price);
        if (rc == TD_OK)
            rc = f_fixed(out, "realized_pnl", p->realized_pnl);
        if (rc == TD_OK)
            rc = f_fixed(out, "commission", p->commission);
        if (rc == TD_OK)
            rc = f_fixed(out, "swap", p->swap);
        if (rc == TD_OK)
            rc = f_uint(out, "deal_id", p->deal_id);
        if (rc == TD_OK)
            rc = f_str(out, "intent_id", p->intent_id);
        break;
    }
    case TD_EV_TRADE_CLOSED: {
        const td_trade_closed_t *t = &ev->u.trade;
        rc = f_str(out, "side", td_side_name(t->side));
        if (rc == TD_OK)
            rc = f_time(out, "entry_time", t->entry_time);
        if (rc == TD_OK)
            rc = f_fixed(out, "entry_price", t->entry_price);
        if (rc == TD_OK)
            rc = f_time(out, "exit_time", t->exit_time);
        if (rc == TD_OK)
            rc = f_fixed(out, "exit_price", t->exit_price);
        if (rc == TD_OK)
            rc = f_fixed(out, "volume", t->volume);
        if (rc == TD_OK)
            rc = f_fixed(out, "pnl", t->pnl);
        if (rc == TD_OK)
            rc = f_fixed(out, "commission", t->commission);
        if (rc == TD_OK)
            rc = f_fixed(out, "swap", t->swap);
        break;
    }
    case TD_EV_DAY_DIGEST: {
        const td_day_digest_t *d = &ev->u.digest;
        char hex[65];
        td_digest_hex(d->sha256, hex);
        rc = f_uint(out, "trading_day", d->trading_day);
        if (rc == TD_OK)
            rc = f_str(out, "sha256", hex);
        if (rc == TD_OK)
            rc = f_uint(out, "first_offset", d->first_offset);
        if (rc == TD_OK)
            rc = f_uint(out, "last_offset", d->last_offset);
        if (rc == TD_OK)
            rc = f_uint(out, "inputs", d->inputs);
        if (rc == TD_OK)
            rc = f_uint(out, "outputs", d->outputs);
        if (rc == TD_OK)
            rc = f_uint(out, "trades", d->trades);
        if (rc == TD_OK)
            rc = f_uint(out, "wins", d->wins);
        if (rc == TD_OK)
            rc = f_fixed(out, "realized_pnl", d->realized_pnl);
        if (rc == TD_OK)
            rc = f_fixed(out, "max_drawdown", d->max_drawdown);
        if (rc == TD_OK)
            rc = f_uint(out, "late_ticks", d->late_ticks);
        break;
    }
    case TD_EV_CLOCK:
    case TD_EV_NONE: break;
    }
    return rc;
}

td_err_t td_event_to_json(const td_event_t *ev, bool from_output_stream, td_buf_t *out)
{
    td_err_t rc = td_buf_append(out, "{", 1);
    if (rc == TD_OK) {
        rc = td_buf_printf(out, "\"symbol\":");
        if (rc == TD_OK)
            rc = td_json_string(out, ev->symbol);
    }
    if (rc == TD_OK)
        rc = f_uint(out, "offset", ev->offset);
    if (rc == TD_OK)
        rc = f_str(out, "kind", td_event_kind_name(ev->kind));
    if (rc == TD_OK)
        rc = f_time(out, "time", ev->time_ms);
    if (rc == TD_OK)
        rc = f_int(out, "time_ms", ev->time_ms);
    if (rc == TD_OK)
        rc = f_str(out, "source", ev->source);
    if (rc == TD_OK && from_output_stream) {
        rc = f_uint(out, "input_offset", ev->input_offset);
        if (rc == TD_OK)
            rc = f_uint(out, "index", ev->index);
    }
    if (rc == TD_OK)
        rc = body(ev, out);
    if (rc == TD_OK)
        rc = td_buf_append(out, "}", 1);
    return rc;
}
