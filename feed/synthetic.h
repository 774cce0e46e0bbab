/* synthetic.h - the built-in SYNTHETIC trading day of `tapedeck demo`, `feed --synthetic` and the
 * live benchmark.
 *
 * Not market data: each symbol's ticks are a deterministic xorshift64* random walk seeded per
 * symbol (a tick every 0.2 .. 3 s, -2 .. +2 steps each), labelled source "synthetic". Two sets:
 *   "demo"  EURUSD (sma_cross), XAUUSD (breakout), US500 (sma_cross long only)
 *   "desk"  18 symbols like the desk trades (forex pairs, gold, silver, index CFDs), each with an
 *           sma_cross set that trades often (fast 2, slow 5: on M1 bars, an order every few minutes)
 * The same set, day and day offset give the same ticks, byte for byte, on every machine.
 */
#ifndef TD_FEED_SYNTHETIC_H
#define TD_FEED_SYNTHETIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"

typedef struct td_synth_symbol {
    const char *name;
    int digits;
    const char *contract_size;
    int64_t start_price; /* price scale */
    int64_t step;        /* random-walk step, price scale, a whole number of points */
    int64_t spread;      /* price scale */
    uint64_t seed;
    const char *strategy;
    const char *params; /* "name=value,..." sorted by name */
} td_synth_symbol_t;

/* The symbols of a set ("demo" or "desk"); NULL for an unknown name. */
const td_synth_symbol_t *td_synth_set(const char *name, size_t *n);

/* Sets symbols.<S>.digits and symbols.<S>.contract_size of every symbol of the set (source
 * "synthetic"). Detail in errbuf. */
td_err_t td_synth_configure(td_config_t *config, const td_synth_symbol_t *syms, size_t n, char *errbuf,
                            size_t errlen) TD_WUR;

/* Calls fn for every tick of sym in [day_start, day_start + 24 h), in time order. fn's non-TD_OK
 * return stops the walk with that code. */
typedef td_err_t (*td_synth_tick_fn)(void *opaque, int64_t time_ms, int64_t bid, int64_t ask);
td_err_t td_synth_day(const td_synth_symbol_t *sym, int64_t day_start, td_synth_tick_fn fn, void *opaque) TD_WUR;

#endif
