/* Tests for core/tape_writer.c and the three halves of a commit (td_tape_seal, td_tape_write,
 * td_tape_settle): batches written on the writer's thread, each begun before the one ahead of it
 * landed, give the same tape as the same batches committed one by one; offsets of a batch not yet
 * settled are handed on but not visible; a sealed batch that never lands stops the tape, and a
 * failed write stops the batches queued behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/tape.h"
#include "core/tape_writer.h"
#include "tests/unit/scratch_tape.h"

static const int64_t T0 = INT64_C(1704153600000); /* 2024-01-02T00:00:00Z */
#define HOUR INT64_C(3600000)
#define BATCHES 40
#define PER_BATCH 50

static const char *const SYMBOLS[] = {"EURUSD", "XAUUSD", "US500"};

static void make_tick(td_event_t *ev, const char *symbol, int64_t time_ms, int64_t bid)
{
    assert_int_equal(td_event_init(ev, TD_EV_TICK, symbol, time_ms), TD_OK);
    assert_int_equal(td_event_set_str(ev->source, sizeof ev->source, "test"), TD_OK);
    ev->ingest_ms = INT64_C(1700000000005);
    ev->u.tick = (td_tick_t){.bid = bid, .ask = bid + 20, .volume = 100000000, .flags = 6};
}

/* Batch b of the workload: PER_BATCH ticks over the three symbols (interleaved, unevenly), an hour
 * apart per batch so that the run crosses trading days, and a meta record naming the batch. The
 * offset each event got is checked against expect[symbol], which advances. */
static td_tape_batch_t *workload_batch(td_tape_t *tape, int b, uint64_t expect[3])
{
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < PER_BATCH; i++) {
        int s = (i * 7 + b) % 5 % 3;
        td_event_t ev;
        make_tick(&ev, SYMBOLS[s], T0 + b * HOUR + i * 1000, 100000000 + b * 1000 + i);
        assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_OK);
        assert_int_equal(ev.offset, expect[s]);
        expect[s]++;
    }
    char val[16];
    int n = snprintf(val, sizeof val, "%d", b);
    assert_int_equal(td_tape_batch_put_meta(batch, "test/last_batch", val, (size_t)n, NULL, 0), TD_OK);
    return batch;
}

/* A writer for tape; fails the test otherwise. */
static td_tape_writer_t *new_writer(td_tape_t *tape)
{
    char err[256] = "";
    td_tape_writer_t *writer = NULL;
    td_err_t rc = td_tape_writer_new(tape, &writer, err, sizeof err);
    if (rc != TD_OK)
        print_error("tape writer: %s\n", err);
    assert_int_equal(rc, TD_OK);
    return writer;
}

/* Every event of every stream, and every day range, of tape a equal those of tape b. */
static void assert_same_tape(td_tape_t *a, td_tape_t *b)
{
    for (size_t s = 0; s < 3; s++) {
        td_tape_iter_t *ia = NULL, *ib = NULL;
        assert_int_equal(td_tape_iter_new(a, TD_STREAM_INPUT, SYMBOLS[s], 0, &ia, NULL, 0), TD_OK);
        assert_int_equal(td_tape_iter_new(b, TD_STREAM_INPUT, SYMBOLS[s], 0, &ib, NULL, 0), TD_OK);
        td_event_t ea, eb;
        td_err_t ra, rb;
        uint64_t n = 0;
        while ((ra = td_tape_iter_next(ia, &ea, NULL, 0)) == TD_OK) {
            rb = td_tape_iter_next(ib, &eb, NULL, 0);
            assert_int_equal(rb, TD_OK);
            assert_int_equal(ea.offset, n);
            assert_int_equal(eb.offset, n);
            assert_int_equal(ea.time_ms, eb.time_ms);
            assert_int_equal(ea.u.tick.bid, eb.u.tick.bid);
            n++;
        }
        assert_int_equal(ra, TD_ERR_END);
        assert_int_equal(td_tape_iter_next(ib, &eb, NULL, 0), TD_ERR_END);
        assert_int_equal(td_tape_next_offset(a, TD_STREAM_INPUT, SYMBOLS[s]), n);
        assert_int_equal(td_tape_next_offset(b, TD_STREAM_INPUT, SYMBOLS[s]), n);
        td_tape_iter_destroy(ia);
        td_tape_iter_destroy(ib);
        for (uint32_t day = 20240101; day <= 20240105; day++) {
            td_day_range_t da, db;
            td_err_t qa = td_tape_day_get(a, TD_STREAM_INPUT, SYMBOLS[s], day, &da, NULL, 0);
            assert_int_equal(qa, td_tape_day_get(b, TD_STREAM_INPUT, SYMBOLS[s], day, &db, NULL, 0));
            if (qa == TD_OK) {
                assert_int_equal(da.first_offset, db.first_offset);
                assert_int_equal(da.last_offset, db.last_offset);
            }
        }
    }
}

typedef struct settled_log {
    intptr_t tags[BATCHES];
    int n;
    int failed;
} settled_log_t;

