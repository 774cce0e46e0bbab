/* buf.c - growable byte buffer, and its text writers with a sticky error (buf.h). */
#include "core/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fixed.h"
#include "core/timeutil.h"

void td_buf_init(td_buf_t *buf)
{
    buf->ptr = NULL;
    buf->len = buf->cap = 0;
    buf->err = TD_OK;
}

void td_buf_fini(td_buf_t *buf)
{
    if (!buf)
        return;
    free(buf->ptr);
    td_buf_init(buf);
}

td_err_t td_buf_reserve(td_buf_t *buf, size_t extra)
{
    if (extra > SIZE_MAX - buf->len - 1)
        return TD_ERR_NOMEM;
    size_t need = buf->len + extra + 1; /* +1 keeps room for td_buf_cstr */
    if (need <= buf->cap)
        return TD_OK;
    size_t cap = buf->cap ? buf->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(buf->ptr, cap);
    if (!p)
        return TD_ERR_NOMEM;
    buf->ptr = p;
    buf->cap = cap;
    return TD_OK;
}

td_err_t td_buf_append(td_buf_t *buf, const void *data, size_t len)
{
    td_err_t rc = td_buf_reserve(buf, len);
    if (rc != TD_OK)
        return rc;
    if (len)
        memcpy(buf->ptr + buf->len, data, len);
    buf->len += len;
    return TD_OK;
}

static td_err_t vprintf_append(td_buf_t *buf, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    td_err_t rc = n < 0 ? TD_ERR_INVALID : td_buf_reserve(buf, (size_t)n);
    if (rc == TD_OK) {
        vsnprintf((char *)buf->ptr + buf->len, (size_t)n + 1, fmt, again);
        buf->len += (size_t)n;
    }
    va_end(again);
    return rc;
}

td_err_t td_buf_printf(td_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    td_err_t rc = vprintf_append(buf, fmt, ap);
    va_end(ap);
    return rc;
}

const char *td_buf_cstr(td_buf_t *buf)
{
    if (td_buf_reserve(buf, 0) != TD_OK)
        return NULL;
    buf->ptr[buf->len] = '\0';
    return (const char *)buf->ptr;
}

/* ---- text writers with a sticky error ---- */

void td_buf_fail(td_buf_t *buf, td_err_t rc)
{
    if (buf->err == TD_OK)
        buf->err = rc;
}

void td_buf_put(td_buf_t *buf, const void *data, size_t len)
{
    if (buf->err == TD_OK)
        buf->err = td_buf_append(buf, data, len);
}

void td_buf_puts(td_buf_t *buf, const char *s)
{
    td_buf_put(buf, s, strlen(s));
}

void td_buf_putc(td_buf_t *buf, char c)
{
    td_buf_put(buf, &c, 1);
}

void td_buf_putf(td_buf_t *buf, const char *fmt, ...)
{
    if (buf->err != TD_OK)
        return;
    va_list ap;
    va_start(ap, fmt);
    buf->err = vprintf_append(buf, fmt, ap);
    va_end(ap);
}

void td_buf_put_fixed(td_buf_t *buf, int64_t v)
{
    char num[48];
    int n = td_fx_format(v, TD_FX_DECIMALS, num, sizeof num);
    while (n > 0 && num[n - 1] == '0')
        n--;
    if (n > 0 && num[n - 1] == '.')
        n--;
    td_buf_put(buf, num, (size_t)n);
}

void td_buf_put_price(td_buf_t *buf, int64_t v, unsigned digits)
{
    char num[48];
    int n = td_fx_format(v, (int)digits, num, sizeof num);
    td_buf_put(buf, num, (size_t)n);
}

void td_buf_put_double(td_buf_t *buf, double v)
{
    if (isfinite(v))
        td_buf_putf(buf, "%.12g", v);
    else
        td_buf_puts(buf, isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
}

void td_buf_put_iso_time(td_buf_t *buf, int64_t ms)
{
    char iso[32];
    td_time_format_iso(ms, iso);
    td_buf_puts(buf, iso);
}

void td_buf_put_day(td_buf_t *buf, uint32_t yyyymmdd)
{
    td_buf_putf(buf, "%04u-%02u-%02u", yyyymmdd / 10000, yyyymmdd / 100 % 100, yyyymmdd % 100);
}
