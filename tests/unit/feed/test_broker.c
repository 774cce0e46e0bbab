/* test_broker.c - feed/broker.c: an ORDER filled through the shared fill model (the same deal as
 * processors/fill.c gives for the same order and tick), a repeated intent id refused, also by a
 * broker restarted from its journal (which rebuilds the same fill without counting it twice), and
 * malformed orders and journals refused with detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fixed.h"
#include "feed/broker.h"
#include "processors/fill.h"

#define T0 INT64_C(1704186000000) /* 2024-01-02 09:00 UTC */
#define SLIPPAGE 2
#define COMMISSION (3 * TD_FX_SCALE) /* 3 per lot per side */

static const char order_a[] = "intent=EURUSD-1-1\tsymbol=EURUSD\tside=buy\tvolume=0.10000000\tsl=0.00000\ttp=0.00000";

static td_symbol_spec_t eurusd_spec(void)
{
    td_symbol_spec_t spec = {
        .digits = 5,
        .point = td_fx_point(5),
        .contract_size = 100000 * TD_FX_SCALE,
        .tick_size = td_fx_point(5),
        .tick_value = TD_FX_SCALE,
        .volume_step = TD_FX_SCALE / 100,
        .volume_min = TD_FX_SCALE / 100,
        .volume_max = 100 * TD_FX_SCALE,
    };
    return spec;
}

static td_feed_broker_t *broker_new(void)
{
    td_feed_broker_config_t config = {.slippage_points = SLIPPAGE, .commission_per_lot = COMMISSION};
    td_feed_broker_t *broker = NULL;
    assert_int_equal(td_feed_broker_new(&config, &broker), TD_OK);
    td_symbol_spec_t spec = eurusd_spec();
    assert_int_equal(td_feed_broker_add_symbol(broker, "US500", &spec), TD_OK);
    assert_int_equal(td_feed_broker_add_symbol(broker, "EURUSD", &spec), TD_OK);
    return broker;
}

static td_tick_t tick_at(td_price_t bid)
{
    return (td_tick_t){.bid = bid, .ask = bid + 20 * td_fx_point(5), .flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK};
}

/* A tick of EURUSD (symbol 1); the deals it makes reported as EXEC seq, seq + 1, ...; how many. */
static size_t tick_and_report(td_feed_broker_t *broker, int64_t time_ms, const td_tick_t *tick, uint64_t seq,
                              td_exec_report_t *first)
{
    const td_outbuf_t *fills = NULL;
    assert_int_equal(td_feed_broker_on_tick(broker, 1, time_ms, tick, &fills), TD_OK);
    for (size_t i = 0; i < fills->len; i++) {
        if (i == 0 && first)
            *first = fills->ev[0].u.exec;
        assert_int_equal(td_feed_broker_executed(broker, &fills->ev[i].u.exec, seq + i), TD_OK);
    }
    return fills->len;
}

static void test_fill_through_the_shared_model(void **unused)
{
    (void)unused;
    td_feed_broker_t *broker = broker_new();
    td_tick_t tick = tick_at(110000000);
    assert_int_equal(tick_and_report(broker, T0, &tick, 10, NULL), 0); /* nothing queued: no deal */
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 1, T0), TD_OK);
    td_exec_report_t got;
    tick.bid += td_fx_point(5);
    tick.ask += td_fx_point(5);
    assert_int_equal(tick_and_report(broker, T0 + 500, &tick, 11, &got), 1);

    /* the same order and tick through processors/fill.c directly */
    td_fill_config_t fcfg = {.slippage_points = SLIPPAGE, .commission_per_lot = COMMISSION, .id_base = 0};
    td_fill_t fill;
    td_fill_init(&fill, &fcfg);
    td_order_intent_t intent = {.side = TD_SIDE_BUY, .volume = TD_FX_SCALE / 10};
    strcpy(intent.intent_id, "EURUSD-1-1");
    assert_int_equal(td_fill_submit(&fill, T0, &intent), TD_OK);
    td_symbol_spec_t spec = eurusd_spec();
    td_outbuf_t out;
    td_outbuf_init(&out);
    assert_int_equal(td_fill_on_tick(&fill, &spec, T0 + 500, &tick, 0, &out), TD_OK);
    assert_int_equal(out.len, 1);
    const td_exec_report_t *want = &out.ev[0].u.exec;
    assert_string_equal(got.intent_id, want->intent_id);
    assert_int_equal(got.side, TD_SIDE_BUY);
    assert_int_equal(got.price, want->price);
    assert_int_equal(got.price, tick.ask + SLIPPAGE * td_fx_point(5)); /* bought at the ask, slipped */
    assert_int_equal(got.volume, want->volume);
    assert_int_equal(got.commission, want->commission);
    assert_int_equal(got.status, TD_EXEC_FILLED);
    assert_true(got.deal_id > want->deal_id); /* the broker's ids carry the symbol's base */
    td_outbuf_fini(&out);

    td_feed_broker_stats_t stats;
    td_feed_broker_stats(broker, &stats);
    assert_int_equal(stats.executed, 1);
    assert_int_equal(stats.deals, 1);
    assert_int_equal(stats.exits, 0);
    assert_int_equal(stats.unfilled, 0);
    assert_int_equal(stats.most_executions, 1);
    td_feed_broker_destroy(broker);
}

