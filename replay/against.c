/* against.c - the recorded day against the fill model over the same ticks (see against.h). */
#include "replay/against.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host/host.h"
#include "replay/replay.h"

typedef struct fill_rec {
    char intent_id[TD_ID_MAX + 1];
    td_side_t side;
    td_price_t price;
} fill_rec_t;

/* Growable arrays of the day's trades and fills, one set for live and one for the model. */
typedef struct side_list {
    td_trade_closed_t *trades;
    size_t n_trades, cap_trades;
    fill_rec_t *fills;
    size_t n_fills, cap_fills;
} side_list_t;

static td_err_t grow(void **ptr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return TD_OK;
    size_t cap2 = *cap ? *cap * 2 : 16;
    void *p = realloc(*ptr, cap2 * size);
    if (!p)
        return TD_ERR_NOMEM;
    *ptr = p;
    *cap = cap2;
    return TD_OK;
}

static td_err_t add_trade(side_list_t *l, const td_trade_closed_t *t)
{
    td_err_t rc = grow((void **)&l->trades, &l->cap_trades, l->n_trades + 1, sizeof *l->trades);
    if (rc == TD_OK)
        l->trades[l->n_trades++] = *t;
    return rc;
}

/* Keeps the market fills (an intent id shared by live and model; stop/target exits have none that
 * both sides share, so they are compared as part of the trades only). */
static td_err_t add_fill(side_list_t *l, const td_exec_report_t *x)
{
    if ((x->status != TD_EXEC_FILLED && x->status != TD_EXEC_PARTIAL) || !x->intent_id[0] ||
        strncmp(x->intent_id, "sl:", 3) == 0 || strncmp(x->intent_id, "tp:", 3) == 0)
        return TD_OK;
    td_err_t rc = grow((void **)&l->fills, &l->cap_fills, l->n_fills + 1, sizeof *l->fills);
    if (rc == TD_OK) {
        fill_rec_t *f = &l->fills[l->n_fills++];
        memcpy(f->intent_id, x->intent_id, sizeof f->intent_id);
        f->side = x->side;
        f->price = x->price;
    }
    return rc;
}

static void side_list_fini(side_list_t *l)
{
    free(l->trades);
    free(l->fills);
}

/* Positive = worse for the account: paid more to buy, received less for a sell. */
static double worse_points(td_side_t side, td_price_t live, td_price_t model, td_price_t point)
{
    double d = side == TD_SIDE_BUY ? (double)live - (double)model : (double)model - (double)live;
    return point > 0 ? d / (double)point : d / 1e8;
}

/* The model's pipeline: paper mode; an external broker's snapshot hands its position to the fill
 * model's book (see against.h). */
static void become_model(td_pipeline_t *p, const td_pipeline_config_t *config, const td_against_opts_t *opts)
{
    bool was_paper = config->paper;
    p->config.paper = true;
    td_fill_config_t fc = p->fill.config;
    if (!was_paper) {
        fc.slippage_points = config->fill.slippage_points;
        fc.commission_per_lot = config->fill.commission_per_lot;
    }
    if (opts->slippage_set)
        fc.slippage_points = opts->slippage_points;
    if (!was_paper) {
        td_fill_init(&p->fill, &fc);
        p->fill.book = p->positions;
        /* the model's deals are numbered by the fill model: forget the broker's deal ids, so that
         * the keeper's duplicate guard does not take the model's for old ones */
        p->fill.book.max_deal_id = 0;
        p->fill.book.n_recent = 0;
        p->positions.max_deal_id = 0;
        p->positions.n_recent = 0;
        if (td_positions_volume(&p->positions) != 0)
            p->fill.position_id = fc.id_base;
        p->n_outstanding = 0;
    } else {
        p->fill.config.slippage_points = fc.slippage_points;
    }
}

/* Live: the day's outputs from first_output up to those of the last compared input. */
static td_err_t read_live_outputs(td_tape_t *tape, const char *symbol, uint64_t first_output, uint64_t last_input,
                                  side_list_t *live, td_against_result_t *r, td_event_t *ev, char *errbuf,
                                  size_t errlen)
{
    td_tape_iter_t *it = NULL;
    td_err_t rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, symbol, first_output, &it, errbuf, errlen);
    while (rc == TD_OK) {
        rc = td_tape_iter_next(it, ev, errbuf, errlen);
        if (rc == TD_ERR_END || (rc == TD_OK && (ev->input_offset > last_input || ev->kind == TD_EV_DAY_DIGEST))) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        if (ev->kind == TD_EV_TRADE_CLOSED)
            rc = add_trade(live, &ev->u.trade);
        else if (ev->kind == TD_EV_EXEC_REPORT && r->live_paper)
            rc = add_fill(live, &ev->u.exec);
        else if (ev->kind == TD_EV_POSITION_CHANGED)
            r->end_volume_live = ev->u.position.volume;
    }
    td_tape_iter_destroy(it);
    return rc;
}

