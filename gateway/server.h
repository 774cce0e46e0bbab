/* server.h - the gateway: the TCP server the MT5 Expert Advisor connects to (libev, one thread).
 *
 * The EA speaks the line protocol of gateway/protocol.h. Per connection the server:
 *   - accepts only a HELLO first, with the configured token (compared in constant time); anything
 *     else, a missing or wrong token, gets ERR and BYE and the connection is closed; a connection
 *     without a HELLO after auth_timeout_ms is closed;
 *   - keeps connections that have not said HELLO in their own budget (max_unauthenticated): a
 *     new one over it closes the OLDEST of them (BYE "too many connections awaiting HELLO"), so
 *     idle sockets cannot keep out an EA that says HELLO at once; max_connections bounds the
 *     authenticated sessions only (a HELLO over it gets BYE "too many connections");
 *   - counts failed logins (a bad or missing token, another line than HELLO first, an oversized
 *     first line) per source address (td_gw_throttle_t): auth_max_failures of them within
 *     auth_failure_window_ms block the address for auth_cooldown_ms - its connections get BYE
 *     "too many failed logins from this address; retry later" at once, before any token is
 *     compared; a connection that merely says nothing in time is no login attempt and counts
 *     nothing (the budget and the timeout bound it);
 *   - writes the log lines about connections that never logged in (refused, auth failure, auth
 *     throttle, closed before HELLO) at most once per second per kind, the next one written with
 *     the count of those held back (" suppressed=N"), the rest at the stop: a flood of connections
 *     cannot fill the log, and the log still accounts for each of them;
 *   - appends TICK, SPEC and EXEC lines as input events to the symbol's stream of the local tape,
 *     all lines of one read burst in ONE tape batch, together with the account's highest handled
 *     sequence number (meta "gateway/acked/<account>"); only after that batch is committed does
 *     it write ACK <highest seq> - so an ACK always means "durably on the tape";
 *   - drops lines whose sequence number is <= the account's recorded one (a resend after a
 *     reconnect) and acknowledges them again; WELCOME acked=N tells the EA where to resume;
 *   - refuses (ERR "seq: expected N, found M", not appended, the recorded number unmoved) a line
 *     whose number is not the next one (td_gw_seq_check): a gap is never acknowledged over;
 *   - answers a malformed line with ERR <seq or 0> <the parser's message> and counts it; more
 *     than max_errors errors close the connection with BYE; a line longer than max_line gets
 *     ERR 0 and is skipped up to its end (and counted);
 *   - refuses (ERR, counted, not appended) a line whose time lies more than max_ahead_ms ahead of
 *     the gateway's wall clock: one tick dated tomorrow would close today's trading day for its
 *     symbol, and a HEARTBEAT dated 2030 every open day of every symbol (DESIGN invariant 9);
 *   - closes a connection that completes no line for idle_timeout_ms (a slow client);
 *   - refuses (ERR naming the symbol and its account, counted, not appended) a TICK, SPEC or EXEC
 *     of a symbol that opts.accounts gives to another account than the session's: only the
 *     account that trades a symbol reports on it (DESIGN invariant 9).
 * HELLO's own sequence number is neither acknowledged nor recorded: WELCOME answers it; when it is
 * the account's next number (acked + 1: an account's first HELLO is 1) the session counts it as
 * handled, so the first data line is 2. HELLO reset=1 (local tape only) records 0 for the account
 * first, logged at WARN: the one way an account's sequence goes back. HEARTBEAT
 * and ACCOUNT are acknowledged and move the recorded sequence number (ACCOUNT is logged); a
 * HEARTBEAT appends Clock events (gateway/clock.h) when clock_timeframe_ms is set, to the tape or
 * to opts.journal alike.
 * The hook, when set, runs after each committed burst BEFORE its ACK is queued, and once when a
 * session opens, before its WELCOME: an order caused by the EA's lines reaches it ahead of the ACK
 * of those lines, and orders waiting for a session ahead of the WELCOME. One
 * session per account: a new HELLO for an account closes the older connection of that account
 * (BYE "replaced by a new session"), so two connections never race on one account's sequence.
 *
 * Nothing from the network can stop the server: every bad input is answered and counted. Only a
 * failed tape commit (the tape's sticky failure) stops it, with that code.
 *
 * On the local tape a burst's commit is written by the tape writer's thread (core/tape_writer.h)
 * while the loop reads the next burst; its hook run and ACK follow when it is settled.
 *
 * Threads: everything runs on the thread that calls td_gw_server_run, but the local tape's RocksDB
 * writes, on the tape writer's own thread.
 */
