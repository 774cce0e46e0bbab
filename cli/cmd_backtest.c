/* cmd_backtest.c - `tapedeck backtest`: a grid search of one strategy over one symbol's bar file.
 *
 * Reads the bars with the importers (td_import_file: the timeframe is inferred and checked, so a
 * daily bar inside an M30 file is a parse error naming the line), reports gaps, runs every grid
 * combination with backtest/grid.c on N threads and writes, in combination order whatever the
 * thread count: one CSV row per parameter set (--out, else stdout), optional trade and equity
 * files, or one JSON document (--json). The summary (bars, gaps, refusals, the best sets by
 * Sharpe, throughput) goes to stdout when the results go to a file, else to stderr; the timing is
 * never in a result file, so result files are byte-identical across runs and thread counts.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backtest/grid.h"
#include "cli/backtest_source.h"
#include "cli/backtest_warehouse.h"
#include "cli/cli.h"
#include "core/buf.h"
#include "core/event_json.h"
#include "core/timeutil.h"
#include "import/import.h"

#define BEST_MAX 100

static void help(void)
{
    printf("usage: tapedeck backtest --strategy NAME --symbol SYMBOL --data FILE|tape|warehouse [--format FORMAT]\n"
           "                         --grid SPEC [--timeframe TF] [--warehouse]\n"
           "                         [--threads N] [--out FILE] [--json] [--trades-out FILE] [--equity-out FILE]\n"
           "                         [--spread POINTS] [--commission MONEY] [--slippage POINTS] [--no-costs]\n"
           "                         [--basis bid|mid] [--capital MONEY] [--tz-offset MIN] [--best N]\n"
           "\n"
           "Runs every combination of the parameter grid of strategy NAME (sma_cross, breakout) over the bars\n"
           "of FILE with the engine's own strategy code, fill model and position keeper, on N threads.\n"
           "\n"
           "  --strategy NAME     sma_cross or breakout (parameters: docs/STRATEGIES.md)\n"
           "  --symbol SYMBOL     needs a symbols.SYMBOL section in the config (digits, contract_size, swap)\n"
           "  --data FILE         the bar file; --format mt5-bars, dukascopy-bars or lean-bars\n"
           "  --data tape         the symbol's bars on the tape of --data-dir: its imported bar history\n"
           "                      (SYMBOL@TF; --timeframe, default the only one or M30), else the bars the\n"
           "                      processor host built from its ticks (bars.timeframe)\n"
           "  --data warehouse    the PostgreSQL bars table (warehouse.uri or PGHOST...) for the symbol and\n"
           "                      --timeframe (default bars.timeframe)\n"
           "  --timeframe TF      M1 M5 M15 M30 H1 H4 D1, for --data tape or warehouse\n"
           "  --warehouse         also store the run and every set's result in PostgreSQL (backtest_runs,\n"
           "                      backtest_results; one transaction: a failed run stores nothing)\n"
           "  --grid SPEC         NAME=LO:HI:STEP (inclusive), NAME=V1|V2|..., NAME=VALUE, comma-separated:\n"
           "                      fast=5:50:5,slow=20:200:10,direction=both,volume=0.1\n"
           "                      combinations the strategy refuses (fast >= slow) are counted and reported\n"
           "  --threads N         worker threads (default: the number of cores)\n"
           "  --out FILE          the results CSV (default: stdout, unless --json)\n"
           "  --json              one JSON document on stdout: conventions, gaps, every set, the best sets\n"
           "  --trades-out FILE   CSV, one row per trade of every set: index,symbol,side,entry_time,...\n"
           "  --equity-out FILE   CSV, one row per set and trading day: index,day,equity,return\n"
           "  --spread POINTS     spread of every bar (default: the file's spread column; 0 without one)\n"
           "  --commission MONEY  per lot per side (default: broker.commission_per_lot of the config)\n"
           "  --slippage POINTS   against every fill (default: broker.slippage_points of the config)\n"
           "  --no-costs          no spread, slippage, commission or swap\n"
           "  --basis bid|mid     what the file's prices are (default bid); mid fills at +-half the spread\n"
           "  --capital MONEY     initial equity for the daily returns (default 100000)\n"
           "  --tz-offset MIN     the file's clock is UTC+MIN (FXCM Lean files: -300; default 0)\n"
           "  --best N            best sets by Sharpe in the summary (default 5, at most 100)\n"
           "\n"
           "Conventions: signal at the bar's close, market fill at the next bar's open (a buy at the ask =\n"
           "bid + spread, plus slippage); stop loss / take profit inside a bar against high and low, the stop\n"
           "first when both are inside one bar; swap at the rollover (session.day_offset_minutes), triple on\n"
           "the symbol's triple_swap_weekday. Daily returns from the equity at each trading day's last close;\n"
           "Sharpe and Sortino with risk-free 0, sample deviation, x sqrt(252). Money is in the symbol's\n"
           "profit currency. CSV columns: index, the grid's parameters, trades, win_rate, net_pnl,\n"
           "profit_factor, expectancy, sharpe, sortino, max_drawdown, calmar, exposure, annual_return,\n"
           "annual_volatility, final_equity.\n"
           "Exit codes: 0 done, 2 bad usage or input (grid, symbol, file), 3 an output cannot be written.\n");
}

/* ---- text helpers ---- */

