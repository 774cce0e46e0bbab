/* host.c - the processor host in batch mode: each input stream to its end, state committed with
 * the outputs in one tape batch. See host.h for the contract. */
#include "host/host.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

void td_host_pipeline_config(const td_config_t *config, td_pipeline_config_t *pipeline)
{
    memset(pipeline, 0, sizeof *pipeline);
    pipeline->timeframe_s = (uint32_t)td_config_int(config, "bars.timeframe"); /* seconds (core/names.h) */
    pipeline->day_offset_minutes = (int)td_config_int(config, "session.day_offset_minutes");
    pipeline->tz_offset_minutes = (int)td_config_int(config, "session.tz_offset_minutes");
    pipeline->paper = td_config_int(config, "broker.mode") == 0;
    pipeline->fill.slippage_points = td_config_int(config, "broker.slippage_points");
    pipeline->fill.commission_per_lot = td_config_decimal(config, "broker.commission_per_lot");
}

td_err_t td_host_config_text(const td_pipeline_config_t *pipeline, td_buf_t *out)
{
    return td_buf_printf(out,
                         "timeframe_s=%" PRIu32 ";day_offset_minutes=%d;tz_offset_minutes=%d;paper=%d;"
                         "slippage_points=%" PRId64 ";commission_per_lot=%" PRId64,
                         pipeline->timeframe_s, pipeline->day_offset_minutes, pipeline->tz_offset_minutes,
                         pipeline->paper ? 1 : 0, pipeline->fill.slippage_points, pipeline->fill.commission_per_lot);
}

td_err_t td_host_check_config(td_tape_t *tape, const td_pipeline_config_t *pipeline, char *errbuf, size_t errlen)
{
    td_buf_t want, have;
    td_buf_init(&want);
    td_buf_init(&have);
    td_tape_batch_t *batch = NULL;
    td_err_t rc = td_host_config_text(pipeline, &want);
    if (rc == TD_OK && pipeline->day_offset_minutes != td_tape_day_offset_minutes(tape))
        rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                        "session.day_offset_minutes is %d but the tape was opened with %d",
                        pipeline->day_offset_minutes, td_tape_day_offset_minutes(tape));
    if (rc == TD_OK) {
        rc = td_tape_get_meta(tape, "host/config", &have, NULL, 0);
        if (rc == TD_ERR_NOT_FOUND) {
            rc = td_tape_batch_new(tape, &batch, NULL, 0);
            if (rc == TD_OK)
                rc = td_tape_batch_put_meta(batch, "host/config", want.ptr, want.len, NULL, 0);
            if (rc == TD_OK) {
                rc = td_tape_commit(tape, batch, NULL, 0);
                batch = NULL;
            }
        } else if (rc == TD_OK && (have.len != want.len || memcmp(have.ptr, want.ptr, want.len) != 0)) {
            rc = td_err_set(errbuf, errlen, TD_ERR_CONFIG,
                            "the tape was processed with '%.*s' but the configuration now says '%.*s'; "
                            "process into a fresh data directory to use the new configuration",
                            (int)have.len, (const char *)have.ptr, (int)want.len, (const char *)want.ptr);
        }
    }
    td_tape_batch_destroy(batch);
    td_buf_fini(&want);
    td_buf_fini(&have);
    return rc;
}

void td_host_state_key(const char *symbol, char *key, size_t keylen)
{
    snprintf(key, keylen, "proc/%s", symbol);
}

void td_host_snapshot_key(const char *symbol, uint32_t day, char *key, size_t keylen)
{
    snprintf(key, keylen, "snap/%s/%08" PRIu32, symbol, day);
}

/* Puts the pipeline state under "proc/<symbol>" in batch. */
static td_err_t put_state(td_tape_batch_t *batch, const td_pipeline_t *pipeline, td_buf_t *scratch)
{
    char key[64];
    td_host_state_key(pipeline->symbol, key, sizeof key);
    td_buf_reset(scratch);
    td_err_t rc = td_pipeline_encode(pipeline, scratch);
    if (rc == TD_OK)
        rc = td_tape_batch_put_state(batch, key, scratch->ptr, scratch->len, NULL, 0);
    return rc;
}

/* Puts the day-start snapshot: 8-byte big-endian output offset, then the pipeline state. */
static td_err_t put_snapshot(td_tape_batch_t *batch, const td_pipeline_t *pipeline, uint64_t out_offset,
                             td_buf_t *scratch)
{
    char key[64];
    td_host_snapshot_key(pipeline->symbol, pipeline->day, key, sizeof key);
    td_buf_reset(scratch);
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(out_offset >> (56 - 8 * i));
    td_err_t rc = td_buf_append(scratch, be, sizeof be);
    if (rc == TD_OK)
        rc = td_pipeline_encode(pipeline, scratch);
    if (rc == TD_OK)
        rc = td_tape_batch_put_state(batch, key, scratch->ptr, scratch->len, NULL, 0);
    return rc;
}

