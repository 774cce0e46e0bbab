/* grid.c - parameter grids (contract in grid.h).
 *
 * Ranges are not expanded: an item keeps LO, STEP and the count, and a value is computed from
 * its digit of the combination index, so a grid costs memory per item, not per value.
 *
 * Threads: td_grid_run starts `threads` workers that claim combination indexes under one mutex and
 * run them without it; the calling thread waits for the next index in order, hands it to the
 * callback outside the mutex, then frees its slot. A slot is reused only after its previous
 * occupant (index - window) was handed over, which the claim condition guarantees.
 */
#include "backtest/grid.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backtest/sweep.h"
#include "core/buf.h"
#include "core/fixed.h"
#include "processors/strategy.h"

typedef enum { ITEM_LIST, ITEM_INT_RANGE, ITEM_DEC_RANGE, ITEM_TIME_RANGE } item_kind_t;

typedef struct item {
    char name[TD_PARAM_NAME_MAX + 1];
    item_kind_t kind;
    int64_t lo, step;                     /* ranges: integers, 1e8-scaled decimals, or minutes of the day */
    uint64_t count;                       /* values */
    char (*list)[TD_PARAM_VALUE_MAX + 1]; /* ITEM_LIST */
    uint64_t stride;                      /* combinations per step of this item (product of the later counts) */
} item_t;

struct td_grid {
    size_t n_items;
    item_t items[TD_PARAMS_MAX];
    uint64_t count;
    size_t order[TD_PARAMS_MAX]; /* item indexes sorted by name, for ParamsChanged */
};

/* ---- parsing ---- */

static bool strict_int(const char *s, size_t len, int64_t *out)
{
    if (len == 0 || len > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static void format_decimal(int64_t v, char buf[TD_PARAM_VALUE_MAX + 1])
{
    int n = td_fx_format(v, TD_FX_DECIMALS, buf, TD_PARAM_VALUE_MAX + 1);
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

/* A time of day "HH:MM" (exactly 5 bytes, 00:00..23:59: the strategies' HH:MM parameters) as
 * minutes of the day. */
static bool parse_hhmm(const char *s, size_t len, int64_t *minutes)
{
    if (len != 5 || s[2] != ':')
        return false;
    for (size_t i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int64_t h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return false;
    *minutes = h * 60 + m;
    return true;
}

/* A time range "HH:MM:HH:MM:STEP" (text of len bytes, holding exactly four ':'): every STEP
 * minutes from the first time to the second, inclusive, within one day. */
static td_err_t parse_time_range(item_t *item, const char *text, size_t len, char *errbuf, size_t errlen)
{
    int64_t lo = 0, hi = 0, step = 0;
    if (len < 13 || text[5] != ':' || text[11] != ':' || !parse_hhmm(text, 5, &lo) || !parse_hhmm(text + 6, 5, &hi) ||
        !strict_int(text + 12, len - 12, &step))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: %s=%.*s: expected a time range HH:MM:HH:MM:STEP (times 00:00..23:59, STEP in whole "
                          "minutes: 08:00:12:00:30)",
                          item->name, (int)len, text);
    if (step <= 0 || step >= 24 * 60)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s=%.*s: the step must be 1..1439 minutes", item->name,
                          (int)len, text);
    if (lo > hi)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: %s=%.*s: empty range (the first time is after the second; a time range does not "
                          "wrap midnight: list the times as V1|V2|...)",
                          item->name, (int)len, text);
    item->kind = ITEM_TIME_RANGE;
    item->lo = lo;
    item->step = step;
    item->count = (uint64_t)((hi - lo) / step) + 1;
    return TD_OK;
}

/* A range "LO:HI:STEP" (text of len bytes, holding exactly two ':'). */
static td_err_t parse_range(item_t *item, const char *text, size_t len, char *errbuf, size_t errlen)
{
    const char *c1 = memchr(text, ':', len);
    const char *c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - text));
    const char *part[3] = {text, c1 + 1, c2 + 1};
    size_t plen[3] = {(size_t)(c1 - text), (size_t)(c2 - c1 - 1), len - (size_t)(c2 + 1 - text)};
    int64_t v[3];
    bool ints = true;
    for (int k = 0; k < 3 && ints; k++)
        ints = strict_int(part[k], plen[k], &v[k]);
    if (!ints) {
        for (int k = 0; k < 3; k++) {
            int rounded = 0;
            if (plen[k] == 0 || td_fx_parse(part[k], plen[k], &v[k], &rounded) != TD_OK || rounded)
                return td_err_set(
                    errbuf, errlen, TD_ERR_INVALID,
                    "grid: %s=%.*s: expected a range LO:HI:STEP of integers or decimals with at most 8 places",
                    item->name, (int)len, text);
        }
    }
    if (v[2] <= 0)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s=%.*s: the step must be > 0", item->name, (int)len,
                          text);
    if (v[0] > v[1])
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: %s=%.*s: empty range (LO > HI): the grid has no combinations", item->name, (int)len,
                          text);
    item->kind = ints ? ITEM_INT_RANGE : ITEM_DEC_RANGE;
    item->lo = v[0];
    item->step = v[2];
    int64_t span;
    if (__builtin_sub_overflow(v[1], v[0], &span))
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s=%.*s: range too wide", item->name, (int)len, text);
    item->count = (uint64_t)(span / v[2]) + 1;
    return TD_OK;
}

