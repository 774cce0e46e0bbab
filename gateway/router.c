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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/protocol.h"

#define SYMBOLS_MAX 256

typedef struct route_pos {
    char symbol[TD_SYMBOL_MAX + 1];
    uint64_t next;     /* the next output offset to scan */
    uint64_t stored;   /* what router/next/<SYMBOL> holds */
    uint64_t ack_next; /* the next input offset to look at for the EA's reports (while one is pending) */
    bool warned;       /* its lack of an account was logged */
} route_pos_t;

/* An intent recorded as sent that the EA has not reported on yet. */
typedef struct pending {
    char symbol[TD_SYMBOL_MAX + 1];
    char intent_id[TD_ID_MAX + 1];
    uint64_t out_offset, in_offset; /* the intent's output offset and its input's */
    uint64_t session;               /* the session of the symbol's account it was last written to (0: none yet) */
} pending_t;

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
    td_event_t ev, out_ev;
    td_router_report_fn report_fn; /* Kafka mode, else NULL */
    void *report_opaque;
    td_router_read_time_fn read_time_fn; /* Kafka mode, else NULL */
    void *read_time_opaque;
    pending_t *pending; /* in the order they were sent; router/pending holds the committed list */
    size_t n_pending, cap_pending;
    bool pending_loaded;
    bool pending_dirty;     /* reports removed entries since router/pending was last committed */
    uint64_t sessions_seen; /* the server's session count at the last look for new sessions */
    uint64_t crash_after;   /* test hook (router.h): SIGKILL after this many "sent" records, 0 = never */
    uint64_t sent_records;
    char detail[256]; /* the tape's detail of the last failed tape call of a td_router_run */
};

void td_router_set_report_fn(td_router_t *router, td_router_report_fn fn, void *opaque)
{
    router->report_fn = fn;
    router->report_opaque = opaque;
}

void td_router_set_read_time_fn(td_router_t *router, td_router_read_time_fn fn, void *opaque)
{
    router->read_time_fn = fn;
    router->read_time_opaque = opaque;
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
    const char *hook = getenv(TD_ROUTER_CRASH_HOOK_ENV);
    if (hook && *hook)
        router->crash_after = strtoull(hook, NULL, 10);
    if (!*td_config_str(config, "gateway.account"))
        td_log_write(log, TD_LOG_WARN, "router", TD_OK,
                     "gateway.account is not set: the orders of a symbol without symbols.<SYMBOL>.account are never "
                     "sent (they expire after router.max_age_ms=%" PRId64 ")",
                     max_age_ms);
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
    free(router->pending);
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
    td_err_t rc = td_tape_get_meta(tape, key, &router->val, router->detail, sizeof router->detail);
    if (rc == TD_OK)
        rc = td_gw_acked_decode(router->val.ptr, router->val.len, &next); /* the same decimal form */
    else if (rc == TD_ERR_NOT_FOUND)
        rc = TD_OK;
    if (rc != TD_OK)
        return rc;
    route_pos_t *p = &router->pos[router->n_pos++];
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    p->next = p->stored = next;
    p->ack_next = UINT64_MAX;
    *pos = p;
    return TD_OK;
}

static td_err_t put_next(td_tape_batch_t *batch, const char *symbol, uint64_t next, char *errbuf, size_t errlen)
{
    char key[64], val[24];
    snprintf(key, sizeof key, "router/next/%s", symbol);
    int n = td_gw_acked_encode(next, val, sizeof val);
    return td_tape_batch_put_meta(batch, key, val, (size_t)n, errbuf, errlen);
}

/* ---- intents sent but not reported on by the EA (router/pending) ---- */

