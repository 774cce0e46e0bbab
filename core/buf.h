/* buf.h - the one growable byte buffer, and a {ptr,len} slice for wire data.
 *
 * A td_buf_t owns its bytes (heap); td_buf_fini() frees them. Appends grow geometrically and fail
 * with TD_ERR_NOMEM, leaving the buffer as it was. The bytes are not NUL-terminated unless the
 * caller appends one; td_buf_cstr() does so without counting it in len.
 *
 * Two ways to append:
 *   - td_buf_append / td_buf_printf return their code: for code that must react to each append;
 *   - the text writers below (td_buf_puts, td_buf_putf, td_buf_put_*) return nothing: the first
 *     failure (an allocation, a formatting error) sticks in the buffer, every later text append is
 *     a no-op, and the caller reads td_buf_error() once when the text is complete (SQLite's
 *     sqlite3_str; STYLE rule 13 "append many, check once"). td_buf_reset() and td_buf_init()
 *     clear the error. The returning appends neither read nor set it.
 *
 * Threading: a buffer belongs to one thread at a time.
 */
#ifndef TD_BUF_H
#define TD_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct td_slice {
    const uint8_t *ptr;
    size_t len;
} td_slice_t;

typedef struct td_buf {
    uint8_t *ptr;
    size_t len, cap;
    td_err_t err; /* the first failure of a text writer; TD_OK until then */
} td_buf_t;

void td_buf_init(td_buf_t *buf);
void td_buf_fini(td_buf_t *buf);
/* Ensures room for `extra` more bytes beyond len. */
td_err_t td_buf_reserve(td_buf_t *buf, size_t extra) TD_WUR;
td_err_t td_buf_append(td_buf_t *buf, const void *data, size_t len) TD_WUR;
td_err_t td_buf_printf(td_buf_t *buf, const char *fmt, ...) TD_WUR __attribute__((format(printf, 2, 3)));
/* NUL-terminates (not counted in len) and returns the bytes as a C string; NULL on TD_ERR_NOMEM. */
const char *td_buf_cstr(td_buf_t *buf);
/* Empties the buffer (keeping its memory) and clears the sticky error. */
static inline void td_buf_reset(td_buf_t *buf)
{
    buf->len = 0;
    buf->err = TD_OK;
}
static inline td_slice_t td_buf_slice(const td_buf_t *buf)
{
    return (td_slice_t){buf->ptr, buf->len};
}

/* ---- text writers with a sticky error ---- */

/* The first failure of a text writer since init or reset (TD_ERR_NOMEM, TD_ERR_INVALID for a
 * format snprintf refused), else TD_OK. */
static inline td_err_t td_buf_error(const td_buf_t *buf)
{
    return buf->err;
}
/* Records rc as the buffer's error unless one is already there or rc is TD_OK; lets a writer
 * built on a returning append (td_json_string) join the sticky scheme. */
void td_buf_fail(td_buf_t *buf, td_err_t rc);
void td_buf_put(td_buf_t *buf, const void *data, size_t len);
void td_buf_puts(td_buf_t *buf, const char *s);
void td_buf_putc(td_buf_t *buf, char c);
void td_buf_putf(td_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A 1e8-scaled value as its exact decimal, trailing zeros trimmed ("1.14543", "-7.25", "2"). */
void td_buf_put_fixed(td_buf_t *buf, int64_t v);
/* A 1e8-scaled price with exactly `digits` decimals (the symbol's digits). */
void td_buf_put_price(td_buf_t *buf, int64_t v, unsigned digits);
/* A derived double as "%.12g"; nan, inf and -inf spelled so. */
void td_buf_put_double(td_buf_t *buf, double v);
/* Milliseconds since the epoch as ISO-8601 UTC (td_time_format_iso). */
void td_buf_put_iso_time(td_buf_t *buf, int64_t ms);
/* A YYYYMMDD day as YYYY-MM-DD. */
void td_buf_put_day(td_buf_t *buf, uint32_t yyyymmdd);

#endif