#ifndef TD_GW_SERVER_H
#define TD_GW_SERVER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/tape.h"

/* Another journal than the local tape (Kafka: gateway/journal_kafka.h). With one, the server
 * never touches a tape: each event of a burst goes to append, and at the burst's end commit must
 * make all of them durable and record the account's sequence number before it returns TD_OK -
 * only then is the ACK written. acked reads that number when a session starts. A commit failure
 * stops the server like a failed tape commit; append's TD_ERR_INVALID refuses one line (ERR).
 * The Clock events of a HEARTBEAT go to append with the heartbeat's sequence number (one per
 * symbol). With clock_timeframe_ms set, commit also gets clock_state (the heartbeat clock's
 * times, td_gw_clock_encode; NULL otherwise) to record in the same durable write as the sequence
 * number, and clock_state reads the last one recorded back (TD_ERR_NOT_FOUND: none yet).
 *
 * An asynchronous journal sets settle: its commit then only queues the burst's record and returns
 * at once, and the server goes on reading while the burst travels. settle reports, in commit
 * order, every account whose committed bursts up to sequence number `acked` (and every burst
 * committed before them) are now durable and recorded - only then does the server ACK them; with
 * wait it first waits until every commit so far is durable (a session's start, the server's stop).
 * Errors stop the server as a failed commit does. wakeup_fd (> 0) becomes readable when settle may
 * have news; the server watches it. A synchronous journal leaves settle NULL and wakeup_fd 0. */
typedef void (*td_gw_durable_fn)(void *ctx, const char *account, uint64_t acked);

typedef struct td_gw_journal {
    void *opaque;
    td_err_t (*acked)(void *opaque, const char *account, uint64_t *acked);
    td_err_t (*append)(void *opaque, const char *account, uint64_t seq, td_event_t *ev, char *errbuf, size_t errlen);
    td_err_t (*commit)(void *opaque, const char *account, uint64_t acked, const td_buf_t *clock_state, char *errbuf,
                       size_t errlen);
    td_err_t (*clock_state)(void *opaque, td_buf_t *state);
    td_err_t (*settle)(void *opaque, bool wait, td_gw_durable_fn durable, void *ctx, char *errbuf, size_t errlen);
    int wakeup_fd;
} td_gw_journal_t;

typedef struct td_gw_server_opts {
    const char *listen;           /* "HOST:PORT", HOST an IPv4 address or "localhost"; port 0 = any free port */
    const char *token;            /* non-empty */
    unsigned max_connections;     /* authenticated sessions; a HELLO beyond them gets BYE */
    unsigned max_unauthenticated; /* connections awaiting HELLO; one more closes the oldest of them */
    size_t max_line;              /* bytes with the LF, <= TD_GW_LINE_MAX */
    int64_t auth_timeout_ms, idle_timeout_ms;
    /* failed logins from one address that block it, when within auth_failure_window_ms, for
     * auth_cooldown_ms (0: never blocked) */
    unsigned auth_max_failures;
    int64_t auth_failure_window_ms, auth_cooldown_ms;
    uint64_t max_errors;
    int64_t max_ahead_ms; /* > 0: a line timed further ahead of the wall clock is refused (ERR) */
    /* Optional: called on the loop's thread after every committed burst (with the monotonic time,
     * ev_time(), at which that burst's read began) and every hook_interval_ms (with 0), so that
     * the processor and the router of the same process can follow the tape. A hook returning an
     * error stops the server with that code (as a failed commit does), detail in its errbuf. */
    td_err_t (*hook)(void *opaque, double burst_start, char *errbuf, size_t errlen);
    void *hook_opaque;
    int64_t hook_interval_ms; /* > 0 when hook is set */
    /* Optional (> 0; 0 = none): a non-blocking fd, such as a pipe's read end, that also runs the
     * hook when readable (after draining it), so that news from another thread (a Kafka consumer,
     * td_kafka_consumer_wakeup) is handled at once rather than at the next hook_interval_ms. It
     * stays the caller's. */
    int hook_wakeup_fd;
    /* HEARTBEAT -> Clock events (gateway/clock.h): the bars' timeframe and alignment (minutes, as
     * session.day_offset_minutes); 0 = heartbeats append nothing. */
    int64_t clock_timeframe_ms;
    int clock_align_minutes;
    const td_gw_journal_t *journal; /* NULL: the local tape (td_gw_server_new's tape) */
    /* Which account trades which symbol (td_config_symbol_account); NULL, or "" for a symbol: its
     * lines are accepted from any account. Stays the caller's. */
    const td_config_t *accounts;
} td_gw_server_opts_t;

