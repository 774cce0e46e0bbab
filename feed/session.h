/* session.h - the EA's side of the line protocol over TCP, as `tapedeck feed` speaks it: the MT5
 * stand-in that sends ticks to the gateway and fills its orders with the paper broker.
 *
 * HELLO is 1, the symbol specs 2..1+S, then the ticks in time order, each followed by the EXEC
 * reports of its fills (feed/broker.h), and the heartbeats: the message map (feed/map.h) says what
 * each sequence number is and keeps it for the whole run, so a resend after a reconnect is exact:
 * WELCOME acked=N says where the gateway stands and the session sends from N + 1. The gateway does
 * not record HELLO's sequence number, so every connection's HELLO is 1.
 *
 * The lines carry the map's numbers plus a shift (map.seq_shift), 0 unless the first WELCOME finds
 * the gateway above this feed's own numbers with nothing sent yet (no state file: a lost one, or
 * another day on the same account; sent as they are, the gateway would drop every line as a
 * resend), or a later one finds it below this numbering's start (the account's sequence was
 * reset): the lines not acknowledged are then numbered from N + 1. The gateway refuses a gap
 * ("seq: expected"): the session reconnects and resends from the new WELCOME.
 *
 * Durability (state_path): the file holds the last acknowledged and highest sent sequence numbers
 * and the shift (rewritten atomically a few times a second, and at the WELCOME that sets the
 * numbering, before a line goes out with it); state_path.broker is the broker's journal. A
 * restarted session rebuilds the message map exactly from it, up to what the gateway holds and
 * every journaled order, before anything new is sent.
 *
 * sync_bars (deterministic fills): nothing after a step that can close a bar is mapped before that
 * step is acknowledged (feed/map.h). The gateway routes the orders a burst causes before it
 * acknowledges the burst (gateway/server.h), so every order arrives at the same point of the
 * message map on every run: the tape is the same, byte for byte, run after run, and after crashes
 * of either side.
 *
 * Every line is formatted and parsed by gateway/protocol.h. One thread, one socket, poll(): lines
 * are written ahead of the acknowledgements (pipelined, up to `window` unacknowledged) and
 * ACK/ERR/ORDER/BYE lines are read as they come.
 */
#ifndef TD_FEED_SESSION_H
#define TD_FEED_SESSION_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/event.h"
#include "feed/broker.h"

#define TD_FEED_WINDOW_DEFAULT 4096

typedef struct td_feed_session td_feed_session_t;

typedef struct td_feed_config {
    struct sockaddr_in addr; /* the gateway */
    /* HELLO's; the caller checks them: printable, no TAB, account 1..31, terminal <= 63 and token
     * <= 127 characters */
    const char *account, *token, *terminal;
    const char *state_path; /* NULL: no state file and no broker journal */
    double speed;           /* N times real time; 0 as fast as possible */
    double retry_s;         /* keep reconnecting this long after a lost connection */
    double linger_s;        /* after the last acknowledgement, wait this long for late ORDERs */
    int64_t heartbeat_ms;   /* 0: no heartbeats */
    bool sync_bars;
    uint64_t drop_every; /* close the connection after every N lines sent (a test); 0: never */
    uint64_t window;     /* at most N lines sent and not yet acknowledged; 0: no bound */
    int64_t tf_ms;       /* the pipeline's timeframe and day offset: the gateway's clock rule */
    int day_offset_minutes;
    td_feed_broker_config_t broker;
    FILE *log; /* warnings (lost connections, the gateway's ERR lines); NULL: none */
} td_feed_config_t;

typedef struct td_feed_stats {
    size_t ticks, symbols;
    uint64_t sent, resent; /* lines sent, of them sent before (after a reconnect or restart) */
    uint64_t acked;        /* the highest acknowledged sequence number */
    uint64_t last_seq;     /* of the last message mapped */
    uint64_t errors;       /* ERR lines and unreadable lines from the gateway */
    uint64_t orders;       /* ORDER lines received */
    uint64_t reconnects, drops;
} td_feed_stats_t;

/* A session without ticks or symbols; the strings of config must outlive it. TD_ERR_NOMEM. */
td_err_t td_feed_session_new(const td_feed_config_t *config, td_feed_session_t **out) TD_WUR;
void td_feed_session_destroy(td_feed_session_t *session);

/* Adds a tick of symbol sym (the index td_feed_session_add_symbol will give it). TD_ERR_NOMEM. */
td_err_t td_feed_session_add_tick(td_feed_session_t *session, uint32_t sym, int64_t time_ms,
                                  const td_tick_t *tick) TD_WUR;

/* Adds the next symbol, its spec as sent in SPEC and used by the broker. TD_ERR_INVALID beyond
 * TD_FEED_SYMBOLS_MAX. */
td_err_t td_feed_session_add_symbol(td_feed_session_t *session, const char *name, const td_symbol_spec_t *spec) TD_WUR;

/* After the ticks and symbols: merges the ticks in time order (when there are several symbols),
 * reads the state file and opens the broker's journal. A bad journal is TD_ERR_PARSE with detail
 * in errbuf. */
td_err_t td_feed_session_start(td_feed_session_t *session, char *errbuf, size_t errlen) TD_WUR;

/* Connects (and reconnects, within retry_s) and sends until every message is acknowledged and the
 * linger is over. TD_OK then (the gateway may still have refused lines: see stats.errors); else
 * TD_ERR_IO when the gateway stayed unreachable, TD_ERR_INVALID when it refused the session (an
 * ERR or BYE before WELCOME), or the broker's error; detail in errbuf. */
td_err_t td_feed_session_run(td_feed_session_t *session, char *errbuf, size_t errlen) TD_WUR;

void td_feed_session_stats(const td_feed_session_t *session, td_feed_stats_t *stats,
                           td_feed_broker_stats_t *broker_stats);

#endif
