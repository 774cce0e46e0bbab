/* cmd_feed.c - `tapedeck feed`: the MT5 stand-in, the EA's side of the line protocol over TCP.
 *
 * It parses the tick files first (td_import_file). HELLO is 1, the symbol spec 2, then the ticks in
 * file order, each followed by the EXEC reports of the fills it caused (below). The message map
 * (sequence number -> tick or EXEC report) is built as ticks are queued and kept for the whole run,
 * so a resend after a reconnect is exact: WELCOME acked=N says where the gateway stands and the
 * feed sends from N + 1. Without orders the map is simply tick i = i + 3, which is what makes a
 * killed and restarted feed (state file) exact too. The gateway does not record HELLO's sequence
 * number, so every session's HELLO is 1.
 *
 * The paper broker: an ORDER from the gateway is queued in the shared fill model (td_fill_submit)
 * and filled at the next tick the feed queues (td_fill_on_tick), which also checks the position's
 * stop-loss and take-profit; each resulting deal is sent as an EXEC line right after that tick.
 * An intent id the feed has already queued or executed is refused (counted, never executed
 * twice): that is the EA's guard against an ORDER resent after a reconnect. The broker's state
 * (and so that guard) lives in this process only: a restarted feed starts flat.
 *
 * One thread, one socket, poll(): lines are written ahead of the acknowledgements (pipelined) and
 * ACK/ERR/ORDER/BYE lines are read as they come. The state file holds the last acknowledged and the
 * highest sent sequence numbers (rewritten atomically a few times a second and at the end), so a
 * restarted feed can tell what it resends.
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
#include "core/fixed.h"
#include "core/timeutil.h"
#include "gateway/protocol.h"
#include "gateway/server.h"
#include "import/import.h"
#include "processors/fill.h"

#define SEQ_SPEC 2
#define SEQ_FIRST_TICK 3
#define OUT_HIGH (256u * 1024)
#define WAIT_ACK_S 30.0

static void help(void)
{
    printf("usage: tapedeck feed --gateway HOST:PORT --token T --account A --format F --symbol S\n"
           "                     [--speed N | --fast] [--state FILE] [--retry-s N] FILE...\n"
           "\n"
           "The MT5 stand-in: connects to the gateway like the Expert Advisor does (docs/PROTOCOL.md),\n"
           "sends HELLO, the symbol spec from the config's symbols.S section, then every tick of the\n"
           "FILEs (parsed as tapedeck import does) as TICK lines, and waits until all are acknowledged.\n"
           "Sequence numbers are fixed by the files (HELLO 1, spec 2, ticks from 3), so after a\n"
           "reconnect - or a restart with the same files - it resends exactly what the gateway lacks.\n"
           "\n"
           "options:\n"
           "  --gateway HOST:PORT  where the gateway listens\n"
           "  --token T            the gateway's gateway.token\n"
           "  --account A          the account id in HELLO (the gateway keeps one sequence per account)\n"
           "  --terminal NAME      the terminal name in HELLO (default \"tapedeck feed\")\n"
           "  --format F           the files' format (tick formats of tapedeck import --help)\n"
           "  --symbol S           the symbol of the ticks\n"
           "  --speed N            N times real time (default 1)\n"
           "  --fast               as fast as possible\n"
           "  --state FILE         keeps the last acknowledged and highest sent sequence numbers\n"
           "  --retry-s N          keep reconnecting for N seconds after a lost connection (default 10)\n"
           "\n"
           "  --linger-s N         after the last acknowledgement, wait N seconds for late ORDERs\n"
           "                       (default 0)\n"
           "\n"
           "The paper broker: an ORDER from the gateway is filled with the shared fill model\n"
           "(broker.slippage_points, broker.commission_per_lot) at the next tick sent, and reported\n"
           "as an EXEC line; the position's stop-loss and take-profit exits are reported too. An\n"
           "intent id already executed is refused. The summary counts orders received, executed\n"
           "and refused repeats.\n"
           "Exit codes: 0 every line acknowledged, 1 the gateway refused some lines (ERR), 2 bad usage,\n"
           "bad files or a refused HELLO, 3 the gateway unreachable for longer than --retry-s.\n");
}

typedef struct feed_tick {
    int64_t time_ms;
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
} feed_tick_t;

#define MSG_EXEC 0x80000000u /* a message map entry: EXEC report index | MSG_EXEC, else tick index */

