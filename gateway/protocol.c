/* protocol.c - parsing and formatting of the EA <-> gateway line protocol (see protocol.h).
 *
 * Each verb, of either direction, has a table of keys: name, type, whether it is required, and
 * where it goes, and a shape: whether a sequence number follows the verb and whether one free text
 * field ends the line (ERR, BYE). Parsing splits the line on TABs, checks the verb and sequence
 * number, then takes each key=value through its table entry; a key twice, an unknown key, a
 * missing required key or a value of the wrong form is TD_ERR_PARSE naming the key. The names of
 * sides, statuses and swap modes are in one table each, read by the parsers and the formatters.
 */
#include "gateway/protocol.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/fixed.h"
#include "core/names.h"
#include "core/timeutil.h"

#define MAX_FIELDS 32
#define QUOTE_MAX 40

typedef enum key_type {
    K_STR,
    K_U64,
    K_TIME,
    K_PRICE,    /* (0, 10^7]: bid, ask */
    K_PRICE0,   /* [0, 10^7]: 0 where none applies (a rejected order's price, no stop) */
    K_LOTS,     /* [0, 10^6] lots: fills, orders and a spec's volume limits */
    K_MONEY,    /* [-10^10, 10^10]: commission, swap, profit, account figures */
    K_CONTRACT, /* (0, 10^8]: units per lot */
    K_SIZE,     /* [0, 10^8]: tick size and value (0 = derived, as in the config) */
    K_RATE,     /* [-10^6, 10^6]: swap rates */
    K_DEC,      /* [0, 10^10]: a tick's volume and last price */
    K_U32,
    K_DIGITS,
    K_WEEKDAY,
    K_SIDE,
    K_STATUS,
    K_SWAP
} key_type_t;

/* where a value goes */
typedef enum key_id {
    ID_VERSION,
    ID_ACCOUNT,
    ID_TERMINAL,
    ID_TOKEN,
    ID_RESET,
    ID_SYMBOL,
    ID_TIME,
    ID_BID,
    ID_ASK,
    ID_LAST,
    ID_VOLUME,
    ID_FLAGS,
    ID_DIGITS,
    ID_CONTRACT,
    ID_TICK_SIZE,
    ID_TICK_VALUE,
    ID_SWAP_LONG,
    ID_SWAP_SHORT,
    ID_SWAP_MODE,
    ID_TRIPLE,
    ID_VSTEP,
    ID_VMIN,
    ID_VMAX,
    ID_INTENT,
    ID_DEAL,
    ID_ORDER,
    ID_POSITION,
    ID_SIDE,
    ID_PRICE,
    ID_COMMISSION,
    ID_SWAP,
    ID_PROFIT,
    ID_STATUS,
    ID_REASON,
    ID_BALANCE,
    ID_EQUITY,
    ID_MARGIN,
    ID_CURRENCY,
    /* gateway -> EA */
    ID_W_VERSION,
    ID_ACKED,
    ID_O_INTENT,
    ID_O_SYMBOL,
    ID_O_SIDE,
    ID_O_VOLUME,
    ID_O_SL,
    ID_O_TP,
} key_id_t;

typedef struct key_def {
    const char *name;
    key_type_t type;
    bool required;
    key_id_t id;
} key_def_t;

static const key_def_t hello_keys[] = {
    {"version", K_U32, true, ID_VERSION}, {"account", K_STR, true, ID_ACCOUNT}, {"terminal", K_STR, true, ID_TERMINAL},
    {"token", K_STR, true, ID_TOKEN},     {"reset", K_U32, false, ID_RESET},
};

static const key_def_t tick_keys[] = {
    {"symbol", K_STR, true, ID_SYMBOL}, {"time", K_TIME, true, ID_TIME},    {"bid", K_PRICE, true, ID_BID},
    {"ask", K_PRICE, true, ID_ASK},     {"last", K_PRICE0, false, ID_LAST}, {"volume", K_DEC, false, ID_VOLUME},
    {"flags", K_U32, false, ID_FLAGS},
};