typedef struct td_gw_stats {
    uint64_t connections;   /* accepted */
    uint64_t refused;       /* turned away by a limit: a HELLO over max_connections, the oldest connection
                             * awaiting HELLO over max_unauthenticated */
    uint64_t auth_failures; /* no HELLO, a bad one or a wrong token */
    uint64_t throttled;     /* connections refused (in refused too): their address is cooling down */
    uint64_t sessions;      /* authenticated sessions opened (counted before the hook runs for one) */
    uint64_t lines;         /* complete lines read from authenticated connections */
    uint64_t events;        /* appended to the tape */
    uint64_t duplicates;    /* dropped: already on the tape */
    uint64_t errors;        /* malformed, oversized or refused lines (those ahead of time included) */
    uint64_t ahead;         /* lines refused for a time more than max_ahead_ms ahead of the clock */
    uint64_t gaps;          /* lines refused for a sequence number that is not the next one */
    uint64_t foreign;       /* lines refused: their symbol is traded by another account */
    uint64_t commits;
} td_gw_stats_t;

typedef struct td_gw_server td_gw_server_t;

/* The options of the config's gateway.* keys (listen, token, limits, timeouts) and the config as
 * opts.accounts; the hook and clock fields are left 0 for the caller. */
void td_gw_server_opts_from_config(const td_config_t *config, td_gw_server_opts_t *opts);

/* Binds and listens (SO_REUSEADDR), ready to run. The tape (NULL with opts->journal) stays the
 * caller's and must outlive the server; log too. TD_ERR_INVALID for bad options, TD_ERR_IO when the address cannot be
 * bound. */
td_err_t td_gw_server_new(const td_gw_server_opts_t *opts, td_tape_t *tape, td_log_t *log, td_gw_server_t **server,
                          char *errbuf, size_t errlen) TD_WUR;
/* Closes every connection and the listener; NULL is a no-op. */
void td_gw_server_destroy(td_gw_server_t *server);
/* The address actually bound, "127.0.0.1:7878" (the real port when 0 was asked for). */
void td_gw_server_address(const td_gw_server_t *server, char *buf, size_t len);

/* Serves until SIGTERM, SIGINT or td_gw_server_stop (then: stop accepting, settle an asynchronous journal's bursts
 * and write their ACKs, close every connection with BYE - each read burst is committed before its
 * callback returns, so nothing else is pending - and return TD_OK) or until a tape or journal
 * commit fails (returns that code, detail in errbuf). */
td_err_t td_gw_server_run(td_gw_server_t *server, char *errbuf, size_t errlen) TD_WUR;
/* Asks td_gw_server_run to stop as on SIGTERM (and returns at once): for an owner that stops the
 * server itself, such as a service with another way to be told to stop. Any thread, and
 * async-signal-safe (ev_async_send); a stop asked for before td_gw_server_run starts makes it stop
 * at once. The server must exist until td_gw_server_run has returned. */
void td_gw_server_stop(td_gw_server_t *server);
void td_gw_server_stats(const td_gw_server_t *server, td_gw_stats_t *stats);

/* Queues line (with its LF) for the authenticated session of account (non-empty: never "any
 * session", so that an order cannot reach another account) and starts writing it.
 * TD_ERR_NOT_FOUND when that account has no open session, TD_ERR_NOMEM. Loop thread only (from
 * the hook). */
td_err_t td_gw_server_send(td_gw_server_t *server, const char *account, const uint8_t *line, size_t len) TD_WUR;
/* The open session of account: its number (the value of stats.sessions when it opened, >= 1), 0
 * when that account has none - td_gw_server_send would not find it. A new number means a new
 * session of that account. Loop thread only. */
uint64_t td_gw_server_session(const td_gw_server_t *server, const char *account);

/* ---- pure helpers (no I/O), shared with tests ---- */

/* Splits a byte stream into lines of at most max_line bytes with their LF. */
typedef struct td_gw_lines {
    td_buf_t partial; /* the unfinished line so far */
    size_t max_line;
    bool skipping; /* inside an oversized line: its bytes are dropped up to its LF */
} td_gw_lines_t;

/* Receives a complete line (without its LF) or, with oversized set, the news that a line is longer
 * than max_line (line NULL, len = bytes seen of it so far; called once per such line, as soon as
 * it is known). Returns false to stop: the rest of the bytes are dropped. */
typedef bool (*td_gw_line_fn)(void *opaque, const char *line, size_t len, bool oversized);

