/* cmd_process.c - `tapedeck process`: the processor host in batch mode. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "host/host.h"

static void help(void)
{
    printf("usage: tapedeck process [--symbol SYMBOL]\n"
           "\n"
           "Runs the processors (bars, strategy, paper fills, positions, day metrics, day digests) over\n"
           "every input stream of the tape - or SYMBOL's - from where they stopped to the current end,\n"
           "committing state, consumed offsets and outputs together every tape.batch_events inputs.\n"
           "Killed at any point, it resumes exactly where the last commit left off.\n"
           "\n"
           "options:\n"
           "  --symbol SYMBOL   process only this stream\n"
           "  --stop-after N    testing aid: stop after N inputs without committing the open batch,\n"
           "                    as a crash would\n"
           "\n"
           "Exit codes: 0 done, 2 bad usage or a configuration that differs from the tape's, 3 storage failure.\n");
}

int td_cmd_process(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'},
        {"stop-after", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    td_host_opts_t opts = {0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': opts.symbol = optarg; break;
        case 'k': {
            char *end = NULL;
            opts.stop_after = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || opts.stop_after == 0)
                return td_cli_usage(cli, "--stop-after expects a count > 0, found '%s'", optarg);
            break;
        }
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    td_host_pipeline_config(cli->config, &opts.pipeline);
    opts.batch_events = (uint32_t)td_config_int(cli->config, "tape.batch_events");
    opts.log = &cli->log;

    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, false, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    if (opts.symbol && td_tape_next_offset(tape, TD_STREAM_INPUT, opts.symbol) == 0) {
        td_tape_close(tape);
        return td_cli_fail(cli, TD_ERR_NOT_FOUND, "no input stream for %s", opts.symbol);
    }
    td_host_stats_t stats;
    double t0 = td_mono_s();
    rc = td_host_process(tape, &opts, &stats, err, sizeof err);
    double dt = td_mono_s() - t0;
    td_tape_close(tape);
    if (rc == TD_ERR_END) {
        printf("stopped after %" PRIu64 " inputs (--stop-after), last batch not committed\n", stats.inputs);
        return TD_EXIT_OK;
    }
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err[0] ? err : "processing failed");
    printf("processed %" PRIu64 " inputs of %" PRIu64 " stream(s): %" PRIu64 " outputs, %" PRIu64
           " day(s) closed, %" PRIu64 " commit(s), %.3f s (%.0f inputs/s)\n",
           stats.inputs, stats.symbols, stats.outputs, stats.days_closed, stats.commits, dt,
           dt > 0 ? (double)stats.inputs / dt : 0.0);
    return TD_EXIT_OK;
}
