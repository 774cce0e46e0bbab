/* server.c - the gateway's libev TCP server (see server.h for the contract).
 *
 * One loop, one thread. A connection goes through three states: AUTH (only a HELLO is accepted;
 * the auth timer runs), OPEN (data lines; the idle timer runs) and CLOSING (a BYE was queued: the
 * rest of the output is flushed, the write side shut down, input is read and dropped until the
 * peer closes or the linger time ends - closing with unread input would reset the connection and
 * could destroy the BYE before the peer reads it).
 *
 * Durability order: every complete line of one read burst goes into one tape batch; the account's
 * sequence number goes into the same batch; commit; only then ACK. The commit only queues the
 * burst: on the local tape, to the tape writer's thread (core/tape_writer.h), which writes it while
 * the loop reads the next burst; with an asynchronous journal (Kafka), to the journal. The ACK is
 * written when the burst is settled (journal_settle), from the writer's or the journal's wake-up
 * or a later burst; on the local tape the hook runs first. A session's start, a connection that
 * is being closed, and the server's stop wait until every committed burst is settled.
 */
#include "gateway/server.h"

#include "core/tape_writer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/address.h"
#include "core/digest.h"
#include "core/timeutil.h"
#include "gateway/clock.h"
#include "gateway/protocol.h"

#define READ_CHUNK 65536
/* bytes read per callback before committing: small enough that the tape writer overlaps the
 * reading (PERFORMANCE.md, "The tape writer thread") */
#define BURST_MAX (256u * 1024)
#define OUT_MAX (8u * 1024 * 1024) /* queued output of a peer that does not read */
#define LINGER_S 1.0
#define ACCEPT_PAUSE_S 0.2
#define WRITER_IN_FLIGHT 4 /* bursts queued to the tape writer before reading waits for the oldest */

/* ---- pure helpers ---- */

void td_gw_lines_init(td_gw_lines_t *lines, size_t max_line)
{
    td_buf_init(&lines->partial);
    lines->max_line = max_line;
    lines->skipping = false;
}

void td_gw_lines_fini(td_gw_lines_t *lines)
{
    td_buf_fini(&lines->partial);
}

td_err_t td_gw_lines_feed(td_gw_lines_t *lines, const uint8_t *data, size_t len, td_gw_line_fn fn, void *opaque)
{
    size_t pos = 0;
    while (pos < len) {
        const uint8_t *lf = memchr(data + pos, '\n', len - pos);
        size_t seg = lf ? (size_t)(lf - (data + pos)) : len - pos; /* bytes before the LF */
        if (lines->skipping) {
            if (lf)
                lines->skipping = false;
            pos += seg + (lf ? 1 : 0);
            continue;
        }
        size_t total = lines->partial.len + seg; /* the line's length so far, without LF */
        if (total + 1 > lines->max_line) {
            /* too long, whether or not its end is here: report once, drop it up to its LF */
            td_buf_reset(&lines->partial);
            lines->skipping = lf == NULL;
            pos += seg + (lf ? 1 : 0);
            if (!fn(opaque, NULL, total, true))
                return TD_ERR_END;
            continue;
        }
        if (!lf) { /* unfinished: keep it for the next feed */
            td_err_t rc = td_buf_append(&lines->partial, data + pos, seg);
            if (rc != TD_OK)
                return rc;
            break;
        }
        bool go;
        if (lines->partial.len == 0) {
            go = fn(opaque, (const char *)data + pos, seg, false);
        } else {
            td_err_t rc = td_buf_append(&lines->partial, data + pos, seg);
            if (rc != TD_OK)
                return rc;
            go = fn(opaque, (const char *)lines->partial.ptr, lines->partial.len, false);
            td_buf_reset(&lines->partial);
        }
        pos += seg + 1;
        if (!go)
            return TD_ERR_END;
    }
    return TD_OK;
}

td_err_t td_gw_acked_key(const char *account, char *key, size_t keylen)
{
    int n = snprintf(key, keylen, "gateway/acked/%s", account);
    return n > 0 && (size_t)n < keylen ? TD_OK : TD_ERR_INVALID;
}

int td_gw_acked_encode(uint64_t acked, char *buf, size_t len)
{
    return snprintf(buf, len, "%" PRIu64, acked);
}