void td_gw_lines_init(td_gw_lines_t *lines, size_t max_line);
void td_gw_lines_fini(td_gw_lines_t *lines);
/* Feeds len bytes; calls fn for every line they complete, in order. Complete lines are handed
 * straight from data when nothing is pending (no copy). TD_OK, TD_ERR_END when fn stopped, or
 * TD_ERR_NOMEM. */
td_err_t td_gw_lines_feed(td_gw_lines_t *lines, const uint8_t *data, size_t len, td_gw_line_fn fn, void *opaque) TD_WUR;

/* True when a data line with sequence number seq is a resend of what the account already has. */
static inline bool td_gw_seq_is_duplicate(uint64_t seq, uint64_t acked)
{
    return seq <= acked;
}

/* Where a data line stands in its account's sequence (DESIGN invariant 9: no gaps). acked is the
 * highest number appended; next the one the session expects: acked + 1, or past the lines the
 * session refused for their content since (a refused line takes its number: resending it would be
 * refused again). 0 when acked is UINT64_MAX: no number is left. */
typedef enum td_gw_seq_order {
    TD_GW_SEQ_NEXT,      /* seq == next: handle it */
    TD_GW_SEQ_DUPLICATE, /* seq <= acked: a resend, dropped and acknowledged again */
    TD_GW_SEQ_GAP,       /* anything else: ERR "seq: expected next", nothing appended or recorded */
} td_gw_seq_order_t;

static inline td_gw_seq_order_t td_gw_seq_check(uint64_t seq, uint64_t acked, uint64_t next)
{
    if (td_gw_seq_is_duplicate(seq, acked))
        return TD_GW_SEQ_DUPLICATE;
    return seq == next && next != 0 ? TD_GW_SEQ_NEXT : TD_GW_SEQ_GAP;
}

/* The meta key of an account's recorded sequence number, "gateway/acked/<account>". */
td_err_t td_gw_acked_key(const char *account, char *key, size_t keylen) TD_WUR;
/* The stored value: decimal ASCII. Decoding anything else is TD_ERR_CORRUPT. */
int td_gw_acked_encode(uint64_t acked, char *buf, size_t len);
td_err_t td_gw_acked_decode(const uint8_t *val, size_t len, uint64_t *acked) TD_WUR;

/* Constant-time token check: both are hashed (SHA-256) and the digests compared with
 * CRYPTO_memcmp, so neither the content nor the length of the secret leaks through timing. */
bool td_gw_token_equal(const char *given, const char *expected);

/* Failed logins per source address, in a fixed table of TD_GW_THROTTLE_SLOTS addresses, so that
 * memory stays bounded however many addresses fail. max_failures failed logins from one address
 * within window_s block it for cooldown_s; failures while blocked neither count nor extend it. A
 * full table reuses the slot of the address that is not blocked and failed longest ago; a blocked
 * address loses its slot only when every slot is blocked (the one whose block ends first). Times
 * are seconds on one clock of the caller's (the loop's). Pure: no I/O, any thread that owns it. */
#define TD_GW_THROTTLE_SLOTS 64

typedef struct td_gw_throttle_slot {
    uint32_t addr;     /* IPv4, network order */
    uint32_t failures; /* within the window that began at first */
    double first, last, blocked_until;
    bool used;
} td_gw_throttle_slot_t;

typedef struct td_gw_throttle {
    td_gw_throttle_slot_t slots[TD_GW_THROTTLE_SLOTS];
    uint32_t max_failures; /* >= 1 */
    double window_s, cooldown_s;
} td_gw_throttle_t;

void td_gw_throttle_init(td_gw_throttle_t *throttle, uint32_t max_failures, double window_s, double cooldown_s);
/* Seconds until addr's cool-down ends; 0 when it may log in now. */
double td_gw_throttle_blocked(const td_gw_throttle_t *throttle, uint32_t addr, double now);
/* Counts a failed login of addr; true when it starts addr's cool-down. */
bool td_gw_throttle_fail(td_gw_throttle_t *throttle, uint32_t addr, double now);
/* A successful login from addr: its failures are forgotten. */
void td_gw_throttle_forget(td_gw_throttle_t *throttle, uint32_t addr);

/* At most one log line per interval of one kind; the others are counted. Zeroed = nothing written
 * yet. Pure: no I/O. */
typedef struct td_gw_rate {
    double next;         /* the earliest time the next line may be written */
    uint64_t suppressed; /* held back since the last line written */
} td_gw_rate_t;

/* True when a line may be written at now: *suppressed then gets the lines held back since the one
 * before, and the count starts again. False counts the line as held back. */
bool td_gw_rate_pass(td_gw_rate_t *rate, double now, double interval_s, uint64_t *suppressed);

#endif
