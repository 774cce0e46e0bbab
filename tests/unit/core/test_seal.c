/* test_seal.c - core/seal.c: a sealed day file written and read back record by record (same
 * offsets, same bytes), the same bytes for the same content, and every kind of damage refused
 * with TD_ERR_CORRUPT naming the file and the check: a flipped byte in the header, its checksum or
 * the payload, a truncated file, records that do not match the header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/seal.h"

typedef struct fix {
    char dir[512];
    char path[600];
    td_buf_t content;
    td_seal_header_t header;
} fix_t;

#define IN_FIRST 10u
#define IN_COUNT 5u
#define OUT_FIRST 7u
#define OUT_COUNT 3u

/* The bytes of record i of a stream: its length varies (0 included) and its bytes depend on both. */
static size_t record_bytes(int stream, unsigned i, uint8_t *out)
{
    size_t len = (size_t)(i * 37 % 101) + (stream ? 3 : 0);
    for (size_t k = 0; k < len; k++)
        out[k] = (uint8_t)(k * 7 + i * 13 + (unsigned)stream * 101);
    return len;
}

static void add(td_buf_t *content, int stream, uint64_t offset, unsigned i)
{
    uint8_t bytes[256];
    size_t len = record_bytes(stream, i, bytes);
    assert_int_equal(td_seal_add_record(content, stream, offset, (td_slice_t){bytes, len}), TD_OK);
}

static void build(fix_t *fix)
{
    td_buf_reset(&fix->content);
    for (unsigned i = 0; i < IN_COUNT; i++)
        add(&fix->content, 0, IN_FIRST + i, i);
    for (unsigned i = 0; i < OUT_COUNT; i++)
        add(&fix->content, 1, OUT_FIRST + i, i);
    memset(&fix->header, 0, sizeof fix->header);
    snprintf(fix->header.symbol, sizeof fix->header.symbol, "EURUSD");
    fix->header.trading_day = 20240102;
    fix->header.inputs = (td_day_range_t){20240102, IN_FIRST, IN_FIRST + IN_COUNT - 1, IN_COUNT};
    fix->header.outputs = (td_day_range_t){20240102, OUT_FIRST, OUT_FIRST + OUT_COUNT - 1, OUT_COUNT};
    memset(fix->header.day_digest, 0xab, sizeof fix->header.day_digest);
}

static void write_ok(fix_t *fix, const char *path, unsigned threads)
{
    char err[1024] = "";
    uint64_t bytes = 0;
    uint8_t sha[TD_SHA256_LEN];
    td_err_t rc =
        td_seal_write(path, &fix->header, td_buf_slice(&fix->content), 1, threads, &bytes, sha, err, sizeof err);
    if (rc != TD_OK)
        print_error("write %s: %s\n", path, err);
    assert_int_equal(rc, TD_OK);
}

static int setup(void **state)
{
    fix_t *fix = calloc(1, sizeof *fix);
    assert_non_null(fix);
    snprintf(fix->dir, sizeof fix->dir, "%s/tmp-test-seal-XXXXXX", TD_TEST_BINARY_DIR);
    assert_non_null(mkdtemp(fix->dir));
    snprintf(fix->path, sizeof fix->path, "%s/20240102.tdseal", fix->dir);
    td_buf_init(&fix->content);
    build(fix);
    write_ok(fix, fix->path, 1);
    *state = fix;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    chmod(path, 0700);
    return remove(path);
}

static int teardown(void **state)
{
    fix_t *fix = *state;
    nftw(fix->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    td_buf_fini(&fix->content);
    free(fix);
    return 0;
}

static void read_whole(const char *path, td_buf_t *out)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t chunk[4096];
    size_t n;
    td_buf_reset(out);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(td_buf_append(out, chunk, n), TD_OK);
    fclose(f);
}

static void write_whole(const char *path, const uint8_t *p, size_t n)
{
    unlink(path);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}

/* ---- tests ---- */

