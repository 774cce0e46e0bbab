/* test_buf.c - core/buf.c, core/json_out.c and core/csv_out.c: the text writers with a sticky error.
 *
 * Fault injection: this test is linked with -Wl,--wrap=realloc (tests/unit/core/CMakeLists.txt),
 * so fail_after counts the buffer's allocations and fails the chosen one.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/csv_out.h"
#include "core/fixed.h"
#include "core/json_out.h"

/* -1: never fail; n >= 0: the allocation after n more succeed fails. */
static int fail_after = -1;

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size)
{
    if (fail_after == 0)
        return NULL;
    if (fail_after > 0)
        fail_after--;
    return __real_realloc(ptr, size);
}

static void assert_text(td_buf_t *buf, const char *want)
{
    assert_int_equal(td_buf_error(buf), TD_OK);
    assert_string_equal(td_buf_cstr(buf), want);
}

static void test_puts_putf(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_puts(&buf, "a");
    td_buf_putc(&buf, ',');
    td_buf_putf(&buf, "%d-%s", 42, "x");
    td_buf_put(&buf, "yz", 1);
    assert_text(&buf, "a,42-xy");
    /* growth past the first capacity keeps every byte */
    td_buf_reset(&buf);
    for (int i = 0; i < 1000; i++)
        td_buf_putf(&buf, "%03d", i);
    assert_int_equal(buf.len, 3000);
    assert_memory_equal(buf.ptr + 2997, "999", 3);
    td_buf_fini(&buf);
}

static void test_numbers(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_put_fixed(&buf, 114543000);
    td_buf_putc(&buf, ' ');
    td_buf_put_fixed(&buf, -725000000);
    td_buf_putc(&buf, ' ');
    td_buf_put_fixed(&buf, 2 * TD_FX_SCALE);
    td_buf_putc(&buf, ' ');
    td_buf_put_price(&buf, 114500000, 5);
    td_buf_putc(&buf, ' ');
    td_buf_put_double(&buf, 0.1);
    td_buf_putc(&buf, ' ');
    td_buf_put_double(&buf, NAN);
    td_buf_putc(&buf, ' ');
    td_buf_put_double(&buf, -INFINITY);
    td_buf_putc(&buf, ' ');
    td_buf_put_iso_time(&buf, 86400000);
    td_buf_putc(&buf, ' ');
    td_buf_put_day(&buf, 20190204);
    assert_text(&buf, "1.14543 -7.25 2 1.14500 0.1 nan -inf 1970-01-02T00:00:00.000Z 2019-02-04");
    td_buf_fini(&buf);
}

static void test_json(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_putc(&buf, '{');
    td_json_key_str(&buf, "s", "a\"b\\c\n");
    td_json_key_fixed(&buf, "f", 150000000);
    td_json_key_double(&buf, "d", 0.25);
    td_json_key_double(&buf, "n", NAN);
    td_json_key_u64(&buf, "u", UINT64_MAX);
    td_json_key(&buf, "a");
    td_buf_putc(&buf, '[');
    for (int i = 0; i < 3; i++) {
        td_json_comma(&buf);
        td_buf_putf(&buf, "%d", i);
    }
    td_buf_puts(&buf, "]}");
    assert_text(&buf, "{\"s\":\"a\\\"b\\\\c\\u000a\",\"f\":1.5,\"d\":0.25,\"n\":null,\"u\":18446744073709551615,"
                      "\"a\":[0,1,2]}");
    td_buf_fini(&buf);
}

static void test_csv(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_puts(&buf, "EURUSD");
    td_csv_u64(&buf, 7);
    td_csv_str(&buf, "long");
    td_csv_str(&buf, "");
    td_csv_str(&buf, "a,b");
    td_csv_str(&buf, "say \"hi\"");
    td_csv_fixed(&buf, -725000000);
    td_csv_price(&buf, 114500000, 5);
    td_csv_double(&buf, INFINITY);
    td_csv_iso_time(&buf, 0);
    td_csv_day(&buf, 20240101);
    td_csv_end(&buf);
    assert_text(&buf, "EURUSD,7,long,,\"a,b\",\"say \"\"hi\"\"\",-7.25,1.14500,inf,1970-01-01T00:00:00.000Z,"
                      "2024-01-01\n");
    td_buf_fini(&buf);
}

