/* emit.c - the checks that do not depend on a file's format, and the calls to the sink.
 *
 * Ticks: time must not go backwards (equal times are fine: several quotes per millisecond are
 * real). Bars: the timeframe is the requested one or, when opts->timeframe_s is 0, the smallest
 * spacing between consecutive bars among the first TD_IMPORT__TF_SAMPLE bars; it must be 60..86400 s
 * and divide a day. Every bar must then open on a multiple of the timeframe of the file's own wall
 * clock and at least one timeframe after the previous bar (gaps - weekends, holidays - are fine).
 * A daily bar mixed into an M30 file therefore fails: it shares its open time with the 00:00 M30
 * bar or sits closer than 30 minutes to a neighbour. A bar event's time_ms is its close
 * (open_time + timeframe), the moment the bar became known.
 */
#include "import/import_internal.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

static td_err_t call_sink(td_import__job_t *job)
{
    td_err_t rc = job->sink(job->opaque, &job->ev);
    if (rc != TD_OK)
        return td_err_set(job->errbuf, job->errlen, rc, "%s:%llu: the sink refused the event: %s", job->path,
                          (unsigned long long)job->line, td_err_name(rc));
    if (job->stats->events == 0)
        job->stats->first_ms = job->ev.time_ms;
    job->stats->last_ms = job->ev.time_ms;
    job->stats->events++;
    return TD_OK;
}

td_err_t td_import__emit_tick(td_import__job_t *job, int64_t utc_ms, const td_tick_t *tick, td_slice_t time_text)
{
    if (job->have_last && utc_ms < job->last_ms) {
        char when[32], expected[80];
        td_time_format_iso(job->last_ms, when);
        snprintf(expected, sizeof expected, "a time at or after the previous tick's (%s)", when);
        return td_import__fail_s(job, "time", expected, time_text);
    }
    job->have_last = true;
    job->last_ms = utc_ms;
    job->ev.time_ms = utc_ms;
    job->ev.u.tick = *tick;
    return call_sink(job);
}

td_err_t td_import__check_ohlc(td_import__job_t *job, const char *const names[4], td_price_t open, td_price_t high,
                               td_price_t low, td_price_t close, const td_slice_t texts[4])
{
    if (high < open || high < close)
        return td_import__fail_s(job, names[1], "a high >= open and close", texts[1]);
    if (low > open || low > close)
        return td_import__fail_s(job, names[2], "a low <= open and close", texts[2]);
    return TD_OK;
}

void td_import__bar_set_text(td_import__bar_rec_t *rec, td_slice_t time_text)
{
    size_t n = time_text.len < sizeof rec->time_text - 1 ? time_text.len : sizeof rec->time_text - 1;
    memcpy(rec->time_text, time_text.ptr, n);
    rec->time_text[n] = '\0';
}

static td_err_t fail_rec(td_import__job_t *job, const td_import__bar_rec_t *rec, const char *field,
                         const char *expected)
{
    job->line = rec->line;
    return td_import__fail(job, field, expected, rec->time_text, strlen(rec->time_text));
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    return r < 0 ? r + b : r;
}

