/* test_pipeline.c - processors/pipeline.c driven directly with synthetic streams: the output
 * envelope (symbol, time, input offset, index), the trading day and its DayDigest (closed by a
 * DAY_END mark or by the next day's first event), determinism, encode/decode of the whole state
 * after every half step, the paper fill model (next-tick fills, intent ids), ExecutionReport inputs
 * with paper off, refused parameter sets, digest sensitivity per day, and refused inputs (a malformed or out-of-range
 * report) that never stop the symbol.
 *
 * The streams come from a seeded xorshift generator (no files, no clock): a SymbolSpec, a
 * ParamsChanged for sma_cross, then a bid/ask random walk over a few trading days, each day
 * optionally ended by a SessionMark DAY_END at the first instant of the next day. The driver calls
 * roll then step for each input, as host/host.c and replay/replay.c do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "core/timeutil.h"
#include "processors/pipeline.h"

#define SYM "EURUSD"
#define LOT INT64_C(100000000)
#define POINT INT64_C(1000) /* 1e-5 at the 1e8 price scale */
#define DAY0 20190204u      /* a Monday */

/* ---- the stream generator ---- */

typedef struct stream {
    td_event_t *ev;
    size_t len, cap;
} stream_t;

typedef struct gen_opts {
    uint64_t seed;
    int days;
    unsigned marks;        /* bit d set: day d ends with a SessionMark DAY_END */
    const char *params[8]; /* the first ParamsChanged ("name=value", sorted by name); NULL-terminated */
} gen_opts_t;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static td_event_t *stream_add(stream_t *stream, td_event_kind_t kind, int64_t time_ms)
{
    if (stream->len == stream->cap) {
        stream->cap = stream->cap ? 2 * stream->cap : 256;
        stream->ev = realloc(stream->ev, stream->cap * sizeof *stream->ev);
        assert_non_null(stream->ev);
    }
    td_event_t *ev = &stream->ev[stream->len];
    assert_int_equal(td_event_init(ev, kind, SYM, time_ms), TD_OK);
    memcpy(ev->source, "test", sizeof "test");
    ev->offset = stream->len++;
    return ev;
}

/* Puts a copy of ev at position pos and renumbers the offsets from there. */
static void stream_insert(stream_t *stream, size_t pos, const td_event_t *ev)
{
    stream_add(stream, TD_EV_CLOCK, 0);
    memmove(&stream->ev[pos + 1], &stream->ev[pos], (stream->len - 1 - pos) * sizeof *stream->ev);
    stream->ev[pos] = *ev;
    for (size_t i = pos; i < stream->len; i++)
        stream->ev[i].offset = i;
}

static void stream_fini(stream_t *stream)
{
    free(stream->ev);
    memset(stream, 0, sizeof *stream);
}

static td_params_changed_t params_of(uint32_t version, const char *const *kv)
{
    td_params_changed_t params;
    memset(&params, 0, sizeof params);
    memcpy(params.strategy, "sma_cross", sizeof "sma_cross");
    params.version = version;
    for (; *kv; kv++) {
        const char *eq = strchr(*kv, '=');
        assert_non_null(eq);
        td_param_t *p = &params.values[params.n_values++];
        snprintf(p->name, sizeof p->name, "%.*s", (int)(eq - *kv), *kv);
        snprintf(p->value, sizeof p->value, "%s", eq + 1);
    }
    memcpy(params.author, "test", sizeof "test");
    return params;
}

static const char *const default_params[] = {"direction=both", "fast=3",   "sl_points=0", "slow=8",
                                             "tp_points=0",    "volume=1", NULL};

static int64_t day_start(int d)
{
    return td_time_trading_day_start(DAY0, 0) + (int64_t)d * TD_MS_PER_DAY;
}

/* Builds the stream: spec and params at 00:00:00 of day 0, ticks every 60..599 s with a random
 * walk (spread 1..20 points), and the DAY_END marks asked for. */
static void gen(stream_t *stream, const gen_opts_t *opts)
{
    memset(stream, 0, sizeof *stream);
    uint64_t s = opts->seed ? opts->seed : 0x9e3779b97f4a7c15u;
    int64_t t = day_start(0);

    td_event_t *ev = stream_add(stream, TD_EV_SYMBOL_SPEC, t);
    ev->u.spec.digits = 5;
    ev->u.spec.point = POINT;
    ev->u.spec.contract_size = INT64_C(100000) * LOT;
    ev->u.spec.tick_size = POINT;
    ev->u.spec.tick_value = LOT;
    ev->u.spec.swap_mode = TD_SWAP_POINTS;
    ev->u.spec.swap_long = -650000000;
    ev->u.spec.swap_short = 120000000;
    ev->u.spec.triple_swap_weekday = 3;
    ev->u.spec.volume_step = LOT / 100;
    ev->u.spec.volume_min = LOT / 100;
    ev->u.spec.volume_max = 100 * LOT;

    ev = stream_add(stream, TD_EV_PARAMS_CHANGED, t);
    ev->u.params = params_of(1, opts->params[0] ? opts->params : default_params);

    int64_t mid = INT64_C(114500000); /* 1.14500 */
    for (int d = 0; d < opts->days; d++) {
        int64_t end = day_start(d + 1);
        if (t < day_start(d))
            t = day_start(d);
        for (;;) {
            t += 60000 + (int64_t)(xorshift(&s) % 540000);
            if (t >= end)
                break;
            mid += ((int64_t)(xorshift(&s) % 41) - 20) * POINT;
            ev = stream_add(stream, TD_EV_TICK, t);
            ev->u.tick.bid = mid;
            ev->u.tick.ask = mid + (int64_t)(1 + xorshift(&s) % 20) * POINT;
            ev->u.tick.volume = LOT;
            ev->u.tick.flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK;
        }
        t = end;
        if (opts->marks & (1u << d)) {
            ev = stream_add(stream, TD_EV_SESSION_MARK, end); /* the first instant of the next day */
            ev->u.session.kind = TD_SESSION_DAY_END;
            ev->u.session.trading_day = td_time_trading_day(day_start(d), 0);
        }
    }
}

