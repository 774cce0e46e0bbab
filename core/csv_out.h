/* csv_out.h - CSV fields on td_buf_t's sticky text writers (buf.h).
 *
 * Each td_csv_* appends a comma and one field; the first field of a line is the caller's, and
 * td_csv_end ends the line. A text field is quoted (RFC 4180: in double quotes, quotes doubled)
 * only when it holds a comma, a quote or a line end, so names, numbers and times are written as
 * they are. Numbers: money exact (1e8 scale, zeros trimmed), prices with the given decimals,
 * derived doubles "%.12g" with nan, inf and -inf spelled so. Check td_buf_error() once.
 *
 * Threading: as the buffer's.
 */
#ifndef TD_CSV_OUT_H
#define TD_CSV_OUT_H

#include <stdint.h>

#include "core/buf.h"

void td_csv_str(td_buf_t *buf, const char *s);
void td_csv_u64(td_buf_t *buf, uint64_t v);
void td_csv_fixed(td_buf_t *buf, int64_t v);
void td_csv_price(td_buf_t *buf, int64_t v, unsigned digits);
void td_csv_double(td_buf_t *buf, double v);
void td_csv_iso_time(td_buf_t *buf, int64_t ms);
/* A YYYYMMDD day as YYYY-MM-DD. */
void td_csv_day(td_buf_t *buf, uint32_t yyyymmdd);
/* The line end, "\n". */
void td_csv_end(td_buf_t *buf);

#endif
