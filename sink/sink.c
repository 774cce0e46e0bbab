/* sink.c - output streams into PostgreSQL, one SQL transaction per batch (see sink.h).
 *
 * Each output kind has a table_def: its table, its columns in COPY order, the conflict target of
 * its upsert and an encoder writing one event as one binary COPY row in that order. The staging
 * tables are temporary (per connection) copies of the tables' columns, emptied at every commit or
 * rollback, so a failed batch leaves nothing behind. A session creates a table's staging table the
 * first time the upsert path needs it: with direct_copy that is only after a replayed range, and a
 * session without one neither pays the ten CREATEs nor their truncation at every COMMIT.
 *
 * Where the time goes (bench/warehouse.sh, docs/PERFORMANCE.md): the input scan is RocksDB's
 * iteration over every input event (ticks are not decoded: td_tape_iter_decode_only); the output
 * phase is PostgreSQL's COPY work (heap, WAL and the indexes of each table) plus one round trip per
 * statement, which is why a batch is as few statements as the exactly-once contract allows.
 */
#include "sink/sink.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/event_json.h"
#include "core/names.h"
#include "core/pg.h"
#include "core/timeutil.h"

typedef struct table_def {
    const char *name;
    td_stream_kind_t stream;
    td_event_kind_t kind;
    const char *cols; /* COPY order = the encoder's order */
    const char *key;  /* conflict target; the other columns are updated */
    /* NULL, or a statement run after the batch's rows are in the table, same transaction, over the
     * table's rows of the batch: $1 symbol, $2 and $3 the batch's offsets [from, to) */
    const char *extra;
    void (*encode)(td_pg_copy_t *copy, const td_event_t *ev, bool *wide);
} table_def_t;

#define OUT_HEAD "symbol, input_offset, idx, out_offset, event_time, "
#define OUT_KEY "symbol, input_offset, idx"

/* uint64 and uint32 values go to int8/int4 columns; a value beyond the signed range sets *wide. */
static void u64(td_pg_copy_t *copy, uint64_t v, bool *wide)
{
    if (v > (uint64_t)INT64_MAX)
        *wide = true;
    td_pg_copy_int8(copy, (int64_t)v);
}

static void u32(td_pg_copy_t *copy, uint32_t v, bool *wide)
{
    if (v > (uint32_t)INT32_MAX)
        *wide = true;
    td_pg_copy_int4(copy, (int32_t)v);
}