/* ---- the driver ---- */

static const td_pipeline_config_t paper_config = {
    .timeframe_s = 1800,
    .paper = true,
    .fill = {.slippage_points = 1, .commission_per_lot = 350000000},
};

/* Everything one pass over a stream produced. */
typedef struct run {
    td_outbuf_t all; /* every output in order, the final close_day's last */
    size_t *first;   /* per input: index in `all` of its first output */
    size_t *count;   /* per input: outputs of roll + step */
    size_t *rolled;  /* per input: outputs of the roll */
    bool *started;   /* per input: the roll opened a day */
    size_t n_inputs;
    td_buf_t state; /* the final encoded state */
    /* (d): the states that were encoded and decoded on the way */
    bool hop_mid_bar, hop_queued, hop_open_position, hop_between_roll_and_step, hop_day_closed;
} run_t;

typedef enum { HOP_NONE, HOP_EVERY } hop_t;

static void run_fini(run_t *run)
{
    td_outbuf_fini(&run->all);
    td_buf_fini(&run->state);
    free(run->first);
    free(run->count);
    free(run->rolled);
    free(run->started);
}

/* Encodes *pipeline, decodes it into a fresh pipeline, checks the re-encoding is the same bytes,
 * and continues with the fresh one. */
static void hop(td_pipeline_t **pipeline, td_pipeline_t **spare, const td_pipeline_config_t *config, run_t *run)
{
    td_buf_t a, b;
    td_buf_init(&a);
    td_buf_init(&b);
    assert_int_equal(td_pipeline_encode(*pipeline, &a), TD_OK);
    assert_int_equal(td_pipeline_init(*spare, SYM, config), TD_OK);
    assert_int_equal(td_pipeline_decode(*spare, a.ptr, a.len), TD_OK);
    assert_int_equal(td_pipeline_encode(*spare, &b), TD_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    td_pipeline_t *p = *pipeline;
    run->hop_mid_bar |= p->bars.bar_open;
    run->hop_queued |= p->fill.n_queue > 0;
    run->hop_open_position |= td_positions_volume(&p->positions) != 0;
    run->hop_day_closed |= p->day_closed;
    td_pipeline_fini(p);
    *pipeline = *spare;
    *spare = p;
    td_buf_fini(&a);
    td_buf_fini(&b);
}

static void collect(run_t *run, const td_outbuf_t *out, size_t from)
{
    for (size_t i = from; i < out->len; i++) {
        td_event_t *o = td_outbuf_add(&run->all, out->ev[i].kind);
        assert_non_null(o);
        *o = out->ev[i];
    }
}

/* Runs the stream through a fresh pipeline (roll, step for each input; close_day at the end),
 * every call expected to succeed. With HOP_EVERY the state goes through encode/decode into a new
 * pipeline after every roll and every step. */
static void run_stream(const stream_t *stream, const td_pipeline_config_t *config, hop_t mode, run_t *run)
{
    memset(run, 0, sizeof *run);
    td_outbuf_init(&run->all);
    run->n_inputs = stream->len;
    run->first = calloc(stream->len + 1, sizeof *run->first);
    run->count = calloc(stream->len + 1, sizeof *run->count);
    run->rolled = calloc(stream->len + 1, sizeof *run->rolled);
    run->started = calloc(stream->len + 1, sizeof *run->started);
    assert_true(run->first && run->count && run->rolled && run->started);

    td_pipeline_t slots[2];
    td_pipeline_t *pipeline = &slots[0], *spare = &slots[1];
    assert_int_equal(td_pipeline_init(pipeline, SYM, config), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    for (size_t i = 0; i < stream->len; i++) {
        const td_event_t *ev = &stream->ev[i];
        td_outbuf_clear(&out);
        bool started = false;
        assert_int_equal(td_pipeline_roll(pipeline, ev, &out, &started), TD_OK);
        run->rolled[i] = out.len;
        run->started[i] = started;
        if (mode == HOP_EVERY) {
            run->hop_between_roll_and_step |= pipeline->index_base > 0;
            hop(&pipeline, &spare, config, run);
        }
        td_err_t rc = td_pipeline_step(pipeline, ev, &out);
        if (rc != TD_OK)
            fail_msg("step of offset %zu (%s): %s: %s", i, td_event_kind_name(ev->kind), td_err_name(rc),
                     pipeline->last_error);
        run->first[i] = run->all.len;
        run->count[i] = out.len;
        collect(run, &out, 0);
        if (mode == HOP_EVERY)
            hop(&pipeline, &spare, config, run);
    }
    td_outbuf_clear(&out);
    assert_int_equal(td_pipeline_close_day(pipeline, stream->len, &out), TD_OK);
    run->first[stream->len] = run->all.len;
    run->count[stream->len] = out.len;
    collect(run, &out, 0);

    td_buf_init(&run->state);
    assert_int_equal(td_pipeline_encode(pipeline, &run->state), TD_OK);
    td_outbuf_fini(&out);
    td_pipeline_fini(pipeline);
}

static size_t count_kind(const run_t *run, td_event_kind_t kind)
{
    size_t n = 0;
    for (size_t i = 0; i < run->all.len; i++)
        n += run->all.ev[i].kind == kind;
    return n;
}

/* The DayDigest of trading day `day` (exactly one expected). */
static const td_day_digest_t *digest_of(const run_t *run, uint32_t day)
{
    const td_day_digest_t *found = NULL;
    for (size_t i = 0; i < run->all.len; i++) {
        if (run->all.ev[i].kind != TD_EV_DAY_DIGEST || run->all.ev[i].u.digest.trading_day != day)
            continue;
        if (found)
            fail_msg("two DayDigests for %u", day);
        found = &run->all.ev[i].u.digest;
    }
    if (!found)
        fail_msg("no DayDigest for %u", day);
    return found;
}

static void assert_same_outputs(const run_t *a, const run_t *b)
{
    assert_int_equal(a->all.len, b->all.len);
    td_buf_t x, y;
    td_buf_init(&x);
    td_buf_init(&y);
    for (size_t i = 0; i < a->all.len; i++) {
        td_buf_reset(&x);
        td_buf_reset(&y);
        assert_int_equal(td_codec_encode(&a->all.ev[i], TD_CODEC_FOR_DIGEST, &x), TD_OK);
        assert_int_equal(td_codec_encode(&b->all.ev[i], TD_CODEC_FOR_DIGEST, &y), TD_OK);
        if (x.len != y.len || memcmp(x.ptr, y.ptr, x.len) != 0)
            fail_msg("output %zu (%s, input %llu) differs", i, td_event_kind_name(a->all.ev[i].kind),
                     (unsigned long long)a->all.ev[i].input_offset);
    }
    td_buf_fini(&x);
    td_buf_fini(&y);
    assert_int_equal(a->state.len, b->state.len);
    assert_memory_equal(a->state.ptr, b->state.ptr, a->state.len);
}

/* ---- (a) the envelope ---- */

static void test_outputs_carry_symbol_time_offset_and_index(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 1, .days = 3, .marks = 1u});
    run_t run;
    run_stream(&stream, &paper_config, HOP_NONE, &run);

    size_t roll_digests = 0;
    for (size_t i = 0; i < stream.len; i++) {
        const td_event_t *in = &stream.ev[i];
        for (size_t k = 0; k < run.count[i]; k++) {
            const td_event_t *o = &run.all.ev[run.first[i] + k];
            assert_string_equal(o->symbol, SYM);
            assert_int_equal(o->input_offset, i);
            assert_int_equal(o->index, k); /* the roll's outputs first, the step's after them */
            assert_true(td_event_is_output(o->kind) || o->kind == TD_EV_EXEC_REPORT);
            if (k < run.rolled[i]) {
                assert_int_equal(o->kind, TD_EV_DAY_DIGEST); /* a roll gives only the closed day's digest */
                roll_digests++;
            }
            if (o->kind == TD_EV_DAY_DIGEST)
                assert_int_equal(o->time_ms, stream.ev[o->u.digest.last_offset].time_ms); /* its day's last input */
            else
                assert_int_equal(o->time_ms, in->time_ms);
        }
    }
    assert_true(roll_digests >= 1);
    /* the stream really exercises the chain */
    assert_true(count_kind(&run, TD_EV_BAR) > 100);
    assert_true(count_kind(&run, TD_EV_SIGNAL) > 3);
    assert_true(count_kind(&run, TD_EV_ORDER_INTENT) > 3);
    assert_true(count_kind(&run, TD_EV_EXEC_REPORT) > 3);
    assert_true(count_kind(&run, TD_EV_POSITION_CHANGED) > 3);
    assert_true(count_kind(&run, TD_EV_TRADE_CLOSED) > 1);
    assert_int_equal(count_kind(&run, TD_EV_DAY_DIGEST), 3);
    run_fini(&run);
    stream_fini(&stream);
}

