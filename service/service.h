/* service.h - the wiring of `tapedeck run`: its roles on the local tape or on Kafka, as one object
 * with new, start, run, stop and destroy steps.
 *
 * On the local tape (journal.mode tape, service/local.c):
 *   TD_SERVICE_ALL      the gateway (gateway/server.h: a libev loop on the thread that calls
 *                       td_service_run, the tape's only writer); after each committed burst of the
 *                       EA's lines (and every router.interval_ms) its hook runs the processor host
 *                       over the input streams that grew (host/follow.h) and then the order router
 *                       (gateway/router.h, broker.mode external only). With warehouse.enabled the
 *                       warehouse sink runs in its own thread (sink/sink_thread.h), reading the
 *                       writer's tape handle.
 *   TD_SERVICE_GATEWAY  the gateway alone.
 *   TD_SERVICE_SINK     the warehouse sink alone, in the caller's thread, following the tape of a
 *                       running `tapedeck run` on the same data directory (as tapedeck sink).
 * On Kafka (journal.mode kafka, service/kafka.h): TD_SERVICE_GATEWAY, TD_SERVICE_PROCESSOR or
 * TD_SERVICE_ARCHIVER (one role per process, joined by the topics), and TD_SERVICE_SINK as above on
 * the archiver's data directory. The processor and router roles alone on the local tape are not
 * built (they need a journal shared between processes): td_service_new refuses them.
 *
 * Where another role attaches: a role that runs beside the gateway in a thread of its own - the
 * monitor's HTTP desk - is started in td_service_start once the tape is open, next to the sink
 * thread (local.c, start_threads), with the tape handle (any-thread reads only: iterators,
 * td_tape_stream_end, td_tape_symbols), the config and the log; it is stopped when td_service_run
 * ends, after the gateway's loop returned and before the tape is closed (local.c, stop_threads). A
 * control it receives that must be appended (invariant 8) goes through the gateway's loop thread,
 * the tape's only writer, never straight to the tape.
 *
 * Stopping: the gateway's loop takes SIGTERM and SIGINT itself (gateway/server.c); the roles
 * without a gateway (the sink alone, Kafka's processor and archiver) poll *opts.stop, which the
 * caller sets from its own signal handler (tapedeck run installs one: cli/cmd_run.c).
 * td_service_stop asks any role to stop, from any thread. Either way td_service_run then finishes
 * what it read (the last burst processed and routed, the sink's batch in flight), writes its totals
 * and returns TD_OK.
 *
 * Output: the startup line (the address, the data directory and what runs - scripts and tapedeck
 * demo wait for it) and the totals at the end go to opts.out (NULL: nothing is written); log lines
 * go to opts.log. Errors come back as td_err_t with detail in the caller's errbuf.
 */
#ifndef TD_SERVICE_H
#define TD_SERVICE_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/err.h"
#include "core/event.h"
#include "core/log.h"
#include "core/tape.h"

typedef enum td_service_role {
    TD_SERVICE_ALL,
    TD_SERVICE_GATEWAY,
    TD_SERVICE_PROCESSOR,
    TD_SERVICE_ROUTER,
    TD_SERVICE_ARCHIVER,
    TD_SERVICE_SINK,
} td_service_role_t;

typedef struct td_service_opts {
    const td_config_t *config;   /* gateway.*, tape.*, router.*, kafka.*, warehouse.* ...; outlives the service */
    const char *data_dir;        /* the tape, state and run files; created when missing */
    td_service_role_t role;      /* with the config's journal.mode (see above) */
    td_log_t *log;               /* may be NULL; outlives the service */
    volatile sig_atomic_t *stop; /* may be NULL; non-zero = stop (the roles without a gateway poll it) */
    FILE *out;                   /* the startup line and the totals; NULL = none */
} td_service_opts_t;

typedef struct td_service td_service_t;

/* The role of a --role name ("all", "gateway", "processor", "router", "archiver", "sink"); false
 * for another name. */
bool td_service_role_parse(const char *name, td_service_role_t *role);

/* Allocates a service for *opts (copied; its pointers must outlive the service). Nothing is opened
 * yet. TD_ERR_UNSUPPORTED for a role that journal.mode does not run (detail in errbuf),
 * TD_ERR_NOMEM. */
td_err_t td_service_new(const td_service_opts_t *opts, td_service_t **service, char *errbuf, size_t errlen) TD_WUR;

/* Opens the data directory's tape and, on the local tape, checks the pipeline's config against it,
 * creates the router, starts the sink thread and binds the gateway; on Kafka, creates the role's
 * clients (waiting for the brokers; the gateway also binds). Then writes the startup line. The sink
 * alone opens nothing here (it reads a running writer's tape). Caller's thread; once. On failure
 * what was started is left for td_service_destroy. */
td_err_t td_service_start(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;

/* Runs the role until it is asked to stop (then TD_OK) or fails (its code, detail in errbuf), then
 * writes the totals and stops the threads of td_service_start. The thread that called
 * td_service_start; once, after it succeeded. */
td_err_t td_service_run(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;

/* The gateway's bound address ("127.0.0.1:7878", the real port when 0 was asked for) after a
 * td_service_start of a local role with a gateway; "" otherwise. The thread of td_service_start. */
void td_service_address(const td_service_t *service, char *buf, size_t len);

/* Asks td_service_run to stop (or not to begin) and returns at once. Any thread, while the service
 * exists; not from a signal handler (set *opts.stop there). */
void td_service_stop(td_service_t *service);

/* Closes everything the service opened (the tape last). NULL is a no-op. */
void td_service_destroy(td_service_t *service);

/* Opens the tape of data_dir with the config's tape.sync and session.day_offset_minutes, creating
 * the directory (and its parents) unless read_only. TD_ERR_IO when it cannot be created. */
td_err_t td_service_open_tape(const td_config_t *config, const char *data_dir, bool read_only, td_tape_t **tape,
                              char *errbuf, size_t errlen) TD_WUR;

/* `params push` with journal.mode kafka: produces ev (a ParamsChanged input, no origin headers, so
 * every consumer takes it) to the input topic and waits for its delivery. */
td_err_t td_service_kafka_push(const td_config_t *config, td_log_t *log, const td_event_t *ev, char *errbuf,
                               size_t errlen) TD_WUR;

#endif