static td_err_t put_fixed(td_buf_t *buf, int64_t v)
{
    return td_json_fixed(buf, v);
}

static td_err_t put_price(td_buf_t *buf, int64_t v, unsigned digits)
{
    char num[48];
    td_fx_format(v, (int)digits, num, sizeof num);
    return td_buf_append(buf, num, strlen(num));
}

/* A derived double: "%.12g"; in CSV nan / inf / -inf, in JSON null for any non-finite value. */
static td_err_t put_double(td_buf_t *buf, double v, bool json)
{
    if (!isfinite(v))
        return json ? td_buf_printf(buf, "null") : td_buf_printf(buf, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    return td_buf_printf(buf, "%.12g", v);
}

static td_err_t put_iso(td_buf_t *buf, int64_t ms)
{
    char iso[32];
    td_time_format_iso(ms, iso);
    return td_buf_append(buf, iso, strlen(iso));
}

/* ---- the run ---- */

typedef struct best {
    uint64_t index;
    double sharpe;
    td_backtest_result_t result;
} best_t;

typedef struct bt_run {
    td_cli_t *cli;
    const td_grid_t *grid;
    const char *symbol;
    unsigned digits;
    FILE *csv, *trades, *equity;
    bool json;
    bool first_json_row;
    td_buf_t line;
    best_t best[BEST_MAX];
    size_t n_best, best_max;
    td_bt_wh_t *wh; /* --warehouse: the run's open transaction */
    /* progress on a terminal */
    bool progress;
    struct timespec last_progress;
    char err[512];
} bt_run_t;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static td_err_t write_line(bt_run_t *run, FILE *f, const char *what)
{
    if (fwrite(run->line.ptr, 1, run->line.len, f) != run->line.len)
        return td_err_set(run->err, sizeof run->err, TD_ERR_IO, "cannot write the %s", what);
    return TD_OK;
}

static td_err_t put_params_csv(bt_run_t *run, uint64_t index)
{
    td_err_t rc = td_buf_printf(&run->line, "%" PRIu64, index);
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(run->grid); i++) {
        td_grid_value(run->grid, index, i, v);
        rc = td_buf_printf(&run->line, ",%s", v);
    }
    return rc;
}

static td_err_t put_params_json(td_buf_t *buf, const td_grid_t *grid, uint64_t index)
{
    td_err_t rc = td_buf_printf(buf, "\"index\":%" PRIu64 ",\"params\":{", index);
    char v[TD_PARAM_VALUE_MAX + 1];
    for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++) {
        td_grid_value(grid, index, i, v);
        if (i)
            rc = td_buf_printf(buf, ",");
        if (rc == TD_OK)
            rc = td_json_string(buf, td_grid_param_name(grid, i));
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ":");
        if (rc == TD_OK)
            rc = td_json_string(buf, v);
    }
    return rc == TD_OK ? td_buf_printf(buf, "}") : rc;
}

