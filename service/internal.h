/* internal.h - what the files of service/ share: the service's struct and the roles' entry points.
 * Not for use outside service/ (the API is service/service.h).
 *
 * Threads: every field belongs to the thread that calls td_service_start and td_service_run, but
 * lock, stopping and server, which td_service_stop reads from any thread.
 */
#ifndef TD_SERVICE_INTERNAL_H
#define TD_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include "gateway/router.h"
#include "gateway/server.h"
#include "host/follow.h"
#include "host/host.h"
#include "service/service.h"
#include "sink/sink_thread.h"

struct td_service {
    td_service_opts_t opts;
    bool kafka;                  /* journal.mode kafka */
    volatile sig_atomic_t *stop; /* opts.stop, or own_stop without one: polled by the roles without a gateway */
    volatile sig_atomic_t own_stop;
    pthread_mutex_t lock; /* guards stopping and server against td_service_stop */
    bool stopping;
    td_gw_server_t *server; /* the gateway's while it exists (td_service__set_server) */
    td_tape_t *tape;
    bool started;
    /* the local tape's roles (local.c) */
    td_router_t *router;    /* NULL in paper mode */
    td_sink_thread_t *sink; /* NULL unless warehouse.enabled */
    td_host_opts_t host;
    uint64_t host_runs, host_inputs, host_outputs;
    td_follow_t follow; /* the input streams that grew since the hook last processed them */
    /* a Kafka role (kafka.c) */
    struct td_service_kafka *kafka_role;
};

/* Writes a line (or part of one) of the service's output to opts.out, when there is one. */
void td_service__say(td_service_t *service, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Flushes opts.out (a line that a script or tapedeck demo waits for, the totals at the end). */
void td_service__flush(td_service_t *service);

/* Publishes the gateway's server to td_service_stop (NULL before it is destroyed); a stop asked
 * for before it was published reaches it now. */
void td_service__set_server(td_service_t *service, td_gw_server_t *server);

/* The gateway options of the config with the heartbeat clock of the pipeline's timeframe. */
void td_service__gateway_opts(const td_config_t *config, td_gw_server_opts_t *opts);

/* Writes the gateway's totals line; events: what became of the events ("appended", "delivered to
 * kafka"). */
void td_service__say_gateway(td_service_t *service, const td_gw_server_t *server, const char *events);

/* Writes the router's totals line. */
void td_service__say_router(td_service_t *service, td_router_t *router);

/* local.c: the local tape's roles (ALL, GATEWAY) after the tape is open; run; release. */
td_err_t td_service__local_start(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;
td_err_t td_service__local_run(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;
void td_service__local_fini(td_service_t *service);
/* The sink alone (TD_SERVICE_SINK, either journal mode): td_sink_run in follow mode on the data
 * directory until *service->stop, then its summary line. */
td_err_t td_service__sink_run(td_service_t *service, char *errbuf, size_t errlen) TD_WUR;

#endif
