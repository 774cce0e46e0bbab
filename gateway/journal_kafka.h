/* journal_kafka.h - the gateway's journal in Kafka mode (journal.mode kafka).
 *
 * Each event of a read burst is produced to the input topic (key = symbol, our partition hash,
 * value = its canonical bytes without offset, headers account and seq, ingest time = the wall
 * clock when the burst was handled); at the burst's end commit waits until every message is
 * delivered (acks=all, idempotent producer), then records the account's sequence number in the
 * gateway's own small local tape (meta "gateway/acked/<account>") - and only then may the server
 * ACK. A crash after delivery and before that record makes the EA resend what Kafka already has:
 * the consumers drop those by (symbol, account, seq) (core/kafka_ingest.h).
 *
 * The heartbeats' Clock events (gateway/clock.h) are produced like the EA's events, with the
 * HEARTBEAT's account and sequence number; the clock's times are recorded under TD_GW_CLOCK_KEY
 * in the same local commit as the sequence number, so a restarted gateway decides as before.
 *
 * Events are checked as the tape would check them (an input kind, a time in 1900..2200) before
 * they are produced, so that what reaches the topic is what every consumer's tape accepts.
 *
 * Thread: the gateway's loop.
 */
#ifndef TD_GW_JOURNAL_KAFKA_H
#define TD_GW_JOURNAL_KAFKA_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/tape.h"
#include "gateway/server.h"

/* The meta key of the heartbeat clock's times (td_gw_clock_encode's text). */
#define TD_GW_CLOCK_KEY "gateway/clock"

typedef struct td_gw_kafka td_gw_kafka_t;

/* Creates the producer and checks the input topic. The tape (acked sequence numbers) and log stay
 * the caller's. */
td_err_t td_gw_kafka_new(const td_kafka_opts_t *opts, td_tape_t *tape, td_log_t *log, td_gw_kafka_t **journal,
                         char *errbuf, size_t errlen) TD_WUR;
void td_gw_kafka_destroy(td_gw_kafka_t *journal);
/* The callbacks for td_gw_server_opts_t.journal; valid while journal lives. */
const td_gw_journal_t *td_gw_kafka_journal(td_gw_kafka_t *journal);

/* The wall clock (seconds, microsecond precision) at which this process began the burst whose
 * events carry ingest time ingest_ms (the earliest such burst), if it is one of the last 1024
 * bursts; false otherwise (another process's, or an older one). The router's tick-to-order
 * latency counts from it, not from the millisecond stamp. */
bool td_gw_kafka_read_time(const td_gw_kafka_t *journal, int64_t ingest_ms, double *read_s);

#endif
