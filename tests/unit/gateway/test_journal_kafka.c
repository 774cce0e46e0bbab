/* test_journal_kafka.c - gateway/journal_kafka.c against librdkafka's mock cluster (in this
 * process): the read time of a burst (td_gw_kafka_read_time) is the precise wall clock at which
 * the burst began, found by the millisecond its events were stamped with, for the last 1024
 * bursts and for no other millisecond. */
#define _XOPEN_SOURCE 700
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "tests/unit/scratch_tape.h"

#include "gateway/journal_kafka.h"

#define TOPIC "t.in"
#define T0 1399248000000LL /* 2014-05-05 00:00 UTC */

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends one tick as the EA's seq and commits it: one burst. *ingest_ms = its stamp. */
static void one_burst(const td_gw_journal_t *j, uint64_t seq, int64_t *ingest_ms)
{
    char err[512] = "";
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "EURUSD", T0 + (int64_t)seq), TD_OK);
    ev.u.tick.bid = 110000000;
    ev.u.tick.ask = 110001000;
    assert_int_equal(j->append(j->opaque, "1", seq, &ev, err, sizeof err), TD_OK);
    *ingest_ms = ev.ingest_ms;
    assert_int_equal(j->commit(j->opaque, "1", seq, NULL, err, sizeof err), TD_OK);
}

static void test_read_time(void **state)
{
    (void)state;
    char err[512] = "", dir[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(rk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, TOPIC, 2, 1), 0);
    td_kafka_opts_t opts = {.brokers = rd_kafka_mock_cluster_bootstraps(mc),
                            .input_topic = TOPIC,
                            .output_topic = TOPIC,
                            .partitions = 2,
                            .linger_ms = 5,
                            .delivery_timeout_ms = 60000,
                            .fetch_wait_ms = 5,
                            .client_id = "test"};
    td_log_t log;
    td_log_init(&log, stderr, TD_LOG_ERROR, 0);
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-journal-kafka", &tape);
    td_gw_kafka_t *journal = NULL;
    assert_int_equal(td_gw_kafka_new(&opts, tape, &log, &journal, err, sizeof err), TD_OK);
    const td_gw_journal_t *j = td_gw_kafka_journal(journal);

    /* one burst: its read time lies between the clock before and after it, in its millisecond */
    double before = wall_s();
    int64_t first_ms = 0;
    one_burst(j, 1, &first_ms);
    double after = wall_s();
    double read_s = 0;
    assert_true(td_gw_kafka_read_time(journal, first_ms, &read_s));
    assert_true(read_s >= before && read_s <= after);
    assert_int_equal((int64_t)(read_s * 1000.), first_ms);
    assert_false(td_gw_kafka_read_time(journal, first_ms - 1, &read_s));
    assert_false(td_gw_kafka_read_time(journal, first_ms + 60000, &read_s));

    /* a second burst in the same millisecond keeps the first one's (earlier) time */
    double first_s = 0;
    assert_true(td_gw_kafka_read_time(journal, first_ms, &first_s));
    int64_t ms = 0;
    uint64_t seq = 2;
    one_burst(j, seq++, &ms);
    if (ms == first_ms) {
        assert_true(td_gw_kafka_read_time(journal, ms, &read_s));
        assert_true(read_s == first_s);
    }

    /* 1024 bursts later, each in a millisecond of its own, the first one is forgotten */
    int64_t last_ms = ms;
    for (int n = 0; n < 1024; seq++) {
        one_burst(j, seq, &ms);
        if (ms != last_ms && ms != first_ms)
            n++;
        last_ms = ms;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    assert_false(td_gw_kafka_read_time(journal, first_ms, &read_s));
    assert_true(td_gw_kafka_read_time(journal, last_ms, &read_s));
    assert_int_equal((int64_t)(read_s * 1000.), last_ms);

    td_gw_kafka_destroy(journal);
    scratch_tape_remove(dir, tape);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
