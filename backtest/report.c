/* report.c - the streaming reader of backtest reports (contract in report.h).
 *
 * The walk keeps a stack of open containers; each contributes its current key (mapping) or index
 * (sequence) to the path of a scalar, e.g. runs/1/validation/pbo/value. Paths under runs/N/ are
 * taken relative to run N. Each run's members go into a candidate that is kept when its symbol is
 * the one asked for.
 */
#include "backtest/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 16

typedef struct frame {
    bool map;
    bool want_key; /* map: the next scalar is a key */
    char key[64];  /* map: the current key */
    size_t index;  /* sequence: the current item */
} frame_t;

typedef struct walk {
    frame_t f[MAX_DEPTH];
    int depth;
    const char *symbol;
    td_bt_report_t cur;
    long cur_run;
    bool found;
    td_bt_report_t *out;
} walk_t;

static void report_init(td_bt_report_t *r)
{
    memset(r, 0, sizeof *r);
    r->best_index = r->best_sharpe = r->best_trades = r->best_net_pnl = NAN;
    r->trials = r->validation_best_index = r->dsr = r->expected_max_sharpe = NAN;
    r->pbo = r->pbo_combinations = NAN;
    r->wf_windows = r->wf_days = r->wf_trades = r->wf_sharpe = r->wf_net_pnl = r->wf_max_drawdown = NAN;
}

static double num(const char *s)
{
    if (strcmp(s, "null") == 0)
        return NAN;
    char *end = NULL;
    double v = strtod(s, &end);
    return *s && !*end ? v : NAN;
}

static void copy(char *dst, size_t size, const char *s)
{
    snprintf(dst, size, "%s", strcmp(s, "null") == 0 ? "" : s);
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const td_param_t *)a)->name, ((const td_param_t *)b)->name);
}

static void finish_run(walk_t *w)
{
    if (!w->found && strcmp(w->cur.symbol, w->symbol) == 0) {
        w->found = true;
        *w->out = w->cur;
        qsort(w->out->params.values, w->out->params.n_values, sizeof w->out->params.values[0], cmp_param);
        snprintf(w->out->params.strategy, sizeof w->out->params.strategy, "%s", w->out->strategy);
    }
    report_init(&w->cur);
}

