/* test_pg_copy.c - core/pg.c's binary COPY encoder: exact bytes of the header, every field type and
 * the trailer, PostgreSQL's 2000-01-01 epoch for timestamps and dates, and a differential check of
 * many random rows against a plain reference decoder written here from the format's description. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/pg.h"

static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0};

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void test_header_and_trailer(void **unused)
{
    (void)unused;
    td_pg_copy_t copy;
    td_pg_copy_init(&copy);
    assert_int_equal(copy.buf.len, sizeof header);
    assert_memory_equal(copy.buf.ptr, header, sizeof header);
    assert_int_equal(td_pg_copy_finish(&copy), TD_OK);
    assert_int_equal(copy.buf.len, sizeof header + 2);
    assert_int_equal(be(copy.buf.ptr + sizeof header, 2), 0xffff);
    /* reset: the same header again, no rows */
    td_pg_copy_reset(&copy);
    assert_int_equal(copy.rows, 0);
    assert_int_equal(copy.buf.len, sizeof header);
    assert_memory_equal(copy.buf.ptr, header, sizeof header);
    td_pg_copy_fini(&copy);
}

static void test_field_bytes(void **unused)
{
    (void)unused;
    td_pg_copy_t copy;
    td_pg_copy_init(&copy);
    td_pg_copy_row(&copy, 8);
    td_pg_copy_int8(&copy, -2);
    td_pg_copy_int4(&copy, 0x01020304);
    td_pg_copy_int2(&copy, -1);
    td_pg_copy_null(&copy);
    td_pg_copy_text(&copy, "EURUSD");
    td_pg_copy_bool(&copy, true);
    td_pg_copy_bytes(&copy, "\x00\x01", 2);
    td_pg_copy_text(&copy, "");
    assert_int_equal(td_pg_copy_finish(&copy), TD_OK);
    static const uint8_t want[] = {
        0,    8,                                                                /* field count */
        0,    0,    0,    8,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* int8 -2 */
        0,    0,    0,    4,    1,    2,    3,    4,                            /* int4 */
        0,    0,    0,    2,    0xff, 0xff,                                     /* int2 -1 */
        0xff, 0xff, 0xff, 0xff,                                                 /* NULL */
        0,    0,    0,    6,    'E',  'U',  'R',  'U',  'S',  'D',              /* text, no NUL */
        0,    0,    0,    1,    1,                                              /* bool */
        0,    0,    0,    2,    0,    1,                                        /* bytea */
        0,    0,    0,    0,                                                    /* empty text (not NULL) */
        0xff, 0xff,                                                             /* trailer */
    };
    assert_int_equal(copy.buf.len, sizeof header + sizeof want);
    assert_memory_equal(copy.buf.ptr + sizeof header, want, sizeof want);
    assert_int_equal(copy.rows, 1);
    td_pg_copy_fini(&copy);
}

static int64_t last_int8(const td_pg_copy_t *copy)
{
    assert_true(copy->buf.len >= 12);
    const uint8_t *p = copy->buf.ptr + copy->buf.len - 12;
    assert_int_equal(be(p, 4), 8);
    return (int64_t)be(p + 4, 8);
}

static int32_t last_int4(const td_pg_copy_t *copy)
{
    const uint8_t *p = copy->buf.ptr + copy->buf.len - 8;
    assert_int_equal(be(p, 4), 4);
    return (int32_t)(uint32_t)be(p + 4, 4);
}

