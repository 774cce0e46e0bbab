/* cmd_run.c - `tapedeck run`: the live pipeline service on the local tape, until SIGTERM or SIGINT.
 *
 * All roles in one process (the default): the gateway's libev loop is the only thread and the
 * tape's single writer; after each committed burst of the EA's lines (and every router.interval_ms)
 * its hook runs the processor host over the tape (td_host_process: every input stream to its end)
 * and then the order router (gateway/router.h), which sends new OrderIntents to the EA's session.
 * `--role gateway` runs the gateway alone. The processor and router roles alone need a journal
 * that two processes can share (Kafka); they are refused for now. With warehouse.enabled the
 * warehouse sink runs in its own thread (sink/sink_thread.h), reading the writer's tape handle;
 * `--role sink` is the sink alone, following the tape of a running `run` (as tapedeck sink). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/kafka.h"
#include "gateway/router.h"
#include "gateway/server.h"
#include "host/follow.h"
#include "host/host.h"
#include "sink/sink_thread.h"

static void help(void)
{
    printf("usage: tapedeck run [--role all|gateway|sink|processor|archiver] [--config FILE]\n"
           "\n"
           "Runs the live pipeline service on the local tape until SIGTERM or SIGINT. Roles:\n"
           "  gateway     the TCP server the MT5 Expert Advisor (or tapedeck feed) connects to: it\n"
           "              authenticates the EA (gateway.token), appends its ticks, symbol specs and\n"
           "              execution reports to the local tape and acknowledges what is durably there\n"
           "              (docs/PROTOCOL.md). Listens on gateway.listen (default 127.0.0.1:7878).\n"
           "              The EA's HEARTBEATs become Clock events of the symbols whose bar they end.\n"
           "  processor   the processor host: after every gateway commit it processes the tape's\n"
           "              input streams to their end (as tapedeck process does).\n"
           "  router      sends new OrderIntents to the EA's session as ORDER lines, each recorded as\n"
           "              sent on the tape before it is written; an intent older than\n"
           "              router.max_age_ms is not sent but recorded as expired (an ExecutionReport\n"
           "              input). An intent sent but not yet reported on by the EA (no execution\n"
           "              report with its id) is written again when a new EA session opens - after a\n"
           "              restart or a reconnect - while within router.max_age_ms, else recorded as\n"
           "              expired; the EA refuses an id it executed. Only with broker.mode external;\n"
           "              in paper mode the processor fills.\n"
           "  sink        the warehouse sink: the tape's streams into PostgreSQL, exactly once\n"
           "              (tapedeck sink --help). In all roles it runs in its own thread when\n"
           "              warehouse.enabled is true; while PostgreSQL is down it logs and retries,\n"
           "              and the gateway goes on acknowledging. --role sink runs it alone, next to a\n"
           "              running tapedeck run on the same data directory.\n"
           "all (the default) runs the first three (and the sink, if enabled) in one process; --role\n"
           "gateway runs the gateway alone. The processor and router roles alone are not built on the\n"
           "local tape.\n"
           "\n"
           "With journal.mode kafka (docs/OPERATIONS.md) each role is its own process with its own\n"
           "--data-dir, joined by the topics kafka.input_topic and kafka.output_topic at kafka.brokers:\n"
           "  --role gateway    produces each burst to the input topic, ACKs after delivery (acks=all)\n"
           "  --role processor  input topic -> its own tape -> processor host -> output topic\n"
           "  --role archiver   both topics -> the local tape (the replayable record, day index)\n"
           "  --role sink       as above, on the archiver's data directory\n"
           "In Kafka mode the order router runs inside the gateway process (only it holds the EA's\n"
           "socket): with broker.mode external the gateway's tape mirrors both topics and the router\n"
           "sends each new OrderIntent of the output topic to the EA (router.interval_ms: set 1 here).\n"
           "\n"
           "options:\n"
           "  --role ROLE     all (default), gateway or sink; with journal.mode kafka: gateway,\n"
           "                  processor, archiver or sink\n"
           "  --config FILE   YAML configuration (as the global option; gateway.* and tape.* keys)\n"
           "\n"
           "On SIGTERM/SIGINT it stops accepting, closes every connection with BYE (all it read is\n"
           "committed and processed) and exits 0. Exit codes: 0 stopped by a signal, 2 bad usage or configuration,\n"
           "3 the environment failed (cannot listen, tape failure).\n");
}

typedef struct live {
    td_cli_t *cli;
    td_tape_t *tape;
    td_gw_server_t *server;
    td_router_t *router;    /* NULL in paper mode */
    td_sink_thread_t *sink; /* NULL unless warehouse.enabled */
    td_host_opts_t host;
    uint64_t host_runs, host_inputs, host_outputs;
    td_follow_t follow; /* the input streams that grew since the hook last processed them */
} live_t;

