/* bt_testutil.h - helpers of the backtest tests: specs, parameter sets, hand-made bars, real bars
 * from ../shared/data, and a sink that keeps trades. Include after <cmocka.h>. */
#ifndef TD_BT_TESTUTIL_H
#define TD_BT_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backtest/engine.h"
#include "core/timeutil.h"
#include "import/import.h"

#define LOT INT64_C(100000000)
#define M30_MS INT64_C(1800000)
/* a price of 5 decimals: PX5(110050) = 1.10050 */
#define PX5(v) ((int64_t)(v)*1000)
#define MONEY(units) ((int64_t)(units)*100000000)

static inline td_symbol_spec_t eurusd_spec(void)
{
    td_symbol_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.digits = 5;
    spec.point = 1000;
    spec.contract_size = INT64_C(100000) * LOT;
    spec.swap_mode = TD_SWAP_POINTS;
    spec.swap_long = -650000000; /* -6.5 points a day */
    spec.swap_short = 120000000; /* +1.2 points */
    spec.triple_swap_weekday = 3;
    return spec;
}

/* params_of("sma_cross", "fast=2", "slow=4", NULL), values sorted by the caller */
static inline td_params_changed_t params_of(const char *strategy, ...)
{
    td_params_changed_t params;
    memset(&params, 0, sizeof params);
    snprintf(params.strategy, sizeof params.strategy, "%s", strategy);
    params.version = 1;
    va_list ap;
    va_start(ap, strategy);
    for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        td_param_t *p = &params.values[params.n_values++];
        snprintf(p->name, sizeof p->name, "%.*s", (int)(eq - kv), kv);
        snprintf(p->value, sizeof p->value, "%s", eq + 1);
    }
    va_end(ap);
    return params;
}

/* M30 bar i from t0 with open and close (5-decimal integers); high/low 5 points beyond them. */
static inline td_bar_t bar_oc(int64_t t0, int i, int64_t open, int64_t close)
{
    td_bar_t bar;
    memset(&bar, 0, sizeof bar);
    bar.timeframe_s = 1800;
    bar.open_time = t0 + i * M30_MS;
    bar.open = PX5(open);
    bar.close = PX5(close);
    bar.high = PX5((open > close ? open : close) + 5);
    bar.low = PX5((open < close ? open : close) - 5);
    return bar;
}

/* A growable list of trades, filled by td_backtest_sink_t.trade. */
typedef struct trade_list {
    td_trade_closed_t *v;
    size_t len, cap;
} trade_list_t;

static inline td_err_t trade_list_add(void *opaque, const td_trade_closed_t *trade)
{
    trade_list_t *list = opaque;
    if (list->len == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 64;
        td_trade_closed_t *p = realloc(list->v, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        list->v = p;
        list->cap = cap;
    }
    list->v[list->len++] = *trade;
    return TD_OK;
}

/* Bars of a real file in ../shared/data (NULL and *n = 0 when the folder is absent). */
typedef struct bar_list {
    td_bar_t *v;
    size_t len, cap;
} bar_list_t;

static inline td_err_t bar_list_sink(void *opaque, const td_event_t *ev)
{
    bar_list_t *list = opaque;
    if (list->len == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 4096;
        td_bar_t *p = realloc(list->v, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        list->v = p;
        list->cap = cap;
    }
    list->v[list->len++] = ev->u.bar;
    return TD_OK;
}

static inline td_bar_t *real_bars(const char *rel, td_import_format_t format, size_t max, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", TD_SHARED_DATA, rel);
    *n = 0;
    if (access(path, R_OK) != 0) {
        printf("SKIP: real market data not found at %s (../shared/data)\n", path);
        return NULL;
    }
    bar_list_t list = {0};
    td_import_opts_t opts = {.format = format, .symbol = "EURUSD"};
    td_import_stats_t stats;
    char err[512] = "";
    td_err_t rc = td_import_file(path, &opts, bar_list_sink, &list, &stats, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("import %s: %s %s", path, td_err_name(rc), err);
    *n = list.len < max ? list.len : max;
    return list.v;
}

/* Writes n synthetic M30 bars of EURUSD in MT5's Export Bars format (tab-separated, CRLF, a spread
 * column of 12 points) to path, from 2024-01-01 00:00 UTC: a deterministic walk (a slow sine and
 * an xorshift64 step), so every run writes the same bytes. Returns 0, -1 when the file cannot be
 * written. */
static inline int write_mt5_bars(const char *path, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\r\n");
    uint64_t x = 88172645463325252ULL;
    int64_t price = 110000; /* 5-decimal points */
    const int64_t t0 = INT64_C(1704067200000);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t open = price;
        int64_t trend = (int64_t)(i / 40 % 4) < 2 ? 6 : -6; /* 20-hour swings the SMAs can follow */
        price += trend + (int64_t)(x % 21) - 10;
        int64_t hi = (open > price ? open : price) + (int64_t)(x >> 20) % 8 + 1;
        int64_t lo = (open < price ? open : price) - (int64_t)(x >> 30) % 8 - 1;
        char day[16], hm[16];
        int64_t ms = t0 + (int64_t)i * M30_MS;
        uint32_t d = td_time_trading_day(ms, 0);
        int64_t in_day = ms % TD_MS_PER_DAY;
        snprintf(day, sizeof day, "%04u.%02u.%02u", d / 10000, d / 100 % 100, d % 100);
        snprintf(hm, sizeof hm, "%02d:%02d:00", (int)(in_day / 3600000), (int)(in_day / 60000 % 60));
        fprintf(f, "%s\t%s\t%d.%05d\t%d.%05d\t%d.%05d\t%d.%05d\t100\t0\t12\r\n", day, hm, (int)(open / 100000),
                (int)(open % 100000), (int)(hi / 100000), (int)(hi % 100000), (int)(lo / 100000), (int)(lo % 100000),
                (int)(price / 100000), (int)(price % 100000));
    }
    return fclose(f) == 0 ? 0 : -1;
}

#endif
