/* test_tape_retire.c - core/tape_sealed.c, the tape's retention (td_tape_retire_day): a retired day reads the same
 * (offsets, stored bytes, events) through iterators and td_tape_read, read-write and read-only,
 * from its sealed file; the day index and later offsets stay; a second retirement is a no-op; the
 * newest day, a day without a sealed file and a sealed file that differs from the tape are
 * refused with nothing removed; a missing or damaged file after retirement is TD_ERR_CORRUPT
 * naming it. */
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
#include "core/tape.h"

typedef struct fix {
    char dir[512];
} fix_t;

static const int64_t T0 = INT64_C(1704153600000); /* 2024-01-02T00:00:00Z */
#define HOUR INT64_C(3600000)
#define DAYS 3
#define PER_DAY 40

static int setup(void **state)
{
    fix_t *fix = calloc(1, sizeof *fix);
    assert_non_null(fix);
    snprintf(fix->dir, sizeof fix->dir, "%s/tmp-test-retire-XXXXXX", TD_TEST_BINARY_DIR);
    assert_non_null(mkdtemp(fix->dir));
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
    free(fix);
    return 0;
}

static td_tape_t *open_tape(const char *dir, bool read_only)
{
    char err[512] = "";
    td_tape_t *tape = NULL;
    td_tape_opts_t opts = {TD_SYNC_NONE, 0, read_only};
    td_err_t rc = td_tape_open(dir, &opts, &tape, err, sizeof err);
    if (rc != TD_OK)
        print_error("open %s: %s\n", dir, err);
    assert_int_equal(rc, TD_OK);
    return tape;
}

/* DAYS days of PER_DAY ticks and PER_DAY / 4 bars each, on EURUSD and GBPUSD (interleaved). */
static void fill(td_tape_t *tape)
{
    static const char *const symbols[2] = {"EURUSD", "GBPUSD"};
    for (int d = 0; d < DAYS; d++) {
        td_tape_batch_t *batch = NULL;
        assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
        for (int i = 0; i < PER_DAY; i++)
            for (int s = 0; s < 2; s++) {
                td_event_t ev;
                int64_t t = T0 + d * 24 * HOUR + i * (HOUR / 2);
                assert_int_equal(td_event_init(&ev, TD_EV_TICK, symbols[s], t), TD_OK);
                ev.ingest_ms = t + 5;
                ev.u.tick = (td_tick_t){
                    .bid = 100000000 + d * 1000 + i, .ask = 100000020 + d * 1000 + i, .volume = 100000000, .flags = 6};
                assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_OK);
                if (i % 4 != 3)
                    continue;
                uint64_t in_offset = ev.offset;
                assert_int_equal(td_event_init(&ev, TD_EV_BAR, symbols[s], t), TD_OK);
                ev.input_offset = in_offset;
                ev.u.bar = (td_bar_t){.timeframe_s = 1800,
                                      .open_time = t - 1800000,
                                      .open = 1,
                                      .high = 3,
                                      .close = 2,
                                      .tick_volume = (uint64_t)i};
                assert_int_equal(td_tape_batch_append(batch, TD_STREAM_OUTPUT, &ev, NULL, 0), TD_OK);
            }
        assert_int_equal(td_tape_commit(tape, batch, NULL, 0), TD_OK);
    }
}

/* Seals (symbol, day) from the tape as compact does; `flip` >= 0 changes that byte of the
 * first input record's stored bytes (a file that differs from the tape). */
