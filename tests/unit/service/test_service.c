/* test_service.c - the service's steps that need no network (service/service.c): the --role names,
 * the roles each journal mode refuses, and td_service_open_tape creating the data directory. */
#include <setjmp.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "core/config.h"
#include "service/service.h"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_role_names(void **unused)
{
    (void)unused;
    const struct {
        const char *name;
        td_service_role_t role;
    } want[] = {{"all", TD_SERVICE_ALL},       {"gateway", TD_SERVICE_GATEWAY},   {"processor", TD_SERVICE_PROCESSOR},
                {"router", TD_SERVICE_ROUTER}, {"archiver", TD_SERVICE_ARCHIVER}, {"sink", TD_SERVICE_SINK}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        td_service_role_t role = TD_SERVICE_ALL;
        assert_true(td_service_role_parse(want[i].name, &role));
        assert_int_equal(role, want[i].role);
    }
    td_service_role_t role;
    assert_false(td_service_role_parse("monitor ", &role));
    assert_false(td_service_role_parse("", &role));
    assert_false(td_service_role_parse("ALL", &role));
}

/* Which roles td_service_new refuses for journal.mode (tape: processor, router, archiver alone;
 * kafka: all and router), with a message naming the role. */
static void test_roles_by_journal(void **unused)
{
    (void)unused;
    char err[256] = "";
    td_config_t *config = td_config_new();
    assert_non_null(config);
    const td_service_role_t all[] = {TD_SERVICE_ALL,    TD_SERVICE_GATEWAY,  TD_SERVICE_PROCESSOR,
                                     TD_SERVICE_ROUTER, TD_SERVICE_ARCHIVER, TD_SERVICE_SINK};
    const bool local_ok[] = {true, true, false, false, false, true};
    const bool kafka_ok[] = {false, true, true, false, true, true};
    for (int mode = 0; mode < 2; mode++) {
        assert_int_equal(td_config_set(config, "journal.mode", mode ? "kafka" : "tape", "test", err, sizeof err),
                         TD_OK);
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
            td_service_opts_t opts = {.config = config, .data_dir = "/nonexistent", .role = all[i]};
            td_service_t *service = NULL;
            err[0] = '\0';
            td_err_t rc = td_service_new(&opts, &service, err, sizeof err);
            bool ok = mode ? kafka_ok[i] : local_ok[i];
            assert_int_equal(rc, ok ? TD_OK : TD_ERR_UNSUPPORTED);
            assert_true(ok ? service != NULL : service == NULL && strstr(err, "role ") != NULL);
            td_service_destroy(service); /* nothing started: nothing to release but itself */
        }
    }
    td_config_destroy(config);
}

static void test_open_tape_creates_the_directory(void **unused)
{
    (void)unused;
    char dir[512], nested[600], err[256] = "";
    snprintf(dir, sizeof dir, "%s/tmp-test-service-open-XXXXXX", TD_TEST_BINARY_DIR);
    assert_non_null(mkdtemp(dir));
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    td_config_t *config = td_config_new();
    assert_non_null(config);
    td_tape_t *tape = NULL;
    assert_int_not_equal(td_service_open_tape(config, nested, true, &tape, err, sizeof err), TD_OK);
    assert_null(tape);
    assert_int_equal(td_service_open_tape(config, nested, false, &tape, err, sizeof err), TD_OK);
    struct stat st;
    assert_int_equal(stat(nested, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    td_tape_close(tape);
    td_config_destroy(config);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_roles_by_journal),
        cmocka_unit_test(test_open_tape_creates_the_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
