/* test_kafka.c - the Kafka roles of the service (service/kafka.c) on librdkafka's mock cluster:
 * each role starts on a scratch data directory (its clients created, the gateway bound to port 0),
 * writes its startup line, stops on a stop request made before td_service_run, writes its totals and
 * is destroyed without a leak or a double release (the ASan build runs this too). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/mock_cluster.h"
#include "tests/unit/scratch_tape.h"

#include "core/config.h"
#include "service/service.h"

typedef struct role_case {
    td_service_role_t role;
    const char *broker_mode;
    const char *started; /* in the startup line */
    const char *totals;  /* in the totals */
} role_case_t;

static void run_role(const role_case_t *rc)
{
    const char *topics[] = {"tapedeck.input", "tapedeck.output"};
    mock_cluster_t cluster;
    mock_cluster_start(&cluster, 1, 2, topics, 2);
    td_kafka_opts_t kopts = mock_cluster_opts(&cluster, topics[0], topics[1], 2);
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-service-kafka", &tape);
    td_tape_close(tape); /* the service opens it */
    td_config_t *config = td_config_new();
    assert_non_null(config);
    const char *const pairs[][2] = {{"journal.mode", "kafka"},         {"kafka.brokers", kopts.brokers},
                                    {"kafka.partitions", "2"},         {"kafka.fetch_wait_ms", "5"},
                                    {"gateway.listen", "127.0.0.1:0"}, {"gateway.token", "secret"},
                                    {"broker.mode", rc->broker_mode}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
        assert_int_equal(td_config_set(config, pairs[i][0], pairs[i][1], "test", err, sizeof err), TD_OK);
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    assert_non_null(out);
    td_service_opts_t opts = {.config = config, .data_dir = dir, .role = rc->role, .out = out};
    td_service_t *service = NULL;
    assert_int_equal(td_service_new(&opts, &service, err, sizeof err), TD_OK);
    assert_int_equal(td_service_start(service, err, sizeof err), TD_OK);
    td_service_stop(service);
    assert_int_equal(td_service_run(service, err, sizeof err), TD_OK);
    td_service_destroy(service);
    assert_int_equal(fclose(out), 0);
    assert_non_null(strstr(text, rc->started));
    assert_non_null(strstr(text, rc->totals));
    free(text);
    td_config_destroy(config);
    td_tape_opts_t topts = {.sync = TD_SYNC_NONE};
    tape = NULL;
    assert_int_equal(td_tape_open(dir, &topts, &tape, err, sizeof err), TD_OK); /* the service let go of it */
    scratch_tape_remove(dir, tape);
    mock_cluster_stop(&cluster);
}

static void test_archiver(void **unused)
{
    (void)unused;
    run_role(&(role_case_t){TD_SERVICE_ARCHIVER, "paper", "tapedeck run: archiver consuming tapedeck.input and",
                            "tapedeck run: archiver: 0 message(s) consumed"});
}

static void test_processor(void **unused)
{
    (void)unused;
    run_role(&(role_case_t){TD_SERVICE_PROCESSOR, "paper", "tapedeck run: processor consuming tapedeck.input",
                            "tapedeck run: processor: 0 input(s) processed"});
}

static void test_gateway_paper(void **unused)
{
    (void)unused;
    run_role(&(role_case_t){TD_SERVICE_GATEWAY, "paper", "producing to kafka topic tapedeck.input",
                            "tapedeck run: gateway stopped: 0 connection(s)"});
}

/* broker.mode external: the gateway also mirrors both topics and runs the order router. */
static void test_gateway_external(void **unused)
{
    (void)unused;
    run_role(&(role_case_t){TD_SERVICE_GATEWAY, "external", "; order router following the output topic",
                            "tapedeck run: router: 0 order(s) sent"});
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_archiver),
        cmocka_unit_test(test_processor),
        cmocka_unit_test(test_gateway_paper),
        cmocka_unit_test(test_gateway_external),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
