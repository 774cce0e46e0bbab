/* dukascopy_bi5.c - Dukascopy's raw hourly tick files (.bi5).
 *
 * The file is LZMA ("lzma_alone", also .xz: liblzma's auto decoder takes both) and decodes to
 * 20-byte big-endian records: u32 ms offset in the hour, u32 ask, u32 bid, f32 ask volume, f32 bid
 * volume. The hour comes from the file name SYMBOL_YYYY_MM_DD_HHh_ticks.bi5, whose month is
 * zero-based (EURUSD_2019_01_04_13h_ticks.bi5 is 2019-02-04 13:00 UTC). A 0-byte file is a valid
 * hour without ticks. opts->tz_offset_minutes applies as for every format (Dukascopy is UTC: leave
 * it 0). "Lines" in messages and stats are record numbers (1-based); a name problem
 * is reported as line 0.
 *
 * Prices are integer / 10^opts->price_divisor_digits (1..8; 5 for EURUSD, 3 for JPY pairs and
 * gold): the digits are not in the file, so they must be given. Volumes are the f32 values
 * converted exactly to the 1e8 scale (the binary value times 1e8, rounded half up in integer
 * arithmetic - no floating point); like the CSV importer, tick volume = bid + ask volume, last = 0.
 * Dukascopy's own CSV prints these volumes with 2 decimals, so a bi5 volume differs from the CSV's
 * by the float's representation error (2.06f is 2.05999994 exactly).
 */
#include "import/import_internal.h"

#include <lzma.h>
#include <stdio.h>
#include <string.h>

#include "core/fixed.h"
#include "core/timeutil.h"

#define RECORD_SIZE 20
#define BI5_MEMLIMIT (UINT64_C(64) << 20) /* decoder memory, bytes */
/* One hour of ticks decodes to at most this many bytes: 1,000 ticks a second for the whole hour,
 * far above the busiest hour on record (a few tens of thousands of ticks). A small file that
 * decodes to more (a 296 KB file can claim 2 GB) is refused before it is held in memory. */
#define BI5_RECORDS_MAX (3600u * 1000u)
#define BI5_DECODED_MAX ((size_t)BI5_RECORDS_MAX * RECORD_SIZE)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The UTC ms of the hour named by the file name; TD_ERR_PARSE at line 0 otherwise. */
static td_err_t hour_from_name(td_import__job_t *job, int64_t *hour_ms)
{
    static const char suffix[] = "h_ticks.bi5";
    const char *name = td_import__basename(job->path);
    size_t len = strlen(name), slen = sizeof suffix - 1;
    const char *expected = "a file name SYMBOL_YYYY_MM_DD_HHh_ticks.bi5 (month 00..11)";
    job->line = 0;
    /* "_YYYY_MM_DD_HH" + suffix */
    if (len < 14 + slen || memcmp(name + len - slen, suffix, slen) != 0)
        return td_import__fail(job, "file name", expected, name, len);
    const uint8_t *p = (const uint8_t *)name + len - slen - 14;
    if (p[0] != '_' || p[5] != '_' || p[8] != '_' || p[11] != '_')
        return td_import__fail(job, "file name", expected, name, len);
    int64_t y = td_import__digits(p + 1, 4), m0 = td_import__digits(p + 6, 2), d = td_import__digits(p + 9, 2),
            h = td_import__digits(p + 12, 2);
    if (y < 0 || m0 < 0 || d < 0 || h < 0 || m0 > 11 || h > 23 ||
        !td_time_valid_yyyymmdd((uint32_t)(y * 10000 + (m0 + 1) * 100 + d)))
        return td_import__fail(job, "file name", expected, name, len);
    *hour_ms = td_time_ms_from_civil((int)y, (unsigned)m0 + 1, (unsigned)d, (unsigned)h, 0, 0, 0);
    return TD_OK;
}

static td_err_t decompress(td_import__job_t *job, td_slice_t raw, td_buf_t *out)
{
    lzma_stream strm = LZMA_STREAM_INIT;
    td_err_t rc = TD_OK;
    /* The header's dictionary size decides the decoder's allocation: without a limit a 49-byte file
     * claiming a 4 GiB dictionary allocates 4 GiB. Dukascopy's files use 4 MiB. */
    if (lzma_auto_decoder(&strm, BI5_MEMLIMIT, 0) != LZMA_OK)
        return td_err_set(job->errbuf, job->errlen, TD_ERR_NOMEM, "%s: cannot start the LZMA decoder", job->path);
    strm.next_in = raw.ptr;
    strm.avail_in = raw.len;
    lzma_ret lr = LZMA_OK;
    while (rc == TD_OK) {
        rc = td_buf_reserve(out, raw.len * 4 + 4096);
        if (rc != TD_OK) {
            td_err_set(job->errbuf, job->errlen, rc, "%s: out of memory decompressing", job->path);
            break;
        }
        strm.next_out = out->ptr + out->len;
        strm.avail_out = out->cap - out->len - 1;
        size_t before = strm.avail_out;
        lr = lzma_code(&strm, LZMA_FINISH);
        out->len += before - strm.avail_out;
        if (out->len > BI5_DECODED_MAX) {
            job->line = 0;
            char expected[96], found[64];
            snprintf(expected, sizeof expected, "at most %zu bytes decoded (%u ticks: 1000 a second for an hour)",
                     BI5_DECODED_MAX, BI5_RECORDS_MAX);
            int n = snprintf(found, sizeof found, "%zu bytes or more", out->len);
            rc = td_import__fail(job, "lzma", expected, found, (size_t)n);
            break;
        }
        if (lr == LZMA_STREAM_END)
            break;
        if (lr != LZMA_OK) {
            job->line = 0;
            const char *why = lr == LZMA_BUF_ERROR        ? "(truncated)"
                              : lr == LZMA_FORMAT_ERROR   ? "(not LZMA)"
                              : lr == LZMA_MEMLIMIT_ERROR ? "(a dictionary over 64 MiB)"
                                                          : "(corrupt)";
            rc = td_import__fail(job, "lzma", "an LZMA-compressed .bi5 file", why, strlen(why));
        }
    }
    lzma_end(&strm);
    return rc;
}

