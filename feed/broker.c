/* broker.c - the paper broker of `tapedeck feed` (see broker.h): a fill model per symbol, the
 * intent ids ever received, and the journal that makes both survive a restart.
 *
 * The intent ids are a list searched from the newest (a repeat is nearly always a recent order);
 * the journal's orders are kept in AT order for td_feed_broker_replay.
 */
#include "feed/broker.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/protocol.h"
#include "processors/fill.h"

typedef struct broker_symbol {
    char name[TD_SYMBOL_MAX + 1];
    td_symbol_spec_t spec;
    td_fill_t fill;
} broker_symbol_t;

typedef struct intent {
    char id[TD_ID_MAX + 1];
    uint32_t executions; /* from the journal's exec lines (or in memory without a journal) */
} intent_t;

typedef struct journal_order {
    size_t at;    /* submit before mapping this tick */
    char *fields; /* the ORDER line's fields */
} journal_order_t;

struct td_feed_broker {
    td_feed_broker_config_t config;
    broker_symbol_t syms[TD_FEED_SYMBOLS_MAX];
    size_t n_syms;
    td_outbuf_t fills;
    intent_t *intents; /* every intent id ever received, in arrival order */
    size_t n_intents, cap_intents;
    int journal_fd;
    journal_order_t *jorders; /* orders read from the journal, submitted again by replay */
    size_t n_jorders, j_next;
    uint64_t journal_exec_max; /* highest EXEC seq recorded in the journal */
    uint64_t executed, repeats_refused, malformed, exits, deals;
};

td_err_t td_feed_broker_new(const td_feed_broker_config_t *config, td_feed_broker_t **out)
{
    td_feed_broker_t *broker = calloc(1, sizeof *broker);
    *out = broker;
    if (!broker)
        return TD_ERR_NOMEM;
    broker->config = *config;
    broker->journal_fd = -1;
    td_outbuf_init(&broker->fills);
    return TD_OK;
}

void td_feed_broker_destroy(td_feed_broker_t *broker)
{
    if (!broker)
        return;
    free(broker->intents);
    for (size_t i = 0; i < broker->n_jorders; i++)
        free(broker->jorders[i].fields);
    free(broker->jorders);
    if (broker->journal_fd >= 0)
        close(broker->journal_fd);
    td_outbuf_fini(&broker->fills);
    free(broker);
}

td_err_t td_feed_broker_add_symbol(td_feed_broker_t *broker, const char *name, const td_symbol_spec_t *spec)
{
    if (broker->n_syms == TD_FEED_SYMBOLS_MAX || strlen(name) > TD_SYMBOL_MAX)
        return TD_ERR_INVALID;
    broker_symbol_t *sym = &broker->syms[broker->n_syms++];
    memcpy(sym->name, name, strlen(name) + 1);
    sym->spec = *spec;
    uint32_t h = 2166136261u; /* FNV-1a of the symbol: deal and order ids apart per symbol, as the host's */
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    td_fill_config_t fcfg = {
        .slippage_points = broker->config.slippage_points,
        .commission_per_lot = broker->config.commission_per_lot,
        .id_base = (uint64_t)(h & 0x7fffffffu) << 24,
    };
    td_fill_init(&sym->fill, &fcfg);
    return TD_OK;
}

/* ---- intents ---- */

static intent_t *intent_find(td_feed_broker_t *broker, const char *id)
{
    for (size_t i = broker->n_intents; i-- > 0;)
        if (strcmp(broker->intents[i].id, id) == 0)
            return &broker->intents[i];
    return NULL;
}

static intent_t *intent_add(td_feed_broker_t *broker, const char *id)
{
    if (broker->n_intents == broker->cap_intents) {
        size_t cap = broker->cap_intents ? broker->cap_intents * 2 : 64;
        intent_t *p = realloc(broker->intents, cap * sizeof *p);
        if (!p)
            return NULL;
        broker->intents = p;
        broker->cap_intents = cap;
    }
    intent_t *it = &broker->intents[broker->n_intents++];
    memset(it, 0, sizeof *it);
    snprintf(it->id, sizeof it->id, "%s", id);
    return it;
}

/* Parses an ORDER's fields (the line after "ORDER<TAB>") with the protocol's parser into intent and
 * its symbol's index; false when malformed or of a symbol the broker does not have. */
