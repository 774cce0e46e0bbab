/* codec.c - td_event_t <-> canonical protobuf bytes, on protobuf-c's generated Td__* code.
 *
 * Encoding builds the Td__* messages on the stack, pointing into the event's own strings, and packs
 * them straight into the caller's td_buf_t: no heap allocation beyond growing that buffer.
 *
 * Decoding unpacks with a bump allocator over a buffer on the caller's stack (protobuf-c frees
 * nothing we need to track: the arena goes away with the call), then copies into td_event_t and
 * checks what protobuf-c does not:
 *   - no unknown fields anywhere (an unknown body kind is an unknown field to protobuf-c);
 *   - exactly one known body;
 *   - every string fits its fixed field and has no embedded NUL; sha256 is 32 bytes; at most
 *     TD_PARAMS_MAX params; enum values are ones this schema names;
 *   - the input is byte for byte the canonical encoding of what was decoded (packed again and
 *     compared), which refuses trailing garbage, repeated fields, over-long varints, explicit
 *     defaults and the high bits a 32-bit field silently drops: one event has one byte string,
 *     and the tape and the digests rely on that.
 * A valid event needs a few KiB at most; input that does not fit the arena is corrupt anyway.
 *
 * Threads: every function is reentrant; there is no global mutable state.
 */
#include "core/codec.h"

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "core/timeutil.h"
#include "events.pb-c.h"

/* Enough for the largest valid envelope (a ParamsChanged with every string at its maximum and
 * TD_PARAMS_MAX params needs about 3 KiB including protobuf-c's scan slabs). */
#define ARENA_SIZE 16384

typedef struct arena {
    size_t used;
    alignas(16) unsigned char mem[ARENA_SIZE];
} arena_t;

static void *arena_alloc(void *data, size_t size)
{
    arena_t *arena = data;
    size_t at = (arena->used + 15u) & ~(size_t)15u;
    if (size > ARENA_SIZE || at > ARENA_SIZE - size)
        return NULL;
    arena->used = at + size;
    return arena->mem + at;
}

static void arena_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* released with the arena */
}

/* ---------------------------------------------------------------------------------------------
 * encode
 */

/* The string in a fixed field, as protobuf-c wants it; NULL if it is not NUL-terminated. */
static char *enc_str(const char *field, size_t size)
{
    return memchr(field, '\0', size) ? (char *)field : NULL;
}

#define ENC_STR(dst, field)                             \
    do {                                                \
        if (!((dst) = enc_str((field), sizeof(field)))) \
            return TD_ERR_INVALID;                      \
    } while (0)

typedef union body_msgs {
    Td__Tick tick;
    Td__SymbolSpec spec;
    Td__ExecutionReport exec;
    Td__ParamsChanged params;
    Td__Clock clock;
    Td__SessionMark session;
    Td__Bar bar;
    Td__Signal signal;
    Td__OrderIntent intent;
    Td__PositionChanged position;
    Td__TradeClosed trade;
    Td__DayDigest digest;
} body_msgs_t;

typedef struct param_msgs {
    Td__Param items[TD_PARAMS_MAX];
    Td__Param *ptrs[TD_PARAMS_MAX];
} param_msgs_t;

static int side_ok(int v)
{
    return v >= TD_SIDE_NONE && v <= TD_SIDE_SELL;
}

/* Points env's body at a message in msgs built from ev. TD_ERR_INVALID for unknown kinds,
 * unterminated strings, too many params and enum values the schema does not name. */
