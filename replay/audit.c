/* audit.c - the state of one symbol at one instant, from a day-start snapshot and the tape. */
#include "replay/audit.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "host/host.h"
#include "processors/strategy.h"

/* The input days of one stream, in increasing order. */
typedef struct day_list {
    td_day_range_t *v;
    size_t len, cap;
} day_list_t;

static td_err_t collect_day(void *opaque, const td_day_range_t *range)
{
    day_list_t *days = opaque;
    if (days->len == days->cap) {
        size_t cap = days->cap ? days->cap * 2 : 64;
        td_day_range_t *v = realloc(days->v, cap * sizeof *v);
        if (!v)
            return TD_ERR_NOMEM;
        days->v = v;
        days->cap = cap;
    }
    days->v[days->len++] = *range;
    return TD_OK;
}

/* What identifies the parameter set in force in a pipeline state. */
typedef struct params_mark {
    bool has_strategy;
    char strategy[TD_ID_MAX + 1];
    uint32_t version;
    uint64_t rejected;
} params_mark_t;

static void params_mark_of(const td_pipeline_t *pipeline, params_mark_t *mark)
{
    memset(mark, 0, sizeof *mark);
    mark->has_strategy = pipeline->strategy != NULL;
    if (mark->has_strategy) {
        snprintf(mark->strategy, sizeof mark->strategy, "%s", td_strategy_name(pipeline->strategy));
        mark->version = td_strategy_params_version(pipeline->strategy);
    }
    mark->rejected = pipeline->params_rejected;
}

static bool params_mark_equal(const params_mark_t *a, const params_mark_t *b)
{
    return a->has_strategy == b->has_strategy && a->version == b->version && a->rejected == b->rejected &&
           strcmp(a->strategy, b->strategy) == 0;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Initialises *pipeline from the start snapshot of (symbol, day) and gives the offset of the day's
 * first output. TD_ERR_NOT_FOUND when there is no snapshot (the pipeline is then not initialised);
 * on any other error the pipeline is released too. */
static td_err_t load_snapshot(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                              td_pipeline_t *pipeline, uint64_t *first_output, td_buf_t *snap, char *errbuf,
                              size_t errlen)
{
    char key[64];
    td_host_snapshot_key(symbol, day, key, sizeof key);
    td_err_t rc = td_tape_get_state(tape, key, snap, NULL, 0);
    if (rc == TD_ERR_NOT_FOUND)
        return rc;
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: snapshot of %08" PRIu32 " unreadable (%s)", symbol, day,
                          td_err_name(rc));
    if (snap->len < 8)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: snapshot of %08" PRIu32 " is truncated", symbol, day);
    rc = td_pipeline_init(pipeline, symbol, config);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: cannot start a pipeline (%s)", symbol, td_err_name(rc));
    rc = td_pipeline_decode(pipeline, snap->ptr + 8, snap->len - 8);
    if (rc != TD_OK) {
        td_pipeline_fini(pipeline);
        return td_err_set(errbuf, errlen, rc, "%s: snapshot of %08" PRIu32 " does not load (%s)", symbol, day,
                          td_err_name(rc));
    }
    *first_output = be64(snap->ptr);
    return TD_OK;
}

/* True when the pipeline would accept params (its rule: a known strategy with valid values). */
static td_err_t params_accepted(const td_params_changed_t *params, bool *accepted)
{
    td_strategy_t *strategy = NULL;
    td_err_t rc = td_strategy_new(params, &strategy, NULL, 0);
    td_strategy_destroy(strategy);
    *accepted = rc == TD_OK;
    return rc == TD_ERR_NOMEM ? rc : TD_OK;
}

/* Scans the inputs of range for the last accepted ParamsChanged; *found tells whether there is one
 * (then copied into *params_event). ev is scratch space. */
