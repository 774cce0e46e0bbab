/* Tests for host/follow.c: the live hook's host. Processing after every small append, with each
 * grown symbol's pipeline kept in memory between calls, leaves the same output streams and the same
 * committed state as one batch run of the host over the whole tape; a call that fails part-way
 * (stop_after: the open batch dropped, as a crash would) does not keep a pipeline that is ahead of
 * the tape, so the next call resumes from the committed state and nothing is lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/codec.h"
#include "host/follow.h"
#include "host/host.h"
#include "tests/unit/scratch_tape.h"

static const int64_t T0 = INT64_C(1704153600000); /* 2024-01-02T00:00:00Z */
static const char *const SYMBOLS[] = {"EURUSD", "XAUUSD"};
#define TICKS 600 /* per symbol: 10 hours at a tick a minute, so M1 bars close and days do not */
#define PIECE 7   /* ticks per append */

/* Appends ticks [from, to) of both symbols (interleaved) in one commit. */
static void append_ticks(td_tape_t *tape, int from, int to)
{
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = from; i < to; i++)
        for (int s = 0; s < 2; s++) {
            td_event_t ev;
            assert_int_equal(td_event_init(&ev, TD_EV_TICK, SYMBOLS[s], T0 + i * INT64_C(60000) + s * 7000), TD_OK);
            assert_int_equal(td_event_set_str(ev.source, sizeof ev.source, "test"), TD_OK);
            int64_t wave = (i * 37 + s * 11) % 50;
            ev.u.tick = (td_tick_t){.bid = 100000000 + s * 5000000 + wave * 1000, .ask = 100000000 + s * 5000000 + wave * 1000 + 20,
                                    .volume = 100000000, .flags = 6};
            assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_OK);
        }
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
}

static td_host_opts_t host_opts(void)
{
    td_host_opts_t opts = {.batch_events = 1000};
    opts.pipeline.timeframe_s = 60;
    opts.pipeline.paper = true;
    return opts;
}

/* Both tapes hold the same output streams, event by event, and the same committed states. */
static void assert_same_outputs(td_tape_t *a, td_tape_t *b)
{
    td_buf_t ea, eb, sa, sb;
    td_buf_init(&ea);
    td_buf_init(&eb);
    td_buf_init(&sa);
    td_buf_init(&sb);
    for (int s = 0; s < 2; s++) {
        uint64_t n = td_tape_next_offset(a, TD_STREAM_OUTPUT, SYMBOLS[s]);
        assert_true(n > TICKS / 2); /* a bar a minute, at least */
        assert_int_equal(td_tape_next_offset(b, TD_STREAM_OUTPUT, SYMBOLS[s]), n);
        for (uint64_t off = 0; off < n; off++) {
            td_event_t xa, xb;
            assert_int_equal(td_tape_read(a, TD_STREAM_OUTPUT, SYMBOLS[s], off, &xa, NULL, 0), TD_OK);
            assert_int_equal(td_tape_read(b, TD_STREAM_OUTPUT, SYMBOLS[s], off, &xb, NULL, 0), TD_OK);
            td_buf_reset(&ea);
            td_buf_reset(&eb);
            assert_int_equal(td_codec_encode(&xa, TD_CODEC_FOR_DIGEST, &ea), TD_OK);
            assert_int_equal(td_codec_encode(&xb, TD_CODEC_FOR_DIGEST, &eb), TD_OK);
            assert_int_equal(ea.len, eb.len);
            assert_memory_equal(ea.ptr, eb.ptr, ea.len);
        }
        char key[64];
        td_host_state_key(SYMBOLS[s], key, sizeof key);
        td_buf_reset(&sa);
        td_buf_reset(&sb);
        assert_int_equal(td_tape_get_state(a, key, &sa, NULL, 0), TD_OK);
        assert_int_equal(td_tape_get_state(b, key, &sb, NULL, 0), TD_OK);
        assert_int_equal(sa.len, sb.len);
        assert_memory_equal(sa.ptr, sb.ptr, sa.len);
    }
    td_buf_fini(&ea);
    td_buf_fini(&eb);
    td_buf_fini(&sa);
    td_buf_fini(&sb);
}

/* The batch run: every tick appended, then the host once. */
static void batch_run(td_tape_t *tape)
{
    append_ticks(tape, 0, TICKS);
    td_host_opts_t opts = host_opts();
    td_host_stats_t st;
    char err[512] = "";
    assert_int_equal(td_host_process(tape, &opts, &st, err, sizeof err), TD_OK);
    assert_int_equal(st.inputs, 2 * TICKS);
}

/* Appends the ticks PIECE at a time to one tape, with td_follow_process after each append; with
 * stop_every > 0, every stop_every-th call stops part-way without committing its open batch (as a
 * crash would), so the pipeline it advanced in memory must not be kept, or the inputs of that batch
 * would never be processed again. A final call goes to the end. The outputs and states then equal
 * those of one batch run of the host over a second tape. */
static void follow_against_batch(const char *name, int stop_every)
{
    char dir_a[512], dir_b[512];
    td_tape_t *live = NULL, *batch = NULL;
    scratch_tape_open(dir_a, sizeof dir_a, name, &live);
    scratch_tape_open(dir_b, sizeof dir_b, "follow-batch", &batch);
    td_follow_t follow;
    td_follow_init(&follow);
    uint64_t inputs = 0;
    int stopped = 0;
    for (int i = 0, call = 0; i < TICKS; i += PIECE, call++) {
        append_ticks(live, i, i + PIECE < TICKS ? i + PIECE : TICKS);
        td_host_opts_t opts = host_opts();
        opts.stop_after = stop_every && call % stop_every == 0 ? 3 : 0;
        td_host_stats_t st;
        char err[512] = "";
        td_err_t rc = td_follow_process(&follow, live, &opts, &st, err, sizeof err);
        assert_int_equal(rc, opts.stop_after ? TD_ERR_END : TD_OK);
        stopped += opts.stop_after != 0;
        inputs += st.inputs;
    }
    td_host_opts_t opts = host_opts();
    td_host_stats_t st;
    char err[512] = "";
    assert_int_equal(td_follow_process(&follow, live, &opts, &st, err, sizeof err), TD_OK);
    if (!stop_every) { /* every input once, each call taking what its append added */
        assert_int_equal(inputs, 2 * TICKS);
        assert_int_equal(st.inputs, 0);
    }
    assert_int_equal(td_follow_process(&follow, live, &opts, &st, err, sizeof err), TD_OK);
    assert_int_equal(st.inputs, 0); /* a call with nothing new processes nothing */
    assert_true(stop_every == 0 || stopped > 10);
    td_follow_fini(&follow);
    batch_run(batch);
    assert_same_outputs(live, batch);
    scratch_tape_remove(dir_a, live);
    scratch_tape_remove(dir_b, batch);
}

static void test_follow_equals_batch(void **state)
{
    (void)state;
    follow_against_batch("follow-live", 0);
}

static void test_follow_failed_call_resumes_from_the_tape(void **state)
{
    (void)state;
    follow_against_batch("follow-stop", 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_equals_batch),
        cmocka_unit_test(test_follow_failed_call_resumes_from_the_tape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