/* ---- (b) the trading day ---- */

static size_t outputs_between(const run_t *run, size_t from_input, size_t to_input, bool with_digests)
{
    size_t n = 0;
    for (size_t i = from_input; i <= to_input; i++)
        for (size_t k = 0; k < run->count[i]; k++)
            n += with_digests || run->all.ev[run->first[i] + k].kind != TD_EV_DAY_DIGEST;
    return n;
}

static void test_day_end_mark_closes_day_with_one_digest(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 2, .days = 3, .marks = 1u}); /* day 0 marked, day 1 not */
    run_t run;
    run_stream(&stream, &paper_config, HOP_NONE, &run);

    size_t mark = 0;
    while (stream.ev[mark].kind != TD_EV_SESSION_MARK)
        mark++;
    /* the mark's step ends with the day's only digest */
    assert_true(run.count[mark] >= 1);
    assert_int_equal(run.rolled[mark], 0);
    const td_event_t *o = &run.all.ev[run.first[mark] + run.count[mark] - 1];
    assert_int_equal(o->kind, TD_EV_DAY_DIGEST);
    assert_int_equal(o->index, run.count[mark] - 1);
    assert_int_equal(o->input_offset, mark);
    const td_day_digest_t *d0 = digest_of(&run, DAY0);
    assert_ptr_equal(d0, &o->u.digest);
    assert_int_equal(d0->first_offset, 0);
    assert_int_equal(d0->last_offset, mark);
    assert_int_equal(d0->inputs, mark + 1);
    assert_int_equal(d0->outputs, outputs_between(&run, 0, mark, false));
    assert_int_equal(outputs_between(&run, 0, mark, true), d0->outputs + 1);

    /* the next day's first event opens a day without a digest of its own */
    assert_true(run.started[mark + 1]);
    assert_int_equal(run.rolled[mark + 1], 0);
    for (size_t i = mark + 2; i < stream.len && stream.ev[i].time_ms < day_start(2); i++)
        assert_false(run.started[i]);

    /* day 1 has no mark: day 2's first event closes it in its roll, at index 0 */
    size_t next = mark + 1;
    while (stream.ev[next].time_ms < day_start(2))
        next++;
    assert_true(run.started[next]);
    assert_int_equal(run.rolled[next], 1);
    o = &run.all.ev[run.first[next]];
    assert_int_equal(o->kind, TD_EV_DAY_DIGEST);
    assert_int_equal(o->index, 0);
    assert_int_equal(o->input_offset, next);
    assert_int_equal(o->time_ms, stream.ev[next - 1].time_ms);
    const td_day_digest_t *d1 = digest_of(&run, td_time_next_day(DAY0));
    assert_ptr_equal(d1, &o->u.digest);
    assert_int_equal(d1->first_offset, mark + 1);
    assert_int_equal(d1->last_offset, next - 1);
    assert_int_equal(d1->inputs, next - 1 - mark);
    assert_int_equal(d1->outputs, outputs_between(&run, mark + 1, next - 1, true));
    for (size_t k = 1; k < run.count[next]; k++)
        assert_int_equal(run.all.ev[run.first[next] + k].index, k);

    /* the digests chain: each day differs from the previous, and the days' counts add up */
    assert_memory_not_equal(d0->sha256, d1->sha256, TD_SHA256_LEN);
    const td_day_digest_t *d2 = digest_of(&run, td_time_next_day(td_time_next_day(DAY0)));
    assert_int_equal(d2->first_offset, next);
    assert_int_equal(d2->last_offset, stream.len - 1);
    assert_int_equal(d0->inputs + d1->inputs + d2->inputs, stream.len);
    run_fini(&run);
    stream_fini(&stream);
}

