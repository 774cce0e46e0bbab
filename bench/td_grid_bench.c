/* td_grid_bench.c - the grid backtester's benchmark on SYNTHETIC bars.
 *
 *   td_grid_bench [--symbols N] [--bars N] [--strategy NAME] [--grid SPEC] [--threads N]
 *                 [--convention LIST] [--plain]
 *
 * Generates, for each of N symbols, N M30 bars of a deterministic random walk (our own splitmix64
 * generator seeded by the symbol number: the same bars on every machine and run), Monday to Friday
 * around the clock (weekend gaps, about 20 years for 250,000 bars), 5-decimal prices near 1.1000
 * with a 1-pip spread, and runs the grid on each symbol in turn with td_grid_run - metrics
 * included (trade statistics, daily equity, Sharpe and the other ratios), results streamed to a
 * callback that keeps only a digest and the best set. Prints the time, bar-steps per second (bars
 * x parameter sets / seconds, bar generation excluded), the peak RSS and the digest of every
 * result (so runs with other thread counts or --plain can be compared). --plain runs every set
 * through td_backtest_run instead of the shared-indicator engine; --convention sets the fill
 * conventions as `backtest --convention` does (engine.h). A benchmark, not a test.
 *
 * Defaults: 18 symbols x 250,000 bars, sma_cross, fast=5:50:5,slow=60:555:5 (1,000 sets), 2 threads.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backtest/grid.h"
#include "core/timeutil.h"

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A uniform integer in [-k, k]. */
static int64_t uniform(uint64_t *s, int64_t k)
{
    return (int64_t)(splitmix64(s) % (uint64_t)(2 * k + 1)) - k;
}

#define POINT INT64_C(1000) /* 5 decimals on the 1e8 price scale */

/* n synthetic M30 bars of symbol number sym. Integer arithmetic only. */
static void make_bars(td_bar_t *bars, size_t n, unsigned sym)
{
    uint64_t seed = UINT64_C(0x7464626e63680000) + sym;        /* "tdbnch" */
    int64_t t = td_time_ms_from_civil(2006, 1, 2, 0, 0, 0, 0); /* a Monday */
    int64_t price = (110000 + 500 * (int64_t)sym) * POINT;
    for (size_t i = 0; i < n; i++) {
        while (td_time_weekday(t, 0) == 0 || td_time_weekday(t, 0) == 6)
            t += INT64_C(1800000);
        td_bar_t *b = &bars[i];
        memset(b, 0, sizeof *b);
        b->timeframe_s = 1800;
        b->open_time = t;
        int64_t open = price + (i % 240 == 0 ? uniform(&seed, 40) * POINT : 0); /* a gap now and then */
        int64_t close = open + uniform(&seed, 60) * POINT;
        if (close < 20000 * POINT) /* keep the walk far above 0 */
            close = 20000 * POINT + uniform(&seed, 10) * POINT + 10 * POINT;
        int64_t hi = (open > close ? open : close) + (int64_t)(splitmix64(&seed) % 25) * POINT;
        int64_t lo = (open < close ? open : close) - (int64_t)(splitmix64(&seed) % 25) * POINT;
        b->open = open;
        b->close = close;
        b->high = hi;
        b->low = lo;
        b->tick_volume = 1000;
        b->spread_min = 10 * POINT;
        b->spread_max = 10 * POINT;
        b->spread_sum = 10 * POINT * 1000;
        price = close;
        t += INT64_C(1800000);
    }
}

typedef struct digest {
    uint64_t h;
    uint64_t rows;
    uint64_t trades, days;
    double best_sharpe;
    uint64_t best_index;
} digest_t;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= c[i];
        *h *= UINT64_C(0x100000001b3);
    }
}

static td_err_t on_row(void *opaque, const td_grid_row_t *row)
{
    digest_t *d = opaque;
    d->rows++;
    if (row->refused)
        return TD_OK;
    const td_backtest_result_t *r = row->result;
    d->trades += r->trades.trades;
    d->days += r->days;
    mix(&d->h, &row->index, sizeof row->index);
    mix(&d->h, &r->trades_digest, sizeof r->trades_digest);
    mix(&d->h, &r->trades, sizeof r->trades);
    mix(&d->h, &r->final_equity, sizeof r->final_equity);
    mix(&d->h, &r->bars_in_position, sizeof r->bars_in_position);
    double ratios[] = {r->ratios.sharpe, r->ratios.sortino,       r->ratios.max_drawdown,
                       r->ratios.calmar, r->ratios.annual_return, r->ratios.annual_volatility};
    mix(&d->h, ratios, sizeof ratios);
    if (!isnan(r->ratios.sharpe) && (d->rows == 1 || r->ratios.sharpe > d->best_sharpe)) {
        d->best_sharpe = r->ratios.sharpe;
        d->best_index = row->index;
    }
    return TD_OK;
}

