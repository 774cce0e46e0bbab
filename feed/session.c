/* session.c - the EA's side of the line protocol over TCP (see session.h).
 *
 * The session owns the connection, the progress (acked, sent, the state file) and the message map
 * (feed/map.h: what each sequence number is); the broker (feed/broker.h) owns the orders. The map
 * grows one step at a time as queue_messages needs lines, and after a WELCOME up to what the
 * gateway holds (catch_up); a line is formatted from it each time it is sent or resent.
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
#include "feed/map.h"
#include "gateway/protocol.h"
#include "gateway/server.h"

#define OUT_HIGH (256u * 1024)
#define WAIT_ACK_S 30.0
#define PENDING_MAX 64

struct td_feed_session {
    const char *account, *token, *terminal, *state_path;
    struct sockaddr_in addr;
    double speed; /* 0 = as fast as possible */
    double retry_s;
    td_feed_map_t map;
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
    bool numbered;   /* the lines' numbering (map.seq_shift) is known: from the state file or a WELCOME */
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
    td_err_t rc = td_feed_broker_order(session->broker, line, len, session->map.next_tick,
                                       td_feed_map_last_tick_time(&session->map));
    if (rc != TD_OK)
        session->broker_rc = rc;
}

/* ---- the state file and the journal ---- */

/* The state file's acked and sent numbers (the map's) and the lines' shift, when it exists and
 * reads (a file without shift= is from before the renumbering: 0); else nothing is known. */
static void state_load(td_feed_session_t *session)
{
    if (!session->state_path)
        return;
    FILE *f = fopen(session->state_path, "r");
    if (!f)
        return;
    uint64_t acked = 0, sent = 0;
    int64_t shift = 0;
    if (fscanf(f, "acked=%" SCNu64 " sent=%" SCNu64 " shift=%" SCNd64, &acked, &sent, &shift) >= 2) {
        session->acked = acked;
        session->sent_max = sent;
        session->map.seq_shift = shift;
        session->numbered = true;
    }
    fclose(f);
}

/* Rewrites the state file atomically (a temporary file renamed over it); a failure only loses
 * progress the gateway's WELCOME gives back. */
static void state_save(td_feed_session_t *session)
{
    if (!session->state_path || !session->numbered)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", session->state_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "acked=%" PRIu64 " sent=%" PRIu64 " shift=%" PRId64 "\n", session->acked, session->sent_max,
            session->map.seq_shift);
    if (fclose(f) == 0)
        rename(tmp, session->state_path);
}

/* After WELCOME acked=N: the map is rebuilt up to N and every journaled order, so nothing the
 * gateway holds is mapped differently; then the ORDERs that came before the WELCOME. */
static td_err_t catch_up(td_feed_session_t *session, uint64_t acked)
{
    td_err_t rc = TD_OK;
    while (rc == TD_OK && td_feed_map_more(&session->map) &&
           (session->map.last_seq < acked || td_feed_broker_replaying(session->broker)))
        rc = td_feed_map_step(&session->map);
    for (size_t i = 0; i < session->n_pending; i++) {
        if (rc == TD_OK)
            rc = td_feed_broker_order(session->broker, session->pending[i], strlen(session->pending[i]),
                                      session->map.next_tick, td_feed_map_last_tick_time(&session->map));
        free(session->pending[i]);
    }
    session->n_pending = 0;
    return rc;
}

/* ---- the gateway's lines ---- */

/* WELCOME acked (the gateway's numbering) in the map's numbers; first renumbers this feed's lines
 * (map.seq_shift, true returned in *renumbered) when they would not follow what the gateway holds:
 *   - nothing sent under any numbering yet (no state file: a lost one, or another day on an
 *     account the gateway knows) and the gateway holds 2 or more: the specs go as acked + 1 and on
 *     (sent as they were, the gateway would drop every line as a resend);
 *   - the gateway holds less than this numbering's first line (the account's sequence was reset):
 *     the lines not acknowledged go as acked + 1 and on.
 * Otherwise the numbers stay: the session resends from acked + 1, or catches up to it. Precondition:
 * acked <= INT64_MAX. */