/* The metric columns / members of one result. */
static td_err_t put_metrics(td_buf_t *buf, const td_backtest_result_t *r, bool json)
{
    const td_btmetrics_trades_t *t = &r->trades;
    const td_btmetrics_ratios_t *m = &r->ratios;
    td_err_t rc =
        json ? td_buf_printf(buf, ",\"trades\":%" PRIu64 ",\"wins\":%" PRIu64 ",\"win_rate\":", t->trades, t->wins)
             : td_buf_printf(buf, ",%" PRIu64 ",", t->trades);
    struct {
        const char *name;
        bool money;
        int64_t fixed;
        double v;
    } cols[] = {
        {"win_rate", false, 0, td_btmetrics_win_rate(t)},
        {"net_pnl", true, t->net_pnl, 0},
        {"profit_factor", false, 0, td_btmetrics_profit_factor(t)},
        {"expectancy", true, td_btmetrics_expectancy(t), 0},
        {"sharpe", false, 0, m->sharpe},
        {"sortino", false, 0, m->sortino},
        {"max_drawdown", false, 0, m->max_drawdown},
        {"calmar", false, 0, m->calmar},
        {"exposure", false, 0, td_backtest_exposure(r)},
        {"annual_return", false, 0, m->annual_return},
        {"annual_volatility", false, 0, m->annual_volatility},
        {"final_equity", true, r->final_equity, 0},
    };
    for (size_t k = 0; rc == TD_OK && k < sizeof cols / sizeof cols[0]; k++) {
        if (k > 0)
            rc = json ? td_buf_printf(buf, ",\"%s\":", cols[k].name) : td_buf_printf(buf, ",");
        if (rc == TD_OK)
            rc = cols[k].money ? put_fixed(buf, cols[k].fixed) : put_double(buf, cols[k].v, json);
    }
    if (rc == TD_OK && json) {
        rc = td_buf_printf(buf, ",\"commission\":");
        if (rc == TD_OK)
            rc = put_fixed(buf, t->commission);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"swap\":");
        if (rc == TD_OK)
            rc = put_fixed(buf, t->swap);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"days\":%" PRIu64 ",\"open_volume\":", r->days);
        if (rc == TD_OK)
            rc = put_fixed(buf, r->open_volume);
        if (rc == TD_OK)
            rc = td_buf_printf(buf, ",\"pnl_by_month\":[");
        for (int k = 0; rc == TD_OK && k < 12; k++) {
            rc = k ? td_buf_printf(buf, ",") : TD_OK;
            if (rc == TD_OK)
                rc = put_fixed(buf, t->by_month[k]);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "],\"pnl_by_weekday\":[");
        for (int k = 0; rc == TD_OK && k < 7; k++) {
            rc = k ? td_buf_printf(buf, ",") : TD_OK;
            if (rc == TD_OK)
                rc = put_fixed(buf, t->by_weekday[k]);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(buf, "]");
    }
    return rc;
}

/* Keeps the best sets by Sharpe: higher first, ties by lower index; undefined Sharpe never. */
static void best_insert(bt_run_t *run, uint64_t index, const td_backtest_result_t *result)
{
    double sharpe = result->ratios.sharpe;
    if (isnan(sharpe) || run->best_max == 0)
        return;
    size_t pos = run->n_best;
    while (pos > 0 && run->best[pos - 1].sharpe < sharpe) /* equal: the earlier index stays first */
        pos--;
    if (pos >= run->best_max)
        return;
    size_t last = run->n_best < run->best_max ? run->n_best : run->best_max - 1;
    memmove(&run->best[pos + 1], &run->best[pos], (last - pos) * sizeof run->best[0]);
    run->best[pos] = (best_t){index, sharpe, *result};
    if (run->n_best < run->best_max)
        run->n_best++;
}

