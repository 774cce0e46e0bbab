/* test_kafka.c - core/kafka.c against librdkafka's mock cluster (3 brokers, in this process):
 * our partition hash, a produce/consume round trip with headers, no duplicate and no reordering
 * after injected Produce errors (the idempotent producer's retries), a partition leader down for
 * several seconds then up loses nothing, a wrong partition count is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/mock_cluster.h"

#include "core/kafka.h"
#include "core/timeutil.h"

#define PARTS 4
#define TOPIC "t.in"

typedef struct fixture {
    mock_cluster_t cluster;
    td_kafka_opts_t opts;
    td_log_t log;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    const char *topics[] = {TOPIC};
    mock_cluster_start(&f->cluster, 3, PARTS, topics, 1);
    td_log_init(&f->log, stderr, TD_LOG_ERROR, 0);
    f->opts = mock_cluster_opts(&f->cluster, TOPIC, TOPIC, PARTS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mock_cluster_stop(&f->cluster);
    free(f);
    return 0;
}

static void test_partition_hash(void **state)
{
    (void)state;
    /* FNV-1a 32: "" = 2166136261, "a" = 0xe40c292c; fixed values guard the mapping forever */
    assert_int_equal(td_kafka_partition("", 1000000007u), 2166136261u % 1000000007u);
    assert_int_equal(td_kafka_partition("a", 0xffffffffu), 0xe40c292cu % 0xffffffffu);
    assert_int_equal(td_kafka_partition("EURUSD", 1), 0);
    for (uint32_t n = 1; n < 50; n++)
        assert_true(td_kafka_partition("XAUUSD", n) < n);
}

static char *symbol_of(int i)
{
    static char names[8][8] = {"EURUSD", "XAUUSD", "GBPUSD", "USDJPY", "US500", "DE40", "NZDUSD", "AUDUSD"};
    return names[i % 8];
}

/* Produces n messages "i" (value = decimal i) over 8 symbols, each with headers seq=i. */
static void produce_range(td_kafka_producer_t *producer, int from, int to)
{
    char err[256];
    for (int i = from; i < to; i++) {
        char val[16];
        int len = snprintf(val, sizeof val, "%d", i);
        td_kafka_header_t h[2] = {{TD_KAFKA_H_ACCOUNT, "1001", 4}, {TD_KAFKA_H_SEQ, val, (size_t)len}};
        assert_int_equal(td_kafka_produce(producer, TOPIC, symbol_of(i), val, (size_t)len, h, 2, err, sizeof err),
                         TD_OK);
    }
}

/* Consumes every partition from 0 until `expect` messages came (or 30 s passed); checks that each
 * symbol's messages are exactly its produced ones, in order, once, and on its own partition. */
static void consume_all(fixture_t *f, int expect)
{
    td_kafka_consumer_t *consumer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_consumer_new(&f->opts, &f->log, &consumer, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_consumer_check_topic(consumer, TOPIC, 10000, err, sizeof err), TD_OK);
    td_kafka_tp_t tps[PARTS];
    for (uint32_t p = 0; p < PARTS; p++)
        tps[p] = (td_kafka_tp_t){TOPIC, p, 0};
    assert_int_equal(td_kafka_consumer_assign(consumer, tps, PARTS, err, sizeof err), TD_OK);
    int last[8];
    for (int s = 0; s < 8; s++)
        last[s] = s - 8;
    int got = 0;
    uint64_t next_offset[PARTS] = {0};
    time_t deadline = time(NULL) + 30;
    while (got < expect && time(NULL) < deadline) {
        td_kafka_msg_t msg;
        td_err_t rc = td_kafka_consume(consumer, 100, &msg, err, sizeof err);
        if (rc == TD_ERR_END)
            continue;
        assert_int_equal(rc, TD_OK);
        char val[16] = "";
        memcpy(val, msg.value.ptr, msg.value.len < 15 ? msg.value.len : 15);
        int i = atoi(val);
        char key[16] = "";
        memcpy(key, msg.key.ptr, msg.key.len < 15 ? msg.key.len : 15);
        assert_string_equal(key, symbol_of(i));
        assert_int_equal(msg.partition, td_kafka_partition(key, PARTS));
        assert_int_equal(msg.offset, next_offset[msg.partition]); /* no gap, no going back */
        next_offset[msg.partition]++;
        assert_int_equal(i, last[i % 8] + 8); /* the symbol's next one: no duplicate, no reorder */
        last[i % 8] = i;
        uint64_t seq = 0;
        assert_int_equal(td_kafka_msg_header_u64(&msg, TD_KAFKA_H_SEQ, &seq), TD_OK);
        assert_int_equal(seq, (uint64_t)i);
        td_slice_t acc;
        assert_int_equal(td_kafka_msg_header(&msg, TD_KAFKA_H_ACCOUNT, &acc), TD_OK);
        assert_int_equal(acc.len, 4);
        assert_int_equal(td_kafka_msg_header(&msg, "nope", &acc), TD_ERR_NOT_FOUND);
        td_kafka_msg_release(&msg);
        got++;
    }
    assert_int_equal(got, expect);
    /* and nothing more arrives */
    td_kafka_msg_t msg;
    assert_int_equal(td_kafka_consume(consumer, 500, &msg, err, sizeof err), TD_ERR_END);
    td_kafka_consumer_destroy(consumer);
}

