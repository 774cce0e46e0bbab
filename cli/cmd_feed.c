/* cmd_feed.c - `tapedeck feed`: the MT5 stand-in, the EA's side of the line protocol over TCP.
 *
 * Only the command: its options, the ticks it reads (tick files through td_import_file, or the
 * built-in synthetic day of feed/synthetic.h), what it prints and its exit code. The session with
 * the gateway - message map, resend, heartbeats, --sync-bars, the state file - is feed/session.h;
 * the paper broker and its journal are feed/broker.h.
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/address.h"
#include "core/timeutil.h"
#include "feed/session.h"
#include "feed/synthetic.h"
#include "gateway/server.h"
#include "host/host.h"
#include "import/import.h"

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
           "and state file - it resends exactly what the gateway lacks. Without a state file, on an\n"
           "account the gateway already has lines of (another day, a lost state file), the lines are\n"
           "numbered after the gateway's (its WELCOME acked=N): N+1 and on.\n"
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

typedef struct feed_cmd {
    td_cli_t *cli;
    td_feed_config_t config;
    const char *format_name, *symbol, *synthetic, *date;
    bool fast;
    int synth_hours;
    char names[TD_FEED_SYMBOLS_MAX][TD_SYMBOL_MAX + 1]; /* the symbols, in the order of their index */
    size_t n_syms;
    uint32_t cur_sym;    /* the symbol collect() is reading */
    int64_t synth_until; /* --hours: synthetic ticks before this time only */
    td_feed_session_t *session;
    char err[1024];
} feed_cmd_t;

static td_err_t collect(void *opaque, const td_event_t *ev)
{
    feed_cmd_t *cmd = opaque;
    if (ev->kind != TD_EV_TICK)
        return TD_OK;
    return td_feed_session_add_tick(cmd->session, cmd->cur_sym, ev->time_ms, &ev->u.tick);
}

static td_err_t collect_synthetic(void *opaque, int64_t time_ms, int64_t bid, int64_t ask)
{
    feed_cmd_t *cmd = opaque;
    if (time_ms >= cmd->synth_until)
        return TD_ERR_END; /* --hours: the rest of the day is not wanted */
    td_tick_t tick = {.bid = bid, .ask = ask, .flags = TD_TICK_FLAG_BID | TD_TICK_FLAG_ASK};
    return td_feed_session_add_tick(cmd->session, cmd->cur_sym, time_ms, &tick);
}

