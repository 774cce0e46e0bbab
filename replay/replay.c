/* replay.c - re-run one recorded (symbol, day) from its day-start snapshot and compare. */
#include "replay/replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "host/host.h"

typedef struct compare {
    td_tape_t *tape;
    td_replay_result_t *result;
    td_tape_iter_t *recorded; /* the output stream from the day's first output */
    uint64_t recorded_count;  /* outputs of the day on the tape */
    uint64_t next_output;     /* offset of the next recorded output to compare */
    td_buf_t a, b;
    td_event_t rec;
    char detail[1024]; /* the tape's detail of a failed read */
} compare_t;

static void diverge(compare_t *cmp, uint64_t output_offset, const td_event_t *input, const td_event_t *expected,
                    const td_event_t *actual, const char *what)
{
    td_replay_result_t *r = cmp->result;
    if (r->verdict == TD_REPLAY_DIVERGED)
        return; /* keep the first */
    r->verdict = TD_REPLAY_DIVERGED;
    r->divergent_output_offset = output_offset;
    if (input) {
        r->has_input = true;
        r->input = *input;
        r->divergent_input_offset = input->offset;
    } else if (actual) {
        r->divergent_input_offset = actual->input_offset;
    } else if (expected) {
        r->divergent_input_offset = expected->input_offset;
    }
    if (expected) {
        r->has_expected = true;
        r->expected = *expected;
    }
    if (actual) {
        r->has_actual = true;
        r->actual = *actual;
    }
    snprintf(r->what, sizeof r->what, "%s", what);
}

/* Compares one replayed output with the next recorded one. */
static td_err_t compare_output(compare_t *cmp, const td_event_t *input, td_event_t *actual)
{
    td_replay_result_t *r = cmp->result;
    r->outputs_replayed++;
    uint64_t at = cmp->next_output++;
    actual->offset = at;
    if (r->outputs_replayed > cmp->recorded_count) {
        diverge(cmp, at, input, NULL, actual, "replay produced an output the recording does not have");
        return TD_OK;
    }
    td_err_t rc = td_tape_iter_next(cmp->recorded, &cmp->rec, cmp->detail, sizeof cmp->detail);
    if (rc == TD_ERR_END) {
        diverge(cmp, at, input, NULL, actual, "the recorded output stream ends early");
        return TD_OK;
    }
    if (rc != TD_OK)
        return rc;
    td_buf_reset(&cmp->a);
    td_buf_reset(&cmp->b);
    rc = td_codec_encode(&cmp->rec, TD_CODEC_FOR_DIGEST, &cmp->a);
    if (rc == TD_OK)
        rc = td_codec_encode(actual, TD_CODEC_FOR_DIGEST, &cmp->b);
    if (rc != TD_OK)
        return rc;
    if (cmp->a.len != cmp->b.len || memcmp(cmp->a.ptr, cmp->b.ptr, cmp->a.len) != 0) {
        char what[160];
        if (cmp->rec.kind != actual->kind)
            snprintf(what, sizeof what, "recorded a %s, replay produced a %s", td_event_kind_name(cmp->rec.kind),
                     td_event_kind_name(actual->kind));
        else
            snprintf(what, sizeof what, "the %s differs", td_event_kind_name(actual->kind));
        diverge(cmp, at, input, &cmp->rec, actual, what);
    }
    return TD_OK;
}

static td_err_t compare_all(compare_t *cmp, const td_event_t *input, td_outbuf_t *out)
{
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i < out->len; i++) {
        if (out->ev[i].kind == TD_EV_DAY_DIGEST) {
            cmp->result->digest_recorded = true;
            memcpy(cmp->result->digest_actual, out->ev[i].u.digest.sha256, TD_SHA256_LEN);
        }
        rc = compare_output(cmp, input, &out->ev[i]);
        if (rc == TD_OK && cmp->rec.kind == TD_EV_DAY_DIGEST)
            memcpy(cmp->result->digest_expected, cmp->rec.u.digest.sha256, TD_SHA256_LEN);
    }
    return rc;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

td_err_t td_replay_load_snapshot(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                                 td_pipeline_t *pipeline, uint64_t *first_output, char *errbuf, size_t errlen)
{
    char key[64];
    td_host_snapshot_key(symbol, day, key, sizeof key);
    td_buf_t snap;
    td_buf_init(&snap);
    td_err_t rc = td_tape_get_state(tape, key, &snap, errbuf, errlen);
    if (rc == TD_ERR_NOT_FOUND)
        td_err_set(errbuf, errlen, rc,
                   "%s: trading day %08" PRIu32 " has not been processed yet (run tapedeck process)", symbol, day);
    else if (rc == TD_OK && snap.len < 8)
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s: snapshot of %08" PRIu32 " is truncated", symbol, day);
    bool initialised = false;
    if (rc == TD_OK) {
        rc = td_pipeline_init(pipeline, symbol, config);
        initialised = rc == TD_OK;
        if (rc == TD_OK)
            rc = td_pipeline_decode(pipeline, snap.ptr + 8, snap.len - 8);
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "%s: snapshot of %08" PRIu32 " does not load (%s)", symbol, day,
                       td_err_name(rc));
    }
    if (rc == TD_OK)
        *first_output = be64(snap.ptr);
    else if (initialised)
        td_pipeline_fini(pipeline);
    td_buf_fini(&snap);
    return rc;
}

