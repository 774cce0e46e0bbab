/* cmd_bars.c - `tapedeck bars`: bars of any timeframe, built from the tape's ticks. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/event_json.h"
#include "core/timeutil.h"
#include "processors/bars.h"

static void help(void)
{
    printf(
        "usage: tapedeck bars --symbol SYMBOL [--timeframe M30] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--csv|--json]\n"
        "\n"
        "Builds BID bars of the timeframe from SYMBOL's ticks on the tape with the processors' own bar\n"
        "builder (so they equal what the strategy saw for the configured timeframe) and prints the\n"
        "closed ones whose open time falls in [--from, --to] (trading days, inclusive).\n"
        "\n"
        "  --timeframe TF  M1, M5, M15, M30, H1, H4 or D1 (default: bars.timeframe of the config)\n"
        "  --csv           time,open,high,low,close,ticks,spread_min,spread_max,spread_mean,late_ticks\n"
        "  --json          one JSON document {\"bars\":[...]}\n");
}

static int print_bar(const td_bar_t *b, int digits, int format, bool *first)
{
    char iso[32], o[40], h[40], l[40], c[40], smin[40], smax[40], smean[40];
    td_time_format_iso(b->open_time, iso);
    td_fx_format(b->open, digits, o, sizeof o);
    td_fx_format(b->high, digits, h, sizeof h);
    td_fx_format(b->low, digits, l, sizeof l);
    td_fx_format(b->close, digits, c, sizeof c);
    td_fx_format(b->spread_min, digits, smin, sizeof smin);
    td_fx_format(b->spread_max, digits, smax, sizeof smax);
    td_fx_format(b->tick_volume ? b->spread_sum / (int64_t)b->tick_volume : 0, digits + 1 > 8 ? 8 : digits + 1, smean,
                 sizeof smean);
    if (format == 'j')
        printf("%s{\"time\":\"%s\",\"open\":%s,\"high\":%s,\"low\":%s,\"close\":%s,\"ticks\":%" PRIu64
               ",\"spread_min\":%s,\"spread_max\":%s,\"spread_mean\":%s,\"late_ticks\":%" PRIu64 "}",
               *first ? "" : ",\n", iso, o, h, l, c, b->tick_volume, smin, smax, smean, b->late_ticks);
    else if (format == 'c')
        printf("%s,%s,%s,%s,%s,%" PRIu64 ",%s,%s,%s,%" PRIu64 "\n", iso, o, h, l, c, b->tick_volume, smin, smax, smean,
               b->late_ticks);
    else
        printf("%s  %12s %12s %12s %12s  %7" PRIu64 " ticks  spread %s..%s\n", iso, o, h, l, c, b->tick_volume, smin,
               smax);
    *first = false;
    return 0;
}

int td_cmd_bars(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'}, {"timeframe", required_argument, NULL, 't'},
        {"from", required_argument, NULL, 'f'},   {"to", required_argument, NULL, 'T'},
        {"csv", no_argument, NULL, 'c'},          {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL, *tf = td_config_str(cli->config, "bars.timeframe");
    uint32_t from = 0, to = 99991231;
    int format = 't', c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 't': tf = optarg; break;
        case 'f':
            if (td_cli_parse_date(optarg, &from) != TD_OK)
                return td_cli_usage(cli, "--from expects YYYY-MM-DD, found '%s'", optarg);
            break;
        case 'T':
            if (td_cli_parse_date(optarg, &to) != TD_OK)
                return td_cli_usage(cli, "--to expects YYYY-MM-DD, found '%s'", optarg);
            break;
        case 'c': format = 'c'; break;
        case 'j': format = 'j'; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (!symbol)
        return td_cli_usage(cli, "--symbol is required");
    uint32_t seconds = 0;
    if (td_timeframe_parse(tf, &seconds) != TD_OK)
        return td_cli_usage(cli, "--timeframe expects M1, M5, M15, M30, H1, H4 or D1, found '%s'", tf);

    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    if (td_tape_next_offset(tape, TD_STREAM_INPUT, symbol) == 0) {
        td_tape_close(tape);
        return td_cli_fail(cli, TD_ERR_NOT_FOUND, "no input stream for %s", symbol);
    }
    int day_offset = td_tape_day_offset_minutes(tape);
    int digits = (int)td_config_symbol_int(cli->config, symbol, "digits");
    td_bars_t bars;
    td_bars_init(&bars, seconds, day_offset);
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_event_t *ev = malloc(sizeof *ev);
    td_tape_iter_t *iter = NULL;
    rc = ev ? td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, 0, &iter, NULL, 0) : TD_ERR_NOMEM;
    bool first = true;
    if (format == 'j')
        printf("{\"bars\":[");
    else if (format == 'c')
        printf("time,open,high,low,close,ticks,spread_min,spread_max,spread_mean,late_ticks\n");
    while (rc == TD_OK) {
        rc = td_tape_iter_next(iter, ev, NULL, 0);
        if (rc != TD_OK)
            break;
        td_outbuf_clear(&out);
        rc = td_bars_step(&bars, ev, &out);
        for (size_t i = 0; rc == TD_OK && i < out.len; i++) {
            uint32_t day = td_time_trading_day(out.ev[i].u.bar.open_time, day_offset);
            if (out.ev[i].kind == TD_EV_BAR && day >= from && day <= to)
                print_bar(&out.ev[i].u.bar, digits, format, &first);
        }
    }
    if (rc == TD_ERR_END)
        rc = TD_OK;
    if (format == 'j')
        printf("]}\n");
    td_tape_iter_destroy(iter);
    td_outbuf_fini(&out);
    free(ev);
    td_tape_close(tape);
    return rc == TD_OK ? TD_EXIT_OK : td_cli_fail(cli, rc, "%s: reading the tape failed", symbol);
}
