/* cmd_feed.c - `tapedeck feed`: the MT5 stand-in, the EA's side of the line protocol over TCP.
 *
 * Its ticks come from tick files (td_import_file; SYMBOL=FILE or --symbol's) or from the built-in
 * synthetic day (feed/synthetic.h); several symbols are merged in time order. HELLO is 1, the symbol specs 2..1+S,
 * then the messages: the ticks in time order, each followed by the EXEC reports of the fills it
 * caused (below), and with --heartbeat-s a HEARTBEAT at every N seconds of tick time plus one at
 * the end of the last tick's trading day (its bars and the day close on it, gateway/clock.h). The
 * message map (sequence number -> tick, EXEC report or heartbeat) is built as messages are queued
 * and kept for the whole run, so a resend after a reconnect is exact: WELCOME acked=N says where
 * the gateway stands and the feed sends from N + 1. The gateway does not record HELLO's sequence
 * number, so every session's HELLO is 1.
 *
 * The paper broker (feed/broker.h): an ORDER from the gateway is filled with the shared fill model
 * at the next tick of its symbol; each deal is sent as an EXEC line right after that tick.
 *
 * Durability (--state FILE): FILE holds the last acknowledged and highest sent sequence numbers
 * (rewritten atomically a few times a second); FILE.broker is the broker's journal. A restarted feed
 * rebuilds the message map exactly from it, up to what the gateway holds, before anything new is
 * sent.
 *
 * --sync-bars (deterministic fills): a message that can close a bar - a tick in a later bar than
 * its symbol's last event, a heartbeat that makes a Clock event (the gateway's rule, mirrored), an
 * EXEC report - is a barrier: nothing after it is mapped until it is acknowledged. The gateway
 * routes the orders a burst causes before it acknowledges the burst (gateway/server.h), so every
 * order arrives at the same point of the message map on every run: the tape is the same, byte for
 * byte, run after run, and after crashes of either side.
 *
 * One thread, one socket, poll(): lines are written ahead of the acknowledgements (pipelined) and
 * ACK/ERR/ORDER/BYE lines are read as they come.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "feed/broker.h"
#include "feed/synthetic.h"
#include "core/fixed.h"
#include "core/timeutil.h"
#include "gateway/clock.h"
#include "gateway/protocol.h"
#include "gateway/server.h"
#include "host/host.h"
#include "import/import.h"

#define SEQ_SPEC 2
#define OUT_HIGH (256u * 1024)
#define WAIT_ACK_S 30.0
#define PENDING_MAX 64
#define WINDOW_DEFAULT 4096

static void help(void)
{
    printf("usage: tapedeck feed --gateway HOST:PORT --token T --account A\n"
           "                     (--format F [--symbol S] [SYMBOL=]FILE... | --synthetic SET [--date D])\n"
           "                     [--speed N | --fast] [--state FILE] [--heartbeat-s N] [--sync-bars] ...\n"
           "\n"
           "The MT5 stand-in: connects to the gateway like the Expert Advisor does (docs/PROTOCOL.md),\n"
           "sends HELLO, the symbol specs from the config's symbols.S sections, then every tick as a\n"
           "TICK line, and waits until all are acknowledged. Sequence numbers are fixed by the ticks\n"
           "(HELLO 1, specs 2.., ticks after), so after a reconnect - or a restart with the same ticks\n"
           "and state file - it resends exactly what the gateway lacks.\n"
           "\n"
           "options:\n"
           "  --gateway HOST:PORT  where the gateway listens\n"
           "  --token T            the gateway's gateway.token\n"
           "  --account A          the account id in HELLO (the gateway keeps one sequence per account)\n"
           "  --terminal NAME      the terminal name in HELLO (default \"tapedeck feed\")\n"
           "  --format F           the files' format (tick formats of tapedeck import --help)\n"
           "  --symbol S           the symbol of the FILEs that do not name theirs; SYMBOL=FILE is a\n"
           "                       file of SYMBOL's ticks (several symbols are merged in time order)\n"
           "  --synthetic SET      instead of files: the built-in SYNTHETIC day (not market data) of a\n"
           "                       set of symbols: demo (EURUSD, XAUUSD, US500) or desk (18 symbols);\n"
           "                       their symbols.S digits and contract_size are set to the set's\n"
           "  --date D             the synthetic day, YYYY-MM-DD (default 2024-01-02)\n"
           "  --hours H            only the first H hours of the synthetic day (1..24, default 24)\n"
           "  --speed N            N times real time (default 1)\n"
           "  --fast               as fast as possible\n"
           "  --window N           at most N lines sent and not yet acknowledged (default 4096; 0: no\n"
           "                       bound). With --fast it keeps the feed this close to the gateway, so\n"
           "                       that orders meet the ticks they were made for, as with a live market\n"
           "  --heartbeat-s N      a HEARTBEAT every N seconds of tick time and one at the end of the\n"
           "                       last tick's trading day (default 0: none)\n"
           "  --sync-bars          wait for the acknowledgement of every line that can close a bar\n"
           "                       before sending the next: orders and fills land at the same place\n"
           "                       on every run (the tape is deterministic)\n"
           "  --state FILE         keeps the sequence numbers (FILE) and the broker's journal\n"
           "                       (FILE.broker: orders received, executions per intent id) on disk\n"
           "  --retry-s N          keep reconnecting for N seconds after a lost connection (default 10)\n"
           "  --linger-s N         after the last acknowledgement, wait N seconds for late ORDERs\n"
           "                       (default 0)\n"
           "  --drop-every N       close the connection abruptly after every N lines sent, reconnect\n"
           "                       and resend everything not seen acknowledged (a disconnect test)\n"
           "\n"
           "The paper broker: an ORDER from the gateway is filled with the shared fill model\n"
           "(broker.slippage_points, broker.commission_per_lot) at the next tick of its symbol, and\n"
           "reported as an EXEC line; the position's stop-loss and take-profit exits are reported too.\n"
           "An intent id already received is refused (with --state, also after a restart). The summary\n"
           "counts orders received, executed and refused repeats, and the most executions of one\n"
           "intent id.\n"
           "Exit codes: 0 every line acknowledged, 1 the gateway refused some lines (ERR), 2 bad usage,\n"
           "bad files, a bad journal or a refused HELLO, 3 the gateway unreachable for longer than\n"
           "--retry-s.\n");
}

typedef struct feed_symbol {
    char name[TD_SYMBOL_MAX + 1];
    td_symbol_spec_t spec;
    int64_t last_ms; /* the gateway's clock rule, mirrored: the last event time of the symbol */
} feed_symbol_t;

