/* test_session.c - feed/session.c against a stand-in gateway on a local socket: every line the
 * session sends is a valid EA line (gateway/protocol.h), the sequence numbers run 1, 2, 3, ... with
 * the ticks of two symbols merged in time order and the heartbeats between them; an ORDER the
 * gateway sends is filled at the next tick of its symbol and reported as an EXEC line right after
 * it; two runs send the same lines, byte for byte; and after a WELCOME above its own numbers (no
 * state file), the session numbers its lines after the gateway's. */
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

#include "core/buf.h"
#include "core/digest.h"
#include "core/fixed.h"
#include "feed/session.h"
#include "gateway/protocol.h"

#define T0 INT64_C(1704186000000) /* 2024-01-02 09:00 UTC */
#define N_TICKS 40
#define ORDER_AFTER_SEQ 9 /* the gateway sends its ORDER when this line comes */

typedef struct gateway {
    int listen_fd;
    uint64_t welcome_acked; /* what the WELCOME says the gateway holds */
    uint64_t base;          /* the stand-in's numbers are the map's + base (the feed's renumbering) */
    td_buf_t received;      /* every line, LF-ended, as it came */
    int bad_lines;
} gateway_t;

static void write_all(int fd, const td_buf_t *buf)
{
    size_t off = 0;
    while (off < buf->len) {
        ssize_t n = write(fd, buf->ptr + off, buf->len - off);
        if (n <= 0)
            return;
        off += (size_t)n;
    }
}

/* One connection: WELCOME to the HELLO, an ACK per line, and an ORDER when line ORDER_AFTER_SEQ
 * comes. The ACK of the line before it is held back until then: with a window of 2 the session
 * cannot map the line after ORDER_AFTER_SEQ before the ORDER is read, so the order lands at the
 * same place of the message map on every run. */