td_err_t td_gw_acked_decode(const uint8_t *val, size_t len, uint64_t *acked)
{
    if (len == 0 || len > 20)
        return TD_ERR_CORRUPT;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (val[i] < '0' || val[i] > '9')
            return TD_ERR_CORRUPT;
        unsigned d = (unsigned)(val[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return TD_ERR_CORRUPT;
        v = v * 10 + d;
    }
    *acked = v;
    return TD_OK;
}

bool td_gw_token_equal(const char *given, const char *expected)
{
    uint8_t a[TD_SHA256_LEN], b[TD_SHA256_LEN];
    td_sha256(given, strlen(given), a);
    td_sha256(expected, strlen(expected), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

/* The slot of addr, or -1. */
static int throttle_find(const td_gw_throttle_t *throttle, uint32_t addr)
{
    for (int i = 0; i < TD_GW_THROTTLE_SLOTS; i++)
        if (throttle->slots[i].used && throttle->slots[i].addr == addr)
            return i;
    return -1;
}

void td_gw_throttle_init(td_gw_throttle_t *throttle, uint32_t max_failures, double window_s, double cooldown_s)
{
    memset(throttle, 0, sizeof *throttle);
    throttle->max_failures = max_failures ? max_failures : 1;
    throttle->window_s = window_s;
    throttle->cooldown_s = cooldown_s;
}

double td_gw_throttle_blocked(const td_gw_throttle_t *throttle, uint32_t addr, double now)
{
    int i = throttle_find(throttle, addr);
    return i >= 0 && throttle->slots[i].blocked_until > now ? throttle->slots[i].blocked_until - now : 0.;
}

/* The slot for an address not in the table: a free one, else the unblocked one that failed
 * longest ago, else the blocked one whose block ends first. */
static td_gw_throttle_slot_t *throttle_victim(td_gw_throttle_t *throttle, double now)
{
    td_gw_throttle_slot_t *idle = NULL, *blocked = NULL;
    for (size_t i = 0; i < TD_GW_THROTTLE_SLOTS; i++) {
        td_gw_throttle_slot_t *slot = &throttle->slots[i];
        if (!slot->used)
            return slot;
        if (slot->blocked_until <= now) {
            if (!idle || slot->last < idle->last)
                idle = slot;
        } else if (!blocked || slot->blocked_until < blocked->blocked_until) {
            blocked = slot;
        }
    }
    return idle ? idle : blocked;
}

bool td_gw_throttle_fail(td_gw_throttle_t *throttle, uint32_t addr, double now)
{
    int i = throttle_find(throttle, addr);
    td_gw_throttle_slot_t *slot = i >= 0 ? &throttle->slots[i] : NULL;
    if (!slot) {
        slot = throttle_victim(throttle, now);
        *slot = (td_gw_throttle_slot_t){.addr = addr, .used = true};
    }
    if (slot->blocked_until > now)
        return false;
    if (slot->failures == 0 || now - slot->first > throttle->window_s) {
        slot->failures = 0;
        slot->first = now;
    }
    slot->failures++;
    slot->last = now;
    if (slot->failures < throttle->max_failures)
        return false;
    slot->failures = 0;
    slot->blocked_until = now + throttle->cooldown_s;
    return true;
}

void td_gw_throttle_forget(td_gw_throttle_t *throttle, uint32_t addr)
{
    int i = throttle_find(throttle, addr);
    if (i >= 0)
        memset(&throttle->slots[i], 0, sizeof throttle->slots[i]);
}

bool td_gw_rate_pass(td_gw_rate_t *rate, double now, double interval_s, uint64_t *suppressed)
{
    if (now < rate->next) {
        rate->suppressed++;
        return false;
    }
    *suppressed = rate->suppressed;
    rate->suppressed = 0;
    rate->next = now + interval_s;
    return true;
}

/* ---- the server ---- */

#define THROTTLED_BYE "too many failed logins from this address; retry later"
#define LOG_INTERVAL_S 1.0 /* of the lines about connections that never logged in, per kind */

/* The lines a client that never logs in can cause, each kind rate-limited on its own. */
typedef enum log_kind { LOG_REFUSED, LOG_AUTH_FAILURE, LOG_THROTTLE, LOG_UNAUTH_CLOSE, LOG_KINDS } log_kind_t;

static const struct {
    const char *name; /* the line's first word(s) */
    td_log_level_t level;
} log_kinds[LOG_KINDS] = {
    [LOG_REFUSED] = {"refused", TD_LOG_WARN},
    [LOG_AUTH_FAILURE] = {"auth failure", TD_LOG_WARN},
    [LOG_THROTTLE] = {"auth throttle", TD_LOG_WARN},
    [LOG_UNAUTH_CLOSE] = {"close", TD_LOG_INFO},
};

typedef enum conn_state { ST_AUTH, ST_OPEN, ST_CLOSING } conn_state_t;

/* A burst queued to the tape writer: what its settling acknowledges. */
typedef struct burst_tag {
    struct burst_tag *next;
    char account[32];
    uint64_t acked; /* the account's sequence number the burst records */
    size_t events;
    double burst_start;
} burst_tag_t;

typedef struct conn {
    td_gw_server_t *server;
    struct conn *prev, *next;
    int fd;
    ev_io rio, wio;
    ev_timer timer;
    conn_state_t state;
    char peer[48];
    uint32_t addr; /* the peer's IPv4 address, network order (the login throttle's key) */
    char account[32];
    td_gw_lines_t lines;
    td_buf_t out;
    size_t out_off;
    ev_tstamp opened, last_line;
    uint64_t acked;           /* highest handled sequence number, this burst included */
    uint64_t next_seq;        /* the number the next line must carry (td_gw_seq_check); 0: none left */
    uint64_t acked_committed; /* what the tape holds, or will when the queued bursts are settled */
    uint64_t ack_pending;     /* highest seq to acknowledge after this burst's commit (0 = none) */
    td_tape_batch_t *batch;   /* this burst's, NULL until the first event */
    uint64_t journal_events;  /* this burst's events in opts.journal */
    uint64_t clock_seq;       /* the HEARTBEAT whose Clocks are being appended */
    uint64_t session;         /* ST_OPEN: stats.sessions when it opened (td_gw_server_session) */
    uint64_t lines_n, events, duplicates, errors;
    struct conn *auth_prev, *auth_next; /* AUTH: the queue of unauthenticated ones, oldest first */
    const char *bye_reason;             /* CLOSING: the BYE's text, queued after this burst's ACK */
    bool bye_queued;
    bool drop; /* close hard after this callback (a write failed) */
} conn_t;

#define ACCOUNTS_CACHED 256 /* symbols whose account the server keeps at hand */

struct td_gw_server {
    td_gw_server_opts_t opts;
    td_tape_t *tape;
    td_log_t *log;
    struct ev_loop *loop;
    int listen_fd;
    struct sockaddr_in addr;
    ev_io accept_io;
    ev_timer accept_pause;
    ev_signal sigterm, sigint;
    ev_async stop_async; /* td_gw_server_stop, from any thread */
    ev_timer hook_timer;
    ev_io hook_wakeup;
    ev_io journal_wakeup;                /* an asynchronous journal's wakeup_fd, or the tape writer's */
    td_tape_writer_t *writer;            /* the local tape's (NULL with opts.journal) */
    burst_tag_t *settled, *settled_tail; /* written bursts whose hook and ACK are due */
    ev_tstamp burst_start;
    conn_t *conns;
    unsigned n_sessions;           /* OPEN connections, counted against max_connections */
    unsigned n_unauth;             /* AUTH connections, counted against max_unauthenticated */
    conn_t *auth_head, *auth_tail; /* the AUTH connections, oldest first */
    td_gw_throttle_t throttle;     /* failed logins per address */
    td_gw_rate_t log_rate[LOG_KINDS];
    td_gw_stats_t stats;
    /* the account of each symbol seen (opts.accounts never changes while the server runs): a
     * config lookup per line cost the ingest a fifth of its rate */
    struct {
        char symbol[TD_SYMBOL_MAX + 1];
        const char *account;
    } accounts[ACCOUNTS_CACHED];
    size_t n_accounts;
    td_gw_clock_t *clock; /* NULL when heartbeats make no Clock events */
    td_buf_t clock_state; /* opts.journal: the clock's times, td_gw_clock_encode */
    td_err_t failed;      /* sticky: a tape commit failed */
    char failed_msg[512];
    uint8_t rbuf[READ_CHUNK];
    td_gw_msg_t msg;
    char err[512];
};

static void conn_free(conn_t *conn);
static void conn_flush(conn_t *conn);
static void run_hook(td_gw_server_t *server, double burst_start);
static void journal_settle(td_gw_server_t *server, bool wait);
static void journal_settle_keep(td_gw_server_t *server, size_t keep);
static conn_t *find_session(const td_gw_server_t *server, const char *account);

/* Stops the server for good with rc, its detail already in failed_msg; logged as "<what> failed". */
static void server_fail(td_gw_server_t *server, td_err_t rc, const char *what)
{
    server->failed = rc;
    td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "%s failed: %s", what, server->failed_msg);
    ev_break(server->loop, EVBREAK_ALL);
}

/* True when opts.journal commits asynchronously (server.h: settle). */
static bool journal_async(const td_gw_server_t *server)
{
    return server->opts.journal && server->opts.journal->settle;
}

/* Writes "<kind's name> <fmt...>" unless a line of that kind was written less than LOG_INTERVAL_S
 * ago (then only counts it): a flood of connections that never log in cannot fill the log. The
 * next line written says how many were held back (" suppressed=N"); log_flush_suppressed writes
 * the rest at the stop. */
static void log_limited(td_gw_server_t *server, log_kind_t kind, td_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void log_limited(td_gw_server_t *server, log_kind_t kind, td_err_t rc, const char *fmt, ...)
{
    uint64_t suppressed = 0;
    if (!td_gw_rate_pass(&server->log_rate[kind], ev_now(server->loop), LOG_INTERVAL_S, &suppressed))
        return;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (suppressed)
        td_log_write(server->log, log_kinds[kind].level, "gateway", rc, "%s %s suppressed=%" PRIu64,
                     log_kinds[kind].name, text, suppressed);
    else
        td_log_write(server->log, log_kinds[kind].level, "gateway", rc, "%s %s", log_kinds[kind].name, text);
}

/* The held-back lines' counts, at the stop: every refusal is accounted for in the log. */
static void log_flush_suppressed(td_gw_server_t *server)
{
    for (int kind = 0; kind < LOG_KINDS; kind++)
        if (server->log_rate[kind].suppressed)
            td_log_write(server->log, log_kinds[kind].level, "gateway", TD_OK,
                         "%s suppressed=%" PRIu64 " (held back since the last such line)", log_kinds[kind].name,
                         server->log_rate[kind].suppressed);
}

/* Takes conn off the count (and, in AUTH, the queue) of its state, before it changes state or is
 * freed. */
static void conn_leave_state(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    if (conn->state == ST_OPEN) {
        TD_ASSERT(server->n_sessions > 0);
        server->n_sessions--;
    } else if (conn->state == ST_AUTH) {
        TD_ASSERT(server->n_unauth > 0);
        server->n_unauth--;
        if (conn->auth_prev)
            conn->auth_prev->auth_next = conn->auth_next;
        else
            server->auth_head = conn->auth_next;
        if (conn->auth_next)
            conn->auth_next->auth_prev = conn->auth_prev;
        else
            server->auth_tail = conn->auth_prev;
        conn->auth_prev = conn->auth_next = NULL;
    }
}

/* A connection that never logged in (AUTH) gets a rate-limited line. */
static void conn_log_close(conn_t *conn, td_log_level_t level, const char *reason)
{
    if (conn->state == ST_AUTH) {
        log_limited(conn->server, LOG_UNAUTH_CLOSE, TD_OK, "peer=%s account=- reason=\"%s\"", conn->peer, reason);
        return;
    }
    td_log_write(conn->server->log, level, "gateway", TD_OK,
                 "close peer=%s account=%s reason=\"%s\" lines=%" PRIu64 " events=%" PRIu64 " duplicates=%" PRIu64
                 " errors=%" PRIu64 " acked=%" PRIu64,
                 conn->peer, conn->account[0] ? conn->account : "-", reason, conn->lines_n, conn->events,
                 conn->duplicates, conn->errors, conn->acked_committed);
}

/* Queues a line built by one of the protocol formatters; a failure to queue drops the peer. */
static void conn_queue(conn_t *conn, td_err_t rc)
{
    if (rc != TD_OK)
        conn->drop = true;
}

/* Enters CLOSING: the peer gets the rest of its output (the burst's ACK included) and BYE with
 * `reason` (a string constant), then the write side closes. A connection that never logged in
 * (AUTH) is logged by the caller, rate-limited (log_limited). */
static void conn_bye(conn_t *conn, td_log_level_t level, const char *reason)
{
    if (conn->state == ST_CLOSING)
        return;
    if (conn->state != ST_AUTH)
        conn_log_close(conn, level, reason);
    conn_leave_state(conn);
    conn->state = ST_CLOSING;
    conn->bye_reason = reason;
    ev_timer_stop(conn->server->loop, &conn->timer);
    ev_timer_set(&conn->timer, LINGER_S, 0.);
    ev_timer_start(conn->server->loop, &conn->timer);
}

/* Turns away a connection that has not logged in (AUTH) by one of the limits: counted, BYE. */
static void conn_refuse(conn_t *conn, const char *reason)
{
    conn->server->stats.refused++;
    log_limited(conn->server, LOG_REFUSED, TD_OK, "peer=%s reason=\"%s\"", conn->peer, reason);
    conn_bye(conn, TD_LOG_WARN, reason);
}

/* The sequence number of a line the parser refused before reading it (an unknown verb, a bad
 * byte after the number): the second field if it is a number, else 0. Only for the ERR reply. */
static uint64_t guess_seq(const char *line, size_t len)
{
    const char *tab = memchr(line, '\t', len);
    if (!tab)
        return 0;
    uint64_t seq = 0;
    size_t i = (size_t)(tab - line) + 1, digits = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && digits < 19; i++, digits++)
        seq = seq * 10 + (uint64_t)(line[i] - '0');
    return digits && (i == len || line[i] == '\t') ? seq : 0;
}

/* Refuses line seq with ERR. A line refused for its content takes its number when it is the next
 * one (resent, it would be refused again): the line after it is then not a gap. */
static void conn_err(conn_t *conn, uint64_t seq, const char *message)
{
    if (seq != 0 && seq == conn->next_seq)
        conn->next_seq++;
    conn->errors++;
    conn->server->stats.errors++;
    conn_queue(conn, td_gw_format_err(&conn->out, seq, message));
    td_log_write(conn->server->log, TD_LOG_WARN, "gateway", TD_ERR_PARSE,
                 "refused line peer=%s seq=%" PRIu64 " msg=\"%s\"", conn->peer, seq, message);
    if (conn->errors > conn->server->opts.max_errors)
        conn_bye(conn, TD_LOG_WARN, "too many errors");
}

static void tape_failed(td_gw_server_t *server, td_err_t rc, const char *detail);

/* HELLO reset=1 on the local tape: records 0 as the account's sequence number and waits until it
 * is written. A failure stops the server (as a failed commit). */
static td_err_t record_reset(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    char key[80], detail[256] = "";
    td_tape_batch_t *batch = NULL;
    burst_tag_t *tag = calloc(1, sizeof *tag);
    td_err_t rc = tag ? td_gw_acked_key(conn->account, key, sizeof key) : TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_tape_batch_new(server->tape, &batch, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_tape_batch_put_meta(batch, key, "0", 1, detail, sizeof detail);
    if (rc == TD_OK) {
        snprintf(tag->account, sizeof tag->account, "%s", conn->account);
        tag->burst_start = ev_time();
        rc = td_tape_writer_submit(server->writer, batch, tag, detail, sizeof detail); /* takes the batch */
        batch = NULL;
        if (rc == TD_OK)
            tag = NULL; /* the writer's until settled */
    }
    td_tape_batch_destroy(batch);
    free(tag);
    if (rc != TD_OK) {
        tape_failed(server, rc, detail);
        return rc;
    }
    journal_settle(server, true); /* its ACK 0 goes to no one: the new session is not open yet */
    return server->failed;
}

/* Reads the account's recorded sequence number (after HELLO reset=1: records 0 first); closes
 * another session of the same account. A HELLO whose number is the account's next one takes it
 * (an account's first HELLO is 1, its first data line 2); nothing is recorded for it alone. */
static td_err_t conn_start_session(conn_t *conn, const td_gw_msg_t *hello)
{
    td_gw_server_t *server = conn->server;
    /* every committed burst settled first: the recorded number is then all there is, and a session
     * being replaced gets its last ACK before its BYE */
    journal_settle(server, true);
    if (server->failed != TD_OK)
        return server->failed;
    for (conn_t *other = server->conns; other; other = other->next)
        if (other != conn && other->state == ST_OPEN && strcmp(other->account, conn->account) == 0) {
            conn_bye(other, TD_LOG_INFO, "replaced by a new session");
            conn_flush(other);
        }
    char key[80];
    td_err_t rc = td_gw_acked_key(conn->account, key, sizeof key);
    td_buf_t val;
    td_buf_init(&val);
    uint64_t acked = 0;
    if (rc == TD_OK && server->opts.journal) {
        rc = server->opts.journal->acked(server->opts.journal->opaque, conn->account, &acked);
    } else if (rc == TD_OK) {
        rc = td_tape_get_meta(server->tape, key, &val, NULL, 0);
        if (rc == TD_OK)
            rc = td_gw_acked_decode(val.ptr, val.len, &acked);
        else if (rc == TD_ERR_NOT_FOUND)
            rc = TD_OK;
    }
    td_buf_fini(&val);
    if (rc == TD_OK && hello->hello.reset) {
        td_log_write(server->log, TD_LOG_WARN, "gateway", TD_OK,
                     "sequence reset peer=%s account=%s terminal=\"%s\": acked %" PRIu64 " -> 0", conn->peer,
                     conn->account, hello->hello.terminal, acked);
        rc = record_reset(conn);
        acked = 0;
    }
    if (acked != UINT64_MAX && hello->seq == acked + 1)
        acked = hello->seq;
    conn->acked = conn->acked_committed = acked;
    conn->next_seq = acked + 1; /* 0 when no number is left */
    return rc;
}

/* Counts a failed login of conn's address; logs when it starts the address's cool-down. */
static void conn_login_failed(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    if (!td_gw_throttle_fail(&server->throttle, conn->addr, ev_now(server->loop)))
        return;
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &(struct in_addr){.s_addr = conn->addr}, ip, sizeof ip);
    log_limited(server, LOG_THROTTLE, TD_OK, "address=%s failures=%u cooldown_ms=%" PRId64, ip,
                server->throttle.max_failures, server->opts.auth_cooldown_ms);
}

/* True (with the BYE queued) when conn's address is cooling down after failed logins. */
static bool refuse_throttled(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    if (td_gw_throttle_blocked(&server->throttle, conn->addr, ev_now(server->loop)) <= 0.)
        return false;
    server->stats.throttled++;
    conn_refuse(conn, THROTTLED_BYE);
    return true;
}

static void handle_hello(conn_t *conn, const char *line, size_t len)
{
    td_gw_server_t *server = conn->server;
    td_gw_msg_t *msg = &server->msg;
    if (refuse_throttled(conn)) /* blocked since this connection was accepted: no token is compared */
        return;
    td_err_t rc = td_gw_parse_line(line, len, msg, server->err, sizeof server->err);
    if (rc == TD_OK && msg->verb != TD_GW_HELLO) {
        rc = TD_ERR_PARSE;
        snprintf(server->err, sizeof server->err, "verb: expected HELLO first");
    }
    if (rc == TD_OK && !td_gw_token_equal(msg->hello.token, server->opts.token)) {
        rc = TD_ERR_PARSE;
        snprintf(server->err, sizeof server->err, "token: refused");
    }
    if (rc != TD_OK) {
        server->stats.auth_failures++;
        conn->errors++;
        log_limited(server, LOG_AUTH_FAILURE, rc, "peer=%s msg=\"%s\"", conn->peer, server->err);
        conn_queue(conn, td_gw_format_err(&conn->out, msg->seq, server->err));
        conn_bye(conn, TD_LOG_WARN, "authentication failed");
        conn_login_failed(conn);
        return;
    }
    td_gw_throttle_forget(&server->throttle, conn->addr);
    /* max_connections counts sessions, not connections: a session that this HELLO replaces (same
     * account) makes room for it */
    unsigned others = server->n_sessions - (find_session(server, msg->hello.account) ? 1u : 0u);
    if (others >= server->opts.max_connections) {
        conn_refuse(conn, "too many connections");
        return;
    }
    memcpy(conn->account, msg->hello.account, sizeof conn->account);
    if (msg->hello.reset && server->opts.journal) {
        /* the journal's consumers drop every number at or below the highest they have seen */
        conn->errors++;
        td_log_write(server->log, TD_LOG_WARN, "gateway", TD_ERR_PARSE,
                     "sequence reset refused peer=%s account=%s terminal=\"%s\": not on the local tape", conn->peer,
                     msg->hello.account, msg->hello.terminal);
        conn_queue(conn, td_gw_format_err(&conn->out, msg->seq,
                                          "reset: expected a gateway on the local tape (journal.mode: local), found "
                                          "the Kafka journal, whose consumers drop numbers they have seen"));
        conn_bye(conn, TD_LOG_WARN, "sequence reset refused");
        return;
    }
    rc = conn_start_session(conn, msg);
    if (rc != TD_OK) {
        td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "cannot read the sequence of account %s", conn->account);
        conn_bye(conn, TD_LOG_ERROR, "internal error: cannot read the account's sequence number");
        return;
    }
    conn_leave_state(conn);
    conn->state = ST_OPEN;
    server->n_sessions++;
    server->stats.sessions++;
    conn->session = server->stats.sessions;
    td_log_write(server->log, TD_LOG_INFO, "gateway", TD_OK,
                 "session peer=%s account=%s terminal=\"%s\" acked=%" PRIu64, conn->peer, conn->account,
                 msg->hello.terminal, conn->acked);
    /* orders waiting for a session go out BEFORE the WELCOME: the EA has them before it resumes */
    uint64_t acked = conn->acked;
    run_hook(server, 0);
    conn_queue(conn, td_gw_format_welcome(&conn->out, acked));
}

/* One event into opts.journal: a line it refuses gets ERR, a failure of the journal drops the peer
 * (nothing of the burst is acknowledged). */
static td_err_t journal_append(conn_t *conn, uint64_t seq, td_event_t *ev)
{
    td_gw_server_t *server = conn->server;
    char detail[256] = "";
    td_err_t rc =
        server->opts.journal->append(server->opts.journal->opaque, conn->account, seq, ev, detail, sizeof detail);
    if (rc == TD_ERR_INVALID) {
        conn_err(conn, seq, detail);
    } else if (rc != TD_OK) {
        td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "cannot append to the journal peer=%s: %s", conn->peer,
                     detail);
        conn->drop = true;
    } else {
        conn->journal_events++;
        conn->events++;
    }
    return rc;
}

