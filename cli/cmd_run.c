/* cmd_run.c - `tapedeck run`: the live pipeline service (service/service.h), until SIGTERM or SIGINT.
 *
 * Here: the options, the role's checks that are usage errors, the stop signals of the roles without
 * a gateway (the gateway's loop takes SIGTERM and SIGINT itself), and the exit code. The wiring of
 * the roles, their startup line and their totals are the service's (service/local.c, service/kafka.c).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "service/service.h"

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

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

/* The roles without a gateway poll stop_flag; the gateway's loop catches the signals itself. */
static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

/* The usage errors of a role with the config's journal.mode; TD_EXIT_OK when it runs. */
static int check_role(td_cli_t *cli, const char *name, td_service_role_t *role)
{
    bool known = td_service_role_parse(name, role);
    if (known && *role == TD_SERVICE_SINK)
        return TD_EXIT_OK;
    if (td_config_int(cli->config, "journal.mode") == 1) { /* kafka: service/kafka.c */
        if (!known || (*role != TD_SERVICE_GATEWAY && *role != TD_SERVICE_PROCESSOR && *role != TD_SERVICE_ARCHIVER))
            return td_cli_usage(cli,
                                "journal.mode kafka: --role expects gateway, processor, archiver or sink (one "
                                "role per process), found '%s'",
                                name);
    } else {
        if (known && (*role == TD_SERVICE_PROCESSOR || *role == TD_SERVICE_ROUTER))
            return td_cli_usage(cli,
                                "--role %s alone is not built yet (it needs a journal shared between processes); "
                                "run all roles in one process (the default) or --role gateway",
                                name);
        if (!known || (*role != TD_SERVICE_ALL && *role != TD_SERVICE_GATEWAY))
            return td_cli_usage(cli, "--role expects all, gateway or sink, found '%s'", name);
    }
    if ((*role == TD_SERVICE_ALL || *role == TD_SERVICE_GATEWAY) && !*td_config_str(cli->config, "gateway.token"))
        return td_cli_usage(cli, "gateway.token: expected a secret for the EA's HELLO, found nothing "
                                 "(set it in the config or with --set gateway.token=...)");
    return TD_EXIT_OK;
}

int td_cmd_run(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"role", required_argument, NULL, 'r'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "all";
    char err[1536] = "";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r': name = optarg; break;
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
    td_service_role_t role;
    int code = check_role(cli, name, &role);
    if (code != TD_EXIT_OK)
        return code;
    if (role != TD_SERVICE_ALL && role != TD_SERVICE_GATEWAY)
        catch_stop_signals();

    td_service_opts_t opts = {.config = cli->config,
                              .data_dir = cli->data_dir,
                              .role = role,
                              .log = &cli->log,
                              .stop = &stop_flag,
                              .out = stdout};
    td_service_t *service = NULL;
    td_err_t rc = td_service_new(&opts, &service, err, sizeof err);
    if (rc == TD_OK)
        rc = td_service_start(service, err, sizeof err);
    if (rc == TD_OK)
        rc = td_service_run(service, err, sizeof err);
    fflush(stdout);
    td_service_destroy(service);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    return TD_EXIT_OK;
}