static void *gateway_main(void *opaque)
{
    gateway_t *gw = opaque;
    int fd = accept(gw->listen_fd, NULL, NULL);
    char buf[65536];
    size_t have = 0;
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf + have, sizeof buf - have)) > 0) {
        have += (size_t)n;
        char *lf;
        while ((lf = memchr(buf, '\n', have)) != NULL) {
            size_t len = (size_t)(lf - buf);
            td_gw_msg_t msg;
            char err[256];
            td_buf_t reply;
            td_buf_init(&reply);
            td_err_t rc = td_buf_append(&gw->received, buf, len + 1);
            if (rc == TD_OK)
                rc = td_gw_parse_line(buf, len, &msg, err, sizeof err);
            if (rc == TD_OK && msg.verb == TD_GW_HELLO)
                rc = td_gw_format_welcome(&reply, gw->welcome_acked);
            else if (rc == TD_OK) {
                if (msg.seq == gw->base + ORDER_AFTER_SEQ) {
                    td_order_intent_t intent = {.side = TD_SIDE_BUY, .volume = TD_FX_SCALE / 10};
                    strcpy(intent.intent_id, "XAUUSD-1-1");
                    rc = td_gw_format_order(&reply, "XAUUSD", &intent, 2);
                    if (rc == TD_OK) /* the one held back */
                        rc = td_gw_format_ack(&reply, msg.seq - 1);
                }
                if (rc == TD_OK && msg.seq != gw->base + ORDER_AFTER_SEQ - 1)
                    rc = td_gw_format_ack(&reply, msg.seq);
            }
            gw->bad_lines += rc != TD_OK;
            write_all(fd, &reply);
            td_buf_fini(&reply);
            memmove(buf, lf + 1, have - len - 1);
            have -= len + 1;
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static td_symbol_spec_t spec_of(unsigned digits, int64_t contract_size)
{
    td_symbol_spec_t spec = {
        .digits = digits,
        .point = td_fx_point(digits),
        .contract_size = contract_size * TD_FX_SCALE,
        .tick_size = td_fx_point(digits),
        .tick_value = TD_FX_SCALE,
        .volume_step = TD_FX_SCALE / 100,
        .volume_min = TD_FX_SCALE / 100,
        .volume_max = 100 * TD_FX_SCALE,
    };
    return spec;
}

/* One run of a session over two symbols against the stand-in, which WELCOMEs with welcome_acked and
 * expects the lines numbered from welcome_acked + 1 when it is 2 or more; the lines it sent in
 * *received. state_path: the session's (NULL: none). */
static void run_once(td_buf_t *received, uint64_t welcome_acked, const char *state_path)
{
    gateway_t gw = {.listen_fd = socket(AF_INET, SOCK_STREAM, 0),
                    .welcome_acked = welcome_acked,
                    .base = welcome_acked >= 2 ? welcome_acked - 1 : 0};
    td_buf_init(&gw.received);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    assert_true(gw.listen_fd >= 0);
    assert_int_equal(bind(gw.listen_fd, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(gw.listen_fd, 1), 0);
    assert_int_equal(getsockname(gw.listen_fd, (struct sockaddr *)&addr, &alen), 0);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, gateway_main, &gw), 0);

    td_feed_config_t config = {
        .addr = addr,
        .account = "1001",
        .token = "t",
        .terminal = "test",
        .state_path = state_path,
        .retry_s = 2,
        .heartbeat_ms = 10000,
        .window = 2, /* at most 2 lines ahead of the ACKs (see gateway_main) */
        .tf_ms = 60000,
        .broker = {.slippage_points = 1},
    };
    td_feed_session_t *session = NULL;
    assert_int_equal(td_feed_session_new(&config, &session), TD_OK);
    for (int i = 0; i < N_TICKS; i++) { /* XAUUSD (symbol 1) added first, merged by time */
        td_tick_t tick = {.bid = (203000 + i) * TD_FX_SCALE / 100, .ask = (203020 + i) * TD_FX_SCALE / 100};
        assert_int_equal(td_feed_session_add_tick(session, 1, T0 + i * 1500 + 700, &tick), TD_OK);
    }
    for (int i = 0; i < N_TICKS; i++) {
        td_tick_t tick = {.bid = 110000000 + i * 1000, .ask = 110002000 + i * 1000, .flags = 6};
        assert_int_equal(td_feed_session_add_tick(session, 0, T0 + i * 1000, &tick), TD_OK);
    }
    td_symbol_spec_t eurusd = spec_of(5, 100000), xauusd = spec_of(2, 100);
    assert_int_equal(td_feed_session_add_symbol(session, "EURUSD", &eurusd), TD_OK);
    assert_int_equal(td_feed_session_add_symbol(session, "XAUUSD", &xauusd), TD_OK);
    char err[512] = "";
    assert_int_equal(td_feed_session_start(session, err, sizeof err), TD_OK);
    td_err_t rc = td_feed_session_run(session, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("the session failed: %s: %s", td_err_name(rc), err);

    td_feed_stats_t stats;
    td_feed_broker_stats_t bstats;
    td_feed_session_stats(session, &stats, &bstats);
    assert_int_equal(stats.ticks, 2 * N_TICKS);
    assert_int_equal(stats.acked, stats.last_seq);
    assert_int_equal(stats.errors, 0);
    assert_int_equal(stats.orders, 1);
    assert_int_equal(bstats.executed, 1);
    assert_int_equal(bstats.deals, 1);
    td_feed_session_destroy(session);
    assert_int_equal(pthread_join(thread, NULL), 0);
    close(gw.listen_fd);
    assert_int_equal(gw.bad_lines, 0);
    *received = gw.received;
}

/* Parses the next LF-ended line of [*p, end) into msg and moves *p past it; false at the end. */
static bool next_line(const char **p, const char *end, td_gw_msg_t *msg)
{
    if (*p >= end)
        return false;
    const char *lf = memchr(*p, '\n', (size_t)(end - *p));
    assert_non_null(lf);
    char err[256];
    assert_int_equal(td_gw_parse_line(*p, (size_t)(lf - *p), msg, err, sizeof err), TD_OK);
    *p = lf + 1;
    return true;
}

static void test_lines_order_and_fill(void **unused)
{
    (void)unused;
    td_buf_t received;
    run_once(&received, 0, NULL);
    const char *p = (const char *)received.ptr, *end = p + received.len;
    uint64_t seq = 0;
    int64_t last_time = 0;
    int ticks = 0, heartbeats = 0, execs = 0, specs = 0;
    bool order_sent = false, xau_since_order = false;
    td_gw_msg_t msg;
    while (next_line(&p, end, &msg)) {
        assert_int_equal(msg.seq, ++seq); /* 1, 2, 3, ...: one session, nothing resent */
        if (msg.verb == TD_GW_SPEC)
            specs++;
        if (msg.verb == TD_GW_TICK || msg.verb == TD_GW_HEARTBEAT) {
            assert_true(msg.time_ms >= last_time);
            last_time = msg.time_ms;
            ticks += msg.verb == TD_GW_TICK;
            heartbeats += msg.verb == TD_GW_HEARTBEAT;
        }
        if (msg.verb == TD_GW_EXEC) { /* right after the first XAUUSD tick after the order */
            execs++;
            assert_true(order_sent && xau_since_order);
            assert_string_equal(msg.ev.symbol, "XAUUSD");
            assert_string_equal(msg.ev.u.exec.intent_id, "XAUUSD-1-1");
            assert_int_equal(msg.ev.time_ms, last_time);
        }
        if (order_sent && msg.verb == TD_GW_TICK && strcmp(msg.ev.symbol, "XAUUSD") == 0) {
            assert_false(xau_since_order && execs == 0); /* the first XAUUSD tick is followed by the EXEC */
            xau_since_order = true;
        }
        if (msg.seq == ORDER_AFTER_SEQ)
            order_sent = true;
    }
    assert_int_equal(specs, 2);
    assert_int_equal(ticks, 2 * N_TICKS);
    assert_true(heartbeats >= 5); /* every 10 s of a minute of ticks, and the day's end */
    assert_int_equal(execs, 1);
    td_buf_fini(&received);
}

static void test_two_runs_same_lines(void **unused)
{
    (void)unused;
    td_buf_t a, b;
    run_once(&a, 0, NULL);
    run_once(&b, 0, NULL);
    uint8_t da[TD_SHA256_LEN], db[TD_SHA256_LEN];
    td_sha256(a.ptr, a.len, da);
    td_sha256(b.ptr, b.len, db);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(da, db, TD_SHA256_LEN);
    td_buf_fini(&a);
    td_buf_fini(&b);
}

/* A feed with no state file on an account the gateway knows (WELCOME acked=5000: a lost state
 * file, or another day): its lines go as 5001, 5002, ... (before, as 2, 3, ..., each dropped by the
 * gateway as a resend); the state file keeps the numbering for a restart. */
static void test_renumbered_after_welcome(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/td-test-session-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state", dir);
    td_buf_t received;
    run_once(&received, 5000, path);
    const char *p = (const char *)received.ptr, *end = p + received.len;
    uint64_t want = 0, lines = 0;
    td_gw_msg_t msg;
    while (next_line(&p, end, &msg)) {
        if (msg.verb == TD_GW_HELLO)
            assert_int_equal(msg.seq, 1);
        else
            assert_int_equal(msg.seq, want == 0 ? (want = 5001) : ++want); /* 5001, 5002, ...: no gap */
        lines++;
    }
    assert_true(lines > 2 * N_TICKS);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char state[128] = "";
    assert_non_null(fgets(state, sizeof state, f));
    fclose(f);
    assert_non_null(strstr(state, " shift=4999")); /* message 2 went as 5001 */
    td_buf_fini(&received);
    char broker[80];
    snprintf(broker, sizeof broker, "%s.broker", path);
    unlink(broker);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_order_and_fill),
        cmocka_unit_test(test_two_runs_same_lines),
        cmocka_unit_test(test_renumbered_after_welcome),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
