/* test_tape.c - core/tape.c and the files it is split into (tape_batch.c, tape_kv.c, tape_iter.c,
 * tape_days.c; retirement: test_tape_retire.c): streams, offsets, the day index, state and meta,
 * atomic batches, reopen and read-only opens, corruption detection, every failure's detail in the
 * caller's errbuf, crash safety under SIGKILL, and the append speed (printed, not asserted). Every test works in its
 * own temporary directory under the build directory and removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <rocksdb/c.h>

#include "core/codec.h"
#include "core/tape.h"
#include "core/timeutil.h"

/* ---- fixtures ---- */

typedef struct fix {
    char dir[512];
} fix_t;

static int setup(void **state)
{
    fix_t *fix = calloc(1, sizeof *fix);
    assert_non_null(fix);
    snprintf(fix->dir, sizeof fix->dir, "%s/tmp-test-tape-XXXXXX", TD_TEST_BINARY_DIR);
    assert_non_null(mkdtemp(fix->dir));
    *state = fix;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fix_t *fix = *state;
    nftw(fix->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(fix);
    return 0;
}

static td_tape_t *open_tape(const char *dir, const td_tape_opts_t *opts)
{
    char err[512] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_tape_open(dir, opts, &tape, err, sizeof err);
    if (rc != TD_OK)
        print_error("open %s: %s: %s\n", dir, td_err_name(rc), err);
    assert_int_equal(rc, TD_OK);
    assert_non_null(tape);
    return tape;
}

static const int64_t T0 = INT64_C(1704153600000); /* 2024-01-02T00:00:00Z */
#define HOUR INT64_C(3600000)

static void make_tick(td_event_t *ev, const char *symbol, int64_t time_ms, int64_t bid)
{
    assert_int_equal(td_event_init(ev, TD_EV_TICK, symbol, time_ms), TD_OK);
    assert_int_equal(td_event_set_str(ev->source, sizeof ev->source, "test"), TD_OK);
    ev->ingest_ms = INT64_C(1700000000005);
    ev->u.tick = (td_tick_t){.bid = bid, .ask = bid + 20, .volume = 100000000, .flags = 6};
}

static void make_bar(td_event_t *ev, const char *symbol, int64_t time_ms, uint64_t input_offset)
{
    assert_int_equal(td_event_init(ev, TD_EV_BAR, symbol, time_ms), TD_OK);
    ev->input_offset = input_offset;
    ev->u.bar = (td_bar_t){.timeframe_s = 1800,
                           .open_time = time_ms - 1800000,
                           .open = 1,
                           .high = 3,
                           .low = 0,
                           .close = 2,
                           .tick_volume = 7};
}

static void append_ok(td_tape_batch_t *batch, td_stream_kind_t kind, td_event_t *ev)
{
    td_err_t rc = td_tape_batch_append(batch, kind, ev, NULL, 0);
    assert_int_equal(rc, TD_OK);
}

static void commit_ok(td_tape_t *tape, td_tape_batch_t *batch)
{
    char err[512] = "";
    td_err_t rc = td_tape_commit(tape, batch, err, sizeof err);
    if (rc != TD_OK) {
        print_error("commit: %s: %s\n", td_err_name(rc), err);
    }
    assert_int_equal(rc, TD_OK);
}

/* Appends n ticks to symbol, one commit, times from t with step ms apart. */
static void append_ticks(td_tape_t *tape, const char *symbol, int n, int64_t t, int64_t step)
{
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < n; i++) {
        td_event_t ev;
        make_tick(&ev, symbol, t + i * step, 100000000 + i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
    }
    commit_ok(tape, batch);
}

/* Iterates (kind, symbol) from `from` and checks offsets from..next-1 without gaps; returns count. */
static uint64_t check_contiguous(td_tape_t *tape, td_stream_kind_t kind, const char *symbol, uint64_t from)
{
    td_tape_iter_t *iter = NULL;
    td_event_t ev;
    uint64_t expect = from;
    td_err_t rc;
    assert_int_equal(td_tape_iter_new(tape, kind, symbol, from, &iter, NULL, 0), TD_OK);
    while ((rc = td_tape_iter_next(iter, &ev, NULL, 0)) == TD_OK) {
        assert_int_equal(ev.offset, expect);
        assert_string_equal(ev.symbol, symbol);
        expect++;
    }
    assert_int_equal(rc, TD_ERR_END);
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_ERR_END); /* stays at the end */
    td_tape_iter_destroy(iter);
    return expect - from;
}

/* ---- callbacks ---- */

typedef struct names {
    char items[16][64];
    int n;
} names_t;

static td_err_t collect_name(void *opaque, const char *name)
{
    names_t *names = opaque;
    if (names->n == 16)
        return TD_ERR_OVERFLOW;
    snprintf(names->items[names->n++], sizeof names->items[0], "%s", name);
    return TD_OK;
}

typedef struct days {
    td_day_range_t items[64];
    int n;
} days_t;

static td_err_t collect_day(void *opaque, const td_day_range_t *range)
{
    days_t *days = opaque;
    if (days->n == 64)
        return TD_ERR_OVERFLOW;
    days->items[days->n++] = *range;
    return TD_OK;
}

/* ---- tests ---- */

