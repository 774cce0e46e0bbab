/* test_protocol.c - gateway/protocol.c: every EA message parsed, every kind of bad line refused
 * with its own message, and the gateway's lines formatted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gateway/protocol.h"

static void parse_ok(const char *line, td_gw_msg_t *msg)
{
    char err[256] = "";
    td_err_t rc = td_gw_parse_line(line, strlen(line), msg, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("'%s' refused: %s", line, err);
}

static void parse_bad(const char *line, const char *words)
{
    td_gw_msg_t msg;
    char err[256] = "";
    assert_int_equal(td_gw_parse_line(line, strlen(line), &msg, err, sizeof err), TD_ERR_PARSE);
    if (!strstr(err, words))
        fail_msg("'%s': message '%s' lacks '%s'", line, err, words);
}

static void test_hello(void **unused)
{
    (void)unused;
    td_gw_msg_t msg;
    parse_ok("HELLO\t1\tversion=1\taccount=12345\tterminal=MetaTrader 5 demo\ttoken=s3cret", &msg);
    assert_int_equal(msg.verb, TD_GW_HELLO);
    assert_int_equal(msg.seq, 1);
    assert_string_equal(msg.hello.account, "12345");
    assert_string_equal(msg.hello.terminal, "MetaTrader 5 demo");
    assert_string_equal(msg.hello.token, "s3cret");
    assert_false(msg.hello.reset);
    parse_ok("HELLO\t1\tversion=1\taccount=1\tterminal=t\ttoken=x\treset=1", &msg);
    assert_true(msg.hello.reset);
    parse_bad("HELLO\t1\tversion=1\taccount=1\tterminal=t\ttoken=x\treset=2", "reset: expected 0 or 1, found '2'");
    parse_bad("HELLO\t1\tversion=2\taccount=1\tterminal=t\ttoken=x", "version: expected 1");
    parse_bad("HELLO\t1\tversion=1\taccount=1\tterminal=t", "token: expected in HELLO");
}

static void test_tick(void **unused)
{
    (void)unused;
    td_gw_msg_t msg;
    parse_ok("TICK\t42\tsymbol=EURUSD\ttime=1704186000123\tbid=1.10450\task=1.10452\r", &msg);
    assert_int_equal(msg.verb, TD_GW_TICK);
    assert_int_equal(msg.seq, 42);
    assert_int_equal(msg.ev.kind, TD_EV_TICK);
    assert_string_equal(msg.ev.symbol, "EURUSD");
    assert_string_equal(msg.ev.source, "mt5");
    assert_int_equal(msg.ev.time_ms, INT64_C(1704186000123));
    assert_int_equal(msg.ev.u.tick.bid, 110450000);
    assert_int_equal(msg.ev.u.tick.ask, 110452000);
    assert_int_equal(msg.ev.u.tick.flags, TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK);
    parse_ok("TICK\t43\tflags=4\task=1.1\tbid=1.0\ttime=1704186000124\tsymbol=US500\tvolume=3\tlast=1.05", &msg);
    assert_int_equal(msg.ev.u.tick.flags, 4);
    assert_int_equal(msg.ev.u.tick.volume, 300000000);
}

static void test_spec_and_exec(void **unused)
{
    (void)unused;
    td_gw_msg_t msg;
    parse_ok("SPEC\t7\tsymbol=XAUUSD\ttime=1704186000000\tdigits=2\tcontract_size=100\ttick_size=0.01\ttick_value=1"
             "\tswap_long=-12.5\tswap_short=3.1\tswap_mode=points\ttriple_swap_weekday=3\tvolume_step=0.01"
             "\tvolume_min=0.01\tvolume_max=100",
             &msg);
    assert_int_equal(msg.ev.kind, TD_EV_SYMBOL_SPEC);
    assert_int_equal(msg.ev.u.spec.digits, 2);
    assert_int_equal(msg.ev.u.spec.point, 1000000);
    assert_int_equal(msg.ev.u.spec.swap_long, -1250000000);
    assert_int_equal(msg.ev.u.spec.swap_mode, TD_SWAP_POINTS);
    parse_ok("EXEC\t8\tsymbol=XAUUSD\ttime=1704186000500\tintent=XAUUSD-1234-2\tdeal=99\torder=98\tposition=98"
             "\tside=sell\tprice=2031.15\tvolume=0.05\tcommission=-0.35\tswap=0\tprofit=0\tstatus=filled",
             &msg);
    assert_int_equal(msg.ev.kind, TD_EV_EXEC_REPORT);
    assert_string_equal(msg.ev.u.exec.intent_id, "XAUUSD-1234-2");
    assert_int_equal(msg.ev.u.exec.deal_id, 99);
    assert_int_equal(msg.ev.u.exec.side, TD_SIDE_SELL);
    assert_int_equal(msg.ev.u.exec.volume, 5000000);
    assert_int_equal(msg.ev.u.exec.commission, -35000000);
    assert_int_equal(msg.ev.u.exec.status, TD_EXEC_FILLED);
    parse_ok("EXEC\t9\tsymbol=XAUUSD\ttime=1704186000600\tintent=X-1-0\tside=buy\tprice=0\tvolume=0\tstatus=rejected"
             "\treason=market closed",
             &msg);
    assert_string_equal(msg.ev.u.exec.reason, "market closed");
    parse_bad("EXEC\t10\tsymbol=XAUUSD\ttime=1704186000600\tside=buy\tprice=1\tvolume=1\tstatus=filled",
              "deal: expected a deal id");
}

static void test_account_heartbeat(void **unused)
{
    (void)unused;
    td_gw_msg_t msg;
    parse_ok("ACCOUNT\t11\ttime=1704186000000\tbalance=10000.50\tequity=10012.25\tmargin=210\tcurrency=USD", &msg);
    assert_int_equal(msg.account.balance, INT64_C(1000050000000));
    assert_string_equal(msg.account.currency, "USD");
    parse_ok("HEARTBEAT\t12\ttime=1704186001000", &msg);
    assert_int_equal(msg.verb, TD_GW_HEARTBEAT);
    assert_int_equal(msg.time_ms, INT64_C(1704186001000));
}

static void test_bad_lines(void **unused)
{
    (void)unused;
    parse_bad("", "verb: expected HELLO");
    parse_bad("PING\t1", "verb: expected HELLO");
    parse_bad("TICK", "seq: expected a sequence number");
    parse_bad("TICK\t0\tsymbol=E", "seq: expected a sequence number >= 1");
    parse_bad("TICK\t01\tsymbol=E", "seq");
    parse_bad("TICK\t-1\tsymbol=E", "seq");
    parse_bad("TICK\t99999999999999999999999\tsymbol=E", "seq");
    parse_bad("TICK\t1\tsymbol=EURUSD\ttime=1704186000123\tbid=1.1\task=1.0", "bid: expected bid <= ask");
    parse_bad("TICK\t1\tsymbol=EURUSD\ttime=1704186000123\tbid=abc\task=1.0",
              "bid: expected a decimal number, found 'abc'");
    parse_bad("TICK\t1\tsymbol=EURUSD\ttime=1704186000123\tbid=0\task=1.0", "bid: expected a price above 0");
    parse_bad("TICK\t1\tsymbol=EURUSD\ttime=17\tbid=1\task=1", "time: expected UTC milliseconds");
    parse_bad("TICK\t1\tsymbol=EURUSD\tsymbol=GBPUSD\ttime=1704186000123\tbid=1\task=1", "symbol: expected once");
    /* every number within what the fixed-point types hold (issue 19, defect 1) */
    parse_bad("EXEC\t10\tsymbol=XAUUSD\ttime=1704186000600\tdeal=1\tside=buy\tprice=1\tvolume=50000000000"
              "\tstatus=filled",
              "volume: expected lots from 0 to 1000000, found '50000000000'");
    parse_bad("EXEC\t10\tsymbol=XAUUSD\ttime=1704186000600\tdeal=1\tside=buy\tprice=1\tvolume=1"
              "\tcommission=-20000000000\tstatus=filled",
              "commission: expected an amount from -10000000000 to 10000000000");
    parse_bad("EXEC\t10\tsymbol=XAUUSD\ttime=1704186000600\tdeal=1\tside=buy\tprice=20000000\tvolume=1"
              "\tstatus=filled",
              "price: expected a price from 0 to 10000000");
    parse_bad("SPEC\t7\tsymbol=XAUUSD\ttime=1704186000000\tdigits=2\tcontract_size=0\ttick_size=0.01\ttick_value=1"
              "\tswap_long=0\tswap_short=0\tswap_mode=points\ttriple_swap_weekday=3\tvolume_step=0.01\tvolume_min=0.01"
              "\tvolume_max=100",
              "contract_size: expected a contract size above 0 and at most 100000000");
    parse_bad("SPEC\t7\tsymbol=XAUUSD\ttime=1704186000000\tdigits=2\tcontract_size=100\ttick_size=0.01\ttick_value=1"
              "\tswap_long=5000000\tswap_short=0\tswap_mode=points\ttriple_swap_weekday=3\tvolume_step=0.01"
              "\tvolume_min=0.01\tvolume_max=100",
              "swap_long: expected a rate from -1000000 to 1000000");
    parse_bad("ACCOUNT\t3\ttime=1704186000000\tbalance=1e9\tequity=1\tmargin=0\tcurrency=USD", "balance");
    /* the one symbol rule (core/event.h): a symbol names a stream and a folder (issue 19, defect 5) */
    parse_bad("TICK\t1\tsymbol=../../escaped\ttime=1704186000123\tbid=1\task=1",
              "symbol: expected 1-31 characters of A-Z a-z 0-9 . _ - # + !, the first a letter, a digit or #, found "
              "'../../escaped'");
    parse_bad("TICK\t1\tsymbol=EUR USD\ttime=1704186000123\tbid=1\task=1", "symbol: expected 1-31 characters");
    parse_bad("SPEC\t1\tsymbol=.hidden\ttime=1704186000123\tdigits=5", "symbol: expected 1-31 characters");
    parse_bad("TICK\t1\tsymbol=ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456\ttime=1704186000123\tbid=1\task=1",
              "symbol: expected");
    parse_bad("TICK\t1\tsymbol=EURUSD\ttime=1704186000123\tbid=1\task=1\tcolour=red",
              "key: expected a key of TICK, found 'colour'");
    parse_bad("TICK\t1\tsymbol\ttime=1704186000123", "field: expected key=value");
    parse_bad("TICK\t1\tsymbol=\ttime=1704186000123\tbid=1\task=1", "symbol: expected 1-31 characters");
    parse_bad("TICK\t1\ttime=1704186000123\tbid=1\task=1", "symbol: expected in TICK");
    parse_bad("TICK\t1\tsymbol=EUR\xc3\xa9", "line: expected printable ASCII");
    parse_bad("TICK\t1\tsymbol=EUR\x01", "byte 0x01 at column");
    char big[TD_GW_LINE_MAX + 10];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    parse_bad(big, "line: expected at most");
    char many[512] = "HEARTBEAT\t1";
    for (int i = 0; i < 40; i++)
        strcat(many, "\ttime=1");
    parse_bad(many, "expected at most 32 fields");
    parse_bad("EXEC\t1\tsymbol=X\ttime=1704186000123\tside=long\tprice=1\tvolume=1\tstatus=filled\tdeal=1",
              "side: expected buy or sell");
    parse_bad("SPEC\t1\tsymbol=X\ttime=1704186000123\tdigits=9", "digits: expected 0..8");
}