/* td_gw_clock_emit_fn of the local tape: into the burst's batch. */
static td_err_t emit_tape(void *opaque, td_event_t *ev)
{
    conn_t *conn = opaque;
    td_err_t rc = TD_OK;
    if (!conn->batch)
        rc = td_tape_batch_new(conn->server->tape, &conn->batch, NULL, 0);
    return rc == TD_OK ? td_tape_batch_append(conn->batch, TD_STREAM_INPUT, ev, NULL, 0) : rc;
}

/* td_gw_clock_emit_fn of opts.journal: produced with the heartbeat's account and sequence number
 * (a resent heartbeat makes the same Clocks, which the consumers drop as resends). */
static td_err_t emit_journal(void *opaque, td_event_t *ev)
{
    conn_t *conn = opaque;
    return journal_append(conn, conn->clock_seq, ev);
}

/* True (with the ERR sent and counted) when the line's time lies more than max_ahead_ms ahead of
 * the gateway's wall clock (the loop's time, read once per iteration). */
static bool refuse_ahead(conn_t *conn, const td_gw_msg_t *msg)
{
    td_gw_server_t *server = conn->server;
    int64_t now_ms = (int64_t)(ev_now(server->loop) * 1000.0);
    if (server->opts.max_ahead_ms <= 0 || msg->time_ms <= now_ms + server->opts.max_ahead_ms)
        return false;
    char now[32], found[32], message[160];
    td_time_format_iso(now_ms, now);
    td_time_format_iso(msg->time_ms, found);
    snprintf(message, sizeof message,
             "time: expected at most %" PRId64 " ms ahead of the gateway's clock (%s), found %s",
             server->opts.max_ahead_ms, now, found);
    server->stats.ahead++;
    conn_err(conn, msg->seq, message);
    return true;
}

