/* compact.h - `tapedeck compact --date D`: the nightly job over one closed trading day.
 *
 * For each symbol with inputs on the day, in this order, each step checking first what is done:
 *   1. verify: the day is closed on the tape (a DayDigest recorded) and replays equal
 *      (td_replay_day); otherwise the symbol is refused (TD_ERR_MISMATCH, exit 1) naming it and
 *      the first divergent output offset, or saying that the day is not closed / not processed;
 *   2. bars: the day's M1 and M30 BID bars from the day's input ticks (processors/bars, aligned like
 *      the tape's trading day; the last bar closed at the day end), upserted into `bars`. Rows
 *      compact writes carry out_offset -1 (no output event), input_offset the input that closed
 *      the bar, idx 0. A row the sink wrote from the processors' outputs (out_offset >= 0) is
 *      left as it is but must agree on open, high, low, close and tick volume, else refused;
 *   3. perf: perf_daily and perf_hourly from the day's TradeClosed outputs (processors/metrics
 *      rules: net P&L = pnl + commission + swap, a win has net > 0, drawdown over the day's equity
 *      curve of closed trades starting at 0), cross-checked against the DayDigest's totals.
 *      sharpe = mean / sample standard deviation (n - 1) of the day's per-trade net P&L, not
 *      annualised; NULL with fewer than 2 trades or a zero deviation. Hours are the UTC hour of
 *      the trade's exit time;
 *   4. seal: DATA_DIR/sealed/<SYMBOL>/<YYYYMMDD>.tdseal (core/seal.h); an existing file is
 *      verified against the tape (header, checksums, and that it holds exactly the tape's bytes),
 *      never rewritten; the seal is recorded in tape meta "seal/<SYMBOL>/<YYYYMMDD>" and in the
 *      warehouse's sealed_days;
 *   5. retention: with retain_m1_days > 0, deletes the symbol's M1 bars in the warehouse that lie
 *      in SEALED days (a sealed_days row) before the window of retain_m1_days trading days ending
 *      with the compacted day; M30 and longer bars, fills, trades, summaries and every table of
 *      the sink stay. With retain_raw_days > 0, retires the raw tape events of the symbol's sealed
 *      days (a seal record in the tape's meta) before the window of retain_raw_days trading days
 *      ending with the compacted day (td_tape_retire_day: the sealed file is verified against the
 *      tape first; the stream's newest day is kept); every reader of the tape then reads those
 *      days from their sealed files, transparently.
 * Warehouse writes of one symbol are one SQL transaction; upserts touch a row only when a value
 * differs, so a second run changes nothing ("already done").
 *
 * Thread: the caller's; the tape must be open for writing (the meta record, retention).
 */
#ifndef TD_COMPACT_H
#define TD_COMPACT_H

#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/pg.h"
#include "core/tape.h"
#include "processors/pipeline.h"

typedef struct td_compact_opts {
    const char *data_dir;                 /* sealed files go under DATA_DIR/sealed */
    const td_pipeline_config_t *pipeline; /* the configuration the tape was processed with */
    uint32_t day;                         /* YYYYMMDD */
    const char *symbol;                   /* NULL = every symbol with inputs on the day */
    uint32_t retain_raw_days;             /* tape raw events: days kept, the compacted one included; 0 = all */
    uint32_t retain_m1_days;              /* warehouse M1 bars: days kept, the compacted one included; 0 = all */
    int xz_preset;                        /* 0..9 */
    unsigned xz_threads;                  /* >= 1 */
    FILE *out;                            /* what was done, one line per step; may be NULL */
} td_compact_opts_t;

typedef struct td_compact_stats {
    uint32_t symbols; /* symbols compacted */
    uint64_t bars_m1, bars_m30;
    uint64_t rows_changed; /* warehouse rows inserted, updated or deleted by this run */
    uint32_t sealed_new;   /* files written by this run */
    uint64_t m1_deleted;   /* M1 bars deleted by retention */
    uint32_t days_retired; /* symbol days whose raw tape events retention retired in this run */
} td_compact_stats_t;

/* Compacts the day (see above). TD_OK when every symbol is done; TD_ERR_MISMATCH (tape and
 * replay, warehouse or sealed file disagree, or the day is not closed) or TD_ERR_CORRUPT (a damaged
 * sealed file) with the symbol and what disagreed in errbuf - symbols before it stay done;
 * TD_ERR_NOT_FOUND when no symbol has inputs on the day; other codes for tape, file or
 * PostgreSQL failures. */
td_err_t td_compact_day(td_tape_t *tape, td_pg_t *pg, const td_compact_opts_t *opts, td_compact_stats_t *stats,
                        char *errbuf, size_t errlen) TD_WUR;

#endif
