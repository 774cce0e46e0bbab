/* replay.h - `tapedeck replay --date D`: re-run a recorded day and prove it bit-exact.
 *
 * For one symbol and trading day: load the day-start snapshot the host stored, step the same
 * pipeline over the day's input offsets (from the tape's day index), and compare every output,
 * in order, with the recorded output stream of that day, byte for byte in canonical form (ingest
 * time aside), then the recomputed day digest with the recorded DayDigest. When the recorded day
 * was closed by the next day's first event, replay closes it the same way.
 *
 * The first divergence is reported with the output offset, the input that produced it, and both
 * outputs. Inputs whose time goes backwards within the day are reported too (a reordered tape).
 */
#ifndef TD_REPLAY_H
#define TD_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/digest.h"
#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"
#include "processors/pipeline.h"

typedef enum td_replay_verdict {
    TD_REPLAY_EQUAL = 0,    /* every output and the digest equal */
    TD_REPLAY_OPEN = 1,     /* outputs equal so far; the day is not closed on the tape yet (no digest),
                               or the host has processed only part of it (replayed up to there) */
    TD_REPLAY_DIVERGED = 2, /* an output or the digest differs */
} td_replay_verdict_t;

typedef struct td_replay_result {
    char symbol[TD_SYMBOL_MAX + 1];
    uint32_t day;
    td_replay_verdict_t verdict;
    uint64_t first_input, last_input, inputs;
    uint64_t first_output, outputs_recorded, outputs_replayed;
    bool partial; /* the host has processed only part of the day so far */
    bool digest_recorded;
    uint8_t digest_expected[TD_SHA256_LEN], digest_actual[TD_SHA256_LEN];

    /* the first divergence (verdict DIVERGED) */
    uint64_t divergent_output_offset; /* offset in the output stream */
    uint64_t divergent_input_offset;  /* the input that produced the differing output */
    bool has_input, has_expected, has_actual;
    td_event_t input, expected, actual;
    char what[256]; /* one line: what differs */

    /* inputs going back in time within the day: the first one */
    bool time_reversal;
    uint64_t reversal_offset;
} td_replay_result_t;

/* Replays (symbol, day). TD_OK with the verdict in *result; TD_ERR_NOT_FOUND when the day has no
 * inputs or no snapshot (not processed yet), with detail in errbuf. */
td_err_t td_replay_day(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                       td_replay_result_t *result, char *errbuf, size_t errlen) TD_WUR;

/* Starts *pipeline (initialised here with config; td_pipeline_fini it when TD_OK) from the snapshot
 * the host stored at the start of (symbol, day), and gives the offset of the day's first output.
 * TD_ERR_NOT_FOUND when the day has not been processed yet, TD_ERR_CORRUPT for a snapshot that does
 * not load; detail in errbuf. Shared by replay, audit's neighbours and --against backtest. */
td_err_t td_replay_load_snapshot(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                                 td_pipeline_t *pipeline, uint64_t *first_output, char *errbuf, size_t errlen) TD_WUR;

#endif