static const char *status_name(td_exec_status_t s)
{
    static const char *names[] = {"none", "filled", "partial", "rejected", "expired", "cancelled"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown";
}

/* The common head of every output row except bars. */
static void head(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    td_pg_copy_text(copy, ev->symbol);
    u64(copy, ev->input_offset, wide);
    u32(copy, ev->index, wide);
    u64(copy, ev->offset, wide);
    td_pg_copy_time_ms(copy, ev->time_ms);
}

static void enc_bar(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_bar_t *b = &ev->u.bar;
    td_pg_copy_row(copy, 16);
    td_pg_copy_text(copy, ev->symbol);
    u32(copy, b->timeframe_s, wide);
    td_pg_copy_time_ms(copy, b->open_time);
    td_pg_copy_int8(copy, b->open);
    td_pg_copy_int8(copy, b->high);
    td_pg_copy_int8(copy, b->low);
    td_pg_copy_int8(copy, b->close);
    u64(copy, b->tick_volume, wide);
    td_pg_copy_int8(copy, b->spread_min);
    td_pg_copy_int8(copy, b->spread_max);
    td_pg_copy_int8(copy, b->spread_sum);
    u64(copy, b->late_ticks, wide);
    td_pg_copy_time_ms(copy, ev->time_ms);
    u64(copy, ev->offset, wide);
    u64(copy, ev->input_offset, wide);
    u32(copy, ev->index, wide);
}

static void enc_signal(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_signal_t *s = &ev->u.signal;
    td_pg_copy_row(copy, 10);
    head(copy, ev, wide);
    td_pg_copy_text(copy, s->strategy);
    u32(copy, s->params_version, wide);
    td_pg_copy_text(copy, td_direction_name(s->direction));
    td_pg_copy_time_ms(copy, s->bar_time);
    td_pg_copy_text(copy, s->reason);
}

static void enc_intent(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_order_intent_t *o = &ev->u.intent;
    td_pg_copy_row(copy, 14);
    head(copy, ev, wide);
    td_pg_copy_text(copy, o->intent_id);
    td_pg_copy_text(copy, td_side_name(o->side));
    td_pg_copy_int8(copy, o->volume);
    td_pg_copy_int2(copy, (int16_t)o->type);
    td_pg_copy_int8(copy, o->stop_loss);
    td_pg_copy_int8(copy, o->take_profit);
    td_pg_copy_text(copy, o->strategy);
    u32(copy, o->params_version, wide);
    td_pg_copy_text(copy, o->reason);
}

/* The columns of an execution report after the row's head: the fills output table and the
 * exec_reports input table share them. */
static void exec_fields(td_pg_copy_t *copy, const td_exec_report_t *x, bool *wide)
{
    td_pg_copy_text(copy, x->intent_id);
    u64(copy, x->deal_id, wide);
    u64(copy, x->order_id, wide);
    u64(copy, x->position_id, wide);
    td_pg_copy_text(copy, td_side_name(x->side));
    td_pg_copy_int8(copy, x->price);
    td_pg_copy_int8(copy, x->volume);
    td_pg_copy_int8(copy, x->commission);
    td_pg_copy_int8(copy, x->swap);
    td_pg_copy_int8(copy, x->profit);
    td_pg_copy_text(copy, status_name(x->status));
    td_pg_copy_text(copy, x->reason);
}

static void enc_fill(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_exec_report_t *x = &ev->u.exec;
    td_pg_copy_row(copy, 17);
    head(copy, ev, wide);
    exec_fields(copy, x, wide);
}

static void enc_position(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_position_changed_t *p = &ev->u.position;
    td_pg_copy_row(copy, 12);
    head(copy, ev, wide);
    td_pg_copy_int8(copy, p->volume);
    td_pg_copy_int8(copy, p->avg_price);
    td_pg_copy_int8(copy, p->realized_pnl);
    td_pg_copy_int8(copy, p->commission);
    td_pg_copy_int8(copy, p->swap);
    u64(copy, p->deal_id, wide);
    td_pg_copy_text(copy, p->intent_id);
}

static void enc_trade(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_trade_closed_t *t = &ev->u.trade;
    td_pg_copy_row(copy, 14);
    head(copy, ev, wide);
    td_pg_copy_text(copy, td_side_name(t->side));
    td_pg_copy_time_ms(copy, t->entry_time);
    td_pg_copy_int8(copy, t->entry_price);
    td_pg_copy_time_ms(copy, t->exit_time);
    td_pg_copy_int8(copy, t->exit_price);
    td_pg_copy_int8(copy, t->volume);
    td_pg_copy_int8(copy, t->pnl);
    td_pg_copy_int8(copy, t->commission);
    td_pg_copy_int8(copy, t->swap);
}

static void enc_digest(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_day_digest_t *d = &ev->u.digest;
    td_pg_copy_row(copy, 16);
    head(copy, ev, wide);
    td_pg_copy_date(copy, d->trading_day);
    td_pg_copy_bytes(copy, d->sha256, sizeof d->sha256);
    u64(copy, d->first_offset, wide);
    u64(copy, d->last_offset, wide);
    u64(copy, d->inputs, wide);
    u64(copy, d->outputs, wide);
    u64(copy, d->trades, wide);
    u64(copy, d->wins, wide);
    td_pg_copy_int8(copy, d->realized_pnl);
    td_pg_copy_int8(copy, d->max_drawdown);
    u64(copy, d->late_ticks, wide);
}

static void u16(td_pg_copy_t *copy, uint32_t v, bool *wide)
{
    if (v > (uint32_t)INT16_MAX)
        *wide = true;
    td_pg_copy_int2(copy, (int16_t)v);
}

/* The common head of every input row: symbol, in_offset, the time it took effect, its source. */
static void in_head(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    td_pg_copy_text(copy, ev->symbol);
    u64(copy, ev->offset, wide);
    td_pg_copy_time_ms(copy, ev->time_ms);
    td_pg_copy_text(copy, ev->source);
}

static void enc_spec(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_symbol_spec_t *p = &ev->u.spec;
    td_pg_copy_row(copy, 16);
    in_head(copy, ev, wide);
    u16(copy, p->digits, wide);
    td_pg_copy_int8(copy, p->point);
    td_pg_copy_int8(copy, p->contract_size);
    td_pg_copy_int8(copy, p->tick_size);
    td_pg_copy_int8(copy, p->tick_value);
    td_pg_copy_text(copy, td_swap_mode_name(p->swap_mode));
    td_pg_copy_int8(copy, p->swap_long);
    td_pg_copy_int8(copy, p->swap_short);
    u16(copy, p->triple_swap_weekday, wide);
    td_pg_copy_int8(copy, p->volume_step);
    td_pg_copy_int8(copy, p->volume_min);
    td_pg_copy_int8(copy, p->volume_max);
}

/* The parameter values as a JSON object of strings, in the event's (name) order. */
static void enc_params(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_params_changed_t *p = &ev->u.params;
    td_buf_t json;
    td_buf_init(&json);
    td_err_t rc = td_buf_append(&json, "{", 1);
    for (uint32_t i = 0; rc == TD_OK && i < p->n_values; i++) {
        if (i)
            rc = td_buf_append(&json, ",", 1);
        if (rc == TD_OK)
            rc = td_json_string(&json, p->values[i].name);
        if (rc == TD_OK)
            rc = td_buf_append(&json, ":", 1);
        if (rc == TD_OK)
            rc = td_json_string(&json, p->values[i].value);
    }
    if (rc == TD_OK)
        rc = td_buf_append(&json, "}", 1);
    td_pg_copy_row(copy, 9);
    in_head(copy, ev, wide);
    td_pg_copy_text(copy, p->strategy);
    u32(copy, p->version, wide);
    if (rc == TD_OK)
        td_pg_copy_jsonb(copy, json.ptr, json.len);
    else
        copy->rc = rc; /* sticky: td_pg_copy_finish reports it (the row is never sent) */
    td_pg_copy_text(copy, p->author);
    td_pg_copy_text(copy, p->reason);
    td_buf_fini(&json);
}

static void enc_exec(td_pg_copy_t *copy, const td_event_t *ev, bool *wide)
{
    const td_exec_report_t *x = &ev->u.exec;
    td_pg_copy_row(copy, 16);
    in_head(copy, ev, wide);
    exec_fields(copy, x, wide);
}

#define IN_HEAD "symbol, in_offset, effective_at, source, "
#define IN_KEY "symbol, in_offset"
#define OUT TD_STREAM_OUTPUT
#define IN TD_STREAM_INPUT

static const table_def_t tables[TD_SINK_TABLES] = {
    [TD_SINK_BARS] = {"bars", OUT, TD_EV_BAR,
                      "symbol, timeframe_s, open_time, open_e8, high_e8, low_e8, close_e8, tick_volume, spread_min_e8, "
                      "spread_max_e8, spread_sum_e8, late_ticks, event_time, out_offset, input_offset, idx",
                      "symbol, timeframe_s, open_time", NULL, enc_bar},
    [TD_SINK_SIGNALS] = {"signals", OUT, TD_EV_SIGNAL, OUT_HEAD "strategy, params_version, direction, bar_time, reason",
                         OUT_KEY, NULL, enc_signal},
    [TD_SINK_INTENTS] = {"order_intents", OUT, TD_EV_ORDER_INTENT,
                         OUT_HEAD "intent_id, side, volume_e8, order_type, stop_loss_e8, take_profit_e8, strategy, "
                                  "params_version, reason",
                         OUT_KEY, NULL, enc_intent},
    [TD_SINK_FILLS] = {"fills", OUT, TD_EV_EXEC_REPORT,
                       OUT_HEAD "intent_id, deal_id, order_id, position_id, side, price_e8, volume_e8, commission_e8, "
                                "swap_e8, profit_e8, status, reason",
                       OUT_KEY, NULL, enc_fill},
    [TD_SINK_POSITIONS] = {"position_changes", OUT, TD_EV_POSITION_CHANGED,
                           OUT_HEAD
                           "volume_e8, avg_price_e8, realized_pnl_e8, commission_e8, swap_e8, deal_id, intent_id",
                           OUT_KEY, NULL, enc_position},
    [TD_SINK_TRADES] = {"closed_trades", OUT, TD_EV_TRADE_CLOSED,
                        OUT_HEAD "side, entry_time, entry_price_e8, exit_time, exit_price_e8, volume_e8, pnl_e8, "
                                 "commission_e8, swap_e8",
                        OUT_KEY, NULL, enc_trade},
    [TD_SINK_DIGESTS] =
        {"day_digests", OUT, TD_EV_DAY_DIGEST,
         OUT_HEAD "trading_day, sha256, first_offset, last_offset, inputs, outputs, trades, wins, "
                  "realized_pnl_e8, max_drawdown_e8, late_ticks",
         OUT_KEY,
         /* the input stream's day index, as the batch's digests state it */
         "INSERT INTO day_index (symbol, stream, trading_day, first_offset, last_offset, count) "
         "SELECT symbol, 'input', trading_day, first_offset, last_offset, last_offset - first_offset + 1 "
         "FROM day_digests WHERE symbol = $1 AND out_offset >= $2 AND out_offset < $3 "
         "ON CONFLICT (symbol, stream, trading_day) DO UPDATE SET "
         "first_offset = EXCLUDED.first_offset, last_offset = EXCLUDED.last_offset, count = EXCLUDED.count",
         enc_digest},
    [TD_SINK_SPECS] = {"symbol_specs", IN, TD_EV_SYMBOL_SPEC,
                       IN_HEAD "digits, point_e8, contract_size_e8, tick_size_e8, tick_value_e8, swap_mode, "
                               "swap_long_e8, swap_short_e8, triple_swap_weekday, volume_step_e8, volume_min_e8, "
                               "volume_max_e8",
                       IN_KEY, NULL, enc_spec},
    [TD_SINK_PARAMS] = {"params_history", IN, TD_EV_PARAMS_CHANGED, IN_HEAD "strategy, version, params, author, reason",
                        IN_KEY, NULL, enc_params},
    [TD_SINK_EXECS] = {"exec_reports", IN, TD_EV_EXEC_REPORT,
                       "symbol, in_offset, event_time, source, intent_id, deal_id, order_id, position_id, side, "
                       "price_e8, volume_e8, commission_e8, swap_e8, profit_e8, status, reason",
                       IN_KEY, NULL, enc_exec},
};

const char *td_sink_table_name(int table)
{
    return table >= 0 && table < TD_SINK_TABLES ? tables[table].name : "?";
}

void td_sink_stats_print(FILE *out, const td_sink_stats_t *stats, double seconds)
{
    fprintf(out,
            "sink: %" PRIu64 " row(s) in %" PRIu64 " transaction(s) from %" PRIu64 " stream(s), %" PRIu64
            " retry(ies), %" PRIu64 " upserted, %.3f s (%.0f rows/s)",
            stats->rows, stats->batches, stats->symbols, stats->retries, stats->upserted_batches, seconds,
            seconds > 0 ? (double)stats->rows / seconds : 0.0);
    for (int t = 0; t < TD_SINK_TABLES; t++)
        fprintf(out, "%s %s %" PRIu64, t ? "," : ":", td_sink_table_name(t), stats->by_table[t]);
    fprintf(out, "\n");
}

struct pass_work;

/* One session: its connection, its encoders and its counts. */
typedef struct sink {
    const td_sink_opts_t *opts;
    td_sink_stats_t stats;  /* this session's counts (td_sink_run adds them up) */
    uint32_t session;       /* 0 .. opts->sessions - 1 (in its log lines when there are several) */
    struct pass_work *work; /* the current pass's shared work (its failure stops this session) */
    td_pg_t *pg;
    td_buf_t copy_sql[TD_SINK_TABLES], upsert_sql[TD_SINK_TABLES], direct_sql[TD_SINK_TABLES];
    td_pg_copy_t copy[TD_SINK_TABLES];
    int64_t *months; /* month starts (Unix ms) whose bars partition is known to exist (committed) */
    size_t n_months, cap_months;
    int64_t *new_months; /* this batch's months not in `months` */
    size_t n_new_months, cap_new_months;
    uint32_t staged;     /* bit t: stage_<table t> exists in this session (its CREATE committed) */
    uint32_t staged_new; /* bit t: created by the open transaction (gone if it rolls back) */
    td_event_t ev;
    char detail[1024];
} sink_t;

/* A pass's symbols, shared by its sessions: each claims the next unclaimed symbol and writes both
 * its streams. The first failure is kept and stops the other sessions after their current batch. */
typedef struct pass_work {
    td_tape_t *tape;
    const td_symbol_list_t *list;
    pthread_mutex_t lock;
    size_t next;        /* the next symbol to claim (under lock) */
    td_err_t rc;        /* the first failure (under lock) */
    char err[1536];     /* its message */
    atomic_bool failed; /* rc != TD_OK, read without the lock */
} pass_work_t;

/* A read-only open beside a running writer can miss the writer's newest write-ahead log (deleted by
 * a flush between the open's reading of the manifest and of the logs): the view is then an older
 * consistent state of the tape, and may end before what this sink already wrote. A following sink
 * takes that for a stale view and tries again for this many passes before it reports the mismatch. */
#define STALE_PASSES_MAX 50

static void log_at(sink_t *sink, td_log_level_t level, td_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void log_at(sink_t *sink, td_log_level_t level, td_err_t rc, const char *fmt, ...)
{
    if (!sink->opts->log)
        return;
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sink->opts->sessions > 1)
        td_log_write(sink->opts->log, level, "sink", rc, "session %u of %u: %s", sink->session + 1,
                     sink->opts->sessions, msg);
    else
        td_log_write(sink->opts->log, level, "sink", rc, "%s", msg);
}

/* This thread's CPU time so far, in ms (for the debug log's account of a stream). */
static double thread_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool stopping(const sink_t *sink)
{
    return (sink->opts->stop && *sink->opts->stop) || (sink->work && atomic_load(&sink->work->failed));
}

/* Sleeps ms in short steps so that a stop request is seen; returns false when stopped. */
static bool pause_ms(const sink_t *sink, uint32_t ms)
{
    int64_t until = td_mono_ms() + ms;
    for (int64_t left = ms; left > 0; left = until - td_mono_ms()) {
        if (stopping(sink))
            return false;
        int64_t step = left < 50 ? left : 50;
        struct timespec ts = {.tv_sec = 0, .tv_nsec = step * 1000000};
        nanosleep(&ts, NULL);
    }
    return !stopping(sink);
}

static td_err_t build_sql(sink_t *sink)
{
    td_err_t rc = TD_OK;
    for (int t = 0; rc == TD_OK && t < TD_SINK_TABLES; t++) {
        const table_def_t *d = &tables[t];
        td_buf_init(&sink->copy_sql[t]);
        td_buf_init(&sink->upsert_sql[t]);
        td_buf_init(&sink->direct_sql[t]);
        td_pg_copy_init(&sink->copy[t]);
        rc = td_buf_printf(&sink->copy_sql[t], "COPY stage_%s (%s) FROM STDIN (FORMAT binary)", d->name, d->cols);
        if (rc == TD_OK)
            rc = td_buf_printf(&sink->direct_sql[t], "COPY %s (%s) FROM STDIN (FORMAT binary)", d->name, d->cols);
        if (rc == TD_OK)
            rc = td_buf_printf(&sink->upsert_sql[t],
                               "INSERT INTO %s (%s) SELECT %s FROM stage_%s ON CONFLICT (%s) DO UPDATE SET ", d->name,
                               d->cols, d->cols, d->name, d->key);
        /* every column outside the key: c = EXCLUDED.c */
        bool first = true;
        for (const char *p = d->cols; rc == TD_OK && *p;) {
            while (*p == ' ' || *p == ',')
                p++;
            size_t n = strcspn(p, ",");
            char col[64];
            TD_ASSERT(n > 0 && n < sizeof col);
            memcpy(col, p, n);
            col[n] = '\0';
            p += n;
            bool in_key = false;
            for (const char *k = d->key; *k;) {
                while (*k == ' ' || *k == ',')
                    k++;
                size_t m = strcspn(k, ",");
                if (m == n && memcmp(k, col, n) == 0)
                    in_key = true;
                k += m;
            }
            if (!in_key) {
                rc = td_buf_printf(&sink->upsert_sql[t], "%s%s = EXCLUDED.%s", first ? "" : ", ", col, col);
                first = false;
            }
        }
        if (rc == TD_OK && (!td_buf_cstr(&sink->copy_sql[t]) || !td_buf_cstr(&sink->upsert_sql[t]) ||
                            !td_buf_cstr(&sink->direct_sql[t])))
            rc = TD_ERR_NOMEM;
    }
    return rc;
}

static void sink_fini(sink_t *sink)
{
    for (int t = 0; t < TD_SINK_TABLES; t++) {
        td_buf_fini(&sink->copy_sql[t]);
        td_buf_fini(&sink->upsert_sql[t]);
        td_buf_fini(&sink->direct_sql[t]);
        td_pg_copy_fini(&sink->copy[t]);
    }
    free(sink->months);
    free(sink->new_months);
    td_pg_close(sink->pg);
}

/* Connects and prepares the session: schema check, commit mode (staging tables come on demand). */
static td_err_t session_open(sink_t *sink, char *errbuf, size_t errlen)
{
    td_pg_t *pg = NULL;
    td_err_t rc = td_pg_connect(sink->opts->uri, &pg, errbuf, errlen);
    td_pg_rows_t *rows = NULL;
    if (rc == TD_OK)
        rc = td_pg_query(pg, "SELECT to_regclass('sink_offsets') IS NOT NULL AND to_regclass('bars') IS NOT NULL", 0,
                         NULL, &rows, errbuf, errlen);
    if (rc == TD_OK && strcmp(td_pg_rows_get(rows, 0, 0), "t") != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_STATE,
                        "the database has no tapedeck warehouse schema (sink_offsets, bars): run tapedeck migrate");
    td_pg_rows_destroy(rows);
    /* A commit need not wait for the WAL flush: rows and offset are one transaction, so one that a
     * database crash loses takes its offset with it and is written again - nothing is doubled. */
    if (rc == TD_OK)
        rc = td_pg_exec(pg, "SET synchronous_commit = off", errbuf, errlen);
    if (rc != TD_OK) {
        td_pg_close(pg);
        return rc;
    }
    sink->pg = pg;
    sink->staged = sink->staged_new = 0; /* temporary tables die with their session */
    return TD_OK;
}

/* Makes sure there is a usable connection, waiting and retrying while PostgreSQL is unreachable.
 * TD_ERR_END when stopped while waiting. */
static td_err_t ensure_connected(sink_t *sink, char *errbuf, size_t errlen)
{
    if (sink->pg && td_pg_ok(sink->pg))
        return TD_OK;
    td_pg_close(sink->pg);
    sink->pg = NULL;
    uint32_t wait = 100;
    int64_t since = td_mono_ms();
    unsigned failures = 0;
    for (;;) {
        td_err_t rc = session_open(sink, sink->detail, sizeof sink->detail);
        if (rc == TD_OK) {
            char where[256];
            td_pg_describe(sink->pg, where, sizeof where);
            if (failures)
                log_at(sink, TD_LOG_INFO, TD_OK, "PostgreSQL %s reachable again after %u failed attempt(s), %.1f s",
                       where, failures, (double)(td_mono_ms() - since) / 1000.0);
            else
                log_at(sink, TD_LOG_DEBUG, TD_OK, "connected to PostgreSQL %s", where);
            return TD_OK;
        }
        if (rc != TD_ERR_IO)
            return td_err_set(errbuf, errlen, rc, "%s", sink->detail);
        failures++;
        sink->stats.retries++;
        if (sink->opts->give_up_s && td_mono_ms() - since >= (int64_t)sink->opts->give_up_s * 1000)
            return td_err_set(errbuf, errlen, TD_ERR_IO, "PostgreSQL unreachable for %u s, giving up: %s",
                              sink->opts->give_up_s, sink->detail);
        log_at(sink, TD_LOG_WARN, rc, "PostgreSQL unreachable (%s); retrying in %u ms", sink->detail, wait);
        if (!pause_ms(sink, wait))
            return TD_ERR_END;
        wait = wait * 2 > sink->opts->retry_max_ms ? sink->opts->retry_max_ms : wait * 2;
    }
}

static bool month_known(const int64_t *months, size_t n, int64_t m)
{
    for (size_t i = 0; i < n; i++)
        if (months[i] == m)
            return true;
    return false;
}

static td_err_t push_month(int64_t **arr, size_t *n, size_t *cap, int64_t m)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        int64_t *p = realloc(*arr, ncap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        *arr = p;
        *cap = ncap;
    }
    (*arr)[(*n)++] = m;
    return TD_OK;
}