static void test_repeat_refused(void **unused)
{
    (void)unused;
    td_feed_broker_t *broker = broker_new();
    static const char bad_side[] = "intent=x\tsymbol=EURUSD\tside=up\tvolume=0.1\tsl=0\ttp=0";
    static const char bad_symbol[] = "intent=y\tsymbol=GBPUSD\tside=buy\tvolume=0.1\tsl=0\ttp=0";
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 0, T0), TD_OK);
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 0, T0), TD_OK);
    assert_int_equal(td_feed_broker_order(broker, bad_side, strlen(bad_side), 0, T0), TD_OK);
    assert_int_equal(td_feed_broker_order(broker, bad_symbol, strlen(bad_symbol), 0, T0), TD_OK);
    td_tick_t tick = tick_at(110000000);
    assert_int_equal(tick_and_report(broker, T0 + 100, &tick, 5, NULL), 1); /* one deal, not two */
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 1, T0 + 100), TD_OK);
    assert_int_equal(tick_and_report(broker, T0 + 200, &tick, 6, NULL), 0); /* refused after its fill too */
    td_feed_broker_stats_t stats;
    td_feed_broker_stats(broker, &stats);
    assert_int_equal(stats.repeats_refused, 2);
    assert_int_equal(stats.malformed, 2);
    assert_int_equal(stats.executed, 1);
    assert_int_equal(stats.intents, 1);
    assert_int_equal(stats.most_executions, 1);
    td_feed_broker_destroy(broker);
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = 0;
    for (int c; (c = fgetc(f)) != EOF;)
        n += c == '\n';
    fclose(f);
    return n;
}

static void test_repeat_refused_after_restart(void **unused)
{
    (void)unused;
    char dir[] = "/tmp/td_test_broker_XXXXXX", path[64], err[512] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.broker", dir);
    td_tick_t tick = tick_at(110000000);
    td_exec_report_t first, again;

    /* the first run: the order arrives before tick 3, fills at it as EXEC 40 */
    td_feed_broker_t *broker = broker_new();
    assert_int_equal(td_feed_broker_open_journal(broker, path, 10, err, sizeof err), TD_OK);
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 3, T0), TD_OK);
    assert_int_equal(tick_and_report(broker, T0 + 100, &tick, 40, &first), 1);
    td_feed_broker_destroy(broker);
    assert_int_equal(count_lines(path), 2); /* order, exec */

    /* the restart: the id is refused, the journaled order fills again at the same tick, uncounted */
    broker = broker_new();
    assert_int_equal(td_feed_broker_open_journal(broker, path, 10, err, sizeof err), TD_OK);
    td_feed_broker_stats_t stats;
    td_feed_broker_stats(broker, &stats);
    assert_int_equal(stats.journal_orders, 1);
    assert_int_equal(stats.journal_exec_max, 40);
    assert_int_equal(stats.most_executions, 1);
    assert_true(td_feed_broker_replaying(broker));
    assert_int_equal(td_feed_broker_order(broker, order_a, strlen(order_a), 0, T0), TD_OK);
    assert_int_equal(td_feed_broker_replay(broker, 2, T0), TD_OK); /* not its tick: nothing */
    assert_true(td_feed_broker_replaying(broker));
    assert_int_equal(td_feed_broker_replay(broker, 3, T0), TD_OK);
    assert_false(td_feed_broker_replaying(broker));
    assert_int_equal(tick_and_report(broker, T0 + 100, &tick, 40, &again), 1);
    assert_int_equal(again.deal_id, first.deal_id);
    assert_int_equal(again.price, first.price);
    td_feed_broker_stats(broker, &stats);
    assert_int_equal(stats.repeats_refused, 1);
    assert_int_equal(stats.most_executions, 1);
    assert_int_equal(stats.intents, 1);
    td_feed_broker_destroy(broker);
    assert_int_equal(count_lines(path), 2); /* nothing journaled twice */

    /* a torn last line (a crash in the middle of a write) is refused with its place */
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fputs("exec\t41", f);
    fclose(f);
    broker = broker_new();
    assert_int_equal(td_feed_broker_open_journal(broker, path, 10, err, sizeof err), TD_ERR_PARSE);
    assert_non_null(strstr(err, "state.broker:3: expected a whole line"));
    td_feed_broker_destroy(broker);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fill_through_the_shared_model),
        cmocka_unit_test(test_repeat_refused),
        cmocka_unit_test(test_repeat_refused_after_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
