/* test_server.c - the pure helpers of gateway/server.c: the line splitter (lines across reads,
 * oversized lines reported once and skipped, stopping), the dedup and gap rules, the account
 * sequence record, the token check, the login throttle's table, the log's rate limit and the
 * listen address; the loop's hook run by its wake-up fd; and, over a real connection, that every
 * ACK follows the tape commit and the hook run of what it acknowledges while the tape writer
 * commits bursts behind the reading, that a gap is refused, and that a reset is refused on a
 * journal. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "core/timeutil.h"
#include "gateway/server.h"

typedef struct collected {
    char text[4096]; /* lines joined by '|', an oversized line as "<big N>" */
    int calls;
    int stop_after; /* 0 = never stop */
} collected_t;

static bool collect(void *opaque, const char *line, size_t len, bool oversized)
{
    collected_t *c = opaque;
    size_t used = strlen(c->text);
    if (oversized)
        snprintf(c->text + used, sizeof c->text - used, "<big %zu>|", len);
    else
        snprintf(c->text + used, sizeof c->text - used, "%.*s|", (int)len, line);
    c->calls++;
    return !(c->stop_after && c->calls >= c->stop_after);
}

static td_err_t feed_str(td_gw_lines_t *lines, const char *s, collected_t *c)
{
    return td_gw_lines_feed(lines, (const uint8_t *)s, strlen(s), collect, c);
}

static void test_lines_across_reads(void **unused)
{
    (void)unused;
    td_gw_lines_t lines;
    td_gw_lines_init(&lines, 16);
    collected_t c = {0};
    assert_int_equal(feed_str(&lines, "ab\ncd", &c), TD_OK);
    assert_string_equal(c.text, "ab|");
    assert_int_equal(feed_str(&lines, "ef", &c), TD_OK);
    assert_int_equal(feed_str(&lines, "\n\nxy\r\n", &c), TD_OK);
    /* the empty line is a line (the parser refuses it); a CR stays for the parser to drop */
    assert_string_equal(c.text, "ab|cdef||xy\r|");
    td_gw_lines_fini(&lines);
}

static void test_lines_one_byte_at_a_time(void **unused)
{
    (void)unused;
    const char *input = "TICK\t1\n\nHEARTBEAT\t2\n";
    td_gw_lines_t lines;
    td_gw_lines_init(&lines, 64);
    collected_t c = {0};
    for (const char *p = input; *p; p++)
        assert_int_equal(td_gw_lines_feed(&lines, (const uint8_t *)p, 1, collect, &c), TD_OK);
    assert_string_equal(c.text, "TICK\t1||HEARTBEAT\t2|");
    td_gw_lines_fini(&lines);
}

static void test_lines_limit(void **unused)
{
    (void)unused;
    td_gw_lines_t lines;
    td_gw_lines_init(&lines, 8); /* 7 bytes and the LF */
    collected_t c = {0};
    assert_int_equal(feed_str(&lines, "1234567\n12345678\nok\n", &c), TD_OK);
    assert_string_equal(c.text, "1234567|<big 8>|ok|");

    /* a line without an end is reported as soon as it is too long, once, and skipped to its LF */
    memset(&c, 0, sizeof c);
    assert_int_equal(feed_str(&lines, "abcd", &c), TD_OK);
    assert_int_equal(c.calls, 0);
    assert_int_equal(feed_str(&lines, "efgh", &c), TD_OK);
    assert_string_equal(c.text, "<big 8>|");
    assert_int_equal(feed_str(&lines, "ijklmnopqrstuvwxyz", &c), TD_OK);
    assert_int_equal(feed_str(&lines, "more\nnext\n", &c), TD_OK);
    assert_string_equal(c.text, "<big 8>|next|");
    td_gw_lines_fini(&lines);
}