/* Notes the month of a bar's open time if its partition is not known to exist. */
static td_err_t note_month(sink_t *sink, int64_t open_time_ms)
{
    int y;
    unsigned m, d;
    td_time_civil_from_days(td_time_day_number(open_time_ms), &y, &m, &d);
    int64_t start = td_time_ms_from_civil(y, m, 1, 0, 0, 0, 0);
    if (month_known(sink->months, sink->n_months, start) || month_known(sink->new_months, sink->n_new_months, start))
        return TD_OK;
    return push_month(&sink->new_months, &sink->n_new_months, &sink->cap_new_months, start);
}

/* COPYs sink->copy[t] (finished) into stage_<table>. */
static td_err_t copy_rows(sink_t *sink, int t, const td_buf_t *sql, char *d, size_t dl)
{
    uint64_t copied = 0;
    td_err_t rc = td_pg_copy_in(sink->pg, (const char *)sql->ptr, td_buf_slice(&sink->copy[t].buf), &copied, d, dl);
    if (rc == TD_OK && copied != sink->copy[t].rows)
        rc = td_err_set(d, dl, TD_ERR_STATE, "COPY into %s took %" PRIu64 " of %" PRIu64 " rows", tables[t].name,
                        copied, sink->copy[t].rows);
    return rc;
}