/* ERR for a line whose number is not the next one: not appended, the number not taken, nothing
 * recorded; the EA resends from the expected number (a lost line) or continues above it. */
static void refuse_gap(conn_t *conn, uint64_t seq)
{
    char message[200];
    if (conn->next_seq == 0)
        snprintf(message, sizeof message,
                 "seq: expected none, the account's sequence is at its end (%" PRIu64
                 "); an operator resets it (HELLO reset=1), found %" PRIu64,
                 conn->acked, seq);
    else
        snprintf(message, sizeof message, "seq: expected %" PRIu64 ", found %" PRIu64, conn->next_seq, seq);
    conn->server->stats.gaps++;
    conn_err(conn, seq, message);
}

/* True (with the ERR sent and counted) when the line's symbol is traded by another account than
 * the session's (opts.accounts): its ticks would misfile another account's quotes, its reports
 * another account's fills. */
/* The account that trades symbol ("" for none), from the cache or the config. */
static const char *symbol_account(td_gw_server_t *server, const char *symbol)
{
    if (!server->opts.accounts)
        return "";
    for (size_t i = 0; i < server->n_accounts; i++)
        if (strcmp(server->accounts[i].symbol, symbol) == 0)
            return server->accounts[i].account;
    const char *account = td_config_symbol_account(server->opts.accounts, symbol);
    if (server->n_accounts < ACCOUNTS_CACHED) { /* beyond it (never in practice): looked up each time */
        snprintf(server->accounts[server->n_accounts].symbol, sizeof server->accounts[0].symbol, "%s", symbol);
        server->accounts[server->n_accounts++].account = account;
    }
    return account;
}

