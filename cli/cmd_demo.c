/* cmd_demo.c - `tapedeck demo`: one trading day through the LIVE pipeline, then proved bit-exact.
 *
 * The steps are service/demo.h's: a fresh data directory (DIR/demo-XXXXXX) with its own
 * configuration, a parameter set per symbol on the tape, `tapedeck run` as a child process,
 * `tapedeck feed` against it - the built-in SYNTHETIC day of feed/synthetic.h (labelled synthetic:
 * not market data), or tick files with --ticks - in step with the bars (--sync-bars, so the day is
 * the same on every run), SIGTERM to the service, and the replay of each day. Here: the options,
 * the symbols (the synthetic set's, or the tick files' with the config's specs), and what is
 * printed - a summary from the tape (events, bars, orders, fills, positions and P&L per symbol),
 * the router's tick-to-order latency, and the `replay` command that proves the day bit-exact.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "feed/synthetic.h"
#include "core/digest.h"
#include "core/timeutil.h"
#include "service/demo.h"

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

/* A symbol of the synthetic set, as the demo runs it. */
static void synth_symbol(td_demo_symbol_t *d, const td_synth_symbol_t *synth)
{
    snprintf(d->name, sizeof d->name, "%s", synth->name);
    d->strategy = synth->strategy;
    d->params = synth->params;
    d->digits = synth->digits;
    snprintf(d->contract_size, sizeof d->contract_size, "%s", synth->contract_size);
}

static int fail(td_cli_t *cli, td_err_t rc, const char *err)
{
    return td_cli_fail(cli, rc, "%s", err);
}

static int print_summary(td_cli_t *cli, const td_demo_t *demo)
{
    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
    if (rc != TD_OK)
        return fail(cli, rc, err);
    printf("\n  %-7s %-10s %7s %6s %6s %6s %6s %6s %10s %12s  %s\n", "symbol", "strategy", "events", "clocks", "bars",
           "orders", "fills", "trades", "position", "realised", "day digest");
    uint64_t total = 0;
    for (size_t i = 0; rc == TD_OK && i < demo->n_syms; i++) {
        const td_demo_symbol_t *sym = &demo->syms[i];
        td_demo_summary_t s;
        rc = td_demo_summarise(tape, sym->name, &s);
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
        return td_cli_fail(cli, rc, "reading the tape: %s", td_err_name(rc));
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

static void look_at_it(const td_cli_t *cli, const td_demo_t *demo)
{
    printf("\n  look at it:\n    %s --data-dir %s bars --symbol %s\n    %s --data-dir %s dump --stream output --symbol "
           "%s\n",
           cli->program, demo->dir, demo->syms[0].name, cli->program, demo->dir, demo->syms[0].name);
}

/* Prints the lines of the file path that contain one of the needles (all when needle is NULL),
 * each after prefix and from the first match of skip_to (if any) on. */
static void print_lines(const char *path, const char *prefix, const char *needle1, const char *needle2,
                        const char *skip_to)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) {
        if (needle1 && !strstr(line, needle1) && !(needle2 && strstr(line, needle2)))
            continue;
        const char *from = skip_to ? strstr(line, skip_to) : NULL;
        printf("%s%s", prefix, from ? from + strlen(skip_to) : line);
    }
    if (f)
        fclose(f);
}

/* Prints the replay command, runs it (td_demo_replay) and shows its lines. */
static int run_replay(td_cli_t *cli, const td_demo_t *demo, const char *date)
{
    printf("\n  prove the day bit-exact (run now):\n    %s --data-dir %s --config %s replay --date %s\n", cli->program,
           demo->dir, demo->config_path, date);
    fflush(stdout);
    char err[1024] = "", out_path[4200];
    td_err_t rc = td_demo_replay(demo, date, err, sizeof err);
    snprintf(out_path, sizeof out_path, "%s/replay.out", demo->dir);
    print_lines(out_path, "    ", NULL, NULL, NULL);
    if (rc == TD_OK)
        return TD_EXIT_OK;
    return rc == TD_ERR_MISMATCH ? TD_EXIT_CHECK : fail(cli, rc, err);
}

/* Adds a symbol of the tick files (once): its strategy and spec from the synthetic set when it has
 * the symbol, else sma_cross on a 5-digit forex spec; the config's symbols.S section wins. */
static td_err_t tick_symbol(const td_cli_t *cli, td_demo_t *demo, const char *name, const td_synth_symbol_t *set,
                            size_t n_set)
{
    for (size_t i = 0; i < demo->n_syms; i++)
        if (strcmp(demo->syms[i].name, name) == 0)
            return TD_OK;
    if (demo->n_syms == TD_DEMO_SYMBOLS_MAX)
        return TD_ERR_OVERFLOW;
    td_demo_symbol_t *d = &demo->syms[demo->n_syms++];
    snprintf(d->name, sizeof d->name, "%s", name);
    d->strategy = "sma_cross";
    d->params = "direction=both,fast=5,slow=20,sl_points=0,tp_points=0,volume=0.10";
    d->digits = 5;
    snprintf(d->contract_size, sizeof d->contract_size, "100000");
    for (size_t i = 0; i < n_set; i++)
        if (strcmp(set[i].name, name) == 0) {
            synth_symbol(d, &set[i]);
            break;
        }
    if (td_config_has_symbol(cli->config, name)) {
        td_symbol_spec_t spec;
        td_config_symbol_spec(cli->config, name, &spec);
        d->digits = (int)spec.digits;
        char cs[40];
        td_fx_format(spec.contract_size, 8, cs, sizeof cs);
        snprintf(d->contract_size, sizeof d->contract_size, "%s", cs);
    }
    return TD_OK;
}