static void test_append_read_iterate(void **state)
{
    fix_t *fix = *state;
    td_tape_opts_t opts = {0};
    td_tape_t *tape = open_tape(fix->dir, &opts);
    const char *syms[] = {"XAUUSD", "EURUSD", "GER40.cash", "EUR"}; /* EUR is a prefix of EURUSD */
    td_tape_batch_t *batch = NULL;

    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
    uint64_t outs[4] = {0};
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < 40; i++) {
        td_event_t ev;
        const char *sym = syms[i % 4];
        make_tick(&ev, sym, T0 + i * 1000, 100000000 + i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
        assert_int_equal(ev.offset, (uint64_t)(i / 4));
        if (i % 6 == 0) { /* outputs for XAUUSD (i = 0, 12, 24, 36) and GER40.cash (6, 18, 30) */
            make_bar(&ev, sym, T0 + i * 1000, (uint64_t)(i / 4));
            append_ok(batch, TD_STREAM_OUTPUT, &ev);
            assert_int_equal(ev.offset, outs[i % 4]++);
        }
    }
    assert_int_equal(td_tape_batch_events(batch), 47);
    /* nothing visible before the commit */
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 0);
    commit_ok(tape, batch);

    /* a read-only reader next to a writer without fsync still sees the commit (it replays the WAL) */
    td_tape_opts_t ro = {.read_only = true};
    td_tape_t *reader = open_tape(fix->dir, &ro);
    assert_int_equal(check_contiguous(reader, TD_STREAM_INPUT, "GER40.cash", 0), 10);
    td_tape_close(reader);

    for (int s = 0; s < 4; s++) {
        assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, syms[s]), 10);
        assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, syms[s], 0), 10);
        assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, syms[s], 7), 3);
        assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, syms[s], 10), 0);
        assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, syms[s], 99), 0);
    }
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_OUTPUT, "XAUUSD"), 4);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_OUTPUT, "EURUSD"), 0);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_OUTPUT, "GER40.cash"), 3);
    assert_int_equal(check_contiguous(tape, TD_STREAM_OUTPUT, "XAUUSD", 0), 4);
    assert_int_equal(check_contiguous(tape, TD_STREAM_OUTPUT, "GER40.cash", 0), 3);

    /* read one event: every field as appended, offset restored from the key */
    td_event_t want, got;
    make_tick(&want, "EURUSD", T0 + (4 * 6 + 1) * 1000, 100000000 + 4 * 6 + 1);
    want.offset = 6;
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 6, &got, NULL, 0), TD_OK);
    assert_true(got.ingest_ms > 1700000000000); /* stamped by the tape with the wall clock */
    want.ingest_ms = got.ingest_ms;
    assert_memory_equal(&want, &got, sizeof want);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 10, &got, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "NOPE", 0, &got, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_read(tape, TD_STREAM_OUTPUT, "XAUUSD", 1, &got, NULL, 0), TD_OK);
    assert_int_equal(got.kind, TD_EV_BAR);
    assert_int_equal(got.input_offset, 3); /* i = 12 */

    /* raw bytes are the codec's encoding without offset */
    td_tape_iter_t *iter = NULL;
    td_buf_t enc;
    td_buf_init(&enc);
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 6, &iter, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_next(iter, &got, NULL, 0), TD_OK);
    assert_int_equal(td_codec_encode(&want, TD_CODEC_NO_OFFSET, &enc), TD_OK);
    td_slice_t raw = td_tape_iter_raw(iter);
    assert_int_equal(raw.len, enc.len);
    assert_memory_equal(raw.ptr, enc.ptr, enc.len);
    td_tape_iter_destroy(iter);
    td_buf_fini(&enc);

    /* an iterator is a snapshot: later commits are not in it */
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EUR", 0, &iter, NULL, 0), TD_OK);
    append_ticks(tape, "EUR", 5, T0 + HOUR, 1000);
    uint64_t n = 0;
    while (td_tape_iter_next(iter, &got, NULL, 0) == TD_OK)
        n++;
    assert_int_equal(n, 10);
    td_tape_iter_destroy(iter);
    assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, "EUR", 0), 15);

    /* symbols in byte order */
    names_t names = {0};
    assert_int_equal(td_tape_symbols(tape, TD_STREAM_INPUT, collect_name, &names, NULL, 0), TD_OK);
    assert_int_equal(names.n, 4);
    assert_string_equal(names.items[0], "EUR");
    assert_string_equal(names.items[1], "EURUSD");
    assert_string_equal(names.items[2], "GER40.cash");
    assert_string_equal(names.items[3], "XAUUSD");
    memset(&names, 0, sizeof names);
    assert_int_equal(td_tape_symbols(tape, TD_STREAM_OUTPUT, collect_name, &names, NULL, 0), TD_OK);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.items[0], "GER40.cash");
    assert_string_equal(names.items[1], "XAUUSD");
    td_tape_close(tape);
}

/* The writer's stream map: the streams it appended to or looked up, non-empty only, no RocksDB
 * scan; a reopened handle knows none until it looks them up. */
static void test_known_symbols(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    append_ticks(tape, "XAUUSD", 3, T0, 1000);
    append_ticks(tape, "EURUSD", 2, T0, 1000);
    td_tape_batch_t *batch = NULL;
    td_event_t ev;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_bar(&ev, "EURUSD", T0, 1);
    append_ok(batch, TD_STREAM_OUTPUT, &ev);
    commit_ok(tape, batch);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "NOPE"), 0); /* looked up, empty */

    names_t names = {0};
    assert_int_equal(td_tape_known_symbols(tape, TD_STREAM_INPUT, collect_name, &names), TD_OK);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.items[0], "XAUUSD"); /* the order first seen */
    assert_string_equal(names.items[1], "EURUSD");
    memset(&names, 0, sizeof names);
    assert_int_equal(td_tape_known_symbols(tape, TD_STREAM_OUTPUT, collect_name, &names), TD_OK);
    assert_int_equal(names.n, 1);
    assert_string_equal(names.items[0], "EURUSD");
    td_tape_close(tape);

    tape = open_tape(fix->dir, NULL);
    memset(&names, 0, sizeof names);
    assert_int_equal(td_tape_known_symbols(tape, TD_STREAM_INPUT, collect_name, &names), TD_OK);
    assert_int_equal(names.n, 0);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 2);
    assert_int_equal(td_tape_known_symbols(tape, TD_STREAM_INPUT, collect_name, &names), TD_OK);
    assert_int_equal(names.n, 1);
    assert_string_equal(names.items[0], "EURUSD");
    assert_int_equal(td_tape_known_symbols(tape, (td_stream_kind_t)99, collect_name, &names), TD_ERR_INVALID);
    td_tape_close(tape);
}