/* Restores a symbol's pipeline from the state store, or starts a fresh one. */
static td_err_t load_pipeline(td_tape_t *tape, const char *symbol, const td_pipeline_config_t *config,
                              td_pipeline_t *pipeline, td_buf_t *scratch, char *errbuf, size_t errlen)
{
    td_err_t rc = td_pipeline_init(pipeline, symbol, config);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: cannot start a pipeline (timeframe %" PRIu32 " s)", symbol,
                          config->timeframe_s);
    char key[64];
    td_host_state_key(symbol, key, sizeof key);
    rc = td_tape_get_state(tape, key, scratch, NULL, 0);
    if (rc == TD_ERR_NOT_FOUND)
        return TD_OK;
    if (rc == TD_OK)
        rc = td_pipeline_decode(pipeline, scratch->ptr, scratch->len);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: stored processor state does not load (%s)", symbol, td_err_name(rc));
    return TD_OK;
}

td_err_t td_host_next_offset(td_tape_t *tape, const char *symbol, const td_pipeline_config_t *config,
                             uint64_t *next_offset)
{
    td_buf_t scratch;
    td_buf_init(&scratch);
    td_pipeline_t pipeline;
    *next_offset = 0;
    td_err_t rc = load_pipeline(tape, symbol, config, &pipeline, &scratch, NULL, 0);
    if (rc == TD_OK) {
        *next_offset = pipeline.next_offset;
        td_pipeline_fini(&pipeline);
    }
    td_buf_fini(&scratch);
    return rc;
}

typedef struct run {
    td_tape_t *tape;
    const td_host_opts_t *opts;
    td_host_stats_t *stats;
    char *errbuf;
    size_t errlen;
    td_host_cache_t *cache; /* NULL: the pipeline is loaded from the tape */
} run_t;

