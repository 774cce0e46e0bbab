/* test_router.c - gateway/router.c where it needs no EA session: an intent whose input is not on
 * the tape yet (Kafka mode: the mirrored input topic behind the output topic) waits, and is
 * routed (here: expired, which needs no socket) once that input is there; the pending list of
 * the resend rule (the resends themselves need a session: it_live_crash.sh, it_kafka.sh). */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intent_waits_for_its_input),
        cmocka_unit_test(test_pending_until_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
