/* source.c - the bars of a backtest from a file, the tape or the warehouse (source.h). */
#include "backtest/source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/names.h"
#include "core/pg.h"
#include "core/timeutil.h"
#include "host/host.h"

td_bt_source_kind_t td_bt_source_kind(const char *data)
{
    if (strcmp(data, "tape") == 0)
        return TD_BT_TAPE;
    if (strcmp(data, "warehouse") == 0)
        return TD_BT_WAREHOUSE;
    return TD_BT_FILE;
}

/* Checks the order and the timeframe of every bar before handing it on. */
typedef struct checked {
    td_err_t (*sink)(void *opaque, const td_event_t *ev);
    void *opaque;
    const char *source;
    uint32_t timeframe_s;
    int64_t last_open;
    uint64_t n;
    char *errbuf;
    size_t errlen;
} checked_t;

static td_err_t checked_bar(checked_t *c, const td_event_t *ev)
{
    const td_bar_t *b = &ev->u.bar;
    char iso[32];
    if (c->n > 0 && b->timeframe_s != c->timeframe_s) {
        td_time_format_iso(b->open_time, iso);
        return td_err_set(c->errbuf, c->errlen, TD_ERR_PARSE,
                          "%s: the bar of %s is %" PRIu32 " s long, the bars before it %" PRIu32
                          " s: one timeframe per backtest",
                          c->source, iso, b->timeframe_s, c->timeframe_s);
    }
    if (c->n > 0 && b->open_time <= c->last_open) {
        td_time_format_iso(b->open_time, iso);
        return td_err_set(c->errbuf, c->errlen, TD_ERR_PARSE, "%s: the bar of %s is not after the one before it",
                          c->source, iso);
    }
    c->timeframe_s = b->timeframe_s;
    c->last_open = b->open_time;
    c->n++;
    return c->sink(c->opaque, ev);
}

/* bars.timeframe: what the processor host builds */
static uint32_t host_timeframe(const td_config_t *config)
{
    td_pipeline_config_t pc;
    td_host_pipeline_config(config, &pc);
    return pc.timeframe_s;
}

/* ---- the tape ---- */

typedef struct history_list {
    const char *symbol;
    char names[8][TD_SYMBOL_MAX + 1];
    size_t n;
} history_list_t;

static td_err_t history_cb(void *opaque, const char *name)
{
    history_list_t *h = opaque;
    size_t len = strlen(h->symbol);
    if (strncmp(name, h->symbol, len) == 0 && name[len] == '@' && h->n < 8)
        snprintf(h->names[h->n++], sizeof h->names[0], "%s", name);
    return TD_OK;
}

static td_err_t read_stream(td_tape_t *tape, td_stream_kind_t kind, const char *stream, uint32_t timeframe_s,
                            checked_t *c, char *errbuf, size_t errlen)
{
    td_event_t *ev = malloc(sizeof *ev);
    td_tape_iter_t *it = NULL;
    td_err_t rc = ev ? td_tape_iter_new(tape, kind, stream, 0, &it, errbuf, errlen) : TD_ERR_NOMEM;
    while (rc == TD_OK && (rc = td_tape_iter_next(it, ev, errbuf, errlen)) == TD_OK)
        if (ev->kind == TD_EV_BAR && (timeframe_s == 0 || ev->u.bar.timeframe_s == timeframe_s))
            rc = checked_bar(c, ev);
    if (rc == TD_ERR_END)
        rc = TD_OK;
    td_tape_iter_destroy(it);
    free(ev);
    return rc;
}

static td_err_t from_tape(const td_config_t *config, const char *data_dir, const char *symbol, uint32_t timeframe_s,
                          checked_t *c, char *described, size_t dlen, char *errbuf, size_t errlen)
{
    td_tape_t *tape = NULL;
    td_tape_opts_t opts = {
        .sync = td_config_int(config, "tape.sync") == 1 ? TD_SYNC_COMMIT : TD_SYNC_NONE,
        .day_offset_minutes = (int)td_config_int(config, "session.day_offset_minutes"),
        .read_only = true,
    };
    td_err_t rc = td_tape_open(data_dir, &opts, &tape, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    history_list_t h = {.symbol = symbol};
    rc = td_tape_symbols(tape, TD_STREAM_HISTORY, history_cb, &h, errbuf, errlen);
    char tf[16];
    const char *pick = NULL;
    for (size_t i = 0; rc == TD_OK && i < h.n; i++) {
        const char *name = strchr(h.names[i], '@') + 1;
        if (timeframe_s ? strcmp(name, td_timeframe_name(timeframe_s, tf)) == 0 : h.n == 1 || strcmp(name, "M30") == 0)
            pick = h.names[i];
    }
    if (rc == TD_OK && pick) {
        snprintf(described, dlen, "tape history stream %s", pick);
        c->source = described;
        rc = read_stream(tape, TD_STREAM_HISTORY, pick, 0, c, errbuf, errlen);
    } else if (rc == TD_OK && h.n > 0 && timeframe_s == 0) {
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID,
                        "the tape has several bar histories of %s (%s, ...) and none is M30: choose with --timeframe",
                        symbol, h.names[0]);
    } else if (rc == TD_OK) {
        /* no imported history: the bars the processor host built from the ticks */
        uint32_t tf_s = timeframe_s ? timeframe_s : host_timeframe(config);
        snprintf(described, dlen, "tape output stream %s (%s bars built from the ticks)", symbol,
                 td_timeframe_name(tf_s, tf));
        c->source = described;
        if (td_tape_next_offset(tape, TD_STREAM_OUTPUT, symbol) == 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND,
                            "the tape in %s has no bars of %s: import a bar history (tapedeck import --format "
                            "mt5-bars ...) or process its ticks first",
                            data_dir, symbol);
        else
            rc = read_stream(tape, TD_STREAM_OUTPUT, symbol, tf_s, c, errbuf, errlen);
    }
    td_tape_close(tape);
    return rc;
}

