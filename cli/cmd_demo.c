/* cmd_demo.c - `tapedeck demo`: one trading day through the LIVE pipeline, then proved bit-exact.
 *
 * It sets up a fresh data directory (DIR/demo-XXXXXX) with its own configuration (demo.yaml: the
 * symbols' specs, broker.mode external, a random gateway token, a free port), puts a parameter set
 * per symbol on the tape, starts `tapedeck run` (gateway, processor and order router in one
 * process, local tape) as a child process, runs `tapedeck feed` against it - the built-in
 * SYNTHETIC day of cli/synthetic.h (labelled synthetic: not market data), or tick files with
 * --ticks - in step with the bars (--sync-bars, so the day is the same on every run), stops the
 * service with SIGTERM, and prints a summary from the tape: events, bars, orders, fills, positions
 * and P&L per symbol, the router's tick-to-order latency, and the `replay` command that proves the
 * day bit-exact, which it then runs itself. The children are this same binary (/proc/self/exe).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "feed/synthetic.h"
#include "core/digest.h"
#include "core/timeutil.h"
#include "host/host.h"

#define DEMO_SYMBOLS_MAX 8
#define START_TIMEOUT_S 30
#define FEED_TIMEOUT_S 300
#define STOP_TIMEOUT_S 30

static void help(void)
{
    printf("usage: tapedeck [--data-dir DIR] demo [--date YYYY-MM-DD]\n"
           "       tapedeck [--data-dir DIR] [--config FILE] demo --ticks --format F [--symbol S] [SYMBOL=]FILE...\n"
           "\n"
           "One trading day through the live pipeline, on this machine, in seconds:\n"
           "  1. a fresh data directory DIR/demo-XXXXXX with its configuration (demo.yaml: symbol specs,\n"
           "     broker.mode external, a random gateway token) and a parameter set per symbol;\n"
           "  2. `tapedeck run` (gateway, processor, order router; local tape) on a free local port;\n"
           "  3. `tapedeck feed` (the MT5 stand-in and paper broker) over the built-in deterministic\n"
           "     SYNTHETIC day of EURUSD, XAUUSD and US500 (labelled synthetic: not market data), with\n"
           "     heartbeats, in step with the bars so the day is the same on every run;\n"
           "  4. SIGTERM to the service; a summary per symbol (events, bars, orders, fills, position,\n"
           "     realised P&L, tick-to-order latency) and the replay of the day, which must be equal.\n"
           "\n"
           "options:\n"
           "  --date D          the synthetic day (default 2024-01-02)\n"
           "  --ticks           real data instead: the FILEs (of --format; each symbol's spec from the\n"
           "                    config's symbols.S section, else the synthetic set's)\n"
           "  --format F        the tick files' format (see tapedeck import --help)\n"
           "  --symbol S        the symbol of the FILEs that do not name theirs: SYMBOL=FILE is a file of\n"
           "                    SYMBOL's ticks (up to 8 symbols, merged in time order)\n"
           "\n"
           "Exit codes: 0 the day replayed equal, 1 it did not, 2 bad usage, 3 a child failed.\n"
           "Logs of the run and the feed stay in the demo directory (run.log, feed.log).\n");
}

typedef struct demo_symbol {
    char name[TD_SYMBOL_MAX + 1];
    int digits;
    char contract_size[48];
    const char *strategy, *params;
} demo_symbol_t;

typedef struct demo {
    td_cli_t *cli;
    char dir[4096], config_path[4200], token[40];
    demo_symbol_t syms[DEMO_SYMBOLS_MAX];
    size_t n_syms;
    uint32_t day;
    const char *date;
    pid_t run_pid;
    int run_out; /* read end of the service's stdout */
    char run_text[8192];
    size_t run_len;
    char port[16];
    char err[1024];
} demo_t;

/* ---- children ---- */

/* Starts this binary with args; stdout to out_fd (or /dev/null), stderr to the file err_path. */
static pid_t spawn(char *const args[], int out_fd, const char *err_path)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int err_fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0)
        out_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (err_fd < 0 || out_fd < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    execv("/proc/self/exe", args);
    _exit(127);
}

