/* into_tape.c - one history file into the tape, all or nothing (into_tape.h).
 *
 * The parser (import.c) hands each event to sink(), which puts it into one tape batch behind the
 * SymbolSpec and the day-end marks; the batch, the registry record and the recorded spec are
 * committed together only when the whole file parsed. Single-threaded: the caller's thread, the
 * tape's one writer.
 */
#include "import/into_tape.h"

#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/digest.h"
#include "core/names.h"
#include "core/timeutil.h"

/* One file's import: its settings, where the stream stands, and the batch being filled. */
typedef struct import_run {
    td_tape_t *tape;
    td_tape_batch_t *batch;
    const char *symbol;
    const char *path;
    td_import_day_end_t day_end;
    int day_offset;
    int64_t covers_to_ms;           /* the file covers time up to (excluding) this; INT64_MIN = unknown */
    td_stream_kind_t kind;          /* INPUT for ticks, HISTORY for bars */
    char stream[TD_SYMBOL_MAX + 1]; /* the symbol, or "<SYMBOL>@<TF>" for bars */
    uint64_t stream_next;           /* the stream's next offset before this file */
    int64_t stream_last_ms;         /* last event time on the stream before this file; INT64_MIN = empty */
    uint64_t stream_last_offset;
    td_symbol_spec_t spec;
    bool need_spec;
    bool spec_appended; /* the SymbolSpec went into this file's batch */
    bool started;
    uint32_t open_day; /* trading day of the last tick of the file so far (0 = none) */
    uint64_t events, marks;
    int64_t first_ms, last_ms;
    char err[1024];
    td_event_t scratch;
} import_run_t;

static td_err_t append(import_run_t *run, td_event_t *ev)
{
    td_err_t rc = td_tape_batch_append(run->batch, run->kind, ev, NULL, 0);
    if (rc != TD_OK)
        td_err_set(run->err, sizeof run->err, rc, "%s: cannot append to the tape batch", run->path);
    return rc;
}

static td_err_t append_day_end(import_run_t *run, uint32_t day)
{
    /* at the first instant of the next day: it closes the day's last bar (core/event.h) */
    int64_t t = td_time_trading_day_start(td_time_next_day(day), run->day_offset);
    td_err_t rc = td_event_init(&run->scratch, TD_EV_SESSION_MARK, run->symbol, t);
    if (rc != TD_OK)
        return rc;
    snprintf(run->scratch.source, sizeof run->scratch.source, "import");
    run->scratch.u.session.kind = TD_SESSION_DAY_END;
    run->scratch.u.session.trading_day = day;
    run->marks++;
    return append(run, &run->scratch);
}

/* Closes the file's last day `day` if the file covers it to its end. */
static td_err_t maybe_close(import_run_t *run, uint32_t day)
{
    if (run->day_end == TD_IMPORT_DAY_END_NONE || run->covers_to_ms == INT64_MIN)
        return TD_OK;
    if (td_time_trading_day_start(td_time_next_day(day), run->day_offset) <= run->covers_to_ms)
        return append_day_end(run, day);
    return TD_OK;
}

/* Where the stream stands: its next offset and last event time. */
static td_err_t stream_position(import_run_t *run)
{
    run->stream_next = td_tape_next_offset(run->tape, run->kind, run->stream);
    run->stream_last_ms = INT64_MIN;
    if (run->stream_next == 0)
        return TD_OK;
    td_err_t rc = td_tape_read(run->tape, run->kind, run->stream, run->stream_next - 1, &run->scratch, NULL, 0);
    if (rc != TD_OK)
        return td_err_set(run->err, sizeof run->err, rc, "%s: cannot read the stream's last event", run->stream);
    run->stream_last_ms = run->scratch.time_ms;
    run->stream_last_offset = run->stream_next - 1;
    return TD_OK;
}