/* td_symbol_list_add keeps each name once and refuses a name it would have to cut. */
static void test_symbol_list(void **state)
{
    (void)state;
    td_symbol_list_t list = {0};
    char err[256] = "";
    char longname[TD_SYMBOL_MAX + 2];
    memset(longname, 'X', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';

    assert_int_equal(td_symbol_list_add(&list, "EURUSD", err, sizeof err), TD_OK);
    assert_int_equal(td_symbol_list_add(&list, "XAUUSD", err, sizeof err), TD_OK);
    assert_int_equal(td_symbol_list_add(&list, "EURUSD", err, sizeof err), TD_OK);
    assert_int_equal(list.len, 2);
    assert_int_equal(td_symbol_list_add(&list, longname, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "longer than 31 bytes"));
    assert_non_null(strstr(err, "XXXXXXXX"));
    longname[TD_SYMBOL_MAX] = '\0'; /* exactly TD_SYMBOL_MAX bytes fits */
    assert_int_equal(td_symbol_list_add(&list, longname, err, sizeof err), TD_OK);
    assert_int_equal(td_symbol_list_add(&list, "", err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "empty symbol"));
    assert_int_equal(list.len, 3);
    assert_string_equal(list.names[0], "EURUSD");
    assert_string_equal(list.names[2], longname);
    td_symbol_list_fini(&list);
}

static void test_invalid(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    td_tape_batch_t *batch = NULL;
    td_event_t ev;
    char err[512];

    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_tick(&ev, "EURUSD", T0, 1);
    memset(ev.symbol, 'A', sizeof ev.symbol); /* 32 bytes, no NUL: longer than TD_SYMBOL_MAX */
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    ev.symbol[0] = '\0';
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    make_tick(&ev, "EURUSD", T0, 1);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_OUTPUT, &ev, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "output"));
    make_bar(&ev, "EURUSD", T0, 0);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    make_tick(&ev, "EURUSD", INT64_MAX, 1);
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    make_tick(&ev, "EURUSD", T0, 1);
    ev.kind = (td_event_kind_t)77;
    assert_int_equal(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_batch_put_state(batch, "", "x", 1, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_batch_events(batch), 0);
    /* the batch is still usable after refused appends */
    make_tick(&ev, "EURUSD", T0, 1);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    assert_int_equal(ev.offset, 0);
    commit_ok(tape, batch);

    char longsym[TD_SYMBOL_MAX + 2];
    memset(longsym, 'L', sizeof longsym - 1);
    longsym[sizeof longsym - 1] = '\0';
    td_tape_iter_t *iter = NULL;
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, longsym, 0, &iter, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, longsym, 0, &ev, NULL, 0), TD_ERR_INVALID);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, longsym), 0);
    td_day_range_t range;
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "", 20240102, &range, NULL, 0), TD_ERR_INVALID);
    td_tape_close(tape);

    td_tape_opts_t bad = {.day_offset_minutes = 1440};
    assert_int_equal(td_tape_open(fix->dir, &bad, &tape, err, sizeof err), TD_ERR_INVALID);
    assert_null(tape);
    td_tape_close(NULL);
    td_tape_batch_destroy(NULL);
    td_tape_iter_destroy(NULL);
}

static void test_day_index(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    td_tape_batch_t *batch = NULL;
    td_event_t ev;
    /* day 1: offsets 0..2; day 2: 3..5 plus a late tick from day 1 at 6; day 3: 7 */
    const int64_t times[] = {
        T0 + 1 * HOUR,  T0 + 2 * HOUR,  T0 + 23 * HOUR,     T0 + 25 * HOUR,
        T0 + 26 * HOUR, T0 + 27 * HOUR, T0 + 23 * HOUR + 1, /* late: belongs to 01-02, stays in 01-03 */
        T0 + 49 * HOUR};
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < 5; i++) {
        make_tick(&ev, "EURUSD", times[i], i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
    }
    commit_ok(tape, batch);
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 5; i < 8; i++) {
        make_tick(&ev, "EURUSD", times[i], i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
    }
    commit_ok(tape, batch);

    td_day_range_t range;
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240102, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 0);
    assert_int_equal(range.last_offset, 2);
    assert_int_equal(range.count, 3);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240103, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 3);
    assert_int_equal(range.last_offset, 6);
    assert_int_equal(range.count, 4);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240104, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 7);
    assert_int_equal(range.last_offset, 7);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240105, &range, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_OUTPUT, "EURUSD", 20240102, &range, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EUR", 20240102, &range, NULL, 0), TD_ERR_NOT_FOUND);

    days_t days = {0};
    assert_int_equal(td_tape_days(tape, TD_STREAM_INPUT, "EURUSD", collect_day, &days, NULL, 0), TD_OK);
    assert_int_equal(days.n, 3);
    assert_int_equal(days.items[0].trading_day, 20240102);
    assert_int_equal(days.items[1].trading_day, 20240103);
    assert_int_equal(days.items[2].trading_day, 20240104);
    /* the days tile the stream */
    for (int i = 1; i < days.n; i++)
        assert_int_equal(days.items[i].first_offset, days.items[i - 1].last_offset + 1);
    memset(&days, 0, sizeof days);
    assert_int_equal(td_tape_days(tape, TD_STREAM_INPUT, "EUR", collect_day, &days, NULL, 0), TD_OK);
    assert_int_equal(days.n, 0);

    /* after a reopen the last day is recovered: a late tick still joins 01-04 */
    td_tape_close(tape);
    tape = open_tape(fix->dir, NULL);
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_tick(&ev, "EURUSD", T0, 99);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    assert_int_equal(ev.offset, 8);
    commit_ok(tape, batch);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240104, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 7);
    assert_int_equal(range.last_offset, 8);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240102, &range, NULL, 0), TD_OK);
    assert_int_equal(range.last_offset, 2);
    td_tape_close(tape);
}