/* The gateway's hook (its loop thread, the tape's writer): process the tape to its end, then
 * route; an expiry appends reports, which are processed at once so the strategy sees them. */
static td_err_t live_hook(void *opaque, double burst_start, char *errbuf, size_t errlen)
{
    live_t *live = opaque;
    td_err_t rc = TD_OK;
    for (int round = 0; rc == TD_OK && round < 4; round++) {
        td_host_stats_t st;
        rc = td_follow_process(&live->follow, live->tape, &live->host, &st, errbuf, errlen);
        if (rc != TD_OK)
            break;
        live->host_runs++;
        live->host_inputs += st.inputs;
        live->host_outputs += st.outputs;
        uint64_t expired = 0;
        if (live->router)
            rc = td_router_run(live->router, live->tape, live->server, burst_start, &expired, errbuf, errlen);
        if (expired == 0)
            break;
    }
    return rc;
}

/* The sink role in this process: its own thread, reading the writer's tape handle. */
static td_err_t start_sink(live_t *live, char *errbuf, size_t errlen)
{
    td_sink_opts_t opts;
    td_sink_config(live->cli->config, &opts);
    opts.tape = live->tape;
    opts.log = &live->cli->log;
    return td_sink_thread_start(&opts, &live->sink, errbuf, errlen);
}

/* Stops the sink after the last burst was processed (it finishes its batch) and prints its totals. */
static void stop_sink(live_t *live)
{
    if (!live->sink)
        return;
    td_sink_stats_t st = {0};
    td_sink_thread_stop(live->sink, &st);
    live->sink = NULL;
    printf("tapedeck run: sink: %" PRIu64 " row(s) in %" PRIu64 " transaction(s), %" PRIu64 " retry(ies)\n", st.rows,
           st.batches, st.retries);
}

