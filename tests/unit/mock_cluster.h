/* mock_cluster.h - librdkafka's mock cluster inside a unit test's process, and the td_kafka_opts_t
 * that reach it. Header-only: include it after <cmocka.h> in a test file. */
#ifndef TD_TESTS_MOCK_CLUSTER_H
#define TD_TESTS_MOCK_CLUSTER_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "core/kafka.h"

typedef struct mock_cluster {
    rd_kafka_t *rk; /* owns the cluster */
    rd_kafka_mock_cluster_t *mc;
} mock_cluster_t;

/* Starts a cluster of `brokers` brokers with each of the n topics in `partitions` partitions,
 * replicated on every broker; fails the test otherwise. */
static void mock_cluster_start(mock_cluster_t *m, int brokers, int partitions, const char *const *topics, size_t n)
{
    char err[256] = "";
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", err, sizeof err);
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(m->rk);
    m->mc = rd_kafka_mock_cluster_new(m->rk, brokers);
    assert_non_null(m->mc);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rd_kafka_mock_topic_create(m->mc, topics[i], partitions, brokers), 0);
}

/* The options of a client of the cluster: linger 1 ms, fetch wait 5 ms, a 60 s delivery timeout. */
static td_kafka_opts_t mock_cluster_opts(const mock_cluster_t *m, const char *input_topic, const char *output_topic,
                                         uint32_t partitions)
{
    return (td_kafka_opts_t){.brokers = rd_kafka_mock_cluster_bootstraps(m->mc),
                             .input_topic = input_topic,
                             .output_topic = output_topic,
                             .partitions = partitions,
                             .linger_ms = 1,
                             .delivery_timeout_ms = 60000,
                             .fetch_wait_ms = 5,
                             .client_id = "test"};
}

static void mock_cluster_stop(mock_cluster_t *m)
{
    rd_kafka_mock_cluster_destroy(m->mc);
    rd_kafka_destroy(m->rk);
}

#endif