static td_err_t pending_add(td_router_t *router, const char *symbol, const char *intent_id, uint64_t out_offset,
                            uint64_t in_offset, uint64_t session)
{
    if (router->n_pending == router->cap_pending) {
        size_t cap = router->cap_pending ? router->cap_pending * 2 : 16;
        pending_t *p = realloc(router->pending, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        router->pending = p;
        router->cap_pending = cap;
    }
    pending_t *p = &router->pending[router->n_pending++];
    memset(p, 0, sizeof *p);
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    snprintf(p->intent_id, sizeof p->intent_id, "%s", intent_id);
    p->out_offset = out_offset;
    p->in_offset = in_offset;
    p->session = session;
    return TD_OK;
}

static void pending_remove(td_router_t *router, size_t i)
{
    memmove(&router->pending[i], &router->pending[i + 1], (router->n_pending - i - 1) * sizeof *router->pending);
    router->n_pending--;
}

/* Puts the list, except entry `skip` (SIZE_MAX: none), plus the entry `extra` (NULL: none), as
 * router/pending: one "SYMBOL<TAB>OUT_OFFSET<TAB>IN_OFFSET<TAB>INTENT_ID<LF>" line per intent. */
static td_err_t put_pending(td_router_t *router, td_tape_batch_t *batch, size_t skip, const pending_t *extra)
{
    td_buf_t text;
    td_buf_init(&text);
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i <= router->n_pending; i++) {
        const pending_t *p = i < router->n_pending ? &router->pending[i] : extra;
        if (i == skip || !p)
            continue;
        rc = td_buf_printf(&text, "%s\t%" PRIu64 "\t%" PRIu64 "\t%s\n", p->symbol, p->out_offset, p->in_offset,
                           p->intent_id);
    }
    if (rc == TD_OK)
        rc = td_tape_batch_put_meta(batch, TD_ROUTER_PENDING_KEY, text.ptr, text.len, router->detail,
                                    sizeof router->detail);
    td_buf_fini(&text);
    return rc;
}

/* One decimal field of a router/pending line. */
static bool parse_u64(const char *text, size_t len, uint64_t *value)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    *value = v;
    return true;
}