static bool refuse_foreign(conn_t *conn, const td_gw_msg_t *msg)
{
    td_gw_server_t *server = conn->server;
    const char *account = symbol_account(server, msg->ev.symbol);
    if (!*account || strcmp(account, conn->account) == 0)
        return false;
    char message[160];
    snprintf(message, sizeof message, "symbol: %s is traded by account %s, not by this session's account %s",
             msg->ev.symbol, account, conn->account);
    server->stats.foreign++;
    conn_err(conn, msg->seq, message);
    return true;
}

static void handle_data(conn_t *conn, const char *line, size_t len)
{
    td_gw_server_t *server = conn->server;
    td_gw_msg_t *msg = &server->msg;
    td_err_t rc = td_gw_parse_line(line, len, msg, server->err, sizeof server->err);
    if (rc != TD_OK) {
        conn_err(conn, msg->seq ? msg->seq : guess_seq(line, len), server->err);
        return;
    }
    if (msg->verb == TD_GW_HELLO) {
        conn_err(conn, msg->seq, "HELLO: expected once per connection");
        return;
    }
    td_gw_seq_order_t order = td_gw_seq_check(msg->seq, conn->acked, conn->next_seq);
    if (order == TD_GW_SEQ_DUPLICATE) {
        conn->duplicates++;
        server->stats.duplicates++;
        if (msg->seq > conn->ack_pending)
            conn->ack_pending = msg->seq;
        return;
    }
    if (order == TD_GW_SEQ_GAP) {
        refuse_gap(conn, msg->seq);
        return;
    }
    if (refuse_ahead(conn, msg))
        return;
    switch (msg->verb) {
    case TD_GW_TICK:
    case TD_GW_SPEC:
    case TD_GW_EXEC:
        if (refuse_foreign(conn, msg))
            return;
        if (server->opts.journal) {
            rc = journal_append(conn, msg->seq, &msg->ev);
            if (rc == TD_OK && server->clock)
                rc = td_gw_clock_seen(server->clock, msg->ev.symbol, msg->ev.time_ms);
            if (rc == TD_ERR_NOMEM)
                conn->drop = true;
            if (rc != TD_OK)
                return;
            break;
        }
        char detail[256];
        detail[0] = '\0';
        if (!conn->batch)
            rc = td_tape_batch_new(server->tape, &conn->batch, detail, sizeof detail);
        if (rc == TD_OK)
            rc = td_tape_batch_append(conn->batch, TD_STREAM_INPUT, &msg->ev, detail, sizeof detail);
        if (rc == TD_OK && server->clock)
            rc = td_gw_clock_seen(server->clock, msg->ev.symbol, msg->ev.time_ms);
        if (rc == TD_ERR_INVALID) { /* the tape's own checks (time range): a bad line */
            conn_err(conn, msg->seq, detail);
            return;
        }
        if (rc != TD_OK) {
            td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "cannot append to the tape batch peer=%s",
                         conn->peer);
            conn->drop = true;
            return;
        }
        conn->events++;
        break;
    case TD_GW_ACCOUNT:
        td_log_write(server->log, TD_LOG_DEBUG, "gateway", TD_OK, "account %s time=%" PRId64 " currency=%s",
                     conn->account, msg->time_ms, msg->account.currency);
        break;
    default: /* HEARTBEAT: time passes for every symbol (gateway/clock.h) */
        conn->clock_seq = msg->seq;
        if (server->clock) {
            uint64_t clocks = 0; /* journal_append counts its own */
            rc = td_gw_clock_heartbeat(server->clock, msg->time_ms, server->opts.journal ? emit_journal : emit_tape,
                                       conn, &clocks);
            if (!server->opts.journal)
                conn->events += clocks;
        }
        if (rc == TD_ERR_INVALID && server->opts.journal)
            return; /* the journal refused the Clock: the heartbeat got its ERR */
        if (rc != TD_OK) {
            td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "cannot append Clock events peer=%s", conn->peer);
            conn->drop = true;
            return;
        }
        break;
    }
    conn->acked = msg->seq;
    conn->ack_pending = msg->seq;
    conn->next_seq = msg->seq + 1;
}

static bool on_line(void *opaque, const char *line, size_t len, bool oversized)
{
    conn_t *conn = opaque;
    td_gw_server_t *server = conn->server;
    if (conn->state == ST_CLOSING)
        return false;
    conn->last_line = ev_now(server->loop);
    if (oversized) {
        char msg[96];
        snprintf(msg, sizeof msg, "line: expected at most %zu bytes, found %zu or more", server->opts.max_line - 1,
                 len);
        if (conn->state == ST_AUTH) {
            server->stats.auth_failures++;
            log_limited(server, LOG_AUTH_FAILURE, TD_ERR_PARSE, "peer=%s msg=\"%s\"", conn->peer, msg);
            conn_queue(conn, td_gw_format_err(&conn->out, 0, msg));
            conn_bye(conn, TD_LOG_WARN, "authentication failed");
            conn_login_failed(conn);
        } else {
            conn_err(conn, 0, msg);
        }
    } else if (conn->state == ST_AUTH) {
        handle_hello(conn, line, len);
    } else {
        conn->lines_n++;
        server->stats.lines++;
        handle_data(conn, line, len);
    }
    return conn->state != ST_CLOSING && !conn->drop;
}

/* The clock's times as the journal (or the tape) last committed them. */
static td_err_t clock_reload(td_gw_server_t *server)
{
    if (!server->opts.journal)
        return td_gw_clock_load(server->clock, server->tape);
    td_err_t rc = server->opts.journal->clock_state(server->opts.journal->opaque, &server->clock_state);
    if (rc == TD_ERR_NOT_FOUND) {
        td_buf_reset(&server->clock_state);
        rc = TD_OK;
    }
    return rc == TD_OK ? td_gw_clock_decode(server->clock, server->clock_state.ptr, server->clock_state.len) : rc;
}

/* A failed tape commit stops the server (the tape's failure is sticky); detail is the tape's. */
static void tape_failed(td_gw_server_t *server, td_err_t rc, const char *detail)
{
    server->failed = rc;
    snprintf(server->failed_msg, sizeof server->failed_msg, "tape commit failed: %s", detail);
    td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "tape commit failed: %s", detail);
    ev_break(server->loop, EVBREAK_ALL);
}

/* Queues the burst (conn->batch, with the account's sequence number) to the tape writer; with more
 * than WRITER_IN_FLIGHT queued, waits for the oldest. A failure stops the server. */