/* The upsert path for one table's rows of the batch, inside its transaction: COPY into the staging
 * table (created in this session first if need be), INSERT ... SELECT ... ON CONFLICT DO UPDATE. */
static td_err_t upsert_table(sink_t *sink, int t, char *d, size_t dl)
{
    td_err_t rc = TD_OK;
    uint32_t bit = UINT32_C(1) << t;
    if (!((sink->staged | sink->staged_new) & bit)) {
        char sql[256];
        snprintf(sql, sizeof sql, "CREATE TEMP TABLE stage_%s (LIKE %s) ON COMMIT DELETE ROWS", tables[t].name,
                 tables[t].name);
        rc = td_pg_exec(sink->pg, sql, d, dl);
        if (rc == TD_OK)
            sink->staged_new |= bit;
    }
    if (rc == TD_OK)
        rc = copy_rows(sink, t, &sink->copy_sql[t], d, dl);
    if (rc == TD_OK)
        rc = td_pg_exec(sink->pg, (const char *)sink->upsert_sql[t].ptr, d, dl);
    return rc;
}

/* Every table's rows of the batch (encoded and finished), inside its transaction. With
 * direct_copy (the transaction then opened with SAVEPOINT direct), first a COPY straight into each
 * table: rows past the warehouse's offset do not exist yet, so this normally succeeds at half the
 * cost of the upsert and in two round trips per table; a key that does exist (a replayed range, a
 * bar compact wrote first) fails it with a unique violation, and the savepoint's rollback leaves
 * the upsert path to write the whole batch. The savepoint is never released: COMMIT ends it, and a
 * RELEASE would be one more round trip. Then each table's follow-up statement over its rows. */
