/* session.c - the EA's side of the line protocol over TCP (see session.h).
 *
 * The session owns the ticks, the message map and the connection; the broker (feed/broker.h) owns
 * the orders. The map grows one step at a time (map_step: a due heartbeat, or the next tick with
 * the EXEC reports of its fills, or the day's last heartbeat) as queue_messages needs lines, and
 * after a WELCOME up to what the gateway holds (catch_up). Every map entry is a 32-bit index: a
 * tick, or an EXEC report or a heartbeat with its flag; a line is formatted from it when it is sent
 * or resent.
 *
 * One thread: td_feed_session_run's caller. The log gets the warnings tapedeck feed prints.
 */
#include "feed/session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "gateway/clock.h"
#include "gateway/protocol.h"
#include "gateway/server.h"

#define SEQ_SPEC 2
#define OUT_HIGH (256u * 1024)
#define WAIT_ACK_S 30.0
#define PENDING_MAX 64

typedef struct feed_symbol {
    char name[TD_SYMBOL_MAX + 1];
    td_symbol_spec_t spec;
    int64_t last_ms; /* the gateway's clock rule, mirrored: the last event time of the symbol */
} feed_symbol_t;

typedef struct td_feed_session_tick {
    int64_t time_ms;
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
    uint32_t sym;
    uint32_t order; /* the order it was added in, the last key of the merge */
} feed_tick_t;

/* a message map entry: a tick index, or an EXEC report / heartbeat index with its flag */
#define MSG_EXEC 0x80000000u
#define MSG_HEARTBEAT 0x40000000u
#define MSG_INDEX 0x3fffffffu

struct td_feed_session {
    const char *account, *token, *terminal, *state_path;
    struct sockaddr_in addr;
    double speed; /* 0 = as fast as possible */
    double retry_s;
    feed_symbol_t syms[TD_FEED_SYMBOLS_MAX];
    size_t n_syms;
    feed_tick_t *ticks;
    size_t n_ticks, cap_ticks;
    uint64_t first_msg; /* the first sequence number after the specs */
    uint64_t last_seq;  /* of the last message mapped so far */
    /* the message map: seq first_msg + i -> map[i] */
    uint32_t *map;
    size_t n_map, cap_map;
    size_t next_tick;  /* the first tick not mapped yet */
    td_event_t *execs; /* the EXEC reports (symbol, time: its tick's, the report) */
    size_t n_exec, cap_exec;
    /* heartbeats */
    int64_t hb_ms, hb_next;
    bool hb_end_done;
    int64_t *hb_time;
    size_t n_hb, cap_hb;
    /* bars, for --sync-bars */
    bool sync;
    int64_t tf_ms;
    int day_offset_minutes;
    uint64_t barrier_seq; /* nothing after a step ending here is mapped before it is acked */
    td_feed_broker_t *broker;
    td_err_t broker_rc; /* sticky: the fill model or the journal failed; the feed stops */
    double linger_s;
    char *pending[PENDING_MAX]; /* ORDERs read before WELCOME: handled after it */
    size_t n_pending;
    /* progress */
    uint64_t acked;    /* highest acknowledged */
    uint64_t sent_max; /* highest ever sent (this run or, from the state file, before) */
    uint64_t next;     /* next to send in this session */
    uint64_t sent, resent, errors, orders, reconnects, drops;
    uint64_t drop_every, session_sent;
    uint64_t window; /* most lines sent and not yet acknowledged; 0 = no bound */
    double last_order_at;
    /* session */
    int fd;
    bool welcomed, bye, refused;
    char bye_reason[256];
    td_buf_t out;
    size_t out_off;
    td_gw_lines_t lines;
    double pace_wall0;
    int64_t pace_time0;
    td_gw_reply_t reply; /* the gateway's line being handled */
    FILE *log;
    char err[1024];
};

