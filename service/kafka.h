/* kafka.h - `tapedeck run` with journal.mode kafka: one role per process, joined by the topics.
 *
 *   gateway    the EA's TCP server (gateway/server.h) with the Kafka journal
 *              (gateway/journal_kafka.h): a burst is ACKed once every message of it is delivered;
 *              the acked sequence numbers live in the gateway's own tape (its --data-dir). With
 *              broker.mode external it also runs the order router: that tape then mirrors both
 *              topics (core/kafka_ingest.h) and the router follows it.
 *   processor  consumes the input topic into its own tape (core/kafka_ingest.h), runs the
 *              processor host over it and produces the new outputs, its state ("proc/<SYMBOL>",
 *              at most every kafka.state_interval_ms and at shutdown) and day-start snapshots to
 *              the output topic; "kafka/produced/<SYMBOL>" and
 *              "kafka/snapday/<SYMBOL>" in its tape's meta say what is delivered, recorded after
 *              delivery, so a restart re-produces from there (the archiver drops the duplicates).
 *   archiver   consumes both topics into its tape: the replayable record with the day index.
 * Each role runs until it is asked to stop - SIGTERM or SIGINT for the gateway's loop, *opts.stop
 * for the others, td_service_stop for all (service.h) - then TD_OK, or until a failure (its code).
 * Internal to service/: the API is service/service.h.
 */
#ifndef TD_SERVICE_KAFKA_H
#define TD_SERVICE_KAFKA_H

#include "service/internal.h"

typedef struct td_service_kafka td_service_kafka_t;

/* The service's role (GATEWAY, PROCESSOR or ARCHIVER) over its open tape (service->tape): start
 * creates its Kafka clients (waiting for the brokers; the gateway also binds) and writes the
 * startup line once they are ready; run runs until asked to stop and writes the totals; fini
 * releases what start created (also after a failed start), before the tape is closed. The thread
 * of td_service_start and td_service_run. */
td_err_t td_service__kafka_start(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;
td_err_t td_service__kafka_run(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;
void td_service__kafka_fini(td_service_t *service);

#endif
