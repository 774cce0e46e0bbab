/* test_protocol_roundtrip.c - gateway/protocol.c as a property: a random message of every verb, of
 * both directions, formatted and parsed back, is the same message field by field; and one line of
 * each verb parsed, formatted and parsed again, is the same line. The generator is a splitmix64 with
 * a fixed seed, so a failure names an iteration that fails again on every run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/fixed.h"
#include "gateway/protocol.h"

#define ITERATIONS 4000
#define SEED UINT64_C(0x5eed0f7a9ede0001)

static uint64_t rng_state;

static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* lo..hi, both included */
static int64_t range(int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u64() % (uint64_t)(hi - lo + 1));
}

/* a random u64, often a small one (the edges matter as much as the middle) */
static uint64_t any_u64(void)
{
    switch (next_u64() % 4) {
    case 0: return next_u64() % 10;
    case 1: return UINT64_MAX - next_u64() % 3;
    default: return next_u64();
    }
}

/* A decimal of the scale, lo..hi, a multiple of step (1 = any of the 8 decimals). */
static int64_t decimal(int64_t lo, int64_t hi, int64_t step)
{
    return range(lo / step, hi / step) * step;
}

/* 1..max printable ASCII characters (no TAB: values never hold one) */
static void text(char *dst, size_t min, size_t max)
{
    size_t n = (size_t)range((int64_t)min, (int64_t)max);
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)range(0x20, 0x7e);
    dst[n] = '\0';
}

/* A random symbol under the one rule (core/event.h): a letter, digit or '#' first, then any of
 * the rule's characters. */
