/* strategy.c - the strategy interface: parameter validation from each implementation's table, the
 * bar history, turning decisions into signals and intents, and the canonical state encoding.
 *
 * Everything here is deterministic integer code (DESIGN invariant 2). A step either completes or
 * leaves the strategy and the output list exactly as they were.
 */
#include "processors/strategy_impl.h"

#include <stdlib.h>
#include <string.h>

static const td_strategy__impl_t *const impls[] = {&td_strategy__sma_cross, &td_strategy__breakout};

static const td_strategy__impl_t *find_impl(const char *name)
{
    for (size_t i = 0; i < sizeof impls / sizeof impls[0]; i++)
        if (strcmp(impls[i]->name, name) == 0)
            return impls[i];
    return NULL;
}

/* ---- parameter parsing ---- */

/* Decimal text of a scaled value without trailing zeros ("0.5", "100000"). */
static void fmt_decimal(int64_t v, char buf[40])
{
    int n = td_fx_format(v, TD_FX_DECIMALS, buf, 40);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

/* Strict unsigned integer: one or more digits, nothing else, at most 18 of them. */
static bool parse_uint(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_hhmm(const char *s, int64_t *out)
{
    if (strlen(s) != 5 || s[2] != ':')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *out = h * 60 + m;
    return true;
}

static bool parse_weekdays(const char *s, int64_t *out)
{
    unsigned mask = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '6' || (mask & (1u << (*s - '0'))))
            return false;
        mask |= 1u << (*s - '0');
    }
    *out = mask;
    return true;
}

static td_err_t parse_one(const char *strategy_name, const td_strategy__param_def_t *def, const char *text,
                          int64_t *out, char *errbuf, size_t errlen)
{
    int64_t v = 0;
    char lo[40], hi[40];
    switch (def->type) {
    case TD_PT_INT:
        if (!parse_uint(text, &v) || v < def->min || v > def->max)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s: parameter '%s': expected an integer in %lld..%lld, got '%s'", strategy_name,
                              def->name, (long long)def->min, (long long)def->max, text);
        break;
    case TD_PT_DECIMAL: {
        int rounded = 0;
        td_err_t rc = td_fx_parse(text, strlen(text), &v, &rounded);
        if (rc != TD_OK || rounded || v < def->min || v > def->max) {
            fmt_decimal(def->min, lo);
            fmt_decimal(def->max, hi);
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s: parameter '%s': expected a decimal in %s..%s with at most 8 decimals, got '%s'",
                              strategy_name, def->name, lo, hi, text);
        }
        break;
    }
    case TD_PT_DIRECTION:
        if (strcmp(text, "long") == 0)
            v = TD_STRATEGY_LONG;
        else if (strcmp(text, "short") == 0)
            v = TD_STRATEGY_SHORT;
        else if (strcmp(text, "both") == 0)
            v = TD_STRATEGY_BOTH;
        else
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s: parameter '%s': expected long, short or both, got '%s'", strategy_name, def->name,
                              text);
        break;
    case TD_PT_HHMM:
        if (!parse_hhmm(text, &v))
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s: parameter '%s': expected a time HH:MM in 00:00..23:59, got '%s'", strategy_name,
                              def->name, text);
        break;
    case TD_PT_WEEKDAYS:
        if (!parse_weekdays(text, &v))
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s: parameter '%s': expected distinct weekday digits 0..6 (0 = Sunday), got '%s'",
                              strategy_name, def->name, text);
        break;
    }
    *out = v;
    return TD_OK;
}

/* Parses params against impl's table into vals[n_defs] (table order), then impl->configure. */
static td_err_t parse_params(const td_strategy__impl_t *impl, const td_params_changed_t *params,
                             td_strategy__cfg_t *cfg, char *errbuf, size_t errlen)
{
    if (params->n_values > TD_PARAMS_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: %u parameters, at most %d", impl->name, params->n_values,
                          TD_PARAMS_MAX);
    for (uint32_t i = 0; i < params->n_values; i++) {
        const char *name = params->values[i].name;
        size_t d = 0;
        while (d < impl->n_defs && strcmp(impl->defs[d].name, name) != 0)
            d++;
        if (d == impl->n_defs)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: unknown parameter '%s'", impl->name, name);
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(params->values[j].name, name) == 0)
                return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: parameter '%s' given twice", impl->name, name);
    }
    int64_t vals[TD_PARAMS_MAX];
    TD_ASSERT(impl->n_defs <= TD_PARAMS_MAX);
    for (size_t d = 0; d < impl->n_defs; d++) {
        const td_strategy__param_def_t *def = &impl->defs[d];
        const char *text = def->def;
        for (uint32_t i = 0; i < params->n_values; i++)
            if (strcmp(params->values[i].name, def->name) == 0)
                text = params->values[i].value;
        if (!text)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: missing required parameter '%s'", impl->name,
                              def->name);
        td_err_t rc = parse_one(impl->name, def, text, &vals[d], errbuf, errlen);
        if (rc != TD_OK)
            return rc;
    }
    return impl->configure(vals, cfg, errbuf, errlen);
}