/* Reads router/pending (once, at the first run). TD_ERR_CORRUPT for a line it cannot read. */
static td_err_t load_pending(td_router_t *router, td_tape_t *tape)
{
    router->pending_loaded = true;
    td_buf_reset(&router->val);
    td_err_t rc = td_tape_get_meta(tape, TD_ROUTER_PENDING_KEY, &router->val, router->detail, sizeof router->detail);
    if (rc == TD_ERR_NOT_FOUND)
        return TD_OK;
    const char *text = (const char *)router->val.ptr;
    size_t len = router->val.len, at = 0;
    while (rc == TD_OK && at < len) {
        const char *line = text + at, *f[4];
        const char *lf = memchr(line, '\n', len - at);
        size_t n = 0;
        f[n++] = line;
        for (const char *c = line; lf && c < lf && n < 4; c++)
            if (*c == '\t')
                f[n++] = c + 1;
        uint64_t out_offset = 0, in_offset = 0;
        size_t sym_len = n == 4 ? (size_t)(f[1] - f[0] - 1) : 0, id_len = n == 4 ? (size_t)(lf - f[3]) : 0;
        if (n != 4 || sym_len == 0 || sym_len > TD_SYMBOL_MAX || id_len == 0 || id_len > TD_ID_MAX ||
            memchr(f[3], '\t', id_len) || !parse_u64(f[1], (size_t)(f[2] - f[1] - 1), &out_offset) ||
            !parse_u64(f[2], (size_t)(f[3] - f[2] - 1), &in_offset))
            return TD_ERR_CORRUPT;
        char symbol[TD_SYMBOL_MAX + 1], id[TD_ID_MAX + 1];
        snprintf(symbol, sizeof symbol, "%.*s", (int)sym_len, f[0]);
        snprintf(id, sizeof id, "%.*s", (int)id_len, f[3]);
        rc = pending_add(router, symbol, id, out_offset, in_offset, 0);
        at = (size_t)(lf - text) + 1;
    }
    for (size_t i = 0; rc == TD_OK && i < router->n_pending; i++) {
        route_pos_t *pos = NULL; /* the EA's reports on it come after the intent's input */
        rc = position(router, tape, router->pending[i].symbol, &pos);
        if (rc == TD_OK && pos->ack_next > router->pending[i].in_offset + 1)
            pos->ack_next = router->pending[i].in_offset + 1;
    }
    if (rc == TD_OK && router->n_pending)
        td_log_write(router->log, TD_LOG_INFO, "router", TD_OK,
                     "%zu intent(s) recorded as sent without a report from the EA: resent to the next session "
                     "unless older than %" PRId64 " ms",
                     router->n_pending, router->max_age_ms);
    return rc;
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

/* Appends to batch (or hands to report_fn) the ExecutionReport that expires the intent out_ev:
 * status expired, reason "<what> within N ms", stamped with the symbol's latest input time so
 * that the stream's time never goes back. Uses router->ev. */
static td_err_t append_expiry(td_router_t *router, td_tape_t *tape, td_tape_batch_t *batch, const char *symbol,
                              const td_event_t *out_ev, const char *what)
{
    const td_order_intent_t *intent = &out_ev->u.intent;
    td_event_t *ev = &router->ev;
    int64_t time_ms = out_ev->time_ms;
    td_err_t rc = TD_OK;
    uint64_t end = td_tape_next_offset(tape, TD_STREAM_INPUT, symbol);
    if (end > 0)
        rc = td_tape_read(tape, TD_STREAM_INPUT, symbol, end - 1, ev, router->detail, sizeof router->detail);
    if (rc == TD_OK && ev->time_ms > time_ms)
        time_ms = ev->time_ms;
    if (rc == TD_OK)
        rc = td_event_init(ev, TD_EV_EXEC_REPORT, symbol, time_ms);
    if (rc != TD_OK)
        return rc;
    snprintf(ev->source, sizeof ev->source, "router");
    td_exec_report_t *exec = &ev->u.exec;
    memcpy(exec->intent_id, intent->intent_id, sizeof exec->intent_id);
    exec->side = intent->side;
    exec->volume = intent->volume;
    exec->status = TD_EXEC_EXPIRED;
    snprintf(exec->reason, sizeof exec->reason, "%s within %" PRId64 " ms", what, router->max_age_ms);
    return router->report_fn ? router->report_fn(router->report_opaque, ev, out_ev->offset)
                             : td_tape_batch_append(batch, TD_STREAM_INPUT, ev, router->detail, sizeof router->detail);
}

/* Drops from the pending list every intent the EA has reported on: an ExecutionReport input
 * (any status, from the EA, not the router's own expiry) with its id, read from each pending
 * symbol's ack_next to the stream's end. A symbol with nothing pending is not read. */
static td_err_t scan_reports(td_router_t *router, td_tape_t *tape)
{
    td_err_t rc = TD_OK;
    for (size_t p = 0; rc == TD_OK && p < router->n_pos; p++) {
        route_pos_t *pos = &router->pos[p];
        uint64_t end = td_tape_next_offset(tape, TD_STREAM_INPUT, pos->symbol);
        if (pos->ack_next >= end)
            continue;
        td_tape_iter_t *iter = NULL;
        rc = td_tape_iter_new(tape, TD_STREAM_INPUT, pos->symbol, pos->ack_next, &iter, router->detail,
                              sizeof router->detail);
        while (rc == TD_OK &&
               (rc = td_tape_iter_next(iter, &router->ev, router->detail, sizeof router->detail)) == TD_OK) {
            pos->ack_next = router->ev.offset + 1;
            if (router->ev.kind != TD_EV_EXEC_REPORT || strcmp(router->ev.source, "router") == 0)
                continue;
            for (size_t i = 0; i < router->n_pending; i++)
                if (strcmp(router->pending[i].symbol, pos->symbol) == 0 &&
                    strcmp(router->pending[i].intent_id, router->ev.u.exec.intent_id) == 0) {
                    pending_remove(router, i);
                    router->pending_dirty = true;
                    break;
                }
        }
        if (rc == TD_ERR_END)
            rc = TD_OK;
        td_tape_iter_destroy(iter);
    }
    /* a symbol with nothing pending is not read until its next intent is sent */
    for (size_t p = 0; rc == TD_OK && p < router->n_pos; p++) {
        bool any = false;
        for (size_t i = 0; !any && i < router->n_pending; i++)
            any = strcmp(router->pending[i].symbol, router->pos[p].symbol) == 0;
        if (!any)
            router->pos[p].ack_next = UINT64_MAX;
    }
    return rc;
}

/* A new EA session: every pending intent whose symbol's account has a session it was not written
 * to yet is written to it again (the EA refuses an id it has executed), or, older than
 * max_age_ms, recorded as expired ("sent, not reported on within N ms") with its report, in one
 * commit that also drops it from router/pending. The intents of an account without a session
 * wait for its next one: they never go to another account. */
static td_err_t resend_pending(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, uint64_t *expired_now)
{
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i < router->n_pending;) {
        pending_t *p = &router->pending[i];
        const char *account = td_config_symbol_account(router->config, p->symbol);
        uint64_t session = td_gw_server_session(server, account);
        if (session == 0 || session == p->session) {
            i++;
            continue;
        }
        rc = td_tape_read(tape, TD_STREAM_INPUT, p->symbol, p->in_offset, &router->ev, router->detail,
                          sizeof router->detail);
        int64_t age_ms = rc == TD_OK ? (int64_t)(wall_s() * 1000.) - router->ev.ingest_ms : 0;
        if (rc == TD_OK)
            rc = td_tape_read(tape, TD_STREAM_OUTPUT, p->symbol, p->out_offset, &router->out_ev, router->detail,
                              sizeof router->detail);
        if (rc == TD_OK &&
            (router->out_ev.kind != TD_EV_ORDER_INTENT || strcmp(router->out_ev.u.intent.intent_id, p->intent_id) != 0))
            rc = TD_ERR_CORRUPT;
        if (rc != TD_OK)
            break;
        if (age_ms > router->max_age_ms) {
            char key[32 + TD_ID_MAX];
            snprintf(key, sizeof key, "router/sent/%s", p->intent_id);
            td_tape_batch_t *batch = NULL;
            rc = td_tape_batch_new(tape, &batch, router->detail, sizeof router->detail);
            if (rc == TD_OK)
                rc = td_tape_batch_put_meta(batch, key, "expired", 7, router->detail, sizeof router->detail);
            if (rc == TD_OK)
                rc = put_pending(router, batch, i, NULL);
            if (rc == TD_OK)
                rc = append_expiry(router, tape, batch, p->symbol, &router->out_ev, "sent, not reported on by the EA");
            if (rc == TD_OK) {
                rc = td_tape_commit(tape, batch, router->detail, sizeof router->detail);
                batch = NULL;
            }
            td_tape_batch_destroy(batch);
            if (rc != TD_OK)
                break;
            router->stats.expired++;
            (*expired_now)++;
            td_log_write(router->log, TD_LOG_WARN, "router", TD_OK,
                         "expired intent=%s symbol=%s: sent, no report from the EA, age_ms=%" PRId64
                         " max_age_ms=%" PRId64,
                         p->intent_id, p->symbol, age_ms, router->max_age_ms);
            pending_remove(router, i);
            router->pending_dirty = false;
            continue;
        }
        td_symbol_spec_t spec;
        td_config_symbol_spec(router->config, p->symbol, &spec);
        td_buf_reset(&router->line);
        rc = td_gw_format_order(&router->line, p->symbol, &router->out_ev.u.intent, spec.digits);
        if (rc != TD_OK)
            break;
        if (td_gw_server_send(server, account, router->line.ptr, router->line.len) != TD_OK) {
            i++;
            continue; /* the session went away: the account's next one gets it */
        }
        p->session = session;
        router->stats.resent++;
        td_log_write(router->log, TD_LOG_INFO, "router", TD_OK,
                     "resent intent=%s symbol=%s to a new session of account %s: recorded as sent, no report from the "
                     "EA yet",
                     p->intent_id, p->symbol, account);
        i++;
    }
    return rc;
}

