/* sink_thread.h - the warehouse sink as a role of `tapedeck run`: a thread of the all-roles process.
 *
 * The thread runs td_sink_run in follow mode through the writer's own tape handle (opts.tape): it
 * only reads what the gateway and the processor host have committed, with the tape's any-thread
 * reads, and never takes a lock they wait for - a slow or absent PostgreSQL delays the warehouse,
 * never an acknowledgement. While PostgreSQL is unreachable the sink logs it and retries with a
 * doubling wait (sink.h); a failure that ends td_sink_run (no schema yet, a warehouse that
 * disagrees with the tape, PostgreSQL gone past warehouse.give_up_s) is logged and the sink starts
 * over after warehouse.retry_max_ms, so running `tapedeck migrate` later is enough.
 *
 * Threads: start and stop from the thread that owns the tape handle; the tape is closed only after
 * stop. Every signal is blocked in the sink's thread (the gateway's loop takes SIGTERM/SIGINT).
 */
#ifndef TD_SINK_THREAD_H
#define TD_SINK_THREAD_H

#include <stdbool.h>

#include "core/config.h"
#include "sink/sink.h"

typedef struct td_sink_thread td_sink_thread_t;

/* Whether the configuration asks tapedeck run to run the sink (warehouse.enabled). */
bool td_sink_enabled(const td_config_t *config);

/* Fills opts from the warehouse.* and session keys, in follow mode (once false) with no tape, stop
 * flag or log; the strings point into config, which must outlive opts. */
void td_sink_config(const td_config_t *config, td_sink_opts_t *opts);

/* Starts the sink thread with a copy of *opts (opts->tape required; once and stop are set by the
 * thread; the strings and the log must outlive the thread). TD_ERR_IO when the thread cannot be
 * created (detail in errbuf); nothing is started then. */
td_err_t td_sink_thread_start(const td_sink_opts_t *opts, td_sink_thread_t **thread, char *errbuf,
                              size_t errlen) TD_WUR;

/* Asks the sink to stop (it finishes the batch in flight, or stops waiting for PostgreSQL), joins
 * the thread, adds up its totals into *stats (may be NULL) and frees it. NULL is a no-op. */
void td_sink_thread_stop(td_sink_thread_t *thread, td_sink_stats_t *stats);

#endif
