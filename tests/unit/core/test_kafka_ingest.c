/* test_kafka_ingest.c - core/kafka_ingest.c: topics of the mock cluster into a local tape.
 * The dedup rules with crafted records (an input resent with the same (symbol, account, seq), an
 * output resent with its offset, an output gap refused), state records into the state store, the
 * offsets and sequence numbers committed with the events (a new ingest on the same tape takes
 * nothing twice), and a record that does not decode. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tests/unit/mock_cluster.h"
#include "tests/unit/scratch_tape.h"

#include "core/codec.h"
#include "core/kafka.h"
#include "core/kafka_ingest.h"

#define PARTS 3
#define T0 1399248000000LL /* 2014-05-05 00:00 UTC */

typedef struct fixture {
    mock_cluster_t cluster;
    td_kafka_opts_t opts;
    td_log_t log;
    char dir[512];
    td_tape_t *tape;
    td_kafka_producer_t *producer;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    char err[256];
    const char *topics[] = {"in", "out"};
    mock_cluster_start(&f->cluster, 3, PARTS, topics, 2);
    td_log_init(&f->log, stderr, TD_LOG_ERROR, 0);
    f->opts = mock_cluster_opts(&f->cluster, "in", "out", PARTS);
    scratch_tape_open(f->dir, sizeof f->dir, "test-kafka-ingest", &f->tape);
    assert_int_equal(td_kafka_producer_new(&f->opts, &f->log, &f->producer, err, sizeof err), TD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    td_kafka_producer_destroy(f->producer);
    scratch_tape_remove(f->dir, f->tape);
    mock_cluster_stop(&f->cluster);
    free(f);
    return 0;
}

/* A tick of symbol at T0 + i s, from account with seq (no headers when account is NULL). */
static void produce_tick(fixture_t *f, const char *symbol, int i, const char *account, uint64_t seq)
{
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, symbol, T0 + i * 1000LL), TD_OK);
    ev.u.tick.bid = 110000000 + i;
    ev.u.tick.ask = 110001000 + i;
    ev.ingest_ms = T0;
    td_buf_t val;
    td_buf_init(&val);
    assert_int_equal(td_codec_encode(&ev, TD_CODEC_NO_OFFSET, &val), TD_OK);
    char seqtext[24];
    int n = snprintf(seqtext, sizeof seqtext, "%llu", (unsigned long long)seq);
    td_kafka_header_t h[2] = {{TD_KAFKA_H_ACCOUNT, account, account ? strlen(account) : 0},
                              {TD_KAFKA_H_SEQ, seqtext, (size_t)n}};
    char err[256];
    assert_int_equal(td_kafka_produce(f->producer, "in", symbol, val.ptr, val.len, h, account ? 2 : 0, err, sizeof err),
                     TD_OK);
    td_buf_fini(&val);
}

/* An output Bar of symbol with output offset `offset`, in day 20140505. */
static void produce_bar(fixture_t *f, const char *symbol, uint64_t offset)
{
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_BAR, symbol, T0 + (int64_t)offset * 1800000), TD_OK);
    ev.offset = offset;
    ev.input_offset = offset * 10;
    ev.u.bar.timeframe_s = 1800;
    ev.u.bar.open_time = ev.time_ms;
    ev.u.bar.open = ev.u.bar.high = ev.u.bar.low = ev.u.bar.close = 110000000;
    ev.ingest_ms = T0;
    td_buf_t val;
    td_buf_init(&val);
    assert_int_equal(td_codec_encode(&ev, TD_CODEC_DEFAULT, &val), TD_OK);
    td_kafka_header_t h = {TD_KAFKA_H_DAY, "20140505", 8};
    char err[256];
    assert_int_equal(td_kafka_produce(f->producer, "out", symbol, val.ptr, val.len, &h, 1, err, sizeof err), TD_OK);
    td_buf_fini(&val);
}

static void delivered(fixture_t *f)
{
    char err[256] = "";
    assert_int_equal(td_kafka_producer_wait(f->producer, 30000, err, sizeof err), TD_OK);
}

/* Polls until `want` messages were consumed in total by this ingest (or 20 s). */
static void ingest_until(td_ingest_t *ingest, uint64_t want)
{
    char err[512] = "";
    td_ingest_stats_t st;
    for (int i = 0; i < 200; i++) {
        td_ingest_stats(ingest, &st);
        if (st.messages >= want)
            break;
        uint64_t n = 0;
        td_err_t rc = td_ingest_poll(ingest, 100, &n, err, sizeof err);
        if (rc != TD_OK)
            fail_msg("poll: %s: %s", td_err_name(rc), err);
    }
    td_ingest_stats(ingest, &st);
    assert_int_equal(st.messages, want);
}

static uint64_t meta_u64(td_tape_t *tape, const char *key)
{
    uint64_t v = 0;
    assert_int_equal(td_ingest_meta_u64(tape, key, &v), TD_OK);
    return v;
}

static td_ingest_t *new_ingest(fixture_t *f, bool inputs, bool outputs)
{
    td_ingest_opts_t o = {.kafka = &f->opts, .inputs = inputs, .outputs = outputs, .batch_messages = 7, .log = &f->log};
    td_ingest_t *ingest = NULL;
    char err[512] = "";
    assert_int_equal(td_ingest_new(&o, f->tape, &ingest, err, sizeof err), TD_OK);
    return ingest;
}

