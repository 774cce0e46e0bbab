/* router.h - the order router: OrderIntents from the tape's output streams to the EA's session.
 *
 * For each output stream the router keeps "router/next/<SYMBOL>" (decimal: the next output offset
 * to scan) in the tape's meta space, and for each intent it handled "router/sent/<intent_id>"
 * ("sent" or "expired"). The intent's record (with the scan position after it) is COMMITTED before
 * the ORDER line is queued to the EA's socket: a crash after the commit loses that one order (the
 * strategy's intent stays outstanding), but no crash can ever send an order twice (DESIGN invariant
 * 4). Outputs that are not intents move the scan position in memory only; calls with burst_start 0
 * or TD_ROUTER_FROM_INGEST (the timers) commit it, so no commit of a mere bar lies on the path from
 * a tick to an order. After a crash the scan restarts from the last committed position and skips
 * the intents it has records of. An intent older than max_age_ms (wall clock since the input that
 * caused it was appended: that input's ingest time) is not sent: in the same commit the router
 * appends an ExecutionReport input to the symbol's stream, status
 * expired, reason "not sent within N ms", so the strategy sees it. While no EA session is open an
 * intent waits (and eventually expires).
 *
 * Thread: the tape's single writer thread (the gateway's loop, from its hook).
 */
#ifndef TD_GW_ROUTER_H
#define TD_GW_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/tape.h"
#include "gateway/server.h"

typedef struct td_router_stats {
    uint64_t sent;      /* ORDER lines queued to the EA */
    uint64_t expired;   /* recorded as expired, never sent */
    uint64_t lost;      /* recorded as sent, but the session went away while writing */
    uint64_t latency_n; /* orders with a measured latency (sent right after a gateway commit) */
    double latency_p50_ms, latency_p99_ms, latency_max_ms;
} td_router_stats_t;

typedef struct td_router td_router_t;

/* config (symbols.<S>.digits for the ORDER's prices) and log stay the caller's. */
td_err_t td_router_new(const td_config_t *config, int64_t max_age_ms, td_log_t *log, td_router_t **router) TD_WUR;
void td_router_destroy(td_router_t *router);

/* Routes every output not routed yet, on every output stream. burst_start (wall clock seconds, as
 * ev_time()) is when the gateway began reading the burst whose commit led here, 0 when unknown;
 * each order sent with it known adds a tick-to-order latency sample. *expired_now counts intents
 * expired by this call (their reports are new inputs: the caller processes again). Errors are the
 * tape's (detail in errbuf). tape is the writer's handle, the same on every call: after the first
 * call the output streams are listed from its stream map (td_tape_known_symbols). */
td_err_t td_router_run(td_router_t *router, td_tape_t *tape, td_gw_server_t *server, double burst_start,
                       uint64_t *expired_now, char *errbuf, size_t errlen) TD_WUR;

/* Kafka mode (cli/run_kafka.c): an expired intent's ExecutionReport goes to fn instead of the
 * tape's input stream (the tape there mirrors the topics; the report must reach the input topic).
 * fn gets the report and the intent's output offset and must make the report durable before it
 * returns TD_OK; the router records the intent as expired only after that. A mirrored intent can
 * arrive before the input that caused it: the router then waits for that input (the symbol's scan
 * stops there until a later run). */
typedef td_err_t (*td_router_report_fn)(void *opaque, const td_event_t *report, uint64_t intent_offset);
void td_router_set_report_fn(td_router_t *router, td_router_report_fn fn, void *opaque);

/* burst_start for td_router_run when the causing burst was read in another process (Kafka mode):
 * each order's latency counts from its input's ingest time (ms resolution, so up to 1 ms more). */
#define TD_ROUTER_FROM_INGEST (-1.0)

/* Counters and the latency percentiles so far. */
void td_router_stats(td_router_t *router, td_router_stats_t *stats);

#endif