static int parse_args(feed_cmd_t *cmd, int argc, char **argv)
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
        case 't': cmd->config.token = optarg; break;
        case 'a': cmd->config.account = optarg; break;
        case 'n': cmd->config.terminal = optarg; break;
        case 'f': cmd->format_name = optarg; break;
        case 's': cmd->symbol = optarg; break;
        case 'Y': cmd->synthetic = optarg; break;
        case 'd': cmd->date = optarg; break;
        case 'O':
            cmd->synth_hours = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || cmd->synth_hours < 1 || cmd->synth_hours > 24)
                return td_cli_usage(cmd->cli, "--hours expects 1..24, found '%s'", optarg);
            break;
        case 'p':
            cmd->config.speed = strtod(optarg, &end);
            if (!*optarg || *end || !(cmd->config.speed > 0) || cmd->config.speed > 1e9)
                return td_cli_usage(cmd->cli, "--speed expects a factor > 0, found '%s'", optarg);
            break;
        case 'F': cmd->fast = true; break;
        case 'S': cmd->config.state_path = optarg; break;
        case 'r':
            cmd->config.retry_s = strtod(optarg, &end);
            if (!*optarg || *end || !(cmd->config.retry_s >= 0) || cmd->config.retry_s > 86400)
                return td_cli_usage(cmd->cli, "--retry-s expects seconds 0..86400, found '%s'", optarg);
            break;
        case 'L':
            cmd->config.linger_s = strtod(optarg, &end);
            if (!*optarg || *end || !(cmd->config.linger_s >= 0) || cmd->config.linger_s > 3600)
                return td_cli_usage(cmd->cli, "--linger-s expects seconds 0..3600, found '%s'", optarg);
            break;
        case 'H':
            hb = strtod(optarg, &end);
            if (!*optarg || *end || !(hb >= 0) || hb > 86400)
                return td_cli_usage(cmd->cli, "--heartbeat-s expects seconds 0..86400, found '%s'", optarg);
            cmd->config.heartbeat_ms = (int64_t)(hb * 1000);
            if (hb > 0 && cmd->config.heartbeat_ms < 1)
                return td_cli_usage(cmd->cli, "--heartbeat-s expects at least 0.001 s, found '%s'", optarg);
            break;
        case 'B': cmd->config.sync_bars = true; break;
        case 'D':
            cmd->config.drop_every = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-' || cmd->config.drop_every < 1)
                return td_cli_usage(cmd->cli, "--drop-every expects a number of lines >= 1, found '%s'", optarg);
            break;
        case 'W':
            cmd->config.window = strtoull(optarg, &end, 10);
            if (!*optarg || *end || *optarg == '-' || cmd->config.window > 100000000)
                return td_cli_usage(cmd->cli, "--window expects a number of lines 0..100000000, found '%s'", optarg);
            break;
        case 'h': help(); return -1;
        default: return td_cli_usage(cmd->cli, "unknown option (see tapedeck feed --help)");
        }
    }
    if (!gateway || td_address_parse(gateway, &cmd->config.addr, cmd->err, sizeof cmd->err) != TD_OK)
        return td_cli_usage(cmd->cli, "--gateway expects HOST:PORT%s%s", gateway ? ": " : "", gateway ? cmd->err : "");
    if (!cmd->config.token || !*cmd->config.token)
        return td_cli_usage(cmd->cli, "--token expects the gateway's token");
    if (!cmd->config.account || !*cmd->config.account || strlen(cmd->config.account) > 31 ||
        strpbrk(cmd->config.account, "\t\r\n"))
        return td_cli_usage(cmd->cli, "--account expects an account id of 1..31 characters");
    if (strpbrk(cmd->config.token, "\t\r\n") || strlen(cmd->config.token) > 127)
        return td_cli_usage(cmd->cli, "--token expects at most 127 characters without TAB or line ends");
    if (strpbrk(cmd->config.terminal, "\t\r\n") || strlen(cmd->config.terminal) > 63)
        return td_cli_usage(cmd->cli, "--terminal expects at most 63 characters without TAB or line ends");
    if (cmd->fast && cmd->config.speed > 0)
        return td_cli_usage(cmd->cli, "--speed and --fast exclude each other");
    if (cmd->synthetic) {
        if (cmd->symbol || cmd->format_name || optind < argc)
            return td_cli_usage(cmd->cli, "--synthetic excludes --symbol, --format and FILEs");
        return TD_EXIT_OK;
    }
    if (cmd->date || cmd->synth_hours)
        return td_cli_usage(cmd->cli, "--date and --hours go with --synthetic");
    if (cmd->symbol && (!*cmd->symbol || strlen(cmd->symbol) > TD_SYMBOL_MAX || strpbrk(cmd->symbol, "\t\r\n=/")))
        return td_cli_usage(cmd->cli, "--symbol expects a symbol name of 1..%d characters", TD_SYMBOL_MAX);
    if (optind >= argc)
        return td_cli_usage(cmd->cli, "expected tick FILEs after the options (or --synthetic SET)");
    char name[TD_SYMBOL_MAX + 1];
    const char *path;
    for (int i = optind; i < argc; i++)
        if (!td_cli_tick_file(argv[i], cmd->symbol, name, &path))
            return td_cli_usage(cmd->cli, "'%s' names no symbol: write SYMBOL=FILE, or give --symbol S", argv[i]);
    return TD_EXIT_OK;
}

/* The ticks: the files (each of its symbol: SYMBOL=FILE, or --symbol's) or the synthetic day of a
 * set; the session merges several symbols in time order. */