static td_err_t enc_body(const td_event_t *ev, Td__Envelope *env, body_msgs_t *msgs, param_msgs_t *pm)
{
    switch (ev->kind) {
    case TD_EV_TICK: {
        Td__Tick *m = &msgs->tick;
        td__tick__init(m);
        m->bid = ev->u.tick.bid;
        m->ask = ev->u.tick.ask;
        m->last = ev->u.tick.last;
        m->volume = ev->u.tick.volume;
        m->flags = ev->u.tick.flags;
        env->body_case = TD__ENVELOPE__BODY_TICK;
        env->tick = m;
        return TD_OK;
    }
    case TD_EV_SYMBOL_SPEC: {
        const td_symbol_spec_t *s = &ev->u.spec;
        Td__SymbolSpec *m = &msgs->spec;
        if (s->swap_mode > TD_SWAP_INTEREST)
            return TD_ERR_INVALID;
        td__symbol_spec__init(m);
        m->digits = s->digits;
        m->point = s->point;
        m->contract_size = s->contract_size;
        m->tick_size = s->tick_size;
        m->tick_value = s->tick_value;
        m->swap_long = s->swap_long;
        m->swap_short = s->swap_short;
        m->swap_mode = (Td__SwapMode)s->swap_mode;
        m->triple_swap_weekday = s->triple_swap_weekday;
        m->volume_step = s->volume_step;
        m->volume_min = s->volume_min;
        m->volume_max = s->volume_max;
        env->body_case = TD__ENVELOPE__BODY_SYMBOL_SPEC;
        env->symbol_spec = m;
        return TD_OK;
    }
    case TD_EV_EXEC_REPORT: {
        const td_exec_report_t *s = &ev->u.exec;
        Td__ExecutionReport *m = &msgs->exec;
        if (!side_ok((int)s->side) || s->status > TD_EXEC_CANCELLED)
            return TD_ERR_INVALID;
        td__execution_report__init(m);
        ENC_STR(m->intent_id, s->intent_id);
        m->deal_id = s->deal_id;
        m->order_id = s->order_id;
        m->position_id = s->position_id;
        m->side = (Td__Side)s->side;
        m->price = s->price;
        m->volume = s->volume;
        m->commission = s->commission;
        m->swap = s->swap;
        m->profit = s->profit;
        m->status = (Td__ExecStatus)s->status;
        ENC_STR(m->reason, s->reason);
        env->body_case = TD__ENVELOPE__BODY_EXECUTION_REPORT;
        env->execution_report = m;
        return TD_OK;
    }
    case TD_EV_PARAMS_CHANGED: {
        const td_params_changed_t *s = &ev->u.params;
        Td__ParamsChanged *m = &msgs->params;
        if (s->n_values > TD_PARAMS_MAX)
            return TD_ERR_INVALID;
        td__params_changed__init(m);
        ENC_STR(m->strategy, s->strategy);
        m->version = s->version;
        for (uint32_t i = 0; i < s->n_values; i++) {
            td__param__init(&pm->items[i]);
            ENC_STR(pm->items[i].name, s->values[i].name);
            ENC_STR(pm->items[i].value, s->values[i].value);
            pm->ptrs[i] = &pm->items[i];
        }
        m->n_values = s->n_values;
        m->values = s->n_values ? pm->ptrs : NULL;
        ENC_STR(m->author, s->author);
        ENC_STR(m->reason, s->reason);
        env->body_case = TD__ENVELOPE__BODY_PARAMS_CHANGED;
        env->params_changed = m;
        return TD_OK;
    }
    case TD_EV_CLOCK:
        td__clock__init(&msgs->clock);
        env->body_case = TD__ENVELOPE__BODY_CLOCK;
        env->clock = &msgs->clock;
        return TD_OK;
    case TD_EV_SESSION_MARK: {
        Td__SessionMark *m = &msgs->session;
        if (ev->u.session.kind > TD_SESSION_DAY_END)
            return TD_ERR_INVALID;
        td__session_mark__init(m);
        m->kind = (Td__SessionKind)ev->u.session.kind;
        m->trading_day = ev->u.session.trading_day;
        env->body_case = TD__ENVELOPE__BODY_SESSION_MARK;
        env->session_mark = m;
        return TD_OK;
    }
    case TD_EV_BAR: {
        const td_bar_t *s = &ev->u.bar;
        Td__Bar *m = &msgs->bar;
        td__bar__init(m);
        m->timeframe_s = s->timeframe_s;
        m->open_time = s->open_time;
        m->open = s->open;
        m->high = s->high;
        m->low = s->low;
        m->close = s->close;
        m->tick_volume = s->tick_volume;
        m->spread_min = s->spread_min;
        m->spread_max = s->spread_max;
        m->spread_sum = s->spread_sum;
        m->late_ticks = s->late_ticks;
        env->body_case = TD__ENVELOPE__BODY_BAR;
        env->bar = m;
        return TD_OK;
    }
    case TD_EV_SIGNAL: {
        const td_signal_t *s = &ev->u.signal;
        Td__Signal *m = &msgs->signal;
        if (s->direction > TD_DIR_SHORT)
            return TD_ERR_INVALID;
        td__signal__init(m);
        ENC_STR(m->strategy, s->strategy);
        m->params_version = s->params_version;
        m->direction = (Td__Direction)s->direction;
        m->bar_time = s->bar_time;
        ENC_STR(m->reason, s->reason);
        env->body_case = TD__ENVELOPE__BODY_SIGNAL;
        env->signal = m;
        return TD_OK;
    }
    case TD_EV_ORDER_INTENT: {
        const td_order_intent_t *s = &ev->u.intent;
        Td__OrderIntent *m = &msgs->intent;
        if (!side_ok((int)s->side) || s->type != TD__ORDER_TYPE__ORDER_MARKET)
            return TD_ERR_INVALID;
        td__order_intent__init(m);
        ENC_STR(m->intent_id, s->intent_id);
        m->side = (Td__Side)s->side;
        m->volume = s->volume;
        m->type = (Td__OrderType)s->type;
        m->stop_loss = s->stop_loss;
        m->take_profit = s->take_profit;
        ENC_STR(m->strategy, s->strategy);
        m->params_version = s->params_version;
        ENC_STR(m->reason, s->reason);
        env->body_case = TD__ENVELOPE__BODY_ORDER_INTENT;
        env->order_intent = m;
        return TD_OK;
    }
    case TD_EV_POSITION_CHANGED: {
        const td_position_changed_t *s = &ev->u.position;
        Td__PositionChanged *m = &msgs->position;
        td__position_changed__init(m);
        m->volume = s->volume;
        m->avg_price = s->avg_price;
        m->realized_pnl = s->realized_pnl;
        m->commission = s->commission;
        m->swap = s->swap;
        m->deal_id = s->deal_id;
        ENC_STR(m->intent_id, s->intent_id);
        env->body_case = TD__ENVELOPE__BODY_POSITION_CHANGED;
        env->position_changed = m;
        return TD_OK;
    }
    case TD_EV_TRADE_CLOSED: {
        const td_trade_closed_t *s = &ev->u.trade;
        Td__TradeClosed *m = &msgs->trade;
        if (!side_ok((int)s->side))
            return TD_ERR_INVALID;
        td__trade_closed__init(m);
        m->side = (Td__Side)s->side;
        m->entry_time = s->entry_time;
        m->entry_price = s->entry_price;
        m->exit_time = s->exit_time;
        m->exit_price = s->exit_price;
        m->volume = s->volume;
        m->pnl = s->pnl;
        m->commission = s->commission;
        m->swap = s->swap;
        env->body_case = TD__ENVELOPE__BODY_TRADE_CLOSED;
        env->trade_closed = m;
        return TD_OK;
    }
    case TD_EV_DAY_DIGEST: {
        const td_day_digest_t *s = &ev->u.digest;
        Td__DayDigest *m = &msgs->digest;
        td__day_digest__init(m);
        m->trading_day = s->trading_day;
        /* always the full 32 bytes, even all zero: decode insists on exactly 32 */
        m->sha256.data = (uint8_t *)s->sha256;
        m->sha256.len = sizeof s->sha256;
        m->first_offset = s->first_offset;
        m->last_offset = s->last_offset;
        m->inputs = s->inputs;
        m->outputs = s->outputs;
        m->trades = s->trades;
        m->wins = s->wins;
        m->realized_pnl = s->realized_pnl;
        m->max_drawdown = s->max_drawdown;
        m->late_ticks = s->late_ticks;
        env->body_case = TD__ENVELOPE__BODY_DAY_DIGEST;
        env->day_digest = m;
        return TD_OK;
    }
    case TD_EV_NONE: break;
    }
    return TD_ERR_INVALID;
}