static void test_day_offset(void **state)
{
    fix_t *fix = *state;
    td_tape_opts_t opts = {.day_offset_minutes = 420}; /* the day rolls at 17:00 UTC */
    td_tape_t *tape = open_tape(fix->dir, &opts);
    assert_int_equal(td_tape_day_offset_minutes(tape), 420);
    td_tape_batch_t *batch = NULL;
    td_event_t ev;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_tick(&ev, "USDJPY", T0 + 16 * HOUR + 59 * 60000, 1); /* 16:59 UTC 01-02 -> day 01-02 */
    append_ok(batch, TD_STREAM_INPUT, &ev);
    make_tick(&ev, "USDJPY", T0 + 17 * HOUR, 2); /* 17:00 UTC 01-02 -> day 01-03 */
    append_ok(batch, TD_STREAM_INPUT, &ev);
    make_tick(&ev, "USDJPY", T0 + 30 * HOUR, 3); /* 06:00 UTC 01-03 -> still day 01-03 */
    append_ok(batch, TD_STREAM_INPUT, &ev);
    make_bar(&ev, "USDJPY", T0 + 17 * HOUR, 1); /* output stream: its own index */
    append_ok(batch, TD_STREAM_OUTPUT, &ev);
    commit_ok(tape, batch);
    assert_int_equal(td_time_trading_day(T0 + 17 * HOUR, 420), 20240103);

    td_day_range_t range;
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "USDJPY", 20240102, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 0);
    assert_int_equal(range.last_offset, 0);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "USDJPY", 20240103, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 1);
    assert_int_equal(range.last_offset, 2);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_OUTPUT, "USDJPY", 20240103, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 0);
    assert_int_equal(range.count, 1);
    td_tape_close(tape);
}

static void test_state_and_meta(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    td_tape_batch_t *batch = NULL;
    td_buf_t val;
    td_event_t ev;
    td_buf_init(&val);

    assert_int_equal(td_tape_get_state(tape, "proc/EURUSD", &val, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_tick(&ev, "EURUSD", T0, 1);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    const uint8_t blob[] = {0x00, 0x01, 0xff, 0x00}; /* opaque bytes, NULs included */
    assert_int_equal(td_tape_batch_put_state(batch, "proc/EURUSD", blob, sizeof blob, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_put_state(batch, "proc/XAUUSD", "x", 1, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_put_state(batch, "offset/EURUSD", "0", 1, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_put_state(batch, "proc/EURUSD", blob, sizeof blob - 1, NULL, 0),
                     TD_OK); /* last wins */
    assert_int_equal(td_tape_batch_put_state(batch, "empty", NULL, 0, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_put_meta(batch, "import/file.csv", "sha", 3, NULL, 0), TD_OK);
    /* meta and state are separate spaces */
    assert_int_equal(td_tape_get_meta(tape, "import/file.csv", &val, NULL, 0), TD_ERR_NOT_FOUND);
    commit_ok(tape, batch);

    assert_int_equal(td_tape_get_state(tape, "proc/EURUSD", &val, NULL, 0), TD_OK);
    assert_int_equal(val.len, 3);
    assert_memory_equal(val.ptr, blob, 3);
    assert_int_equal(td_tape_get_state(tape, "empty", &val, NULL, 0), TD_OK);
    assert_int_equal(val.len, 0);
    assert_int_equal(td_tape_get_meta(tape, "import/file.csv", &val, NULL, 0), TD_OK);
    assert_int_equal(val.len, 3);
    assert_memory_equal(val.ptr, "sha", 3);
    assert_int_equal(td_tape_get_state(tape, "import/file.csv", &val, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_get_meta(tape, "proc/EURUSD", &val, NULL, 0), TD_ERR_NOT_FOUND);

    names_t names = {0};
    assert_int_equal(td_tape_state_keys(tape, "proc/", collect_name, &names, NULL, 0), TD_OK);
    assert_int_equal(names.n, 2);
    assert_string_equal(names.items[0], "proc/EURUSD");
    assert_string_equal(names.items[1], "proc/XAUUSD");
    memset(&names, 0, sizeof names);
    assert_int_equal(td_tape_state_keys(tape, "", collect_name, &names, NULL, 0), TD_OK);
    assert_int_equal(names.n, 4);
    assert_string_equal(names.items[0], "empty");
    memset(&names, 0, sizeof names);
    assert_int_equal(td_tape_state_keys(tape, "zzz", collect_name, &names, NULL, 0), TD_OK);
    assert_int_equal(names.n, 0);
    td_buf_fini(&val);
    td_tape_close(tape);
}

static void test_atomicity(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    td_tape_batch_t *batch = NULL, *other = NULL;
    td_event_t ev;
    td_buf_t val;
    td_buf_init(&val);

    append_ticks(tape, "EURUSD", 3, T0, 1000);
    /* a batch destroyed without commit leaves nothing */
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < 100; i++) {
        make_tick(&ev, i % 2 ? "EURUSD" : "GBPUSD", T0 + 48 * HOUR + i, i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
    }
    assert_int_equal(td_tape_batch_put_state(batch, "k", "v", 1, NULL, 0), TD_OK);
    td_tape_batch_destroy(batch);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 3);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "GBPUSD"), 0);
    assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, "EURUSD", 0), 3);
    assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, "GBPUSD", 0), 0);
    assert_int_equal(td_tape_get_state(tape, "k", &val, NULL, 0), TD_ERR_NOT_FOUND);
    td_day_range_t range;
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240104, &range, NULL, 0), TD_ERR_NOT_FOUND);
    /* the next batch starts where the committed stream ends, in the committed day */
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_tick(&ev, "EURUSD", T0 + 5000, 1);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    assert_int_equal(ev.offset, 3);
    commit_ok(tape, batch);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240102, &range, NULL, 0), TD_OK);
    assert_int_equal(range.last_offset, 3);

    /* two open batches on one stream: the second commit is refused, nothing of it lands */
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    assert_int_equal(td_tape_batch_new(tape, &other, NULL, 0), TD_OK);
    make_tick(&ev, "EURUSD", T0 + 6000, 1);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    make_tick(&ev, "EURUSD", T0 + 7000, 2);
    append_ok(other, TD_STREAM_INPUT, &ev);
    assert_int_equal(ev.offset, 4);
    assert_int_equal(td_tape_batch_put_state(other, "k", "v", 1, NULL, 0), TD_OK);
    commit_ok(tape, batch);
    assert_int_equal(td_tape_commit(tape, other, NULL, 0), TD_ERR_ORDER);
    assert_int_equal(td_tape_get_state(tape, "k", &val, NULL, 0), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 5);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 4, &ev, NULL, 0), TD_OK);
    assert_int_equal(ev.time_ms, T0 + 6000);
    /* the refusal is not sticky: the tape still takes batches */
    append_ticks(tape, "EURUSD", 1, T0 + 8000, 1);
    assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, "EURUSD", 0), 6);
    td_buf_fini(&val);
    td_tape_close(tape);
}

