/* map.c - the message map of `tapedeck feed` (see map.h).
 *
 * The map only grows: an entry once mapped keeps its line for the whole run (a resend formats it
 * again from the same tick, EXEC report or heartbeat time). The EXEC reports are kept whole; the
 * ticks and heartbeat times are the map's own arrays.
 */
#include "feed/map.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "gateway/clock.h"
#include "gateway/protocol.h"

/* a message map entry: a tick index, or an EXEC report / heartbeat index with its flag */
#define MSG_EXEC 0x80000000u
#define MSG_HEARTBEAT 0x40000000u
#define MSG_INDEX 0x3fffffffu

/* Room for one more item in items (n used of *cap, each size bytes; the capacity doubles from
 * first): items itself, or its new place; NULL when out of memory (items and *cap unchanged). */
static void *grow(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t new_cap = *cap ? *cap * 2 : first;
    void *p = realloc(items, new_cap * size);
    if (p)
        *cap = new_cap;
    return p;
}

void td_feed_map_init(td_feed_map_t *map, td_feed_broker_t *broker, int64_t heartbeat_ms, bool sync_bars, int64_t tf_ms,
                      int day_offset_minutes)
{
    memset(map, 0, sizeof *map);
    map->broker = broker;
    map->hb_ms = heartbeat_ms;
    map->sync = sync_bars;
    map->tf_ms = tf_ms;
    map->day_offset_minutes = day_offset_minutes;
}

void td_feed_map_fini(td_feed_map_t *map)
{
    free(map->ticks);
    free(map->map);
    free(map->execs);
    free(map->hb_time);
    memset(map, 0, sizeof *map);
}

td_err_t td_feed_map_add_symbol(td_feed_map_t *map, const char *name, const td_symbol_spec_t *spec)
{
    if (map->n_syms == TD_FEED_SYMBOLS_MAX)
        return TD_ERR_INVALID;
    td_feed_map_symbol_t *sym = &map->syms[map->n_syms++];
    snprintf(sym->name, sizeof sym->name, "%s", name);
    sym->spec = *spec;
    return TD_OK;
}

td_err_t td_feed_map_add_tick(td_feed_map_t *map, uint32_t sym, int64_t time_ms, const td_tick_t *tick)
{
    td_feed_map_tick_t *p = map->n_ticks < MSG_INDEX ? grow(map->ticks, &map->cap_ticks, map->n_ticks, sizeof *p, 65536)
                                                     : NULL; /* an entry holds a tick's index */
    if (!p)
        return TD_ERR_NOMEM;
    map->ticks = p;
    map->ticks[map->n_ticks] = (td_feed_map_tick_t){time_ms,      tick->bid,   tick->ask, tick->last,
                                                    tick->volume, tick->flags, sym,       (uint32_t)map->n_ticks};
    map->n_ticks++;
    return TD_OK;
}

/* Time order, then symbol order, then the order of adding: the merged ticks are the same on every
 * machine, and a symbol's ticks of one millisecond keep their order. */