static void test_time_and_date(void **unused)
{
    (void)unused;
    td_pg_copy_t copy;
    td_pg_copy_init(&copy);
    td_pg_copy_row(&copy, 1);
    td_pg_copy_time_ms(&copy, TD_PG_EPOCH_MS); /* 2000-01-01T00:00:00Z is 0 */
    assert_int_equal(last_int8(&copy), 0);
    td_pg_copy_row(&copy, 1);
    td_pg_copy_time_ms(&copy, 0); /* 1970-01-01 */
    assert_int_equal(last_int8(&copy), -INT64_C(946684800000000));
    td_pg_copy_row(&copy, 1);
    td_pg_copy_time_ms(&copy, INT64_C(1549240200004)); /* 2019-02-04T00:30:00.004Z */
    assert_int_equal(last_int8(&copy), INT64_C(602555400004000));
    td_pg_copy_row(&copy, 1);
    td_pg_copy_date(&copy, 20000101);
    assert_int_equal(last_int4(&copy), 0);
    td_pg_copy_row(&copy, 1);
    td_pg_copy_date(&copy, 19991231);
    assert_int_equal(last_int4(&copy), -1);
    td_pg_copy_row(&copy, 1);
    td_pg_copy_date(&copy, 20190204); /* 6974 days after 2000-01-01 */
    assert_int_equal(last_int4(&copy), 6974);
    td_pg_copy_row(&copy, 1);
    td_pg_copy_date(&copy, 20000301); /* 2000 is a leap year: Jan 31 + Feb 29 */
    assert_int_equal(last_int4(&copy), 60);
    assert_int_equal(td_pg_copy_finish(&copy), TD_OK);
    assert_int_equal(copy.rows, 7);
    td_pg_copy_fini(&copy);
}

/* --- differential: random rows, decoded by a plain reader of the format --- */

typedef struct ref_field {
    int kind; /* 0 null, 1 int8, 2 int4, 3 text */
    int64_t i;
    char s[24];
} ref_field_t;

static uint64_t rng = 88172645463325252u;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_differential(void **unused)
{
    (void)unused;
    enum { ROWS = 2000, MAXF = 12 };
    ref_field_t *ref = calloc((size_t)ROWS * MAXF, sizeof *ref);
    uint16_t nf[ROWS];
    assert_non_null(ref);
    td_pg_copy_t copy;
    td_pg_copy_init(&copy);
    for (int r = 0; r < ROWS; r++) {
        nf[r] = (uint16_t)(1 + next_rand() % MAXF);
        td_pg_copy_row(&copy, nf[r]);
        for (int f = 0; f < nf[r]; f++) {
            ref_field_t *x = &ref[r * MAXF + f];
            x->kind = (int)(next_rand() % 4);
            switch (x->kind) {
            case 0: td_pg_copy_null(&copy); break;
            case 1:
                x->i = (int64_t)next_rand();
                td_pg_copy_int8(&copy, x->i);
                break;
            case 2:
                x->i = (int32_t)(uint32_t)next_rand();
                td_pg_copy_int4(&copy, (int32_t)x->i);
                break;
            default: {
                size_t n = next_rand() % (sizeof x->s - 1);
                for (size_t k = 0; k < n; k++)
                    x->s[k] = (char)('a' + next_rand() % 26);
                x->s[n] = '\0';
                td_pg_copy_text(&copy, x->s);
            }
            }
        }
    }
    assert_int_equal(td_pg_copy_finish(&copy), TD_OK);
    assert_int_equal(copy.rows, ROWS);

    const uint8_t *p = copy.buf.ptr, *end = copy.buf.ptr + copy.buf.len;
    assert_memory_equal(p, header, sizeof header);
    p += sizeof header;
    for (int r = 0; r < ROWS; r++) {
        assert_true(p + 2 <= end);
        assert_int_equal(be(p, 2), nf[r]);
        p += 2;
        for (int f = 0; f < nf[r]; f++) {
            const ref_field_t *x = &ref[r * MAXF + f];
            int32_t len = (int32_t)(uint32_t)be(p, 4);
            p += 4;
            switch (x->kind) {
            case 0: assert_int_equal(len, -1); break;
            case 1:
                assert_int_equal(len, 8);
                assert_int_equal((int64_t)be(p, 8), x->i);
                break;
            case 2:
                assert_int_equal(len, 4);
                assert_int_equal((int32_t)(uint32_t)be(p, 4), x->i);
                break;
            default: assert_int_equal(len, (int32_t)strlen(x->s)); assert_memory_equal(p, x->s, (size_t)len);
            }
            if (len > 0)
                p += len;
        }
    }
    assert_int_equal(end - p, 2);
    assert_int_equal(be(p, 2), 0xffff);
    td_pg_copy_fini(&copy);
    free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_and_trailer),
        cmocka_unit_test(test_field_bytes),
        cmocka_unit_test(test_time_and_date),
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
