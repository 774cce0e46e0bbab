/* td_live_prop.c - the property test's driver of the live path (issue 19): plays random sessions
 * of several accounts against a running gateway over TCP and writes a ledger of what it sent and
 * what the gateway answered, for it_live_prop.sh to check against the tape.
 *
 *   td_live_prop --port P --token T --seed S --sessions N --from-ms F --ledger FILE
 *                --account A=SYM[,SYM...] [--account ...] [--lines N] [--no-gaps]
 *
 * Each session round connects every account at once (so the router has several sessions to pick
 * from), says HELLO, sends a SPEC per symbol of the account and then a few hundred lines in chunks,
 * the accounts' chunks interleaved: mostly valid TICK/SPEC/EXEC/HEARTBEAT lines of the account's
 * own symbols with times increasing from F by a few seconds a line, mixed with invalid ones (a
 * sequence jump, a resend of an acknowledged line, numbers just outside the protocol's bounds and
 * just inside them, symbols that break td_symbol_valid, times far ahead of the clock, garbage
 * bytes, an oversized line, a wrong token, a line of another account's symbol). Every line is
 * formatted by gateway/protocol.h (an invalid one is a valid line with one value replaced) and
 * every reply parsed by td_gw_parse_reply. After each chunk the driver reads until every line of
 * it is answered (ERR with its number, or an ACK at or above it) or 3 s pass; every read has a
 * timeout and a run ends within a few seconds. ACK is cumulative, so an ACK may cover a line before
 * the gateway read it when it took a jump above it; an ERR for the line overrides it (the
 * driver reads on until the gateway is quiet).
 *
 * The ledger has one line per line sent (and one per ORDER received), space-separated key=value:
 *   line seed= round= account= seq= class= verb= symbol= kind= time= status= [err=...]
 * (kind and time as `tapedeck dump` prints them: tick, symbol_spec, execution_report, clock)
 *   order seed= round= account= symbol= intent=
 * status: acked (an ACK at or above seq, no ERR), refused (ERR), noreply, afterbye. The class
 * says what the line was meant to be (valid, inside, gap, dup, bounds, badsym, ahead, garbage,
 * long, foreign, hello, wrongtoken); the verdict is only what the gateway answered. A dup line has
 * the identity (symbol, kind, time) of the acknowledged line it repeats.
 *
 * Deterministic for a seed and F: the same lines, but for the time of a line meant to be ahead of
 * the clock (the wall clock plus a minute to a day; or 2100); the gateway's answers may differ
 * only in timing (which burst an ACK covers), and the lines depend on them only through its
 * WELCOME's number and the lines it acknowledged (a resend repeats one of those). Exit 0 when every session ran, 2 on
 * usage or I/O trouble; the verdicts are the script's.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/event.h"
#include "gateway/protocol.h"

#define ACCOUNTS_MAX 8
#define SYMBOLS_MAX 4 /* per account */
#define PENDING_MAX 64
#define SENT_MAX 4096 /* acknowledged lines kept per account for resends */
#define WAIT_MS 3000

typedef struct sym {
    char name[TD_SYMBOL_MAX + 1];
    unsigned digits;
    int64_t point; /* x 1e8 */
    int64_t units; /* the mid price in points */
    int64_t time_ms;
} sym_t;

typedef struct line {
    uint64_t seq; /* 0: a line the gateway cannot number (garbage, oversized) */
    const char *cls;
    const char *verb;
    char symbol[48];
    const char *kind;
    int64_t time_ms;
    const char *status;
    char err[200];
    td_buf_t text; /* as sent, with its LF */
} line_t;

typedef struct account {
    char id[32];
    sym_t syms[SYMBOLS_MAX];
    int n_syms;
    uint64_t next; /* the sequence number of the next line */
    int fd;
    bool bye;
    td_buf_t in;
    line_t pending[PENDING_MAX];
    int n_pending;
    line_t *sent; /* acknowledged, for resends */
    int n_sent;
    uint64_t deal;
    uint64_t max_ack; /* the highest ACK received */
} account_t;

typedef struct prop {
    uint16_t port;
    const char *token;
    uint64_t seed, rng;
    int sessions, round;
    int64_t from_ms;
    FILE *ledger;
    account_t accounts[ACCOUNTS_MAX];
    int n_accounts;
    bool wrong_token_done, max_jump_done;
    bool no_gaps; /* --no-gaps: no sequence jumps (the other classes alone) */
    td_gw_msg_t msg;
    td_gw_reply_t reply;
} prop_t;

