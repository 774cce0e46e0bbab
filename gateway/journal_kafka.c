/* journal_kafka.c - the gateway's Kafka journal (see journal_kafka.h). */
#include "gateway/journal_kafka.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/codec.h"

#define TIME_MIN_MS (-2208988800000LL) /* 1900-01-01, the tape's range */
#define TIME_MAX_MS (7258118400000LL)  /* 2200-01-01 */
#define READ_TIMES 1024                /* bursts remembered for td_gw_kafka_read_time */

/* A committed burst waiting to be durable: the producer's position after it, what to record. */
typedef struct pending {
    uint64_t mark;
    char account[32];
    uint64_t acked;
    bool has_clock;
    td_buf_t clock; /* its buffer is kept when the slot is reused */
} pending_t;

struct td_gw_kafka {
    td_kafka_opts_t opts;
    td_kafka_producer_t *producer;
    td_tape_t *tape;
    td_log_t *log;
    td_gw_journal_t journal;
    td_buf_t val;
    int64_t burst_ms; /* ingest time of the current burst's events, 0 between bursts */
    /* the last READ_TIMES bursts' precise start, a ring; one entry per distinct burst_ms */
    struct {
        int64_t ms;
        double s;
    } read_times[READ_TIMES];
    size_t n_read_times; /* entries written so far; the newest is at (n - 1) % READ_TIMES */
    /* committed bursts not yet settled, oldest first: a ring of cap_pending slots from head */
    pending_t *pending;
    size_t cap_pending, head, n_pending;
    int wakeup[2]; /* the producer's delivery reports wake the gateway's loop through this pipe */
};

/* A new burst's ingest time (ms, as stamped on its events), remembering its precise start. */
static int64_t burst_begin(td_gw_kafka_t *journal)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    size_t n = journal->n_read_times;
    if (n == 0 || journal->read_times[(n - 1) % READ_TIMES].ms != ms) { /* keep the earliest of a ms */
        journal->read_times[n % READ_TIMES].ms = ms;
        journal->read_times[n % READ_TIMES].s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        journal->n_read_times++;
    }
    return ms;
}

bool td_gw_kafka_read_time(const td_gw_kafka_t *journal, int64_t ingest_ms, double *read_s)
{
    size_t n = journal->n_read_times, kept = n < READ_TIMES ? n : READ_TIMES;
    for (size_t i = 1; i <= kept; i++) { /* newest first: the order's input is a recent one */
        size_t at = (n - i) % READ_TIMES;
        if (journal->read_times[at].ms == ingest_ms) {
            *read_s = journal->read_times[at].s;
            return true;
        }
    }
    return false;
}

static td_err_t kafka_acked(void *opaque, const char *account, uint64_t *acked)
{
    td_gw_kafka_t *journal = opaque;
    char key[80];
    *acked = 0;
    td_err_t rc = td_gw_acked_key(account, key, sizeof key);
    td_buf_t val;
    td_buf_init(&val);
    if (rc == TD_OK)
        rc = td_tape_get_meta(journal->tape, key, &val, NULL, 0);
    if (rc == TD_OK)
        rc = td_gw_acked_decode(val.ptr, val.len, acked);
    else if (rc == TD_ERR_NOT_FOUND)
        rc = TD_OK;
    td_buf_fini(&val);
    return rc;
}

