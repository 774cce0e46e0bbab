/* engine.c - one backtest run (contract and conventions in engine.h).
 *
 * The loop is the live pipeline's order of calls per bar, minus the tape: fill model, position
 * keeper, strategy, intents queued. The one liberty taken for speed: a bar on which the fill model
 * can provably do nothing is not handed to it (td_fill_bar_quiet); config.reference turns that off
 * and the differential test checks that both give the same trades. The per-run account (fill
 * model, position keeper, equity, metrics) is shared with backtest/sweep.c through engine_impl.h.
 */
#include "backtest/engine_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "processors/fill.h"
#include "processors/output.h"
#include "processors/positions.h"
#include "processors/strategy.h"

void td_backtest_config_init(td_backtest_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->basis = TD_BACKTEST_BID;
    config->costs = true;
    config->spread = -1;
    config->initial_equity = INT64_C(100000) * TD_FX_SCALE;
}

static const struct {
    const char *name;
    unsigned bit;
} convention_names[] = {
    {"no-decision-on-fill-bar", TD_BACKTEST_NO_DECISION_ON_FILL_BAR},
    {"no-stops-on-entry-bar", TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR},
    {"gap-fills-at-level", TD_BACKTEST_GAP_FILLS_AT_LEVEL},
};

bool td_backtest_conventions_parse(const char *text, unsigned *conventions)
{
    if (strcmp(text, "tapedeck") == 0) {
        *conventions = 0;
        return true;
    }
    if (strcmp(text, "grademark") == 0) {
        *conventions = TD_BACKTEST_CONVENTIONS_ALL;
        return true;
    }
    unsigned set = 0;
    const char *p = text;
    for (;;) {
        size_t len = strcspn(p, ",");
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof convention_names / sizeof convention_names[0]; k++)
            if (strlen(convention_names[k].name) == len && strncmp(p, convention_names[k].name, len) == 0)
                bit = convention_names[k].bit;
        if (bit == 0 || (set & bit))
            return false;
        set |= bit;
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    *conventions = set;
    return true;
}

const char *td_backtest_conventions_format(unsigned conventions, char *buf)
{
    char *p = buf;
    *p = '\0';
    for (size_t k = 0; k < sizeof convention_names / sizeof convention_names[0]; k++) {
        if (!(conventions & convention_names[k].bit))
            continue;
        size_t len = strlen(convention_names[k].name);
        if (p != buf)
            *p++ = ',';
        memcpy(p, convention_names[k].name, len + 1);
        p += len;
    }
    if (p == buf)
        memcpy(buf, "tapedeck", sizeof "tapedeck");
    return buf;
}

double td_backtest_exposure(const td_backtest_result_t *result)
{
    return result->bars ? (double)result->bars_in_position / (double)result->bars : NAN;
}

td_price_t td_backtest__bar_spread(const td_backtest_config_t *config, const td_bar_t *bar)
{
    if (!config->costs)
        return 0;
    if (config->spread >= 0)
        return config->spread;
    if (bar->spread_sum > 0 && bar->tick_volume > 0)
        return bar->spread_sum / (int64_t)bar->tick_volume;
    return bar->spread_min > 0 ? bar->spread_min : 0;
}

static void fnv_mix(uint64_t *h, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++) {
        *h ^= (u >> (8 * i)) & 0xff;
        *h *= UINT64_C(0x100000001b3);
    }
}

static td_err_t on_trade(td_backtest__run_t *run, const td_trade_closed_t *trade)
{
    td_backtest_result_t *result = run->result;
    td_err_t rc = td_btmetrics_trades_add(&result->trades, trade, run->config->day_offset_minutes);
    if (rc != TD_OK)
        return td_err_set(run->errbuf, run->errlen, rc, "%s: trade P&L sums left the int64 range", run->config->symbol);
    uint64_t *h = &result->trades_digest;
    fnv_mix(h, trade->side);
    fnv_mix(h, trade->entry_time);
    fnv_mix(h, trade->entry_price);
    fnv_mix(h, trade->exit_time);
    fnv_mix(h, trade->exit_price);
    fnv_mix(h, trade->volume);
    fnv_mix(h, trade->pnl);
    fnv_mix(h, trade->commission);
    fnv_mix(h, trade->swap);
    if (run->sink && run->sink->trade)
        rc = run->sink->trade(run->sink->opaque, trade);
    return rc;
}