static void test_reopen_and_read_only(void **state)
{
    fix_t *fix = *state;
    td_tape_opts_t opts = {.sync = TD_SYNC_COMMIT};
    td_tape_t *tape = open_tape(fix->dir, &opts);
    char err[512];
    append_ticks(tape, "EURUSD", 50, T0, 3 * HOUR); /* spans 7 days */
    append_ticks(tape, "XAUUSD", 7, T0, 1000);
    td_tape_batch_t *batch = NULL;
    td_event_t ev;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    make_bar(&ev, "EURUSD", T0, 3);
    append_ok(batch, TD_STREAM_OUTPUT, &ev);
    assert_int_equal(td_tape_batch_put_state(batch, "s", "1", 1, NULL, 0), TD_OK);
    commit_ok(tape, batch);

    /* a reader next to the writer sees what was committed */
    td_tape_opts_t ro = {.read_only = true};
    td_tape_t *reader = open_tape(fix->dir, &ro);
    assert_int_equal(td_tape_next_offset(reader, TD_STREAM_INPUT, "EURUSD"), 50);
    assert_int_equal(check_contiguous(reader, TD_STREAM_INPUT, "EURUSD", 0), 50);
    assert_int_equal(check_contiguous(reader, TD_STREAM_OUTPUT, "EURUSD", 0), 1);
    td_buf_t val;
    td_buf_init(&val);
    assert_int_equal(td_tape_get_state(reader, "s", &val, NULL, 0), TD_OK);
    td_buf_fini(&val);
    days_t days = {0};
    assert_int_equal(td_tape_days(reader, TD_STREAM_INPUT, "EURUSD", collect_day, &days, NULL, 0), TD_OK);
    assert_int_equal(days.n, 7);
    assert_int_equal(td_tape_batch_new(reader, &batch, NULL, 0), TD_ERR_STATE);
    assert_null(batch);
    td_tape_close(reader);

    td_tape_close(tape);
    /* a second writer on an open tape is refused by RocksDB's lock */
    tape = open_tape(fix->dir, &opts);
    td_tape_t *second = NULL;
    assert_int_equal(td_tape_open(fix->dir, &opts, &second, err, sizeof err), TD_ERR_STORE);
    assert_null(second);
    assert_true(strlen(err) > 0);
    td_tape_close(tape);

    /* reopen: next offsets and days come back from the DB */
    tape = open_tape(fix->dir, NULL);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "EURUSD"), 50);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_INPUT, "XAUUSD"), 7);
    assert_int_equal(td_tape_next_offset(tape, TD_STREAM_OUTPUT, "EURUSD"), 1);
    append_ticks(tape, "XAUUSD", 3, T0 + 2000, 1000);
    assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, "XAUUSD", 0), 10);
    td_day_range_t range;
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "XAUUSD", 20240102, &range, NULL, 0), TD_OK);
    assert_int_equal(range.first_offset, 0);
    assert_int_equal(range.last_offset, 9);
    td_tape_close(tape);

    /* read-only on a missing tape */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/none", fix->dir);
    assert_int_equal(td_tape_open(missing, &ro, &second, err, sizeof err), TD_ERR_NOT_FOUND);
}

/* DIR/tape opened behind the tape's back (fault injection); raw_close closes it. */
enum { RAW_INPUT = 1, RAW_DAY = 3, RAW_N_CF = 7 };
typedef struct raw_db {
    rocksdb_t *db;
    rocksdb_options_t *o;
    rocksdb_column_family_handle_t *cf[RAW_N_CF];
} raw_db_t;

static void raw_open(const char *dir, raw_db_t *raw)
{
    const char *names[RAW_N_CF] = {"default", "input", "output", "day", "state", "meta", "history"};
    const rocksdb_options_t *cfo[RAW_N_CF];
    char path[600], *err = NULL;
    raw->o = rocksdb_options_create();
    for (int i = 0; i < RAW_N_CF; i++)
        cfo[i] = raw->o;
    snprintf(path, sizeof path, "%s/tape", dir);
    raw->db = rocksdb_open_column_families(raw->o, path, RAW_N_CF, names, cfo, raw->cf, &err);
    assert_null(err);
}

