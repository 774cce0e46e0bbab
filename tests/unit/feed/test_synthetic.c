/* test_synthetic.c - feed/synthetic.c: the synthetic day is deterministic (the same symbol and day
 * give the same digest of the ticks, twice), it depends on the seed and the day, its ticks are
 * well-formed and in time order, and a callback's non-TD_OK return stops the walk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/digest.h"
#include "core/timeutil.h"
#include "feed/synthetic.h"

typedef struct day {
    td_buf_t ticks; /* time, bid, ask of every tick, as bytes */
    int64_t start, last;
    size_t n, stop_after; /* stop_after: TD_ERR_END after this many ticks (0: never) */
    int bad;              /* ticks out of the day, out of order or with bid >= ask */
} day_t;

static td_err_t on_tick(void *opaque, int64_t time_ms, int64_t bid, int64_t ask)
{
    day_t *day = opaque;
    if (time_ms < day->start || time_ms >= day->start + TD_MS_PER_DAY || time_ms <= day->last || bid <= 0 || bid >= ask)
        day->bad++;
    day->last = time_ms;
    int64_t row[3] = {time_ms, bid, ask};
    td_err_t rc = td_buf_append(&day->ticks, row, sizeof row);
    if (rc == TD_OK && ++day->n == day->stop_after)
        rc = TD_ERR_END;
    return rc;
}

/* The SHA-256 of sym's ticks on the day starting at start; the number of ticks in *n. */
static void digest_day(const td_synth_symbol_t *sym, int64_t start, uint8_t out[TD_SHA256_LEN], size_t *n)
{
    day_t day = {.start = start, .last = INT64_MIN};
    td_buf_init(&day.ticks);
    assert_int_equal(td_synth_day(sym, start, on_tick, &day), TD_OK);
    assert_int_equal(day.bad, 0);
    td_sha256(day.ticks.ptr, day.ticks.len, out);
    *n = day.n;
    td_buf_fini(&day.ticks);
}

static void test_same_seed_same_digest(void **unused)
{
    (void)unused;
    const char *sets[] = {"demo", "desk"};
    int64_t start = td_time_trading_day_start(20240102, 0);
    for (size_t s = 0; s < 2; s++) {
        size_t n_syms = 0;
        const td_synth_symbol_t *set = td_synth_set(sets[s], &n_syms);
        assert_non_null(set);
        assert_true(n_syms >= 3);
        for (size_t i = 0; i < n_syms; i++) {
            uint8_t a[TD_SHA256_LEN], b[TD_SHA256_LEN];
            size_t na = 0, nb = 0;
            digest_day(&set[i], start, a, &na);
            digest_day(&set[i], start, b, &nb);
            assert_true(na > 20000); /* a tick every 0.2 .. 3 s over 24 hours */
            assert_int_equal(na, nb);
            assert_memory_equal(a, b, TD_SHA256_LEN);
        }
    }
}

static void test_seed_and_day_matter(void **unused)
{
    (void)unused;
    size_t n_syms = 0;
    const td_synth_symbol_t *set = td_synth_set("demo", &n_syms);
    assert_non_null(set);
    int64_t start = td_time_trading_day_start(20240102, 0);
    uint8_t base[TD_SHA256_LEN], other[TD_SHA256_LEN];
    size_t n = 0;
    digest_day(&set[0], start, base, &n);
    td_synth_symbol_t reseeded = set[0];
    reseeded.seed++;
    digest_day(&reseeded, start, other, &n);
    assert_memory_not_equal(base, other, TD_SHA256_LEN);
    digest_day(&set[0], td_time_trading_day_start(20240103, 0), other, &n);
    assert_memory_not_equal(base, other, TD_SHA256_LEN);
    assert_null(td_synth_set("nope", &n_syms));
    assert_int_equal(n_syms, 0);
}

static void test_callback_stops_the_walk(void **unused)
{
    (void)unused;
    size_t n_syms = 0;
    const td_synth_symbol_t *set = td_synth_set("demo", &n_syms);
    day_t day = {.start = td_time_trading_day_start(20240102, 0), .last = INT64_MIN, .stop_after = 10};
    td_buf_init(&day.ticks);
    assert_int_equal(td_synth_day(&set[1], day.start, on_tick, &day), TD_ERR_END);
    assert_int_equal(day.n, 10);
    td_buf_fini(&day.ticks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_seed_same_digest),
        cmocka_unit_test(test_seed_and_day_matter),
        cmocka_unit_test(test_callback_stops_the_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