/* Waits up to timeout_s for pid; its exit code, or -1 when it did not end (it is then killed). */
static int wait_child(pid_t pid, double timeout_s)
{
    for (double waited = 0;; waited += 0.01) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (r < 0)
            return -1;
        if (waited >= timeout_s) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Reads what the service printed so far (non-blocking); true at end of file. */
static bool read_run_output(demo_t *demo)
{
    for (;;) {
        if (demo->run_len + 1 >= sizeof demo->run_text)
            return false;
        ssize_t n = read(demo->run_out, demo->run_text + demo->run_len, sizeof demo->run_text - demo->run_len - 1);
        if (n > 0) {
            demo->run_len += (size_t)n;
            demo->run_text[demo->run_len] = '\0';
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0;
    }
}

/* Starts the service; waits for its startup line and takes the port from it. */
static int start_run(demo_t *demo)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "pipe: %s", strerror(errno));
    char log[4200];
    snprintf(log, sizeof log, "%s/run.log", demo->dir);
    char *args[] = {"tapedeck", "--data-dir", demo->dir, "--config", demo->config_path, "run", NULL};
    demo->run_pid = spawn(args, fds[1], log);
    close(fds[1]);
    demo->run_out = fds[0];
    fcntl(demo->run_out, F_SETFL, fcntl(demo->run_out, F_GETFL) | O_NONBLOCK);
    if (demo->run_pid < 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "fork: %s", strerror(errno));
    for (int i = 0; i < START_TIMEOUT_S * 100; i++) {
        bool eof = read_run_output(demo);
        const char *p = strstr(demo->run_text, "listening on 127.0.0.1:");
        if (p) {
            p += strlen("listening on 127.0.0.1:");
            size_t n = strspn(p, "0123456789");
            if (n > 0 && n < sizeof demo->port && p[n] != '\0') {
                memcpy(demo->port, p, n);
                demo->port[n] = '\0';
                return TD_EXIT_OK;
            }
        }
        if (eof)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(demo->run_pid, SIGKILL);
    waitpid(demo->run_pid, NULL, 0);
    demo->run_pid = 0;
    return td_cli_fail(demo->cli, TD_ERR_IO, "tapedeck run did not start; see %s", log);
}

static int run_feed(demo_t *demo, int argc, char **argv, bool ticks, const char *format, const char *symbol)
{
    char gateway[64], out_path[4200], log[4200], state[4200], hb[] = "60";
    snprintf(gateway, sizeof gateway, "127.0.0.1:%s", demo->port);
    snprintf(out_path, sizeof out_path, "%s/feed.out", demo->dir);
    snprintf(log, sizeof log, "%s/feed.log", demo->dir);
    snprintf(state, sizeof state, "%s/feed.state", demo->dir);
    char *args[64] = {"tapedeck",  "--data-dir",  demo->dir,       "--config",  demo->config_path, "feed",
                      "--gateway", gateway,       "--token",       demo->token, "--account",       "demo",
                      "--fast",    "--sync-bars", "--heartbeat-s", hb,          "--state",         state};
    int n = 18;
    if (ticks) {
        args[n++] = "--format";
        args[n++] = (char *)format;
        if (symbol) {
            args[n++] = "--symbol";
            args[n++] = (char *)symbol;
        }
        for (int i = optind; i < argc && n < 62; i++)
            args[n++] = argv[i];
    } else {
        args[n++] = "--synthetic";
        args[n++] = "demo";
        args[n++] = "--date";
        args[n++] = (char *)demo->date;
    }
    args[n] = NULL;
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid = out_fd >= 0 ? spawn(args, out_fd, log) : -1;
    if (out_fd >= 0)
        close(out_fd);
    if (pid < 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "cannot start tapedeck feed: %s", strerror(errno));
    int code = wait_child(pid, FEED_TIMEOUT_S);
    if (code != 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "tapedeck feed %s; see %s and %s",
                           code < 0 ? "did not finish in time" : "failed", out_path, log);
    return TD_EXIT_OK;
}

static int stop_run(demo_t *demo)
{
    kill(demo->run_pid, SIGTERM);
    int code = wait_child(demo->run_pid, STOP_TIMEOUT_S);
    demo->run_pid = 0;
    read_run_output(demo);
    close(demo->run_out);
    if (code != 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "tapedeck run exited %d on SIGTERM; see %s/run.log", code, demo->dir);
    return TD_EXIT_OK;
}

/* ---- setup ---- */

static int write_config(demo_t *demo)
{
    uint8_t rnd[12] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        if (fd >= 0)
            close(fd);
        return td_cli_fail(demo->cli, TD_ERR_IO, "/dev/urandom: cannot read a token");
    }
    close(fd);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(demo->token + 2 * i, 3, "%02x", rnd[i]);
    snprintf(demo->config_path, sizeof demo->config_path, "%s/demo.yaml", demo->dir);
    FILE *f = fopen(demo->config_path, "w");
    if (!f)
        return td_cli_fail(demo->cli, TD_ERR_IO, "%s: %s", demo->config_path, strerror(errno));
    fprintf(f,
            "# written by tapedeck demo: the live pipeline on this machine\n"
            "gateway:\n  listen: 127.0.0.1:0\n  token: %s\n"
            "broker:\n  mode: external\n"
            "router:\n  max_age_ms: 60000\n"
            "symbols:\n",
            demo->token);
    for (size_t i = 0; i < demo->n_syms; i++)
        fprintf(f, "  %s:\n    digits: %d\n    contract_size: %s\n", demo->syms[i].name, demo->syms[i].digits,
                demo->syms[i].contract_size);
    if (fclose(f) != 0)
        return td_cli_fail(demo->cli, TD_ERR_IO, "%s: cannot write", demo->config_path);
    if (td_config_load(demo->cli->config, demo->config_path, demo->err, sizeof demo->err) != TD_OK)
        return td_cli_fail(demo->cli, TD_ERR_CONFIG, "%s", demo->err);
    return TD_EXIT_OK;
}

