/* import.c - td_import_file(): reads one file whole, sets up the per-file job and hands the
 * bytes to the format's parser; also the one error formatter of the importers.
 *
 * The file is read into memory in one piece (the largest history file we handle is tens of MB);
 * parsers then work on {ptr,len} slices of it without copying or allocating per line.
 * Thread: any; each call is independent (no globals).
 */
#include "import/import_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *td_import__basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

td_err_t td_import__fail(td_import__job_t *job, const char *field, const char *expected, const char *text, size_t len)
{
    /* The quoted text is outside bytes: copy it byte by byte, bounded, with anything that is not
     * printable ASCII replaced, so a message never carries control bytes or broken UTF-8. */
    char quoted[2 * TD_IMPORT__QUOTE_MAX + 4];
    size_t n = 0, i = 0;
    for (; i < len && i < TD_IMPORT__QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\t') { /* TAB-separated formats: show the separator */
            quoted[n++] = '\\';
            quoted[n++] = 't';
        } else {
            quoted[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
    }
    if (i < len) {
        memcpy(quoted + n, "...", 3);
        n += 3;
    }
    quoted[n] = '\0';
    return td_err_set(job->errbuf, job->errlen, TD_ERR_PARSE, "%s:%llu: %s: expected %s, found '%s'", job->path,
                      (unsigned long long)job->line, field, expected, quoted);
}

/* Reads the whole file into buf. TD_ERR_IO with the OS reason in errbuf; TD_ERR_PARSE for a file
 * (or a device such as /dev/zero) that goes on past max bytes, rather than reading it until memory
 * runs out. */
static td_err_t read_file(const char *path, uint64_t max, td_buf_t *buf, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        if (size > 0)
            rc = td_buf_reserve(buf, (size_t)size);
        rewind(fp);
    }
    while (rc == TD_OK) {
        if (buf->len > max) {
            rc = td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s: expected at most %llu bytes in one file, found more",
                            path, (unsigned long long)max);
            break;
        }
        rc = td_buf_reserve(buf, 65536);
        if (rc != TD_OK)
            break;
        size_t room = buf->cap - buf->len - 1;
        size_t got = fread(buf->ptr + buf->len, 1, room, fp);
        buf->len += got;
        if (got < room) {
            if (ferror(fp))
                rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
    }
    if (rc == TD_ERR_NOMEM)
        td_err_set(errbuf, errlen, rc, "%s: out of memory reading the file", path);
    fclose(fp);
    return rc;
}

static const char *family_source(td_import_format_t format)
{
    switch (format) {
    case TD_FMT_DUKASCOPY_CSV:
    case TD_FMT_DUKASCOPY_BI5:
    case TD_FMT_DUKASCOPY_BARS: return "dukascopy";
    case TD_FMT_LEAN_TICKS:
    case TD_FMT_LEAN_BARS: return "lean";
    case TD_FMT_MT5_TICKS:
    case TD_FMT_MT5_BARS: return "mt5";
    }
    return NULL;
}

td_err_t td_import_file(const char *path, const td_import_opts_t *opts, td_import_sink_fn sink, void *opaque,
                        td_import_stats_t *stats, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    td_import_stats_t local_stats;
    td_buf_t data;
    td_buf_init(&data);
    if (!stats)
        stats = &local_stats;
    memset(stats, 0, sizeof *stats);
    if (errbuf && errlen)
        errbuf[0] = '\0';

    if (!path || !opts || !sink || !opts->symbol)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "import: path, options, symbol and sink are required");
    const char *source = opts->source ? opts->source : family_source(opts->format);
    if (!source)
        return td_err_set(errbuf, errlen, TD_ERR_UNSUPPORTED, "%s: unknown import format %d", path, (int)opts->format);
    if (opts->tz_offset_minutes < -24 * 60 || opts->tz_offset_minutes > 24 * 60)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: time zone offset %d minutes is out of range", path,
                          opts->tz_offset_minutes);

    /* About 10 KB (the timeframe sample), on this call's stack. */
    static const td_import__job_t zero_job;
    td_import__job_t job = zero_job;
    job.path = path;
    job.opts = opts;
    job.sink = sink;
    job.opaque = opaque;
    job.stats = stats;
    job.errbuf = errbuf;
    job.errlen = errlen;
    job.tz_ms = (int64_t)opts->tz_offset_minutes * 60000;
    td_event_kind_t kind = td_import_format_is_bars(opts->format) ? TD_EV_BAR : TD_EV_TICK;
    rc = td_event_init(&job.ev, kind, opts->symbol, 0);
    if (rc == TD_OK)
        rc = td_event_set_str(job.ev.source, sizeof job.ev.source, source);
    if (rc != TD_OK) {
        td_err_set(errbuf, errlen, rc, "%s: symbol: expected %s, found '%s' (or source '%s' too long)", path,
                   TD_SYMBOL_RULE, opts->symbol, source);
        goto done;
    }

    rc = read_file(path, opts->max_file_bytes ? opts->max_file_bytes : TD_IMPORT_FILE_MAX, &data, errbuf, errlen);
    if (rc != TD_OK)
        goto done;

    td_slice_t bytes = td_buf_slice(&data);
    switch (opts->format) {
    case TD_FMT_DUKASCOPY_CSV: rc = td_import__dukascopy_csv(&job, bytes); break;
    case TD_FMT_DUKASCOPY_BI5: rc = td_import__dukascopy_bi5(&job, bytes); break;
    case TD_FMT_DUKASCOPY_BARS: rc = td_import__dukascopy_bars(&job, bytes); break;
    case TD_FMT_LEAN_TICKS: rc = td_import__lean_ticks(&job, bytes); break;
    case TD_FMT_LEAN_BARS: rc = td_import__lean_bars(&job, bytes); break;
    case TD_FMT_MT5_TICKS: rc = td_import__mt5_ticks(&job, bytes); break;
    case TD_FMT_MT5_BARS: rc = td_import__mt5_bars(&job, bytes); break;
    }
    if (rc == TD_OK && kind == TD_EV_BAR)
        rc = td_import__bar_finish(&job);

done:
    td_buf_fini(&data);
    return rc;
}