static td_err_t writer_submit(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    char key[80], val[24];
    char detail[256] = "";
    td_err_t rc = TD_OK;
    burst_tag_t *tag = calloc(1, sizeof *tag);
    if (!tag)
        rc = TD_ERR_NOMEM;
    if (rc == TD_OK && !conn->batch)
        rc = td_tape_batch_new(server->tape, &conn->batch, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_gw_acked_key(conn->account, key, sizeof key);
    if (rc == TD_OK) {
        int n = td_gw_acked_encode(conn->acked, val, sizeof val);
        rc = td_tape_batch_put_meta(conn->batch, key, val, (size_t)n, detail, sizeof detail);
    }
    if (rc == TD_OK) {
        snprintf(tag->account, sizeof tag->account, "%s", conn->account);
        tag->acked = conn->acked;
        tag->events = td_tape_batch_events(conn->batch);
        tag->burst_start = server->burst_start;
        rc = td_tape_writer_submit(server->writer, conn->batch, tag, detail,
                                   sizeof detail); /* takes the batch either way */
        conn->batch = NULL;
    }
    if (rc == TD_OK) {
        journal_settle_keep(server, WRITER_IN_FLIGHT);
        return server->failed;
    }
    free(tag);
    td_tape_batch_destroy(conn->batch);
    conn->batch = NULL;
    conn->acked = conn->acked_committed;
    conn->ack_pending = 0;
    tape_failed(server, rc, detail);
    return rc;
}

/* Commits the burst's events with the account's sequence number, then queues the ACK. */
static void conn_end_burst(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    td_err_t rc = TD_OK;
    bool journal_committed = false;              /* to opts.journal: its hook runs here (the tape writer's at settle) */
    if (conn->drop || server->failed != TD_OK) { /* nothing of this burst is on the tape: no ACK */
        if ((conn->batch || conn->journal_events) && server->clock && server->failed == TD_OK) {
            journal_settle(server, true); /* the journal's recorded clock is then the last commit's */
            if (server->failed == TD_OK && clock_reload(server) != TD_OK) /* forget the burst's times */
                server->clock = NULL; /* never reached with a healthy tape; no Clocks rather than wrong ones */
        }
        td_tape_batch_destroy(conn->batch);
        conn->batch = NULL;
        conn->acked = conn->acked_committed;
        conn->next_seq = conn->acked + 1;
        conn->ack_pending = 0;
        conn->journal_events = 0;
        return;
    }
    /* an asynchronous journal's ACK also waits for the bursts before: a resend's too */
    if (server->opts.journal &&
        (conn->acked != conn->acked_committed || (journal_async(server) && conn->ack_pending))) {
        const td_buf_t *clock_state = NULL;
        if (server->clock) {
            rc = td_gw_clock_encode(server->clock, &server->clock_state);
            clock_state = &server->clock_state;
        }
        if (rc == TD_OK)
            rc = server->opts.journal->commit(server->opts.journal->opaque, conn->account, conn->acked, clock_state,
                                              server->failed_msg, sizeof server->failed_msg);
        if (rc == TD_OK) {
            journal_committed = true;
            server->stats.commits++;
            server->stats.events += conn->journal_events;
            conn->acked_committed = conn->acked;
            if (journal_async(server))
                conn->ack_pending = 0; /* journal_settle writes it */
        } else {
            server_fail(server, rc, "journal commit");
            conn->acked = conn->acked_committed;
            conn->ack_pending = 0;
            conn->journal_events = 0;
            return;
        }
    } else if (server->writer && (conn->acked != conn->acked_committed || conn->ack_pending)) {
        /* a resend's ACK too waits for the bursts queued before it */
        rc = writer_submit(conn);
        if (rc != TD_OK)
            return;
        conn->acked_committed = conn->acked;
        conn->ack_pending = 0; /* writer_settle writes it */
    }
    td_tape_batch_destroy(conn->batch); /* only duplicates/heartbeats: an empty batch */
    conn->batch = NULL;
    conn->journal_events = 0;
    if (journal_committed)
        run_hook(server, server->burst_start);
    if (conn->ack_pending) {
        conn_queue(conn, td_gw_format_ack(&conn->out, conn->ack_pending));
        conn->ack_pending = 0;
    }
    /* on the local tape a connection being closed gets its last ACK ahead of its BYE */
    journal_settle(server, server->writer && conn->state == ST_CLOSING);
}

/* A settled account's ACK, to its open (or closing, BYE not yet written) sessions. */
static void on_durable(void *ctx, const char *account, uint64_t acked)
{
    td_gw_server_t *server = ctx;
    for (conn_t *conn = server->conns; conn; conn = conn->next) {
        if (conn->state == ST_AUTH || conn->drop || conn->bye_queued || strcmp(conn->account, account) != 0)
            continue;
        conn_queue(conn, td_gw_format_ack(&conn->out, acked));
        /* a failed write marks the connection dropped; its next event frees it (as
         * td_gw_server_send) */
        conn_flush(conn);
    }
}

/* td_tape_settled_fn: a written burst waits in server->settled for its hook and ACK. */
static void on_settled(void *ctx, void *opaque, td_err_t rc)
{
    td_gw_server_t *server = ctx;
    burst_tag_t *tag = opaque;
    if (rc != TD_OK) {
        free(tag); /* the settle's caller stops the server */
        return;
    }
    server->stats.commits++;
    server->stats.events += tag->events;
    if (server->settled_tail)
        server->settled_tail->next = tag;
    else
        server->settled = tag;
    server->settled_tail = tag;
}

/* Settles the tape writer's written bursts (with more than keep queued, waits for the oldest), runs
 * the hook over them, then ACKs them: the hook (processor, router) runs BEFORE the ACK, so an ORDER
 * caused by a burst reaches the EA ahead of the burst's ACK, and an EA that waits for an ACK has
 * every order it caused. */
static void writer_settle(td_gw_server_t *server, size_t keep)
{
    char detail[256] = "";
    td_err_t rc = td_tape_writer_settle(server->writer, keep, on_settled, server, detail, sizeof detail);
    if (rc != TD_OK && server->failed == TD_OK)
        tape_failed(server, rc, detail);
    if (server->settled) {
        double first_start = server->settled->burst_start; /* the latency runs from the earliest */
        run_hook(server, first_start);
    }
    while (server->settled) {
        burst_tag_t *tag = server->settled;
        server->settled = tag->next;
        if (server->failed == TD_OK)
            on_durable(server, tag->account, tag->acked);
        free(tag);
    }
    server->settled_tail = NULL;
}

static void journal_settle(td_gw_server_t *server, bool wait)
{
    journal_settle_keep(server, wait ? 0 : SIZE_MAX);
}

/* Settles the tape writer's or an asynchronous journal's committed bursts (no-op otherwise); keep is
 * td_tape_writer_settle's (a journal only tells waiting for all, 0, from not waiting). A failure
 * stops the loop like a failed commit. */
static void journal_settle_keep(td_gw_server_t *server, size_t keep)
{
    if (server->failed != TD_OK)
        return;
    if (server->writer) {
        writer_settle(server, keep);
        return;
    }
    if (!journal_async(server))
        return;
    bool wait = keep == 0;
    td_err_t rc = server->opts.journal->settle(server->opts.journal->opaque, wait, on_durable, server,
                                               server->failed_msg, sizeof server->failed_msg);
    if (rc != TD_OK)
        server_fail(server, rc, "journal commit");
}

static void on_journal_wakeup(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    journal_settle(w->data, false);
}

static void conn_flush(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    if (conn->state == ST_CLOSING && !conn->bye_queued) {
        conn->bye_queued = true;
        conn_queue(conn, td_gw_format_bye(&conn->out, conn->bye_reason));
    }
    while (conn->out_off < conn->out.len) {
        ssize_t n = send(conn->fd, conn->out.ptr + conn->out_off, conn->out.len - conn->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            conn->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (conn->out.len - conn->out_off > OUT_MAX) {
                if (conn->state != ST_CLOSING)
                    conn_log_close(conn, TD_LOG_WARN, "the peer does not read its acknowledgements");
                conn->drop = true;
            } else {
                ev_io_start(server->loop, &conn->wio);
            }
            return;
        }
        if (conn->state != ST_CLOSING)
            conn_log_close(conn, TD_LOG_INFO, n == 0 ? "send returned 0" : strerror(errno));
        conn->drop = true;
        return;
    }
    td_buf_reset(&conn->out);
    conn->out_off = 0;
    ev_io_stop(server->loop, &conn->wio);
    if (conn->state == ST_CLOSING)
        shutdown(conn->fd, SHUT_WR);
}

static void conn_free(conn_t *conn)
{
    td_gw_server_t *server = conn->server;
    ev_io_stop(server->loop, &conn->rio);
    ev_io_stop(server->loop, &conn->wio);
    ev_timer_stop(server->loop, &conn->timer);
    conn_leave_state(conn);
    close(conn->fd);
    td_tape_batch_destroy(conn->batch);
    td_gw_lines_fini(&conn->lines);
    td_buf_fini(&conn->out);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        server->conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    free(conn);
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    conn_t *conn = w->data;
    td_gw_server_t *server = conn->server;
    bool eof = false;
    const char *why = "peer closed";
    size_t burst = 0;
    server->burst_start = ev_time();
    while (burst < BURST_MAX && !conn->drop) {
        ssize_t n = read(conn->fd, server->rbuf, sizeof server->rbuf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            eof = true;
            if (n < 0)
                why = strerror(errno);
            break;
        }
        burst += (size_t)n;
        if (conn->state == ST_CLOSING)
            continue; /* draining */
        td_err_t rc = td_gw_lines_feed(&conn->lines, server->rbuf, (size_t)n, on_line, conn);
        if (rc == TD_ERR_NOMEM) {
            td_log_write(server->log, TD_LOG_ERROR, "gateway", rc, "out of memory peer=%s", conn->peer);
            conn->drop = true;
        }
    }
    if (conn->state != ST_AUTH)
        conn_end_burst(conn);
    if (!conn->drop)
        conn_flush(conn);
    if (eof && conn->state != ST_CLOSING)
        conn_log_close(conn, TD_LOG_INFO, why);
    if (eof || conn->drop)
        conn_free(conn);
}

/* Runs the owner's hook; a failure stops the loop like a failed commit. */
static void run_hook(td_gw_server_t *server, double burst_start)
{
    if (!server->opts.hook || server->failed != TD_OK)
        return;
    char detail[512] = "";
    td_err_t rc = server->opts.hook(server->opts.hook_opaque, burst_start, detail, sizeof detail);
    if (rc != TD_OK) {
        snprintf(server->failed_msg, sizeof server->failed_msg, "%s", detail[0] ? detail : td_err_name(rc));
        server_fail(server, rc, "hook");
    }
}

static void on_hook_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    run_hook(w->data, 0);
}