static void symbol(char *dst)
{
    static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#";
    static const char rest[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#._-+!";
    size_t n = (size_t)range(1, TD_SYMBOL_MAX);
    dst[0] = first[range(0, (int64_t)sizeof first - 2)];
    for (size_t i = 1; i < n; i++)
        dst[i] = rest[range(0, (int64_t)sizeof rest - 2)];
    dst[n] = '\0';
    assert_true(td_symbol_valid(dst, n));
}

static int64_t any_time(void)
{
    return range(INT64_C(946684800000), INT64_C(7258118399999));
}

#define E8(x) ((int64_t)(x)*TD_FX_SCALE)

/* ---- EA -> gateway ---- */

/* A random EA message as td_gw_parse_line gives it: the fields it derives (event kind, source,
 * both times, the spec's point, the default tick flags) are set as it sets them. */
static void random_msg(td_gw_msg_t *msg)
{
    /* the protocol's bounds (docs/PROTOCOL.md), 1e8-scaled */
    const int64_t lots = E8(1000000), money = E8(10000000000), contract = E8(100000000), rate = E8(1000000);
    memset(msg, 0, sizeof *msg);
    msg->verb = (td_gw_verb_t)range(TD_GW_HELLO, TD_GW_HEARTBEAT);
    msg->seq = 1 + any_u64() % UINT64_MAX;
    msg->time_ms = any_time();
    td_event_t *ev = &msg->ev;
    ev->schema_version = TD_SCHEMA_VERSION;
    memcpy(ev->source, "mt5", 4);
    ev->time_ms = msg->time_ms;
    switch (msg->verb) {
    case TD_GW_HELLO: /* no time */
        msg->time_ms = ev->time_ms = 0;
        msg->hello.version = TD_GW_PROTOCOL_VERSION;
        text(msg->hello.account, 1, sizeof msg->hello.account - 1);
        text(msg->hello.terminal, 1, sizeof msg->hello.terminal - 1);
        text(msg->hello.token, 1, sizeof msg->hello.token - 1);
        msg->hello.reset = next_u64() % 2;
        break;
    case TD_GW_TICK:
        ev->kind = TD_EV_TICK;
        symbol(ev->symbol);
        ev->u.tick.bid = decimal(1, TD_PRICE_MAX, 1);
        ev->u.tick.ask = decimal(ev->u.tick.bid, TD_PRICE_MAX, 1);
        ev->u.tick.last = next_u64() % 2 ? decimal(0, TD_PRICE_MAX, 1) : 0;
        ev->u.tick.volume = next_u64() % 2 ? decimal(0, money, 1) : 0;
        ev->u.tick.flags = next_u64() % 2 ? (uint32_t)range(1, UINT32_MAX) : TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK;
        break;
    case TD_GW_SPEC: {
        td_symbol_spec_t *s = &ev->u.spec;
        ev->kind = TD_EV_SYMBOL_SPEC;
        symbol(ev->symbol);
        s->digits = (uint32_t)range(0, 8);
        s->point = td_fx_point(s->digits);
        s->contract_size = decimal(1, contract, 1);
        s->tick_size = decimal(0, contract, 1);
        s->tick_value = decimal(0, contract, 1);
        s->swap_long = decimal(-rate, rate, 1);
        s->swap_short = decimal(-rate, rate, 1);
        s->swap_mode = (td_swap_mode_t)range(TD_SWAP_DISABLED, TD_SWAP_INTEREST);
        s->triple_swap_weekday = (uint32_t)range(0, 6);
        s->volume_step = decimal(0, lots, 1);
        s->volume_min = decimal(0, lots, 1);
        s->volume_max = decimal(0, lots, 1);
        break;
    }
    case TD_GW_EXEC: {
        td_exec_report_t *x = &ev->u.exec;
        ev->kind = TD_EV_EXEC_REPORT;
        symbol(ev->symbol);
        x->status = (td_exec_status_t)range(TD_EXEC_FILLED, TD_EXEC_CANCELLED);
        bool fill = x->status == TD_EXEC_FILLED || x->status == TD_EXEC_PARTIAL;
        if (next_u64() % 4)
            text(x->intent_id, 1, TD_ID_MAX);
        x->deal_id = fill ? 1 + any_u64() % UINT64_MAX : any_u64();
        x->order_id = any_u64();
        x->position_id = any_u64();
        x->side = (td_side_t)range(TD_SIDE_BUY, TD_SIDE_SELL);
        x->price = decimal(fill ? 1 : 0, TD_PRICE_MAX, 1);
        x->volume = decimal(fill ? 1 : 0, lots, 1);
        x->commission = decimal(-money, money, 1);
        x->swap = decimal(-money, money, 1);
        x->profit = decimal(-money, money, 1);
        if (next_u64() % 2)
            text(x->reason, 1, sizeof x->reason - 1);
        break;
    }
    case TD_GW_ACCOUNT:
        msg->account.balance = decimal(-money, money, 1);
        msg->account.equity = decimal(-money, money, 1);
        msg->account.margin = decimal(-money, money, 1);
        text(msg->account.currency, 1, sizeof msg->account.currency - 1);
        break;
    default: break;
    }
}

static void assert_msg_equal(const td_gw_msg_t *a, const td_gw_msg_t *b)
{
    const td_event_t *x = &a->ev, *y = &b->ev;
    assert_int_equal(a->verb, b->verb);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->time_ms, b->time_ms);
    assert_int_equal(a->hello.version, b->hello.version);
    assert_string_equal(a->hello.account, b->hello.account);
    assert_string_equal(a->hello.terminal, b->hello.terminal);
    assert_string_equal(a->hello.token, b->hello.token);
    assert_int_equal(a->hello.reset, b->hello.reset);
    assert_int_equal(a->account.balance, b->account.balance);
    assert_int_equal(a->account.equity, b->account.equity);
    assert_int_equal(a->account.margin, b->account.margin);
    assert_string_equal(a->account.currency, b->account.currency);
    assert_int_equal(x->kind, y->kind);
    assert_int_equal(x->schema_version, y->schema_version);
    assert_string_equal(x->source, y->source);
    assert_string_equal(x->symbol, y->symbol);
    assert_int_equal(x->time_ms, y->time_ms);
    if (x->kind == TD_EV_TICK) {
        assert_int_equal(x->u.tick.bid, y->u.tick.bid);
        assert_int_equal(x->u.tick.ask, y->u.tick.ask);
        assert_int_equal(x->u.tick.last, y->u.tick.last);
        assert_int_equal(x->u.tick.volume, y->u.tick.volume);
        assert_int_equal(x->u.tick.flags, y->u.tick.flags);
    } else if (x->kind == TD_EV_SYMBOL_SPEC) {
        const td_symbol_spec_t *s = &x->u.spec, *t = &y->u.spec;
        assert_int_equal(s->digits, t->digits);
        assert_int_equal(s->point, t->point);
        assert_int_equal(s->contract_size, t->contract_size);
        assert_int_equal(s->tick_size, t->tick_size);
        assert_int_equal(s->tick_value, t->tick_value);
        assert_int_equal(s->swap_long, t->swap_long);
        assert_int_equal(s->swap_short, t->swap_short);
        assert_int_equal(s->swap_mode, t->swap_mode);
        assert_int_equal(s->triple_swap_weekday, t->triple_swap_weekday);
        assert_int_equal(s->volume_step, t->volume_step);
        assert_int_equal(s->volume_min, t->volume_min);
        assert_int_equal(s->volume_max, t->volume_max);
    } else if (x->kind == TD_EV_EXEC_REPORT) {
        const td_exec_report_t *s = &x->u.exec, *t = &y->u.exec;
        assert_string_equal(s->intent_id, t->intent_id);
        assert_int_equal(s->deal_id, t->deal_id);
        assert_int_equal(s->order_id, t->order_id);
        assert_int_equal(s->position_id, t->position_id);
        assert_int_equal(s->side, t->side);
        assert_int_equal(s->price, t->price);
        assert_int_equal(s->volume, t->volume);
        assert_int_equal(s->commission, t->commission);
        assert_int_equal(s->swap, t->swap);
        assert_int_equal(s->profit, t->profit);
        assert_int_equal(s->status, t->status);
        assert_string_equal(s->reason, t->reason);
    }
}

