/* pipeline.h - the deterministic chain of processors for one symbol.
 *
 *   input event --> [paper fill model] --> position keeper --> day metrics
 *               \-> bar builder --> strategy --> order intents (--> fill model when paper)
 *
 * plus the trading-day bookkeeping and the chained day digest (core/digest.h): for each input, in
 * offset order, the chain takes the input (8-byte big-endian offset + canonical bytes without
 * ingest time) and then each of its outputs; at the day's close it takes the end-of-day state and
 * the DayDigest output carries the result. The digest therefore attests the day's inputs, their
 * order, every output and the final state.
 *
 * A step is two calls, so that the host can save the day-start snapshot between them:
 *   td_pipeline_roll(pipeline, ev, out, &started)   closes the previous day if ev belongs to a
 *                                                   later one (DayDigest output) and opens ev's day;
 *   td_pipeline_step(pipeline, ev, out)             applies ev.
 * Every output gets the envelope: symbol, time = the input's time (a DayDigest: the last input time
 * of its day), input_offset = ev->offset, index = its position among ev's outputs.
 *
 * Pure: no I/O, no clock, no randomness; the same inputs from the same state give the same bytes.
 * A failure is sticky (STYLE 5): after one, every call returns the same code.
 */
#ifndef TD_PIPELINE_H
#define TD_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/digest.h"
#include "core/event.h"
#include "processors/bars.h"
#include "processors/fill.h"
#include "processors/metrics.h"
#include "processors/output.h"
#include "processors/positions.h"
#include "processors/strategy.h"

#define TD_PIPELINE_OUTSTANDING_MAX 16

typedef struct td_pipeline_config {
    uint32_t timeframe_s;   /* bars the strategy runs on */
    int day_offset_minutes; /* trading-day roll */
    int tz_offset_minutes;  /* strategies' trading-hours time zone */
    bool paper;             /* fill intents with the fill model (else: fills arrive as ExecutionReports) */
    td_fill_config_t fill;
} td_pipeline_config_t;

typedef struct td_outstanding {
    char intent_id[TD_ID_MAX + 1];
    td_volume_t volume; /* signed remaining volume */
} td_outstanding_t;

typedef struct td_pipeline {
    char symbol[TD_SYMBOL_MAX + 1];
    td_pipeline_config_t config;
    td_err_t rc; /* sticky */

    bool has_spec;
    td_symbol_spec_t spec;
    td_bars_t bars;
    td_strategy_t *strategy; /* NULL until the first valid ParamsChanged */
    td_fill_t fill;
    td_positions_t positions;
    td_metrics_t metrics;
    td_outstanding_t outstanding[TD_PIPELINE_OUTSTANDING_MAX];
    uint32_t n_outstanding;

    uint64_t params_rejected;     /* ParamsChanged events refused by validation */
    uint64_t exec_rejected;       /* reports refused (malformed, no spec, out of range) */
    uint64_t outstanding_dropped; /* intents forgotten unanswered when the list was full */
    uint64_t inputs_refused;      /* inputs the bars, strategy or fill model refused (out of range) */
    char last_error[160];         /* message of the last refused event (not part of the state) */

    /* the trading day */
    uint32_t day;       /* 0 before the first event */
    uint32_t floor_day; /* see td_event_day() */
    bool day_closed;
    uint8_t prev_digest[TD_SHA256_LEN];
    td_chain_t chain; /* the open day's digest chain, open block included */
    uint64_t day_first_offset, day_last_offset, day_inputs, day_outputs;
    int64_t day_last_time;
    uint64_t late_at_day_start;
    uint64_t next_offset;   /* the input offset the pipeline expects next */
    uint32_t index_base;    /* outputs the roll already gave the input being stepped (a DayDigest) */
    size_t step_from;       /* transient: out->len when the current step began */
    td_hasher_t *hasher;    /* transient: the SHA-256 context the chain reuses */
    td_buf_t scratch;       /* transient: encoding space for the chain */
    int64_t day_lo, day_hi; /* transient: [start, end) of the trading day day_of_range (a cache) */
    uint32_t day_of_range;
} td_pipeline_t;

/* Starts an empty pipeline for symbol. */
td_err_t td_pipeline_init(td_pipeline_t *pipeline, const char *symbol, const td_pipeline_config_t *config) TD_WUR;
void td_pipeline_fini(td_pipeline_t *pipeline);

/* The first half of a step: see the file comment. *started is set when ev opened a new day (the
 * host then saves the day-start snapshot). */
td_err_t td_pipeline_roll(td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out, bool *started) TD_WUR;
/* The second half: applies ev (whose offset must be next_offset). Outputs are appended to out. */
td_err_t td_pipeline_step(td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out) TD_WUR;
/* The same, with ev's stored bytes from the tape (td_tape_iter_raw): the digest takes them as they
 * are instead of encoding ev again. raw must be ev's canonical encoding; NULL = encode. */
td_err_t td_pipeline_step_raw(td_pipeline_t *pipeline, const td_event_t *ev, const td_slice_t *raw,
                              td_outbuf_t *out) TD_WUR;

/* Closes the open day as a roll by an event at trigger_offset would (used by replay to finish a
 * day whose DayDigest was triggered by the next day's first event). No-op when already closed. */
td_err_t td_pipeline_close_day(td_pipeline_t *pipeline, uint64_t trigger_offset, td_outbuf_t *out) TD_WUR;

/* Canonical encoding of the whole state (config excluded: it is the host's). */
td_err_t td_pipeline_encode(const td_pipeline_t *pipeline, td_buf_t *out) TD_WUR;
/* Restores a state encoded by td_pipeline_encode into an initialised pipeline. */
td_err_t td_pipeline_decode(td_pipeline_t *pipeline, const uint8_t *p, size_t n) TD_WUR;

#endif
