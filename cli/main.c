/* main.c - the tapedeck command: global options, then one command. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(td_cli_t *cli, int argc, char **argv);
    const char *summary;
} command_t;

static const command_t commands[] = {
    {"import", td_cmd_import, "append history files (ticks, bars) to the tape, all of a file or none"},
    {"process", td_cmd_process, "run the processors over the tape to its end, then stop"},
    {"replay", td_cmd_replay, "re-run a recorded day and prove it bit-exact"},
    {"audit", td_cmd_audit, "a symbol's state at an instant: position, open intents, parameters, last events"},
    {"days", td_cmd_days, "list the trading days on the tape with their digests"},
    {"bars", td_cmd_bars, "print bars of any timeframe built from the tape's ticks"},
    {"dump", td_cmd_dump, "print a stream of the tape, as text or JSON"},
    {"params", td_cmd_params, "validate, push and show strategy parameter sets"},
    {"config", td_cmd_config, "print the configuration reference or an example file"},
    {"demo", td_cmd_demo, "one synthetic day through the live pipeline (run + feed), summarised and replayed"},
    {"migrate", td_cmd_migrate, "apply the warehouse schema migrations to PostgreSQL (--status lists them)"},
    {"sink", td_cmd_sink, "write the processors' outputs into the PostgreSQL warehouse, exactly once"},
    {"compact", td_cmd_compact, "nightly: verify a closed day, build its M1/M30 bars and performance, seal it"},
    {"backtest", td_cmd_backtest, "grid-search a strategy's parameters over a bar file, on all cores"},
    {"run", td_cmd_run, "the live pipeline service: gateway, processor and order router on the local tape"},
    {"feed", td_cmd_feed, "the MT5 stand-in and paper broker: ticks (files or synthetic) over the EA protocol"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: tapedeck [--data-dir DIR] [--config FILE] [--set KEY=VALUE]... COMMAND [ARGS]\n"
                 "\n"
                 "Records every market and execution event on a tape, rebuilds state from it with\n"
                 "deterministic processors and replays any day bit-exactly.\n"
                 "\n"
                 "global options:\n"
                 "  --data-dir DIR     tape, state and run files (default $TAPEDECK_HOME, else ./var)\n"
                 "  --config FILE      YAML configuration (every key has a default: tapedeck config --reference)\n"
                 "  --set KEY=VALUE    override one configuration key, e.g. --set bars.timeframe=H1\n"
                 "\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'tapedeck COMMAND --help' describes a command. Exit codes: 0 ok, 1 a failed check,\n"
                 "2 bad usage or input, 3 the environment failed (I/O, storage).\n");
}

int main(int argc, char **argv)
{
    td_cli_t cli = {.program = argv[0], .command = "", .data_dir = getenv("TAPEDECK_HOME")};
    if (!cli.data_dir || !*cli.data_dir)
        cli.data_dir = "./var";
    const char *sets[64];
    int n_sets = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return TD_EXIT_OK;
        } else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc) {
            cli.data_dir = argv[++i];
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            cli.config_path = argv[++i];
        } else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc && n_sets < 64) {
            sets[n_sets++] = argv[++i];
        } else {
            fprintf(stderr, "tapedeck: unknown or incomplete option '%s' (see tapedeck --help)\n", argv[i]);
            return TD_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return TD_EXIT_USAGE;
    }
    const command_t *cmd = NULL;
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
        if (strcmp(commands[k].name, argv[i]) == 0)
            cmd = &commands[k];
    if (!cmd) {
        fprintf(stderr, "tapedeck: unknown command '%s' (see tapedeck --help)\n", argv[i]);
        return TD_EXIT_USAGE;
    }
    cli.command = cmd->name;
    cli.config = td_config_new();
    if (!cli.config) {
        fprintf(stderr, "tapedeck: out of memory\n");
        return TD_EXIT_ENV;
    }
    char err[1024] = "";
    int code = TD_EXIT_OK;
    if (cli.config_path && td_config_load(cli.config, cli.config_path, err, sizeof err) != TD_OK)
        code = td_cli_fail(&cli, TD_ERR_CONFIG, "%s", err);
    for (int k = 0; code == TD_EXIT_OK && k < n_sets; k++) {
        char key[256];
        const char *eq = strchr(sets[k], '=');
        if (!eq || (size_t)(eq - sets[k]) >= sizeof key) {
            code = td_cli_usage(&cli, "--set expects KEY=VALUE, found '%s'", sets[k]);
            break;
        }
        memcpy(key, sets[k], (size_t)(eq - sets[k]));
        key[eq - sets[k]] = '\0';
        if (td_config_set(cli.config, key, eq + 1, "--set", err, sizeof err) != TD_OK)
            code = td_cli_fail(&cli, TD_ERR_CONFIG, "%s", err);
    }
    if (code == TD_EXIT_OK) {
        td_log_init(&cli.log, stderr, (td_log_level_t)td_config_int(cli.config, "log.level"),
                    td_config_int(cli.config, "log.format") == 1);
        code = cmd->run(&cli, argc - i, argv + i);
    }
    td_config_destroy(cli.config);
    return code;
}