static td_err_t sink(void *opaque, const td_event_t *in)
{
    import_run_t *run = opaque;
    td_err_t rc = TD_OK;
    if (!run->started) {
        run->started = true;
        run->first_ms = in->time_ms;
        if (run->kind == TD_STREAM_HISTORY) {
            /* bars go to their own stream per timeframe, known from the first bar */
            char tf[16];
            if (snprintf(run->stream, sizeof run->stream, "%s@%s", run->symbol,
                         td_timeframe_name(in->u.bar.timeframe_s, tf)) >= (int)sizeof run->stream)
                return td_err_set(run->err, sizeof run->err, TD_ERR_INVALID,
                                  "%s: symbol too long for a bar stream name", run->symbol);
            rc = stream_position(run);
            if (rc != TD_OK)
                return rc;
        }
        if (in->time_ms < run->stream_last_ms) {
            char a[32], b[32];
            td_time_format_iso(in->time_ms, a);
            td_time_format_iso(run->stream_last_ms, b);
            return td_err_set(run->err, sizeof run->err, TD_ERR_ORDER,
                              "%s: starts at %s, before the last event of stream %s at %s (offset %" PRIu64
                              "); import files in time order",
                              run->path, a, run->stream, b, run->stream_last_offset);
        }
        if (run->need_spec) {
            rc = td_event_init(&run->scratch, TD_EV_SYMBOL_SPEC, run->symbol, in->time_ms);
            if (rc == TD_OK) {
                snprintf(run->scratch.source, sizeof run->scratch.source, "config");
                run->scratch.u.spec = run->spec;
                rc = append(run, &run->scratch);
                run->spec_appended = rc == TD_OK;
            }
        }
    }
    uint32_t day = td_time_trading_day(in->time_ms, run->day_offset);
    /* a day followed by a later day's event in the same file is complete: close it */
    if (rc == TD_OK && run->open_day && day > run->open_day && run->day_end != TD_IMPORT_DAY_END_NONE)
        rc = append_day_end(run, run->open_day);
    run->open_day = day;
    if (rc == TD_OK) {
        run->scratch = *in;
        /* a bar's envelope names its history stream ("XAUUSD@H1"): the tape keys streams by it */
        memcpy(run->scratch.symbol, run->stream, sizeof run->scratch.symbol);
        rc = append(run, &run->scratch);
    }
    run->events++;
    run->last_ms = in->time_ms;
    return rc;
}

/* The end of what a file provably covers (INT64_MIN: unknown). A .bi5 file is one hour, named; a
 * Lean tick file is one day, named YYYYMMDD_... on its own clock. Other files say nothing about
 * their end: with --day-end last the user vouches that they run to the midnight after their last
 * tick. The day of the last tick is closed only when the file covers it to its end. */
static int64_t covers_to(td_import_format_t format, const char *path, int64_t last_ms, int tz_offset,
                         td_import_day_end_t day_end)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    const char *base = basename(copy);
    int y, mo, d, h;
    if (format == TD_FMT_DUKASCOPY_BI5) {
        const char *p = strchr(base, '_');
        if (p && sscanf(p, "_%4d_%2d_%2d_%2dh", &y, &mo, &d, &h) == 4)
            return td_time_ms_from_civil(y, (unsigned)mo + 1, (unsigned)d, (unsigned)h, 0, 0, 0) + 3600000;
        return INT64_MIN;
    }
    if (format == TD_FMT_LEAN_TICKS && sscanf(base, "%4d%2d%2d_", &y, &mo, &d) == 3)
        return td_time_ms_from_civil(y, (unsigned)mo, (unsigned)d + 0, 0, 0, 0, 0) + TD_MS_PER_DAY -
               (int64_t)tz_offset * 60000;
    if (day_end != TD_IMPORT_DAY_END_LAST || last_ms == INT64_MIN)
        return INT64_MIN;
    int64_t local = last_ms + (int64_t)tz_offset * 60000; /* midnight after the last tick, file clock */
    return (td_time_day_number(local) + 1) * TD_MS_PER_DAY - (int64_t)tz_offset * 60000;
}

static td_err_t registry_key(const char *symbol, const uint8_t sha[TD_SHA256_LEN], char *key, size_t keylen)
{
    char hex[65];
    td_digest_hex(sha, hex);
    snprintf(key, keylen, "import/%s/%s", symbol, hex);
    return TD_OK;
}

/* td_import_into_tape's work on a prepared run: hash and registry check, stream position, the
 * batch, commit. Fills result on TD_OK; the message in errbuf otherwise. */