static td_err_t scan_day_for_params(td_tape_t *tape, const char *symbol, const td_day_range_t *range, td_event_t *ev,
                                    bool *found, td_event_t *params_event, char *errbuf, size_t errlen)
{
    *found = false;
    td_tape_iter_t *iter = NULL;
    td_err_t rc = td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, range->first_offset, &iter, errbuf, errlen);
    while (rc == TD_OK) {
        rc = td_tape_iter_next(iter, ev, errbuf, errlen);
        if (rc == TD_ERR_END || (rc == TD_OK && ev->offset > range->last_offset)) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK || ev->kind != TD_EV_PARAMS_CHANGED)
            continue;
        bool accepted = false;
        rc = params_accepted(&ev->u.params, &accepted);
        if (rc == TD_OK && accepted) {
            *found = true;
            *params_event = *ev;
        }
    }
    td_tape_iter_destroy(iter);
    return rc;
}

/* Finds the ParamsChanged that set the parameter set in force at the start of days->v[idx]
 * (described by at_start): walks the earlier days back, comparing their start snapshots, and scans
 * the one day in which the set changed. Leaves result->has_params_event false if none is found. */
static td_err_t find_params_before(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol,
                                   const day_list_t *days, size_t idx, const params_mark_t *at_start, td_event_t *ev,
                                   td_audit_result_t *result, char *errbuf, size_t errlen)
{
    params_mark_t later = *at_start;
    td_buf_t snap;
    td_buf_init(&snap);
    td_err_t rc = TD_OK;
    for (size_t j = idx; rc == TD_OK && j-- > 0;) {
        td_pipeline_t pipeline;
        uint64_t first_output = 0;
        params_mark_t mark;
        bool have_mark = false;
        rc = load_snapshot(tape, config, symbol, days->v[j].trading_day, &pipeline, &first_output, &snap, errbuf,
                           errlen);
        if (rc == TD_OK) {
            params_mark_of(&pipeline, &mark);
            td_pipeline_fini(&pipeline);
            have_mark = true;
        } else if (rc == TD_ERR_NOT_FOUND) {
            rc = TD_OK; /* no snapshot: the day has to be scanned */
        }
        if (rc != TD_OK)
            break;
        if (!have_mark || !params_mark_equal(&mark, &later)) {
            bool found = false;
            char detail[1024] = "";
            rc = scan_day_for_params(tape, symbol, &days->v[j], ev, &found, &result->params_event, detail,
                                     sizeof detail);
            if (rc != TD_OK) {
                td_err_set(errbuf, errlen, rc, "%s: inputs of %08" PRIu32 " unreadable (%s)", symbol,
                           days->v[j].trading_day, td_tape_explain(rc, detail));
                break;
            }
            if (found) {
                result->has_params_event = true;
                break;
            }
        }
        if (have_mark) {
            if (!mark.has_strategy)
                break; /* no parameter set before this day: nothing further back can have set it */
            later = mark;
        }
    }
    td_buf_fini(&snap);
    return rc;
}

/* Reads the last n inputs up to and including offset `last` into result->last. */
static td_err_t read_last(td_tape_t *tape, const char *symbol, uint64_t last, uint32_t n, td_audit_result_t *result,
                          char *errbuf, size_t errlen)
{
    uint64_t from = last + 1 >= n ? last + 1 - n : 0;
    td_tape_iter_t *iter = NULL;
    td_err_t rc = td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, from, &iter, errbuf, errlen);
    while (rc == TD_OK && result->n_last < n) {
        td_event_t *ev = &result->last[result->n_last];
        rc = td_tape_iter_next(iter, ev, errbuf, errlen);
        if (rc == TD_OK && ev->offset > last)
            rc = TD_ERR_END;
        if (rc == TD_OK)
            result->n_last++;
    }
    td_tape_iter_destroy(iter);
    return rc == TD_ERR_END ? TD_OK : rc;
}

