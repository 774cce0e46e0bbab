/* strategy_impl.h - private to processors/strategy.c, sma_cross.c and breakout.c (and their tests),
 * and, through processors/strategy_rules.h, to the grid backtester's shared-indicator engine.
 *
 * td_strategy_t holds every implementation's configuration and state by value (a union), so a
 * strategy is one allocation and copies of it carry no pointers but `impl`. An implementation is a
 * table of functions (td_strategy__impl_t) plus a parameter table (td_strategy__param_def_t) from
 * which strategy.c parses and validates ParamsChanged values.
 *
 * The history ring holds the closed bars BEFORE the current one while on_bar runs: strategy.c
 * pushes the new bar only after the implementation succeeded, so an implementation computes its
 * new state into locals, emits, and commits at the end (or not at all on error).
 */
#ifndef TD_STRATEGY_IMPL_H
#define TD_STRATEGY_IMPL_H

#include <stdbool.h>

#include "processors/strategy.h"
#include "state_strategy.pb-c.h"

/* ---- parameters ---- */

typedef enum td_strategy__ptype {
    TD_PT_INT,       /* strict decimal digits, no sign: "14" */
    TD_PT_DECIMAL,   /* td_fx_parse, at most 8 decimals; the value is scaled x 1e8 */
    TD_PT_DIRECTION, /* "long" | "short" | "both" -> TD_STRATEGY_LONG / _SHORT / _BOTH */
    TD_PT_HHMM,      /* "HH:MM", 00:00..23:59 -> minutes of the day */
    TD_PT_WEEKDAYS,  /* distinct digits 0..6 (0 = Sunday), e.g. "12345" -> bit mask 1 << digit */
} td_strategy__ptype_t;

typedef struct td_strategy__param_def {
    const char *name;
    td_strategy__ptype_t type;
    bool required;
    const char *def;  /* default text when not required */
    int64_t min, max; /* inclusive range of the parsed value (INT, DECIMAL scaled) */
} td_strategy__param_def_t;

#define TD_STRATEGY_LONG 1
#define TD_STRATEGY_SHORT 2
#define TD_STRATEGY_BOTH 3

/* ---- per-implementation configuration and state ---- */

typedef struct td_sma_cross_cfg {
    uint32_t fast, slow;
    int direction; /* TD_STRATEGY_LONG / _SHORT / _BOTH */
    td_volume_t volume;
    int64_t sl_points, tp_points;
} td_sma_cross_cfg_t;

typedef struct td_sma_cross_state {
    int last_sign;              /* encoded */
    int64_t sum_fast, sum_slow; /* derived: sums of the last fast/slow closes in the history */
} td_sma_cross_state_t;

typedef struct td_breakout_cfg {
    uint32_t lookback, atr_n;
    int64_t sl_atr, tp_atr;         /* multiples of ATR, x 1e8 */
    int session_start, session_end; /* minutes of the trading day */
    unsigned weekday_mask;          /* bit d set: entries allowed on weekday d (0 = Sunday) */
    uint32_t max_hold;              /* bars, 0 = none */
    int direction;
    td_volume_t volume;
} td_breakout_cfg_t;

typedef struct td_breakout_state {
    int64_t atr_sum; /* see BreakoutState in proto/state_strategy.proto */
    uint32_t atr_count;
    uint32_t held_bars;
    int held_sign;
} td_breakout_state_t;

typedef union td_strategy__cfg {
    td_sma_cross_cfg_t sma;
    td_breakout_cfg_t brk;
} td_strategy__cfg_t;

/* Bars whose prices leave +-2^52 (4.5e7 in quote units) are refused, so that sums of up to 1000
 * closes, highs or true ranges, and the scaled ATR sum, always fit in int64. */
#define TD_STRATEGY__PRICE_MAX (INT64_C(1) << 52)

typedef struct td_strategy__hbar {
    int64_t open_time;
    td_price_t high, low, close;
} td_strategy__hbar_t;

typedef struct td_strategy__impl td_strategy__impl_t;

struct td_strategy {
    const td_strategy__impl_t *impl;
    td_params_changed_t params; /* strategy, version and values as given; author/reason cleared */
    td_strategy__cfg_t cfg;
    union {
        td_sma_cross_state_t sma;
        td_breakout_state_t brk;
    } st;
    size_t hist_head, hist_len; /* ring: the oldest bar is hist[hist_head] */
    td_strategy__hbar_t hist[TD_STRATEGY_HISTORY_MAX];
};

struct td_strategy__impl {
    const char *name;
    const td_strategy__param_def_t *defs; /* the parameter table */
    size_t n_defs;
    /* Builds cfg from vals (parsed per defs, in defs order) and checks cross-parameter rules.
     * TD_ERR_INVALID with a message. */
    td_err_t (*configure)(const int64_t *vals, td_strategy__cfg_t *cfg, char *errbuf, size_t errlen);
    /* After a reconfigure (old != NULL) or a decode (old == NULL): recompute what depends on the
     * history and the new cfg. Cannot fail (history values were checked on the way in). */
    void (*rebuild)(td_strategy_t *strategy, const td_strategy__cfg_t *old);
    /* One bar; the history does not contain it yet. */
    td_err_t (*on_bar)(td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar, td_outbuf_t *out);
    /* State <-> message (only the implementation's own sub-message). */
    void (*to_msg)(const td_strategy_t *strategy, Td__StrategyState *msg, Td__SmaCrossState *sma,
                   Td__BreakoutState *brk);
    /* TD_ERR_CORRUPT when the sub-message is absent or impossible for the configured params. */
    td_err_t (*from_msg)(td_strategy_t *strategy, const Td__StrategyState *msg);
};

extern const td_strategy__impl_t td_strategy__sma_cross;
extern const td_strategy__impl_t td_strategy__breakout;

/* The i-th bar of the history, 0 = oldest; i < hist_len. */
const td_strategy__hbar_t *td_strategy__hist_at(const td_strategy_t *strategy, size_t i);

/* The decision of one bar, turned into outputs by td_strategy__act(). */
typedef struct td_strategy__decision {
    int target;         /* +1 long, -1 short, 0 flat */
    td_volume_t volume; /* lots of a full position, > 0 */
    td_price_t sl_dist; /* stop distance from the close, price scale; 0 = none */
    td_price_t tp_dist; /* target distance from the close; 0 = none */
    const char *reason;
    bool signal_always; /* emit the signal even when no intent is needed */
} td_strategy__decision_t;

/* Appends the signal and, when target - (position + pending) != 0, the market intent. SL/TP are
 * priced from bar->close and attached only when the intent moves toward the target's side; a
 * price that would be <= 0 is left out. TD_ERR_OVERFLOW, TD_ERR_NOMEM (out may then hold a
 * partial append: the caller rolls out->len back). */
td_err_t td_strategy__act(const td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar,
                          const td_strategy__decision_t *decision, td_outbuf_t *out) TD_WUR;

/* Sign of x: -1, 0, +1. */
static inline int td_strategy__sign64(int64_t x)
{
    return (x > 0) - (x < 0);
}

/* For tests: the current ATR of a breakout strategy; false while it warms up (or another kind). */
bool td_strategy__breakout_atr(const td_strategy_t *strategy, td_price_t *atr);

#endif
