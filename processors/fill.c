/* fill.c - the fill model / paper broker of one symbol (contract in fill.h).
 *
 * Every call works on a copy of the state and commits it only when the whole tick or bar was
 * processed and its outputs appended, so nothing is ever half applied. The broker's net position,
 * average price and realised P&L come from a td_positions_t fed with the broker's own reports.
 */
#include "processors/fill.h"

#include <stddef.h>
#include <string.h>

#include "core/timeutil.h"
#include "state_positions.pb-c.h"

void td_fill_init(td_fill_t *fill, const td_fill_config_t *config)
{
    TD_ASSERT(config->slippage_points >= 0 && config->commission_per_lot >= 0);
    memset(fill, 0, sizeof *fill);
    fill->config = *config;
    td_positions_init(&fill->book);
}

td_volume_t td_fill_volume(const td_fill_t *fill)
{
    return td_positions_volume(&fill->book);
}

static int id_fits(const char *id)
{
    return memchr(id, '\0', TD_ID_MAX + 1) != NULL;
}

td_err_t td_fill_submit(td_fill_t *fill, int64_t time_ms, const td_order_intent_t *intent)
{
    if (intent->type != 0)
        return TD_ERR_UNSUPPORTED;
    if ((intent->side != TD_SIDE_BUY && intent->side != TD_SIDE_SELL) || intent->volume <= 0 || intent->stop_loss < 0 ||
        intent->take_profit < 0 || !id_fits(intent->intent_id))
        return TD_ERR_INVALID;
    if (fill->n_queue == TD_FILL_QUEUE_MAX)
        return TD_ERR_STATE;
    td_fill_intent_t *q = &fill->queue[fill->n_queue++];
    memset(q, 0, sizeof *q);
    memcpy(q->intent_id, intent->intent_id, strlen(intent->intent_id) + 1);
    q->side = intent->side;
    q->volume = intent->volume;
    q->stop_loss = intent->stop_loss;
    q->take_profit = intent->take_profit;
    q->submit_time = time_ms;
    return TD_OK;
}

/* ---- swap ---- */

