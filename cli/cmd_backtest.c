/* cmd_backtest.c - `tapedeck backtest`: the options, the output files and the exit codes of a grid
 * search of one strategy over one or many symbols' bars (the run itself: backtest/run.h).
 *
 * The job list comes from the command line (one symbol) or from a grid file (--config, many;
 * backtest/gridfile.h). Everything is checked before any output is written: the grid, each
 * symbol's config section and format. The summary goes to stdout when the results go to a file,
 * else to stderr; a progress bar goes to stderr when it is a terminal and stdout carries no results.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backtest/grid.h"
#include "backtest/gridfile.h"
#include "backtest/pbo.h"
#include "backtest/run.h"
#include "backtest/source.h"
#include "backtest/walkforward.h"
#include "cli/cli.h"
#include "core/names.h"
#include "import/import.h"

#define BEST_MAX TD_BT_BEST_MAX

static void help(void)
{
    printf("usage: tapedeck backtest --strategy NAME --symbol SYMBOL --data FILE|tape|warehouse [--format FORMAT]\n"
           "                         --grid SPEC [--timeframe TF] [--warehouse]\n"
           "       tapedeck backtest --config GRIDFILE [--warehouse]\n"
           "                         [--threads N] [--out FILE] [--json] [--trades-out FILE] [--equity-out FILE]\n"
           "                         [--summary-out FILE] [--walk-forward IS:OOS] [--wf-metric M] [--wf-out FILE]\n"
           "                         [--wf-trades-out FILE] [--wf-equity-out FILE] [--pbo-blocks S]\n"
           "                         [--spread POINTS] [--commission MONEY] [--slippage POINTS] [--no-costs]\n"
           "                         [--basis bid|mid] [--capital MONEY] [--tz-offset MIN] [--best N]\n"
           "                         [--convention LIST]\n"
           "\n"
           "Runs every combination of the parameter grid of strategy NAME (sma_cross, breakout) over the bars\n"
           "of FILE with the engine's own strategy code, fill model and position keeper, on N threads, and\n"
           "judges the best set: Deflated Sharpe Ratio, Probability of Backtest Overfitting, walk-forward.\n"
           "See docs/BACKTEST.md.\n"
           "\n"
           "  --config GRIDFILE   a YAML grid file: strategy, grid, one or many symbols each with its data file\n"
           "                      and format (docs/BACKTEST.md); the tapedeck config stays the global --config\n"
           "                      given before the command. Result files then start with a symbol column.\n"
           "  --strategy NAME     sma_cross or breakout (parameters: docs/STRATEGIES.md)\n"
           "  --symbol SYMBOL     needs a symbols.SYMBOL section in the config (digits, contract_size, swap)\n"
           "  --data FILE         the bar file; --format mt5-bars, dukascopy-bars or lean-bars\n"
           "  --data tape         the symbol's bars on the tape of --data-dir: its imported bar history\n"
           "                      (SYMBOL@TF; --timeframe, default the only one or M30), else the bars the\n"
           "                      processor host built from its ticks (bars.timeframe)\n"
           "  --data warehouse    the PostgreSQL bars table (warehouse.uri or PGHOST...) for the symbol and\n"
           "                      --timeframe (default bars.timeframe)\n"
           "  --timeframe TF      M1 M5 M15 M30 H1 H4 D1, for --data tape or warehouse\n"
           "  --warehouse         also store the run, every set's result and the validation in PostgreSQL\n"
           "                      (backtest_runs, backtest_results, backtest_validation: DSR and PBO,\n"
           "                      backtest_walkforward and backtest_wf_windows; one transaction per symbol:\n"
           "                      a failed run stores nothing; docs/BACKTEST.md has the queries)\n"
           "  --grid SPEC         NAME=LO:HI:STEP (inclusive), NAME=V1|V2|..., NAME=VALUE, comma-separated:\n"
           "                      fast=5:50:5,slow=20:200:10,direction=both,volume=0.1\n"
           "                      times of day HH:MM (breakout's session_start, session_end): a value, a list\n"
           "                      08:00|09:30, or HH:MM:HH:MM:STEP every STEP minutes, inclusive, within one\n"
           "                      day: session_start=08:00:12:00:30 (08:00, 08:30, ..., 12:00)\n"
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
           "  --convention LIST   the fill conventions: tapedeck (the default: the live engine's and the paper\n"
           "                      broker's), grademark (all three below), or a comma-separated list of\n"
           "                      no-decision-on-fill-bar  the strategy's decision at the close of a bar on\n"
           "                                               which something filled is dropped\n"
           "                      no-stops-on-entry-bar    stop and target first checked on the bar after the\n"
           "                                               entry's fill bar\n"
           "                      gap-fills-at-level       a bar opening beyond the stop or target fills at the\n"
           "                                               level, not at the open\n"
           "                      (any of them: the grid runs every set through the one-set engine, slower)\n"
           "  --capital MONEY     initial equity for the daily returns (default 100000)\n"
           "  --tz-offset MIN     the file's clock is UTC+MIN (FXCM Lean files: -300; default 0)\n"
           "  --best N            best sets by Sharpe in the summary (default 5, at most 100)\n"
           "  --summary-out FILE  CSV, one row per symbol: data facts, best set, its P&L by month and weekday,\n"
           "                      DSR, PBO and the walk-forward's out-of-sample figures\n"
           "  --pbo-blocks S      CSCV blocks of the PBO, even, 2..20 (default backtest.pbo_blocks: 16)\n"
           "  --walk-forward IS:OOS  rolling in-sample / out-of-sample windows, in bars (6000:1500) or months\n"
           "                      (24m:6m): the best set in-sample by --wf-metric runs on the next OOS part\n"
           "  --wf-metric M       sharpe, sortino, calmar, net_pnl or profit_factor (default backtest.wf_metric)\n"
           "  --wf-out FILE       CSV, one row per window: its dates, the chosen set, IS metric, OOS figures\n"
           "  --wf-trades-out FILE  CSV, the concatenated out-of-sample trades (window first)\n"
           "  --wf-equity-out FILE  CSV, the concatenated out-of-sample days: window,day,return,wealth\n"
           "\n"
           "Conventions: signal at the bar's close, market fill at the next bar's open (a buy at the ask =\n"
           "bid + spread, plus slippage); stop loss / take profit inside a bar against high and low, the stop\n"
           "first when both are inside one bar; swap at the rollover (session.day_offset_minutes), triple on\n"
           "the symbol's triple_swap_weekday (--convention switches three of these rules; the summary and\n"
           "the JSON report name the conventions in force). Daily returns from the equity at each trading\n"
           "day's last close; Sharpe and Sortino with risk-free 0, sample deviation, x sqrt(252). Money is\n"
           "in the symbol's profit currency. CSV columns: index, the grid's parameters, trades, win_rate, net_pnl,\n"
           "profit_factor, expectancy, sharpe, sortino, max_drawdown, calmar, exposure, annual_return,\n"
           "annual_volatility, final_equity.\n"
           "DSR (Bailey & Lopez de Prado 2014): probability that the best set's true Sharpe beats the expected\n"
           "maximum of N = evaluated sets, from the sets' Sharpe variance, the best set's skewness and\n"
           "kurtosis and its number of days. PBO (Bailey, Borwein, Lopez de Prado & Zhu): the share of the\n"
           "C(S, S/2) in-sample / out-of-sample splits of the days in which the in-sample best set is at or\n"
           "below the median out of sample. Memory of the PBO: 16 x sets x S bytes (at most 100000 sets).\n"
           "Exit codes: 0 done, 2 bad usage or input (grid, symbol, file), 3 an output cannot be written.\n");
}

static td_err_t parse_money(const char *s, int64_t *out)
{
    int rounded = 0;
    td_err_t rc = td_fx_parse(s, strlen(s), out, &rounded);
    return rc == TD_OK && !rounded && *out >= 0 ? TD_OK : TD_ERR_INVALID;
}

/* The progress bar on a terminal: at most five redraws a second, and the last one; each symbol's
 * bar starts with its first set. */
