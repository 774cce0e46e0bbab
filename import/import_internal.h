/* import_internal.h - what the importer files share: the per-file job, text scanning, field
 * parsing, error wording and the event emitters.
 *
 * One td_import__job_t lives for one td_import_file() call, on the caller's stack, on one thread.
 * The format parsers (dukascopy_csv.c, dukascopy_bi5.c, dukascopy_bars.c, lean.c, mt5.c) read
 * bytes, validate every field and hand finished values to td_import__emit_tick() or
 * td_import__bar_add(); those two own the checks that do not depend on the format (time order,
 * time zone, timeframe) and the calls to the sink. Nothing here allocates per line.
 *
 * Every failure leaves "PATH:LINE: FIELD: expected ..., found '...'" in job->errbuf and returns
 * TD_ERR_PARSE (td_import__fail); job->line is the 1-based line (or record) being parsed.
 */
#ifndef TD_IMPORT_INTERNAL_H
#define TD_IMPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "import/import.h"

/* Bars buffered before the timeframe is known (inferred from the smallest spacing among them). */
#define TD_IMPORT__TF_SAMPLE 100
/* Longest quoted text in an error message. */
#define TD_IMPORT__QUOTE_MAX 40

/* One bar as parsed, before the timeframe checks. wall_ms is the file's own clock. */
typedef struct td_import__bar_rec {
    int64_t wall_ms;
    td_price_t open, high, low, close;
    uint64_t tick_volume;
    td_price_t spread; /* price scale; 0 = unknown */
    uint64_t line;
    char time_text[24]; /* the time as written, for messages (truncated copy) */
} td_import__bar_rec_t;

typedef struct td_import__job {
    const char *path;
    const td_import_opts_t *opts;
    td_import_sink_fn sink;
    void *opaque;
    td_import_stats_t *stats;
    char *errbuf;
    size_t errlen;
    td_event_t ev;  /* template: kind, symbol, source set once; time and body per event */
    int64_t tz_ms;  /* wall clock minus UTC: subtract from wall times */
    uint64_t line;  /* 1-based line or record being parsed */
    bool have_last; /* a tick was emitted; last_ms is its UTC time */
    int64_t last_ms;
    /* bars */
    uint32_t tf_s; /* 0 until inferred or confirmed */
    size_t n_pending;
    td_import__bar_rec_t pending[TD_IMPORT__TF_SAMPLE];
    bool have_prev_bar;
    td_import__bar_rec_t prev_bar;
} td_import__job_t;

/* ---- errors (import.c) ---- */

/* Writes "PATH:LINE: FIELD: expected EXPECTED, found 'TEXT'" (TEXT cut to TD_IMPORT__QUOTE_MAX
 * bytes, TAB shown as \t, other non-printable bytes as '?') and returns TD_ERR_PARSE. */
td_err_t td_import__fail(td_import__job_t *job, const char *field, const char *expected, const char *text,
                         size_t len) TD_WUR;
static inline td_err_t td_import__fail_s(td_import__job_t *job, const char *field, const char *expected,
                                         td_slice_t found) TD_WUR;
static inline td_err_t td_import__fail_s(td_import__job_t *job, const char *field, const char *expected,
                                         td_slice_t found)
{
    return td_import__fail(job, field, expected, (const char *)found.ptr, found.len);
}

/* ---- encodings (encoding.c) ---- */

/* Checks that text is UTF-8 without NUL bytes and without a UTF-16 byte-order mark; sets *body to
 * the text after an optional UTF-8 BOM. Errors name the line of the first bad byte. */
td_err_t td_import__check_utf8(td_import__job_t *job, td_slice_t text, td_slice_t *body) TD_WUR;

/* MT5 files: UTF-16LE with a BOM is converted into out (only ASCII is legal in these files, any
 * other code unit is an error); anything else goes through td_import__check_utf8. *body points
 * either into text or into out. */
td_err_t td_import__decode_mt5(td_import__job_t *job, td_slice_t text, td_buf_t *out, td_slice_t *body) TD_WUR;

/* ---- lines, fields, numbers (text.c) ---- */

/* A forward-only line reader over a text body. */
typedef struct td_import__lines {
    const uint8_t *pos, *end;
} td_import__lines_t;

static inline void td_import__lines_init(td_import__lines_t *lines, td_slice_t body)
{
    lines->pos = body.ptr;
    /* a failed decode leaves body {NULL, 0}, and NULL + 0 is undefined in C */
    lines->end = body.len ? body.ptr + body.len : body.ptr;
}

/* Next line without its LF or CRLF; false at the end. A file ending in a line break has no empty
 * last line. Increments job->line and job->stats->lines. */
bool td_import__next_line(td_import__job_t *job, td_import__lines_t *lines, td_slice_t *line);

/* Splits line at sep into fields[0..max); returns the number of fields in the line (which may be
 * more than max: only the first max are stored). */
size_t td_import__split(td_slice_t line, char sep, td_slice_t *fields, size_t max);

