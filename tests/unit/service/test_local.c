/* test_local.c - the service of tapedeck run on the local tape (service/local.c): all roles on a
 * scratch data directory with port 0 - a client says HELLO and is welcomed, a stop request from
 * another thread ends td_service_run cleanly (the client gets BYE, the totals are written); the
 * sink alone over a scratch tape without PostgreSQL returns the environment error after
 * warehouse.give_up_s, or TD_OK when asked to stop while it waits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/scratch_tape.h"

#include "core/config.h"
#include "service/service.h"

typedef struct running {
    td_service_t *service;
    td_err_t rc;
    char err[512];
} running_t;

static void *run_thread(void *opaque)
{
    running_t *running = opaque;
    running->rc = td_service_run(running->service, running->err, sizeof running->err);
    return NULL;
}

static td_config_t *config_with(const char *const pairs[][2], size_t n)
{
    char err[256] = "";
    td_config_t *config = td_config_new();
    assert_non_null(config);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(td_config_set(config, pairs[i][0], pairs[i][1], "test", err, sizeof err), TD_OK);
    return config;
}

/* Reads one line (up to its LF) from fd into buf; false at end of stream. */
static bool read_line(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n + 1 < size) {
        ssize_t r = recv(fd, buf + n, 1, 0);
        if (r <= 0)
            return false;
        if (buf[n++] == '\n')
            break;
    }
    buf[n] = '\0';
    return true;
}

static int connect_to(const char *address)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    const char *colon = strchr(address, ':');
    assert_non_null(colon);
    sa.sin_port = htons((uint16_t)atoi(colon + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void make_dir(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "%s/tmp-%s-XXXXXX", TD_TEST_BINARY_DIR, name);
    assert_non_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    nftw(dir, scratch_tape_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A service of role on dir, started; fails the test otherwise. */
static td_service_t *started(const td_config_t *config, const char *dir, td_service_role_t role)
{
    char err[512] = "";
    td_service_opts_t opts = {.config = config, .data_dir = dir, .role = role};
    td_service_t *service = NULL;
    assert_int_equal(td_service_new(&opts, &service, err, sizeof err), TD_OK);
    assert_int_equal(td_service_start(service, err, sizeof err), TD_OK);
    return service;
}

static void test_all_roles_hello_then_stop(void **unused)
{
    (void)unused;
    char dir[512], data_dir[600], err[512] = "";
    make_dir(dir, sizeof dir, "test-service-local");
    snprintf(data_dir, sizeof data_dir, "%s/var", dir); /* the service creates it */
    const char *const pairs[][2] = {{"gateway.listen", "127.0.0.1:0"}, {"gateway.token", "secret"}};
    td_config_t *config = config_with(pairs, 2);
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    assert_non_null(out);
    td_service_opts_t opts = {.config = config, .data_dir = data_dir, .role = TD_SERVICE_ALL, .out = out};
    running_t running = {0};
    assert_int_equal(td_service_new(&opts, &running.service, err, sizeof err), TD_OK);
    assert_int_equal(td_service_start(running.service, err, sizeof err), TD_OK);
    char address[64];
    td_service_address(running.service, address, sizeof address);
    assert_non_null(strstr(address, "127.0.0.1:"));
    assert_string_not_equal(address, "127.0.0.1:0");
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_thread, &running), 0);

    int fd = connect_to(address);
    const char hello[] = "HELLO\t1\tversion=1\taccount=7\tterminal=test\ttoken=secret\n";
    assert_int_equal(send(fd, hello, sizeof hello - 1, MSG_NOSIGNAL), (ssize_t)(sizeof hello - 1));
    char line[256];
    assert_true(read_line(fd, line, sizeof line));
    assert_non_null(strstr(line, "WELCOME"));

    td_service_stop(running.service);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(running.rc, TD_OK);
    assert_true(read_line(fd, line, sizeof line)); /* the server closed the session politely */
    assert_non_null(strstr(line, "BYE"));
    close(fd);
    td_service_destroy(running.service);
    assert_int_equal(fclose(out), 0);
    /* the startup line names the address; the totals count the one connection and the processor */
    char want[1024];
    snprintf(want, sizeof want, "gateway listening on %s, writing to the local tape in %s", address, data_dir);
    assert_non_null(strstr(text, want));
    assert_non_null(strstr(text, "gateway stopped: 1 connection(s), 0 refused (0 throttled), 0 auth failure(s)"));
    assert_non_null(strstr(text, "tapedeck run: processor: "));
    free(text);
    td_config_destroy(config);
    remove_dir(dir);
}

/* A stop asked for before td_service_run is kept: run returns TD_OK at once. */
static void test_stop_before_run(void **unused)
{
    (void)unused;
    char dir[512], err[512] = "";
    make_dir(dir, sizeof dir, "test-service-early");
    const char *const pairs[][2] = {{"gateway.listen", "127.0.0.1:0"}, {"gateway.token", "secret"}};
    td_config_t *config = config_with(pairs, 2);
    td_service_t *service = started(config, dir, TD_SERVICE_GATEWAY);
    td_service_stop(service);
    assert_int_equal(td_service_run(service, err, sizeof err), TD_OK);
    td_service_destroy(service);
    td_config_destroy(config);
    remove_dir(dir);
}

/* A second service on the same data directory cannot open the tape: the error comes back with its
 * detail, and destroying the half-started service is clean. */
static void test_start_fails_cleanly(void **unused)
{
    (void)unused;
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-service-busy", &tape); /* holds the tape's lock */
    const char *const pairs[][2] = {{"gateway.listen", "127.0.0.1:0"}, {"gateway.token", "secret"}};
    td_config_t *config = config_with(pairs, 2);
    td_service_opts_t opts = {.config = config, .data_dir = dir, .role = TD_SERVICE_ALL};
    td_service_t *service = NULL;
    assert_int_equal(td_service_new(&opts, &service, err, sizeof err), TD_OK);
    assert_int_not_equal(td_service_start(service, err, sizeof err), TD_OK);
    assert_true(err[0] != '\0');
    td_service_destroy(service);
    td_config_destroy(config);
    scratch_tape_remove(dir, tape);
}

/* Puts one parameter set (a row of the warehouse's params table) on the tape's EURUSD input. */
static void append_params(td_tape_t *tape)
{
    td_event_t *ev = calloc(1, sizeof *ev);
    assert_non_null(ev);
    assert_int_equal(td_event_init(ev, TD_EV_PARAMS_CHANGED, "EURUSD", 1704153600000LL), TD_OK);
    snprintf(ev->source, sizeof ev->source, "params");
    snprintf(ev->u.params.strategy, sizeof ev->u.params.strategy, "sma_cross");
    ev->u.params.version = 1;
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
    free(ev);
}

/* A scratch tape with one parameter set, closed: the sink opens it read-only at every pass. */
static void sink_tape(char *dir, size_t size, const char *name)
{
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, size, name, &tape);
    append_params(tape);
    td_tape_close(tape);
}