/* Handles one intent at output offset off: expire or send, to the session of the account that
 * trades its symbol (td_config_symbol_account) and to no other. *blocked when that account has no
 * open session, or the symbol no account (the intent waits; the scan of this symbol stops). */
static td_err_t route_intent(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, route_pos_t *pos,
                             const td_event_t *out_ev, double burst_start, bool *blocked, uint64_t *expired_now)
{
    const td_order_intent_t *intent = &out_ev->u.intent;
    char key[32 + TD_ID_MAX];
    snprintf(key, sizeof key, "router/sent/%s", intent->intent_id);
    td_buf_reset(&router->val);
    td_err_t rc = td_tape_get_meta(tape, key, &router->val, router->detail, sizeof router->detail);
    if (rc == TD_OK) { /* handled before (defensive: its commit moved next as well) */
        pos->next = out_ev->offset + 1;
        return TD_OK;
    }
    if (rc != TD_ERR_NOT_FOUND)
        return rc;
    /* the age counts from the arrival of the input that caused the intent (its ingest time), so
     * that intents the processor produces while catching up on a backlog are not sent late */
    rc = td_tape_read(tape, TD_STREAM_INPUT, pos->symbol, out_ev->input_offset, &router->ev, router->detail,
                      sizeof router->detail);
    if (rc == TD_ERR_NOT_FOUND) { /* Kafka mode: the mirrored input topic is behind the output topic */
        *blocked = true;
        return TD_OK;
    }
    if (rc != TD_OK)
        return rc;
    int64_t age_ms = (int64_t)(wall_s() * 1000.) - router->ev.ingest_ms;
    bool expire = age_ms > router->max_age_ms;
    const char *account = td_config_symbol_account(router->config, pos->symbol);
    if (!*account && !pos->warned) {
        pos->warned = true;
        td_log_write(router->log, TD_LOG_WARN, "router", TD_OK,
                     "symbol=%s has no account (symbols.%s.account, gateway.account): its orders are not sent, they "
                     "expire after max_age_ms=%" PRId64,
                     pos->symbol, pos->symbol, router->max_age_ms);
    }
    uint64_t session = server ? td_gw_server_session(server, account) : 0;
    if (!expire && session == 0) {
        *blocked = true;
        return TD_OK;
    }
    td_tape_batch_t *batch = NULL;
    rc = td_tape_batch_new(tape, &batch, router->detail, sizeof router->detail);
    if (rc == TD_OK)
        rc = td_tape_batch_put_meta(batch, key, expire ? "expired" : "sent", expire ? 7 : 4, router->detail,
                                    sizeof router->detail);
    if (rc == TD_OK)
        rc = put_next(batch, pos->symbol, out_ev->offset + 1, router->detail, sizeof router->detail);
    if (rc == TD_OK && expire)
        rc = append_expiry(router, tape, batch, pos->symbol, out_ev, "not sent");
    pending_t sent = {.out_offset = out_ev->offset, .in_offset = out_ev->input_offset, .session = session};
    if (rc == TD_OK && !expire) {
        snprintf(sent.symbol, sizeof sent.symbol, "%s", pos->symbol);
        memcpy(sent.intent_id, intent->intent_id, sizeof sent.intent_id);
        rc = put_pending(router, batch, SIZE_MAX, &sent);
    }
    td_buf_reset(&router->line);
    if (rc == TD_OK && !expire) {
        td_symbol_spec_t spec;
        td_config_symbol_spec(router->config, pos->symbol, &spec);
        rc = td_gw_format_order(&router->line, pos->symbol, intent, spec.digits);
    }
    if (rc == TD_OK) {
        rc = td_tape_commit(tape, batch, router->detail, sizeof router->detail); /* consumes the batch either way */
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
                     "expired intent=%s symbol=%s account=%s (%s) age_ms=%" PRId64 " max_age_ms=%" PRId64,
                     intent->intent_id, pos->symbol, *account ? account : "-",
                     !*account      ? "no account configured"
                     : session == 0 ? "no session of that account"
                                    : "already too old when routed",
                     age_ms, router->max_age_ms);
        return TD_OK;
    }
    /* recorded as sent and pending: from here on it is sent again only to a new session, and only
     * until the EA reports on it (the EA refuses an intent id it has executed) */
    rc = pending_add(router, sent.symbol, sent.intent_id, sent.out_offset, sent.in_offset, sent.session);
    if (rc != TD_OK)
        return rc;
    router->pending_dirty = false;
    if (pos->ack_next > sent.in_offset + 1)
        pos->ack_next = sent.in_offset + 1;
    router->sent_records++;
    if (router->crash_after && router->sent_records == router->crash_after) {
        td_log_write(router->log, TD_LOG_WARN, "router", TD_OK,
                     "test hook %s: killing the process after recording intent=%s as sent, before writing it",
                     TD_ROUTER_CRASH_HOOK_ENV, intent->intent_id);
        raise(SIGKILL);
    }
    if (td_gw_server_send(server, account, router->line.ptr, router->line.len) != TD_OK) {
        router->stats.lost++;
        td_log_write(router->log, TD_LOG_WARN, "router", TD_ERR_IO,
                     "intent=%s recorded as sent but the session of account %s went away while writing it: resent "
                     "to that account's next session",
                     intent->intent_id, account);
        return TD_OK;
    }
    router->stats.sent++;
    bool timed = burst_start > 0 || burst_start == TD_ROUTER_FROM_INGEST;
    double latency_ms = 0;
    if (burst_start > 0)
        latency_ms = (wall_s() - burst_start) * 1000.;
    else if (burst_start == TD_ROUTER_FROM_INGEST) { /* router->ev is the intent's input, read above */
        double read_s = 0;
        if (router->read_time_fn && router->read_time_fn(router->read_time_opaque, router->ev.ingest_ms, &read_s))
            latency_ms = (wall_s() - read_s) * 1000.;
        else
            latency_ms = wall_s() * 1000. - (double)router->ev.ingest_ms;
    }
    td_log_write(router->log, TD_LOG_DEBUG, "router", TD_OK,
                 "sent intent=%s symbol=%s account=%s tick_to_order_ms=%.3f", intent->intent_id, pos->symbol, account,
                 latency_ms);
    return timed ? add_latency(router, latency_ms) : TD_OK;
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
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, pos->next, &iter, router->detail, sizeof router->detail);
        td_event_t *ev = calloc(1, sizeof *ev);
        if (rc == TD_OK && !ev)
            rc = TD_ERR_NOMEM;
        bool blocked = false;
        while (rc == TD_OK && !blocked) {
            rc = td_tape_iter_next(iter, ev, router->detail, sizeof router->detail);
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
        rc = td_tape_batch_new(tape, &batch, router->detail, sizeof router->detail);
        if (rc == TD_OK)
            rc = put_next(batch, symbol, pos->next, router->detail, sizeof router->detail);
        if (rc == TD_OK) {
            rc = td_tape_commit(tape, batch, router->detail, sizeof router->detail);
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
    router->detail[0] = '\0';
    td_err_t rc = router->pending_loaded ? TD_OK : load_pending(router, tape);
    if (rc == TD_OK && router->n_pending)
        rc = scan_reports(router, tape);
    if (rc == TD_OK && server) {
        td_gw_stats_t st;
        td_gw_server_stats(server, &st);
        if (st.sessions != router->sessions_seen) { /* a new session: after a restart or a reconnect */
            router->sessions_seen = st.sessions;
            rc = resend_pending(router, tape, server, expired_now);
        }
    }
    /* a RocksDB scan once; then the writer's stream map, which every output append goes through */
    if (rc == TD_OK)
        rc = router->scanned ? td_tape_known_symbols(tape, TD_STREAM_OUTPUT, collect_symbol, router)
                             : td_tape_symbols(tape, TD_STREAM_OUTPUT, collect_symbol, router, router->detail,
                                               sizeof router->detail);
    for (size_t i = 0; rc == TD_OK && i < router->n_symbols; i++)
        rc = route_symbol(router, tape, server, router->symbols[i], burst_start, expired_now);
    router->scanned = router->scanned || rc == TD_OK;
    if (rc == TD_OK && burst_start <= 0 && router->pending_dirty) { /* reports seen: off the tick-to-order path */
        td_tape_batch_t *batch = NULL;
        rc = td_tape_batch_new(tape, &batch, router->detail, sizeof router->detail);
        if (rc == TD_OK)
            rc = put_pending(router, batch, SIZE_MAX, NULL);
        if (rc == TD_OK) {
            rc = td_tape_commit(tape, batch, router->detail, sizeof router->detail);
            batch = NULL;
        }
        td_tape_batch_destroy(batch);
        if (rc == TD_OK)
            router->pending_dirty = false;
    }
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "router: %s (%s)", td_err_name(rc), router->detail);
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