static void record(void *ctx, void *tag, td_err_t rc)
{
    settled_log_t *log = ctx;
    if (rc != TD_OK) {
        log->failed++;
        return;
    }
    assert_true(log->n < BATCHES);
    log->tags[log->n++] = (intptr_t)tag;
}

static void test_pipelined_equals_one_by_one(void **state)
{
    (void)state;
    char dir_a[512], dir_b[512];
    td_tape_t *piped = NULL, *plain = NULL;
    scratch_tape_open(dir_a, sizeof dir_a, "writer-piped", &piped);
    scratch_tape_open(dir_b, sizeof dir_b, "writer-plain", &plain);
    td_tape_writer_t *writer = new_writer(piped);
    assert_true(td_tape_writer_fd(writer) >= 0);

    uint64_t expect_a[3] = {0}, expect_b[3] = {0};
    settled_log_t log = {0};
    size_t most_in_flight = 0;
    for (int b = 0; b < BATCHES; b++) {
        /* the next batch is built while up to three ahead of it are still queued */
        assert_int_equal(
            td_tape_writer_submit(writer, workload_batch(piped, b, expect_a), (void *)(intptr_t)(b + 1), NULL, 0),
            TD_OK);
        if (td_tape_writer_in_flight(writer) > most_in_flight)
            most_in_flight = td_tape_writer_in_flight(writer);
        assert_int_equal(td_tape_writer_settle(writer, 3, record, &log, NULL, 0), TD_OK);
        assert_true(td_tape_writer_in_flight(writer) <= 3);
        assert_int_equal(td_tape_commit(plain, workload_batch(plain, b, expect_b), NULL, 0), TD_OK);
    }
    assert_int_equal(td_tape_writer_settle(writer, 0, record, &log, NULL, 0), TD_OK);
    assert_int_equal(td_tape_writer_in_flight(writer), 0);
    td_tape_writer_destroy(writer, record, &log);
    assert_true(most_in_flight >= 1);

    /* every tag once, in submit order, all committed */
    assert_int_equal(log.failed, 0);
    assert_int_equal(log.n, BATCHES);
    for (int i = 0; i < BATCHES; i++)
        assert_int_equal(log.tags[i], i + 1);
    assert_same_tape(piped, plain);
    td_buf_t meta;
    td_buf_init(&meta);
    assert_int_equal(td_tape_get_meta(piped, "test/last_batch", &meta, NULL, 0), TD_OK);
    assert_int_equal(meta.len, 2);
    assert_memory_equal(meta.ptr, "39", 2);
    td_buf_fini(&meta);
    scratch_tape_remove(dir_a, piped);
    scratch_tape_remove(dir_b, plain);
}

static void test_sealed_offsets_handed_on_not_visible(void **state)
{
    (void)state;
    char dir[512];
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "writer-seal", &tape);
    uint64_t expect[3] = {0};
    td_tape_batch_t *first = workload_batch(tape, 0, expect);
    assert_int_equal(td_tape_seal(tape, first, NULL, 0), TD_OK);
    /* sealed: nothing more goes in, and readers do not see it */
    td_event_t ev;
    make_tick(&ev, "EURUSD", T0, 1);
    assert_int_equal(td_tape_batch_append(first, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_batch_put_meta(first, "k", "v", 1, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
    uint64_t end = 99;
    assert_int_equal(td_tape_stream_end(tape, TD_STREAM_INPUT, "EURUSD", &end, NULL, 0), TD_OK);
    assert_int_equal(end, 0);

    /* the next batch continues the sealed one's offsets (workload_batch checks each) */
    uint64_t after_first[3] = {expect[0], expect[1], expect[2]};
    td_tape_batch_t *second = workload_batch(tape, 1, expect);
    assert_int_equal(td_tape_seal(tape, second, NULL, 0), TD_OK);
    assert_int_equal(td_tape_write(first), TD_OK);
    assert_int_equal(td_tape_settle(tape, first, NULL, 0), TD_OK);
    for (int s = 0; s < 3; s++) /* the first is visible, the second not yet */
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, SYMBOLS[s]), after_first[s]);
    assert_int_equal(td_tape_write(second), TD_OK);
    assert_int_equal(td_tape_settle(tape, second, NULL, 0), TD_OK);
    for (int s = 0; s < 3; s++)
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, SYMBOLS[s]), expect[s]);

    /* two batches begun at the same point: the second to be sealed is refused, and changes nothing */
    uint64_t same_start[3] = {expect[0], expect[1], expect[2]};
    td_tape_batch_t *stale = workload_batch(tape, 2, expect);
    td_tape_batch_t *racer = workload_batch(tape, 2, same_start);
    assert_int_equal(td_tape_seal(tape, racer, NULL, 0), TD_OK);
    char msg[256] = "";
    assert_int_equal(td_tape_seal(tape, stale, msg, sizeof msg), TD_ERR_ORDER);
    assert_non_null(strstr(msg, "while this batch was open"));
    assert_int_equal(td_tape_write(racer), TD_OK);
    assert_int_equal(td_tape_settle(tape, racer, NULL, 0), TD_OK);
    for (int s = 0; s < 3; s++)
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, SYMBOLS[s]), same_start[s]);
    scratch_tape_remove(dir, tape);
}

