/* kafka.h - the Kafka journal adapter: a small layer over librdkafka (the only file that includes it).
 *
 * Topics: the input topic (ticks, symbol specs, execution reports from the gateway) and the output
 * topic (what the processor produced). Every message is keyed by its symbol and goes to partition
 * td_kafka_partition(symbol) - our own, fixed hash (FNV-1a 32-bit of the symbol's bytes, mod the
 * partition count), never librdkafka's partitioner - so one symbol's events are one ordered stream
 * and the mapping never changes with the client library. The value is the event's canonical codec
 * bytes (core/codec.h); headers carry what the stream needs besides (TD_KAFKA_H_*).
 *
 * Producer: enable.idempotence=true, acks=all (librdkafka retries without duplicates or reordering
 * within a partition). td_kafka_produce only enqueues; td_kafka_producer_wait returns once every
 * message enqueued so far is acknowledged by all in-sync replicas - only then is it durable, and
 * only then may a caller act on it (ACK the EA, record what was produced). A message that fails
 * delivery makes the producer fail for good (sticky): its caller stops, and on restart resends
 * from what it last recorded (consumers drop the duplicates).
 *
 * Consumer: manual partition assignment at offsets WE keep (in the local tape, committed with
 * what was consumed); no consumer group, no offset commits to Kafka. An offset that is no longer
 * in the log (retention) is an error, never a silent skip (auto.offset.reset=error).
 *
 * Threads: one producer or consumer per thread; librdkafka's own threads stay inside.
 */
#ifndef TD_KAFKA_H
#define TD_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"

/* Header names. Inputs from the EA: the account and its sequence number (decimal ASCII). Outputs:
 * the trading day (YYYYMMDD) the processor host placed the output in. Records that are not events
 * (the processor's state for the archiver) name their type in TD_KAFKA_H_TYPE. */
#define TD_KAFKA_H_ACCOUNT "account"
#define TD_KAFKA_H_SEQ "seq"
#define TD_KAFKA_H_DAY "day"
#define TD_KAFKA_H_TYPE "type"

typedef struct td_kafka_opts {
    const char *brokers; /* bootstrap servers, "host:port,..." */
    const char *input_topic, *output_topic;
    uint32_t partitions; /* of each topic; checked against the cluster's metadata */
    int linger_ms;       /* producer batching delay */
    int delivery_timeout_ms;
    int fetch_wait_ms;     /* consumer fetch.wait.max.ms */
    int max_in_flight;     /* producer max.in.flight.requests.per.connection, 1..5 */
    const char *client_id; /* "tapedeck-gateway", ... */
} td_kafka_opts_t;

typedef struct td_kafka_header {
    const char *name;
    const void *value;
    size_t len;
} td_kafka_header_t;

typedef struct td_kafka_producer td_kafka_producer_t;
typedef struct td_kafka_consumer td_kafka_consumer_t;

/* One consumed message; its slices stay valid until td_kafka_msg_release. */
typedef struct td_kafka_msg {
    const char *topic;
    uint32_t partition;
    uint64_t offset;
    td_slice_t key, value;
    void *rk_msg; /* the librdkafka message */
} td_kafka_msg_t;

/* A (topic, partition) and the next offset to read from it. */
typedef struct td_kafka_tp {
    const char *topic;
    uint32_t partition;
    uint64_t offset;
} td_kafka_tp_t;

/* The kafka.* keys of config; client_id as given. */
void td_kafka_opts_from_config(const td_config_t *config, const char *client_id, td_kafka_opts_t *opts);

/* The partition of symbol: FNV-1a 32-bit (offset basis 2166136261, prime 16777619) over the
 * symbol's bytes, modulo partitions (> 0). Stable forever: changing it would move symbols. */
uint32_t td_kafka_partition(const char *symbol, uint32_t partitions);

/* --- producer --- */
td_err_t td_kafka_producer_new(const td_kafka_opts_t *opts, td_log_t *log, td_kafka_producer_t **producer, char *errbuf,
                               size_t errlen) TD_WUR;
/* Waits up to 5 s for what is still in flight, then frees; NULL is a no-op. */
void td_kafka_producer_destroy(td_kafka_producer_t *producer);
/* Checks that topic exists with opts->partitions partitions. TD_ERR_CONFIG when the count
 * differs, TD_ERR_IO when the cluster does not answer within timeout_ms. */
td_err_t td_kafka_producer_check_topic(td_kafka_producer_t *producer, const char *topic, int timeout_ms, char *errbuf,
                                       size_t errlen) TD_WUR;
