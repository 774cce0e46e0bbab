/* test_router.c - gateway/router.c where it needs no EA session: an intent whose input is not on
 * the tape yet (Kafka mode: the mirrored input topic behind the output topic) waits, and is
 * routed (here: expired, which needs no socket) once that input is there; the pending list of
 * the resend rule (the resends themselves need a session: it_live_crash.sh, it_kafka.sh). And,
 * over real connections to a server whose hook runs the router, that each intent goes to the
 * session of its symbol's account only (issue 19, defect 2). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/read_line.h"
#include "tests/unit/scratch_tape.h"

#include "core/config.h"
#include "gateway/router.h"

#define T0 1399248000000LL /* 2014-05-05 00:00 UTC */

static int reports;

static td_err_t count_report(void *opaque, const td_event_t *report, uint64_t intent_offset)
{
    (void)opaque;
    assert_int_equal(report->kind, TD_EV_EXEC_REPORT);
    assert_int_equal(report->u.exec.status, TD_EXEC_EXPIRED);
    assert_int_equal(intent_offset, 0);
    reports++;
    return TD_OK;
}

static void test_intent_waits_for_its_input(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-router", &tape);
    td_config_t *config = td_config_new();
    td_router_t *router = NULL;
    assert_int_equal(td_router_new(config, 1, NULL, &router), TD_OK);
    td_router_set_report_fn(router, count_report, NULL);

    /* the intent (caused by input offset 0) is on the tape, its input is not */
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_ORDER_INTENT, "EURUSD", T0), TD_OK);
    snprintf(ev.u.intent.intent_id, sizeof ev.u.intent.intent_id, "i-1");
    ev.u.intent.side = TD_SIDE_BUY;
    ev.u.intent.volume = 10000000;
    ev.input_offset = 0;
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_OUTPUT, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
    uint64_t expired = 0;
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(reports, 0);

    /* the input arrives (long ago: the intent is expired by now, max age 1 ms) */
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "EURUSD", T0), TD_OK);
    ev.u.tick.bid = 110000000;
    ev.u.tick.ask = 110001000;
    ev.ingest_ms = T0;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(reports, 1);
    /* the report went to the hook, not to the tape's input stream */
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 1);
    /* and never twice */
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(reports, 1);

    td_router_destroy(router);
    td_config_destroy(config);
    scratch_tape_remove(dir, tape);
}

static void commit_event(td_tape_t *tape, td_stream_kind_t kind, td_event_t *ev)
{
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_append(batch, kind, ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
}

static void put_meta(td_tape_t *tape, const char *key, const char *val)
{
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_put_meta(batch, key, val, strlen(val), NULL, 0), TD_OK);
    assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
}

static void assert_pending(td_tape_t *tape, const char *want)
{
    td_buf_t val;
    td_buf_init(&val);
    assert_int_equal(td_tape_get_meta(tape, TD_ROUTER_PENDING_KEY, &val, NULL, 0), TD_OK);
    assert_int_equal(val.len, strlen(want));
    assert_memory_equal(val.ptr, want, val.len);
    td_buf_fini(&val);
}

static void append_report(td_tape_t *tape, int64_t t, const char *source, const char *intent_id)
{
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_EXEC_REPORT, "EURUSD", t), TD_OK);
    snprintf(ev.source, sizeof ev.source, "%s", source);
    snprintf(ev.u.exec.intent_id, sizeof ev.u.exec.intent_id, "%s", intent_id);
    ev.u.exec.side = TD_SIDE_BUY;
    ev.u.exec.status = TD_EXEC_REJECTED;
    commit_event(tape, TD_STREAM_INPUT, &ev);
}

/* The resend rule's bookkeeping (router.h): an intent recorded as sent stays in router/pending
 * until an ExecutionReport of the EA with its id is on the input stream - the router's own
 * expiry reports and other ids do not count - and then leaves it (committed by a timer call,
 * read back by a restarted router); a router/pending it cannot read stops the router. Without
 * a session nothing is resent or expired. */