/* ---- the warehouse ---- */

static td_err_t from_warehouse(const td_config_t *config, const char *symbol, uint32_t timeframe_s, checked_t *c,
                               char *described, size_t dlen, char *errbuf, size_t errlen)
{
    uint32_t tf_s = timeframe_s ? timeframe_s : host_timeframe(config);
    td_pg_t *pg = NULL;
    td_err_t rc = td_pg_connect(td_config_str(config, "warehouse.uri"), &pg, errbuf, errlen);
    char tf[16], tf_text[16], where[64];
    snprintf(tf_text, sizeof tf_text, "%" PRIu32, tf_s);
    if (rc == TD_OK) {
        td_pg_describe(pg, where, sizeof where);
        snprintf(described, dlen, "warehouse %s, table bars, %s %s", where, symbol, td_timeframe_name(tf_s, tf));
        c->source = described;
    }
    td_pg_rows_t *rows = NULL;
    const char *params[] = {symbol, tf_text};
    if (rc == TD_OK)
        rc = td_pg_query(pg,
                         "SELECT (extract(epoch FROM open_time) * 1000)::bigint, open_e8, high_e8, low_e8, close_e8, "
                         "tick_volume, spread_min_e8, spread_max_e8, spread_sum_e8, late_ticks FROM bars "
                         "WHERE symbol = $1 AND timeframe_s = $2 ORDER BY open_time",
                         2, params, &rows, errbuf, errlen);
    int n = rc == TD_OK ? td_pg_rows_count(rows) : 0;
    if (rc == TD_OK && n == 0)
        rc =
            td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "%s: no bars (run tapedeck sink or compact first)", described);
    td_event_t *ev = malloc(sizeof *ev);
    if (rc == TD_OK && !ev)
        rc = TD_ERR_NOMEM;
    for (int r = 0; rc == TD_OK && r < n; r++) {
        int64_t v[10];
        for (int k = 0; k < 10; k++)
            v[k] = strtoll(td_pg_rows_get(rows, r, k), NULL, 10);
        rc = td_event_init(ev, TD_EV_BAR, symbol, v[0]);
        if (rc != TD_OK)
            break;
        td_bar_t *b = &ev->u.bar;
        b->timeframe_s = tf_s;
        b->open_time = v[0];
        b->open = v[1];
        b->high = v[2];
        b->low = v[3];
        b->close = v[4];
        b->tick_volume = (uint64_t)v[5];
        b->spread_min = v[6];
        b->spread_max = v[7];
        b->spread_sum = v[8];
        b->late_ticks = (uint64_t)v[9];
        rc = checked_bar(c, ev);
    }
    free(ev);
    td_pg_rows_destroy(rows);
    td_pg_close(pg);
    return rc;
}

static td_err_t file_event(void *opaque, const td_event_t *ev)
{
    return checked_bar(opaque, ev);
}

td_err_t td_bt_source_read(const td_config_t *config, const char *data_dir, const char *data, const char *symbol,
                           uint32_t timeframe_s, const td_import_opts_t *iopts,
                           td_err_t (*sink)(void *opaque, const td_event_t *ev), void *opaque, char *described,
                           size_t described_len, char *errbuf, size_t errlen)
{
    checked_t c = {.sink = sink, .opaque = opaque, .source = data, .errbuf = errbuf, .errlen = errlen};
    errbuf[0] = '\0';
    switch (td_bt_source_kind(data)) {
    case TD_BT_TAPE:
        return from_tape(config, data_dir, symbol, timeframe_s, &c, described, described_len, errbuf, errlen);
    case TD_BT_WAREHOUSE:
        return from_warehouse(config, symbol, timeframe_s, &c, described, described_len, errbuf, errlen);
    case TD_BT_FILE: break;
    }
    snprintf(described, described_len, "%s", data);
    td_import_stats_t stats;
    memset(&stats, 0, sizeof stats);
    return td_import_file(data, iopts, file_event, &c, &stats, errbuf, errlen);
}