static void seal_day(td_tape_t *tape, const char *dir, const char *symbol, uint32_t day, int flip)
{
    td_buf_t content;
    td_buf_init(&content);
    td_seal_header_t header = {.trading_day = day};
    snprintf(header.symbol, sizeof header.symbol, "%s", symbol);
    for (int k = 0; k < 2; k++) {
        td_day_range_t *range = k ? &header.outputs : &header.inputs;
        assert_int_equal(td_tape_day_get(tape, (td_stream_kind_t)k, symbol, day, range, NULL, 0), TD_OK);
        td_tape_iter_t *iter = NULL;
        td_event_t ev;
        assert_int_equal(td_tape_iter_new(tape, (td_stream_kind_t)k, symbol, range->first_offset, &iter, NULL, 0),
                         TD_OK);
        for (uint64_t i = 0; i < range->count; i++) {
            assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_OK);
            td_slice_t raw = td_tape_iter_raw(iter);
            uint8_t copy[4096];
            assert_true(raw.len <= sizeof copy);
            memcpy(copy, raw.ptr, raw.len);
            if (k == 0 && i == 0 && flip >= 0)
                copy[flip] ^= 0x01;
            assert_int_equal(td_seal_add_record(&content, k, ev.offset, (td_slice_t){copy, raw.len}), TD_OK);
        }
        td_tape_iter_destroy(iter);
    }
    char path[4200], folder[4200], err[1024] = "";
    snprintf(folder, sizeof folder, "%s/sealed", dir);
    mkdir(folder, 0755);
    snprintf(folder, sizeof folder, "%s/sealed/%s", dir, symbol);
    mkdir(folder, 0755);
    assert_int_equal(td_seal_path(path, sizeof path, dir, symbol, day), TD_OK);
    unlink(path);
    uint64_t bytes = 0;
    uint8_t sha[TD_SHA256_LEN];
    td_err_t rc = td_seal_write(path, &header, td_buf_slice(&content), 1, 1, &bytes, sha, err, sizeof err);
    if (rc != TD_OK)
        print_error("seal: %s\n", err);
    assert_int_equal(rc, TD_OK);
    td_buf_fini(&content);
}

/* Every event of (kind, symbol) from `from`: offsets, stored bytes and the event, as one buffer. */
static void record_stream(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t from, td_buf_t *out)
{
    td_tape_iter_t *iter = NULL;
    td_event_t ev;
    td_err_t rc;
    char err[1024] = "";
    td_buf_reset(out);
    assert_int_equal(td_tape_iter_new(tape, kind, symbol, from, &iter, err, sizeof err), TD_OK);
    uint64_t expect = from;
    while ((rc = td_tape_iter_next(iter, &ev, err, sizeof err)) == TD_OK) {
        assert_int_equal(ev.offset, expect++);
        td_slice_t raw = td_tape_iter_raw(iter);
        assert_int_equal(td_buf_append(out, &ev.offset, sizeof ev.offset), TD_OK);
        assert_int_equal(td_buf_append(out, raw.ptr, raw.len), TD_OK);
        assert_int_equal(td_buf_append(out, &ev.time_ms, sizeof ev.time_ms), TD_OK);
        assert_int_equal(td_buf_append(out, &ev.kind, sizeof ev.kind), TD_OK);
        /* td_tape_read of the same offset gives the same event */
        td_event_t one;
        assert_int_equal(td_tape_read(tape, kind, symbol, ev.offset, &one, NULL, 0), TD_OK);
        assert_int_equal(one.offset, ev.offset);
        assert_int_equal(one.time_ms, ev.time_ms);
        assert_int_equal(one.kind, ev.kind);
    }
    if (rc != TD_ERR_END)
        print_error("iterate %s from %llu: %s: %s\n", symbol, (unsigned long long)from, td_err_name(rc), err);
    assert_int_equal(rc, TD_ERR_END);
    td_tape_iter_destroy(iter);
}

typedef struct snapshot {
    td_buf_t streams[2][4]; /* kind x (EURUSD from 0, from 5, from the 2nd day's first, GBPUSD from 0) */
    td_day_range_t days[2][DAYS];
    uint64_t next[2];
} snapshot_t;