/* Enqueues one message (copied) for topic, keyed and partitioned by symbol. Waits (serving
 * delivery reports) while librdkafka's queue is full. TD_ERR_STATE once a delivery failed. */
td_err_t td_kafka_produce(td_kafka_producer_t *producer, const char *topic, const char *symbol, const void *value,
                          size_t len, const td_kafka_header_t *headers, size_t n_headers, char *errbuf,
                          size_t errlen) TD_WUR;
/* Returns TD_OK when every message enqueued so far is delivered (acks=all); TD_ERR_IO when
 * timeout_ms (< 0: no limit) passes first; TD_ERR_STATE (sticky) when one failed, its error in
 * errbuf. */
td_err_t td_kafka_producer_wait(td_kafka_producer_t *producer, int timeout_ms, char *errbuf, size_t errlen) TD_WUR;
/* Messages enqueued and not yet delivered. */
uint64_t td_kafka_producer_outstanding(const td_kafka_producer_t *producer);
/* Messages delivered since the producer was made. */
uint64_t td_kafka_producer_delivered(const td_kafka_producer_t *producer);

/* Without waiting (an event loop's use): td_kafka_producer_poll serves the delivery reports that
 * have arrived. Positions: the messages enqueued so far are td_kafka_producer_produced (the n-th
 * enqueued message has position n - 1); every message below td_kafka_producer_durable is
 * delivered (acks=all), whatever order the partitions' reports came in - so a caller that notes
 * produced() after a burst knows the burst is durable once durable() reaches that mark.
 * td_kafka_producer_failure is TD_OK, or the sticky failure with its message. */
void td_kafka_producer_poll(td_kafka_producer_t *producer);
uint64_t td_kafka_producer_produced(const td_kafka_producer_t *producer);
uint64_t td_kafka_producer_durable(const td_kafka_producer_t *producer);
td_err_t td_kafka_producer_failure(const td_kafka_producer_t *producer, char *errbuf, size_t errlen) TD_WUR;
/* From now on librdkafka writes a byte to fd (non-blocking, the caller's, outliving the producer)
 * when delivery reports arrive while none wait to be served; drain fd, then
 * td_kafka_producer_poll. */
void td_kafka_producer_wakeup(td_kafka_producer_t *producer, int fd);

/* --- consumer --- */
td_err_t td_kafka_consumer_new(const td_kafka_opts_t *opts, td_log_t *log, td_kafka_consumer_t **consumer, char *errbuf,
                               size_t errlen) TD_WUR;
void td_kafka_consumer_destroy(td_kafka_consumer_t *consumer);
/* From now on librdkafka writes a byte to fd (non-blocking, e.g. a pipe's write end; it stays the
 * caller's and must outlive the consumer) whenever messages arrive while none wait to be consumed,
 * so an event loop can consume at once instead of polling on a timer. Drain fd before consuming. */
void td_kafka_consumer_wakeup(td_kafka_consumer_t *consumer, int fd);
/* As td_kafka_producer_check_topic. */
td_err_t td_kafka_consumer_check_topic(td_kafka_consumer_t *consumer, const char *topic, int timeout_ms, char *errbuf,
                                       size_t errlen) TD_WUR;
/* Reads exactly these partitions from these offsets (replacing any earlier assignment). */
td_err_t td_kafka_consumer_assign(td_kafka_consumer_t *consumer, const td_kafka_tp_t *tps, size_t n, char *errbuf,
                                  size_t errlen) TD_WUR;
/* The next message: TD_OK (release it), TD_ERR_END when none came within timeout_ms, TD_ERR_IO
 * for a consumer error that will not go away (an offset out of range, an unknown topic), with
 * detail. Transient broker errors are logged and waited out. */
td_err_t td_kafka_consume(td_kafka_consumer_t *consumer, int timeout_ms, td_kafka_msg_t *msg, char *errbuf,
                          size_t errlen) TD_WUR;
void td_kafka_msg_release(td_kafka_msg_t *msg);
/* The last header called name: TD_OK with its bytes, TD_ERR_NOT_FOUND when absent. */
td_err_t td_kafka_msg_header(const td_kafka_msg_t *msg, const char *name, td_slice_t *value) TD_WUR;
/* A decimal ASCII header as a number: TD_ERR_NOT_FOUND when absent, TD_ERR_CORRUPT when not
 * 1..20 digits. */
td_err_t td_kafka_msg_header_u64(const td_kafka_msg_t *msg, const char *name, uint64_t *value) TD_WUR;

#endif
