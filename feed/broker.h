/* broker.h - the paper broker of `tapedeck feed`: the gateway's ORDERs executed like a terminal on
 * a demo account would, with the shared fill model (processors/fill.h), one per symbol.
 *
 * An order is queued in its symbol's fill model and filled at the next tick of that symbol the
 * session maps (td_feed_broker_on_tick), which also checks the position's stop-loss and
 * take-profit; the session sends each deal as an EXEC line right after that tick. An intent id the
 * broker has already received is refused (counted, never executed twice): the EA's guard against an
 * ORDER sent twice.
 *
 * The journal (td_feed_broker_open_journal, optional): a file appended and flushed to disk
 * (fdatasync) line by line, like the terminal's trade history:
 *   order <TAB> AT <TAB> <the ORDER line's fields>   before the order enters the fill model; AT is
 *                                                    the index of the next tick to be mapped
 *   exec <TAB> SEQ <TAB> INTENT                      before the EXEC line SEQ of an intent's fill
 *                                                    is sent (stop/target exits are not intents)
 * A restarted broker reads it: every intent id in it is refused again, and each journaled order is
 * submitted again at its AT (td_feed_broker_replay) - the fill model is deterministic, so the same
 * ticks give the same fills and the session's message map is rebuilt exactly. The executions per
 * intent id are counted from the journal's exec lines: across restarts, never in memory only.
 *
 * The ORDER lines are read with gateway/protocol.h's parser. One thread: the session's.
 */
#ifndef TD_FEED_BROKER_H
#define TD_FEED_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/event.h"
#include "processors/output.h"

#define TD_FEED_SYMBOLS_MAX 64

typedef struct td_feed_broker td_feed_broker_t;

typedef struct td_feed_broker_config {
    int64_t slippage_points;       /* broker.slippage_points, >= 0 */
    td_money_t commission_per_lot; /* broker.commission_per_lot, >= 0 */
    int day_offset_minutes;        /* the trading day's start (swap rollovers) */
    FILE *log;                     /* a line per refused or unqueued order; NULL: none */
} td_feed_broker_config_t;

typedef struct td_feed_broker_stats {
    uint64_t executed;         /* fills of received intents */
    uint64_t repeats_refused;  /* ORDERs of an intent id already received */
    uint64_t malformed;        /* ORDERs refused by the parser, of an unknown symbol or not queued */
    uint64_t exits;            /* stop-loss / take-profit deals */
    uint64_t deals;            /* every deal */
    unsigned unfilled;         /* orders still queued (no tick of their symbol after them) */
    size_t intents;            /* intent ids ever received (with the journal: over every run) */
    size_t intents_executed;   /* of them, executed at least once */
    uint32_t most_executions;  /* the most executions of one intent id */
    size_t journal_orders;     /* orders read from the journal */
    uint64_t journal_exec_max; /* the highest EXEC sequence number in the journal */
} td_feed_broker_stats_t;

/* A broker without symbols or journal. TD_ERR_NOMEM. */
td_err_t td_feed_broker_new(const td_feed_broker_config_t *config, td_feed_broker_t **out) TD_WUR;
void td_feed_broker_destroy(td_feed_broker_t *broker);

/* Adds a symbol (index = the number added before); its deal and order ids are kept apart from the
 * other symbols' by a hash of the name, as the host's are. TD_ERR_INVALID beyond
 * TD_FEED_SYMBOLS_MAX or for a name longer than TD_SYMBOL_MAX. */
td_err_t td_feed_broker_add_symbol(td_feed_broker_t *broker, const char *name, const td_symbol_spec_t *spec) TD_WUR;

/* Reads the journal at path (absent: empty), then opens it for appending. n_ticks bounds the ATs.
 * A malformed line is TD_ERR_PARSE with "PATH:LINE: expected ..." in errbuf; TD_ERR_IO when it
 * cannot be opened. Call once, after the symbols are added. */
td_err_t td_feed_broker_open_journal(td_feed_broker_t *broker, const char *path, size_t n_ticks, char *errbuf,
                                     size_t errlen) TD_WUR;

/* A live ORDER's fields (the line after "ORDER<TAB>"), received when tick `at` is the next to be
 * mapped and time_ms is the time of the last mapped one: refused when malformed or repeated
 * (counted, logged, TD_OK), else journaled and queued in its symbol's fill model. A failed journal
 * write is returned (the broker must stop: its history would be incomplete). */
td_err_t td_feed_broker_order(td_feed_broker_t *broker, const char *fields, size_t len, size_t at,
                              int64_t time_ms) TD_WUR;

/* Submits again the journal's orders received when tick `at` was the next to be mapped; call
 * before mapping tick at, with time_ms as for td_feed_broker_order. */
td_err_t td_feed_broker_replay(td_feed_broker_t *broker, size_t at, int64_t time_ms) TD_WUR;

/* True while journaled orders wait for td_feed_broker_replay. */
bool td_feed_broker_replaying(const td_feed_broker_t *broker);

/* One tick of symbol sym at time_ms: its fill model fills what is queued and checks the stops.
 * *fills (owned by the broker, valid until the next call) holds one TD_EV_EXEC_REPORT per deal;
 * the caller reports each with td_feed_broker_executed. */
td_err_t td_feed_broker_on_tick(td_feed_broker_t *broker, size_t sym, int64_t time_ms, const td_tick_t *tick,
                                const td_outbuf_t **fills) TD_WUR;

/* A deal of td_feed_broker_on_tick sent as EXEC line seq: an intent's fill is counted once (in
 * the journal, unless it is there already: a map rebuilt after a restart), another deal is a
 * stop/target exit. A failed journal write is returned. */
td_err_t td_feed_broker_executed(td_feed_broker_t *broker, const td_exec_report_t *exec, uint64_t seq) TD_WUR;

void td_feed_broker_stats(const td_feed_broker_t *broker, td_feed_broker_stats_t *stats);

#endif
