/* json_out.c - JSON members and values on the sticky text writers (json_out.h). */
#include "core/json_out.h"

#include <inttypes.h>
#include <math.h>

#include "core/event_json.h"

void td_json_comma(td_buf_t *buf)
{
    if (buf->len > 0 && buf->ptr[buf->len - 1] != '{' && buf->ptr[buf->len - 1] != '[')
        td_buf_putc(buf, ',');
}

void td_json_key(td_buf_t *buf, const char *name)
{
    td_json_comma(buf);
    td_json_str(buf, name);
    td_buf_putc(buf, ':');
}

void td_json_str(td_buf_t *buf, const char *s)
{
    if (td_buf_error(buf) == TD_OK)
        td_buf_fail(buf, td_json_string(buf, s));
}

void td_json_fixed_num(td_buf_t *buf, int64_t v)
{
    td_buf_put_fixed(buf, v);
}

void td_json_double(td_buf_t *buf, double v)
{
    if (isfinite(v))
        td_buf_put_double(buf, v);
    else
        td_buf_puts(buf, "null");
}

void td_json_key_str(td_buf_t *buf, const char *name, const char *s)
{
    td_json_key(buf, name);
    td_json_str(buf, s);
}

void td_json_key_fixed(td_buf_t *buf, const char *name, int64_t v)
{
    td_json_key(buf, name);
    td_json_fixed_num(buf, v);
}

void td_json_key_double(td_buf_t *buf, const char *name, double v)
{
    td_json_key(buf, name);
    td_json_double(buf, v);
}

void td_json_key_u64(td_buf_t *buf, const char *name, uint64_t v)
{
    td_json_key(buf, name);
    td_buf_putf(buf, "%" PRIu64, v);
}
