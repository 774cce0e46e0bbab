/* cmd_audit.c - `tapedeck audit --symbol S --at TIME`: one symbol's state at one instant, from the
 * tape alone (replay/audit.h). */
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
#include "replay/audit.h"

static void help(void)
{
    printf("usage: tapedeck audit --symbol SYMBOL --at TIME [--last N] [--json]\n"
           "\n"
           "Rebuilds what SYMBOL's pipeline knew at the instant TIME, from the tape alone: the trading\n"
           "day containing TIME is re-run from the state the processor host saved at the day's start,\n"
           "over the day's inputs whose event time is <= TIME (stopping at the first later one), and\n"
           "never past what the host has processed (said so when TIME lies beyond it). Reports:\n"
           "\n"
           "  - the position: signed volume, average price, realised P&L, commission, swap\n"
           "  - the order intents sent and not answered yet\n"
           "  - the parameter set in force: strategy, version, the offset of the ParamsChanged that set it\n"
           "  - the last N input events that led there, each with its stream offset\n"
           "\n"
           "Nothing is written. Exit 0 with the answer; 2 for bad usage, an unknown or unprocessed symbol,\n"
           "or a TIME before the stream's first event.\n"
           "\n"
           "options:\n"
           "  --symbol S    the symbol (its input stream)\n"
           "  --at TIME     the instant, UTC: 2014-05-06T12:30:00, 2014-05-06T12:30:00.123Z, or\n"
           "                milliseconds since the epoch (1399379400000)\n"
           "  --last N      how many of the last input events to show (default %d, at most %d)\n"
           "  --json        one JSON document on stdout\n",
           TD_AUDIT_LAST_DEFAULT, TD_AUDIT_LAST_MAX);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static unsigned num(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

/* "YYYY-MM-DDTHH:MM:SS[.f{1,3}][Z]" (UTC) or a count of ms since the epoch. */
static td_err_t parse_at(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len > 0 && len <= 15 && all_digits(s, len)) {
        *ms = (int64_t)strtoll(s, NULL, 10);
        return TD_OK;
    }
    if (len < 19 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != ' ') || !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) ||
        s[16] != ':' || !all_digits(s + 17, 2))
        return TD_ERR_PARSE;
    unsigned y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
    unsigned h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2), frac = 0;
    const char *p = s + 19;
    if (*p == '.') {
        size_t n = 0;
        while (n < 3 && p[1 + n] >= '0' && p[1 + n] <= '9')
            n++;
        if (n == 0)
            return TD_ERR_PARSE;
        frac = num(p + 1, n);
        for (size_t k = n; k < 3; k++)
            frac *= 10;
        p += 1 + n;
    }
    if (*p == 'Z')
        p++;
    if (*p != '\0' || !td_time_valid_yyyymmdd(y * 10000 + mo * 100 + d) || h > 23 || mi > 59 || sec > 59)
        return TD_ERR_PARSE;
    *ms = td_time_ms_from_civil((int)y, mo, d, h, mi, sec, frac);
    return TD_OK;
}

static const char *iso(int64_t ms, char buf[32])
{
    td_time_format_iso(ms, buf);
    return buf;
}

static td_err_t json_fixed_field(td_buf_t *out, const char *name, int64_t v)
{
    td_err_t rc = td_buf_printf(out, ",\"%s\":", name);
    return rc == TD_OK ? td_json_fixed(out, v) : rc;
}

