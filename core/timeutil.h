/* timeutil.h - calendar arithmetic on UTC milliseconds, with no time-zone database.
 *
 * A trading day is the civil date of (time + day_offset_minutes): with offset 0 the day starts at
 * 00:00 UTC; with +420 it starts at 17:00 UTC of the previous civil day (a New York 17:00 roll in
 * winter). Offsets are fixed: tapedeck does not follow daylight saving on its own.
 */
#ifndef TD_TIMEUTIL_H
#define TD_TIMEUTIL_H

#include <stdint.h>

#define TD_MS_PER_DAY INT64_C(86400000)

/* Days since 1970-01-01 of the civil date y-m-d (proleptic Gregorian). */
int64_t td_time_days_from_civil(int y, unsigned m, unsigned d);
/* The civil date of a day number. */
void td_time_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);
/* ms since the epoch of y-m-d hh:mm:ss.ms UTC. No range checks: callers validate fields. */
int64_t td_time_ms_from_civil(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, unsigned ms);
/* floor division of ms by a day */
int64_t td_time_day_number(int64_t ms);
/* YYYYMMDD of the trading day that contains ms. */
uint32_t td_time_trading_day(int64_t ms, int day_offset_minutes);
/* ms of the start of trading day YYYYMMDD (the inverse of td_time_trading_day at the day's start). */
int64_t td_time_trading_day_start(uint32_t yyyymmdd, int day_offset_minutes);
/* YYYYMMDD of the calendar day after yyyymmdd. */
uint32_t td_time_next_day(uint32_t yyyymmdd);
/* 0 = Sunday .. 6 = Saturday of the UTC+offset wall clock at ms. */
int td_time_weekday(int64_t ms, int offset_minutes);
/* Checks that yyyymmdd is a real calendar date. */
int td_time_valid_yyyymmdd(uint32_t yyyymmdd);
/* Writes "2019-02-04T13:05:00.123Z" (24 chars + NUL) into buf[32]. */
void td_time_format_iso(int64_t ms, char buf[32]);

/* The monotonic clock (CLOCK_MONOTONIC), for durations and deadlines: seconds and whole ms. */
double td_mono_s(void);
int64_t td_mono_ms(void);

#endif