/* ---- (c) determinism ---- */

static void test_same_inputs_give_identical_bytes_and_digests(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 3, .days = 3, .marks = 2u});
    run_t a, b;
    run_stream(&stream, &paper_config, HOP_NONE, &a);
    run_stream(&stream, &paper_config, HOP_NONE, &b);
    assert_same_outputs(&a, &b);
    for (uint32_t day = DAY0, d = 0; d < 3; d++, day = td_time_next_day(day))
        assert_memory_equal(digest_of(&a, day)->sha256, digest_of(&b, day)->sha256, TD_SHA256_LEN);
    run_fini(&a);
    run_fini(&b);
    stream_fini(&stream);
}

/* ---- (d) encode/decode after every half step ---- */

static void test_decode_after_every_event_continues_identically(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 4, .days = 3, .marks = 1u});
    run_t plain, hopped;
    run_stream(&stream, &paper_config, HOP_NONE, &plain);
    run_stream(&stream, &paper_config, HOP_EVERY, &hopped);
    assert_same_outputs(&plain, &hopped);
    /* the states that went through the codec include the interesting ones */
    assert_true(hopped.hop_mid_bar);
    assert_true(hopped.hop_queued);
    assert_true(hopped.hop_open_position);
    assert_true(hopped.hop_between_roll_and_step); /* a roll's DayDigest taken, its step not yet run */
    assert_true(hopped.hop_day_closed);            /* after a DAY_END mark, before the next roll */
    run_fini(&plain);
    run_fini(&hopped);
    stream_fini(&stream);
}

/* ---- (e) paper fills and ExecutionReport inputs ---- */