static td_err_t write_tables(sink_t *sink, const char *symbol, uint64_t from, uint64_t to, char *d, size_t dl)
{
    td_err_t rc = TD_OK;
    bool direct = false;
    if (sink->opts->direct_copy) {
        for (int t = 0; rc == TD_OK && t < TD_SINK_TABLES; t++)
            if (sink->copy[t].rows)
                rc = copy_rows(sink, t, &sink->direct_sql[t], d, dl);
        direct = rc == TD_OK;
        if (rc == TD_ERR_EXISTS) {
            rc = td_pg_exec(sink->pg, "ROLLBACK TO SAVEPOINT direct", d, dl);
            sink->stats.upserted_batches++;
        }
    }
    for (int t = 0; rc == TD_OK && !direct && t < TD_SINK_TABLES; t++)
        if (sink->copy[t].rows)
            rc = upsert_table(sink, t, d, dl);
    char s_from[24], s_to[24];
    snprintf(s_from, sizeof s_from, "%" PRIu64, from);
    snprintf(s_to, sizeof s_to, "%" PRIu64, to);
    const char *params[3] = {symbol, s_from, s_to};
    for (int t = 0; rc == TD_OK && t < TD_SINK_TABLES; t++)
        if (sink->copy[t].rows && tables[t].extra)
            rc = td_pg_exec_params(sink->pg, tables[t].extra, 3, params, NULL, d, dl);
    return rc;
}

static const char *stream_name(td_stream_kind_t stream)
{
    return stream == TD_STREAM_INPUT ? "input" : "output";
}

/* Writes one batch of `symbol`'s `stream` - offsets [from, to) already encoded in sink->copy - in
 * one transaction with the stream's new offset. */