static void test_lines_stop(void **unused)
{
    (void)unused;
    td_gw_lines_t lines;
    td_gw_lines_init(&lines, 64);
    collected_t c = {.stop_after = 2};
    assert_int_equal(feed_str(&lines, "a\nb\nc\nd\n", &c), TD_ERR_END);
    assert_string_equal(c.text, "a|b|");
    td_gw_lines_fini(&lines);
}

static void test_dedup_rule(void **unused)
{
    (void)unused;
    assert_true(td_gw_seq_is_duplicate(1, 5));
    assert_true(td_gw_seq_is_duplicate(5, 5));
    assert_false(td_gw_seq_is_duplicate(6, 5));
    assert_false(td_gw_seq_is_duplicate(1, 0));
}

/* The gap rule: only the expected number is taken; anything above it, or between the appended and
 * the expected (a line the session refused), is a gap; nothing is next once acked is UINT64_MAX. */
static void test_seq_rule(void **unused)
{
    (void)unused;
    assert_int_equal(td_gw_seq_check(1, 0, 1), TD_GW_SEQ_NEXT);
    assert_int_equal(td_gw_seq_check(3, 2, 3), TD_GW_SEQ_NEXT);
    assert_int_equal(td_gw_seq_check(2, 2, 3), TD_GW_SEQ_DUPLICATE);
    assert_int_equal(td_gw_seq_check(1, 2, 3), TD_GW_SEQ_DUPLICATE);
    assert_int_equal(td_gw_seq_check(1000, 2, 3), TD_GW_SEQ_GAP);
    assert_int_equal(td_gw_seq_check(UINT64_MAX, 2, 3), TD_GW_SEQ_GAP);
    assert_int_equal(td_gw_seq_check(4, 2, 3), TD_GW_SEQ_GAP);
    /* 3 was refused for its content: it took its number, 4 is next and a resent 3 is a gap */
    assert_int_equal(td_gw_seq_check(4, 2, 4), TD_GW_SEQ_NEXT);
    assert_int_equal(td_gw_seq_check(3, 2, 4), TD_GW_SEQ_GAP);
    /* no number is left after UINT64_MAX (next wraps to 0) */
    assert_int_equal(td_gw_seq_check(UINT64_MAX, UINT64_MAX, 0), TD_GW_SEQ_DUPLICATE);
    assert_int_equal(td_gw_seq_check(UINT64_MAX, UINT64_MAX - 1, 0), TD_GW_SEQ_GAP);
}

static void test_acked_record(void **unused)
{
    (void)unused;
    char key[64], val[24];
    assert_int_equal(td_gw_acked_key("51234567", key, sizeof key), TD_OK);
    assert_string_equal(key, "gateway/acked/51234567");
    char small[8];
    assert_int_equal(td_gw_acked_key("51234567", small, sizeof small), TD_ERR_INVALID);

    uint64_t v = 0;
    int n = td_gw_acked_encode(UINT64_MAX, val, sizeof val);
    assert_int_equal(td_gw_acked_decode((const uint8_t *)val, (size_t)n, &v), TD_OK);
    assert_true(v == UINT64_MAX);
    n = td_gw_acked_encode(266221, val, sizeof val);
    assert_string_equal(val, "266221");
    assert_int_equal(td_gw_acked_decode((const uint8_t *)val, (size_t)n, &v), TD_OK);
    assert_int_equal(v, 266221);
    assert_int_equal(td_gw_acked_decode((const uint8_t *)"", 0, &v), TD_ERR_CORRUPT);
    assert_int_equal(td_gw_acked_decode((const uint8_t *)"12a", 3, &v), TD_ERR_CORRUPT);
    assert_int_equal(td_gw_acked_decode((const uint8_t *)"-1", 2, &v), TD_ERR_CORRUPT);
    assert_int_equal(td_gw_acked_decode((const uint8_t *)"18446744073709551616", 20, &v), TD_ERR_CORRUPT);
}