typedef struct feed_intent {
    char id[TD_ID_MAX + 1];
    uint32_t executions;
} feed_intent_t;

typedef struct feed {
    td_cli_t *cli;
    const char *symbol, *account, *token, *terminal, *state_path;
    struct sockaddr_in addr;
    double speed; /* 0 = as fast as possible */
    double retry_s;
    feed_tick_t *ticks;
    size_t n_ticks, cap_ticks;
    td_symbol_spec_t spec;
    uint64_t last_seq; /* of the last message mapped so far */
    /* the message map: seq SEQ_FIRST_TICK + i -> map[i] */
    uint32_t *map;
    size_t n_map, cap_map;
    size_t next_tick;   /* the first tick not mapped yet */
    td_buf_t exec_text; /* the EXEC lines' fields after the sequence number, one after another */
    size_t *exec_off;   /* start of report i in exec_text; exec_off[n_exec] = its end */
    int64_t *exec_time; /* report i's time (its tick's), for the pace */
    size_t n_exec, cap_exec;
    /* the paper broker */
    td_fill_t fill;
    int day_offset_minutes;
    td_outbuf_t fills;
    feed_intent_t *intents; /* every intent id ever queued, in arrival order */
    size_t n_intents, cap_intents;
    uint64_t orders_executed, repeats_refused, orders_bad, exits, deals;
    td_err_t broker_rc; /* sticky: the fill model failed; the feed stops */
    double linger_s;
    /* progress */
    uint64_t acked;    /* highest acknowledged */
    uint64_t sent_max; /* highest ever sent (this run or, from the state file, before) */
    uint64_t next;     /* next to send in this session */
    uint64_t sent, resent, errors, orders, reconnects;
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
    char err[1024];
} feed_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static td_err_t collect(void *opaque, const td_event_t *ev)
{
    feed_t *feed = opaque;
    if (ev->kind != TD_EV_TICK)
        return TD_OK;
    if (feed->n_ticks == feed->cap_ticks) {
        size_t cap = feed->cap_ticks ? feed->cap_ticks * 2 : 65536;
        feed_tick_t *p = realloc(feed->ticks, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        feed->ticks = p;
        feed->cap_ticks = cap;
    }
    feed->ticks[feed->n_ticks++] = (feed_tick_t){ev->time_ms,     ev->u.tick.bid,    ev->u.tick.ask,
                                                 ev->u.tick.last, ev->u.tick.volume, ev->u.tick.flags};
    return TD_OK;
}

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

static td_err_t format_message(feed_t *feed, uint64_t seq, td_buf_t *out)
{
    char a[40], b[40], c[40], d[40], e[40], f[40], g[40], h[40];
    if (seq == SEQ_SPEC) {
        static const char *modes[] = {"disabled", "points", "money", "interest"};
        const td_symbol_spec_t *s = &feed->spec;
        int64_t t = feed->n_ticks ? feed->ticks[0].time_ms : 0;
        return td_buf_printf(out,
                             "SPEC\t%" PRIu64 "\tsymbol=%s\ttime=%" PRId64 "\tdigits=%u\tcontract_size=%s\ttick_size=%s"
                             "\ttick_value=%s\tswap_long=%s\tswap_short=%s\tswap_mode=%s\ttriple_swap_weekday=%u"
                             "\tvolume_step=%s\tvolume_min=%s\tvolume_max=%s\n",
                             seq, feed->symbol, t, s->digits, dec(s->contract_size, a), dec(s->tick_size, b),
                             dec(s->tick_value, c), dec(s->swap_long, d), dec(s->swap_short, e),
                             modes[(unsigned)s->swap_mode & 3], s->triple_swap_weekday, dec(s->volume_step, f),
                             dec(s->volume_min, g), dec(s->volume_max, h));
    }
    uint32_t m = feed->map[seq - SEQ_FIRST_TICK];
    if (m & MSG_EXEC) {
        size_t i = m & ~MSG_EXEC;
        td_err_t rc = td_buf_printf(out, "EXEC\t%" PRIu64, seq);
        if (rc == TD_OK)
            rc = td_buf_append(out, feed->exec_text.ptr + feed->exec_off[i], feed->exec_off[i + 1] - feed->exec_off[i]);
        return rc;
    }
    const feed_tick_t *k = &feed->ticks[m];
    td_err_t rc = td_buf_printf(out, "TICK\t%" PRIu64 "\tsymbol=%s\ttime=%" PRId64 "\tbid=%s\task=%s", seq,
                                feed->symbol, k->time_ms, dec(k->bid, a), dec(k->ask, b));
    if (rc == TD_OK && k->last)
        rc = td_buf_printf(out, "\tlast=%s", dec(k->last, c));
    if (rc == TD_OK && k->volume)
        rc = td_buf_printf(out, "\tvolume=%s", dec(k->volume, d));
    if (rc == TD_OK && k->flags)
        rc = td_buf_printf(out, "\tflags=%" PRIu32, k->flags);
    return rc == TD_OK ? td_buf_append(out, "\n", 1) : rc;
}

static int64_t message_time(const feed_t *feed, uint64_t seq)
{
    if (!feed->n_ticks)
        return 0;
    if (seq < SEQ_FIRST_TICK)
        return feed->ticks[0].time_ms;
    if (seq > feed->last_seq) /* not mapped yet: the next tick's */
        return feed->ticks[feed->next_tick < feed->n_ticks ? feed->next_tick : feed->n_ticks - 1].time_ms;
    uint32_t m = feed->map[seq - SEQ_FIRST_TICK];
    if (m & MSG_EXEC) /* an EXEC carries the time of the tick it follows */
        return feed->exec_time[m & ~MSG_EXEC];
    return feed->ticks[m].time_ms;
}

/* ---- the paper broker ---- */

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
    feed->last_seq = SEQ_FIRST_TICK + feed->n_map - 1;
    return TD_OK;
}