typedef struct progress {
    struct timespec last;
} progress_t;

static void show_progress(void *opaque, uint64_t done, uint64_t total)
{
    progress_t *p = opaque;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (done == 1)
        p->last = ts;
    double dt = (double)(ts.tv_sec - p->last.tv_sec) + (double)(ts.tv_nsec - p->last.tv_nsec) / 1e9;
    if (dt < 0.2 && done != total)
        return;
    int width = 40, filled = (int)(done * (uint64_t)width / total);
    fprintf(stderr, "\r[%.*s%*s] %3d%% %" PRIu64 "/%" PRIu64 " sets", filled,
            "########################################", width - filled, "", (int)(done * 100 / total), done, total);
    if (done == total)
        fprintf(stderr, "\n");
    p->last = ts;
}

/* What the command line says. */
typedef struct bt_args {
    td_bt_opts_t o;
    const char *out, *trades, *equity, *summary, *wf, *wf_trades, *wf_equity; /* output paths */
    bool json;
    const char *symbol, *data, *format_name, *grid_file, *metric_name;
    long tz_offset;
    uint32_t timeframe_s; /* --timeframe: tape and warehouse sources only */
} bt_args_t;

#define GO_ON (-1) /* parse_args: no exit code yet */

/* The whole-number options: option letter, range, where it goes, what the message says. */
static int parse_number(td_cli_t *cli, int c, bt_args_t *a)
{
    long pbo_blocks = 0;
    const struct {
        int c;
        long min, max;
        long *dst;
        const char *usage; /* the message before the range */
    } numbers[] = {
        {'t', 1, 256, &a->o.threads, "--threads expects "},
        {'p', 0, 100000000, &a->o.spread_points, "--spread expects whole points "},
        {'l', 0, 100000, &a->o.slippage, "--slippage expects whole points "},
        {'z', -720, 720, &a->tz_offset, "--tz-offset expects minutes "},
        {'B', 0, BEST_MAX, &a->o.best_n, "--best expects "},
        {'P', 2, TD_PBO_MAX_BLOCKS, &pbo_blocks, "--pbo-blocks expects an even number in "},
    };
    for (size_t k = 0; k < sizeof numbers / sizeof numbers[0]; k++) {
        if (numbers[k].c != c)
            continue;
        if (!td_cli_parse_long(optarg, numbers[k].min, numbers[k].max, numbers[k].dst) || (c == 'P' && pbo_blocks % 2))
            return td_cli_usage(cli, "%s%ld..%ld, found '%s'", numbers[k].usage, numbers[k].min, numbers[k].max,
                                optarg);
        if (c == 'P')
            a->o.pbo_blocks = (unsigned)pbo_blocks;
        return GO_ON;
    }
    return td_cli_usage(cli, "unknown option");
}

