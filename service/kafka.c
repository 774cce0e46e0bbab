/* kafka.c - the roles of `tapedeck run` in Kafka mode (see kafka.h). */
#include "service/kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/kafka.h"
#include "core/kafka_ingest.h"
#include "core/timeutil.h"
#include "gateway/journal_kafka.h"
#include "gateway/router.h"
#include "gateway/server.h"
#include "host/follow.h"
#include "host/host.h"

#define POLL_MS 100

static void print_ingest(td_service_t *service, const char *role, const td_ingest_t *ingest)
{
    td_ingest_stats_t st;
    td_ingest_stats(ingest, &st);
    td_service__say(service,
                    "tapedeck run: %s: %" PRIu64 " message(s) consumed: %" PRIu64 " input(s), %" PRIu64
                    " output(s), %" PRIu64 " state record(s) archived; %" PRIu64 " duplicate input(s) and %" PRIu64
                    " duplicate output(s) dropped, %" PRIu64 " refused; %" PRIu64 " commit(s)\n",
                    role, st.messages, st.inputs, st.outputs, st.states, st.duplicate_inputs, st.duplicate_outputs,
                    st.refused, st.commits);
}

/* ---- processor: what it publishes ---- */

typedef struct sym_state {
    char symbol[TD_SYMBOL_MAX + 1];
    uint64_t state_at;          /* input next offset when "proc/<SYMBOL>" was last produced; UINT64_MAX = never */
    int64_t state_ms;           /* monotonic ms when it was last produced */
    uint64_t days_at;           /* input next offset when its day index was last looked through; UINT64_MAX = never */
    uint64_t produced, snapday; /* what the tape's meta says */
    uint64_t new_produced, new_snapday;
} sym_state_t;

typedef struct proc {
    const td_kafka_opts_t *kopts;
    td_tape_t *tape;
    td_kafka_producer_t *producer;
    sym_state_t *syms;
    size_t n_syms, cap_syms;
    td_buf_t val, state;
    td_event_t *ev;
    td_day_range_t *days;
    size_t n_days, cap_days;
    uint64_t outputs_produced, states_produced;
    int64_t state_interval_ms; /* kafka.state_interval_ms */
    bool final;                /* the last publish before shutdown: every state that moved goes out */
    bool state_due;            /* a symbol's input moved past its last state record */
    bool scanned;              /* one td_tape_symbols pass done: then the writer's stream map lists them */
    char *err;
    size_t errlen;
} proc_t;