int main(int argc, char **argv)
{
    unsigned symbols = 18, threads = 2;
    size_t n = 250000;
    const char *strategy = "sma_cross";
    const char *spec = NULL;
    bool plain = false;
    unsigned conventions = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--plain") == 0) {
            plain = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "td_grid_bench: %s needs a value\n", a);
            return 2;
        }
        if (strcmp(a, "--symbols") == 0)
            symbols = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--bars") == 0)
            n = (size_t)strtoull(v, NULL, 10);
        else if (strcmp(a, "--strategy") == 0)
            strategy = v;
        else if (strcmp(a, "--grid") == 0)
            spec = v;
        else if (strcmp(a, "--threads") == 0)
            threads = (unsigned)strtoul(v, NULL, 10);
        else if (strcmp(a, "--convention") != 0 || !td_backtest_conventions_parse(v, &conventions)) {
            fprintf(stderr,
                    "usage: td_grid_bench [--symbols N] [--bars N] [--strategy NAME] [--grid SPEC] [--threads N] "
                    "[--convention LIST] [--plain]\n");
            return 2;
        }
        i++;
    }
    if (!spec)
        spec = strcmp(strategy, "breakout") == 0 ? "lookback=10:100:10,sl_atr=0:4.5:0.5,tp_atr=0:9:1,volume=0.1"
                                                 : "fast=5:50:5,slow=60:555:5,volume=0.1";
    if (symbols == 0 || n == 0 || threads == 0) {
        fprintf(stderr, "td_grid_bench: --symbols, --bars and --threads must be > 0\n");
        return 2;
    }
    td_grid_t *grid = NULL;
    char err[512] = "";
    if (td_grid_parse(spec, &grid, err, sizeof err) != TD_OK) {
        fprintf(stderr, "td_grid_bench: %s\n", err);
        return 2;
    }
    td_bar_t *bars = malloc(n * sizeof *bars);
    if (!bars) {
        fprintf(stderr, "td_grid_bench: out of memory\n");
        return 3;
    }
    td_backtest_config_t config;
    td_backtest_config_init(&config);
    config.spec.digits = 5;
    config.spec.point = POINT;
    config.spec.contract_size = INT64_C(100000) * TD_FX_SCALE;
    config.spec.swap_mode = TD_SWAP_POINTS;
    config.spec.swap_long = -650000000;
    config.spec.swap_short = 120000000;
    config.spec.triple_swap_weekday = 3;
    config.commission_per_lot = INT64_C(3) * TD_FX_SCALE;
    config.slippage_points = 1;
    config.conventions = conventions;

    char convention_text[TD_BACKTEST_CONVENTIONS_TEXT_MAX];
    printf("td_grid_bench: SYNTHETIC bars (deterministic random walk), %u symbols x %zu M30 bars x %" PRIu64
           " sets, %s, grid %s, %u threads, %s engine, conventions %s\n",
           symbols, n, td_grid_count(grid), strategy, spec, threads, plain ? "plain" : "shared-indicator",
           td_backtest_conventions_format(conventions, convention_text));
    digest_t digest = {.h = UINT64_C(0xcbf29ce484222325)};
    double busy = 0;
    uint64_t steps = 0;
    int code = 0;
    for (unsigned sym = 0; sym < symbols && code == 0; sym++) {
        make_bars(bars, n, sym);
        snprintf(config.symbol, sizeof config.symbol, "SYN%02u", sym);
        td_grid_opts_t opts = {.threads = threads, .plain = plain};
        td_grid_stats_t stats;
        double t0 = td_mono_s();
        td_err_t rc = td_grid_run(grid, strategy, &config, bars, n, &opts, on_row, &digest, &stats, err, sizeof err);
        double t1 = td_mono_s();
        if (rc != TD_OK) {
            fprintf(stderr, "td_grid_bench: %s: %s %s\n", config.symbol, td_err_name(rc), err);
            code = 1;
        }
        busy += t1 - t0;
        steps += stats.bar_steps;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("%" PRIu64 " bar-steps in %.2f s (grid runs only): %.1fM bar-steps/s, peak RSS %.1f MiB; "
           "process CPU time %.2f s (bar generation included)\n",
           steps, busy, (double)steps / busy / 1e6, (double)ru.ru_maxrss / 1024.0, cpu);
    printf("results digest %016" PRIx64 " over %" PRIu64 " rows (%" PRIu64 " trades, %" PRIu64
           " equity days); best sharpe %.4f (set %" PRIu64 ")\n",
           digest.h, digest.rows, digest.trades, digest.days, digest.best_sharpe, digest.best_index);
    free(bars);
    td_grid_destroy(grid);
    return code;
}
