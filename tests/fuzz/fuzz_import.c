/* fuzz_import.c - td_import_file() on arbitrary file contents, in every tick and bar format.
 *
 * The input is written to a private temporary directory under names each format accepts (Lean
 * takes the date from the name, bi5 the hour) and imported once per format with a sink that counts
 * and checks what import.h promises of every event it hands on: the symbol and source, ticks with
 * bid and ask > 0, bid <= ask, volume >= 0 and time never going backwards; bars with
 * low <= open, close <= high, a supported timeframe and times on it. Any return code is fine;
 * crashes, leaks, sanitizer reports and broken promises are findings.
 *
 * bi5 files are LZMA: the raw input exercises the decoder's error paths, and the input compressed
 * here (.xz, preset 0) reaches the record parser with the fuzzer's bytes as records.
 */
#include <lzma.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "import/import.h"
#include "tests/fuzz/fuzz.h"

typedef struct sink_state {
    td_import_format_t format;
    uint64_t events;
    int64_t last_ms;
} sink_state_t;

static td_err_t sink(void *opaque, const td_event_t *ev)
{
    sink_state_t *st = opaque;
    FUZZ_REQUIRE(strcmp(ev->symbol, "EURUSD") == 0);
    FUZZ_REQUIRE(ev->source[0] != '\0');
    FUZZ_REQUIRE(st->events == 0 || ev->time_ms >= st->last_ms);
    if (td_import_format_is_bars(st->format)) {
        const td_bar_t *bar = &ev->u.bar;
        FUZZ_REQUIRE(ev->kind == TD_EV_BAR);
        FUZZ_REQUIRE(bar->timeframe_s >= 60 && bar->timeframe_s <= 86400 && 86400 % bar->timeframe_s == 0);
        FUZZ_REQUIRE(bar->low <= bar->open && bar->low <= bar->close);
        FUZZ_REQUIRE(bar->high >= bar->open && bar->high >= bar->close);
        FUZZ_REQUIRE(ev->time_ms == bar->open_time + (int64_t)bar->timeframe_s * 1000);
    } else {
        const td_tick_t *tick = &ev->u.tick;
        FUZZ_REQUIRE(ev->kind == TD_EV_TICK);
        FUZZ_REQUIRE(tick->bid > 0 && tick->ask > 0 && tick->bid <= tick->ask);
        FUZZ_REQUIRE(tick->volume >= 0);
    }
    st->last_ms = ev->time_ms;
    st->events++;
    return TD_OK;
}

static char dir[64];
static char paths[8][128];

static void cleanup(void)
{
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (paths[i][0])
            unlink(paths[i]);
    if (dir[0])
        rmdir(dir);
}

/* The file name each format is read under (index = td_import_format_t). */
static const char *const names[8] = {
    [TD_FMT_DUKASCOPY_CSV] = "EURUSD_ticks.csv",
    [TD_FMT_DUKASCOPY_BI5] = "EURUSD_2019_01_04_13h_ticks.bi5",
    [TD_FMT_LEAN_TICKS] = "20140506_eurusd_tick_quote.csv",
    [TD_FMT_MT5_TICKS] = "EURUSD_mt5_ticks.csv",
    [TD_FMT_MT5_BARS] = "EURUSD_M30.csv",
    [TD_FMT_DUKASCOPY_BARS] = "EURUSD_bars.csv",
    [TD_FMT_LEAN_BARS] = "eurusd_bars.csv",
};

static void setup(void)
{
    if (dir[0])
        return;
    const char *tmp = td_fuzz_tmpdir();
    snprintf(dir, sizeof dir, "%s/td_fuzz_import.XXXXXX", strlen(tmp) < 32 ? tmp : "/tmp");
    FUZZ_REQUIRE(mkdtemp(dir) != NULL);
    for (int f = TD_FMT_DUKASCOPY_CSV; f <= TD_FMT_LEAN_BARS; f++)
        snprintf(paths[f], sizeof paths[f], "%s/%s", dir, names[f]);
    atexit(cleanup);
}

static void write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    FUZZ_REQUIRE(fp != NULL);
    FUZZ_REQUIRE(size == 0 || fwrite(data, 1, size, fp) == size);
    FUZZ_REQUIRE(fclose(fp) == 0);
}

/* .xz of data at preset 0. One encoder for the whole run: liblzma reuses its memory when the same
 * stream is initialised again, which makes this path several times faster. */
