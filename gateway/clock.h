/* clock.h - the EA's HEARTBEATs as Clock input events, so that a bar closes on time without a tick.
 *
 * A HEARTBEAT carries the trade server's time T (docs/PROTOCOL.md). For every symbol the gateway
 * knows (an input stream on the tape, or a TICK/SPEC/EXEC it appended since), it keeps the time L
 * of the symbol's last input event. A heartbeat appends one Clock event at time T (source "mt5") to
 * the symbol's input stream when T lies in a later bar than L - bars of timeframe_ms aligned to the
 * trading day as the bar builder's (processors/bars.h) - and then L = T. So a quiet symbol gets one
 * Clock per bar boundary crossed, not one per heartbeat, and a heartbeat past the trading day's
 * end closes the day too (the Clock is the next day's first event: the day rolls, docs/EVENTS.md).
 * The decision reads only the stream's own times, so a restarted gateway (td_gw_clock_load from the
 * tape) decides as an uninterrupted one would. In Kafka mode the gateway's tape holds no input
 * streams: there the times are recorded in its meta space ("gateway/clock", td_gw_clock_encode) in
 * the same commit as the account's acknowledged sequence number, and td_gw_clock_decode restores
 * them - the state after the last acknowledged line, so that the lines the EA resends after a
 * crash make the same Clocks again (and the consumers drop them as resends).
 *
 * Thread: the gateway's loop (the tape's single writer).
 */
#ifndef TD_GW_CLOCK_H
#define TD_GW_CLOCK_H

#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"

typedef struct td_gw_clock td_gw_clock_t;

/* timeframe_ms > 0; align_offset_minutes as session.day_offset_minutes. */
td_err_t td_gw_clock_new(int64_t timeframe_ms, int align_offset_minutes, td_gw_clock_t **clock) TD_WUR;
void td_gw_clock_destroy(td_gw_clock_t *clock);

/* Forgets everything, then reads the time of the last event of every input stream of the tape. */
td_err_t td_gw_clock_load(td_gw_clock_t *clock, td_tape_t *tape) TD_WUR;

/* An input event of symbol at time_ms was appended (to a batch about to be committed). */
td_err_t td_gw_clock_seen(td_gw_clock_t *clock, const char *symbol, int64_t time_ms) TD_WUR;

/* Receives one Clock event to append (to the tape batch or the journal); ev is the callee's to
 * change. An error stops the heartbeat with that code. */
typedef td_err_t (*td_gw_clock_emit_fn)(void *opaque, td_event_t *ev);

/* A heartbeat at time_ms: hands each Clock event it makes to emit, in the order the symbols were
 * first seen, and adds their number to *appended. A symbol's time moves only when its emit
 * succeeded. Errors are emit's, or TD_ERR_NOMEM. */
td_err_t td_gw_clock_heartbeat(td_gw_clock_t *clock, int64_t time_ms, td_gw_clock_emit_fn emit, void *opaque,
                               uint64_t *appended) TD_WUR;

/* The symbols' last times as text, one "SYMBOL<TAB>MS<LF>" line per symbol (into out, reset first). */
td_err_t td_gw_clock_encode(const td_gw_clock_t *clock, td_buf_t *out) TD_WUR;
/* Forgets everything, then reads what td_gw_clock_encode wrote; TD_ERR_CORRUPT for anything else
 * (the clock is then empty). */
td_err_t td_gw_clock_decode(td_gw_clock_t *clock, const uint8_t *text, size_t len) TD_WUR;

/* The bar index of a time (shared with feed's mirror of this rule). */
int64_t td_gw_clock_bar(int64_t time_ms, int64_t timeframe_ms, int align_offset_minutes);

#endif