static int tick_cmp(const void *a, const void *b)
{
    const td_feed_map_tick_t *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    if (x->sym != y->sym)
        return x->sym < y->sym ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int64_t first_time(const td_feed_map_t *map)
{
    return map->n_ticks ? map->ticks[0].time_ms : 0;
}

void td_feed_map_start(td_feed_map_t *map)
{
    if (map->n_syms > 1)
        qsort(map->ticks, map->n_ticks, sizeof *map->ticks, tick_cmp);
    map->first_msg = TD_FEED_SEQ_SPEC + map->n_syms;
    map->last_seq = map->first_msg - 1; /* grows as messages are mapped */
    int64_t t0 = first_time(map);
    if (map->n_ticks && map->hb_ms > 0)
        map->hb_next = t0 - ((t0 % map->hb_ms) + map->hb_ms) % map->hb_ms + map->hb_ms;
    for (size_t i = 0; i < map->n_syms; i++)
        map->syms[i].last_ms = t0; /* the SPEC's time */
}

/* the time of the last tick mapped (0 before the first): an order's arrival time */
int64_t td_feed_map_last_tick_time(const td_feed_map_t *map)
{
    return map->next_tick ? map->ticks[map->next_tick - 1].time_ms : 0;
}

/* Appends the line of message seq - a SPEC, or what the map holds at seq - to out. Precondition:
 * seq is a spec's or mapped (<= last_seq). */
td_err_t td_feed_map_format(const td_feed_map_t *map, uint64_t seq, td_buf_t *out)
{
    td_gw_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.seq = (uint64_t)((int64_t)seq + map->seq_shift);
    if (seq < map->first_msg) {
        const td_feed_map_symbol_t *sym = &map->syms[seq - TD_FEED_SEQ_SPEC];
        msg.verb = TD_GW_SPEC;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", sym->name);
        msg.ev.time_ms = first_time(map);
        msg.ev.u.spec = sym->spec;
        return td_gw_format_msg(out, &msg);
    }
    uint32_t m = map->map[seq - map->first_msg];
    if (m & MSG_EXEC) {
        msg.verb = TD_GW_EXEC;
        msg.ev = map->execs[m & MSG_INDEX];
    } else if (m & MSG_HEARTBEAT) {
        msg.verb = TD_GW_HEARTBEAT;
        msg.time_ms = map->hb_time[m & MSG_INDEX];
    } else {
        const td_feed_map_tick_t *k = &map->ticks[m];
        msg.verb = TD_GW_TICK;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", map->syms[k->sym].name);
        msg.ev.time_ms = k->time_ms;
        msg.ev.u.tick = (td_tick_t){k->bid, k->ask, k->last, k->volume, k->flags};
    }
    return td_gw_format_msg(out, &msg);
}

/* The tick time of message seq, for the pace: mapped or not yet. */
int64_t td_feed_map_time(const td_feed_map_t *map, uint64_t seq)
{
    if (!map->n_ticks)
        return 0;
    if (seq < map->first_msg)
        return first_time(map);
    if (seq > map->last_seq) /* not mapped yet: the next tick's (or the last one's) */
        return map->ticks[map->next_tick < map->n_ticks ? map->next_tick : map->n_ticks - 1].time_ms;
    uint32_t m = map->map[seq - map->first_msg];
    if (m & MSG_EXEC) /* an EXEC carries the time of the tick it follows */
        return map->execs[m & MSG_INDEX].time_ms;
    if (m & MSG_HEARTBEAT)
        return map->hb_time[m & MSG_INDEX];
    return map->ticks[m].time_ms;
}

static td_err_t map_add(td_feed_map_t *map, uint32_t entry)
{
    uint32_t *p = grow(map->map, &map->cap_map, map->n_map, sizeof *p, 65536);
    if (!p)
        return TD_ERR_NOMEM;
    map->map = p;
    map->map[map->n_map++] = entry;
    map->last_seq = map->first_msg + map->n_map - 1;
    return TD_OK;
}

/* Stores one EXEC report and maps it to the next seq. */
static td_err_t add_exec(td_feed_map_t *map, const char *symbol, int64_t time_ms, const td_exec_report_t *x)
{
    td_event_t *p = grow(map->execs, &map->cap_exec, map->n_exec, sizeof *p, 256);
    if (!p)
        return TD_ERR_NOMEM;
    map->execs = p;
    td_event_t *ev = &map->execs[map->n_exec];
    memset(ev, 0, sizeof *ev);
    ev->kind = TD_EV_EXEC_REPORT;
    snprintf(ev->symbol, sizeof ev->symbol, "%s", symbol);
    ev->time_ms = time_ms;
    ev->u.exec = *x;
    return map_add(map, (uint32_t)map->n_exec++ | MSG_EXEC);
}

/* True when t lies in a later bar than last (the gateway's clock rule, gateway/clock.h). */
static bool bar_later(const td_feed_map_t *map, int64_t t, int64_t last)
{
    return t > last && td_gw_clock_bar(t, map->tf_ms, map->day_offset_minutes) >
                           td_gw_clock_bar(last, map->tf_ms, map->day_offset_minutes);
}

/* Maps a heartbeat at time t; *barrier when the gateway makes a Clock of it for some symbol. */
static td_err_t map_heartbeat(td_feed_map_t *map, int64_t t, bool *barrier)
{
    int64_t *p = grow(map->hb_time, &map->cap_hb, map->n_hb, sizeof *p, 1024);
    if (!p)
        return TD_ERR_NOMEM;
    map->hb_time = p;
    map->hb_time[map->n_hb] = t;
    for (size_t i = 0; i < map->n_syms; i++)
        if (bar_later(map, t, map->syms[i].last_ms)) {
            map->syms[i].last_ms = t;
            *barrier = true;
        }
    return map_add(map, (uint32_t)map->n_hb++ | MSG_HEARTBEAT);
}

/* Maps the next tick, then the EXEC reports of what its symbol's fill model does at it. */
static td_err_t map_tick(td_feed_map_t *map, bool *barrier)
{
    size_t i = map->next_tick;
    TD_ASSERT(i < map->n_ticks);
    td_err_t rc = TD_OK;
    /* orders of the journal received at this point of an earlier run */
    rc = td_feed_broker_replay(map->broker, i, td_feed_map_last_tick_time(map));
    if (rc == TD_OK)
        rc = map_add(map, (uint32_t)i);
    if (rc != TD_OK)
        return rc;
    map->next_tick++;
    const td_feed_map_tick_t *k = &map->ticks[i];
    td_feed_map_symbol_t *sym = &map->syms[k->sym];
    if (bar_later(map, k->time_ms, sym->last_ms))
        *barrier = true;
    if (k->time_ms > sym->last_ms)
        sym->last_ms = k->time_ms;
    td_tick_t tick = {k->bid, k->ask, k->last, k->volume, k->flags};
    const td_outbuf_t *fills = NULL;
    rc = td_feed_broker_on_tick(map->broker, k->sym, k->time_ms, &tick, &fills);
    for (size_t j = 0; rc == TD_OK && j < fills->len; j++) {
        const td_exec_report_t *x = &fills->ev[j].u.exec;
        *barrier = true;
        rc = add_exec(map, sym->name, k->time_ms, x);
        if (rc == TD_OK)
            rc = td_feed_broker_executed(map->broker, x, map->last_seq);
    }
    return rc;
}

/* True while a tick or the day's last heartbeat is still to be mapped. */
bool td_feed_map_more(const td_feed_map_t *map)
{
    return map->next_tick < map->n_ticks || (map->hb_ms > 0 && !map->hb_end_done && map->n_ticks > 0);
}

/* Maps one step: a heartbeat that is due, or the next tick with its fills, or the day's last
 * heartbeat. With --sync-bars a step that can close a bar becomes the barrier. */
td_err_t td_feed_map_step(td_feed_map_t *map)
{
    TD_ASSERT(td_feed_map_more(map));
    bool barrier = false;
    td_err_t rc;
    if (map->next_tick < map->n_ticks) {
        int64_t t = map->ticks[map->next_tick].time_ms;
        if (map->hb_ms > 0 && t >= map->hb_next) {
            int64_t at = t - ((t % map->hb_ms) + map->hb_ms) % map->hb_ms; /* floor to the interval */
            map->hb_next = at + map->hb_ms;
            rc = map_heartbeat(map, at, &barrier);
        } else {
            rc = map_tick(map, &barrier);
        }
    } else { /* time passes to the end of the last tick's trading day */
        uint32_t day = td_time_trading_day(map->ticks[map->n_ticks - 1].time_ms, map->day_offset_minutes);
        map->hb_end_done = true;
        rc = map_heartbeat(map, td_time_trading_day_start(td_time_next_day(day), map->day_offset_minutes), &barrier);
    }
    if (rc == TD_OK && barrier && map->sync)
        map->barrier_seq = map->last_seq;
    return rc;
}