typedef struct feed_tick {
    int64_t time_ms;
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
    uint32_t sym;
    uint32_t order; /* its place in the files, the last key of the merge */
} feed_tick_t;

/* a message map entry: a tick index, or an EXEC report / heartbeat index with its flag */
#define MSG_EXEC 0x80000000u
#define MSG_HEARTBEAT 0x40000000u
#define MSG_INDEX 0x3fffffffu

typedef struct feed {
    td_cli_t *cli;
    const char *account, *token, *terminal, *state_path;
    struct sockaddr_in addr;
    double speed; /* 0 = as fast as possible */
    double retry_s;
    feed_symbol_t syms[TD_FEED_SYMBOLS_MAX];
    size_t n_syms;
    uint32_t cur_sym;    /* the symbol collect() is reading */
    int64_t synth_until; /* --hours: synthetic ticks before this time only */
    int synth_hours;
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
    char err[1024];
} feed_t;

static td_err_t add_tick(feed_t *feed, const feed_tick_t *tick)
{
    if (feed->n_ticks == feed->cap_ticks) {
        size_t cap = feed->cap_ticks ? feed->cap_ticks * 2 : 65536;
        if (cap > MSG_INDEX)
            return TD_ERR_NOMEM;
        feed_tick_t *p = realloc(feed->ticks, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        feed->ticks = p;
        feed->cap_ticks = cap;
    }
    feed->ticks[feed->n_ticks++] = *tick;
    return TD_OK;
}

static td_err_t collect(void *opaque, const td_event_t *ev)
{
    feed_t *feed = opaque;
    if (ev->kind != TD_EV_TICK)
        return TD_OK;
    feed_tick_t k = {ev->time_ms,       ev->u.tick.bid,   ev->u.tick.ask, ev->u.tick.last,
                     ev->u.tick.volume, ev->u.tick.flags, feed->cur_sym,  (uint32_t)feed->n_ticks};
    return add_tick(feed, &k);
}

static td_err_t collect_synthetic(void *opaque, int64_t time_ms, int64_t bid, int64_t ask)
{
    feed_t *feed = opaque;
    if (time_ms >= feed->synth_until)
        return TD_ERR_END; /* --hours: the rest of the day is not wanted */
    feed_tick_t k = {
        time_ms, bid, ask, 0, 0, TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK, feed->cur_sym, (uint32_t)feed->n_ticks};
    return add_tick(feed, &k);
}

/* Time order, then symbol order, then the files' order: the merged ticks are the same on every
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

static int64_t first_time(const feed_t *feed)
{
    return feed->n_ticks ? feed->ticks[0].time_ms : 0;
}

/* the time of the last tick mapped (0 before the first): an order's arrival time */
static int64_t last_tick_time(const feed_t *feed)
{
    return feed->next_tick ? feed->ticks[feed->next_tick - 1].time_ms : 0;
}

static td_err_t format_message(feed_t *feed, uint64_t seq, td_buf_t *out)
{
    td_gw_msg_t msg;
    memset(&msg, 0, sizeof msg);
    msg.seq = seq;
    if (seq < feed->first_msg) {
        const feed_symbol_t *sym = &feed->syms[seq - SEQ_SPEC];
        msg.verb = TD_GW_SPEC;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", sym->name);
        msg.ev.time_ms = first_time(feed);
        msg.ev.u.spec = sym->spec;
        return td_gw_format_msg(out, &msg);
    }
    uint32_t m = feed->map[seq - feed->first_msg];
    if (m & MSG_EXEC) {
        msg.verb = TD_GW_EXEC;
        msg.ev = feed->execs[m & MSG_INDEX];
    } else if (m & MSG_HEARTBEAT) {
        msg.verb = TD_GW_HEARTBEAT;
        msg.time_ms = feed->hb_time[m & MSG_INDEX];
    } else {
        const feed_tick_t *k = &feed->ticks[m];
        msg.verb = TD_GW_TICK;
        snprintf(msg.ev.symbol, sizeof msg.ev.symbol, "%s", feed->syms[k->sym].name);
        msg.ev.time_ms = k->time_ms;
        msg.ev.u.tick = (td_tick_t){k->bid, k->ask, k->last, k->volume, k->flags};
    }
    return td_gw_format_msg(out, &msg);
}

static int64_t message_time(const feed_t *feed, uint64_t seq)
{
    if (!feed->n_ticks)
        return 0;
    if (seq < feed->first_msg)
        return first_time(feed);
    if (seq > feed->last_seq) /* not mapped yet: the next tick's (or the last one's) */
        return feed->ticks[feed->next_tick < feed->n_ticks ? feed->next_tick : feed->n_ticks - 1].time_ms;
    uint32_t m = feed->map[seq - feed->first_msg];
    if (m & MSG_EXEC) /* an EXEC carries the time of the tick it follows */
        return feed->execs[m & MSG_INDEX].time_ms;
    if (m & MSG_HEARTBEAT)
        return feed->hb_time[m & MSG_INDEX];
    return feed->ticks[m].time_ms;
}

/* ---- the message map ---- */

static td_err_t map_add(feed_t *feed, uint32_t entry)
{
    if (feed->n_map == feed->cap_map) {
        size_t cap = feed->cap_map ? feed->cap_map * 2 : 65536;
        uint32_t *p = realloc(feed->map, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        feed->map = p;
        feed->cap_map = cap;
    }
    feed->map[feed->n_map++] = entry;
    feed->last_seq = feed->first_msg + feed->n_map - 1;
    return TD_OK;
}

/* Stores one EXEC report and maps it to the next seq. */
static td_err_t add_exec(feed_t *feed, const char *symbol, int64_t time_ms, const td_exec_report_t *x)
{
    if (feed->n_exec == feed->cap_exec) {
        size_t cap = feed->cap_exec ? feed->cap_exec * 2 : 256;
        td_event_t *p = realloc(feed->execs, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        feed->execs = p;
        feed->cap_exec = cap;
    }
    td_event_t *ev = &feed->execs[feed->n_exec];
    memset(ev, 0, sizeof *ev);
    ev->kind = TD_EV_EXEC_REPORT;
    snprintf(ev->symbol, sizeof ev->symbol, "%s", symbol);
    ev->time_ms = time_ms;
    ev->u.exec = *x;
    return map_add(feed, (uint32_t)feed->n_exec++ | MSG_EXEC);
}

static bool bar_later(const feed_t *feed, int64_t t, int64_t last)
{
    return t > last && td_gw_clock_bar(t, feed->tf_ms, feed->day_offset_minutes) >
                           td_gw_clock_bar(last, feed->tf_ms, feed->day_offset_minutes);
}

/* Maps a heartbeat at time t; *barrier when the gateway makes a Clock of it for some symbol. */
static td_err_t map_heartbeat(feed_t *feed, int64_t t, bool *barrier)
{
    if (feed->n_hb == feed->cap_hb) {
        size_t cap = feed->cap_hb ? feed->cap_hb * 2 : 1024;
        int64_t *p = realloc(feed->hb_time, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        feed->hb_time = p;
        feed->cap_hb = cap;
    }
    feed->hb_time[feed->n_hb] = t;
    for (size_t i = 0; i < feed->n_syms; i++)
        if (bar_later(feed, t, feed->syms[i].last_ms)) {
            feed->syms[i].last_ms = t;
            *barrier = true;
        }
    return map_add(feed, (uint32_t)feed->n_hb++ | MSG_HEARTBEAT);
}

/* Maps the next tick, then the EXEC reports of what its symbol's fill model does at it. */
static td_err_t map_tick(feed_t *feed, bool *barrier)
{
    size_t i = feed->next_tick;
    TD_ASSERT(i < feed->n_ticks);
    td_err_t rc = TD_OK;
    /* orders of the journal received at this point of an earlier run */
    rc = td_feed_broker_replay(feed->broker, i, last_tick_time(feed));
    if (rc == TD_OK)
        rc = map_add(feed, (uint32_t)i);
    if (rc != TD_OK)
        return rc;
    feed->next_tick++;
    const feed_tick_t *k = &feed->ticks[i];
    feed_symbol_t *sym = &feed->syms[k->sym];
    if (bar_later(feed, k->time_ms, sym->last_ms))
        *barrier = true;
    if (k->time_ms > sym->last_ms)
        sym->last_ms = k->time_ms;
    td_tick_t tick = {k->bid, k->ask, k->last, k->volume, k->flags};
    const td_outbuf_t *fills = NULL;
    rc = td_feed_broker_on_tick(feed->broker, k->sym, k->time_ms, &tick, &fills);
    for (size_t j = 0; rc == TD_OK && j < fills->len; j++) {
        const td_exec_report_t *x = &fills->ev[j].u.exec;
        *barrier = true;
        rc = add_exec(feed, sym->name, k->time_ms, x);
        if (rc == TD_OK)
            rc = td_feed_broker_executed(feed->broker, x, feed->last_seq);
    }
    return rc;
}

static bool more_to_map(const feed_t *feed)
{
    return feed->next_tick < feed->n_ticks || (feed->hb_ms > 0 && !feed->hb_end_done && feed->n_ticks > 0);
}

/* Maps one step: a heartbeat that is due, or the next tick with its fills, or the day's last
 * heartbeat. With --sync-bars a step that can close a bar becomes the barrier. */
static td_err_t map_step(feed_t *feed)
{
    TD_ASSERT(more_to_map(feed));
    bool barrier = false;
    td_err_t rc;
    if (feed->next_tick < feed->n_ticks) {
        int64_t t = feed->ticks[feed->next_tick].time_ms;
        if (feed->hb_ms > 0 && t >= feed->hb_next) {
            int64_t at = t - ((t % feed->hb_ms) + feed->hb_ms) % feed->hb_ms; /* floor to the interval */
            feed->hb_next = at + feed->hb_ms;
            rc = map_heartbeat(feed, at, &barrier);
        } else {
            rc = map_tick(feed, &barrier);
        }
    } else { /* time passes to the end of the last tick's trading day */
        uint32_t day = td_time_trading_day(feed->ticks[feed->n_ticks - 1].time_ms, feed->day_offset_minutes);
        feed->hb_end_done = true;
        rc = map_heartbeat(feed, td_time_trading_day_start(td_time_next_day(day), feed->day_offset_minutes), &barrier);
    }
    if (rc == TD_OK && barrier && feed->sync)
        feed->barrier_seq = feed->last_seq;
    return rc;
}

/* ---- orders ---- */

static void on_order(feed_t *feed, const char *line, size_t len)
{
    feed->orders++;
    feed->last_order_at = td_mono_s();
    if (!feed->welcomed) { /* sent ahead of WELCOME: handled once the map is where the gateway is */
        char *copy = feed->n_pending < PENDING_MAX ? strndup(line, len) : NULL;
        if (copy)
            feed->pending[feed->n_pending++] = copy;
        else
            feed->broker_rc = TD_ERR_NOMEM;
        return;
    }
    td_err_t rc = td_feed_broker_order(feed->broker, line, len, feed->next_tick, last_tick_time(feed));
    if (rc != TD_OK)
        feed->broker_rc = rc;
}

/* ---- the state file and the journal ---- */

static void state_load(feed_t *feed)
{
    if (!feed->state_path)
        return;
    FILE *f = fopen(feed->state_path, "r");
    if (!f)
        return;
    uint64_t acked = 0, sent = 0;
    if (fscanf(f, "acked=%" SCNu64 " sent=%" SCNu64, &acked, &sent) == 2) {
        feed->acked = acked;
        feed->sent_max = sent;
    }
    fclose(f);
}

static void state_save(feed_t *feed)
{
    if (!feed->state_path)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", feed->state_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "acked=%" PRIu64 " sent=%" PRIu64 "\n", feed->acked, feed->sent_max);
    if (fclose(f) == 0)
        rename(tmp, feed->state_path);
}

/* After WELCOME acked=N: the map is rebuilt up to N and every journaled order, so nothing the
 * gateway holds is mapped differently; then the ORDERs that came before the WELCOME. */
static td_err_t catch_up(feed_t *feed, uint64_t acked)
{
    td_err_t rc = TD_OK;
    while (rc == TD_OK && more_to_map(feed) && (feed->last_seq < acked || td_feed_broker_replaying(feed->broker)))
        rc = map_step(feed);
    for (size_t i = 0; i < feed->n_pending; i++) {
        if (rc == TD_OK)
            rc = td_feed_broker_order(feed->broker, feed->pending[i], strlen(feed->pending[i]), feed->next_tick,
                                      last_tick_time(feed));
        free(feed->pending[i]);
    }
    feed->n_pending = 0;
    return rc;
}

/* ---- the gateway's lines ---- */

static bool on_gateway_line(void *opaque, const char *line, size_t len, bool oversized)
{
    feed_t *feed = opaque;
    if (oversized)
        return true;
    td_gw_reply_t *reply = &feed->reply;
    if (td_gw_parse_reply(line, len, reply, feed->err, sizeof feed->err) != TD_OK) {
        if (len > 6 && memcmp(line, "ORDER\t", 6) == 0) { /* counted as a malformed order */
            on_order(feed, line + 6, len - 6);
            return true;
        }
        feed->errors++;
        if (feed->errors <= 10)
            fprintf(stderr, "tapedeck feed: gateway: an unreadable line (%s): %.*s\n", feed->err,
                    (int)(len > 300 ? 300 : len), line);
        return true;
    }
    switch (reply->verb) {
    case TD_GW_ACK:
        if (reply->seq > feed->acked)
            feed->acked = reply->seq;
        break;
    case TD_GW_ERR:
        feed->errors++;
        if (!feed->welcomed)
            feed->refused = true;
        if (feed->errors <= 10)
            fprintf(stderr, "tapedeck feed: gateway: %.*s\n", (int)(len > 300 ? 300 : len), line);
        break;
    case TD_GW_WELCOME: {
        uint64_t acked = reply->acked;
        if (acked < feed->acked && !feed->drop_every)
            fprintf(stderr,
                    "tapedeck feed: the gateway has up to %" PRIu64 ", the state file says %" PRIu64
                    " was acknowledged: resending from %" PRIu64 "\n",
                    acked, feed->acked, acked + 1);
        /* --drop-every resends all it has not seen acknowledged, as an EA with a file of unacked
         * lines does; the gateway drops what it already has */
        uint64_t from = feed->drop_every && feed->acked < acked ? feed->acked : acked;
        feed->acked = acked;
        feed->next = from + 1 < SEQ_SPEC ? SEQ_SPEC : from + 1;
        feed->welcomed = true;
        td_err_t rc = catch_up(feed, acked);
        if (rc != TD_OK)
            feed->broker_rc = rc;
        break;
    }
    case TD_GW_ORDER: on_order(feed, line + 6, len - 6); break;
    case TD_GW_BYE:
        feed->bye = true;
        if (!feed->welcomed)
            feed->refused = true;
        snprintf(feed->bye_reason, sizeof feed->bye_reason, "%.255s", reply->text);
        return false;
    default: break;
    }
    return true;
}

/* ---- the session ---- */

static void session_close(feed_t *feed)
{
    if (feed->fd >= 0)
        close(feed->fd);
    feed->fd = -1;
    td_buf_reset(&feed->out);
    feed->out_off = 0;
    td_gw_lines_fini(&feed->lines);
    td_gw_lines_init(&feed->lines, TD_GW_LINE_MAX);
}

static bool session_open(feed_t *feed)
{
    feed->welcomed = feed->bye = feed->refused = false;
    feed->session_sent = 0;
    feed->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (feed->fd < 0)
        return false;
    if (connect(feed->fd, (struct sockaddr *)&feed->addr, sizeof feed->addr) != 0) {
        snprintf(feed->err, sizeof feed->err, "connect: %s", strerror(errno));
        session_close(feed);
        return false;
    }
    int one = 1;
    setsockopt(feed->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(feed->fd, F_SETFL, fcntl(feed->fd, F_GETFL) | O_NONBLOCK);
    td_gw_msg_t hello = {.verb = TD_GW_HELLO, .seq = 1, .hello.version = TD_GW_PROTOCOL_VERSION};
    snprintf(hello.hello.account, sizeof hello.hello.account, "%s", feed->account);
    snprintf(hello.hello.terminal, sizeof hello.hello.terminal, "%s", feed->terminal);
    snprintf(hello.hello.token, sizeof hello.hello.token, "%s", feed->token);
    return td_gw_format_msg(&feed->out, &hello) == TD_OK;
}

/* Writes what is queued; false when the connection failed. */
static bool session_write(feed_t *feed)
{
    while (feed->out_off < feed->out.len) {
        ssize_t n = send(feed->fd, feed->out.ptr + feed->out_off, feed->out.len - feed->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            feed->out_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            snprintf(feed->err, sizeof feed->err, "send: %s", n < 0 ? strerror(errno) : "closed");
            return false;
        }
    }
    td_buf_reset(&feed->out);
    feed->out_off = 0;
    return true;
}

/* Reads what arrived; false when the connection ended. */
static bool session_read(feed_t *feed)
{
    uint8_t buf[65536];
    for (;;) {
        ssize_t n = read(feed->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0) {
            snprintf(feed->err, sizeof feed->err, "%s", n < 0 ? strerror(errno) : "the gateway closed the connection");
            return false;
        }
        if (td_gw_lines_feed(&feed->lines, buf, (size_t)n, on_gateway_line, feed) != TD_OK) {
            if (feed->bye)
                snprintf(feed->err, sizeof feed->err, "the gateway said BYE: %s", feed->bye_reason);
            return false;
        }
    }
}

/* Queues messages up to the output bound, the pace and the barrier; returns the seconds until the
 * next is due (0 when none waits for the clock). *bounded tells whether it stopped at the output
 * bound with more to send: once the socket took the output, the next messages are queued at once,
 * without waiting for the gateway's reply (an EA pipelines; so does the feed). */
static double queue_messages(feed_t *feed, bool *bounded)
{
    double wait = 0;
    *bounded = false;
    while (feed->next <= feed->last_seq || more_to_map(feed)) {
        if (feed->out.len - feed->out_off >= OUT_HIGH) {
            *bounded = true;
            break;
        }
        if (feed->drop_every && feed->session_sent >= feed->drop_every)
            break;
        if (feed->window && feed->next > feed->acked + feed->window)
            break; /* the window is full: the gateway's next ACK opens it */
        if (feed->next > feed->last_seq && feed->acked < feed->barrier_seq)
            break; /* --sync-bars: the last step can close a bar; its orders come before its ACK */
        if (feed->speed > 0) {
            double due =
                feed->pace_wall0 + (double)(message_time(feed, feed->next) - feed->pace_time0) / 1000.0 / feed->speed;
            double now = td_mono_s();
            if (due > now) {
                wait = due - now;
                break;
            }
        }
        if (feed->next > feed->last_seq && (feed->broker_rc = map_step(feed)) != TD_OK)
            return 0;
        if (feed->next > feed->last_seq || format_message(feed, feed->next, &feed->out) != TD_OK)
            break;
        feed->sent++;
        feed->session_sent++;
        if (feed->next <= feed->sent_max)
            feed->resent++;
        else
            feed->sent_max = feed->next;
        feed->next++;
    }
    return wait;
}

/* One session: true when everything was acknowledged, false when the connection ended first. */
static bool session_run(feed_t *feed)
{
    double last_progress = td_mono_s(), last_save = 0;
    uint64_t last_acked = feed->acked;
    bool paced = false;
    double done_at = 0; /* when everything was first acknowledged: the linger starts */
    for (;;) {
        double wait = 0;
        bool bounded = false;
        if (feed->welcomed) {
            if (!paced) { /* the pace restarts with each session */
                feed->pace_wall0 = td_mono_s();
                feed->pace_time0 = message_time(feed, feed->next);
                paced = true;
            }
            wait = queue_messages(feed, &bounded);
            if (feed->next > feed->last_seq && !more_to_map(feed) && feed->out_off == feed->out.len &&
                feed->acked >= feed->last_seq) {
                double quiet = td_mono_s() - (feed->last_order_at > done_at ? feed->last_order_at : done_at);
                if (done_at == 0)
                    done_at = td_mono_s();
                else if (quiet >= feed->linger_s)
                    return true;
            }
        }
        if (feed->broker_rc != TD_OK) {
            snprintf(feed->err, sizeof feed->err, "the paper broker failed: %s", td_err_name(feed->broker_rc));
            return false;
        }
        if (!session_write(feed))
            return false;
        if (feed->drop_every && feed->session_sent >= feed->drop_every && feed->out_off == feed->out.len) {
            feed->drops++;
            snprintf(feed->err, sizeof feed->err, "dropped after %" PRIu64 " lines (--drop-every)", feed->session_sent);
            return false;
        }
        struct pollfd p = {feed->fd, POLLIN | (feed->out_off < feed->out.len ? POLLOUT : 0), 0};
        int timeout = wait > 0 ? (int)(wait * 1000) + 1 : 200;
        if (timeout > 200)
            timeout = 200;
        if (bounded && feed->out_off == feed->out.len)
            timeout = 0; /* the socket took it all: only look for replies, then queue more */
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
            snprintf(feed->err, sizeof feed->err, "poll: %s", strerror(errno));
            return false;
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !session_read(feed))
            return false;
        double now = td_mono_s();
        if (feed->acked != last_acked) {
            last_acked = feed->acked;
            last_progress = now;
        }
        if (now - last_save > 0.2) {
            state_save(feed);
            last_save = now;
        }
        bool waiting_for_gateway = !feed->welcomed || feed->acked < feed->next - 1;
        if (waiting_for_gateway && now - last_progress > WAIT_ACK_S) {
            snprintf(feed->err, sizeof feed->err, "no acknowledgement for %.0f s", WAIT_ACK_S);
            return false;
        }
    }
}

static int parse_args(feed_t *feed, int argc, char **argv, const char **format_name, const char **symbol,
                      const char **synthetic, const char **date, bool *fast)
{
    static const struct option longopts[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"token", required_argument, NULL, 't'},
        {"account", required_argument, NULL, 'a'},
        {"terminal", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"symbol", required_argument, NULL, 's'},
        {"synthetic", required_argument, NULL, 'Y'},
        {"date", required_argument, NULL, 'd'},
        {"hours", required_argument, NULL, 'O'},
        {"speed", required_argument, NULL, 'p'},
        {"fast", no_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},
        {"retry-s", required_argument, NULL, 'r'},
        {"linger-s", required_argument, NULL, 'L'},
        {"heartbeat-s", required_argument, NULL, 'H'},
        {"sync-bars", no_argument, NULL, 'B'},
        {"drop-every", required_argument, NULL, 'D'},
        {"window", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gateway = NULL;
    char *end;
    double hb = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'g': gateway = optarg; break;
        case 't': feed->token = optarg; break;
        case 'a': feed->account = optarg; break;
        case 'n': feed->terminal = optarg; break;
        case 'f': *format_name = optarg; break;
        case 's': *symbol = optarg; break;
        case 'Y': *synthetic = optarg; break;
        case 'd': *date = optarg; break;
        case 'O':
            feed->synth_hours = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || feed->synth_hours < 1 || feed->synth_hours > 24)
                return td_cli_usage(feed->cli, "--hours expects 1..24, found '%s'", optarg);
            break;
        case 'p':
            feed->speed = strtod(optarg, &end);
            if (!*optarg || *end || !(feed->speed > 0) || feed->speed > 1e9)
                return td_cli_usage(feed->cli, "--speed expects a factor > 0, found '%s'", optarg);
            break;
        case 'F': *fast = true; break;
        case 'S': feed->state_path = optarg; break;
        case 'r':
            feed->retry_s = strtod(optarg, &end);
            if (!*optarg || *end || !(feed->retry_s >= 0) || feed->retry_s > 86400)
                return td_cli_usage(feed->cli, "--retry-s expects seconds 0..86400, found '%s'", optarg);
            break;
        case 'L':
            feed->linger_s = strtod(optarg, &end);
            if (!*optarg || *end || !(feed->linger_s >= 0) || feed->linger_s > 3600)
                return td_cli_usage(feed->cli, "--linger-s expects seconds 0..3600, found '%s'", optarg);
            break;
        case 'H':
            hb = strtod(optarg, &end);
            if (!*optarg || *end || !(hb >= 0) || hb > 86400)
                return td_cli_usage(feed->cli, "--heartbeat-s expects seconds 0..86400, found '%s'", optarg);
            feed->hb_ms = (int64_t)(hb * 1000);
            if (hb > 0 && feed->hb_ms < 1)
                return td_cli_usage(feed->cli, "--heartbeat-s expects at least 0.001 s, found '%s'", optarg);
            break;
        case 'B': feed->sync = true; break;
        case 'D':
            feed->drop_every = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-' || feed->drop_every < 1)
                return td_cli_usage(feed->cli, "--drop-every expects a number of lines >= 1, found '%s'", optarg);
            break;
        case 'W':
            feed->window = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-' || feed->window > 100000000)
                return td_cli_usage(feed->cli, "--window expects a number of lines 0..100000000, found '%s'", optarg);
            break;
        case 'h': help(); return -1;
        default: return td_cli_usage(feed->cli, "unknown option (see tapedeck feed --help)");
        }
    }
    if (!gateway || td_gw_parse_address(gateway, &feed->addr, feed->err, sizeof feed->err) != TD_OK)
        return td_cli_usage(feed->cli, "--gateway expects HOST:PORT%s%s", gateway ? ": " : "",
                            gateway ? feed->err : "");
    if (!feed->token || !*feed->token)
        return td_cli_usage(feed->cli, "--token expects the gateway's token");
    if (!feed->account || !*feed->account || strlen(feed->account) > 31 || strpbrk(feed->account, "\t\r\n"))
        return td_cli_usage(feed->cli, "--account expects an account id of 1..31 characters");
    if (strpbrk(feed->token, "\t\r\n") || strlen(feed->token) > 127)
        return td_cli_usage(feed->cli, "--token expects at most 127 characters without TAB or line ends");
    if (strpbrk(feed->terminal, "\t\r\n") || strlen(feed->terminal) > 63)
        return td_cli_usage(feed->cli, "--terminal expects at most 63 characters without TAB or line ends");
    if (*fast && feed->speed > 0)
        return td_cli_usage(feed->cli, "--speed and --fast exclude each other");
    if (*synthetic) {
        if (*symbol || *format_name || optind < argc)
            return td_cli_usage(feed->cli, "--synthetic excludes --symbol, --format and FILEs");
        return TD_EXIT_OK;
    }
    if (*date || feed->synth_hours)
        return td_cli_usage(feed->cli, "--date and --hours go with --synthetic");
    if (*symbol && (!**symbol || strlen(*symbol) > TD_SYMBOL_MAX || strpbrk(*symbol, "\t\r\n=/")))
        return td_cli_usage(feed->cli, "--symbol expects a symbol name of 1..%d characters", TD_SYMBOL_MAX);
    if (optind >= argc)
        return td_cli_usage(feed->cli, "expected tick FILEs after the options (or --synthetic SET)");
    char name[TD_SYMBOL_MAX + 1];
    const char *path;
    for (int i = optind; i < argc; i++)
        if (!td_cli_tick_file(argv[i], *symbol, name, &path))
            return td_cli_usage(feed->cli, "'%s' names no symbol: write SYMBOL=FILE, or give --symbol S", argv[i]);
    return TD_EXIT_OK;
}

/* The ticks: the files (each of its symbol: SYMBOL=FILE, or --symbol's) or the synthetic day of a
 * set; several symbols are merged in time order (tick_cmp). */
static int load_ticks(feed_t *feed, int argc, char **argv, const char *format_name, const char *symbol,
                      const char *synthetic, const char *date)
{
    td_cli_t *cli = feed->cli;
    if (synthetic) {
        size_t n = 0;
        const td_synth_symbol_t *set = td_synth_set(synthetic, &n);
        uint32_t day;
        if (!set)
            return td_cli_usage(cli, "--synthetic expects demo or desk, found '%s'", synthetic);
        if (td_cli_parse_date(date ? date : "2024-01-02", &day) != TD_OK)
            return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", date);
        if (td_synth_configure(cli->config, set, n, feed->err, sizeof feed->err) != TD_OK)
            return td_cli_fail(cli, TD_ERR_CONFIG, "%s", feed->err);
        int64_t t0 = td_time_trading_day_start(day, feed->day_offset_minutes);
        feed->synth_until = t0 + (int64_t)(feed->synth_hours ? feed->synth_hours : 24) * 3600 * 1000;
        for (size_t i = 0; i < n; i++) {
            snprintf(feed->syms[i].name, sizeof feed->syms[i].name, "%s", set[i].name);
            feed->cur_sym = (uint32_t)i;
            td_err_t rc = td_synth_day(&set[i], t0, collect_synthetic, feed);
            if (rc == TD_ERR_END)
                rc = TD_OK;
            if (rc != TD_OK)
                return td_cli_fail(cli, rc, "the synthetic day of %s", set[i].name);
        }
        feed->n_syms = n;
        qsort(feed->ticks, feed->n_ticks, sizeof *feed->ticks, tick_cmp);
        return TD_EXIT_OK;
    }
    td_import_format_t format;
    if (!format_name || td_import_format_parse(format_name, &format) != TD_OK || td_import_format_is_bars(format))
        return td_cli_usage(cli, "--format expects a tick format (see tapedeck import --help), found '%s'",
                            format_name ? format_name : "");
    for (int i = optind; i < argc; i++) {
        char name[TD_SYMBOL_MAX + 1];
        const char *path;
        if (!td_cli_tick_file(argv[i], symbol, name, &path))
            return td_cli_usage(cli, "'%s' names no symbol", argv[i]);
        size_t k = 0;
        while (k < feed->n_syms && strcmp(feed->syms[k].name, name) != 0)
            k++;
        if (k == TD_FEED_SYMBOLS_MAX)
            return td_cli_usage(cli, "at most %d symbols, found more in '%s'", TD_FEED_SYMBOLS_MAX, argv[i]);
        if (k == feed->n_syms) {
            snprintf(feed->syms[k].name, sizeof feed->syms[k].name, "%s", name);
            td_config_symbol_spec(cli->config, name, &feed->syms[k].spec);
            feed->n_syms++;
        }
        td_import_opts_t iopts = {
            .format = format,
            .symbol = feed->syms[k].name,
            .price_divisor_digits = feed->syms[k].spec.digits,
        };
        feed->cur_sym = (uint32_t)k;
        td_import_stats_t st;
        td_err_t rc = td_import_file(path, &iopts, collect, feed, &st, feed->err, sizeof feed->err);
        if (rc != TD_OK)
            return td_cli_fail(cli, rc, "%s", feed->err);
    }
    if (feed->n_syms > 1)
        qsort(feed->ticks, feed->n_ticks, sizeof *feed->ticks, tick_cmp);
    return TD_EXIT_OK;
}

static void feed_fini(feed_t *feed)
{
    td_buf_fini(&feed->out);
    td_gw_lines_fini(&feed->lines);
    free(feed->ticks);
    free(feed->map);
    free(feed->execs);
    free(feed->hb_time);
    for (size_t i = 0; i < feed->n_pending; i++)
        free(feed->pending[i]);
    td_feed_broker_destroy(feed->broker);
}

int td_cmd_feed(td_cli_t *cli, int argc, char **argv)
{
    feed_t *feed = calloc(1, sizeof *feed);
    if (!feed)
        return td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    *feed = (feed_t){.cli = cli, .terminal = "tapedeck feed", .retry_s = 10, .fd = -1, .window = WINDOW_DEFAULT};
    td_buf_init(&feed->out);
    td_gw_lines_init(&feed->lines, TD_GW_LINE_MAX);
    const char *format_name = NULL, *symbol = NULL, *synthetic = NULL, *date = NULL;
    bool fast = false;
    int code = parse_args(feed, argc, argv, &format_name, &symbol, &synthetic, &date, &fast);
    if (code == TD_EXIT_OK) {
        if (fast)
            feed->speed = 0;
        else if (feed->speed == 0)
            feed->speed = 1;
        td_pipeline_config_t pcfg;
        td_host_pipeline_config(cli->config, &pcfg);
        feed->tf_ms = (int64_t)pcfg.timeframe_s * 1000;
        feed->day_offset_minutes = pcfg.day_offset_minutes;
        code = load_ticks(feed, argc, argv, format_name, symbol, synthetic, date);
    }
    if (code != TD_EXIT_OK) {
        feed_fini(feed);
        free(feed);
        return code == -1 ? TD_EXIT_OK : code;
    }
    feed->first_msg = SEQ_SPEC + feed->n_syms;
    feed->last_seq = feed->first_msg - 1; /* grows as messages are mapped */
    if (feed->n_ticks) {
        int64_t t0 = first_time(feed);
        feed->hb_next = feed->hb_ms > 0 ? t0 - ((t0 % feed->hb_ms) + feed->hb_ms) % feed->hb_ms + feed->hb_ms : 0;
    }
    td_feed_broker_config_t bcfg = {
        .slippage_points = td_config_int(cli->config, "broker.slippage_points"),
        .commission_per_lot = td_config_decimal(cli->config, "broker.commission_per_lot"),
        .day_offset_minutes = feed->day_offset_minutes,
        .log = stderr,
    };
    td_err_t rc = td_feed_broker_new(&bcfg, &feed->broker);
    for (size_t i = 0; rc == TD_OK && i < feed->n_syms; i++) {
        feed_symbol_t *sym = &feed->syms[i];
        td_config_symbol_spec(cli->config, sym->name, &sym->spec);
        rc = td_feed_broker_add_symbol(feed->broker, sym->name, &sym->spec);
        sym->last_ms = first_time(feed); /* the SPEC's time */
    }
    state_load(feed);
    if (rc == TD_OK && feed->state_path) {
        char path[4096];
        snprintf(path, sizeof path, "%s.broker", feed->state_path);
        rc = td_feed_broker_open_journal(feed->broker, path, feed->n_ticks, feed->err, sizeof feed->err);
    }
    if (rc != TD_OK) {
        code = td_cli_fail(cli, rc == TD_ERR_IO ? TD_ERR_PARSE : rc, "%s",
                           rc == TD_ERR_NOMEM ? "out of memory" : feed->err);
        feed_fini(feed);
        free(feed);
        return code;
    }
    td_feed_broker_stats_t bstats;
    td_feed_broker_stats(feed->broker, &bstats);
    printf("tapedeck feed: %zu ticks of %zu symbol(s)%s to %s:%u as account %s, %s%s\n", feed->n_ticks, feed->n_syms,
           synthetic ? " (SYNTHETIC, not market data)" : "", inet_ntoa(feed->addr.sin_addr),
           (unsigned)ntohs(feed->addr.sin_port), feed->account, feed->speed > 0 ? "paced" : "as fast as possible",
           feed->sync ? ", in step with the bars" : "");
    if (bstats.journal_orders)
        printf("tapedeck feed: journal: %zu order(s) of earlier runs, executions recorded up to seq %" PRIu64 "\n",
               bstats.journal_orders, bstats.journal_exec_max);
    fflush(stdout);

    double t0 = td_mono_s();
    bool done = false;
    while (!done) {
        double lost_at = td_mono_s();
        bool open = false;
        while (!(open = session_open(feed)) && td_mono_s() - lost_at < feed->retry_s) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!open) {
            code =
                td_cli_fail(cli, TD_ERR_IO, "gateway %s:%u unreachable for %.0f s: %s", inet_ntoa(feed->addr.sin_addr),
                            (unsigned)ntohs(feed->addr.sin_port), feed->retry_s, feed->err);
            break;
        }
        done = session_run(feed);
        session_close(feed);
        state_save(feed);
        if (!done && feed->broker_rc != TD_OK) {
            code = td_cli_fail(cli, feed->broker_rc, "%s", feed->err);
            break;
        }
        if (!done && feed->refused) {
            code = td_cli_fail(cli, TD_ERR_INVALID, "the gateway refused the session: %s",
                               feed->bye_reason[0] ? feed->bye_reason : feed->err);
            break;
        }
        if (!done) {
            feed->reconnects++;
            if (!feed->drop_every)
                fprintf(stderr, "tapedeck feed: connection lost (%s); reconnecting\n", feed->err);
        }
    }
    double dt = td_mono_s() - t0;
    td_feed_broker_stats(feed->broker, &bstats);
    printf("tapedeck feed: paper broker: %" PRIu64 " order(s) received, %" PRIu64 " executed, %" PRIu64
           " refused repeat(s), %" PRIu64 " malformed, %u unfilled (no tick after them), %" PRIu64
           " stop/target exit(s), %" PRIu64 " deal(s); at most %" PRIu32 " execution(s) per intent id\n",
           feed->orders, bstats.executed, bstats.repeats_refused, bstats.malformed, bstats.unfilled, bstats.exits,
           bstats.deals, bstats.most_executions);
    if (feed->state_path)
        printf("tapedeck feed: journal %s.broker: %zu intent id(s), %zu executed, at most %" PRIu32
               " execution(s) per intent id over every run\n",
               feed->state_path, bstats.intents, bstats.intents_executed, bstats.most_executions);
    printf("tapedeck feed: %" PRIu64 " lines sent (%" PRIu64 " resent), acked up to %" PRIu64 " of %" PRIu64
           ", %" PRIu64 " error(s), %" PRIu64 " order(s), %" PRIu64 " reconnect(s) (%" PRIu64
           " dropped on purpose), %.3f s, %.0f lines/s\n",
           feed->sent, feed->resent, feed->acked, feed->last_seq, feed->errors, feed->orders, feed->reconnects,
           feed->drops, dt, dt > 0 ? (double)feed->sent / dt : 0.0);
    if (code == TD_EXIT_OK && feed->errors)
        code = td_cli_fail(cli, TD_ERR_MISMATCH, "the gateway refused %" PRIu64 " line(s)", feed->errors);
    feed_fini(feed);
    free(feed);
    return code;
}