/* ---- the tick fast path of encode ----
 * The gateway encodes every tick it reads. A Tick envelope is written directly, in the bytes
 * protobuf-c's pack gives (proto3: a field that is zero or empty is left out; fields in number
 * order; the body always present): tests/unit/core/test_codec.c compares the two on random ticks. */

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63)); /* no shift of a negative number */
}

/* A varint field numbered 1..15, left out when zero. */
static uint8_t *put_field(uint8_t *p, unsigned number, uint64_t v)
{
    if (!v)
        return p;
    *p++ = (uint8_t)(number << 3);
    return put_varint(p, v);
}

/* A length-delimited field numbered 1..15, left out when empty. */
static uint8_t *put_bytes(uint8_t *p, unsigned number, const void *data, size_t n)
{
    if (!n)
        return p;
    *p++ = (uint8_t)(number << 3 | 2);
    p = put_varint(p, n);
    memcpy(p, data, n);
    return p + n;
}

static td_err_t encode_tick(const td_event_t *ev, unsigned flags, td_buf_t *out)
{
    const char *sym_end = memchr(ev->symbol, '\0', sizeof ev->symbol);
    const char *src_end = memchr(ev->source, '\0', sizeof ev->source);
    if (!sym_end || !src_end)
        return TD_ERR_INVALID;
    uint8_t body[64]; /* 4 sint64 and a uint32 with their tags: at most 4 x 11 + 6 bytes */
    uint8_t *b = body;
    b = put_field(b, 1, zigzag(ev->u.tick.bid));
    b = put_field(b, 2, zigzag(ev->u.tick.ask));
    b = put_field(b, 3, zigzag(ev->u.tick.last));
    b = put_field(b, 4, zigzag(ev->u.tick.volume));
    b = put_field(b, 5, ev->u.tick.flags);
    const size_t body_len = (size_t)(b - body);
    /* the strings, 6 varints with tags, the body with its tag and length */
    const size_t bound = sizeof ev->symbol + sizeof ev->source + 6 * 11 + 2 * 6 + body_len + 4;
    td_err_t rc = td_buf_reserve(out, bound);
    if (rc != TD_OK)
        return rc;
    uint8_t *start = out->ptr + out->len, *p = start;
    p = put_bytes(p, 1, ev->symbol, (size_t)(sym_end - ev->symbol));
    p = put_field(p, 2, zigzag(ev->time_ms));
    p = put_field(p, 3, (flags & (TD_CODEC_NO_OFFSET | TD_CODEC_FOR_DIGEST)) ? 0 : ev->offset);
    p = put_bytes(p, 4, ev->source, (size_t)(src_end - ev->source));
    p = put_field(p, 5, ev->schema_version);
    p = put_field(p, 6, (flags & TD_CODEC_FOR_DIGEST) ? 0 : zigzag(ev->ingest_ms));
    p = put_field(p, 7, ev->input_offset);
    p = put_field(p, 8, ev->index);
    *p++ = 10 << 3 | 2; /* the body (field 10), present even when empty */
    p = put_varint(p, body_len);
    memcpy(p, body, body_len);
    p += body_len;
    TD_ASSERT((size_t)(p - start) <= bound);
    out->len += (size_t)(p - start);
    return TD_OK;
}

