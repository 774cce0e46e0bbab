/* host.h - the processor host: runs each symbol's pipeline over the tape's input streams.
 *
 * For each input stream the host restores the pipeline from the state store (key
 * "proc/<SYMBOL>"), reads the stream from the pipeline's next offset, steps it, appends the outputs
 * to the symbol's output stream and, every `batch_events` inputs and at the end, commits in ONE
 * tape batch: the outputs, the pipeline state and with it the consumed offset. A crash at any
 * instant therefore resumes exactly where the last commit left off, with nothing lost or doubled.
 * When an input opens a trading day the host also stores the day-start snapshot
 * ("snap/<SYMBOL>/<YYYYMMDD>": 8-byte big-endian output offset of the day's first output, then the
 * pipeline state) in the same batch; replay starts from it.
 *
 * The pipeline configuration is recorded once per tape (meta "host/config") and must not change
 * afterwards: replaying a day under another configuration would not reproduce it.
 *
 * Thread: one host per tape (the tape is single-writer). Symbols are independent: the order in
 * which they are processed changes nothing in any output.
 */
#ifndef TD_HOST_H
#define TD_HOST_H

#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/tape.h"
#include "processors/pipeline.h"

typedef struct td_host_opts {
    td_pipeline_config_t pipeline;
    uint32_t batch_events; /* inputs per commit */
    const char *symbol;    /* NULL = every input stream */
    uint64_t stop_after;   /* testing aid: stop (without committing) after this many inputs; 0 = off */
    td_log_t *log;         /* may be NULL */
} td_host_opts_t;

typedef struct td_host_stats {
    uint64_t symbols;
    uint64_t inputs;
    uint64_t outputs;
    uint64_t days_closed;
    uint64_t commits;
} td_host_stats_t;

/* The pipeline configuration from the config file's keys (bars.timeframe, session.*, broker.*). */
void td_host_pipeline_config(const td_config_t *config, td_pipeline_config_t *pipeline);

/* A canonical text of a pipeline configuration, stored as meta "host/config". */
td_err_t td_host_config_text(const td_pipeline_config_t *pipeline, td_buf_t *out) TD_WUR;

/* Checks (or on first use records) the tape's pipeline configuration. TD_ERR_CONFIG with a clear
 * message when it differs from the recorded one. */
td_err_t td_host_check_config(td_tape_t *tape, const td_pipeline_config_t *pipeline, char *errbuf,
                              size_t errlen) TD_WUR;

/* Processes every input stream (or opts->symbol) to its current end. */
td_err_t td_host_process(td_tape_t *tape, const td_host_opts_t *opts, td_host_stats_t *stats, char *errbuf,
                         size_t errlen) TD_WUR;

/* A symbol's pipeline kept in memory from one td_host_process_symbol call to the next, so that a
 * call does not load and decode the state the previous one committed. It always equals the
 * committed state: a call that fails drops it (the next one loads). Only for the tape's one writer
 * of the symbol's state. Zero-initialise; td_host_cache_drop frees it. */
typedef struct td_host_cache {
    td_pipeline_t pipeline;
    bool loaded;
} td_host_cache_t;

void td_host_cache_drop(td_host_cache_t *cache);

/* td_host_process of one symbol (opts->symbol ignored) for a caller that has checked the tape's
 * configuration (td_host_check_config) and knows the symbol's input stream is not empty: neither
 * is done again. cache (may be NULL) carries the pipeline between calls. The live hook calls this
 * for every symbol that grew, after every burst. */
td_err_t td_host_process_symbol(td_tape_t *tape, const td_host_opts_t *opts, const char *symbol,
                                td_host_cache_t *cache, td_host_stats_t *stats, char *errbuf,
                                size_t errlen) TD_WUR;

/* The next input offset the host will process for symbol (what it has consumed and committed);
 * 0 when the symbol has not been processed. */
td_err_t td_host_next_offset(td_tape_t *tape, const char *symbol, const td_pipeline_config_t *config,
                             uint64_t *next_offset) TD_WUR;

/* Snapshot key helpers shared with replay. */
void td_host_state_key(const char *symbol, char *key, size_t keylen);
void td_host_snapshot_key(const char *symbol, uint32_t day, char *key, size_t keylen);

#endif