static td_err_t kafka_append(void *opaque, const char *account, uint64_t seq, td_event_t *ev, char *errbuf,
                             size_t errlen)
{
    td_gw_kafka_t *journal = opaque;
    if (td_event_is_output(ev->kind) || ev->kind == TD_EV_NONE)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "a %s event is not an input", td_event_kind_name(ev->kind));
    if (ev->time_ms < TIME_MIN_MS || ev->time_ms >= TIME_MAX_MS)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: time %lld ms outside 1900..2200", ev->symbol,
                          (long long)ev->time_ms);
    if (!journal->burst_ms)
        journal->burst_ms = burst_begin(journal);
    ev->ingest_ms = journal->burst_ms;
    ev->offset = 0;
    td_buf_reset(&journal->val);
    td_err_t rc = td_codec_encode(ev, TD_CODEC_NO_OFFSET, &journal->val);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: the %s event does not encode", ev->symbol,
                          td_event_kind_name(ev->kind));
    char seqtext[24];
    int n = snprintf(seqtext, sizeof seqtext, "%" PRIu64, seq);
    td_kafka_header_t headers[2] = {{TD_KAFKA_H_ACCOUNT, account, strlen(account)},
                                    {TD_KAFKA_H_SEQ, seqtext, (size_t)n}};
    rc = td_kafka_produce(journal->producer, journal->opts.input_topic, ev->symbol, journal->val.ptr, journal->val.len,
                          headers, 2, errbuf, errlen);
    return rc == TD_ERR_INVALID ? TD_ERR_IO : rc; /* a producer failure is never the line's fault */
}

static td_err_t kafka_clock_state(void *opaque, td_buf_t *state)
{
    td_gw_kafka_t *journal = opaque;
    td_buf_reset(state);
    return td_tape_get_meta(journal->tape, TD_GW_CLOCK_KEY, state, NULL, 0);
}

/* One more slot at the ring's end; the ring doubles when full (its slots moved in order). */
static pending_t *pending_push(td_gw_kafka_t *journal)
{
    if (journal->n_pending == journal->cap_pending) {
        size_t cap = journal->cap_pending ? 2 * journal->cap_pending : 64;
        pending_t *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return NULL;
        for (size_t i = 0; i < journal->cap_pending; i++)
            ring[i] = journal->pending[(journal->head + i) % journal->cap_pending];
        for (size_t i = journal->cap_pending; i < cap; i++)
            td_buf_init(&ring[i].clock);
        free(journal->pending);
        journal->pending = ring;
        journal->cap_pending = cap;
        journal->head = 0;
    }
    return &journal->pending[(journal->head + journal->n_pending) % journal->cap_pending];
}

static pending_t *pending_at(const td_gw_kafka_t *journal, size_t i)
{
    return &journal->pending[(journal->head + i) % journal->cap_pending];
}

/* The burst's messages are enqueued; its record waits in the ring for them (kafka_settle). */
static td_err_t kafka_commit(void *opaque, const char *account, uint64_t acked, const td_buf_t *clock_state,
                             char *errbuf, size_t errlen)
{
    td_gw_kafka_t *journal = opaque;
    journal->burst_ms = 0;
    td_err_t rc = td_kafka_producer_failure(journal->producer, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    uint64_t mark = td_kafka_producer_produced(journal->producer);
    pending_t *last = journal->n_pending ? pending_at(journal, journal->n_pending - 1) : NULL;
    pending_t *p = last && last->mark == mark && strcmp(last->account, account) == 0 ? last : pending_push(journal);
    if (!p)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "gateway: out of memory");
    if (p != last)
        journal->n_pending++;
    p->mark = mark;
    snprintf(p->account, sizeof p->account, "%s", account);
    p->acked = acked;
    p->has_clock = clock_state != NULL;
    td_buf_reset(&p->clock);
    if (clock_state && td_buf_append(&p->clock, clock_state->ptr, clock_state->len) != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "gateway: out of memory");
    return TD_OK;
}

/* Records the settled bursts [0, k) of the ring - each account's sequence number, the newest
 * clock - in one commit of the local tape. */
static td_err_t record_settled(td_gw_kafka_t *journal, size_t k, char *errbuf, size_t errlen)
{
    td_tape_batch_t *batch = NULL;
    td_err_t rc = td_tape_batch_new(journal->tape, &batch, NULL, 0);
    const pending_t *clock = NULL;
    for (size_t i = 0; rc == TD_OK && i < k; i++) {
        const pending_t *p = pending_at(journal, i);
        char key[80], val[24];
        rc = td_gw_acked_key(p->account, key, sizeof key);
        if (rc == TD_OK) {
            int n = td_gw_acked_encode(p->acked, val, sizeof val);
            rc = td_tape_batch_put_meta(batch, key, val, (size_t)n, NULL, 0); /* a later one of the key wins */
        }
        if (p->has_clock)
            clock = p;
    }
    if (rc == TD_OK && clock)
        rc = td_tape_batch_put_meta(batch, TD_GW_CLOCK_KEY, clock->clock.ptr, clock->clock.len, NULL, 0);
    if (rc == TD_OK) {
        char detail[256] = "";
        rc = td_tape_commit(journal->tape, batch, detail, sizeof detail);
        batch = NULL;
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "gateway state commit failed: %s", detail);
    }
    td_tape_batch_destroy(batch);
    return rc;
}