static const key_def_t spec_keys[] = {
    {"symbol", K_STR, true, ID_SYMBOL},        {"time", K_TIME, true, ID_TIME},
    {"digits", K_DIGITS, true, ID_DIGITS},     {"contract_size", K_CONTRACT, true, ID_CONTRACT},
    {"tick_size", K_SIZE, true, ID_TICK_SIZE}, {"tick_value", K_SIZE, true, ID_TICK_VALUE},
    {"swap_long", K_RATE, true, ID_SWAP_LONG}, {"swap_short", K_RATE, true, ID_SWAP_SHORT},
    {"swap_mode", K_SWAP, true, ID_SWAP_MODE}, {"triple_swap_weekday", K_WEEKDAY, true, ID_TRIPLE},
    {"volume_step", K_LOTS, true, ID_VSTEP},   {"volume_min", K_LOTS, true, ID_VMIN},
    {"volume_max", K_LOTS, true, ID_VMAX},
};

static const key_def_t exec_keys[] = {
    {"symbol", K_STR, true, ID_SYMBOL},    {"time", K_TIME, true, ID_TIME},
    {"intent", K_STR, false, ID_INTENT},   {"deal", K_U64, false, ID_DEAL},
    {"order", K_U64, false, ID_ORDER},     {"position", K_U64, false, ID_POSITION},
    {"side", K_SIDE, true, ID_SIDE},       {"price", K_PRICE0, true, ID_PRICE},
    {"volume", K_LOTS, true, ID_VOLUME},   {"commission", K_MONEY, false, ID_COMMISSION},
    {"swap", K_MONEY, false, ID_SWAP},     {"profit", K_MONEY, false, ID_PROFIT},
    {"status", K_STATUS, true, ID_STATUS}, {"reason", K_STR, false, ID_REASON},
};

static const key_def_t account_keys[] = {
    {"time", K_TIME, true, ID_TIME},      {"balance", K_MONEY, true, ID_BALANCE}, {"equity", K_MONEY, true, ID_EQUITY},
    {"margin", K_MONEY, true, ID_MARGIN}, {"currency", K_STR, true, ID_CURRENCY},
};

static const key_def_t heartbeat_keys[] = {
    {"time", K_TIME, true, ID_TIME},
};

/* the gateway's lines: their tables carry gw_ (tests/integration/it_ea_source.sh reads the tables
 * named VERB_keys as the EA's) */
static const key_def_t gw_welcome_keys[] = {
    {"version", K_U32, true, ID_W_VERSION},
    {"acked", K_U64, true, ID_ACKED},
};

static const key_def_t gw_order_keys[] = {
    {"intent", K_STR, true, ID_O_INTENT},  {"symbol", K_STR, true, ID_O_SYMBOL}, {"side", K_SIDE, true, ID_O_SIDE},
    {"volume", K_LOTS, true, ID_O_VOLUME}, {"sl", K_PRICE0, true, ID_O_SL},      {"tp", K_PRICE0, true, ID_O_TP},
};

#define KEYS(table) table, sizeof table / sizeof table[0]

/* S_SEQ: a sequence number follows the verb (S_SEQ0: 0 allowed); S_TEXT: one free text field ends
 * the line */
enum { S_SEQ = 1, S_SEQ0 = 2, S_TEXT = 4 };

typedef struct verb_def {
    const char *name;
    td_gw_verb_t verb;
    bool from_ea;
    unsigned shape;
    const key_def_t *keys;
    size_t n_keys;
} verb_def_t;

static const verb_def_t verbs[] = {
    {"HELLO", TD_GW_HELLO, true, S_SEQ, KEYS(hello_keys)},
    {"TICK", TD_GW_TICK, true, S_SEQ, KEYS(tick_keys)},
    {"SPEC", TD_GW_SPEC, true, S_SEQ, KEYS(spec_keys)},
    {"EXEC", TD_GW_EXEC, true, S_SEQ, KEYS(exec_keys)},
    {"ACCOUNT", TD_GW_ACCOUNT, true, S_SEQ, KEYS(account_keys)},
    {"HEARTBEAT", TD_GW_HEARTBEAT, true, S_SEQ, KEYS(heartbeat_keys)},
    {"WELCOME", TD_GW_WELCOME, false, 0, KEYS(gw_welcome_keys)},
    {"ACK", TD_GW_ACK, false, S_SEQ0, NULL, 0},
    {"ERR", TD_GW_ERR, false, S_SEQ0 | S_TEXT, NULL, 0},
    {"ORDER", TD_GW_ORDER, false, 0, KEYS(gw_order_keys)},
    {"BYE", TD_GW_BYE, false, S_TEXT, NULL, 0},
};
#define N_VERBS (sizeof verbs / sizeof verbs[0])

