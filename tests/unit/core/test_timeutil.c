/* test_timeutil.c - core/timeutil.c: civil dates, trading days with offsets, weekdays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/timeutil.h"

static void test_civil(void **unused)
{
    (void)unused;
    assert_int_equal(td_time_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(td_time_ms_from_civil(2019, 2, 4, 0, 0, 0, 994), INT64_C(1549238400994));
    for (int64_t d = -800000; d < 800000; d += 997) {
        int y;
        unsigned m, dd;
        td_time_civil_from_days(d, &y, &m, &dd);
        assert_int_equal(td_time_days_from_civil(y, m, dd), d);
    }
    assert_true(td_time_valid_yyyymmdd(20240229));
    assert_false(td_time_valid_yyyymmdd(20230229));
    assert_false(td_time_valid_yyyymmdd(20231301));
}

static void test_trading_day(void **unused)
{
    (void)unused;
    int64_t t = td_time_ms_from_civil(2019, 2, 4, 16, 59, 59, 999);
    assert_int_equal(td_time_trading_day(t, 0), 20190204);
    assert_int_equal(td_time_trading_day(t, 420), 20190204);
    assert_int_equal(td_time_trading_day(t + 1, 420), 20190205); /* 17:00 UTC rolls with +7h */
    assert_int_equal(td_time_trading_day_start(20190205, 420), t + 1);
    assert_int_equal(td_time_trading_day_start(20190204, 0), td_time_ms_from_civil(2019, 2, 4, 0, 0, 0, 0));
    assert_int_equal(td_time_trading_day(-1, 0), 19691231);
    assert_int_equal(td_time_weekday(t, 0), 1); /* Monday */
    assert_int_equal(td_time_weekday(0, 0), 4); /* Thursday */
    char iso[32];
    td_time_format_iso(INT64_C(1549238400994), iso);
    assert_string_equal(iso, "2019-02-04T00:00:00.994Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_trading_day),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