static void test_pending_until_reported(void **state)
{
    (void)state;
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-router", &tape);
    td_config_t *config = td_config_new();

    /* a tick (input 0), the intent it caused (output 0), recorded as sent and pending */
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "EURUSD", T0), TD_OK);
    ev.u.tick.bid = 110000000;
    ev.u.tick.ask = 110001000;
    ev.ingest_ms = T0;
    commit_event(tape, TD_STREAM_INPUT, &ev);
    assert_int_equal(td_event_init(&ev, TD_EV_ORDER_INTENT, "EURUSD", T0), TD_OK);
    snprintf(ev.u.intent.intent_id, sizeof ev.u.intent.intent_id, "EURUSD-0-1");
    ev.u.intent.side = TD_SIDE_BUY;
    ev.u.intent.volume = 10000000;
    ev.input_offset = 0;
    commit_event(tape, TD_STREAM_OUTPUT, &ev);
    put_meta(tape, "router/sent/EURUSD-0-1", "sent");
    put_meta(tape, "router/next/EURUSD", "1");
    const char *one = "EURUSD\t0\t0\tEURUSD-0-1\n";
    put_meta(tape, TD_ROUTER_PENDING_KEY, one);

    td_router_t *router = NULL;
    uint64_t expired = 0;
    assert_int_equal(td_router_new(config, 1, NULL, &router), TD_OK);
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_int_equal(expired, 0); /* old, but no session: neither resent nor expired */
    assert_pending(tape, one);
    append_report(tape, T0 + 1000, "router", "EURUSD-0-1"); /* the router's own: not an answer */
    append_report(tape, T0 + 2000, "mt5", "EURUSD-9-1");    /* another intent's */
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_pending(tape, one);
    append_report(tape, T0 + 3000, "mt5", "EURUSD-0-1"); /* the EA's answer */
    assert_int_equal(td_router_run(router, tape, NULL, 0.5, &expired, err, sizeof err), TD_OK);
    assert_pending(tape, one); /* not committed right after a burst */
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_pending(tape, "");
    td_router_destroy(router);

    /* a restarted router: nothing pending; an unreadable list stops it */
    assert_int_equal(td_router_new(config, 1, NULL, &router), TD_OK);
    assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_OK);
    assert_pending(tape, "");
    td_router_destroy(router);
    const char *bad[] = {"EURUSD\t0\t0\n", "EURUSD\tx\t0\tid\n", "\t0\t0\tid\n", "EURUSD\t0\t0\tid"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_meta(tape, TD_ROUTER_PENDING_KEY, bad[i]);
        assert_int_equal(td_router_new(config, 1, NULL, &router), TD_OK);
        assert_int_equal(td_router_run(router, tape, NULL, 0, &expired, err, sizeof err), TD_ERR_CORRUPT);
        td_router_destroy(router);
    }

    td_config_destroy(config);
    scratch_tape_remove(dir, tape);
}

/* ---- addressing, over real sessions ---- */

typedef struct routed {
    td_gw_server_t *server;
    td_router_t *router;
    td_tape_t *tape;
    atomic_bool stop;
    td_err_t rc;
    char dir[512];
    int wake[2];
    pthread_t thread;
    struct sockaddr_in sa; /* the server's address */
} routed_t;

/* The server's hook: route, as tapedeck run's does; stops the loop when the test says so. */
static td_err_t route_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    routed_t *r = opaque;
    if (atomic_load(&r->stop))
        return td_err_set(errbuf, errlen, TD_ERR_END, "stopped by the test");
    uint64_t expired = 0;
    return td_router_run(r->router, r->tape, r->server, burst_start, &expired, errbuf, errlen);
}

static void *serve(void *arg)
{
    routed_t *r = arg;
    char err[512];
    r->rc = td_gw_server_run(r->server, err, sizeof err);
    return NULL;
}

/* Connects as account and reads up to its WELCOME; the ORDER lines before it (the orders that
 * waited for this session) are joined into orders as "SYMBOL;". */
