/* test_dukascopy_bi5.c - import/dukascopy_bi5.c: the 48 real hour files against Dukascopy's CSV of
 * the same two days (tick by tick), and crafted files (compressed here with liblzma) for each
 * kind of bad record. */
#include <dirent.h>
#include <lzma.h>

#include "import_test_util.h"

#include "core/timeutil.h"

static void real_hours_equal_csv(void **state)
{
    (void)state;
    char dir[1024], csv[1024], err[512] = "";
    SHARED_OR_SKIP(dir, "raw/dukascopy-bi5");
    SHARED_OR_SKIP(csv, "ticks/dukascopy-eurusd-2019-02-04_05.csv");
    collect_t want = {0}, got = {0};
    td_import_opts_t opts = opts_for(TD_FMT_DUKASCOPY_CSV, "EURUSD");
    td_err_t rc = td_import_file(csv, &opts, collect_sink, &want, NULL, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s", err);

    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort); /* names sort by time: SYM_YYYY_MM_DD_HHh */
    assert_true(n > 0);
    int hours = 0;
    double dt = 0;
    bool *file_start = calloc(300000, sizeof *file_start); /* ticks that open an hour file */
    assert_non_null(file_start);
    opts = opts_for(TD_FMT_DUKASCOPY_BI5, "EURUSD");
    opts.price_divisor_digits = 5;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t len = strlen(name);
        if (len > 10 && strcmp(name + len - 10, "_ticks.bi5") == 0) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, name);
            td_import_stats_t stats;
            if (got.len < 300000)
                file_start[got.len] = true;
            rc = td_import_file(path, &opts, collect_sink, &got, &stats, err, sizeof err);
            if (rc != TD_OK)
                fail_msg("%s", err);
            counter_t counter = {0}; /* timing without the cost of collecting */
            double t0 = now_s();
            rc = td_import_file(path, &opts, count_sink, &counter, NULL, err, sizeof err);
            dt += now_s() - t0;
            assert_int_equal(rc, TD_OK);
            assert_int_equal(stats.lines, stats.events);
            hours++;
        }
        free(names[i]);
    }
    free(names);
    assert_int_equal(hours, 48);
    assert_int_equal(got.len, 266219);
    assert_int_equal(got.len, want.len);

    size_t vol_exact = 0;
    int64_t vol_max_diff = 0;
    for (size_t i = 0; i < got.len; i++) {
        const td_tick_t *a = &got.ev[i].u.tick, *b = &want.ev[i].u.tick;
        if (got.ev[i].time_ms != want.ev[i].time_ms || a->bid != b->bid || a->ask != b->ask)
            fail_msg("tick %zu differs: bi5 %lld %lld/%lld, csv %lld %lld/%lld", i, (long long)got.ev[i].time_ms,
                     (long long)a->bid, (long long)a->ask, (long long)want.ev[i].time_ms, (long long)b->bid,
                     (long long)b->ask);
        assert_int_equal(a->last, 0);
        /* each file is imported on its own: its first tick has both flags */
        if (file_start[i])
            assert_int_equal(a->flags, TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK);
        else
            assert_int_equal(a->flags, b->flags);
        int64_t d = a->volume > b->volume ? a->volume - b->volume : b->volume - a->volume;
        vol_exact += d == 0;
        if (d > vol_max_diff)
            vol_max_diff = d;
        /* the CSV prints each side's float rounded to 2 decimals, the bi5 importer keeps the float's
         * exact value: they differ by the float's representation error only (measured <= 5865) */
        assert_true(d <= 10000);
    }
    printf("  bi5 vs CSV: %zu ticks, time/bid/ask identical, flags too except on the first tick of each hour file; "
           "volumes exactly equal in %zu ticks (%.1f%%), "
           "largest difference %lld x 1e-8 (float representation vs the CSV's 2 decimals)\n",
           got.len, vol_exact, 100.0 * vol_exact / got.len, (long long)vol_max_diff);
    printf("  bi5: %.2f M ticks/s (LZMA included, counting sink)\n", got.len / dt / 1e6);
    free(file_start);
    collect_free(&want);
    collect_free(&got);
}

