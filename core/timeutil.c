/* timeutil.c - civil date <-> day number (Howard Hinnant's public-domain algorithm shape). */
#include "core/timeutil.h"

#include <stdio.h>
#include <time.h>

int64_t td_time_days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void td_time_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

int64_t td_time_ms_from_civil(int y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, unsigned ms)
{
    return td_time_days_from_civil(y, mo, d) * TD_MS_PER_DAY + ((int64_t)h * 3600 + (int64_t)mi * 60 + s) * 1000 + ms;
}

int64_t td_time_day_number(int64_t ms)
{
    return ms >= 0 ? ms / TD_MS_PER_DAY : -((-ms + TD_MS_PER_DAY - 1) / TD_MS_PER_DAY);
}

uint32_t td_time_trading_day(int64_t ms, int day_offset_minutes)
{
    int y;
    unsigned m, d;
    td_time_civil_from_days(td_time_day_number(ms + (int64_t)day_offset_minutes * 60000), &y, &m, &d);
    return (uint32_t)y * 10000 + m * 100 + d;
}

int64_t td_time_trading_day_start(uint32_t yyyymmdd, int day_offset_minutes)
{
    int64_t days = td_time_days_from_civil((int)(yyyymmdd / 10000), (yyyymmdd / 100) % 100, yyyymmdd % 100);
    return days * TD_MS_PER_DAY - (int64_t)day_offset_minutes * 60000;
}

int td_time_weekday(int64_t ms, int offset_minutes)
{
    int64_t days = td_time_day_number(ms + (int64_t)offset_minutes * 60000);
    int64_t w = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

int td_time_valid_yyyymmdd(uint32_t v)
{
    int y = (int)(v / 10000);
    unsigned m = (v / 100) % 100, d = v % 100;
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    int y2;
    unsigned m2, d2;
    td_time_civil_from_days(td_time_days_from_civil(y, m, d), &y2, &m2, &d2);
    return y2 == y && m2 == m && d2 == d;
}

void td_time_format_iso(int64_t ms, char buf[32])
{
    int64_t days = td_time_day_number(ms);
    int64_t rem = ms - days * TD_MS_PER_DAY;
    int y;
    unsigned m, d;
    td_time_civil_from_days(days, &y, &m, &d);
    /* the compiler cannot see the fields' ranges: format wide, then keep the 24 characters */
    char wide[96];
    snprintf(wide, sizeof wide, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d, (unsigned)(rem / 3600000),
             (unsigned)(rem / 60000 % 60), (unsigned)(rem / 1000 % 60), (unsigned)(rem % 1000));
    snprintf(buf, 32, "%.31s", wide);
}

uint32_t td_time_next_day(uint32_t v)
{
    int y;
    unsigned m, d;
    td_time_civil_from_days(td_time_days_from_civil((int)(v / 10000), (v / 100) % 100, v % 100) + 1, &y, &m, &d);
    return (uint32_t)y * 10000 + m * 100 + d;
}

double td_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t td_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