static void take(td_tape_t *tape, snapshot_t *snap)
{
    memset(snap, 0, sizeof *snap); /* the day ranges are compared as bytes, padding included */
    for (int k = 0; k < 2; k++) {
        td_day_range_t day2;
        assert_int_equal(td_tape_day_get(tape, (td_stream_kind_t)k, "EURUSD", 20240103, &day2, NULL, 0), TD_OK);
        uint64_t from[3] = {0, 5, day2.first_offset};
        for (int i = 0; i < 3; i++) {
            td_buf_init(&snap->streams[k][i]);
            record_stream(tape, (td_stream_kind_t)k, "EURUSD", from[i], &snap->streams[k][i]);
        }
        td_buf_init(&snap->streams[k][3]);
        record_stream(tape, (td_stream_kind_t)k, "GBPUSD", 0, &snap->streams[k][3]);
        for (int d = 0; d < DAYS; d++)
            assert_int_equal(td_tape_day_get(tape, (td_stream_kind_t)k, "EURUSD", 20240102 + (uint32_t)d,
                                             &snap->days[k][d], NULL, 0),
                             TD_OK);
        assert_int_equal(td_tape_stream_end(tape, (td_stream_kind_t)k, "EURUSD", &snap->next[k], NULL, 0), TD_OK);
    }
}

static void assert_same(const snapshot_t *a, const snapshot_t *b)
{
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 4; i++) {
            assert_int_equal(a->streams[k][i].len, b->streams[k][i].len);
            assert_memory_equal(a->streams[k][i].ptr, b->streams[k][i].ptr, a->streams[k][i].len);
        }
        assert_memory_equal(a->days[k], b->days[k], sizeof a->days[k]);
        assert_int_equal(a->next[k], b->next[k]);
    }
}

static void drop(snapshot_t *snap)
{
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 4; i++)
            td_buf_fini(&snap->streams[k][i]);
}

static td_err_t retire(td_tape_t *tape, const char *symbol, uint32_t day, bool *now, char *err, size_t errlen)
{
    err[0] = '\0';
    return td_tape_retire_day(tape, symbol, day, now, err, errlen);
}

/* ---- tests ---- */

