/* kafka.c - the librdkafka adapter (see kafka.h for the contract). The only file that translates
 * librdkafka's errors into td_err_t. */
#include "core/kafka.h"
#include "core/timeutil.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct td_kafka_producer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *wakeup_q; /* the main (delivery report) queue while a wake-up fd is set */
    td_kafka_opts_t opts;
    td_log_t *log;
    uint64_t outstanding, delivered;
    /* positions: the n-th message enqueued has position n - 1 (its msg_opaque); every position
     * below `durable` is delivered. done[p % cap] says whether position p in [durable, produced)
     * is delivered (cap a power of two, grown while more are in flight). */
    uint64_t produced, durable;
    uint8_t *done;
    size_t cap;
    td_err_t failed; /* sticky: a delivery failed or a fatal error was raised */
    char failed_msg[256];
};

struct td_kafka_consumer {
    rd_kafka_t *rk;
    rd_kafka_queue_t *wakeup_q; /* the consumer queue while a wake-up fd is set, else NULL */
    td_kafka_opts_t opts;
    td_log_t *log;
};

void td_kafka_opts_from_config(const td_config_t *config, const char *client_id, td_kafka_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->brokers = td_config_str(config, "kafka.brokers");
    opts->input_topic = td_config_str(config, "kafka.input_topic");
    opts->output_topic = td_config_str(config, "kafka.output_topic");
    opts->partitions = (uint32_t)td_config_int(config, "kafka.partitions");
    opts->linger_ms = (int)td_config_int(config, "kafka.linger_ms");
    opts->delivery_timeout_ms = (int)td_config_int(config, "kafka.delivery_timeout_ms");
    opts->fetch_wait_ms = (int)td_config_int(config, "kafka.fetch_wait_ms");
    opts->max_in_flight = (int)td_config_int(config, "kafka.max_in_flight");
    opts->client_id = client_id;
}

uint32_t td_kafka_partition(const char *symbol, uint32_t partitions)
{
    TD_ASSERT(partitions > 0);
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)symbol; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h % partitions;
}

static td_err_t conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errbuf, size_t errlen)
{
    char detail[256];
    if (rd_kafka_conf_set(conf, name, value, detail, sizeof detail) != RD_KAFKA_CONF_OK)
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "kafka: %s=%s refused: %s", name, value, detail);
    return TD_OK;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque);
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* The settings shared by producer and consumer. */
static td_err_t conf_common(rd_kafka_conf_t *conf, const td_kafka_opts_t *opts, char *errbuf, size_t errlen)
{
    if (!opts->brokers || !*opts->brokers)
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                          "kafka.brokers: expected host:port[,host:port...], found nothing");
    td_err_t rc = conf_set(conf, "bootstrap.servers", opts->brokers, errbuf, errlen);
    if (rc == TD_OK && opts->client_id)
        rc = conf_set(conf, "client.id", opts->client_id, errbuf, errlen);
    if (rc == TD_OK) /* reconnect quickly after a broker comes back */
        rc = conf_set(conf, "reconnect.backoff.max.ms", "1000", errbuf, errlen);
    if (rc == TD_OK) /* a small produce or fetch goes out now, not after the previous one's TCP ACK */
        rc = conf_set(conf, "socket.nagle.disable", "true", errbuf, errlen);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return rc;
}