static int load_ticks(feed_cmd_t *cmd, int argc, char **argv)
{
    td_cli_t *cli = cmd->cli;
    const char *synthetic = cmd->synthetic, *date = cmd->date, *format_name = cmd->format_name, *symbol = cmd->symbol;
    if (synthetic) {
        size_t n = 0;
        const td_synth_symbol_t *set = td_synth_set(synthetic, &n);
        uint32_t day;
        if (!set)
            return td_cli_usage(cli, "--synthetic expects demo or desk, found '%s'", synthetic);
        if (td_cli_parse_date(date ? date : "2024-01-02", &day) != TD_OK)
            return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", date);
        if (td_synth_configure(cli->config, set, n, cmd->err, sizeof cmd->err) != TD_OK)
            return td_cli_fail(cli, TD_ERR_CONFIG, "%s", cmd->err);
        int64_t t0 = td_time_trading_day_start(day, cmd->config.day_offset_minutes);
        cmd->synth_until = t0 + (int64_t)(cmd->synth_hours ? cmd->synth_hours : 24) * 3600 * 1000;
        for (size_t i = 0; i < n; i++) {
            snprintf(cmd->names[i], sizeof cmd->names[i], "%s", set[i].name);
            cmd->cur_sym = (uint32_t)i;
            td_err_t rc = td_synth_day(&set[i], t0, collect_synthetic, cmd);
            if (rc == TD_ERR_END)
                rc = TD_OK;
            if (rc != TD_OK)
                return td_cli_fail(cli, rc, "the synthetic day of %s", set[i].name);
        }
        cmd->n_syms = n;
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
        while (k < cmd->n_syms && strcmp(cmd->names[k], name) != 0)
            k++;
        if (k == TD_FEED_SYMBOLS_MAX)
            return td_cli_usage(cli, "at most %d symbols, found more in '%s'", TD_FEED_SYMBOLS_MAX, argv[i]);
        if (k == cmd->n_syms) {
            snprintf(cmd->names[k], sizeof cmd->names[k], "%s", name);
            cmd->n_syms++;
        }
        td_symbol_spec_t spec;
        td_config_symbol_spec(cli->config, name, &spec);
        td_import_opts_t iopts = {
            .format = format,
            .symbol = cmd->names[k],
            .price_divisor_digits = spec.digits,
        };
        cmd->cur_sym = (uint32_t)k;
        td_import_stats_t st;
        td_err_t rc = td_import_file(path, &iopts, collect, cmd, &st, cmd->err, sizeof cmd->err);
        if (rc != TD_OK)
            return td_cli_fail(cli, rc, "%s", cmd->err);
    }
    return TD_EXIT_OK;
}

