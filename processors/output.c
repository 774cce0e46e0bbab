/* output.c - growable list of output events. */
#include "processors/output.h"

#include <stdlib.h>
#include <string.h>

void td_outbuf_init(td_outbuf_t *out)
{
    out->ev = NULL;
    out->len = out->cap = 0;
}

void td_outbuf_fini(td_outbuf_t *out)
{
    if (!out)
        return;
    free(out->ev);
    td_outbuf_init(out);
}

td_event_t *td_outbuf_add(td_outbuf_t *out, td_event_kind_t kind)
{
    if (out->len == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        td_event_t *p = realloc(out->ev, cap * sizeof *p);
        if (!p)
            return NULL;
        out->ev = p;
        out->cap = cap;
    }
    td_event_t *ev = &out->ev[out->len++];
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
    ev->schema_version = TD_SCHEMA_VERSION;
    return ev;
}