/* librdkafka's own log lines (any of its threads): into our log, errors as warnings (a broker
 * that is down is reported by the error callback too), the rest as debug. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    void *opaque = rd_kafka_opaque(rk);
    if (!opaque)
        return;
    td_log_t *log = rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? ((td_kafka_producer_t *)opaque)->log
                                                           : ((td_kafka_consumer_t *)opaque)->log;
    td_log_write(log, level <= 3 ? TD_LOG_WARN : TD_LOG_DEBUG, "kafka", TD_OK, "librdkafka %s: %s", fac, buf);
}

/* librdkafka's error callback (its poll thread = the caller's): transient errors are logged; a
 * fatal one (the idempotent producer lost its guarantees) fails the producer. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)rk;
    td_log_t *log = NULL;
    td_kafka_producer_t *producer = NULL;
    if (opaque && rd_kafka_type(rk) == RD_KAFKA_PRODUCER) {
        producer = opaque;
        log = producer->log;
    } else if (opaque) {
        log = ((td_kafka_consumer_t *)opaque)->log;
    }
    bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    if (log)
        td_log_write(log, fatal ? TD_LOG_ERROR : TD_LOG_WARN, "kafka", fatal ? TD_ERR_IO : TD_OK, "%s: %s",
                     rd_kafka_err2name(err), reason);
    if (fatal && producer && producer->failed == TD_OK) {
        char fatal_msg[200];
        rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, fatal_msg, sizeof fatal_msg);
        producer->failed = TD_ERR_STATE;
        snprintf(producer->failed_msg, sizeof producer->failed_msg, "fatal producer error %s: %s",
                 rd_kafka_err2name(ferr), fatal_msg);
    }
}

/* Room for one more position in flight: done[] grows (doubling) when every slot is in use. */
static td_err_t positions_reserve(td_kafka_producer_t *producer)
{
    if (producer->produced - producer->durable < producer->cap)
        return TD_OK;
    size_t cap = producer->cap ? 2 * producer->cap : 4096;
    uint8_t *done = calloc(cap, 1);
    if (!done)
        return TD_ERR_NOMEM;
    for (uint64_t p = producer->durable; p < producer->produced; p++)
        done[p & (cap - 1)] = producer->done[p & (producer->cap - 1)];
    free(producer->done);
    producer->done = done;
    producer->cap = cap;
    return TD_OK;
}

/* Position p is delivered: the durable mark moves over every delivered position from its own. */
static void positions_delivered(td_kafka_producer_t *producer, uint64_t p)
{
    TD_ASSERT(p >= producer->durable && p < producer->produced);
    const size_t mask = producer->cap - 1;
    producer->done[p & mask] = 1;
    while (producer->durable < producer->produced && producer->done[producer->durable & mask]) {
        producer->done[producer->durable & mask] = 0;
        producer->durable++;
    }
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    td_kafka_producer_t *producer = opaque;
    TD_ASSERT(producer->outstanding > 0);
    producer->outstanding--;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        producer->delivered++;
        positions_delivered(producer, (uint64_t)(uintptr_t)m->_private);
        return;
    }
    if (producer->failed == TD_OK) {
        producer->failed = TD_ERR_STATE;
        snprintf(producer->failed_msg, sizeof producer->failed_msg, "delivery to %s [%" PRId32 "] failed: %s: %s",
                 rd_kafka_topic_name(m->rkt), m->partition, rd_kafka_err2name(m->err), rd_kafka_err2str(m->err));
    }
    td_log_write(producer->log, TD_LOG_ERROR, "kafka", TD_ERR_IO, "%s", producer->failed_msg);
}

td_err_t td_kafka_producer_new(const td_kafka_opts_t *opts, td_log_t *log, td_kafka_producer_t **out, char *errbuf,
                               size_t errlen)
{
    *out = NULL;
    td_kafka_producer_t *producer = calloc(1, sizeof *producer);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_err_t rc = producer && conf ? TD_OK : TD_ERR_NOMEM;
    char linger[24], timeout[24];
    if (rc == TD_OK) {
        producer->opts = *opts;
        producer->log = log;
        snprintf(linger, sizeof linger, "%d", opts->linger_ms);
        snprintf(timeout, sizeof timeout, "%d", opts->delivery_timeout_ms);
        rc = conf_common(conf, opts, errbuf, errlen);
    }
    if (rc == TD_OK)
        rc = conf_set(conf, "enable.idempotence", "true", errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "acks", "all", errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "linger.ms", linger, errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "message.timeout.ms", timeout, errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "retry.backoff.ms", "50", errbuf, errlen);
    if (rc == TD_OK && opts->max_in_flight > 0) {
        char in_flight[24];
        snprintf(in_flight, sizeof in_flight, "%d", opts->max_in_flight);
        rc = conf_set(conf, "max.in.flight.requests.per.connection", in_flight, errbuf, errlen);
    }
    if (rc == TD_OK) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, producer);
        char detail[512];
        producer->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, detail, sizeof detail);
        if (producer->rk)
            conf = NULL; /* the handle owns it now */
        else
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "kafka: cannot create a producer: %s", detail);
    }
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (rc != TD_OK) {
        td_kafka_producer_destroy(producer);
        return rc;
    }
    *out = producer;
    return TD_OK;
}