int td_cmd_feed(td_cli_t *cli, int argc, char **argv)
{
    feed_cmd_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd)
        return td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    cmd->cli = cli;
    cmd->config =
        (td_feed_config_t){.terminal = "tapedeck feed", .retry_s = 10, .window = TD_FEED_WINDOW_DEFAULT, .log = stderr};
    int code = parse_args(cmd, argc, argv);
    if (code == TD_EXIT_OK) {
        td_feed_config_t *config = &cmd->config;
        if (cmd->fast)
            config->speed = 0;
        else if (config->speed == 0)
            config->speed = 1;
        td_pipeline_config_t pcfg;
        td_host_pipeline_config(cli->config, &pcfg);
        config->tf_ms = (int64_t)pcfg.timeframe_s * 1000;
        config->day_offset_minutes = pcfg.day_offset_minutes;
        config->broker = (td_feed_broker_config_t){
            .slippage_points = td_config_int(cli->config, "broker.slippage_points"),
            .commission_per_lot = td_config_decimal(cli->config, "broker.commission_per_lot"),
            .day_offset_minutes = pcfg.day_offset_minutes,
            .log = stderr,
        };
        if (td_feed_session_new(config, &cmd->session) != TD_OK)
            code = td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    }
    if (code == TD_EXIT_OK)
        code = load_ticks(cmd, argc, argv);
    td_err_t rc = TD_OK;
    for (size_t i = 0; code == TD_EXIT_OK && rc == TD_OK && i < cmd->n_syms; i++) {
        td_symbol_spec_t spec;
        td_config_symbol_spec(cli->config, cmd->names[i], &spec);
        rc = td_feed_session_add_symbol(cmd->session, cmd->names[i], &spec);
    }
    if (code == TD_EXIT_OK && rc == TD_OK)
        rc = td_feed_session_start(cmd->session, cmd->err, sizeof cmd->err);
    if (code == TD_EXIT_OK && rc != TD_OK)
        code = td_cli_fail(cli, rc == TD_ERR_NOMEM ? rc : TD_ERR_PARSE, "%s",
                           rc == TD_ERR_NOMEM ? "out of memory" : cmd->err);
    if (code != TD_EXIT_OK) {
        td_feed_session_destroy(cmd->session);
        free(cmd);
        return code == -1 ? TD_EXIT_OK : code;
    }

    const td_feed_config_t *config = &cmd->config;
    td_feed_stats_t stats;
    td_feed_broker_stats_t bstats;
    td_feed_session_stats(cmd->session, &stats, &bstats);
    printf("tapedeck feed: %zu ticks of %zu symbol(s)%s to %s:%u as account %s, %s%s\n", stats.ticks, stats.symbols,
           cmd->synthetic ? " (SYNTHETIC, not market data)" : "", inet_ntoa(config->addr.sin_addr),
           (unsigned)ntohs(config->addr.sin_port), config->account, config->speed > 0 ? "paced" : "as fast as possible",
           config->sync_bars ? ", in step with the bars" : "");
    if (bstats.journal_orders)
        printf("tapedeck feed: journal: %zu order(s) of earlier runs, executions recorded up to seq %" PRIu64 "\n",
               bstats.journal_orders, bstats.journal_exec_max);
    fflush(stdout);

    double t0 = td_mono_s();
    rc = td_feed_session_run(cmd->session, cmd->err, sizeof cmd->err);
    if (rc != TD_OK)
        code = td_cli_fail(cli, rc, "%s", cmd->err);
    double dt = td_mono_s() - t0;
    td_feed_session_stats(cmd->session, &stats, &bstats);
    printf("tapedeck feed: paper broker: %" PRIu64 " order(s) received, %" PRIu64 " executed, %" PRIu64
           " refused repeat(s), %" PRIu64 " malformed, %u unfilled (no tick after them), %" PRIu64
           " stop/target exit(s), %" PRIu64 " deal(s); at most %" PRIu32 " execution(s) per intent id\n",
           stats.orders, bstats.executed, bstats.repeats_refused, bstats.malformed, bstats.unfilled, bstats.exits,
           bstats.deals, bstats.most_executions);
    if (config->state_path)
        printf("tapedeck feed: journal %s.broker: %zu intent id(s), %zu executed, at most %" PRIu32
               " execution(s) per intent id over every run\n",
               config->state_path, bstats.intents, bstats.intents_executed, bstats.most_executions);
    printf("tapedeck feed: %" PRIu64 " lines sent (%" PRIu64 " resent), acked up to %" PRIu64 " of %" PRIu64
           ", %" PRIu64 " error(s), %" PRIu64 " order(s), %" PRIu64 " reconnect(s) (%" PRIu64
           " dropped on purpose), %.3f s, %.0f lines/s\n",
           stats.sent, stats.resent, stats.acked, stats.last_seq, stats.errors, stats.orders, stats.reconnects,
           stats.drops, dt, dt > 0 ? (double)stats.sent / dt : 0.0);
    if (code == TD_EXIT_OK && stats.errors)
        code = td_cli_fail(cli, TD_ERR_MISMATCH, "the gateway refused %" PRIu64 " line(s)", stats.errors);
    td_feed_session_destroy(cmd->session);
    free(cmd);
    return code;
}