/* The options of tapedeck feed for the day's data: the tick files, or the synthetic day. */
static void feed_data(const char *data[64], bool ticks, const char *format, const char *symbol, const char *date,
                      int argc, char **argv)
{
    size_t n = 0;
    if (ticks) {
        data[n++] = "--format";
        data[n++] = format;
        if (symbol) {
            data[n++] = "--symbol";
            data[n++] = symbol;
        }
        for (int i = optind; i < argc && n < 44; i++)
            data[n++] = argv[i];
    } else {
        data[n++] = "--synthetic";
        data[n++] = "demo";
        data[n++] = "--date";
        data[n++] = date;
    }
    data[n] = NULL;
}

/* From the service's start to the replays; the exit code. */
static int run_day(td_cli_t *cli, td_demo_t *demo, const char *const data[], bool ticks, const char *date)
{
    char err[1024] = "";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    td_err_t rc = td_demo_start_run(demo, err, sizeof err);
    if (rc != TD_OK)
        return fail(cli, rc, err);
    printf("  service: tapedeck run (gateway, processor, order router; local tape) on 127.0.0.1:%s, pid %d\n",
           demo->port, (int)demo->run_pid);
    fflush(stdout);
    rc = td_demo_feed(demo, data, err, sizeof err);
    if (rc != TD_OK)
        return fail(cli, rc, err); /* td_demo_fini kills the service */
    char feed_out[4200];
    snprintf(feed_out, sizeof feed_out, "%s/feed.out", demo->dir);
    print_lines(feed_out, "  feed: ", "paper broker:", "lines sent", ": ");
    rc = td_demo_stop_run(demo, err, sizeof err);
    if (rc != TD_OK)
        return fail(cli, rc, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("  service stopped with SIGTERM after %.1f s\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    int code = print_summary(cli, demo);
    if (code != TD_EXIT_OK)
        return code;
    if (!ticks) {
        code = run_replay(cli, demo, date);
        look_at_it(cli, demo);
        return code;
    }
    /* the files' days: each one the tape has is replayed */
    uint32_t days[TD_DEMO_DAYS_MAX];
    size_t n_days = 0;
    rc = td_demo_days(demo, cli->config, days, &n_days, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "reading the day index: %s", err);
    for (size_t i = 0; code == TD_EXIT_OK && i < n_days; i++) {
        char day[16];
        snprintf(day, sizeof day, "%04u-%02u-%02u", days[i] / 10000, days[i] / 100 % 100, days[i] % 100);
        code = run_replay(cli, demo, day);
    }
    look_at_it(cli, demo);
    return code;
}

int td_cmd_demo(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, 'd'},   {"ticks", no_argument, NULL, 'T'},
        {"format", required_argument, NULL, 'f'}, {"symbol", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    td_demo_t demo;
    td_demo_init(&demo);
    bool ticks = false;
    const char *format = NULL, *symbol = NULL, *date = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': date = optarg; break;
        case 'T': ticks = true; break;
        case 'f': format = optarg; break;
        case 's': symbol = optarg; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option (see tapedeck demo --help)");
        }
    }
    size_t n_set = 0;
    const td_synth_symbol_t *set = td_synth_set("demo", &n_set);
    uint32_t day = 0;
    if (ticks) {
        if (date)
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
            if (tick_symbol(cli, &demo, name, set, n_set) != TD_OK)
                return td_cli_usage(cli, "at most %d symbols with --ticks", TD_DEMO_SYMBOLS_MAX);
        }
    } else {
        if (optind < argc)
            return td_cli_usage(cli, "unexpected argument '%s' (tick files go with --ticks)", argv[optind]);
        for (size_t i = 0; i < n_set && i < TD_DEMO_SYMBOLS_MAX; i++)
            synth_symbol(&demo.syms[demo.n_syms++], &set[i]);
        if (!date)
            date = "2024-01-02";
        if (td_cli_parse_date(date, &day) != TD_OK)
            return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", date);
    }

    /* a fresh data directory under --data-dir, with its config */
    char err[1024] = "";
    td_err_t rc = td_demo_setup(&demo, cli->data_dir, cli->config, err, sizeof err);
    if (rc != TD_OK)
        return fail(cli, rc, err);
    cli->data_dir = demo.dir;
    /* the parameter sets take effect at the start of the day (the synthetic one, or 1970 for files:
     * before any tick) */
    int64_t at =
        ticks ? 0 : td_time_trading_day_start(day, (int)td_config_int(cli->config, "session.day_offset_minutes"));
    if (td_demo_push_params(&demo, cli->config, at, err, sizeof err) != TD_OK)
        return fail(cli, TD_ERR_IO, err);

    if (ticks) {
        printf("tapedeck demo: ticks of");
        for (size_t i = 0; i < demo.n_syms; i++)
            printf(" %s", demo.syms[i].name);
        printf(" from %d file(s) through the live pipeline, in %s\n", argc - optind, demo.dir);
    } else
        printf("tapedeck demo: one SYNTHETIC day (%s; generated, not market data) for %zu symbols through the live\n"
               "  pipeline, in %s\n",
               date, demo.n_syms, demo.dir);
    const char *data[64];
    feed_data(data, ticks, format, symbol, date, argc, argv);
    int code = run_day(cli, &demo, data, ticks, date);
    td_demo_fini(&demo);
    return code;
}
