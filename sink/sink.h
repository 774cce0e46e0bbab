/* sink.h - the warehouse sink: the tape's streams into PostgreSQL, exactly once.
 *
 * For each symbol the sink reads its OUTPUT stream (bars, signals, intents, paper fills, position
 * changes, closed trades, day digests) and its INPUT stream (symbol specs, parameter sets, the
 * broker's execution reports; ticks, clock and session marks have no table and are skipped), each
 * from its own offset recorded in PostgreSQL (sink_offsets, stream 'output' / 'input'). A batch -
 * up to batch_rows rows, and for an input stream at most max(batch_rows * 64, 65536) events
 * scanned - is ONE SQL transaction: a binary COPY per table into a temporary staging table, an
 * upsert from staging into the table keyed by the event's deterministic id (outputs: symbol,
 * input_offset, idx; bars: symbol, timeframe, open time; inputs: symbol, in_offset), and the
 * stream's new offset. Rows and offset commit together or not at all, so a crash at any
 * instant or a database restart neither loses nor duplicates a row: the next run (or the next
 * attempt) starts from the offset the database holds. When PostgreSQL cannot be reached the sink
 * logs it and retries with a doubling wait (100 ms .. retry_max_ms); after a failure whose outcome
 * is unknown (the connection broke during COMMIT) it re-reads the offset instead of guessing.
 *
 * The sink opens the tape read-only, beside a running writer (a new handle at every pass), and
 * never holds it up: it only reads what the processor host has committed. A following sink
 * (once = false) whose open fails in a writer's busy moment logs it and tries again at the next
 * pass. Inside tapedeck run it reads through the writer's own handle instead (opts.tape), with the
 * tape's any-thread reads only (iterators, td_tape_stream_end, td_tape_symbols).
 *
 * Sessions: with opts.sessions > 1 the symbols of a pass are shared out over that many PostgreSQL
 * sessions, each in its own thread (the first in the caller's): a session claims the next symbol
 * not yet claimed and writes both its streams. A stream is only ever written by one session, and
 * its rows and offset stay one transaction, so exactly-once holds without a two-phase commit; the
 * first failure of a session stops the others after their current batch.
 *
 * Thread: td_sink_run runs in the caller's thread until done (or *stop becomes non-zero), with its
 * other sessions' threads started and joined inside each pass (they block every signal); see
 * sink/sink_thread.h for the sink as a thread of tapedeck run.
 */
#ifndef TD_SINK_H
#define TD_SINK_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/log.h"
#include "core/tape.h"

typedef struct td_sink_opts {
    const char *uri;             /* NULL or "" = the libpq environment */
    td_tape_t *tape;             /* NULL = open tape_dir read-only at every pass; else read through this
                                    handle (written by another thread, closed only after the sink ends) */
    const char *tape_dir;        /* the data directory (when tape is NULL) */
    td_tape_opts_t tape_opts;    /* read_only is forced */
    const char *symbol;          /* NULL = every output stream */
    uint32_t batch_rows;         /* output events per transaction, >= 1 */
    uint32_t sessions;           /* PostgreSQL sessions writing at once, 1..TD_SINK_SESSIONS_MAX */
    bool once;                   /* one pass to the end of the tape, then return */
    uint32_t poll_ms;            /* follow mode: wait between passes */
    uint32_t retry_max_ms;       /* longest wait between connection attempts */
    uint32_t give_up_s;          /* 0 = retry forever; else TD_ERR_IO after this long unreachable */
    bool direct_copy;            /* COPY straight into the table, the upsert only when a key exists (sink.c) */
    uint32_t hold_ms;            /* testing aid: keep each batch's transaction open this long before COMMIT */
    td_log_t *log;               /* may be NULL */
    volatile sig_atomic_t *stop; /* may be NULL; non-zero = finish the current batch and return */
} td_sink_opts_t;

#define TD_SINK_SESSIONS_MAX 16

/* Row counts by table, in this order. */
enum {
    TD_SINK_BARS,
    TD_SINK_SIGNALS,
    TD_SINK_INTENTS,
    TD_SINK_FILLS,
    TD_SINK_POSITIONS,
    TD_SINK_TRADES,
    TD_SINK_DIGESTS,
    TD_SINK_SPECS, /* input streams from here on */
    TD_SINK_PARAMS,
    TD_SINK_EXECS,
    TD_SINK_TABLES
};

typedef struct td_sink_stats {
    uint64_t symbols;          /* output streams visited */
    uint64_t rows;             /* rows committed by this run */
    uint64_t batches;          /* transactions committed */
    uint64_t retries;          /* failed connection attempts and batches retried */
    uint64_t upserted_batches; /* direct_copy: batches that met an existing key and were upserted */
    uint64_t by_table[TD_SINK_TABLES];
} td_sink_stats_t;

/* Adds part's counts to total's. */
void td_sink_stats_add(td_sink_stats_t *total, const td_sink_stats_t *part);

/* The table name of a TD_SINK_* index ("bars", "fills", ...). */
const char *td_sink_table_name(int table);

/* Writes the one-line summary of a td_sink_run that took `seconds` ("sink: N row(s) in ...: bars N,
 * ..."), as tapedeck sink and tapedeck run --role sink print it. */
void td_sink_stats_print(FILE *out, const td_sink_stats_t *stats, double seconds);

/* Runs the sink (see above). Returns TD_OK when done (once) or stopped; TD_ERR_IO when
 * PostgreSQL stayed unreachable past give_up_s; TD_ERR_STATE when the database has no tapedeck
 * schema (message: run tapedeck migrate); other codes for tape or SQL failures, with detail. */
td_err_t td_sink_run(const td_sink_opts_t *opts, td_sink_stats_t *stats, char *errbuf, size_t errlen) TD_WUR;

#endif