static void test_read_back(void **state)
{
    fix_t *fix = *state;
    char err[1024] = "";
    td_seal_day_t day;
    td_err_t rc = td_seal_day_load(fix->path, &day, err, sizeof err);
    if (rc != TD_OK)
        print_error("load: %s\n", err);
    assert_int_equal(rc, TD_OK);
    assert_string_equal(day.header.symbol, "EURUSD");
    assert_int_equal(day.header.trading_day, 20240102);
    assert_int_equal(day.header.inputs.first_offset, IN_FIRST);
    assert_int_equal(day.header.inputs.count, IN_COUNT);
    assert_int_equal(day.header.outputs.last_offset, OUT_FIRST + OUT_COUNT - 1);
    assert_int_equal(day.header.content_len, fix->content.len);
    assert_memory_equal(day.content.ptr, fix->content.ptr, fix->content.len);
    for (int stream = 0; stream < 2; stream++) {
        unsigned first = stream ? OUT_FIRST : IN_FIRST, count = stream ? OUT_COUNT : IN_COUNT;
        for (unsigned i = 0; i < count; i++) {
            uint8_t want[256];
            size_t len = record_bytes(stream, i, want);
            td_slice_t got = {NULL, 0};
            assert_int_equal(td_seal_day_get(&day, stream, first + i, &got), TD_OK);
            assert_int_equal(got.len, len);
            if (len)
                assert_memory_equal(got.ptr, want, len);
        }
        td_slice_t none;
        assert_int_equal(td_seal_day_get(&day, stream, first - 1, &none), TD_ERR_NOT_FOUND);
        assert_int_equal(td_seal_day_get(&day, stream, first + count, &none), TD_ERR_NOT_FOUND);
    }
    td_seal_day_fini(&day);

    /* td_seal_verify agrees, with and without the content */
    td_seal_header_t header;
    td_buf_t content;
    td_buf_init(&content);
    uint64_t bytes = 0;
    uint8_t sha[TD_SHA256_LEN];
    assert_int_equal(td_seal_verify(fix->path, &header, &content, &bytes, sha, err, sizeof err), TD_OK);
    assert_int_equal(content.len, fix->content.len);
    assert_memory_equal(content.ptr, fix->content.ptr, content.len);
    assert_int_equal(td_seal_verify(fix->path, &header, NULL, &bytes, sha, err, sizeof err), TD_OK);
    td_buf_fini(&content);

    /* absent: TD_ERR_NOT_FOUND */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/none.tdseal", fix->dir);
    assert_int_equal(td_seal_day_load(missing, &day, err, sizeof err), TD_ERR_NOT_FOUND);
    td_seal_day_fini(&day);
    td_seal_day_fini(NULL);
}