static bool order_parse(const td_feed_broker_t *broker, const char *fields, size_t len, td_order_intent_t *intent,
                        size_t *sym_index)
{
    static const char verb[] = "ORDER\t";
    char line[TD_GW_LINE_MAX + sizeof verb];
    td_gw_reply_t reply;
    char err[256];
    if (len >= TD_GW_LINE_MAX)
        return false;
    memcpy(line, verb, sizeof verb - 1);
    memcpy(line + sizeof verb - 1, fields, len);
    if (td_gw_parse_reply(line, sizeof verb - 1 + len, &reply, err, sizeof err) != TD_OK || reply.verb != TD_GW_ORDER)
        return false;
    *intent = reply.intent;
    for (*sym_index = 0; *sym_index < broker->n_syms; ++*sym_index)
        if (strcmp(broker->syms[*sym_index].name, reply.symbol) == 0)
            return true;
    return false;
}

/* ---- the journal ---- */

/* Appends one line and flushes it to disk. */
static td_err_t journal_write(td_feed_broker_t *broker, const char *line, size_t len)
{
    if (broker->journal_fd < 0)
        return TD_OK;
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(broker->journal_fd, line + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return TD_ERR_IO;
        off += (size_t)n;
    }
    return fdatasync(broker->journal_fd) == 0 ? TD_OK : TD_ERR_IO;
}

/* A whole number without sign or spaces: the journal's AT and SEQ. */
static bool field_u64(const char *p, size_t len, uint64_t *v)
{
    if (!len || len > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return true;
}

/* One journal line (its LF removed) of the file at path, line number lineno. */
static td_err_t journal_line(td_feed_broker_t *broker, char *line, size_t n_ticks, const char *path, unsigned lineno,
                             char *errbuf, size_t errlen)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    uint64_t n = 0;
    if (!t1 || !t2 || !field_u64(t1 + 1, (size_t)(t2 - t1 - 1), &n))
        return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                          "%s:%u: expected 'order<TAB>AT<TAB>FIELDS' or 'exec<TAB>SEQ<TAB>INTENT'", path, lineno);
    if (t1 - line == 5 && memcmp(line, "order", 5) == 0) {
        td_order_intent_t intent;
        size_t si;
        if (n > n_ticks || (broker->n_jorders && n < broker->jorders[broker->n_jorders - 1].at) ||
            !order_parse(broker, t2 + 1, strlen(t2 + 1), &intent, &si))
            return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                              "%s:%u: order: expected a tick index in order and an ORDER of these ticks' symbols", path,
                              lineno);
        journal_order_t *p = realloc(broker->jorders, (broker->n_jorders + 1) * sizeof *p);
        char *copy = p ? strdup(t2 + 1) : NULL;
        if (p)
            broker->jorders = p;
        if (!copy || (!intent_find(broker, intent.intent_id) && !intent_add(broker, intent.intent_id))) {
            free(copy);
            return TD_ERR_NOMEM;
        }
        broker->jorders[broker->n_jorders++] = (journal_order_t){(size_t)n, copy};
        return TD_OK;
    }
    if (t1 - line == 4 && memcmp(line, "exec", 4) == 0) {
        intent_t *it = intent_find(broker, t2 + 1);
        if (!it || n <= broker->journal_exec_max)
            return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                              "%s:%u: exec: expected an increasing sequence number and an intent ordered above", path,
                              lineno);
        it->executions++;
        broker->journal_exec_max = n;
        return TD_OK;
    }
    return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s:%u: expected 'order' or 'exec' first", path, lineno);
}

