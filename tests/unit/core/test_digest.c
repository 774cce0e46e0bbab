/* test_digest.c - core/digest.c: SHA-256 known answers and the day chain's sensitivity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/digest.h"

static void test_known_answers(void **unused)
{
    (void)unused;
    uint8_t d[32];
    char hex[65];
    td_sha256("", 0, d);
    td_digest_hex(d, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    td_sha256("abc", 3, d);
    td_digest_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    td_sha256_parts(d, "a", (size_t)1, "bc", (size_t)2, NULL);
    td_digest_hex(d, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static td_slice_t sl(const char *s)
{
    return (td_slice_t){(const uint8_t *)s, strlen(s)};
}

/* digest of a chain over items, each a string */
static void chain_of(const char *symbol, uint32_t day, const uint8_t prev[32], const char *const *items, size_t n,
                     td_hasher_t *hasher, uint8_t out[32])
{
    td_chain_t chain;
    memset(&chain, 0, sizeof chain);
    assert_int_equal(td_chain_start(&chain, hasher, symbol, day, prev), TD_OK);
    for (size_t i = 0; i < n; i++) {
        td_slice_t s = sl(items[i]);
        assert_int_equal(td_chain_add(&chain, hasher, &s, 1), TD_OK);
    }
    td_chain_finish(&chain, hasher, (const uint8_t *)"state", 5, out);
    td_chain_fini(&chain);
}

static void test_chain(void **unused)
{
    (void)unused;
    uint8_t zero[32] = {0}, a[32], b[32];
    const char *xy[] = {"x", "y"}, *yx[] = {"y", "x"};
    chain_of("EURUSD", 20190204, zero, xy, 2, NULL, a);
    chain_of("EURUSD", 20190204, zero, xy, 2, NULL, b);
    assert_memory_equal(a, b, 32);
    chain_of("EURUSD", 20190204, zero, yx, 2, NULL, b);
    assert_memory_not_equal(a, b, 32); /* order matters */
    chain_of("EURUSD", 20190205, zero, xy, 2, NULL, b);
    assert_memory_not_equal(a, b, 32); /* the day matters */
    chain_of("EURUSD", 20190204, a, xy, 2, NULL, b);
    assert_memory_not_equal(a, b, 32); /* the previous digest matters */
    /* item boundaries are length-prefixed: "ab","c" differs from "a","bc" */
    const char *abc1[] = {"ab", "c"}, *abc2[] = {"a", "bc"};
    chain_of("S", 1, zero, abc1, 2, NULL, a);
    chain_of("S", 1, zero, abc2, 2, NULL, b);
    assert_memory_not_equal(a, b, 32);
}

/* Across block boundaries: a chain whose state (h, open block) is copied mid-way and continued
 * gives the digest of an uninterrupted chain; a reused hasher equals temporary ones. */
static void test_chain_blocks(void **unused)
{
    (void)unused;
    uint8_t zero[32] = {0}, a[32], b[32];
    td_hasher_t *hasher = td_hasher_new();
    assert_non_null(hasher);
    enum { N = 3 * TD_CHAIN_BLOCK_ITEMS + 17 };
    static char texts[N][16];
    const char *items[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "tick %d", i);
        items[i] = texts[i];
    }
    chain_of("S", 1, zero, items, N, hasher, a);
    chain_of("S", 1, zero, items, N, NULL, b);
    assert_memory_equal(a, b, 32);
    for (int cut = 0; cut <= N; cut += 97) {
        td_chain_t first, second;
        memset(&first, 0, sizeof first);
        memset(&second, 0, sizeof second);
        assert_int_equal(td_chain_start(&first, hasher, "S", 1, zero), TD_OK);
        for (int i = 0; i < cut; i++) {
            td_slice_t s = sl(items[i]);
            assert_int_equal(td_chain_add(&first, hasher, &s, 1), TD_OK);
        }
        memcpy(second.h, first.h, 32); /* what a state encoding keeps */
        assert_int_equal(td_buf_append(&second.block, first.block.ptr, first.block.len), TD_OK);
        second.items = first.items;
        for (int i = cut; i < N; i++) {
            td_slice_t s = sl(items[i]);
            assert_int_equal(td_chain_add(&second, hasher, &s, 1), TD_OK);
        }
        td_chain_finish(&second, hasher, (const uint8_t *)"state", 5, b);
        assert_memory_equal(a, b, 32);
        td_chain_fini(&first);
        td_chain_fini(&second);
    }
    /* one item more changes the digest, also when it completes a block */
    chain_of("S", 1, zero, items, TD_CHAIN_BLOCK_ITEMS, hasher, a);
    chain_of("S", 1, zero, items, TD_CHAIN_BLOCK_ITEMS - 1, hasher, b);
    assert_memory_not_equal(a, b, 32);
    td_hasher_destroy(hasher);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_chain_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
