/* cmd_compact.c - `tapedeck compact --date D`: the nightly job over a closed trading day. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "compact/compact.h"
#include "core/pg.h"
#include "host/host.h"

static void help(void)
{
    printf("usage: tapedeck compact --date YYYY-MM-DD [--symbol SYMBOL]\n"
           "\n"
           "The nightly job over one closed trading day, for every symbol with inputs that day:\n"
           "  1. verify   the day has its DayDigest on the tape and replays equal (else exit 1, naming\n"
           "              the symbol and the first divergent output offset, or 'day not closed')\n"
           "  2. bars     the day's M1 and M30 BID bars from its ticks, upserted into the warehouse\n"
           "  3. perf     perf_daily and perf_hourly from the day's closed trades (trades, wins, win rate,\n"
           "              realised net P&L, max drawdown, sharpe = mean / sample stdev of per-trade net\n"
           "              P&L, not annualised, NULL under 2 trades)\n"
           "  4. seal     DATA_DIR/sealed/SYMBOL/YYYYMMDD.tdseal: the day's input and output events as\n"
           "              the tape stores them, xz-compressed, with a checksummed header; an existing file\n"
           "              is verified against the tape, never rewritten (a damaged one: exit 1)\n"
           "  5. retention compact.retain_m1_days N > 0 deletes the warehouse's M1 bars of SEALED days\n"
           "              older than the N trading days ending with D (M30 and longer bars, fills, trades\n"
           "              and summaries stay); compact.retain_raw_days N > 0 deletes from the tape the\n"
           "              raw events of SEALED days older than the N trading days ending with D, after\n"
           "              verifying each sealed file against the tape (offsets and the day index stay;\n"
           "              replay, audit, backtests read those days from their sealed files; a stream's\n"
           "              newest day keeps its events). Both default to 0: nothing is deleted\n"
           "Every step checks what is already done: running compact twice changes nothing.\n"
           "PostgreSQL: warehouse.uri or the libpq environment; the schema must exist (tapedeck migrate).\n"
           "\n"
           "options:\n"
           "  --date D      the trading day (YYYY-MM-DD or YYYYMMDD)\n"
           "  --symbol S    only this symbol\n"
           "\n"
           "Exit codes: 0 done, 1 the day is not closed, does not replay equal, or the warehouse or a\n"
           "sealed file disagrees with the tape, 2 bad usage or no inputs that day, 3 PostgreSQL, the\n"
           "tape or the file system failed.\n");
}

int td_cmd_compact(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"date", required_argument, NULL, 'd'},
        {"symbol", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *date = NULL, *symbol = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': date = optarg; break;
        case 's': symbol = optarg; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    uint32_t day = 0;
    if (!date || td_cli_parse_date(date, &day) != TD_OK)
        return td_cli_usage(cli, "--date expects YYYY-MM-DD, found '%s'", date ? date : "");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char err[2048] = "";
    td_pipeline_config_t pipeline;
    td_host_pipeline_config(cli->config, &pipeline);
    td_tape_t *tape = NULL;
    td_pg_t *pg = NULL;
    td_buf_t want, have;
    td_buf_init(&want);
    td_buf_init(&have);
    int code = TD_EXIT_OK;
    td_err_t rc = td_cli_open_tape(cli, false, &tape, err, sizeof err);
    if (rc != TD_OK)
        code = td_cli_fail(cli, rc, "%s", err);
    /* the configuration must be the one the host recorded, or replay cannot agree */
    if (code == TD_EXIT_OK && (rc = td_host_config_text(&pipeline, &want)) != TD_OK)
        code = td_cli_fail(cli, rc, "out of memory");
    if (code == TD_EXIT_OK && td_tape_get_meta(tape, "host/config", &have, NULL, 0) == TD_OK &&
        (have.len != want.len || memcmp(have.ptr, want.ptr, have.len) != 0))
        code = td_cli_fail(cli, TD_ERR_CONFIG, "the tape was processed with '%.*s', the configuration says '%.*s'",
                           (int)have.len, (const char *)have.ptr, (int)want.len, (const char *)want.ptr);
    if (code == TD_EXIT_OK &&
        (rc = td_pg_connect(td_config_str(cli->config, "warehouse.uri"), &pg, err, sizeof err)) != TD_OK)
        code = td_cli_fail(cli, TD_ERR_IO, "PostgreSQL: %s", err);
    if (code == TD_EXIT_OK) {
        td_pg_rows_t *rows = NULL;
        rc = td_pg_query(pg, "SELECT to_regclass('sealed_days') IS NOT NULL AND to_regclass('perf_daily') IS NOT NULL",
                         0, NULL, &rows, err, sizeof err);
        if (rc != TD_OK)
            code = td_cli_fail(cli, rc, "PostgreSQL: %s", err);
        else if (strcmp(td_pg_rows_get(rows, 0, 0), "t") != 0)
            code =
                td_cli_fail(cli, TD_ERR_STATE,
                            "the database lacks the warehouse schema (sealed_days, perf_daily): run tapedeck migrate");
        td_pg_rows_destroy(rows);
    }
    td_compact_stats_t stats = {0};
    if (code == TD_EXIT_OK) {
        td_compact_opts_t opts = {
            .data_dir = cli->data_dir,
            .pipeline = &pipeline,
            .day = day,
            .symbol = symbol,
            .retain_raw_days = (uint32_t)td_config_int(cli->config, "compact.retain_raw_days"),
            .retain_m1_days = (uint32_t)td_config_int(cli->config, "compact.retain_m1_days"),
            .xz_threads = (unsigned)td_config_int(cli->config, "compact.xz_threads"),
            .xz_preset = (int)td_config_int(cli->config, "compact.xz_preset"),
            .out = stdout,
        };
        rc = td_compact_day(tape, pg, &opts, &stats, err, sizeof err);
        if (rc != TD_OK)
            code = td_cli_fail(cli, rc, "%s", err[0] ? err : "compact failed");
    }
    if (code == TD_EXIT_OK) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("compact %s: %" PRIu32 " symbol(s), %" PRIu64 " M1 + %" PRIu64 " M30 bars, %" PRIu64
               " warehouse row(s) changed, %" PRIu32 " file(s) sealed, %" PRIu32
               " day(s) of raw events retired, %.3f s%s\n",
               date, stats.symbols, stats.bars_m1, stats.bars_m30, stats.rows_changed, stats.sealed_new,
               stats.days_retired, dt,
               stats.rows_changed == 0 && stats.sealed_new == 0 && stats.days_retired == 0 ? " - already done" : "");
    }
    td_pg_close(pg);
    td_buf_fini(&want);
    td_buf_fini(&have);
    td_tape_close(tape);
    return code;
}