td_err_t td_feed_broker_open_journal(td_feed_broker_t *broker, const char *path, size_t n_ticks, char *errbuf,
                                     size_t errlen)
{
    TD_ASSERT(broker->journal_fd < 0);
    FILE *f = fopen(path, "r");
    td_err_t rc = TD_OK;
    if (f) {
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        unsigned lineno = 0;
        while (rc == TD_OK && (len = getline(&line, &cap, f)) >= 0) {
            lineno++;
            if (len == 0 || line[len - 1] != '\n') /* torn by a crash in the middle of the write */
                rc = td_err_set(errbuf, errlen, TD_ERR_PARSE,
                                "%s:%u: expected a whole line ending with LF (a torn last write?)", path, lineno);
            else {
                line[len - 1] = '\0';
                rc = journal_line(broker, line, n_ticks, path, lineno, errbuf, errlen);
            }
        }
        free(line);
        fclose(f);
    }
    if (rc == TD_OK) {
        broker->journal_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (broker->journal_fd < 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: %s", path, strerror(errno));
    }
    return rc;
}

/* ---- orders ---- */

/* Queues an order in its symbol's fill model. A live order is journaled first (so a restart
 * rebuilds the same fills and refuses its id); an order of the journal is only submitted again. */
static td_err_t submit(td_feed_broker_t *broker, const char *fields, size_t len, size_t at, int64_t time_ms,
                       bool from_journal)
{
    FILE *log = broker->config.log;
    td_order_intent_t intent;
    size_t si = 0;
    if (!order_parse(broker, fields, len, &intent, &si)) {
        broker->malformed++;
        if (log)
            fprintf(log, "tapedeck feed: refused a malformed ORDER: %.*s\n", (int)(len > 300 ? 300 : len), fields);
        return TD_OK;
    }
    intent_t *known = intent_find(broker, intent.intent_id);
    if (!from_journal && known) {
        broker->repeats_refused++;
        if (log)
            fprintf(log, "tapedeck feed: refused ORDER intent=%s: this intent id was already received\n",
                    intent.intent_id);
        return TD_OK;
    }
    td_err_t rc = TD_OK;
    if (!from_journal && broker->journal_fd >= 0) {
        td_buf_t line;
        td_buf_init(&line);
        rc = td_buf_printf(&line, "order\t%zu\t%.*s\n", at, (int)len, fields);
        if (rc == TD_OK)
            rc = journal_write(broker, (const char *)line.ptr, line.len);
        td_buf_fini(&line);
        if (rc != TD_OK)
            return rc;
    }
    if (!known && !intent_add(broker, intent.intent_id))
        return TD_ERR_NOMEM;
    rc = td_fill_submit(&broker->syms[si].fill, time_ms, &intent);
    if (rc != TD_OK) {
        broker->malformed++;
        if (log)
            fprintf(log, "tapedeck feed: cannot queue ORDER intent=%s: %s\n", intent.intent_id, td_err_name(rc));
    }
    return TD_OK;
}

td_err_t td_feed_broker_order(td_feed_broker_t *broker, const char *fields, size_t len, size_t at, int64_t time_ms)
{
    return submit(broker, fields, len, at, time_ms, false);
}

td_err_t td_feed_broker_replay(td_feed_broker_t *broker, size_t at, int64_t time_ms)
{
    td_err_t rc = TD_OK;
    while (rc == TD_OK && broker->j_next < broker->n_jorders && broker->jorders[broker->j_next].at == at) {
        const char *fields = broker->jorders[broker->j_next++].fields;
        rc = submit(broker, fields, strlen(fields), at, time_ms, true);
    }
    return rc;
}

bool td_feed_broker_replaying(const td_feed_broker_t *broker)
{
    return broker->j_next < broker->n_jorders;
}

td_err_t td_feed_broker_on_tick(td_feed_broker_t *broker, size_t sym, int64_t time_ms, const td_tick_t *tick,
                                const td_outbuf_t **fills)
{
    TD_ASSERT(sym < broker->n_syms);
    broker_symbol_t *s = &broker->syms[sym];
    td_outbuf_clear(&broker->fills);
    *fills = &broker->fills;
    if (s->fill.n_queue == 0 && td_fill_volume(&s->fill) == 0)
        return TD_OK; /* nothing to fill, no position to stop: the common case, kept cheap */
    return td_fill_on_tick(&s->fill, &s->spec, time_ms, tick, broker->config.day_offset_minutes, &broker->fills);
}

td_err_t td_feed_broker_executed(td_feed_broker_t *broker, const td_exec_report_t *exec, uint64_t seq)
{
    broker->deals++;
    intent_t *it = intent_find(broker, exec->intent_id);
    if (!it) {
        broker->exits++; /* "sl:<id>" / "tp:<id>" */
        return TD_OK;
    }
    broker->executed++;
    if (broker->journal_fd < 0) {
        it->executions++;
        return TD_OK;
    }
    if (seq <= broker->journal_exec_max)
        return TD_OK; /* rebuilt after a restart: the journal counted it when it happened */
    char line[TD_ID_MAX + 48];
    int n = snprintf(line, sizeof line, "exec\t%" PRIu64 "\t%s\n", seq, it->id);
    it->executions++;
    broker->journal_exec_max = seq;
    return journal_write(broker, line, (size_t)n);
}

void td_feed_broker_stats(const td_feed_broker_t *broker, td_feed_broker_stats_t *stats)
{
    memset(stats, 0, sizeof *stats);
    stats->executed = broker->executed;
    stats->repeats_refused = broker->repeats_refused;
    stats->malformed = broker->malformed;
    stats->exits = broker->exits;
    stats->deals = broker->deals;
    for (size_t i = 0; i < broker->n_syms; i++)
        stats->unfilled += broker->syms[i].fill.n_queue;
    stats->intents = broker->n_intents;
    for (size_t i = 0; i < broker->n_intents; i++) {
        uint32_t x = broker->intents[i].executions;
        stats->most_executions = x > stats->most_executions ? x : stats->most_executions;
        stats->intents_executed += x > 0;
    }
    stats->journal_orders = broker->n_jorders;
    stats->journal_exec_max = broker->journal_exec_max;
}