static td_err_t collect_day(void *opaque, const td_day_range_t *range)
{
    proc_t *proc = opaque;
    if (proc->n_days == proc->cap_days) {
        size_t cap = proc->cap_days ? 2 * proc->cap_days : 64;
        td_day_range_t *p = realloc(proc->days, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        proc->days = p;
        proc->cap_days = cap;
    }
    proc->days[proc->n_days++] = *range;
    return TD_OK;
}

static td_err_t load_days(proc_t *proc, td_stream_kind_t kind, const char *symbol)
{
    proc->n_days = 0;
    return td_tape_days(proc->tape, kind, symbol, collect_day, proc, NULL, 0);
}

static td_err_t produce_state(proc_t *proc, const char *symbol, const char *key)
{
    td_err_t rc = td_tape_get_state(proc->tape, key, &proc->state, NULL, 0);
    if (rc != TD_OK)
        return rc;
    td_kafka_header_t h[2] = {{TD_KAFKA_H_TYPE, "state", 5}, {TD_KAFKA_H_KEY, key, strlen(key)}};
    rc = td_kafka_produce(proc->producer, proc->kopts->output_topic, symbol, proc->state.ptr, proc->state.len, h, 2,
                          proc->err, proc->errlen);
    if (rc == TD_OK)
        proc->states_produced++;
    return rc;
}

static sym_state_t *sym_get(proc_t *proc, const char *symbol, td_err_t *rc)
{
    for (size_t i = 0; i < proc->n_syms; i++)
        if (strcmp(proc->syms[i].symbol, symbol) == 0)
            return &proc->syms[i];
    if (proc->n_syms == proc->cap_syms) {
        size_t cap = proc->cap_syms ? 2 * proc->cap_syms : 16;
        sym_state_t *p = realloc(proc->syms, cap * sizeof *p);
        if (!p) {
            *rc = TD_ERR_NOMEM;
            return NULL;
        }
        proc->syms = p;
        proc->cap_syms = cap;
    }
    sym_state_t *s = &proc->syms[proc->n_syms];
    memset(s, 0, sizeof *s);
    snprintf(s->symbol, sizeof s->symbol, "%s", symbol);
    s->state_at = UINT64_MAX;
    s->days_at = UINT64_MAX;
    char key[96];
    snprintf(key, sizeof key, "kafka/produced/%s", symbol);
    *rc = td_ingest_meta_u64(proc->tape, key, &s->produced);
    if (*rc == TD_ERR_NOT_FOUND)
        *rc = TD_OK;
    snprintf(key, sizeof key, "kafka/snapday/%s", symbol);
    if (*rc == TD_OK)
        *rc = td_ingest_meta_u64(proc->tape, key, &s->snapday);
    if (*rc == TD_ERR_NOT_FOUND)
        *rc = TD_OK;
    if (*rc != TD_OK)
        return NULL;
    proc->n_syms++;
    return s;
}

/* Enqueues what symbol has that is not delivered yet: its outputs from "produced" on (each with
 * its day), the day-start snapshots of the days after "snapday", and its state when its input
 * moved. Nothing is recorded here: publish() does after delivery. */
static td_err_t publish_symbol(void *opaque, const char *symbol)
{
    proc_t *proc = opaque;
    td_err_t rc = TD_OK;
    sym_state_t *s = sym_get(proc, symbol, &rc);
    if (!s)
        return rc;
    s->new_produced = s->produced;
    s->new_snapday = s->snapday;
    uint64_t end = td_tape_next_offset(proc->tape, TD_STREAM_OUTPUT, symbol);
    if (s->produced < end) {
        rc = load_days(proc, TD_STREAM_OUTPUT, symbol);
        td_tape_iter_t *iter = NULL;
        if (rc == TD_OK)
            rc = td_tape_iter_new(proc->tape, TD_STREAM_OUTPUT, symbol, s->produced, &iter, NULL, 0);
        size_t d = 0;
        while (rc == TD_OK) {
            rc = td_tape_iter_next(iter, proc->ev, NULL, 0);
            if (rc == TD_ERR_END) {
                rc = TD_OK;
                break;
            }
            while (rc == TD_OK && d < proc->n_days && proc->days[d].last_offset < proc->ev->offset)
                d++;
            if (rc == TD_OK && (d == proc->n_days || proc->days[d].first_offset > proc->ev->offset))
                rc =
                    td_err_set(proc->err, proc->errlen, TD_ERR_CORRUPT,
                               "%s: output offset %" PRIu64 " is in no day of the day index", symbol, proc->ev->offset);
            td_buf_reset(&proc->val);
            if (rc == TD_OK)
                rc = td_codec_encode(proc->ev, TD_CODEC_DEFAULT, &proc->val);
            if (rc == TD_OK) {
                char day[16];
                int n = snprintf(day, sizeof day, "%08" PRIu32, proc->days[d].trading_day);
                td_kafka_header_t h = {TD_KAFKA_H_DAY, day, (size_t)n};
                rc = td_kafka_produce(proc->producer, proc->kopts->output_topic, symbol, proc->val.ptr, proc->val.len,
                                      &h, 1, proc->err, proc->errlen);
            }
            if (rc == TD_OK) {
                s->new_produced = proc->ev->offset + 1;
                proc->outputs_produced++;
            }
        }
        td_tape_iter_destroy(iter);
    }
    /* a new day has a new input: the day index is looked through only when the input moved */
    uint64_t in_next = td_tape_next_offset(proc->tape, TD_STREAM_INPUT, symbol);
    bool look = rc == TD_OK && in_next != s->days_at;
    if (look)
        rc = load_days(proc, TD_STREAM_INPUT, symbol);
    bool looked_through = look;
    for (size_t i = 0; rc == TD_OK && look && i < proc->n_days; i++) {
        if (proc->days[i].trading_day <= s->snapday)
            continue;
        char key[96];
        td_host_snapshot_key(symbol, proc->days[i].trading_day, key, sizeof key);
        rc = produce_state(proc, symbol, key);
        if (rc == TD_ERR_NOT_FOUND) { /* not processed that far yet: look again next time */
            rc = TD_OK;
            looked_through = false;
            break;
        }
        if (rc == TD_OK)
            s->new_snapday = proc->days[i].trading_day;
    }
    if (rc == TD_OK && looked_through)
        s->days_at = in_next;
    int64_t now = td_mono_ms();
    bool moved = in_next != s->state_at;
    if (rc == TD_OK && moved && !proc->final && s->state_at != UINT64_MAX &&
        now - s->state_ms < proc->state_interval_ms) {
        proc->state_due = true; /* later: a state record per input batch would dwarf the outputs */
        moved = false;
    }
    if (rc == TD_OK && moved) {
        char key[96];
        td_host_state_key(symbol, key, sizeof key);
        rc = produce_state(proc, symbol, key);
        if (rc == TD_ERR_NOT_FOUND)
            rc = TD_OK;
        if (rc == TD_OK) {
            s->state_at = in_next;
            s->state_ms = now;
        }
    }
    return rc;
}

/* Produces what is new on every symbol, waits for its delivery, then records it. */
static td_err_t publish(proc_t *proc)
{
    proc->state_due = false;
    td_err_t rc = proc->scanned ? td_tape_known_symbols(proc->tape, TD_STREAM_INPUT, publish_symbol, proc)
                                : td_tape_symbols(proc->tape, TD_STREAM_INPUT, publish_symbol, proc, NULL, 0);
    proc->scanned = proc->scanned || rc == TD_OK;
    if (rc == TD_OK)
        rc = td_kafka_producer_wait(proc->producer, proc->kopts->delivery_timeout_ms, proc->err, proc->errlen);
    td_tape_batch_t *batch = NULL;
    for (size_t i = 0; rc == TD_OK && i < proc->n_syms; i++) {
        sym_state_t *s = &proc->syms[i];
        if (s->new_produced == s->produced && s->new_snapday == s->snapday)
            continue;
        char key[96];
        if (!batch)
            rc = td_tape_batch_new(proc->tape, &batch, NULL, 0);
        snprintf(key, sizeof key, "kafka/produced/%s", s->symbol);
        if (rc == TD_OK)
            rc = td_ingest_put_u64(batch, key, s->new_produced);
        snprintf(key, sizeof key, "kafka/snapday/%s", s->symbol);
        if (rc == TD_OK)
            rc = td_ingest_put_u64(batch, key, s->new_snapday);
    }
    if (rc == TD_OK && batch) {
        rc = td_tape_commit(proc->tape, batch, NULL, 0);
        batch = NULL;
        for (size_t i = 0; rc == TD_OK && i < proc->n_syms; i++) {
            proc->syms[i].produced = proc->syms[i].new_produced;
            proc->syms[i].snapday = proc->syms[i].new_snapday;
        }
    }
    td_tape_batch_destroy(batch);
    return rc;
}

/* ---- gateway: its hook and the router's callbacks ---- */

/* The gateway process in Kafka mode. With broker.mode external it also runs the order router: its
 * tape mirrors both topics (core/kafka_ingest.h) so that the router (gateway/router.h) finds each
 * intent and the input that caused it, and an expired intent's report is produced to the input
 * topic (account "router", seq = the intent's output offset + 1, so a re-send is dropped). */
typedef struct gw {
    const td_kafka_opts_t *kopts;
    td_tape_t *tape;
    td_gw_server_t *server;
    td_ingest_t *ingest;          /* broker.mode external only */
    td_router_t *router;          /* idem */
    td_kafka_producer_t *reports; /* idem: expired intents' reports */
    td_event_t report;
    td_buf_t val;
    td_log_t *log;
} gw_t;

static td_err_t gw_report(void *opaque, const td_event_t *report, uint64_t intent_offset)
{
    gw_t *gw = opaque;
    char err[512] = "";
    gw->report = *report;
    gw->report.offset = 0;
    gw->report.ingest_ms = 0; /* the consumers' tapes stamp it */
    td_buf_reset(&gw->val);
    td_err_t rc = td_codec_encode(&gw->report, TD_CODEC_NO_OFFSET, &gw->val);
    char seq[24];
    int n = snprintf(seq, sizeof seq, "%" PRIu64, intent_offset + 1);
    td_kafka_header_t h[2] = {{TD_KAFKA_H_ACCOUNT, "router", 6}, {TD_KAFKA_H_SEQ, seq, (size_t)n}};
    if (rc == TD_OK)
        rc = td_kafka_produce(gw->reports, gw->kopts->input_topic, report->symbol, gw->val.ptr, gw->val.len, h, 2, err,
                              sizeof err);
    if (rc == TD_OK)
        rc = td_kafka_producer_wait(gw->reports, gw->kopts->delivery_timeout_ms, err, sizeof err);
    if (rc != TD_OK)
        td_log_write(gw->log, TD_LOG_ERROR, "router", rc, "cannot produce the report of an expired intent: %s", err);
    return rc;
}

static bool gw_read_time(void *opaque, int64_t ingest_ms, double *read_s)
{
    return td_gw_kafka_read_time(opaque, ingest_ms, read_s);
}

/* The server's hook (its loop): mirror what the topics have, then route new intents. */
static td_err_t gw_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    (void)burst_start; /* the latency counts from each intent's input ingest time instead */
    gw_t *gw = opaque;
    td_err_t rc = TD_OK;
    for (int round = 0; rc == TD_OK && round < 16; round++) {
        uint64_t n = 0;
        rc = td_ingest_poll(gw->ingest, 0, &n, errbuf, errlen);
        if (n == 0)
            break;
    }
    uint64_t expired = 0;
    if (rc == TD_OK)
        rc = td_router_run(gw->router, gw->tape, gw->server, TD_ROUTER_FROM_INGEST, &expired, errbuf, errlen);
    return rc;
}

