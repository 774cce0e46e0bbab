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
 * Each role runs until SIGTERM or SIGINT (exit 0) or a failure (its exit code).
 */
#ifndef TD_SERVICE_KAFKA_H
#define TD_SERVICE_KAFKA_H

#include "cli/cli.h"

/* role: "gateway", "processor" or "archiver" (checked by the caller). Returns the exit code. */
int td_run_kafka(td_cli_t *cli, const char *role);

/* `params push` in Kafka mode: produces ev (a ParamsChanged input, no origin headers, so every
 * consumer takes it) to the input topic and waits for its delivery. */
td_err_t td_run_kafka_push(td_cli_t *cli, const td_event_t *ev, char *errbuf, size_t errlen) TD_WUR;

#endif
