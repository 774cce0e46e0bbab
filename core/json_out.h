/* json_out.h - a small JSON writer on td_buf_t's sticky text writers (buf.h).
 *
 * No state of its own: td_json_key puts the comma before a member by looking at the byte before
 * it, so an object or array written into one buffer needs no bookkeeping by the caller. Numbers
 * are exact for fixed point and "%.12g" for derived doubles, null when not finite. Check
 * td_buf_error() once when the document is complete.
 *
 * Threading: as the buffer's.
 */
#ifndef TD_JSON_OUT_H
#define TD_JSON_OUT_H

#include <stdint.h>

#include "core/buf.h"

/* ',' unless the buffer is empty or its last byte opens an object or array ('{', '['): the
 * separator before a member or element. A buffer that continues a document written elsewhere
 * puts its own first comma. */
void td_json_comma(td_buf_t *buf);
/* A member's name: the comma (td_json_comma), "name" escaped, ':'. */
void td_json_key(td_buf_t *buf, const char *name);
/* s as a JSON string literal, quotes included. */
void td_json_str(td_buf_t *buf, const char *s);
/* A 1e8-scaled value as an exact JSON number ("1.14543", "-7.25", "2"). */
void td_json_fixed_num(td_buf_t *buf, int64_t v);
/* A derived double, "%.12g"; null when not finite. */
void td_json_double(td_buf_t *buf, double v);
/* Members: key then value. */
void td_json_key_str(td_buf_t *buf, const char *name, const char *s);
void td_json_key_fixed(td_buf_t *buf, const char *name, int64_t v);
void td_json_key_double(td_buf_t *buf, const char *name, double v);
void td_json_key_u64(td_buf_t *buf, const char *name, uint64_t v);

#endif