/* One option; GO_ON or the exit code. */
static int parse_option(td_cli_t *cli, int c, bt_args_t *a)
{
    td_bt_opts_t *o = &a->o;
    switch (c) {
    case 'S': o->strategy = optarg; break;
    case 's': a->symbol = optarg; break;
    case 'd': a->data = optarg; break;
    case 'f': a->format_name = optarg; break;
    case 'g': o->spec = optarg; break;
    case 'G': a->grid_file = optarg; break;
    case 'W': o->to_warehouse = true; break;
    case 'o': a->out = optarg; break;
    case 'j': a->json = true; break;
    case 'T': a->trades = optarg; break;
    case 'E': a->equity = optarg; break;
    case 'U': a->summary = optarg; break;
    case 'K': o->wf_text = optarg; break;
    case 'M': a->metric_name = optarg; break;
    case 'w': a->wf = optarg; break;
    case 'x': a->wf_trades = optarg; break;
    case 'y': a->wf_equity = optarg; break;
    case 'n': o->costs = false; break;
    case 'F':
        if (td_timeframe_parse(optarg, &a->timeframe_s) != TD_OK)
            return td_cli_usage(cli, "--timeframe expects M1, M5, M15, M30, H1, H4 or D1, found '%s'", optarg);
        break;
    case 'c':
        if (parse_money(optarg, &o->commission) != TD_OK)
            return td_cli_usage(cli, "--commission expects money >= 0 with at most 8 decimals, found '%s'", optarg);
        break;
    case 'C':
        if (parse_money(optarg, &o->capital) != TD_OK || o->capital <= 0)
            return td_cli_usage(cli, "--capital expects money > 0, found '%s'", optarg);
        break;
    case 'b':
        if (strcmp(optarg, "bid") != 0 && strcmp(optarg, "mid") != 0)
            return td_cli_usage(cli, "--basis expects bid or mid, found '%s'", optarg);
        o->basis = strcmp(optarg, "mid") == 0 ? TD_BACKTEST_MID : TD_BACKTEST_BID;
        break;
    case 'V':
        if (!td_backtest_conventions_parse(optarg, &o->conventions))
            return td_cli_usage(cli,
                                "--convention expects tapedeck, grademark or a comma-separated list of "
                                "no-decision-on-fill-bar, no-stops-on-entry-bar, gap-fills-at-level, found '%s'",
                                optarg);
        break;
    case 'h': help(); return TD_EXIT_OK;
    default: return parse_number(cli, c, a);
    }
    return GO_ON;
}

