/* test_map.c - feed/map.c: ticks of several symbols merged in time order (then symbol order), the
 * specs first, every message's line a valid EA line; heartbeats at every interval of tick time and
 * at the end of the day; with sync_bars a step that closes a bar sets the barrier, one that does
 * not leaves it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fixed.h"
#include "feed/map.h"
#include "gateway/protocol.h"

#define T0 INT64_C(1704186000000) /* 2024-01-02 09:00 UTC, a whole minute */

typedef struct fixture {
    td_feed_broker_t *broker;
    td_feed_map_t map;
} fixture_t;

static void setup_map(fixture_t *fx, int64_t heartbeat_ms, bool sync_bars)
{
    td_feed_broker_config_t bcfg = {0};
    assert_int_equal(td_feed_broker_new(&bcfg, &fx->broker), TD_OK);
    td_feed_map_init(&fx->map, fx->broker, heartbeat_ms, sync_bars, 60000, 0);
}

static void add_symbol(fixture_t *fx, const char *name)
{
    td_symbol_spec_t spec = {.digits = 5, .point = td_fx_point(5), .contract_size = 100000 * TD_FX_SCALE};
    assert_int_equal(td_feed_map_add_symbol(&fx->map, name, &spec), TD_OK);
    assert_int_equal(td_feed_broker_add_symbol(fx->broker, name, &spec), TD_OK);
}

static void add_tick(fixture_t *fx, uint32_t sym, int64_t time_ms)
{
    td_tick_t tick = {.bid = 110000000, .ask = 110002000, .flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK};
    assert_int_equal(td_feed_map_add_tick(&fx->map, sym, time_ms, &tick), TD_OK);
}

static void teardown_map(fixture_t *fx)
{
    td_feed_map_fini(&fx->map);
    td_feed_broker_destroy(fx->broker);
}

/* Message seq's line, parsed. */
static void line_of(const fixture_t *fx, uint64_t seq, td_gw_msg_t *msg)
{
    td_buf_t line;
    td_buf_init(&line);
    assert_int_equal(td_feed_map_format(&fx->map, seq, &line), TD_OK);
    char err[256];
    if (td_gw_parse_line((const char *)line.ptr, line.len - 1, msg, err, sizeof err) != TD_OK)
        fail_msg("seq %llu: %s", (unsigned long long)seq, err);
    assert_int_equal(msg->seq, seq);
    td_buf_fini(&line);
}

static void test_merge(void **unused)
{
    (void)unused;
    fixture_t fx;
    setup_map(&fx, 0, false);
    add_tick(&fx, 1, T0 + 1000); /* symbol 1's ticks first: the merge orders them */
    add_tick(&fx, 1, T0 + 3000);
    add_tick(&fx, 0, T0 + 2000);
    add_tick(&fx, 0, T0 + 3000);
    add_symbol(&fx, "EURUSD");
    add_symbol(&fx, "GBPUSD");
    td_feed_map_start(&fx.map);
    assert_int_equal(fx.map.first_msg, TD_FEED_SEQ_SPEC + 2);
    while (td_feed_map_more(&fx.map))
        assert_int_equal(td_feed_map_step(&fx.map), TD_OK);
    assert_int_equal(fx.map.last_seq, fx.map.first_msg + 3);
    static const struct {
        td_gw_verb_t verb;
        const char *symbol;
        int64_t time_ms;
    } want[] = {
        {TD_GW_SPEC, "EURUSD", T0 + 1000}, {TD_GW_SPEC, "GBPUSD", T0 + 1000}, {TD_GW_TICK, "GBPUSD", T0 + 1000},
        {TD_GW_TICK, "EURUSD", T0 + 2000}, {TD_GW_TICK, "EURUSD", T0 + 3000}, {TD_GW_TICK, "GBPUSD", T0 + 3000},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        td_gw_msg_t msg;
        line_of(&fx, TD_FEED_SEQ_SPEC + i, &msg);
        assert_int_equal(msg.verb, want[i].verb);
        assert_string_equal(msg.ev.symbol, want[i].symbol);
        assert_int_equal(msg.ev.time_ms, want[i].time_ms);
        assert_int_equal(td_feed_map_time(&fx.map, TD_FEED_SEQ_SPEC + i), want[i].time_ms);
    }
    teardown_map(&fx);
}

static void test_heartbeats_and_barrier(void **unused)
{
    (void)unused;
    fixture_t fx;
    setup_map(&fx, 30000, true);
    add_tick(&fx, 0, T0 + 10000);
    add_tick(&fx, 0, T0 + 50000);
    add_tick(&fx, 0, T0 + 70000); /* the bar T0+60 s.. was opened by the heartbeat at T0+60 s */
    add_symbol(&fx, "EURUSD");
    td_feed_map_start(&fx.map);
    static const struct {
        td_gw_verb_t verb;
        int64_t time_ms;
        bool barrier; /* the step closes a bar */
    } want[] = {
        {TD_GW_TICK, T0 + 10000, false},
        {TD_GW_HEARTBEAT, T0 + 30000, false},
        {TD_GW_TICK, T0 + 50000, false},
        {TD_GW_HEARTBEAT, T0 + 60000, true},
        {TD_GW_TICK, T0 + 70000, false},
        {TD_GW_HEARTBEAT, INT64_C(1704240000000), true}, /* after the last tick: 2024-01-03 00:00, the day's end */
    };
    uint64_t barrier = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(td_feed_map_more(&fx.map));
        assert_int_equal(td_feed_map_step(&fx.map), TD_OK);
        td_gw_msg_t msg;
        line_of(&fx, fx.map.last_seq, &msg);
        assert_int_equal(msg.verb, want[i].verb);
        assert_int_equal(msg.time_ms, want[i].time_ms);
        if (want[i].barrier)
            barrier = fx.map.last_seq;
        assert_int_equal(fx.map.barrier_seq, barrier);
    }
    assert_false(td_feed_map_more(&fx.map));
    teardown_map(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_heartbeats_and_barrier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