static td_err_t parse_list(item_t *item, const char *text, size_t len, char *errbuf, size_t errlen)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += text[i] == '|';
    item->list = calloc(n, sizeof *item->list);
    if (!item->list)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "grid: out of memory");
    item->kind = ITEM_LIST;
    item->count = n;
    const char *p = text, *end = text + len;
    for (size_t k = 0; k < n; k++) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        size_t vlen = (size_t)((bar ? bar : end) - p);
        if (vlen == 0 || vlen > TD_PARAM_VALUE_MAX)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "grid: %s=%.*s: value %zu is empty or longer than %d characters", item->name, (int)len,
                              text, k + 1, TD_PARAM_VALUE_MAX);
        int64_t minutes;
        if (memchr(p, ':', vlen) && !parse_hhmm(p, vlen, &minutes)) /* only a time of day holds a ':' */
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "grid: %s=%.*s: value %zu '%.*s': expected a time HH:MM in 00:00..23:59", item->name,
                              (int)len, text, k + 1, (int)vlen, p);
        memcpy(item->list[k], p, vlen);
        item->list[k][vlen] = '\0';
        p += vlen + 1;
    }
    return TD_OK;
}

static td_err_t parse_item(td_grid_t *grid, const char *text, size_t len, char *errbuf, size_t errlen)
{
    if (grid->n_items == TD_PARAMS_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: more than %d parameters", TD_PARAMS_MAX);
    const char *eq = memchr(text, '=', len);
    size_t name_len = eq ? (size_t)(eq - text) : 0;
    if (!eq && grid->n_items > 0) /* session_start=08:00,09:30: a list written with commas */
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: '%.*s' after %s=...: expected NAME=VALUES; several values of one parameter are "
                          "separated by '|' (%s=V1|V2|...)",
                          (int)len, text, grid->items[grid->n_items - 1].name, grid->items[grid->n_items - 1].name);
    if (!eq || name_len == 0 || name_len > TD_PARAM_NAME_MAX)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: '%.*s': expected NAME=VALUES with a name of 1..%d characters", (int)len, text,
                          TD_PARAM_NAME_MAX);
    item_t *item = &grid->items[grid->n_items];
    memset(item, 0, sizeof *item);
    memcpy(item->name, text, name_len);
    for (size_t i = 0; i < grid->n_items; i++)
        if (strcmp(grid->items[i].name, item->name) == 0)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: parameter '%s' given twice", item->name);
    grid->n_items++; /* owned from here: destroy frees its list */
    const char *value = eq + 1;
    size_t vlen = len - name_len - 1, colons = 0;
    for (size_t i = 0; i < vlen; i++)
        colons += value[i] == ':';
    if (vlen == 0)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s: no value: the grid has no combinations",
                          item->name);
    bool list = memchr(value, '|', vlen) != NULL;
    if (!list && colons == 2)
        return parse_range(item, value, vlen, errbuf, errlen);
    if (!list && colons == 4)
        return parse_time_range(item, value, vlen, errbuf, errlen);
    /* a list, or one value: a time such as 08:00 (one colon) is checked there */
    if (!list && colons > 1)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                          "grid: %s=%.*s: expected LO:HI:STEP, HH:MM:HH:MM:STEP (minutes), V1|V2|... or one value",
                          item->name, (int)vlen, value);
    return parse_list(item, value, vlen, errbuf, errlen);
}

