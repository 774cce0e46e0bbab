/* csv_out.c - CSV fields on the sticky text writers (contract in csv_out.h). */
#include "core/csv_out.h"

#include <inttypes.h>
#include <string.h>

void td_csv_str(td_buf_t *buf, const char *s)
{
    td_buf_putc(buf, ',');
    if (!strpbrk(s, ",\"\r\n")) {
        td_buf_puts(buf, s);
        return;
    }
    td_buf_putc(buf, '"');
    for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
        td_buf_put(buf, s, (size_t)(q - s));
        td_buf_puts(buf, "\"\"");
    }
    td_buf_puts(buf, s);
    td_buf_putc(buf, '"');
}

void td_csv_u64(td_buf_t *buf, uint64_t v)
{
    td_buf_putf(buf, ",%" PRIu64, v);
}

void td_csv_fixed(td_buf_t *buf, int64_t v)
{
    td_buf_putc(buf, ',');
    td_buf_put_fixed(buf, v);
}

void td_csv_price(td_buf_t *buf, int64_t v, unsigned digits)
{
    td_buf_putc(buf, ',');
    td_buf_put_price(buf, v, digits);
}

void td_csv_double(td_buf_t *buf, double v)
{
    td_buf_putc(buf, ',');
    td_buf_put_double(buf, v);
}

void td_csv_iso_time(td_buf_t *buf, int64_t ms)
{
    td_buf_putc(buf, ',');
    td_buf_put_iso_time(buf, ms);
}

void td_csv_day(td_buf_t *buf, uint32_t yyyymmdd)
{
    td_buf_putc(buf, ',');
    td_buf_put_day(buf, yyyymmdd);
}

void td_csv_end(td_buf_t *buf)
{
    td_buf_putc(buf, '\n');
}
