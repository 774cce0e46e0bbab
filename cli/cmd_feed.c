/* cmd_feed.c - `tapedeck feed`: the MT5 stand-in, the EA's side of the line protocol over TCP.
 *
 * It parses the tick files first (td_import_file), so that every message has a fixed sequence
 * number: HELLO is 1, the symbol spec 2, the i-th tick (from 0) i + 3. That makes a resend after a
 * reconnect - or after the feed itself was killed and restarted - exact: WELCOME acked=N says where
 * the gateway stands and the feed sends from N + 1. The gateway does not record HELLO's sequence
 * number, so every session's HELLO is 1.
 *
 * One thread, one socket, poll(): lines are written ahead of the acknowledgements (pipelined) and
 * ACK/ERR/ORDER/BYE lines are read as they come. The state file holds the last acknowledged and the
 * highest sent sequence numbers (rewritten atomically a few times a second and at the end), so a
 * restarted feed can tell what it resends.
 *
 * Not in this slice: the paper broker (ORDER lines are counted, not filled).
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
#include "gateway/protocol.h"
#include "gateway/server.h"
#include "import/import.h"

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
           "ORDER lines from the gateway are counted (the paper broker is not built yet).\n"
           "Exit codes: 0 every line acknowledged, 1 the gateway refused some lines (ERR), 2 bad usage,\n"
           "bad files or a refused HELLO, 3 the gateway unreachable for longer than --retry-s.\n");
}

typedef struct feed_tick {
    int64_t time_ms;
    td_price_t bid, ask, last;
    td_volume_t volume;
    uint32_t flags;
} feed_tick_t;

typedef struct feed {
    td_cli_t *cli;
    const char *symbol, *account, *token, *terminal, *state_path;
    struct sockaddr_in addr;
    double speed; /* 0 = as fast as possible */
    double retry_s;
    feed_tick_t *ticks;
    size_t n_ticks, cap_ticks;
    td_symbol_spec_t spec;
    uint64_t last_seq; /* of the last message */
    /* progress */
    uint64_t acked;    /* highest acknowledged */
    uint64_t sent_max; /* highest ever sent (this run or, from the state file, before) */
    uint64_t next;     /* next to send in this session */
    uint64_t sent, resent, errors, orders, reconnects;
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
    const feed_tick_t *k = &feed->ticks[seq - SEQ_FIRST_TICK];
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
    return seq < SEQ_FIRST_TICK ? feed->ticks[0].time_ms : feed->ticks[seq - SEQ_FIRST_TICK].time_ms;
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
        feed->orders++;
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
    while (feed->next <= feed->last_seq && feed->out.len - feed->out_off < OUT_HIGH) {
        if (feed->speed > 0) {
            double due =
                feed->pace_wall0 + (double)(message_time(feed, feed->next) - feed->pace_time0) / 1000.0 / feed->speed;
            double now = now_s();
            if (due > now) {
                wait = due - now;
                break;
            }
        }
        if (format_message(feed, feed->next, &feed->out) != TD_OK)
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
    for (;;) {
        double wait = 0;
        if (feed->welcomed) {
            if (!paced) { /* the pace restarts with each session */
                feed->pace_wall0 = now_s();
                feed->pace_time0 = message_time(feed, feed->next);
                paced = true;
            }
            wait = queue_messages(feed);
            if (feed->next > feed->last_seq && feed->out_off == feed->out.len && feed->acked >= feed->last_seq)
                return true;
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
        {"gateway", required_argument, NULL, 'g'}, {"token", required_argument, NULL, 't'},
        {"account", required_argument, NULL, 'a'}, {"terminal", required_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'f'},  {"symbol", required_argument, NULL, 's'},
        {"speed", required_argument, NULL, 'p'},   {"fast", no_argument, NULL, 'F'},
        {"state", required_argument, NULL, 'S'},   {"retry-s", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
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
    feed.last_seq = SEQ_FIRST_TICK + feed.n_ticks - 1; /* with no ticks: the spec alone */
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
    printf("tapedeck feed: %" PRIu64 " lines sent (%" PRIu64 " resent), acked up to %" PRIu64 " of %" PRIu64
           ", %" PRIu64 " error(s), %" PRIu64 " order(s), %" PRIu64 " reconnect(s), %.3f s, %.0f lines/s\n",
           feed.sent, feed.resent, feed.acked, feed.last_seq, feed.errors, feed.orders, feed.reconnects, dt,
           dt > 0 ? (double)feed.sent / dt : 0.0);
    if (code == TD_EXIT_OK && feed.errors)
        code = td_cli_fail(cli, TD_ERR_MISMATCH, "the gateway refused %" PRIu64 " line(s)", feed.errors);
    td_buf_fini(&feed.out);
    td_gw_lines_fini(&feed.lines);
    free(feed.ticks);
    return code;
}