/* A failed allocation sticks: later appends are no-ops (even ones that would fit), the text stays
 * as it was before the failure, and reset clears the error. */
static void test_failed_allocation_sticks(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_puts(&buf, "kept"); /* the first allocation: 64 bytes */
    assert_int_equal(td_buf_error(&buf), TD_OK);
    size_t cap = buf.cap;
    char big[256];
    memset(big, 'x', sizeof big);
    fail_after = 0;
    td_buf_put(&buf, big, sizeof big); /* needs to grow: fails */
    fail_after = -1;
    assert_int_equal(td_buf_error(&buf), TD_ERR_NOMEM);
    assert_int_equal(buf.len, 4);
    assert_int_equal(buf.cap, cap);
    td_buf_puts(&buf, "!");              /* fits, but the error sticks */
    td_buf_putf(&buf, "%d", 7);          /* so does every writer */
    td_buf_put_fixed(&buf, TD_FX_SCALE); /* ... */
    td_json_key_str(&buf, "k", "v");     /* ... */
    td_buf_put(&buf, big, sizeof big);   /* and a large one does not allocate again */
    assert_int_equal(td_buf_error(&buf), TD_ERR_NOMEM);
    assert_int_equal(buf.len, 4);
    assert_memory_equal(buf.ptr, "kept", 4);
    /* the returning appends still work and do not touch the sticky error */
    assert_int_equal(td_buf_append(&buf, "+", 1), TD_OK);
    assert_int_equal(td_buf_error(&buf), TD_ERR_NOMEM);
    td_buf_reset(&buf);
    assert_int_equal(td_buf_error(&buf), TD_OK);
    td_buf_puts(&buf, "again");
    assert_text(&buf, "again");
    td_buf_fini(&buf);
}

/* Every allocation of a long JSON text fails in turn: each run ends with TD_ERR_NOMEM and a
 * prefix of the full text, never a torn value; no leak (the sanitizer build checks). */
static void test_every_allocation_fails(void **unused)
{
    (void)unused;
    td_buf_t full;
    td_buf_init(&full);
    for (int i = 0; i < 200; i++)
        td_json_key_fixed(&full, "member", (int64_t)i * 12345678);
    assert_int_equal(td_buf_error(&full), TD_OK);
    int allocations = 0;
    for (size_t cap = 64; cap < full.len + 1; cap *= 2)
        allocations++;
    for (int n = 0; n <= allocations; n++) {
        td_buf_t buf;
        td_buf_init(&buf);
        fail_after = n;
        for (int i = 0; i < 200; i++)
            td_json_key_fixed(&buf, "member", (int64_t)i * 12345678);
        fail_after = -1;
        assert_int_equal(td_buf_error(&buf), TD_ERR_NOMEM);
        assert_true(buf.len < full.len);
        assert_true(buf.len == 0 || memcmp(buf.ptr, full.ptr, buf.len) == 0);
        td_buf_fini(&buf);
    }
    td_buf_fini(&full);
}

/* td_buf_fail: the first code sticks, a later one does not replace it, and appends stop. */
static void test_first_code_sticks(void **unused)
{
    (void)unused;
    td_buf_t buf;
    td_buf_init(&buf);
    td_buf_puts(&buf, "x");
    td_buf_fail(&buf, TD_ERR_INVALID);
    td_buf_fail(&buf, TD_ERR_NOMEM); /* the first one stays */
    td_buf_puts(&buf, "y");
    assert_int_equal(td_buf_error(&buf), TD_ERR_INVALID);
    assert_int_equal(buf.len, 1);
    td_buf_fini(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_puts_putf),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_failed_allocation_sticks),
        cmocka_unit_test(test_every_allocation_fails),
        cmocka_unit_test(test_first_code_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
