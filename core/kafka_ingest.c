/* kafka_ingest.c - Kafka topics into the local tape with the offsets and dedup state in the same
 * batch (see kafka_ingest.h). The in-memory tables mirror what the tape holds after each commit;
 * a failed commit leaves the tape refusing further commits (sticky), so its caller stops and a
 * restart reloads them from the tape. */
#include "core/kafka_ingest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/timeutil.h"

typedef struct part {
    const char *topic;
    bool is_input;
    uint32_t partition;
    uint64_t next; /* next Kafka offset to read */
    bool dirty;
} part_t;

typedef struct seq_entry {
    char symbol[TD_SYMBOL_MAX + 1];
    char account[64];
    uint64_t seq;
    bool dirty;
} seq_entry_t;

typedef struct out_entry {
    char symbol[TD_SYMBOL_MAX + 1];
    uint64_t next; /* the output stream's next offset, this batch included */
} out_entry_t;

struct td_ingest {
    td_ingest_opts_t opts;
    td_kafka_opts_t kafka;
    td_tape_t *tape;
    td_kafka_consumer_t *consumer;
    part_t *parts;
    size_t n_parts;
    seq_entry_t *seqs;
    size_t n_seqs, cap_seqs;
    out_entry_t *outs;
    size_t n_outs, cap_outs;
    td_event_t *ev;
    td_ingest_stats_t stats;
};

td_err_t td_ingest_meta_u64(td_tape_t *tape, const char *key, uint64_t *value)
{
    td_buf_t val;
    td_buf_init(&val);
    td_err_t rc = td_tape_get_meta(tape, key, &val, NULL, 0);
    if (rc == TD_OK) {
        uint64_t v = 0;
        if (val.len == 0 || val.len > 20)
            rc = TD_ERR_CORRUPT;
        for (size_t i = 0; rc == TD_OK && i < val.len; i++) {
            if (val.ptr[i] < '0' || val.ptr[i] > '9' || v > (UINT64_MAX - 9) / 10)
                rc = TD_ERR_CORRUPT;
            else
                v = v * 10 + (uint64_t)(val.ptr[i] - '0');
        }
        if (rc == TD_OK)
            *value = v;
    }
    td_buf_fini(&val);
    return rc;
}

td_err_t td_ingest_put_u64(td_tape_batch_t *batch, const char *key, uint64_t value)
{
    char val[24];
    int n = snprintf(val, sizeof val, "%" PRIu64, value);
    return td_tape_batch_put_meta(batch, key, val, (size_t)n, NULL, 0);
}

static void offset_key(const part_t *part, char *key, size_t len)
{
    snprintf(key, len, "kafka/offset/%s/%" PRIu32, part->topic, part->partition);
}

static void seq_key(const seq_entry_t *entry, char *key, size_t len)
{
    snprintf(key, len, "kafka/seq/%s/%s", entry->symbol, entry->account);
}

/* The (symbol, account) entry, loaded from the tape on first use. NULL with *rc on failure. */
static seq_entry_t *seq_get(td_ingest_t *ingest, const char *symbol, const td_slice_t *account, td_err_t *rc)
{
    for (size_t i = 0; i < ingest->n_seqs; i++) {
        seq_entry_t *e = &ingest->seqs[i];
        if (strcmp(e->symbol, symbol) == 0 && strlen(e->account) == account->len &&
            memcmp(e->account, account->ptr, account->len) == 0)
            return e;
    }
    if (account->len == 0 || account->len >= sizeof ingest->seqs[0].account ||
        memchr(account->ptr, '/', account->len) || memchr(account->ptr, '\0', account->len)) {
        *rc = TD_ERR_CORRUPT;
        return NULL;
    }
    if (ingest->n_seqs == ingest->cap_seqs) {
        size_t cap = ingest->cap_seqs ? 2 * ingest->cap_seqs : 16;
        seq_entry_t *p = realloc(ingest->seqs, cap * sizeof *p);
        if (!p) {
            *rc = TD_ERR_NOMEM;
            return NULL;
        }
        ingest->seqs = p;
        ingest->cap_seqs = cap;
    }
    seq_entry_t *e = &ingest->seqs[ingest->n_seqs];
    memset(e, 0, sizeof *e);
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
    memcpy(e->account, account->ptr, account->len);
    char key[160];
    seq_key(e, key, sizeof key);
    *rc = td_ingest_meta_u64(ingest->tape, key, &e->seq);
    if (*rc == TD_ERR_NOT_FOUND)
        *rc = TD_OK;
    if (*rc != TD_OK)
        return NULL;
    ingest->n_seqs++;
    return e;
}

