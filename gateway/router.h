/* router.h - the order router: OrderIntents from the tape's output streams to the EA's session.
 *
 * For each output stream the router keeps "router/next/<SYMBOL>" (decimal: the next output offset
 * to scan) in the tape's meta space, and for each intent it handled "router/sent/<intent_id>"
 * ("sent" or "expired"). The intent's record (with the scan position after it, and the intent
 * added to TD_ROUTER_PENDING_KEY) is COMMITTED before the ORDER line is queued to the EA's socket.
 * Outputs that are not intents move the scan position in memory only; calls with burst_start 0
 * or TD_ROUTER_FROM_INGEST (the timers) commit it, so no commit of a mere bar lies on the path from
 * a tick to an order. After a crash the scan restarts from the last committed position and skips
 * the intents it has records of. An intent older than max_age_ms (wall clock since the input that
 * caused it was appended: that input's ingest time) is not sent: in the same commit the router
 * appends an ExecutionReport input to the symbol's stream, status
 * expired, reason "not sent within N ms", so the strategy sees it.
 *
 * Addressing: an intent goes only to the session of the account that trades its symbol
 * (td_config_symbol_account: symbols.<SYMBOL>.account, else gateway.account), never to another
 * open session. While that account has no session the intent waits (and eventually expires); a
 * symbol with no account never has its intents sent (logged once per symbol; td_router_new warns
 * when gateway.account is empty).
 *
 * Resend (nothing lost, nothing executed twice): an intent recorded as sent stays PENDING until
 * the EA reports on it - an ExecutionReport input with its intent id (filled, partial, rejected,
 * ...; not the router's own expiry), which the router looks for on the symbol's input stream
 * after the intent's input. When a new EA session opens (after a restart of the router, or a
 * reconnect), before that session's WELCOME, every pending intent of that session's account
 * that this session has not had yet is written again if it is
 * within max_age_ms, else recorded as expired (reason "sent, not reported on by the EA within N
 * ms") with its report, as above. So an order caught by a crash between its "sent" record and the
 * socket write, or written into a connection that broke, reaches the EA; and a resend of one the
 * EA did receive is refused by the EA, which never executes an intent id twice (feed likewise).
 * The pending list is TD_ROUTER_PENDING_KEY: committed with each "sent" record and each expiry;
 * the intents the EA reported on are dropped from it in the timer calls (a crash before that
 * finds their reports again on the stream).
 *
 * Test hook (compiled in every build, for the crash tests only): with the environment variable
 * TD_ROUTER_CRASH_HOOK_ENV set to N >= 1, the process kills itself with SIGKILL right after the
 * N-th "sent" record is committed and before that ORDER is written (logged first, level warn).
 *
 * Thread: the tape's single writer thread (the gateway's loop, from its hook).
 */
#ifndef TD_GW_ROUTER_H
#define TD_GW_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/tape.h"
#include "gateway/server.h"

/* The meta key of the pending intents: one "SYMBOL<TAB>OUTPUT_OFFSET<TAB>INPUT_OFFSET<TAB>ID<LF>" line
 * per intent, in the order they were sent. */
#define TD_ROUTER_PENDING_KEY "router/pending"
/* The crash test hook's environment variable (above). */
#define TD_ROUTER_CRASH_HOOK_ENV "TD_TEST_ROUTER_CRASH_AFTER_SENT"

typedef struct td_router_stats {
    uint64_t sent;      /* ORDER lines queued to the EA (first time) */
    uint64_t expired;   /* recorded as expired: never sent, or sent and not reported on in time */
    uint64_t lost;      /* recorded as sent, but the session went away while writing (resent later) */
    uint64_t resent;    /* pending intents written again to a new session */
    uint64_t latency_n; /* orders with a measured latency (sent right after a gateway commit) */
    double latency_p50_ms, latency_p99_ms, latency_max_ms;
} td_router_stats_t;

typedef struct td_router td_router_t;

/* config (symbols.<S>.digits for the ORDER's prices, the accounts) and log stay the caller's. */
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

/* Kafka mode (service/kafka.c): an expired intent's ExecutionReport goes to fn instead of the
 * tape's input stream (the tape there mirrors the topics; the report must reach the input topic).
 * fn gets the report and the intent's output offset and must make the report durable before it
 * returns TD_OK; the router records the intent as expired only after that. A mirrored intent can
 * arrive before the input that caused it: the router then waits for that input (the symbol's scan
 * stops there until a later run). */
typedef td_err_t (*td_router_report_fn)(void *opaque, const td_event_t *report, uint64_t intent_offset);
void td_router_set_report_fn(td_router_t *router, td_router_report_fn fn, void *opaque);

/* burst_start for td_router_run in Kafka mode, where the causing burst's commit is not what led
 * here: each order's latency counts from the read time of its input, as the read time function
 * below gives it, else from the input's ingest time (ms resolution, so up to 1 ms more). */
#define TD_ROUTER_FROM_INGEST (-1.0)

/* Kafka mode: *read_s = the wall clock (seconds) at which the gateway began reading the burst
 * whose events carry ingest time ingest_ms; false when it does not know (td_gw_kafka_read_time). */
typedef bool (*td_router_read_time_fn)(void *opaque, int64_t ingest_ms, double *read_s);
void td_router_set_read_time_fn(td_router_t *router, td_router_read_time_fn fn, void *opaque);

/* Counters and the latency percentiles so far. */
void td_router_stats(td_router_t *router, td_router_stats_t *stats);

#endif
