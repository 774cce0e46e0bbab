/* follow.h - the processor host for a live writer that processes after each append (the local
 * gateway's hook, the Kafka processor): only the input streams that grew since they were last
 * processed to their end are processed (all of them the first time).
 *
 * The host resumes each symbol from its committed state, so running it over an unchanged stream
 * costs a state load and decode; with 18 symbols and a tick per append that was most of the
 * processing time. A grown symbol's pipeline also stays in memory between calls (td_host_cache_t):
 * this process is the only writer of its state, so what it committed last is what it holds. Streams are listed by one RocksDB scan on the first call and from the writer's
 * stream map afterwards (td_tape_known_symbols: every append of this process goes through it).
 *
 * Thread: the tape's single writer.
 */
#ifndef TD_HOST_FOLLOW_H
#define TD_HOST_FOLLOW_H

#include "core/err.h"
#include "core/tape.h"
#include "host/host.h"

#define TD_FOLLOW_SYMBOLS_MAX 256

typedef struct td_follow_seen {
    char name[TD_SYMBOL_MAX + 1];
    uint64_t next;          /* the stream's next offset when it was last processed to its end */
    td_host_cache_t *cache; /* its pipeline between calls (NULL: out of memory, loaded each time) */
} td_follow_seen_t;

typedef struct td_follow {
    td_follow_seen_t seen[TD_FOLLOW_SYMBOLS_MAX];
    size_t n_seen;
    char grown[TD_FOLLOW_SYMBOLS_MAX][TD_SYMBOL_MAX + 1]; /* scratch: the streams that grew */
    size_t n_grown;
    td_tape_t *tape; /* whose configuration was checked (td_host_check_config) */
    bool scanned;    /* every input stream was looked up once */
} td_follow_t;

/* Zeroes follow: nothing seen yet. */
void td_follow_init(td_follow_t *follow);
/* Frees the pipelines follow keeps in memory. */
void td_follow_fini(td_follow_t *follow);

/* td_host_process (opts, with opts->symbol ignored) over each input stream of tape that grew
 * since follow last processed it; *total sums their stats. The tape's configuration is checked on
 * the first call for a tape. TD_ERR_OVERFLOW with more than
 * TD_FOLLOW_SYMBOLS_MAX streams; otherwise td_host_process's errors (detail in errbuf). */
td_err_t td_follow_process(td_follow_t *follow, td_tape_t *tape, const td_host_opts_t *opts, td_host_stats_t *total,
                           char *errbuf, size_t errlen) TD_WUR;

#endif
