/* test_server.c - the pure helpers of gateway/server.c: the line splitter (lines across reads,
 * oversized lines reported once and skipped, stopping), the dedup rule, the account sequence
 * record, the token check and the listen address; and the loop's hook run by its wake-up fd. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

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

static void test_address(void **unused)
{
    (void)unused;
    struct sockaddr_in a;
    char err[256];
    assert_int_equal(td_gw_parse_address("127.0.0.1:7878", &a, err, sizeof err), TD_OK);
    assert_int_equal(ntohs(a.sin_port), 7878);
    assert_int_equal(ntohl(a.sin_addr.s_addr), 0x7f000001);
    assert_int_equal(td_gw_parse_address("localhost:0", &a, err, sizeof err), TD_OK);
    assert_int_equal(ntohs(a.sin_port), 0);
    assert_int_equal(td_gw_parse_address("0.0.0.0:65535", &a, err, sizeof err), TD_OK);
    assert_int_equal(td_gw_parse_address("127.0.0.1", &a, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "HOST:PORT"));
    assert_int_equal(td_gw_parse_address("127.0.0.1:65536", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_gw_parse_address("127.0.0.1:-1", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_gw_parse_address("127.0.0.1:", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_gw_parse_address("example.com:80", &a, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "IPv4"));
}

typedef struct hook_calls {
    int calls;
    double burst_start;
} hook_calls_t;

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
    td_gw_server_opts_t opts = {.listen = "127.0.0.1:0",
                                .token = "t",
                                .max_connections = 1,
                                .max_line = 256,
                                .auth_timeout_ms = 1000,
                                .idle_timeout_ms = 1000,
                                .max_errors = 1,
                                .hook = stop_hook,
                                .hook_opaque = &h,
                                .hook_interval_ms = 60000,
                                .hook_wakeup_fd = fds[0]};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_across_reads),
        cmocka_unit_test(test_lines_one_byte_at_a_time),
        cmocka_unit_test(test_lines_limit),
        cmocka_unit_test(test_lines_stop),
        cmocka_unit_test(test_dedup_rule),
        cmocka_unit_test(test_acked_record),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_hook_wakeup_fd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