td_err_t td_codec_encode(const td_event_t *ev, unsigned flags, td_buf_t *out)
{
    if (ev && out && ev->kind == TD_EV_TICK && !(flags & TD_CODEC__GENERIC))
        return encode_tick(ev, flags, out);
    Td__Envelope env = TD__ENVELOPE__INIT;
    body_msgs_t msgs;
    param_msgs_t pm;
    td_err_t rc = TD_OK;

    if (!ev || !out)
        return TD_ERR_INVALID;
    ENC_STR(env.symbol, ev->symbol);
    env.event_time = ev->time_ms;
    env.offset = (flags & (TD_CODEC_NO_OFFSET | TD_CODEC_FOR_DIGEST)) ? 0 : ev->offset;
    ENC_STR(env.source, ev->source);
    env.schema_version = ev->schema_version;
    env.ingest_time = (flags & TD_CODEC_FOR_DIGEST) ? 0 : ev->ingest_ms;
    env.input_offset = ev->input_offset;
    env.index = ev->index;
    rc = enc_body(ev, &env, &msgs, &pm);
    if (rc != TD_OK)
        return rc;

    /* One pass instead of get_packed_size + pack: reserve a bound and pack into it. On the wire a
     * field costs at most twice its in-memory size plus a few bytes (a string of N bytes: N + 4;
     * an 8-byte integer: 12; a 4-byte one: 7; a param of 56 bytes: 62), so twice the event plus
     * a margin bounds any envelope. A reused buffer makes the reserve free. */
    const size_t bound = 2 * sizeof *ev + 64;
    rc = td_buf_reserve(out, bound);
    if (rc != TD_OK)
        return rc;
    size_t n = protobuf_c_message_pack(&env.base, out->ptr + out->len);
    TD_ASSERT(n <= bound);
    out->len += n;
    return TD_OK;
}

/* ---------------------------------------------------------------------------------------------
 * decode
 */

typedef struct dec {
    char *errbuf;
    size_t errlen;
} dec_t;

/* Copies a wire string into a fixed field; TD_ERR_CORRUPT naming the field if it does not fit. */
static td_err_t dec_str(dec_t *d, char *dst, size_t size, const char *src, const char *field)
{
    size_t n = strlen(src);
    if (n >= size)
        return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: %s: %zu bytes, at most %zu fit", field, n,
                          size - 1);
    memcpy(dst, src, n + 1);
    return TD_OK;
}

#define DEC_STR(dst, src, field)                                 \
    do {                                                         \
        if (rc == TD_OK)                                         \
            rc = dec_str(d, (dst), sizeof(dst), (src), (field)); \
    } while (0)

static td_err_t dec_enum(dec_t *d, int v, int max, const char *field)
{
    if (v < 0 || v > max)
        return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: %s: unknown value %d", field, v);
    return TD_OK;
}

static td_err_t dec_unknown(dec_t *d, const ProtobufCMessage *m, const char *what)
{
    if (m->n_unknown_fields == 0)
        return TD_OK;
    return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: %s: unknown field %u", what,
                      (unsigned)m->unknown_fields[0].tag);
}