/* The sink alone over a scratch tape, PostgreSQL unreachable (a closed port): TD_ERR_IO after
 * warehouse.give_up_s, naming it. */
static void test_sink_without_postgres(void **unused)
{
    (void)unused;
    char dir[512], err[512] = "";
    sink_tape(dir, sizeof dir, "test-service-sink");
    const char *const pairs[][2] = {{"warehouse.uri", "postgresql://127.0.0.1:1/none?connect_timeout=2"},
                                    {"warehouse.give_up_s", "1"},
                                    {"warehouse.retry_max_ms", "100"}};
    td_config_t *config = config_with(pairs, 3);
    td_service_t *service = started(config, dir, TD_SERVICE_SINK);
    assert_int_equal(td_service_run(service, err, sizeof err), TD_ERR_IO);
    assert_non_null(strstr(err, "unreachable"));
    td_service_destroy(service);
    td_config_destroy(config);
    remove_dir(dir);
}

/* The same sink, asked to stop while it waits for PostgreSQL (no give-up): TD_OK. */
static void test_sink_stopped_while_waiting(void **unused)
{
    (void)unused;
    char dir[512];
    sink_tape(dir, sizeof dir, "test-service-sink-stop");
    const char *const pairs[][2] = {{"warehouse.uri", "postgresql://127.0.0.1:1/none?connect_timeout=2"},
                                    {"warehouse.retry_max_ms", "100"}};
    td_config_t *config = config_with(pairs, 2);
    running_t running = {.service = started(config, dir, TD_SERVICE_SINK)};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, run_thread, &running), 0);
    usleep(300 * 1000);
    td_service_stop(running.service);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(running.rc, TD_OK);
    td_service_destroy(running.service);
    td_config_destroy(config);
    remove_dir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_roles_hello_then_stop),  cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_start_fails_cleanly),        cmocka_unit_test(test_sink_without_postgres),
        cmocka_unit_test(test_sink_stopped_while_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