static td_err_t on_row(void *opaque, const td_grid_row_t *row)
{
    bt_run_t *run = opaque;
    td_err_t rc = TD_OK;
    if (!row->refused) {
        best_insert(run, row->index, row->result);
        if (run->wh)
            rc = td_bt_wh_add(run->wh, run->grid, row->index, row->result, run->err, sizeof run->err);
        if (rc == TD_OK && run->csv) {
            td_buf_reset(&run->line);
            rc = put_params_csv(run, row->index);
            if (rc == TD_OK)
                rc = put_metrics(&run->line, row->result, false);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "\n");
            if (rc == TD_OK)
                rc = write_line(run, run->csv, "results");
        }
        if (rc == TD_OK && run->json) {
            td_buf_reset(&run->line);
            rc = td_buf_printf(&run->line, "%s{", run->first_json_row ? "\n" : ",\n");
            run->first_json_row = false;
            if (rc == TD_OK)
                rc = put_params_json(&run->line, run->grid, row->index);
            if (rc == TD_OK)
                rc = put_metrics(&run->line, row->result, true);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "}");
            if (rc == TD_OK)
                rc = write_line(run, stdout, "JSON document");
        }
        for (size_t k = 0; rc == TD_OK && run->trades && k < row->n_trades; k++) {
            const td_trade_closed_t *t = &row->trades[k];
            td_money_t net = 0;
            td_buf_reset(&run->line);
            rc = td_buf_printf(&run->line, "%" PRIu64 ",%s,%s,", row->index, run->symbol,
                               t->side == TD_SIDE_BUY ? "long" : "short");
            if (rc == TD_OK)
                rc = put_iso(&run->line, t->entry_time);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_price(&run->line, t->entry_price, run->digits);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_iso(&run->line, t->exit_time);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_price(&run->line, t->exit_price, run->digits);
            const int64_t money[] = {t->volume, t->pnl, t->commission, t->swap};
            for (size_t j = 0; rc == TD_OK && j < 4; j++) {
                rc = td_buf_printf(&run->line, ",");
                if (rc == TD_OK)
                    rc = put_fixed(&run->line, money[j]);
            }
            if (rc == TD_OK)
                rc = td_btmetrics_trade_net(t, &net);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_fixed(&run->line, net);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "\n");
            if (rc == TD_OK)
                rc = write_line(run, run->trades, "trades file");
        }
        for (size_t k = 0; rc == TD_OK && run->equity && k < row->n_equity; k++) {
            const td_grid_equity_t *e = &row->equity[k];
            td_buf_reset(&run->line);
            uint32_t d = e->trading_day;
            rc =
                td_buf_printf(&run->line, "%" PRIu64 ",%04u-%02u-%02u,", row->index, d / 10000, d / 100 % 100, d % 100);
            if (rc == TD_OK)
                rc = put_fixed(&run->line, e->equity);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, ",");
            if (rc == TD_OK)
                rc = put_double(&run->line, e->daily_return, false);
            if (rc == TD_OK)
                rc = td_buf_printf(&run->line, "\n");
            if (rc == TD_OK)
                rc = write_line(run, run->equity, "equity file");
        }
    }
    if (rc == TD_OK && run->progress) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t total = td_grid_count(run->grid), done = row->index + 1;
        double dt =
            (double)(ts.tv_sec - run->last_progress.tv_sec) + (double)(ts.tv_nsec - run->last_progress.tv_nsec) / 1e9;
        if (dt >= 0.2 || done == total) {
            int width = 40, filled = (int)(done * (uint64_t)width / total);
            fprintf(stderr, "\r[%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 " sets", filled,
                    "########################################", width - filled, "", (int)(done * 100 / total), done,
                    total);
            if (done == total)
                fprintf(stderr, "\n");
            run->last_progress = ts;
        }
    }
    if (rc == TD_ERR_NOMEM)
        td_err_set(run->err, sizeof run->err, rc, "out of memory");
    return rc;
}

/* ---- the bars ---- */

typedef struct bar_vec {
    td_bar_t *v;
    size_t len, cap;
} bar_vec_t;

