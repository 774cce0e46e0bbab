/* pipeline.c - one symbol's processors chained, with the trading day and its digest.
 *
 * Order inside a step (documented because it is part of what replay reproduces):
 *   1. the input joins the day's digest chain;
 *   2. SymbolSpec / ParamsChanged update the spec / strategy;
 *   3. Tick in paper mode: the fill model fills queued intents and checks stops at this tick, its
 *      ExecutionReports go to the position keeper; ExecutionReport inputs go there directly;
 *   4. every event goes through the bar builder (closing bars at or past their end), each closed
 *      bar goes to the strategy, each intent gets its id and, in paper mode, joins the fill queue;
 *   5. the step's outputs join the chain;
 *   6. a SessionMark DAY_END then closes the day (its DayDigest is not part of its own chain).
 */
#include "processors/pipeline.h"

#include <stdio.h>
#include <string.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "state_pipeline.pb-c.h"

static td_err_t fail(td_pipeline_t *pipeline, td_err_t rc)
{
    if (pipeline->rc == TD_OK)
        pipeline->rc = rc;
    return rc;
}

td_err_t td_pipeline_init(td_pipeline_t *pipeline, const char *symbol, const td_pipeline_config_t *config)
{
    memset(pipeline, 0, sizeof *pipeline);
    if (strlen(symbol) > TD_SYMBOL_MAX || !td_bars_timeframe_valid(config->timeframe_s))
        return TD_ERR_INVALID;
    memcpy(pipeline->symbol, symbol, strlen(symbol) + 1);
    pipeline->config = *config;
    pipeline->hasher = td_hasher_new();
    if (!pipeline->hasher)
        return TD_ERR_NOMEM;
    td_bars_init(&pipeline->bars, config->timeframe_s, config->day_offset_minutes);
    /* paper deal and order ids: a per-symbol base keeps symbols' ids apart, deterministically */
    td_fill_config_t fill = config->fill;
    uint32_t h = 2166136261u; /* FNV-1a of the symbol */
    for (const char *c = symbol; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    fill.id_base = (uint64_t)(h & 0x7fffffffu) << 24;
    td_fill_init(&pipeline->fill, &fill);
    td_positions_init(&pipeline->positions);
    td_metrics_init(&pipeline->metrics);
    return TD_OK;
}

void td_pipeline_fini(td_pipeline_t *pipeline)
{
    if (!pipeline)
        return;
    td_strategy_destroy(pipeline->strategy);
    pipeline->strategy = NULL;
    td_hasher_destroy(pipeline->hasher);
    pipeline->hasher = NULL;
    td_buf_fini(&pipeline->scratch);
    td_chain_fini(&pipeline->chain);
}

/* Fills the envelope of outputs [from, out->len) produced by ev. */
static void stamp(const td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out, size_t from)
{
    for (size_t i = from; i < out->len; i++) {
        td_event_t *o = &out->ev[i];
        memcpy(o->symbol, pipeline->symbol, sizeof o->symbol);
        memcpy(o->source, "processor", sizeof "processor");
        o->schema_version = TD_SCHEMA_VERSION;
        o->time_ms = ev->time_ms;
        o->input_offset = ev->offset;
        o->index = pipeline->index_base + (uint32_t)(i - from);
    }
}

/* Adds an output's canonical digest bytes to the chain. */
static td_err_t chain_output(td_pipeline_t *pipeline, const td_event_t *ev)
{
    td_buf_reset(&pipeline->scratch);
    td_err_t rc = td_codec_encode(ev, TD_CODEC_FOR_DIGEST, &pipeline->scratch);
    if (rc == TD_OK) {
        td_slice_t bytes = td_buf_slice(&pipeline->scratch);
        rc = td_chain_add(&pipeline->chain, pipeline->hasher, &bytes, 1);
    }
    return rc;
}

/* Adds an input to the chain: its offset (8 bytes big-endian), then its canonical digest bytes -
 * cut out of the stored bytes when the caller has them (no re-encoding), else encoded here. */
static td_err_t chain_input(td_pipeline_t *pipeline, const td_event_t *ev, const td_slice_t *raw)
{
    uint8_t be[8];
    for (int i = 0; i < 8; i++)
        be[i] = (uint8_t)(ev->offset >> (56 - 8 * i));
    td_slice_t parts[4] = {{be, sizeof be}};
    size_t n = 0;
    td_err_t rc = TD_OK;
    if (raw) {
        rc = td_codec_digest_view(raw->ptr, raw->len, parts + 1, &n);
    } else {
        td_buf_reset(&pipeline->scratch);
        rc = td_codec_encode(ev, TD_CODEC_FOR_DIGEST, &pipeline->scratch);
        parts[1] = td_buf_slice(&pipeline->scratch);
        n = 1;
    }
    if (rc == TD_OK)
        rc = td_chain_add(&pipeline->chain, pipeline->hasher, parts, n + 1);
    return rc;
}

static td_err_t close_day(td_pipeline_t *pipeline, uint64_t trigger_offset, uint32_t index, td_outbuf_t *out)
{
    if (pipeline->day == 0 || pipeline->day_closed)
        return TD_OK;
    td_buf_t state;
    td_buf_init(&state);
    td_err_t rc = td_pipeline_encode(pipeline, &state);
    if (rc == TD_OK) {
        uint8_t digest[TD_SHA256_LEN];
        td_chain_finish(&pipeline->chain, pipeline->hasher, state.ptr, state.len, digest);
        td_event_t *o = td_outbuf_add(out, TD_EV_DAY_DIGEST);
        if (!o) {
            rc = TD_ERR_NOMEM;
        } else {
            td_day_digest_t *d = &o->u.digest;
            d->trading_day = pipeline->day;
            memcpy(d->sha256, digest, TD_SHA256_LEN);
            d->first_offset = pipeline->day_first_offset;
            d->last_offset = pipeline->day_last_offset;
            d->inputs = pipeline->day_inputs;
            d->outputs = pipeline->day_outputs;
            d->trades = pipeline->metrics.day.trades;
            d->wins = pipeline->metrics.day.wins;
            d->realized_pnl = pipeline->metrics.day.realized_pnl;
            d->max_drawdown = pipeline->metrics.day.max_drawdown;
            d->late_ticks = td_bars_late_total(&pipeline->bars) - pipeline->late_at_day_start;
            memcpy(o->symbol, pipeline->symbol, sizeof o->symbol);
            memcpy(o->source, "processor", sizeof "processor");
            o->time_ms = pipeline->day_last_time;
            o->input_offset = trigger_offset;
            o->index = index;
            memcpy(pipeline->prev_digest, digest, TD_SHA256_LEN);
            pipeline->day_closed = true;
            pipeline->floor_day = td_event_floor_after(o, pipeline->day);
        }
    }
    td_buf_fini(&state);
    return rc;
}

td_err_t td_pipeline_close_day(td_pipeline_t *pipeline, uint64_t trigger_offset, td_outbuf_t *out)
{
    if (pipeline->rc != TD_OK)
        return pipeline->rc;
    td_err_t rc = close_day(pipeline, trigger_offset, 0, out);
    return rc == TD_OK ? rc : fail(pipeline, rc);
}

td_err_t td_pipeline_roll(td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out, bool *started)
{
    *started = false;
    if (pipeline->rc != TD_OK)
        return pipeline->rc;
    uint32_t day;
    if (ev->time_ms >= pipeline->day_lo && ev->time_ms < pipeline->day_hi && ev->kind != TD_EV_SESSION_MARK) {
        /* the calendar of the last event's day, cached: td_event_day without the civil arithmetic */
        day = pipeline->day_of_range > pipeline->floor_day ? pipeline->day_of_range : pipeline->floor_day;
    } else {
        day = td_event_day(ev, pipeline->floor_day, pipeline->config.day_offset_minutes);
        uint32_t by_time = td_time_trading_day(ev->time_ms, pipeline->config.day_offset_minutes);
        pipeline->day_of_range = by_time;
        pipeline->day_lo = td_time_trading_day_start(by_time, pipeline->config.day_offset_minutes);
        pipeline->day_hi = pipeline->day_lo + TD_MS_PER_DAY;
    }
    if (pipeline->day != 0 && day == pipeline->day && !pipeline->day_closed)
        return TD_OK;
    if (pipeline->day != 0 && day == pipeline->day && pipeline->day_closed) {
        /* only reachable if floor_day was not advanced; td_event_floor_after guarantees it is */
        TD_ASSERT(!"event placed in a closed day");
    }
    size_t start = out->len;
    td_err_t rc = close_day(pipeline, ev->offset, 0, out);
    if (rc != TD_OK)
        return fail(pipeline, rc);
    pipeline->index_base = (uint32_t)(out->len - start); /* the step numbers its outputs after these */
    pipeline->day = day;
    pipeline->floor_day = day;
    pipeline->day_closed = false;
    rc = td_chain_start(&pipeline->chain, pipeline->hasher, pipeline->symbol, day, pipeline->prev_digest);
    if (rc != TD_OK)
        return fail(pipeline, rc);
    pipeline->day_first_offset = ev->offset;
    pipeline->day_last_offset = ev->offset;
    pipeline->day_inputs = 0;
    pipeline->day_outputs = 0;
    pipeline->day_last_time = ev->time_ms;
    pipeline->late_at_day_start = td_bars_late_total(&pipeline->bars);
    td_metrics_day_reset(&pipeline->metrics);
    *started = true;
    return TD_OK;
}

static td_outstanding_t *outstanding_find(td_pipeline_t *pipeline, const char *intent_id)
{
    for (uint32_t i = 0; i < pipeline->n_outstanding; i++)
        if (strcmp(pipeline->outstanding[i].intent_id, intent_id) == 0)
            return &pipeline->outstanding[i];
    return NULL;
}

static void outstanding_remove(td_pipeline_t *pipeline, td_outstanding_t *o)
{
    size_t i = (size_t)(o - pipeline->outstanding);
    memmove(o, o + 1, (pipeline->n_outstanding - i - 1) * sizeof *o);
    pipeline->n_outstanding--;
}

static td_volume_t pending_volume(const td_pipeline_t *pipeline)
{
    td_volume_t sum = 0;
    for (uint32_t i = 0; i < pipeline->n_outstanding; i++)
        sum += pipeline->outstanding[i].volume;
    return sum;
}

/* True for the errors with which the keeper or the metrics refuse one report and go on. */
static bool exec_refusal(td_err_t rc)
{
    return rc == TD_ERR_INVALID || rc == TD_ERR_STATE || rc == TD_ERR_OVERFLOW;
}

/* An execution report (from the stream or the paper fill model) reaches the position keeper and,
 * for a closed trade, the metrics. All or nothing: on a refusal (exec_refusal()) the keeper, the
 * metrics and out are as they were, and pipeline->exec_rejected and last_error say why. */
static td_err_t apply_exec(td_pipeline_t *pipeline, uint64_t offset, int64_t time_ms, const td_exec_report_t *exec,
                           td_outbuf_t *out)
{
    size_t from = out->len;
    td_metrics_t metrics_before = pipeline->metrics;
    td_positions_t positions_before = pipeline->positions;
    td_err_t rc = td_positions_apply(&pipeline->positions, time_ms, exec, out);
    const char *why = td_positions_error(&pipeline->positions);
    for (size_t i = from; rc == TD_OK && i < out->len; i++)
        if (out->ev[i].kind == TD_EV_TRADE_CLOSED) {
            rc = td_metrics_on_trade(&pipeline->metrics, &out->ev[i].u.trade);
            why = "the closed trade's P&L would take the metrics out of the int64 range";
        }
    if (exec_refusal(rc)) {
        snprintf(pipeline->last_error, sizeof pipeline->last_error, "offset %llu: execution report refused (%s): %s",
                 (unsigned long long)offset, td_err_name(rc), why); /* before why's storage is restored */
        pipeline->positions = positions_before;
        pipeline->metrics = metrics_before;
        out->len = from;
        pipeline->exec_rejected++;
        return rc;
    }
    if (rc != TD_OK)
        return rc;
    td_outstanding_t *o = exec->intent_id[0] ? outstanding_find(pipeline, exec->intent_id) : NULL;
    if (o) {
        if (exec->status == TD_EXEC_FILLED || exec->status == TD_EXEC_PARTIAL) {
            td_volume_t signed_fill = exec->side == TD_SIDE_BUY ? exec->volume : -exec->volume;
            o->volume -= signed_fill;
            if (exec->status == TD_EXEC_FILLED || o->volume == 0)
                outstanding_remove(pipeline, o);
        } else if (exec->status != TD_EXEC_NONE) {
            outstanding_remove(pipeline, o);
        }
    }
    return TD_OK;
}

static td_err_t apply_params(td_pipeline_t *pipeline, const td_params_changed_t *params)
{
    char err[160] = "";
    td_err_t rc;
    if (pipeline->strategy && strcmp(td_strategy_name(pipeline->strategy), params->strategy) == 0) {
        rc = td_strategy_reconfigure(pipeline->strategy, params, err, sizeof err);
    } else {
        td_strategy_t *strategy = NULL;
        rc = td_strategy_new(params, &strategy, err, sizeof err);
        if (rc == TD_OK) {
            td_strategy_destroy(pipeline->strategy);
            pipeline->strategy = strategy;
        }
    }
    if (rc == TD_ERR_INVALID || rc == TD_ERR_PARSE) {
        /* A bad parameter set must not stop the symbol: it is counted and the old one stays. */
        pipeline->params_rejected++;
        snprintf(pipeline->last_error, sizeof pipeline->last_error, "%s", err);
        return TD_OK;
    }
    return rc;
}

/* Removes from out[from..] the OrderIntents over the symbol's volume_max (at most TD_LOTS_MAX, the
 * protocol's bound): an order no broker takes, such as the reversal of a position near the
 * maximum. Each is refused and counted in inputs_refused, never sent; its Signal stays as the
 * record of what the strategy wanted. Deterministic: replay refuses the same intents. */
static void drop_oversized(td_pipeline_t *pipeline, uint64_t offset, td_outbuf_t *out, size_t from)
{
    td_volume_t max = pipeline->spec.volume_max > 0 && pipeline->spec.volume_max < TD_LOTS_MAX
                          ? pipeline->spec.volume_max
                          : TD_LOTS_MAX;
    size_t kept = from;
    for (size_t j = from; j < out->len; j++) {
        const td_event_t *o = &out->ev[j];
        if (o->kind == TD_EV_ORDER_INTENT && o->u.intent.volume > max) {
            pipeline->inputs_refused++;
            snprintf(pipeline->last_error, sizeof pipeline->last_error,
                     "offset %llu: an order of %lld (1e-8 lots) is over the symbol's volume_max %lld: not sent",
                     (unsigned long long)offset, (long long)o->u.intent.volume, (long long)max);
            continue;
        }
        if (kept != j)
            out->ev[kept] = *o;
        kept++;
    }
    out->len = kept;
}

/* Closed bars go to the strategy; intents get ids and, in paper mode, join the fill queue. */
static td_err_t run_bars(td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out)
{
    size_t from = out->len;
    td_err_t rc = td_bars_step(&pipeline->bars, ev, out);
    size_t bars_end = out->len;
    for (size_t i = from; rc == TD_OK && i < bars_end; i++) {
        if (out->ev[i].kind != TD_EV_BAR || !pipeline->strategy || !pipeline->has_spec)
            continue;
        td_strategy_ctx_t ctx = {
            .spec = &pipeline->spec,
            .position = td_positions_volume(&pipeline->positions),
            .pending = pending_volume(pipeline),
            .tz_offset_minutes = pipeline->config.tz_offset_minutes,
        };
        td_bar_t bar = out->ev[i].u.bar; /* copy: on_bar may grow (move) out */
        size_t before = out->len;
        rc = td_strategy_on_bar(pipeline->strategy, &ctx, &bar, out);
        if (rc == TD_OK)
            drop_oversized(pipeline, ev->offset, out, before);
        for (size_t j = before; rc == TD_OK && j < out->len; j++) {
            td_event_t *o = &out->ev[j];
            if (o->kind != TD_EV_ORDER_INTENT)
                continue;
            td_order_intent_t *intent = &o->u.intent;
            snprintf(intent->intent_id, sizeof intent->intent_id, "%s-%llu-%zu", pipeline->symbol,
                     (unsigned long long)ev->offset, pipeline->index_base + (j - pipeline->step_from));
            if (pipeline->n_outstanding == TD_PIPELINE_OUTSTANDING_MAX) {
                /* no answer ever came for the oldest: forget it rather than stop the symbol */
                outstanding_remove(pipeline, &pipeline->outstanding[0]);
                pipeline->outstanding_dropped++;
            }
            td_outstanding_t *os = &pipeline->outstanding[pipeline->n_outstanding++];
            memcpy(os->intent_id, intent->intent_id, sizeof os->intent_id);
            os->volume = intent->side == TD_SIDE_BUY ? intent->volume : -intent->volume;
            if (pipeline->config.paper)
                rc = td_fill_submit(&pipeline->fill, ev->time_ms, intent);
        }
    }
    return rc;
}

td_err_t td_pipeline_step(td_pipeline_t *pipeline, const td_event_t *ev, td_outbuf_t *out)
{
    return td_pipeline_step_raw(pipeline, ev, NULL, out);
}

td_err_t td_pipeline_step_raw(td_pipeline_t *pipeline, const td_event_t *ev, const td_slice_t *raw, td_outbuf_t *out)
{
    if (pipeline->rc != TD_OK)
        return pipeline->rc;
    TD_ASSERT(pipeline->day != 0 && !pipeline->day_closed);
    TD_ASSERT(ev->offset == pipeline->next_offset);
    size_t from = out->len;
    pipeline->step_from = from;
    td_err_t rc = chain_input(pipeline, ev, raw);

    if (rc == TD_OK) {
        switch (ev->kind) {
        case TD_EV_SYMBOL_SPEC:
            pipeline->spec = ev->u.spec;
            pipeline->has_spec = true;
            td_positions_set_spec(&pipeline->positions, &ev->u.spec);
            break;
        case TD_EV_PARAMS_CHANGED: rc = apply_params(pipeline, &ev->u.params); break;
        case TD_EV_TICK:
            if (pipeline->config.paper && pipeline->has_spec) {
                size_t fills_from = out->len;
                rc = td_fill_on_tick(&pipeline->fill, &pipeline->spec, ev->time_ms, &ev->u.tick,
                                     pipeline->config.day_offset_minutes, out);
                if (rc == TD_ERR_OVERFLOW || rc == TD_ERR_INVALID) {
                    /* the fill model cannot take this tick (a swap or price out of range): it
                     * stays as it was and the tick still reaches the bars */
                    pipeline->inputs_refused++;
                    snprintf(pipeline->last_error, sizeof pipeline->last_error,
                             "offset %llu: the fill model refused the tick (%s)", (unsigned long long)ev->offset,
                             td_err_name(rc));
                    rc = TD_OK;
                }
                size_t fills_end = out->len;
                for (size_t i = fills_from; rc == TD_OK && i < fills_end; i++) {
                    td_exec_report_t exec = out->ev[i].u.exec; /* copy: apply may grow out */
                    rc = apply_exec(pipeline, ev->offset, ev->time_ms, &exec, out);
                    if (exec_refusal(rc)) /* counted; the fill's report stays an output */
                        rc = TD_OK;
                }
            }
            break;
        case TD_EV_EXEC_REPORT:
            rc = apply_exec(pipeline, ev->offset, ev->time_ms, &ev->u.exec, out);
            if (exec_refusal(rc)) /* malformed, before any spec, or out of range: counted, the symbol goes on */
                rc = TD_OK;
            break;
        default: break;
        }
    }
    if (rc == TD_OK) {
        rc = run_bars(pipeline, ev, out);
        if (rc == TD_ERR_OVERFLOW || rc == TD_ERR_INVALID) {
            /* an input the bar builder or the strategy cannot take (a sum leaving its range on an
             * absurd quote) is refused and counted; the bar builder and strategy are unchanged */
            pipeline->inputs_refused++;
            snprintf(pipeline->last_error, sizeof pipeline->last_error,
                     "offset %llu: bars or strategy refused the %s (%s)", (unsigned long long)ev->offset,
                     td_event_kind_name(ev->kind), td_err_name(rc));
            rc = TD_OK; /* (both leave out as it was on their own failure) */
        }
    }
    if (rc == TD_OK) {
        stamp(pipeline, ev, out, from);
        for (size_t i = from; rc == TD_OK && i < out->len; i++)
            rc = chain_output(pipeline, &out->ev[i]);
        pipeline->day_inputs++;
        pipeline->day_outputs += out->len - from;
        pipeline->day_last_offset = ev->offset;
        if (ev->time_ms > pipeline->day_last_time)
            pipeline->day_last_time = ev->time_ms;
        pipeline->next_offset = ev->offset + 1;
    }
    if (rc == TD_OK && ev->kind == TD_EV_SESSION_MARK && ev->u.session.kind == TD_SESSION_DAY_END &&
        ev->u.session.trading_day == pipeline->day)
        rc = close_day(pipeline, ev->offset, pipeline->index_base + (uint32_t)(out->len - from), out);
    pipeline->index_base = 0;
    return rc == TD_OK ? rc : fail(pipeline, rc);
}

/* ---- state encoding ---- */

/* The spec travels in the state as the codec's own encoding of a SymbolSpec event: one mapping of
 * the message in the code base (core/codec.c). */
static td_err_t spec_encode(const td_symbol_spec_t *spec, td_buf_t *out)
{
    td_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = TD_EV_SYMBOL_SPEC;
    ev.u.spec = *spec;
    return td_codec_encode(&ev, TD_CODEC_FOR_DIGEST, out);
}

static td_err_t spec_decode(const uint8_t *p, size_t n, td_symbol_spec_t *spec)
{
    td_event_t ev;
    td_err_t rc = td_codec_decode(p, n, &ev, NULL, 0);
    if (rc != TD_OK || ev.kind != TD_EV_SYMBOL_SPEC)
        return TD_ERR_CORRUPT;
    *spec = ev.u.spec;
    return TD_OK;
}

td_err_t td_pipeline_encode(const td_pipeline_t *pipeline, td_buf_t *out)
{
    td_buf_t parts[6]; /* bars, strategy, fill, positions, metrics, spec */
    for (int i = 0; i < 6; i++)
        td_buf_init(&parts[i]);
    td_err_t rc = td_bars_encode(&pipeline->bars, &parts[0]);
    if (rc == TD_OK && pipeline->strategy)
        rc = td_strategy_encode(pipeline->strategy, &parts[1]);
    if (rc == TD_OK)
        rc = td_fill_encode(&pipeline->fill, &parts[2]);
    if (rc == TD_OK)
        rc = td_positions_encode(&pipeline->positions, &parts[3]);
    if (rc == TD_OK)
        rc = td_metrics_encode(&pipeline->metrics, &parts[4]);
    if (rc == TD_OK && pipeline->has_spec)
        rc = spec_encode(&pipeline->spec, &parts[5]);

    Td__PipelineState st;
    Td__OutstandingIntent os[TD_PIPELINE_OUTSTANDING_MAX];
    Td__OutstandingIntent *osp[TD_PIPELINE_OUTSTANDING_MAX];
    if (rc == TD_OK) {
        td__pipeline_state__init(&st);
        st.symbol = (char *)pipeline->symbol;
        st.has_spec = pipeline->has_spec;
        st.spec = (ProtobufCBinaryData){parts[5].len, parts[5].ptr};
        st.bars = (ProtobufCBinaryData){parts[0].len, parts[0].ptr};
        st.strategy = (ProtobufCBinaryData){parts[1].len, parts[1].ptr};
        st.fill = (ProtobufCBinaryData){parts[2].len, parts[2].ptr};
        st.positions = (ProtobufCBinaryData){parts[3].len, parts[3].ptr};
        st.metrics = (ProtobufCBinaryData){parts[4].len, parts[4].ptr};
        for (uint32_t i = 0; i < pipeline->n_outstanding; i++) {
            td__outstanding_intent__init(&os[i]);
            os[i].intent_id = (char *)pipeline->outstanding[i].intent_id;
            os[i].volume = pipeline->outstanding[i].volume;
            osp[i] = &os[i];
        }
        st.n_outstanding = pipeline->n_outstanding;
        st.outstanding = osp;
        st.params_rejected = pipeline->params_rejected;
        st.exec_rejected = pipeline->exec_rejected;
        st.inputs_refused = pipeline->inputs_refused;
        st.outstanding_dropped = pipeline->outstanding_dropped;
        st.day = pipeline->day;
        st.floor_day = pipeline->floor_day;
        st.day_closed = pipeline->day_closed;
        st.prev_digest = (ProtobufCBinaryData){TD_SHA256_LEN, (uint8_t *)pipeline->prev_digest};
        st.chain = (ProtobufCBinaryData){TD_SHA256_LEN, (uint8_t *)pipeline->chain.h};
        st.chain_block = (ProtobufCBinaryData){pipeline->chain.block.len, pipeline->chain.block.ptr};
        st.chain_items = pipeline->chain.items;
        st.day_first_offset = pipeline->day_first_offset;
        st.day_last_offset = pipeline->day_last_offset;
        st.day_inputs = pipeline->day_inputs;
        st.day_outputs = pipeline->day_outputs;
        st.day_last_time = pipeline->day_last_time;
        st.late_at_day_start = pipeline->late_at_day_start;
        st.next_offset = pipeline->next_offset;
        st.index_base = pipeline->index_base;
        size_t n = td__pipeline_state__get_packed_size(&st);
        rc = td_buf_reserve(out, n);
        if (rc == TD_OK)
            out->len += td__pipeline_state__pack(&st, out->ptr + out->len);
    }
    for (int i = 0; i < 6; i++)
        td_buf_fini(&parts[i]);
    return rc;
}

td_err_t td_pipeline_decode(td_pipeline_t *pipeline, const uint8_t *p, size_t n)
{
    Td__PipelineState *st = td__pipeline_state__unpack(NULL, n, p);
    if (!st)
        return TD_ERR_CORRUPT;
    td_err_t rc = TD_OK;
    if (strcmp(st->symbol, pipeline->symbol) != 0 || st->prev_digest.len != TD_SHA256_LEN ||
        st->has_spec != (st->spec.len > 0) || st->chain.len != TD_SHA256_LEN ||
        st->n_outstanding > TD_PIPELINE_OUTSTANDING_MAX || st->chain_items >= TD_CHAIN_BLOCK_ITEMS)
        rc = TD_ERR_CORRUPT;
    if (rc == TD_OK)
        rc = td_bars_decode(&pipeline->bars, st->bars.data, st->bars.len);
    td_strategy_t *strategy = NULL;
    if (rc == TD_OK && st->strategy.len)
        rc = td_strategy_decode(st->strategy.data, st->strategy.len, &strategy);
    if (rc == TD_OK)
        rc = td_fill_decode(&pipeline->fill, st->fill.data, st->fill.len);
    if (rc == TD_OK)
        rc = td_positions_decode(&pipeline->positions, st->positions.data, st->positions.len);
    if (rc == TD_OK)
        rc = td_metrics_decode(&pipeline->metrics, st->metrics.data, st->metrics.len);
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    if (rc == TD_OK && st->has_spec)
        rc = spec_decode(st->spec.data, st->spec.len, &spec);
    if (rc == TD_OK) {
        pipeline->has_spec = st->has_spec;
        pipeline->spec = spec;
        td_strategy_destroy(pipeline->strategy);
        pipeline->strategy = strategy;
        strategy = NULL;
        pipeline->n_outstanding = (uint32_t)st->n_outstanding;
        for (size_t i = 0; i < st->n_outstanding; i++) {
            if (strlen(st->outstanding[i]->intent_id) > TD_ID_MAX) {
                rc = TD_ERR_CORRUPT;
                break;
            }
            strcpy(pipeline->outstanding[i].intent_id, st->outstanding[i]->intent_id);
            pipeline->outstanding[i].volume = st->outstanding[i]->volume;
        }
        pipeline->params_rejected = st->params_rejected;
        pipeline->exec_rejected = st->exec_rejected;
        pipeline->inputs_refused = st->inputs_refused;
        pipeline->outstanding_dropped = st->outstanding_dropped;
        pipeline->day = st->day;
        pipeline->floor_day = st->floor_day;
        pipeline->day_closed = st->day_closed;
        memcpy(pipeline->prev_digest, st->prev_digest.data, TD_SHA256_LEN);
        memcpy(pipeline->chain.h, st->chain.data, TD_SHA256_LEN);
        td_buf_reset(&pipeline->chain.block);
        if (td_buf_append(&pipeline->chain.block, st->chain_block.data, st->chain_block.len) != TD_OK)
            rc = TD_ERR_NOMEM;
        pipeline->chain.items = st->chain_items;
        pipeline->day_first_offset = st->day_first_offset;
        pipeline->day_last_offset = st->day_last_offset;
        pipeline->day_inputs = st->day_inputs;
        pipeline->day_outputs = st->day_outputs;
        pipeline->day_last_time = st->day_last_time;
        pipeline->late_at_day_start = st->late_at_day_start;
        pipeline->next_offset = st->next_offset;
        pipeline->index_base = st->index_base;
    }
    td_strategy_destroy(strategy);
    td__pipeline_state__free_unpacked(st, NULL);
    return rc;
}
