/* router.c - the order router (see router.h for the contract).
 *
 * Per intent one tape commit (the meta records, and for an expired one its report) comes before
 * the socket write. Outputs that are not intents only move the scan position in memory; it is
 * committed ("router/next/<SYMBOL>") by the calls without a burst (the timer, a new session, the
 * end), never on the path from a tick to its order. A crash loses at most that cursor: the scan
 * then starts earlier and skips every intent already handled (its "router/sent/<id>" record).
 */
#include "gateway/router.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/protocol.h"

#define SYMBOLS_MAX 256

typedef struct route_pos {
    char symbol[TD_SYMBOL_MAX + 1];
    uint64_t next;   /* the next output offset to scan */
    uint64_t stored; /* what router/next/<SYMBOL> holds */
} route_pos_t;

struct td_router {
    const td_config_t *config;
    int64_t max_age_ms;
    td_log_t *log;
    route_pos_t pos[SYMBOLS_MAX]; /* loaded from meta on first sight of a symbol */
    size_t n_pos;
    char symbols[SYMBOLS_MAX][TD_SYMBOL_MAX + 1]; /* this scan's output streams */
    size_t n_symbols;
    bool scanned; /* every output stream was looked up once: then the tape's stream map lists them */
    td_router_stats_t stats;
    double *latency_ms;
    size_t n_latency, cap_latency;
    td_buf_t line, val;
    td_event_t ev;
    td_router_report_fn report_fn; /* Kafka mode, else NULL */
    void *report_opaque;
};

