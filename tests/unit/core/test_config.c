/* test_config.c - core/config.c: defaults, YAML loading, per-symbol sections, clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

static char *write_tmp(const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/test_config_XXXXXX", TD_TEST_BINARY_DIR);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_defaults(void **unused)
{
    (void)unused;
    td_config_t *config = td_config_new();
    assert_non_null(config);
    assert_string_equal(td_config_str(config, "bars.timeframe"), "M30");
    assert_int_equal(td_config_int(config, "tape.batch_events"), 4096);
    td_symbol_spec_t spec;
    td_config_symbol_spec(config, "EURUSD", &spec);
    assert_int_equal(spec.digits, 5);
    assert_int_equal(spec.point, 1000);
    assert_int_equal(spec.contract_size, INT64_C(100000) * 100000000);
    assert_int_equal(spec.tick_value, INT64_C(100000000)); /* 0.00001 x 100000 = 1.00 */
    td_config_destroy(config);
}

static void test_load_file(void **unused)
{
    (void)unused;
    const char *path = write_tmp("tape:\n  sync: none\n  batch_events: 100\n"
                                 "symbols:\n  XAUUSD:\n    digits: 3\n    contract_size: 100\n"
                                 "    swap_long: -12.5\n");
    td_config_t *config = td_config_new();
    char err[256] = "";
    assert_int_equal(td_config_load(config, path, err, sizeof err), TD_OK);
    assert_string_equal(td_config_str(config, "tape.sync"), "none");
    assert_int_equal(td_config_int(config, "tape.sync"), 0);
    assert_int_equal(td_config_int(config, "tape.batch_events"), 100);
    assert_true(td_config_has_symbol(config, "XAUUSD"));
    assert_false(td_config_has_symbol(config, "EURUSD"));
    td_symbol_spec_t spec;
    td_config_symbol_spec(config, "XAUUSD", &spec);
    assert_int_equal(spec.digits, 3);
    assert_int_equal(spec.contract_size, INT64_C(100) * 100000000);
    assert_int_equal(spec.swap_long, -1250000000);
    assert_int_equal(td_config_symbol_int(config, "EURUSD", "digits"), 5);
    td_config_destroy(config);
    unlink(path);
}

static void expect_error(const char *yaml, const char *words1, const char *words2)
{
    const char *path = write_tmp(yaml);
    td_config_t *config = td_config_new();
    char err[512] = "";
    assert_int_equal(td_config_load(config, path, err, sizeof err), TD_ERR_CONFIG);
    if (!strstr(err, words1) || (words2 && !strstr(err, words2)))
        fail_msg("message '%s' lacks '%s'/'%s'", err, words1, words2 ? words2 : "");
    td_config_destroy(config);
    unlink(path);
}

static void test_errors(void **unused)
{
    (void)unused;
    expect_error("tape:\n  sink: none\n", "tape.sink", "unknown key");
    expect_error("tape:\n  batch_events: lots\n", ":2: tape.batch_events", "expected an integer");
    expect_error("tape:\n  batch_events: 0\n", "tape.batch_events", "1..1000000");
    expect_error("tape:\n  sync: sometimes\n", "tape.sync", "none|commit");
    expect_error("symbols:\n  EURUSD:\n    digitz: 5\n", "symbols.EURUSD.digitz", "unknown per-symbol key");
    expect_error("tape: [1, 2]\n", "lists", NULL);
    expect_error("tape:\n  sync: none\n bad indent\n", "YAML", NULL);
    /* a key named twice in one file is refused, not silently the last one (issue 19) */
    expect_error("tape:\n  sync: commit\n  sync: none\n", ":3: tape.sync: set twice (first at line 2)", NULL);
    expect_error("tape:\n  sync: commit\ntape:\n  sync: none\n", ":4: tape.sync: set twice", NULL);
    expect_error("symbols:\n  EURUSD:\n    digits: 5\n    digits: 3\n", "symbols.EURUSD.digits: set twice", NULL);
    /* a token no EA could send (HELLO carries at most 127 characters) */
    char yaml[512];
    snprintf(yaml, sizeof yaml, "gateway:\n  token: %0128d\n", 0);
    expect_error(yaml, "gateway.token: expected at most 127 characters, found 128", NULL);
    /* a listen address that no socket can have */
    expect_error("gateway:\n  listen: 999.1.1.1:7000\n", "gateway.listen: expected an IPv4 address", "999.1.1.1:7000");
    expect_error("gateway:\n  listen: 127.0.0.1:70000\n", "gateway.listen", "port 0..65535");
    expect_error("gateway:\n  listen: 127.0.0.1\n", "gateway.listen", "HOST:PORT");
    expect_error("gateway:\n  listen: 127.0.0.1:-1\n", "gateway.listen", NULL);
    /* a symbol section must follow the one symbol rule: it becomes a stream and a folder */
    expect_error("symbols:\n  ../../x:\n    digits: 5\n", "symbols.../../x.digits: expected symbols.<SYMBOL>", NULL);
    expect_error("symbols:\n  x/../../y:\n    digits: 5\n", "expected a symbol of", "found 'x/'");
    expect_error("symbols:\n  EUR USD:\n    digits: 5\n", "expected a symbol of", "'EUR USD'");
}