static void test_paper_intent_fills_on_next_tick(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 5, .days = 2, .marks = 1u});
    run_t run;
    run_stream(&stream, &paper_config, HOP_NONE, &run);

    size_t intents = 0, filled = 0;
    for (size_t i = 0; i < stream.len; i++) {
        for (size_t k = 0; k < run.count[i]; k++) {
            const td_event_t *o = &run.all.ev[run.first[i] + k];
            if (o->kind != TD_EV_ORDER_INTENT)
                continue;
            intents++;
            char want[TD_ID_MAX + 1];
            snprintf(want, sizeof want, "%s-%zu-%zu", SYM, i, k);
            assert_string_equal(o->u.intent.intent_id, want);
            /* no fill before the next tick */
            for (size_t m = k + 1; m < run.count[i]; m++)
                assert_int_not_equal(run.all.ev[run.first[i] + m].kind, TD_EV_EXEC_REPORT);
            size_t j = i + 1;
            while (j < stream.len && stream.ev[j].kind != TD_EV_TICK) {
                for (size_t m = 0; m < run.count[j]; m++)
                    assert_int_not_equal(run.all.ev[run.first[j] + m].kind, TD_EV_EXEC_REPORT);
                j++;
            }
            if (j == stream.len)
                continue;
            /* the next tick: (a DayDigest from its roll,) the fill, then the position keeper's outputs */
            size_t at = run.first[j] + run.rolled[j];
            const td_event_t *exec = &run.all.ev[at];
            assert_int_equal(exec->kind, TD_EV_EXEC_REPORT);
            assert_string_equal(exec->u.exec.intent_id, want);
            assert_int_equal(exec->u.exec.status, TD_EXEC_FILLED);
            assert_int_equal(exec->u.exec.side, o->u.intent.side);
            assert_int_equal(exec->u.exec.volume, o->u.intent.volume);
            assert_int_equal(exec->input_offset, j);
            const td_tick_t *tick = &stream.ev[j].u.tick;
            assert_int_equal(exec->u.exec.price,
                             o->u.intent.side == TD_SIDE_BUY ? tick->ask + POINT : tick->bid - POINT);
            const td_event_t *next = &run.all.ev[at + 1];
            if (next->kind == TD_EV_TRADE_CLOSED)
                next++;
            assert_int_equal(next->kind, TD_EV_POSITION_CHANGED);
            assert_string_equal(next->u.position.intent_id, want);
            filled++;
        }
    }
    assert_true(intents >= 3);
    assert_true(filled >= intents - 1);
    /* sl/tp are off: every fill answers an intent */
    assert_int_equal(count_kind(&run, TD_EV_EXEC_REPORT), filled);
    run_fini(&run);
    stream_fini(&stream);
}

static void test_without_paper_exec_report_input_drives_position(void **unused)
{
    (void)unused;
    td_pipeline_config_t live = paper_config;
    live.paper = false;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 5, .days = 2, .marks = 1u});

    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &live), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_order_intent_t intent = {0};
    size_t i = 0;
    bool started;
    /* up to the first intent: no fill of our own */
    for (; i < stream.len && !intent.intent_id[0]; i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(&pipeline, &stream.ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(&pipeline, &stream.ev[i], &out), TD_OK);
        for (size_t k = 0; k < out.len; k++) {
            assert_int_not_equal(out.ev[k].kind, TD_EV_EXEC_REPORT);
            if (out.ev[k].kind == TD_EV_ORDER_INTENT)
                intent = out.ev[k].u.intent;
        }
    }
    assert_true(intent.intent_id[0] != '\0');
    assert_int_equal(pipeline.n_outstanding, 1);
    assert_int_equal(pipeline.fill.n_queue, 0);

    /* ticks after it fill nothing */
    for (int n = 0; n < 3; n++, i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(&pipeline, &stream.ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(&pipeline, &stream.ev[i], &out), TD_OK);
        for (size_t k = 0; k < out.len; k++)
            assert_true(out.ev[k].kind != TD_EV_EXEC_REPORT && out.ev[k].kind != TD_EV_POSITION_CHANGED);
        assert_int_equal(td_positions_volume(&pipeline.positions), 0);
    }

    /* the broker's report, as the next input */
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_EXEC_REPORT, SYM, stream.ev[i - 1].time_ms + 1), TD_OK);
    ev.offset = i;
    td_exec_report_t *exec = &ev.u.exec;
    memcpy(exec->intent_id, intent.intent_id, sizeof exec->intent_id);
    exec->deal_id = exec->order_id = exec->position_id = 7001;
    exec->side = intent.side;
    exec->price = INT64_C(114500000);
    exec->volume = intent.volume;
    exec->status = TD_EXEC_FILLED;
    td_outbuf_clear(&out);
    assert_int_equal(td_pipeline_roll(&pipeline, &ev, &out, &started), TD_OK);
    assert_int_equal(td_pipeline_step(&pipeline, &ev, &out), TD_OK);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.ev[0].kind, TD_EV_POSITION_CHANGED);
    assert_int_equal(out.ev[0].input_offset, i);
    assert_int_equal(out.ev[0].index, 0);
    assert_string_equal(out.ev[0].u.position.intent_id, intent.intent_id);
    td_volume_t want = intent.side == TD_SIDE_BUY ? intent.volume : -intent.volume;
    assert_int_equal(out.ev[0].u.position.volume, want);
    assert_int_equal(td_positions_volume(&pipeline.positions), want);
    assert_int_equal(pipeline.n_outstanding, 0);
    td_outbuf_fini(&out);
    td_pipeline_fini(&pipeline);
    stream_fini(&stream);
}

