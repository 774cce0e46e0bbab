/* bars.c - the bar builder (see bars.h for the rules).
 *
 * Every step first decides everything it will do (which bar closes, whether the tick is late,
 * the new spread sum) without touching the state, then reserves its output, then commits: an
 * error never leaves a half-applied event.
 */
#include "processors/bars.h"

#include <string.h>

#include "state_bars.pb-c.h"

#define MS_PER_MINUTE INT64_C(60000)

bool td_bars_timeframe_valid(uint32_t timeframe_s)
{
    switch (timeframe_s) {
    case 60:
    case 300:
    case 900:
    case 1800:
    case 3600:
    case 14400:
    case 86400: return true;
    default: return false;
    }
}

static bool offset_valid(int64_t align_offset_minutes)
{
    return align_offset_minutes > -1440 && align_offset_minutes < 1440;
}

void td_bars_init(td_bars_t *bars, uint32_t timeframe_s, int align_offset_minutes)
{
    if (timeframe_s == 0)
        timeframe_s = TD_BARS_DEFAULT_TIMEFRAME_S;
    TD_ASSERT(td_bars_timeframe_valid(timeframe_s));
    TD_ASSERT(offset_valid(align_offset_minutes));
    memset(bars, 0, sizeof *bars);
    bars->timeframe_s = timeframe_s;
    bars->align_offset_minutes = align_offset_minutes;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Start of the bar that contains t. Event times are ms since 1970 (|t| far below 2^62), so the
 * shift cannot overflow. */
static int64_t bar_start(const td_bars_t *bars, int64_t t)
{
    int64_t tf = (int64_t)bars->timeframe_s * 1000;
    int64_t off = (int64_t)bars->align_offset_minutes * MS_PER_MINUTE;
    return floor_div(t + off, tf) * tf - off;
}

static int64_t bar_end(const td_bars_t *bars)
{
    return bars->bar.open_time + (int64_t)bars->timeframe_s * 1000;
}

td_err_t td_bars_step(td_bars_t *bars, const td_event_t *ev, td_outbuf_t *out)
{
    const int64_t t = ev->time_ms;
    const bool closes = bars->bar_open && t >= bar_end(bars);
    const bool is_tick = ev->kind == TD_EV_TICK;

    /* Decide what the tick does, before changing anything. */
    bool late = false, fold_into_open = false;
    int64_t spread = 0, spread_sum = 0;
    if (is_tick) {
        if (bars->bar_open && !closes)
            late = t < bars->bar.open_time;
        else if (closes)
            late = false; /* t >= end of the bar being closed */
        else
            late = bars->has_closed && t < bars->last_end;
        fold_into_open = !late && bars->bar_open && !closes;
        if (!late) {
            if (td_fx_sub(ev->u.tick.ask, ev->u.tick.bid, &spread) != TD_OK)
                return TD_ERR_OVERFLOW;
            spread_sum = spread;
            if (fold_into_open && td_fx_add(bars->bar.spread_sum, spread, &spread_sum) != TD_OK)
                return TD_ERR_OVERFLOW;
        }
    }

    /* Emit the closed bar; this is the only step that can fail on memory. */
    if (closes) {
        td_event_t *o = td_outbuf_add(out, TD_EV_BAR);
        if (!o)
            return TD_ERR_NOMEM;
        o->u.bar = bars->bar;
        o->u.bar.late_ticks = bars->late_pending;
        bars->late_pending = 0;
        bars->has_closed = true;
        bars->last_end = bar_end(bars);
        bars->bar_open = false;
        memset(&bars->bar, 0, sizeof bars->bar);
    }

    if (!is_tick)
        return TD_OK;
    if (late) {
        bars->late_pending++;
        bars->late_total++;
        return TD_OK;
    }

    const td_price_t bid = ev->u.tick.bid;
    td_bar_t *bar = &bars->bar;
    if (!bars->bar_open) {
        bars->bar_open = true;
        bar->timeframe_s = bars->timeframe_s;
        bar->open_time = bar_start(bars, t);
        bar->open = bar->high = bar->low = bid;
        bar->spread_min = bar->spread_max = spread;
    } else {
        if (bid > bar->high)
            bar->high = bid;
        if (bid < bar->low)
            bar->low = bid;
        if (spread < bar->spread_min)
            bar->spread_min = spread;
        if (spread > bar->spread_max)
            bar->spread_max = spread;
    }
    TD_ASSERT(t >= bar->open_time && t < bar_end(bars));
    bar->close = bid;
    bar->tick_volume++;
    bar->spread_sum = spread_sum;
    return TD_OK;
}

uint64_t td_bars_late_total(const td_bars_t *bars)
{
    return bars->late_total;
}

static void to_msg(const td_bars_t *bars, Td__BarsState *msg)
{
    td__bars_state__init(msg);
    msg->timeframe_s = bars->timeframe_s;
    msg->align_offset_minutes = bars->align_offset_minutes;
    msg->bar_open = bars->bar_open;
    if (bars->bar_open) {
        msg->open_time = bars->bar.open_time;
        msg->open = bars->bar.open;
        msg->high = bars->bar.high;
        msg->low = bars->bar.low;
        msg->close = bars->bar.close;
        msg->tick_volume = bars->bar.tick_volume;
        msg->spread_min = bars->bar.spread_min;
        msg->spread_max = bars->bar.spread_max;
        msg->spread_sum = bars->bar.spread_sum;
    }
    msg->has_closed = bars->has_closed;
    msg->last_end = bars->last_end;
    msg->late_pending = bars->late_pending;
    msg->late_total = bars->late_total;
}

td_err_t td_bars_encode(const td_bars_t *bars, td_buf_t *out)
{
    Td__BarsState msg;
    to_msg(bars, &msg);
    size_t n = td__bars_state__get_packed_size(&msg);
    td_err_t rc = td_buf_reserve(out, n);
    if (rc != TD_OK)
        return rc;
    size_t w = td__bars_state__pack(&msg, out->ptr + out->len);
    TD_ASSERT(w == n);
    out->len += n;
    return TD_OK;
}

/* The consistency a state written by td_bars_step() always has. */
static bool state_valid(const td_bars_t *bars)
{
    if (!td_bars_timeframe_valid(bars->timeframe_s) || !offset_valid(bars->align_offset_minutes))
        return false;
    if (bars->late_pending > bars->late_total)
        return false;
    if (!bars->has_closed && bars->last_end != 0)
        return false;
    if (bars->has_closed && bar_start(bars, bars->last_end) != bars->last_end)
        return false;
    if (!bars->bar_open)
        return true;
    const td_bar_t *bar = &bars->bar;
    if (bar->tick_volume == 0 || bar_start(bars, bar->open_time) != bar->open_time)
        return false;
    if (bars->has_closed && bar->open_time < bars->last_end)
        return false;
    if (bar->low > bar->high || bar->open < bar->low || bar->open > bar->high || bar->close < bar->low ||
        bar->close > bar->high || bar->spread_min > bar->spread_max)
        return false;
    return true;
}

td_err_t td_bars_decode(td_bars_t *bars, const uint8_t *p, size_t n)
{
    Td__BarsState *msg = td__bars_state__unpack(NULL, n, p);
    if (!msg)
        return TD_ERR_CORRUPT;
    td_bars_t tmp;
    memset(&tmp, 0, sizeof tmp);
    td_err_t rc = TD_OK;
    if (msg->base.n_unknown_fields != 0 || msg->align_offset_minutes <= -1440 || msg->align_offset_minutes >= 1440)
        rc = TD_ERR_CORRUPT;
    if (rc == TD_OK) {
        tmp.timeframe_s = msg->timeframe_s;
        tmp.align_offset_minutes = msg->align_offset_minutes;
        tmp.bar_open = msg->bar_open;
        if (tmp.bar_open) {
            tmp.bar.timeframe_s = msg->timeframe_s;
            tmp.bar.open_time = msg->open_time;
            tmp.bar.open = msg->open;
            tmp.bar.high = msg->high;
            tmp.bar.low = msg->low;
            tmp.bar.close = msg->close;
            tmp.bar.tick_volume = msg->tick_volume;
            tmp.bar.spread_min = msg->spread_min;
            tmp.bar.spread_max = msg->spread_max;
            tmp.bar.spread_sum = msg->spread_sum;
        }
        tmp.has_closed = msg->has_closed;
        tmp.last_end = msg->last_end;
        tmp.late_pending = msg->late_pending;
        tmp.late_total = msg->late_total;
        if (!state_valid(&tmp))
            rc = TD_ERR_CORRUPT;
    }
    td__bars_state__free_unpacked(msg, NULL);

    /* Canonical check: the bytes must be exactly what td_bars_encode() writes for this state
     * (this also refuses open-bar fields on a state without an open bar). */
    if (rc == TD_OK) {
        td_buf_t again;
        td_buf_init(&again);
        rc = td_bars_encode(&tmp, &again);
        if (rc == TD_OK && (again.len != n || (n && memcmp(again.ptr, p, n) != 0)))
            rc = TD_ERR_CORRUPT;
        td_buf_fini(&again);
    }
    if (rc == TD_OK)
        *bars = tmp;
    return rc;
}