static int parse_args(td_cli_t *cli, int argc, char **argv, bt_args_t *a)
{
    static const struct option longopts[] = {
        {"strategy", required_argument, NULL, 'S'},
        {"symbol", required_argument, NULL, 's'},
        {"data", required_argument, NULL, 'd'},
        {"format", required_argument, NULL, 'f'},
        {"grid", required_argument, NULL, 'g'},
        {"config", required_argument, NULL, 'G'},
        {"threads", required_argument, NULL, 't'},
        {"out", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, 'j'},
        {"trades-out", required_argument, NULL, 'T'},
        {"equity-out", required_argument, NULL, 'E'},
        {"summary-out", required_argument, NULL, 'U'},
        {"walk-forward", required_argument, NULL, 'K'},
        {"wf-metric", required_argument, NULL, 'M'},
        {"wf-out", required_argument, NULL, 'w'},
        {"wf-trades-out", required_argument, NULL, 'x'},
        {"wf-equity-out", required_argument, NULL, 'y'},
        {"pbo-blocks", required_argument, NULL, 'P'},
        {"spread", required_argument, NULL, 'p'},
        {"commission", required_argument, NULL, 'c'},
        {"slippage", required_argument, NULL, 'l'},
        {"no-costs", no_argument, NULL, 'n'},
        {"basis", required_argument, NULL, 'b'},
        {"convention", required_argument, NULL, 'V'},
        {"capital", required_argument, NULL, 'C'},
        {"tz-offset", required_argument, NULL, 'z'},
        {"best", required_argument, NULL, 'B'},
        {"timeframe", required_argument, NULL, 'F'},
        {"warehouse", no_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->o.spread_points = -1;
    a->o.slippage = -1;
    a->o.best_n = 5;
    a->o.commission = -1;
    a->o.capital = INT64_C(100000) * TD_FX_SCALE;
    a->o.costs = true;
    a->o.basis = TD_BACKTEST_BID;
    a->o.pbo_blocks = (unsigned)td_config_int(cli->config, "backtest.pbo_blocks");
    int c, code = GO_ON;
    optind = 1;
    while (code == GO_ON && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
        code = parse_option(cli, c, a);
    if (code == GO_ON && optind < argc)
        code = td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    return code;
}

/* The jobs of a grid file (into gf, which they point into); GO_ON or the exit code. */
static int jobs_from_grid_file(td_cli_t *cli, bt_args_t *a, td_gridfile_t *gf, td_bt_job_t *jobs, size_t *n_jobs)
{
    char err[1024] = "";
    if (a->symbol || a->data || a->format_name || a->o.spec || a->o.strategy || a->timeframe_s)
        return td_cli_usage(cli, "--config GRIDFILE gives the strategy, grid and symbols: drop --strategy, "
                                 "--symbol, --data, --format, --timeframe and --grid");
    td_err_t rc = td_gridfile_load(a->grid_file, gf, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc == TD_ERR_IO ? TD_ERR_INVALID : rc, "%s", err);
    a->o.strategy = gf->strategy;
    a->o.spec = gf->grid;
    if (!a->o.wf_text && gf->walk_forward[0])
        a->o.wf_text = gf->walk_forward;
    if (!a->metric_name && gf->wf_metric[0])
        a->metric_name = gf->wf_metric;
    rc = td_bt_run_gridfile_jobs(a->grid_file, gf, jobs, n_jobs, err, sizeof err);
    return rc == TD_OK ? GO_ON : td_cli_fail(cli, rc, "%s", err);
}

/* The one job of --strategy --symbol --data --grid; GO_ON or the exit code. */
static int job_from_args(td_cli_t *cli, const bt_args_t *a, td_bt_job_t *job)
{
    if (!a->o.strategy || !a->symbol || !a->data || !a->o.spec)
        return td_cli_usage(cli, "--strategy, --symbol, --data and --grid are required (or --config GRIDFILE)");
    job->symbol = a->symbol;
    job->data = a->data;
    job->tz_offset = (int)a->tz_offset;
    job->timeframe_s = a->timeframe_s;
    job->from_file = td_bt_source_kind(a->data) == TD_BT_FILE;
    job->format = TD_FMT_MT5_BARS;
    if (job->from_file && !a->format_name)
        return td_cli_usage(cli, "--data %s is a file: --format is required (mt5-bars, dukascopy-bars, lean-bars)",
                            a->data);
    if (!job->from_file && a->format_name)
        return td_cli_usage(cli, "--format is for files; --data %s reads bars already on the %s", a->data, a->data);
    if (job->from_file && a->timeframe_s)
        return td_cli_usage(cli, "--timeframe is for --data tape or warehouse; a file's timeframe is read from it");
    if (job->from_file &&
        (td_import_format_parse(a->format_name, &job->format) != TD_OK || !td_import_format_is_bars(job->format)))
        return td_cli_usage(cli, "--format expects a bar format (mt5-bars, dukascopy-bars, lean-bars), found '%s'",
                            a->format_name);
    return GO_ON;
}

/* The walk-forward, the symbols' config sections and the grid; GO_ON or the exit code. */
static int check_run(td_cli_t *cli, bt_args_t *a, const td_bt_job_t *jobs, size_t n_jobs, td_grid_t **grid)
{
    char err[1024] = "";
    td_bt_opts_t *o = &a->o;
    const char *metric_text = a->metric_name ? a->metric_name : td_config_str(cli->config, "backtest.wf_metric");
    if (td_wf_metric_parse(metric_text, &o->wf_metric) != TD_OK)
        return td_cli_usage(cli, "--wf-metric expects sharpe, sortino, calmar, net_pnl or profit_factor, found '%s'",
                            metric_text);
    o->wf = o->wf_text != NULL;
    if (o->wf && td_wf_parse(o->wf_text, &o->wf_spec, err, sizeof err) != TD_OK)
        return td_cli_fail(cli, TD_ERR_INVALID, "%s%s%s", a->grid_file ? a->grid_file : "--walk-forward",
                           a->grid_file ? ": walk_forward: " : ": ", err);
    if (!o->wf && (a->wf || a->wf_trades || a->wf_equity))
        return td_cli_usage(cli, "--wf-out, --wf-trades-out and --wf-equity-out need --walk-forward IS:OOS");
    for (size_t i = 0; i < n_jobs; i++)
        if (!td_config_has_symbol(cli->config, jobs[i].symbol))
            return td_cli_fail(cli, TD_ERR_CONFIG,
                               "unknown symbol '%s': the config has no symbols.%s section (digits, contract_size, "
                               "...)%s",
                               jobs[i].symbol, jobs[i].symbol,
                               cli->config_path ? "" : "; pass one with --config FILE before the command");
    td_err_t rc = td_grid_parse(o->spec, grid, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s%s%s: %s", a->grid_file ? a->grid_file : "--grid ",
                           a->grid_file ? ": grid " : "", o->spec, err);
    return GO_ON;
}

int td_cmd_backtest(td_cli_t *cli, int argc, char **argv)
{
    bt_args_t a;
    int code = parse_args(cli, argc, argv, &a);
    if (code != GO_ON)
        return code;
    td_gridfile_t *gf = a.grid_file ? malloc(sizeof *gf) : NULL;
    if (a.grid_file && !gf)
        return td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    td_bt_job_t jobs[TD_GRIDFILE_MAX_SYMBOLS];
    memset(jobs, 0, sizeof jobs);
    size_t n_jobs = 0;
    bool multi = a.grid_file != NULL;
    code = multi ? jobs_from_grid_file(cli, &a, gf, jobs, &n_jobs) : job_from_args(cli, &a, &jobs[n_jobs++]);
    td_grid_t *grid = NULL;
    if (code == GO_ON)
        code = check_run(cli, &a, jobs, n_jobs, &grid);
    if (code != GO_ON) {
        free(gf);
        return code;
    }

    char err[1024] = "";
    td_bt_outputs_t outputs;
    td_bt_output_paths_t paths = {a.out, a.trades, a.equity, a.summary, a.wf, a.wf_trades, a.wf_equity, a.json};
    td_err_t rc = td_bt_outputs_open(&paths, &outputs, err, sizeof err);
    progress_t progress = {{0, 0}};
    if (!a.json && outputs.csv != stdout && isatty(STDERR_FILENO)) {
        outputs.progress = show_progress;
        outputs.progress_opaque = &progress;
    }
    if (rc == TD_OK)
        rc = td_bt_run_begin(&outputs, grid, multi, a.grid_file, err, sizeof err);
    td_bt_done_t done[TD_GRIDFILE_MAX_SYMBOLS];
    for (size_t i = 0; rc == TD_OK && i < n_jobs; i++)
        rc = td_bt_run_symbol(cli->config, cli->data_dir, &a.o, grid, &jobs[i], i, multi, &outputs, &done[i], err,
                              sizeof err);
    if (rc == TD_OK)
        rc = td_bt_run_end(&outputs, grid, multi, jobs, done, n_jobs, err, sizeof err);
    rc = td_bt_outputs_close(&outputs, rc, err, sizeof err);
    code = rc == TD_OK ? TD_EXIT_OK : td_cli_fail(cli, rc, "%s", err[0] ? err : "failed");
    td_grid_destroy(grid);
    free(gf);
    return code;
}
