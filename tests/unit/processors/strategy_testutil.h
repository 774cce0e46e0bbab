/* strategy_testutil.h - helpers shared by the strategy tests (test_sma_cross.c, test_breakout.c,
 * test_strategy.c): parameter sets, bars, and a broker that fills every intent at once. Include
 * after <cmocka.h>. */
#ifndef TD_STRATEGY_TESTUTIL_H
#define TD_STRATEGY_TESTUTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/timeutil.h"
#include "processors/strategy.h"

#define LOT INT64_C(100000000)
#define M30_MS INT64_C(1800000)

/* params("sma_cross", 1, "fast=2", "slow=4", NULL) */
static inline td_params_changed_t params_of(const char *strategy, uint32_t version, ...)
{
    td_params_changed_t params;
    memset(&params, 0, sizeof params);
    snprintf(params.strategy, sizeof params.strategy, "%s", strategy);
    params.version = version;
    va_list ap;
    va_start(ap, version);
    for (const char *kv; (kv = va_arg(ap, const char *)) != NULL;) {
        const char *eq = strchr(kv, '=');
        assert_non_null(eq);
        assert_true(params.n_values < TD_PARAMS_MAX);
        td_param_t *p = &params.values[params.n_values++];
        snprintf(p->name, sizeof p->name, "%.*s", (int)(eq - kv), kv);
        snprintf(p->value, sizeof p->value, "%s", eq + 1);
    }
    va_end(ap);
    return params;
}

static inline td_strategy_t *strategy_of(const td_params_changed_t *params)
{
    td_strategy_t *strategy = NULL;
    char err[256] = "";
    td_err_t rc = td_strategy_new(params, &strategy, err, sizeof err);
    if (rc != TD_OK)
        fail_msg("td_strategy_new: %s: %s", td_err_name(rc), err);
    return strategy;
}

static inline td_bar_t bar_hlc(int64_t open_time, td_price_t high, td_price_t low, td_price_t close)
{
    td_bar_t bar;
    memset(&bar, 0, sizeof bar);
    bar.timeframe_s = 1800;
    bar.open_time = open_time;
    bar.open = close;
    bar.high = high;
    bar.low = low;
    bar.close = close;
    bar.tick_volume = 1;
    return bar;
}

/* The i-th M30 bar from 2019-02-04 00:00 UTC (a Monday). */
static inline int64_t bar_time(size_t i)
{
    return td_time_ms_from_civil(2019, 2, 4, 0, 0, 0, 0) + (int64_t)i * M30_MS;
}

/* A broker that fills every intent at once: position follows the intents, pending stays 0. */
typedef struct sim {
    td_strategy_ctx_t ctx;
    td_symbol_spec_t spec;
    td_outbuf_t out;
} sim_t;

static inline void sim_init(sim_t *sim, uint32_t digits)
{
    memset(sim, 0, sizeof *sim);
    sim->spec.digits = digits;
    sim->spec.point = td_fx_point(digits);
    sim->ctx.spec = &sim->spec;
    td_outbuf_init(&sim->out);
}

static inline void sim_fill(sim_t *sim)
{
    for (size_t i = 0; i < sim->out.len; i++) {
        const td_event_t *ev = &sim->out.ev[i];
        if (ev->kind != TD_EV_ORDER_INTENT)
            continue;
        td_volume_t v = ev->u.intent.volume;
        sim->ctx.position += ev->u.intent.side == TD_SIDE_BUY ? v : -v;
    }
}

/* One bar through the strategy; fills the intents; returns the number of outputs. */
static inline size_t sim_bar(sim_t *sim, td_strategy_t *strategy, const td_bar_t *bar)
{
    td_outbuf_clear(&sim->out);
    td_err_t rc = td_strategy_on_bar(strategy, &sim->ctx, bar, &sim->out);
    if (rc != TD_OK)
        fail_msg("td_strategy_on_bar: %s", td_err_name(rc));
    sim_fill(sim);
    return sim->out.len;
}

static inline size_t sim_close(sim_t *sim, td_strategy_t *strategy, size_t i, td_price_t close)
{
    td_bar_t bar = bar_hlc(bar_time(i), close, close, close);
    return sim_bar(sim, strategy, &bar);
}

static inline const td_signal_t *sim_signal(const sim_t *sim)
{
    assert_true(sim->out.len >= 1);
    assert_int_equal(sim->out.ev[0].kind, TD_EV_SIGNAL);
    return &sim->out.ev[0].u.signal;
}

static inline const td_order_intent_t *sim_intent(const sim_t *sim)
{
    assert_int_equal(sim->out.len, 2);
    assert_int_equal(sim->out.ev[1].kind, TD_EV_ORDER_INTENT);
    return &sim->out.ev[1].u.intent;
}

static inline void sim_fini(sim_t *sim)
{
    td_outbuf_fini(&sim->out);
}

/* splitmix64: a fixed, seeded sequence */
static inline uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Appends a text line per output to log (for run-vs-run comparisons). */
static inline void log_outputs(const td_outbuf_t *out, td_buf_t *log)
{
    for (size_t i = 0; i < out->len; i++) {
        const td_event_t *ev = &out->ev[i];
        td_err_t rc = TD_OK;
        if (ev->kind == TD_EV_SIGNAL)
            rc = td_buf_printf(log, "S %s %u %d %lld %s\n", ev->u.signal.strategy, ev->u.signal.params_version,
                               (int)ev->u.signal.direction, (long long)ev->u.signal.bar_time, ev->u.signal.reason);
        else
            rc = td_buf_printf(log, "I %d %lld %lld %lld %s %u %s [%s]\n", (int)ev->u.intent.side,
                               (long long)ev->u.intent.volume, (long long)ev->u.intent.stop_loss,
                               (long long)ev->u.intent.take_profit, ev->u.intent.strategy, ev->u.intent.params_version,
                               ev->u.intent.reason, ev->u.intent.intent_id);
        assert_int_equal(rc, TD_OK);
    }
}

#endif