/* ---- the role's state ---- */

/* The state of a Kafka role between td_service_start and td_service_destroy. */
struct td_service_kafka {
    td_kafka_opts_t kopts;
    char client_id[64];
    td_ingest_t *ingest; /* the archiver's and the processor's consumer (the gateway's is gw.ingest) */
    proc_t proc;         /* the processor's */
    td_host_opts_t host;
    td_follow_t follow;
    gw_t gw; /* the gateway's */
    td_gw_kafka_t *journal;
    int wakeup[2]; /* the consumer's signal to the server's loop: route new intents now */
    bool external; /* broker.mode external: the gateway runs the order router */
};

/* ---- archiver ---- */

static td_err_t archiver_start(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    td_ingest_opts_t iopts = {.kafka = &k->kopts,
                              .inputs = true,
                              .outputs = true,
                              .batch_messages = (uint32_t)td_config_int(service->opts.config, "kafka.batch_messages"),
                              .log = service->opts.log};
    td_err_t rc = td_ingest_new(&iopts, service->tape, &k->ingest, err, errlen);
    if (rc == TD_OK) {
        td_service__say(service, "tapedeck run: archiver consuming %s and %s from %s into the local tape in %s\n",
                        k->kopts.input_topic, k->kopts.output_topic, k->kopts.brokers, service->opts.data_dir);
        td_service__flush(service);
    }
    return rc;
}