static td_err_t kafka_settle(void *opaque, bool wait, td_gw_durable_fn durable, void *ctx, char *errbuf, size_t errlen)
{
    td_gw_kafka_t *journal = opaque;
    td_err_t rc;
    if (wait) {
        rc = td_kafka_producer_wait(journal->producer, journal->opts.delivery_timeout_ms, errbuf, errlen);
    } else {
        char drain[64];
        while (read(journal->wakeup[0], drain, sizeof drain) > 0)
            ;
        td_kafka_producer_poll(journal->producer);
        rc = td_kafka_producer_failure(journal->producer, errbuf, errlen);
    }
    if (rc != TD_OK)
        return rc;
    uint64_t durable_mark = td_kafka_producer_durable(journal->producer);
    size_t k = 0;
    while (k < journal->n_pending && pending_at(journal, k)->mark <= durable_mark)
        k++;
    if (k == 0)
        return TD_OK;
    rc = record_settled(journal, k, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    for (size_t i = 0; i < k; i++) { /* one report per run of an account's bursts */
        const pending_t *p = pending_at(journal, i);
        if (i + 1 == k || strcmp(pending_at(journal, i + 1)->account, p->account) != 0)
            durable(ctx, p->account, p->acked);
    }
    journal->head = (journal->head + k) % journal->cap_pending;
    journal->n_pending -= k;
    return TD_OK;
}

td_err_t td_gw_kafka_new(const td_kafka_opts_t *opts, td_tape_t *tape, td_log_t *log, td_gw_kafka_t **out, char *errbuf,
                         size_t errlen)
{
    *out = NULL;
    td_gw_kafka_t *journal = calloc(1, sizeof *journal);
    if (!journal)
        return TD_ERR_NOMEM;
    journal->opts = *opts;
    journal->opts.linger_ms = 0; /* a burst goes out as it is produced: nobody waits for it any more */
    journal->tape = tape;
    journal->log = log;
    journal->wakeup[0] = journal->wakeup[1] = -1;
    td_buf_init(&journal->val);
    td_err_t rc = TD_OK;
    if (pipe2(journal->wakeup, O_NONBLOCK | O_CLOEXEC) != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "gateway: pipe: %s", strerror(errno));
    journal->journal = (td_gw_journal_t){journal,           kafka_acked,  kafka_append,      kafka_commit,
                                         kafka_clock_state, kafka_settle, journal->wakeup[0]};
    if (rc == TD_OK)
        rc = td_kafka_producer_new(&journal->opts, log, &journal->producer, errbuf, errlen);
    if (rc == TD_OK)
        td_kafka_producer_wakeup(journal->producer, journal->wakeup[1]);
    if (rc == TD_OK)
        rc = td_kafka_producer_check_topic(journal->producer, opts->input_topic, 30000, errbuf, errlen);
    if (rc != TD_OK) {
        td_gw_kafka_destroy(journal);
        return rc;
    }
    *out = journal;
    return TD_OK;
}

void td_gw_kafka_destroy(td_gw_kafka_t *journal)
{
    if (!journal)
        return;
    td_kafka_producer_destroy(journal->producer);
    td_buf_fini(&journal->val);
    for (size_t i = 0; i < journal->cap_pending; i++)
        td_buf_fini(&journal->pending[i].clock);
    free(journal->pending);
    for (int i = 0; i < 2; i++)
        if (journal->wakeup[i] >= 0)
            close(journal->wakeup[i]);
    free(journal);
}

const td_gw_journal_t *td_gw_kafka_journal(td_gw_kafka_t *journal)
{
    return &journal->journal;
}