static void test_same_bytes(void **state)
{
    fix_t *fix = *state;
    char again[700], mt[700], mt2[700];
    snprintf(again, sizeof again, "%s/again.tdseal", fix->dir);
    snprintf(mt, sizeof mt, "%s/mt.tdseal", fix->dir);
    snprintf(mt2, sizeof mt2, "%s/mt2.tdseal", fix->dir);
    write_ok(fix, again, 1);
    write_ok(fix, mt, 2);
    write_ok(fix, mt2, 4);
    td_buf_t a, b;
    td_buf_init(&a);
    td_buf_init(&b);
    read_whole(fix->path, &a);
    read_whole(again, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    read_whole(mt, &a);
    read_whole(mt2, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.ptr, b.ptr, a.len);
    /* an existing file is never replaced */
    char err[1024] = "";
    uint64_t bytes = 0;
    uint8_t sha[TD_SHA256_LEN];
    assert_int_equal(
        td_seal_write(fix->path, &fix->header, td_buf_slice(&fix->content), 1, 1, &bytes, sha, err, sizeof err),
        TD_ERR_EXISTS);
    td_buf_fini(&a);
    td_buf_fini(&b);
}

/* Loads a copy of the file with byte `at` changed; returns the code, the message in err. */
static td_err_t load_damaged(fix_t *fix, size_t at, char *err, size_t errlen, char *copy, size_t copylen)
{
    td_buf_t file;
    td_buf_init(&file);
    read_whole(fix->path, &file);
    assert_true(at < file.len);
    file.ptr[at] ^= 0x5a;
    snprintf(copy, copylen, "%s/damaged.tdseal", fix->dir);
    write_whole(copy, file.ptr, file.len);
    td_buf_fini(&file);
    td_seal_day_t day;
    td_err_t rc = td_seal_day_load(copy, &day, err, errlen);
    td_seal_day_fini(&day);
    return rc;
}

static void test_damage_refused(void **state)
{
    fix_t *fix = *state;
    struct stat st;
    assert_int_equal(stat(fix->path, &st), 0);
    size_t size = (size_t)st.st_size;
    const struct {
        size_t at;
        const char *what;
    } cases[] = {
        {0, "not a tapedeck sealed file"},
        {20, "the header's SHA-256 does not match"},        /* the symbol */
        {50, "the header's SHA-256 does not match"},        /* the input range */
        {130, "the header's SHA-256 does not match"},       /* the content length */
        {190, "the header's SHA-256 does not match"},       /* the checksum itself */
        {TD_SEAL_HEADER_LEN + 2, "damaged"},                /* the xz stream header */
        {TD_SEAL_HEADER_LEN + (size - 208) / 2, "damaged"}, /* inside the payload */
        {size - 1, "damaged"},                              /* the xz footer */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[1024] = "", copy[700];
        td_err_t rc = load_damaged(fix, cases[i].at, err, sizeof err, copy, sizeof copy);
        if (rc != TD_ERR_CORRUPT || !strstr(err, cases[i].what) || !strstr(err, copy))
            print_error("byte %zu: %s: %s\n", cases[i].at, td_err_name(rc), err);
        assert_int_equal(rc, TD_ERR_CORRUPT);
        assert_non_null(strstr(err, cases[i].what));
        assert_non_null(strstr(err, copy)); /* the message names the file */
    }
    /* another format version */
    char err[1024] = "", copy[700];
    assert_int_equal(load_damaged(fix, 11, err, sizeof err, copy, sizeof copy), TD_ERR_UNSUPPORTED);

    /* truncated */
    td_buf_t file;
    td_buf_init(&file);
    read_whole(fix->path, &file);
    write_whole(copy, file.ptr, file.len - 10);
    td_seal_day_t day;
    assert_int_equal(td_seal_day_load(copy, &day, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "payload bytes"));
    td_seal_day_fini(&day);
    write_whole(copy, file.ptr, 100);
    assert_int_equal(td_seal_day_load(copy, &day, err, sizeof err), TD_ERR_CORRUPT);
    td_seal_day_fini(&day);
    td_buf_fini(&file);
}

/* Writes the fixture's content under a header that does not describe it, expects `what`. */
static void expect_mismatch(fix_t *fix, const char *name, const char *what)
{
    char path[700], err[1024] = "";
    snprintf(path, sizeof path, "%s/%s.tdseal", fix->dir, name);
    write_ok(fix, path, 1);
    td_seal_day_t day;
    td_err_t rc = td_seal_day_load(path, &day, err, sizeof err);
    if (rc != TD_ERR_CORRUPT || !strstr(err, what))
        print_error("%s: %s: %s\n", name, td_err_name(rc), err);
    assert_int_equal(rc, TD_ERR_CORRUPT);
    assert_non_null(strstr(err, what));
    assert_non_null(strstr(err, path));
    td_seal_day_fini(&day);
}

static void test_records_match_header(void **state)
{
    fix_t *fix = *state;
    /* one input more than the content holds: the first output record is where it expects one */
    fix->header.inputs.last_offset++;
    fix->header.inputs.count++;
    expect_mismatch(fix, "more", "is not input offset 15");
    build(fix);
    /* the inputs start elsewhere */
    fix->header.inputs.first_offset = 11;
    fix->header.inputs.last_offset = 15;
    expect_mismatch(fix, "shifted", "is not input offset 11");
    build(fix);
    /* a count that does not fit the range */
    fix->header.outputs.count = 2;
    expect_mismatch(fix, "count", "announces 2 events");
    build(fix);
    /* records after the announced ones */
    fix->header.outputs.last_offset--;
    fix->header.outputs.count--;
    expect_mismatch(fix, "trailing", "content bytes after the last record");
    build(fix);
    /* more records than the content could hold */
    fix->header.outputs.last_offset = 1000000;
    fix->header.outputs.count = 1000000 - OUT_FIRST + 1;
    expect_mismatch(fix, "huge", "records announced");
}

/* The path of a sealed day is made only from a symbol that follows the one rule: a name from
 * outside can never take it out of DATA_DIR/sealed/ (issue 19, defect 5). */
static void test_path_refuses_bad_symbols(void **unused)
{
    (void)unused;
    char path[256];
    assert_int_equal(td_seal_path(path, sizeof path, "/data", "EURUSD", 20240102), TD_OK);
    assert_string_equal(path, "/data/sealed/EURUSD/20240102.tdseal");
    assert_int_equal(td_seal_path(path, sizeof path, "/data", "../../escaped", 20240102), TD_ERR_INVALID);
    assert_int_equal(td_seal_path(path, sizeof path, "/data", "..", 20240102), TD_ERR_INVALID);
    assert_int_equal(td_seal_path(path, sizeof path, "/data", "a/b", 20240102), TD_ERR_INVALID);
    assert_int_equal(td_seal_path(path, 20, "/data", "EURUSD", 20240102), TD_ERR_INVALID); /* too long */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_refuses_bad_symbols),
        cmocka_unit_test_setup_teardown(test_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_match_header, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