td_err_t td_feed_session_add_tick(td_feed_session_t *session, uint32_t sym, int64_t time_ms, const td_tick_t *tick)
{
    if (session->n_ticks == session->cap_ticks) {
        size_t cap = session->cap_ticks ? session->cap_ticks * 2 : 65536;
        if (cap > MSG_INDEX)
            return TD_ERR_NOMEM;
        feed_tick_t *p = realloc(session->ticks, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        session->ticks = p;
        session->cap_ticks = cap;
    }
    session->ticks[session->n_ticks] = (feed_tick_t){time_ms,      tick->bid,   tick->ask, tick->last,
                                                     tick->volume, tick->flags, sym,       (uint32_t)session->n_ticks};
    session->n_ticks++;
    return TD_OK;
}

/* Time order, then symbol order, then the order of adding: the merged ticks are the same on every
 * machine, and a symbol's ticks of one millisecond keep their order. */
static int tick_cmp(const void *a, const void *b)
{
    const feed_tick_t *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    if (x->sym != y->sym)
        return x->sym < y->sym ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int64_t first_time(const td_feed_session_t *session)
{
    return session->n_ticks ? session->ticks[0].time_ms : 0;
}

/* the time of the last tick mapped (0 before the first): an order's arrival time */
static int64_t last_tick_time(const td_feed_session_t *session)
{
    return session->next_tick ? session->ticks[session->next_tick - 1].time_ms : 0;
}

/* Appends the line of message seq - a SPEC, or what the map holds at seq - to out. Precondition:
 * seq is a spec's or mapped (<= last_seq). */
static td_err_t format_message(td_feed_session_t *session, uint64_t seq, td_buf_t *out)
{
    td_gw_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.seq = seq;
    if (seq < session->first_msg) {
        const feed_symbol_t *sym = &session->syms[seq - SEQ_SPEC];
        msg.verb = TD_GW_SPEC;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", sym->name);
        msg.ev.time_ms = first_time(session);
        msg.ev.u.spec = sym->spec;
        return td_gw_format_msg(out, &msg);
    }
    uint32_t m = session->map[seq - session->first_msg];
    if (m & MSG_EXEC) {
        msg.verb = TD_GW_EXEC;
        msg.ev = session->execs[m & MSG_INDEX];
    } else if (m & MSG_HEARTBEAT) {
        msg.verb = TD_GW_HEARTBEAT;
        msg.time_ms = session->hb_time[m & MSG_INDEX];
    } else {
        const feed_tick_t *k = &session->ticks[m];
        msg.verb = TD_GW_TICK;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", session->syms[k->sym].name);
        msg.ev.time_ms = k->time_ms;
        msg.ev.u.tick = (td_tick_t){k->bid, k->ask, k->last, k->volume, k->flags};
    }
    return td_gw_format_msg(out, &msg);
}

/* The tick time of message seq, for the pace: mapped or not yet. */
static int64_t message_time(const td_feed_session_t *session, uint64_t seq)
{
    if (!session->n_ticks)
        return 0;
    if (seq < session->first_msg)
        return first_time(session);
    if (seq > session->last_seq) /* not mapped yet: the next tick's (or the last one's) */
        return session->ticks[session->next_tick < session->n_ticks ? session->next_tick : session->n_ticks - 1]
            .time_ms;
    uint32_t m = session->map[seq - session->first_msg];
    if (m & MSG_EXEC) /* an EXEC carries the time of the tick it follows */
        return session->execs[m & MSG_INDEX].time_ms;
    if (m & MSG_HEARTBEAT)
        return session->hb_time[m & MSG_INDEX];
    return session->ticks[m].time_ms;
}

/* ---- the message map ---- */

static td_err_t map_add(td_feed_session_t *session, uint32_t entry)
{
    if (session->n_map == session->cap_map) {
        size_t cap = session->cap_map ? session->cap_map * 2 : 65536;
        uint32_t *p = realloc(session->map, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        session->map = p;
        session->cap_map = cap;
    }
    session->map[session->n_map++] = entry;
    session->last_seq = session->first_msg + session->n_map - 1;
    return TD_OK;
}

/* Stores one EXEC report and maps it to the next seq. */
static td_err_t add_exec(td_feed_session_t *session, const char *symbol, int64_t time_ms, const td_exec_report_t *x)
{
    if (session->n_exec == session->cap_exec) {
        size_t cap = session->cap_exec ? session->cap_exec * 2 : 256;
        td_event_t *p = realloc(session->execs, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        session->execs = p;
        session->cap_exec = cap;
    }
    td_event_t *ev = &session->execs[session->n_exec];
    memset(ev, 0, sizeof *ev);
    ev->kind = TD_EV_EXEC_REPORT;
    snprintf(ev->symbol, sizeof ev->symbol, "%s", symbol);
    ev->time_ms = time_ms;
    ev->u.exec = *x;
    return map_add(session, (uint32_t)session->n_exec++ | MSG_EXEC);
}

/* True when t lies in a later bar than last (the gateway's clock rule, gateway/clock.h). */
static bool bar_later(const td_feed_session_t *session, int64_t t, int64_t last)
{
    return t > last && td_gw_clock_bar(t, session->tf_ms, session->day_offset_minutes) >
                           td_gw_clock_bar(last, session->tf_ms, session->day_offset_minutes);
}

/* Maps a heartbeat at time t; *barrier when the gateway makes a Clock of it for some symbol. */
static td_err_t map_heartbeat(td_feed_session_t *session, int64_t t, bool *barrier)
{
    if (session->n_hb == session->cap_hb) {
        size_t cap = session->cap_hb ? session->cap_hb * 2 : 1024;
        int64_t *p = realloc(session->hb_time, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        session->hb_time = p;
        session->cap_hb = cap;
    }
    session->hb_time[session->n_hb] = t;
    for (size_t i = 0; i < session->n_syms; i++)
        if (bar_later(session, t, session->syms[i].last_ms)) {
            session->syms[i].last_ms = t;
            *barrier = true;
        }
    return map_add(session, (uint32_t)session->n_hb++ | MSG_HEARTBEAT);
}

/* Maps the next tick, then the EXEC reports of what its symbol's fill model does at it. */
static td_err_t map_tick(td_feed_session_t *session, bool *barrier)
{
    size_t i = session->next_tick;
    TD_ASSERT(i < session->n_ticks);
    td_err_t rc = TD_OK;
    /* orders of the journal received at this point of an earlier run */
    rc = td_feed_broker_replay(session->broker, i, last_tick_time(session));
    if (rc == TD_OK)
        rc = map_add(session, (uint32_t)i);
    if (rc != TD_OK)
        return rc;
    session->next_tick++;
    const feed_tick_t *k = &session->ticks[i];
    feed_symbol_t *sym = &session->syms[k->sym];
    if (bar_later(session, k->time_ms, sym->last_ms))
        *barrier = true;
    if (k->time_ms > sym->last_ms)
        sym->last_ms = k->time_ms;
    td_tick_t tick = {k->bid, k->ask, k->last, k->volume, k->flags};
    const td_outbuf_t *fills = NULL;
    rc = td_feed_broker_on_tick(session->broker, k->sym, k->time_ms, &tick, &fills);
    for (size_t j = 0; rc == TD_OK && j < fills->len; j++) {
        const td_exec_report_t *x = &fills->ev[j].u.exec;
        *barrier = true;
        rc = add_exec(session, sym->name, k->time_ms, x);
        if (rc == TD_OK)
            rc = td_feed_broker_executed(session->broker, x, session->last_seq);
    }
    return rc;
}

/* True while a tick or the day's last heartbeat is still to be mapped. */
static bool more_to_map(const td_feed_session_t *session)
{
    return session->next_tick < session->n_ticks ||
           (session->hb_ms > 0 && !session->hb_end_done && session->n_ticks > 0);
}

/* Maps one step: a heartbeat that is due, or the next tick with its fills, or the day's last
 * heartbeat. With --sync-bars a step that can close a bar becomes the barrier. */
static td_err_t map_step(td_feed_session_t *session)
{
    TD_ASSERT(more_to_map(session));
    bool barrier = false;
    td_err_t rc;
    if (session->next_tick < session->n_ticks) {
        int64_t t = session->ticks[session->next_tick].time_ms;
        if (session->hb_ms > 0 && t >= session->hb_next) {
            int64_t at = t - ((t % session->hb_ms) + session->hb_ms) % session->hb_ms; /* floor to the interval */
            session->hb_next = at + session->hb_ms;
            rc = map_heartbeat(session, at, &barrier);
        } else {
            rc = map_tick(session, &barrier);
        }
    } else { /* time passes to the end of the last tick's trading day */
        uint32_t day = td_time_trading_day(session->ticks[session->n_ticks - 1].time_ms, session->day_offset_minutes);
        session->hb_end_done = true;
        rc = map_heartbeat(session, td_time_trading_day_start(td_time_next_day(day), session->day_offset_minutes),
                           &barrier);
    }
    if (rc == TD_OK && barrier && session->sync)
        session->barrier_seq = session->last_seq;
    return rc;
}

/* ---- orders ---- */

/* An ORDER's fields (valid or not: the broker counts a malformed one) to the broker at the current
 * point of the map; kept until the map is there when it comes before the WELCOME. A broker failure
 * is sticky in broker_rc. */
static void on_order(td_feed_session_t *session, const char *line, size_t len)
{
    session->orders++;
    session->last_order_at = td_mono_s();
    if (!session->welcomed) { /* sent ahead of WELCOME: handled once the map is where the gateway is */
        char *copy = session->n_pending < PENDING_MAX ? strndup(line, len) : NULL;
        if (copy)
            session->pending[session->n_pending++] = copy;
        else
            session->broker_rc = TD_ERR_NOMEM;
        return;
    }
    td_err_t rc = td_feed_broker_order(session->broker, line, len, session->next_tick, last_tick_time(session));
    if (rc != TD_OK)
        session->broker_rc = rc;
}

/* ---- the state file and the journal ---- */

/* The state file's acked and sent numbers, when it exists and reads; else nothing is known. */
static void state_load(td_feed_session_t *session)
{
    if (!session->state_path)
        return;
    FILE *f = fopen(session->state_path, "r");
    if (!f)
        return;
    uint64_t acked = 0, sent = 0;
    if (fscanf(f, "acked=%" SCNu64 " sent=%" SCNu64, &acked, &sent) == 2) {
        session->acked = acked;
        session->sent_max = sent;
    }
    fclose(f);
}

/* Rewrites the state file atomically (a temporary file renamed over it); a failure only loses
 * progress the gateway's WELCOME gives back. */
static void state_save(td_feed_session_t *session)
{
    if (!session->state_path)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", session->state_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "acked=%" PRIu64 " sent=%" PRIu64 "\n", session->acked, session->sent_max);
    if (fclose(f) == 0)
        rename(tmp, session->state_path);
}

/* After WELCOME acked=N: the map is rebuilt up to N and every journaled order, so nothing the
 * gateway holds is mapped differently; then the ORDERs that came before the WELCOME. */
static td_err_t catch_up(td_feed_session_t *session, uint64_t acked)
{
    td_err_t rc = TD_OK;
    while (rc == TD_OK && more_to_map(session) &&
           (session->last_seq < acked || td_feed_broker_replaying(session->broker)))
        rc = map_step(session);
    for (size_t i = 0; i < session->n_pending; i++) {
        if (rc == TD_OK)
            rc = td_feed_broker_order(session->broker, session->pending[i], strlen(session->pending[i]),
                                      session->next_tick, last_tick_time(session));
        free(session->pending[i]);
    }
    session->n_pending = 0;
    return rc;
}

/* ---- the gateway's lines ---- */

/* One line from the gateway (td_gw_lines_t's callback), parsed with td_gw_parse_reply: false
 * after a BYE, to stop reading. A line that does not parse is counted as an error (an ORDER as a
 * malformed order). */
static bool on_gateway_line(void *opaque, const char *line, size_t len, bool oversized)
{
    td_feed_session_t *session = opaque;
    if (oversized)
        return true;
    td_gw_reply_t *reply = &session->reply;
    char err[256];
    if (td_gw_parse_reply(line, len, reply, err, sizeof err) != TD_OK) {
        if (len > 6 && memcmp(line, "ORDER\t", 6) == 0) { /* counted as a malformed order */
            on_order(session, line + 6, len - 6);
            return true;
        }
        session->errors++;
        if (session->errors <= 10 && session->log)
            fprintf(session->log, "tapedeck feed: gateway: an unreadable line (%s): %.*s\n", err,
                    (int)(len > 300 ? 300 : len), line);
        return true;
    }
    switch (reply->verb) {
    case TD_GW_ACK:
        if (reply->seq > session->acked)
            session->acked = reply->seq;
        break;
    case TD_GW_ERR:
        session->errors++;
        if (!session->welcomed)
            session->refused = true;
        if (session->errors <= 10 && session->log)
            fprintf(session->log, "tapedeck feed: gateway: %.*s\n", (int)(len > 300 ? 300 : len), line);
        break;
    case TD_GW_WELCOME: {
        uint64_t acked = reply->acked;
        if (acked < session->acked && !session->drop_every && session->log)
            fprintf(session->log,
                    "tapedeck feed: the gateway has up to %" PRIu64 ", the state file says %" PRIu64
                    " was acknowledged: resending from %" PRIu64 "\n",
                    acked, session->acked, acked + 1);
        /* --drop-every resends all it has not seen acknowledged, as an EA with a file of unacked
         * lines does; the gateway drops what it already has */
        uint64_t from = session->drop_every && session->acked < acked ? session->acked : acked;
        session->acked = acked;
        session->next = from + 1 < SEQ_SPEC ? SEQ_SPEC : from + 1;
        session->welcomed = true;
        td_err_t rc = catch_up(session, acked);
        if (rc != TD_OK)
            session->broker_rc = rc;
        break;
    }
    case TD_GW_ORDER: on_order(session, line + 6, len - 6); break;
    case TD_GW_BYE:
        session->bye = true;
        if (!session->welcomed)
            session->refused = true;
        snprintf(session->bye_reason, sizeof session->bye_reason, "%.255s", reply->text);
        return false;
    default: break;
    }
    return true;
}

/* ---- the session ---- */

/* Closes the connection and drops what was queued or half read; the map and progress stay. */
static void session_close(td_feed_session_t *session)
{
    if (session->fd >= 0)
        close(session->fd);
    session->fd = -1;
    td_buf_reset(&session->out);
    session->out_off = 0;
    td_gw_lines_fini(&session->lines);
    td_gw_lines_init(&session->lines, TD_GW_LINE_MAX);
}

/* Connects and queues the HELLO (always seq 1); false with the reason in err. */
static bool session_open(td_feed_session_t *session)
{
    session->welcomed = session->bye = session->refused = false;
    session->session_sent = 0;
    session->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (session->fd < 0)
        return false;
    if (connect(session->fd, (struct sockaddr *)&session->addr, sizeof session->addr) != 0) {
        snprintf(session->err, sizeof session->err, "connect: %s", strerror(errno));
        session_close(session);
        return false;
    }
    int one = 1;
    setsockopt(session->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(session->fd, F_SETFL, fcntl(session->fd, F_GETFL) | O_NONBLOCK);
    td_gw_msg_t hello = {.verb = TD_GW_HELLO, .seq = 1, .hello.version = TD_GW_PROTOCOL_VERSION};
    snprintf(hello.hello.account, sizeof hello.hello.account, "%s", session->account);
    snprintf(hello.hello.terminal, sizeof hello.hello.terminal, "%s", session->terminal);
    snprintf(hello.hello.token, sizeof hello.hello.token, "%s", session->token);
    return td_gw_format_msg(&session->out, &hello) == TD_OK;
}

/* Writes what is queued; false when the connection failed. */
static bool session_write(td_feed_session_t *session)
{
    while (session->out_off < session->out.len) {
        ssize_t n =
            send(session->fd, session->out.ptr + session->out_off, session->out.len - session->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            session->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            snprintf(session->err, sizeof session->err, "send: %s", n < 0 ? strerror(errno) : "closed");
            return false;
        }
    }
    td_buf_reset(&session->out);
    session->out_off = 0;
    return true;
}

/* Reads what arrived; false when the connection ended. */
static bool session_read(td_feed_session_t *session)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(session->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0) {
            snprintf(session->err, sizeof session->err, "%s",
                     n < 0 ? strerror(errno) : "the gateway closed the connection");
            return false;
        }
        if (td_gw_lines_feed(&session->lines, buf, (size_t)n, on_gateway_line, session) != TD_OK) {
            if (session->bye)
                snprintf(session->err, sizeof session->err, "the gateway said BYE: %s", session->bye_reason);
            return false;
        }
    }
}

/* Queues messages up to the output bound, the pace and the barrier; returns the seconds until the
 * next is due (0 when none waits for the clock). *bounded tells whether it stopped at the output
 * bound with more to send: once the socket took the output, the next messages are queued at once,
 * without waiting for the gateway's reply (an EA pipelines; so does the feed). */
static double queue_messages(td_feed_session_t *session, bool *bounded)
{
    double wait = 0;
    *bounded = false;
    while (session->next <= session->last_seq || more_to_map(session)) {
        if (session->out.len - session->out_off >= OUT_HIGH) {
            *bounded = true;
            break;
        }
        if (session->drop_every && session->session_sent >= session->drop_every)
            break;
        if (session->window && session->next > session->acked + session->window)
            break; /* the window is full: the gateway's next ACK opens it */
        if (session->next > session->last_seq && session->acked < session->barrier_seq)
            break; /* --sync-bars: the last step can close a bar; its orders come before its ACK */
        if (session->speed > 0) {
            double due = session->pace_wall0 +
                         (double)(message_time(session, session->next) - session->pace_time0) / 1000.0 / session->speed;
            double now = td_mono_s();
            if (due > now) {
                wait = due - now;
                break;
            }
        }
        if (session->next > session->last_seq && (session->broker_rc = map_step(session)) != TD_OK)
            return 0;
        if (session->next > session->last_seq || format_message(session, session->next, &session->out) != TD_OK)
            break;
        session->sent++;
        session->session_sent++;
        if (session->next <= session->sent_max)
            session->resent++;
        else
            session->sent_max = session->next;
        session->next++;
    }
    return wait;
}

/* One session: true when everything was acknowledged, false when the connection ended first. */
static bool session_run(td_feed_session_t *session)
{
    double last_progress = td_mono_s(), last_save = 0;
    uint64_t last_acked = session->acked;
    bool paced = false;
    double done_at = 0; /* when everything was first acknowledged: the linger starts */
    for (;;) {
        double wait = 0;
        bool bounded = false;
        if (session->welcomed) {
            if (!paced) { /* the pace restarts with each session */
                session->pace_wall0 = td_mono_s();
                session->pace_time0 = message_time(session, session->next);
                paced = true;
            }
            wait = queue_messages(session, &bounded);
            if (session->next > session->last_seq && !more_to_map(session) && session->out_off == session->out.len &&
                session->acked >= session->last_seq) {
                double quiet = td_mono_s() - (session->last_order_at > done_at ? session->last_order_at : done_at);
                if (done_at == 0)
                    done_at = td_mono_s();
                else if (quiet >= session->linger_s)
                    return true;
            }
        }
        if (session->broker_rc != TD_OK) {
            snprintf(session->err, sizeof session->err, "the paper broker failed: %s", td_err_name(session->broker_rc));
            return false;
        }
        if (!session_write(session))
            return false;
        if (session->drop_every && session->session_sent >= session->drop_every &&
            session->out_off == session->out.len) {
            session->drops++;
            snprintf(session->err, sizeof session->err, "dropped after %" PRIu64 " lines (--drop-every)",
                     session->session_sent);
            return false;
        }
        struct pollfd p = {session->fd, POLLIN | (session->out_off < session->out.len ? POLLOUT : 0), 0};
        int timeout = wait > 0 ? (int)(wait * 1000) + 1 : 200;
        if (timeout > 200)
            timeout = 200;
        if (bounded && session->out_off == session->out.len)
            timeout = 0; /* the socket took it all: only look for replies, then queue more */
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
            snprintf(session->err, sizeof session->err, "poll: %s", strerror(errno));
            return false;
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !session_read(session))
            return false;
        double now = td_mono_s();
        if (session->acked != last_acked) {
            last_acked = session->acked;
            last_progress = now;
        }
        if (now - last_save > 0.2) {
            state_save(session);
            last_save = now;
        }
        bool waiting_for_gateway = !session->welcomed || session->acked < session->next - 1;
        if (waiting_for_gateway && now - last_progress > WAIT_ACK_S) {
            snprintf(session->err, sizeof session->err, "no acknowledgement for %.0f s", WAIT_ACK_S);
            return false;
        }
    }
}

void td_feed_session_destroy(td_feed_session_t *session)
{
    if (!session)
        return;
    td_buf_fini(&session->out);
    td_gw_lines_fini(&session->lines);
    free(session->ticks);
    free(session->map);
    free(session->execs);
    free(session->hb_time);
    for (size_t i = 0; i < session->n_pending; i++)
        free(session->pending[i]);
    td_feed_broker_destroy(session->broker);
    free(session);
}

td_err_t td_feed_session_new(const td_feed_config_t *config, td_feed_session_t **out)
{
    td_feed_session_t *session = calloc(1, sizeof *session);
    *out = session;
    if (!session)
        return TD_ERR_NOMEM;
    session->account = config->account;
    session->token = config->token;
    session->terminal = config->terminal;
    session->state_path = config->state_path;
    session->addr = config->addr;
    session->speed = config->speed;
    session->retry_s = config->retry_s;
    session->linger_s = config->linger_s;
    session->hb_ms = config->heartbeat_ms;
    session->sync = config->sync_bars;
    session->drop_every = config->drop_every;
    session->window = config->window;
    session->tf_ms = config->tf_ms;
    session->day_offset_minutes = config->day_offset_minutes;
    session->log = config->log;
    session->fd = -1;
    td_buf_init(&session->out);
    td_gw_lines_init(&session->lines, TD_GW_LINE_MAX);
    td_err_t rc = td_feed_broker_new(&config->broker, &session->broker);
    if (rc != TD_OK) {
        td_feed_session_destroy(session);
        *out = NULL;
    }
    return rc;
}

td_err_t td_feed_session_add_symbol(td_feed_session_t *session, const char *name, const td_symbol_spec_t *spec)
{
    if (session->n_syms == TD_FEED_SYMBOLS_MAX)
        return TD_ERR_INVALID;
    td_err_t rc = td_feed_broker_add_symbol(session->broker, name, spec);
    if (rc == TD_OK) {
        feed_symbol_t *sym = &session->syms[session->n_syms++];
        snprintf(sym->name, sizeof sym->name, "%s", name);
        sym->spec = *spec;
    }
    return rc;
}

td_err_t td_feed_session_start(td_feed_session_t *session, char *errbuf, size_t errlen)
{
    if (session->n_syms > 1)
        qsort(session->ticks, session->n_ticks, sizeof *session->ticks, tick_cmp);
    session->first_msg = SEQ_SPEC + session->n_syms;
    session->last_seq = session->first_msg - 1; /* grows as messages are mapped */
    int64_t t0 = first_time(session);
    if (session->n_ticks && session->hb_ms > 0)
        session->hb_next = t0 - ((t0 % session->hb_ms) + session->hb_ms) % session->hb_ms + session->hb_ms;
    for (size_t i = 0; i < session->n_syms; i++)
        session->syms[i].last_ms = t0; /* the SPEC's time */
    state_load(session);
    if (!session->state_path)
        return TD_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s.broker", session->state_path);
    return td_feed_broker_open_journal(session->broker, path, session->n_ticks, errbuf, errlen);
}

td_err_t td_feed_session_run(td_feed_session_t *session, char *errbuf, size_t errlen)
{
    for (;;) {
        double lost_at = td_mono_s();
        bool open = false;
        while (!(open = session_open(session)) && td_mono_s() - lost_at < session->retry_s) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!open)
            return td_err_set(errbuf, errlen, TD_ERR_IO, "gateway %s:%u unreachable for %.0f s: %s",
                              inet_ntoa(session->addr.sin_addr), (unsigned)ntohs(session->addr.sin_port),
                              session->retry_s, session->err);
        bool done = session_run(session);
        session_close(session);
        state_save(session);
        if (done)
            return TD_OK;
        if (session->broker_rc != TD_OK)
            return td_err_set(errbuf, errlen, session->broker_rc, "%s", session->err);
        if (session->refused)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID, "the gateway refused the session: %s",
                              session->bye_reason[0] ? session->bye_reason : session->err);
        session->reconnects++;
        if (!session->drop_every && session->log)
            fprintf(session->log, "tapedeck feed: connection lost (%s); reconnecting\n", session->err);
    }
}

void td_feed_session_stats(const td_feed_session_t *session, td_feed_stats_t *stats,
                           td_feed_broker_stats_t *broker_stats)
{
    *stats = (td_feed_stats_t){
        .ticks = session->n_ticks,
        .symbols = session->n_syms,
        .sent = session->sent,
        .resent = session->resent,
        .acked = session->acked,
        .last_seq = session->last_seq,
        .errors = session->errors,
        .orders = session->orders,
        .reconnects = session->reconnects,
        .drops = session->drops,
    };
    td_feed_broker_stats(session->broker, broker_stats);
}