void td_router_set_report_fn(td_router_t *router, td_router_report_fn fn, void *opaque)
{
    router->report_fn = fn;
    router->report_opaque = opaque;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

td_err_t td_router_new(const td_config_t *config, int64_t max_age_ms, td_log_t *log, td_router_t **out)
{
    td_router_t *router = calloc(1, sizeof *router);
    *out = router;
    if (!router)
        return TD_ERR_NOMEM;
    router->config = config;
    router->max_age_ms = max_age_ms;
    router->log = log;
    td_buf_init(&router->line);
    td_buf_init(&router->val);
    return TD_OK;
}

void td_router_destroy(td_router_t *router)
{
    if (!router)
        return;
    td_buf_fini(&router->line);
    td_buf_fini(&router->val);
    free(router->latency_ms);
    free(router);
}

static td_err_t collect_symbol(void *opaque, const char *symbol)
{
    td_router_t *router = opaque;
    if (router->n_symbols == SYMBOLS_MAX)
        return TD_ERR_OVERFLOW;
    snprintf(router->symbols[router->n_symbols++], TD_SYMBOL_MAX + 1, "%s", symbol);
    return TD_OK;
}

/* The symbol's scan position, read from meta the first time. */
static td_err_t position(td_router_t *router, td_tape_t *tape, const char *symbol, route_pos_t **pos)
{
    for (size_t i = 0; i < router->n_pos; i++)
        if (strcmp(router->pos[i].symbol, symbol) == 0) {
            *pos = &router->pos[i];
            return TD_OK;
        }
    if (router->n_pos == SYMBOLS_MAX)
        return TD_ERR_OVERFLOW;
    char key[64];
    snprintf(key, sizeof key, "router/next/%s", symbol);
    uint64_t next = 0;
    td_buf_reset(&router->val);
    td_err_t rc = td_tape_get_meta(tape, key, &router->val);
    if (rc == TD_OK)
        rc = td_gw_acked_decode(router->val.ptr, router->val.len, &next); /* the same decimal form */
    else if (rc == TD_ERR_NOT_FOUND)
        rc = TD_OK;
    if (rc != TD_OK)
        return rc;
    route_pos_t *p = &router->pos[router->n_pos++];
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    p->next = p->stored = next;
    *pos = p;
    return TD_OK;
}

static td_err_t put_next(td_tape_batch_t *batch, const char *symbol, uint64_t next)
{
    char key[64], val[24];
    snprintf(key, sizeof key, "router/next/%s", symbol);
    int n = td_gw_acked_encode(next, val, sizeof val);
    return td_tape_batch_put_meta(batch, key, val, (size_t)n);
}

static td_err_t add_latency(td_router_t *router, double ms)
{
    if (router->n_latency == router->cap_latency) {
        size_t cap = router->cap_latency ? router->cap_latency * 2 : 256;
        double *p = realloc(router->latency_ms, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        router->latency_ms = p;
        router->cap_latency = cap;
    }
    router->latency_ms[router->n_latency++] = ms;
    return TD_OK;
}

/* Handles one intent at output offset off: expire or send. *blocked when no EA session is open
 * (the intent waits; the scan of this symbol stops). */
static td_err_t route_intent(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, route_pos_t *pos,
                             const td_event_t *out_ev, double burst_start, bool *blocked, uint64_t *expired_now)
{
    const td_order_intent_t *intent = &out_ev->u.intent;
    char key[32 + TD_ID_MAX];
    snprintf(key, sizeof key, "router/sent/%s", intent->intent_id);
    td_buf_reset(&router->val);
    td_err_t rc = td_tape_get_meta(tape, key, &router->val);
    if (rc == TD_OK) { /* handled before (defensive: its commit moved next as well) */
        pos->next = out_ev->offset + 1;
        return TD_OK;
    }
    if (rc != TD_ERR_NOT_FOUND)
        return rc;
    /* the age counts from the arrival of the input that caused the intent (its ingest time), so
     * that intents the processor produces while catching up on a backlog are not sent late */
    rc = td_tape_read(tape, TD_STREAM_INPUT, pos->symbol, out_ev->input_offset, &router->ev);
    if (rc == TD_ERR_NOT_FOUND) { /* Kafka mode: the mirrored input topic is behind the output topic */
        *blocked = true;
        return TD_OK;
    }
    if (rc != TD_OK)
        return rc;
    int64_t age_ms = (int64_t)(wall_s() * 1000.) - router->ev.ingest_ms;
    bool expire = age_ms > router->max_age_ms;
    if (!expire && !td_gw_server_connected(server, NULL)) {
        *blocked = true;
        return TD_OK;
    }
    td_tape_batch_t *batch = NULL;
    rc = td_tape_batch_new(tape, &batch);
    if (rc == TD_OK)
        rc = td_tape_batch_put_meta(batch, key, expire ? "expired" : "sent", expire ? 7 : 4);
    if (rc == TD_OK)
        rc = put_next(batch, pos->symbol, out_ev->offset + 1);
    if (rc == TD_OK && expire) {
        /* stamped with the stream's latest time, so that the stream's time never goes back */
        td_event_t *ev = &router->ev;
        int64_t time_ms = out_ev->time_ms;
        uint64_t end = td_tape_next_offset(tape, TD_STREAM_INPUT, pos->symbol);
        if (end > 0)
            rc = td_tape_read(tape, TD_STREAM_INPUT, pos->symbol, end - 1, ev);
        if (rc == TD_OK && ev->time_ms > time_ms)
            time_ms = ev->time_ms;
        if (rc == TD_OK)
            rc = td_event_init(ev, TD_EV_EXEC_REPORT, pos->symbol, time_ms);
        if (rc == TD_OK) {
            snprintf(ev->source, sizeof ev->source, "router");
            td_exec_report_t *exec = &ev->u.exec;
            memcpy(exec->intent_id, intent->intent_id, sizeof exec->intent_id);
            exec->side = intent->side;
            exec->volume = intent->volume;
            exec->status = TD_EXEC_EXPIRED;
            snprintf(exec->reason, sizeof exec->reason, "not sent within %" PRId64 " ms", router->max_age_ms);
            rc = router->report_fn ? router->report_fn(router->report_opaque, ev, out_ev->offset)
                                   : td_tape_batch_append(batch, TD_STREAM_INPUT, ev);
        }
    }
    td_buf_reset(&router->line);
    if (rc == TD_OK && !expire) {
        td_symbol_spec_t spec;
        td_config_symbol_spec(router->config, pos->symbol, &spec);
        rc = td_gw_format_order(&router->line, pos->symbol, intent, spec.digits);
    }
    if (rc == TD_OK) {
        rc = td_tape_commit(tape, batch); /* consumes the batch either way */
        batch = NULL;
    }
    td_tape_batch_destroy(batch);
    if (rc != TD_OK)
        return rc;
    pos->next = pos->stored = out_ev->offset + 1;
    if (expire) {
        router->stats.expired++;
        (*expired_now)++;
        td_log_write(router->log, TD_LOG_WARN, "router", TD_OK,
                     "expired intent=%s symbol=%s age_ms=%" PRId64 " max_age_ms=%" PRId64, intent->intent_id,
                     pos->symbol, age_ms, router->max_age_ms);
        return TD_OK;
    }
    /* recorded as sent: from here on it is never sent again, whatever happens */
    if (td_gw_server_send(server, NULL, router->line.ptr, router->line.len) != TD_OK) {
        router->stats.lost++;
        td_log_write(router->log, TD_LOG_ERROR, "router", TD_ERR_IO,
                     "intent=%s recorded as sent but the EA session went away while writing it", intent->intent_id);
        return TD_OK;
    }
    router->stats.sent++;
    td_log_write(router->log, TD_LOG_DEBUG, "router", TD_OK, "sent intent=%s symbol=%s", intent->intent_id,
                 pos->symbol);
    if (burst_start > 0)
        return add_latency(router, (wall_s() - burst_start) * 1000.);
    if (burst_start == TD_ROUTER_FROM_INGEST) /* router->ev is the intent's input, read above */
        return add_latency(router, wall_s() * 1000. - (double)router->ev.ingest_ms);
    return TD_OK;
}

static td_err_t route_symbol(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, const char *symbol,
                             double burst_start, uint64_t *expired_now)
{
    route_pos_t *pos = NULL;
    td_err_t rc = position(router, tape, symbol, &pos);
    if (rc != TD_OK)
        return rc;
    if (pos->next < td_tape_next_offset(tape, TD_STREAM_OUTPUT, symbol)) {
        td_tape_iter_t *iter = NULL;
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, pos->next, &iter);
        td_event_t *ev = calloc(1, sizeof *ev);
        if (rc == TD_OK && !ev)
            rc = TD_ERR_NOMEM;
        bool blocked = false;
        while (rc == TD_OK && !blocked) {
            rc = td_tape_iter_next(iter, ev);
            if (rc != TD_OK)
                break;
            if (ev->kind == TD_EV_ORDER_INTENT)
                rc = route_intent(router, tape, server, pos, ev, burst_start, &blocked, expired_now);
            else
                pos->next = ev->offset + 1;
        }
        if (rc == TD_ERR_END)
            rc = TD_OK;
        td_tape_iter_destroy(iter);
        free(ev);
    }
    if (rc == TD_OK && burst_start <= 0 && pos->next != pos->stored) { /* not right after a burst */
        td_tape_batch_t *batch = NULL;
        rc = td_tape_batch_new(tape, &batch);
        if (rc == TD_OK)
            rc = put_next(batch, symbol, pos->next);
        if (rc == TD_OK) {
            rc = td_tape_commit(tape, batch);
            batch = NULL;
        }
        td_tape_batch_destroy(batch);
        if (rc == TD_OK)
            pos->stored = pos->next;
    }
    return rc;
}

td_err_t td_router_run(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, double burst_start,
                       uint64_t *expired_now, char *errbuf, size_t errlen)
{
    *expired_now = 0;
    router->n_symbols = 0;
    /* a RocksDB scan once; then the writer's stream map, which every output append goes through */
    td_err_t rc = router->scanned ? td_tape_known_symbols(tape, TD_STREAM_OUTPUT, collect_symbol, router)
                                  : td_tape_symbols(tape, TD_STREAM_OUTPUT, collect_symbol, router);
    for (size_t i = 0; rc == TD_OK && i < router->n_symbols; i++)
        rc = route_symbol(router, tape, server, router->symbols[i], burst_start, expired_now);
    router->scanned = router->scanned || rc == TD_OK;
    if (rc != TD_OK) {
        char detail[256];
        td_tape_last_error(tape, detail, sizeof detail);
        return td_err_set(errbuf, errlen, rc, "router: %s (%s)", td_err_name(rc), detail);
    }
    return TD_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void td_router_stats(td_router_t *router, td_router_stats_t *stats)
{
    *stats = router->stats;
    stats->latency_n = router->n_latency;
    if (router->n_latency) {
        qsort(router->latency_ms, router->n_latency, sizeof *router->latency_ms, cmp_double);
        size_t n = router->n_latency;
        stats->latency_p50_ms = router->latency_ms[(n - 1) / 2];
        stats->latency_p99_ms = router->latency_ms[(n * 99 + 99) / 100 - 1];
        stats->latency_max_ms = router->latency_ms[n - 1];
    }
}