/* ---- crafted files ---- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void record(uint8_t *r, uint32_t off, uint32_t ask, uint32_t bid, float avol, float bvol)
{
    uint32_t a, b;
    memcpy(&a, &avol, 4);
    memcpy(&b, &bvol, 4);
    put_be32(r, off);
    put_be32(r + 4, ask);
    put_be32(r + 8, bid);
    put_be32(r + 12, a);
    put_be32(r + 16, b);
}

/* Compresses raw in lzma_alone format (as Dukascopy does) into out; returns the length. */
static size_t compress_alone(const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
    lzma_options_lzma lz;
    assert_false(lzma_lzma_preset(&lz, 6));
    lzma_stream strm = LZMA_STREAM_INIT;
    assert_int_equal(lzma_alone_encoder(&strm, &lz), LZMA_OK);
    strm.next_in = raw;
    strm.avail_in = len;
    strm.next_out = out;
    strm.avail_out = cap;
    assert_int_equal(lzma_code(&strm, LZMA_FINISH), LZMA_STREAM_END);
    size_t n = cap - strm.avail_out;
    lzma_end(&strm);
    return n;
}

static void write_bi5(char *path, size_t pathlen, const char *name, const uint8_t *raw, size_t len)
{
    uint8_t z[4096];
    size_t n = compress_alone(raw, len, z, sizeof z);
    write_tmp(path, pathlen, name, z, n);
}

static td_import_opts_t bi5_opts(void)
{
    td_import_opts_t opts = opts_for(TD_FMT_DUKASCOPY_BI5, "EURUSD");
    opts.price_divisor_digits = 5;
    return opts;
}

static void crafted_values(void **state)
{
    (void)state;
    uint8_t raw[60];
    record(raw, 994, 114545, 114543, 1.0f, 2.06f);
    record(raw + 20, 994, 114546, 114543, 0.0f, 0.5f);
    record(raw + 40, 3599999, 114546, 114543, 1e-9f, 0.0f);
    char path[1024], err[256] = "";
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_13h_ticks.bi5", raw, sizeof raw);
    collect_t col = {0};
    td_import_stats_t stats;
    td_import_opts_t opts = bi5_opts();
    td_err_t rc = td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("%s", err);
    assert_int_equal(col.len, 3);
    assert_string_equal(col.ev[0].source, "dukascopy");
    /* month 01 is February */
    int64_t hour = td_time_ms_from_civil(2019, 2, 4, 13, 0, 0, 0);
    assert_int_equal(col.ev[0].time_ms, hour + 994);
    assert_int_equal(col.ev[0].u.tick.bid, 114543000);
    assert_int_equal(col.ev[0].u.tick.ask, 114545000);
    /* 1.0f + 2.06f; 2.06f is exactly 2.0599999427795410156 -> 205999994 */
    assert_int_equal(col.ev[0].u.tick.volume, 100000000 + 205999994);
    assert_int_equal(col.ev[1].u.tick.volume, 50000000);
    assert_int_equal(col.ev[1].u.tick.flags, TD_TICK_FLAG_ASK);
    assert_int_equal(col.ev[2].time_ms, hour + 3599999);
    assert_int_equal(col.ev[2].u.tick.volume, 0); /* 1e-9 rounds to 0 at 1e-8 */
    assert_int_equal(stats.lines, 3);
    collect_free(&col);

    /* JPY-style 3 digits */
    opts.price_divisor_digits = 3;
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
    assert_int_equal(col.ev[0].u.tick.bid, 11454300000);
    collect_free(&col);
}

/* A small file that decodes to more than an hour of ticks can hold (the zeros of 3.6M + 1 records:
 * 72 MB from ~11 KB) is refused with the limit named, before the rest is decoded. */