static uint64_t rnd(prop_t *prop)
{
    uint64_t z = (prop->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static int64_t between(prop_t *prop, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rnd(prop) % (uint64_t)(hi - lo + 1));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
    fprintf(stderr, "td_live_prop: %s\n", what);
    exit(2);
}

/* ---- the ledger ---- */

static void ledger_line(prop_t *prop, const account_t *acc, const line_t *ln)
{
    fprintf(prop->ledger,
            "line seed=%" PRIu64 " round=%d account=%s seq=%" PRIu64 " class=%s verb=%s symbol=%s kind=%s "
            "time=%" PRId64 " status=%s",
            prop->seed, prop->round, acc->id, ln->seq, ln->cls, ln->verb, ln->symbol[0] ? ln->symbol : "-", ln->kind,
            ln->time_ms, ln->status);
    if (ln->err[0]) {
        fputs(" err=", prop->ledger);
        for (const char *p = ln->err; *p; p++)
            fputc(*p == ' ' ? '_' : *p, prop->ledger);
    }
    fputc('\n', prop->ledger);
}

/* ---- replies ---- */

/* Resolves the pending lines a reply answers; an ORDER goes to the ledger. */
static void on_reply(prop_t *prop, account_t *acc, const td_gw_reply_t *reply)
{
    switch (reply->verb) {
    case TD_GW_ACK:
        if (reply->seq > acc->max_ack)
            acc->max_ack = reply->seq;
        for (int i = 0; i < acc->n_pending; i++) {
            line_t *ln = &acc->pending[i];
            if (!ln->status && ln->seq != 0 && ln->seq <= reply->seq)
                ln->status = "acked";
        }
        break;
    case TD_GW_ERR:
        for (int i = 0; i < acc->n_pending; i++) {
            line_t *ln = &acc->pending[i];
            /* ERR 0: a line the gateway could not number, the oldest such one */
            bool numberless = reply->seq == 0 && ln->seq == 0;
            /* an ERR overrides an ACK that covered the number before the line was read (a
             * number behind a jump; ACK is cumulative) */
            bool tentative = ln->status && strcmp(ln->status, "acked") == 0 && ln->seq == reply->seq && !numberless;
            if ((!ln->status && (ln->seq == reply->seq || numberless)) || tentative) {
                ln->status = "refused";
                size_t n = strnlen(reply->text, sizeof ln->err - 1);
                memcpy(ln->err, reply->text, n);
                ln->err[n] = '\0';
                break;
            }
        }
        break;
    case TD_GW_ORDER:
        fprintf(prop->ledger, "order seed=%" PRIu64 " round=%d account=%s symbol=%s intent=%s\n", prop->seed,
                prop->round, acc->id, reply->symbol, reply->intent.intent_id);
        break;
    case TD_GW_BYE:
        acc->bye = true;
        fprintf(stderr, "td_live_prop: account %s: BYE %s\n", acc->id, reply->text);
        break;
    default: break;
    }
}

/* Reads what is there on every open socket, waiting at most wait_ms; false when nothing came. */
static bool pump(prop_t *prop, int wait_ms, td_gw_reply_t *welcome_out, account_t *welcome_acc)
{
    struct pollfd pfd[ACCOUNTS_MAX];
    int n = 0;
    for (int i = 0; i < prop->n_accounts; i++) {
        pfd[i].fd = prop->accounts[i].fd;
        pfd[i].events = POLLIN;
        pfd[i].revents = 0;
        n++;
    }
    int got = poll(pfd, (nfds_t)n, wait_ms);
    if (got <= 0)
        return false;
    for (int i = 0; i < n; i++) {
        account_t *acc = &prop->accounts[i];
        if (acc->fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        char chunk[8192];
        ssize_t r = read(acc->fd, chunk, sizeof chunk);
        if (r <= 0) {
            close(acc->fd);
            acc->fd = -1;
            acc->bye = true;
            continue;
        }
        if (td_buf_append(&acc->in, chunk, (size_t)r) != TD_OK)
            die("out of memory");
        size_t start = 0;
        for (size_t k = 0; k < acc->in.len; k++) {
            if (acc->in.ptr[k] != '\n')
                continue;
            char errbuf[256];
            if (td_gw_parse_reply((const char *)acc->in.ptr + start, k - start, &prop->reply, errbuf, sizeof errbuf) !=
                TD_OK) {
                fprintf(stderr, "td_live_prop: account %s: a reply that does not parse: %s\n", acc->id, errbuf);
                fprintf(prop->ledger, "badreply seed=%" PRIu64 " round=%d account=%s line=", prop->seed, prop->round,
                        acc->id);
                for (size_t c = start; c < k; c++)
                    fputc(acc->in.ptr[c] == '\t' ? ' ' : acc->in.ptr[c], prop->ledger);
                fputc('\n', prop->ledger);
            } else if (prop->reply.verb == TD_GW_WELCOME && acc == welcome_acc) {
                *welcome_out = prop->reply;
            } else {
                on_reply(prop, acc, &prop->reply);
            }
            start = k + 1;
        }
        memmove(acc->in.ptr, acc->in.ptr + start, acc->in.len - start);
        acc->in.len -= start;
    }
    return true;
}

static bool unresolved(const account_t *acc)
{
    for (int i = 0; i < acc->n_pending; i++)
        if (!acc->pending[i].status)
            return true;
    return false;
}

/* Reads until every pending line of acc is answered (a numbered one by its ERR or an ACK at or
 * above it, one without a number by an ERR 0, in order), or WAIT_MS; what is left is noreply, or
 * afterbye when the gateway closed the connection. */
static void settle(prop_t *prop, account_t *acc)
{
    int64_t deadline = mono_ms() + WAIT_MS;
    while (acc->fd >= 0 && unresolved(acc) && !acc->bye) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            break;
        pump(prop, (int)left, NULL, NULL);
    }
    /* an ACK above every number of the chunk (the gateway took a jump) may be an earlier burst's
     * that came ahead of this chunk's ERRs: read on until the gateway is quiet */
    uint64_t top = 0;
    for (int i = 0; i < acc->n_pending; i++)
        if (acc->pending[i].seq > top)
            top = acc->pending[i].seq;
    int quiet_ms = acc->max_ack > top ? 30 : 5;
    while (acc->fd >= 0 && pump(prop, quiet_ms, NULL, NULL))
        ;
    for (int i = 0; i < acc->n_pending; i++) {
        line_t *ln = &acc->pending[i];
        if (!ln->status)
            ln->status = acc->bye ? "afterbye" : "noreply";
        ledger_line(prop, acc, ln);
        if (strcmp(ln->status, "acked") == 0 && ln->kind[0] != '-' && acc->n_sent < SENT_MAX &&
            strcmp(ln->cls, "dup") != 0) {
            acc->sent[acc->n_sent++] = *ln; /* takes the text */
            continue;
        }
        td_buf_fini(&ln->text);
    }
    acc->n_pending = 0;
}

/* ---- lines ---- */

static line_t *line_new(account_t *acc, const char *cls)
{
    if (acc->n_pending == PENDING_MAX)
        die("too many pending lines");
    line_t *ln = &acc->pending[acc->n_pending++];
    memset(ln, 0, sizeof *ln);
    td_buf_init(&ln->text);
    ln->cls = cls;
    ln->verb = "-";
    ln->kind = "-";
    return ln;
}

/* Formats prop->msg into ln and records its identity. */
static void line_format(prop_t *prop, line_t *ln)
{
    td_gw_msg_t *msg = &prop->msg;
    if (td_gw_format_msg(&ln->text, msg) != TD_OK)
        die("cannot format a line");
    ln->seq = msg->seq;
    static const char *const verbs[] = {[TD_GW_HELLO] = "HELLO",
                                        [TD_GW_TICK] = "TICK",
                                        [TD_GW_SPEC] = "SPEC",
                                        [TD_GW_EXEC] = "EXEC",
                                        [TD_GW_HEARTBEAT] = "HEARTBEAT"};
    static const char *const kinds[] = {[TD_GW_TICK] = "tick",
                                        [TD_GW_SPEC] = "symbol_spec",
                                        [TD_GW_EXEC] = "execution_report",
                                        [TD_GW_HEARTBEAT] = "clock"};
    ln->verb = verbs[msg->verb];
    if (msg->verb != TD_GW_HELLO) {
        ln->kind = kinds[msg->verb];
        ln->time_ms = msg->verb == TD_GW_HEARTBEAT ? msg->time_ms : msg->ev.time_ms;
        if (msg->verb != TD_GW_HEARTBEAT)
            snprintf(ln->symbol, sizeof ln->symbol, "%s", msg->ev.symbol);
    }
}

/* Replaces the value of key in the formatted line (the key is there). */
static void line_set(line_t *ln, const char *key, const char *value)
{
    char pat[40];
    snprintf(pat, sizeof pat, "\t%s=", key);
    td_buf_t out;
    td_buf_init(&out);
    const char *s = td_buf_cstr(&ln->text);
    const char *at = strstr(s, pat);
    if (!at)
        die("line_set: no such key");
    const char *end = at + strlen(pat);
    while (*end && *end != '\t' && *end != '\n')
        end++;
    td_buf_put(&out, s, (size_t)(at - s) + strlen(pat));
    td_buf_puts(&out, value);
    td_buf_puts(&out, end);
    if (out.err != TD_OK)
        die("out of memory");
    td_buf_fini(&ln->text);
    ln->text = out;
    if (strcmp(key, "symbol") == 0)
        snprintf(ln->symbol, sizeof ln->symbol, "%s", value);
    if (strcmp(key, "time") == 0)
        ln->time_ms = strtoll(value, NULL, 10);
}

static int64_t next_time(prop_t *prop, sym_t *sym)
{
    sym->time_ms += between(prop, 2000, 20000);
    return sym->time_ms;
}

/* Clears prop->msg for an event line of sym (verb, kind) numbered seq at sym's next time. */
static td_event_t *msg_event(prop_t *prop, td_gw_verb_t verb, td_event_kind_t kind, sym_t *sym, uint64_t seq)
{
    td_gw_msg_t *msg = &prop->msg;
    memset(msg, 0, sizeof *msg);
    msg->verb = verb;
    msg->seq = seq;
    if (td_event_init(&msg->ev, kind, sym->name, next_time(prop, sym)) != TD_OK)
        die("bad symbol");
    return &msg->ev;
}

static void msg_tick(prop_t *prop, sym_t *sym, uint64_t seq)
{
    td_event_t *ev = msg_event(prop, TD_GW_TICK, TD_EV_TICK, sym, seq);
    sym->units += between(prop, -8, 8);
    if (sym->units < 100)
        sym->units = 100;
    ev->u.tick.bid = sym->units * sym->point;
    ev->u.tick.ask = (sym->units + between(prop, 0, 3)) * sym->point;
    ev->u.tick.flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK;
}

static void msg_spec(prop_t *prop, sym_t *sym, uint64_t seq)
{
    td_event_t *ev = msg_event(prop, TD_GW_SPEC, TD_EV_SYMBOL_SPEC, sym, seq);
    td_symbol_spec_t *spec = &ev->u.spec;
    spec->digits = sym->digits;
    spec->point = sym->point;
    spec->contract_size = (sym->digits == 5 ? 100000 : 100) * TD_FX_SCALE;
    spec->tick_size = sym->point;
    spec->tick_value = TD_FX_SCALE;
    spec->swap_long = -between(prop, 0, 500) * TD_FX_SCALE / 100;
    spec->swap_short = between(prop, 0, 500) * TD_FX_SCALE / 100;
    spec->swap_mode = TD_SWAP_POINTS;
    spec->triple_swap_weekday = 3;
    spec->volume_step = TD_FX_SCALE / 100;
    spec->volume_min = TD_FX_SCALE / 100;
    spec->volume_max = 100 * TD_FX_SCALE;
}

static void msg_exec(prop_t *prop, account_t *acc, sym_t *sym, uint64_t seq)
{
    td_event_t *ev = msg_event(prop, TD_GW_EXEC, TD_EV_EXEC_REPORT, sym, seq);
    td_exec_report_t *exec = &ev->u.exec;
    exec->deal_id = ++acc->deal;
    exec->order_id = acc->deal;
    exec->position_id = acc->deal;
    exec->side = rnd(prop) % 2 ? TD_SIDE_BUY : TD_SIDE_SELL;
    exec->price = sym->units * sym->point;
    exec->volume = between(prop, 1, 100) * TD_FX_SCALE / 100;
    exec->commission = -between(prop, 0, 100) * TD_FX_SCALE / 100;
    exec->status = TD_EXEC_FILLED;
}

static void msg_heartbeat(prop_t *prop, account_t *acc, uint64_t seq)
{
    td_gw_msg_t *msg = &prop->msg;
    memset(msg, 0, sizeof *msg);
    msg->verb = TD_GW_HEARTBEAT;
    msg->seq = seq;
    int64_t t = 0;
    for (int i = 0; i < acc->n_syms; i++)
        if (acc->syms[i].time_ms > t)
            t = acc->syms[i].time_ms;
    msg->time_ms = t; /* not ahead of this account's own lines */
}

static void msg_hello(prop_t *prop, account_t *acc, uint64_t seq, const char *token)
{
    td_gw_msg_t *msg = &prop->msg;
    memset(msg, 0, sizeof *msg);
    msg->verb = TD_GW_HELLO;
    msg->seq = seq;
    msg->hello.version = TD_GW_PROTOCOL_VERSION;
    memcpy(msg->hello.account, acc->id, sizeof msg->hello.account); /* both 32 bytes, NUL-terminated */
    snprintf(msg->hello.terminal, sizeof msg->hello.terminal, "prop seed %" PRIu64, prop->seed);
    snprintf(msg->hello.token, sizeof msg->hello.token, "%s", token);
}

/* A value just outside the protocol's bounds of one key of the line's verb. */
static void mutate_bounds(prop_t *prop, line_t *ln, const char *verb)
{
    static const char *const tick[][2] = {
        {"bid", "10000000.00000001"}, {"bid", "0"}, {"ask", "10000000.1"}, {"bid", "-1"}, {"ask", "99999999999"}};
    static const char *const spec[][2] = {{"contract_size", "100000000.00000001"},
                                          {"contract_size", "0"},
                                          {"swap_long", "1000000.00000001"},
                                          {"swap_short", "-1000000.00000001"},
                                          {"tick_size", "-0.00001"},
                                          {"volume_max", "1000000.00000001"},
                                          {"digits", "9"},
                                          {"tick_value", "100000000.00000001"}};
    static const char *const exec[][2] = {{"volume", "1000000.00000001"},
                                          {"price", "10000000.00000001"},
                                          {"commission", "-10000000000.00000001"},
                                          {"swap", "10000000000.00000001"},
                                          {"profit", "18446744073709551616"},
                                          {"volume", "50000000000"},
                                          {"price", "-0.00001"},
                                          {"deal", "18446744073709551616"}};
    if (strcmp(verb, "TICK") == 0) {
        int k = (int)(rnd(prop) % (sizeof tick / sizeof tick[0]));
        line_set(ln, tick[k][0], tick[k][1]);
    } else if (strcmp(verb, "SPEC") == 0) {
        int k = (int)(rnd(prop) % (sizeof spec / sizeof spec[0]));
        line_set(ln, spec[k][0], spec[k][1]);
    } else {
        int k = (int)(rnd(prop) % (sizeof exec / sizeof exec[0]));
        line_set(ln, exec[k][0], exec[k][1]);
    }
}

/* A value at the protocol's bounds (valid). */
static void mutate_inside(prop_t *prop, line_t *ln, const char *verb)
{
    if (strcmp(verb, "TICK") == 0) {
        if (rnd(prop) % 2) {
            line_set(ln, "bid", "10000000");
            line_set(ln, "ask", "10000000");
        } else {
            line_set(ln, "bid", "0.00000001");
        }
    } else if (strcmp(verb, "SPEC") == 0) {
        line_set(ln, "contract_size", "100000000");
        line_set(ln, "swap_long", "-1000000");
        line_set(ln, "swap_short", "1000000");
        line_set(ln, "volume_max", "1000000");
    } else {
        static const char *const exec[][2] = {{"volume", "1000000"},
                                              {"price", "10000000"},
                                              {"commission", "-10000000000"},
                                              {"swap", "10000000000"},
                                              {"profit", "-10000000000"}};
        int k = (int)(rnd(prop) % (sizeof exec / sizeof exec[0]));
        line_set(ln, exec[k][0], exec[k][1]);
    }
}

static void send_all(account_t *acc, const uint8_t *data, size_t len)
{
    while (len > 0 && acc->fd >= 0) {
        ssize_t w = send(acc->fd, data, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(acc->fd);
            acc->fd = -1;
            acc->bye = true;
            return;
        }
        data += w;
        len -= (size_t)w;
    }
}

static int connect_gateway(prop_t *prop)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(prop->port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("cannot connect to the gateway");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* A connection with a wrong token: ERR and BYE expected, nothing else. */
static void wrong_token(prop_t *prop, account_t *acc)
{
    account_t *keep = &prop->accounts[prop->n_accounts];
    memset(keep, 0, sizeof *keep);
    memcpy(keep->id, acc->id, sizeof keep->id);
    keep->fd = connect_gateway(prop);
    td_buf_init(&keep->in);
    prop->n_accounts++;
    msg_hello(prop, acc, acc->next, "not-the-token");
    line_t *ln = line_new(keep, "wrongtoken");
    line_format(prop, ln);
    send_all(keep, ln->text.ptr, ln->text.len);
    int64_t deadline = mono_ms() + WAIT_MS;
    while (keep->fd >= 0 && !keep->bye && mono_ms() < deadline)
        pump(prop, 100, NULL, NULL);
    settle(prop, keep);
    if (keep->fd >= 0)
        close(keep->fd);
    td_buf_fini(&keep->in);
    prop->n_accounts--;
}

/* HELLO and WELCOME; the account continues above the gateway's number (PROTOCOL.md). */
static void open_session(prop_t *prop, account_t *acc)
{
    acc->fd = connect_gateway(prop);
    acc->bye = false;
    acc->in.len = 0;
    uint64_t hello_seq = acc->next ? acc->next : 1;
    msg_hello(prop, acc, hello_seq, prop->token);
    line_t *ln = line_new(acc, "hello");
    line_format(prop, ln);
    send_all(acc, ln->text.ptr, ln->text.len);
    td_gw_reply_t welcome = {0};
    int64_t deadline = mono_ms() + WAIT_MS;
    while (welcome.verb != TD_GW_WELCOME && acc->fd >= 0 && !acc->bye && mono_ms() < deadline)
        pump(prop, 100, &welcome, acc);
    if (welcome.verb == TD_GW_WELCOME) {
        ln->status = "acked";
        snprintf(ln->err, sizeof ln->err, "welcome_acked=%" PRIu64, welcome.acked);
        /* above the gateway's number; at its end (2^64-1) nothing is left above it, the
         * account keeps its own (and the gateway is expected to refuse rather than drop) */
        acc->next = welcome.acked == UINT64_MAX ? hello_seq : welcome.acked + 1;
    } else {
        fprintf(stderr, "td_live_prop: account %s: no WELCOME\n", acc->id);
        acc->next = hello_seq;
    }
    settle(prop, acc);
}

/* One chunk of 1..12 lines of acc; a sequence jump ends its chunk (its ERR must not be confused
 * with the line that later takes the number). */
static void send_chunk(prop_t *prop, account_t *acc, account_t *other)
{
    int n = (int)between(prop, 1, 12);
    for (int i = 0; i < n && acc->fd >= 0 && !acc->bye; i++) {
        sym_t *sym = &acc->syms[rnd(prop) % (uint64_t)acc->n_syms];
        unsigned r = (unsigned)(rnd(prop) % 1000);
        line_t *ln;
        bool numbered = true, last = false;
        if (r < 560) {
            msg_tick(prop, sym, acc->next);
            line_format(prop, ln = line_new(acc, "valid"));
        } else if (r < 600) {
            msg_spec(prop, sym, acc->next);
            line_format(prop, ln = line_new(acc, "valid"));
        } else if (r < 680) {
            msg_exec(prop, acc, sym, acc->next);
            line_format(prop, ln = line_new(acc, "valid"));
        } else if (r < 720) {
            msg_heartbeat(prop, acc, acc->next);
            line_format(prop, ln = line_new(acc, "valid"));
        } else if (r < 830) { /* numbers at the bounds (valid), or just outside them */
            bool inside = r < 770;
            unsigned v = (unsigned)(rnd(prop) % 3);
            v == 0   ? msg_tick(prop, sym, acc->next)
            : v == 1 ? msg_spec(prop, sym, acc->next)
                     : msg_exec(prop, acc, sym, acc->next);
            line_format(prop, ln = line_new(acc, inside ? "inside" : "bounds"));
            (inside ? mutate_inside : mutate_bounds)(prop, ln, ln->verb);
        } else if (r < 860) { /* a symbol against the rule */
            static const char *const bad[] = {
                "../../escaped", "EUR USD", "A/B",   ".hidden", "-x", "_EUR", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
                "EUR$",          "..",      "EUR;rm"};
            msg_tick(prop, sym, acc->next);
            line_format(prop, ln = line_new(acc, "badsym"));
            line_set(ln, "symbol", bad[rnd(prop) % (sizeof bad / sizeof bad[0])]);
        } else if (r < 885) { /* far ahead of the clock */
            static const int64_t ahead[] = {60000, 3600000, 86400000, INT64_C(4102444800000) /* 2100 */};
            char t[32];
            rnd(prop) % 2 ? msg_tick(prop, sym, acc->next) : msg_heartbeat(prop, acc, acc->next);
            line_format(prop, ln = line_new(acc, "ahead"));
            int64_t a = ahead[rnd(prop) % 4];
            snprintf(t, sizeof t, "%" PRId64, a > INT64_C(1000000000000) ? a : now_ms() + a);
            line_set(ln, "time", t);
        } else if (r < 910) { /* a resend of an acknowledged line: dropped */
            if (acc->n_sent == 0)
                continue;
            line_t *orig = &acc->sent[rnd(prop) % (uint64_t)acc->n_sent];
            ln = line_new(acc, "dup");
            *ln = *orig;
            ln->cls = "dup";
            ln->status = NULL;
            ln->err[0] = '\0';
            td_buf_init(&ln->text);
            td_buf_put(&ln->text, orig->text.ptr, orig->text.len);
            numbered = false; /* takes no new number */
        } else if (r < 935) { /* garbage bytes, no TAB, no number */
            ln = line_new(acc, "garbage");
            int len = (int)between(prop, 1, 60);
            td_buf_putc(&ln->text, 'x');
            for (int k = 0; k < len; k++) {
                uint8_t b = (uint8_t)(rnd(prop) % 256);
                td_buf_putc(&ln->text, b == '\n' || b == '\t' || b == '\r' ? '?' : (char)b);
            }
            td_buf_putc(&ln->text, '\n');
            numbered = false;
        } else if (r < 945) { /* oversized */
            ln = line_new(acc, "long");
            for (int k = 0; k < 5000; k++)
                td_buf_putc(&ln->text, 'y');
            td_buf_putc(&ln->text, '\n');
            numbered = false;
        } else if (r < 965 && other) { /* a symbol another account trades */
            sym_t *foreign = &other->syms[rnd(prop) % (uint64_t)other->n_syms];
            msg_tick(prop, foreign, acc->next);
            line_format(prop, ln = line_new(acc, "foreign"));
        } else if (r < 990) { /* a sequence jump */
            if (prop->no_gaps)
                continue;
            msg_tick(prop, sym, acc->next);
            uint64_t jump = rnd(prop) % 3 == 0 ? 2 : 1000 + (rnd(prop) % 1000);
            if (!prop->max_jump_done && prop->round == prop->sessions - 1 && rnd(prop) % 4 == 0) {
                jump = UINT64_MAX - acc->next; /* 2^64-1 */
                prop->max_jump_done = true;
            }
            prop->msg.seq = acc->next + jump;
            line_format(prop, ln = line_new(acc, "gap"));
            numbered = false;
            last = true;
        } else {
            if (prop->wrong_token_done)
                continue;
            prop->wrong_token_done = true;
            settle(prop, acc);
            wrong_token(prop, acc);
            return;
        }
        if (ln->text.err != TD_OK)
            die("out of memory");
        send_all(acc, ln->text.ptr, ln->text.len);
        if (numbered)
            acc->next++;
        if (last)
            break;
    }
    settle(prop, acc);
}

static void usage(void)
{
    die("usage: td_live_prop --port P --token T --seed S --sessions N --from-ms F --ledger FILE "
        "--account A=SYM[,SYM...] [--account ...] [--lines N] [--no-gaps]");
}

int main(int argc, char **argv)
{
    static prop_t prop;
    const char *ledger = NULL;
    int lines = 200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-gaps") == 0) {
            prop.no_gaps = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--port") == 0)
            prop.port = (uint16_t)atoi(v);
        else if (strcmp(a, "--token") == 0)
            prop.token = v;
        else if (strcmp(a, "--seed") == 0)
            prop.seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--sessions") == 0)
            prop.sessions = atoi(v);
        else if (strcmp(a, "--lines") == 0)
            lines = atoi(v);
        else if (strcmp(a, "--from-ms") == 0)
            prop.from_ms = strtoll(v, NULL, 10);
        else if (strcmp(a, "--ledger") == 0)
            ledger = v;
        else if (strcmp(a, "--account") == 0) {
            if (prop.n_accounts == ACCOUNTS_MAX - 1) /* one slot for the wrong-token connection */
                usage();
            account_t *acc = &prop.accounts[prop.n_accounts++];
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || (size_t)(eq - v) >= sizeof acc->id)
                usage();
            memcpy(acc->id, v, (size_t)(eq - v));
            for (const char *s = eq + 1; *s && acc->n_syms < SYMBOLS_MAX;) {
                const char *comma = strchr(s, ',');
                size_t len = comma ? (size_t)(comma - s) : strlen(s);
                sym_t *sym = &acc->syms[acc->n_syms++];
                if (!td_symbol_valid(s, len))
                    usage();
                memcpy(sym->name, s, len);
                s += len + (comma ? 1 : 0);
            }
        } else
            usage();
    }
    if (!prop.port || !prop.token || !ledger || prop.sessions <= 0 || prop.n_accounts == 0 || prop.from_ms <= 0)
        usage();
    prop.ledger = fopen(ledger, "a");
    if (!prop.ledger)
        die("cannot open the ledger");
    prop.rng = prop.seed * UINT64_C(0x2545f4914f6cdd1d) + 1;
    for (int i = 0; i < prop.n_accounts; i++) {
        account_t *acc = &prop.accounts[i];
        acc->fd = -1;
        td_buf_init(&acc->in);
        acc->sent = calloc(SENT_MAX, sizeof *acc->sent);
        if (!acc->sent)
            die("out of memory");
        acc->deal = prop.seed * 1000000;
        for (int k = 0; k < acc->n_syms; k++) {
            sym_t *sym = &acc->syms[k];
            sym->digits = rnd(&prop) % 2 ? 5 : 2;
            sym->point = sym->digits == 5 ? 1000 : 1000000;
            sym->units = sym->digits == 5 ? between(&prop, 100000, 150000) : between(&prop, 150000, 250000);
            sym->time_ms = prop.from_ms + between(&prop, 0, 1000);
        }
    }
    for (prop.round = 0; prop.round < prop.sessions; prop.round++) {
        for (int i = 0; i < prop.n_accounts; i++) {
            account_t *acc = &prop.accounts[i];
            open_session(&prop, acc);
            for (int k = 0; k < acc->n_syms && !acc->bye; k++) {
                msg_spec(&prop, &acc->syms[k], acc->next);
                line_t *ln = line_new(acc, "valid");
                line_format(&prop, ln);
                send_all(acc, ln->text.ptr, ln->text.len);
                acc->next++;
            }
            settle(&prop, acc);
        }
        int sent = 0;
        while (sent < lines) {
            account_t *acc = &prop.accounts[rnd(&prop) % (uint64_t)prop.n_accounts];
            account_t *other = prop.n_accounts > 1 ? &prop.accounts[(acc - prop.accounts + 1) % prop.n_accounts] : NULL;
            if (acc->fd < 0 || acc->bye) {
                bool any = false;
                for (int i = 0; i < prop.n_accounts; i++)
                    any |= prop.accounts[i].fd >= 0 && !prop.accounts[i].bye;
                if (!any)
                    break;
                continue;
            }
            uint64_t before = acc->next;
            send_chunk(&prop, acc, other);
            sent += (int)(acc->next - before) + 1;
        }
        pump(&prop, 200, NULL, NULL); /* late ORDERs */
        for (int i = 0; i < prop.n_accounts; i++) {
            account_t *acc = &prop.accounts[i];
            if (acc->fd >= 0)
                close(acc->fd);
            acc->fd = -1;
        }
    }
    for (int i = 0; i < prop.n_accounts; i++) {
        account_t *acc = &prop.accounts[i];
        for (int k = 0; k < acc->n_sent; k++)
            td_buf_fini(&acc->sent[k].text);
        free(acc->sent);
        td_buf_fini(&acc->in);
    }
    if (fclose(prop.ledger) != 0)
        die("cannot write the ledger");
    return 0;
}
