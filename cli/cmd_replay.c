/* cmd_replay.c - `tapedeck replay --date D`: prove a recorded day bit-exact, or name where not. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/event_json.h"
#include "core/timeutil.h"
#include "host/host.h"
#include "replay/against_report.h"
#include "replay/replay.h"

static void help(void)
{
    printf("usage: tapedeck replay --date YYYY-MM-DD [--symbol SYMBOL] [--against live|backtest] [--json]\n"
           "\n"
           "Re-runs the trading day from the state the processor host saved at the day's start, over\n"
           "the same input offsets, and compares every output and the day digest with what the host\n"
           "recorded, byte for byte (ingest times aside).\n"
           "\n"
           "  equal     every output and the digest are identical: exit 0\n"
           "  open      outputs identical, the day is not closed on the tape yet: exit 0\n"
           "  diverged  the first differing output is named (its offset, the input that produced it,\n"
           "            the recorded and the replayed output): exit 1\n"
           "\n"
           "options:\n"
           "  --date D        the trading day (YYYY-MM-DD or YYYYMMDD)\n"
           "  --symbol S      only this symbol (default: every symbol with events that day)\n"
           "  --against live  compare with the recorded outputs (the default)\n"
           "  --json          one JSON document on stdout\n"
           "\n"
           "--against backtest: did live trade as the backtest predicts? The day's recorded inputs\n"
           "(ticks, specs, parameter changes; not the broker's execution reports) go through the same\n"
           "strategy with the backtest's fill model (the paper broker) from the day-start state, and\n"
           "its trades are compared trade by trade with the recorded ones: matched (entry and exit\n"
           "delay in ms and price difference in points, + = worse for the account), missing (the\n"
           "model traded, live did not), extra (live traded, the model did not), and the slippage of\n"
           "fills of the same intent id. A position the external broker held at the day's start is\n"
           "taken over by the model (no stop or target). Verdict: consistent (exit 0) when no trade is\n"
           "missing or extra and no fill slipped more than --max-slippage-points; else diverged (exit 1).\n"
           "  --tolerance-ms N          entries further apart do not match (default 60000)\n"
           "  --slippage-points N       the model's slippage (default: broker.slippage_points)\n"
           "  --max-slippage-points X   fail when a fill slipped more than X points (default: not checked)\n");
}

static const char *verdict_name(td_replay_verdict_t v)
{
    return v == TD_REPLAY_EQUAL ? "equal" : v == TD_REPLAY_OPEN ? "open" : "diverged";
}

static td_err_t json_event(td_buf_t *out, const char *name, bool present, const td_event_t *ev, bool output)
{
    td_err_t rc = td_buf_printf(out, ",\"%s\":", name);
    if (rc == TD_OK)
        rc = present ? td_event_to_json(ev, output, out) : td_buf_printf(out, "null");
    return rc;
}

static td_err_t json_result(td_buf_t *out, const td_replay_result_t *r)
{
    char exp[65], act[65];
    td_digest_hex(r->digest_expected, exp);
    td_digest_hex(r->digest_actual, act);
    td_err_t rc = td_buf_printf(
        out,
        "{\"symbol\":\"%s\",\"verdict\":\"%s\",\"first_input\":%" PRIu64 ",\"last_input\":%" PRIu64
        ",\"inputs\":%" PRIu64 ",\"outputs_recorded\":%" PRIu64 ",\"outputs_replayed\":%" PRIu64
        ",\"partial\":%s,\"digest_recorded\":%s,\"digest_expected\":\"%s\",\"digest_actual\":\"%s\"",
        r->symbol, verdict_name(r->verdict), r->first_input, r->last_input, r->inputs, r->outputs_recorded,
        r->outputs_replayed, r->partial ? "true" : "false", r->digest_recorded ? "true" : "false",
        r->digest_recorded ? exp : "", r->digest_recorded ? act : "");
    if (rc == TD_OK && r->verdict == TD_REPLAY_DIVERGED) {
        rc = td_buf_printf(out, ",\"divergence\":{\"output_offset\":%" PRIu64 ",\"input_offset\":%" PRIu64 ",\"what\":",
                           r->divergent_output_offset, r->divergent_input_offset);
        if (rc == TD_OK)
            rc = td_json_string(out, r->what);
        if (rc == TD_OK)
            rc = json_event(out, "input", r->has_input, &r->input, false);
        if (rc == TD_OK)
            rc = json_event(out, "expected", r->has_expected, &r->expected, true);
        if (rc == TD_OK)
            rc = json_event(out, "actual", r->has_actual, &r->actual, true);
        if (rc == TD_OK)
            rc = td_buf_append(out, "}", 1);
    }
    if (rc == TD_OK && r->time_reversal)
        rc = td_buf_printf(out, ",\"time_reversal_offset\":%" PRIu64, r->reversal_offset);
    if (rc == TD_OK)
        rc = td_buf_append(out, "}", 1);
    return rc;
}

static void print_event(const char *label, bool present, const td_event_t *ev, bool output)
{
    td_buf_t b;
    td_buf_init(&b);
    if (present && td_event_to_json(ev, output, &b) == TD_OK)
        printf("  %-9s %s\n", label, td_buf_cstr(&b));
    else
        printf("  %-9s (none)\n", label);
    td_buf_fini(&b);
}

static void print_result(const td_replay_result_t *r, const char *date, double seconds)
{
    char hex[65];
    td_digest_hex(r->digest_actual, hex);
    if (r->verdict == TD_REPLAY_EQUAL)
        printf("replay %s %s: equal - %" PRIu64 " inputs (offsets %" PRIu64 "..%" PRIu64 "), %" PRIu64
               " outputs, digest %s (%.3f s, %.0f inputs/s)\n",
               date, r->symbol, r->inputs, r->first_input, r->last_input, r->outputs_replayed, hex, seconds,
               seconds > 0 ? (double)r->inputs / seconds : 0.0);
    else if (r->verdict == TD_REPLAY_OPEN && r->partial)
        printf("replay %s %s: open - the host has processed this day up to input offset %" PRIu64 "; %" PRIu64
               " inputs, %" PRIu64 " outputs equal so far\n",
               date, r->symbol, r->last_input, r->inputs, r->outputs_replayed);
    else if (r->verdict == TD_REPLAY_OPEN)
        printf("replay %s %s: open - %" PRIu64 " inputs, %" PRIu64
               " outputs equal; the day has no digest on the tape yet\n",
               date, r->symbol, r->inputs, r->outputs_replayed);
    else {
        printf("replay %s %s: DIVERGED at output offset %" PRIu64 ", produced by input offset %" PRIu64 ": %s\n", date,
               r->symbol, r->divergent_output_offset, r->divergent_input_offset, r->what);
        print_event("input:", r->has_input, &r->input, false);
        print_event("expected:", r->has_expected, &r->expected, true);
        print_event("actual:", r->has_actual, &r->actual, true);
    }
    if (r->time_reversal)
        printf("  note: input offset %" PRIu64 " goes back in time: the tape's order was changed\n",
               r->reversal_offset);
}

/* A --against backtest result: appended to the JSON document json (a comma first unless it is the
 * first result), else printed for a terminal. TD_ERR_NOMEM when the text cannot be built. */