static td_err_t bar_sink(void *opaque, const td_event_t *ev)
{
    bar_vec_t *bars = opaque;
    if (ev->kind != TD_EV_BAR)
        return TD_ERR_INVALID;
    if (bars->len == bars->cap) {
        size_t cap = bars->cap ? 2 * bars->cap : 4096;
        td_bar_t *p = realloc(bars->v, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        bars->v = p;
        bars->cap = cap;
    }
    bars->v[bars->len++] = ev->u.bar;
    return TD_OK;
}

typedef struct gaps {
    uint64_t total, weekend, other;
    int64_t largest_ms;
    int64_t largest_at; /* open time of the bar after the largest gap */
} gaps_t;

/* A gap is a step between consecutive bars longer than the timeframe. It is a weekend gap when the
 * missing span contains a Saturday (UTC): weekends are expected, other gaps (holidays, missing
 * data) are worth a look. */
static void find_gaps(const bar_vec_t *bars, gaps_t *gaps)
{
    memset(gaps, 0, sizeof *gaps);
    for (size_t i = 1; i < bars->len; i++) {
        const td_bar_t *a = &bars->v[i - 1], *b = &bars->v[i];
        int64_t step = b->open_time - a->open_time, tf = (int64_t)a->timeframe_s * 1000;
        if (step <= tf)
            continue;
        gaps->total++;
        bool weekend = false;
        for (int64_t day = td_time_day_number(a->open_time + tf); day <= td_time_day_number(b->open_time - 1); day++)
            if (td_time_weekday(day * TD_MS_PER_DAY, 0) == 6) {
                weekend = true;
                break;
            }
        if (weekend)
            gaps->weekend++;
        else
            gaps->other++;
        if (step - tf > gaps->largest_ms) {
            gaps->largest_ms = step - tf;
            gaps->largest_at = b->open_time;
        }
    }
}

/* ---- the command ---- */

static td_err_t parse_money(const char *s, int64_t *out)
{
    int rounded = 0;
    td_err_t rc = td_fx_parse(s, strlen(s), out, &rounded);
    return rc == TD_OK && !rounded && *out >= 0 ? TD_OK : TD_ERR_INVALID;
}

static bool parse_count(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static td_err_t write_summary(FILE *out, const bt_run_t *run, const td_grid_stats_t *stats, const char *spec)
{
    fprintf(out, "%" PRIu64 " combinations of %s: %" PRIu64 " evaluated, %" PRIu64 " refused by the strategy%s%s%s\n",
            stats->combinations, spec, stats->evaluated, stats->refused, stats->refused ? " (first: " : "",
            stats->refused ? stats->first_refusal : "", stats->refused ? ")" : "");
    if (run->n_best)
        fprintf(out, "best by Sharpe:\n");
    td_buf_t line;
    td_buf_init(&line);
    td_err_t rc = TD_OK;
    for (size_t k = 0; rc == TD_OK && k < run->n_best; k++) {
        const best_t *b = &run->best[k];
        td_buf_reset(&line);
        char v[TD_PARAM_VALUE_MAX + 1];
        rc = td_buf_printf(&line, "  #%zu index %" PRIu64 ":", k + 1, b->index);
        for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(run->grid); i++) {
            td_grid_value(run->grid, b->index, i, v);
            rc = td_buf_printf(&line, " %s=%s", td_grid_param_name(run->grid, i), v);
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&line, "  sharpe %.4f sortino %.4f trades %" PRIu64 " net_pnl ", b->sharpe,
                               b->result.ratios.sortino, b->result.trades.trades);
        if (rc == TD_OK)
            rc = put_fixed(&line, b->result.trades.net_pnl);
        if (rc == TD_OK)
            rc = td_buf_printf(&line, " max_dd %.4f\n", b->result.ratios.max_drawdown);
        if (rc == TD_OK)
            fwrite(line.ptr, 1, line.len, out);
    }
    td_buf_fini(&line);
    return rc;
}

int td_cmd_backtest(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"strategy", required_argument, NULL, 'S'},
        {"symbol", required_argument, NULL, 's'},
        {"data", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"grid", required_argument, NULL, 'g'},
        {"threads", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"trades-out", required_argument, NULL, 'T'},
        {"equity-out", required_argument, NULL, 'E'},
        {"spread", required_argument, NULL, 'p'},
        {"commission", required_argument, NULL, 'c'},
        {"slippage", required_argument, NULL, 'l'},
        {"no-costs", no_argument, NULL, 'n'},
        {"basis", required_argument, NULL, 'b'},
        {"capital", required_argument, NULL, 'C'},
        {"tz-offset", required_argument, NULL, 'z'},
        {"best", required_argument, NULL, 'B'},
        {"timeframe", required_argument, NULL, 'F'},
        {"warehouse", no_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *strategy = NULL, *symbol = NULL, *data = NULL, *format_name = NULL, *spec = NULL;
    uint32_t timeframe_s = 0; /* --timeframe: tape and warehouse sources only */
    bool to_warehouse = false;
    const char *out_path = NULL, *trades_path = NULL, *equity_path = NULL;
    long threads = 0, spread_points = -1, slippage = -1, tz_offset = 0, best_n = 5;
    int64_t commission = -1, capital = INT64_C(100000) * TD_FX_SCALE;
    bool json = false, costs = true;
    td_backtest_basis_t basis = TD_BACKTEST_BID;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'S': strategy = optarg; break;
        case 's': symbol = optarg; break;
        case 'd': data = optarg; break;
        case 'f': format_name = optarg; break;
        case 'W': to_warehouse = true; break;
        case 'F':
            if (td_cli_timeframe_parse(optarg, &timeframe_s) != TD_OK)
                return td_cli_usage(cli, "--timeframe expects M1, M5, M15, M30, H1, H4 or D1, found '%s'", optarg);
            break;
        case 'g': spec = optarg; break;
        case 't':
            if (!parse_count(optarg, 1, 256, &threads))
                return td_cli_usage(cli, "--threads expects 1..256, found '%s'", optarg);
            break;
        case 'o': out_path = optarg; break;
        case 'j': json = true; break;
        case 'T': trades_path = optarg; break;
        case 'E': equity_path = optarg; break;
        case 'p':
            if (!parse_count(optarg, 0, 100000000, &spread_points))
                return td_cli_usage(cli, "--spread expects whole points 0..100000000, found '%s'", optarg);
            break;
        case 'c':
            if (parse_money(optarg, &commission) != TD_OK)
                return td_cli_usage(cli, "--commission expects money >= 0 with at most 8 decimals, found '%s'", optarg);
            break;
        case 'l':
            if (!parse_count(optarg, 0, 100000, &slippage))
                return td_cli_usage(cli, "--slippage expects whole points 0..100000, found '%s'", optarg);
            break;
        case 'n': costs = false; break;
        case 'b':
            if (strcmp(optarg, "bid") == 0)
                basis = TD_BACKTEST_BID;
            else if (strcmp(optarg, "mid") == 0)
                basis = TD_BACKTEST_MID;
            else
                return td_cli_usage(cli, "--basis expects bid or mid, found '%s'", optarg);
            break;
        case 'C':
            if (parse_money(optarg, &capital) != TD_OK || capital <= 0)
                return td_cli_usage(cli, "--capital expects money > 0, found '%s'", optarg);
            break;
        case 'z':
            if (!parse_count(optarg, -720, 720, &tz_offset))
                return td_cli_usage(cli, "--tz-offset expects minutes -720..720, found '%s'", optarg);
            break;
        case 'B':
            if (!parse_count(optarg, 0, BEST_MAX, &best_n))
                return td_cli_usage(cli, "--best expects 0..%d, found '%s'", BEST_MAX, optarg);
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!strategy || !symbol || !data || !spec)
        return td_cli_usage(cli, "--strategy, --symbol, --data and --grid are required");
    bool from_file = td_bt_source_kind(data) == TD_BT_FILE;
    if (from_file && !format_name)
        return td_cli_usage(cli, "--data %s is a file: --format is required (mt5-bars, dukascopy-bars, lean-bars)",
                            data);
    if (!from_file && format_name)
        return td_cli_usage(cli, "--format is for files; --data %s reads bars already on the %s", data, data);
    if (from_file && timeframe_s)
        return td_cli_usage(cli, "--timeframe is for --data tape or warehouse; a file's timeframe is read from it");
    td_import_format_t format = TD_FMT_MT5_BARS;
    if (from_file && (td_import_format_parse(format_name, &format) != TD_OK || !td_import_format_is_bars(format)))
        return td_cli_usage(cli, "--format expects a bar format (mt5-bars, dukascopy-bars, lean-bars), found '%s'",
                            format_name);
    if (!td_config_has_symbol(cli->config, symbol))
        return td_cli_fail(cli, TD_ERR_CONFIG,
                           "unknown symbol '%s': the config has no symbols.%s section (digits, contract_size, ...)%s",
                           symbol, symbol, cli->config_path ? "" : "; pass one with --config FILE");

    char err[1024] = "";
    td_grid_t *grid = NULL;
    td_err_t rc = td_grid_parse(spec, &grid, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "--grid %s: %s", spec, err);

    td_backtest_config_t config;
    td_backtest_config_init(&config);
    snprintf(config.symbol, sizeof config.symbol, "%s", symbol);
    td_config_symbol_spec(cli->config, symbol, &config.spec);
    config.basis = basis;
    config.costs = costs;
    config.spread = spread_points >= 0 ? (td_price_t)spread_points * config.spec.point : -1;
    config.slippage_points = slippage >= 0 ? slippage : td_config_int(cli->config, "broker.slippage_points");
    config.commission_per_lot =
        commission >= 0 ? commission : td_config_decimal(cli->config, "broker.commission_per_lot");
    config.day_offset_minutes = (int)td_config_int(cli->config, "session.day_offset_minutes");
    config.tz_offset_minutes = (int)td_config_int(cli->config, "session.tz_offset_minutes");
    config.initial_equity = capital;

    /* the bars */
    bar_vec_t bars = {0};
    td_import_opts_t iopts = {
        .format = format,
        .symbol = symbol,
        .tz_offset_minutes = (int)tz_offset,
        .price_divisor_digits = config.spec.digits,
    };
    char source[192];
    rc = td_bt_source_read(cli, data, symbol, timeframe_s, &iopts, bar_sink, &bars, source, sizeof source, err,
                           sizeof err);
    if (rc == TD_OK && bars.len < 2)
        rc = td_err_set(err, sizeof err, TD_ERR_PARSE, "%s: %zu bars: a backtest needs at least 2", data, bars.len);
    if (rc != TD_OK) {
        free(bars.v);
        td_grid_destroy(grid);
        return td_cli_fail(cli, rc, "%s", err);
    }
    gaps_t gaps;
    find_gaps(&bars, &gaps);

    /* the outputs */
    bt_run_t run;
    memset(&run, 0, sizeof run);
    run.cli = cli;
    run.grid = grid;
    run.symbol = symbol;
    run.digits = config.spec.digits;
    run.json = json;
    run.first_json_row = true;
    run.best_max = (size_t)best_n;
    td_buf_init(&run.line);
    FILE *summary = stderr;
    if (out_path) {
        run.csv = fopen(out_path, "w");
        summary = json ? stderr : stdout;
    } else if (!json) {
        run.csv = stdout;
    }
    if (trades_path)
        run.trades = fopen(trades_path, "w");
    if (equity_path)
        run.equity = fopen(equity_path, "w");
    if ((out_path && !run.csv) || (trades_path && !run.trades) || (equity_path && !run.equity))
        rc = td_err_set(err, sizeof err, TD_ERR_IO, "cannot create %s",
                        out_path && !run.csv         ? out_path
                        : trades_path && !run.trades ? trades_path
                                                     : equity_path);
    run.progress = !json && run.csv != stdout && isatty(STDERR_FILENO);
    if (run.progress)
        clock_gettime(CLOCK_MONOTONIC, &run.last_progress);

    char tf[16];
    snprintf(tf, sizeof tf, "%us", bars.v[0].timeframe_s);
    if (rc == TD_OK && run.csv) {
        td_buf_reset(&run.line);
        rc = td_buf_printf(&run.line, "index");
        for (size_t i = 0; rc == TD_OK && i < td_grid_n_params(grid); i++)
            rc = td_buf_printf(&run.line, ",%s", td_grid_param_name(grid, i));
        if (rc == TD_OK)
            rc =
                td_buf_printf(&run.line, ",trades,win_rate,net_pnl,profit_factor,expectancy,sharpe,sortino,"
                                         "max_drawdown,calmar,exposure,annual_return,annual_volatility,final_equity\n");
        if (rc == TD_OK)
            rc = write_line(&run, run.csv, "results");
    }
    if (rc == TD_OK && run.trades)
        rc = fputs("index,symbol,side,entry_time,entry_price,exit_time,exit_price,volume,pnl,commission,swap,net\n",
                   run.trades) < 0
                 ? TD_ERR_IO
                 : TD_OK;
    if (rc == TD_OK && run.equity)
        rc = fputs("index,day,equity,return\n", run.equity) < 0 ? TD_ERR_IO : TD_OK;
    if (rc == TD_OK && json) {
        td_buf_reset(&run.line);
        rc = td_buf_printf(&run.line, "{\"symbol\":");
        if (rc == TD_OK)
            rc = td_json_string(&run.line, symbol);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"strategy\":");
        if (rc == TD_OK)
            rc = td_json_string(&run.line, strategy);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"grid\":");
        if (rc == TD_OK)
            rc = td_json_string(&run.line, spec);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"data\":{\"file\":");
        if (rc == TD_OK)
            rc = td_json_string(&run.line, source);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"format\":\"%s\",\"bars\":%zu,\"timeframe_s\":%u,\"first_bar\":\"",
                               from_file ? td_import_format_name(format) : data, bars.len, bars.v[0].timeframe_s);
        if (rc == TD_OK)
            rc = put_iso(&run.line, bars.v[0].open_time);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, "\",\"last_bar\":\"");
        if (rc == TD_OK)
            rc = put_iso(&run.line, bars.v[bars.len - 1].open_time);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line,
                               "\",\"gaps\":%" PRIu64 ",\"weekend_gaps\":%" PRIu64 ",\"other_gaps\":%" PRIu64
                               ",\"largest_gap_hours\":%.2f},\"conventions\":{\"signal\":\"bar close\","
                               "\"fill\":\"next bar open\",\"basis\":\"%s\",\"costs\":%s,\"spread_points\":",
                               gaps.total, gaps.weekend, gaps.other, (double)gaps.largest_ms / 3600000.0,
                               basis == TD_BACKTEST_MID ? "mid" : "bid", costs ? "true" : "false");
        if (rc == TD_OK)
            rc = spread_points >= 0 ? td_buf_printf(&run.line, "%ld", spread_points)
                                    : td_buf_printf(&run.line, "\"from the bars\"");
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line,
                               ",\"slippage_points\":%" PRId64 ",\"commission_per_lot\":", config.slippage_points);
        if (rc == TD_OK)
            rc = put_fixed(&run.line, config.commission_per_lot);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"initial_equity\":");
        if (rc == TD_OK)
            rc = put_fixed(&run.line, capital);
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line,
                               ",\"day_offset_minutes\":%d,\"days_per_year\":%d,\"risk_free\":0},\"results\":[",
                               config.day_offset_minutes, TD_BTMETRICS_DAYS_PER_YEAR);
        if (rc == TD_OK)
            rc = write_line(&run, stdout, "JSON document");
    }
    if (rc != TD_OK && !err[0])
        td_err_set(err, sizeof err, rc, "cannot write the outputs");

    int64_t run_id = 0;
    if (rc == TD_OK && to_warehouse)
        rc = td_bt_wh_begin(td_config_str(cli->config, "warehouse.uri"), strategy, symbol, source, spec, &run.wh,
                            &run_id, err, sizeof err);

    /* the grid */
    td_grid_stats_t stats;
    memset(&stats, 0, sizeof stats);
    double t0 = now_s(), elapsed = 0;
    if (rc == TD_OK) {
        td_grid_opts_t gopts = {
            .threads = (unsigned)threads,
            .collect_trades = run.trades != NULL,
            .collect_equity = run.equity != NULL,
        };
        rc = td_grid_run(grid, strategy, &config, bars.v, bars.len, &gopts, on_row, &run, &stats, err, sizeof err);
        elapsed = now_s() - t0;
        if (rc != TD_OK && run.err[0])
            snprintf(err, sizeof err, "%s", run.err);
    }
    if (rc == TD_OK && run.wh)
        rc = td_bt_wh_finish(run.wh, err, sizeof err);

    if (rc == TD_OK && json) {
        td_buf_reset(&run.line);
        rc = td_buf_printf(&run.line,
                           "\n],\"combinations\":%" PRIu64 ",\"evaluated\":%" PRIu64 ",\"refused\":%" PRIu64
                           ",\"first_refusal\":",
                           stats.combinations, stats.evaluated, stats.refused);
        if (rc == TD_OK)
            rc = stats.refused ? td_json_string(&run.line, stats.first_refusal) : td_buf_printf(&run.line, "null");
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, ",\"best_by_sharpe\":[");
        for (size_t k = 0; rc == TD_OK && k < run.n_best; k++) {
            rc = td_buf_printf(&run.line, "%s{", k ? "," : "");
            if (rc == TD_OK)
                rc = put_params_json(&run.line, grid, run.best[k].index);
            if (rc == TD_OK)
                rc = put_metrics(&run.line, &run.best[k].result, true);
            if (rc == TD_OK)
                rc = td_buf_printf(&run.line, "}");
        }
        if (rc == TD_OK)
            rc = td_buf_printf(&run.line, "]}\n");
        if (rc == TD_OK)
            rc = write_line(&run, stdout, "JSON document");
        if (rc != TD_OK)
            snprintf(err, sizeof err, "%s", run.err);
    }

    /* close the files; a failed flush is a failed write */
    FILE *files[] = {run.csv != stdout ? run.csv : NULL, run.trades, run.equity};
    for (size_t k = 0; k < 3; k++)
        if (files[k] && fclose(files[k]) != 0 && rc == TD_OK)
            rc = td_err_set(err, sizeof err, TD_ERR_IO, "cannot write an output file");
    if (rc == TD_OK && fflush(stdout) != 0)
        rc = td_err_set(err, sizeof err, TD_ERR_IO, "cannot write to stdout");

    int code = TD_EXIT_OK;
    if (rc == TD_OK) {
        fprintf(summary, "%s: %zu bars of %s (%s .. ", source, bars.len, tf,
                from_file ? td_import_format_name(format) : data);
        char iso[32];
        td_time_format_iso(bars.v[0].open_time, iso);
        fprintf(summary, "%s", iso);
        td_time_format_iso(bars.v[bars.len - 1].open_time, iso);
        fprintf(summary, " .. %s); gaps: %" PRIu64 " (%" PRIu64 " weekends, %" PRIu64 " other; largest %.1f h", iso,
                gaps.total, gaps.weekend, gaps.other, (double)gaps.largest_ms / 3600000.0);
        if (gaps.total) {
            td_time_format_iso(gaps.largest_at, iso);
            fprintf(summary, " before %s", iso);
        }
        fprintf(summary, ")\n");
        if (write_summary(summary, &run, &stats, spec) != TD_OK)
            code = td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
        if (run.wh)
            fprintf(summary, "warehouse: backtest run %" PRId64 ", %" PRIu64 " result row(s) in backtest_results\n",
                    run_id, stats.evaluated);
        fprintf(summary,
                "%" PRIu64 " bar-steps (%zu bars x %" PRIu64 " sets) in %.3f s on %u threads: %.0f bar-steps/s\n",
                stats.bar_steps, bars.len, stats.evaluated, elapsed, stats.threads,
                elapsed > 0 ? (double)stats.bar_steps / elapsed : 0.0);
    } else {
        code = td_cli_fail(cli, rc, "%s", err[0] ? err : "failed");
    }
    td_bt_wh_destroy(run.wh);
    td_buf_fini(&run.line);
    free(bars.v);
    td_grid_destroy(grid);
    return code;
}