/* Splits and requires exactly n fields, else a "fields" error quoting the line. */
td_err_t td_import__split_exact(td_import__job_t *job, td_slice_t line, char sep, td_slice_t *fields, size_t n) TD_WUR;

/* The header line must equal `expected` exactly (after the CR is removed); `shown` is how the
 * message names it (TAB-separated headers are unreadable as they are). */
td_err_t td_import__expect_header(td_import__job_t *job, td_import__lines_t *lines, const char *expected,
                                  const char *shown) TD_WUR;

/* A price: td_fx_parse, counts float noise in stats.rounded, requires > 0. */
td_err_t td_import__price(td_import__job_t *job, const char *field, td_slice_t s, td_price_t *out) TD_WUR;
/* A volume: td_fx_parse, counts float noise, requires >= 0. */
td_err_t td_import__volume(td_import__job_t *job, const char *field, td_slice_t s, td_volume_t *out) TD_WUR;
/* An unsigned decimal integer of at most 18 digits. */
td_err_t td_import__uint(td_import__job_t *job, const char *field, td_slice_t s, uint64_t *out) TD_WUR;

/* Exactly n ASCII digits at p (no checks on the length of p: callers checked it). -1 if any is not a digit. */
static inline int64_t td_import__digits(const uint8_t *p, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)p[i] - '0';
        if (d > 9)
            return -1;
        v = v * 10 + d;
    }
    return v;
}

/* Caches the last date seen so that each distinct date is validated once. */
typedef struct td_import__date_cache {
    uint8_t text[10];
    int64_t day_ms; /* ms of the date's 00:00 */
    bool valid;
} td_import__date_cache_t;

/* Date of `s` whose layout is given by `order` ("YMD": YYYY?MM?DD, "DMY": DD?MM?YYYY, "YMD8":
 * YYYYMMDD) and separator `sep` (ignored for YMD8); *day_ms is ms at 00:00 of that date. */
td_err_t td_import__date(td_import__job_t *job, const char *field, td_slice_t s, const char *order, char sep,
                         td_import__date_cache_t *cache, int64_t *day_ms) TD_WUR;

/* Time of day "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff" (1 or more fraction digits, beyond the third
 * floored); which forms are allowed is given by min_parts (2 or 3) and allow_frac. */
td_err_t td_import__time_of_day(td_import__job_t *job, const char *field, td_slice_t s, int min_parts, bool allow_frac,
                                int64_t *ms) TD_WUR;

/* Requires bid <= ask (or counts the crossed quote when opts->keep_crossed); the message quotes the bid. */
td_err_t td_import__check_quote(td_import__job_t *job, td_price_t bid, td_price_t ask, td_slice_t bid_text) TD_WUR;

/* ---- events (emit.c) ---- */

/* Hands one tick to the sink: refuses time going backwards (quoting time_text), updates stats.
 * utc_ms is already converted (callers subtract job->tz_ms). job->ev must be a tick template. */
td_err_t td_import__emit_tick(td_import__job_t *job, int64_t utc_ms, const td_tick_t *tick,
                              td_slice_t time_text) TD_WUR;

/* Checks open/high/low/close of one bar (high >= max(open, close), low <= min(open, close)); names
 * and texts are those of the four fields in O, H, L, C order, for the message. */
td_err_t td_import__check_ohlc(td_import__job_t *job, const char *const names[4], td_price_t open, td_price_t high,
                               td_price_t low, td_price_t close, const td_slice_t texts[4]) TD_WUR;

/* Adds one parsed bar: buffers the first TD_IMPORT__TF_SAMPLE until the timeframe is known, then
 * checks spacing and alignment and hands bars to the sink. */
td_err_t td_import__bar_add(td_import__job_t *job, const td_import__bar_rec_t *rec) TD_WUR;
/* Ends a bar file: settles the timeframe if the file had fewer bars than the sample, emits the rest. */
td_err_t td_import__bar_finish(td_import__job_t *job) TD_WUR;

/* Copies the time field into rec->time_text for later messages. */
void td_import__bar_set_text(td_import__bar_rec_t *rec, td_slice_t time_text);

/* ---- the formats ---- */

td_err_t td_import__dukascopy_csv(td_import__job_t *job, td_slice_t text) TD_WUR;
td_err_t td_import__dukascopy_bi5(td_import__job_t *job, td_slice_t raw) TD_WUR;
td_err_t td_import__dukascopy_bars(td_import__job_t *job, td_slice_t text) TD_WUR;
td_err_t td_import__lean_ticks(td_import__job_t *job, td_slice_t text) TD_WUR;
td_err_t td_import__lean_bars(td_import__job_t *job, td_slice_t text) TD_WUR;
td_err_t td_import__mt5_ticks(td_import__job_t *job, td_slice_t text) TD_WUR;
td_err_t td_import__mt5_bars(td_import__job_t *job, td_slice_t text) TD_WUR;

/* The last path component. */
const char *td_import__basename(const char *path);

#endif