/* The fill model's step on one bar; its reports go to the position keeper. */
td_err_t td_backtest__fill_bar(td_backtest__run_t *run, const td_bar_t *fill_view, td_price_t spread, size_t index)
{
    td_outbuf_clear(&run->fills);
    unsigned rules = 0;
    if (run->config->conventions & TD_BACKTEST_NO_STOPS_ON_ENTRY_BAR)
        rules |= TD_FILL_NO_STOPS_ON_ENTRY_BAR;
    if (run->config->conventions & TD_BACKTEST_GAP_FILLS_AT_LEVEL)
        rules |= TD_FILL_GAP_AT_LEVEL;
    td_err_t rc = td_fill_on_bar_conv(&run->fill, &run->spec, fill_view->open_time, fill_view, spread,
                                      run->config->day_offset_minutes, rules, &run->fills);
    if (rc != TD_OK) {
        char iso[32];
        td_time_format_iso(fill_view->open_time, iso);
        return td_err_set(run->errbuf, run->errlen, rc, "%s: bar %zu (%s): the fill model refused it: %s",
                          run->config->symbol, index, iso, td_err_name(rc));
    }
    for (size_t i = 0; rc == TD_OK && i < run->fills.len; i++) {
        const td_exec_report_t *exec = &run->fills.ev[i].u.exec;
        td_outbuf_clear(&run->outs);
        rc = td_positions_apply(&run->positions, fill_view->open_time, exec, &run->outs);
        if (rc != TD_OK)
            return td_err_set(run->errbuf, run->errlen, rc, "%s: bar %zu: position keeper: %s", run->config->symbol,
                              index, td_positions_error(&run->positions));
        run->result->fills++;
        /* every queued intent is filled whole, oldest first (fill.h); a stop exit was never pending */
        if (strcmp(exec->reason, "market") == 0)
            run->pending -= exec->side == TD_SIDE_BUY ? exec->volume : -exec->volume;
        for (size_t j = 0; rc == TD_OK && j < run->outs.len; j++)
            if (run->outs.ev[j].kind == TD_EV_TRADE_CLOSED)
                rc = on_trade(run, &run->outs.ev[j].u.trade);
    }
    return rc;
}

/* The strategy on one closed bar; its intents join the fill model's queue, unless `drop` (the
 * NO_DECISION_ON_FILL_BAR convention on a bar with a fill): then it only folds the bar. */
static td_err_t strategy_bar(td_backtest__run_t *run, const td_bar_t *bar, size_t index, bool drop)
{
    td_strategy_ctx_t ctx = {
        .spec = &run->spec,
        .position = td_positions_volume(&run->positions),
        .pending = run->pending,
        .tz_offset_minutes = run->config->tz_offset_minutes,
    };
    td_outbuf_clear(&run->strategy_out);
    td_err_t rc = td_strategy_on_bar(run->strategy, &ctx, bar, &run->strategy_out);
    if (rc != TD_OK)
        return td_backtest__strategy_failed(run, bar, index, rc);
    if (drop) {
        td_outbuf_clear(&run->strategy_out);
        return TD_OK;
    }
    return td_backtest__submit(run, bar, index);
}

/* Writes the decimal digits of v at p; returns the end. */
static char *put_decimal(char *p, size_t v)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

/* "bt-<index>-<j>" (what snprintf "bt-%zu-%zu" writes; at most 3 + 20 + 1 + 20 characters, so it
 * always fits TD_ID_MAX), without the cost of a formatted print on every intent. */
static void intent_id(char id[TD_ID_MAX + 1], size_t index, size_t j)
{
    char *p = id;
    *p++ = 'b';
    *p++ = 't';
    *p++ = '-';
    p = put_decimal(p, index);
    *p++ = '-';
    p = put_decimal(p, j);
    *p = '\0';
}

td_err_t td_backtest__strategy_failed(td_backtest__run_t *run, const td_bar_t *bar, size_t index, td_err_t rc)
{
    char iso[32];
    td_time_format_iso(bar->open_time, iso);
    return td_err_set(run->errbuf, run->errlen, rc, "%s: bar %zu (%s): the strategy refused it: %s",
                      run->config->symbol, index, iso, td_err_name(rc));
}