static feed_intent_t *intent_find(feed_t *feed, const char *id)
{
    for (size_t i = feed->n_intents; i-- > 0;)
        if (strcmp(feed->intents[i].id, id) == 0)
            return &feed->intents[i];
    return NULL;
}

/* Stores the fields of one EXEC report (after the sequence number) and maps it to the next seq. */
static td_err_t add_exec(feed_t *feed, int64_t time_ms, const td_exec_report_t *x)
{
    char a[40], b[40], c[40], d[40], e[40];
    if (feed->n_exec + 2 > feed->cap_exec) {
        size_t cap = feed->cap_exec ? feed->cap_exec * 2 : 256;
        size_t *p = realloc(feed->exec_off, cap * sizeof *p);
        if (p)
            feed->exec_off = p;
        int64_t *q = p ? realloc(feed->exec_time, cap * sizeof *q) : NULL;
        if (!q)
            return TD_ERR_NOMEM;
        feed->exec_time = q;
        feed->cap_exec = cap;
    }
    feed->exec_off[feed->n_exec] = feed->exec_text.len;
    td_err_t rc = td_buf_printf(&feed->exec_text,
                                "\tsymbol=%s\ttime=%" PRId64 "\tintent=%s\tdeal=%" PRIu64 "\torder=%" PRIu64
                                "\tposition=%" PRIu64 "\tside=%s\tprice=%s\tvolume=%s\tcommission=%s\tswap=%s"
                                "\tprofit=%s\tstatus=filled%s%s\n",
                                feed->symbol, time_ms, x->intent_id, x->deal_id, x->order_id, x->position_id,
                                x->side == TD_SIDE_BUY ? "buy" : "sell", dec(x->price, a), dec(x->volume, b),
                                dec(x->commission, c), dec(x->swap, d), dec(x->profit, e),
                                x->reason[0] ? "\treason=" : "", x->reason);
    if (rc != TD_OK) {
        feed->exec_text.len = feed->exec_off[feed->n_exec];
        return rc;
    }
    feed->exec_time[feed->n_exec] = time_ms;
    feed->exec_off[++feed->n_exec] = feed->exec_text.len;
    return map_add(feed, (uint32_t)(feed->n_exec - 1) | MSG_EXEC);
}