/* value x 1e8 of the IEEE-754 single `bits`, exact and rounded half up; false if not finite, negative
 * or too large. */
static bool f32_to_fx(uint32_t bits, int64_t *out)
{
    uint32_t exp = (bits >> 23) & 0xff, frac = bits & 0x7fffff;
    if (exp == 0xff)
        return false;
    uint64_t m = exp ? (frac | 0x800000u) : frac;
    int e = exp ? (int)exp - 150 : -149;
    if (m == 0) {
        *out = 0;
        return true;
    }
    if (bits >> 31)
        return false;
    uint64_t num = m * (uint64_t)TD_FX_SCALE; /* < 2^51 */
    if (e >= 0) {
        if (e > 11)
            return false;
        *out = (int64_t)(num << e);
        return true;
    }
    int sh = -e;
    if (sh > 60) {
        *out = 0;
        return true;
    }
    uint64_t q = num >> sh, rem = num & ((UINT64_C(1) << sh) - 1);
    if (rem >= (UINT64_C(1) << (sh - 1)))
        q++;
    *out = (int64_t)q;
    return true;
}

static td_err_t fail_value(td_import__job_t *job, const char *field, const char *expected, unsigned long long v)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%llu", v); /* our own number, not file text */
    return td_import__fail(job, field, expected, text, (size_t)n);
}

td_err_t td_import__dukascopy_bi5(td_import__job_t *job, td_slice_t raw)
{
    td_err_t rc = TD_OK;
    td_buf_t data;
    td_buf_init(&data);
    int64_t hour_ms = 0;
    unsigned digits = job->opts->price_divisor_digits;
    if (digits < 1 || digits > TD_FX_DECIMALS) {
        rc = td_err_set(job->errbuf, job->errlen, TD_ERR_INVALID,
                        "%s: dukascopy-bi5 needs the price divisor digits (1..8, 5 for EURUSD), got %u", job->path,
                        digits);
        goto done;
    }
    rc = hour_from_name(job, &hour_ms);
    if (rc == TD_OK && raw.len > 0)
        rc = decompress(job, raw, &data);
    if (rc != TD_OK)
        goto done;
    if (data.len % RECORD_SIZE != 0) {
        job->line = data.len / RECORD_SIZE + 1;
        rc = fail_value(job, "record", "whole 20-byte records; bytes left over", data.len % RECORD_SIZE);
        goto done;
    }
    const int64_t unit = td_fx_point(digits); /* 1e8 / 10^digits */
    const int64_t start_ms = hour_ms - job->tz_ms;
    td_price_t prev_bid = 0, prev_ask = 0;
    td_tick_t tick = {0};
    size_t n = data.len / RECORD_SIZE;
    for (size_t i = 0; i < n && rc == TD_OK; i++) {
        const uint8_t *r = data.ptr + i * RECORD_SIZE;
        uint32_t off = be32(r), ask = be32(r + 4), bid = be32(r + 8);
        int64_t avol = 0, bvol = 0;
        job->line = i + 1;
        job->stats->lines++;
        if (off >= 3600000u)
            rc = fail_value(job, "time", "a ms offset within the hour (< 3600000)", off);
        else if (bid == 0)
            rc = fail_value(job, "bid", "a price > 0", bid);
        else if (ask == 0)
            rc = fail_value(job, "ask", "a price > 0", ask);
        else if (bid > ask && !job->opts->keep_crossed)
            rc = fail_value(job, "bid", "bid <= ask", bid);
        else if (!f32_to_fx(be32(r + 12), &avol))
            rc = fail_value(job, "ask_volume", "a finite float >= 0 (raw bits shown)", be32(r + 12));
        else if (!f32_to_fx(be32(r + 16), &bvol))
            rc = fail_value(job, "bid_volume", "a finite float >= 0 (raw bits shown)", be32(r + 16));
        if (rc != TD_OK)
            break;
        if (bid > ask)
            job->stats->crossed++; /* kept: opts->keep_crossed */
        tick.bid = (int64_t)bid * unit;
        tick.ask = (int64_t)ask * unit;
        if (tick.bid > TD_PRICE_MAX || tick.ask > TD_PRICE_MAX) {
            rc = fail_value(job, tick.bid > TD_PRICE_MAX ? "bid" : "ask", "a price at most 10000000",
                            tick.bid > TD_PRICE_MAX ? bid : ask);
            break;
        }
        if (td_fx_add(avol, bvol, &tick.volume) != TD_OK) {
            rc = fail_value(job, "bid_volume", "bid + ask volume within range", be32(r + 16));
            break;
        }
        bool first = job->stats->events == 0;
        tick.flags = ((first || tick.bid != prev_bid) ? TD_TICK_FLAG_BID : 0u) |
                     ((first || tick.ask != prev_ask) ? TD_TICK_FLAG_ASK : 0u);
        prev_bid = tick.bid;
        prev_ask = tick.ask;
        if (job->have_last && start_ms + off < job->last_ms) {
            rc = fail_value(job, "time", "a ms offset at or after the previous record's", off);
            break;
        }
        rc = td_import__emit_tick(job, start_ms + off, &tick, (td_slice_t){NULL, 0});
    }
done:
    td_buf_fini(&data);
    return rc;
}
