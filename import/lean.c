/* lean.c - QuantConnect Lean files: tick quotes and hourly/minute bid+ask bars.
 *
 * Ticks: no header, `ms_since_midnight,bid,ask` ("808.0672,1310.926,1311.237"); fractions of a
 * millisecond are floored. The date is the first 8 characters of the file name
 * (20140506_xauusd_tick_quote.csv); a name without it is reported as line 0. Times are on the
 * file's clock (opts->tz_offset_minutes: 0 for OANDA, -300 for FXCM). Volume and last are 0 (Lean
 * quote ticks carry neither); flags BID/ASK mark the side(s) that changed.
 *
 * Bars: no header, `YYYYMMDD HH:mm,bidO,bidH,bidL,bidC,bidSize,askO,askH,askL,askC,askSize`. The
 * event carries the bid OHLC; the ask OHLC is validated (> 0, consistent high/low) but not kept,
 * and bid > ask is not checked for bars (FXCM's files cross in thousands of hours). tick_volume is
 * bidSize when it is a whole number, else 0; spread is left 0.
 */
#include "import/import_internal.h"

#include <string.h>

#include "core/fixed.h"

/* ms since midnight: digits, optionally '.' and more digits (floored). */
static td_err_t parse_ms(td_import__job_t *job, td_slice_t s, int64_t *ms)
{
    const uint8_t *p = s.ptr;
    size_t i = 0;
    int64_t v = 0;
    for (; i < s.len && i < 9; i++) {
        unsigned d = (unsigned)p[i] - '0';
        if (d > 9)
            break;
        v = v * 10 + d;
    }
    if (i == 0)
        return td_import__fail_s(job, "time", "milliseconds since midnight", s);
    if (i < s.len) {
        if (p[i] != '.' || i + 1 == s.len)
            return td_import__fail_s(job, "time", "milliseconds since midnight", s);
        for (i++; i < s.len; i++)
            if ((unsigned)p[i] - '0' > 9)
                return td_import__fail_s(job, "time", "milliseconds since midnight", s);
    }
    if (v >= 86400000)
        return td_import__fail_s(job, "time", "milliseconds since midnight below 86400000", s);
    *ms = v;
    return TD_OK;
}

td_err_t td_import__lean_ticks(td_import__job_t *job, td_slice_t text)
{
    const char *name = td_import__basename(job->path);
    td_import__date_cache_t cache = {.valid = false};
    int64_t day_ms = 0;
    job->line = 0;
    if (strlen(name) < 9 || name[8] != '_')
        return td_import__fail(job, "file name", "a name starting with the date, YYYYMMDD_", name, strlen(name));
    td_err_t rc = td_import__date(job, "file name", (td_slice_t){(const uint8_t *)name, 8}, "YMD8", 0, &cache, &day_ms);
    td_slice_t body;
    if (rc == TD_OK)
        rc = td_import__check_utf8(job, text, &body);
    if (rc != TD_OK)
        return rc;
    const int64_t base_ms = day_ms - job->tz_ms;
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    td_slice_t line, f[3];
    td_tick_t tick = {0};
    td_price_t prev_bid = 0, prev_ask = 0;
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        int64_t ms = 0;
        rc = td_import__split_exact(job, line, ',', f, 3);
        if (rc == TD_OK)
            rc = parse_ms(job, f[0], &ms);
        if (rc == TD_OK)
            rc = td_import__price(job, "bid", f[1], &tick.bid);
        if (rc == TD_OK)
            rc = td_import__price(job, "ask", f[2], &tick.ask);
        if (rc == TD_OK)
            rc = td_import__check_quote(job, tick.bid, tick.ask, f[1]);
        if (rc == TD_OK) {
            bool first = job->stats->events == 0;
            tick.flags = ((first || tick.bid != prev_bid) ? TD_TICK_FLAG_BID : 0u) |
                         ((first || tick.ask != prev_ask) ? TD_TICK_FLAG_ASK : 0u);
            prev_bid = tick.bid;
            prev_ask = tick.ask;
            rc = td_import__emit_tick(job, base_ms + ms, &tick, f[0]);
        }
    }
    return rc;
}

static const char *const bid_names[4] = {"bid open", "bid high", "bid low", "bid close"};
static const char *const ask_names[4] = {"ask open", "ask high", "ask low", "ask close"};

td_err_t td_import__lean_bars(td_import__job_t *job, td_slice_t text)
{
    td_slice_t body;
    td_err_t rc = td_import__check_utf8(job, text, &body);
    if (rc != TD_OK)
        return rc;
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    td_import__date_cache_t cache = {.valid = false};
    td_slice_t line, f[11];
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        td_import__bar_rec_t rec = {.line = job->line};
        td_price_t ask[4] = {0};
        td_volume_t size = 0;
        int64_t day_ms = 0, tod_ms = 0;
        rc = td_import__split_exact(job, line, ',', f, 11);
        if (rc == TD_OK && (f[0].len != 14 || f[0].ptr[8] != ' '))
            rc = td_import__fail_s(job, "time", "a time YYYYMMDD HH:mm", f[0]);
        if (rc == TD_OK)
            rc = td_import__date(job, "time", (td_slice_t){f[0].ptr, 8}, "YMD8", 0, &cache, &day_ms);
        if (rc == TD_OK)
            rc = td_import__time_of_day(job, "time", (td_slice_t){f[0].ptr + 9, 5}, 2, false, &tod_ms);
        if (rc == TD_OK)
            rc = td_import__price(job, bid_names[0], f[1], &rec.open);
        if (rc == TD_OK)
            rc = td_import__price(job, bid_names[1], f[2], &rec.high);
        if (rc == TD_OK)
            rc = td_import__price(job, bid_names[2], f[3], &rec.low);
        if (rc == TD_OK)
            rc = td_import__price(job, bid_names[3], f[4], &rec.close);
        if (rc == TD_OK)
            rc = td_import__check_ohlc(job, bid_names, rec.open, rec.high, rec.low, rec.close, f + 1);
        if (rc == TD_OK)
            rc = td_import__volume(job, "bid size", f[5], &size);
        for (int k = 0; k < 4 && rc == TD_OK; k++)
            rc = td_import__price(job, ask_names[k], f[6 + k], &ask[k]);
        if (rc == TD_OK)
            rc = td_import__check_ohlc(job, ask_names, ask[0], ask[1], ask[2], ask[3], f + 6);
        td_volume_t ask_size = 0;
        if (rc == TD_OK)
            rc = td_import__volume(job, "ask size", f[10], &ask_size);
        if (rc == TD_OK) {
            rec.wall_ms = day_ms + tod_ms;
            rec.tick_volume = size % TD_FX_SCALE == 0 ? (uint64_t)(size / TD_FX_SCALE) : 0;
            td_import__bar_set_text(&rec, f[0]);
            rc = td_import__bar_add(job, &rec);
        }
    }
    return rc;
}