static void test_token(void **unused)
{
    (void)unused;
    assert_true(td_gw_token_equal("s3cret", "s3cret"));
    assert_false(td_gw_token_equal("s3creT", "s3cret"));
    assert_false(td_gw_token_equal("s3cre", "s3cret"));
    assert_false(td_gw_token_equal("", "s3cret"));
    assert_false(td_gw_token_equal("s3cret ", "s3cret"));
}

/* The login throttle: max_failures within the window block an address for the cool-down, failures
 * spread wider than the window do not, a success forgets them, and the fixed table keeps a blocked
 * address blocked however many other addresses fail. */
static void test_throttle(void **unused)
{
    (void)unused;
    td_gw_throttle_t throttle;
    td_gw_throttle_init(&throttle, 3, 10., 60.);
    const uint32_t a = 0x0100007f, b = 0x0200007f;
    assert_false(td_gw_throttle_fail(&throttle, a, 100.));
    assert_false(td_gw_throttle_fail(&throttle, a, 101.));
    assert_true(td_gw_throttle_blocked(&throttle, a, 101.) == 0.);
    assert_true(td_gw_throttle_fail(&throttle, a, 102.)); /* the third within 10 s */
    assert_true(td_gw_throttle_blocked(&throttle, a, 102.) == 60.);
    assert_true(td_gw_throttle_blocked(&throttle, b, 102.) == 0.); /* per address */
    /* failures while blocked neither count nor extend the block */
    assert_false(td_gw_throttle_fail(&throttle, a, 150.));
    assert_true(td_gw_throttle_blocked(&throttle, a, 161.) == 1.);
    assert_true(td_gw_throttle_blocked(&throttle, a, 162.) == 0.);

    /* three failures further apart than the window: no block */
    assert_false(td_gw_throttle_fail(&throttle, b, 200.));
    assert_false(td_gw_throttle_fail(&throttle, b, 205.));
    assert_false(td_gw_throttle_fail(&throttle, b, 211.)); /* a new window began at 211 */
    assert_false(td_gw_throttle_fail(&throttle, b, 212.));
    assert_true(td_gw_throttle_fail(&throttle, b, 213.));
    /* a success forgets the failures */
    td_gw_throttle_forget(&throttle, b);
    assert_true(td_gw_throttle_blocked(&throttle, b, 214.) == 0.);

    /* 100000 other addresses failing once each: the table stays its size and a keeps its block */
    assert_false(td_gw_throttle_fail(&throttle, a, 300.));
    assert_false(td_gw_throttle_fail(&throttle, a, 300.));
    assert_true(td_gw_throttle_fail(&throttle, a, 300.));
    for (uint32_t i = 0; i < 100000; i++)
        assert_false(td_gw_throttle_fail(&throttle, 0x0a000000 + i, 301. + i * 1e-4));
    assert_true(td_gw_throttle_blocked(&throttle, a, 320.) > 0.);
    size_t blocked = 0;
    for (size_t i = 0; i < TD_GW_THROTTLE_SLOTS; i++)
        blocked += throttle.slots[i].blocked_until > 320.;
    assert_int_equal(blocked, 1);
    assert_true(td_gw_throttle_blocked(&throttle, a, 360.) == 0.);
}

/* The log's rate limit: one line per interval, the next one written carries the count of those
 * held back in between, and nothing is counted twice. */
static void test_rate(void **unused)
{
    (void)unused;
    td_gw_rate_t rate = {0};
    uint64_t suppressed = 99;
    assert_true(td_gw_rate_pass(&rate, 10., 1., &suppressed));
    assert_int_equal(suppressed, 0);
    uint64_t passed = 1, held = 0;
    for (int i = 1; i <= 10000; i++) { /* 10000 lines over 2.5 s */
        if (td_gw_rate_pass(&rate, 10. + i * 2.5e-4, 1., &suppressed)) {
            passed++;
            held += suppressed;
        }
    }
    assert_int_equal(passed, 3); /* at 10, 11 and 12 */
    assert_true(td_gw_rate_pass(&rate, 20., 1., &suppressed));
    held += suppressed;
    assert_int_equal(passed + 1 + held, 10001 + 1);
    assert_false(td_gw_rate_pass(&rate, 20.5, 1., &suppressed));
    assert_int_equal(rate.suppressed, 1);
}

