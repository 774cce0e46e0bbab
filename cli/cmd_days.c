/* cmd_days.c - `tapedeck days`: the trading days on the tape, their offsets and digests. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/digest.h"

static void help(void)
{
    printf("usage: tapedeck days [--symbol SYMBOL] [--json]\n"
           "\n"
           "Lists, per symbol and trading day, the input offsets, the number of outputs and the day\n"
           "digest the processor host recorded ('open' while the day is not closed).\n");
}

typedef struct days_run {
    td_tape_t *tape;
    const char *symbol;
    bool json;
    size_t printed;
    td_buf_t *out;
} days_run_t;

static td_err_t one_day(void *opaque, const td_day_range_t *in)
{
    days_run_t *run = opaque;
    td_day_range_t out_range;
    char hex[65] = "open";
    uint64_t outputs = 0;
    if (td_tape_day_get(run->tape, TD_STREAM_OUTPUT, run->symbol, in->trading_day, &out_range, NULL, 0) == TD_OK) {
        outputs = out_range.count;
        td_event_t *ev = malloc(sizeof *ev);
        if (!ev)
            return TD_ERR_NOMEM;
        if (td_tape_read(run->tape, TD_STREAM_OUTPUT, run->symbol, out_range.last_offset, ev, NULL, 0) == TD_OK &&
            ev->kind == TD_EV_DAY_DIGEST && ev->u.digest.trading_day == in->trading_day)
            td_digest_hex(ev->u.digest.sha256, hex);
        free(ev);
    }
    td_err_t rc;
    if (run->json)
        rc = td_buf_printf(run->out,
                           "%s{\"symbol\":\"%s\",\"day\":%" PRIu32 ",\"first_offset\":%" PRIu64
                           ",\"last_offset\":%" PRIu64 ",\"inputs\":%" PRIu64 ",\"outputs\":%" PRIu64
                           ",\"digest\":\"%s\"}",
                           run->printed ? "," : "", run->symbol, in->trading_day, in->first_offset, in->last_offset,
                           in->count, outputs, hex);
    else
        rc = td_buf_printf(run->out,
                           "%-10s %08" PRIu32 "  inputs %10" PRIu64 "..%-10" PRIu64 " outputs %7" PRIu64 "  %s\n",
                           run->symbol, in->trading_day, in->first_offset, in->last_offset, outputs, hex);
    run->printed++;
    return rc;
}

int td_cmd_days(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
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
    td_buf_t out;
    td_buf_init(&out);
    rc = td_cli_list_symbols(tape, TD_STREAM_INPUT, symbol, &symbols, NULL, 0);
    days_run_t run = {.tape = tape, .json = json, .out = &out};
    if (rc == TD_OK && json)
        rc = td_buf_printf(&out, "{\"days\":[");
    for (size_t i = 0; rc == TD_OK && i < symbols.len; i++) {
        run.symbol = symbols.names[i];
        rc = td_tape_days(tape, TD_STREAM_INPUT, symbols.names[i], one_day, &run, NULL, 0);
    }
    if (rc == TD_OK && json)
        rc = td_buf_printf(&out, "]}\n");
    int code = TD_EXIT_OK;
    if (rc == TD_OK)
        fwrite(out.ptr, 1, out.len, stdout);
    else
        code = td_cli_fail(cli, rc, rc == TD_ERR_NOT_FOUND ? "no input stream for %s" : "cannot list the days (%s)",
                           rc == TD_ERR_NOT_FOUND && symbol ? symbol : td_err_name(rc));
    td_buf_fini(&out);
    td_symbol_list_fini(&symbols);
    td_tape_close(tape);
    return code;
}
