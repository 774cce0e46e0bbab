/* fixed.h - fixed-point prices, volumes and money.
 *
 * All three are int64_t scaled by TD_FX_SCALE = 1e8:
 *   price   1.14543 EURUSD      -> 114543000        (range +-9.2e10, ample for any quote)
 *   volume  0.10 lot            -> 10000000
 *   money   -7.25 USD           -> -725000000       (range +-9.2e10 of the currency)
 * A product of two scaled values is computed in __int128 and rescaled with a documented rounding;
 * every operation that can leave the int64 range reports TD_ERR_OVERFLOW instead of wrapping.
 * No floating point here: decisions are made on these integers only (DESIGN invariant 2).
 */
#ifndef TD_FIXED_H
#define TD_FIXED_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define TD_FX_SCALE INT64_C(100000000)
#define TD_FX_DECIMALS 8

/* The largest price tapedeck takes from outside (importers, the gateway): 10,000,000 units. Far
 * above any quote it trades, and it keeps sums of prices over a bar or a day inside int64. */
#define TD_PRICE_MAX (INT64_C(10000000) * TD_FX_SCALE)
/* The largest order or fill, lots: the protocol's bound, and a spec's volume_max at most. */
#define TD_LOTS_MAX (INT64_C(1000000) * TD_FX_SCALE)

typedef int64_t td_price_t;
typedef int64_t td_volume_t;
typedef int64_t td_money_t;

/* Parses a decimal number ("1.14543", "-0.5", "1310.926", "2", "4515.664000000001") of `len`
 * bytes into a scaled value. Digits beyond the 8th decimal are rounded half away from zero; they
 * occur only as float noise in exported files, and *rounded is set to 1 when a non-zero digit was
 * dropped (callers may count it). Exponents, spaces, hex, empty strings and a dot with no digit after
 * it ("7.": a number cut short, as at the end of a truncated file) are TD_ERR_PARSE; a
 * value outside int64 after scaling is TD_ERR_OVERFLOW. */
td_err_t td_fx_parse(const char *s, size_t len, int64_t *out, int *rounded) TD_WUR;

/* Writes v as a decimal with exactly `decimals` places (0..8, truncating toward zero is never
 * needed: callers pass at least the value's precision) into buf; returns the length written
 * (snprintf semantics, NUL terminated). */
int td_fx_format(int64_t v, int decimals, char *buf, size_t buflen);

/* a + b and a - b, TD_ERR_OVERFLOW outside int64. */
td_err_t td_fx_add(int64_t a, int64_t b, int64_t *out) TD_WUR;
td_err_t td_fx_sub(int64_t a, int64_t b, int64_t *out) TD_WUR;

/* a * b / TD_FX_SCALE (two scaled values), rounded half away from zero. */
td_err_t td_fx_mul(int64_t a, int64_t b, int64_t *out) TD_WUR;

/* a * b / c in 128-bit, rounded half away from zero; c != 0. */
td_err_t td_fx_muldiv(int64_t a, int64_t b, int64_t c, int64_t *out) TD_WUR;

/* 10^digits in price scale: the size of one point (digits 0..8). */
int64_t td_fx_point(unsigned digits);

#endif