typedef struct hook_calls {
    int calls;
    double burst_start;
} hook_calls_t;

/* A one-connection server on any free port (token "t") whose hook runs on wakeup_fd, not on its
 * timer (60 s); the session's deadlines leave a test's client time to send. */
static td_gw_server_opts_t hook_server_opts(td_err_t (*hook)(void *, double, char *, size_t), void *opaque,
                                            int wakeup_fd)
{
    return (td_gw_server_opts_t){.listen = "127.0.0.1:0",
                                 .token = "t",
                                 .max_connections = 1,
                                 .max_unauthenticated = 1,
                                 .max_line = 256,
                                 .auth_timeout_ms = 5000,
                                 .idle_timeout_ms = 30000,
                                 .max_errors = 1,
                                 .hook = hook,
                                 .hook_opaque = opaque,
                                 .hook_interval_ms = 60000,
                                 .hook_wakeup_fd = wakeup_fd};
}

/* Stops the loop at its first call (an error from the hook stops the server with that code). */
static td_err_t stop_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    hook_calls_t *h = opaque;
    h->calls++;
    h->burst_start = burst_start;
    return td_err_set(errbuf, errlen, TD_ERR_END, "stopped by the test hook");
}

/* A byte on hook_wakeup_fd runs the hook (burst_start 0) long before the hook's 60 s timer. */
static void test_hook_wakeup_fd(void **unused)
{
    (void)unused;
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-server", &tape);
    int fds[2];
    assert_int_equal(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    hook_calls_t h = {.calls = 0, .burst_start = -1};
    td_gw_server_opts_t opts = hook_server_opts(stop_hook, &h, fds[0]);
    td_gw_server_t *server = NULL;
    assert_int_equal(td_gw_server_new(&opts, tape, NULL, &server, err, sizeof err), TD_OK);
    assert_int_equal(write(fds[1], "1", 1), 1);
    double t0 = td_mono_s();
    assert_int_equal(td_gw_server_run(server, err, sizeof err), TD_ERR_END);
    assert_true(td_mono_s() - t0 < 10.0);
    assert_int_equal(h.calls, 1);
    assert_true(h.burst_start == 0);
    char left;
    assert_true(read(fds[0], &left, 1) < 0); /* the server drained the pipe */
    td_gw_server_destroy(server);
    close(fds[0]);
    close(fds[1]);
    scratch_tape_remove(dir, tape);
}

/* The server of test_ack_after_commit_and_hook, on its own thread. */
typedef struct live_server {
    td_gw_server_t *server;
    td_tape_t *tape;
    atomic_uint_fast64_t seen; /* EURUSD's committed ticks when the hook last ran */
    atomic_int hook_calls;
    atomic_bool stop;
    td_err_t rc;
    int fds[2]; /* the hook's wakeup pipe */
    pthread_t thread;
} live_server_t;

static td_err_t watch_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    (void)burst_start;
    live_server_t *ls = opaque;
    uint64_t committed = ls->tape ? td_tape_next_offset(ls->tape, TD_STREAM_INPUT, "EURUSD") : 0; /* NULL: a journal */
    usleep(1000); /* a processor at work: an ACK written before the hook ends would be read by now */
    atomic_store(&ls->seen, committed);
    atomic_fetch_add(&ls->hook_calls, 1);
    if (atomic_load(&ls->stop))
        return td_err_set(errbuf, errlen, TD_ERR_END, "stopped by the test");
    return TD_OK;
}

static void *serve(void *arg)
{
    live_server_t *ls = arg;
    char err[512];
    ls->rc = td_gw_server_run(ls->server, err, sizeof err);
    return NULL;
}