static td_err_t archiver_run(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    td_err_t rc = TD_OK;
    while (rc == TD_OK && !*service->stop) {
        uint64_t n = 0;
        rc = td_ingest_poll(k->ingest, POLL_MS, &n, err, errlen);
    }
    print_ingest(service, "archiver", k->ingest);
    td_service__flush(service);
    return rc;
}

/* ---- processor ---- */

static td_err_t processor_start(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    proc_t *proc = &k->proc;
    proc->kopts = &k->kopts;
    proc->tape = service->tape;
    proc->state_interval_ms = td_config_int(service->opts.config, "kafka.state_interval_ms");
    proc->err = err;
    proc->errlen = errlen;
    td_buf_init(&proc->val);
    td_buf_init(&proc->state);
    proc->ev = malloc(sizeof *proc->ev);
    k->host.batch_events = (uint32_t)td_config_int(service->opts.config, "tape.batch_events");
    k->host.log = service->opts.log;
    td_host_pipeline_config(service->opts.config, &k->host.pipeline);
    td_ingest_opts_t iopts = {.kafka = &k->kopts,
                              .inputs = true,
                              .batch_messages = (uint32_t)td_config_int(service->opts.config, "kafka.batch_messages"),
                              .log = service->opts.log};
    td_err_t rc = proc->ev ? TD_OK : TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_host_check_config(service->tape, &k->host.pipeline, err, errlen);
    if (rc == TD_OK)
        rc = td_kafka_producer_new(&k->kopts, service->opts.log, &proc->producer, err, errlen);
    if (rc == TD_OK)
        rc = td_kafka_producer_check_topic(proc->producer, k->kopts.output_topic, 30000, err, errlen);
    if (rc == TD_OK)
        rc = td_ingest_new(&iopts, service->tape, &k->ingest, err, errlen);
    if (rc == TD_OK) {
        td_service__say(
            service, "tapedeck run: processor consuming %s from %s into the local tape in %s, producing to %s (%s)\n",
            k->kopts.input_topic, k->kopts.brokers, service->opts.data_dir, k->kopts.output_topic,
            k->host.pipeline.paper ? "paper broker" : "broker.mode external: orders go to the gateway's router");
        td_service__flush(service);
    }
    return rc;
}