static void copy_params(td_params_changed_t *dst, const td_params_changed_t *src)
{
    memset(dst, 0, sizeof *dst);
    memcpy(dst->strategy, src->strategy, sizeof dst->strategy);
    dst->strategy[TD_ID_MAX] = '\0';
    dst->version = src->version;
    dst->n_values = src->n_values;
    for (uint32_t i = 0; i < src->n_values; i++) {
        memcpy(dst->values[i].name, src->values[i].name, sizeof dst->values[i].name);
        memcpy(dst->values[i].value, src->values[i].value, sizeof dst->values[i].value);
        dst->values[i].name[TD_PARAM_NAME_MAX] = '\0';
        dst->values[i].value[TD_PARAM_VALUE_MAX] = '\0';
    }
}

/* ---- life cycle ---- */

td_err_t td_strategy_new(const td_params_changed_t *params, td_strategy_t **strategy, char *errbuf, size_t errlen)
{
    *strategy = NULL;
    const td_strategy__impl_t *impl = find_impl(params->strategy);
    if (!impl)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "unknown strategy '%s' (expected sma_cross or breakout)",
                          params->strategy);
    td_strategy__cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    td_err_t rc = parse_params(impl, params, &cfg, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    td_strategy_t *created = calloc(1, sizeof *created);
    if (!created)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "%s: out of memory", impl->name);
    created->impl = impl;
    created->cfg = cfg;
    copy_params(&created->params, params);
    impl->rebuild(created, NULL);
    *strategy = created;
    return TD_OK;
}

