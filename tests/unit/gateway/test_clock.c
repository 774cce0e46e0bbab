/* test_clock.c - gateway/clock.c: HEARTBEAT -> Clock events. One Clock per symbol and bar boundary
 * crossed (not per heartbeat), none for a heartbeat in the symbol's own bar or behind its last
 * event, the bar alignment with a day offset, and a gateway restarted on the tape (clock_load)
 * deciding as the uninterrupted one. */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "gateway/clock.h"

#define MIN INT64_C(60000)
static const int64_t T0 = INT64_C(1704153600000); /* 2024-01-02T00:00:00Z */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

typedef struct fix {
    char dir[64];
    td_tape_t *tape;
    td_gw_clock_t *clock;
} fix_t;

static void open_tape(fix_t *fix)
{
    td_tape_opts_t opts = {.sync = TD_SYNC_NONE};
    char err[256];
    assert_int_equal(td_tape_open(fix->dir, &opts, &fix->tape, err, sizeof err), TD_OK);
}

static int setup(void **state)
{
    fix_t *fix = calloc(1, sizeof *fix);
    snprintf(fix->dir, sizeof fix->dir, "/tmp/td_test_clock_XXXXXX");
    if (!fix || !mkdtemp(fix->dir))
        return -1;
    open_tape(fix);
    if (td_gw_clock_new(30 * MIN, 0, &fix->clock) != TD_OK)
        return -1;
    *state = fix;
    return 0;
}

static int teardown(void **state)
{
    fix_t *fix = *state;
    td_gw_clock_destroy(fix->clock);
    td_tape_close(fix->tape);
    nftw(fix->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fix);
    return 0;
}

static void append_tick(fix_t *fix, const char *symbol, int64_t t)
{
    td_event_t ev;
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(fix->tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, symbol, t), TD_OK);
    ev.u.tick = (td_tick_t){.bid = 100000000, .ask = 100002000, .flags = 6};
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(fix->tape, batch, NULL, 0), TD_OK);
    assert_int_equal(td_gw_clock_seen(fix->clock, symbol, t), TD_OK);
}

typedef struct emit_ctx {
    td_tape_t *tape;
    td_tape_batch_t *batch;
} emit_ctx_t;

static td_err_t emit_to_batch(void *opaque, td_event_t *ev)
{
    emit_ctx_t *ctx = opaque;
    td_err_t rc = ctx->batch ? TD_OK : td_tape_batch_new(ctx->tape, &ctx->batch, NULL, 0);
    return rc == TD_OK ? td_tape_batch_append(ctx->batch, TD_STREAM_INPUT, ev, NULL, 0) : rc;
}

/* A heartbeat: commits its Clock events; returns how many. */
static uint64_t heartbeat(fix_t *fix, int64_t t)
{
    emit_ctx_t ctx = {fix->tape, NULL};
    uint64_t n = 0;
    assert_int_equal(td_gw_clock_heartbeat(fix->clock, t, emit_to_batch, &ctx, &n), TD_OK);
    if (ctx.batch)
        assert_int_equal(td_tape_commit(fix->tape, ctx.batch, NULL, 0), TD_OK);
    return n;
}

static void last_event(fix_t *fix, const char *symbol, td_event_kind_t kind, int64_t t)
{
    td_event_t ev;
    uint64_t next = td_tape_next_offset(fix->tape, TD_STREAM_INPUT, symbol);
    assert_true(next > 0);
    assert_int_equal(td_tape_read(fix->tape, TD_STREAM_INPUT, symbol, next - 1, &ev, NULL, 0), TD_OK);
    assert_int_equal(ev.kind, kind);
    assert_int_equal(ev.time_ms, t);
    if (kind == TD_EV_CLOCK)
        assert_string_equal(ev.source, "mt5");
}

static void test_one_clock_per_boundary(void **state)
{
    fix_t *fix = *state;
    append_tick(fix, "EURUSD", T0 + 29 * MIN + 58000);          /* 00:29:58, in the 00:00 bar */
    append_tick(fix, "XAUUSD", T0 + 30 * MIN + 5000);           /* 00:30:05, already in the 00:30 bar */
    assert_int_equal(heartbeat(fix, T0 + 29 * MIN + 59000), 0); /* same bar */
    assert_int_equal(heartbeat(fix, T0 + 30 * MIN), 1);         /* EURUSD's bar ends; XAUUSD is ahead */
    last_event(fix, "EURUSD", TD_EV_CLOCK, T0 + 30 * MIN);
    last_event(fix, "XAUUSD", TD_EV_TICK, T0 + 30 * MIN + 5000);
    assert_int_equal(heartbeat(fix, T0 + 30 * MIN + 1000), 0); /* not one per heartbeat */
    assert_int_equal(heartbeat(fix, T0 + 20 * MIN), 0);        /* behind: nothing */
    assert_int_equal(heartbeat(fix, T0 + 90 * MIN), 2);        /* several bars later: one each */
    last_event(fix, "XAUUSD", TD_EV_CLOCK, T0 + 90 * MIN);
    assert_int_equal(td_tape_next_offset(fix->tape, TD_STREAM_INPUT, "EURUSD"), 3);
}