static td_err_t processor_run(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    proc_t *proc = &k->proc;
    proc->err = err;
    proc->errlen = errlen;
    td_err_t rc = TD_OK;
    uint64_t inputs = 0, outputs = 0;
    bool first = true;
    while (rc == TD_OK && !*service->stop) {
        uint64_t n = 0;
        rc = td_ingest_poll(k->ingest, POLL_MS, &n, err, errlen);
        if (rc == TD_OK && (n > 0 || first)) {
            td_host_stats_t st;
            rc = td_follow_process(&k->follow, service->tape, &k->host, &st, err, errlen); /* the symbols that grew */
            inputs += st.inputs;
            outputs += st.outputs;
        }
        if (rc == TD_OK && (n > 0 || first || proc->state_due)) /* idle: the states held back */
            rc = publish(proc);
        first = false;
    }
    if (rc == TD_OK) { /* stopped: every state that moved, so the archive ends where the processor did */
        proc->final = true;
        rc = publish(proc);
    }
    print_ingest(service, "processor", k->ingest);
    td_service__say(service,
                    "tapedeck run: processor: %" PRIu64 " input(s) processed, %" PRIu64 " output(s); %" PRIu64
                    " output(s) and %" PRIu64 " state record(s) produced\n",
                    inputs, outputs, proc->outputs_produced, proc->states_produced);
    td_service__flush(service);
    return rc;
}

static void processor_fini(td_service_kafka_t *k)
{
    proc_t *proc = &k->proc;
    td_kafka_producer_destroy(proc->producer);
    td_buf_fini(&proc->val);
    td_buf_fini(&proc->state);
    free(proc->syms);
    free(proc->days);
    free(proc->ev);
}

/* ---- gateway ---- */

static td_err_t gateway_start(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    gw_t *gw = &k->gw;
    const td_kafka_opts_t *kopts = &k->kopts;
    gw->kopts = kopts;
    gw->tape = service->tape;
    gw->log = service->opts.log;
    td_gw_server_opts_t opts; /* heartbeats close bars of the pipeline's timeframe, as on the local tape */
    td_service__gateway_opts(service->opts.config, &opts);
    k->external = td_config_int(service->opts.config, "broker.mode") != 0;
    td_err_t rc = td_gw_kafka_new(kopts, service->tape, service->opts.log, &k->journal, err, errlen);
    if (rc == TD_OK && k->external) {
        td_ingest_opts_t iopts = {.kafka = kopts,
                                  .inputs = true,
                                  .outputs = true,
                                  .batch_messages =
                                      (uint32_t)td_config_int(service->opts.config, "kafka.batch_messages"),
                                  .log = service->opts.log};
        rc = td_ingest_new(&iopts, service->tape, &gw->ingest, err, errlen);
        if (rc == TD_OK)
            rc = td_kafka_producer_new(kopts, service->opts.log, &gw->reports, err, errlen);
        if (rc == TD_OK)
            rc = td_router_new(service->opts.config, td_config_int(service->opts.config, "router.max_age_ms"),
                               service->opts.log, &gw->router);
        if (rc == TD_OK && pipe2(k->wakeup, O_NONBLOCK | O_CLOEXEC) != 0)
            rc = td_err_set(err, errlen, TD_ERR_IO, "gateway: pipe: %s", strerror(errno));
        if (rc == TD_OK) {
            td_router_set_report_fn(gw->router, gw_report, gw);
            td_router_set_read_time_fn(gw->router, gw_read_time, k->journal);
            td_ingest_wakeup(gw->ingest, k->wakeup[1]);
            opts.hook = gw_hook;
            opts.hook_opaque = gw;
            opts.hook_interval_ms = td_config_int(service->opts.config, "router.interval_ms"); /* the safety net */
            opts.hook_wakeup_fd = k->wakeup[0];
        }
    }
    if (rc == TD_OK) {
        opts.journal = td_gw_kafka_journal(k->journal);
        rc = td_gw_server_new(&opts, NULL, service->opts.log, &gw->server, err, errlen);
    }
    if (rc == TD_OK) {
        td_service__set_server(service, gw->server);
        char addr[64];
        td_gw_server_address(gw->server, addr, sizeof addr);
        td_service__say(service,
                        "tapedeck run: gateway listening on %s, producing to kafka topic %s at %s (acked sequence "
                        "numbers in the local tape in %s)%s\n",
                        addr, kopts->input_topic, kopts->brokers, service->opts.data_dir,
                        k->external ? "; order router following the output topic (broker.mode external)" : "");
        td_service__flush(service);
    }
    return rc;
}

