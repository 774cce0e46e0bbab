/* output.h - the list of outputs a processor step produces.
 *
 * A processor appends outputs with td_outbuf_add(); the caller (the pipeline, then the host) fills
 * in the envelope (symbol, time, input offset, index) and hands them on. The buffer grows as
 * needed and is reused across steps with td_outbuf_clear().
 */
#ifndef TD_OUTPUT_H
#define TD_OUTPUT_H

#include <stddef.h>

#include "core/err.h"
#include "core/event.h"

typedef struct td_outbuf {
    td_event_t *ev;
    size_t len, cap;
} td_outbuf_t;

void td_outbuf_init(td_outbuf_t *out);
void td_outbuf_fini(td_outbuf_t *out);
static inline void td_outbuf_clear(td_outbuf_t *out)
{
    out->len = 0;
}
/* Appends an event of `kind` - envelope and the kind's own body zeroed, schema version set; the
 * union's bytes beyond that body are unspecified - and returns it; NULL on allocation failure. */
td_event_t *td_outbuf_add(td_outbuf_t *out, td_event_kind_t kind);
/* The leading bytes of an event of `kind` that td_outbuf_add sets: the envelope and the kind's body
 * (what two outputs must share to be the same output, compared as bytes). */
size_t td_outbuf_event_bytes(td_event_kind_t kind);

#endif