static void decompression_bomb_is_refused(void **state)
{
    (void)state;
    size_t len = (size_t)(3600u * 1000u + 1u) * 20u;
    uint8_t *raw = calloc(1, len);
    size_t cap = 1 << 20;
    uint8_t *z = malloc(cap);
    assert_non_null(raw);
    assert_non_null(z);
    size_t n = compress_alone(raw, len, z, cap);
    free(raw);
    assert_true(n < 64 * 1024);
    char path[1024], err[512] = "";
    write_tmp(path, sizeof path, "EURUSD_2019_01_04_14h_ticks.bi5", z, n);
    free(z);
    collect_t col = {0};
    td_import_stats_t stats;
    td_import_opts_t opts = bi5_opts();
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_ERR_PARSE);
    if (!strstr(err, "EURUSD_2019_01_04_14h_ticks.bi5:0: lzma: expected at most 72000000 bytes decoded"))
        fail_msg("message: %s", err);
    assert_int_equal(col.len, 0);
    collect_free(&col);
}

static void empty_file_is_an_hour_without_ticks(void **state)
{
    (void)state;
    char path[1024], err[256] = "";
    write_tmp(path, sizeof path, "EURUSD_2019_01_04_22h_ticks.bi5", "", 0);
    collect_t col = {0};
    td_import_stats_t stats;
    td_import_opts_t opts = bi5_opts();
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, &stats, err, sizeof err), TD_OK);
    assert_int_equal(col.len, 0);
    assert_int_equal(stats.events, 0);
    assert_int_equal(stats.lines, 0);
}

static void bad_records(void **state)
{
    (void)state;
    char path[1024];
    uint8_t raw[41];
    td_import_opts_t opts = bi5_opts();

    record(raw, 10, 114545, 114543, 1, 1);
    record(raw + 20, 20, 114545, 114546, 1, 1);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_13h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":2: bid: expected bid <= ask", "'114546'", NULL);

    record(raw + 20, 5, 114545, 114543, 1, 1);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_14h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":2: time: expected a ms offset at or after the previous record's", "'5'", NULL);

    record(raw + 20, 3600000, 114545, 114543, 1, 1);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_15h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":2: time: expected a ms offset within the hour", NULL);

    record(raw + 20, 20, 0, 114543, 1, 1);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_16h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":2: ask: expected a price > 0", NULL);

    record(raw + 20, 20, 114545, 114543, -1.0f, 1);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_17h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":2: ask_volume: expected a finite float >= 0", NULL);

    record(raw + 20, 20, 114545, 114543, 1, 1);
    raw[40] = 7;
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_18h_ticks.bi5", raw, 41);
    expect_parse_error(path, &opts, ":3: record: expected whole 20-byte records", NULL);

    /* truncated compressed data */
    uint8_t z[4096];
    size_t zn = compress_alone(raw, 40, z, sizeof z);
    write_tmp(path, sizeof path, "EURUSD_2019_01_04_19h_ticks.bi5", z, zn - 5);
    expect_parse_error(path, &opts, ":0: lzma: expected an LZMA-compressed .bi5 file", NULL);
    /* not LZMA at all */
    write_tmp_str(path, sizeof path, "EURUSD_2019_01_04_20h_ticks.bi5", "time_utc,bid,ask\n");
    expect_parse_error(path, &opts, ":0: lzma: expected an LZMA-compressed .bi5 file", NULL);

    /* names: month is zero-based, so 12 is wrong; hour 24 is wrong */
    write_bi5(path, sizeof path, "EURUSD_2019_12_04_13h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":0: file name: expected a file name SYMBOL_YYYY_MM_DD_HHh_ticks.bi5", NULL);
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_24h_ticks.bi5", raw, 40);
    expect_parse_error(path, &opts, ":0: file name:", NULL);
    write_bi5(path, sizeof path, "eurusd.bi5", raw, 40);
    expect_parse_error(path, &opts, ":0: file name:", "'eurusd.bi5'", NULL);

    /* digits are required */
    char err[256];
    collect_t col = {0};
    write_bi5(path, sizeof path, "EURUSD_2019_01_04_13h_ticks.bi5", raw, 40);
    opts.price_divisor_digits = 0;
    assert_int_equal(td_import_file(path, &opts, collect_sink, &col, NULL, err, sizeof err), TD_ERR_INVALID);
    assert_non_null(strstr(err, "price divisor digits"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_hours_equal_csv),
        cmocka_unit_test(crafted_values),
        cmocka_unit_test(empty_file_is_an_hour_without_ticks),
        cmocka_unit_test(decompression_bomb_is_refused),
        cmocka_unit_test(bad_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