static int open_session(const struct sockaddr_in *sa, const char *account, char *orders, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); /* a test that would hang fails instead */
    assert_int_equal(connect(fd, (const struct sockaddr *)sa, sizeof *sa), 0);
    char line[512];
    int n = snprintf(line, sizeof line, "HELLO\t1\tversion=1\taccount=%s\tterminal=test\ttoken=t\n", account);
    assert_int_equal(send(fd, line, (size_t)n, MSG_NOSIGNAL), n);
    orders[0] = 0;
    for (;;) {
        assert_true(test_read_line(fd, line, sizeof line));
        if (strncmp(line, "WELCOME", 7) == 0)
            return fd;
        assert_int_equal(strncmp(line, "ORDER\t", 6), 0);
        const char *sym = strstr(line, "symbol=");
        assert_non_null(sym);
        size_t len = strcspn(sym + 7, "\t");
        snprintf(orders + strlen(orders), size - strlen(orders), "%.*s;", (int)len, sym + 7);
    }
}

/* Closes a session and waits until the server has closed its side (so it has seen the close). */
static void close_session(int fd)
{
    char line[512];
    shutdown(fd, SHUT_WR);
    while (test_read_line(fd, line, sizeof line))
        ;
    close(fd);
}

/* A tick (input 0, arrived now) and the intent it caused (output 0) of symbol. */
static void tick_and_intent(td_tape_t *tape, const char *symbol, const char *intent_id)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, symbol, T0), TD_OK);
    ev.u.tick.bid = 110000000;
    ev.u.tick.ask = 110001000;
    ev.ingest_ms = (int64_t)ts.tv_sec * 1000;
    commit_event(tape, TD_STREAM_INPUT, &ev);
    assert_int_equal(td_event_init(&ev, TD_EV_ORDER_INTENT, symbol, T0), TD_OK);
    snprintf(ev.u.intent.intent_id, sizeof ev.u.intent.intent_id, "%s", intent_id);
    ev.u.intent.side = TD_SIDE_BUY;
    ev.u.intent.volume = 10000000;
    ev.input_offset = 0;
    commit_event(tape, TD_STREAM_OUTPUT, &ev);
}

/* A scratch tape with a tick and the intent it caused for each of symbols, and a server on any free
 * port, on its own thread, whose hook runs a router (max age 10 min) over it with config's
 * accounts. */
static void routed_start(routed_t *r, const td_config_t *config, const char *const symbols[])
{
    char err[512] = "";
    scratch_tape_open(r->dir, sizeof r->dir, "test-router-accounts", &r->tape);
    for (size_t i = 0; symbols[i]; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-0-1", symbols[i]);
        tick_and_intent(r->tape, symbols[i], id);
    }
    assert_int_equal(td_router_new(config, 600000, NULL, &r->router), TD_OK);
    assert_int_equal(pipe2(r->wake, O_NONBLOCK | O_CLOEXEC), 0);
    td_gw_server_opts_t opts = {.listen = "127.0.0.1:0",
                                .token = "t",
                                .max_connections = 4,
                                .max_unauthenticated = 4,
                                .max_line = 512,
                                .auth_timeout_ms = 5000,
                                .idle_timeout_ms = 30000,
                                .max_errors = 10,
                                .hook = route_hook,
                                .hook_opaque = r,
                                .hook_interval_ms = 60000,
                                .hook_wakeup_fd = r->wake[0],
                                .accounts = config};
    assert_int_equal(td_gw_server_new(&opts, r->tape, NULL, &r->server, err, sizeof err), TD_OK);
    char address[64];
    td_gw_server_address(r->server, address, sizeof address);
    r->sa.sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &r->sa.sin_addr), 1);
    r->sa.sin_port = htons((uint16_t)atoi(strchr(address, ':') + 1));
    assert_int_equal(pthread_create(&r->thread, NULL, serve, r), 0);
}

/* Stops the server's loop (through its hook) and joins its thread; the server and the router stay
 * for their stats until routed_free. */
static void routed_stop(routed_t *r)
{
    atomic_store(&r->stop, true);
    assert_int_equal(write(r->wake[1], "1", 1), 1);
    assert_int_equal(pthread_join(r->thread, NULL), 0);
    assert_int_equal(r->rc, TD_ERR_END);
}

