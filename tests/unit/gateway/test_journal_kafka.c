/* test_journal_kafka.c - gateway/journal_kafka.c against librdkafka's mock cluster (in this
 * process): the read time of a burst (td_gw_kafka_read_time) is the precise wall clock at which
 * the burst began, found by the millisecond its events were stamped with, for the last 1024
 * bursts and for no other millisecond; and the asynchronous commit: a burst committed while the
 * broker is down is neither reported durable nor recorded until its messages are delivered, the
 * wake-up fd says when to settle, and settle reports each account's bursts in commit order with the
 * clock state recorded beside them. */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "tests/unit/mock_cluster.h"
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

/* One mock cluster (one broker, the topic in 2 partitions), a scratch tape and the journal on them. */
typedef struct fixture {
    mock_cluster_t cluster;
    td_log_t log;
    char dir[512];
    td_tape_t *tape;
    td_gw_kafka_t *journal;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    char err[512] = "";
    const char *topics[] = {TOPIC};
    mock_cluster_start(&f->cluster, 1, 2, topics, 1);
    td_kafka_opts_t opts = mock_cluster_opts(&f->cluster, TOPIC, TOPIC, 2);
    opts.linger_ms = 5;
    /* one request in flight: the mock keeps no order across a failed request (kafka.max_in_flight) */
    opts.max_in_flight = 1;
    td_log_init(&f->log, stderr, TD_LOG_ERROR, 0);
    scratch_tape_open(f->dir, sizeof f->dir, "test-journal-kafka", &f->tape);
    assert_int_equal(td_gw_kafka_new(&opts, f->tape, &f->log, &f->journal, err, sizeof err), TD_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    td_gw_kafka_destroy(f->journal);
    scratch_tape_remove(f->dir, f->tape);
    mock_cluster_stop(&f->cluster);
    free(f);
    return 0;
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
    fixture_t *f = *state;
    td_gw_kafka_t *journal = f->journal;
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

}

/* What settle reported, in order. */
typedef struct reports {
    size_t n;
    char account[8][32];
    uint64_t acked[8];
} reports_t;

static void on_durable(void *ctx, const char *account, uint64_t acked)
{
    reports_t *r = ctx;
    assert_true(r->n < 8);
    snprintf(r->account[r->n], sizeof r->account[r->n], "%s", account);
    r->acked[r->n++] = acked;
}

/* A burst of n ticks of account from seq on (EURUSD and GBPUSD: both partitions), committed with
 * the clock state `clock` (NULL: none). */
static void burst_of(const td_gw_journal_t *j, const char *account, uint64_t seq, int n, const char *clock)
{
    char err[512] = "";
    for (int k = 0; k < n; k++) {
        td_event_t ev;
        assert_int_equal(td_event_init(&ev, TD_EV_TICK, k % 2 ? "GBPUSD" : "EURUSD", T0 + (int64_t)(seq + k)), TD_OK);
        ev.u.tick.bid = 110000000;
        ev.u.tick.ask = 110001000;
        assert_int_equal(j->append(j->opaque, account, seq + (uint64_t)k, &ev, err, sizeof err), TD_OK);
    }
    td_buf_t state;
    td_buf_init(&state);
    if (clock)
        assert_int_equal(td_buf_append(&state, clock, strlen(clock)), TD_OK);
    assert_int_equal(j->commit(j->opaque, account, seq + (uint64_t)n - 1, clock ? &state : NULL, err, sizeof err),
                     TD_OK);
    td_buf_fini(&state);
}

static uint64_t recorded(const td_gw_journal_t *j, const char *account)
{
    uint64_t acked = 99;
    assert_int_equal(j->acked(j->opaque, account, &acked), TD_OK);
    return acked;
}

static void test_settle(void **state)
{
    fixture_t *f = *state;
    rd_kafka_mock_cluster_t *mc = f->cluster.mc;
    char err[512] = "";
    const td_gw_journal_t *j = td_gw_kafka_journal(f->journal);
    assert_non_null(j->settle);
    assert_true(j->wakeup_fd > 0);

    /* a burst settled by waiting: reported and recorded */
    reports_t r = {0};
    burst_of(j, "1", 1, 3, "clock-a");
    assert_int_equal(j->settle(j->opaque, true, on_durable, &r, err, sizeof err), TD_OK);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.account[0], "1");
    assert_int_equal(r.acked[0], 3);
    assert_int_equal(recorded(j, "1"), 3);
    td_buf_t clock;
    td_buf_init(&clock);
    assert_int_equal(j->clock_state(j->opaque, &clock), TD_OK);
    assert_memory_equal(clock.ptr, "clock-a", 7);

    /* the broker down: commits return at once, nothing is reported or recorded */
    rd_kafka_mock_broker_set_down(mc, 1);
    struct timespec pause = {0, 200000000};
    nanosleep(&pause, NULL);
    r.n = 0;
    burst_of(j, "1", 4, 2, NULL);
    burst_of(j, "2", 1, 4, "clock-b");
    burst_of(j, "1", 6, 1, NULL);
    for (int k = 0; k < 5; k++) {
        nanosleep(&pause, NULL);
        assert_int_equal(j->settle(j->opaque, false, on_durable, &r, err, sizeof err), TD_OK);
    }
    assert_int_equal(r.n, 0);
    assert_int_equal(recorded(j, "1"), 3);
    assert_int_equal(recorded(j, "2"), 0);

    /* back up: the wake-up fd turns readable and settle reports the three bursts in order */
    rd_kafka_mock_broker_set_up(mc, 1);
    for (int k = 0; k < 300 && r.n < 3; k++) {
        struct pollfd pfd = {.fd = j->wakeup_fd, .events = POLLIN};
        int ready = poll(&pfd, 1, 100);
        assert_true(ready >= 0);
        assert_int_equal(j->settle(j->opaque, false, on_durable, &r, err, sizeof err), TD_OK);
    }
    assert_int_equal(r.n, 3);
    assert_string_equal(r.account[0], "1");
    assert_int_equal(r.acked[0], 5);
    assert_string_equal(r.account[1], "2");
    assert_int_equal(r.acked[1], 4);
    assert_string_equal(r.account[2], "1");
    assert_int_equal(r.acked[2], 6);
    assert_int_equal(recorded(j, "1"), 6);
    assert_int_equal(recorded(j, "2"), 4);
    assert_int_equal(j->clock_state(j->opaque, &clock), TD_OK);
    assert_memory_equal(clock.ptr, "clock-b", 7);
    /* nothing left: a settle reports nothing more */
    assert_int_equal(j->settle(j->opaque, true, on_durable, &r, err, sizeof err), TD_OK);
    assert_int_equal(r.n, 3);

    td_buf_fini(&clock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settle, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