/* One member of a run, by its path relative to the run. */
static void member(td_bt_report_t *r, const char *path, const char *v)
{
    static const struct {
        const char *path;
        size_t off;
    } nums[] = {
        {"best_by_sharpe/0/index", offsetof(td_bt_report_t, best_index)},
        {"best_by_sharpe/0/sharpe", offsetof(td_bt_report_t, best_sharpe)},
        {"best_by_sharpe/0/trades", offsetof(td_bt_report_t, best_trades)},
        {"best_by_sharpe/0/net_pnl", offsetof(td_bt_report_t, best_net_pnl)},
        {"validation/trials", offsetof(td_bt_report_t, trials)},
        {"validation/best_index", offsetof(td_bt_report_t, validation_best_index)},
        {"validation/dsr", offsetof(td_bt_report_t, dsr)},
        {"validation/expected_max_sharpe", offsetof(td_bt_report_t, expected_max_sharpe)},
        {"validation/pbo/value", offsetof(td_bt_report_t, pbo)},
        {"validation/pbo/combinations", offsetof(td_bt_report_t, pbo_combinations)},
        {"walk_forward/oos/windows", offsetof(td_bt_report_t, wf_windows)},
        {"walk_forward/oos/days", offsetof(td_bt_report_t, wf_days)},
        {"walk_forward/oos/trades", offsetof(td_bt_report_t, wf_trades)},
        {"walk_forward/oos/sharpe", offsetof(td_bt_report_t, wf_sharpe)},
        {"walk_forward/oos/net_pnl", offsetof(td_bt_report_t, wf_net_pnl)},
        {"walk_forward/oos/max_drawdown", offsetof(td_bt_report_t, wf_max_drawdown)},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        if (strcmp(path, nums[i].path) == 0) {
            *(double *)((char *)r + nums[i].off) = num(v);
            if (strncmp(path, "best_by_sharpe/", 15) == 0)
                r->have_best = true;
            return;
        }
    if (strcmp(path, "symbol") == 0)
        copy(r->symbol, sizeof r->symbol, v);
    else if (strcmp(path, "strategy") == 0)
        copy(r->strategy, sizeof r->strategy, v);
    else if (strcmp(path, "grid") == 0)
        copy(r->grid, sizeof r->grid, v);
    else if (strcmp(path, "data/file") == 0)
        copy(r->data, sizeof r->data, v);
    else if (strcmp(path, "validation/pbo_skipped") == 0)
        copy(r->pbo_skipped, sizeof r->pbo_skipped, v);
    else if (strcmp(path, "walk_forward/spec") == 0) {
        copy(r->wf_spec, sizeof r->wf_spec, v);
        r->have_wf = true;
    } else if (strcmp(path, "walk_forward/metric") == 0)
        copy(r->wf_metric, sizeof r->wf_metric, v);
    else if (strncmp(path, "best_by_sharpe/0/params/", 24) == 0 && r->params.n_values < TD_PARAMS_MAX) {
        td_param_t *p = &r->params.values[r->params.n_values];
        if (td_event_set_str(p->name, sizeof p->name, path + 24) == TD_OK &&
            td_event_set_str(p->value, sizeof p->value, v) == TD_OK)
            r->params.n_values++;
    }
}

static void on_scalar(walk_t *w, const char *v)
{
    frame_t *top = w->depth ? &w->f[w->depth - 1] : NULL;
    if (top && top->map && top->want_key) {
        snprintf(top->key, sizeof top->key, "%s", v);
        top->want_key = false;
        return;
    }
    char path[256] = "";
    size_t len = 0;
    long run = 0;
    int from = 0;
    if (w->depth >= 2 && w->f[0].map && strcmp(w->f[0].key, "runs") == 0 && !w->f[1].map) {
        run = (long)w->f[1].index;
        from = 2;
    }
    for (int i = from; i < w->depth && len < sizeof path; i++) {
        int n = w->f[i].map ? snprintf(path + len, sizeof path - len, "%s%s", len ? "/" : "", w->f[i].key)
                            : snprintf(path + len, sizeof path - len, "%s%zu", len ? "/" : "", w->f[i].index);
        len += n > 0 ? (size_t)n : 0;
    }
    if (run != w->cur_run) {
        finish_run(w);
        w->cur_run = run;
    }
    if (len < sizeof path)
        member(&w->cur, path, v);
    if (top && top->map)
        top->want_key = true;
    else if (top)
        top->index++;
}

static void container_end(walk_t *w)
{
    w->depth--;
    frame_t *top = w->depth ? &w->f[w->depth - 1] : NULL;
    if (top && top->map)
        top->want_key = true;
    else if (top)
        top->index++;
}

td_err_t td_bt_report_find(const char *path, const char *symbol, td_bt_report_t *report, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot open the report: %s", path, strerror(errno));
    walk_t *w = calloc(1, sizeof *w);
    if (!w) {
        fclose(f);
        return TD_ERR_NOMEM;
    }
    w->symbol = symbol;
    w->out = report;
    report_init(&w->cur);
    report_init(report);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    td_err_t rc = TD_OK;
    bool done = false, any = false;
    while (rc == TD_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: not a JSON report: %s", path,
                            parser.problem_mark.line + 1, parser.problem ? parser.problem : "syntax error");
            break;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            any = true;
            if (w->depth == MAX_DEPTH) {
                rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: nested deeper than a report", path,
                                ev.start_mark.line + 1);
                break;
            }
            w->f[w->depth++] = (frame_t){.map = ev.type == YAML_MAPPING_START_EVENT, .want_key = true};
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT: container_end(w); break;
        case YAML_SCALAR_EVENT: on_scalar(w, (const char *)ev.data.scalar.value); break;
        case YAML_ALIAS_EVENT:
            rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s:%zu: not a JSON report (an alias)", path,
                            ev.start_mark.line + 1);
            break;
        case YAML_STREAM_END_EVENT: done = true; break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    if (rc == TD_OK)
        finish_run(w);
    if (rc == TD_OK && !any)
        rc = td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: empty, not a backtest report", path);
    if (rc == TD_OK && !w->found)
        rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "%s: the report has no run of symbol %s", path, symbol);
    yaml_parser_delete(&parser);
    fclose(f);
    free(w);
    return rc;
}