static td_err_t check_and_emit(td_import__job_t *job, const td_import__bar_rec_t *rec)
{
    char expected[96];
    int64_t tf_ms = (int64_t)job->tf_s * 1000;
    if (floor_mod(rec->wall_ms, tf_ms) != 0) {
        snprintf(expected, sizeof expected, "a bar open time on a multiple of the %u s timeframe", job->tf_s);
        return fail_rec(job, rec, "time", expected);
    }
    if (job->have_prev_bar && rec->wall_ms - job->prev_bar.wall_ms < tf_ms) {
        snprintf(expected, sizeof expected, "a bar at least %u s after the previous one ('%s' at line %llu)", job->tf_s,
                 job->prev_bar.time_text, (unsigned long long)job->prev_bar.line);
        return fail_rec(job, rec, "time", expected);
    }
    td_bar_t *bar = &job->ev.u.bar;
    memset(bar, 0, sizeof *bar);
    bar->timeframe_s = job->tf_s;
    bar->open_time = rec->wall_ms - job->tz_ms;
    bar->open = rec->open;
    bar->high = rec->high;
    bar->low = rec->low;
    bar->close = rec->close;
    bar->tick_volume = rec->tick_volume;
    bar->spread_min = bar->spread_max = rec->spread;
    /* one spread for the whole bar: the sum keeps spread_sum / tick_volume equal to it */
    if (rec->spread > 0 && rec->tick_volume > 0 &&
        __builtin_mul_overflow(rec->spread, (int64_t)rec->tick_volume, &bar->spread_sum))
        return fail_rec(job, rec, "spread", "a spread x tick volume within range");
    job->ev.time_ms = bar->open_time + tf_ms;
    job->line = rec->line;
    job->prev_bar = *rec;
    job->have_prev_bar = true;
    return call_sink(job);
}

/* Fixes job->tf_s from the options and the buffered bars, then emits the buffered bars. */
static td_err_t settle(td_import__job_t *job)
{
    char expected[128];
    uint64_t saved_line = job->line;
    int64_t min_ms = 0;
    const td_import__bar_rec_t *min_at = NULL;
    for (size_t i = 1; i < job->n_pending; i++) {
        const td_import__bar_rec_t *rec = &job->pending[i];
        int64_t d = rec->wall_ms - job->pending[i - 1].wall_ms;
        if (d <= 0) {
            snprintf(expected, sizeof expected, "a time after the previous bar's ('%s' at line %llu)",
                     job->pending[i - 1].time_text, (unsigned long long)job->pending[i - 1].line);
            return fail_rec(job, rec, "time", expected);
        }
        if (!min_at || d < min_ms) {
            min_ms = d;
            min_at = rec;
        }
    }
    uint32_t want = job->opts->timeframe_s;
    if (job->n_pending == 0) {
        job->tf_s = want;
        return TD_OK;
    }
    if (!min_at && want == 0)
        return fail_rec(job, &job->pending[0], "timeframe",
                        "at least two bars to infer the timeframe from (or a given timeframe)");
    if (min_at && min_ms % 1000 != 0)
        return fail_rec(job, min_at, "time", "bar times on whole seconds");
    uint32_t tf = want;
    if (min_at) {
        int64_t inferred = min_ms / 1000;
        if (want != 0 && inferred != (int64_t)want) {
            snprintf(expected, sizeof expected,
                     "bars %u s apart as requested (the smallest spacing in the first bars is %lld s, here)", want,
                     (long long)inferred);
            return fail_rec(job, min_at, "timeframe", expected);
        }
        if (want == 0)
            tf = inferred > 86400 ? 0 : (uint32_t)inferred;
    }
    if (tf < 60 || tf > 86400 || 86400 % tf != 0) {
        snprintf(expected, sizeof expected,
                 "a timeframe of 60..86400 s that divides a day (found bars %lld s apart, here)",
                 (long long)(min_at ? min_ms / 1000 : (int64_t)want));
        return fail_rec(job, min_at ? min_at : &job->pending[0], "timeframe", expected);
    }
    job->tf_s = tf;
    td_err_t rc = TD_OK;
    for (size_t i = 0; i < job->n_pending && rc == TD_OK; i++)
        rc = check_and_emit(job, &job->pending[i]);
    job->n_pending = 0;
    job->line = saved_line;
    return rc;
}

td_err_t td_import__bar_add(td_import__job_t *job, const td_import__bar_rec_t *rec)
{
    if (job->tf_s != 0)
        return check_and_emit(job, rec);
    job->pending[job->n_pending++] = *rec;
    if (job->n_pending < TD_IMPORT__TF_SAMPLE)
        return TD_OK;
    return settle(job);
}

td_err_t td_import__bar_finish(td_import__job_t *job)
{
    if (job->tf_s != 0)
        return TD_OK;
    return settle(job);
}