static void on_hook_wakeup(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    char drain[64];
    while (read(w->fd, drain, sizeof drain) > 0)
        ;
    run_hook(w->data, 0);
}

/* The open session of account (one at most: a new HELLO replaces the older session); NULL when
 * none. An empty or NULL account finds nothing. */
static conn_t *find_session(const td_gw_server_t *server, const char *account)
{
    if (!account || !*account)
        return NULL;
    for (conn_t *conn = server->conns; conn; conn = conn->next)
        if (conn->state == ST_OPEN && !conn->drop && strcmp(conn->account, account) == 0)
            return conn;
    return NULL;
}

uint64_t td_gw_server_session(const td_gw_server_t *server, const char *account)
{
    const conn_t *conn = find_session(server, account);
    return conn ? conn->session : 0;
}

td_err_t td_gw_server_send(td_gw_server_t *server, const char *account, const uint8_t *line, size_t len)
{
    conn_t *found = find_session(server, account);
    if (!found)
        return TD_ERR_NOT_FOUND;
    td_err_t rc = td_buf_append(&found->out, line, len);
    if (rc != TD_OK)
        return rc;
    conn_flush(found);
    /* a failed write marks the connection dropped; its next read event frees it (never here: the
     * hook may run inside that connection's own read callback) */
    return found->drop ? TD_ERR_NOT_FOUND : TD_OK;
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    conn_t *conn = w->data;
    conn_flush(conn);
    if (conn->drop)
        conn_free(conn);
}

/* One timer per connection: the auth deadline, then the idle deadline, then the linger time. */
static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    conn_t *conn = w->data;
    td_gw_server_t *server = conn->server;
    ev_tstamp now = ev_now(loop);
    if (conn->state == ST_CLOSING) {
        conn_free(conn);
        return;
    }
    ev_tstamp deadline = conn->state == ST_AUTH ? conn->opened + (double)server->opts.auth_timeout_ms / 1000.
                                                : conn->last_line + (double)server->opts.idle_timeout_ms / 1000.;
    if (now < deadline) {
        ev_timer_set(w, deadline - now, 0.);
        ev_timer_start(loop, w);
        return;
    }
    if (conn->state == ST_AUTH) {
        server->stats.auth_failures++;
        log_limited(server, LOG_AUTH_FAILURE, TD_OK, "peer=%s msg=\"no HELLO within %" PRId64 " ms\"", conn->peer,
                    server->opts.auth_timeout_ms);
        conn_bye(conn, TD_LOG_WARN, "no HELLO in time");
    } else {
        conn_bye(conn, TD_LOG_WARN, "idle timeout");
    }
    conn_flush(conn);
    if (conn->drop)
        conn_free(conn);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    td_gw_server_t *server = w->data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(server->listen_fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* out of descriptors or memory: pause accepting instead of spinning */
                td_log_write(server->log, TD_LOG_WARN, "gateway", TD_ERR_IO, "accept: %s", strerror(errno));
                ev_io_stop(loop, &server->accept_io);
                ev_timer_set(&server->accept_pause, ACCEPT_PAUSE_S, 0.);
                ev_timer_start(loop, &server->accept_pause);
            }
            return;
        }
        conn_t *conn = calloc(1, sizeof *conn);
        if (!conn) {
            close(fd);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn->server = server;
        conn->fd = fd;
        conn->addr = peer.sin_addr.s_addr;
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        snprintf(conn->peer, sizeof conn->peer, "%s:%u", ip, (unsigned)ntohs(peer.sin_port));
        td_gw_lines_init(&conn->lines, server->opts.max_line);
        td_buf_init(&conn->out);
        conn->opened = conn->last_line = ev_now(loop);
        conn->next = server->conns;
        if (server->conns)
            server->conns->prev = conn;
        server->conns = conn;
        ev_io_init(&conn->rio, on_read, fd, EV_READ);
        ev_io_init(&conn->wio, on_write, fd, EV_WRITE);
        ev_timer_init(&conn->timer, on_timer, (double)server->opts.auth_timeout_ms / 1000., 0.);
        conn->rio.data = conn->wio.data = conn->timer.data = conn;
        ev_io_start(loop, &conn->rio);
        ev_timer_start(loop, &conn->timer);
        server->stats.connections++;
        /* an address cooling down after failed logins takes no one's place: BYE at once */
        bool throttled = td_gw_throttle_blocked(&server->throttle, conn->addr, ev_now(loop)) > 0.;
        /* the unauthenticated budget is full: the oldest one goes, so that a client that says
         * HELLO at once always gets in (refusing the newcomer would let idle sockets keep the EA
         * out for good) */
        if (!throttled && server->n_unauth >= server->opts.max_unauthenticated) {
            conn_t *oldest = server->auth_head;
            conn_refuse(oldest, "too many connections awaiting HELLO");
            conn_flush(oldest);
            if (oldest->drop)
                conn_free(oldest);
        }
        conn->auth_prev = server->auth_tail;
        if (server->auth_tail)
            server->auth_tail->auth_next = conn;
        else
            server->auth_head = conn;
        server->auth_tail = conn;
        server->n_unauth++;
        td_log_write(server->log, TD_LOG_DEBUG, "gateway", TD_OK, "connect peer=%s sessions=%u awaiting_hello=%u",
                     conn->peer, server->n_sessions, server->n_unauth);
        if (throttled)
            refuse_throttled(conn);
        conn_flush(conn);
        if (conn->drop)
            conn_free(conn);
    }
}