static td_err_t write_batch(sink_t *sink, const char *symbol, td_stream_kind_t stream, uint64_t from, uint64_t to,
                            char *errbuf, size_t errlen)
{
    char *d = sink->detail;
    size_t dl = sizeof sink->detail;
    d[0] = '\0';
    td_err_t rc = TD_OK;
    uint64_t rows = 0;
    for (int t = 0; rc == TD_OK && t < TD_SINK_TABLES; t++) {
        rows += sink->copy[t].rows;
        if (sink->copy[t].rows)
            rc = td_pg_copy_finish(&sink->copy[t]);
    }
    /* one round trip opens the transaction: BEGIN, the bars' new month partitions (the month
     * starts are formatted here: plain literals), the direct COPY's savepoint */
    td_buf_t begin;
    td_buf_init(&begin);
    if (rc == TD_OK)
        rc = td_buf_printf(&begin, "BEGIN");
    for (size_t i = 0; rc == TD_OK && i < sink->n_new_months; i++) {
        char iso[32];
        td_time_format_iso(sink->new_months[i], iso);
        rc = td_buf_printf(&begin, "; SELECT td_ensure_month_partition('bars', '%s'::timestamptz)", iso);
    }
    if (rc == TD_OK && rows && sink->opts->direct_copy)
        rc = td_buf_printf(&begin, "; SAVEPOINT direct");
    if (rc == TD_OK && !td_buf_cstr(&begin))
        rc = TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_pg_exec(sink->pg, (const char *)begin.ptr, d, dl);
    td_buf_fini(&begin);
    if (rc == TD_OK && rows)
        rc = write_tables(sink, symbol, from, to, d, dl);
    char s_from[24], s_to[24], s_rows[24];
    snprintf(s_from, sizeof s_from, "%" PRIu64, from);
    snprintf(s_to, sizeof s_to, "%" PRIu64, to);
    snprintf(s_rows, sizeof s_rows, "%" PRIu64, rows);
    const char *params[5] = {symbol, s_from, s_to, s_rows, stream_name(stream)};
    uint64_t moved = 0;
    if (rc == TD_OK)
        rc = td_pg_exec_params(sink->pg,
                               "INSERT INTO sink_offsets (symbol, stream, next_offset, rows_written) "
                               "VALUES ($1, $5, $3, $4) ON CONFLICT (symbol, stream) DO UPDATE SET "
                               "next_offset = EXCLUDED.next_offset, rows_written = sink_offsets.rows_written + "
                               "EXCLUDED.rows_written, updated_at = now() WHERE sink_offsets.next_offset = $2",
                               5, params, &moved, d, dl);
    if (rc == TD_OK && moved != 1)
        rc = td_err_set(d, dl, TD_ERR_STATE,
                        "the warehouse's %s offset of %s moved while this batch was written "
                        "(another sink?)",
                        stream_name(stream), symbol);
    if (rc == TD_OK && sink->opts->hold_ms)
        pause_ms(sink, sink->opts->hold_ms); /* a stop request still commits: the batch is complete */
    if (rc == TD_OK)
        rc = td_pg_commit(sink->pg, d, dl);
    if (rc != TD_OK) {
        td_pg_rollback(sink->pg);
        sink->staged_new = 0;
        return td_err_set(errbuf, errlen, rc, "%s %ss %" PRIu64 "..%" PRIu64 ": %s", symbol, stream_name(stream), from,
                          to - 1, d);
    }
    sink->staged |= sink->staged_new;
    sink->staged_new = 0;
    for (size_t i = 0; i < sink->n_new_months; i++)
        if (push_month(&sink->months, &sink->n_months, &sink->cap_months, sink->new_months[i]) != TD_OK)
            break; /* only a cache: the partition function is idempotent */
    sink->stats.batches++;
    sink->stats.rows += rows;
    for (int t = 0; t < TD_SINK_TABLES; t++)
        sink->stats.by_table[t] += sink->copy[t].rows;
    return TD_OK;
}

/* The table of an event of `stream`, or -1 (an input without a table: ticks, clock, session). */
static int table_of(td_stream_kind_t stream, td_event_kind_t kind)
{
    for (int t = 0; t < TD_SINK_TABLES; t++)
        if (tables[t].stream == stream && tables[t].kind == kind)
            return t;
    return -1;
}

/* The warehouse's next offset of symbol's stream (0 when it has none). */
static td_err_t read_offset(sink_t *sink, const char *symbol, td_stream_kind_t stream, uint64_t *next, char *errbuf,
                            size_t errlen)
{
    const char *params[2] = {symbol, stream_name(stream)};
    td_pg_rows_t *rows = NULL;
    td_err_t rc = td_pg_query(sink->pg, "SELECT next_offset FROM sink_offsets WHERE symbol = $1 AND stream = $2", 2,
                              params, &rows, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    *next = td_pg_rows_count(rows) ? strtoull(td_pg_rows_get(rows, 0, 0), NULL, 10) : 0;
    td_pg_rows_destroy(rows);
    return TD_OK;
}

/* Input events a batch scans at most: ticks have no table, and the offset must still move on. */
static uint64_t scan_limit(const sink_t *sink, td_stream_kind_t stream)
{
    if (stream == TD_STREAM_OUTPUT)
        return sink->opts->batch_rows;
    uint64_t n = (uint64_t)sink->opts->batch_rows * 64;
    return n < 65536 ? 65536 : n;
}

/* Brings symbol's `stream` rows up to the stream's end (as committed now). *pg_failed tells a
 * failure of PostgreSQL (retry after reconnecting) from one of the tape or the data. */
static td_err_t sync_stream(sink_t *sink, td_tape_t *tape, const char *symbol, td_stream_kind_t stream, bool *pg_failed,
                            char *errbuf, size_t errlen)
{
    const char *sname = stream_name(stream);
    *pg_failed = true;
    uint64_t next = 0;
    td_err_t rc = read_offset(sink, symbol, stream, &next, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    *pg_failed = false;
    uint64_t end = 0;
    char detail[512] = ""; /* the tape's detail of a failed call */
    rc = td_tape_stream_end(tape, stream, symbol, &end, detail, sizeof detail);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s %s stream: %s", symbol, sname, detail);
    if (next > end)
        return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                          "the warehouse has %s's %ss up to offset %" PRIu64 " but the tape's %s stream ends at "
                          "%" PRIu64 ": is this the tape the warehouse was filled from?",
                          symbol, sname, next, sname, end);
    if (next == end)
        return TD_OK;
    log_at(sink, TD_LOG_DEBUG, TD_OK, "%s: %ss %" PRIu64 "..%" PRIu64 " to write", symbol, sname, next, end - 1);
    /* the debug log's account of the stream: wall time and this thread's CPU (bench/warehouse.sh) */
    int64_t t0 = td_mono_ms();
    double cpu0 = thread_cpu_ms();
    uint64_t first = next, rows0 = sink->stats.rows;
    td_tape_iter_t *iter = NULL;
    rc = td_tape_iter_new(tape, stream, symbol, next, &iter, detail, sizeof detail);
    if (rc == TD_OK && stream == TD_STREAM_INPUT) {
        /* ticks are nearly every input and have no table: their kind is enough (no decode) */
        uint64_t kinds = 0;
        for (int t = 0; t < TD_SINK_TABLES; t++)
            if (tables[t].stream == TD_STREAM_INPUT)
                kinds |= TD_TAPE_KIND_BIT(tables[t].kind);
        td_tape_iter_decode_only(iter, kinds);
    }
    uint64_t limit = scan_limit(sink, stream);
    while (rc == TD_OK && next < end && !stopping(sink)) {
        for (int t = 0; t < TD_SINK_TABLES; t++)
            td_pg_copy_reset(&sink->copy[t]);
        sink->n_new_months = 0;
        uint64_t n = 0, rows = 0;
        while (rc == TD_OK && rows < sink->opts->batch_rows && n < limit && next + n < end) {
            rc = td_tape_iter_next(iter, &sink->ev, detail, sizeof detail);
            if (rc != TD_OK)
                break;
            TD_ASSERT(sink->ev.offset == next + n);
            n++;
            int t = table_of(stream, sink->ev.kind);
            if (t < 0 && stream == TD_STREAM_INPUT)
                continue;
            if (t < 0) {
                rc = td_err_set(errbuf, errlen, TD_ERR_UNSUPPORTED, "%s output offset %" PRIu64 ": a %s has no table",
                                symbol, sink->ev.offset, td_event_kind_name(sink->ev.kind));
                break;
            }
            bool wide = false;
            tables[t].encode(&sink->copy[t], &sink->ev, &wide);
            if (wide) {
                rc = td_err_set(errbuf, errlen, TD_ERR_OVERFLOW,
                                "%s %s offset %" PRIu64 ": an unsigned value does not fit PostgreSQL's signed column",
                                symbol, sname, sink->ev.offset);
                break;
            }
            if (t == TD_SINK_BARS)
                rc = note_month(sink, sink->ev.u.bar.open_time);
            rows++;
        }
        if (rc == TD_ERR_END)
            rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s %s stream ends at %" PRIu64 ", before %" PRIu64, symbol,
                            sname, next + n, end);
        else if (rc != TD_OK && !errbuf[0])
            td_err_set(errbuf, errlen, rc, "%s %s offset %" PRIu64 ": %s", symbol, sname, next + n, detail);
        if (rc == TD_OK) {
            rc = write_batch(sink, symbol, stream, next, next + n, errbuf, errlen);
            if (rc != TD_OK)
                *pg_failed = true;
            else
                next += n;
        }
    }
    td_tape_iter_destroy(iter);
    if (rc == TD_OK)
        log_at(sink, TD_LOG_DEBUG, TD_OK,
               "%s: %ss %" PRIu64 "..%" PRIu64 " written: %" PRIu64 " row(s) in %" PRId64
               " ms, %.0f ms CPU in the sink",
               symbol, sname, first, next - 1, sink->stats.rows - rows0, td_mono_ms() - t0, thread_cpu_ms() - cpu0);
    return rc;
}

