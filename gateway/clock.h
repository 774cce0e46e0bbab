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
 * tape) decides as an uninterrupted one would.
 *
 * Thread: the gateway's loop (the tape's single writer).
 */
#ifndef TD_GW_CLOCK_H
#define TD_GW_CLOCK_H

#include <stdint.h>

#include "core/err.h"
#include "core/tape.h"

typedef struct td_gw_clock td_gw_clock_t;

/* timeframe_ms > 0; align_offset_minutes as session.day_offset_minutes. */
td_err_t td_gw_clock_new(int64_t timeframe_ms, int align_offset_minutes, td_gw_clock_t **clock) TD_WUR;
void td_gw_clock_destroy(td_gw_clock_t *clock);

/* Forgets everything, then reads the time of the last event of every input stream of the tape. */
td_err_t td_gw_clock_load(td_gw_clock_t *clock, td_tape_t *tape) TD_WUR;

/* An input event of symbol at time_ms was appended (to a batch about to be committed). */
td_err_t td_gw_clock_seen(td_gw_clock_t *clock, const char *symbol, int64_t time_ms) TD_WUR;

/* A heartbeat at time_ms: appends the Clock events it makes to batch (created if *batch is NULL)
 * and adds their number to *appended. Errors are the tape batch's. */
td_err_t td_gw_clock_heartbeat(td_gw_clock_t *clock, int64_t time_ms, td_tape_t *tape, td_tape_batch_t **batch,
                               uint64_t *appended) TD_WUR;

/* The bar index of a time (shared with feed's mirror of this rule). */
int64_t td_gw_clock_bar(int64_t time_ms, int64_t timeframe_ms, int align_offset_minutes);

#endif