static td_err_t process_symbol(void *opaque, const char *symbol)
{
    run_t *run = opaque;
    const td_host_opts_t *opts = run->opts;
    if (opts->symbol && strcmp(opts->symbol, symbol) != 0)
        return TD_OK;
    td_pipeline_t local;
    td_host_cache_t *cache = run->cache;
    td_pipeline_t *pipeline = cache ? &cache->pipeline : &local;
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_buf_t scratch;
    td_buf_init(&scratch);
    td_tape_iter_t *iter = NULL;
    td_tape_batch_t *batch = NULL;
    uint64_t uncommitted = 0;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? TD_OK : TD_ERR_NOMEM;
    bool have_pipeline = cache && cache->loaded;
    char detail[512] = ""; /* the tape's detail of a failed call */

    if (rc == TD_OK && !have_pipeline) {
        rc = load_pipeline(run->tape, symbol, &opts->pipeline, pipeline, &scratch, run->errbuf, run->errlen);
        have_pipeline = rc == TD_OK;
    }
    uint64_t out_offset = td_tape_next_offset(run->tape, TD_STREAM_OUTPUT, symbol);
    if (rc == TD_OK && opts->log)
        td_log_write(opts->log, TD_LOG_DEBUG, "host", TD_OK,
                     "%s: resuming at input offset %" PRIu64 ", output offset %" PRIu64, symbol, pipeline->next_offset,
                     out_offset);
    if (rc == TD_OK)
        rc = td_tape_iter_new(run->tape, TD_STREAM_INPUT, symbol, pipeline->next_offset, &iter, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_tape_batch_new(run->tape, &batch, detail, sizeof detail);
    if (rc != TD_OK && run->errbuf && !run->errbuf[0]) {
        td_err_set(run->errbuf, run->errlen, rc, "%s: cannot start processing: %s", symbol, detail);
    }
    run->stats->symbols++;
    while (rc == TD_OK) {
        rc = td_tape_iter_next(iter, ev, detail, sizeof detail);
        if (rc == TD_ERR_END) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        td_outbuf_clear(&out);
        bool started = false;
        rc = td_pipeline_roll(pipeline, ev, &out, &started);
        /* only a DayDigest of the day that just closed comes out of a roll */
        for (size_t i = 0; rc == TD_OK && i < out.len; i++) {
            rc = td_tape_batch_append_in_day(batch, TD_STREAM_OUTPUT, &out.ev[i], out.ev[i].u.digest.trading_day,
                                             detail, sizeof detail);
            out_offset++;
            run->stats->days_closed++;
        }
        if (rc == TD_OK && started)
            rc = put_snapshot(batch, pipeline, out_offset, &scratch);
        size_t from = out.len;
        if (rc == TD_OK) {
            td_slice_t raw = td_tape_iter_raw(iter);
            rc = td_pipeline_step_raw(pipeline, ev, &raw, &out);
        }
        for (size_t i = from; rc == TD_OK && i < out.len; i++) {
            rc = td_tape_batch_append_in_day(batch, TD_STREAM_OUTPUT, &out.ev[i], pipeline->day, detail, sizeof detail);
            out_offset++;
            if (out.ev[i].kind == TD_EV_DAY_DIGEST)
                run->stats->days_closed++;
        }
        if (rc != TD_OK) {
            if (pipeline->rc != TD_OK)
                snprintf(detail, sizeof detail, "%s", pipeline->last_error);
            td_err_set(run->errbuf, run->errlen, rc, "%s: offset %" PRIu64 " (%s): processing failed: %s%s%s", symbol,
                       ev->offset, td_event_kind_name(ev->kind), td_err_name(rc), detail[0] ? ": " : "", detail);
            break;
        }
        run->stats->inputs++;
        run->stats->outputs += out.len;
        uncommitted++;
        if (opts->stop_after && run->stats->inputs >= opts->stop_after) {
            rc = TD_ERR_END; /* stop as a crash would: the open batch is dropped */
            break;
        }
        if (uncommitted >= opts->batch_events) {
            rc = put_state(batch, pipeline, &scratch);
            if (rc == TD_OK) {
                rc = td_tape_commit(run->tape, batch, NULL, 0);
                batch = NULL;
                run->stats->commits++;
            }
            if (rc == TD_OK)
                rc = td_tape_batch_new(run->tape, &batch, NULL, 0);
            uncommitted = 0;
        }
    }
    if (rc == TD_OK && uncommitted) {
        rc = put_state(batch, pipeline, &scratch);
        if (rc == TD_OK) {
            rc = td_tape_commit(run->tape, batch, NULL, 0);
            batch = NULL;
            run->stats->commits++;
        }
    }
    if (opts->log)
        td_log_write(opts->log, rc == TD_OK || rc == TD_ERR_END ? TD_LOG_DEBUG : TD_LOG_ERROR, "host", rc,
                     "%s: stopped at input offset %" PRIu64 ", output offset %" PRIu64, symbol,
                     have_pipeline ? pipeline->next_offset : 0, out_offset);
    if (rc == TD_OK && opts->log &&
        (pipeline->params_rejected || pipeline->exec_rejected || pipeline->outstanding_dropped ||
         pipeline->inputs_refused))
        td_log_write(opts->log, TD_LOG_WARN, "host", TD_ERR_INVALID,
                     "%s: refused so far: %" PRIu64 " parameter set(s), %" PRIu64 " execution report(s), %" PRIu64
                     " input(s) the bars or strategy could not take; %" PRIu64
                     " unanswered intent(s) forgotten; last: %s",
                     symbol, pipeline->params_rejected, pipeline->exec_rejected, pipeline->inputs_refused,
                     pipeline->outstanding_dropped, pipeline->last_error);
    td_tape_batch_destroy(batch);
    td_tape_iter_destroy(iter);
    if (cache) /* kept only as the committed state: after a failure memory may be ahead of the tape */
        cache->loaded = have_pipeline && rc == TD_OK;
    if (have_pipeline && !(cache && cache->loaded))
        td_pipeline_fini(pipeline);
    td_outbuf_fini(&out);
    td_buf_fini(&scratch);
    free(ev);
    return rc;
}

td_err_t td_host_process(td_tape_t *tape, const td_host_opts_t *opts, td_host_stats_t *stats, char *errbuf,
                         size_t errlen)
{
    memset(stats, 0, sizeof *stats);
    td_err_t rc = td_host_check_config(tape, &opts->pipeline, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    run_t run = {tape, opts, stats, errbuf, errlen, NULL};
    if (!opts->symbol)
        return td_tape_symbols(tape, TD_STREAM_INPUT, process_symbol, &run, NULL, 0);
    /* one symbol: one seek for its stream's end, not a scan of every stream's keys */
    uint64_t end = 0;
    rc = td_tape_stream_end(tape, TD_STREAM_INPUT, opts->symbol, &end, NULL, 0);
    return rc == TD_OK && end > 0 ? process_symbol(&run, opts->symbol) : rc;
}

td_err_t td_host_process_symbol(td_tape_t *tape, const td_host_opts_t *opts, const char *symbol, td_host_cache_t *cache,
                                td_host_stats_t *stats, char *errbuf, size_t errlen)
{
    memset(stats, 0, sizeof *stats);
    td_host_opts_t one = *opts;
    one.symbol = symbol;
    run_t run = {tape, &one, stats, errbuf, errlen, cache};
    return process_symbol(&run, symbol);
}

void td_host_cache_drop(td_host_cache_t *cache)
{
    if (cache && cache->loaded)
        td_pipeline_fini(&cache->pipeline);
    if (cache)
        cache->loaded = false;
}
