/* test_event.c - core/event.c: the one symbol rule (td_symbol_valid) and td_event_init refusing a
 * symbol that breaks it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/event.h"

static bool valid(const char *s)
{
    return td_symbol_valid(s, strlen(s));
}

static void test_symbol_rule(void **unused)
{
    (void)unused;
    const char *good[] = {"EURUSD", "XAUUSD",  "US500",   "US500.cash", "EURUSD.m", "#AAPL",
                          "GER40!", "XAUUSD+", "BTC-USD", "E_1",        "A",        "1234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    const char *bad[] = {"",
                         ".",
                         "..",
                         "../../escaped",
                         "a/b",
                         "/etc",
                         ".hidden",
                         "-x",
                         "_x",
                         "EUR USD",
                         "EUR\tUSD",
                         "EUR\nUSD",
                         "EUR@M30",
                         "EUR\\USD",
                         "EUR*",
                         "EUR'",
                         "EUR%",
                         "\xc3\xa9",
                         "12345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    /* length-delimited: the bytes after len do not count */
    assert_true(td_symbol_valid("EURUSD/../x", 6));
    assert_false(td_symbol_valid("EURUSD", 0));
}

static void test_event_init_refuses_bad_symbols(void **unused)
{
    (void)unused;
    td_event_t ev;
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "EURUSD", 5), TD_OK);
    assert_string_equal(ev.symbol, "EURUSD");
    assert_int_equal(ev.time_ms, 5);
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "../../escaped", 5), TD_ERR_INVALID);
    assert_int_equal(td_event_init(&ev, TD_EV_TICK, "", 5), TD_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_symbol_rule),
        cmocka_unit_test(test_event_init_refuses_bad_symbols),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
