/* mt5.c - MetaTrader 5 "Export Ticks" and "Export Bars" files.
 *
 * Both are TAB-separated with a header line, in UTF-8 (optionally with a BOM) or UTF-16LE with a
 * BOM (converted here; only ASCII is legal in these files), with LF or CRLF line ends. Dates are
 * 2024.01.02, on the terminal's clock: opts->tz_offset_minutes is the broker's UTC offset.
 *
 * Ticks: <DATE> <TIME> <BID> <ASK> <LAST> <VOLUME> <FLAGS>, times 00:00:00.123. An EMPTY BID, ASK,
 * LAST or VOLUME means "unchanged since the previous tick": the previous value is carried over and
 * each carried field counts in stats.unchanged (on the first tick an empty LAST or VOLUME is 0 and
 * not counted; an empty BID or ASK there is an error). LAST 0 means no deal price. FLAGS, when
 * present, is MT5's own TICK_FLAG_* value and is kept as written; when empty, BID/ASK/LAST/VOLUME
 * flags are set for the fields that were written and differ from the previous tick.
 *
 * Bars: <DATE> <TIME> <OPEN> <HIGH> <LOW> <CLOSE> <TICKVOL> <VOL> <SPREAD>, times 00:00:00 or 00:00.
 * OHLC are the bid prices (MT5 charts are bid charts); tick_volume = TICKVOL; <VOL> (real volume)
 * is validated and dropped. SPREAD is in points: with opts->price_divisor_digits = the symbol's
 * digits (1..8) it becomes spread_min = spread_max = SPREAD x 10^-digits (spread_sum = that x
 * tick_volume); with 0 (unknown digits) the spread is left 0.
 */
#include "import/import_internal.h"

#include <string.h>

#include "core/fixed.h"

#define TICKS_HEADER "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>"
#define BARS_HEADER "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"
#define TICKS_SHOWN "<DATE>\\t<TIME>\\t<BID>\\t<ASK>\\t<LAST>\\t<VOLUME>\\t<FLAGS>"
#define BARS_SHOWN "<DATE>\\t<TIME>\\t<OPEN>\\t<HIGH>\\t<LOW>\\t<CLOSE>\\t<TICKVOL>\\t<VOL>\\t<SPREAD>"

/* A value >= 0 (LAST, VOLUME): td_fx_parse, float noise counted. */
static td_err_t non_negative(td_import__job_t *job, const char *field, td_slice_t s, int64_t *out)
{
    int rounded = 0;
    if (td_fx_parse((const char *)s.ptr, s.len, out, &rounded) != TD_OK)
        return td_import__fail_s(job, field, "a decimal number", s);
    if (*out < 0)
        return td_import__fail_s(job, field, "a number >= 0", s);
    job->stats->rounded += (uint64_t)rounded;
    return TD_OK;
}

/* BID or ASK: a price, or empty to carry the previous tick's. */
static td_err_t quote_field(td_import__job_t *job, const char *field, td_slice_t s, bool first, td_price_t *value)
{
    if (s.len == 0) {
        if (first)
            return td_import__fail_s(job, field,
                                     "a price on the first tick (an empty field repeats the previous tick's)", s);
        job->stats->unchanged++;
        return TD_OK;
    }
    return td_import__price(job, field, s, value);
}

td_err_t td_import__mt5_ticks(td_import__job_t *job, td_slice_t text)
{
    td_buf_t utf8;
    td_buf_init(&utf8);
    td_slice_t body = {NULL, 0};
    td_err_t rc = td_import__decode_mt5(job, text, &utf8, &body);
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    if (rc == TD_OK)
        rc = td_import__expect_header(job, &lines, TICKS_HEADER, "the header " TICKS_SHOWN);
    td_import__date_cache_t cache = {.valid = false};
    td_tick_t tick = {0};
    td_slice_t line, f[7];
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        const bool first = job->stats->events == 0;
        const td_tick_t prev = tick;
        int64_t day_ms = 0, tod_ms = 0;
        uint64_t flags = 0;
        rc = td_import__split_exact(job, line, '\t', f, 7);
        if (rc == TD_OK)
            rc = td_import__date(job, "DATE", f[0], "YMD", '.', &cache, &day_ms);
        if (rc == TD_OK)
            rc = td_import__time_of_day(job, "TIME", f[1], 3, true, &tod_ms);
        if (rc == TD_OK)
            rc = quote_field(job, "BID", f[2], first, &tick.bid);
        if (rc == TD_OK)
            rc = quote_field(job, "ASK", f[3], first, &tick.ask);
        if (rc == TD_OK)
            rc = td_import__check_quote(job, tick.bid, tick.ask, f[2].len ? f[2] : f[3]);
        if (rc == TD_OK && f[4].len)
            rc = non_negative(job, "LAST", f[4], &tick.last);
        if (rc == TD_OK && f[5].len)
            rc = non_negative(job, "VOLUME", f[5], &tick.volume);
        if (rc == TD_OK && !first)
            job->stats->unchanged += (uint64_t)(f[4].len == 0) + (uint64_t)(f[5].len == 0);
        if (rc == TD_OK && f[6].len) {
            rc = td_import__uint(job, "FLAGS", f[6], &flags);
            if (rc == TD_OK && flags > UINT32_MAX)
                rc = td_import__fail_s(job, "FLAGS", "a 32-bit flag set", f[6]);
        }
        if (rc != TD_OK)
            break;
        if (f[6].len) {
            tick.flags = (uint32_t)flags;
        } else {
            tick.flags = ((f[2].len && (first || tick.bid != prev.bid)) ? TD_TICK_FLAG_BID : 0u) |
                         ((f[3].len && (first || tick.ask != prev.ask)) ? TD_TICK_FLAG_ASK : 0u) |
                         ((f[4].len && (first || tick.last != prev.last)) ? TD_TICK_FLAG_LAST : 0u) |
                         ((f[5].len && (first || tick.volume != prev.volume)) ? TD_TICK_FLAG_VOLUME : 0u);
        }
        rc = td_import__emit_tick(job, day_ms + tod_ms - job->tz_ms, &tick, f[1]);
    }
    td_buf_fini(&utf8);
    return rc;
}

