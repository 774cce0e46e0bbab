/* event.c - helpers on td_event_t that need no encoding. */
#include "core/event.h"

#include <string.h>

#include "core/timeutil.h"

bool td_symbol_valid(const char *symbol, size_t len)
{
    if (len == 0 || len > TD_SYMBOL_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = symbol[i];
        bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '#' && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '+' && c != '!')))
            return false;
    }
    return true;
}

td_err_t td_event_init(td_event_t *ev, td_event_kind_t kind, const char *symbol, int64_t time_ms)
{
    memset(ev, 0, sizeof *ev);
    if (!td_symbol_valid(symbol, strlen(symbol)))
        return TD_ERR_INVALID;
    td_err_t rc = td_event_set_str(ev->symbol, sizeof ev->symbol, symbol);
    if (rc != TD_OK)
        return rc;
    ev->kind = kind;
    ev->time_ms = time_ms;
    ev->schema_version = TD_SCHEMA_VERSION;
    return TD_OK;
}

td_err_t td_event_set_str(char *dst, size_t dstsize, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstsize)
        return TD_ERR_INVALID;
    memcpy(dst, src, n + 1);
    return TD_OK;
}

bool td_event_is_output(td_event_kind_t kind)
{
    return kind >= TD_EV_BAR && kind <= TD_EV_DAY_DIGEST;
}

const char *td_event_kind_name(td_event_kind_t kind)
{
    switch (kind) {
    case TD_EV_NONE: return "none";
    case TD_EV_TICK: return "tick";
    case TD_EV_SYMBOL_SPEC: return "symbol_spec";
    case TD_EV_EXEC_REPORT: return "execution_report";
    case TD_EV_PARAMS_CHANGED: return "params_changed";
    case TD_EV_CLOCK: return "clock";
    case TD_EV_SESSION_MARK: return "session_mark";
    case TD_EV_BAR: return "bar";
    case TD_EV_SIGNAL: return "signal";
    case TD_EV_ORDER_INTENT: return "order_intent";
    case TD_EV_POSITION_CHANGED: return "position_changed";
    case TD_EV_TRADE_CLOSED: return "trade_closed";
    case TD_EV_DAY_DIGEST: return "day_digest";
    }
    return "none";
}

uint32_t td_event_day(const td_event_t *ev, uint32_t floor_day, int day_offset_minutes)
{
    /* a DAY_END mark stands at the first instant of the next day and belongs to the day it ends */
    uint32_t day = ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind == TD_SESSION_DAY_END
                       ? ev->u.session.trading_day
                       : td_time_trading_day(ev->time_ms, day_offset_minutes);
    return day > floor_day ? day : floor_day;
}

uint32_t td_event_floor_after(const td_event_t *ev, uint32_t day)
{
    /* only the mark or digest OF this day closes it: a stale one (a repeated mark of a day already
     * closed, placed in a later day by the floor) changes nothing */
    bool closes = (ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind == TD_SESSION_DAY_END &&
                   ev->u.session.trading_day == day) ||
                  (ev->kind == TD_EV_DAY_DIGEST && ev->u.digest.trading_day == day);
    return closes ? td_time_next_day(day) : day;
}
