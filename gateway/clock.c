/* clock.c - HEARTBEAT -> Clock events (see clock.h). A few dozen symbols: a plain array. */
#include "gateway/clock.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"

typedef struct clock_symbol {
    char name[TD_SYMBOL_MAX + 1];
    int64_t last_ms;
} clock_symbol_t;

struct td_gw_clock {
    int64_t timeframe_ms;
    int align_offset_minutes;
    clock_symbol_t *syms;
    size_t n, cap;
};

int64_t td_gw_clock_bar(int64_t time_ms, int64_t timeframe_ms, int align_offset_minutes)
{
    int64_t t = time_ms + (int64_t)align_offset_minutes * 60000;
    int64_t q = t / timeframe_ms;
    return t % timeframe_ms < 0 ? q - 1 : q;
}

td_err_t td_gw_clock_new(int64_t timeframe_ms, int align_offset_minutes, td_gw_clock_t **out)
{
    *out = NULL;
    if (timeframe_ms <= 0)
        return TD_ERR_INVALID;
    td_gw_clock_t *clock = calloc(1, sizeof *clock);
    if (!clock)
        return TD_ERR_NOMEM;
    clock->timeframe_ms = timeframe_ms;
    clock->align_offset_minutes = align_offset_minutes;
    *out = clock;
    return TD_OK;
}

void td_gw_clock_destroy(td_gw_clock_t *clock)
{
    if (!clock)
        return;
    free(clock->syms);
    free(clock);
}

td_err_t td_gw_clock_seen(td_gw_clock_t *clock, const char *symbol, int64_t time_ms)
{
    for (size_t i = 0; i < clock->n; i++)
        if (strcmp(clock->syms[i].name, symbol) == 0) {
            if (time_ms > clock->syms[i].last_ms)
                clock->syms[i].last_ms = time_ms;
            return TD_OK;
        }
    if (strlen(symbol) > TD_SYMBOL_MAX)
        return TD_ERR_INVALID;
    if (clock->n == clock->cap) {
        size_t cap = clock->cap ? clock->cap * 2 : 32;
        clock_symbol_t *p = realloc(clock->syms, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        clock->syms = p;
        clock->cap = cap;
    }
    clock_symbol_t *s = &clock->syms[clock->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->name, symbol, strlen(symbol));
    s->last_ms = time_ms;
    return TD_OK;
}

typedef struct load_ctx {
    td_gw_clock_t *clock;
    td_tape_t *tape;
    td_event_t *ev;
} load_ctx_t;

static td_err_t load_symbol(void *opaque, const char *symbol)
{
    load_ctx_t *ctx = opaque;
    if (strchr(symbol, '@')) /* a history stream SYMBOL@TF: no live events */
        return TD_OK;
    uint64_t next = td_tape_next_offset(ctx->tape, TD_STREAM_INPUT, symbol);
    if (next == 0)
        return TD_OK;
    td_err_t rc = td_tape_read(ctx->tape, TD_STREAM_INPUT, symbol, next - 1, ctx->ev, NULL, 0);
    return rc == TD_OK ? td_gw_clock_seen(ctx->clock, symbol, ctx->ev->time_ms) : rc;
}

td_err_t td_gw_clock_load(td_gw_clock_t *clock, td_tape_t *tape)
{
    clock->n = 0;
    load_ctx_t ctx = {clock, tape, malloc(sizeof(td_event_t))};
    if (!ctx.ev)
        return TD_ERR_NOMEM;
    td_err_t rc = td_tape_symbols(tape, TD_STREAM_INPUT, load_symbol, &ctx, NULL, 0);
    free(ctx.ev);
    return rc;
}

td_err_t td_gw_clock_heartbeat(td_gw_clock_t *clock, int64_t time_ms, td_gw_clock_emit_fn emit, void *opaque,
                               uint64_t *appended)
{
    int64_t bar = td_gw_clock_bar(time_ms, clock->timeframe_ms, clock->align_offset_minutes);
    td_err_t rc = TD_OK;
    td_event_t *ev = NULL;
    for (size_t i = 0; rc == TD_OK && i < clock->n; i++) {
        clock_symbol_t *s = &clock->syms[i];
        if (time_ms <= s->last_ms ||
            bar <= td_gw_clock_bar(s->last_ms, clock->timeframe_ms, clock->align_offset_minutes))
            continue;
        if (!ev && !(ev = malloc(sizeof *ev)))
            rc = TD_ERR_NOMEM;
        if (rc == TD_OK)
            rc = td_event_init(ev, TD_EV_CLOCK, s->name, time_ms);
        if (rc == TD_OK) {
            memcpy(ev->source, "mt5", 4);
            rc = emit(opaque, ev);
        }
        if (rc == TD_OK) {
            s->last_ms = time_ms;
            (*appended)++;
        }
    }
    free(ev);
    return rc;
}

td_err_t td_gw_clock_encode(const td_gw_clock_t *clock, td_buf_t *out)
{
    td_buf_reset(out);
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i < clock->n; i++)
        rc = td_buf_printf(out, "%s\t%" PRId64 "\n", clock->syms[i].name, clock->syms[i].last_ms);
    return rc;
}

/* One decimal integer (an optional '-', 1..19 digits) of text[0..len). */
static bool parse_ms(const uint8_t *text, size_t len, int64_t *ms)
{
    size_t i = len > 0 && text[0] == '-' ? 1 : 0;
    if (len == i || len - i > 18)
        return false;
    int64_t v = 0;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        v = v * 10 + (text[i] - '0');
    }
    *ms = text[0] == '-' ? -v : v;
    return true;
}

td_err_t td_gw_clock_decode(td_gw_clock_t *clock, const uint8_t *text, size_t len)
{
    clock->n = 0;
    td_err_t rc = TD_OK;
    size_t at = 0;
    while (rc == TD_OK && at < len) {
        const uint8_t *line = text + at;
        const uint8_t *lf = memchr(line, '\n', len - at);
        const uint8_t *tab = lf ? memchr(line, '\t', (size_t)(lf - line)) : NULL;
        int64_t ms = 0;
        size_t name_len = tab ? (size_t)(tab - line) : 0;
        if (!tab || name_len == 0 || name_len > TD_SYMBOL_MAX || memchr(line, '\0', name_len) ||
            !parse_ms(tab + 1, (size_t)(lf - tab - 1), &ms)) {
            rc = TD_ERR_CORRUPT;
            break;
        }
        char name[TD_SYMBOL_MAX + 1];
        memcpy(name, line, name_len);
        name[name_len] = '\0';
        rc = td_gw_clock_seen(clock, name, ms);
        at = (size_t)(lf - text) + 1;
    }
    if (rc != TD_OK)
        clock->n = 0;
    return rc;
}