static int weekday_of_days(int64_t days)
{
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t days_of_yyyymmdd(uint32_t d)
{
    return td_time_days_from_civil((int)(d / 10000), (d / 100) % 100, d % 100);
}

/* How many daily charges leaving a day of weekday wd is worth. */
static int64_t day_multiplier(int wd, uint32_t triple_weekday)
{
    if (wd < 1 || wd > 5)
        return 0;
    return (uint32_t)wd == triple_weekday ? 3 : 1;
}

/* The charge of one day for a position of signed volume. */
static td_err_t swap_one_day(const td_symbol_spec_t *spec, td_volume_t volume, td_money_t *out)
{
    int64_t rate = volume > 0 ? spec->swap_long : spec->swap_short;
    td_volume_t lots = volume > 0 ? volume : -volume;
    td_price_t price_diff;
    td_err_t rc;
    switch (spec->swap_mode) {
    case TD_SWAP_DISABLED: *out = 0; return TD_OK;
    case TD_SWAP_POINTS:
        rc = td_fx_mul(rate, spec->point, &price_diff);
        if (rc == TD_OK)
            rc = td_positions__money((__int128)price_diff * lots, spec->contract_size, out);
        return rc;
    case TD_SWAP_MONEY: return td_fx_mul(rate, lots, out);
    default: return TD_ERR_UNSUPPORTED;
    }
}

/* Charges the swap of the rollovers between *last_day and the trading day of time_ms to *accrued
 * for a position of signed volume, and moves *last_day. Both are left as they were on error. */
static td_err_t rollover_swap(td_volume_t volume, const td_symbol_spec_t *spec, int64_t time_ms, int day_offset_minutes,
                              td_money_t *accrued, uint32_t *last_day)
{
    uint32_t day = td_time_trading_day(time_ms, day_offset_minutes);
    if (*last_day != 0 && day > *last_day && volume != 0) {
        int64_t from = days_of_yyyymmdd(*last_day), n = days_of_yyyymmdd(day) - from;
        int64_t week = 0, mult = 0;
        for (int wd = 0; wd < 7; wd++)
            week += day_multiplier(wd, spec->triple_swap_weekday);
        mult = (n / 7) * week; /* n < 2^40: no overflow */
        for (int64_t k = 0; k < n % 7; k++)
            mult += day_multiplier(weekday_of_days(from + k), spec->triple_swap_weekday);
        if (mult > 0) {
            td_money_t per_day = 0, charge = 0;
            td_err_t rc = swap_one_day(spec, volume, &per_day);
            if (rc == TD_OK && __builtin_mul_overflow(per_day, mult, &charge))
                rc = TD_ERR_OVERFLOW;
            if (rc == TD_OK)
                rc = td_fx_add(*accrued, charge, accrued);
            if (rc != TD_OK)
                return rc;
        }
    }
    if (day > *last_day)
        *last_day = day;
    return TD_OK;
}

/* Charges the swap of the rollovers between the last trading day seen and the one of time_ms. */
static td_err_t rollover(td_fill_t *next, const td_symbol_spec_t *spec, int64_t time_ms, int day_offset_minutes)
{
    return rollover_swap(next->book.volume, spec, time_ms, day_offset_minutes, &next->accrued_swap, &next->last_day);
}

/* ---- execution ---- */

/* Executes one market order of `intent` at price: one FILLED report appended to out. */
static td_err_t execute(td_fill_t *next, int64_t time_ms, const td_fill_intent_t *intent, td_price_t price,
                        const char *reason, td_outbuf_t *out)
{
    td_volume_t v0 = next->book.volume;
    td_volume_t mag0 = v0 < 0 ? -v0 : v0;
    int buy = intent->side == TD_SIDE_BUY;
    int against = v0 != 0 && ((v0 > 0) != buy);
    td_volume_t closed = against ? (intent->volume < mag0 ? intent->volume : mag0) : 0;

    td_exec_report_t exec;
    memset(&exec, 0, sizeof exec);
    memcpy(exec.intent_id, intent->intent_id, sizeof exec.intent_id);
    next->orders++;
    next->deals++;
    exec.order_id = next->config.id_base + next->orders;
    exec.deal_id = next->config.id_base + next->deals;
    if (v0 == 0)
        next->position_id = exec.order_id;
    exec.position_id = next->position_id;
    exec.side = intent->side;
    exec.price = price;
    exec.volume = intent->volume;
    exec.status = TD_EXEC_FILLED;
    TD_ASSERT(strlen(reason) < sizeof exec.reason);
    memcpy(exec.reason, reason, strlen(reason) + 1);

    td_money_t commission = 0;
    td_err_t rc = td_fx_mul(next->config.commission_per_lot, intent->volume, &commission);
    exec.commission = -commission;
    if (rc == TD_OK && closed > 0) {
        exec.swap = next->accrued_swap;
        if (closed < mag0)
            rc = td_fx_muldiv(next->accrued_swap, closed, mag0, &exec.swap);
        next->accrued_swap -= exec.swap; /* same sign, |swap| <= |accrued| */
    }
    td_money_t before = next->book.realized_pnl;
    if (rc == TD_OK)
        rc = td_positions_apply(&next->book, time_ms, &exec, NULL);
    if (rc != TD_OK)
        return rc;
    exec.profit = next->book.realized_pnl - before; /* both in range: the book checked the sum */

    td_volume_t v1 = next->book.volume;
    if (v1 == 0) {
        next->position_id = 0;
        next->stop_loss = next->take_profit = 0;
        memset(next->open_intent_id, 0, sizeof next->open_intent_id);
        TD_ASSERT(next->accrued_swap == 0);
    } else if (v0 == 0 || (against && intent->volume > mag0)) {
        next->stop_loss = intent->stop_loss;
        next->take_profit = intent->take_profit;
        memcpy(next->open_intent_id, intent->intent_id, sizeof next->open_intent_id);
    }

    td_event_t *ev = td_outbuf_add(out, TD_EV_EXEC_REPORT);
    if (!ev)
        return TD_ERR_NOMEM;
    ev->u.exec = exec;
    return TD_OK;
}

/* Closes the whole open position at price because its stop (sl != 0) or target was hit. */
static td_err_t close_by_stop(td_fill_t *next, int64_t time_ms, int is_sl, td_price_t price, td_outbuf_t *out)
{
    td_fill_intent_t intent;
    memset(&intent, 0, sizeof intent);
    const char *prefix = is_sl ? "sl:" : "tp:";
    size_t plen = strlen(prefix), idlen = strlen(next->open_intent_id);
    if (idlen > TD_ID_MAX - plen)
        idlen = TD_ID_MAX - plen;
    memcpy(intent.intent_id, prefix, plen);
    memcpy(intent.intent_id + plen, next->open_intent_id, idlen);
    td_volume_t v = next->book.volume;
    intent.side = v > 0 ? TD_SIDE_SELL : TD_SIDE_BUY;
    intent.volume = v > 0 ? v : -v;
    intent.submit_time = time_ms;
    return execute(next, time_ms, &intent, price, is_sl ? "stop_loss" : "take_profit", out);
}

static td_err_t check_spec(const td_symbol_spec_t *spec)
{
    return spec->contract_size > 0 && spec->point > 0 ? TD_OK : TD_ERR_INVALID;
}

/* Swap at a rollover, then the queued fills at (bid, ask), as both on_tick and on_bar start. */
static td_err_t roll_and_fill(td_fill_t *next, const td_symbol_spec_t *spec, int64_t time_ms, td_price_t bid,
                              td_price_t ask, int day_offset_minutes, td_price_t slip, td_outbuf_t *out)
{
    td_positions_set_spec(&next->book, spec);
    td_err_t rc = rollover(next, spec, time_ms, day_offset_minutes);
    for (uint32_t i = 0; rc == TD_OK && i < next->n_queue; i++) {
        const td_fill_intent_t *intent = &next->queue[i];
        td_price_t price;
        if (intent->side == TD_SIDE_BUY)
            rc = td_fx_add(ask, slip, &price);
        else
            rc = td_fx_sub(bid, slip, &price);
        if (rc == TD_OK)
            rc = execute(next, time_ms, intent, price, "market", out);
    }
    if (rc == TD_OK) {
        memset(next->queue, 0, next->n_queue * sizeof next->queue[0]);
        next->n_queue = 0;
    }
    return rc;
}

/* Copies of the state without moving the whole 16-entry queue. In a committed state the queue
 * entries at and after n_queue are all zero (td_fill_init, td_fill_submit and roll_and_fill keep it
 * so), which makes these copies give the same bytes as a plain assignment where it matters:
 *   - working_copy: *next = *fill, except that next's queue entries from fill->n_queue on are left
 *     as they were (a working copy never reads them);
 *   - commit: *fill = *next, given that next's entries in [next->n_queue, fill->n_queue) are zero
 *     (roll_and_fill zeroes the entries it consumed), so fill keeps its zero tail. */
static void copy_regions(td_fill_t *dst, const td_fill_t *src, uint32_t entries)
{
    memcpy(dst, src, offsetof(td_fill_t, queue));
    memcpy(dst->queue, src->queue, entries * sizeof src->queue[0]);
    memcpy((char *)dst + offsetof(td_fill_t, book), (const char *)src + offsetof(td_fill_t, book),
           sizeof *src - offsetof(td_fill_t, book));
}

static void working_copy(td_fill_t *next, const td_fill_t *fill)
{
    copy_regions(next, fill, fill->n_queue);
}

static void commit(td_fill_t *fill, const td_fill_t *next)
{
    copy_regions(fill, next, fill->n_queue > next->n_queue ? fill->n_queue : next->n_queue);
}

/* Commits next into fill on success; on failure rolls out back and leaves fill as it was (a value
 * out of range refuses the one tick, bar or intent; nothing sticks). */
static td_err_t finish(td_fill_t *fill, const td_fill_t *next, td_err_t rc, td_outbuf_t *out, size_t start)
{
    if (rc == TD_OK) {
        commit(fill, next);
        return TD_OK;
    }
    out->len = start;
    return rc;
}

/* True when the tick can change nothing but the day: no queued intent, and either flat or, with a
 * position, no rollover and neither stop nor target touched (the checks of td_fill_on_tick). */
static bool quiet_tick(const td_fill_t *fill, int64_t time_ms, const td_tick_t *tick, int day_offset_minutes)
{
    if (fill->n_queue != 0)
        return false;
    td_volume_t v = fill->book.volume;
    if (v == 0)
        return true;
    if (td_time_trading_day(time_ms, day_offset_minutes) > fill->last_day)
        return false;
    if (v > 0)
        return !(fill->stop_loss != 0 && tick->bid <= fill->stop_loss) &&
               !(fill->take_profit != 0 && tick->bid >= fill->take_profit);
    return !(fill->stop_loss != 0 && tick->ask >= fill->stop_loss) &&
           !(fill->take_profit != 0 && tick->ask <= fill->take_profit);
}

td_err_t td_fill_on_tick(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_tick_t *tick,
                         int day_offset_minutes, td_outbuf_t *out)
{
    if (check_spec(spec) != TD_OK || tick->bid <= 0 || tick->ask <= 0)
        return TD_ERR_INVALID;
    if (quiet_tick(fill, time_ms, tick, day_offset_minutes)) {
        /* the common case, without copying the state: only the book's spec and the day move */
        td_positions_set_spec(&fill->book, spec);
        uint32_t day = td_time_trading_day(time_ms, day_offset_minutes);
        if (day > fill->last_day)
            fill->last_day = day;
        return TD_OK;
    }
    size_t start = out->len;
    td_fill_t next;
    working_copy(&next, fill);
    td_price_t slip = 0;
    td_err_t rc = TD_OK;
    if (__builtin_mul_overflow(next.config.slippage_points, spec->point, &slip))
        rc = TD_ERR_OVERFLOW;
    if (rc == TD_OK)
        rc = roll_and_fill(&next, spec, time_ms, tick->bid, tick->ask, day_offset_minutes, slip, out);

    td_volume_t v = next.book.volume;
    if (rc == TD_OK && v != 0) {
        td_price_t px = 0;
        int hit = 0, is_sl = 0;
        if (v > 0) {
            if (next.stop_loss != 0 && tick->bid <= next.stop_loss)
                hit = is_sl = 1;
            else if (next.take_profit != 0 && tick->bid >= next.take_profit)
                hit = 1;
            if (hit)
                rc = td_fx_sub(tick->bid, slip, &px);
        } else {
            if (next.stop_loss != 0 && tick->ask >= next.stop_loss)
                hit = is_sl = 1;
            else if (next.take_profit != 0 && tick->ask <= next.take_profit)
                hit = 1;
            if (hit)
                rc = td_fx_add(tick->ask, slip, &px);
        }
        if (rc == TD_OK && hit)
            rc = close_by_stop(&next, time_ms, is_sl, px, out);
    }
    return finish(fill, &next, rc, out, start);
}

/* The stop / target of fill's position inside a bar (td_fill_on_bar's rules): *hit, *is_sl and
 * the fill price *px (slippage applied). TD_ERR_OVERFLOW. */
static td_err_t bar_stop(const td_fill_t *fill, const td_bar_t *bar, td_price_t ask_open, td_price_t ask_high,
                         td_price_t ask_low, td_price_t slip, unsigned rules, int *hit, int *is_sl, td_price_t *px)
{
    td_volume_t v = fill->book.volume;
    td_price_t sl = fill->stop_loss, tp = fill->take_profit;
    const bool at_level = (rules & TD_FILL_GAP_AT_LEVEL) != 0;
    *hit = *is_sl = 0;
    if (v > 0) {
        if (sl != 0 && bar->low <= sl) {
            *hit = *is_sl = 1;
            *px = bar->open < sl && !at_level ? bar->open : sl;
        } else if (tp != 0 && bar->high >= tp) {
            *hit = 1;
            *px = bar->open > tp && !at_level ? bar->open : tp;
        }
        if (*hit)
            return td_fx_sub(*px, slip, px);
    } else if (v < 0) {
        if (sl != 0 && ask_high >= sl) {
            *hit = *is_sl = 1;
            *px = ask_open > sl && !at_level ? ask_open : sl;
        } else if (tp != 0 && ask_low <= tp) {
            *hit = 1;
            *px = ask_open < tp && !at_level ? ask_open : tp;
        }
        if (*hit)
            return td_fx_add(*px, slip, px);
    }
    return TD_OK;
}

td_err_t td_fill_on_bar(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_bar_t *bar,
                        td_price_t spread, int day_offset_minutes, td_outbuf_t *out)
{
    return td_fill_on_bar_conv(fill, spec, time_ms, bar, spread, day_offset_minutes, 0, out);
}

td_err_t td_fill_on_bar_conv(td_fill_t *fill, const td_symbol_spec_t *spec, int64_t time_ms, const td_bar_t *bar,
                             td_price_t spread, int day_offset_minutes, unsigned rules, td_outbuf_t *out)
{
    if (check_spec(spec) != TD_OK || spread < 0 || bar->low <= 0 || bar->low > bar->high || bar->open < bar->low ||
        bar->open > bar->high)
        return TD_ERR_INVALID;
    size_t start = out->len;
    td_price_t slip = 0, ask_open = 0, ask_high = 0, ask_low = 0;
    td_err_t rc = TD_OK;
    if (__builtin_mul_overflow(fill->config.slippage_points, spec->point, &slip))
        rc = TD_ERR_OVERFLOW;
    if (rc == TD_OK)
        rc = td_fx_add(bar->open, spread, &ask_open);
    if (rc == TD_OK)
        rc = td_fx_add(bar->high, spread, &ask_high);
    if (rc == TD_OK)
        rc = td_fx_add(bar->low, spread, &ask_low);
    if (rc == TD_OK && fill->n_queue == 0) {
        /* Nothing queued: the position is the one the stop check sees. Without a stop or target
         * exit, only the rollover's two fields and the book's spec move - no copy of the state. */
        int hit = 0, is_sl = 0;
        td_price_t px = 0;
        rc = bar_stop(fill, bar, ask_open, ask_high, ask_low, slip, rules, &hit, &is_sl, &px);
        if (rc == TD_OK && !hit) {
            td_money_t accrued = fill->accrued_swap;
            uint32_t last_day = fill->last_day;
            rc = rollover_swap(fill->book.volume, spec, time_ms, day_offset_minutes, &accrued, &last_day);
            if (rc == TD_OK) {
                td_positions_set_spec(&fill->book, spec);
                fill->accrued_swap = accrued;
                fill->last_day = last_day;
                return TD_OK;
            }
        }
    }
    td_fill_t next;
    working_copy(&next, fill);
    if (rc == TD_OK)
        rc = roll_and_fill(&next, spec, time_ms, bar->open, ask_open, day_offset_minutes, slip, out);

    /* a position opened or reversed at this open has a new opening intent (ids are the caller's) */
    const bool skip_stops = (rules & TD_FILL_NO_STOPS_ON_ENTRY_BAR) && next.book.volume != 0 &&
                            strcmp(next.open_intent_id, fill->open_intent_id) != 0;
    int hit = 0, is_sl = 0;
    td_price_t px = 0;
    if (rc == TD_OK && !skip_stops)
        rc = bar_stop(&next, bar, ask_open, ask_high, ask_low, slip, rules, &hit, &is_sl, &px);
    if (rc == TD_OK && hit)
        rc = close_by_stop(&next, time_ms, is_sl, px, out);
    return finish(fill, &next, rc, out, start);
}

/* ---- state encoding ---- */

td_err_t td_fill_encode(const td_fill_t *fill, td_buf_t *out)
{
    Td__FillState msg = TD__FILL_STATE__INIT;
    Td__PositionsState book = TD__POSITIONS_STATE__INIT;
    Td__FillQueuedIntent items[TD_FILL_QUEUE_MAX], *ptrs[TD_FILL_QUEUE_MAX];
    char ids[TD_FILL_QUEUE_MAX][TD_ID_MAX + 1], open_id[TD_ID_MAX + 1];
    uint64_t deal_ids[TD_POSITIONS_DEAL_WINDOW];

    msg.slippage_points = fill->config.slippage_points;
    msg.commission_per_lot = fill->config.commission_per_lot;
    msg.id_base = fill->config.id_base;
    msg.deals = fill->deals;
    msg.orders = fill->orders;
    msg.position_id = fill->position_id;
    for (uint32_t i = 0; i < fill->n_queue; i++) {
        const td_fill_intent_t *q = &fill->queue[i];
        td__fill_queued_intent__init(&items[i]);
        memcpy(ids[i], q->intent_id, sizeof ids[i]);
        items[i].intent_id = ids[i];
        items[i].side = (uint32_t)q->side;
        items[i].volume = q->volume;
        items[i].stop_loss = q->stop_loss;
        items[i].take_profit = q->take_profit;
        items[i].submit_time = q->submit_time;
        ptrs[i] = &items[i];
    }
    msg.n_queue = fill->n_queue;
    msg.queue = fill->n_queue ? ptrs : NULL;
    td_positions__to_msg(&fill->book, &book, deal_ids);
    msg.book = &book;
    msg.stop_loss = fill->stop_loss;
    msg.take_profit = fill->take_profit;
    memcpy(open_id, fill->open_intent_id, sizeof open_id);
    msg.open_intent_id = open_id;
    msg.accrued_swap = fill->accrued_swap;
    msg.last_day = fill->last_day;

    size_t n = td__fill_state__get_packed_size(&msg);
    td_err_t rc = td_buf_reserve(out, n);
    if (rc != TD_OK)
        return rc;
    size_t w = td__fill_state__pack(&msg, out->ptr + out->len);
    TD_ASSERT(w == n);
    out->len += n;
    return TD_OK;
}

static int copy_id(char dst[TD_ID_MAX + 1], const char *src)
{
    size_t len = strlen(src);
    if (len > TD_ID_MAX)
        return 0;
    memset(dst, 0, TD_ID_MAX + 1);
    memcpy(dst, src, len);
    return 1;
}

static td_err_t from_msg(const Td__FillState *msg, td_fill_t *fill)
{
    if (msg->base.n_unknown_fields != 0 || msg->failed > 0 || msg->failed < TD_ERR_END || msg->slippage_points < 0 ||
        msg->commission_per_lot < 0 || msg->n_queue > TD_FILL_QUEUE_MAX || !msg->book)
        return TD_ERR_CORRUPT;
    td_fill_config_t config = {msg->slippage_points, msg->commission_per_lot, msg->id_base};
    td_fill_init(fill, &config);
    /* `failed`: the sticky code of older versions, ignored (a refused input never changed the state) */
    fill->deals = msg->deals;
    fill->orders = msg->orders;
    fill->position_id = msg->position_id;
    fill->n_queue = (uint32_t)msg->n_queue;
    for (uint32_t i = 0; i < fill->n_queue; i++) {
        const Td__FillQueuedIntent *item = msg->queue[i];
        td_fill_intent_t *q = &fill->queue[i];
        if (item->base.n_unknown_fields != 0 || !copy_id(q->intent_id, item->intent_id) ||
            (item->side != TD_SIDE_BUY && item->side != TD_SIDE_SELL) || item->volume <= 0 || item->stop_loss < 0 ||
            item->take_profit < 0)
            return TD_ERR_CORRUPT;
        q->side = (td_side_t)item->side;
        q->volume = item->volume;
        q->stop_loss = item->stop_loss;
        q->take_profit = item->take_profit;
        q->submit_time = item->submit_time;
    }
    if (td_positions__from_msg(msg->book, &fill->book) != TD_OK || !copy_id(fill->open_intent_id, msg->open_intent_id))
        return TD_ERR_CORRUPT;
    fill->stop_loss = msg->stop_loss;
    fill->take_profit = msg->take_profit;
    fill->accrued_swap = msg->accrued_swap;
    fill->last_day = msg->last_day;
    if (fill->last_day != 0 && !td_time_valid_yyyymmdd(fill->last_day))
        return TD_ERR_CORRUPT;
    if (fill->book.volume == 0 && (fill->position_id != 0 || fill->stop_loss != 0 || fill->take_profit != 0 ||
                                   fill->open_intent_id[0] != '\0' || fill->accrued_swap != 0))
        return TD_ERR_CORRUPT;
    if (fill->book.volume != 0 && fill->position_id == 0)
        return TD_ERR_CORRUPT;
    return TD_OK;
}

td_err_t td_fill_decode(td_fill_t *fill, const uint8_t *p, size_t n)
{
    Td__FillState *msg = td__fill_state__unpack(NULL, n, p);
    if (!msg)
        return TD_ERR_CORRUPT;
    td_fill_t tmp;
    td_err_t rc = from_msg(msg, &tmp);
    td__fill_state__free_unpacked(msg, NULL);
    if (rc == TD_OK) {
        td_buf_t again;
        td_buf_init(&again);
        rc = td_fill_encode(&tmp, &again);
        if (rc == TD_OK && (again.len != n || (n && memcmp(again.ptr, p, n) != 0)))
            rc = TD_ERR_CORRUPT;
        td_buf_fini(&again);
    }
    if (rc == TD_OK)
        *fill = tmp;
    return rc;
}
