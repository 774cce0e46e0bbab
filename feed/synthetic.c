/* synthetic.c - the built-in synthetic day (see synthetic.h). */
#include "feed/synthetic.h"

#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"

static const td_synth_symbol_t demo_set[] = {
    {"EURUSD", 5, "100000", 110000000, 1000, 2000, 0x9e3779b97f4a7c15u, "sma_cross",
     "direction=both,fast=5,slow=20,sl_points=0,tp_points=0,volume=0.10"},
    {"XAUUSD", 2, "100", 203000000000, 2000000, 3000000, 0xd1b54a32d192ed03u, "breakout",
     "atr_n=14,direction=both,lookback=10,max_hold=8,session_end=20:00,session_start=07:00,sl_atr=2,tp_atr=3,"
     "volume=0.05,weekdays=12345"},
    {"US500", 1, "1", 475000000000, 20000000, 50000000, 0x8cb92ba72f3d8dd7u, "sma_cross",
     "direction=long,fast=8,slow=21,sl_points=200,tp_points=400,volume=1"},
};

#define DESK_PARAMS "direction=both,fast=2,slow=5,sl_points=0,tp_points=0,volume=0.10"
static const td_synth_symbol_t desk_set[] = {
    {"EURUSD", 5, "100000", 110000000, 1000, 2000, 0x9e3779b97f4a7c15u, "sma_cross", DESK_PARAMS},
    {"GBPUSD", 5, "100000", 127000000, 1000, 3000, 0x94d049bb133111ebu, "sma_cross", DESK_PARAMS},
    {"USDJPY", 3, "100000", 14100000000, 100000, 200000, 0xbf58476d1ce4e5b9u, "sma_cross", DESK_PARAMS},
    {"USDCHF", 5, "100000", 85000000, 1000, 3000, 0x632be59bd9b4e019u, "sma_cross", DESK_PARAMS},
    {"AUDUSD", 5, "100000", 68000000, 1000, 3000, 0x85ebca77c2b2ae63u, "sma_cross", DESK_PARAMS},
    {"USDCAD", 5, "100000", 132000000, 1000, 3000, 0xc2b2ae3d27d4eb4fu, "sma_cross", DESK_PARAMS},
    {"NZDUSD", 5, "100000", 62000000, 1000, 4000, 0x165667b19e3779f9u, "sma_cross", DESK_PARAMS},
    {"EURGBP", 5, "100000", 86000000, 1000, 3000, 0xd6e8feb86659fd93u, "sma_cross", DESK_PARAMS},
    {"EURJPY", 3, "100000", 15600000000, 100000, 300000, 0xff51afd7ed558ccdu, "sma_cross", DESK_PARAMS},
    {"GBPJPY", 3, "100000", 18000000000, 100000, 500000, 0xc4ceb9fe1a85ec53u, "sma_cross", DESK_PARAMS},
    {"EURCHF", 5, "100000", 94000000, 1000, 4000, 0x2545f4914f6cdd1du, "sma_cross", DESK_PARAMS},
    {"AUDJPY", 3, "100000", 9600000000, 100000, 400000, 0x9fb21c651e98df25u, "sma_cross", DESK_PARAMS},
    {"XAUUSD", 2, "100", 203000000000, 2000000, 3000000, 0xd1b54a32d192ed03u, "sma_cross", DESK_PARAMS},
    {"XAGUSD", 3, "5000", 2300000000, 500000, 2500000, 0x8cb92ba72f3d8dd7u, "sma_cross", DESK_PARAMS},
    {"US500", 1, "1", 475000000000, 20000000, 50000000, 0x7fb5d329728ea185u, "sma_cross", DESK_PARAMS},
    {"US30", 1, "1", 3750000000000, 100000000, 200000000, 0x81dadef4bc2dd44du, "sma_cross", DESK_PARAMS},
    {"GER40", 1, "1", 1670000000000, 50000000, 100000000, 0xd2a98b26625eee7bu, "sma_cross", DESK_PARAMS},
    {"UK100", 1, "1", 760000000000, 20000000, 100000000, 0xdd7b28e19ec25aa5u, "sma_cross", DESK_PARAMS},
};

const td_synth_symbol_t *td_synth_set(const char *name, size_t *n)
{
    if (strcmp(name, "demo") == 0) {
        *n = sizeof demo_set / sizeof demo_set[0];
        return demo_set;
    }
    if (strcmp(name, "desk") == 0) {
        *n = sizeof desk_set / sizeof desk_set[0];
        return desk_set;
    }
    *n = 0;
    return NULL;
}

td_err_t td_synth_configure(td_config_t *config, const td_synth_symbol_t *syms, size_t n, char *errbuf, size_t errlen)
{
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i < n; i++) {
        char key[96], val[32];
        snprintf(key, sizeof key, "symbols.%s.digits", syms[i].name);
        snprintf(val, sizeof val, "%d", syms[i].digits);
        rc = td_config_set(config, key, val, "synthetic", errbuf, errlen);
        snprintf(key, sizeof key, "symbols.%s.contract_size", syms[i].name);
        if (rc == TD_OK)
            rc = td_config_set(config, key, syms[i].contract_size, "synthetic", errbuf, errlen);
    }
    return rc;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1du;
}

td_err_t td_synth_day(const td_synth_symbol_t *sym, int64_t day_start, td_synth_tick_fn fn, void *opaque)
{
    uint64_t state = sym->seed;
    int64_t price = sym->start_price, t = day_start;
    td_err_t rc = TD_OK;
    while (rc == TD_OK) {
        t += 200 + (int64_t)(xorshift(&state) % 2800); /* a tick every 0.2 .. 3 s */
        if (t >= day_start + TD_MS_PER_DAY)
            break;
        int64_t r = (int64_t)(xorshift(&state) % 5) - 2; /* -2 .. 2 steps, symmetric */
        price += r * sym->step;
        if (price < sym->step) /* a long walk must not reach zero */
            price = sym->step;
        rc = fn(opaque, t, price, price + sym->spread);
    }
    return rc;
}