static out_entry_t *out_get(td_ingest_t *ingest, const char *symbol, td_err_t *rc)
{
    for (size_t i = 0; i < ingest->n_outs; i++)
        if (strcmp(ingest->outs[i].symbol, symbol) == 0)
            return &ingest->outs[i];
    if (ingest->n_outs == ingest->cap_outs) {
        size_t cap = ingest->cap_outs ? 2 * ingest->cap_outs : 16;
        out_entry_t *p = realloc(ingest->outs, cap * sizeof *p);
        if (!p) {
            *rc = TD_ERR_NOMEM;
            return NULL;
        }
        ingest->outs = p;
        ingest->cap_outs = cap;
    }
    out_entry_t *e = &ingest->outs[ingest->n_outs++];
    snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
    e->next = td_tape_next_offset(ingest->tape, TD_STREAM_OUTPUT, symbol);
    return e;
}

td_err_t td_ingest_new(const td_ingest_opts_t *opts, td_tape_t *tape, td_ingest_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    td_ingest_t *ingest = calloc(1, sizeof *ingest);
    if (!ingest)
        return TD_ERR_NOMEM;
    ingest->opts = *opts;
    ingest->kafka = *opts->kafka;
    ingest->opts.kafka = &ingest->kafka;
    ingest->tape = tape;
    size_t topics = (opts->inputs ? 1 : 0) + (opts->outputs ? 1 : 0);
    ingest->n_parts = topics * ingest->kafka.partitions;
    ingest->parts = calloc(ingest->n_parts ? ingest->n_parts : 1, sizeof *ingest->parts);
    ingest->ev = malloc(sizeof *ingest->ev);
    td_kafka_tp_t *tps = calloc(ingest->n_parts ? ingest->n_parts : 1, sizeof *tps);
    td_err_t rc = ingest->parts && ingest->ev && tps ? TD_OK : TD_ERR_NOMEM;
    if (rc == TD_OK && topics == 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "kafka ingest: no topic to consume");
    if (rc == TD_OK)
        rc = td_kafka_consumer_new(&ingest->kafka, opts->log, &ingest->consumer, errbuf, errlen);
    size_t n = 0;
    for (int t = 0; rc == TD_OK && t < 2; t++) {
        bool is_input = t == 0;
        if ((is_input && !opts->inputs) || (!is_input && !opts->outputs))
            continue;
        const char *topic = is_input ? ingest->kafka.input_topic : ingest->kafka.output_topic;
        rc = td_kafka_consumer_check_topic(ingest->consumer, topic, 30000, errbuf, errlen);
        for (uint32_t p = 0; rc == TD_OK && p < ingest->kafka.partitions; p++, n++) {
            part_t *part = &ingest->parts[n];
            *part = (part_t){.topic = topic, .is_input = is_input, .partition = p};
            char key[320];
            offset_key(part, key, sizeof key);
            rc = td_ingest_meta_u64(tape, key, &part->next);
            if (rc == TD_ERR_NOT_FOUND)
                rc = TD_OK;
            else if (rc != TD_OK)
                td_err_set(errbuf, errlen, rc, "tape meta %s: expected a decimal offset", key);
            tps[n] = (td_kafka_tp_t){topic, p, part->next};
        }
    }
    if (rc == TD_OK)
        rc = td_kafka_consumer_assign(ingest->consumer, tps, n, errbuf, errlen);
    free(tps);
    if (rc != TD_OK) {
        td_ingest_destroy(ingest);
        return rc;
    }
    *out = ingest;
    return TD_OK;
}

void td_ingest_destroy(td_ingest_t *ingest)
{
    if (!ingest)
        return;
    td_kafka_consumer_destroy(ingest->consumer);
    free(ingest->parts);
    free(ingest->seqs);
    free(ingest->outs);
    free(ingest->ev);
    free(ingest);
}

void td_ingest_stats(const td_ingest_t *ingest, td_ingest_stats_t *stats)
{
    *stats = ingest->stats;
}