static void on_accept_pause(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    td_gw_server_t *server = w->data;
    ev_io_start(loop, &server->accept_io);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    td_gw_server_t *server = w->data;
    td_log_write(server->log, TD_LOG_INFO, "gateway", TD_OK, "signal %d: stopping", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

static void on_stop_async(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    td_gw_server_t *server = w->data;
    td_log_write(server->log, TD_LOG_INFO, "gateway", TD_OK, "stop requested: stopping");
    ev_break(loop, EVBREAK_ALL);
}

td_err_t td_gw_server_new(const td_gw_server_opts_t *opts, td_tape_t *tape, td_log_t *log, td_gw_server_t **out,
                          char *errbuf, size_t errlen)
{
    *out = NULL;
    if (!opts->token || !*opts->token)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "gateway.token: expected a secret, found nothing");
    if (opts->max_line < 64 || opts->max_line > TD_GW_LINE_MAX || opts->max_connections == 0 ||
        opts->max_unauthenticated == 0)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "gateway: max_line, max_connections or max_unauthenticated out of range");
    td_gw_server_t *server = calloc(1, sizeof *server);
    if (!server)
        return TD_ERR_NOMEM;
    server->opts = *opts;
    server->tape = tape;
    td_buf_init(&server->clock_state);
    server->log = log;
    server->listen_fd = -1;
    td_gw_throttle_init(&server->throttle, opts->auth_max_failures, (double)opts->auth_failure_window_ms / 1000.,
                        (double)opts->auth_cooldown_ms / 1000.);
    td_err_t rc = td_address_parse(opts->listen, &server->addr, errbuf, errlen);
    if (rc == TD_OK) {
        server->loop = ev_loop_new(EVFLAG_AUTO);
        if (!server->loop)
            rc = td_err_set(errbuf, errlen, TD_ERR_IO, "gateway: cannot create the event loop");
    }
    if (rc == TD_OK) {
        server->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        socklen_t alen = sizeof server->addr;
        if (server->listen_fd < 0 || setsockopt(server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
            bind(server->listen_fd, (struct sockaddr *)&server->addr, sizeof server->addr) != 0 ||
            listen(server->listen_fd, 128) != 0 ||
            getsockname(server->listen_fd, (struct sockaddr *)&server->addr, &alen) != 0)
            rc = td_err_set(errbuf, errlen, TD_ERR_IO, "gateway: cannot listen on %s: %s", opts->listen,
                            strerror(errno));
    }
    if (rc == TD_OK && opts->clock_timeframe_ms > 0) {
        rc = td_gw_clock_new(opts->clock_timeframe_ms, opts->clock_align_minutes, &server->clock);
        if (rc == TD_OK)
            rc = clock_reload(server);
        if (rc != TD_OK)
            td_err_set(errbuf, errlen, rc, "gateway: cannot read the input streams' last times (%s)",
                       opts->journal ? "the journal's gateway/clock record" : "the tape");
    }
    if (rc == TD_OK && !opts->journal)
        rc = td_tape_writer_new(tape, &server->writer, errbuf, errlen);
    if (rc != TD_OK) {
        td_gw_server_destroy(server);
        return rc;
    }
    ev_io_init(&server->accept_io, on_accept, server->listen_fd, EV_READ);
    ev_timer_init(&server->accept_pause, on_accept_pause, ACCEPT_PAUSE_S, 0.);
    ev_signal_init(&server->sigterm, on_signal, SIGTERM);
    ev_signal_init(&server->sigint, on_signal, SIGINT);
    ev_timer_init(&server->hook_timer, on_hook_timer, 0.,
                  opts->hook_interval_ms > 0 ? (double)opts->hook_interval_ms / 1000. : 1.);
    server->accept_io.data = server->accept_pause.data = server->sigterm.data = server->sigint.data = server;
    server->hook_timer.data = server;
    ev_io_init(&server->hook_wakeup, on_hook_wakeup, opts->hook_wakeup_fd, EV_READ);
    server->hook_wakeup.data = server;
    ev_io_init(&server->journal_wakeup, on_journal_wakeup,
               server->writer  ? td_tape_writer_fd(server->writer)
               : opts->journal ? opts->journal->wakeup_fd
                               : 0,
               EV_READ);
    server->journal_wakeup.data = server;
    /* started here, not in run: a stop asked for before the loop runs is kept pending for it */
    ev_async_init(&server->stop_async, on_stop_async);
    server->stop_async.data = server;
    ev_async_start(server->loop, &server->stop_async);
    *out = server;
    return TD_OK;
}

void td_gw_server_address(const td_gw_server_t *server, char *buf, size_t len)
{
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &server->addr.sin_addr, ip, sizeof ip);
    snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(server->addr.sin_port));
}

td_err_t td_gw_server_run(td_gw_server_t *server, char *errbuf, size_t errlen)
{
    struct ev_loop *loop = server->loop;
    ev_io_start(loop, &server->accept_io);
    ev_signal_start(loop, &server->sigterm);
    ev_signal_start(loop, &server->sigint);
    if (server->opts.hook)
        ev_timer_again(loop, &server->hook_timer);
    if (server->opts.hook && server->opts.hook_wakeup_fd > 0)
        ev_io_start(loop, &server->hook_wakeup);
    if (server->writer || (journal_async(server) && server->opts.journal->wakeup_fd > 0))
        ev_io_start(loop, &server->journal_wakeup);
    ev_run(loop, 0);
    ev_timer_stop(loop, &server->hook_timer);
    ev_io_stop(loop, &server->hook_wakeup);
    ev_io_stop(loop, &server->journal_wakeup);
    /* stopped: no more connections; every burst was committed in its own callback, and the tape
     * writer's or an asynchronous journal's are settled now, so their ACKs go out before the BYEs */
    journal_settle(server, true);
    ev_io_stop(loop, &server->accept_io);
    ev_timer_stop(loop, &server->accept_pause);
    ev_signal_stop(loop, &server->sigterm);
    ev_signal_stop(loop, &server->sigint);
    close(server->listen_fd);
    server->listen_fd = -1;
    log_flush_suppressed(server);
    const char *reason = server->failed != TD_OK ? "storage failure" : "shutting down";
    while (server->conns) {
        conn_t *conn = server->conns;
        conn_bye(conn, TD_LOG_INFO, reason);
        conn_flush(conn);
        conn_free(conn);
    }
    if (server->failed != TD_OK)
        return td_err_set(errbuf, errlen, server->failed, "%s", server->failed_msg);
    return TD_OK;
}

void td_gw_server_stats(const td_gw_server_t *server, td_gw_stats_t *stats)
{
    *stats = server->stats;
}

/* td_tape_settled_fn of a server going away: no one is left to acknowledge. */
static void drop_tag(void *ctx, void *tag, td_err_t rc)
{
    (void)ctx;
    (void)rc;
    free(tag);
}

void td_gw_server_stop(td_gw_server_t *server)
{
    ev_async_send(server->loop, &server->stop_async);
}

void td_gw_server_destroy(td_gw_server_t *server)
{
    if (!server)
        return;
    while (server->conns)
        conn_free(server->conns);
    td_tape_writer_destroy(server->writer, drop_tag, NULL);
    if (server->listen_fd >= 0)
        close(server->listen_fd);
    if (server->loop)
        ev_loop_destroy(server->loop);
    td_gw_clock_destroy(server->clock);
    td_buf_fini(&server->clock_state);
    free(server);
}

void td_gw_server_opts_from_config(const td_config_t *config, td_gw_server_opts_t *opts)
{
    *opts = (td_gw_server_opts_t){
        .listen = td_config_str(config, "gateway.listen"),
        .token = td_config_str(config, "gateway.token"),
        .max_connections = (unsigned)td_config_int(config, "gateway.max_connections"),
        .max_unauthenticated = (unsigned)td_config_int(config, "gateway.max_unauthenticated"),
        .max_line = (size_t)td_config_int(config, "gateway.max_line"),
        .auth_timeout_ms = td_config_int(config, "gateway.auth_timeout_ms"),
        .idle_timeout_ms = td_config_int(config, "gateway.idle_timeout_ms"),
        .auth_max_failures = (unsigned)td_config_int(config, "gateway.auth_max_failures"),
        .auth_failure_window_ms = td_config_int(config, "gateway.auth_failure_window_ms"),
        .auth_cooldown_ms = td_config_int(config, "gateway.auth_cooldown_ms"),
        .max_errors = (uint64_t)td_config_int(config, "gateway.max_errors"),
        .max_ahead_ms = td_config_int(config, "gateway.max_ahead_ms"),
        .accounts = config,
    };
}