/* Model: the day's inputs through the model pipeline; live fills from the skipped reports. */
static td_err_t run_model(td_tape_t *tape, const char *symbol, uint64_t first, uint64_t last, td_pipeline_t *p,
                          side_list_t *live, side_list_t *model, td_against_result_t *r, td_event_t *ev, char *errbuf,
                          size_t errlen)
{
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_tape_iter_t *it = NULL;
    td_err_t rc = td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, first, &it, errbuf, errlen);
    while (rc == TD_OK) {
        rc = td_tape_iter_next(it, ev, errbuf, errlen);
        if (rc == TD_ERR_END || (rc == TD_OK && ev->offset > last)) {
            rc = TD_OK;
            break;
        }
        if (rc != TD_OK)
            break;
        r->inputs++;
        td_outbuf_clear(&out);
        bool started = false;
        rc = td_pipeline_roll(p, ev, &out, &started);
        if (rc == TD_OK && ev->kind == TD_EV_EXEC_REPORT) {
            /* the live broker's answer: the model makes its own */
            r->exec_inputs_skipped++;
            if (!r->live_paper)
                rc = add_fill(live, &ev->u.exec);
            p->next_offset = ev->offset + 1;
            continue;
        }
        if (rc == TD_OK)
            rc = td_pipeline_step(p, ev, &out);
        for (size_t i = 0; rc == TD_OK && i < out.len; i++) {
            if (out.ev[i].kind == TD_EV_TRADE_CLOSED)
                rc = add_trade(model, &out.ev[i].u.trade);
            else if (out.ev[i].kind == TD_EV_EXEC_REPORT)
                rc = add_fill(model, &out.ev[i].u.exec);
        }
    }
    td_tape_iter_destroy(it);
    td_outbuf_fini(&out);
    return rc;
}

static td_err_t add_row(td_against_result_t *r, size_t *cap, const td_against_row_t *row)
{
    td_err_t rc = grow((void **)&r->rows, cap, r->n_rows + 1, sizeof *r->rows);
    if (rc == TD_OK)
        r->rows[r->n_rows++] = *row;
    return rc;
}

static td_err_t match_trades(const side_list_t *live, const side_list_t *model, const td_against_opts_t *opts,
                             td_against_result_t *r)
{
    bool *taken = calloc(live->n_trades + 1, sizeof *taken);
    if (!taken)
        return TD_ERR_NOMEM;
    size_t cap = 0;
    td_err_t rc = TD_OK;
    for (size_t i = 0; rc == TD_OK && i < model->n_trades; i++) {
        const td_trade_closed_t *m = &model->trades[i];
        td_against_row_t row = {.status = TD_AGAINST_MISSING, .has_model = true, .model = *m};
        for (size_t j = 0; j < live->n_trades; j++) {
            const td_trade_closed_t *l = &live->trades[j];
            int64_t d = l->entry_time - m->entry_time;
            if (taken[j] || l->side != m->side || d > opts->tolerance_ms || d < -opts->tolerance_ms)
                continue;
            taken[j] = true;
            row.status = TD_AGAINST_MATCHED;
            row.has_live = true;
            row.live = *l;
            row.entry_delay_ms = d;
            row.exit_delay_ms = l->exit_time - m->exit_time;
            /* a long (BUY position) enters with a buy and exits with a sell; a short the reverse */
            td_side_t exit_side = m->side == TD_SIDE_BUY ? TD_SIDE_SELL : TD_SIDE_BUY;
            row.entry_diff_points = worse_points(m->side, l->entry_price, m->entry_price, r->point);
            row.exit_diff_points = worse_points(exit_side, l->exit_price, m->exit_price, r->point);
            break;
        }
        if (row.status == TD_AGAINST_MATCHED)
            r->matched++;
        else
            r->missing++;
        rc = add_row(r, &cap, &row);
    }
    for (size_t j = 0; rc == TD_OK && j < live->n_trades; j++) {
        if (taken[j])
            continue;
        td_against_row_t row = {.status = TD_AGAINST_EXTRA, .has_live = true, .live = live->trades[j]};
        r->extra++;
        rc = add_row(r, &cap, &row);
    }
    free(taken);
    return rc;
}

