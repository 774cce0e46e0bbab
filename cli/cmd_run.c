/* cmd_run.c - `tapedeck run`: the live pipeline service. This slice runs the gateway role only:
 * the EA's TCP server appending to the local tape until SIGTERM or SIGINT. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "gateway/server.h"

static void help(void)
{
    printf("usage: tapedeck run --role gateway [--config FILE]\n"
           "\n"
           "Runs the live pipeline service until SIGTERM or SIGINT. Roles built so far:\n"
           "  gateway     the TCP server the MT5 Expert Advisor (or tapedeck feed) connects to: it\n"
           "              authenticates the EA (gateway.token), appends its ticks, symbol specs and\n"
           "              execution reports to the local tape and acknowledges what is durably there\n"
           "              (docs/PROTOCOL.md). Listens on gateway.listen (default 127.0.0.1:7878).\n"
           "The processor, router and archiver roles and all roles in one process are not built yet.\n"
           "\n"
           "options:\n"
           "  --role ROLE     gateway (required for now)\n"
           "  --config FILE   YAML configuration (as the global option; gateway.* and tape.* keys)\n"
           "\n"
           "On SIGTERM/SIGINT it stops accepting, closes every connection with BYE (all it read is\n"
           "committed) and exits 0. Exit codes: 0 stopped by a signal, 2 bad usage or configuration,\n"
           "3 the environment failed (cannot listen, tape failure).\n");
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
        return td_cli_usage(cli, "--role expects gateway (all roles in one process are not built yet)");
    if (strcmp(role, "gateway") != 0)
        return td_cli_usage(cli, "--role %s is not built yet; this version runs --role gateway only", role);

    td_gw_server_opts_t opts = {
        .listen = td_config_str(cli->config, "gateway.listen"),
        .token = td_config_str(cli->config, "gateway.token"),
        .max_connections = (unsigned)td_config_int(cli->config, "gateway.max_connections"),
        .max_line = (size_t)td_config_int(cli->config, "gateway.max_line"),
        .auth_timeout_ms = td_config_int(cli->config, "gateway.auth_timeout_ms"),
        .idle_timeout_ms = td_config_int(cli->config, "gateway.idle_timeout_ms"),
        .max_errors = (uint64_t)td_config_int(cli->config, "gateway.max_errors"),
    };
    if (!*opts.token)
        return td_cli_usage(cli, "gateway.token: expected a secret for the EA's HELLO, found nothing "
                                 "(set it in the config or with --set gateway.token=...)");

    td_tape_t *tape = NULL;
    td_gw_server_t *server = NULL;
    td_err_t rc = td_cli_open_tape(cli, false, &tape, err, sizeof err);
    if (rc == TD_OK)
        rc = td_gw_server_new(&opts, tape, &cli->log, &server, err, sizeof err);
    if (rc == TD_OK) {
        char addr[64];
        td_gw_server_address(server, addr, sizeof addr);
        printf("tapedeck run: gateway listening on %s, writing to the local tape in %s (tape.sync=%s)\n", addr,
               cli->data_dir, td_config_str(cli->config, "tape.sync"));
        fflush(stdout);
        rc = td_gw_server_run(server, err, sizeof err);
    }
    if (server) {
        td_gw_stats_t st;
        td_gw_server_stats(server, &st);
        printf("tapedeck run: gateway stopped: %" PRIu64 " connection(s), %" PRIu64 " refused, %" PRIu64
               " auth failure(s), %" PRIu64 " line(s), %" PRIu64 " event(s) appended, %" PRIu64
               " duplicate(s) dropped, %" PRIu64 " error(s), %" PRIu64 " commit(s)\n",
               st.connections, st.refused, st.auth_failures, st.lines, st.events, st.duplicates, st.errors, st.commits);
        fflush(stdout);
    }
    td_gw_server_destroy(server);
    td_tape_close(tape);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    return TD_EXIT_OK;
}