/* Both streams of symbol (the symbol row first). */
static td_err_t sync_symbol(sink_t *sink, td_tape_t *tape, const char *symbol, bool *pg_failed, char *errbuf,
                            size_t errlen)
{
    *pg_failed = true;
    const char *params[1] = {symbol};
    td_err_t rc = td_pg_exec_params(sink->pg, "INSERT INTO symbols (symbol) VALUES ($1) ON CONFLICT DO NOTHING", 1,
                                    params, NULL, errbuf, errlen);
    if (rc == TD_OK)
        rc = sync_stream(sink, tape, symbol, TD_STREAM_OUTPUT, pg_failed, errbuf, errlen);
    if (rc == TD_OK && !stopping(sink))
        rc = sync_stream(sink, tape, symbol, TD_STREAM_INPUT, pg_failed, errbuf, errlen);
    return rc;
}

/* One symbol, retrying across connection losses. TD_ERR_END when stopped while waiting. */
static td_err_t sink_symbol(sink_t *sink, td_tape_t *tape, const char *symbol, char *errbuf, size_t errlen)
{
    for (;;) {
        td_err_t rc = ensure_connected(sink, errbuf, errlen);
        if (rc != TD_OK)
            return rc;
        bool pg_failed = false;
        errbuf[0] = '\0';
        rc = sync_symbol(sink, tape, symbol, &pg_failed, errbuf, errlen);
        if (rc == TD_OK || !pg_failed)
            return rc;
        if (rc == TD_ERR_IO || !td_pg_ok(sink->pg)) {
            log_at(sink, TD_LOG_WARN, rc, "lost PostgreSQL (%s); resuming %s from the offsets the warehouse holds",
                   errbuf, symbol);
            td_pg_close(sink->pg);
            sink->pg = NULL;
        } else if (rc == TD_ERR_STATE) {
            log_at(sink, TD_LOG_WARN, rc, "%s; resuming %s from the offsets the warehouse holds", errbuf, symbol);
        } else {
            return rc;
        }
        sink->stats.retries++;
        if (stopping(sink))
            return TD_ERR_END;
    }
}

/* Claims symbols of the pass until none is left, one fails or a stop is asked. */
static void work_symbols(sink_t *sink, pass_work_t *work)
{
    for (;;) {
        pthread_mutex_lock(&work->lock);
        bool done = work->rc != TD_OK || work->next == work->list->len || stopping(sink);
        size_t i = work->next;
        if (!done)
            work->next++;
        pthread_mutex_unlock(&work->lock);
        if (done)
            return;
        sink->stats.symbols++;
        char err[sizeof work->err] = "";
        td_err_t rc = sink_symbol(sink, work->tape, work->list->names[i], err, sizeof err);
        if (rc == TD_OK)
            continue;
        pthread_mutex_lock(&work->lock);
        if (work->rc == TD_OK) {
            work->rc = rc;
            snprintf(work->err, sizeof work->err, "%s", err);
        }
        pthread_mutex_unlock(&work->lock);
        atomic_store(&work->failed, true);
        return;
    }
}

static void *session_main(void *arg)
{
    sink_t *sink = arg;
    work_symbols(sink, sink->work);
    return NULL;
}