static td_err_t json_result(td_buf_t *out, const td_audit_result_t *r)
{
    char t1[32], t2[32];
    td_err_t rc = td_buf_printf(out,
                                "{\"symbol\":\"%s\",\"at\":\"%s\",\"at_ms\":%" PRId64 ",\"trading_day\":%" PRIu32
                                ",\"start_day\":%" PRIu32 ",\"day_first_offset\":%" PRIu64
                                ",\"inputs_stepped\":%" PRIu64 ",\"last_applied_offset\":%" PRIu64
                                ",\"last_applied_time\":\"%s\",\"next_output_offset\":%" PRIu64
                                ",\"host_next_offset\":%" PRIu64 ",\"beyond_processed\":%s,\"next_input\":",
                                r->symbol, iso(r->at_ms, t1), r->at_ms, r->at_day, r->start_day, r->day_first_offset,
                                r->inputs_stepped, r->last_applied_offset, iso(r->last_applied_time, t2),
                                r->next_output_offset, r->host_next_offset, r->beyond_processed ? "true" : "false");
    if (rc == TD_OK)
        rc = r->has_next_input ? td_buf_printf(out, "{\"offset\":%" PRIu64 ",\"time\":\"%s\"}", r->next_input_offset,
                                               iso(r->next_input_time, t1))
                               : td_buf_printf(out, "null");
    if (rc == TD_OK)
        rc = td_buf_printf(out, ",\"position\":{\"side\":\"%s\"", td_direction_name(td_direction_of_volume(r->volume)));
    if (rc == TD_OK)
        rc = json_fixed_field(out, "volume", r->volume);
    if (rc == TD_OK)
        rc = json_fixed_field(out, "avg_price", r->avg_price);
    if (rc == TD_OK)
        rc = json_fixed_field(out, "realized_pnl", r->realized_pnl);
    if (rc == TD_OK)
        rc = json_fixed_field(out, "commission", r->commission);
    if (rc == TD_OK)
        rc = json_fixed_field(out, "swap", r->swap);
    if (rc == TD_OK)
        rc = r->entry_time ? td_buf_printf(out, ",\"entry_time\":\"%s\"}", iso(r->entry_time, t1))
                           : td_buf_printf(out, ",\"entry_time\":null}");
    if (rc == TD_OK)
        rc = td_buf_printf(out, ",\"open_intents\":[");
    for (uint32_t i = 0; rc == TD_OK && i < r->n_intents; i++) {
        rc = td_buf_printf(out, "%s{\"intent_id\":", i ? "," : "");
        if (rc == TD_OK)
            rc = td_json_string(out, r->intents[i].intent_id);
        if (rc == TD_OK)
            rc = json_fixed_field(out, "remaining_volume", r->intents[i].volume);
        if (rc == TD_OK)
            rc = td_buf_append(out, "}", 1);
    }
    if (rc == TD_OK)
        rc = td_buf_printf(out, "],\"params\":");
    if (rc == TD_OK && !r->has_strategy)
        rc = td_buf_printf(out, "null");
    else if (rc == TD_OK) {
        rc = td_buf_printf(out, "{\"strategy\":");
        if (rc == TD_OK)
            rc = td_json_string(out, r->strategy);
        if (rc == TD_OK)
            rc = td_buf_printf(out, ",\"version\":%" PRIu32 ",\"set_by\":", r->params_version);
        if (rc == TD_OK)
            rc = r->has_params_event ? td_event_to_json(&r->params_event, false, out) : td_buf_printf(out, "null");
        if (rc == TD_OK)
            rc = td_buf_append(out, "}", 1);
    }
    if (rc == TD_OK)
        rc = td_buf_printf(out, ",\"params_rejected\":%" PRIu64 ",\"last_events\":[", r->params_rejected);
    for (uint32_t i = 0; rc == TD_OK && i < r->n_last; i++) {
        if (i)
            rc = td_buf_append(out, ",", 1);
        if (rc == TD_OK)
            rc = td_event_to_json(&r->last[i], false, out);
    }
    if (rc == TD_OK)
        rc = td_buf_printf(out, "]}\n");
    return rc;
}

static void print_money(const char *label, int64_t v)
{
    td_buf_t b;
    td_buf_init(&b);
    if (td_json_fixed(&b, v) == TD_OK)
        printf("%s %s", label, td_buf_cstr(&b));
    td_buf_fini(&b);
}