/* A sealed batch settled without its write, or destroyed unsettled: the tape refuses more. */
static void test_sealed_batch_lost_stops_the_tape(void **state)
{
    (void)state;
    for (int destroy = 0; destroy < 2; destroy++) {
        char dir[512];
        td_tape_t *tape = NULL;
        scratch_tape_open(dir, sizeof dir, "writer-lost", &tape);
        uint64_t expect[3] = {0};
        td_tape_batch_t *batch = workload_batch(tape, 0, expect);
        assert_int_equal(td_tape_seal(tape, batch, NULL, 0), TD_OK);
        if (destroy) {
            td_tape_batch_destroy(batch);
        } else {
            char msg[256] = "";
            assert_int_equal(td_tape_settle(tape, batch, msg, sizeof msg), TD_ERR_STATE);
            assert_non_null(strstr(msg, "never written"));
        }
        td_tape_batch_t *next = NULL;
        assert_int_equal(td_tape_batch_new(tape, &next, NULL, 0), TD_ERR_STATE);
        assert_null(next);
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
        scratch_tape_remove(dir, tape);
    }
}

/* Destroying a writer with batches queued writes and settles them all, every tag coming back. */
static void test_destroy_drains_the_queue(void **state)
{
    (void)state;
    char dir[512];
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "writer-drain", &tape);
    td_tape_writer_t *writer = new_writer(tape);
    uint64_t expect[3] = {0};
    for (int b = 0; b < 8; b++)
        assert_int_equal(
            td_tape_writer_submit(writer, workload_batch(tape, b, expect), (void *)(intptr_t)(b + 1), NULL, 0), TD_OK);
    settled_log_t log = {0};
    td_tape_writer_destroy(writer, record, &log);
    assert_int_equal(log.n, 8);
    assert_int_equal(log.failed, 0);
    for (int s = 0; s < 3; s++)
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, SYMBOLS[s]), expect[s]);
    /* and the tape takes ordinary commits again */
    assert_int_equal(td_tape_commit(tape, workload_batch(tape, 8, expect), NULL, 0), TD_OK);
    scratch_tape_remove(dir, tape);
}

/* The write of the third batch fails: the first two land, the third and everything queued behind
 * it are settled as failed and never written, and the tape refuses further batches. */
static int writes;

static td_err_t third_write_fails(td_tape_batch_t *batch)
{
    if (++writes == 3)
        return TD_ERR_STORE; /* as if RocksDB had refused it: nothing written */
    return td_tape_write(batch);
}

static void test_failed_write_stops_the_queue(void **state)
{
    (void)state;
    char dir[512];
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "writer-fail", &tape);
    td_tape_writer_t *writer = new_writer(tape);
    writes = 0;
    td_tape_writer_set_write_fn(writer, third_write_fails);
    uint64_t expect[3] = {0}, after_two[3] = {0};
    for (int b = 0; b < 6; b++) {
        if (b == 2)
            memcpy(after_two, expect, sizeof expect);
        assert_int_equal(
            td_tape_writer_submit(writer, workload_batch(tape, b, expect), (void *)(intptr_t)(b + 1), NULL, 0), TD_OK);
    }
    settled_log_t log = {0};
    char msg[256] = "";
    assert_int_equal(td_tape_writer_settle(writer, 0, record, &log, msg, sizeof msg), TD_ERR_STATE);
    assert_int_equal(log.n, 2); /* batches 1 and 2 committed */
    assert_int_equal(log.tags[0], 1);
    assert_int_equal(log.tags[1], 2);
    assert_int_equal(log.failed, 4);
    assert_int_equal(writes, 3); /* the three behind the failure were not written */
    assert_non_null(strstr(msg, "never written"));
    for (int s = 0; s < 3; s++) {
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, SYMBOLS[s]), after_two[s]);
        uint64_t end = 0;
        assert_int_equal(td_tape_stream_end(tape, TD_STREAM_INPUT, SYMBOLS[s], &end, NULL, 0), TD_OK);
        assert_int_equal(end, after_two[s]); /* nothing of batches 3-6 in RocksDB */
    }
    td_tape_batch_t *next = NULL;
    assert_int_equal(td_tape_batch_new(tape, &next, NULL, 0), TD_ERR_STATE);
    td_tape_writer_destroy(writer, record, &log);
    assert_int_equal(log.n + log.failed, 6);
    scratch_tape_remove(dir, tape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelined_equals_one_by_one),
        cmocka_unit_test(test_sealed_offsets_handed_on_not_visible),
        cmocka_unit_test(test_sealed_batch_lost_stops_the_tape),
        cmocka_unit_test(test_destroy_drains_the_queue),
        cmocka_unit_test(test_failed_write_stops_the_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