td_err_t td_backtest__submit(td_backtest__run_t *run, const td_bar_t *bar, size_t index)
{
    td_err_t rc = TD_OK;
    int64_t close_time = bar->open_time + (int64_t)bar->timeframe_s * 1000;
    for (size_t j = 0; rc == TD_OK && j < run->strategy_out.len; j++) {
        td_event_t *o = &run->strategy_out.ev[j];
        if (o->kind == TD_EV_SIGNAL) {
            run->result->signals++;
            continue;
        }
        if (o->kind != TD_EV_ORDER_INTENT)
            continue;
        td_order_intent_t *intent = &o->u.intent;
        /* the live pipeline uses "<symbol>-<input offset>-<index>"; here the bar index (fits 63) */
        intent_id(intent->intent_id, index, j);
        rc = td_fill_submit(&run->fill, close_time, intent);
        if (rc != TD_OK)
            return td_err_set(run->errbuf, run->errlen, rc, "%s: bar %zu: the fill model refused an intent: %s",
                              run->config->symbol, index, td_err_name(rc));
        run->result->intents++;
        run->pending += intent->side == TD_SIDE_BUY ? intent->volume : -intent->volume;
    }
    return rc;
}

/* Equity at the close of fill_view (the bid view of the bar), see engine.h. */
static td_err_t equity_at(const td_backtest__run_t *run, const td_bar_t *fill_view, td_price_t spread,
                          td_money_t *equity)
{
    const td_positions_t *positions = &run->positions;
    td_money_t e = run->config->initial_equity, open_pnl = 0;
    td_volume_t volume = positions->volume;
    td_err_t rc = TD_OK;
    if (volume != 0) {
        __int128 pv;
        if (volume > 0)
            pv = (__int128)fill_view->close * volume - positions->cost;
        else
            pv = positions->cost - (__int128)(fill_view->close + spread) * -(__int128)volume;
        rc = td_positions__money(pv, positions->contract_size, &open_pnl);
    }
    if (rc == TD_OK)
        rc = td_fx_add(e, positions->realized_pnl, &e);
    if (rc == TD_OK)
        rc = td_fx_add(e, positions->commission, &e);
    if (rc == TD_OK)
        rc = td_fx_add(e, positions->swap, &e);
    if (rc == TD_OK)
        rc = td_fx_add(e, run->fill.accrued_swap, &e);
    if (rc == TD_OK)
        rc = td_fx_add(e, open_pnl, &e);
    *equity = e;
    return rc;
}

td_err_t td_backtest__day_end(td_backtest__run_t *run, const td_bar_t *fill_view, td_price_t spread, uint32_t day)
{
    td_money_t equity = 0;
    td_err_t rc = equity_at(run, fill_view, spread, &equity);
    if (rc != TD_OK)
        return td_err_set(run->errbuf, run->errlen, rc, "%s: day %u: the equity left the int64 range",
                          run->config->symbol, day);
    double ret = run->prev_equity > 0 ? (double)equity / (double)run->prev_equity - 1.0 : NAN;
    if (run->n_returns == run->cap_returns) {
        size_t cap = run->cap_returns ? 2 * run->cap_returns : 256;
        double *p = realloc(run->returns, cap * sizeof *p);
        if (!p)
            return td_err_set(run->errbuf, run->errlen, TD_ERR_NOMEM, "%s: out of memory", run->config->symbol);
        run->returns = p;
        run->cap_returns = cap;
    }
    run->returns[run->n_returns++] = ret;
    run->prev_equity = equity;
    run->result->final_equity = equity;
    run->result->days++;
    if (run->sink && run->sink->equity)
        rc = run->sink->equity(run->sink->opaque, day, equity, ret);
    return rc;
}

static td_err_t check_config(const td_backtest_config_t *config, char *errbuf, size_t errlen)
{
    if (config->spec.point <= 0 || config->spec.contract_size <= 0)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: the symbol spec needs point > 0 and contract_size > 0",
                          config->symbol);
    if (config->slippage_points < 0 || config->commission_per_lot < 0 || config->initial_equity <= 0 ||
        (config->basis != TD_BACKTEST_BID && config->basis != TD_BACKTEST_MID) ||
        (config->conventions & ~TD_BACKTEST_CONVENTIONS_ALL))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "%s: backtest config: slippage and commission must be >= 0, initial equity > 0, basis "
                          "bid or mid, conventions of TD_BACKTEST_CONVENTIONS_ALL",
                          config->symbol);
    return TD_OK;
}

