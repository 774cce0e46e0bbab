/* test_fixed.c - core/fixed.c: decimal parsing, rounding, overflow, formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/fixed.h"

static int64_t parse_ok(const char *s, int *rounded)
{
    int64_t v = 0;
    assert_int_equal(td_fx_parse(s, strlen(s), &v, rounded), TD_OK);
    return v;
}

static void test_parse_plain(void **unused)
{
    (void)unused;
    int r;
    assert_int_equal(parse_ok("1.14543", &r), 114543000);
    assert_int_equal(r, 0);
    assert_int_equal(parse_ok("1310.926", &r), INT64_C(131092600000));
    assert_int_equal(parse_ok("-0.5", &r), -50000000);
    assert_int_equal(parse_ok("2", &r), 200000000);
    assert_int_equal(parse_ok(".5", &r), 50000000);
    assert_int_equal(parse_ok("0.00000001", &r), 1);
}

static void test_parse_float_noise(void **unused)
{
    (void)unused;
    int r;
    assert_int_equal(parse_ok("4515.664000000001", &r), INT64_C(451566400000));
    assert_int_equal(r, 1);
    assert_int_equal(parse_ok("1.999999999", &r), 200000000);
    assert_int_equal(r, 1);
    assert_int_equal(parse_ok("-1.000000005", &r), -100000001);
}

static void test_parse_bad(void **unused)
{
    (void)unused;
    int64_t v;
    const char *bad[] = {"", "-", "abc", "1.2.3", "1e5", " 1", "1,5", "0x10", ".", "7.", "-7."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(td_fx_parse(bad[i], strlen(bad[i]), &v, NULL), TD_ERR_PARSE);
    assert_int_equal(td_fx_parse("99999999999", 11, &v, NULL), TD_ERR_OVERFLOW);
}

static void test_arith(void **unused)
{
    (void)unused;
    int64_t v;
    assert_int_equal(td_fx_add(INT64_MAX, 1, &v), TD_ERR_OVERFLOW);
    assert_int_equal(td_fx_sub(INT64_MIN, 1, &v), TD_ERR_OVERFLOW);
    assert_int_equal(td_fx_mul(150000000, 200000000, &v), TD_OK); /* 1.5 * 2 */
    assert_int_equal(v, 300000000);
    assert_int_equal(td_fx_muldiv(10, 1, 4, &v), TD_OK); /* 2.5 -> 3 */
    assert_int_equal(v, 3);
    assert_int_equal(td_fx_muldiv(-10, 1, 4, &v), TD_OK); /* -2.5 -> -3 */
    assert_int_equal(v, -3);
    assert_int_equal(td_fx_mul(INT64_MAX, INT64_MAX, &v), TD_ERR_OVERFLOW);
    assert_int_equal(td_fx_point(5), 1000);
}

static void test_format(void **unused)
{
    (void)unused;
    char buf[64];
    td_fx_format(114543000, 5, buf, sizeof buf);
    assert_string_equal(buf, "1.14543");
    td_fx_format(-725000000, 2, buf, sizeof buf);
    assert_string_equal(buf, "-7.25");
    td_fx_format(200000000, 0, buf, sizeof buf);
    assert_string_equal(buf, "2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain), cmocka_unit_test(test_parse_float_noise),
        cmocka_unit_test(test_parse_bad),   cmocka_unit_test(test_arith),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