static void match_fills(const side_list_t *live, const side_list_t *model, const td_against_opts_t *opts,
                        td_against_result_t *r)
{
    double sum = 0;
    for (size_t i = 0; i < model->n_fills; i++) {
        for (size_t j = 0; j < live->n_fills; j++) {
            if (strcmp(model->fills[i].intent_id, live->fills[j].intent_id) != 0)
                continue;
            double s = worse_points(model->fills[i].side, live->fills[j].price, model->fills[i].price, r->point);
            if (r->fills_matched == 0 || s < r->slip_min)
                r->slip_min = s;
            if (r->fills_matched == 0 || s > r->slip_max)
                r->slip_max = s;
            sum += s;
            r->fills_matched++;
            if (opts->max_slip_points >= 0 && fabs(s) > opts->max_slip_points)
                r->slip_exceeded = true;
            break;
        }
    }
    r->slip_mean = r->fills_matched ? sum / (double)r->fills_matched : 0;
}

td_err_t td_against_day(td_tape_t *tape, const td_pipeline_config_t *config, const char *symbol, uint32_t day,
                        const td_against_opts_t *opts, td_against_result_t *result, char *errbuf, size_t errlen)
{
    memset(result, 0, sizeof *result);
    snprintf(result->symbol, sizeof result->symbol, "%s", symbol);
    result->day = day;
    result->live_paper = config->paper;

    td_day_range_t in_range;
    td_err_t rc = td_tape_day_get(tape, TD_STREAM_INPUT, symbol, day, &in_range, NULL, 0);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: no input events on trading day %08" PRIu32, symbol, day);
    uint64_t host_next = 0;
    rc = td_host_next_offset(tape, symbol, config, &host_next);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s: the processor state does not load (%s)", symbol, td_err_name(rc));
    if (host_next <= in_range.first_offset)
        return td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND,
                          "%s: trading day %08" PRIu32 " has not been processed yet (run tapedeck process)", symbol,
                          day);
    uint64_t last = host_next <= in_range.last_offset ? host_next - 1 : in_range.last_offset;

    td_pipeline_t pipeline;
    uint64_t first_output = 0;
    rc = td_replay_load_snapshot(tape, config, symbol, day, &pipeline, &first_output, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    side_list_t live = {0}, model = {0};
    char detail[1024] = ""; /* the tape's detail of a failed read */
    td_event_t *ev = malloc(sizeof *ev);
    if (!ev)
        rc = TD_ERR_NOMEM;
    result->start_volume = td_positions_volume(&pipeline.positions);
    result->end_volume_live = result->start_volume;
    if (rc == TD_OK)
        rc = read_live_outputs(tape, symbol, first_output, last, &live, result, ev, detail, sizeof detail);
    if (rc == TD_OK) {
        become_model(&pipeline, config, opts);
        rc = run_model(tape, symbol, in_range.first_offset, last, &pipeline, &live, &model, result, ev, detail,
                       sizeof detail);
    }
    if (rc == TD_OK) {
        result->point = pipeline.has_spec ? pipeline.spec.point : 0;
        result->end_volume_model = td_positions_volume(&pipeline.positions);
        result->trades_live = live.n_trades;
        result->trades_model = model.n_trades;
        result->fills_live = live.n_fills;
        result->fills_model = model.n_fills;
        for (size_t i = 0; i < live.n_trades; i++)
            result->pnl_live += live.trades[i].pnl;
        for (size_t i = 0; i < model.n_trades; i++)
            result->pnl_model += model.trades[i].pnl;
        rc = match_trades(&live, &model, opts, result);
    }
    if (rc == TD_OK) {
        match_fills(&live, &model, opts, result);
        result->consistent = result->missing == 0 && result->extra == 0 && !result->slip_exceeded;
    }
    if (rc != TD_OK && errbuf && !errbuf[0])
        td_err_set(errbuf, errlen, rc, "%s: comparison of %08" PRIu32 " with the model failed (%s)", symbol, day,
                   td_tape_explain(rc, detail));
    free(ev);
    side_list_fini(&live);
    side_list_fini(&model);
    td_pipeline_fini(&pipeline);
    if (rc != TD_OK)
        td_against_result_fini(result);
    return rc;
}

void td_against_result_fini(td_against_result_t *result)
{
    free(result->rows);
    result->rows = NULL;
    result->n_rows = 0;
}
