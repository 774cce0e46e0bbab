/* bars.h - the bar builder: ticks -> OHLC bars of one timeframe, on event time.
 *
 * A pure state machine (DESIGN invariant 2): td_bars_step() looks only at the event and the state;
 * time is the event's time. One td_bars_t serves one symbol's stream.
 *
 * Alignment: a bar of timeframe T starts at a multiple of T counted from the trading-day start,
 * i.e. from UTC shifted by align_offset_minutes (the same shift as core/timeutil.h's trading day):
 * start = floor((t + offset) / T) * T - offset. With offset 0 an M30 bar starts at hh:00 and
 * hh:30 UTC; with offset +420 a D1 bar starts at 17:00 UTC.
 *
 * Rules:
 *   - OHLC are of the BID; tick_volume counts ticks; spread_min/max/sum are over (ask - bid).
 *   - The open bar closes on the first event of ANY kind (tick, clock, session mark, exec report,
 *     ...) whose time is at or past the bar's end. The closed bar is emitted as one TD_EV_BAR output
 *     (body and kind only; the caller fills symbol, time and offsets) BEFORE the closing tick, if it
 *     is one, is folded into the next bar.
 *   - Only bars that had ticks are emitted: a gap produces no empty bars.
 *   - A late tick (time before the open bar's start; or, when no bar is open, before the end of the
 *     last closed bar) is never folded in. It is counted: the count since the last emitted bar goes
 *     into the next emitted bar's late_ticks, and td_bars_late_total() keeps the running total.
 *   - Apart from closing a bar, non-tick events change nothing.
 *
 * A td_bars_t is plain data (no heap): copy it, td_bars_init() it again, or drop it.
 */
#ifndef TD_BARS_H
#define TD_BARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "processors/output.h"

#define TD_BARS_DEFAULT_TIMEFRAME_S 1800u /* M30 */

typedef struct td_bars {
    uint32_t timeframe_s;
    int align_offset_minutes;
    bool bar_open;         /* `bar` holds at least one tick and is not closed */
    td_bar_t bar;          /* the open bar; all zero when !bar_open (late_ticks unused) */
    bool has_closed;       /* some bar was closed since init */
    int64_t last_end;      /* end (exclusive, ms) of the last closed bar; 0 when !has_closed */
    uint64_t late_pending; /* late ticks not yet reported in an emitted bar */
    uint64_t late_total;   /* late ticks since init */
} td_bars_t;

/* True for the supported timeframes: 60, 300, 900, 1800, 3600, 14400, 86400 seconds. Callers
 * validate configuration with it before td_bars_init(). */
bool td_bars_timeframe_valid(uint32_t timeframe_s);

/* Resets bars to an empty builder. timeframe_s 0 means the default (M30); any other value must
 * satisfy td_bars_timeframe_valid(), and -1440 < align_offset_minutes < 1440 (asserted: validate at
 * the edge). */
void td_bars_init(td_bars_t *bars, uint32_t timeframe_s, int align_offset_minutes);

/* Applies one input event. Appends 0 or 1 TD_EV_BAR output to out (a bar closed by this event).
 * Returns TD_OK; TD_ERR_NOMEM when out cannot grow; TD_ERR_OVERFLOW when a tick's spread or the
 * bar's spread sum leaves int64. On error neither bars nor out changed. */
td_err_t td_bars_step(td_bars_t *bars, const td_event_t *ev, td_outbuf_t *out) TD_WUR;

/* Late ticks seen since init (or since the state that was decoded). */
uint64_t td_bars_late_total(const td_bars_t *bars);

/* Appends the canonical encoding of the state (proto/state_bars.proto BarsState) to out.
 * TD_ERR_NOMEM leaves out as it was. */
td_err_t td_bars_encode(const td_bars_t *bars, td_buf_t *out) TD_WUR;

/* Replaces *bars with the state encoded in p[0..n). TD_ERR_CORRUPT (bars untouched) when the bytes
 * do not decode, are not the canonical encoding, or describe an impossible state (bad timeframe,
 * misaligned bar, high < low, ...). */
td_err_t td_bars_decode(td_bars_t *bars, const uint8_t *p, size_t n) TD_WUR;

#endif