/* The pass's symbols: opts.symbol alone, or every symbol with an input or an output stream. */
static td_err_t pass_symbols(const td_sink_opts_t *opts, td_tape_t *tape, td_symbol_list_t *list, char *errbuf,
                             size_t errlen)
{
    if (!opts->symbol) {
        td_err_t rc = td_tape_symbol_list(tape, TD_STREAM_INPUT, list, NULL, 0);
        return rc == TD_OK ? td_tape_symbol_list(tape, TD_STREAM_OUTPUT, list, NULL, 0) : rc;
    }
    uint64_t in_end = 0, out_end = 0;
    td_err_t rc = td_tape_stream_end(tape, TD_STREAM_INPUT, opts->symbol, &in_end, NULL, 0);
    if (rc == TD_OK)
        rc = td_tape_stream_end(tape, TD_STREAM_OUTPUT, opts->symbol, &out_end, NULL, 0);
    if (rc == TD_OK && in_end == 0 && out_end == 0)
        return td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "no stream for %s on the tape", opts->symbol);
    return rc == TD_OK ? td_symbol_list_add(list, opts->symbol, errbuf, errlen) : rc;
}

/* The sessions of a run; session 0 works in the caller's thread, the others in threads of a pass. */
typedef struct runner {
    const td_sink_opts_t *opts;
    sink_t *sinks;
    uint32_t n;
    unsigned stale_passes; /* consecutive passes whose read-only view was behind the warehouse */
} runner_t;

/* The symbols of work over up to runner->n sessions at once. */
static td_err_t run_sessions(runner_t *runner, pass_work_t *work, char *errbuf, size_t errlen)
{
    uint32_t n = runner->n < work->list->len ? runner->n : (uint32_t)work->list->len;
    pthread_t threads[TD_SINK_SESSIONS_MAX];
    uint32_t started = 1;
    for (uint32_t i = 0; i < runner->n; i++)
        runner->sinks[i].work = work;
    /* the sessions' threads block every signal: they stay with the caller's thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (; started < n; started++)
        if (pthread_create(&threads[started], NULL, session_main, &runner->sinks[started]) != 0)
            break; /* the sessions started share the symbols */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    work_symbols(&runner->sinks[0], work);
    for (uint32_t i = 1; i < started; i++)
        pthread_join(threads[i], NULL);
    for (uint32_t i = 0; i < runner->n; i++)
        runner->sinks[i].work = NULL;
    if (work->rc != TD_OK)
        snprintf(errbuf, errlen, "%s", work->err);
    return work->rc;
}

/* One pass over the tape as it is now: the caller's handle, or a read-only one opened for it. */
static td_err_t sink_pass(runner_t *runner, char *errbuf, size_t errlen)
{
    const td_sink_opts_t *opts = runner->opts;
    td_tape_t *tape = opts->tape;
    td_err_t rc = TD_OK;
    if (!tape) {
        td_tape_opts_t topts = opts->tape_opts;
        topts.read_only = true;
        rc = td_tape_open(opts->tape_dir, &topts, &tape, errbuf, errlen);
        if (rc == TD_ERR_STORE && !opts->once) {
            /* a following sink outlives a writer's busy moment: try again at the next pass */
            td_log_write(opts->log, TD_LOG_WARN, "sink", rc, "%s; trying again in %u ms", errbuf, opts->poll_ms);
            errbuf[0] = '\0';
            return TD_OK;
        }
        if (rc != TD_OK)
            return rc;
    }
    td_symbol_list_t list = {0};
    rc = pass_symbols(opts, tape, &list, errbuf, errlen);
    if (rc == TD_OK) {
        pass_work_t work = {.tape = tape, .list = &list, .rc = TD_OK};
        atomic_init(&work.failed, false);
        pthread_mutex_init(&work.lock, NULL);
        rc = run_sessions(runner, &work, errbuf, errlen);
        pthread_mutex_destroy(&work.lock);
    }
    td_symbol_list_fini(&list);
    bool own_view = tape != opts->tape;
    if (own_view)
        td_tape_close(tape);
    if (rc == TD_ERR_MISMATCH && own_view && !opts->once && runner->stale_passes < STALE_PASSES_MAX) {
        runner->stale_passes++;
        td_log_write(opts->log, TD_LOG_WARN, "sink", rc,
                     "%s - taken for a stale read-only view beside the writer (%u of %u); trying again in %u ms",
                     errbuf, runner->stale_passes, STALE_PASSES_MAX, opts->poll_ms);
        errbuf[0] = '\0';
        return TD_OK;
    }
    if (rc == TD_OK)
        runner->stale_passes = 0;
    return rc;
}

void td_sink_stats_add(td_sink_stats_t *total, const td_sink_stats_t *part)
{
    total->symbols += part->symbols;
    total->rows += part->rows;
    total->batches += part->batches;
    total->retries += part->retries;
    total->upserted_batches += part->upserted_batches;
    for (int t = 0; t < TD_SINK_TABLES; t++)
        total->by_table[t] += part->by_table[t];
}

td_err_t td_sink_run(const td_sink_opts_t *opts, td_sink_stats_t *stats, char *errbuf, size_t errlen)
{
    TD_ASSERT(opts->batch_rows >= 1 && opts->retry_max_ms >= 100);
    TD_ASSERT(opts->sessions >= 1 && opts->sessions <= TD_SINK_SESSIONS_MAX);
    memset(stats, 0, sizeof *stats);
    runner_t runner = {.opts = opts, .n = opts->sessions};
    runner.sinks = calloc(runner.n, sizeof *runner.sinks);
    if (!runner.sinks)
        return TD_ERR_NOMEM;
    td_err_t rc = TD_OK;
    for (uint32_t i = 0; i < runner.n; i++) {
        sink_t *sink = &runner.sinks[i];
        sink->opts = opts;
        sink->session = i;
        if (rc == TD_OK)
            rc = build_sql(sink);
    }
    while (rc == TD_OK) {
        for (uint32_t i = 0; i < runner.n; i++)
            runner.sinks[i].stats.symbols = 0; /* stats.symbols: the streams of the last pass */
        rc = sink_pass(&runner, errbuf, errlen);
        if (rc != TD_OK || opts->once || stopping(&runner.sinks[0]))
            break;
        if (!pause_ms(&runner.sinks[0], opts->poll_ms))
            break;
    }
    if (rc == TD_ERR_END)
        rc = TD_OK; /* stopped while waiting for PostgreSQL */
    for (uint32_t i = 0; i < runner.n; i++) {
        td_sink_stats_add(stats, &runner.sinks[i].stats);
        sink_fini(&runner.sinks[i]);
    }
    free(runner.sinks);
    return rc;
}
