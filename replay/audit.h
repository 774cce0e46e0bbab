/* audit.h - `tapedeck audit --symbol S --at TIME`: the state of one symbol at one instant, rebuilt
 * from the tape alone.
 *
 * The answer a compliance officer asks for: at instant `at`, what was the position (signed volume,
 * average price, realised P&L, commission, swap), which order intents were out and unanswered, which
 * parameter set was in force (and the stream offset of the ParamsChanged that set it), and which
 * input events led there, each with its stream offset.
 *
 * How: the trading day containing `at` (td_time_trading_day with the tape's day offset; when that
 * day has no inputs, the last earlier day that has) is re-run from the day-start snapshot the host
 * stored ("snap/<SYMBOL>/<YYYYMMDD>"), with the same pipeline the host ran, over the day's inputs in
 * offset order while their event time is <= at. The first input after `at` stops it: the log order
 * is the only order (DESIGN invariant 1), so a late input behind it is not part of the answer. It
 * never steps past what the host has committed (td_host_next_offset); when inputs with a time <= at
 * exist beyond that point the result says so (beyond_processed) and answers as of the last
 * committed input.
 *
 * The parameter set's ParamsChanged is tracked while stepping; when it lies before the day start,
 * the earlier days' start snapshots are compared (strategy, version, refused count) to find the one
 * day whose inputs hold it, and only that day is scanned. A ParamsChanged counts when the pipeline
 * accepts it, i.e. when td_strategy_new would (the pipeline's own rule). ASSUMPTION: an accepted
 * ParamsChanged with the same strategy and version as the set already in force, in a day that
 * refused none, is not looked for: the first of such twins is reported.
 *
 * Pure reading: nothing is written to the tape. Deterministic: the same tape gives the same result.
 * Thread: any thread holding the tape; the tape may have a writer in another process (read-only).
 */
#ifndef TD_AUDIT_H
#define TD_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"
#include "core/tape.h"
#include "processors/pipeline.h"

#define TD_AUDIT_LAST_DEFAULT 10
#define TD_AUDIT_LAST_MAX 1000

typedef struct td_audit_result {
    char symbol[TD_SYMBOL_MAX + 1];
    int64_t at_ms;
    uint32_t at_day;    /* the trading day that contains at */
    uint32_t start_day; /* the day whose start snapshot was used (at_day or an earlier one) */

    /* how far the answer reaches */
    uint64_t host_next_offset;    /* the next input the host will process (all before it are committed) */
    bool beyond_processed;        /* inputs with time <= at exist that the host has not processed yet */
    uint64_t next_input_offset;   /* the first input NOT applied (the one after at, or the host's limit) */
    bool has_next_input;          /* it exists on the tape */
    int64_t next_input_time;      /* its event time */
    uint64_t last_applied_offset; /* the last input applied: the answer is the state right after it */
    int64_t last_applied_time;
    uint64_t day_first_offset;   /* the first input of start_day */
    uint64_t inputs_stepped;     /* inputs re-run from the snapshot */
    uint64_t next_output_offset; /* outputs below this offset were produced by applied inputs */

    /* the position */
    td_volume_t volume; /* signed: + long, - short, 0 flat */
    td_price_t avg_price;
    td_money_t realized_pnl, commission, swap; /* cumulative since the stream's start */
    int64_t entry_time;                        /* when the open position was opened; 0 when flat */

    /* the order intents sent and not (fully) answered yet, oldest first */
    uint32_t n_intents;
    td_outstanding_t intents[TD_PIPELINE_OUTSTANDING_MAX];

    /* the parameter set in force */
    bool has_strategy; /* false: no valid ParamsChanged has reached the symbol yet */
    char strategy[TD_ID_MAX + 1];
    uint32_t params_version;
    bool has_params_event; /* params_event is the ParamsChanged that set it (with its offset) */
    td_event_t params_event;
    uint64_t params_rejected; /* ParamsChanged events refused so far */

    /* the last inputs applied, oldest first: offsets last_applied_offset - n_last + 1 .. last */
    uint32_t n_last;
    td_event_t last[TD_AUDIT_LAST_MAX];
} td_audit_result_t;

/* Rebuilds the state of symbol's pipeline at instant at_ms (ms since the epoch, UTC) into *result
 * (a large struct: allocate it on the heap), with the last `last_n` (<= TD_AUDIT_LAST_MAX) inputs.
 * config must be the configuration the host processed the tape with.
 * Returns TD_OK; TD_ERR_NOT_FOUND (no input stream for symbol, or the host has not processed it);
 * TD_ERR_INVALID (at_ms before the stream's first event, or last_n too large); TD_ERR_CORRUPT (a
 * snapshot or event does not decode); TD_ERR_STORE / TD_ERR_NOMEM. Detail in errbuf. */
td_err_t td_audit_at(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, int64_t at_ms,
                     uint32_t last_n, td_audit_result_t *result, char *errbuf, size_t errlen) TD_WUR;

#endif