td_err_t td_replay_day(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                       td_replay_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    snprintf(result->symbol, sizeof result->symbol, "%s", symbol);
    result->day = day;

    td_day_range_t in_range, out_range;
    td_err_t rc = td_tape_day_get(tape, TD_STREAM_INPUT, symbol, day, &in_range, NULL, 0);
    if (rc == TD_ERR_NOT_FOUND)
        return td_err_set(errbuf, errlen, rc, "%s: no input events on trading day %08" PRIu32, symbol, day);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: day index unreadable (%s)", symbol, td_err_name(rc));
    /* replay only what the host has processed: a day it is still in the middle of is open */
    uint64_t host_next = 0;
    rc = td_host_next_offset(tape, symbol, config, &host_next);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: the processor state does not load (%s)", symbol, td_err_name(rc));
    bool partial = host_next <= in_range.last_offset;
    if (partial && host_next > in_range.first_offset)
        in_range.last_offset = host_next - 1;
    result->first_input = in_range.first_offset;
    result->last_input = in_range.last_offset;
    result->partial = partial;

    compare_t cmp = {.tape = tape, .result = result};
    td_buf_init(&cmp.a);
    td_buf_init(&cmp.b);
    td_pipeline_t pipeline;
    bool have_pipeline = false;
    td_tape_iter_t *inputs = NULL;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_event_t *ev = malloc(sizeof *ev);
    if (!ev)
        rc = TD_ERR_NOMEM;

    if (rc == TD_OK) {
        rc = td_replay_load_snapshot(tape, config, symbol, day, &pipeline, &result->first_output, errbuf, errlen);
        have_pipeline = rc == TD_OK;
    }
    if (rc == TD_OK) {
        cmp.next_output = result->first_output;
        td_err_t orc = td_tape_day_get(tape, TD_STREAM_OUTPUT, symbol, day, &out_range, cmp.detail, sizeof cmp.detail);
        if (orc == TD_OK)
            cmp.recorded_count = out_range.last_offset + 1 - result->first_output;
        else if (orc != TD_ERR_NOT_FOUND)
            rc = orc;
        result->outputs_recorded = cmp.recorded_count;
    }
    if (rc == TD_OK)
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, result->first_output, &cmp.recorded, cmp.detail,
                              sizeof cmp.detail);
    if (rc == TD_OK)
        rc = td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, in_range.first_offset, &inputs, cmp.detail,
                              sizeof cmp.detail);

    int64_t prev_time = INT64_MIN;
    while (rc == TD_OK) {
        rc = td_tape_iter_next(inputs, ev, cmp.detail, sizeof cmp.detail);
        if (rc == TD_ERR_END || (rc == TD_OK && ev->offset > in_range.last_offset)) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        if (ev->time_ms < prev_time && !result->time_reversal) {
            result->time_reversal = true;
            result->reversal_offset = ev->offset;
        }
        prev_time = ev->time_ms;
        td_outbuf_clear(&out);
        bool started = false;
        rc = td_pipeline_roll(&pipeline, ev, &out, &started);
        if (rc == TD_OK) {
            td_slice_t raw = td_tape_iter_raw(inputs);
            rc = td_pipeline_step_raw(&pipeline, ev, &raw, &out);
        }
        if (rc == TD_OK)
            rc = compare_all(&cmp, ev, &out);
        result->inputs++;
    }
    /* a day closed on the tape by the next day's first event is closed here the same way */
    if (rc == TD_OK && !partial && !pipeline.day_closed && result->outputs_replayed < cmp.recorded_count) {
        td_outbuf_clear(&out);
        rc = td_pipeline_close_day(&pipeline, in_range.last_offset + 1, &out);
        if (rc == TD_OK)
            rc = compare_all(&cmp, NULL, &out);
    }
    if (rc == TD_OK && result->verdict != TD_REPLAY_DIVERGED && result->outputs_replayed < cmp.recorded_count) {
        td_err_t nrc = td_tape_iter_next(cmp.recorded, &cmp.rec, cmp.detail, sizeof cmp.detail);
        if (nrc == TD_OK) {
            cmp.rec.offset = cmp.next_output;
            diverge(&cmp, cmp.next_output, NULL, &cmp.rec, NULL,
                    "the recording has an output that replay did not produce");
        } else if (nrc != TD_ERR_END) {
            rc = nrc;
        }
    }
    if (rc == TD_OK && result->verdict == TD_REPLAY_EQUAL && (!result->digest_recorded || partial))
        result->verdict = TD_REPLAY_OPEN;
    if (rc == TD_OK && result->digest_recorded && result->verdict != TD_REPLAY_DIVERGED &&
        memcmp(result->digest_expected, result->digest_actual, TD_SHA256_LEN) != 0)
        diverge(&cmp, cmp.next_output - 1, NULL, NULL, NULL, "the day digest differs");
    if (rc != TD_OK && errbuf && !errbuf[0])
        td_err_set(errbuf, errlen, rc, "%s: replay of %08" PRIu32 " failed (%s)", symbol, day,
                   td_tape_explain(rc, cmp.detail));

    td_tape_iter_destroy(inputs);
    td_tape_iter_destroy(cmp.recorded);
    if (have_pipeline)
        td_pipeline_fini(&pipeline);
    td_outbuf_fini(&out);
    td_buf_fini(&cmp.a);
    td_buf_fini(&cmp.b);
    free(ev);
    return rc;
}
