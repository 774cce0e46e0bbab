/* test_log.c - core/log.c: level filter, text and JSON line shapes, escaping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/log.h"

static char *capture(int json, td_log_level_t level, const char *msg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    td_log_t log;
    td_log_init(&log, f, TD_LOG_INFO, json);
    td_log_write(&log, level, "host", TD_ERR_PARSE, "%s", msg);
    fclose(f);
    return text;
}

static void test_text_line(void **unused)
{
    (void)unused;
    char *line = capture(0, TD_LOG_WARN, "bad \"quote\"\n");
    assert_non_null(strstr(line, " level=warn module=host rc=TD_ERR_PARSE msg=\"bad \\\"quote\\\"\\u000a\"\n"));
    assert_true(line[4] == '-' && line[10] == 'T'); /* starts with an ISO time */
    free(line);
}

static void test_json_line(void **unused)
{
    (void)unused;
    char *line = capture(1, TD_LOG_ERROR, "x\\y");
    assert_true(line[0] == '{');
    assert_non_null(
        strstr(line, "\"level\":\"error\",\"module\":\"host\",\"rc\":\"TD_ERR_PARSE\",\"msg\":\"x\\\\y\"}\n"));
    free(line);
}

static void test_level_filter(void **unused)
{
    (void)unused;
    char *line = capture(0, TD_LOG_DEBUG, "hidden");
    assert_int_equal(strlen(line), 0);
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_line),
        cmocka_unit_test(test_json_line),
        cmocka_unit_test(test_level_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