void td_kafka_producer_destroy(td_kafka_producer_t *producer)
{
    if (!producer)
        return;
    if (producer->wakeup_q)
        rd_kafka_queue_destroy(producer->wakeup_q);
    if (producer->rk) {
        rd_kafka_flush(producer->rk, 5000);
        rd_kafka_destroy(producer->rk);
    }
    free(producer->done);
    free(producer);
}

static td_err_t check_topic(rd_kafka_t *rk, const td_kafka_opts_t *opts, const char *topic, int timeout_ms,
                            char *errbuf, size_t errlen)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return td_err_set(errbuf, errlen, TD_ERR_CONFIG, "kafka: bad topic name '%s'", topic);
    const struct rd_kafka_metadata *md = NULL;
    td_err_t rc = TD_OK;
    double deadline = td_mono_s() + (double)timeout_ms / 1000.;
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 0, rkt, &md, 1000);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        const char *why = err                  ? rd_kafka_err2str(err)
                          : md->topic_cnt == 1 ? rd_kafka_err2str(md->topics[0].err)
                                               : "no topic in the answer";
        if (md)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (td_mono_s() >= deadline) {
            rc = td_err_set(errbuf, errlen, TD_ERR_IO, "kafka: topic %s at %s: %s", topic, opts->brokers, why);
            break;
        }
        struct timespec pause = {0, 100 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    if (rc == TD_OK && (uint32_t)md->topics[0].partition_cnt != opts->partitions)
        rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                        "kafka.partitions: the configuration says %" PRIu32 " but topic %s has %d partitions",
                        opts->partitions, topic, md->topics[0].partition_cnt);
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rc;
}

td_err_t td_kafka_producer_check_topic(td_kafka_producer_t *producer, const char *topic, int timeout_ms, char *errbuf,
                                       size_t errlen)
{
    return check_topic(producer->rk, &producer->opts, topic, timeout_ms, errbuf, errlen);
}

td_err_t td_kafka_produce(td_kafka_producer_t *producer, const char *topic, const char *symbol, const void *value,
                          size_t len, const td_kafka_header_t *headers, size_t n_headers, char *errbuf, size_t errlen)
{
    if (producer->failed != TD_OK)
        return td_err_set(errbuf, errlen, producer->failed, "%s", producer->failed_msg);
    if (positions_reserve(producer) != TD_OK)
        return TD_ERR_NOMEM;
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(n_headers);
    if (!hdrs)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < n_headers; i++)
        if (rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, (ssize_t)headers[i].len) != 0) {
            rd_kafka_headers_destroy(hdrs);
            return TD_ERR_NOMEM;
        }
    int32_t partition = (int32_t)td_kafka_partition(symbol, producer->opts.partitions);
    for (;;) {
        rd_kafka_resp_err_t err =
            rd_kafka_producev(producer->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(symbol, strlen(symbol)),
                              RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_HEADERS(hdrs),
                              RD_KAFKA_V_OPAQUE((void *)(uintptr_t)producer->produced), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            producer->outstanding++; /* hdrs now belong to the message */
            producer->produced++;
            return TD_OK;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(producer->rk, 10); /* serve delivery reports to make room */
            if (producer->failed == TD_OK)
                continue;
            rd_kafka_headers_destroy(hdrs);
            return td_err_set(errbuf, errlen, producer->failed, "%s", producer->failed_msg);
        }
        rd_kafka_headers_destroy(hdrs);
        return td_err_set(errbuf, errlen, TD_ERR_IO, "kafka: cannot produce to %s [%" PRId32 "]: %s", topic, partition,
                          rd_kafka_err2str(err));
    }
}