static void test_round_trip(void **state)
{
    fixture_t *f = *state;
    td_kafka_producer_t *producer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_producer_new(&f->opts, &f->log, &producer, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_check_topic(producer, TOPIC, 10000, err, sizeof err), TD_OK);
    produce_range(producer, 0, 2000);
    assert_int_equal(td_kafka_producer_produced(producer), 2000);
    /* served without waiting, the durable mark only grows, up to every message */
    uint64_t durable = 0;
    for (int k = 0; k < 3000 && durable < 2000; k++) {
        td_kafka_producer_poll(producer);
        assert_true(td_kafka_producer_durable(producer) >= durable);
        durable = td_kafka_producer_durable(producer);
        assert_true(durable <= 2000);
        struct timespec pause = {0, 10000000};
        nanosleep(&pause, NULL);
    }
    assert_int_equal(td_kafka_producer_wait(producer, 30000, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_outstanding(producer), 0);
    assert_int_equal(td_kafka_producer_delivered(producer), 2000);
    assert_int_equal(td_kafka_producer_durable(producer), 2000);
    assert_int_equal(td_kafka_producer_failure(producer, err, sizeof err), TD_OK);
    td_kafka_producer_destroy(producer);
    consume_all(f, 2000);
}

/* linger.ms batches; a wait for delivery sends at once: with a 10 s linger, one message is
 * delivered long before the linger would have sent it. */
static void test_wait_overrides_linger(void **state)
{
    fixture_t *f = *state;
    td_kafka_opts_t opts = f->opts;
    opts.linger_ms = 10000;
    td_kafka_producer_t *producer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_producer_new(&opts, &f->log, &producer, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_check_topic(producer, TOPIC, 10000, err, sizeof err), TD_OK);
    double t0 = td_mono_s();
    produce_range(producer, 0, 1);
    assert_int_equal(td_kafka_producer_wait(producer, 30000, err, sizeof err), TD_OK);
    assert_true(td_mono_s() - t0 < 5.0);
    assert_int_equal(td_kafka_producer_delivered(producer), 1);
    td_kafka_producer_destroy(producer);
}

static void test_wrong_partition_count(void **state)
{
    fixture_t *f = *state;
    td_kafka_opts_t opts = f->opts;
    opts.partitions = PARTS + 1;
    td_kafka_producer_t *producer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_producer_new(&opts, &f->log, &producer, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_check_topic(producer, TOPIC, 10000, err, sizeof err), TD_ERR_CONFIG);
    assert_non_null(strstr(err, "kafka.partitions"));
    td_kafka_producer_destroy(producer);
}

static void test_injected_errors_no_duplicates(void **state)
{
    fixture_t *f = *state;
    td_kafka_producer_t *producer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_producer_new(&f->opts, &f->log, &producer, err, sizeof err), TD_OK);
    produce_range(producer, 0, 500);
    assert_int_equal(td_kafka_producer_wait(producer, 30000, err, sizeof err), TD_OK);
    /* the next Produce requests fail with retriable errors; the idempotent producer retries */
    rd_kafka_mock_push_request_errors(f->cluster.mc, 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
                                      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
    produce_range(producer, 500, 1500);
    assert_int_equal(td_kafka_producer_wait(producer, 60000, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_delivered(producer), 1500);
    td_kafka_producer_destroy(producer);
    consume_all(f, 1500);
}

static void test_broker_down_then_up(void **state)
{
    fixture_t *f = *state;
    td_kafka_producer_t *producer = NULL;
    char err[256] = "";
    assert_int_equal(td_kafka_producer_new(&f->opts, &f->log, &producer, err, sizeof err), TD_OK);
    produce_range(producer, 0, 400);
    assert_int_equal(td_kafka_producer_wait(producer, 30000, err, sizeof err), TD_OK);
    /* every broker down: nothing can be delivered while they are */
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_down(f->cluster.mc, b);
    produce_range(producer, 400, 800);
    assert_int_equal(td_kafka_producer_wait(producer, 3000, err, sizeof err), TD_ERR_IO);
    assert_true(td_kafka_producer_outstanding(producer) > 0);
    /* the durable mark stops at the first undelivered message, whatever was delivered after it */
    assert_true(td_kafka_producer_durable(producer) >= 400);
    assert_true(td_kafka_producer_durable(producer) + td_kafka_producer_outstanding(producer) <= 800);
    for (int b = 1; b <= 3; b++)
        rd_kafka_mock_broker_set_up(f->cluster.mc, b);
    produce_range(producer, 800, 1000);
    assert_int_equal(td_kafka_producer_wait(producer, 60000, err, sizeof err), TD_OK);
    assert_int_equal(td_kafka_producer_delivered(producer), 1000);
    assert_int_equal(td_kafka_producer_durable(producer), 1000);
    td_kafka_producer_destroy(producer);
    consume_all(f, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partition_hash),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_overrides_linger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_partition_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_injected_errors_no_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broker_down_then_up, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
