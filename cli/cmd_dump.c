/* cmd_dump.c - `tapedeck dump`: the events of a stream, as text lines or one JSON document. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/event_json.h"

static void help(void)
{
    printf(
        "usage: tapedeck dump [--symbol SYMBOL] [--stream input|output|history] [--from OFFSET] [--limit N] [--json]\n"
        "\n"
        "Prints the events of the tape in offset order: each symbol's input stream (default) or output\n"
        "stream. Text: one JSON object per line. --json: one JSON document {\"events\":[...]}.\n"
        "\n"
        "  --symbol S      only this symbol (default: all, in name order)\n"
        "  --stream K      input (ticks, specs, fills, params, marks), output (bars, signals, intents,\n"
        "                  positions, trades, digests) or history (imported bars; --symbol SYMBOL@TF)\n"
        "  --from OFFSET   first offset (default 0)\n"
        "  --limit N       at most N events per symbol (default: all)\n");
}

int td_cmd_dump(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'},
        {"stream", required_argument, NULL, 'k'},
        {"from", required_argument, NULL, 'f'},
        {"limit", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL;
    td_stream_kind_t kind = TD_STREAM_INPUT;
    const char *kind_name = "input";
    uint64_t from = 0, limit = UINT64_MAX;
    bool json = false;
    int c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 'k':
            if (strcmp(optarg, "input") && strcmp(optarg, "output") && strcmp(optarg, "history"))
                return td_cli_usage(cli, "--stream expects input, output or history, found '%s'", optarg);
            kind_name = optarg;
            kind = strcmp(optarg, "output") == 0    ? TD_STREAM_OUTPUT
                   : strcmp(optarg, "history") == 0 ? TD_STREAM_HISTORY
                                                    : TD_STREAM_INPUT;
            break;
        case 'f':
            from = strtoull(optarg, &end, 10);
            if (!*optarg || *end)
                return td_cli_usage(cli, "--from expects an offset, found '%s'", optarg);
            break;
        case 'l':
            limit = strtoull(optarg, &end, 10);
            if (!*optarg || *end)
                return td_cli_usage(cli, "--limit expects a count, found '%s'", optarg);
            break;
        case 'j': json = true; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    td_symbol_list_t symbols = {0};
    char detail[1024] = ""; /* the tape's detail of a failed call */
    rc = td_cli_list_symbols(tape, kind, symbol, &symbols, detail, sizeof detail);
    td_event_t *ev = malloc(sizeof *ev);
    td_buf_t line;
    td_buf_init(&line);
    if (!ev)
        rc = TD_ERR_NOMEM;
    if (rc == TD_OK && json)
        fputs("{\"events\":[", stdout);
    bool first = true;
    for (size_t i = 0; rc == TD_OK && i < symbols.len; i++) {
        td_tape_iter_t *iter = NULL;
        rc = td_tape_iter_new(tape, kind, symbols.names[i], from, &iter, detail, sizeof detail);
        for (uint64_t n = 0; rc == TD_OK && n < limit; n++) {
            rc = td_tape_iter_next(iter, ev, detail, sizeof detail);
            if (rc != TD_OK)
                break;
            td_buf_reset(&line);
            if (json && !first)
                rc = td_buf_append(&line, ",\n", 2);
            if (rc == TD_OK)
                rc = td_event_to_json(ev, kind == TD_STREAM_OUTPUT, &line);
            if (rc == TD_OK && !json)
                rc = td_buf_append(&line, "\n", 1);
            if (rc == TD_OK)
                fwrite(line.ptr, 1, line.len, stdout);
            first = false;
        }
        if (rc == TD_ERR_END)
            rc = TD_OK;
        td_tape_iter_destroy(iter);
    }
    int code = TD_EXIT_OK;
    if (rc == TD_OK && json)
        fputs("]}\n", stdout);
    if (rc != TD_OK)
        code = rc == TD_ERR_NOT_FOUND
                   ? td_cli_fail(cli, rc, "no %s stream for %s", kind_name, symbol ? symbol : "any symbol")
                   : td_cli_fail(cli, rc, "dump failed (%s)", td_tape_explain(rc, detail));
    td_buf_fini(&line);
    free(ev);
    td_symbol_list_fini(&symbols);
    td_tape_close(tape);
    return code;
}