static void test_ea_messages(void **unused)
{
    (void)unused;
    rng_state = SEED;
    unsigned per_verb[TD_GW_HEARTBEAT + 1] = {0};
    td_buf_t line;
    td_buf_init(&line);
    for (int i = 0; i < ITERATIONS; i++) {
        td_gw_msg_t msg, back;
        random_msg(&msg);
        td_buf_reset(&line);
        assert_int_equal(td_gw_format_msg(&line, &msg), TD_OK);
        assert_true(line.len > 0 && line.ptr[line.len - 1] == '\n');
        char err[256] = "";
        if (td_gw_parse_line((const char *)line.ptr, line.len - 1, &back, err, sizeof err) != TD_OK)
            fail_msg("iteration %d: '%.*s' refused: %s", i, (int)line.len - 1, (const char *)line.ptr, err);
        assert_msg_equal(&msg, &back);
        per_verb[msg.verb]++;
    }
    for (int v = TD_GW_HELLO; v <= TD_GW_HEARTBEAT; v++)
        assert_true(per_verb[v] > ITERATIONS / 12); /* every verb, many times */
    td_buf_fini(&line);
}

/* ---- gateway -> EA ---- */

static void random_reply(td_gw_reply_t *reply, unsigned *digits)
{
    memset(reply, 0, sizeof *reply);
    reply->verb = (td_gw_verb_t)range(TD_GW_WELCOME, TD_GW_BYE);
    *digits = (unsigned)range(0, 8);
    switch (reply->verb) {
    case TD_GW_WELCOME:
        reply->version = TD_GW_PROTOCOL_VERSION;
        reply->acked = any_u64();
        break;
    case TD_GW_ACK: reply->seq = any_u64(); break;
    case TD_GW_ERR:
        reply->seq = any_u64();
        text(reply->text, 0, 300);
        break;
    case TD_GW_ORDER: {
        td_order_intent_t *intent = &reply->intent;
        text(intent->intent_id, 1, TD_ID_MAX);
        symbol(reply->symbol);
        intent->side = (td_side_t)range(TD_SIDE_BUY, TD_SIDE_SELL);
        intent->volume = decimal(0, E8(1000000), 1);
        /* stops are written with the symbol's digits: a whole number of its points */
        intent->stop_loss = next_u64() % 2 ? decimal(0, TD_PRICE_MAX, td_fx_point(*digits)) : 0;
        intent->take_profit = next_u64() % 2 ? decimal(0, TD_PRICE_MAX, td_fx_point(*digits)) : 0;
        break;
    }
    case TD_GW_BYE: text(reply->text, 0, 300); break;
    default: break;
    }
}

