/* import_test_util.h - helpers shared by the importer tests (header-only: each test_*.c is its own
 * executable): an event collector, a counting sink, temp files under the build dir, the real-data
 * skip, and a message check.
 */
#ifndef TD_IMPORT_TEST_UTIL_H
#define TD_IMPORT_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "import/import.h"

/* ---- sinks ---- */

typedef struct collect {
    td_event_t *ev;
    size_t len, cap;
} collect_t;

static inline td_err_t collect_sink(void *opaque, const td_event_t *ev)
{
    collect_t *col = opaque;
    if (col->len == col->cap) {
        size_t cap = col->cap ? col->cap * 2 : 1024;
        td_event_t *p = realloc(col->ev, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        col->ev = p;
        col->cap = cap;
    }
    col->ev[col->len++] = *ev;
    return TD_OK;
}

static inline void collect_free(collect_t *col)
{
    free(col->ev);
    memset(col, 0, sizeof *col);
}

/* Counts events and keeps a running checksum so that the compiler cannot skip anything. */
typedef struct counter {
    uint64_t n;
    int64_t sum;
} counter_t;

static inline td_err_t count_sink(void *opaque, const td_event_t *ev)
{
    counter_t *c = opaque;
    c->n++;
    c->sum += ev->kind == TD_EV_TICK ? ev->u.tick.bid : ev->u.bar.close;
    return TD_OK;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- files ---- */

/* Path of the real-data folder entry `rel`; skips the test (with a message) when the folder is absent. */
#define SHARED_OR_SKIP(buf, rel)                                                                             \
    do {                                                                                                     \
        struct stat st_;                                                                                     \
        if (stat(TD_SHARED_DATA, &st_) != 0) {                                                               \
            printf("SKIP: real data folder %s is absent (fresh clone without ../shared)\n", TD_SHARED_DATA); \
            skip();                                                                                          \
        }                                                                                                    \
        snprintf((buf), sizeof(buf), "%s/%s", TD_SHARED_DATA, (rel));                                        \
    } while (0)

/* Writes `len` bytes into TD_TEST_BINARY_DIR/import-tmp/NAME and returns the path in buf. */
static inline void write_tmp(char *buf, size_t buflen, const char *name, const void *data, size_t len)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/import-tmp", TD_TEST_BINARY_DIR);
    mkdir(dir, 0755);
    snprintf(buf, buflen, "%s/%s", dir, name);
    FILE *fp = fopen(buf, "wb");
    assert_non_null(fp);
    if (len)
        assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static inline void write_tmp_str(char *buf, size_t buflen, const char *name, const char *text)
{
    write_tmp(buf, buflen, name, text, strlen(text));
}

/* Imports `path` and expects TD_ERR_PARSE whose message contains every NULL-terminated string. */
static inline void expect_parse_error(const char *path, const td_import_opts_t *opts, ...)
{
    collect_t col = {0};
    td_import_stats_t stats;
    char err[512];
    td_err_t rc = td_import_file(path, opts, collect_sink, &col, &stats, err, sizeof err);
    printf("  %s -> %s: %s\n", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, td_err_name(rc), err);
    assert_int_equal(rc, TD_ERR_PARSE);
    assert_non_null(strstr(err, path));
    va_list ap;
    va_start(ap, opts);
    for (const char *want = va_arg(ap, const char *); want; want = va_arg(ap, const char *)) {
        if (!strstr(err, want))
            fail_msg("message '%s' lacks '%s'", err, want);
    }
    va_end(ap);
    collect_free(&col);
}

static inline td_import_opts_t opts_for(td_import_format_t format, const char *symbol)
{
    td_import_opts_t opts = {.format = format, .symbol = symbol};
    return opts;
}

#endif