static void test_format(void **unused)
{
    (void)unused;
    td_buf_t out;
    td_buf_init(&out);
    assert_int_equal(td_gw_format_welcome(&out, 41), TD_OK);
    assert_int_equal(td_gw_format_ack(&out, 42), TD_OK);
    assert_int_equal(td_gw_format_err(&out, 43, "bid: expected\ta price\n"), TD_OK);
    td_order_intent_t intent = {.side = TD_SIDE_BUY, .volume = 10000000, .stop_loss = 109950000, .take_profit = 0};
    strcpy(intent.intent_id, "EURUSD-1234-1");
    assert_int_equal(td_gw_format_order(&out, "EURUSD", &intent, 5), TD_OK);
    assert_int_equal(td_gw_format_bye(&out, "bad token"), TD_OK);
    assert_string_equal(td_buf_cstr(&out), "WELCOME\tversion=1\tacked=41\n"
                                           "ACK\t42\n"
                                           "ERR\t43\tbid: expected a price \n"
                                           "ORDER\tintent=EURUSD-1234-1\tsymbol=EURUSD\tside=buy\tvolume=0.10000000"
                                           "\tsl=1.09950\ttp=0.00000\n"
                                           "BYE\tbad token\n");
    td_buf_fini(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),         cmocka_unit_test(test_tick),
        cmocka_unit_test(test_spec_and_exec), cmocka_unit_test(test_account_heartbeat),
        cmocka_unit_test(test_bad_lines),     cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