static td_err_t format_reply(td_buf_t *out, const td_gw_reply_t *reply, unsigned digits)
{
    switch (reply->verb) {
    case TD_GW_WELCOME: return td_gw_format_welcome(out, reply->acked);
    case TD_GW_ACK: return td_gw_format_ack(out, reply->seq);
    case TD_GW_ERR: return td_gw_format_err(out, reply->seq, reply->text);
    case TD_GW_ORDER: return td_gw_format_order(out, reply->symbol, &reply->intent, digits);
    case TD_GW_BYE: return td_gw_format_bye(out, reply->text);
    default: return TD_ERR_INVALID;
    }
}

static void test_gateway_messages(void **unused)
{
    (void)unused;
    rng_state = SEED ^ 1;
    unsigned per_verb[TD_GW_BYE + 1] = {0};
    td_buf_t line;
    td_buf_init(&line);
    for (int i = 0; i < ITERATIONS; i++) {
        td_gw_reply_t reply, back;
        unsigned digits = 0;
        random_reply(&reply, &digits);
        td_buf_reset(&line);
        assert_int_equal(format_reply(&line, &reply, digits), TD_OK);
        char err[256] = "";
        if (td_gw_parse_reply((const char *)line.ptr, line.len - 1, &back, err, sizeof err) != TD_OK)
            fail_msg("iteration %d: '%.*s' refused: %s", i, (int)line.len - 1, (const char *)line.ptr, err);
        assert_int_equal(back.verb, reply.verb);
        assert_int_equal(back.seq, reply.seq);
        assert_int_equal(back.version, reply.version);
        assert_int_equal(back.acked, reply.acked);
        assert_string_equal(back.symbol, reply.symbol);
        assert_string_equal(back.intent.intent_id, reply.intent.intent_id);
        assert_int_equal(back.intent.side, reply.intent.side);
        assert_int_equal(back.intent.volume, reply.intent.volume);
        assert_int_equal(back.intent.stop_loss, reply.intent.stop_loss);
        assert_int_equal(back.intent.take_profit, reply.intent.take_profit);
        assert_string_equal(back.text, reply.text);
        per_verb[reply.verb]++;
    }
    for (int v = TD_GW_WELCOME; v <= TD_GW_BYE; v++)
        assert_true(per_verb[v] > ITERATIONS / 10);
    td_buf_fini(&line);
}

/* The gateway's lines are outside bytes for the EA: refused as strictly as the EA's, with detail. */
static void test_bad_replies(void **unused)
{
    (void)unused;
    static const struct {
        const char *line, *words;
    } cases[] = {
        {"TICK\t1\tsymbol=EURUSD", "verb: expected WELCOME, ACK, ERR, ORDER or BYE"},
        {"WELCOME\tversion=2\tacked=1", "version: expected 1"},
        {"WELCOME\tversion=1", "acked: expected in WELCOME"},
        {"ACK\t-1", "seq: expected a sequence number"},
        {"ACK\t7\tmore", "expected nothing after the sequence number of ACK"},
        {"ERR\t7", "text: expected one field"},
        {"BYE", "text: expected one field"},
        {"ORDER\tintent=a\tsymbol=EURUSD\tside=up\tvolume=1\tsl=0\ttp=0", "side: expected buy or sell, found 'up'"},
        {"ORDER\tintent=a\tsymbol=EURUSD\tside=buy\tvolume=-1\tsl=0\ttp=0", "volume: expected lots from 0 to 1000000"},
        {"ORDER\tintent=a\tsymbol=EURUSD\tside=buy\tvolume=1\tsl=0", "tp: expected in ORDER"},
        {"ORDER\tintent=a\tintent=b", "intent: expected once, found twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        td_gw_reply_t reply;
        char err[256] = "";
        assert_int_equal(td_gw_parse_reply(cases[i].line, strlen(cases[i].line), &reply, err, sizeof err),
                         TD_ERR_PARSE);
        if (!strstr(err, cases[i].words))
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].line, err, cases[i].words);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ea_messages),
        cmocka_unit_test(test_gateway_messages),
        cmocka_unit_test(test_bad_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