static td_err_t dec_body(dec_t *d, const Td__Envelope *env, td_event_t *ev)
{
    td_err_t rc = TD_OK;
    switch (env->body_case) {
    case TD__ENVELOPE__BODY_TICK: {
        const Td__Tick *m = env->tick;
        rc = dec_unknown(d, &m->base, "tick");
        ev->kind = TD_EV_TICK;
        ev->u.tick.bid = m->bid;
        ev->u.tick.ask = m->ask;
        ev->u.tick.last = m->last;
        ev->u.tick.volume = m->volume;
        ev->u.tick.flags = m->flags;
        return rc;
    }
    case TD__ENVELOPE__BODY_SYMBOL_SPEC: {
        const Td__SymbolSpec *m = env->symbol_spec;
        td_symbol_spec_t *s = &ev->u.spec;
        rc = dec_unknown(d, &m->base, "symbol_spec");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->swap_mode, TD_SWAP_INTEREST, "symbol_spec.swap_mode");
        ev->kind = TD_EV_SYMBOL_SPEC;
        s->digits = m->digits;
        s->point = m->point;
        s->contract_size = m->contract_size;
        s->tick_size = m->tick_size;
        s->tick_value = m->tick_value;
        s->swap_long = m->swap_long;
        s->swap_short = m->swap_short;
        s->swap_mode = (td_swap_mode_t)m->swap_mode;
        s->triple_swap_weekday = m->triple_swap_weekday;
        s->volume_step = m->volume_step;
        s->volume_min = m->volume_min;
        s->volume_max = m->volume_max;
        return rc;
    }
    case TD__ENVELOPE__BODY_EXECUTION_REPORT: {
        const Td__ExecutionReport *m = env->execution_report;
        td_exec_report_t *s = &ev->u.exec;
        rc = dec_unknown(d, &m->base, "execution_report");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->side, TD_SIDE_SELL, "execution_report.side");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->status, TD_EXEC_CANCELLED, "execution_report.status");
        ev->kind = TD_EV_EXEC_REPORT;
        DEC_STR(s->intent_id, m->intent_id, "execution_report.intent_id");
        s->deal_id = m->deal_id;
        s->order_id = m->order_id;
        s->position_id = m->position_id;
        s->side = (td_side_t)m->side;
        s->price = m->price;
        s->volume = m->volume;
        s->commission = m->commission;
        s->swap = m->swap;
        s->profit = m->profit;
        s->status = (td_exec_status_t)m->status;
        DEC_STR(s->reason, m->reason, "execution_report.reason");
        return rc;
    }
    case TD__ENVELOPE__BODY_PARAMS_CHANGED: {
        const Td__ParamsChanged *m = env->params_changed;
        td_params_changed_t *s = &ev->u.params;
        rc = dec_unknown(d, &m->base, "params_changed");
        if (rc == TD_OK && m->n_values > TD_PARAMS_MAX)
            rc = td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT,
                            "codec: params_changed.values: %zu params, at most %d", m->n_values, TD_PARAMS_MAX);
        ev->kind = TD_EV_PARAMS_CHANGED;
        DEC_STR(s->strategy, m->strategy, "params_changed.strategy");
        s->version = m->version;
        for (size_t i = 0; rc == TD_OK && i < m->n_values; i++) {
            rc = dec_unknown(d, &m->values[i]->base, "params_changed.values");
            DEC_STR(s->values[i].name, m->values[i]->name, "params_changed.values.name");
            DEC_STR(s->values[i].value, m->values[i]->value, "params_changed.values.value");
        }
        if (rc == TD_OK)
            s->n_values = (uint32_t)m->n_values;
        DEC_STR(s->author, m->author, "params_changed.author");
        DEC_STR(s->reason, m->reason, "params_changed.reason");
        return rc;
    }
    case TD__ENVELOPE__BODY_CLOCK: ev->kind = TD_EV_CLOCK; return dec_unknown(d, &env->clock->base, "clock");
    case TD__ENVELOPE__BODY_SESSION_MARK: {
        const Td__SessionMark *m = env->session_mark;
        rc = dec_unknown(d, &m->base, "session_mark");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->kind, TD_SESSION_DAY_END, "session_mark.kind");
        if (rc == TD_OK && m->kind != TD__SESSION_KIND__SESSION_NONE && !td_time_valid_yyyymmdd(m->trading_day))
            rc = td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: session_mark.trading_day %u is not a date",
                            m->trading_day);
        ev->kind = TD_EV_SESSION_MARK;
        ev->u.session.kind = (td_session_kind_t)m->kind;
        ev->u.session.trading_day = m->trading_day;
        return rc;
    }
    case TD__ENVELOPE__BODY_BAR: {
        const Td__Bar *m = env->bar;
        td_bar_t *s = &ev->u.bar;
        rc = dec_unknown(d, &m->base, "bar");
        ev->kind = TD_EV_BAR;
        s->timeframe_s = m->timeframe_s;
        s->open_time = m->open_time;
        s->open = m->open;
        s->high = m->high;
        s->low = m->low;
        s->close = m->close;
        s->tick_volume = m->tick_volume;
        s->spread_min = m->spread_min;
        s->spread_max = m->spread_max;
        s->spread_sum = m->spread_sum;
        s->late_ticks = m->late_ticks;
        return rc;
    }
    case TD__ENVELOPE__BODY_SIGNAL: {
        const Td__Signal *m = env->signal;
        td_signal_t *s = &ev->u.signal;
        rc = dec_unknown(d, &m->base, "signal");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->direction, TD_DIR_SHORT, "signal.direction");
        ev->kind = TD_EV_SIGNAL;
        DEC_STR(s->strategy, m->strategy, "signal.strategy");
        s->params_version = m->params_version;
        s->direction = (td_direction_t)m->direction;
        s->bar_time = m->bar_time;
        DEC_STR(s->reason, m->reason, "signal.reason");
        return rc;
    }
    case TD__ENVELOPE__BODY_ORDER_INTENT: {
        const Td__OrderIntent *m = env->order_intent;
        td_order_intent_t *s = &ev->u.intent;
        rc = dec_unknown(d, &m->base, "order_intent");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->side, TD_SIDE_SELL, "order_intent.side");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->type, TD__ORDER_TYPE__ORDER_MARKET, "order_intent.type");
        ev->kind = TD_EV_ORDER_INTENT;
        DEC_STR(s->intent_id, m->intent_id, "order_intent.intent_id");
        s->side = (td_side_t)m->side;
        s->volume = m->volume;
        s->type = (int)m->type;
        s->stop_loss = m->stop_loss;
        s->take_profit = m->take_profit;
        DEC_STR(s->strategy, m->strategy, "order_intent.strategy");
        s->params_version = m->params_version;
        DEC_STR(s->reason, m->reason, "order_intent.reason");
        return rc;
    }
    case TD__ENVELOPE__BODY_POSITION_CHANGED: {
        const Td__PositionChanged *m = env->position_changed;
        td_position_changed_t *s = &ev->u.position;
        rc = dec_unknown(d, &m->base, "position_changed");
        ev->kind = TD_EV_POSITION_CHANGED;
        s->volume = m->volume;
        s->avg_price = m->avg_price;
        s->realized_pnl = m->realized_pnl;
        s->commission = m->commission;
        s->swap = m->swap;
        s->deal_id = m->deal_id;
        DEC_STR(s->intent_id, m->intent_id, "position_changed.intent_id");
        return rc;
    }
    case TD__ENVELOPE__BODY_TRADE_CLOSED: {
        const Td__TradeClosed *m = env->trade_closed;
        td_trade_closed_t *s = &ev->u.trade;
        rc = dec_unknown(d, &m->base, "trade_closed");
        if (rc == TD_OK)
            rc = dec_enum(d, (int)m->side, TD_SIDE_SELL, "trade_closed.side");
        ev->kind = TD_EV_TRADE_CLOSED;
        s->side = (td_side_t)m->side;
        s->entry_time = m->entry_time;
        s->entry_price = m->entry_price;
        s->exit_time = m->exit_time;
        s->exit_price = m->exit_price;
        s->volume = m->volume;
        s->pnl = m->pnl;
        s->commission = m->commission;
        s->swap = m->swap;
        return rc;
    }
    case TD__ENVELOPE__BODY_DAY_DIGEST: {
        const Td__DayDigest *m = env->day_digest;
        td_day_digest_t *s = &ev->u.digest;
        rc = dec_unknown(d, &m->base, "day_digest");
        if (rc == TD_OK && m->sha256.len != sizeof s->sha256)
            rc = td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: day_digest.sha256: %zu bytes, expected 32",
                            m->sha256.len);
        ev->kind = TD_EV_DAY_DIGEST;
        s->trading_day = m->trading_day;
        if (rc == TD_OK)
            memcpy(s->sha256, m->sha256.data, sizeof s->sha256);
        s->first_offset = m->first_offset;
        s->last_offset = m->last_offset;
        s->inputs = m->inputs;
        s->outputs = m->outputs;
        s->trades = m->trades;
        s->wins = m->wins;
        s->realized_pnl = m->realized_pnl;
        s->max_drawdown = m->max_drawdown;
        s->late_ticks = m->late_ticks;
        return rc;
    }
    case TD__ENVELOPE__BODY__NOT_SET:
    default: break;
    }
    return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: envelope has no known body (case %d)",
                      (int)env->body_case);
}

