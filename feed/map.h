/* map.h - the message map of `tapedeck feed`: which line each sequence number of the EA's side
 * is, built one step at a time and kept for the whole run, so a resend is exact.
 *
 * HELLO is 1 (not mapped: the gateway does not record it), the symbol specs 2..1+S, then the
 * messages: the ticks in time order (several symbols merged: time, then symbol, then the order they
 * were added), each followed by the EXEC reports of the fills the broker makes at it, and with a
 * heartbeat interval a HEARTBEAT at every interval of tick time plus one at the end of the last
 * tick's trading day (its bars and the day close on it, gateway/clock.h). Every entry is a 32-bit
 * index - a tick, or an EXEC report or a heartbeat with its flag - and a line is formatted from it
 * (gateway/protocol.h) each time it is sent.
 *
 * The map is deterministic: the same ticks and the same orders submitted at the same steps give
 * the same lines. With sync_bars a step that can close a bar - a tick in a later bar than its
 * symbol's last event, a heartbeat that makes a Clock event (the gateway's rule, mirrored), an
 * EXEC report - sets barrier_seq: the session maps nothing after it before it is acknowledged.
 *
 * The fields are read by the session; only map.c writes them. One thread.
 */
#ifndef TD_FEED_MAP_H
#define TD_FEED_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "feed/broker.h"

#define TD_FEED_SEQ_SPEC 2 /* the first spec's sequence number, after HELLO's 1 */

typedef struct td_feed_map_symbol {
    char name[TD_SYMBOL_MAX + 1];
    td_symbol_spec_t spec;
    int64_t last_ms; /* the gateway's clock rule, mirrored: the last event time of the symbol */
} td_feed_map_symbol_t;

typedef struct td_feed_map_tick {
    int64_t time_ms;
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
    uint32_t sym;
    uint32_t order; /* the order it was added in, the last key of the merge */
} td_feed_map_tick_t;

typedef struct td_feed_map {
    td_feed_broker_t *broker; /* not owned: the fills at each tick */
    int64_t hb_ms;            /* heartbeat interval; 0: none */
    bool sync;                /* sync_bars */
    int64_t tf_ms;
    int day_offset_minutes;
    td_feed_map_symbol_t syms[TD_FEED_SYMBOLS_MAX];
    size_t n_syms;
    td_feed_map_tick_t *ticks;
    size_t n_ticks, cap_ticks;
    uint64_t first_msg; /* the first sequence number after the specs */
    uint64_t last_seq;  /* of the last message mapped so far */
    uint32_t *map;      /* seq first_msg + i -> map[i] */
    size_t n_map, cap_map;
    size_t next_tick;  /* the first tick not mapped yet */
    td_event_t *execs; /* the EXEC reports (symbol, time: its tick's, the report) */
    size_t n_exec, cap_exec;
    int64_t hb_next;
    bool hb_end_done;
    int64_t *hb_time;
    size_t n_hb, cap_hb;
    uint64_t barrier_seq; /* sync_bars: nothing after a step ending here is mapped before it is acked */
    int64_t seq_shift;    /* added to a message's number in its line (the session's renumbering) */
} td_feed_map_t;

/* An empty map whose ticks fill through broker (not owned; it outlives the map). */
void td_feed_map_init(td_feed_map_t *map, td_feed_broker_t *broker, int64_t heartbeat_ms, bool sync_bars, int64_t tf_ms,
                      int day_offset_minutes);
void td_feed_map_fini(td_feed_map_t *map);

/* Adds a tick of symbol sym (the index td_feed_map_add_symbol gives it). TD_ERR_NOMEM. */
td_err_t td_feed_map_add_tick(td_feed_map_t *map, uint32_t sym, int64_t time_ms, const td_tick_t *tick) TD_WUR;

/* Adds the next symbol with the spec its SPEC line carries. TD_ERR_INVALID beyond TD_FEED_SYMBOLS_MAX. */
td_err_t td_feed_map_add_symbol(td_feed_map_t *map, const char *name, const td_symbol_spec_t *spec) TD_WUR;

/* After the ticks and symbols, before the first step: merges the ticks (several symbols) and
 * places the specs and the first heartbeat. */
void td_feed_map_start(td_feed_map_t *map);

/* True while a tick or the day's last heartbeat is still to be mapped. */
bool td_feed_map_more(const td_feed_map_t *map);

/* Maps one step: a heartbeat that is due, or the next tick (after the broker's journaled orders of
 * that point, td_feed_broker_replay) with the EXEC reports of its fills, or the day's last
 * heartbeat. Precondition: td_feed_map_more. The broker's errors are returned. */
td_err_t td_feed_map_step(td_feed_map_t *map) TD_WUR;

/* Appends the line of message seq to out, numbered seq + seq_shift. Precondition:
 * TD_FEED_SEQ_SPEC <= seq <= last_seq. */
td_err_t td_feed_map_format(const td_feed_map_t *map, uint64_t seq, td_buf_t *out) TD_WUR;

/* The tick time of message seq, mapped or not yet (the next tick's), for the pace. */
int64_t td_feed_map_time(const td_feed_map_t *map, uint64_t seq);

/* The time of the last tick mapped (0 before the first): an order's arrival time. */
int64_t td_feed_map_last_tick_time(const td_feed_map_t *map);

#endif
