/* dukascopy_bars.c - Dukascopy bar exports, TAB-separated:
 *   Time	Open	High	Low	Close	Volume
 *   2013-05-21 14:00:00	8434.5	8444	8423.8	8438.8	35
 * Times are on the file's clock (opts->tz_offset_minutes; these exports are GMT, so 0). The bar
 * carries the file's OHLC as its bid prices; tick_volume is Volume when it is a whole number (the
 * index files count ticks) and 0 when it is fractional (a traded amount, not a count); no spread.
 */
#include "import/import_internal.h"

#include "core/fixed.h"

static const char *const names[4] = {"Open", "High", "Low", "Close"};

td_err_t td_import__dukascopy_bars(td_import__job_t *job, td_slice_t text)
{
    td_slice_t body;
    td_err_t rc = td_import__check_utf8(job, text, &body);
    td_import__lines_t lines;
    td_import__lines_init(&lines, body);
    if (rc == TD_OK)
        rc = td_import__expect_header(job, &lines, "Time\tOpen\tHigh\tLow\tClose\tVolume",
                                      "the header Time\\tOpen\\tHigh\\tLow\\tClose\\tVolume");
    td_import__date_cache_t cache = {.valid = false};
    td_slice_t line, f[6];
    while (rc == TD_OK && td_import__next_line(job, &lines, &line)) {
        td_import__bar_rec_t rec = {.line = job->line};
        td_volume_t volume = 0;
        int64_t day_ms = 0, tod_ms = 0;
        rc = td_import__split_exact(job, line, '\t', f, 6);
        if (rc == TD_OK && (f[0].len != 19 || f[0].ptr[10] != ' '))
            rc = td_import__fail_s(job, "Time", "a time YYYY-MM-DD HH:MM:SS", f[0]);
        if (rc == TD_OK)
            rc = td_import__date(job, "Time", (td_slice_t){f[0].ptr, 10}, "YMD", '-', &cache, &day_ms);
        if (rc == TD_OK)
            rc = td_import__time_of_day(job, "Time", (td_slice_t){f[0].ptr + 11, 8}, 3, false, &tod_ms);
        if (rc == TD_OK)
            rc = td_import__price(job, names[0], f[1], &rec.open);
        if (rc == TD_OK)
            rc = td_import__price(job, names[1], f[2], &rec.high);
        if (rc == TD_OK)
            rc = td_import__price(job, names[2], f[3], &rec.low);
        if (rc == TD_OK)
            rc = td_import__price(job, names[3], f[4], &rec.close);
        if (rc == TD_OK)
            rc = td_import__check_ohlc(job, names, rec.open, rec.high, rec.low, rec.close, f + 1);
        if (rc == TD_OK)
            rc = td_import__volume(job, "Volume", f[5], &volume);
        if (rc == TD_OK) {
            rec.wall_ms = day_ms + tod_ms;
            rec.tick_volume = volume % TD_FX_SCALE == 0 ? (uint64_t)(volume / TD_FX_SCALE) : 0;
            td_import__bar_set_text(&rec, f[0]);
            rc = td_import__bar_add(job, &rec);
        }
    }
    return rc;
}