static void print_result(const td_audit_result_t *r, double ms)
{
    char t1[32], t2[32];
    td_buf_t b;
    td_buf_init(&b);
    printf("audit %s at %s (trading day %08" PRIu32 ")\n", r->symbol, iso(r->at_ms, t1), r->at_day);
    printf("  state after input offset %" PRIu64 " (%s); re-ran %" PRIu64 " input(s) from the start of %08" PRIu32
           " (offset %" PRIu64 "); outputs below offset %" PRIu64 " came from it\n",
           r->last_applied_offset, iso(r->last_applied_time, t1), r->inputs_stepped, r->start_day, r->day_first_offset,
           r->next_output_offset);
    if (r->beyond_processed)
        printf("  NOT COMPLETE: the host has processed %s only up to input offset %" PRIu64 "; input offset %" PRIu64
               " (%s) and later ones are not processed yet: this is the state as of %s\n",
               r->symbol, r->host_next_offset - 1, r->next_input_offset, iso(r->next_input_time, t1),
               iso(r->last_applied_time, t2));
    else if (r->has_next_input)
        printf("  next input: offset %" PRIu64 " at %s, after the instant\n", r->next_input_offset,
               iso(r->next_input_time, t1));
    else
        printf("  next input: none on the tape yet\n");
    if (td_json_fixed(&b, r->volume < 0 ? -r->volume : r->volume) == TD_OK) {
        if (r->volume == 0)
            printf("  position:     flat");
        else
            printf("  position:     %s %s lots", td_direction_name(td_direction_of_volume(r->volume)), td_buf_cstr(&b));
    }
    if (r->volume != 0) {
        print_money(" @", r->avg_price);
        printf(", opened %s", iso(r->entry_time, t1));
    }
    printf("\n");
    print_money("  realised P&L:", r->realized_pnl);
    print_money("   commission:", r->commission);
    print_money("   swap:", r->swap);
    printf("\n");
    if (r->n_intents == 0)
        printf("  open intents: none\n");
    for (uint32_t i = 0; i < r->n_intents; i++) {
        printf("  open intent:  %s", r->intents[i].intent_id);
        print_money(" remaining", r->intents[i].volume);
        printf("\n");
    }
    if (!r->has_strategy)
        printf("  parameters:   none in force yet (no valid ParamsChanged)\n");
    else if (r->has_params_event)
        printf("  parameters:   %s version %" PRIu32 ", set by ParamsChanged at input offset %" PRIu64
               " (%s, by %s: %s)\n",
               r->strategy, r->params_version, r->params_event.offset, iso(r->params_event.time_ms, t1),
               r->params_event.u.params.author, r->params_event.u.params.reason);
    else
        printf("  parameters:   %s version %" PRIu32 " (its ParamsChanged was not found on the tape)\n", r->strategy,
               r->params_version);
    if (r->params_rejected)
        printf("  refused parameter sets so far: %" PRIu64 "\n", r->params_rejected);
    printf("  last %" PRIu32 " input(s):\n", r->n_last);
    for (uint32_t i = 0; i < r->n_last; i++) {
        td_buf_reset(&b);
        if (td_event_to_json(&r->last[i], false, &b) == TD_OK)
            printf("    %s\n", td_buf_cstr(&b));
    }
    printf("  (%.1f ms)\n", ms);
    td_buf_fini(&b);
}

int td_cmd_audit(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'}, {"at", required_argument, NULL, 'a'},
        {"last", required_argument, NULL, 'n'},   {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL, *at = NULL;
    uint32_t last_n = TD_AUDIT_LAST_DEFAULT;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 'a': at = optarg; break;
        case 'n': {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || v > TD_AUDIT_LAST_MAX)
                return td_cli_usage(cli, "--last expects a count from 0 to %d, found '%s'", TD_AUDIT_LAST_MAX, optarg);
            last_n = (uint32_t)v;
            break;
        }
        case 'j': json = true; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!symbol || !*symbol)
        return td_cli_usage(cli, "--symbol is required");
    if (strlen(symbol) > TD_SYMBOL_MAX)
        return td_cli_usage(cli, "--symbol '%s' is longer than %d bytes", symbol, TD_SYMBOL_MAX);
    int64_t at_ms = 0;
    if (!at)
        return td_cli_usage(cli, "--at is required");
    if (parse_at(at, &at_ms) != TD_OK)
        return td_cli_usage(cli, "--at expects YYYY-MM-DDTHH:MM:SS[.mmm][Z] (UTC) or ms since the epoch, found '%s'",
                            at);

    char err[1024] = "";
    td_tape_t *tape = NULL;
    td_err_t rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    td_pipeline_config_t config;
    td_host_pipeline_config(cli->config, &config);
    td_buf_t want, have, out;
    td_buf_init(&want);
    td_buf_init(&have);
    td_buf_init(&out);
    td_audit_result_t *r = malloc(sizeof *r);
    int code = TD_EXIT_OK;
    rc = r ? td_host_config_text(&config, &want) : TD_ERR_NOMEM;
    /* the configuration must be the one the host recorded, or the re-run is not the one it ran */
    if (rc == TD_OK && td_tape_get_meta(tape, "host/config", &have, NULL, 0) == TD_OK &&
        (have.len != want.len || memcmp(have.ptr, want.ptr, have.len) != 0))
        code = td_cli_fail(cli, TD_ERR_CONFIG, "the tape was processed with '%.*s', the configuration says '%.*s'",
                           (int)have.len, (const char *)have.ptr, (int)want.len, (const char *)want.ptr);
    if (rc == TD_OK && code == TD_EXIT_OK) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = td_audit_at(tape, &config, symbol, at_ms, last_n, r, err, sizeof err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (rc != TD_OK)
            code = td_cli_fail(cli, rc, "%s", err);
        else if (json) {
            rc = json_result(&out, r);
            if (rc == TD_OK)
                fwrite(out.ptr, 1, out.len, stdout);
        } else {
            print_result(r, ms);
        }
    }
    if (code == TD_EXIT_OK && rc != TD_OK)
        code = td_cli_fail(cli, rc, "audit failed");
    free(r);
    td_buf_fini(&out);
    td_buf_fini(&have);
    td_buf_fini(&want);
    td_tape_close(tape);
    return code;
}