static void routed_free(routed_t *r)
{
    td_gw_server_destroy(r->server);
    td_router_destroy(r->router);
    close(r->wake[0]);
    close(r->wake[1]);
    scratch_tape_remove(r->dir, r->tape);
}

/* EURUSD is traded by account A (symbols.EURUSD.account), XAUUSD by B (gateway.account). Each
 * intent reaches only its account's session, whichever other sessions are open; with A gone, a
 * new session of B gets its own pending intent again but not A's; and B's EURUSD tick is refused. */
static void test_orders_go_to_their_symbols_account(void **state)
{
    (void)state;
    char err[512] = "";
    routed_t r = {0};
    td_config_t *config = td_config_new();
    assert_non_null(config);
    assert_int_equal(td_config_set(config, "gateway.account", "B", "test", err, sizeof err), TD_OK);
    assert_int_equal(td_config_set(config, "symbols.EURUSD.account", "A", "test", err, sizeof err), TD_OK);
    routed_start(&r, config, (const char *const[]){"EURUSD", "XAUUSD", NULL});

    char orders[256];
    int a = open_session(&r.sa, "A", orders, sizeof orders);
    assert_string_equal(orders, "EURUSD;"); /* XAUUSD's waits for B */
    int b = open_session(&r.sa, "B", orders, sizeof orders);
    assert_string_equal(orders, "XAUUSD;"); /* and A's EURUSD is not written again */
    close_session(a);
    close_session(b);
    b = open_session(&r.sa, "B", orders, sizeof orders); /* a new session: B's pending intent, not A's */
    assert_string_equal(orders, "XAUUSD;");

    char line[512];
    int n = snprintf(line, sizeof line, "TICK\t2\tsymbol=EURUSD\ttime=%lld\tbid=1.1\task=1.1\n", T0 + 1000);
    assert_int_equal(send(b, line, (size_t)n, MSG_NOSIGNAL), n);
    assert_true(test_read_line(b, line, sizeof line));
    assert_string_equal(line, "ERR\t2\tsymbol: EURUSD is traded by account A, not by this session's account B");
    close_session(b);

    routed_stop(&r);
    assert_int_equal(td_tape_next_offset(r.tape, TD_STREAM_INPUT, "EURUSD"), 1); /* the refused tick is not on it */
    td_gw_stats_t stats;
    td_gw_server_stats(r.server, &stats);
    assert_int_equal(stats.foreign, 1);
    td_router_stats_t rs;
    td_router_stats(r.router, &rs);
    assert_int_equal(rs.sent, 2);
    assert_int_equal(rs.resent, 1);
    routed_free(&r);
    td_config_destroy(config);
}

/* No account configured: the only open session does not get the order (it waits, then expires),
 * and that session's lines of the symbol are accepted (recording only). */
static void test_no_account_no_order(void **state)
{
    (void)state;
    routed_t r = {0};
    td_config_t *config = td_config_new();
    assert_non_null(config);
    routed_start(&r, config, (const char *const[]){"EURUSD", NULL});
    char orders[256], line[512];
    int a = open_session(&r.sa, "A", orders, sizeof orders);
    assert_string_equal(orders, "");
    int n = snprintf(line, sizeof line, "TICK\t2\tsymbol=EURUSD\ttime=%lld\tbid=1.1\task=1.1\n", T0 + 1000);
    assert_int_equal(send(a, line, (size_t)n, MSG_NOSIGNAL), n);
    assert_true(test_read_line(a, line, sizeof line));
    assert_string_equal(line, "ACK\t2"); /* no ORDER ahead of the ACK either */
    close_session(a);
    routed_stop(&r);
    assert_int_equal(td_tape_next_offset(r.tape, TD_STREAM_INPUT, "EURUSD"), 2);
    td_router_stats_t rs;
    td_router_stats(r.router, &rs);
    assert_int_equal(rs.sent, 0);
    routed_free(&r);
    td_config_destroy(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intent_waits_for_its_input),
        cmocka_unit_test(test_pending_until_reported),
        cmocka_unit_test(test_orders_go_to_their_symbols_account),
        cmocka_unit_test(test_no_account_no_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
