/* journal_kafka.c - the gateway's Kafka journal (see journal_kafka.h). */
#include "gateway/journal_kafka.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/codec.h"

#define TIME_MIN_MS (-2208988800000LL) /* 1900-01-01, the tape's range */
#define TIME_MAX_MS (7258118400000LL)  /* 2200-01-01 */
#define READ_TIMES 1024                /* bursts remembered for td_gw_kafka_read_time */

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
        rc = td_tape_get_meta(journal->tape, key, &val);
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
    return td_tape_get_meta(journal->tape, TD_GW_CLOCK_KEY, state);
}

static td_err_t kafka_commit(void *opaque, const char *account, uint64_t acked, const td_buf_t *clock_state,
                             char *errbuf, size_t errlen)
{
    td_gw_kafka_t *journal = opaque;
    journal->burst_ms = 0;
    td_err_t rc = td_kafka_producer_wait(journal->producer, journal->opts.delivery_timeout_ms, errbuf, errlen);
    char key[80], val[24];
    td_tape_batch_t *batch = NULL;
    if (rc == TD_OK)
        rc = td_gw_acked_key(account, key, sizeof key);
    if (rc == TD_OK)
        rc = td_tape_batch_new(journal->tape, &batch);
    if (rc == TD_OK) {
        int n = td_gw_acked_encode(acked, val, sizeof val);
        rc = td_tape_batch_put_meta(batch, key, val, (size_t)n);
    }
    if (rc == TD_OK && clock_state)
        rc = td_tape_batch_put_meta(batch, TD_GW_CLOCK_KEY, clock_state->ptr, clock_state->len);
    if (rc == TD_OK) {
        rc = td_tape_commit(journal->tape, batch);
        batch = NULL;
        if (rc != TD_OK) {
            char detail[256];
            td_tape_last_error(journal->tape, detail, sizeof detail);
            td_err_set(errbuf, errlen, rc, "gateway state commit failed: %s", detail);
        }
    }
    td_tape_batch_destroy(batch);
    return rc;
}

td_err_t td_gw_kafka_new(const td_kafka_opts_t *opts, td_tape_t *tape, td_log_t *log, td_gw_kafka_t **out, char *errbuf,
                         size_t errlen)
{
    *out = NULL;
    td_gw_kafka_t *journal = calloc(1, sizeof *journal);
    if (!journal)
        return TD_ERR_NOMEM;
    journal->opts = *opts;
    journal->tape = tape;
    journal->log = log;
    td_buf_init(&journal->val);
    journal->journal = (td_gw_journal_t){journal, kafka_acked, kafka_append, kafka_commit, kafka_clock_state};
    td_err_t rc = td_kafka_producer_new(opts, log, &journal->producer, errbuf, errlen);
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
    free(journal);
}

const td_gw_journal_t *td_gw_kafka_journal(td_gw_kafka_t *journal)
{
    return &journal->journal;
}
