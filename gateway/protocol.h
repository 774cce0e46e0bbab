/* protocol.h - the line protocol between the MT5 Expert Advisor and the gateway, version 1.
 *
 * MQL5 programs cannot listen on a socket, so the EA is the TCP client. Each message is one line:
 * ASCII, fields separated by one TAB, ended by LF (a CR before the LF is dropped), at most
 * TD_GW_LINE_MAX bytes with its end. The first field is the verb, the second a sequence number,
 * the rest key=value pairs in any order, each key at most once (docs/PROTOCOL.md lists them):
 *
 *   EA -> gateway   HELLO  TICK  SPEC  EXEC  ACCOUNT  HEARTBEAT
 *   gateway -> EA   WELCOME  ACK  ERR  ORDER  BYE
 *
 * Every EA message carries a sequence number that grows by one per message and survives
 * reconnects (the EA keeps it in a file); the gateway acknowledges what it has durably appended
 * and drops, after a reconnect, what it already has. Times are UTC milliseconds since the epoch
 * (the EA converts from the trade server's clock). Prices, volumes and money are decimals that
 * core/fixed.h parses exactly.
 *
 * This file is the one home of the protocol, both directions and both sides: the gateway parses
 * the EA's lines and formats its own; the EA's side (`tapedeck feed`, feed/) formats the EA's lines
 * and parses the gateway's. It only parses and formats lines: no I/O, no state. Both parsers
 * validate everything (each side's input is outside bytes): a bad line is TD_ERR_PARSE with
 * "FIELD: expected ..., found '...'" in errbuf. A formatted line parses back to what was formatted.
 */
#ifndef TD_GW_PROTOCOL_H
#define TD_GW_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"

#define TD_GW_PROTOCOL_VERSION 1
#define TD_GW_LINE_MAX 4096 /* bytes, the line end included */

typedef enum td_gw_verb {
    TD_GW_HELLO = 1,
    TD_GW_TICK,
    TD_GW_SPEC,
    TD_GW_EXEC,
    TD_GW_ACCOUNT,
    TD_GW_HEARTBEAT,
    /* gateway -> EA */
    TD_GW_WELCOME,
    TD_GW_ACK,
    TD_GW_ERR,
    TD_GW_ORDER,
    TD_GW_BYE,
} td_gw_verb_t;

typedef struct td_gw_hello {
    uint32_t version;
    char account[32];
    char terminal[64];
    char token[128];
    bool reset; /* reset=1: the account's sequence starts again (the gateway records 0) */
} td_gw_hello_t;

typedef struct td_gw_account {
    td_money_t balance, equity, margin;
    char currency[8];
} td_gw_account_t;

typedef struct td_gw_msg {
    td_gw_verb_t verb;
    uint64_t seq;            /* >= 1 */
    td_event_t ev;           /* TICK, SPEC, EXEC: the input event (symbol, time, body; source "mt5") */
    td_gw_hello_t hello;     /* HELLO */
    td_gw_account_t account; /* ACCOUNT (with ev.time_ms) */
    int64_t time_ms;         /* HEARTBEAT, ACCOUNT */
} td_gw_msg_t;

/* A gateway -> EA line. */
typedef struct td_gw_reply {
    td_gw_verb_t verb;              /* WELCOME, ACK, ERR, ORDER or BYE */
    uint64_t seq;                   /* ACK, ERR: the EA message's sequence number (0: a line without one) */
    uint32_t version;               /* WELCOME */
    uint64_t acked;                 /* WELCOME */
    char symbol[TD_SYMBOL_MAX + 1]; /* ORDER */
    td_order_intent_t intent;       /* ORDER: intent_id, side, volume, stop_loss, take_profit (0: none) */
    char text[TD_GW_LINE_MAX];      /* ERR: the message; BYE: the reason (may be empty) */
} td_gw_reply_t;

/* Parses one EA line (without its LF; a trailing CR is dropped) into msg. TD_ERR_PARSE with detail
 * for anything that is not a valid version-1 EA message. */
td_err_t td_gw_parse_line(const char *line, size_t len, td_gw_msg_t *msg, char *errbuf, size_t errlen) TD_WUR;

/* Parses one gateway line (without its LF; a trailing CR is dropped) into reply. TD_ERR_PARSE with
 * detail for anything that is not a valid version-1 gateway message. */
td_err_t td_gw_parse_reply(const char *line, size_t len, td_gw_reply_t *reply, char *errbuf, size_t errlen) TD_WUR;

/* EA -> gateway: msg as one line with its LF, appended to out. Decimals are written as the shortest
 * exact decimal; TICK's last, volume and flags only when not 0, EXEC's intent and reason only when
 * not empty. Precondition: msg holds what td_gw_parse_line accepts (its strings printable, without
 * TAB); the HELLO's version is msg->hello.version. */
td_err_t td_gw_format_msg(td_buf_t *out, const td_gw_msg_t *msg) TD_WUR;

/* Gateway -> EA lines, appended to out with their LF. */
td_err_t td_gw_format_welcome(td_buf_t *out, uint64_t acked) TD_WUR;
td_err_t td_gw_format_ack(td_buf_t *out, uint64_t seq) TD_WUR;
/* message: TABs and line ends in it are replaced by spaces */
td_err_t td_gw_format_err(td_buf_t *out, uint64_t seq, const char *message) TD_WUR;
/* volume with 8 decimals, sl and tp with the symbol's digits (at least their precision) */
td_err_t td_gw_format_order(td_buf_t *out, const char *symbol, const td_order_intent_t *intent, unsigned digits) TD_WUR;
td_err_t td_gw_format_bye(td_buf_t *out, const char *reason) TD_WUR;

#endif
