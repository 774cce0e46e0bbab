/* event.h - the in-memory form of every tapedeck event.
 *
 * td_event_t mirrors proto/events.proto's Envelope one to one, with fixed-size strings so that an
 * event needs no allocation and can be copied by value. Processors, importers and the host work on
 * td_event_t; only core/codec.c turns it into protobuf bytes and back. Units and scales are the
 * proto file's (core/fixed.h): times in ms since the epoch UTC, prices/volumes/money x 1e8.
 *
 * String fields are NUL-terminated and always fit: the codec refuses longer wire strings with
 * TD_ERR_PARSE, and writers use td_event_set_str() which refuses to truncate.
 */
#ifndef TD_EVENT_H
#define TD_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/fixed.h"

#define TD_SCHEMA_VERSION 1

#define TD_SYMBOL_MAX 31 /* longest symbol name, bytes */
#define TD_SOURCE_MAX 15 /* longest source name */
#define TD_ID_MAX 63     /* intent ids, strategy names */
#define TD_TEXT_MAX 127  /* reasons, authors */
#define TD_PARAM_NAME_MAX 23
#define TD_PARAM_VALUE_MAX 31
#define TD_PARAMS_MAX 16 /* parameters in one ParamsChanged */

/* The body kinds. Values equal the Envelope oneof field numbers. */
typedef enum td_event_kind {
    TD_EV_NONE = 0,
    TD_EV_TICK = 10,
    TD_EV_SYMBOL_SPEC = 11,
    TD_EV_EXEC_REPORT = 12,
    TD_EV_PARAMS_CHANGED = 13,
    TD_EV_CLOCK = 14,
    TD_EV_SESSION_MARK = 15,
    TD_EV_BAR = 20,
    TD_EV_SIGNAL = 21,
    TD_EV_ORDER_INTENT = 22,
    TD_EV_POSITION_CHANGED = 23,
    TD_EV_TRADE_CLOSED = 24,
    TD_EV_DAY_DIGEST = 25,
} td_event_kind_t;

typedef enum td_side { TD_SIDE_NONE = 0, TD_SIDE_BUY = 1, TD_SIDE_SELL = 2 } td_side_t;

typedef enum td_swap_mode {
    TD_SWAP_DISABLED = 0,
    TD_SWAP_POINTS = 1,
    TD_SWAP_MONEY = 2,
    TD_SWAP_INTEREST = 3,
} td_swap_mode_t;

typedef enum td_exec_status {
    TD_EXEC_NONE = 0,
    TD_EXEC_FILLED = 1,
    TD_EXEC_PARTIAL = 2,
    TD_EXEC_REJECTED = 3,
    TD_EXEC_EXPIRED = 4,
    TD_EXEC_CANCELLED = 5,
} td_exec_status_t;

typedef enum td_session_kind {
    TD_SESSION_NONE = 0,
    TD_SESSION_DAY_START = 1,
    TD_SESSION_DAY_END = 2,
} td_session_kind_t;

typedef enum td_direction { TD_DIR_FLAT = 0, TD_DIR_LONG = 1, TD_DIR_SHORT = 2 } td_direction_t;

/* MT5 TICK_FLAG_* values. */
#define TD_TICK_FLAG_BID 2u
#define TD_TICK_FLAG_ASK 4u
#define TD_TICK_FLAG_LAST 8u
#define TD_TICK_FLAG_VOLUME 16u
#define TD_TICK_FLAG_BUY 32u
#define TD_TICK_FLAG_SELL 64u

typedef struct td_tick {
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
} td_tick_t;

typedef struct td_symbol_spec {
    uint32_t digits;
    td_price_t point;
    td_volume_t contract_size; /* units of base per lot, volume scale */
    td_price_t tick_size;
    td_money_t tick_value;
    int64_t swap_long, swap_short; /* x 1e8, unit per swap_mode */
    td_swap_mode_t swap_mode;
    uint32_t triple_swap_weekday; /* 0 Sunday .. 6 Saturday */
    td_volume_t volume_step, volume_min, volume_max;
} td_symbol_spec_t;

typedef struct td_exec_report {
    char intent_id[TD_ID_MAX + 1];
    uint64_t deal_id, order_id, position_id;
    td_side_t side;
    td_price_t price;
    td_volume_t volume;
    td_money_t commission, swap, profit;
    td_exec_status_t status;
    char reason[TD_TEXT_MAX + 1];
} td_exec_report_t;

typedef struct td_param {
    char name[TD_PARAM_NAME_MAX + 1];
    char value[TD_PARAM_VALUE_MAX + 1];
} td_param_t;

typedef struct td_params_changed {
    char strategy[TD_ID_MAX + 1];
    uint32_t version;
    uint32_t n_values;
    td_param_t values[TD_PARAMS_MAX]; /* sorted by name, names unique */
    char author[TD_TEXT_MAX + 1];
    char reason[TD_TEXT_MAX + 1];
} td_params_changed_t;

typedef struct td_session_mark {
    td_session_kind_t kind;
    uint32_t trading_day; /* YYYYMMDD */
} td_session_mark_t;