/* an execution's statuses, named only by this protocol (sides and swap modes: core/names.h) */
static const td_name_t status_rows[] = {
    {"filled", TD_EXEC_FILLED},   {"partial", TD_EXEC_PARTIAL},     {"rejected", TD_EXEC_REJECTED},
    {"expired", TD_EXEC_EXPIRED}, {"cancelled", TD_EXEC_CANCELLED},
};
static const td_names_t status_names = {status_rows, sizeof status_rows / sizeof status_rows[0]};

typedef struct field {
    const char *p;
    size_t n;
} field_t;

/* "KEY: expected WHAT, found 'TEXT'" */
static td_err_t bad(char *errbuf, size_t errlen, const char *key, const char *what, field_t text)
{
    size_t n = text.n < QUOTE_MAX ? text.n : QUOTE_MAX;
    return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s: expected %s, found '%.*s%s'", key, what, (int)n, text.p,
                      text.n > QUOTE_MAX ? "..." : "");
}

/* A decimal unsigned integer without sign, spaces or leading zeros (except "0"). */
static bool parse_u64(field_t f, uint64_t *out)
{
    if (f.n == 0 || f.n > 20 || (f.n > 1 && f.p[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < f.n; i++) {
        if (f.p[i] < '0' || f.p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(f.p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool copy_str(field_t f, char *dst, size_t size)
{
    if (f.n == 0 || f.n >= size)
        return false;
    memcpy(dst, f.p, f.n);
    dst[f.n] = '\0';
    return true;
}

static bool word_is(field_t f, const char *word)
{
    /* the first byte alone tells most table entries apart, without a call; f.p holds no NUL, so
     * strncmp stops at the end of a shorter word */
    return f.n > 0 && f.p[0] == word[0] && strncmp(f.p, word, f.n) == 0 && word[f.n] == '\0';
}

/* The bounds of the decimal kinds (1e8-scaled): what the fixed-point types hold with room for the
 * products the processors form (price x volume x contract size in 128 bits, money in int64), the
 * same as the config's symbol.* ranges. A value outside them cannot be a real quote, fill or
 * account figure, and the processors would have to refuse it later (DESIGN invariant 9). */
typedef struct decimal_range {
    int64_t lo, hi;
    bool above_lo; /* lo itself excluded */
    const char *text;
} decimal_range_t;

#define E8(x) ((int64_t)(x)*TD_FX_SCALE)

static const decimal_range_t *decimal_range(key_type_t type)
{
    static const decimal_range_t price = {0, TD_PRICE_MAX, true, "a price above 0 and at most 10000000"},
                                 price0 = {0, TD_PRICE_MAX, false, "a price from 0 to 10000000"},
                                 lots = {0, TD_LOTS_MAX, false, "lots from 0 to 1000000"},
                                 money = {-E8(10000000000), E8(10000000000), false,
                                          "an amount from -10000000000 to 10000000000"},
                                 contract = {0, E8(100000000), true, "a contract size above 0 and at most 100000000"},
                                 size = {0, E8(100000000), false, "a value from 0 to 100000000"},
                                 rate = {-E8(1000000), E8(1000000), false, "a rate from -1000000 to 1000000"},
                                 dec = {0, E8(10000000000), false, "a value from 0 to 10000000000"};
    switch (type) {
    case K_PRICE: return &price;
    case K_PRICE0: return &price0;
    case K_LOTS: return &lots;
    case K_MONEY: return &money;
    case K_CONTRACT: return &contract;
    case K_SIZE: return &size;
    case K_RATE: return &rate;
    default: return &dec;
    }
}

/* The value f names in names; false when it names none of them. */
static bool name_find(field_t f, const td_names_t *names, uint64_t *out)
{
    int64_t v = 0;
    if (!td_names_value(names, f.p, f.n, &v))
        return false;
    *out = (uint64_t)v;
    return true;
}

/* Parses value f of key k into msg (an EA verb's key) or reply (a gateway verb's key). */
static td_err_t take(const key_def_t *k, field_t f, td_gw_msg_t *msg, td_gw_reply_t *reply, char *errbuf, size_t errlen)
{
    td_event_t *ev = msg ? &msg->ev : NULL;
    uint64_t u = 0;
    int64_t d = 0;
    char *str = NULL;
    size_t str_size = 0;
    switch (k->type) {
    case K_STR: break;
    case K_U64:
    case K_U32:
    case K_DIGITS:
    case K_WEEKDAY:
    case K_TIME:
        if (!parse_u64(f, &u))
            return bad(errbuf, errlen, k->name, "a whole number", f);
        if (k->type == K_U32 && u > UINT32_MAX)
            return bad(errbuf, errlen, k->name, "a number below 2^32", f);
        if (k->type == K_DIGITS && u > 8)
            return bad(errbuf, errlen, k->name, "0..8 digits", f);
        if (k->type == K_WEEKDAY && u > 6)
            return bad(errbuf, errlen, k->name, "a weekday 0 (Sunday)..6", f);
        /* ms since the epoch between 2000-01-01 and 2200-01-01 */
        if (k->type == K_TIME && (u < UINT64_C(946684800000) || u >= UINT64_C(7258118400000)))
            return bad(errbuf, errlen, k->name, "UTC milliseconds since 1970 (years 2000..2199)", f);
        break;
    case K_PRICE:
    case K_PRICE0:
    case K_LOTS:
    case K_MONEY:
    case K_CONTRACT:
    case K_SIZE:
    case K_RATE:
    case K_DEC: {
        td_err_t rc = td_fx_parse(f.p, f.n, &d, NULL);
        if (rc != TD_OK)
            return bad(errbuf, errlen, k->name, "a decimal number", f);
        const decimal_range_t *r = decimal_range(k->type);
        if (d < r->lo || d > r->hi || (r->above_lo && d == r->lo))
            return bad(errbuf, errlen, k->name, r->text, f);
        break;
    }
    case K_SIDE:
        if (!name_find(f, &td_side_names, &u))
            return bad(errbuf, errlen, k->name, "buy or sell", f);
        break;
    case K_STATUS:
        if (!name_find(f, &status_names, &u))
            return bad(errbuf, errlen, k->name, "filled, partial, rejected, expired or cancelled", f);
        break;
    case K_SWAP:
        if (!name_find(f, &td_swap_mode_names, &u))
            return bad(errbuf, errlen, k->name, "disabled, points, money or interest", f);
        break;
    }
    switch (k->id) {
    case ID_VERSION: msg->hello.version = (uint32_t)u; break;
    case ID_ACCOUNT: str = msg->hello.account, str_size = sizeof msg->hello.account; break;
    case ID_TERMINAL: str = msg->hello.terminal, str_size = sizeof msg->hello.terminal; break;
    case ID_TOKEN: str = msg->hello.token, str_size = sizeof msg->hello.token; break;
    case ID_RESET:
        if (u > 1)
            return bad(errbuf, errlen, k->name, "0 or 1", f);
        msg->hello.reset = u == 1;
        break;
    case ID_SYMBOL:
        if (!td_symbol_valid(f.p, f.n)) /* a symbol names a stream and a folder: the one rule */
            return bad(errbuf, errlen, k->name, TD_SYMBOL_RULE, f);
        str = ev->symbol, str_size = sizeof ev->symbol;
        break;
    case ID_TIME:
        ev->time_ms = (int64_t)u;
        msg->time_ms = (int64_t)u;
        break;
    case ID_BID: ev->u.tick.bid = d; break;
    case ID_ASK: ev->u.tick.ask = d; break;
    case ID_LAST: ev->u.tick.last = d; break;
    case ID_VOLUME:
        if (msg->verb == TD_GW_EXEC)
            ev->u.exec.volume = d;
        else
            ev->u.tick.volume = d;
        break;
    case ID_FLAGS: ev->u.tick.flags = (uint32_t)u; break;
    case ID_DIGITS:
        ev->u.spec.digits = (uint32_t)u;
        ev->u.spec.point = td_fx_point((unsigned)u);
        break;
    case ID_CONTRACT: ev->u.spec.contract_size = d; break;
    case ID_TICK_SIZE: ev->u.spec.tick_size = d; break;
    case ID_TICK_VALUE: ev->u.spec.tick_value = d; break;
    case ID_SWAP_LONG: ev->u.spec.swap_long = d; break;
    case ID_SWAP_SHORT: ev->u.spec.swap_short = d; break;
    case ID_SWAP_MODE: ev->u.spec.swap_mode = (td_swap_mode_t)u; break;
    case ID_TRIPLE: ev->u.spec.triple_swap_weekday = (uint32_t)u; break;
    case ID_VSTEP: ev->u.spec.volume_step = d; break;
    case ID_VMIN: ev->u.spec.volume_min = d; break;
    case ID_VMAX: ev->u.spec.volume_max = d; break;
    case ID_INTENT: str = ev->u.exec.intent_id, str_size = sizeof ev->u.exec.intent_id; break;
    case ID_DEAL: ev->u.exec.deal_id = u; break;
    case ID_ORDER: ev->u.exec.order_id = u; break;
    case ID_POSITION: ev->u.exec.position_id = u; break;
    case ID_SIDE: ev->u.exec.side = (td_side_t)u; break;
    case ID_PRICE: ev->u.exec.price = d; break;
    case ID_COMMISSION: ev->u.exec.commission = d; break;
    case ID_SWAP: ev->u.exec.swap = d; break;
    case ID_PROFIT: ev->u.exec.profit = d; break;
    case ID_STATUS: ev->u.exec.status = (td_exec_status_t)u; break;
    case ID_REASON: str = ev->u.exec.reason, str_size = sizeof ev->u.exec.reason; break;
    case ID_BALANCE: msg->account.balance = d; break;
    case ID_EQUITY: msg->account.equity = d; break;
    case ID_MARGIN: msg->account.margin = d; break;
    case ID_CURRENCY: str = msg->account.currency, str_size = sizeof msg->account.currency; break;
    case ID_W_VERSION: reply->version = (uint32_t)u; break;
    case ID_ACKED: reply->acked = u; break;
    case ID_O_INTENT: str = reply->intent.intent_id, str_size = sizeof reply->intent.intent_id; break;
    case ID_O_SYMBOL:
        if (!td_symbol_valid(f.p, f.n))
            return bad(errbuf, errlen, k->name, TD_SYMBOL_RULE, f);
        str = reply->symbol, str_size = sizeof reply->symbol;
        break;
    case ID_O_SIDE: reply->intent.side = (td_side_t)u; break;
    case ID_O_VOLUME: reply->intent.volume = d; break;
    case ID_O_SL: reply->intent.stop_loss = d; break;
    case ID_O_TP: reply->intent.take_profit = d; break;
    }
    if (str && !copy_str(f, str, str_size)) {
        char what[48];
        snprintf(what, sizeof what, "1..%zu characters", str_size - 1);
        return bad(errbuf, errlen, k->name, what, f);
    }
    return TD_OK;
}

/* Splits a line (a trailing CR dropped) into at most MAX_FIELDS fields on TABs, after the checks
 * every line of either direction passes: its length and its bytes. */
static td_err_t split(const char *line, size_t len, field_t fields[MAX_FIELDS], size_t *n_fields, char *errbuf,
                      size_t errlen)
{
    if (len && line[len - 1] == '\r')
        len--;
    if (len + 1 > TD_GW_LINE_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_PARSE, "line: expected at most %d bytes, found %zu",
                          TD_GW_LINE_MAX - 1, len);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c != '\t' && (c < 0x20 || c > 0x7e))
            return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                              "line: expected printable ASCII and TABs, found byte 0x%02x at column %zu", c, i + 1);
    }
    size_t n = 0;
    for (size_t start = 0;;) {
        const char *tab = memchr(line + start, '\t', len - start);
        size_t end = tab ? (size_t)(tab - line) : len;
        if (n == MAX_FIELDS)
            return td_err_set(errbuf, errlen, TD_ERR_PARSE, "line: expected at most %d fields", MAX_FIELDS);
        fields[n++] = (field_t){line + start, end - start};
        if (!tab)
            break;
        start = end + 1;
    }
    *n_fields = n;
    return TD_OK;
}

/* Parses a line of one direction (from_ea) up to its keys: the verb, its sequence number and text
 * (into *seq and reply->text), then every key through the verb's table into msg or reply. */
static td_err_t parse(const char *line, size_t len, bool from_ea, td_gw_msg_t *msg, td_gw_reply_t *reply,
                      const verb_def_t **verb, uint64_t *seq, char *errbuf, size_t errlen)
{
    field_t fields[MAX_FIELDS];
    size_t n = 0;
    td_err_t rc = split(line, len, fields, &n, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    const verb_def_t *v = verbs;
    while (v < verbs + N_VERBS && !(v->from_ea == from_ea && word_is(fields[0], v->name)))
        v++;
    if (v == verbs + N_VERBS)
        return bad(errbuf, errlen, "verb",
                   from_ea ? "HELLO, TICK, SPEC, EXEC, ACCOUNT or HEARTBEAT" : "WELCOME, ACK, ERR, ORDER or BYE",
                   fields[0]);
    *verb = v;
    if (msg)
        msg->verb = v->verb;
    else
        reply->verb = v->verb;
    size_t i = 1;
    if (v->shape & (S_SEQ | S_SEQ0)) {
        if (n < 2 || !parse_u64(fields[1], seq) || (*seq == 0 && !(v->shape & S_SEQ0)))
            return bad(errbuf, errlen, "seq", v->shape & S_SEQ0 ? "a sequence number" : "a sequence number >= 1",
                       n < 2 ? (field_t){"", 0} : fields[1]);
        i = 2;
    }
    if (v->shape & S_TEXT) {
        if (n != i + 1)
            return td_err_set(errbuf, errlen, TD_ERR_PARSE, "text: expected one field after %s%s, found %zu", v->name,
                              i == 2 ? " and its sequence number" : "", n - i);
        memcpy(reply->text, fields[i].p, fields[i].n); /* split() bounds it below TD_GW_LINE_MAX */
        reply->text[fields[i].n] = '\0';
        return TD_OK;
    }
    if (!v->keys && n > i)
        return td_err_set(errbuf, errlen, TD_ERR_PARSE, "line: expected nothing after the sequence number of %s",
                          v->name);

    uint64_t seen = 0; /* bit per key of the verb's table (at most 64 keys) */
    const key_def_t *keys = v->keys;
    for (; i < n; i++) {
        const char *eq = memchr(fields[i].p, '=', fields[i].n);
        if (!eq)
            return bad(errbuf, errlen, "field", "key=value", fields[i]);
        field_t key = {fields[i].p, (size_t)(eq - fields[i].p)};
        field_t value = {eq + 1, fields[i].n - key.n - 1};
        size_t k = 0;
        while (k < v->n_keys && !word_is(key, keys[k].name))
            k++;
        if (k == v->n_keys) {
            char what[64];
            snprintf(what, sizeof what, "a key of %s", v->name);
            return bad(errbuf, errlen, "key", what, key);
        }
        if (seen & (UINT64_C(1) << k))
            return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s: expected once, found twice", keys[k].name);
        seen |= UINT64_C(1) << k;
        rc = take(&keys[k], value, msg, reply, errbuf, errlen);
        if (rc != TD_OK)
            return rc;
    }
    for (size_t k = 0; k < v->n_keys; k++)
        if (keys[k].required && !(seen & (UINT64_C(1) << k)))
            return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s: expected in %s, found nothing", keys[k].name, v->name);
    return TD_OK;
}

td_err_t td_gw_parse_line(const char *line, size_t len, td_gw_msg_t *msg, char *errbuf, size_t errlen)
{
    memset(msg, 0, sizeof *msg);
    const verb_def_t *v = NULL;
    td_err_t rc = parse(line, len, true, msg, NULL, &v, &msg->seq, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    switch (msg->verb) {
    case TD_GW_TICK: msg->ev.kind = TD_EV_TICK; break;
    case TD_GW_SPEC: msg->ev.kind = TD_EV_SYMBOL_SPEC; break;
    case TD_GW_EXEC: msg->ev.kind = TD_EV_EXEC_REPORT; break;
    default: break;
    }
    msg->ev.schema_version = TD_SCHEMA_VERSION;
    memcpy(msg->ev.source, "mt5", 4);

    /* checks across keys */
    if (msg->verb == TD_GW_HELLO && msg->hello.version != TD_GW_PROTOCOL_VERSION)
        return td_err_set(errbuf, errlen, TD_ERR_PARSE, "version: expected %d, found %" PRIu32, TD_GW_PROTOCOL_VERSION,
                          msg->hello.version);
    if (msg->verb == TD_GW_TICK && msg->ev.u.tick.bid > msg->ev.u.tick.ask)
        return td_err_set(errbuf, errlen, TD_ERR_PARSE, "bid: expected bid <= ask");
    if (msg->verb == TD_GW_TICK && msg->ev.u.tick.flags == 0)
        msg->ev.u.tick.flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK; /* no flags given: both quoted */
    if (msg->verb == TD_GW_EXEC) {
        td_exec_report_t *x = &msg->ev.u.exec;
        bool fill = x->status == TD_EXEC_FILLED || x->status == TD_EXEC_PARTIAL;
        if (fill && (x->deal_id == 0 || x->volume <= 0 || x->price <= 0))
            return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                              "deal: expected a deal id, a volume > 0 and a price > 0 for a fill");
    }
    return TD_OK;
}

td_err_t td_gw_parse_reply(const char *line, size_t len, td_gw_reply_t *reply, char *errbuf, size_t errlen)
{
    memset(reply, 0, sizeof *reply);
    const verb_def_t *v = NULL;
    td_err_t rc = parse(line, len, false, NULL, reply, &v, &reply->seq, errbuf, errlen);
    if (rc == TD_OK && reply->verb == TD_GW_WELCOME && reply->version != TD_GW_PROTOCOL_VERSION)
        rc = td_err_set(errbuf, errlen, TD_ERR_PARSE, "version: expected %d, found %" PRIu32, TD_GW_PROTOCOL_VERSION,
                        reply->version);
    return rc;
}

/* ---- EA -> gateway ---- */

/* A fixed-point value as the shortest exact decimal. */
static const char *dec(int64_t v, char buf[40])
{
    int n = td_fx_format(v, 8, buf, 40);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
    return buf;
}

/* The name of value in names; the formatters' preconditions keep it inside the table. */
static const char *name_of(const td_names_t *names, int64_t value)
{
    const char *name = td_names_name(names, value);
    TD_ASSERT(name);
    return name;
}

/* any side but buy is written as sell, as the broker and the router always have */
static const char *side_name(td_side_t side)
{
    return name_of(&td_side_names, side == TD_SIDE_BUY ? TD_SIDE_BUY : TD_SIDE_SELL);
}

td_err_t td_gw_format_msg(td_buf_t *out, const td_gw_msg_t *msg)
{
    char a[40], b[40], c[40], d[40], e[40], f[40], g[40], h[40];
    const td_event_t *ev = &msg->ev;
    const td_tick_t *k = &ev->u.tick;
    const td_symbol_spec_t *s = &ev->u.spec;
    const td_exec_report_t *x = &ev->u.exec;
    const td_gw_account_t *acc = &msg->account;
    td_err_t rc = TD_OK;
    switch (msg->verb) {
    case TD_GW_HELLO:
        return td_buf_printf(out, "HELLO\t%" PRIu64 "\tversion=%" PRIu32 "\taccount=%s\tterminal=%s\ttoken=%s%s\n",
                             msg->seq, msg->hello.version, msg->hello.account, msg->hello.terminal, msg->hello.token,
                             msg->hello.reset ? "\treset=1" : "");
    case TD_GW_TICK:
        rc = td_buf_printf(out, "TICK\t%" PRIu64 "\tsymbol=%s\ttime=%" PRId64 "\tbid=%s\task=%s", msg->seq, ev->symbol,
                           ev->time_ms, dec(k->bid, a), dec(k->ask, b));
        if (rc == TD_OK && k->last)
            rc = td_buf_printf(out, "\tlast=%s", dec(k->last, c));
        if (rc == TD_OK && k->volume)
            rc = td_buf_printf(out, "\tvolume=%s", dec(k->volume, d));
        if (rc == TD_OK && k->flags)
            rc = td_buf_printf(out, "\tflags=%" PRIu32, k->flags);
        return rc == TD_OK ? td_buf_append(out, "\n", 1) : rc;
    case TD_GW_SPEC:
        return td_buf_printf(out,
                             "SPEC\t%" PRIu64 "\tsymbol=%s\ttime=%" PRId64 "\tdigits=%u\tcontract_size=%s\ttick_size=%s"
                             "\ttick_value=%s\tswap_long=%s\tswap_short=%s\tswap_mode=%s\ttriple_swap_weekday=%u"
                             "\tvolume_step=%s\tvolume_min=%s\tvolume_max=%s\n",
                             msg->seq, ev->symbol, ev->time_ms, s->digits, dec(s->contract_size, a),
                             dec(s->tick_size, b), dec(s->tick_value, c), dec(s->swap_long, d), dec(s->swap_short, e),
                             name_of(&td_swap_mode_names, s->swap_mode), s->triple_swap_weekday, dec(s->volume_step, f),
                             dec(s->volume_min, g), dec(s->volume_max, h));
    case TD_GW_EXEC:
        rc = td_buf_printf(out,
                           "EXEC\t%" PRIu64 "\tsymbol=%s\ttime=%" PRId64 "%s%s\tdeal=%" PRIu64 "\torder=%" PRIu64
                           "\tposition=%" PRIu64 "\tside=%s\tprice=%s\tvolume=%s\tcommission=%s\tswap=%s\tprofit=%s"
                           "\tstatus=%s%s%s\n",
                           msg->seq, ev->symbol, ev->time_ms, x->intent_id[0] ? "\tintent=" : "", x->intent_id,
                           x->deal_id, x->order_id, x->position_id, side_name(x->side), dec(x->price, a),
                           dec(x->volume, b), dec(x->commission, c), dec(x->swap, d), dec(x->profit, e),
                           name_of(&status_names, x->status), x->reason[0] ? "\treason=" : "", x->reason);
        return rc;
    case TD_GW_ACCOUNT:
        return td_buf_printf(
            out, "ACCOUNT\t%" PRIu64 "\ttime=%" PRId64 "\tbalance=%s\tequity=%s\tmargin=%s\tcurrency=%s\n", msg->seq,
            msg->time_ms, dec(acc->balance, a), dec(acc->equity, b), dec(acc->margin, c), acc->currency);
    case TD_GW_HEARTBEAT:
        return td_buf_printf(out, "HEARTBEAT\t%" PRIu64 "\ttime=%" PRId64 "\n", msg->seq, msg->time_ms);
    default: break;
    }
    TD_ASSERT(!"an EA verb");
    return TD_ERR_INVALID;
}

/* ---- gateway -> EA ---- */

static td_err_t append_text(td_buf_t *out, const char *text);

td_err_t td_gw_format_welcome(td_buf_t *out, uint64_t acked)
{
    return td_buf_printf(out, "WELCOME\tversion=%d\tacked=%" PRIu64 "\n", TD_GW_PROTOCOL_VERSION, acked);
}

td_err_t td_gw_format_ack(td_buf_t *out, uint64_t seq)
{
    return td_buf_printf(out, "ACK\t%" PRIu64 "\n", seq);
}

td_err_t td_gw_format_err(td_buf_t *out, uint64_t seq, const char *message)
{
    td_err_t rc = td_buf_printf(out, "ERR\t%" PRIu64 "\t", seq);
    if (rc == TD_OK)
        rc = append_text(out, message);
    return rc == TD_OK ? td_buf_append(out, "\n", 1) : rc;
}

/* Appends text with TABs and line ends replaced by spaces. */
static td_err_t append_text(td_buf_t *out, const char *text)
{
    td_err_t rc = TD_OK;
    for (const char *p = text; rc == TD_OK && *p; p++) {
        char c = (*p == '\t' || *p == '\r' || *p == '\n') ? ' ' : *p;
        rc = td_buf_append(out, &c, 1);
    }
    return rc;
}

td_err_t td_gw_format_bye(td_buf_t *out, const char *reason)
{
    td_err_t rc = td_buf_printf(out, "BYE\t");
    if (rc == TD_OK)
        rc = append_text(out, reason);
    return rc == TD_OK ? td_buf_append(out, "\n", 1) : rc;
}

td_err_t td_gw_format_order(td_buf_t *out, const char *symbol, const td_order_intent_t *intent, unsigned digits)
{
    char volume[40], sl[40], tp[40];
    td_fx_format(intent->volume, 8, volume, sizeof volume);
    td_fx_format(intent->stop_loss, (int)digits, sl, sizeof sl);
    td_fx_format(intent->take_profit, (int)digits, tp, sizeof tp);
    return td_buf_printf(out, "ORDER\tintent=%s\tsymbol=%s\tside=%s\tvolume=%s\tsl=%s\ttp=%s\n", intent->intent_id,
                         symbol, side_name(intent->side), volume, sl, tp);
}