/* The parameter sets go on the tape first, at the start of the day, as ParamsChanged events. */
static td_err_t push_params(demo_t *demo, int64_t at, char *err, size_t errlen)
{
    td_tape_t *tape = NULL;
    td_tape_batch_t *batch = NULL;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? td_cli_open_tape(demo->cli, false, &tape, err, errlen) : TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_tape_batch_new(tape, &batch);
    for (size_t i = 0; rc == TD_OK && i < demo->n_syms; i++) {
        const demo_symbol_t *sym = &demo->syms[i];
        rc = td_event_init(ev, TD_EV_PARAMS_CHANGED, sym->name, at);
        if (rc != TD_OK)
            break;
        td_params_changed_t *p = &ev->u.params;
        snprintf(ev->source, sizeof ev->source, "params");
        snprintf(p->strategy, sizeof p->strategy, "%s", sym->strategy);
        p->version = 1;
        snprintf(p->author, sizeof p->author, "demo");
        snprintf(p->reason, sizeof p->reason, "demo parameter set");
        const char *s = sym->params; /* already sorted by name */
        while (*s && p->n_values < TD_PARAMS_MAX) {
            const char *comma = strchr(s, ',');
            size_t len = comma ? (size_t)(comma - s) : strlen(s);
            const char *eq = memchr(s, '=', len);
            TD_ASSERT(eq != NULL);
            td_param_t *v = &p->values[p->n_values++];
            snprintf(v->name, sizeof v->name, "%.*s", (int)(eq - s), s);
            snprintf(v->value, sizeof v->value, "%.*s", (int)(len - (size_t)(eq - s) - 1), eq + 1);
            s += len + (comma ? 1 : 0);
        }
        rc = td_tape_batch_append(batch, TD_STREAM_INPUT, ev);
    }
    if (rc == TD_OK) {
        rc = td_tape_commit(tape, batch);
        batch = NULL;
    }
    if (rc != TD_OK && !err[0])
        td_err_set(err, errlen, rc, "cannot put the parameter sets on the tape");
    td_tape_batch_destroy(batch);
    td_tape_close(tape);
    free(ev);
    return rc;
}

/* ---- the summary ---- */

typedef struct summary {
    uint64_t inputs, ticks, clocks, execs, bars, intents, fills, trades;
    int64_t last_volume, realized, commission, swap;
    uint8_t digest[TD_SHA256_LEN];
    bool has_digest;
} summary_t;

