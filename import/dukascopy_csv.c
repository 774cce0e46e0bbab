/* dukascopy_csv.c - Dukascopy tick CSV files.
 *
 * Two headers are accepted, each with 5 comma-separated fields per line:
 *   time_utc,bid,ask,bid_volume,ask_volume      2019-02-04 00:00:00.994,1.14543,1.14545,2.06,1.00
 *       (times on the file's clock: opts->tz_offset_minutes, 0 for these UTC files)
 *   Local time,Ask,Bid,AskVolume,BidVolume      04.09.2023 01:00:05.962 GMT+0300,4516.181,4515.664,...
 *       (Dukascopy's web export: every time carries its own offset, which wins over the option)
 * Tick volume = bid_volume + ask_volume (Dukascopy's quoted liquidity at the two sides, in its own
 * units: millions for forex), x 1e8; Dukascopy has no deal prices, so last = 0. Flags: BID and/or
 * ASK when that side differs from the previous tick (both on the first tick).
 */
#include "import/import_internal.h"

#include <string.h>

#include "core/fixed.h"

#define HEADER_UTC "time_utc,bid,ask,bid_volume,ask_volume"
#define HEADER_LOCAL "Local time,Ask,Bid,AskVolume,BidVolume"

/* "YYYY-MM-DD HH:MM:SS.fff" (UTC variant) or "DD.MM.YYYY HH:MM:SS.fff GMT+HHMM" (local variant);
 * *utc_ms is the time in UTC. */
static td_err_t parse_time(td_import__job_t *job, td_slice_t s, bool local, td_import__date_cache_t *cache,
                           int64_t *utc_ms)
{
    const char *expected = local ? "a time DD.MM.YYYY HH:MM:SS.fff GMT+HHMM" : "a time YYYY-MM-DD HH:MM:SS.fff";
    if (s.len < 19 || s.ptr[10] != ' ')
        return td_import__fail_s(job, "time", expected, s);
    int64_t day_ms = 0, tod_ms = 0, offset_ms = job->tz_ms;
    td_err_t rc =
        td_import__date(job, "time", (td_slice_t){s.ptr, 10}, local ? "DMY" : "YMD", local ? '.' : '-', cache, &day_ms);
    if (rc != TD_OK)
        return rc;
    td_slice_t tod = {s.ptr + 11, s.len - 11};
    if (local) {
        /* ".... GMT+0300": the offset is the last 8 bytes */
        const uint8_t *g = s.ptr + s.len - 8;
        int64_t hh, mm;
        if (s.len < 11 + 8 + 9 || g[-1] != ' ' || memcmp(g, "GMT", 3) != 0 || (g[3] != '+' && g[3] != '-') ||
            (hh = td_import__digits(g + 4, 2)) < 0 || (mm = td_import__digits(g + 6, 2)) < 0 || hh > 14 || mm > 59)
            return td_import__fail_s(job, "time", expected, s);
        offset_ms = (hh * 60 + mm) * 60000 * (g[3] == '-' ? -1 : 1);
        tod.len -= 9;
    }
    rc = td_import__time_of_day(job, "time", tod, 3, true, &tod_ms);
    if (rc != TD_OK)
        return rc;
    *utc_ms = day_ms + tod_ms - offset_ms;
    return TD_OK;
}

td_err_t td_import__dukascopy_csv(td_import__job_t *job, td_slice_t text)
{
    td_slice_t body;
    td_err_t rc = td_import__check_utf8(job, text, &body);
    if (rc != TD_OK)
        return rc;
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    td_slice_t line;
    if (!td_import__next_line(job, &lines, &line)) {
        job->line = 1;
        return td_import__fail(job, "header", "'" HEADER_UTC "' or '" HEADER_LOCAL "'", "", 0);
    }
    bool local;
    if (line.len == strlen(HEADER_UTC) && memcmp(line.ptr, HEADER_UTC, line.len) == 0)
        local = false;
    else if (line.len == strlen(HEADER_LOCAL) && memcmp(line.ptr, HEADER_LOCAL, line.len) == 0)
        local = true;
    else
        return td_import__fail_s(job, "header", "'" HEADER_UTC "' or '" HEADER_LOCAL "'", line);

    /* field positions of the two variants */
    const size_t i_bid = local ? 2 : 1, i_ask = local ? 1 : 2, i_bvol = local ? 4 : 3, i_avol = local ? 3 : 4;
    td_import__date_cache_t cache = {.valid = false};
    td_tick_t tick = {0};
    td_price_t prev_bid = 0, prev_ask = 0;
    td_slice_t f[5];
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        int64_t utc_ms = 0;
        td_volume_t bvol = 0, avol = 0;
        rc = td_import__split_exact(job, line, ',', f, 5);
        if (rc == TD_OK)
            rc = parse_time(job, f[0], local, &cache, &utc_ms);
        if (rc == TD_OK)
            rc = td_import__price(job, "bid", f[i_bid], &tick.bid);
        if (rc == TD_OK)
            rc = td_import__price(job, "ask", f[i_ask], &tick.ask);
        if (rc == TD_OK)
            rc = td_import__check_quote(job, tick.bid, tick.ask, f[i_bid]);
        if (rc == TD_OK)
            rc = td_import__volume(job, "bid_volume", f[i_bvol], &bvol);
        if (rc == TD_OK)
            rc = td_import__volume(job, "ask_volume", f[i_avol], &avol);
        if (rc == TD_OK && td_fx_add(bvol, avol, &tick.volume) != TD_OK)
            rc = td_import__fail_s(job, "bid_volume", "bid_volume + ask_volume within range", f[i_bvol]);
        if (rc == TD_OK) {
            bool first = job->stats->events == 0;
            tick.flags = ((first || tick.bid != prev_bid) ? TD_TICK_FLAG_BID : 0u) |
                         ((first || tick.ask != prev_ask) ? TD_TICK_FLAG_ASK : 0u);
            prev_bid = tick.bid;
            prev_ask = tick.ask;
            rc = td_import__emit_tick(job, utc_ms, &tick, f[0]);
        }
    }
    return rc;
}