static void test_input_dedup_and_restart(void **state)
{
    fixture_t *f = *state;
    for (int s = 1; s <= 10; s++)
        produce_tick(f, "EURUSD", s, "A", (uint64_t)s);
    for (int s = 5; s <= 12; s++) /* a gateway that crashed before recording its ACK resends 5..10 */
        produce_tick(f, "EURUSD", s, "A", (uint64_t)s);
    for (int s = 1; s <= 3; s++) /* another account has its own sequence */
        produce_tick(f, "EURUSD", 20 + s, "B", (uint64_t)s);
    produce_tick(f, "EURUSD", 30, NULL, 0); /* no origin: always taken */
    produce_tick(f, "XAUUSD", 1, "A", 11);  /* the same seq on another symbol is another pair */
    delivered(f);
    td_ingest_t *ingest = new_ingest(f, true, false);
    ingest_until(ingest, 10 + 8 + 3 + 1 + 1);
    td_ingest_stats_t st;
    td_ingest_stats(ingest, &st);
    assert_int_equal(st.inputs, 12 + 3 + 1 + 1);
    assert_int_equal(st.duplicate_inputs, 6);
    assert_true(st.commits >= 3); /* batches of 7 */
    td_ingest_destroy(ingest);

    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_INPUT, "EURUSD"), 16);
    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_INPUT, "XAUUSD"), 1);
    assert_int_equal(meta_u64(f->tape, "kafka/seq/EURUSD/A"), 12);
    assert_int_equal(meta_u64(f->tape, "kafka/seq/EURUSD/B"), 3);
    assert_int_equal(meta_u64(f->tape, "kafka/seq/XAUUSD/A"), 11);
    /* the stream holds each tick once, in order */
    td_tape_iter_t *iter = NULL;
    assert_int_equal(td_tape_iter_new(f->tape, TD_STREAM_INPUT, "EURUSD", 0, &iter, NULL, 0), TD_OK);
    td_event_t ev;
    int64_t want_i[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 21, 22, 23, 30};
    for (size_t k = 0; k < sizeof want_i / sizeof want_i[0]; k++) {
        assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_OK);
        assert_int_equal(ev.time_ms, T0 + want_i[k] * 1000);
        assert_int_equal(ev.offset, k);
    }
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_ERR_END);
    td_tape_iter_destroy(iter);

    /* a new ingest on the same tape starts after what was committed: only the new ones come */
    produce_tick(f, "EURUSD", 12, "A", 12); /* one more resend */
    produce_tick(f, "EURUSD", 13, "A", 13);
    delivered(f);
    ingest = new_ingest(f, true, false);
    ingest_until(ingest, 2);
    td_ingest_stats(ingest, &st);
    assert_int_equal(st.inputs, 1);
    assert_int_equal(st.duplicate_inputs, 1);
    td_ingest_destroy(ingest);
    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_INPUT, "EURUSD"), 17);
}

static void test_outputs_dedup_gap_state(void **state)
{
    fixture_t *f = *state;
    for (uint64_t o = 0; o < 5; o++)
        produce_bar(f, "EURUSD", o);
    for (uint64_t o = 3; o < 7; o++) /* a restarted processor re-produces from its last record */
        produce_bar(f, "EURUSD", o);
    td_kafka_header_t h[2] = {{TD_KAFKA_H_TYPE, "state", 5}, {TD_KAFKA_H_KEY, "proc/EURUSD", 11}};
    char err[512] = "";
    assert_int_equal(td_kafka_produce(f->producer, "out", "EURUSD", "xyz", 3, h, 2, err, sizeof err), TD_OK);
    delivered(f);
    td_ingest_t *ingest = new_ingest(f, false, true);
    ingest_until(ingest, 10);
    td_ingest_stats_t st;
    td_ingest_stats(ingest, &st);
    assert_int_equal(st.outputs, 7);
    assert_int_equal(st.duplicate_outputs, 2);
    assert_int_equal(st.states, 1);
    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_OUTPUT, "EURUSD"), 7);
    td_buf_t val;
    td_buf_init(&val);
    assert_int_equal(td_tape_get_state(f->tape, "proc/EURUSD", &val, NULL, 0), TD_OK);
    assert_memory_equal(val.ptr, "xyz", 3);
    td_buf_fini(&val);
    td_day_range_t range;
    assert_int_equal(td_tape_day_get(f->tape, TD_STREAM_OUTPUT, "EURUSD", 20140505, &range, NULL, 0), TD_OK);
    assert_int_equal(range.count, 7);

    /* a gap (offset 9 after 6) is refused and nothing of that poll is committed */
    produce_bar(f, "EURUSD", 7);
    produce_bar(f, "EURUSD", 9);
    delivered(f);
    td_err_t rc = TD_OK;
    for (int i = 0; i < 100 && rc == TD_OK; i++) {
        uint64_t n = 0;
        rc = td_ingest_poll(ingest, 100, &n, err, sizeof err);
    }
    assert_int_equal(rc, TD_ERR_ORDER);
    assert_non_null(strstr(err, "outputs are missing"));
    td_ingest_destroy(ingest);
    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_OUTPUT, "EURUSD"), 7);
}

static void test_bad_record(void **state)
{
    fixture_t *f = *state;
    char err[512] = "";
    assert_int_equal(td_kafka_produce(f->producer, "in", "EURUSD", "\xff\xff\xff", 3, NULL, 0, err, sizeof err), TD_OK);
    delivered(f);
    td_ingest_t *ingest = new_ingest(f, true, false);
    td_err_t rc = TD_OK;
    for (int i = 0; i < 100 && rc == TD_OK; i++) {
        uint64_t n = 0;
        rc = td_ingest_poll(ingest, 100, &n, err, sizeof err);
    }
    assert_int_equal(rc, TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "kafka in ["));
    td_ingest_destroy(ingest);
    assert_int_equal(td_tape_next_offset(f->tape, TD_STREAM_INPUT, "EURUSD"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_input_dedup_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outputs_dedup_gap_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