/* Packs what was decoded again and compares: equal bytes or TD_ERR_CORRUPT. Catches trailing and
 * repeated fields, embedded NULs, over-long varints and bits a 32-bit field dropped. */
static td_err_t dec_canonical(dec_t *d, const Td__Envelope *env, arena_t *arena, const uint8_t *data, size_t len)
{
    /* the content already fits a td_event_t, so encode's bound holds for it too */
    const size_t bound = 2 * sizeof(td_event_t) + 64;
    uint8_t *again = arena_alloc(arena, bound);
    if (!again)
        return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT, "codec: %zu bytes, too large to check", len);
    size_t n = protobuf_c_message_pack(&env->base, again);
    TD_ASSERT(n <= bound);
    if (n != len)
        return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT,
                          "codec: %zu bytes, the canonical encoding of their content has %zu: trailing "
                          "or repeated fields, embedded NUL or over-long varints",
                          len, n);
    if (memcmp(again, data, n) != 0)
        return td_err_set(d->errbuf, d->errlen, TD_ERR_CORRUPT,
                          "codec: %zu bytes are not the canonical encoding of their content", len);
    return TD_OK;
}

td_err_t td_codec_decode(const uint8_t *data, size_t len, td_event_t *ev, char *errbuf, size_t errlen)
{
    return td_codec_decode_ex(data, len, TD_CODEC_DEFAULT, ev, errbuf, errlen);
}

/* ---- the trusted fast path: ticks and bars ----
 * Ticks are nearly every event on an input stream and bars nearly every one on an output stream,
 * and protobuf-c's generic unpack is most of the cost of reading one. For TRUSTED input (bytes this
 * codec wrote, read back from the tape) a Tick or Bar envelope is parsed directly: top-level fields
 * 1..8 and the one body (10 or 20), in increasing field order, each at most once, every varint
 * well formed, every 32-bit field in range, strings NUL-free and fitting. Anything else - another
 * body, an unexpected field or wire type, any doubt - returns false and the generic path decides,
 * so the fast path can only ever agree with protobuf-c (tests/unit/core/test_codec.c checks that on
 * valid and mutated ticks and bars). */

