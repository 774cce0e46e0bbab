/* cmd_import.c - `tapedeck import`: history files into the tape, each file all or nothing.
 *
 * Per file: its SHA-256 is looked up in the import registry (meta "import/<SYMBOL>/<sha>") and a
 * second import is refused unless --force; the parsed events go into one tape batch behind a
 * SymbolSpec from the config (when the stream has none yet or the config changed it), with a
 * SessionMark DAY_END after the last event of each trading day the file covers to its end; the
 * batch is committed only when the whole file parsed, so bad input leaves the tape unchanged.
 * A file that starts before the stream's last event is refused: streams only go forward in time.
 */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/codec.h"
#include "core/digest.h"
#include "core/timeutil.h"
#include "import/import.h"

static void help(void)
{
    printf("usage: tapedeck import --format FORMAT --symbol SYMBOL [options] FILE...\n"
           "\n"
           "Appends the events of each FILE to SYMBOL's stream. Each file is imported whole or not\n"
           "at all; a file imported before (same content, same symbol) is refused unless --force.\n"
           "\n"
           "options:\n"
           "  --format FORMAT     one of the formats below\n"
           "  --symbol SYMBOL     the stream to append to; its spec (digits...) comes from the config\n"
           "  --tz-offset MIN     the file's clock is UTC+MIN minutes (FXCM Lean files: -300); default 0\n"
           "  --digits N          dukascopy-bi5: prices are integers / 10^N (default: the symbol's digits)\n"
           "  --day-end auto|last|none\n"
           "                      close a trading day with a SessionMark DAY_END when the file covers it\n"
           "                      to its end: auto (the default) closes the days a later day follows in\n"
           "                      the file, a Lean file's named day and a .bi5 file's day at hour 23;\n"
           "                      last also closes the file's last day (you vouch that the file runs to\n"
           "                      its midnight: whole-day CSV and MT5 exports); none closes nothing\n"
           "  --force             import a file again even if the registry has it\n"
           "  --crossed refuse|keep  a tick with bid > ask stops the import with the line (refuse, the\n"
           "                      default) or is kept as it is and counted (keep: FXCM's files cross\n"
           "                      in about 10%% of their quotes)\n"
           "\n"
           "formats:\n");
    for (int f = TD_FMT_DUKASCOPY_CSV; f <= TD_FMT_LEAN_BARS; f++)
        printf("  %-15s %s\n", td_import_format_name((td_import_format_t)f),
               td_import_format_doc((td_import_format_t)f));
    printf("\nTick formats go to SYMBOL's input stream (what the processors read); bar formats go to the\n"
           "history stream SYMBOL@TF (e.g. EURUSD@H1, the timeframe found in the file): see tapedeck dump\n"
           "--stream history --symbol EURUSD@H1.\n"
           "Exit codes: 0 imported, 2 bad usage or bad input (the tape is unchanged), 3 storage failure.\n");
}

enum { DAY_END_AUTO, DAY_END_LAST, DAY_END_NONE };

