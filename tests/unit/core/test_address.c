/* test_address.c - core/address.c: HOST:PORT addresses, what binds and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "core/address.h"

static void test_address(void **unused)
{
    (void)unused;
    struct sockaddr_in a;
    char err[256];
    assert_int_equal(td_address_parse("127.0.0.1:7878", &a, err, sizeof err), TD_OK);
    assert_int_equal(ntohs(a.sin_port), 7878);
    assert_int_equal(ntohl(a.sin_addr.s_addr), 0x7f000001);
    assert_int_equal(td_address_parse("localhost:0", &a, err, sizeof err), TD_OK);
    assert_int_equal(ntohs(a.sin_port), 0);
    assert_int_equal(td_address_parse("0.0.0.0:65535", &a, err, sizeof err), TD_OK);
    assert_int_equal(td_address_parse("127.0.0.1", &a, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "HOST:PORT"));
    assert_int_equal(td_address_parse("127.0.0.1:65536", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_address_parse("127.0.0.1:-1", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_address_parse("127.0.0.1:", &a, err, sizeof err), TD_ERR_INVALID);
    assert_int_equal(td_address_parse("example.com:80", &a, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "IPv4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