/* ---- (f) refused parameter sets ---- */

static bool is_strategy_output(td_event_kind_t kind)
{
    return kind == TD_EV_SIGNAL || kind == TD_EV_ORDER_INTENT;
}

static void test_invalid_params_are_counted_and_previous_strategy_stays(void **unused)
{
    (void)unused;
    stream_t plain, bad;
    gen_opts_t opts = {.seed = 6, .days = 2, .marks = 1u};
    gen(&plain, &opts);
    gen(&bad, &opts);
    size_t at = bad.len / 4;
    td_event_t ev = bad.ev[at];
    ev.kind = TD_EV_PARAMS_CHANGED;
    memset(&ev.u, 0, sizeof ev.u);
    ev.u.params = params_of(2, (const char *const[]){"fast=8", "slow=3", "volume=1", NULL});
    stream_insert(&bad, at, &ev);

    run_t a, b;
    run_stream(&plain, &paper_config, HOP_NONE, &a);
    run_stream(&bad, &paper_config, HOP_NONE, &b); /* every step TD_OK */

    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &paper_config), TD_OK);
    assert_int_equal(td_pipeline_decode(&pipeline, b.state.ptr, b.state.len), TD_OK);
    assert_int_equal(pipeline.params_rejected, 1);
    assert_non_null(pipeline.strategy);
    assert_int_equal(td_strategy_params_version(pipeline.strategy), 1);
    td_pipeline_fini(&pipeline);

    /* the same decisions as without the refused set: only offsets (and ids) move */
    assert_int_equal(b.count[at], 0);
    size_t ia = 0, ib = 0, compared = 0;
    for (;;) {
        while (ia < a.all.len && !is_strategy_output(a.all.ev[ia].kind))
            ia++;
        while (ib < b.all.len && !is_strategy_output(b.all.ev[ib].kind))
            ib++;
        if (ia == a.all.len || ib == b.all.len)
            break;
        const td_event_t *x = &a.all.ev[ia++], *y = &b.all.ev[ib++];
        assert_int_equal(x->kind, y->kind);
        assert_int_equal(x->time_ms, y->time_ms);
        if (x->kind == TD_EV_SIGNAL) {
            assert_int_equal(y->u.signal.params_version, 1);
            assert_int_equal(x->u.signal.direction, y->u.signal.direction);
            assert_int_equal(x->u.signal.bar_time, y->u.signal.bar_time);
        } else {
            assert_int_equal(y->u.intent.params_version, 1);
            assert_int_equal(x->u.intent.side, y->u.intent.side);
            assert_int_equal(x->u.intent.volume, y->u.intent.volume);
        }
        compared++;
    }
    assert_int_equal(ia, a.all.len);
    assert_int_equal(ib, b.all.len);
    assert_true(compared > 4);
    run_fini(&a);
    run_fini(&b);
    stream_fini(&plain);
    stream_fini(&bad);
}

static void test_invalid_first_params_leave_no_strategy(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 7, .days = 1, .params = {"fast=8", "slow=3", "volume=1"}});
    td_event_t ev = stream.ev[1];
    ev.u.params = params_of(2, (const char *const[]){"fast=3", "slow=8", NULL}); /* volume missing */
    stream_insert(&stream, 2, &ev);
    ev.u.params = params_of(3, (const char *const[]){"fast=3", "slow=8", "volume=1", NULL});
    memcpy(ev.u.params.strategy, "no_such", sizeof "no_such");
    stream_insert(&stream, 3, &ev);
    run_t run;
    run_stream(&stream, &paper_config, HOP_NONE, &run);
    assert_true(count_kind(&run, TD_EV_BAR) > 20);
    assert_int_equal(count_kind(&run, TD_EV_SIGNAL), 0);
    assert_int_equal(count_kind(&run, TD_EV_ORDER_INTENT), 0);
    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &paper_config), TD_OK);
    assert_int_equal(td_pipeline_decode(&pipeline, run.state.ptr, run.state.len), TD_OK);
    assert_int_equal(pipeline.params_rejected, 3);
    assert_null(pipeline.strategy);
    td_pipeline_fini(&pipeline);
    run_fini(&run);
    stream_fini(&stream);
}

/* ---- (g) digest sensitivity ---- */

/* Index of the n-th tick of day d. */
static size_t nth_tick_of_day(const stream_t *stream, int d, size_t n)
{
    for (size_t i = 0; i < stream->len; i++) {
        const td_event_t *ev = &stream->ev[i];
        if (ev->kind == TD_EV_TICK && ev->time_ms >= day_start(d) && ev->time_ms < day_start(d + 1) && n-- == 0)
            return i;
    }
    fail_msg("day %d has too few ticks", d);
    return 0;
}