typedef struct import_run {
    td_cli_t *cli;
    td_tape_t *tape;
    td_tape_batch_t *batch;
    const char *symbol;
    const char *path;
    int day_end; /* DAY_END_AUTO, DAY_END_LAST or DAY_END_NONE */
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
    if (run->day_end == DAY_END_NONE || run->covers_to_ms == INT64_MIN)
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
    if (rc == TD_OK && run->open_day && day > run->open_day && run->day_end != DAY_END_NONE)
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
static int64_t covers_to(td_import_format_t format, const char *path, int64_t last_ms, int tz_offset, int day_end)
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
    if (day_end != DAY_END_LAST || last_ms == INT64_MIN)
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

static int import_file(import_run_t *run, const td_import_opts_t *opts, bool force)
{
    td_cli_t *cli = run->cli;
    uint8_t sha[TD_SHA256_LEN];
    char key[160];
    td_buf_t buf;
    td_buf_init(&buf);
    td_err_t rc = td_sha256_file(run->path, sha, run->err, sizeof run->err);
    if (rc != TD_OK) {
        td_buf_fini(&buf);
        return td_cli_fail(cli, TD_ERR_INVALID, "%s", run->err);
    }
    if (registry_key(run->symbol, sha, key, sizeof key) == TD_OK && !force &&
        td_tape_get_meta(run->tape, key, &buf, NULL, 0) == TD_OK) {
        int code = td_cli_fail(cli, TD_ERR_EXISTS, "%s: already imported (%.*s); --force imports it again", run->path,
                               (int)buf.len, (const char *)buf.ptr);
        td_buf_fini(&buf);
        return code;
    }

    /* where the stream stands (a bar stream's name is known at its first bar) */
    bool bars = td_import_format_is_bars(opts->format);
    run->kind = bars ? TD_STREAM_HISTORY : TD_STREAM_INPUT;
    snprintf(run->stream, sizeof run->stream, "%s", run->symbol);
    run->stream_next = 0;
    run->stream_last_ms = INT64_MIN;
    if (!bars && (rc = stream_position(run)) != TD_OK) {
        td_buf_fini(&buf);
        return td_cli_fail(cli, rc, "%s", run->err);
    }
    /* the spec: appended when the stream has none or the config changed it */
    td_config_symbol_spec(cli->config, run->symbol, &run->spec);
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
        run->day_end = DAY_END_NONE; /* day-end marks belong to input streams */
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
    if (rc == TD_OK && run->events == 0) {
        /* nothing to append (a .bi5 hour without ticks): nothing registered either, so that the
         * next empty file (same content, same digest) is not refused as a repeat */
        td_tape_batch_destroy(run->batch);
        run->batch = NULL;
        td_buf_fini(&buf);
        td_buf_fini(&spec_bytes);
        printf("imported %s: no events, nothing appended\n", run->path);
        return TD_EXIT_OK;
    }
    char record[512];
    if (rc == TD_OK) {
        char a[32], b[32];
        td_time_format_iso(run->first_ms, a);
        td_time_format_iso(run->last_ms, b);
        uint64_t first = run->stream_next, last = run->stream_next + td_tape_batch_events(run->batch) - 1;
        snprintf(record, sizeof record, "%s as %s, %s, offsets %" PRIu64 "..%" PRIu64 ", %" PRIu64 " events %s..%s",
                 run->path, run->stream, td_import_format_name(opts->format), first, last, run->events, a, b);
        rc = td_tape_batch_put_meta(run->batch, key, record, strlen(record), NULL, 0);
        if (rc == TD_OK && run->spec_appended)
            rc = td_tape_batch_put_meta(run->batch, spec_key, spec_bytes.ptr, spec_bytes.len, NULL, 0);
        if (rc == TD_OK) {
            rc = td_tape_commit(run->tape, run->batch, NULL, 0);
            run->batch = NULL;
            if (rc != TD_OK)
                snprintf(run->err, sizeof run->err, "%s: the tape refused the commit", run->path);
        }
    }
    td_tape_batch_destroy(run->batch);
    run->batch = NULL;
    td_buf_fini(&buf);
    td_buf_fini(&spec_bytes);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", run->err[0] ? run->err : run->path);
    char a[32], b[32];
    td_time_format_iso(run->first_ms, a);
    td_time_format_iso(run->last_ms, b);
    printf("imported %s: %" PRIu64 " %s into %s, %s..%s, %" PRIu64 " day end(s), %" PRIu64 " rounded price(s)",
           run->path, run->events, bars ? "bars" : "ticks", run->stream, run->events ? a : "-", run->events ? b : "-",
           run->marks, stats.rounded);
    if (stats.crossed)
        printf(", %" PRIu64 " crossed quote(s) kept (bid > ask)", stats.crossed);
    printf("\n");
    return TD_EXIT_OK;
}

/* A whole decimal number in [lo, hi]. */
static td_err_t parse_int(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return TD_ERR_INVALID;
    *out = v;
    return TD_OK;
}

int td_cmd_import(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"symbol", required_argument, NULL, 's'},
        {"tz-offset", required_argument, NULL, 'z'},
        {"digits", required_argument, NULL, 'd'},
        {"day-end", required_argument, NULL, 'e'},
        {"force", no_argument, NULL, 'F'},
        {"crossed", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    td_import_opts_t opts = {0};
    const char *format = NULL;
    bool force = false;
    int day_end = DAY_END_AUTO;
    int digits = -1, c;
    long value = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 's': opts.symbol = optarg; break;
        case 'z':
            if (parse_int(optarg, -1439, 1439, &value) != TD_OK)
                return td_cli_usage(cli, "--tz-offset expects minutes in -1439..1439, found '%s'", optarg);
            opts.tz_offset_minutes = (int)value;
            break;
        case 'd':
            if (parse_int(optarg, 1, 8, &value) != TD_OK)
                return td_cli_usage(cli, "--digits expects 1..8, found '%s'", optarg);
            digits = (int)value;
            break;
        case 'e':
            if (strcmp(optarg, "auto") == 0)
                day_end = DAY_END_AUTO;
            else if (strcmp(optarg, "last") == 0)
                day_end = DAY_END_LAST;
            else if (strcmp(optarg, "none") == 0)
                day_end = DAY_END_NONE;
            else
                return td_cli_usage(cli, "--day-end expects auto, last or none, found '%s'", optarg);
            break;
        case 'F': force = true; break;
        case 'x':
            if (strcmp(optarg, "refuse") && strcmp(optarg, "keep"))
                return td_cli_usage(cli, "--crossed expects refuse or keep, found '%s'", optarg);
            opts.keep_crossed = strcmp(optarg, "keep") == 0;
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (!format || td_import_format_parse(format, &opts.format) != TD_OK)
        return td_cli_usage(cli,
                            "--format expects one of dukascopy-csv, dukascopy-bi5, lean-ticks, mt5-ticks, "
                            "mt5-bars, dukascopy-bars, lean-bars; found '%s'",
                            format ? format : "");
    if (!opts.symbol)
        return td_cli_usage(cli, "--symbol is required");
    if (!td_symbol_valid(opts.symbol, strlen(opts.symbol)))
        return td_cli_usage(cli, "--symbol: expected %s, found '%s'", TD_SYMBOL_RULE, opts.symbol);
    if (optind >= argc)
        return td_cli_usage(cli, "no FILE given");
    opts.price_divisor_digits =
        digits >= 0 ? (unsigned)digits : (unsigned)td_config_symbol_int(cli->config, opts.symbol, "digits");

    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, false, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    import_run_t *run = calloc(1, sizeof *run);
    int code = run ? TD_EXIT_OK : td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    for (int i = optind; code == TD_EXIT_OK && i < argc; i++) {
        run->cli = cli;
        run->tape = tape;
        run->symbol = opts.symbol;
        run->path = argv[i];
        run->day_end = day_end;
        run->day_offset = td_tape_day_offset_minutes(tape);
        code = import_file(run, &opts, force);
    }
    free(run);
    td_tape_close(tape);
    return code;
}
