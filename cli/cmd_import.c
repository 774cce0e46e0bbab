/* cmd_import.c - `tapedeck import`: history files into the tape, each file all or nothing.
 *
 * The options, the loop over the files, the "imported ..." lines and the exit codes; the import
 * itself (registry, spec, day-end marks, time order, the one batch per file) is
 * td_import_into_tape() in import/into_tape.c. The first file that fails stops the command.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/timeutil.h"
#include "import/import.h"
#include "import/into_tape.h"

static void help(void)
{
    printf("usage: tapedeck import --format FORMAT --symbol SYMBOL [options] FILE...\n"
           "\n"
           "Appends the events of each FILE to SYMBOL's stream. Each file is imported whole or not\n"
           "at all; a file imported before (same content, same symbol) is refused unless --force.\n"
           "\n"
           "options:\n"
           "  --format FORMAT     one of the formats below\n"
           "  --symbol SYMBOL     the stream to append to; its spec (digits...) comes from the config\n"
           "  --tz-offset MIN     the file's clock is UTC+MIN minutes (FXCM Lean files: -300); default 0\n"
           "  --digits N          dukascopy-bi5: prices are integers / 10^N (default: the symbol's digits)\n"
           "  --day-end auto|last|none\n"
           "                      close a trading day with a SessionMark DAY_END when the file covers it\n"
           "                      to its end: auto (the default) closes the days a later day follows in\n"
           "                      the file, a Lean file's named day and a .bi5 file's day at hour 23;\n"
           "                      last also closes the file's last day (you vouch that the file runs to\n"
           "                      its midnight: whole-day CSV and MT5 exports); none closes nothing\n"
           "  --force             import a file again even if the registry has it\n"
           "  --crossed refuse|keep  a tick with bid > ask stops the import with the line (refuse, the\n"
           "                      default) or is kept as it is and counted (keep: FXCM's files cross\n"
           "                      in about 10%% of their quotes)\n"
           "\n"
           "formats:\n");
    for (int f = TD_FMT_DUKASCOPY_CSV; f <= TD_FMT_LEAN_BARS; f++)
        printf("  %-15s %s\n", td_import_format_name((td_import_format_t)f),
               td_import_format_doc((td_import_format_t)f));
    printf("\nTick formats go to SYMBOL's input stream (what the processors read); bar formats go to the\n"
           "history stream SYMBOL@TF (e.g. EURUSD@H1, the timeframe found in the file): see tapedeck dump\n"
           "--stream history --symbol EURUSD@H1.\n"
           "Exit codes: 0 imported, 2 bad usage or bad input (the tape is unchanged), 3 storage failure.\n");
}

/* Imports one file and prints its "imported ..." line; returns the exit code. */
static int import_one(td_cli_t *cli, td_tape_t *tape, const char *path, const td_import_opts_t *opts,
                      td_import_day_end_t day_end, bool force)
{
    td_symbol_spec_t spec;
    td_config_symbol_spec(cli->config, opts->symbol, &spec);
    td_import_result_t res;
    char err[1024] = "";
    td_err_t rc = td_import_into_tape(tape, path, opts, &spec, day_end, force, &res, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    if (!res.appended) {
        printf("imported %s: no events, nothing appended\n", path);
        return TD_EXIT_OK;
    }
    char a[32], b[32];
    td_time_format_iso(res.first_ms, a);
    td_time_format_iso(res.last_ms, b);
    printf("imported %s: %" PRIu64 " %s into %s, %s..%s, %" PRIu64 " day end(s), %" PRIu64 " rounded price(s)", path,
           res.events, res.bars ? "bars" : "ticks", res.stream, res.events ? a : "-", res.events ? b : "-", res.marks,
           res.stats.rounded);
    if (res.stats.crossed)
        printf(", %" PRIu64 " crossed quote(s) kept (bid > ask)", res.stats.crossed);
    printf("\n");
    return TD_EXIT_OK;
}

int td_cmd_import(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"symbol", required_argument, NULL, 's'},
        {"tz-offset", required_argument, NULL, 'z'},
        {"digits", required_argument, NULL, 'd'},
        {"day-end", required_argument, NULL, 'e'},
        {"force", no_argument, NULL, 'F'},
        {"crossed", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    td_import_opts_t opts = {0};
    const char *format = NULL;
    bool force = false;
    td_import_day_end_t day_end = TD_IMPORT_DAY_END_AUTO;
    int digits = -1, c;
    long value = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 's': opts.symbol = optarg; break;
        case 'z':
            if (!td_cli_parse_long(optarg, -1439, 1439, &value))
                return td_cli_usage(cli, "--tz-offset expects minutes in -1439..1439, found '%s'", optarg);
            opts.tz_offset_minutes = (int)value;
            break;
        case 'd':
            if (!td_cli_parse_long(optarg, 1, 8, &value))
                return td_cli_usage(cli, "--digits expects 1..8, found '%s'", optarg);
            digits = (int)value;
            break;
        case 'e':
            if (strcmp(optarg, "auto") == 0)
                day_end = TD_IMPORT_DAY_END_AUTO;
            else if (strcmp(optarg, "last") == 0)
                day_end = TD_IMPORT_DAY_END_LAST;
            else if (strcmp(optarg, "none") == 0)
                day_end = TD_IMPORT_DAY_END_NONE;
            else
                return td_cli_usage(cli, "--day-end expects auto, last or none, found '%s'", optarg);
            break;
        case 'F': force = true; break;
        case 'x':
            if (strcmp(optarg, "refuse") && strcmp(optarg, "keep"))
                return td_cli_usage(cli, "--crossed expects refuse or keep, found '%s'", optarg);
            opts.keep_crossed = strcmp(optarg, "keep") == 0;
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (!format || td_import_format_parse(format, &opts.format) != TD_OK)
        return td_cli_usage(cli,
                            "--format expects one of dukascopy-csv, dukascopy-bi5, lean-ticks, mt5-ticks, "
                            "mt5-bars, dukascopy-bars, lean-bars; found '%s'",
                            format ? format : "");
    if (!opts.symbol)
        return td_cli_usage(cli, "--symbol is required");
    if (!td_symbol_valid(opts.symbol, strlen(opts.symbol)))
        return td_cli_usage(cli, "--symbol: expected %s, found '%s'", TD_SYMBOL_RULE, opts.symbol);
    if (optind >= argc)
        return td_cli_usage(cli, "no FILE given");
    opts.price_divisor_digits =
        digits >= 0 ? (unsigned)digits : (unsigned)td_config_symbol_int(cli->config, opts.symbol, "digits");

    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, false, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    int code = TD_EXIT_OK;
    for (int i = optind; code == TD_EXIT_OK && i < argc; i++)
        code = import_one(cli, tape, argv[i], &opts, day_end, force);
    td_tape_close(tape);
    return code;
}