static void test_one_tick_changes_its_day_digest_and_later_ones_only(void **unused)
{
    (void)unused;
    const uint32_t day0 = DAY0, day1 = td_time_next_day(day0), day2 = td_time_next_day(day1);
    gen_opts_t opts = {.seed = 8, .days = 3, .marks = 3u};
    stream_t stream, changed;
    gen(&stream, &opts);
    gen(&changed, &opts);
    changed.ev[nth_tick_of_day(&changed, 1, 40)].u.tick.bid -= POINT; /* still below the ask */

    run_t a, b;
    run_stream(&stream, &paper_config, HOP_NONE, &a);
    run_stream(&changed, &paper_config, HOP_NONE, &b);
    assert_memory_equal(digest_of(&a, day0)->sha256, digest_of(&b, day0)->sha256, TD_SHA256_LEN);
    assert_memory_not_equal(digest_of(&a, day1)->sha256, digest_of(&b, day1)->sha256, TD_SHA256_LEN);
    assert_memory_not_equal(digest_of(&a, day2)->sha256, digest_of(&b, day2)->sha256, TD_SHA256_LEN); /* chained */
    run_fini(&b);

    /* a change on day 0 reaches every day */
    stream_fini(&changed);
    gen(&changed, &opts);
    changed.ev[nth_tick_of_day(&changed, 0, 10)].u.tick.bid -= POINT;
    run_stream(&changed, &paper_config, HOP_NONE, &b);
    assert_memory_not_equal(digest_of(&a, day0)->sha256, digest_of(&b, day0)->sha256, TD_SHA256_LEN);
    assert_memory_not_equal(digest_of(&a, day1)->sha256, digest_of(&b, day1)->sha256, TD_SHA256_LEN);
    run_fini(&a);
    run_fini(&b);
    stream_fini(&stream);
    stream_fini(&changed);
}

/* ---- (h) the sticky failure ---- */

/* A malformed ExecutionReport input (deal id 0) is refused and counted; the symbol goes on with
 * the same decisions as without it. */
static void test_malformed_exec_report_is_counted_not_fatal(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 9, .days = 1});
    td_event_t ev = stream.ev[10];
    ev.kind = TD_EV_EXEC_REPORT;
    memset(&ev.u, 0, sizeof ev.u);
    ev.u.exec.side = TD_SIDE_BUY;
    ev.u.exec.volume = LOT;
    ev.u.exec.price = stream.ev[10].u.tick.ask;
    ev.u.exec.status = TD_EXEC_FILLED; /* deal id 0 */
    stream_insert(&stream, 10, &ev);

    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &paper_config), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    bool started;
    for (size_t i = 0; i < stream.len; i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(&pipeline, &stream.ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(&pipeline, &stream.ev[i], &out), TD_OK);
        if (i == 10)
            assert_int_equal(out.len, 0); /* no position change from the refused report */
    }
    assert_int_equal(pipeline.exec_rejected, 1);
    assert_non_null(strstr(pipeline.last_error, "deal"));
    td_outbuf_fini(&out);
    td_pipeline_fini(&pipeline);
    stream_fini(&stream);
}

/* Two ExecutionReport inputs whose fill takes the position's value out of the int64 range (the
 * second closes a huge position at a price far away: its P&L overflows) are refused and counted;
 * the symbol goes on, every later input is applied and the day closes with its digest
 * (DESIGN invariant 9: no content can wedge a stream). Twice the same stream gives the same bytes. */
static void run_with_overflowing_reports(stream_t *stream, td_pipeline_t *pipeline, td_buf_t *outputs)
{
    td_pipeline_config_t live = paper_config; /* the reports are the broker's: no paper fills */
    live.paper = false;
    assert_int_equal(td_pipeline_init(pipeline, SYM, &live), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    bool started;
    for (size_t i = 0; i < stream->len; i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(pipeline, &stream->ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(pipeline, &stream->ev[i], &out), TD_OK);
        if (i == 11) {
            assert_int_equal(out.len, 0); /* the refused report changed no position */
            assert_non_null(strstr(pipeline->last_error, "offset 11: execution report refused (TD_ERR_OVERFLOW)"));
        }
        for (size_t k = 0; k < out.len; k++)
            assert_int_equal(td_codec_encode(&out.ev[k], TD_CODEC_FOR_DIGEST, outputs), TD_OK);
    }
    td_outbuf_clear(&out);
    assert_int_equal(td_pipeline_close_day(pipeline, stream->len, &out), TD_OK);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.ev[0].kind, TD_EV_DAY_DIGEST);
    assert_int_equal(td_codec_encode(&out.ev[0], TD_CODEC_FOR_DIGEST, outputs), TD_OK);
    td_outbuf_fini(&out);
}

