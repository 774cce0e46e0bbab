/* strategy.h - the one strategy interface, shared by the live processor host, the paper broker and
 * the backtester (DESIGN invariant 7).
 *
 * A strategy is a pure state machine (DESIGN invariant 2): closed bars in, TD_EV_SIGNAL and
 * TD_EV_ORDER_INTENT outputs out. It keeps the last TD_STRATEGY_HISTORY_MAX bars so that new
 * parameters (td_strategy_reconfigure) find their indicators warm at once, plus a few integers of
 * its own. The position and the orders in flight are not its state: the caller passes them in
 * td_strategy_ctx_t on every bar, so a strategy never disagrees with the position keeper.
 *
 * Implementations (picked by ParamsChanged.strategy): "sma_cross" (processors/sma_cross.c) and
 * "breakout" (processors/breakout.c); each file documents its parameters in a table at its top.
 *
 * Orders are market orders sized to reach a target position:
 *     intent volume = target - (ctx->position + ctx->pending)      (nothing when that is 0)
 * where target is +volume (long), -volume (short) or 0 (flat). Intents leave intent_id empty: the
 * pipeline sets the deterministic id "<symbol>-<input offset>-<index>". Stop-loss and take-profit
 * prices are attached only to an intent that opens or adds in the target's direction; 0 = none.
 *
 * Threading: a td_strategy_t belongs to the one thread that steps its symbol.
 */
#ifndef TD_STRATEGY_H
#define TD_STRATEGY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/event.h"
#include "processors/output.h"

/* Bars kept for warm restarts after a reconfigure. Every period parameter is at most 1000, so one
 * more bar than the longest window always fits. */
#define TD_STRATEGY_HISTORY_MAX 1024

typedef struct td_strategy td_strategy_t;

/* What the strategy may know about the world on each bar. */
typedef struct td_strategy_ctx {
    const td_symbol_spec_t *spec; /* for the point size; needed when stops are configured */
    td_volume_t position;         /* signed net volume held now (+ long, - short) */
    td_volume_t pending;          /* signed volume of intents sent and not yet filled */
    int tz_offset_minutes;        /* the trading day's time zone (core/timeutil.h's day offset) */
} td_strategy_ctx_t;

/* Creates the strategy named by params->strategy with validated params. Returns TD_OK and sets
 * *strategy (owned by the caller: td_strategy_destroy); TD_ERR_INVALID with a message naming the
 * strategy or parameter at fault in errbuf (unknown strategy or parameter, a missing required one,
 * a value out of range or not a number, fast >= slow); TD_ERR_NOMEM. On error *strategy is NULL. */
td_err_t td_strategy_new(const td_params_changed_t *params, td_strategy_t **strategy, char *errbuf,
                         size_t errlen) TD_WUR;

/* Applies a new parameter set for the same strategy name, keeping the bar history: indicators
 * whose periods changed are recomputed from that history (warm at once when it is long enough).
 * No outputs; the position is left to the next bar's decision. Errors as td_strategy_new (plus a
 * different strategy name); on error the strategy is unchanged. */
td_err_t td_strategy_reconfigure(td_strategy_t *strategy, const td_params_changed_t *params, char *errbuf,
                                 size_t errlen) TD_WUR;

/* Folds one closed bar and appends the resulting outputs (a TD_EV_SIGNAL, then a TD_EV_ORDER_INTENT
 * when the volume is not 0) to out, body and kind only. Returns TD_OK; TD_ERR_ORDER when the bar
 * does not start after the previous one; TD_ERR_INVALID for a bar with low > high, a close
 * outside [low, high] or a price beyond +-2^52 (4.5e7 in quote units), or when stops are configured and ctx->spec has
 * no point; TD_ERR_OVERFLOW; TD_ERR_NOMEM. On error neither the strategy nor out changed. */
td_err_t td_strategy_on_bar(td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar,
                            td_outbuf_t *out) TD_WUR;

/* Appends the canonical encoding (proto/state_strategy.proto StrategyState: the parameters, the
 * history and the strategy's own integers) to out. TD_ERR_NOMEM leaves out as it was. */
td_err_t td_strategy_encode(const td_strategy_t *strategy, td_buf_t *out) TD_WUR;

/* Creates a strategy from bytes written by td_strategy_encode(). TD_ERR_CORRUPT when the bytes do
 * not decode, are not canonical, or hold invalid parameters or an impossible state; TD_ERR_NOMEM.
 * On error *strategy is NULL. */
td_err_t td_strategy_decode(const uint8_t *p, size_t n, td_strategy_t **strategy) TD_WUR;

/* Frees strategy; NULL is a no-op. */
void td_strategy_destroy(td_strategy_t *strategy);

/* "sma_cross" or "breakout". */
const char *td_strategy_name(const td_strategy_t *strategy);

/* The version of the parameter set in force. */
uint32_t td_strategy_params_version(const td_strategy_t *strategy);

#endif