/* A key set in two files (the global --config, then another load) or by --set after a file is an
 * override, not a duplicate; the edge values of the new rules are accepted. */
static void test_overrides_and_edges(void **unused)
{
    (void)unused;
    td_config_t *config = td_config_new();
    char err[512] = "";
    char yaml[512];
    snprintf(yaml, sizeof yaml, "tape:\n  sync: none\ngateway:\n  listen: 0.0.0.0:0\n  token: %0127d\n", 7);
    const char *path = write_tmp(yaml);
    assert_int_equal(td_config_load(config, path, err, sizeof err), TD_OK);
    assert_int_equal(td_config_load(config, path, err, sizeof err), TD_OK);
    assert_int_equal(strlen(td_config_str(config, "gateway.token")), 127);
    assert_string_equal(td_config_str(config, "gateway.listen"), "0.0.0.0:0");
    assert_int_equal(td_config_set(config, "tape.sync", "commit", "--set", err, sizeof err), TD_OK);
    assert_string_equal(td_config_str(config, "tape.sync"), "commit");
    assert_int_equal(td_config_set(config, "gateway.listen", "127.0.0.1:65535", "--set", err, sizeof err), TD_OK);
    assert_int_equal(td_config_set(config, "gateway.listen", "localhost:7878", "--set", err, sizeof err), TD_OK);
    td_config_destroy(config);
    unlink(path);
}

static void test_set(void **unused)
{
    (void)unused;
    td_config_t *config = td_config_new();
    char err[256];
    assert_int_equal(td_config_set(config, "symbols.US500.digits", "2", "--set", err, sizeof err), TD_OK);
    assert_int_equal(td_config_symbol_int(config, "US500", "digits"), 2);
    assert_int_equal(td_config_set(config, "log.level", "loud", "--set", err, sizeof err), TD_ERR_CONFIG);
    assert_non_null(strstr(err, "--set: log.level"));
    td_config_destroy(config);
}

/* An account is what an EA's HELLO can carry (printable ASCII without TAB, at most 31 characters),
 * or empty; a symbol's own account wins over gateway.account (td_config_symbol_account). */
static void test_accounts(void **unused)
{
    (void)unused;
    td_config_t *config = td_config_new();
    char err[256];
    assert_string_equal(td_config_symbol_account(config, "EURUSD"), "");
    assert_int_equal(td_config_set(config, "gateway.account", "51234567", "--set", err, sizeof err), TD_OK);
    assert_int_equal(td_config_set(config, "symbols.XAUUSD.account", "demo 2", "--set", err, sizeof err), TD_OK);
    assert_string_equal(td_config_symbol_account(config, "EURUSD"), "51234567");
    assert_string_equal(td_config_symbol_account(config, "XAUUSD"), "demo 2");
    const char *bad[] = {"a\tb", "caf\xc3\xa9", "x\x7f", "12345678901234567890123456789012"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(td_config_set(config, "symbols.EURUSD.account", bad[i], "--set", err, sizeof err),
                         TD_ERR_CONFIG);
        assert_non_null(strstr(err, "--set: symbols.EURUSD.account: expected"));
        assert_int_equal(td_config_set(config, "gateway.account", bad[i], "--set", err, sizeof err), TD_ERR_CONFIG);
    }
    assert_string_equal(td_config_symbol_account(config, "EURUSD"), "51234567");
    td_config_destroy(config);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults), cmocka_unit_test(test_load_file),           cmocka_unit_test(test_errors),
        cmocka_unit_test(test_set),      cmocka_unit_test(test_overrides_and_edges), cmocka_unit_test(test_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