td_err_t td_grid_parse(const char *spec, td_grid_t **grid, char *errbuf, size_t errlen)
{
    *grid = NULL;
    td_grid_t *created = calloc(1, sizeof *created);
    if (!created)
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "grid: out of memory");
    td_err_t rc = TD_OK;
    size_t len = strlen(spec);
    if (len == 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: empty spec: the grid has no combinations");
    const char *p = spec, *end = spec + len;
    while (rc == TD_OK && p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t ilen = (size_t)((comma ? comma : end) - p);
        rc = parse_item(created, p, ilen, errbuf, errlen);
        p += ilen + 1;
        if (rc == TD_OK && comma && p == end)
            rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: the spec ends with ','");
    }
    /* strides, last item fastest; the total is bounded */
    uint64_t total = 1;
    for (size_t k = created->n_items; rc == TD_OK && k-- > 0;) {
        created->items[k].stride = total;
        if (__builtin_mul_overflow(total, created->items[k].count, &total) || total > TD_GRID_MAX_COMBINATIONS)
            rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: more than %llu combinations",
                            (unsigned long long)TD_GRID_MAX_COMBINATIONS);
    }
    if (rc == TD_OK) {
        created->count = total;
        /* value texts must fit: the widest is the last value of a range (and LO for negatives) */
        for (size_t k = 0; rc == TD_OK && k < created->n_items; k++) {
            item_t *item = &created->items[k];
            if (item->kind == ITEM_LIST)
                continue;
            int64_t last;
            char buf[64];
            if (__builtin_mul_overflow(item->step, (int64_t)(item->count - 1), &last) ||
                __builtin_add_overflow(last, item->lo, &last))
                rc = TD_ERR_INVALID;
            else if (item->kind == ITEM_INT_RANGE &&
                     snprintf(buf, sizeof buf, "%lld", (long long)last) > TD_PARAM_VALUE_MAX)
                rc = TD_ERR_INVALID;
            if (rc != TD_OK)
                rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s: range values too large", item->name);
        }
        for (size_t k = 0; k < created->n_items; k++)
            created->order[k] = k;
        for (size_t a = 1; a < created->n_items; a++) /* insertion sort by name: n <= 16 */
            for (size_t b = a; b > 0 && strcmp(created->items[created->order[b - 1]].name,
                                               created->items[created->order[b]].name) > 0;
                 b--) {
                size_t t = created->order[b];
                created->order[b] = created->order[b - 1];
                created->order[b - 1] = t;
            }
    }
    if (rc != TD_OK) {
        td_grid_destroy(created);
        return rc;
    }
    *grid = created;
    return TD_OK;
}

void td_grid_destroy(td_grid_t *grid)
{
    if (!grid)
        return;
    for (size_t k = 0; k < grid->n_items; k++)
        free(grid->items[k].list);
    free(grid);
}

uint64_t td_grid_count(const td_grid_t *grid)
{
    return grid->count;
}

size_t td_grid_n_params(const td_grid_t *grid)
{
    return grid->n_items;
}

const char *td_grid_param_name(const td_grid_t *grid, size_t i)
{
    TD_ASSERT(i < grid->n_items);
    return grid->items[i].name;
}

void td_grid_value(const td_grid_t *grid, uint64_t index, size_t i, char buf[TD_PARAM_VALUE_MAX + 1])
{
    TD_ASSERT(index < grid->count && i < grid->n_items);
    const item_t *item = &grid->items[i];
    uint64_t k = (index / item->stride) % item->count;
    int64_t v = item->lo + item->step * (int64_t)k; /* checked at parse time */
    switch (item->kind) {
    case ITEM_LIST: memcpy(buf, item->list[k], TD_PARAM_VALUE_MAX + 1); break;
    case ITEM_INT_RANGE: snprintf(buf, TD_PARAM_VALUE_MAX + 1, "%lld", (long long)v); break;
    case ITEM_DEC_RANGE: format_decimal(v, buf); break;
    case ITEM_TIME_RANGE: snprintf(buf, TD_PARAM_VALUE_MAX + 1, "%02d:%02d", (int)(v / 60), (int)(v % 60)); break;
    }
}

void td_grid_params(const td_grid_t *grid, const char *strategy, uint64_t index, td_params_changed_t *params)
{
    memset(params, 0, sizeof *params);
    snprintf(params->strategy, sizeof params->strategy, "%s", strategy);
    params->version = 1;
    params->n_values = (uint32_t)grid->n_items;
    for (size_t k = 0; k < grid->n_items; k++) {
        size_t i = grid->order[k];
        memcpy(params->values[k].name, grid->items[i].name, sizeof params->values[k].name);
        td_grid_value(grid, index, i, params->values[k].value);
    }
}

/* ---- evaluation ---- */

/* Copies src into dst[size], cut to fit (messages only). */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

typedef struct slot {
    bool ready;
    td_backtest_result_t result;
    char message[160];
    td_buf_t trades; /* td_trade_closed_t[] */
    td_buf_t equity; /* td_grid_equity_t[] */
    td_err_t sink_rc;
} slot_t;