static td_err_t print_against(td_buf_t *json, bool comma, const td_against_result_t *ar, const char *date)
{
    if (json) {
        if (comma)
            td_buf_putc(json, ',');
        td_against_json(json, ar);
        return td_buf_error(json);
    }
    td_buf_t text;
    td_buf_init(&text);
    td_against_text(&text, ar, date);
    td_err_t rc = td_buf_error(&text);
    if (rc == TD_OK)
        fwrite(text.ptr, 1, text.len, stdout);
    td_buf_fini(&text);
    return rc;
}

int td_cmd_replay(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, 'd'},
        {"symbol", required_argument, NULL, 's'},
        {"against", required_argument, NULL, 'a'},
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {"tolerance-ms", required_argument, NULL, 't'},
        {"slippage-points", required_argument, NULL, 'p'},
        {"max-slippage-points", required_argument, NULL, 'm'},
        {NULL, 0, NULL, 0},
    };
    const char *date = NULL, *symbol = NULL;
    bool json = false, backtest = false;
    td_against_opts_t aopts = {.tolerance_ms = 60000, .max_slip_points = -1};
    char *end = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': date = optarg; break;
        case 's': symbol = optarg; break;
        case 'a':
            if (strcmp(optarg, "live") != 0 && strcmp(optarg, "backtest") != 0)
                return td_cli_usage(cli, "--against expects live or backtest, found '%s'", optarg);
            backtest = strcmp(optarg, "backtest") == 0;
            break;
        case 't':
            aopts.tolerance_ms = strtoll(optarg, &end, 10);
            if (!*optarg || *end || aopts.tolerance_ms < 0)
                return td_cli_usage(cli, "--tolerance-ms expects milliseconds >= 0, found '%s'", optarg);
            break;
        case 'p':
            aopts.slippage_points = strtoll(optarg, &end, 10);
            aopts.slippage_set = true;
            if (!*optarg || *end || aopts.slippage_points < 0 || aopts.slippage_points > 100000)
                return td_cli_usage(cli, "--slippage-points expects whole points 0..100000, found '%s'", optarg);
            break;
        case 'm':
            aopts.max_slip_points = strtod(optarg, &end);
            if (!*optarg || *end || !(aopts.max_slip_points >= 0))
                return td_cli_usage(cli, "--max-slippage-points expects points >= 0, found '%s'", optarg);
            break;
        case 'j': json = true; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    uint32_t day = 0;
    if (!date || td_cli_parse_date(date, &day) != TD_OK)
        return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", date ? date : "");
    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    td_pipeline_config_t config;
    td_host_pipeline_config(cli->config, &config);
    td_buf_t have;
    td_buf_init(&have);
    td_symbol_list_t symbols = {0};
    td_replay_result_t *r = malloc(sizeof *r);
    td_buf_t out;
    td_buf_init(&out);
    int code = TD_EXIT_OK;
    size_t replayed = 0;
    bool diverged = false, open = false;

    /* the configuration must be the one the host recorded */
    td_buf_t want;
    td_buf_init(&want);
    rc = r ? td_host_config_text(&config, &want) : TD_ERR_NOMEM;
    if (rc == TD_OK && td_tape_get_meta(tape, "host/config", &have, NULL, 0) == TD_OK &&
        (have.len != want.len || memcmp(have.ptr, want.ptr, have.len) != 0))
        code = td_cli_fail(cli, TD_ERR_CONFIG, "the tape was processed with '%.*s', the configuration says '%.*s'",
                           (int)have.len, (const char *)have.ptr, (int)want.len, (const char *)want.ptr);
    if (rc == TD_OK && code == TD_EXIT_OK) {
        rc = td_cli_list_symbols(tape, TD_STREAM_INPUT, symbol, &symbols, NULL, 0);
        if (rc == TD_ERR_NOT_FOUND)
            code = td_cli_fail(cli, rc, "no input stream for symbol %s", symbol);
    }
    if (json && code == TD_EXIT_OK && rc == TD_OK)
        rc = td_buf_printf(&out, "{\"date\":\"%s\",\"results\":[", date);
    for (size_t i = 0; code == TD_EXIT_OK && rc == TD_OK && i < symbols.len; i++) {
        td_day_range_t range;
        if (td_tape_day_get(tape, TD_STREAM_INPUT, symbols.names[i], day, &range, NULL, 0) != TD_OK)
            continue;
        err[0] = '\0';
        if (backtest) {
            td_against_result_t ar;
            rc = td_against_day(tape, &config, symbols.names[i], day, &aopts, &ar, err, sizeof err);
            if (rc != TD_OK) {
                code = td_cli_fail(cli, rc, "%s", err);
                break;
            }
            replayed++;
            diverged |= !ar.consistent;
            rc = print_against(json ? &out : NULL, replayed > 1, &ar, date);
            td_against_result_fini(&ar);
            continue;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = td_replay_day(tape, &config, symbols.names[i], day, r, err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if (rc != TD_OK) {
            code = td_cli_fail(cli, rc, "%s", err);
            break;
        }
        replayed++;
        diverged |= r->verdict == TD_REPLAY_DIVERGED;
        open |= r->verdict == TD_REPLAY_OPEN;
        if (json)
            rc = (replayed > 1 ? td_buf_append(&out, ",", 1) : TD_OK) == TD_OK ? json_result(&out, r) : TD_ERR_NOMEM;
        else
            print_result(r, date, seconds);
    }
    if (code == TD_EXIT_OK && rc != TD_OK)
        code = td_cli_fail(cli, rc, "replay failed");
    if (code == TD_EXIT_OK && replayed == 0)
        code = td_cli_fail(cli, TD_ERR_NOT_FOUND, "no events on trading day %s%s%s", date, symbol ? " for " : "",
                           symbol ? symbol : "");
    if (code == TD_EXIT_OK) {
        if (json) {
            if (td_buf_printf(&out, "],\"against\":\"%s\",\"verdict\":\"%s\"}\n", backtest ? "backtest" : "live",
                              diverged   ? "diverged"
                              : backtest ? "consistent"
                              : open     ? "open"
                                         : "equal") == TD_OK)
                fwrite(out.ptr, 1, out.len, stdout);
        }
        code = diverged ? TD_EXIT_CHECK : TD_EXIT_OK;
    }
    td_buf_fini(&out);
    td_buf_fini(&want);
    td_buf_fini(&have);
    td_symbol_list_fini(&symbols);
    free(r);
    td_tape_close(tape);
    return code;
}