static void test_retired_day_reads_the_same(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, false);
    fill(tape);
    snapshot_t before, after;
    take(tape, &before);

    char err[1024];
    bool now = true, retired = true;
    /* no sealed file yet: refused, nothing removed */
    assert_int_equal(retire(tape, "EURUSD", 20240102, &now, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "20240102.tdseal is missing"));
    assert_false(now);
    assert_int_equal(td_tape_day_retired(tape, "EURUSD", 20240102, &retired, NULL, 0), TD_OK);
    assert_false(retired);

    seal_day(tape, fix->dir, "EURUSD", 20240102, -1);
    seal_day(tape, fix->dir, "EURUSD", 20240103, -1);
    td_err_t rc = retire(tape, "EURUSD", 20240102, &now, err, sizeof err);
    if (rc != TD_OK)
        print_error("retire: %s\n", err);
    assert_int_equal(rc, TD_OK);
    assert_true(now);
    assert_int_equal(td_tape_day_retired(tape, "EURUSD", 20240102, &retired, NULL, 0), TD_OK);
    assert_true(retired);
    assert_int_equal(retire(tape, "EURUSD", 20240103, &now, err, sizeof err), TD_OK);
    assert_true(now);
    /* GBPUSD: a retired day between two raw ones */
    seal_day(tape, fix->dir, "GBPUSD", 20240103, -1);
    assert_int_equal(retire(tape, "GBPUSD", 20240103, &now, err, sizeof err), TD_OK);
    assert_true(now);
    take(tape, &after);
    assert_same(&before, &after);
    drop(&after);

    /* twice: nothing more to do */
    assert_int_equal(retire(tape, "EURUSD", 20240102, &now, err, sizeof err), TD_OK);
    assert_false(now);
    /* the newest day keeps its events */
    seal_day(tape, fix->dir, "EURUSD", 20240104, -1);
    assert_int_equal(retire(tape, "EURUSD", 20240104, &now, err, sizeof err), TD_ERR_STATE);
    assert_non_null(strstr(err, "newest day"));
    assert_int_equal(retire(tape, "EURUSD", 20240110, &now, err, sizeof err), TD_ERR_NOT_FOUND);

    /* appends continue at the same offsets, and after a reopen too */
    td_tape_close(tape);
    tape = open_tape(fix->dir, false);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), before.next[0]);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_OUTPUT, "EURUSD"), before.next[1]);
    take(tape, &after);
    assert_same(&before, &after);
    drop(&after);
    td_tape_close(tape);

    /* read-only */
    tape = open_tape(fix->dir, true);
    take(tape, &after);
    assert_same(&before, &after);
    drop(&after);

    /* the events are gone from RocksDB: without the file the day does not read, naming the file */
    char path[4200], moved[4300];
    assert_int_equal(td_seal_path(path, sizeof path, fix->dir, "EURUSD", 20240102), TD_OK);
    snprintf(moved, sizeof moved, "%s.moved", path);
    assert_int_equal(rename(path, moved), 0);
    td_event_t ev;
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 3, &ev, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, path));
    td_tape_iter_t *iter = NULL;
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_OUTPUT, "EURUSD", 0, &iter, NULL, 0), TD_OK);
    err[0] = '\0';
    assert_int_equal(td_tape_iter_next(iter, &ev, err, sizeof err), TD_ERR_CORRUPT); /* the iterator's too */
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "missing"));
    td_tape_iter_destroy(iter);
    /* the other days and symbols still read */
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", before.days[0][1].first_offset, &ev, NULL, 0),
                     TD_OK);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "GBPUSD", 3, &ev, NULL, 0), TD_OK);
    assert_int_equal(rename(moved, path), 0);

    /* a damaged file: TD_ERR_CORRUPT naming the file and the check */
    td_buf_t file;
    td_buf_init(&file);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        assert_int_equal(td_buf_append(&file, chunk, n), TD_OK);
    fclose(f);
    chmod(path, 0644);
    file.ptr[file.len / 2] ^= 0x10;
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(file.ptr, 1, file.len, f), file.len);
    fclose(f);
    td_buf_fini(&file);
    td_tape_close(tape);
    tape = open_tape(fix->dir, true);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 3, &ev, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "damaged"));
    td_tape_close(tape);
    drop(&before);
}

static void test_differing_file_refused(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, false);
    fill(tape);
    snapshot_t before, after;
    take(tape, &before);
    char err[1024];
    bool now = true, retired = true;
    /* a sound file whose first input differs from the tape by one bit */
    seal_day(tape, fix->dir, "GBPUSD", 20240102, 3);
    assert_int_equal(retire(tape, "GBPUSD", 20240102, &now, err, sizeof err), TD_ERR_MISMATCH);
    assert_non_null(strstr(err, "differs from the tape at input offset 0"));
    assert_false(now);
    assert_int_equal(td_tape_day_retired(tape, "GBPUSD", 20240102, &retired, NULL, 0), TD_OK);
    assert_false(retired);
    /* the file of another day under this day's name */
    char path[4200], other[4200];
    assert_int_equal(td_seal_path(path, sizeof path, fix->dir, "GBPUSD", 20240102), TD_OK);
    seal_day(tape, fix->dir, "GBPUSD", 20240103, -1);
    assert_int_equal(td_seal_path(other, sizeof other, fix->dir, "GBPUSD", 20240103), TD_OK);
    unlink(path);
    assert_int_equal(link(other, path), 0);
    assert_int_equal(retire(tape, "GBPUSD", 20240102, &now, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "holds GBPUSD day 20240103"));
    take(tape, &after);
    assert_same(&before, &after);
    drop(&after);
    drop(&before);
    td_tape_close(tape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_retired_day_reads_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_differing_file_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