td_err_t td_kafka_producer_wait(td_kafka_producer_t *producer, int timeout_ms, char *errbuf, size_t errlen)
{
    double deadline = timeout_ms < 0 ? 0 : td_mono_s() + (double)timeout_ms / 1000.;
    while (producer->outstanding > 0 && producer->failed == TD_OK) {
        /* flush, not poll: while it runs librdkafka sends what is queued at once, whatever
         * linger.ms says (so linger batches a burst, and a lone message does not wait for it);
         * it serves the delivery callbacks as rd_kafka_poll does */
        rd_kafka_flush(producer->rk, 5);
        if (producer->outstanding > 0 && timeout_ms >= 0 && td_mono_s() >= deadline)
            return td_err_set(errbuf, errlen, TD_ERR_IO,
                              "kafka: %" PRIu64 " message(s) not delivered within %d ms (brokers %s)",
                              producer->outstanding, timeout_ms, producer->opts.brokers);
    }
    if (producer->failed != TD_OK)
        return td_err_set(errbuf, errlen, producer->failed, "%s", producer->failed_msg);
    rd_kafka_poll(producer->rk, 0); /* logs of the error callback */
    return TD_OK;
}

void td_kafka_producer_poll(td_kafka_producer_t *producer)
{
    rd_kafka_poll(producer->rk, 0);
}

void td_kafka_producer_wakeup(td_kafka_producer_t *producer, int fd)
{
    if (!producer->wakeup_q)
        producer->wakeup_q = rd_kafka_queue_get_main(producer->rk);
    rd_kafka_queue_io_event_enable(producer->wakeup_q, fd, "1", 1);
}

uint64_t td_kafka_producer_produced(const td_kafka_producer_t *producer)
{
    return producer->produced;
}

uint64_t td_kafka_producer_durable(const td_kafka_producer_t *producer)
{
    return producer->durable;
}

td_err_t td_kafka_producer_failure(const td_kafka_producer_t *producer, char *errbuf, size_t errlen)
{
    if (producer->failed == TD_OK)
        return TD_OK;
    return td_err_set(errbuf, errlen, producer->failed, "%s", producer->failed_msg);
}

uint64_t td_kafka_producer_outstanding(const td_kafka_producer_t *producer)
{
    return producer->outstanding;
}

uint64_t td_kafka_producer_delivered(const td_kafka_producer_t *producer)
{
    return producer->delivered;
}

/* --- consumer --- */

td_err_t td_kafka_consumer_new(const td_kafka_opts_t *opts, td_log_t *log, td_kafka_consumer_t **out, char *errbuf,
                               size_t errlen)
{
    *out = NULL;
    td_kafka_consumer_t *consumer = calloc(1, sizeof *consumer);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_err_t rc = consumer && conf ? TD_OK : TD_ERR_NOMEM;
    char group[128];
    if (rc == TD_OK) {
        consumer->opts = *opts;
        consumer->log = log;
        rc = conf_common(conf, opts, errbuf, errlen);
    }
    /* librdkafka wants a group id for assign(); it is never joined nor committed to */
    snprintf(group, sizeof group, "%s-unused", opts->client_id ? opts->client_id : "tapedeck");
    if (rc == TD_OK)
        rc = conf_set(conf, "group.id", group, errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "enable.auto.commit", "false", errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "enable.auto.offset.store", "false", errbuf, errlen);
    if (rc == TD_OK)
        rc = conf_set(conf, "auto.offset.reset", "error", errbuf, errlen);
    char fetch_wait[24];
    snprintf(fetch_wait, sizeof fetch_wait, "%d", opts->fetch_wait_ms);
    if (rc == TD_OK)
        rc = conf_set(conf, "fetch.wait.max.ms", fetch_wait, errbuf, errlen);
    if (rc == TD_OK) {
        rd_kafka_conf_set_opaque(conf, consumer);
        char detail[512];
        consumer->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, detail, sizeof detail);
        if (consumer->rk)
            conf = NULL;
        else
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG, "kafka: cannot create a consumer: %s", detail);
    }
    if (conf)
        rd_kafka_conf_destroy(conf);
    if (rc == TD_OK)
        rd_kafka_poll_set_consumer(consumer->rk);
    if (rc != TD_OK) {
        td_kafka_consumer_destroy(consumer);
        return rc;
    }
    *out = consumer;
    return TD_OK;
}