typedef struct td_bar {
    uint32_t timeframe_s;
    int64_t open_time;
    td_price_t open, high, low, close;
    uint64_t tick_volume;
    td_price_t spread_min, spread_max;
    int64_t spread_sum;
    uint64_t late_ticks;
} td_bar_t;

typedef struct td_signal {
    char strategy[TD_ID_MAX + 1];
    uint32_t params_version;
    td_direction_t direction;
    int64_t bar_time;
    char reason[TD_TEXT_MAX + 1];
} td_signal_t;

typedef struct td_order_intent {
    char intent_id[TD_ID_MAX + 1];
    td_side_t side;
    td_volume_t volume;
    int type; /* 0 = market */
    td_price_t stop_loss, take_profit;
    char strategy[TD_ID_MAX + 1];
    uint32_t params_version;
    char reason[TD_TEXT_MAX + 1];
} td_order_intent_t;

typedef struct td_position_changed {
    td_volume_t volume; /* signed: + long, - short */
    td_price_t avg_price;
    td_money_t realized_pnl, commission, swap;
    uint64_t deal_id;
    char intent_id[TD_ID_MAX + 1];
} td_position_changed_t;

typedef struct td_trade_closed {
    td_side_t side;
    int64_t entry_time;
    td_price_t entry_price;
    int64_t exit_time;
    td_price_t exit_price;
    td_volume_t volume;
    td_money_t pnl, commission, swap;
} td_trade_closed_t;

typedef struct td_day_digest {
    uint32_t trading_day;
    uint8_t sha256[32];
    uint64_t first_offset, last_offset;
    uint64_t inputs, outputs;
    uint64_t trades, wins;
    td_money_t realized_pnl, max_drawdown;
    uint64_t late_ticks;
} td_day_digest_t;

typedef struct td_event {
    char symbol[TD_SYMBOL_MAX + 1];
    int64_t time_ms; /* event time */
    uint64_t offset; /* stream offset; set by the tape on append and on read */
    char source[TD_SOURCE_MAX + 1];
    uint32_t schema_version;
    int64_t ingest_ms;     /* wall clock at append; excluded from digests */
    uint64_t input_offset; /* outputs only */
    uint32_t index;        /* outputs only */
    td_event_kind_t kind;
    union {
        td_tick_t tick;
        td_symbol_spec_t spec;
        td_exec_report_t exec;
        td_params_changed_t params;
        td_session_mark_t session;
        td_bar_t bar;
        td_signal_t signal;
        td_order_intent_t intent;
        td_position_changed_t position;
        td_trade_closed_t trade;
        td_day_digest_t digest;
    } u;
} td_event_t;

/* The one rule for a symbol name, wherever one enters (the gateway, the importers, the config,
 * the API): 1 to TD_SYMBOL_MAX bytes of A-Z a-z 0-9 and . _ - # + !, the first a letter, a digit
 * or '#'. A symbol names a stream and a folder of sealed files (DATA_DIR/sealed/SYMBOL/), so it can
 * never be "." or "..", hold a '/', a space or a byte a file system or a terminal treats specially.
 * TD_SYMBOL_RULE is the rule in words, for messages. */
#define TD_SYMBOL_RULE "1-31 characters of A-Z a-z 0-9 . _ - # + !, the first a letter, a digit or #"
bool td_symbol_valid(const char *symbol, size_t len);

/* Clears ev and sets its kind, symbol, time and schema version. A symbol that breaks the rule of
 * td_symbol_valid() is TD_ERR_INVALID. */
td_err_t td_event_init(td_event_t *ev, td_event_kind_t kind, const char *symbol, int64_t time_ms) TD_WUR;

/* Copies src into dst[dstsize]; TD_ERR_INVALID (dst untouched) if it does not fit. */
td_err_t td_event_set_str(char *dst, size_t dstsize, const char *src) TD_WUR;

/* True for the kinds the processor host writes (Bar .. DayDigest). */
bool td_event_is_output(td_event_kind_t kind);

/* The trading day of ev in a stream whose day floor is floor_day (0 = none yet):
 * max(td_time_trading_day(ev->time_ms, day_offset_minutes), floor_day); a SessionMark DAY_END, whose
 * time is the first instant of the next day (so that it closes the day's last bar), belongs to the
 * day it ends (its trading_day). Days never go backwards
 * within a stream, so each day is one contiguous range of offsets. The tape, the processor host and
 * replay all place events in days with this one rule. */
uint32_t td_event_day(const td_event_t *ev, uint32_t floor_day, int day_offset_minutes);

/* The stream's floor after ev, which was placed in `day`: the next calendar day after a SessionMark
 * DAY_END or a DayDigest of that very day (they close it: whatever follows belongs to a later day),
 * else day. */
uint32_t td_event_floor_after(const td_event_t *ev, uint32_t day);

/* Lower-case name of a kind ("tick", "execution_report", ...); "none" for unknown values. */
const char *td_event_kind_name(td_event_kind_t kind);

#endif