static void raw_close(raw_db_t *raw)
{
    for (int i = 0; i < RAW_N_CF; i++)
        rocksdb_column_family_handle_destroy(raw->cf[i]);
    rocksdb_close(raw->db);
    rocksdb_options_destroy(raw->o);
}

/* Puts key -> val into column family cf of the tape in DIR, behind its back. */
static void raw_put(const char *dir, int cf, const void *key, size_t klen, const void *val, size_t vlen)
{
    raw_db_t raw;
    char *err = NULL;
    raw_open(dir, &raw);
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_put_cf(raw.db, wo, raw.cf[cf], key, klen, val, vlen, &err);
    assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    raw_close(&raw);
}

/* Deletes the event at delete_offset and puts bytes that do not decode at garbage_offset. */
static void damage(const char *dir, const char *symbol, uint64_t delete_offset, uint64_t garbage_offset)
{
    raw_db_t raw;
    char *err = NULL;
    raw_open(dir, &raw);
    rocksdb_t *db = raw.db;
    rocksdb_column_family_handle_t **cf = raw.cf;
    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    uint8_t key[64];
    size_t n = strlen(symbol);
    memcpy(key, symbol, n + 1);
    for (int i = 0; i < 8; i++)
        key[n + 1 + i] = (uint8_t)(delete_offset >> (56 - 8 * i));
    rocksdb_delete_cf(db, wo, cf[1], (const char *)key, n + 9, &err);
    assert_null(err);
    for (int i = 0; i < 8; i++)
        key[n + 1 + i] = (uint8_t)(garbage_offset >> (56 - 8 * i));
    rocksdb_put_cf(db, wo, cf[1], (const char *)key, n + 9, "\xff\xff\xff", 3, &err);
    assert_null(err);
    rocksdb_writeoptions_destroy(wo);
    raw_close(&raw);
}

static void test_corruption_detected(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    append_ticks(tape, "EURUSD", 10, T0, 1000);
    td_tape_close(tape);
    damage(fix->dir, "EURUSD", 4, 7);

    tape = open_tape(fix->dir, NULL);
    td_tape_iter_t *iter = NULL;
    td_event_t ev;
    char err[512];
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 0, &iter, NULL, 0), TD_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_next(iter, &ev, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "gap"));
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_ERR_CORRUPT); /* stays failed */
    td_tape_iter_destroy(iter);

    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 5, &iter, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_next(iter, &ev, NULL, 0), TD_ERR_CORRUPT); /* offset 7 does not decode */
    td_tape_iter_destroy(iter);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 7, &ev, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "EURUSD@7"));
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 4, &ev, NULL, 0), TD_ERR_NOT_FOUND);
    td_tape_close(tape);
}

/* ---- crash safety ---- */

#define CRASH_SYMBOLS 3
#define CRASH_BATCH 500
static const char *const crash_syms[CRASH_SYMBOLS] = {"EURUSD", "GBPUSD", "XAUUSD"};

static uint64_t rnd_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The child: appends batches forever. Each batch writes CRASH_BATCH ticks to two of the symbols
 * and, in the same batch, state "count/<sym>" = the stream's next offset. It reports the first
 * commit on the pipe and never returns. */
static _Noreturn void crash_child(const char *dir, int fd, uint64_t seed)
{
    td_tape_t *tape = NULL;
    char err[512];
    if (td_tape_open(dir, NULL, &tape, err, sizeof err) != TD_OK)
        _exit(10);
    for (uint64_t round = 0;; round++) {
        td_tape_batch_t *batch = NULL;
        if (td_tape_batch_new(tape, &batch, NULL, 0) != TD_OK)
            _exit(11);
        int a = (int)(rnd_next(&seed) % CRASH_SYMBOLS), b = (a + 1) % CRASH_SYMBOLS;
        uint64_t next[2] = {0, 0};
        for (int i = 0; i < CRASH_BATCH * 2; i++) {
            td_event_t ev;
            const char *sym = crash_syms[i % 2 ? b : a];
            if (td_event_init(&ev, TD_EV_TICK, sym, T0 + (int64_t)round * 60000 + i) != TD_OK)
                _exit(12);
            ev.u.tick.bid = (int64_t)rnd_next(&seed) >> 20;
            if (td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0) != TD_OK)
                _exit(13);
            next[i % 2] = ev.offset + 1;
        }
        for (int j = 0; j < 2; j++) {
            char key[64];
            snprintf(key, sizeof key, "count/%s", crash_syms[j ? b : a]);
            if (td_tape_batch_put_state(batch, key, &next[j], sizeof next[j], NULL, 0) != TD_OK)
                _exit(14);
        }
        if (td_tape_commit(tape, batch, NULL, 0) != TD_OK)
            _exit(15);
        if (round == 0 && write(fd, "c", 1) != 1)
            _exit(16);
    }
}

/* Every failure's detail goes into the errbuf of the call that failed and names what failed; an
 * answer (TD_ERR_NOT_FOUND, TD_ERR_END) and a call with another buffer leave a buffer alone. */
