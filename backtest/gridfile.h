/* gridfile.h - a grid search described in a YAML file (`tapedeck backtest --config FILE`).
 *
 *   strategy: sma_cross
 *   grid:                       # one item per parameter, in this order (the first changes slowest)
 *     fast: 5:50:5              # LO:HI:STEP, V1|V2|..., a single value (grid.h), or a YAML list
 *     slow: [20, 50, 100, 200]  #   of values (same as 20|50|100|200)
 *     volume: 0.1
 *   symbols:                    # one or many; each with its bars
 *     EURUSD:
 *       data: bars/eurusd-m30.csv   # relative paths are relative to this file's folder
 *       format: mt5-bars            # mt5-bars, dukascopy-bars or lean-bars
 *       tz_offset: 0                # optional: the file's clock is UTC+MINUTES
 *     XAUUSD:
 *       data: tape                  # or warehouse: bars already imported (no format)
 *       timeframe: H1               # optional, for tape and warehouse only
 *   walk_forward: 24m:6m        # optional, as --walk-forward
 *   wf_metric: sharpe           # optional, as --wf-metric
 *
 * Times of day (breakout's session_start, session_end) are written as on the command line:
 * 08:00, 08:00|09:30, [08:00, 09:30] or the range 08:00:12:00:30 (every 30 minutes, grid.h).
 *
 * The grid becomes the one-line spec of grid.h ("fast=5:50:5,slow=20|50|100|200,volume=0.1"), so
 * a file and the command line give the same combinations in the same order. Symbols keep the
 * file's order. Checked here: the shape, unknown keys, missing or empty fields, lengths, and each
 * grid item by grid.h's parser (a bad range or time is refused with its line). Checked by their
 * owners later: the whole grid spec (a name twice, the number of combinations), the format name,
 * the symbol's config section.
 * Every error is TD_ERR_INVALID with "FILE:LINE: what, expected what".
 *
 * Threading: plain function; any thread.
 */
#ifndef TD_BACKTEST_GRIDFILE_H
#define TD_BACKTEST_GRIDFILE_H

#include <stddef.h>

#include "core/err.h"
#include "core/event.h"

#define TD_GRIDFILE_MAX_SYMBOLS 64
#define TD_GRIDFILE_PATH_MAX 1024
#define TD_GRIDFILE_SPEC_MAX 2048

typedef struct td_gridfile_symbol {
    char symbol[TD_SYMBOL_MAX + 1];
    char data[TD_GRIDFILE_PATH_MAX]; /* resolved against the file's folder when relative */
    char format[32];                 /* "" for tape and warehouse */
    char timeframe[8];               /* "" = the source's default; tape and warehouse only */
    int tz_offset_minutes;
    unsigned line; /* of the symbol's key, for messages */
} td_gridfile_symbol_t;

typedef struct td_gridfile {
    char strategy[TD_ID_MAX + 1];
    char grid[TD_GRIDFILE_SPEC_MAX]; /* grid.h spec */
    char walk_forward[32];           /* "" when absent */
    char wf_metric[32];              /* "" when absent */
    td_gridfile_symbol_t symbols[TD_GRIDFILE_MAX_SYMBOLS];
    size_t n_symbols;
} td_gridfile_t;

/* Reads path into *file (caller's storage, about 70 KB: allocate it). TD_ERR_INVALID with a
 * message naming the file and line; TD_ERR_IO when it cannot be opened; TD_ERR_NOMEM. */
td_err_t td_gridfile_load(const char *path, td_gridfile_t *file, char *errbuf, size_t errlen) TD_WUR;

#endif