static lzma_stream encoder = LZMA_STREAM_INIT;

static void end_encoder(void)
{
    lzma_end(&encoder);
}

static bool compress(const uint8_t *data, size_t size, uint8_t *out, size_t cap, size_t *out_len)
{
    static bool registered;
    if (!registered) {
        registered = true;
        atexit(end_encoder);
    }
    if (lzma_easy_encoder(&encoder, 0, LZMA_CHECK_NONE) != LZMA_OK)
        return false;
    encoder.next_in = data;
    encoder.avail_in = size;
    encoder.next_out = out;
    encoder.avail_out = cap;
    lzma_ret ret = lzma_code(&encoder, LZMA_FINISH);
    *out_len = cap - encoder.avail_out;
    return ret == LZMA_STREAM_END;
}

static void import_as(td_import_format_t format, const uint8_t *data, size_t size, unsigned digits,
                      uint32_t timeframe_s)
{
    write_file(paths[format], data, size);
    td_import_opts_t opts = {
        .format = format, .symbol = "EURUSD", .price_divisor_digits = digits, .timeframe_s = timeframe_s};
    sink_state_t st = {.format = format};
    td_import_stats_t stats;
    char err[512];
    td_err_t rc = td_import_file(paths[format], &opts, sink, &st, &stats, err, sizeof err);
    FUZZ_REQUIRE(stats.events == st.events);
    if (rc != TD_OK)
        FUZZ_REQUIRE(err[0] != '\0'); /* every refusal says why */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    /* the options vary with the input, deterministically, so both paths of each are reached */
    unsigned digits = size ? data[size - 1] % 10 : 5;        /* 0 and 9 are refused by bi5 */
    uint32_t timeframe_s = size && (data[0] & 1) ? 1800 : 0; /* given or inferred */
    for (int f = TD_FMT_DUKASCOPY_CSV; f <= TD_FMT_LEAN_BARS; f++)
        import_as((td_import_format_t)f, data, size, digits, timeframe_s);

    /* bi5 once more, with the input as the decompressed records */
    size_t cap = size + size / 2 + 1024;
    uint8_t *xz = malloc(cap);
    FUZZ_REQUIRE(xz != NULL);
    size_t xz_len = 0;
    if (compress(data, size, xz, cap, &xz_len))
        import_as(TD_FMT_DUKASCOPY_BI5, xz, xz_len, digits ? digits : 5, 0);
    free(xz);
    return 0;
}

/* Records for the compressed bi5 path: 20-byte big-endian ms, ask, bid, f32 ask and bid volume. */
void td_fuzz_seeds(td_fuzz_add_fn add, void *opaque)
{
    uint8_t rec[3 * 20];
    const uint32_t ms[3] = {994, 1500, 1500}, ask[3] = {114545, 114546, 114550}, bid[3] = {114543, 114543, 114549};
    const uint32_t vol = 0x4003d70a; /* 2.06f */
    for (size_t i = 0; i < 3; i++) {
        const uint32_t v[5] = {ms[i], ask[i], bid[i], vol, vol};
        for (size_t j = 0; j < 5; j++)
            for (size_t b = 0; b < 4; b++)
                rec[20 * i + 4 * j + b] = (uint8_t)(v[j] >> (24 - 8 * b));
    }
    add(opaque, "bi5-records", rec, sizeof rec);

    /* regressions: an .lzma header claiming a 4 GiB dictionary (the decoder allocated it) */
    uint8_t huge[49];
    memset(huge, 0xff, sizeof huge);
    huge[0] = 0x00;
    add(opaque, "regression-bi5-4gib-dictionary", huge, sizeof huge);
    /* a UTF-16LE MT5 file with a non-ASCII code unit in its second line (NULL + 0 in the line reader) */
    static const char mt5[] = "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\r\n2\xbe";
    uint8_t utf16[2 + 2 * sizeof mt5];
    size_t n = 0;
    utf16[n++] = 0xff;
    utf16[n++] = 0xfe;
    for (size_t i = 0; i + 1 < sizeof mt5; i++) {
        utf16[n++] = (uint8_t)(mt5[i] == '\xbe' ? 0x30 : mt5[i]);
        utf16[n++] = (uint8_t)(mt5[i] == '\xbe' ? 0xbe : 0x00);
    }
    add(opaque, "regression-mt5-utf16-non-ascii", utf16, n);
}