static part_t *part_of(td_ingest_t *ingest, const td_kafka_msg_t *msg)
{
    for (size_t i = 0; i < ingest->n_parts; i++)
        if (ingest->parts[i].partition == msg->partition && strcmp(ingest->parts[i].topic, msg->topic) == 0)
            return &ingest->parts[i];
    return NULL;
}

/* Decodes msg's value into ingest->ev and checks that its symbol is the message's key. */
static td_err_t decode(td_ingest_t *ingest, const td_kafka_msg_t *msg, char *errbuf, size_t errlen)
{
    char detail[256] = "";
    td_err_t rc = td_codec_decode(msg->value.ptr, msg->value.len, ingest->ev, detail, sizeof detail);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "kafka %s [%" PRIu32 "] offset %" PRIu64 ": %s", msg->topic,
                          msg->partition, msg->offset, detail);
    if (strlen(ingest->ev->symbol) != msg->key.len || memcmp(ingest->ev->symbol, msg->key.ptr, msg->key.len) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                          "kafka %s [%" PRIu32 "] offset %" PRIu64 ": key '%.*s' but the event's symbol is %s",
                          msg->topic, msg->partition, msg->offset, (int)msg->key.len, (const char *)msg->key.ptr,
                          ingest->ev->symbol);
    return TD_OK;
}

static td_err_t take_input(td_ingest_t *ingest, td_tape_batch_t *batch, const td_kafka_msg_t *msg, char *errbuf,
                           size_t errlen)
{
    td_err_t rc = decode(ingest, msg, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    td_event_t *ev = ingest->ev;
    td_slice_t account;
    uint64_t seq = 0;
    seq_entry_t *entry = NULL;
    if (td_kafka_msg_header(msg, TD_KAFKA_H_ACCOUNT, &account) == TD_OK) {
        rc = td_kafka_msg_header_u64(msg, TD_KAFKA_H_SEQ, &seq);
        if (rc == TD_OK)
            entry = seq_get(ingest, ev->symbol, &account, &rc);
        if (rc != TD_OK)
            return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                              "kafka %s [%" PRIu32 "] offset %" PRIu64 ": account/seq headers: %s", msg->topic,
                              msg->partition, msg->offset, td_err_name(rc));
        if (seq <= entry->seq) {
            ingest->stats.duplicate_inputs++;
            return TD_OK;
        }
    }
    ev->offset = 0;
    char detail[256] = "";
    rc = td_tape_batch_append(batch, TD_STREAM_INPUT, ev, detail, sizeof detail);
    if (rc == TD_ERR_INVALID) { /* the tape's own checks: the same for every consumer, so skipped alike */
        td_log_write(ingest->opts.log, TD_LOG_WARN, "ingest", rc,
                     "kafka %s [%" PRIu32 "] offset %" PRIu64 " skipped: %s", msg->topic, msg->partition, msg->offset,
                     detail);
        ingest->stats.refused++;
        rc = TD_OK;
    } else if (rc == TD_OK) {
        ingest->stats.inputs++;
    }
    if (rc == TD_OK && entry) { /* a refused line still moves the pair's seq: it was handled */
        entry->seq = seq;
        entry->dirty = true;
    }
    return rc;
}

