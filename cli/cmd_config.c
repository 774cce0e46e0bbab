/* cmd_config.c - `tapedeck config`: the key reference, an example file, or a check of a file. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void help(void)
{
    printf("usage: tapedeck [--config FILE] config --reference | --example | --check\n"
           "\n"
           "  --reference   every configuration key: type, default, range, meaning (markdown)\n"
           "  --example     a YAML file with every key at its default\n"
           "  --check       load --config FILE and report the first error (exit 2) or 'ok'\n");
}

int td_cmd_config(td_cli_t *cli, int argc, char **argv)
{
    if (argc != 2 || td_cli_wants_help(argc, argv)) {
        help();
        return argc == 2 ? TD_EXIT_OK : TD_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--reference") == 0) {
        td_config_write_reference(stdout);
        return TD_EXIT_OK;
    }
    if (strcmp(argv[1], "--example") == 0) {
        td_config_write_example(stdout);
        return TD_EXIT_OK;
    }
    if (strcmp(argv[1], "--check") == 0) {
        /* main() already loaded and validated --config; reaching here means it is valid */
        printf("ok: %s\n", cli->config_path ? cli->config_path : "(defaults, no --config given)");
        return TD_EXIT_OK;
    }
    return td_cli_usage(cli, "unknown option '%s'", argv[1]);
}
