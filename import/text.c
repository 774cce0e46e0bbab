/* text.c - lines, fields and numbers of the text importers, without sscanf/strtod and without
 * allocating: every value is read from a {ptr,len} slice of the file in memory.
 *
 * Dates are validated once per distinct date (td_import__date_cache_t): consecutive lines of a
 * history file almost always share their date, so the calendar check is off the per-line path.
 */
#include "import/import_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/fixed.h"
#include "core/timeutil.h"

bool td_import__next_line(td_import__job_t *job, td_import__lines_t *lines, td_slice_t *line)
{
    if (lines->pos >= lines->end)
        return false;
    const uint8_t *start = lines->pos;
    const uint8_t *nl = memchr(start, '\n', (size_t)(lines->end - start));
    const uint8_t *stop = nl ? nl : lines->end;
    lines->pos = nl ? nl + 1 : lines->end;
    if (stop > start && stop[-1] == '\r')
        stop--;
    *line = (td_slice_t){start, (size_t)(stop - start)};
    job->line++;
    job->stats->lines++;
    return true;
}

size_t td_import__split(td_slice_t line, char sep, td_slice_t *fields, size_t max)
{
    size_t n = 0;
    const uint8_t *p = line.ptr, *end = line.ptr + line.len, *start = p;
    for (; p < end; p++) {
        if (*p == (uint8_t)sep) {
            if (n < max)
                fields[n] = (td_slice_t){start, (size_t)(p - start)};
            n++;
            start = p + 1;
        }
    }
    if (n < max)
        fields[n] = (td_slice_t){start, (size_t)(end - start)};
    return n + 1;
}

td_err_t td_import__split_exact(td_import__job_t *job, td_slice_t line, char sep, td_slice_t *fields, size_t n)
{
    size_t got = td_import__split(line, sep, fields, n);
    if (got == n)
        return TD_OK;
    char expected[64];
    /* our own numbers only, never file bytes */
    snprintf(expected, sizeof expected, "%zu %s-separated fields (line has %zu)", n, sep == '\t' ? "TAB" : "comma",
             got);
    return td_import__fail_s(job, "fields", expected, line);
}

td_err_t td_import__expect_header(td_import__job_t *job, td_import__lines_t *lines, const char *expected,
                                  const char *shown)
{
    td_slice_t line = {NULL, 0};
    if (!td_import__next_line(job, lines, &line)) {
        job->line = 1;
        return td_import__fail(job, "header", shown, "", 0);
    }
    size_t n = strlen(expected);
    if (line.len != n || memcmp(line.ptr, expected, n) != 0)
        return td_import__fail_s(job, "header", shown, line);
    return TD_OK;
}

td_err_t td_import__price(td_import__job_t *job, const char *field, td_slice_t s, td_price_t *out)
{
    int rounded = 0;
    td_err_t rc = td_fx_parse((const char *)s.ptr, s.len, out, &rounded);
    if (rc != TD_OK)
        return td_import__fail_s(job, field, rc == TD_ERR_OVERFLOW ? "a price within range" : "a decimal price", s);
    if (*out <= 0)
        return td_import__fail_s(job, field, "a price > 0", s);
    if (*out > TD_PRICE_MAX)
        return td_import__fail_s(job, field, "a price at most 10000000", s);
    job->stats->rounded += (uint64_t)rounded;
    return TD_OK;
}

td_err_t td_import__volume(td_import__job_t *job, const char *field, td_slice_t s, td_volume_t *out)
{
    int rounded = 0;
    td_err_t rc = td_fx_parse((const char *)s.ptr, s.len, out, &rounded);
    if (rc != TD_OK)
        return td_import__fail_s(job, field, rc == TD_ERR_OVERFLOW ? "a volume within range" : "a decimal volume", s);
    if (*out < 0)
        return td_import__fail_s(job, field, "a volume >= 0", s);
    job->stats->rounded += (uint64_t)rounded;
    return TD_OK;
}

td_err_t td_import__uint(td_import__job_t *job, const char *field, td_slice_t s, uint64_t *out)
{
    if (s.len == 0 || s.len > 18)
        return td_import__fail_s(job, field, "an unsigned integer", s);
    int64_t v = td_import__digits(s.ptr, s.len);
    if (v < 0)
        return td_import__fail_s(job, field, "an unsigned integer", s);
    *out = (uint64_t)v;
    return TD_OK;
}

