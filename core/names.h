/* names.h - the one table of each set of names the code base shares: timeframes, swap modes, sides.
 *
 * A name and its value are bound in one row (STYLE 14): the config, the protocol, the JSON and
 * CSV writers, the warehouse and the command line all look names up here, so adding a timeframe
 * or a swap mode is one row. Lookups are linear: each table has a handful of rows. */
#ifndef TD_NAMES_H
#define TD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/event.h"

typedef struct td_name {
    const char *name;
    int64_t value;
} td_name_t;

typedef struct td_names {
    const td_name_t *rows;
    size_t n;
} td_names_t;

extern const td_names_t td_timeframe_names; /* M1 M5 M15 M30 H1 H4 D1 -> seconds */
extern const td_names_t td_swap_mode_names; /* disabled points money interest -> td_swap_mode_t */
extern const td_names_t td_side_names;      /* buy sell -> td_side_t */
extern const td_names_t td_direction_names; /* flat long short -> td_direction_t */

/* The value named by the len bytes at name (not NUL-terminated); false when no row has that name. */
bool td_names_value(const td_names_t *names, const char *name, size_t len, int64_t *value);
/* The name of value, or NULL when no row has it. */
const char *td_names_name(const td_names_t *names, int64_t value);
/* Writes the names joined by '|' ("a|b|c") into buf (truncated to n - 1 bytes); returns buf. */
const char *td_names_join(const td_names_t *names, char *buf, size_t n);

/* Timeframes: parse "M30" -> 1800 (TD_ERR_INVALID for another name); name: "M30", or "S<seconds>"
 * written into buf for a length without a name. */
td_err_t td_timeframe_parse(const char *name, uint32_t *seconds) TD_WUR;
const char *td_timeframe_name(uint32_t seconds, char buf[16]);

/* "buy", "sell", and "none" for TD_SIDE_NONE or any other value. */
const char *td_side_name(td_side_t side);
/* "flat", "long", "short" ("flat" for a value outside the enum). */
const char *td_direction_name(td_direction_t direction);
/* The direction of a signed position volume: long above 0, short below, flat at 0. */
td_direction_t td_direction_of_volume(int64_t volume);
/* The direction of a trade opened by side: a buy is long, a sell short. */
td_direction_t td_direction_of_side(td_side_t side);
/* "disabled", "points", "money", "interest", and "?" for a value outside the enum. */
const char *td_swap_mode_name(td_swap_mode_t mode);

#endif