td_err_t td_strategy_reconfigure(td_strategy_t *strategy, const td_params_changed_t *params, char *errbuf,
                                 size_t errlen)
{
    if (strcmp(params->strategy, strategy->impl->name) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "parameters for strategy '%s' cannot reconfigure a '%s' strategy", params->strategy,
                          strategy->impl->name);
    td_strategy__cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    td_err_t rc = parse_params(strategy->impl, params, &cfg, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    td_strategy__cfg_t old = strategy->cfg;
    strategy->cfg = cfg;
    copy_params(&strategy->params, params);
    strategy->impl->rebuild(strategy, &old);
    return TD_OK;
}

void td_strategy_destroy(td_strategy_t *strategy)
{
    free(strategy);
}

const char *td_strategy_name(const td_strategy_t *strategy)
{
    return strategy->impl->name;
}

uint32_t td_strategy_params_version(const td_strategy_t *strategy)
{
    return strategy->params.version;
}

/* ---- history ---- */

const td_strategy__hbar_t *td_strategy__hist_at(const td_strategy_t *strategy, size_t i)
{
    TD_ASSERT(i < strategy->hist_len);
    return &strategy->hist[(strategy->hist_head + i) % TD_STRATEGY_HISTORY_MAX];
}

static void hist_push(td_strategy_t *strategy, const td_strategy__hbar_t *hb)
{
    if (strategy->hist_len == TD_STRATEGY_HISTORY_MAX) {
        strategy->hist[strategy->hist_head] = *hb;
        strategy->hist_head = (strategy->hist_head + 1) % TD_STRATEGY_HISTORY_MAX;
    } else {
        strategy->hist[(strategy->hist_head + strategy->hist_len) % TD_STRATEGY_HISTORY_MAX] = *hb;
        strategy->hist_len++;
    }
}

static bool hbar_valid(const td_strategy__hbar_t *hb)
{
    return hb->low >= -TD_STRATEGY__PRICE_MAX && hb->high <= TD_STRATEGY__PRICE_MAX && hb->low <= hb->high &&
           hb->close >= hb->low && hb->close <= hb->high;
}

/* ---- one bar ---- */

td_err_t td_strategy_on_bar(td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar,
                            td_outbuf_t *out)
{
    td_strategy__hbar_t hb = {bar->open_time, bar->high, bar->low, bar->close};
    if (!hbar_valid(&hb))
        return TD_ERR_INVALID;
    if (strategy->hist_len > 0 && bar->open_time <= td_strategy__hist_at(strategy, strategy->hist_len - 1)->open_time)
        return TD_ERR_ORDER;
    size_t mark = out->len;
    td_err_t rc = strategy->impl->on_bar(strategy, ctx, bar, out);
    if (rc != TD_OK) {
        out->len = mark;
        return rc;
    }
    hist_push(strategy, &hb);
    return TD_OK;
}

td_err_t td_strategy__act(const td_strategy_t *strategy, const td_strategy_ctx_t *ctx, const td_bar_t *bar,
                          const td_strategy__decision_t *decision, td_outbuf_t *out)
{
    TD_ASSERT(decision->target >= -1 && decision->target <= 1 && decision->volume > 0);
    td_volume_t exposure, delta;
    td_volume_t target_volume = decision->target * decision->volume;
    if (td_fx_add(ctx->position, ctx->pending, &exposure) != TD_OK ||
        td_fx_sub(target_volume, exposure, &delta) != TD_OK || delta == INT64_MIN)
        return TD_ERR_OVERFLOW;
    if (delta == 0 && !decision->signal_always)
        return TD_OK;

    /* prices first: nothing is appended if they overflow */
    td_price_t sl = 0, tp = 0;
    bool toward = (delta > 0 && decision->target > 0) || (delta < 0 && decision->target < 0);
    if (delta != 0 && toward) {
        td_price_t sl_dist = decision->target > 0 ? -decision->sl_dist : decision->sl_dist;
        td_price_t tp_dist = decision->target > 0 ? decision->tp_dist : -decision->tp_dist;
        if ((decision->sl_dist && td_fx_add(bar->close, sl_dist, &sl) != TD_OK) ||
            (decision->tp_dist && td_fx_add(bar->close, tp_dist, &tp) != TD_OK))
            return TD_ERR_OVERFLOW;
        if (sl < 0)
            sl = 0;
        if (tp < 0)
            tp = 0;
    }

    td_event_t *ev = td_outbuf_add(out, TD_EV_SIGNAL);
    if (!ev)
        return TD_ERR_NOMEM;
    td_signal_t *sig = &ev->u.signal;
    memcpy(sig->strategy, strategy->params.strategy, sizeof sig->strategy);
    sig->params_version = strategy->params.version;
    sig->direction = decision->target > 0 ? TD_DIR_LONG : decision->target < 0 ? TD_DIR_SHORT : TD_DIR_FLAT;
    sig->bar_time = bar->open_time;
    TD_ASSERT(strlen(decision->reason) <= TD_TEXT_MAX);
    strcpy(sig->reason, decision->reason);
    if (delta == 0)
        return TD_OK;

    ev = td_outbuf_add(out, TD_EV_ORDER_INTENT);
    if (!ev)
        return TD_ERR_NOMEM;
    td_order_intent_t *intent = &ev->u.intent;
    intent->side = delta > 0 ? TD_SIDE_BUY : TD_SIDE_SELL;
    intent->volume = delta > 0 ? delta : -delta;
    intent->type = 0;
    intent->stop_loss = sl;
    intent->take_profit = tp;
    memcpy(intent->strategy, strategy->params.strategy, sizeof intent->strategy);
    intent->params_version = strategy->params.version;
    strcpy(intent->reason, decision->reason);
    return TD_OK;
}

/* ---- encoding ---- */

td_err_t td_strategy_encode(const td_strategy_t *strategy, td_buf_t *out)
{
    td_err_t rc = TD_OK;
    size_t n = strategy->hist_len, np = strategy->params.n_values;
    Td__StrategyParam pv[TD_PARAMS_MAX], *pp[TD_PARAMS_MAX];
    Td__SmaCrossState sma;
    Td__BreakoutState brk;
    Td__StrategyState msg;
    int64_t *arr = NULL;

    td__strategy_state__init(&msg);
    msg.strategy = (char *)strategy->impl->name;
    msg.params_version = strategy->params.version;
    for (size_t i = 0; i < np; i++) {
        td__strategy_param__init(&pv[i]);
        pv[i].name = (char *)strategy->params.values[i].name;
        pv[i].value = (char *)strategy->params.values[i].value;
        pp[i] = &pv[i];
    }
    msg.n_params = np;
    msg.params = pp;
    if (n) {
        arr = malloc(4 * n * sizeof *arr);
        if (!arr)
            rc = TD_ERR_NOMEM;
    }
    if (rc == TD_OK && n) {
        for (size_t i = 0; i < n; i++) {
            const td_strategy__hbar_t *hb = td_strategy__hist_at(strategy, i);
            arr[i] = hb->open_time;
            arr[n + i] = hb->high;
            arr[2 * n + i] = hb->low;
            arr[3 * n + i] = hb->close;
        }
        msg.n_hist_open_time = msg.n_hist_high = msg.n_hist_low = msg.n_hist_close = n;
        msg.hist_open_time = arr;
        msg.hist_high = arr + n;
        msg.hist_low = arr + 2 * n;
        msg.hist_close = arr + 3 * n;
    }
    if (rc == TD_OK) {
        td__sma_cross_state__init(&sma);
        td__breakout_state__init(&brk);
        strategy->impl->to_msg(strategy, &msg, &sma, &brk);
        size_t len = td__strategy_state__get_packed_size(&msg);
        rc = td_buf_reserve(out, len);
        if (rc == TD_OK) {
            size_t w = td__strategy_state__pack(&msg, out->ptr + out->len);
            TD_ASSERT(w == len);
            out->len += len;
        }
    }
    free(arr);
    return rc;
}

/* Builds the strategy described by msg (not yet checked for canonical bytes). */
static td_err_t from_msg(const Td__StrategyState *msg, td_strategy_t **strategy)
{
    const td_strategy__impl_t *impl = find_impl(msg->strategy);
    if (!impl || msg->n_params > TD_PARAMS_MAX)
        return TD_ERR_CORRUPT;
    size_t n = msg->n_hist_open_time;
    if (n > TD_STRATEGY_HISTORY_MAX || msg->n_hist_high != n || msg->n_hist_low != n || msg->n_hist_close != n)
        return TD_ERR_CORRUPT;
    td_strategy_t *created = calloc(1, sizeof *created);
    if (!created)
        return TD_ERR_NOMEM;
    td_err_t rc = TD_OK;
    td_params_changed_t *params = &created->params;
    if (strlen(impl->name) > TD_ID_MAX)
        rc = TD_ERR_CORRUPT;
    else
        strcpy(params->strategy, impl->name);
    params->version = msg->params_version;
    params->n_values = (uint32_t)msg->n_params;
    for (size_t i = 0; rc == TD_OK && i < msg->n_params; i++) {
        const Td__StrategyParam *p = msg->params[i];
        if (td_event_set_str(params->values[i].name, sizeof params->values[i].name, p->name) != TD_OK ||
            td_event_set_str(params->values[i].value, sizeof params->values[i].value, p->value) != TD_OK)
            rc = TD_ERR_CORRUPT;
    }
    if (rc == TD_OK && parse_params(impl, params, &created->cfg, NULL, 0) != TD_OK)
        rc = TD_ERR_CORRUPT;
    created->impl = impl;
    for (size_t i = 0; rc == TD_OK && i < n; i++) {
        td_strategy__hbar_t hb = {msg->hist_open_time[i], msg->hist_high[i], msg->hist_low[i], msg->hist_close[i]};
        if (!hbar_valid(&hb) || (i > 0 && hb.open_time <= msg->hist_open_time[i - 1]))
            rc = TD_ERR_CORRUPT;
        else
            hist_push(created, &hb);
    }
    if (rc == TD_OK)
        rc = impl->from_msg(created, msg);
    if (rc == TD_OK) {
        impl->rebuild(created, NULL);
        *strategy = created;
    } else {
        free(created);
    }
    return rc;
}

td_err_t td_strategy_decode(const uint8_t *p, size_t n, td_strategy_t **strategy)
{
    *strategy = NULL;
    Td__StrategyState *msg = td__strategy_state__unpack(NULL, n, p);
    if (!msg)
        return TD_ERR_CORRUPT;
    td_strategy_t *created = NULL;
    td_err_t rc = from_msg(msg, &created);
    td__strategy_state__free_unpacked(msg, NULL);

    /* Canonical check: exactly the bytes td_strategy_encode() writes (this refuses unknown fields,
     * the other implementation's sub-message, and any other spelling of the same state). */
    if (rc == TD_OK) {
        td_buf_t again;
        td_buf_init(&again);
        rc = td_strategy_encode(created, &again);
        if (rc == TD_OK && (again.len != n || (n && memcmp(again.ptr, p, n) != 0)))
            rc = TD_ERR_CORRUPT;
        td_buf_fini(&again);
    }
    if (rc != TD_OK) {
        td_strategy_destroy(created);
        return rc;
    }
    *strategy = created;
    return TD_OK;
}