static inline bool fast_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
    if (*pos < len && p[*pos] < 0x80) { /* one byte: every tag and most small values */
        *v = p[(*pos)++];
        return true;
    }
    *v = 0;
    for (int shift = 0; shift < 64 && *pos < len; shift += 7) {
        uint8_t b = p[(*pos)++];
        if (shift == 63 && b > 1)
            return false;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

static int64_t unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool fast_string(const uint8_t *p, size_t len, size_t *pos, char *dst, size_t size)
{
    uint64_t n;
    if (!fast_varint(p, len, pos, &n) || n > len - *pos || n >= size || memchr(p + *pos, 0, (size_t)n))
        return false;
    memcpy(dst, p + *pos, (size_t)n);
    dst[n] = '\0';
    *pos += (size_t)n;
    return true;
}

/* Calls set(field, value, out) for each varint field of a body whose numbers are 1..max_field in
 * increasing order; false on any other wire type, order or number, or when set refuses a value. */
static bool fast_body(const uint8_t *p, size_t len, uint64_t max_field, bool (*set)(uint64_t, uint64_t, void *),
                      void *out)
{
    size_t pos = 0;
    uint64_t last_field = 0, tag, v;
    while (pos < len) {
        if (!fast_varint(p, len, &pos, &tag) || (tag & 7) != 0 || (tag >> 3) <= last_field || (tag >> 3) > max_field)
            return false;
        last_field = tag >> 3;
        if (!fast_varint(p, len, &pos, &v) || !set(last_field, v, out))
            return false;
    }
    return true;
}

static bool fast_tick_field(uint64_t field, uint64_t v, void *out)
{
    td_tick_t *tick = out;
    switch (field) {
    case 1: tick->bid = unzigzag(v); break;
    case 2: tick->ask = unzigzag(v); break;
    case 3: tick->last = unzigzag(v); break;
    case 4: tick->volume = unzigzag(v); break;
    default:
        if (v > UINT32_MAX)
            return false;
        tick->flags = (uint32_t)v;
    }
    return true;
}

static bool fast_bar_field(uint64_t field, uint64_t v, void *out)
{
    td_bar_t *bar = out;
    switch (field) {
    case 1:
        if (v > UINT32_MAX)
            return false;
        bar->timeframe_s = (uint32_t)v;
        break;
    case 2: bar->open_time = unzigzag(v); break;
    case 3: bar->open = unzigzag(v); break;
    case 4: bar->high = unzigzag(v); break;
    case 5: bar->low = unzigzag(v); break;
    case 6: bar->close = unzigzag(v); break;
    case 7: bar->tick_volume = v; break;
    case 8: bar->spread_min = unzigzag(v); break;
    case 9: bar->spread_max = unzigzag(v); break;
    case 10: bar->spread_sum = unzigzag(v); break;
    default: bar->late_ticks = v;
    }
    return true;
}

static bool fast_envelope(const uint8_t *p, size_t len, td_event_t *ev)
{
    size_t pos = 0;
    uint64_t last_field = 0, tag, v;
    memset(ev, 0, sizeof *ev); /* all of it: no byte of a decoded event is left undefined */
    while (pos < len) {
        if (!fast_varint(p, len, &pos, &tag) || (tag >> 3) <= last_field)
            return false;
        last_field = tag >> 3;
        unsigned wire = (unsigned)(tag & 7);
        bool is_body = last_field == 10 || last_field == 20;
        bool is_len = last_field == 1 || last_field == 4 || is_body;
        if ((is_len && wire != 2) || (!is_len && wire != 0) || (last_field > 8 && !is_body) ||
            (is_body && ev->kind != TD_EV_NONE))
            return false;
        switch (last_field) {
        case 1:
            if (!fast_string(p, len, &pos, ev->symbol, sizeof ev->symbol))
                return false;
            break;
        case 4:
            if (!fast_string(p, len, &pos, ev->source, sizeof ev->source))
                return false;
            break;
        case 10:
        case 20:
            if (!fast_varint(p, len, &pos, &v) || v > len - pos)
                return false;
            if (last_field == 10 ? !fast_body(p + pos, (size_t)v, 5, fast_tick_field, &ev->u.tick)
                                 : !fast_body(p + pos, (size_t)v, 11, fast_bar_field, &ev->u.bar))
                return false;
            pos += (size_t)v;
            ev->kind = last_field == 10 ? TD_EV_TICK : TD_EV_BAR;
            break;
        default:
            if (!fast_varint(p, len, &pos, &v))
                return false;
            if (last_field == 2)
                ev->time_ms = unzigzag(v);
            else if (last_field == 3)
                ev->offset = v;
            else if (last_field == 6)
                ev->ingest_ms = unzigzag(v);
            else if (last_field == 7)
                ev->input_offset = v;
            else if (v > UINT32_MAX)
                return false;
            else if (last_field == 5)
                ev->schema_version = (uint32_t)v;
            else
                ev->index = (uint32_t)v;
        }
    }
    return ev->kind != TD_EV_NONE;
}

td_err_t td_codec_decode_ex(const uint8_t *data, size_t len, unsigned flags, td_event_t *ev, char *errbuf,
                            size_t errlen)
{
    arena_t arena;
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &arena};
    dec_t d = {errbuf, errlen};
    Td__Envelope *env = NULL;
    td_err_t rc = TD_OK;

    if (!ev || (!data && len))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "codec: decode: no event or no data");
    if ((flags & TD_CODEC_TRUSTED) && !(flags & TD_CODEC__GENERIC) && fast_envelope(data, len, ev))
        return TD_OK;
    memset(ev, 0, sizeof *ev);
    arena.used = 0;
    if (len > ARENA_SIZE / 2) {
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "codec: %zu bytes, larger than any envelope", len);
        goto done;
    }
    env = td__envelope__unpack(&alloc, len, data);
    if (!env) {
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "codec: %zu bytes do not unpack as an envelope", len);
        goto done;
    }
    rc = dec_unknown(&d, &env->base, "envelope");
    if (rc == TD_OK)
        rc = dec_str(&d, ev->symbol, sizeof ev->symbol, env->symbol, "symbol");
    if (rc == TD_OK)
        rc = dec_str(&d, ev->source, sizeof ev->source, env->source, "source");
    if (rc == TD_OK)
        rc = dec_body(&d, env, ev);
    if (rc == TD_OK && !(flags & TD_CODEC_TRUSTED))
        rc = dec_canonical(&d, env, &arena, data, len);
    if (rc == TD_OK) {
        ev->time_ms = env->event_time;
        ev->offset = env->offset;
        ev->schema_version = env->schema_version;
        ev->ingest_ms = env->ingest_time;
        ev->input_offset = env->input_offset;
        ev->index = env->index;
    }