static const char *const names[4] = {"OPEN", "HIGH", "LOW", "CLOSE"};

td_err_t td_import__mt5_bars(td_import__job_t *job, td_slice_t text)
{
    td_buf_t utf8;
    td_buf_init(&utf8);
    td_slice_t body = {NULL, 0};
    td_err_t rc = td_import__decode_mt5(job, text, &utf8, &body);
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    if (rc == TD_OK)
        rc = td_import__expect_header(job, &lines, BARS_HEADER, "the header " BARS_SHOWN);
    unsigned digits = job->opts->price_divisor_digits;
    if (rc == TD_OK && digits > TD_FX_DECIMALS)
        rc =
            td_err_set(job->errbuf, job->errlen, TD_ERR_INVALID, "%s: symbol digits %u are above 8", job->path, digits);
    /* only once digits are known to be valid: td_fx_point asserts <= 8 (a bad header leaves rc set) */
    const int64_t point = rc == TD_OK && digits ? td_fx_point(digits) : 0;
    td_import__date_cache_t cache = {.valid = false};
    td_slice_t line, f[9];
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        td_import__bar_rec_t rec = {.line = job->line};
        int64_t day_ms = 0, tod_ms = 0, vol = 0;
        uint64_t spread = 0;
        rc = td_import__split_exact(job, line, '\t', f, 9);
        if (rc == TD_OK)
            rc = td_import__date(job, "DATE", f[0], "YMD", '.', &cache, &day_ms);
        if (rc == TD_OK)
            rc = td_import__time_of_day(job, "TIME", f[1], 2, false, &tod_ms);
        if (rc == TD_OK)
            rc = td_import__price(job, names[0], f[2], &rec.open);
        if (rc == TD_OK)
            rc = td_import__price(job, names[1], f[3], &rec.high);
        if (rc == TD_OK)
            rc = td_import__price(job, names[2], f[4], &rec.low);
        if (rc == TD_OK)
            rc = td_import__price(job, names[3], f[5], &rec.close);
        if (rc == TD_OK)
            rc = td_import__check_ohlc(job, names, rec.open, rec.high, rec.low, rec.close, f + 2);
        if (rc == TD_OK)
            rc = td_import__uint(job, "TICKVOL", f[6], &rec.tick_volume);
        if (rc == TD_OK)
            rc = non_negative(job, "VOL", f[7], &vol);
        if (rc == TD_OK)
            rc = td_import__uint(job, "SPREAD", f[8], &spread);
        if (rc == TD_OK && point && __builtin_mul_overflow((int64_t)spread, point, &rec.spread))
            rc = td_import__fail_s(job, "SPREAD", "a spread in points within range", f[8]);
        if (rc == TD_OK) {
            /* "DATE TIME" as the bar's text in later messages */
            uint8_t when[24];
            size_t n = f[0].len + 1 + f[1].len < sizeof when ? f[0].len + 1 + f[1].len : 0;
            if (n) {
                memcpy(when, f[0].ptr, f[0].len);
                when[f[0].len] = ' ';
                memcpy(when + f[0].len + 1, f[1].ptr, f[1].len);
            }
            rec.wall_ms = day_ms + tod_ms;
            td_import__bar_set_text(&rec, n ? (td_slice_t){when, n} : f[1]);
            rc = td_import__bar_add(job, &rec);
        }
    }
    td_buf_fini(&utf8);
    return rc;
}