td_err_t td_import__date(td_import__job_t *job, const char *field, td_slice_t s, const char *order, char sep,
                         td_import__date_cache_t *cache, int64_t *day_ms)
{
    bool ymd8 = strcmp(order, "YMD8") == 0;
    size_t want = ymd8 ? 8 : 10;
    if (s.len == want && cache->valid && memcmp(cache->text, s.ptr, want) == 0) {
        *day_ms = cache->day_ms;
        return TD_OK;
    }
    static const char *const what[] = {"a date YYYYMMDD", "a date YYYY?MM?DD", "a date DD?MM?YYYY"};
    int64_t y = -1, m = -1, d = -1;
    const char *expected = ymd8 ? what[0] : (order[0] == 'Y' ? what[1] : what[2]);
    char exp_text[40];
    if (!ymd8) {
        /* name the separator the format uses */
        snprintf(exp_text, sizeof exp_text, order[0] == 'Y' ? "a date YYYY%cMM%cDD" : "a date DD%cMM%cYYYY", sep, sep);
        expected = exp_text;
    }
    if (s.len != want)
        return td_import__fail_s(job, field, expected, s);
    const uint8_t *p = s.ptr;
    if (ymd8) {
        y = td_import__digits(p, 4);
        m = td_import__digits(p + 4, 2);
        d = td_import__digits(p + 6, 2);
    } else if (order[0] == 'Y') {
        if (p[4] != (uint8_t)sep || p[7] != (uint8_t)sep)
            return td_import__fail_s(job, field, expected, s);
        y = td_import__digits(p, 4);
        m = td_import__digits(p + 5, 2);
        d = td_import__digits(p + 8, 2);
    } else {
        if (p[2] != (uint8_t)sep || p[5] != (uint8_t)sep)
            return td_import__fail_s(job, field, expected, s);
        d = td_import__digits(p, 2);
        m = td_import__digits(p + 3, 2);
        y = td_import__digits(p + 6, 4);
    }
    if (y < 0 || m < 0 || d < 0)
        return td_import__fail_s(job, field, expected, s);
    if (!td_time_valid_yyyymmdd((uint32_t)(y * 10000 + m * 100 + d)))
        return td_import__fail_s(job, field, "a real calendar date (1900..2200)", s);
    cache->day_ms = td_time_days_from_civil((int)y, (unsigned)m, (unsigned)d) * TD_MS_PER_DAY;
    memcpy(cache->text, s.ptr, want);
    cache->valid = true;
    *day_ms = cache->day_ms;
    return TD_OK;
}

td_err_t td_import__time_of_day(td_import__job_t *job, const char *field, td_slice_t s, int min_parts, bool allow_frac,
                                int64_t *ms)
{
    const char *expected = min_parts == 2 ? (allow_frac ? "a time HH:MM[:SS[.fff]]" : "a time HH:MM[:SS]")
                                          : (allow_frac ? "a time HH:MM:SS[.fff]" : "a time HH:MM:SS");
    const uint8_t *p = s.ptr;
    if (s.len < 5 || p[2] != ':')
        return td_import__fail_s(job, field, expected, s);
    int64_t h = td_import__digits(p, 2), mi = td_import__digits(p + 3, 2), sec = 0, frac = 0;
    size_t i = 5;
    if (s.len == 5) {
        if (min_parts > 2)
            return td_import__fail_s(job, field, expected, s);
    } else {
        if (s.len < 8 || p[5] != ':')
            return td_import__fail_s(job, field, expected, s);
        sec = td_import__digits(p + 6, 2);
        i = 8;
        if (s.len > 8) {
            if (!allow_frac || p[8] != '.' || s.len == 9)
                return td_import__fail_s(job, field, expected, s);
            int64_t scale = 100;
            for (i = 9; i < s.len; i++) {
                unsigned dgt = (unsigned)p[i] - '0';
                if (dgt > 9)
                    return td_import__fail_s(job, field, expected, s);
                frac += scale * dgt; /* digits past the third add 0: fractions of a ms are floored */
                scale /= 10;
            }
        }
    }
    if (h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 59)
        return td_import__fail_s(job, field, expected, s);
    *ms = ((h * 60 + mi) * 60 + sec) * 1000 + frac;
    return TD_OK;
}

td_err_t td_import__check_quote(td_import__job_t *job, td_price_t bid, td_price_t ask, td_slice_t bid_text)
{
    if (bid <= ask)
        return TD_OK;
    if (job->opts->keep_crossed) {
        job->stats->crossed++;
        return TD_OK;
    }
    char expected[64];
    char ask_text[32];
    int n = td_fx_format(ask, TD_FX_DECIMALS, ask_text, sizeof ask_text);
    while (n > 1 && ask_text[n - 1] == '0' && ask_text[n - 2] != '.')
        ask_text[--n] = '\0';
    snprintf(expected, sizeof expected, "bid <= ask (%s)", ask_text);
    return td_import__fail_s(job, "bid", expected, bid_text);
}
