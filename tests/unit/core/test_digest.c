/* test_digest.c - core/digest.c: SHA-256 known answers and the day chain's sensitivity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

static void test_chain(void **unused)
{
    (void)unused;
    uint8_t zero[32] = {0}, a[32], b[32];
    td_digest_chain_start(a, "EURUSD", 20190204, zero);
    td_digest_chain_start(b, "EURUSD", 20190204, zero);
    assert_memory_equal(a, b, 32);
    td_digest_chain_add(NULL, a, (const uint8_t *)"x", 1);
    td_digest_chain_add(NULL, a, (const uint8_t *)"y", 1);
    td_digest_chain_add(NULL, b, (const uint8_t *)"y", 1);
    td_digest_chain_add(NULL, b, (const uint8_t *)"x", 1);
    assert_memory_not_equal(a, b, 32); /* order matters */
    uint8_t c[32], d[32];
    td_digest_chain_start(c, "EURUSD", 20190205, zero);
    td_digest_chain_start(d, "EURUSD", 20190204, a);
    assert_memory_not_equal(c, d, 32);
    /* boundaries are length-prefixed: "ab","c" differs from "a","bc" */
    td_digest_chain_start(c, "S", 1, zero);
    td_digest_chain_start(d, "S", 1, zero);
    td_digest_chain_add(NULL, c, (const uint8_t *)"ab", 2);
    td_digest_chain_add(NULL, c, (const uint8_t *)"c", 1);
    td_digest_chain_add(NULL, d, (const uint8_t *)"a", 1);
    td_digest_chain_add(NULL, d, (const uint8_t *)"bc", 2);
    assert_memory_not_equal(c, d, 32);
    /* a reused hasher gives the same chain as fresh contexts */
    td_hasher_t *hasher = td_hasher_new();
    assert_non_null(hasher);
    td_digest_chain_start(c, "S", 1, zero);
    td_digest_chain_start(d, "S", 1, zero);
    for (int i = 0; i < 100; i++) {
        td_digest_chain_add(hasher, c, (const uint8_t *)"tick", 4);
        td_digest_chain_add(NULL, d, (const uint8_t *)"tick", 4);
    }
    td_digest_chain_state(hasher, c, (const uint8_t *)"s", 1);
    td_digest_chain_state(NULL, d, (const uint8_t *)"s", 1);
    assert_memory_equal(c, d, 32);
    td_hasher_destroy(hasher);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