static td_err_t summarise(td_tape_t *tape, const char *symbol, summary_t *s)
{
    memset(s, 0, sizeof *s);
    td_tape_iter_t *iter = NULL;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, 0, &iter) : TD_ERR_NOMEM;
    while (rc == TD_OK && (rc = td_tape_iter_next(iter, ev)) == TD_OK) {
        s->inputs++;
        s->ticks += ev->kind == TD_EV_TICK;
        s->clocks += ev->kind == TD_EV_CLOCK;
        if (ev->kind == TD_EV_EXEC_REPORT) {
            s->execs++;
            s->fills += ev->u.exec.status == TD_EXEC_FILLED && strncmp(ev->u.exec.intent_id, "sl:", 3) != 0 &&
                        strncmp(ev->u.exec.intent_id, "tp:", 3) != 0;
        }
    }
    td_tape_iter_destroy(iter);
    iter = NULL;
    if (rc == TD_ERR_END)
        rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, 0, &iter);
    while (rc == TD_OK && (rc = td_tape_iter_next(iter, ev)) == TD_OK) {
        switch (ev->kind) {
        case TD_EV_BAR: s->bars++; break;
        case TD_EV_ORDER_INTENT: s->intents++; break;
        case TD_EV_TRADE_CLOSED: s->trades++; break;
        case TD_EV_POSITION_CHANGED:
            s->last_volume = ev->u.position.volume;
            s->realized = ev->u.position.realized_pnl;
            s->commission = ev->u.position.commission;
            s->swap = ev->u.position.swap;
            break;
        case TD_EV_DAY_DIGEST:
            memcpy(s->digest, ev->u.digest.sha256, TD_SHA256_LEN);
            s->has_digest = true;
            break;
        default: break;
        }
    }
    if (rc == TD_ERR_END)
        rc = TD_OK;
    td_tape_iter_destroy(iter);
    free(ev);
    return rc;
}

static int print_summary(demo_t *demo)
{
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(demo->cli, true, &tape, demo->err, sizeof demo->err);
    if (rc != TD_OK)
        return td_cli_fail(demo->cli, rc, "%s", demo->err);
    printf("\n  %-7s %-10s %7s %6s %6s %6s %6s %6s %10s %12s  %s\n", "symbol", "strategy", "events", "clocks", "bars",
           "orders", "fills", "trades", "position", "realised", "day digest");
    uint64_t total = 0;
    for (size_t i = 0; rc == TD_OK && i < demo->n_syms; i++) {
        const demo_symbol_t *sym = &demo->syms[i];
        summary_t s;
        rc = summarise(tape, sym->name, &s);
        if (rc != TD_OK)
            break;
        total += s.inputs;
        char vol[40], pnl[40], hex[65] = "(day not closed)";
        td_fx_format(s.last_volume, 2, vol, sizeof vol);
        td_fx_format(s.realized, 2, pnl, sizeof pnl);
        if (s.has_digest)
            td_digest_hex(s.digest, hex);
        printf("  %-7s %-10s %7" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %6" PRIu64
               " %10s %12s  %.16s...\n",
               sym->name, sym->strategy, s.inputs, s.clocks, s.bars, s.intents, s.fills, s.trades, vol, pnl, hex);
    }
    td_tape_close(tape);
    if (rc != TD_OK)
        return td_cli_fail(demo->cli, rc, "reading the tape: %s", td_err_name(rc));
    printf("\n  %" PRIu64 " input events on the tape (ticks, specs, parameter sets, fills, clocks); realised P&L in\n"
           "  each symbol's profit currency; fills by the feed's paper broker (the shared fill model).\n",
           total);
    const char *lat = strstr(demo->run_text, "tick-to-order latency");
    if (lat) {
        const char *end = strchr(lat, '\n');
        printf("  %.*s\n", (int)(end ? end - lat : (ptrdiff_t)strlen(lat)), lat);
    }
    return TD_EXIT_OK;
}

static void look_at_it(const demo_t *demo)
{
    printf("\n  look at it:\n    %s --data-dir %s bars --symbol %s\n    %s --data-dir %s dump --stream output --symbol "
           "%s\n",
           demo->cli->program, demo->dir, demo->syms[0].name, demo->cli->program, demo->dir, demo->syms[0].name);
}

