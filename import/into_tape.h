/* into_tape.h - one history file into the tape, all or nothing.
 *
 * The file's SHA-256 is looked up in the import registry (meta "import/<SYMBOL>/<sha>") and a
 * second import is refused unless `force`; the parsed events go into one tape batch behind the
 * given SymbolSpec (when the stream has none yet or it changed), with a SessionMark DAY_END after
 * the last event of each trading day the file covers to its end; the batch is committed only when
 * the whole file parsed, so bad input leaves the tape unchanged. A file that starts before the
 * stream's last event is refused: streams only go forward in time. Tick formats go to SYMBOL's
 * input stream, bar formats to the history stream "SYMBOL@TF" (no day-end marks there).
 *
 * Assumes the caller is the tape's one writer (core/tape.h); one call at a time per tape.
 */
#ifndef TD_IMPORT_INTO_TAPE_H
#define TD_IMPORT_INTO_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"
#include "import/import.h"

/* Which trading days get a SessionMark DAY_END (tapedeck import --day-end). */
typedef enum td_import_day_end {
    TD_IMPORT_DAY_END_AUTO, /* the days a later day follows in the file, a Lean file's named day and
                             * a .bi5 file's day at hour 23 */
    TD_IMPORT_DAY_END_LAST, /* also the file's last day: the caller vouches that the file runs to
                             * the midnight after its last event */
    TD_IMPORT_DAY_END_NONE, /* no marks */
} td_import_day_end_t;

typedef struct td_import_result {
    bool appended;                      /* false: the file held no events; nothing appended nor registered */
    bool bars;                          /* the events were bars (history stream), not ticks */
    char stream[TD_SYMBOL_MAX + 1];     /* the symbol, or "<SYMBOL>@<TF>" for bars */
    uint64_t events;                    /* events of the file appended (marks and the spec not counted) */
    uint64_t marks;                     /* SessionMark DAY_END appended */
    uint64_t first_offset, last_offset; /* the stream offsets the batch took (spec and marks included) */
    int64_t first_ms, last_ms;          /* the file's first and last event times */
    td_import_stats_t stats;            /* the parser's counts (rounded prices, crossed quotes) */
} td_import_result_t;

/* Imports `path` (opts->format, opts->symbol) into `tape` in one batch; the trading day roll is the
 * tape's (td_tape_day_offset_minutes). `spec` is the symbol's spec from the config: appended to an
 * input stream before the file's first event when the stream has none recorded or a different one.
 * Returns TD_OK (result filled; result->appended false for a file without events), TD_ERR_EXISTS
 * for a file in the registry (without force), TD_ERR_ORDER for a file starting before the stream's
 * last event, TD_ERR_INVALID when the file cannot be hashed, the parser's codes (import.h) or the
 * tape's. On any error nothing was written. Detail in errbuf, starting with the path. */
td_err_t td_import_into_tape(td_tape_t *tape, const char *path, const td_import_opts_t *opts,
                             const td_symbol_spec_t *spec, td_import_day_end_t day_end, bool force,
                             td_import_result_t *result, char *errbuf, size_t errlen) TD_WUR;

#endif
