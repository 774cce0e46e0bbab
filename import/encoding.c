/* encoding.c - the byte-level checks every text importer runs before reading lines: UTF-8 without
 * NUL bytes (a UTF-16 file read as UTF-8 shows up as a BOM or as NULs), and MT5's UTF-16LE.
 *
 * The check runs once over the whole file, 8 bytes at a time while the bytes are plain ASCII, so
 * it costs far less than the field parsing that follows. Errors give the 1-based line of the first
 * bad byte (counted only when there is an error).
 */
#include "import/import_internal.h"

#include <string.h>

static uint64_t line_of(const uint8_t *start, const uint8_t *at)
{
    uint64_t line = 1;
    for (const uint8_t *p = start; p < at; p++)
        line += *p == '\n';
    return line;
}

static td_err_t fail_at(td_import__job_t *job, td_slice_t text, size_t at, const char *expected)
{
    job->line = line_of(text.ptr, text.ptr + at);
    size_t n = text.len - at < 8 ? text.len - at : 8;
    return td_import__fail(job, "encoding", expected, (const char *)text.ptr + at, n);
}

/* Length of the valid UTF-8 sequence at p (2..4), or 0 if it is not one. */
static size_t utf8_seq(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

td_err_t td_import__check_utf8(td_import__job_t *job, td_slice_t text, td_slice_t *body)
{
    const uint8_t *p = text.ptr;
    size_t len = text.len;
    *body = (td_slice_t){p, 0}; /* set on every path: callers set up their line reader before checking rc */
    if (len >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff)))
        return fail_at(job, text, 0, "UTF-8 text (this file starts with a UTF-16 byte-order mark)");
    size_t i = 0;
    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        i = 3;
    *body = (td_slice_t){p + i, len - i};
    while (i < len) {
        /* fast path: 8 bytes with no high bit and no zero byte */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            uint64_t has_zero = (w - UINT64_C(0x0101010101010101)) & ~w & UINT64_C(0x8080808080808080);
            if ((w & UINT64_C(0x8080808080808080)) | has_zero)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        uint8_t c = p[i];
        if (c == 0)
            return fail_at(job, text, i, "UTF-8 text without NUL bytes (is it UTF-16?)");
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0)
            return fail_at(job, text, i, "valid UTF-8");
        i += n;
    }
    return TD_OK;
}

td_err_t td_import__decode_mt5(td_import__job_t *job, td_slice_t text, td_buf_t *out, td_slice_t *body)
{
    const uint8_t *p = text.ptr;
    if (!(text.len >= 2 && p[0] == 0xff && p[1] == 0xfe))
        return td_import__check_utf8(job, text, body);
    if (text.len % 2)
        return fail_at(job, text, text.len - 1, "UTF-16LE text of whole 2-byte units");
    size_t units = (text.len - 2) / 2;
    td_err_t rc = td_buf_reserve(out, units);
    if (rc != TD_OK)
        return td_err_set(job->errbuf, job->errlen, rc, "%s: out of memory converting UTF-16LE", job->path);
    uint64_t line = 1;
    for (size_t k = 0; k < units; k++) {
        uint8_t lo = p[2 + 2 * k], hi = p[3 + 2 * k];
        if (hi != 0 || lo == 0 || lo >= 0x80) {
            job->line = line;
            return td_import__fail(job, "encoding", "ASCII characters in UTF-16LE (MT5 exports have no others)",
                                   (const char *)p + 2 + 2 * k, 2);
        }
        line += lo == '\n';
        out->ptr[out->len++] = lo;
    }
    *body = td_buf_slice(out);
    return TD_OK;
}