/* Runs the printed replay command as a child and shows its lines. */
static int run_replay(demo_t *demo)
{
    printf("\n  prove the day bit-exact (run now):\n    %s --data-dir %s --config %s replay --date %s\n",
           demo->cli->program, demo->dir, demo->config_path, demo->date);
    fflush(stdout);
    char out_path[4200], log[4200], date[16];
    snprintf(out_path, sizeof out_path, "%s/replay.out", demo->dir);
    snprintf(log, sizeof log, "%s/replay.log", demo->dir);
    snprintf(date, sizeof date, "%s", demo->date);
    char *args[] = {"tapedeck", "--data-dir", demo->dir, "--config", demo->config_path, "replay", "--date", date, NULL};
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_t pid = out_fd >= 0 ? spawn(args, out_fd, log) : -1;
    if (out_fd >= 0)
        close(out_fd);
    int code = pid > 0 ? wait_child(pid, 120) : -1;
    FILE *f = fopen(out_path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        printf("    %s", line);
    if (f)
        fclose(f);
    if (code == 0)
        return TD_EXIT_OK;
    return code == 1 ? TD_EXIT_CHECK : td_cli_fail(demo->cli, TD_ERR_IO, "replay failed (exit %d); see %s", code, log);
}

#define DAYS_MAX 64
typedef struct days {
    uint32_t day[DAYS_MAX];
    size_t n;
} days_t;

static td_err_t add_day(void *opaque, const td_day_range_t *range)
{
    days_t *days = opaque;
    if (range->trading_day <= 19700101 || range->count <= 1) /* not the Clock's next day */
        return TD_OK;
    size_t i = 0; /* days of all symbols, once each, in order */
    while (i < days->n && days->day[i] < range->trading_day)
        i++;
    if ((i < days->n && days->day[i] == range->trading_day) || days->n == DAYS_MAX)
        return TD_OK;
    memmove(&days->day[i + 1], &days->day[i], (days->n - i) * sizeof days->day[0]);
    days->day[i] = range->trading_day;
    days->n++;
    return TD_OK;
}

/* Adds a symbol of the tick files (once): its strategy and spec from the synthetic set when it has
 * the symbol, else sma_cross on a 5-digit forex spec; the config's symbols.S section wins. */
static td_err_t tick_symbol(demo_t *demo, const char *name, const td_synth_symbol_t *set, size_t n_set)
{
    for (size_t i = 0; i < demo->n_syms; i++)
        if (strcmp(demo->syms[i].name, name) == 0)
            return TD_OK;
    if (demo->n_syms == DEMO_SYMBOLS_MAX)
        return TD_ERR_OVERFLOW;
    demo_symbol_t *d = &demo->syms[demo->n_syms++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->strategy = "sma_cross";
    d->params = "direction=both,fast=5,slow=20,sl_points=0,tp_points=0,volume=0.10";
    d->digits = 5;
    snprintf(d->contract_size, sizeof d->contract_size, "100000");
    for (size_t i = 0; i < n_set; i++)
        if (strcmp(set[i].name, name) == 0) {
            d->strategy = set[i].strategy;
            d->params = set[i].params;
            d->digits = set[i].digits;
            snprintf(d->contract_size, sizeof d->contract_size, "%s", set[i].contract_size);
        }
    if (td_config_has_symbol(demo->cli->config, name)) {
        td_symbol_spec_t spec;
        td_config_symbol_spec(demo->cli->config, name, &spec);
        d->digits = (int)spec.digits;
        char cs[40];
        td_fx_format(spec.contract_size, 8, cs, sizeof cs);
        snprintf(d->contract_size, sizeof d->contract_size, "%s", cs);
    }
    return TD_OK;
}

int td_cmd_demo(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, 'd'},   {"ticks", no_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'}, {"symbol", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    demo_t demo = {.cli = cli, .date = NULL};
    bool ticks = false;
    const char *format = NULL, *symbol = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': demo.date = optarg; break;
        case 'T': ticks = true; break;
        case 'f': format = optarg; break;
        case 's': symbol = optarg; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option (see tapedeck demo --help)");
        }
    }
    size_t n_set = 0;
    const td_synth_symbol_t *set = td_synth_set("demo", &n_set);
    if (ticks) {
        if (demo.date)
            return td_cli_usage(cli, "--date goes with the synthetic day; with --ticks the day is the files'");
        if (!format || optind >= argc)
            return td_cli_usage(cli, "--ticks expects --format F and tick FILEs ([--symbol S] or SYMBOL=FILE)");
        if (symbol && (!*symbol || strlen(symbol) > TD_SYMBOL_MAX || strpbrk(symbol, "\t\r\n=/")))
            return td_cli_usage(cli, "--symbol expects a symbol name of 1..%d characters", TD_SYMBOL_MAX);
        for (int i = optind; i < argc; i++) {
            char name[TD_SYMBOL_MAX + 1];
            const char *path;
            if (!td_cli_tick_file(argv[i], symbol, name, &path))
                return td_cli_usage(cli, "'%s' names no symbol: write SYMBOL=FILE, or give --symbol S", argv[i]);
            if (tick_symbol(&demo, name, set, n_set) != TD_OK)
                return td_cli_usage(cli, "at most %d symbols with --ticks", DEMO_SYMBOLS_MAX);
        }
    } else {
        if (optind < argc)
            return td_cli_usage(cli, "unexpected argument '%s' (tick files go with --ticks)", argv[optind]);
        for (size_t i = 0; i < n_set && i < DEMO_SYMBOLS_MAX; i++) {
            demo_symbol_t *d = &demo.syms[demo.n_syms++];
            snprintf(d->name, sizeof d->name, "%s", set[i].name);
            d->strategy = set[i].strategy;
            d->params = set[i].params;
            d->digits = set[i].digits;
            snprintf(d->contract_size, sizeof d->contract_size, "%s", set[i].contract_size);
        }
        if (!demo.date)
            demo.date = "2024-01-02";
        if (td_cli_parse_date(demo.date, &demo.day) != TD_OK)
            return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", demo.date);
    }

    /* a fresh data directory under --data-dir */
    mkdir(cli->data_dir, 0755);
    snprintf(demo.dir, sizeof demo.dir, "%s/demo-XXXXXX", cli->data_dir);
    if (!mkdtemp(demo.dir))
        return td_cli_fail(cli, TD_ERR_IO, "%s: cannot create a demo directory: %s", demo.dir, strerror(errno));
    cli->data_dir = demo.dir;
    int code = write_config(&demo);
    if (code != TD_EXIT_OK)
        return code;
    /* the parameter sets take effect at the start of the day (the synthetic one, or 1970 for files:
     * before any tick) */
    int64_t at =
        ticks ? 0 : td_time_trading_day_start(demo.day, (int)td_config_int(cli->config, "session.day_offset_minutes"));
    if (push_params(&demo, at, demo.err, sizeof demo.err) != TD_OK)
        return td_cli_fail(cli, TD_ERR_IO, "%s", demo.err);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ticks) {
        printf("tapedeck demo: ticks of");
        for (size_t i = 0; i < demo.n_syms; i++)
            printf(" %s", demo.syms[i].name);
        printf(" from %d file(s) through the live pipeline, in %s\n", argc - optind, demo.dir);
    } else
        printf("tapedeck demo: one SYNTHETIC day (%s; generated, not market data) for %zu symbols through the live\n"
               "  pipeline, in %s\n",
               demo.date, demo.n_syms, demo.dir);
    code = start_run(&demo);
    if (code != TD_EXIT_OK)
        return code;
    printf("  service: tapedeck run (gateway, processor, order router; local tape) on 127.0.0.1:%s, pid %d\n",
           demo.port, (int)demo.run_pid);
    fflush(stdout);
    code = run_feed(&demo, argc, argv, ticks, format, symbol);
    if (code != TD_EXIT_OK) {
        kill(demo.run_pid, SIGKILL);
        waitpid(demo.run_pid, NULL, 0);
        return code;
    }
    char feed_out[4200], line[1024];
    snprintf(feed_out, sizeof feed_out, "%s/feed.out", demo.dir);
    FILE *f = fopen(feed_out, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "paper broker:") || strstr(line, "lines sent"))
            printf("  feed: %s", strstr(line, ": ") + 2);
    if (f)
        fclose(f);
    code = stop_run(&demo);
    if (code != TD_EXIT_OK)
        return code;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("  service stopped with SIGTERM after %.1f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    code = print_summary(&demo);
    if (code != TD_EXIT_OK)
        return code;
    if (!ticks) {
        code = run_replay(&demo);
        look_at_it(&demo);
        return code;
    }
    /* the files' days: each one the tape has is replayed */
    days_t days = {0};
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, demo.err, sizeof demo.err);
    for (size_t i = 0; rc == TD_OK && i < demo.n_syms; i++)
        rc = td_tape_days(tape, TD_STREAM_INPUT, demo.syms[i].name, add_day, &days);
    td_tape_close(tape);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "reading the day index: %s", demo.err);
    char dates[DAYS_MAX][16];
    for (size_t i = 0; code == TD_EXIT_OK && i < days.n; i++) {
        snprintf(dates[i], sizeof dates[i], "%04u-%02u-%02u", days.day[i] / 10000, days.day[i] / 100 % 100,
                 days.day[i] % 100);
        demo.date = dates[i];
        code = run_replay(&demo);
    }
    look_at_it(&demo);
    return code;
}