done:
    /* the arena owns everything env points to: nothing to free */
    if (rc != TD_OK)
        memset(ev, 0, sizeof *ev);
    return rc;
}

/* Reads a base-128 varint at *pos; false when it runs past end or over 10 bytes. */
static bool read_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *pos < len; shift += 7) {
        uint8_t b = data[(*pos)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

td_err_t td_codec_digest_view(const uint8_t *data, size_t len, td_slice_t parts[3], size_t *n_parts)
{
    /* Top-level fields come in number order (canonical); offset (3) and ingest_time (6) are cut
     * out, everything else is kept as it is. Scanning stops at the first field past 6. */
    size_t pos = 0, keep_from = 0;
    *n_parts = 0;
    while (pos < len) {
        size_t field_start = pos;
        uint64_t tag, v;
        if (!read_varint(data, len, &pos, &tag))
            return TD_ERR_CORRUPT;
        uint64_t number = tag >> 3;
        if (number > 6)
            break;
        switch (tag & 7) {
        case 0:
            if (!read_varint(data, len, &pos, &v))
                return TD_ERR_CORRUPT;
            break;
        case 2:
            if (!read_varint(data, len, &pos, &v) || v > len - pos)
                return TD_ERR_CORRUPT;
            pos += (size_t)v;
            break;
        default: return TD_ERR_CORRUPT; /* the envelope's first six fields are varints and strings */
        }
        if (number == 3 || number == 6) {
            /* repeated offset / ingest fields (not canonical) would need more than 3 slices */
            if (field_start > keep_from && *n_parts == 2)
                return TD_ERR_CORRUPT;
            if (field_start > keep_from)
                parts[(*n_parts)++] = (td_slice_t){data + keep_from, field_start - keep_from};
            keep_from = pos;
        }
    }
    if (len > keep_from) {
        if (*n_parts == 3)
            return TD_ERR_CORRUPT;
        parts[(*n_parts)++] = (td_slice_t){data + keep_from, len - keep_from};
    }
    return TD_OK;
}

static bool body_known(uint64_t number)
{
    return (number >= TD_EV_TICK && number <= TD_EV_SESSION_MARK) ||
           (number >= TD_EV_BAR && number <= TD_EV_DAY_DIGEST);
}

td_err_t td_codec_peek_kind(const uint8_t *data, size_t len, td_event_kind_t *kind)
{
    size_t pos = 0;
    *kind = TD_EV_NONE;
    while (pos < len) {
        uint64_t tag, v;
        if (!read_varint(data, len, &pos, &tag))
            return TD_ERR_CORRUPT;
        uint64_t number = tag >> 3;
        if (number >= TD_EV_TICK) {
            /* the body: a known kind, length-delimited, inside the bytes */
            if ((tag & 7) != 2 || !read_varint(data, len, &pos, &v) || v > len - pos || !body_known(number))
                return TD_ERR_CORRUPT;
            *kind = (td_event_kind_t)number;
            return TD_OK;
        }
        switch (tag & 7) {
        case 0:
            if (!read_varint(data, len, &pos, &v))
                return TD_ERR_CORRUPT;
            break;
        case 2:
            if (!read_varint(data, len, &pos, &v) || v > len - pos)
                return TD_ERR_CORRUPT;
            pos += (size_t)v;
            break;
        default: return TD_ERR_CORRUPT; /* the envelope's head is varints and strings */
        }
    }
    return TD_ERR_CORRUPT; /* no body */
}