td_err_t td_backtest__begin(td_backtest__run_t *run, const td_backtest_config_t *config,
                            const td_params_changed_t *params, const td_backtest_sink_t *sink,
                            td_backtest_result_t *result, char *errbuf, size_t errlen)
{
    memset(run, 0, sizeof *run);
    memset(result, 0, sizeof *result);
    result->trades_digest = UINT64_C(0xcbf29ce484222325);
    td_btmetrics_trades_init(&result->trades);
    run->config = config;
    run->sink = sink;
    run->result = result;
    run->errbuf = errbuf;
    run->errlen = errlen;
    run->spec = config->spec;
    run->prev_equity = config->initial_equity;
    td_outbuf_init(&run->fills);
    td_outbuf_init(&run->outs);
    td_outbuf_init(&run->strategy_out);
    td_err_t rc = check_config(config, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    if (!config->costs)
        run->spec.swap_mode = TD_SWAP_DISABLED;
    td_fill_config_t fill_config = {
        .slippage_points = config->costs ? config->slippage_points : 0,
        .commission_per_lot = config->costs ? config->commission_per_lot : 0,
        .id_base = 0,
    };
    td_fill_init(&run->fill, &fill_config);
    td_positions_init(&run->positions);
    td_positions_set_spec(&run->positions, &run->spec);
    rc = td_strategy_new(params, &run->strategy, errbuf, errlen);
    if (rc == TD_ERR_INVALID)
        result->refused = true;
    return rc;
}

td_err_t td_backtest__end(td_backtest__run_t *run, td_err_t rc)
{
    if (rc == TD_OK && run->strategy) {
        run->result->open_volume = td_positions_volume(&run->positions);
        td_btmetrics_ratios(run->returns, run->n_returns, &run->result->ratios);
    }
    free(run->returns);
    run->returns = NULL;
    td_outbuf_fini(&run->strategy_out);
    td_outbuf_fini(&run->outs);
    td_outbuf_fini(&run->fills);
    td_strategy_destroy(run->strategy);
    run->strategy = NULL;
    return rc;
}

const td_bar_t *td_backtest__fill_view(const td_backtest_config_t *config, const td_bar_t *bar, td_price_t spread,
                                       td_bar_t *shifted)
{
    if (config->basis != TD_BACKTEST_MID || spread <= 0)
        return bar;
    td_price_t half = spread / 2;
    *shifted = *bar;
    shifted->open -= half;
    shifted->high -= half;
    shifted->low -= half;
    shifted->close -= half;
    return shifted;
}

td_err_t td_backtest_run(const td_backtest_config_t *config, const td_params_changed_t *params, const td_bar_t *bars,
                         size_t n, const td_backtest_sink_t *sink, td_backtest_result_t *result, char *errbuf,
                         size_t errlen)
{
    td_backtest__run_t run;
    td_err_t rc = td_backtest__begin(&run, config, params, sink, result, errbuf, errlen);
    for (size_t i = 0; rc == TD_OK && i < n; i++) {
        const td_bar_t *bar = &bars[i];
        td_price_t spread = td_backtest__bar_spread(config, bar);
        td_bar_t shifted;
        const td_bar_t *fill_view = td_backtest__fill_view(config, bar, spread, &shifted);
        uint32_t day = td_time_trading_day(bar->open_time, config->day_offset_minutes);
        uint64_t fills_before = result->fills;
        if (config->reference || !td_fill_bar_quiet(&run.fill, fill_view->high, fill_view->low, spread, day))
            rc = td_backtest__fill_bar(&run, fill_view, spread, i);
        bool drop = (config->conventions & TD_BACKTEST_NO_DECISION_ON_FILL_BAR) && result->fills != fills_before;
        if (rc == TD_OK)
            rc = strategy_bar(&run, bar, i, drop);
        if (rc != TD_OK)
            break;
        result->bars++;
        if (td_positions_volume(&run.positions) != 0)
            result->bars_in_position++;
        if (i + 1 == n || td_time_trading_day(bars[i + 1].open_time, config->day_offset_minutes) != day)
            rc = td_backtest__day_end(&run, fill_view, spread, day);
    }
    return td_backtest__end(&run, rc);
}
