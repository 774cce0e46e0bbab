/* buf.c - growable byte buffer. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_buf_init(td_buf_t *buf)
{
    buf->ptr = NULL;
    buf->len = buf->cap = 0;
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

td_err_t td_buf_printf(td_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TD_ERR_INVALID;
    td_err_t rc = td_buf_reserve(buf, (size_t)n);
    if (rc != TD_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)buf->ptr + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return TD_OK;
}

const char *td_buf_cstr(td_buf_t *buf)
{
    if (td_buf_reserve(buf, 0) != TD_OK)
        return NULL;
    buf->ptr[buf->len] = '\0';
    return (const char *)buf->ptr;
}