void td_kafka_consumer_destroy(td_kafka_consumer_t *consumer)
{
    if (!consumer)
        return;
    if (consumer->wakeup_q) {
        rd_kafka_queue_io_event_enable(consumer->wakeup_q, -1, NULL, 0);
        rd_kafka_queue_destroy(consumer->wakeup_q);
    }
    if (consumer->rk) {
        rd_kafka_assign(consumer->rk, NULL);
        rd_kafka_consumer_close(consumer->rk);
        rd_kafka_destroy(consumer->rk);
    }
    free(consumer);
}

void td_kafka_consumer_wakeup(td_kafka_consumer_t *consumer, int fd)
{
    if (!consumer->wakeup_q)
        consumer->wakeup_q = rd_kafka_queue_get_consumer(consumer->rk);
    rd_kafka_queue_io_event_enable(consumer->wakeup_q, fd, "1", 1);
}

td_err_t td_kafka_consumer_check_topic(td_kafka_consumer_t *consumer, const char *topic, int timeout_ms, char *errbuf,
                                       size_t errlen)
{
    return check_topic(consumer->rk, &consumer->opts, topic, timeout_ms, errbuf, errlen);
}

td_err_t td_kafka_consumer_assign(td_kafka_consumer_t *consumer, const td_kafka_tp_t *tps, size_t n, char *errbuf,
                                  size_t errlen)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    if (!list)
        return TD_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(list, tps[i].topic, (int32_t)tps[i].partition);
        tp->offset = (int64_t)tps[i].offset;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(consumer->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "kafka: cannot assign partitions: %s", rd_kafka_err2str(err));
    return TD_OK;
}

td_err_t td_kafka_consume(td_kafka_consumer_t *consumer, int timeout_ms, td_kafka_msg_t *msg, char *errbuf,
                          size_t errlen)
{
    memset(msg, 0, sizeof *msg);
    rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer->rk, timeout_ms);
    if (!m)
        return TD_ERR_END;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_resp_err_t err = m->err;
        const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "-";
        int32_t partition = m->partition;
        int64_t offset = m->offset;
        char text[256];
        snprintf(text, sizeof text, "%s", m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF ? "" : rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            return TD_ERR_END;
        if (err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE ||
            err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
            err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
            return td_err_set(errbuf, errlen, TD_ERR_IO, "kafka: %s [%" PRId32 "] at offset %" PRId64 ": %s: %s", topic,
                              partition, offset, rd_kafka_err2name(err), text);
        td_log_write(consumer->log, TD_LOG_WARN, "kafka", TD_OK, "consumer: %s: %s", rd_kafka_err2name(err), text);
        return TD_ERR_END;
    }
    msg->topic = rd_kafka_topic_name(m->rkt);
    msg->partition = (uint32_t)m->partition;
    msg->offset = (uint64_t)m->offset;
    msg->key = (td_slice_t){m->key, m->key_len};
    msg->value = (td_slice_t){m->payload, m->len};
    msg->rk_msg = m;
    return TD_OK;
}

void td_kafka_msg_release(td_kafka_msg_t *msg)
{
    if (msg->rk_msg)
        rd_kafka_message_destroy(msg->rk_msg);
    memset(msg, 0, sizeof *msg);
}

td_err_t td_kafka_msg_header(const td_kafka_msg_t *msg, const char *name, td_slice_t *value)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (!msg->rk_msg || rd_kafka_message_headers(msg->rk_msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return TD_ERR_NOT_FOUND;
    const void *val = NULL;
    size_t len = 0;
    if (rd_kafka_header_get_last(hdrs, name, &val, &len) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return TD_ERR_NOT_FOUND;
    *value = (td_slice_t){val, len};
    return TD_OK;
}

td_err_t td_kafka_msg_header_u64(const td_kafka_msg_t *msg, const char *name, uint64_t *value)
{
    td_slice_t s;
    td_err_t rc = td_kafka_msg_header(msg, name, &s);
    if (rc != TD_OK)
        return rc;
    if (s.len == 0 || s.len > 20)
        return TD_ERR_CORRUPT;
    uint64_t v = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return TD_ERR_CORRUPT;
        unsigned d = (unsigned)(s.ptr[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TD_ERR_CORRUPT;
        v = v * 10 + d;
    }
    *value = v;
    return TD_OK;
}
