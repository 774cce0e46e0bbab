/* cmd_sink.c - `tapedeck sink [--once]`: the tape's streams into the PostgreSQL warehouse. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "sink/sink.h"
#include "sink/sink_thread.h"

static void help(void)
{
    printf("usage: tapedeck sink [--once] [--symbol SYMBOL] [--batch-rows N] [--sessions N]\n"
           "\n"
           "Writes the processors' outputs (bars, signals, order intents, fills, position changes,\n"
           "closed trades, day digests) and the input streams' symbol specs, parameter sets and\n"
           "broker execution reports from the tape into PostgreSQL, exactly once: each batch is one\n"
           "SQL transaction - binary COPY into staging tables, an upsert keyed by the event's id\n"
           "(symbol and offset), and the stream's new offset - so a crash or a database restart\n"
           "neither loses nor duplicates a row. While PostgreSQL is unreachable the sink logs it and retries with "
           "backoff. Without\n"
           "--once it keeps following the tape (every warehouse.poll_ms) until SIGINT or SIGTERM.\n"
           "The schema must exist: tapedeck migrate.\n"
           "\n"
           "options:\n"
           "  --once           write everything the tape holds now, then exit\n"
           "  --symbol SYMBOL  only this symbol's streams\n"
           "  --batch-rows N   output events per transaction (default: warehouse.batch_rows)\n"
           "  --sessions N     PostgreSQL sessions writing at once over disjoint symbols, 1..16\n"
           "                   (default: warehouse.sessions)\n"
           "  --hold-ms N      testing aid: keep each transaction open N ms before COMMIT, so that a kill\n"
           "                   or a database restart lands inside one\n"
           "\n"
           "Exit codes: 0 done or stopped, 1 the warehouse disagrees with the tape, 2 bad usage,\n"
           "3 PostgreSQL unreachable past warehouse.give_up_s, no schema, or a storage failure.\n");
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_count(const td_cli_t *cli, const char *opt, const char *text, uint32_t min, uint32_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || text[0] == '-' || v < min || v > 100000000ULL)
        return td_cli_usage(cli, "%s expects a count >= %u, found '%s'", opt, min, text);
    *out = (uint32_t)v;
    return TD_EXIT_OK;
}

int td_cmd_sink(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"once", no_argument, NULL, 'o'},
        {"symbol", required_argument, NULL, 's'},
        {"batch-rows", required_argument, NULL, 'b'},
        {"sessions", required_argument, NULL, 'S'},
        {"hold-ms", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    td_sink_opts_t opts;
    td_sink_config(cli->config, &opts);
    opts.tape_dir = cli->data_dir;
    opts.log = &cli->log;
    opts.stop = &stop_flag;
    int c, code;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': opts.once = true; break;
        case 's': opts.symbol = optarg; break;
        case 'b':
            if ((code = parse_count(cli, "--batch-rows", optarg, 1, &opts.batch_rows)) != TD_EXIT_OK)
                return code;
            break;
        case 'S':
            if ((code = parse_count(cli, "--sessions", optarg, 1, &opts.sessions)) != TD_EXIT_OK)
                return code;
            if (opts.sessions > TD_SINK_SESSIONS_MAX)
                return td_cli_usage(cli, "--sessions expects 1..%d, found %u", TD_SINK_SESSIONS_MAX, opts.sessions);
            break;
        case 'H':
            if ((code = parse_count(cli, "--hold-ms", optarg, 0, &opts.hold_ms)) != TD_EXIT_OK)
                return code;
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    char err[1536] = "";
    td_sink_stats_t stats;
    double t0 = td_mono_s();
    td_err_t rc = td_sink_run(&opts, &stats, err, sizeof err);
    double dt = td_mono_s() - t0;
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err[0] ? err : "the sink failed");
    td_sink_stats_print(stdout, &stats, dt);
    return TD_EXIT_OK;
}