/* Maps the next tick, then the EXEC reports of what the fill model does at it. */
static td_err_t map_next_tick(feed_t *feed)
{
    size_t i = feed->next_tick;
    TD_ASSERT(i < feed->n_ticks);
    td_err_t rc = map_add(feed, (uint32_t)i);
    if (rc != TD_OK)
        return rc;
    feed->next_tick++;
    const feed_tick_t *k = &feed->ticks[i];
    if (feed->fill.n_queue == 0 && td_fill_volume(&feed->fill) == 0)
        return TD_OK; /* nothing to fill, no position to stop: the common case, kept cheap */
    td_tick_t tick = {k->bid, k->ask, k->last, k->volume, k->flags};
    td_outbuf_clear(&feed->fills);
    rc = td_fill_on_tick(&feed->fill, &feed->spec, k->time_ms, &tick, feed->day_offset_minutes, &feed->fills);
    for (size_t j = 0; rc == TD_OK && j < feed->fills.len; j++) {
        const td_exec_report_t *x = &feed->fills.ev[j].u.exec;
        feed->deals++;
        feed_intent_t *it = intent_find(feed, x->intent_id);
        if (it) {
            it->executions++;
            feed->orders_executed++;
        } else {
            feed->exits++; /* "sl:<id>" / "tp:<id>" */
        }
        rc = add_exec(feed, k->time_ms, x);
    }
    return rc;
}

/* Splits "KEY=VALUE" fields of an ORDER line; returns the value of key or NULL. */
static const char *order_field(const char *line, size_t len, const char *key, size_t *vlen)
{
    size_t klen = strlen(key);
    const char *p = line, *end = line + len;
    while (p < end) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        const char *fend = tab ? tab : end;
        if ((size_t)(fend - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            *vlen = (size_t)(fend - p) - klen - 1;
            return p + klen + 1;
        }
        p = fend + 1;
    }
    return NULL;
}

static bool order_price(const char *line, size_t len, const char *key, int64_t *v)
{
    size_t n = 0;
    const char *p = order_field(line, len, key, &n);
    int rounded = 0;
    return p && td_fx_parse(p, n, v, &rounded) == TD_OK && *v >= 0;
}

/* An ORDER line: queue it in the fill model unless its intent id is known. */
static void on_order(feed_t *feed, const char *line, size_t len)
{
    feed->orders++;
    feed->last_order_at = now_s();
    td_order_intent_t intent;
    memset(&intent, 0, sizeof intent);
    size_t n = 0;
    const char *id = order_field(line, len, "intent", &n);
    const char *sym = NULL, *side = NULL;
    size_t sym_n = 0, side_n = 0;
    bool ok = id && n > 0 && n <= TD_ID_MAX;
    if (ok) {
        memcpy(intent.intent_id, id, n);
        sym = order_field(line, len, "symbol", &sym_n);
        side = order_field(line, len, "side", &side_n);
        ok = sym && sym_n == strlen(feed->symbol) && memcmp(sym, feed->symbol, sym_n) == 0 && side;
    }
    if (ok) {
        if (side_n == 3 && memcmp(side, "buy", 3) == 0)
            intent.side = TD_SIDE_BUY;
        else if (side_n == 4 && memcmp(side, "sell", 4) == 0)
            intent.side = TD_SIDE_SELL;
        else
            ok = false;
    }
    ok = ok && order_price(line, len, "volume", &intent.volume) && order_price(line, len, "sl", &intent.stop_loss) &&
         order_price(line, len, "tp", &intent.take_profit);
    if (!ok) {
        feed->orders_bad++;
        fprintf(stderr, "tapedeck feed: refused a malformed ORDER: %.*s\n", (int)(len > 300 ? 300 : len), line);
        return;
    }
    if (intent_find(feed, intent.intent_id)) {
        feed->repeats_refused++;
        fprintf(stderr, "tapedeck feed: refused ORDER intent=%s: this intent id was already received\n",
                intent.intent_id);
        return;
    }
    if (feed->n_intents == feed->cap_intents) {
        size_t cap = feed->cap_intents ? feed->cap_intents * 2 : 64;
        feed_intent_t *p = realloc(feed->intents, cap * sizeof *p);
        if (!p) {
            feed->orders_bad++;
            return;
        }
        feed->intents = p;
        feed->cap_intents = cap;
    }
    int64_t t = feed->next_tick ? feed->ticks[feed->next_tick - 1].time_ms : 0;
    td_err_t rc = td_fill_submit(&feed->fill, t, &intent);
    if (rc != TD_OK) {
        feed->orders_bad++;
        fprintf(stderr, "tapedeck feed: cannot queue ORDER intent=%s: %s\n", intent.intent_id, td_err_name(rc));
        return;
    }
    feed_intent_t *it = &feed->intents[feed->n_intents++];
    memcpy(it->id, intent.intent_id, sizeof it->id);
    it->executions = 0;
}

