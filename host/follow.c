/* follow.c - the processor host over the input streams that grew (see follow.h). */
#include "host/follow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void td_follow_init(td_follow_t *follow)
{
    memset(follow, 0, sizeof *follow);
}

void td_follow_fini(td_follow_t *follow)
{
    for (size_t i = 0; i < follow->n_seen; i++) {
        td_host_cache_drop(follow->seen[i].cache);
        free(follow->seen[i].cache);
        follow->seen[i].cache = NULL;
    }
    follow->n_seen = 0;
}

static td_follow_seen_t *seen_find(td_follow_t *follow, const char *symbol)
{
    for (size_t i = 0; i < follow->n_seen; i++)
        if (strcmp(follow->seen[i].name, symbol) == 0)
            return &follow->seen[i];
    return NULL;
}

static td_err_t collect_grown(void *opaque, const char *symbol)
{
    td_follow_t *follow = opaque;
    const td_follow_seen_t *seen = seen_find(follow, symbol);
    if (seen && seen->next == td_tape_next_offset(follow->tape, TD_STREAM_INPUT, symbol))
        return TD_OK;
    if (follow->n_grown == TD_FOLLOW_SYMBOLS_MAX)
        return TD_ERR_OVERFLOW;
    snprintf(follow->grown[follow->n_grown++], TD_SYMBOL_MAX + 1, "%s", symbol);
    return TD_OK;
}

td_err_t td_follow_process(td_follow_t *follow, td_tape_t *tape, const td_host_opts_t *opts, td_host_stats_t *total,
                           char *errbuf, size_t errlen)
{
    memset(total, 0, sizeof *total);
    follow->n_grown = 0;
    td_err_t rc = TD_OK;
    if (follow->tape != tape) { /* a tape not seen before: its configuration checked, nothing kept */
        td_follow_fini(follow);
        follow->scanned = false;
        rc = td_host_check_config(tape, &opts->pipeline, errbuf, errlen);
        if (rc != TD_OK)
            return rc;
        follow->tape = tape;
    }
    rc = follow->scanned ? td_tape_known_symbols(tape, TD_STREAM_INPUT, collect_grown, follow)
                         : td_tape_symbols(tape, TD_STREAM_INPUT, collect_grown, follow, NULL, 0);
    follow->scanned = follow->scanned || rc == TD_OK;
    for (size_t i = 0; rc == TD_OK && i < follow->n_grown; i++) {
        const char *symbol = follow->grown[i];
        uint64_t next = td_tape_next_offset(tape, TD_STREAM_INPUT, symbol);
        if (next == 0)
            continue; /* listed, nothing in it yet */
        td_follow_seen_t *seen = seen_find(follow, symbol);
        if (!seen && follow->n_seen < TD_FOLLOW_SYMBOLS_MAX) {
            seen = &follow->seen[follow->n_seen++];
            snprintf(seen->name, sizeof seen->name, "%s", symbol);
            seen->next = UINT64_MAX; /* not processed yet */
            seen->cache = calloc(1, sizeof *seen->cache);
        }
        td_host_stats_t st;
        rc = td_host_process_symbol(tape, opts, symbol, seen ? seen->cache : NULL, &st, errbuf, errlen);
        if (rc != TD_OK)
            break;
        total->inputs += st.inputs;
        total->outputs += st.outputs;
        total->symbols += st.symbols;
        total->days_closed += st.days_closed;
        total->commits += st.commits;
        if (seen)
            seen->next = next;
    }
    return rc;
}
