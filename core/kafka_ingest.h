/* kafka_ingest.h - the Kafka topics into a local tape, exactly once: the archiver's and the Kafka
 * processor's consuming half.
 *
 * Each call consumes up to kafka.batch_messages messages and appends them in ONE tape batch that
 * also holds, in the tape's meta space:
 *   "kafka/offset/<topic>/<partition>"  the next Kafka offset to read (decimal);
 *   "kafka/seq/<symbol>/<account>"      the highest EA sequence number appended for that pair.
 * So a SIGKILL at any instant resumes exactly after the last commit: nothing lost, nothing doubled.
 *
 * Input topic: the value is an input event's canonical bytes; TD_KAFKA_H_ACCOUNT and TD_KAFKA_H_SEQ
 * name its origin. A message whose seq is not above the pair's recorded one is a resend (the gateway
 * crashed between delivery and recording its ACK) and is dropped. Everything else is appended, so
 * every consumer of the topic that applies this rule gives each input the same tape offset.
 * An event the tape refuses (a time outside 1900..2200, an output kind) is skipped and counted.
 *
 * Output topic: an output event carries its output offset (set by the processor's tape) and
 * TD_KAFKA_H_DAY, the trading day the processor host placed it in. One below the stream's next
 * offset is a re-send and is dropped; one above it is a gap: TD_ERR_ORDER, nothing of the batch is
 * committed. A record with TD_KAFKA_H_TYPE "state" is the processor's state ("proc/<SYMBOL>") or a
 * day-start snapshot ("snap/<SYMBOL>/<YYYYMMDD>"), named by TD_KAFKA_H_KEY: it is put in the
 * tape's state store, so `replay --date` runs on the tape that archived it.
 *
 * Thread: the tape's single writer.
 */
#ifndef TD_KAFKA_INGEST_H
#define TD_KAFKA_INGEST_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/tape.h"

#define TD_KAFKA_H_KEY "key"

typedef struct td_ingest_opts {
    const td_kafka_opts_t *kafka;
    bool inputs, outputs; /* which topics to consume */
    uint32_t batch_messages;
    td_log_t *log;
} td_ingest_opts_t;

typedef struct td_ingest_stats {
    uint64_t messages, inputs, outputs, states;
    uint64_t duplicate_inputs, duplicate_outputs, refused;
    uint64_t commits;
} td_ingest_stats_t;

typedef struct td_ingest td_ingest_t;

/* Creates the consumer, checks the topics' partition counts (waiting up to 30 s for the cluster)
 * and assigns every partition at the offset recorded in the tape. The tape stays the caller's. */
td_err_t td_ingest_new(const td_ingest_opts_t *opts, td_tape_t *tape, td_ingest_t **ingest, char *errbuf,
                       size_t errlen) TD_WUR;
void td_ingest_destroy(td_ingest_t *ingest);

/* Waits up to timeout_ms for a first message, takes what else is ready (up to batch_messages) and
 * commits it. *consumed = messages consumed (0: nothing came). Errors: the consumer's (TD_ERR_IO),
 * a gap or a bad record (TD_ERR_ORDER, TD_ERR_CORRUPT), the tape's; detail in errbuf. After an error
 * nothing of the call is committed and the ingest must be destroyed (its tables ran ahead). */
td_err_t td_ingest_poll(td_ingest_t *ingest, int timeout_ms, uint64_t *consumed, char *errbuf, size_t errlen) TD_WUR;

void td_ingest_stats(const td_ingest_t *ingest, td_ingest_stats_t *stats);

/* Signals fd when messages arrive (td_kafka_consumer_wakeup): an event loop polls with timeout 0
 * when fd becomes readable. fd must stay open until the ingest is destroyed. */
void td_ingest_wakeup(td_ingest_t *ingest, int fd);

/* The decimal meta values used above (also by the Kafka processor's "kafka/produced/<SYMBOL>"). */
td_err_t td_ingest_meta_u64(td_tape_t *tape, const char *key, uint64_t *value) TD_WUR;
td_err_t td_ingest_put_u64(td_tape_batch_t *batch, const char *key, uint64_t value) TD_WUR;

#endif