typedef struct shared {
    const td_grid_t *grid;
    const char *strategy;
    const td_backtest_config_t *config;
    const td_bar_t *bars;
    size_t n_bars;
    const td_grid_opts_t *opts;
    td_sweep_t *sweep; /* the shared indicators; NULL: every set through td_backtest_run */
    size_t window;
    slot_t *slots;
    pthread_mutex_t mu;
    pthread_cond_t ready; /* a slot became ready, or stop */
    pthread_cond_t space; /* the window moved, or stop */
    uint64_t next_claim, next_emit;
    bool stop;
    td_err_t rc; /* the first failure */
    char err[512];
} shared_t;

static td_err_t collect_trade(void *opaque, const td_trade_closed_t *trade)
{
    slot_t *slot = opaque;
    return td_buf_append(&slot->trades, trade, sizeof *trade);
}

static td_err_t collect_equity(void *opaque, uint32_t day, td_money_t equity, double daily_return)
{
    slot_t *slot = opaque;
    td_grid_equity_t point = {day, equity, daily_return};
    return td_buf_append(&slot->equity, &point, sizeof point);
}

static void fail_locked(shared_t *sh, td_err_t rc, const char *msg)
{
    if (sh->rc == TD_OK) {
        sh->rc = rc;
        copy_text(sh->err, sizeof sh->err, msg);
    }
    sh->stop = true;
    pthread_cond_broadcast(&sh->ready);
    pthread_cond_broadcast(&sh->space);
}

static void *worker(void *arg)
{
    shared_t *sh = arg;
    td_params_changed_t params;
    char err[512];
    pthread_mutex_lock(&sh->mu);
    for (;;) {
        while (!sh->stop && sh->next_claim < sh->grid->count && sh->next_claim >= sh->next_emit + sh->window)
            pthread_cond_wait(&sh->space, &sh->mu);
        if (sh->stop || sh->next_claim >= sh->grid->count)
            break;
        uint64_t index = sh->next_claim++;
        slot_t *slot = &sh->slots[index % sh->window];
        pthread_mutex_unlock(&sh->mu);

        td_buf_reset(&slot->trades);
        td_buf_reset(&slot->equity);
        slot->message[0] = '\0';
        td_backtest_sink_t sink = {
            .trade = sh->opts->collect_trades ? collect_trade : NULL,
            .equity = sh->opts->collect_equity ? collect_equity : NULL,
            .opaque = slot,
        };
        td_grid_params(sh->grid, sh->strategy, index, &params);
        err[0] = '\0';
        td_err_t rc = sh->sweep ? td_sweep_run(sh->sweep, &params, &sink, &slot->result, err, sizeof err)
                                : td_backtest_run(sh->config, &params, sh->bars, sh->n_bars, &sink, &slot->result, err,
                                                  sizeof err);
        if (slot->result.refused) {
            copy_text(slot->message, sizeof slot->message, err);
            rc = TD_OK;
        }

        pthread_mutex_lock(&sh->mu);
        if (rc != TD_OK) {
            char msg[600];
            snprintf(msg, sizeof msg, "combination %llu: %s", (unsigned long long)index, err);
            fail_locked(sh, rc, msg);
            break;
        }
        slot->ready = true;
        pthread_cond_broadcast(&sh->ready);
    }
    pthread_mutex_unlock(&sh->mu);
    return NULL;
}

/* The first combination the strategy accepts, or TD_ERR_INVALID with the first refusal. */
static td_err_t find_valid(const td_grid_t *grid, const char *strategy, td_grid_stats_t *stats, char *errbuf,
                           size_t errlen)
{
    td_params_changed_t params;
    char first[160] = "", err[160];
    for (uint64_t index = 0; index < grid->count; index++) {
        td_grid_params(grid, strategy, index, &params);
        td_strategy_t *probe = NULL;
        err[0] = '\0';
        td_err_t rc = td_strategy_new(&params, &probe, err, sizeof err);
        td_strategy_destroy(probe);
        if (rc == TD_OK)
            return TD_OK;
        if (rc != TD_ERR_INVALID)
            return td_err_set(errbuf, errlen, rc, "grid: %s", err);
        if (index == 0)
            copy_text(first, sizeof first, err);
    }
    copy_text(stats->first_refusal, sizeof stats->first_refusal, first);
    stats->refused = grid->count;
    return td_err_set(errbuf, errlen, TD_ERR_INVALID, "grid: %s refuses all %llu combinations of the grid (first: %s)",
                      strategy, (unsigned long long)grid->count, first);
}

