/* buf.h - the one growable byte buffer, and a {ptr,len} slice for wire data.
 *
 * A td_buf_t owns its bytes (heap); td_buf_fini() frees them. Appends grow geometrically and fail
 * with TD_ERR_NOMEM, leaving the buffer as it was. The bytes are not NUL-terminated unless the
 * caller appends one; td_buf_cstr() does so without counting it in len.
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
} td_buf_t;

void td_buf_init(td_buf_t *buf);
void td_buf_fini(td_buf_t *buf);
/* Ensures room for `extra` more bytes beyond len. */
td_err_t td_buf_reserve(td_buf_t *buf, size_t extra) TD_WUR;
td_err_t td_buf_append(td_buf_t *buf, const void *data, size_t len) TD_WUR;
td_err_t td_buf_printf(td_buf_t *buf, const char *fmt, ...) TD_WUR __attribute__((format(printf, 2, 3)));
/* NUL-terminates (not counted in len) and returns the bytes as a C string; NULL on TD_ERR_NOMEM. */
const char *td_buf_cstr(td_buf_t *buf);
static inline void td_buf_reset(td_buf_t *buf)
{
    buf->len = 0;
}
static inline td_slice_t td_buf_slice(const td_buf_t *buf)
{
    return (td_slice_t){buf->ptr, buf->len};
}

#endif