static void test_errors_in_callers_buffer(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    append_ticks(tape, "EURUSD", 10, T0, 1000);
    append_ticks(tape, "XAUUSD", 3, T0, 1000);
    char err[512] = "", other[512] = "";
    td_event_t ev;
    td_day_range_t range;

    /* answers are not failures: the buffer stays as it was */
    td_buf_t val;
    td_buf_init(&val);
    snprintf(err, sizeof err, "untouched");
    assert_int_equal(td_tape_get_state(tape, "absent", &val, err, sizeof err), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_get_meta(tape, "absent", &val, err, sizeof err), TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20300101, &range, err, sizeof err),
                     TD_ERR_NOT_FOUND);
    assert_int_equal(td_tape_read(tape, TD_STREAM_INPUT, "EURUSD", 10, &ev, err, sizeof err), TD_ERR_NOT_FOUND);
    assert_string_equal(err, "untouched");
    td_buf_fini(&val);

    /* batches: an empty key names the call; after a lost batch every new one says why it is refused */
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, err, sizeof err), TD_OK);
    assert_int_equal(td_tape_batch_put_state(batch, "", "1", 1, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "put_state: empty key"));
    assert_int_equal(td_tape_batch_put_meta(batch, "", "1", 1, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "put_meta: empty key"));
    make_tick(&ev, "EURUSD", T0 + 20000, 5);
    append_ok(batch, TD_STREAM_INPUT, &ev);
    assert_int_equal(td_tape_seal(tape, batch, err, sizeof err), TD_OK);
    assert_int_equal(td_tape_settle(tape, batch, err, sizeof err), TD_ERR_STATE); /* sealed, never written */
    assert_non_null(strstr(err, "never written"));
    assert_int_equal(td_tape_batch_new(tape, &batch, err, sizeof err), TD_ERR_STATE);
    assert_non_null(strstr(err, "a commit failed earlier: reopen the tape"));
    td_tape_close(tape);

    /* a corrupt stream: the failing iterator's buffer names the gap, another reader's stays empty */
    damage(fix->dir, "EURUSD", 4, 7);
    tape = open_tape(fix->dir, NULL);
    td_tape_iter_t *bad = NULL, *good = NULL;
    err[0] = '\0';
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 3, &bad, err, sizeof err), TD_OK);
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "XAUUSD", 0, &good, other, sizeof other), TD_OK);
    assert_int_equal(td_tape_iter_next(bad, &ev, err, sizeof err), TD_OK);
    assert_int_equal(td_tape_iter_next(bad, &ev, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "EURUSD: offset gap: expected 4, found 5"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(td_tape_iter_next(good, &ev, other, sizeof other), TD_OK);
    assert_int_equal(td_tape_iter_next(good, &ev, other, sizeof other), TD_ERR_END);
    assert_string_equal(other, "");
    td_tape_iter_destroy(bad);
    td_tape_iter_destroy(good);
    td_tape_close(tape);

    /* td_tape_explain: the tape's detail for the tape's own failures, else the code's name */
    assert_string_equal(td_tape_explain(TD_ERR_CORRUPT, err), err);
    assert_string_equal(td_tape_explain(TD_ERR_CORRUPT, ""), "TD_ERR_CORRUPT");
    assert_string_equal(td_tape_explain(TD_ERR_STORE, NULL), "TD_ERR_STORE");
    assert_string_equal(td_tape_explain(TD_ERR_NOT_FOUND, "some detail"), "TD_ERR_NOT_FOUND");

    /* a damaged day index entry and a stream key without a symbol: TD_ERR_CORRUPT, saying which */
    uint8_t dkey[12] = {(uint8_t)TD_STREAM_INPUT, 'E', 'U', 'R', 'U', 'S', 'D', 0x00};
    for (int i = 0; i < 4; i++)
        dkey[8 + i] = (uint8_t)(UINT32_C(20240102) >> (24 - 8 * i));
    raw_put(fix->dir, RAW_DAY, dkey, sizeof dkey, "abc", 3);
    raw_put(fix->dir, RAW_INPUT, "\x01\x02", 2, "x", 1);
    td_tape_opts_t ro = {.read_only = true};
    tape = open_tape(fix->dir, &ro);
    assert_int_equal(td_tape_batch_new(tape, &batch, err, sizeof err), TD_ERR_STATE);
    assert_non_null(strstr(err, "read-only"));
    assert_int_equal(td_tape_day_get(tape, TD_STREAM_INPUT, "EURUSD", 20240102, &range, err, sizeof err),
                     TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "EURUSD day 20240102: index value of 3 bytes"));
    days_t days = {0};
    err[0] = '\0';
    assert_int_equal(td_tape_days(tape, TD_STREAM_INPUT, "EURUSD", collect_day, &days, err, sizeof err),
                     TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "EURUSD day 20240102: index value of 3 bytes"));
    names_t names = {0};
    assert_int_equal(td_tape_symbols(tape, TD_STREAM_INPUT, collect_name, &names, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "stream key of 2 bytes without a valid symbol"));
    td_symbol_list_t list = {0};
    err[0] = '\0';
    assert_int_equal(td_tape_symbol_list(tape, TD_STREAM_INPUT, &list, err, sizeof err), TD_ERR_CORRUPT);
    assert_non_null(strstr(err, "without a valid symbol"));
    td_symbol_list_fini(&list);
    td_tape_close(tape);
}

