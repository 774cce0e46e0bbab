/* test_names.c - core/names.c: every row round-trips, unknown names and values are refused, and
 * the config reads a named key as the row's value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/names.h"

static void roundtrip(const td_names_t *names)
{
    assert_true(names->n > 0);
    for (size_t i = 0; i < names->n; i++) {
        int64_t v = -1;
        const td_name_t *row = &names->rows[i];
        assert_true(td_names_value(names, row->name, strlen(row->name), &v));
        assert_int_equal(v, row->value);
        assert_string_equal(td_names_name(names, v), row->name);
        for (size_t j = 0; j < i; j++) { /* one name and one value per row */
            assert_string_not_equal(names->rows[j].name, row->name);
            assert_true(names->rows[j].value != row->value);
        }
    }
}

static void test_tables_roundtrip(void **unused)
{
    (void)unused;
    roundtrip(&td_timeframe_names);
    roundtrip(&td_swap_mode_names);
    roundtrip(&td_side_names);
    roundtrip(&td_direction_names);
}

static void test_lookups(void **unused)
{
    (void)unused;
    uint32_t s = 0;
    assert_int_equal(td_timeframe_parse("M30", &s), TD_OK);
    assert_int_equal(s, 1800);
    assert_int_equal(td_timeframe_parse("D1", &s), TD_OK);
    assert_int_equal(s, 86400);
    assert_int_equal(td_timeframe_parse("M3", &s), TD_ERR_INVALID);
    assert_int_equal(td_timeframe_parse("M300", &s), TD_ERR_INVALID);
    assert_int_equal(td_timeframe_parse("", &s), TD_ERR_INVALID);
    char buf[16];
    assert_string_equal(td_timeframe_name(14400, buf), "H4");
    assert_string_equal(td_timeframe_name(120, buf), "S120");

    int64_t v = 0;
    assert_false(td_names_value(&td_side_names, "bu", 2, &v));
    assert_true(td_names_value(&td_side_names, "buyer", 3, &v)); /* length-delimited, not NUL */
    assert_int_equal(v, TD_SIDE_BUY);
    assert_string_equal(td_side_name(TD_SIDE_SELL), "sell");
    assert_string_equal(td_side_name(TD_SIDE_NONE), "none");
    assert_string_equal(td_swap_mode_name(TD_SWAP_INTEREST), "interest");
    assert_string_equal(td_direction_name(td_direction_of_volume(5)), "long");
    assert_string_equal(td_direction_name(td_direction_of_volume(-5)), "short");
    assert_string_equal(td_direction_name(td_direction_of_volume(0)), "flat");
    assert_string_equal(td_direction_name(td_direction_of_side(TD_SIDE_BUY)), "long");
    assert_string_equal(td_direction_name(td_direction_of_side(TD_SIDE_SELL)), "short");
    assert_string_equal(td_swap_mode_name((td_swap_mode_t)9), "?");

    assert_string_equal(td_names_join(&td_swap_mode_names, buf, sizeof buf), "disabled|points");
    char wide[64];
    assert_string_equal(td_names_join(&td_timeframe_names, wide, sizeof wide), "M1|M5|M15|M30|H1|H4|D1");
}

static void test_config_named_keys(void **unused)
{
    (void)unused;
    td_config_t *config = td_config_new();
    assert_non_null(config);
    assert_int_equal(td_config_int(config, "bars.timeframe"), 1800);
    char err[256] = "";
    assert_int_equal(td_config_set(config, "bars.timeframe", "H1", "--set", err, sizeof err), TD_OK);
    assert_int_equal(td_config_int(config, "bars.timeframe"), 3600);
    assert_string_equal(td_config_str(config, "bars.timeframe"), "H1");
    assert_int_equal(td_config_set(config, "bars.timeframe", "H2", "--set", err, sizeof err), TD_ERR_CONFIG);
    assert_non_null(strstr(err, "expected one of M1|M5|M15|M30|H1|H4|D1, found 'H2'"));
    td_config_destroy(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_roundtrip),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_config_named_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