static td_err_t take_output(td_ingest_t *ingest, td_tape_batch_t *batch, const td_kafka_msg_t *msg, char *errbuf,
                            size_t errlen)
{
    td_slice_t type;
    if (td_kafka_msg_header(msg, TD_KAFKA_H_TYPE, &type) == TD_OK) {
        td_slice_t key;
        char name[128];
        if (type.len != 5 || memcmp(type.ptr, "state", 5) != 0 ||
            td_kafka_msg_header(msg, TD_KAFKA_H_KEY, &key) != TD_OK || key.len >= sizeof name || key.len < 6 ||
            (memcmp(key.ptr, "proc/", 5) != 0 && memcmp(key.ptr, "snap/", 5) != 0))
            return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                              "kafka %s [%" PRIu32 "] offset %" PRIu64
                              ": a record of type '%.*s' (expected state, key proc/... or snap/...)",
                              msg->topic, msg->partition, msg->offset, (int)type.len, (const char *)type.ptr);
        memcpy(name, key.ptr, key.len);
        name[key.len] = '\0';
        ingest->stats.states++;
        return td_tape_batch_put_state(batch, name, msg->value.ptr, msg->value.len, NULL, 0);
    }
    td_err_t rc = decode(ingest, msg, errbuf, errlen);
    uint64_t day = 0;
    if (rc == TD_OK && (td_kafka_msg_header_u64(msg, TD_KAFKA_H_DAY, &day) != TD_OK || day > 99991231 ||
                        !td_time_valid_yyyymmdd((uint32_t)day)))
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                        "kafka %s [%" PRIu32 "] offset %" PRIu64 ": day header: expected YYYYMMDD", msg->topic,
                        msg->partition, msg->offset);
    out_entry_t *entry = rc == TD_OK ? out_get(ingest, ingest->ev->symbol, &rc) : NULL;
    if (rc != TD_OK)
        return rc;
    td_event_t *ev = ingest->ev;
    if (ev->offset < entry->next) {
        ingest->stats.duplicate_outputs++;
        return TD_OK;
    }
    if (ev->offset > entry->next)
        return td_err_set(errbuf, errlen, TD_ERR_ORDER,
                          "kafka %s [%" PRIu32 "] offset %" PRIu64 ": %s output offset %" PRIu64
                          " but the tape's next is %" PRIu64 ": outputs are missing",
                          msg->topic, msg->partition, msg->offset, ev->symbol, ev->offset, entry->next);
    uint64_t want = ev->offset;
    char detail[256] = "";
    rc = td_tape_batch_append_in_day(batch, TD_STREAM_OUTPUT, ev, (uint32_t)day, detail, sizeof detail);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "kafka %s [%" PRIu32 "] offset %" PRIu64 ": %s", msg->topic,
                          msg->partition, msg->offset, detail);
    TD_ASSERT(ev->offset == want);
    entry->next++;
    ingest->stats.outputs++;
    return TD_OK;
}

td_err_t td_ingest_poll(td_ingest_t *ingest, int timeout_ms, uint64_t *consumed, char *errbuf, size_t errlen)
{
    *consumed = 0;
    td_tape_batch_t *batch = NULL;
    td_err_t rc = TD_OK;
    while (rc == TD_OK && *consumed < ingest->opts.batch_messages) {
        td_kafka_msg_t msg;
        rc = td_kafka_consume(ingest->consumer, *consumed ? 0 : timeout_ms, &msg, errbuf, errlen);
        if (rc == TD_ERR_END) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        part_t *part = part_of(ingest, &msg);
        if (!part || msg.offset < part->next) { /* not ours, or already taken (a fetch re-delivered it) */
            td_kafka_msg_release(&msg);
            continue;
        }
        if (!batch)
            rc = td_tape_batch_new(ingest->tape, &batch, NULL, 0);
        if (rc == TD_OK)
            rc = part->is_input ? take_input(ingest, batch, &msg, errbuf, errlen)
                                : take_output(ingest, batch, &msg, errbuf, errlen);
        if (rc == TD_OK) {
            part->next = msg.offset + 1;
            part->dirty = true;
            (*consumed)++;
            ingest->stats.messages++;
        }
        td_kafka_msg_release(&msg);
    }
    for (size_t i = 0; rc == TD_OK && i < ingest->n_parts; i++) {
        part_t *part = &ingest->parts[i];
        if (!part->dirty)
            continue;
        char key[320];
        offset_key(part, key, sizeof key);
        rc = td_ingest_put_u64(batch, key, part->next);
    }
    for (size_t i = 0; rc == TD_OK && i < ingest->n_seqs; i++) {
        seq_entry_t *e = &ingest->seqs[i];
        if (!e->dirty)
            continue;
        char key[160];
        seq_key(e, key, sizeof key);
        rc = td_ingest_put_u64(batch, key, e->seq);
    }
    if (rc == TD_OK && batch) {
        char detail[256] = "";
        rc = td_tape_commit(ingest->tape, batch, detail, sizeof detail);
        batch = NULL;
        if (rc != TD_OK) {
            td_err_set(errbuf, errlen, rc, "tape commit failed: %s", detail);
        } else {
            ingest->stats.commits++;
            for (size_t i = 0; i < ingest->n_parts; i++)
                ingest->parts[i].dirty = false;
            for (size_t i = 0; i < ingest->n_seqs; i++)
                ingest->seqs[i].dirty = false;
        }
    }
    td_tape_batch_destroy(batch);
    return rc;
}

void td_ingest_wakeup(td_ingest_t *ingest, int fd)
{
    td_kafka_consumer_wakeup(ingest->consumer, fd);
}