static void test_crash_safety(void **state)
{
    fix_t *fix = *state;
    uint64_t seed = UINT64_C(0x5eed5eed12345678);
    for (int round = 0; round < 5; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        uint64_t child_seed = rnd_next(&seed);
        unsigned delay_us = (unsigned)(rnd_next(&seed) % 150000);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(fix->dir, fds[1], child_seed);
        }
        close(fds[1]);
        char c;
        ssize_t got = read(fds[0], &c, 1); /* at least one commit happened */
        close(fds[0]);
        if (got == 1)
            usleep(delay_us);
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            print_error("child exited with %d before the kill\n", WEXITSTATUS(status));
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

        td_tape_t *tape = open_tape(fix->dir, NULL);
        td_buf_t val;
        td_buf_init(&val);
        uint64_t total = 0;
        for (int s = 0; s < CRASH_SYMBOLS; s++) {
            uint64_t next = td_tape_next_offset(tape, TD_STREAM_INPUT, crash_syms[s]);
            uint64_t count = 0;
            char key[64];
            snprintf(key, sizeof key, "count/%s", crash_syms[s]);
            td_err_t rc = td_tape_get_state(tape, key, &val, NULL, 0);
            if (rc == TD_OK) {
                assert_int_equal(val.len, sizeof count);
                memcpy(&count, val.ptr, sizeof count);
            } else {
                assert_int_equal(rc, TD_ERR_NOT_FOUND);
            }
            /* all or nothing: the state written with the events matches the stream */
            assert_int_equal(count, next);
            assert_int_equal(next % CRASH_BATCH, 0);
            assert_int_equal(check_contiguous(tape, TD_STREAM_INPUT, crash_syms[s], 0), next);
            /* the day index covers exactly the stream */
            days_t days = {0};
            assert_int_equal(td_tape_days(tape, TD_STREAM_INPUT, crash_syms[s], collect_day, &days, NULL, 0), TD_OK);
            uint64_t covered = 0;
            for (int d = 0; d < days.n; d++) {
                assert_int_equal(days.items[d].first_offset, covered);
                covered = days.items[d].last_offset + 1;
            }
            assert_int_equal(covered, next);
            total += next;
        }
        print_message("crash round %d: killed after %u us, %llu events survived, all batches whole\n", round, delay_us,
                      (unsigned long long)total);
        td_buf_fini(&val);
        td_tape_close(tape);
    }
}

/* ---- speed ---- */

static void test_speed(void **state)
{
    fix_t *fix = *state;
    td_tape_t *tape = open_tape(fix->dir, NULL);
    const int batches = 100, per_batch = 10000;
    td_event_t ev;
    make_tick(&ev, "EURUSD", T0, 110000000);

    double t0 = td_mono_s(), in_commit = 0;
    for (int b = 0; b < batches; b++) {
        td_tape_batch_t *batch = NULL;
        assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
        for (int i = 0; i < per_batch; i++) {
            ev.time_ms += 37;
            ev.u.tick.bid += (i & 7) - 3;
            ev.u.tick.ask = ev.u.tick.bid + 12;
            assert_true(td_tape_batch_append(batch, TD_STREAM_INPUT, &ev, NULL, 0) == TD_OK);
        }
        double c0 = td_mono_s();
        commit_ok(tape, batch);
        in_commit += td_mono_s() - c0;
    }
    double t1 = td_mono_s();
    td_tape_iter_t *iter = NULL;
    uint64_t n = 0;
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 0, &iter, NULL, 0), TD_OK);
    while (td_tape_iter_next(iter, &ev, NULL, 0) == TD_OK)
        n++;
    td_tape_iter_destroy(iter);
    double t2 = td_mono_s();
    assert_int_equal(n, (uint64_t)batches * per_batch);
    print_message("tape speed: append+commit %.2f M ticks/s (batches of %d, sync none; %.0f ns/event in append, "
                  "%.0f in commit), iterate %.2f M ticks/s\n",
                  n / (t1 - t0) / 1e6, per_batch, (t1 - t0 - in_commit) * 1e9 / n, in_commit * 1e9 / n,
                  n / (t2 - t1) / 1e6);
    td_tape_close(tape);
}

/* td_tape_iter_decode_only: ticks come back with their kind and offset only (the event's other
 * fields untouched), the chosen kind (clock marks) decoded in full and equal to a plain iteration's event. */
static void test_iter_decode_only(void **state)
{
    fix_t *fix = *state;
    td_tape_opts_t opts = {0};
    td_tape_t *tape = open_tape(fix->dir, &opts);
    td_tape_batch_t *batch = NULL;
    assert_int_equal(td_tape_batch_new(tape, &batch, NULL, 0), TD_OK);
    for (int i = 0; i < 50; i++) {
        td_event_t ev;
        if (i % 7 == 3) {
            assert_int_equal(td_event_init(&ev, TD_EV_CLOCK, "EURUSD", T0 + i * 1000), TD_OK);
            assert_int_equal(td_event_set_str(ev.source, sizeof ev.source, "test"), TD_OK);
        } else
            make_tick(&ev, "EURUSD", T0 + i * 1000, 100000000 + i);
        append_ok(batch, TD_STREAM_INPUT, &ev);
    }
    commit_ok(tape, batch);
    td_tape_iter_t *all = NULL, *some = NULL;
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 2, &all, NULL, 0), TD_OK);
    assert_int_equal(td_tape_iter_new(tape, TD_STREAM_INPUT, "EURUSD", 2, &some, NULL, 0), TD_OK);
    td_tape_iter_decode_only(some, TD_TAPE_KIND_BIT(TD_EV_CLOCK));
    td_event_t full, part;
    int clocks = 0;
    for (uint64_t offset = 2; offset < 50; offset++) {
        assert_int_equal(td_tape_iter_next(all, &full, NULL, 0), TD_OK);
        memset(&part, 0xa5, sizeof part);
        assert_int_equal(td_tape_iter_next(some, &part, NULL, 0), TD_OK);
        assert_int_equal(part.offset, offset);
        assert_int_equal(part.kind, full.kind);
        if (full.kind == TD_EV_CLOCK) {
            assert_memory_equal(&part, &full, sizeof full);
            clocks++;
        } else {
            assert_int_equal(full.kind, TD_EV_TICK);
            assert_int_equal((unsigned char)part.symbol[0], 0xa5); /* not decoded */
        }
        td_slice_t a = td_tape_iter_raw(all), b = td_tape_iter_raw(some);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.ptr, b.ptr, a.len);
    }
    assert_int_equal(clocks, 7);
    assert_int_equal(td_tape_iter_next(some, &part, NULL, 0), TD_ERR_END);
    td_tape_iter_destroy(all);
    td_tape_iter_destroy(some);
    td_tape_close(tape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_read_iterate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_known_symbols, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_decode_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test(test_symbol_list),
        cmocka_unit_test_setup_teardown(test_day_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_atomicity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_read_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_detected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_in_callers_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