static td_err_t import_file(import_run_t *run, const td_import_opts_t *opts, bool force, td_import_result_t *result,
                            char *errbuf, size_t errlen)
{
    uint8_t sha[TD_SHA256_LEN];
    char key[160];
    td_buf_t buf;
    td_buf_init(&buf);
    td_err_t rc = td_sha256_file(run->path, sha, run->err, sizeof run->err);
    if (rc != TD_OK) {
        td_buf_fini(&buf);
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s", run->err);
    }
    if (registry_key(run->symbol, sha, key, sizeof key) == TD_OK && !force &&
        td_tape_get_meta(run->tape, key, &buf, NULL, 0) == TD_OK) {
        rc = td_err_set(errbuf, errlen, TD_ERR_EXISTS, "%s: already imported (%.*s); --force imports it again",
                        run->path, (int)buf.len, (const char *)buf.ptr);
        td_buf_fini(&buf);
        return rc;
    }

    /* where the stream stands (a bar stream's name is known at its first bar) */
    bool bars = td_import_format_is_bars(opts->format);
    run->kind = bars ? TD_STREAM_HISTORY : TD_STREAM_INPUT;
    snprintf(run->stream, sizeof run->stream, "%s", run->symbol);
    run->stream_next = 0;
    run->stream_last_ms = INT64_MIN;
    if (!bars && (rc = stream_position(run)) != TD_OK) {
        td_buf_fini(&buf);
        return td_err_set(errbuf, errlen, rc, "%s", run->err);
    }
    /* the spec: appended when the stream has none or the config changed it */
    td_buf_t spec_bytes;
    td_buf_init(&spec_bytes);
    char spec_key[64];
    snprintf(spec_key, sizeof spec_key, "spec/%s", run->symbol);
    td_event_t *spec_ev = &run->scratch;
    rc = td_event_init(spec_ev, TD_EV_SYMBOL_SPEC, run->symbol, 0);
    spec_ev->u.spec = run->spec;
    if (rc == TD_OK)
        rc = td_codec_encode(spec_ev, TD_CODEC_FOR_DIGEST, &spec_bytes);
    run->need_spec = !bars && (td_tape_get_meta(run->tape, spec_key, &buf, NULL, 0) != TD_OK ||
                               buf.len != spec_bytes.len || memcmp(buf.ptr, spec_bytes.ptr, buf.len) != 0);
    if (bars)
        run->day_end = TD_IMPORT_DAY_END_NONE; /* day-end marks belong to input streams */
    run->spec_appended = false;

    td_import_stats_t stats;
    memset(&stats, 0, sizeof stats);

    run->batch = NULL;
    run->started = false;
    run->open_day = 0;
    run->events = run->marks = 0;
    run->last_ms = INT64_MIN;
    run->err[0] = '\0';
    if (rc == TD_OK)
        rc = td_tape_batch_new(run->tape, &run->batch, NULL, 0);
    char perr[1024] = "";
    if (rc == TD_OK) {
        rc = td_import_file(run->path, opts, sink, run, &stats, perr, sizeof perr);
        if (rc != TD_OK && !run->err[0]) /* the sink's own message wins */
            snprintf(run->err, sizeof run->err, "%s", perr);
    }
    run->covers_to_ms = covers_to(opts->format, run->path, run->last_ms, opts->tz_offset_minutes, run->day_end);
    if (rc == TD_OK && run->open_day)
        rc = maybe_close(run, run->open_day);
    result->bars = bars;
    result->stats = stats;
    if (rc == TD_OK && run->events == 0) {
        /* nothing to append (a .bi5 hour without ticks): nothing registered either, so that the
         * next empty file (same content, same digest) is not refused as a repeat */
        td_tape_batch_destroy(run->batch);
        run->batch = NULL;
        td_buf_fini(&buf);
        td_buf_fini(&spec_bytes);
        return TD_OK;
    }
    char record[512];
    uint64_t first = 0, last = 0;
    if (rc == TD_OK) {
        char a[32], b[32];
        td_time_format_iso(run->first_ms, a);
        td_time_format_iso(run->last_ms, b);
        first = run->stream_next;
        last = run->stream_next + td_tape_batch_events(run->batch) - 1;
        snprintf(record, sizeof record, "%s as %s, %s, offsets %" PRIu64 "..%" PRIu64 ", %" PRIu64 " events %s..%s",
                 run->path, run->stream, td_import_format_name(opts->format), first, last, run->events, a, b);
        rc = td_tape_batch_put_meta(run->batch, key, record, strlen(record), NULL, 0);
        if (rc == TD_OK && run->spec_appended)
            rc = td_tape_batch_put_meta(run->batch, spec_key, spec_bytes.ptr, spec_bytes.len, NULL, 0);
        if (rc == TD_OK) {
            char detail[512] = "";
            rc = td_tape_commit(run->tape, run->batch, detail, sizeof detail);
            run->batch = NULL;
            if (rc != TD_OK)
                snprintf(run->err, sizeof run->err, "%s: the tape refused the commit: %s", run->path, detail);
        }
    }
    td_tape_batch_destroy(run->batch);
    run->batch = NULL;
    td_buf_fini(&buf);
    td_buf_fini(&spec_bytes);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s", run->err[0] ? run->err : run->path);
    result->appended = true;
    snprintf(result->stream, sizeof result->stream, "%s", run->stream);
    result->events = run->events;
    result->marks = run->marks;
    result->first_offset = first;
    result->last_offset = last;
    result->first_ms = run->first_ms;
    result->last_ms = run->last_ms;
    return TD_OK;
}

td_err_t td_import_into_tape(td_tape_t *tape, const char *path, const td_import_opts_t *opts,
                             const td_symbol_spec_t *spec, td_import_day_end_t day_end, bool force,
                             td_import_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    import_run_t *run = calloc(1, sizeof *run); /* the scratch event is large: not on the stack */
    if (!run)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "out of memory");
    run->tape = tape;
    run->symbol = opts->symbol;
    run->path = path;
    run->day_end = day_end;
    run->day_offset = td_tape_day_offset_minutes(tape);
    run->spec = *spec;
    td_err_t rc = import_file(run, opts, force, result, errbuf, errlen);
    free(run);
    return rc;
}