td_err_t td_audit_at(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, int64_t at_ms,
                     uint32_t last_n, td_audit_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, offsetof(td_audit_result_t, last));
    if (errbuf && errlen)
        errbuf[0] = '\0';
    snprintf(result->symbol, sizeof result->symbol, "%s", symbol);
    result->at_ms = at_ms;
    if (last_n > TD_AUDIT_LAST_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "at most %d last events, asked for %" PRIu32,
                          TD_AUDIT_LAST_MAX, last_n);
    uint64_t stream_end = td_tape_next_offset(tape, TD_STREAM_INPUT, symbol);
    if (stream_end == 0)
        return td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "no input stream for symbol %s", symbol);

    td_event_t *ev = malloc(sizeof *ev);
    if (!ev)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "%s: out of memory", symbol);
    day_list_t days = {0};
    td_buf_t snap;
    td_buf_init(&snap);
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_tape_iter_t *inputs = NULL;
    td_pipeline_t pipeline;
    bool have_pipeline = false;
    char when[32], first_when[32], detail[1024] = ""; /* detail: the tape's, of a failed read */
    td_time_format_iso(at_ms, when);

    td_err_t rc = td_tape_read(tape, TD_STREAM_INPUT, symbol, 0, ev, detail, sizeof detail);
    if (rc != TD_OK)
        td_err_set(errbuf, errlen, rc, "%s: the first input does not read (%s)", symbol, td_tape_explain(rc, detail));
    if (rc == TD_OK && at_ms < ev->time_ms) {
        td_time_format_iso(ev->time_ms, first_when);
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: %s is before the stream's first event (offset 0 at %s)",
                        symbol, when, first_when);
    }
    if (rc == TD_OK) {
        rc = td_host_next_offset(tape, symbol, config, &result->host_next_offset);
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "%s: the processor state does not load (%s)", symbol, td_err_name(rc));
    }
    if (rc == TD_OK && result->host_next_offset == 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "%s has not been processed yet (run tapedeck process)",
                        symbol);
    if (rc == TD_OK) {
        rc = td_tape_days(tape, TD_STREAM_INPUT, symbol, collect_day, &days, NULL, 0);
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "%s: day index unreadable (%s)", symbol, td_err_name(rc));
    }

    /* the day to start from: the one containing at, else the last earlier one with inputs, and
     * never one the host has not started */
    size_t idx = 0;
    uint64_t limit = result->host_next_offset - 1; /* the last committed input */
    if (rc == TD_OK) {
        result->at_day = td_time_trading_day(at_ms, td_tape_day_offset_minutes(tape));
        size_t n = 0;
        while (n < days.len && days.v[n].trading_day <= result->at_day)
            n++;
        if (n == 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: no inputs on or before trading day %08" PRIu32, symbol,
                            result->at_day);
        else
            idx = n - 1;
        while (rc == TD_OK && idx > 0 && days.v[idx].first_offset > limit)
            idx--;
    }
    uint64_t first_output = 0;
    if (rc == TD_OK) {
        result->start_day = days.v[idx].trading_day;
        result->day_first_offset = days.v[idx].first_offset;
        rc = load_snapshot(tape, config, symbol, result->start_day, &pipeline, &first_output, &snap, errbuf, errlen);
        have_pipeline = rc == TD_OK;
        if (rc == TD_ERR_NOT_FOUND)
            td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                       "%s: trading day %08" PRIu32 " is processed but has no start snapshot", symbol,
                       result->start_day);
        if (rc == TD_ERR_NOT_FOUND)
            rc = TD_ERR_CORRUPT;
    }
    params_mark_t at_start;
    if (rc == TD_OK) {
        params_mark_of(&pipeline, &at_start);
        rc = td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, result->day_first_offset, &inputs, detail, sizeof detail);
    }

    /* step the day's inputs with a time <= at, up to the host's limit */
    uint64_t end = days.len ? days.v[idx].last_offset : 0;
    if (end > limit)
        end = limit;
    uint64_t outputs = 0;
    bool stopped_by_time = false;
    while (rc == TD_OK) {
        rc = td_tape_iter_next(inputs, ev, detail, sizeof detail);
        if (rc == TD_ERR_END || (rc == TD_OK && ev->offset > end)) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        if (ev->time_ms > at_ms) {
            stopped_by_time = true;
            break;
        }
        td_outbuf_clear(&out);
        bool started = false;
        uint64_t rejected = pipeline.params_rejected;
        rc = td_pipeline_roll(&pipeline, ev, &out, &started);
        if (rc == TD_OK) {
            td_slice_t raw = td_tape_iter_raw(inputs);
            rc = td_pipeline_step_raw(&pipeline, ev, &raw, &out);
        }
        if (rc != TD_OK) {
            td_err_set(errbuf, errlen, rc, "%s: offset %" PRIu64 " (%s): the pipeline failed: %s", symbol, ev->offset,
                       td_event_kind_name(ev->kind), pipeline.last_error);
            break;
        }
        if (ev->kind == TD_EV_PARAMS_CHANGED && pipeline.params_rejected == rejected) {
            result->has_params_event = true;
            result->params_event = *ev;
        }
        outputs += out.len;
        result->inputs_stepped++;
        result->last_applied_offset = ev->offset;
        result->last_applied_time = ev->time_ms;
    }

    /* where it stopped, and whether the host's limit cut the answer short */
    if (rc == TD_OK) {
        result->next_output_offset = first_output + outputs;
        if (result->inputs_stepped == 0) {
            if (result->day_first_offset == 0) {
                td_time_format_iso(ev->time_ms, first_when);
                rc = td_err_set(errbuf, errlen, TD_ERR_INVALID,
                                "%s: %s is before the stream's first event (offset 0 at %s)", symbol, when, first_when);
            } else {
                /* nothing of the day yet: the state is the one the previous day left */
                result->last_applied_offset = result->day_first_offset - 1;
                td_event_t *prev = &result->last[0]; /* scratch; overwritten by read_last */
                rc = td_tape_read(tape, TD_STREAM_INPUT, symbol, result->last_applied_offset, prev, detail,
                                  sizeof detail);
                if (rc == TD_OK)
                    result->last_applied_time = prev->time_ms;
            }
        }
    }
    if (rc == TD_OK) {
        result->next_input_offset = result->last_applied_offset + 1;
        if (stopped_by_time) {
            result->has_next_input = true;
            result->next_input_time = ev->time_ms;
        } else if (result->next_input_offset < stream_end) {
            rc = td_tape_read(tape, TD_STREAM_INPUT, symbol, result->next_input_offset, ev, detail, sizeof detail);
            result->has_next_input = rc == TD_OK;
            result->next_input_time = ev->time_ms;
        }
        result->beyond_processed = result->has_next_input && result->next_input_offset >= result->host_next_offset &&
                                   result->next_input_time <= at_ms;
    }

    /* the answer */
    if (rc == TD_OK) {
        const td_positions_t *positions = &pipeline.positions;
        result->volume = td_positions_volume(positions);
        result->avg_price = td_positions_avg_price(positions);
        result->realized_pnl = positions->realized_pnl;
        result->commission = positions->commission;
        result->swap = positions->swap;
        result->entry_time = positions->entry_time;
        result->n_intents = pipeline.n_outstanding;
        memcpy(result->intents, pipeline.outstanding, pipeline.n_outstanding * sizeof pipeline.outstanding[0]);
        result->params_rejected = pipeline.params_rejected;
        result->has_strategy = pipeline.strategy != NULL;
        if (result->has_strategy) {
            snprintf(result->strategy, sizeof result->strategy, "%s", td_strategy_name(pipeline.strategy));
            result->params_version = td_strategy_params_version(pipeline.strategy);
        }
    }
    if (rc == TD_OK && result->has_strategy && !result->has_params_event)
        rc = find_params_before(tape, config, symbol, &days, idx, &at_start, ev, result, errbuf, errlen);
    if (rc == TD_OK) {
        rc = read_last(tape, symbol, result->last_applied_offset, last_n, result, detail, sizeof detail);
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "%s: the last inputs do not read (%s)", symbol, td_tape_explain(rc, detail));
    }
    if (rc != TD_OK && errbuf && errlen && !errbuf[0])
        td_err_set(errbuf, errlen, rc, "%s: reading the tape failed at %s (%s)", symbol, when,
                   td_tape_explain(rc, detail));

    td_tape_iter_destroy(inputs);
    if (have_pipeline)
        td_pipeline_fini(&pipeline);
    td_outbuf_fini(&out);
    td_buf_fini(&snap);
    free(days.v);
    free(ev);
    return rc;
}