static uint64_t welcome_position(td_feed_session_t *session, uint64_t acked, bool *renumbered)
{
    td_feed_map_t *map = &session->map;
    int64_t gateway = (int64_t)acked;
    int64_t own = session->numbered && session->acked > 1 ? (int64_t)session->acked : 1; /* 1: the HELLO */
    *renumbered = session->numbered ? gateway - map->seq_shift < 1 : gateway >= TD_FEED_SEQ_SPEC;
    if (*renumbered) {
        map->seq_shift = gateway - own;
        if (session->log)
            fprintf(session->log,
                    "tapedeck feed: the gateway has account %s's lines up to %" PRIu64 ", %s: this feed's lines "
                    "from its message %" PRId64 " are numbered %" PRIu64 " and on\n",
                    session->account, acked,
                    session->numbered ? "below this feed's numbering (its sequence was reset)"
                                      : "and this feed has sent none of them (no state file)",
                    own + 1, acked + 1);
    }
    *renumbered = *renumbered || !session->numbered;
    session->numbered = true;
    return (uint64_t)(gateway - map->seq_shift);
}

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
    case TD_GW_ACK: { /* in the map's numbers */
        int64_t seq = reply->seq <= INT64_MAX ? (int64_t)reply->seq - session->map.seq_shift : 0;
        if (seq > 0 && (uint64_t)seq > session->acked)
            session->acked = (uint64_t)seq;
        break;
    }
    case TD_GW_ERR:
        session->errors++;
        if (!session->welcomed)
            session->refused = true;
        if (session->errors <= 10 && session->log)
            fprintf(session->log, "tapedeck feed: gateway: %.*s\n", (int)(len > 300 ? 300 : len), line);
        if (session->welcomed && strncmp(reply->text, "seq: expected ", 14) == 0) {
            /* a line the gateway lacks: a new session resends from its WELCOME */
            snprintf(session->err, sizeof session->err, "the gateway expects another sequence number (%.200s)",
                     reply->text);
            return false;
        }
        break;
    case TD_GW_WELCOME: {
        if (reply->acked > INT64_MAX) {
            session->refused = true;
            snprintf(session->err, sizeof session->err,
                     "the gateway's sequence of account %s is at %" PRIu64 ", beyond what this feed numbers",
                     session->account, reply->acked);
            return false;
        }
        bool renumbered = false;
        uint64_t acked = welcome_position(session, reply->acked, &renumbered);
        if (acked < session->acked && !renumbered && !session->drop_every && session->log)
            fprintf(session->log,
                    "tapedeck feed: the gateway has up to %" PRIu64 ", the state file says %" PRIu64
                    " was acknowledged: resending from %" PRIu64 "\n",
                    reply->acked, (uint64_t)((int64_t)session->acked + session->map.seq_shift), reply->acked + 1);
        /* --drop-every resends all it has not seen acknowledged, as an EA with a file of unacked
         * lines does; the gateway drops what it already has */
        uint64_t from = session->drop_every && session->acked < acked ? session->acked : acked;
        session->acked = acked;
        session->next = from + 1 < TD_FEED_SEQ_SPEC ? TD_FEED_SEQ_SPEC : from + 1;
        session->welcomed = true;
        if (renumbered)
            state_save(session); /* the numbering is on disk before a line goes out with it */
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
    while (session->next <= session->map.last_seq || td_feed_map_more(&session->map)) {
        if (session->out.len - session->out_off >= OUT_HIGH) {
            *bounded = true;
            break;
        }
        if (session->drop_every && session->session_sent >= session->drop_every)
            break;
        if (session->window && session->next > session->acked + session->window)
            break; /* the window is full: the gateway's next ACK opens it */
        if (session->next > session->map.last_seq && session->acked < session->map.barrier_seq)
            break; /* --sync-bars: the last step can close a bar; its orders come before its ACK */
        if (session->speed > 0) {
            double due =
                session->pace_wall0 + (double)(td_feed_map_time(&session->map, session->next) - session->pace_time0) /
                                          1000.0 / session->speed;
            double now = td_mono_s();
            if (due > now) {
                wait = due - now;
                break;
            }
        }
        if (session->next > session->map.last_seq && (session->broker_rc = td_feed_map_step(&session->map)) != TD_OK)
            return 0;
        if (session->next > session->map.last_seq ||
            td_feed_map_format(&session->map, session->next, &session->out) != TD_OK)
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
                session->pace_time0 = td_feed_map_time(&session->map, session->next);
                paced = true;
            }
            wait = queue_messages(session, &bounded);
            if (session->next > session->map.last_seq && !td_feed_map_more(&session->map) &&
                session->out_off == session->out.len && session->acked >= session->map.last_seq) {
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
    td_feed_map_fini(&session->map);
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
    session->drop_every = config->drop_every;
    session->window = config->window;
    session->log = config->log;
    session->fd = -1;
    td_buf_init(&session->out);
    td_gw_lines_init(&session->lines, TD_GW_LINE_MAX);
    td_err_t rc = td_feed_broker_new(&config->broker, &session->broker);
    td_feed_map_init(&session->map, session->broker, config->heartbeat_ms, config->sync_bars, config->tf_ms,
                     config->day_offset_minutes);
    if (rc != TD_OK) {
        td_feed_session_destroy(session);
        *out = NULL;
    }
    return rc;
}

td_err_t td_feed_session_add_tick(td_feed_session_t *session, uint32_t sym, int64_t time_ms, const td_tick_t *tick)
{
    return td_feed_map_add_tick(&session->map, sym, time_ms, tick);
}

td_err_t td_feed_session_add_symbol(td_feed_session_t *session, const char *name, const td_symbol_spec_t *spec)
{
    td_err_t rc = td_feed_map_add_symbol(&session->map, name, spec);
    if (rc == TD_OK)
        rc = td_feed_broker_add_symbol(session->broker, name, spec);
    return rc;
}

td_err_t td_feed_session_start(td_feed_session_t *session, char *errbuf, size_t errlen)
{
    td_feed_map_start(&session->map);
    state_load(session);
    if (!session->state_path)
        return TD_OK;
    char path[4096];
    snprintf(path, sizeof path, "%s.broker", session->state_path);
    return td_feed_broker_open_journal(session->broker, path, session->map.n_ticks, errbuf, errlen);
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
        .ticks = session->map.n_ticks,
        .symbols = session->map.n_syms,
        .sent = session->sent,
        .resent = session->resent,
        .acked = session->acked,
        .last_seq = session->map.last_seq,
        .errors = session->errors,
        .orders = session->orders,
        .reconnects = session->reconnects,
        .drops = session->drops,
    };
    td_feed_broker_stats(session->broker, broker_stats);
}