static void test_restart_decides_the_same(void **state)
{
    fix_t *fix = *state;
    append_tick(fix, "EURUSD", T0 + 10 * MIN);
    append_tick(fix, "US500", T0 + 45 * MIN);
    /* a gateway restarted on this tape knows both symbols and their last times */
    td_gw_clock_t *again = NULL;
    assert_int_equal(td_gw_clock_new(30 * MIN, 0, &again), TD_OK);
    assert_int_equal(td_gw_clock_load(again, fix->tape), TD_OK);
    td_gw_clock_destroy(fix->clock);
    fix->clock = again;
    assert_int_equal(heartbeat(fix, T0 + 31 * MIN), 1); /* EURUSD only */
    assert_int_equal(heartbeat(fix, T0 + 60 * MIN), 2);
    last_event(fix, "US500", TD_EV_CLOCK, T0 + 60 * MIN);
}

/* Kafka mode: the times travel through td_gw_clock_encode/decode (the gateway's meta record) and
 * a clock restored from them decides as the original; bad text is refused and leaves it empty. */
static void test_encode_decode(void **state)
{
    fix_t *fix = *state;
    append_tick(fix, "EURUSD", T0 + 10 * MIN);
    append_tick(fix, "US500", T0 - 45 * MIN); /* a negative offset from T0, still after 1970 */
    td_buf_t text;
    td_buf_init(&text);
    assert_int_equal(td_gw_clock_encode(fix->clock, &text), TD_OK);
    td_gw_clock_t *again = NULL;
    assert_int_equal(td_gw_clock_new(30 * MIN, 0, &again), TD_OK);
    assert_int_equal(td_gw_clock_decode(again, text.ptr, text.len), TD_OK);
    td_buf_t text2;
    td_buf_init(&text2);
    assert_int_equal(td_gw_clock_encode(again, &text2), TD_OK);
    assert_int_equal(text.len, text2.len);
    assert_memory_equal(text.ptr, text2.ptr, text.len);
    td_gw_clock_destroy(fix->clock);
    fix->clock = again;
    assert_int_equal(heartbeat(fix, T0 + 31 * MIN), 2);
    assert_int_equal(heartbeat(fix, T0 + 40 * MIN), 0);
    const char *bad[] = {"EURUSD 5\n", "EURUSD\t5",    "\t5\n",
                         "EURUSD\t\n", "EURUSD\t5x\n", "EURUSD\t1234567890123456789\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(td_gw_clock_decode(fix->clock, (const uint8_t *)bad[i], strlen(bad[i])), TD_ERR_CORRUPT);
        assert_int_equal(heartbeat(fix, T0 + (int64_t)(100 + 30 * i) * MIN), 0); /* empty: no symbol known */
    }
    assert_int_equal(td_gw_clock_decode(fix->clock, NULL, 0), TD_OK);
    td_buf_fini(&text);
    td_buf_fini(&text2);
}

static void test_day_end_and_offset(void **state)
{
    (void)state;
    /* bars aligned to a trading day starting 17:00 UTC (offset 420 min); H4 bars: 17:00, 21:00, 01:00 */
    int64_t h4 = 240 * MIN;
    int64_t b_1659 = td_gw_clock_bar(T0 + 16 * 60 * MIN + 59 * MIN, h4, 420);
    int64_t b_1700 = td_gw_clock_bar(T0 + 17 * 60 * MIN, h4, 420);
    int64_t b_2059 = td_gw_clock_bar(T0 + 20 * 60 * MIN + 59 * MIN, h4, 420);
    assert_int_equal(b_1700, b_1659 + 1);
    assert_int_equal(b_2059, b_1700);
    /* before 1970 floors, not truncates */
    assert_int_equal(td_gw_clock_bar(-1, 30 * MIN, 0), -1);
    assert_int_equal(td_gw_clock_bar(0, 30 * MIN, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_clock_per_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_decides_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_end_and_offset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