/* td_gw_server_stop asked for before the loop runs is not lost: run returns TD_OK at once, as on SIGTERM. */
static void test_stop_before_run(void **unused)
{
    (void)unused;
    char dir[512], err[512] = "";
    td_tape_t *tape = NULL;
    scratch_tape_open(dir, sizeof dir, "test-server-stop", &tape);
    td_gw_server_opts_t opts = hook_server_opts(NULL, NULL, 0);
    opts.hook_interval_ms = 0;
    td_gw_server_t *server = NULL;
    assert_int_equal(td_gw_server_new(&opts, tape, NULL, &server, err, sizeof err), TD_OK);
    td_gw_server_stop(server);
    assert_int_equal(td_gw_server_run(server, err, sizeof err), TD_OK);
    td_gw_stats_t stats;
    td_gw_server_stats(server, &stats);
    assert_int_equal(stats.connections, 0);
    td_gw_server_destroy(server);
    scratch_tape_remove(dir, tape);
}

/* A connected client socket to server. */
static int connect_to(const td_gw_server_t *server)
{
    char address[64];
    td_gw_server_address(server, address, sizeof address);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr), 1);
    sa.sin_port = htons((uint16_t)atoi(strchr(address, ':') + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* A live server on a scratch tape (named name, its folder in dir) serving on its own thread, its hook
 * watch_hook on the wakeup pipe ls->fds; max_errors as the test needs. */
static void live_start(live_server_t *ls, char *dir, size_t dirlen, const char *name, uint64_t max_errors)
{
    char err[512] = "";
    scratch_tape_open(dir, dirlen, name, &ls->tape);
    assert_int_equal(pipe2(ls->fds, O_NONBLOCK | O_CLOEXEC), 0);
    td_gw_server_opts_t opts = hook_server_opts(watch_hook, ls, ls->fds[0]);
    opts.max_errors = max_errors;
    assert_int_equal(td_gw_server_new(&opts, ls->tape, NULL, &ls->server, err, sizeof err), TD_OK);
    assert_int_equal(pthread_create(&ls->thread, NULL, serve, ls), 0);
}

/* Stops live_start's server through its hook (TD_ERR_END) and waits for its thread; the server and
 * tape stay for the test to look at, then go with live_destroy. */
static void live_stop(live_server_t *ls)
{
    atomic_store(&ls->stop, true);
    assert_int_equal(write(ls->fds[1], "1", 1), 1);
    assert_int_equal(pthread_join(ls->thread, NULL), 0);
    assert_int_equal(ls->rc, TD_ERR_END);
}

static void live_destroy(live_server_t *ls, const char *dir)
{
    td_gw_server_destroy(ls->server);
    close(ls->fds[0]);
    close(ls->fds[1]);
    scratch_tape_remove(dir, ls->tape);
}

/* 20,000 ticks sent without waiting for ACKs, committed in many bursts with the tape writer pipelining them: every
 * ACK the client reads covers only ticks that are on the tape and that the hook has seen. */
static void test_ack_after_commit_and_hook(void **unused)
{
    (void)unused;
    enum { TICKS = 20000 };
    char dir[512];
    live_server_t ls = {0};
    live_start(&ls, dir, sizeof dir, "test-server-acks", 1);
    int fd = connect_to(ls.server);
    td_buf_t out;
    td_buf_init(&out);
    char line[256];
    int n = snprintf(line, sizeof line, "HELLO\t1\tversion=1\taccount=7\tterminal=test\ttoken=t\n");
    assert_int_equal(td_buf_append(&out, line, (size_t)n), TD_OK);
    for (int i = 0; i < TICKS; i++) {
        n = snprintf(line, sizeof line, "TICK\t%d\tsymbol=EURUSD\ttime=%lld\tbid=1.1%04d\task=1.1%04d\n", i + 2,
                     1704186000000LL + i * 100LL, i % 9000, i % 9000 + 2);
        assert_int_equal(td_buf_append(&out, line, (size_t)n), TD_OK);
    }
    /* in 40 pieces a millisecond apart: the server reads them as many bursts */
    size_t sent = 0, piece = out.len / 40 + 1;
    while (sent < out.len) {
        size_t end = sent + piece < out.len ? sent + piece : out.len;
        while (sent < end) {
            ssize_t w = send(fd, out.ptr + sent, end - sent, MSG_NOSIGNAL);
            assert_true(w > 0);
            sent += (size_t)w;
        }
        usleep(1000);
    }
    td_buf_fini(&out);

    assert_true(test_read_line(fd, line, sizeof line));
    assert_non_null(strstr(line, "WELCOME"));
    uint64_t last = 0;
    int acks = 0;
    while (last < TICKS + 1) {
        assert_true(test_read_line(fd, line, sizeof line));
        unsigned long long acked = 0;
        assert_int_equal(sscanf(line, "ACK\t%llu", &acked), 1);
        assert_true(acked > last);
        /* ticks 2..acked are on the tape, and the hook ran over them before this ACK was written */
        assert_true(atomic_load(&ls.seen) >= acked - 1);
        last = acked;
        acks++;
    }
    assert_true(acks > 1); /* several bursts, so several commits were queued */
    close(fd);

    live_stop(&ls);
    assert_int_equal(td_tape_next_offset(ls.tape, TD_STREAM_INPUT, "EURUSD"), TICKS);
    td_gw_stats_t stats;
    td_gw_server_stats(ls.server, &stats);
    assert_int_equal(stats.events, TICKS);
    live_destroy(&ls, dir);
}

/* Over a real connection: 2, then a jump to 1000, then 3. 1000 gets ERR naming the expected
 * number, is not appended and not acknowledged, and does not move the sequence: 3 is taken. */
static void test_gap_refused(void **unused)
{
    (void)unused;
    char dir[512];
    live_server_t ls = {0};
    live_start(&ls, dir, sizeof dir, "test-server-gap", 5);
    int fd = connect_to(ls.server);
    const char *lines = "HELLO\t1\tversion=1\taccount=7\tterminal=test\ttoken=t\n"
                        "TICK\t2\tsymbol=EURUSD\ttime=1704186000000\tbid=1.1\task=1.2\n"
                        "TICK\t1000\tsymbol=EURUSD\ttime=1704186001000\tbid=1.1\task=1.2\n"
                        "TICK\t3\tsymbol=EURUSD\ttime=1704186002000\tbid=1.1\task=1.2\n";
    assert_int_equal(send(fd, lines, strlen(lines), MSG_NOSIGNAL), (ssize_t)strlen(lines));
    char line[256];
    assert_true(test_read_line(fd, line, sizeof line));
    assert_string_equal(line, "WELCOME\tversion=1\tacked=1"); /* the account's first HELLO took 1 */
    bool refused = false;
    unsigned long long acked = 0;
    while (acked < 3) {
        assert_true(test_read_line(fd, line, sizeof line));
        if (strncmp(line, "ERR", 3) == 0) {
            assert_string_equal(line, "ERR\t1000\tseq: expected 3, found 1000");
            refused = true;
            continue;
        }
        assert_int_equal(sscanf(line, "ACK\t%llu", &acked), 1);
        assert_true(acked <= 3);
    }
    assert_true(refused);
    close(fd);

    live_stop(&ls);
    assert_int_equal(td_tape_next_offset(ls.tape, TD_STREAM_INPUT, "EURUSD"), 2);
    td_gw_stats_t stats;
    td_gw_server_stats(ls.server, &stats);
    assert_int_equal(stats.events, 2);
    assert_int_equal(stats.gaps, 1);
    live_destroy(&ls, dir);
}

/* A synchronous journal that holds account 7 at 5 and refuses to be written: a test of what a
 * session does before any line. */
static td_err_t stub_acked(void *opaque, const char *account, uint64_t *acked)
{
    (void)opaque;
    *acked = strcmp(account, "7") == 0 ? 5 : 0;
    return TD_OK;
}

static td_err_t stub_append(void *opaque, const char *account, uint64_t seq, td_event_t *ev, char *errbuf,
                            size_t errlen)
{
    (void)opaque, (void)account, (void)seq, (void)ev;
    return td_err_set(errbuf, errlen, TD_ERR_IO, "the stub journal takes nothing");
}

static td_err_t stub_commit(void *opaque, const char *account, uint64_t acked, const td_buf_t *clock_state,
                            char *errbuf, size_t errlen)
{
    (void)opaque, (void)account, (void)acked, (void)clock_state;
    return td_err_set(errbuf, errlen, TD_ERR_IO, "the stub journal takes nothing");
}

/* HELLO reset=1 on a journal (Kafka's consumers drop numbers they have seen): ERR naming the key
 * and BYE, the account's number untouched; the next plain HELLO is welcomed at it. */
static void test_reset_refused_with_journal(void **unused)
{
    (void)unused;
    char err[512] = "";
    td_gw_journal_t journal = {.acked = stub_acked, .append = stub_append, .commit = stub_commit};
    live_server_t ls = {0};
    assert_int_equal(pipe2(ls.fds, O_NONBLOCK | O_CLOEXEC), 0);
    td_gw_server_opts_t opts = hook_server_opts(watch_hook, &ls, ls.fds[0]);
    opts.journal = &journal;
    assert_int_equal(td_gw_server_new(&opts, NULL, NULL, &ls.server, err, sizeof err), TD_OK);
    assert_int_equal(pthread_create(&ls.thread, NULL, serve, &ls), 0);

    int fd = connect_to(ls.server);
    const char *hello = "HELLO\t1\tversion=1\taccount=7\tterminal=test\ttoken=t\treset=1\n";
    assert_int_equal(send(fd, hello, strlen(hello), MSG_NOSIGNAL), (ssize_t)strlen(hello));
    char line[256];
    assert_true(test_read_line(fd, line, sizeof line));
    assert_non_null(strstr(line, "ERR\t1\treset: expected a gateway on the local tape"));
    assert_true(test_read_line(fd, line, sizeof line));
    assert_string_equal(line, "BYE\tsequence reset refused");
    close(fd);

    fd = connect_to(ls.server); /* the closed connection's slot is free once the server has read its end */
    hello = "HELLO\t1\tversion=1\taccount=7\tterminal=test\ttoken=t\n";
    for (int i = 0; i < 100; i++) {
        assert_int_equal(send(fd, hello, strlen(hello), MSG_NOSIGNAL), (ssize_t)strlen(hello));
        assert_true(test_read_line(fd, line, sizeof line));
        if (strncmp(line, "BYE\ttoo many connections", 25) != 0)
            break;
        close(fd);
        usleep(10000);
        fd = connect_to(ls.server);
    }
    assert_string_equal(line, "WELCOME\tversion=1\tacked=5");
    close(fd);
    live_stop(&ls);
    td_gw_server_destroy(ls.server);
    close(ls.fds[0]);
    close(ls.fds[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_across_reads),
        cmocka_unit_test(test_lines_one_byte_at_a_time),
        cmocka_unit_test(test_lines_limit),
        cmocka_unit_test(test_lines_stop),
        cmocka_unit_test(test_dedup_rule),
        cmocka_unit_test(test_seq_rule),
        cmocka_unit_test(test_acked_record),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_rate),
        cmocka_unit_test(test_hook_wakeup_fd),
        cmocka_unit_test(test_stop_before_run),
        cmocka_unit_test(test_ack_after_commit_and_hook),
        cmocka_unit_test(test_gap_refused),
        cmocka_unit_test(test_reset_refused_with_journal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