static td_err_t gateway_run(td_service_t *service, td_service_kafka_t *k, char *err, size_t errlen)
{
    gw_t *gw = &k->gw;
    td_err_t rc = td_gw_server_run(gw->server, err, errlen);
    td_service__say_gateway(service, gw->server, "delivered to kafka");
    if (gw->router)
        td_service__say_router(service, gw->router);
    td_service__flush(service);
    return rc;
}

static void gateway_fini(td_service_t *service, td_service_kafka_t *k)
{
    gw_t *gw = &k->gw;
    td_ingest_destroy(gw->ingest); /* first: it signals wakeup[1] */
    gw->ingest = NULL;
    td_service__set_server(service, NULL);
    td_gw_server_destroy(gw->server);
    td_router_destroy(gw->router);
    for (int i = 0; i < 2; i++)
        if (k->wakeup[i] >= 0)
            close(k->wakeup[i]);
    td_kafka_producer_destroy(gw->reports);
    td_gw_kafka_destroy(k->journal);
    td_buf_fini(&gw->val);
}

/* ---- the service ---- */

td_err_t td_service__kafka_start(td_service_t *service, char *errbuf, size_t errlen)
{
    td_service_role_t role = service->opts.role;
    td_service_kafka_t *k = calloc(1, sizeof *k);
    if (!k)
        return TD_ERR_NOMEM;
    service->kafka_role = k;
    k->wakeup[0] = k->wakeup[1] = -1;
    td_buf_init(&k->gw.val);
    td_follow_init(&k->follow);
    td_kafka_opts_from_config(service->opts.config, NULL, &k->kopts);
    snprintf(k->client_id, sizeof k->client_id, "tapedeck-%s",
             role == TD_SERVICE_ARCHIVER    ? "archiver"
             : role == TD_SERVICE_PROCESSOR ? "processor"
                                            : "gateway");
    k->kopts.client_id = k->client_id;
    if (role == TD_SERVICE_ARCHIVER)
        return archiver_start(service, k, errbuf, errlen);
    if (role == TD_SERVICE_PROCESSOR)
        return processor_start(service, k, errbuf, errlen);
    TD_ASSERT(role == TD_SERVICE_GATEWAY);
    return gateway_start(service, k, errbuf, errlen);
}

td_err_t td_service__kafka_run(td_service_t *service, char *errbuf, size_t errlen)
{
    td_service_kafka_t *k = service->kafka_role;
    if (service->opts.role == TD_SERVICE_ARCHIVER)
        return archiver_run(service, k, errbuf, errlen);
    if (service->opts.role == TD_SERVICE_PROCESSOR)
        return processor_run(service, k, errbuf, errlen);
    return gateway_run(service, k, errbuf, errlen);
}

void td_service__kafka_fini(td_service_t *service)
{
    td_service_kafka_t *k = service->kafka_role;
    if (!k)
        return;
    gateway_fini(service, k);
    td_follow_fini(&k->follow);
    td_ingest_destroy(k->ingest);
    processor_fini(k);
    free(k);
    service->kafka_role = NULL;
}

td_err_t td_service_kafka_push(const td_config_t *config, td_log_t *log, const td_event_t *ev, char *errbuf,
                               size_t errlen)
{
    td_kafka_opts_t kopts;
    td_kafka_opts_from_config(config, "tapedeck-params", &kopts);
    td_kafka_producer_t *producer = NULL;
    td_buf_t val;
    td_buf_init(&val);
    td_err_t rc = td_codec_encode(ev, TD_CODEC_NO_OFFSET, &val);
    if (rc == TD_OK)
        rc = td_kafka_producer_new(&kopts, log, &producer, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_kafka_producer_check_topic(producer, kopts.input_topic, 30000, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_kafka_produce(producer, kopts.input_topic, ev->symbol, val.ptr, val.len, NULL, 0, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_kafka_producer_wait(producer, kopts.delivery_timeout_ms, errbuf, errlen);
    td_kafka_producer_destroy(producer);
    td_buf_fini(&val);
    return rc;
}