/* ---- the state file ---- */

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

/* ---- the gateway's lines ---- */

static bool field_u64(const char *p, size_t len, uint64_t *v)
{
    if (!len || len > 20)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        x = x * 10 + (uint64_t)(p[i] - '0');
    }
    *v = x;
    return true;
}

static bool on_gateway_line(void *opaque, const char *line, size_t len, bool oversized)
{
    feed_t *feed = opaque;
    if (oversized)
        return true;
    if (len > 4 && memcmp(line, "ACK\t", 4) == 0) {
        uint64_t seq;
        if (field_u64(line + 4, len - 4, &seq) && seq > feed->acked)
            feed->acked = seq;
    } else if (len > 4 && memcmp(line, "ERR\t", 4) == 0) {
        feed->errors++;
        if (!feed->welcomed)
            feed->refused = true;
        if (feed->errors <= 10)
            fprintf(stderr, "tapedeck feed: gateway: %.*s\n", (int)(len > 300 ? 300 : len), line);
    } else if (len > 8 && memcmp(line, "WELCOME\t", 8) == 0) {
        const char *p = memmem(line, len, "acked=", 6);
        uint64_t acked = 0;
        if (p && field_u64(p + 6, len - (size_t)(p + 6 - line), &acked)) {
            if (acked < feed->acked)
                fprintf(stderr,
                        "tapedeck feed: the gateway has up to %" PRIu64 ", the state file says %" PRIu64
                        " was acknowledged: resending from %" PRIu64 "\n",
                        acked, feed->acked, acked + 1);
            feed->acked = acked;
            feed->next = acked + 1 < SEQ_SPEC ? SEQ_SPEC : acked + 1;
            feed->welcomed = true;
        }
    } else if (len > 6 && memcmp(line, "ORDER\t", 6) == 0) {
        on_order(feed, line + 6, len - 6);
    } else if (len >= 3 && memcmp(line, "BYE", 3) == 0) {
        feed->bye = true;
        if (!feed->welcomed)
            feed->refused = true;
        snprintf(feed->bye_reason, sizeof feed->bye_reason, "%.*s", (int)(len > 4 ? len - 4 : 0), line + 4);
        return false;
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
    td_err_t rc = td_buf_printf(&feed->out, "HELLO\t1\tversion=%d\taccount=%s\tterminal=%s\ttoken=%s\n",
                                TD_GW_PROTOCOL_VERSION, feed->account, feed->terminal, feed->token);
    return rc == TD_OK;
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

/* Queues messages up to the output bound and the pace; returns the seconds until the next is due
 * (0 when none waits for the clock). */
static double queue_messages(feed_t *feed)
{
    double wait = 0;
    while ((feed->next <= feed->last_seq || feed->next_tick < feed->n_ticks) &&
           feed->out.len - feed->out_off < OUT_HIGH) {
        if (feed->speed > 0) {
            double due =
                feed->pace_wall0 + (double)(message_time(feed, feed->next) - feed->pace_time0) / 1000.0 / feed->speed;
            double now = now_s();
            if (due > now) {
                wait = due - now;
                break;
            }
        }
        while (feed->next > feed->last_seq && feed->next_tick < feed->n_ticks)
            if ((feed->broker_rc = map_next_tick(feed)) != TD_OK)
                return 0;
        if (feed->next > feed->last_seq || format_message(feed, feed->next, &feed->out) != TD_OK)
            break;
        feed->sent++;
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
    double last_progress = now_s(), last_save = 0;
    uint64_t last_acked = feed->acked;
    bool paced = false;
    double done_at = 0; /* when everything was first acknowledged: the linger starts */
    for (;;) {
        double wait = 0;
        if (feed->welcomed) {
            if (!paced) { /* the pace restarts with each session */
                feed->pace_wall0 = now_s();
                feed->pace_time0 = message_time(feed, feed->next);
                paced = true;
            }
            wait = queue_messages(feed);
            if (feed->next > feed->last_seq && feed->next_tick == feed->n_ticks && feed->out_off == feed->out.len &&
                feed->acked >= feed->last_seq) {
                double quiet = now_s() - (feed->last_order_at > done_at ? feed->last_order_at : done_at);
                if (done_at == 0)
                    done_at = now_s();
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
        struct pollfd p = {feed->fd, POLLIN | (feed->out_off < feed->out.len ? POLLOUT : 0), 0};
        int timeout = wait > 0 ? (int)(wait * 1000) + 1 : 200;
        if (timeout > 200)
            timeout = 200;
        if (poll(&p, 1, timeout) < 0 && errno != EINTR) {
            snprintf(feed->err, sizeof feed->err, "poll: %s", strerror(errno));
            return false;
        }
        if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && !session_read(feed))
            return false;
        double now = now_s();
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

static int parse_args(feed_t *feed, int argc, char **argv, const char **format_name, bool *fast)
{
    static const struct option longopts[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"token", required_argument, NULL, 't'},
        {"account", required_argument, NULL, 'a'},
        {"terminal", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},
        {"symbol", required_argument, NULL, 's'},
        {"speed", required_argument, NULL, 'p'},
        {"fast", no_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},
        {"retry-s", required_argument, NULL, 'r'},
        {"linger-s", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *gateway = NULL;
    char *end;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'g': gateway = optarg; break;
        case 't': feed->token = optarg; break;
        case 'a': feed->account = optarg; break;
        case 'n': feed->terminal = optarg; break;
        case 'f': *format_name = optarg; break;
        case 's': feed->symbol = optarg; break;
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
    if (!feed->symbol || !*feed->symbol || strlen(feed->symbol) > TD_SYMBOL_MAX || strpbrk(feed->symbol, "\t\r\n="))
        return td_cli_usage(feed->cli, "--symbol expects a symbol name of 1..%d characters", TD_SYMBOL_MAX);
    if (strpbrk(feed->token, "\t\r\n") || strlen(feed->token) > 127)
        return td_cli_usage(feed->cli, "--token expects at most 127 characters without TAB or line ends");
    if (strpbrk(feed->terminal, "\t\r\n") || strlen(feed->terminal) > 63)
        return td_cli_usage(feed->cli, "--terminal expects at most 63 characters without TAB or line ends");
    if (*fast && feed->speed > 0)
        return td_cli_usage(feed->cli, "--speed and --fast exclude each other");
    if (optind >= argc)
        return td_cli_usage(feed->cli, "expected tick FILEs after the options");
    return TD_EXIT_OK;
}

int td_cmd_feed(td_cli_t *cli, int argc, char **argv)
{
    feed_t feed = {.cli = cli, .terminal = "tapedeck feed", .retry_s = 10, .fd = -1};
    const char *format_name = NULL;
    bool fast = false;
    int code = parse_args(&feed, argc, argv, &format_name, &fast);
    if (code == -1)
        return TD_EXIT_OK;
    if (code != TD_EXIT_OK)
        return code;
    if (fast)
        feed.speed = 0;
    else if (feed.speed == 0)
        feed.speed = 1;
    td_import_format_t format;
    if (!format_name || td_import_format_parse(format_name, &format) != TD_OK || td_import_format_is_bars(format))
        return td_cli_usage(cli, "--format expects a tick format (see tapedeck import --help), found '%s'",
                            format_name ? format_name : "");

    td_config_symbol_spec(cli->config, feed.symbol, &feed.spec);
    td_import_opts_t iopts = {
        .format = format,
        .symbol = feed.symbol,
        .price_divisor_digits = feed.spec.digits,
    };
    for (int i = optind; i < argc; i++) {
        td_import_stats_t st;
        td_err_t rc = td_import_file(argv[i], &iopts, collect, &feed, &st, feed.err, sizeof feed.err);
        if (rc != TD_OK) {
            free(feed.ticks);
            return td_cli_fail(cli, rc, "%s", feed.err);
        }
    }
    feed.last_seq = SEQ_SPEC; /* grows as ticks (and fills) are mapped */
    uint32_t h = 2166136261u; /* FNV-1a of the symbol: deal and order ids apart per symbol, as the host's */
    for (const char *p = feed.symbol; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    td_fill_config_t fcfg = {
        .slippage_points = td_config_int(cli->config, "broker.slippage_points"),
        .commission_per_lot = td_config_decimal(cli->config, "broker.commission_per_lot"),
        .id_base = (uint64_t)(h & 0x7fffffffu) << 24,
    };
    td_fill_init(&feed.fill, &fcfg);
    feed.day_offset_minutes = (int)td_config_int(cli->config, "session.day_offset_minutes");
    td_outbuf_init(&feed.fills);
    td_buf_init(&feed.exec_text);
    state_load(&feed);
    td_buf_init(&feed.out);
    td_gw_lines_init(&feed.lines, TD_GW_LINE_MAX);
    printf("tapedeck feed: %zu ticks of %s to %s:%u as account %s, %s\n", feed.n_ticks, feed.symbol,
           inet_ntoa(feed.addr.sin_addr), (unsigned)ntohs(feed.addr.sin_port), feed.account,
           feed.speed > 0 ? "paced" : "as fast as possible");
    fflush(stdout);

    double t0 = now_s();
    bool done = false;
    code = TD_EXIT_OK;
    while (!done) {
        double lost_at = now_s();
        bool open = false;
        while (!(open = session_open(&feed)) && now_s() - lost_at < feed.retry_s) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (!open) {
            code =
                td_cli_fail(cli, TD_ERR_IO, "gateway %s:%u unreachable for %.0f s: %s", inet_ntoa(feed.addr.sin_addr),
                            (unsigned)ntohs(feed.addr.sin_port), feed.retry_s, feed.err);
            break;
        }
        done = session_run(&feed);
        session_close(&feed);
        state_save(&feed);
        if (!done && feed.broker_rc != TD_OK) {
            code = td_cli_fail(cli, feed.broker_rc, "%s", feed.err);
            break;
        }
        if (!done && feed.refused) {
            code = td_cli_fail(cli, TD_ERR_INVALID, "the gateway refused the session: %s",
                               feed.bye_reason[0] ? feed.bye_reason : feed.err);
            break;
        }
        if (!done) {
            feed.reconnects++;
            fprintf(stderr, "tapedeck feed: connection lost (%s); reconnecting\n", feed.err);
        }
    }
    double dt = now_s() - t0;
    uint32_t most = 0;
    for (size_t i = 0; i < feed.n_intents; i++)
        most = feed.intents[i].executions > most ? feed.intents[i].executions : most;
    printf("tapedeck feed: paper broker: %" PRIu64 " order(s) received, %" PRIu64 " executed, %" PRIu64
           " refused repeat(s), %" PRIu64 " malformed, %u unfilled (no tick after them), %" PRIu64
           " stop/target exit(s), %" PRIu64 " deal(s); at most %" PRIu32 " execution(s) per intent id\n",
           feed.orders, feed.orders_executed, feed.repeats_refused, feed.orders_bad, feed.fill.n_queue, feed.exits,
           feed.deals, most);
    printf("tapedeck feed: %" PRIu64 " lines sent (%" PRIu64 " resent), acked up to %" PRIu64 " of %" PRIu64
           ", %" PRIu64 " error(s), %" PRIu64 " order(s), %" PRIu64 " reconnect(s), %.3f s, %.0f lines/s\n",
           feed.sent, feed.resent, feed.acked, feed.last_seq, feed.errors, feed.orders, feed.reconnects, dt,
           dt > 0 ? (double)feed.sent / dt : 0.0);
    if (code == TD_EXIT_OK && feed.errors)
        code = td_cli_fail(cli, TD_ERR_MISMATCH, "the gateway refused %" PRIu64 " line(s)", feed.errors);
    td_buf_fini(&feed.out);
    td_gw_lines_fini(&feed.lines);
    free(feed.ticks);
    free(feed.map);
    free(feed.exec_off);
    free(feed.exec_time);
    free(feed.intents);
    td_buf_fini(&feed.exec_text);
    td_outbuf_fini(&feed.fills);
    return code;
}