static void test_overflowing_exec_reports_are_refused_not_fatal(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 9, .days = 1});
    td_event_t ev = stream.ev[10];
    ev.kind = TD_EV_EXEC_REPORT;
    memset(&ev.u, 0, sizeof ev.u);
    ev.u.exec.side = TD_SIDE_BUY;
    ev.u.exec.volume = INT64_MAX / 4;
    ev.u.exec.price = INT64_MAX / 4;
    ev.u.exec.deal_id = 1;
    ev.u.exec.status = TD_EXEC_FILLED;
    stream_insert(&stream, 10, &ev);
    td_event_t ev2 = ev; /* closing it at 1e-8 takes the P&L out of the int64 range */
    ev2.u.exec.side = TD_SIDE_SELL;
    ev2.u.exec.price = 1;
    ev2.u.exec.deal_id = 2;
    stream_insert(&stream, 11, &ev2);

    td_pipeline_t first, second;
    td_buf_t a, b;
    td_buf_init(&a);
    td_buf_init(&b);
    run_with_overflowing_reports(&stream, &first, &a);
    assert_int_equal(first.rc, TD_OK);
    assert_int_equal(first.exec_rejected, 1);
    assert_int_equal(td_positions_volume(&first.positions), INT64_MAX / 4); /* the opening one stands */
    assert_true(first.day_inputs == stream.len);

    run_with_overflowing_reports(&stream, &second, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    td_buf_fini(&a);
    td_buf_fini(&b);
    td_pipeline_fini(&first);
    td_pipeline_fini(&second);
    stream_fini(&stream);
}

/* A spec whose swap leaves the money range at the first rollover with a position open: the fill
 * model refuses those ticks (counted in inputs_refused), the symbol goes on and closes its days. */
static void test_fill_model_overflow_refuses_the_tick_not_the_symbol(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 3, .days = 3, .marks = 3u});
    assert_int_equal(stream.ev[0].kind, TD_EV_SYMBOL_SPEC);
    stream.ev[0].u.spec.swap_mode = TD_SWAP_MONEY;
    stream.ev[0].u.spec.swap_long = stream.ev[0].u.spec.swap_short = INT64_MAX; /* per lot and day */

    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &paper_config), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    bool started;
    size_t digests = 0;
    for (size_t i = 0; i < stream.len; i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(&pipeline, &stream.ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(&pipeline, &stream.ev[i], &out), TD_OK);
        for (size_t k = 0; k < out.len; k++)
            digests += out.ev[k].kind == TD_EV_DAY_DIGEST;
    }
    assert_true(pipeline.inputs_refused >= 1);
    assert_non_null(strstr(pipeline.last_error, "the fill model refused the tick (TD_ERR_OVERFLOW)"));
    assert_int_equal(digests, 2); /* days 0 and 1 closed by their marks */
    td_outbuf_fini(&out);
    td_pipeline_fini(&pipeline);
    stream_fini(&stream);
}

/* An order over the symbol's volume_max (here 0.5 lots against the strategy's 1 lot) is refused
 * and counted, never an output: no broker takes it (the property test of the live path found
 * reversals of a position near the maximum sent over the protocol's bound). Signals stay. */
static void test_order_over_volume_max_is_refused(void **unused)
{
    (void)unused;
    stream_t stream;
    gen(&stream, &(gen_opts_t){.seed = 5, .days = 2, .marks = 1u});
    assert_int_equal(stream.ev[0].kind, TD_EV_SYMBOL_SPEC);
    stream.ev[0].u.spec.volume_max = LOT / 2;
    td_pipeline_t pipeline;
    assert_int_equal(td_pipeline_init(&pipeline, SYM, &paper_config), TD_OK);
    td_outbuf_t out;
    td_outbuf_init(&out);
    bool started;
    size_t signals = 0;
    for (size_t i = 0; i < stream.len; i++) {
        td_outbuf_clear(&out);
        assert_int_equal(td_pipeline_roll(&pipeline, &stream.ev[i], &out, &started), TD_OK);
        assert_int_equal(td_pipeline_step(&pipeline, &stream.ev[i], &out), TD_OK);
        for (size_t k = 0; k < out.len; k++) {
            assert_int_not_equal(out.ev[k].kind, TD_EV_ORDER_INTENT);
            assert_int_equal(out.ev[k].index, k); /* the envelope's indexes have no hole */
            signals += out.ev[k].kind == TD_EV_SIGNAL;
        }
    }
    assert_true(signals > 0);
    assert_true(pipeline.inputs_refused >= signals / 2);
    assert_non_null(strstr(pipeline.last_error, "is over the symbol's volume_max 50000000: not sent"));
    assert_int_equal(td_positions_volume(&pipeline.positions), 0);
    td_outbuf_fini(&out);
    td_pipeline_fini(&pipeline);
    stream_fini(&stream);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_carry_symbol_time_offset_and_index),
        cmocka_unit_test(test_day_end_mark_closes_day_with_one_digest),
        cmocka_unit_test(test_same_inputs_give_identical_bytes_and_digests),
        cmocka_unit_test(test_decode_after_every_event_continues_identically),
        cmocka_unit_test(test_paper_intent_fills_on_next_tick),
        cmocka_unit_test(test_without_paper_exec_report_input_drives_position),
        cmocka_unit_test(test_invalid_params_are_counted_and_previous_strategy_stays),
        cmocka_unit_test(test_invalid_first_params_leave_no_strategy),
        cmocka_unit_test(test_one_tick_changes_its_day_digest_and_later_ones_only),
        cmocka_unit_test(test_malformed_exec_report_is_counted_not_fatal),
        cmocka_unit_test(test_overflowing_exec_reports_are_refused_not_fatal),
        cmocka_unit_test(test_fill_model_overflow_refuses_the_tick_not_the_symbol),
        cmocka_unit_test(test_order_over_volume_max_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