int td_cmd_run(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *role = NULL;
    char err[1024] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': role = optarg; break;
        case 'c':
            if (td_config_load(cli->config, optarg, err, sizeof err) != TD_OK)
                return td_cli_fail(cli, TD_ERR_CONFIG, "%s", err);
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option (see tapedeck run --help)");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!role)
        role = "all";
    if (strcmp(role, "sink") == 0) /* the sink alone: tapedeck sink in follow mode */
        return td_cmd_sink(cli, 1, (char *[]){"sink", NULL});
    if (td_config_int(cli->config, "journal.mode") == 1) { /* kafka: cli/run_kafka.c */
        if (strcmp(role, "gateway") != 0 && strcmp(role, "processor") != 0 && strcmp(role, "archiver") != 0)
            return td_cli_usage(cli,
                                "journal.mode kafka: --role expects gateway, processor, archiver or sink (one "
                                "role per process), found '%s'",
                                role);
        return td_run_kafka(cli, role);
    }
    bool all = strcmp(role, "all") == 0;
    if (!all && (strcmp(role, "processor") == 0 || strcmp(role, "router") == 0))
        return td_cli_usage(cli,
                            "--role %s alone is not built yet (it needs a journal shared between processes); "
                            "run all roles in one process (the default) or --role gateway",
                            role);
    if (!all && strcmp(role, "gateway") != 0)
        return td_cli_usage(cli, "--role expects all, gateway or sink, found '%s'", role);

    live_t live = {.cli = cli};
    td_gw_server_opts_t opts;
    td_gw_server_opts_from_config(cli->config, &opts);
    td_pipeline_config_t clock_cfg; /* heartbeats close bars of the pipeline's timeframe */
    td_host_pipeline_config(cli->config, &clock_cfg);
    opts.clock_timeframe_ms = (int64_t)clock_cfg.timeframe_s * 1000;
    opts.clock_align_minutes = clock_cfg.day_offset_minutes;
    if (!*opts.token)
        return td_cli_usage(cli, "gateway.token: expected a secret for the EA's HELLO, found nothing "
                                 "(set it in the config or with --set gateway.token=...)");
    if (all) {
        td_host_pipeline_config(cli->config, &live.host.pipeline);
        live.host.batch_events = (uint32_t)td_config_int(cli->config, "tape.batch_events");
        live.host.log = &cli->log;
        opts.hook = live_hook;
        opts.hook_opaque = &live;
        opts.hook_interval_ms = td_config_int(cli->config, "router.interval_ms");
    }

    td_err_t rc = td_cli_open_tape(cli, false, &live.tape, err, sizeof err);
    if (rc == TD_OK && all)
        rc = td_host_check_config(live.tape, &live.host.pipeline, err, sizeof err);
    if (rc == TD_OK && all && !live.host.pipeline.paper)
        rc = td_router_new(cli->config, td_config_int(cli->config, "router.max_age_ms"), &cli->log, &live.router);
    if (rc == TD_OK && all && td_sink_enabled(cli->config))
        rc = start_sink(&live, err, sizeof err);
    if (rc == TD_OK)
        rc = td_gw_server_new(&opts, live.tape, &cli->log, &live.server, err, sizeof err);
    if (rc == TD_OK) {
        char addr[64];
        td_gw_server_address(live.server, addr, sizeof addr);
        printf("tapedeck run: gateway listening on %s, writing to the local tape in %s (tape.sync=%s)", addr,
               cli->data_dir, td_config_str(cli->config, "tape.sync"));
        if (all)
            printf("; processor%s%s",
                   live.router ? " and order router (broker.mode external)"
                               : " with the paper broker (broker.mode paper; no order router)",
                   live.sink ? "; warehouse sink" : "");
        printf("\n");
        fflush(stdout);
        rc = td_gw_server_run(live.server, err, sizeof err);
    }
    if (rc == TD_OK && all) /* what the last burst brought, processed and routed before leaving */
        rc = live_hook(&live, 0, err, sizeof err);
    if (live.server) {
        td_gw_stats_t st;
        td_gw_server_stats(live.server, &st);
        printf("tapedeck run: gateway stopped: %" PRIu64 " connection(s), %" PRIu64 " refused, %" PRIu64
               " auth failure(s), %" PRIu64 " line(s), %" PRIu64 " event(s) appended, %" PRIu64
               " duplicate(s) dropped, %" PRIu64 " error(s), %" PRIu64 " commit(s)\n",
               st.connections, st.refused, st.auth_failures, st.lines, st.events, st.duplicates, st.errors, st.commits);
    }
    if (all && live.server)
        printf("tapedeck run: processor: %" PRIu64 " run(s), %" PRIu64 " input(s), %" PRIu64 " output(s)\n",
               live.host_runs, live.host_inputs, live.host_outputs);
    if (live.router) {
        td_router_stats_t rs;
        td_router_stats(live.router, &rs);
        printf("tapedeck run: router: %" PRIu64 " order(s) sent, %" PRIu64 " expired, %" PRIu64
               " lost (a write cut off: resent), %" PRIu64
               " resent to a new session; tick-to-order latency over %" PRIu64
               " order(s): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               rs.sent, rs.expired, rs.lost, rs.resent, rs.latency_n, rs.latency_p50_ms, rs.latency_p99_ms,
               rs.latency_max_ms);
    }
    stop_sink(&live);
    fflush(stdout);
    td_gw_server_destroy(live.server);
    td_router_destroy(live.router);
    td_follow_fini(&live.follow);
    td_tape_close(live.tape);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    return TD_EXIT_OK;
}