td_err_t td_grid_run(const td_grid_t *grid, const char *strategy, const td_backtest_config_t *config,
                     const td_bar_t *bars, size_t n, const td_grid_opts_t *opts, td_grid_row_fn on_row, void *opaque,
                     td_grid_stats_t *stats, char *errbuf, size_t errlen)
{
    td_grid_stats_t local;
    if (!stats)
        stats = &local;
    memset(stats, 0, sizeof *stats);
    stats->combinations = grid->count;
    td_err_t rc = find_valid(grid, strategy, stats, errbuf, errlen);
    if (rc != TD_OK)
        return rc;

    unsigned threads = opts->threads;
    if (threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (unsigned)cores : 1;
    }
    if (threads > 256)
        threads = 256;
    if ((uint64_t)threads > grid->count)
        threads = (unsigned)grid->count;
    stats->threads = threads;

    shared_t sh;
    memset(&sh, 0, sizeof sh);
    sh.grid = grid;
    sh.strategy = strategy;
    sh.config = config;
    sh.bars = bars;
    sh.n_bars = n;
    sh.opts = opts;
    sh.window = opts->window ? opts->window : 4 * (size_t)threads;
    if (!opts->plain && !config->reference) {
        rc = td_sweep_new(config, strategy, bars, n, &sh.sweep, errbuf, errlen);
        if (rc != TD_OK)
            return rc;
    }
    sh.slots = calloc(sh.window, sizeof *sh.slots);
    pthread_t *tids = calloc(threads, sizeof *tids);
    if (!sh.slots || !tids) {
        free(sh.slots);
        free(tids);
        td_sweep_destroy(sh.sweep);
        return td_err_set(errbuf, errlen, TD_ERR_NOMEM, "grid: out of memory");
    }
    for (size_t k = 0; k < sh.window; k++) {
        td_buf_init(&sh.slots[k].trades);
        td_buf_init(&sh.slots[k].equity);
    }
    pthread_mutex_init(&sh.mu, NULL);
    pthread_cond_init(&sh.ready, NULL);
    pthread_cond_init(&sh.space, NULL);

    unsigned started = 0;
    for (; started < threads; started++)
        if (pthread_create(&tids[started], NULL, worker, &sh) != 0)
            break;
    pthread_mutex_lock(&sh.mu);
    if (started == 0)
        fail_locked(&sh, TD_ERR_IO, "grid: cannot start a worker thread");

    /* hand the rows over in index order */
    while (sh.next_emit < grid->count) {
        slot_t *slot = &sh.slots[sh.next_emit % sh.window];
        while (!sh.stop && !slot->ready)
            pthread_cond_wait(&sh.ready, &sh.mu);
        if (!slot->ready) /* stopped: rows before a failure are still handed over */
            break;
        pthread_mutex_unlock(&sh.mu);

        td_grid_row_t row = {
            .index = sh.next_emit,
            .refused = slot->result.refused,
            .message = slot->message,
            .result = &slot->result,
            .trades = (const td_trade_closed_t *)slot->trades.ptr,
            .n_trades = slot->trades.len / sizeof(td_trade_closed_t),
            .equity = (const td_grid_equity_t *)slot->equity.ptr,
            .n_equity = slot->equity.len / sizeof(td_grid_equity_t),
        };
        if (row.refused) {
            if (stats->refused == 0)
                copy_text(stats->first_refusal, sizeof stats->first_refusal, slot->message);
            stats->refused++;
        } else {
            stats->evaluated++;
            stats->bar_steps += slot->result.bars;
        }
        td_err_t cb = on_row ? on_row(opaque, &row) : TD_OK;

        pthread_mutex_lock(&sh.mu);
        if (cb != TD_OK) {
            fail_locked(&sh, cb, "");
            break;
        }
        slot->ready = false;
        sh.next_emit++;
        pthread_cond_broadcast(&sh.space);
    }
    if (sh.next_emit < grid->count)
        sh.stop = true;
    pthread_cond_broadcast(&sh.space);
    pthread_mutex_unlock(&sh.mu);

    for (unsigned k = 0; k < started; k++)
        pthread_join(tids[k], NULL);
    rc = sh.rc;
    if (rc != TD_OK && sh.err[0])
        td_err_set(errbuf, errlen, rc, "%s", sh.err);

    pthread_cond_destroy(&sh.space);
    pthread_cond_destroy(&sh.ready);
    pthread_mutex_destroy(&sh.mu);
    for (size_t k = 0; k < sh.window; k++) {
        td_buf_fini(&sh.slots[k].trades);
        td_buf_fini(&sh.slots[k].equity);
    }
    free(sh.slots);
    free(tids);
    td_sweep_destroy(sh.sweep);
    return rc;
}
