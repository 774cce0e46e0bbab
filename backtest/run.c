/* run.c - one backtest run over one or many symbols (contract in run.h).
 *
 * td_bt_run_symbol is a sequence of steps over one bt_run_t: read the bars, open the warehouse
 * run, run the grid (on_row writes each row's lines and keeps the best sets), finish the
 * validation, run the walk-forward (its callbacks write the window lines), write the summaries,
 * commit the warehouse run. Each step returns its code; the first failure ends the sequence.
 * The text of every line comes from report_write.c into run->line, which emit() checks once and
 * writes out.
 */
#include "backtest/run.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backtest/report_write.h"
#include "backtest/source.h"
#include "backtest/validate.h"
#include "backtest/warehouse.h"
#include "core/buf.h"
#include "core/names.h"
#include "core/timeutil.h"

typedef struct bar_vec {
    td_bar_t *v;
    size_t len, cap;
} bar_vec_t;

typedef struct bt_run {
    const td_bt_opts_t *opts;
    const td_grid_t *grid;
    const td_bt_job_t *job;
    const td_bt_outputs_t *outputs;
    const char *symbol_column; /* the job's symbol in a several-symbol run, else NULL */
    td_backtest_config_t config;
    bar_vec_t bars;
    char source[192];
    td_bt_data_t data;
    td_validate_t *validate;
    td_bt_wh_t *wh; /* the warehouse run's open transaction, or NULL */
    int64_t run_id;
    td_grid_stats_t stats;
    td_validation_t validation;
    td_wf_result_t wf;
    double elapsed; /* seconds in the grid and the walk-forward */
    bool first_row, first_window;
    td_bt_best_t best[TD_BT_BEST_MAX];
    size_t n_best, best_max;
    td_buf_t line;
    char err[1024]; /* what failed inside a callback of the grid or the walk-forward */
} bt_run_t;

/* Writes run->line to f when its text is complete; what names f in the message. */
static td_err_t emit(bt_run_t *run, FILE *f, const char *what)
{
    td_err_t rc = td_buf_error(&run->line);
    if (rc == TD_ERR_NOMEM)
        return td_err_set(run->err, sizeof run->err, rc, "out of memory");
    if (rc != TD_OK)
        return td_err_set(run->err, sizeof run->err, rc, "cannot format the %s", what);
    if (fwrite(run->line.ptr, 1, run->line.len, f) != run->line.len)
        return td_err_set(run->err, sizeof run->err, TD_ERR_IO, "cannot write the %s", what);
    return TD_OK;
}

/* ---- the bars ---- */

static td_err_t bar_sink(void *opaque, const td_event_t *ev)
{
    bar_vec_t *bars = opaque;
    if (ev->kind != TD_EV_BAR)
        return TD_ERR_INVALID;
    if (bars->len == bars->cap) {
        size_t cap = bars->cap ? 2 * bars->cap : 4096;
        td_bar_t *p = realloc(bars->v, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        bars->v = p;
        bars->cap = cap;
    }
    bars->v[bars->len++] = ev->u.bar;
    return TD_OK;
}

/* A gap is a step between consecutive bars longer than the timeframe. It is a weekend gap when the
 * missing span contains a Saturday (UTC): weekends are expected, other gaps (holidays, missing
 * data) are worth a look. */
static void find_gaps(const bar_vec_t *bars, td_bt_gaps_t *gaps)
{
    memset(gaps, 0, sizeof *gaps);
    for (size_t i = 1; i < bars->len; i++) {
        const td_bar_t *a = &bars->v[i - 1], *b = &bars->v[i];
        int64_t step = b->open_time - a->open_time, tf = (int64_t)a->timeframe_s * 1000;
        if (step <= tf)
            continue;
        gaps->total++;
        bool weekend = false;
        for (int64_t day = td_time_day_number(a->open_time + tf); day <= td_time_day_number(b->open_time - 1); day++)
            if (td_time_weekday(day * TD_MS_PER_DAY, 0) == 6) {
                weekend = true;
                break;
            }
        if (weekend)
            gaps->weekend++;
        else
            gaps->other++;
        if (step - tf > gaps->largest_ms) {
            gaps->largest_ms = step - tf;
            gaps->largest_at = b->open_time;
        }
    }
}

/* The engine's settings of the job's symbol: the options first, then the config's keys. */
static void config_init(bt_run_t *run, const td_config_t *config)
{
    const td_bt_opts_t *o = run->opts;
    td_backtest_config_t *bt_config = &run->config;
    td_backtest_config_init(bt_config);
    snprintf(bt_config->symbol, sizeof bt_config->symbol, "%s", run->job->symbol);
    td_config_symbol_spec(config, run->job->symbol, &bt_config->spec);
    bt_config->basis = o->basis;
    bt_config->costs = o->costs;
    bt_config->conventions = o->conventions;
    bt_config->spread = o->spread_points >= 0 ? (td_price_t)o->spread_points * bt_config->spec.point : -1;
    bt_config->slippage_points = o->slippage >= 0 ? o->slippage : td_config_int(config, "broker.slippage_points");
    bt_config->commission_per_lot =
        o->commission >= 0 ? o->commission : td_config_decimal(config, "broker.commission_per_lot");
    bt_config->day_offset_minutes = (int)td_config_int(config, "session.day_offset_minutes");
    bt_config->tz_offset_minutes = (int)td_config_int(config, "session.tz_offset_minutes");
    bt_config->initial_equity = o->capital;
}

/* Reads the job's bars (at least 2) and describes them in run->data. */
static td_err_t read_bars(bt_run_t *run, const td_config_t *config, const char *data_dir, char *err, size_t errlen)
{
    const td_bt_job_t *job = run->job;
    td_import_opts_t iopts = {
        .format = job->format,
        .symbol = job->symbol,
        .tz_offset_minutes = job->tz_offset,
        .price_divisor_digits = run->config.spec.digits,
    };
    td_err_t rc = td_bt_source_read(config, data_dir, job->data, job->symbol, job->timeframe_s, &iopts, bar_sink,
                                    &run->bars, run->source, sizeof run->source, err, errlen);
    if (rc == TD_OK && run->bars.len < 2)
        rc = td_err_set(err, errlen, TD_ERR_PARSE, "%s: %zu bars: a backtest needs at least 2", job->data,
                        run->bars.len);
    if (rc != TD_OK)
        return rc;
    const bar_vec_t *bars = &run->bars;
    run->data = (td_bt_data_t){
        .symbol = job->symbol,
        .source = run->source,
        .format = job->from_file ? td_import_format_name(job->format) : job->data,
        .n_bars = bars->len,
        .timeframe_s = bars->v[0].timeframe_s,
        .first_bar = bars->v[0].open_time,
        .last_bar = bars->v[bars->len - 1].open_time,
    };
    find_gaps(bars, &run->data.gaps);
    return TD_OK;
}

/* ---- the grid's rows ---- */

/* Keeps the best sets by Sharpe: higher first, ties by lower index; undefined Sharpe never. */
static void best_insert(bt_run_t *run, uint64_t index, const td_backtest_result_t *result)
{
    double sharpe = result->ratios.sharpe;
    if (isnan(sharpe) || run->best_max == 0)
        return;
    size_t pos = run->n_best;
    while (pos > 0 && run->best[pos - 1].sharpe < sharpe) /* equal: the earlier index stays first */
        pos--;
    if (pos >= run->best_max)
        return;
    size_t last = run->n_best < run->best_max ? run->n_best : run->best_max - 1;
    memmove(&run->best[pos + 1], &run->best[pos], (last - pos) * sizeof run->best[0]);
    run->best[pos] = (td_bt_best_t){index, sharpe, *result};
    if (run->n_best < run->best_max)
        run->n_best++;
}

/* The row's lines in the results CSV, the JSON document, the trades and equity files. */
static td_err_t write_row(bt_run_t *run, const td_grid_row_t *row)
{
    const td_bt_outputs_t *outputs = run->outputs;
    td_err_t rc = TD_OK;
    if (outputs->csv) {
        td_buf_reset(&run->line);
        td_bt_report_result_csv(&run->line, run->grid, run->symbol_column, row->index, row->result);
        rc = emit(run, outputs->csv, "results");
    }
    if (rc == TD_OK && outputs->json) {
        td_buf_reset(&run->line);
        td_buf_puts(&run->line, run->first_row ? "\n" : ",\n");
        td_bt_report_result_json(&run->line, run->grid, row->index, row->result);
        run->first_row = false;
        rc = emit(run, outputs->json, "JSON document");
    }
    for (size_t k = 0; rc == TD_OK && outputs->trades && k < row->n_trades; k++) {
        td_buf_reset(&run->line);
        td_bt_report_trade(&run->line, row->index, run->job->symbol, run->config.spec.digits, &row->trades[k]);
        rc = emit(run, outputs->trades, "trades file");
    }
    for (size_t k = 0; rc == TD_OK && outputs->equity && k < row->n_equity; k++) {
        td_buf_reset(&run->line);
        td_bt_report_equity(&run->line, run->symbol_column, row->index, &row->equity[k]);
        rc = emit(run, outputs->equity, "equity file");
    }
    return rc;
}

/* td_grid_run's callback, in index order on the calling thread. */
static td_err_t on_row(void *opaque, const td_grid_row_t *row)
{
    bt_run_t *run = opaque;
    td_err_t rc = TD_OK;
    if (!row->refused) {
        best_insert(run, row->index, row->result);
        rc = td_validate_add(run->validate, row);
        if (rc == TD_OK && run->wh)
            rc = td_bt_wh_add(run->wh, run->grid, row->index, row->result, run->err, sizeof run->err);
        if (rc == TD_OK)
            rc = write_row(run, row);
    }
    if (rc == TD_OK && run->outputs->progress)
        run->outputs->progress(run->outputs->progress_opaque, row->index + 1, td_grid_count(run->grid));
    if (rc == TD_ERR_NOMEM && !run->err[0])
        td_err_set(run->err, sizeof run->err, rc, "out of memory");
    return rc;
}

/* ---- the walk-forward's callbacks ---- */

static td_err_t wf_window(void *opaque, const td_wf_window_t *w)
{
    bt_run_t *run = opaque;
    const td_bt_outputs_t *outputs = run->outputs;
    td_err_t rc = run->wh ? td_bt_wh_wf_window(run->wh, run->grid, w, run->bars.v, run->err, sizeof run->err) : TD_OK;
    if (rc == TD_OK && outputs->wf) {
        td_buf_reset(&run->line);
        td_bt_report_wf_window_csv(&run->line, run->grid, run->symbol_column, w, run->bars.v);
        rc = emit(run, outputs->wf, "walk-forward file");
    }
    if (rc == TD_OK && outputs->json) {
        td_buf_reset(&run->line);
        if (!run->first_window)
            td_buf_putc(&run->line, ',');
        td_bt_report_wf_window_json(&run->line, run->grid, w, run->bars.v);
        run->first_window = false;
        rc = emit(run, outputs->json, "JSON document");
    }
    return rc;
}

static td_err_t wf_trade(void *opaque, const td_wf_window_t *w, const td_trade_closed_t *trade)
{
    bt_run_t *run = opaque;
    if (!run->outputs->wf_trades)
        return TD_OK;
    td_buf_reset(&run->line);
    td_bt_report_trade(&run->line, w->number, run->job->symbol, run->config.spec.digits, trade);
    return emit(run, run->outputs->wf_trades, "walk-forward trades file");
}

static td_err_t wf_equity(void *opaque, const td_wf_window_t *w, uint32_t day, double ret, double wealth)
{
    bt_run_t *run = opaque;
    if (!run->outputs->wf_equity)
        return TD_OK;
    td_buf_reset(&run->line);
    td_bt_report_wf_equity(&run->line, run->symbol_column, w->number, day, ret, wealth);
    return emit(run, run->outputs->wf_equity, "walk-forward equity file");
}

/* ---- the steps ---- */

/* --warehouse: begins the run's transaction with its row in backtest_runs. */
static td_err_t begin_warehouse(bt_run_t *run, const td_config_t *config, char *err, size_t errlen)
{
    td_buf_t conventions;
    td_buf_init(&conventions);
    td_bt_report_conventions_json(&conventions, run->opts, &run->config);
    td_err_t rc = td_buf_error(&conventions);
    const char *text = rc == TD_OK ? td_buf_cstr(&conventions) : NULL;
    if (rc == TD_OK && !text)
        rc = TD_ERR_NOMEM;
    if (rc == TD_OK)
        rc = td_bt_wh_begin(td_config_str(config, "warehouse.uri"), run->opts->strategy, run->job->symbol, run->source,
                            run->opts->spec, text, &run->wh, &run->run_id, err, errlen);
    td_buf_fini(&conventions);
    return rc;
}

/* Every combination of the grid (on_row writes the rows), then the DSR and PBO. */
static td_err_t run_grid(bt_run_t *run, char *err, size_t errlen)
{
    const td_bt_opts_t *o = run->opts;
    td_grid_opts_t gopts = {
        .threads = (unsigned)o->threads,
        .collect_trades = run->outputs->trades != NULL,
        .collect_equity = true, /* the DSR and PBO fold every set's daily returns */
    };
    double t0 = td_mono_s();
    td_err_t rc = td_grid_run(run->grid, o->strategy, &run->config, run->bars.v, run->bars.len, &gopts, on_row, run,
                              &run->stats, err, errlen);
    run->elapsed = td_mono_s() - t0;
    if (rc == TD_OK)
        rc = td_validate_finish(run->validate, run->stats.threads, &run->validation);
    if (rc == TD_OK && run->wh)
        rc = td_bt_wh_validation(run->wh, &run->validation, err, errlen);
    if (rc == TD_OK && run->outputs->json) {
        size_t n_show = run->n_best < (size_t)o->best_n ? run->n_best : (size_t)o->best_n;
        td_buf_reset(&run->line);
        td_bt_report_json_after_rows(&run->line, run->grid, &run->stats, run->best, n_show, &run->validation, o);
        rc = emit(run, run->outputs->json, "JSON document");
    }
    return rc;
}

/* The walk-forward (its callbacks write the windows) and its concatenated out-of-sample result. */
static td_err_t run_walk_forward(bt_run_t *run, char *err, size_t errlen)
{
    const td_bt_opts_t *o = run->opts;
    td_wf_sink_t sink = {wf_window, wf_trade, wf_equity, run};
    td_grid_opts_t gopts = {.threads = (unsigned)o->threads};
    double t0 = td_mono_s();
    td_err_t rc = td_wf_run(&o->wf_spec, o->wf_metric, run->grid, o->strategy, &run->config, run->bars.v, run->bars.len,
                            &gopts, &sink, &run->wf, err, errlen);
    run->elapsed += td_mono_s() - t0;
    if (rc == TD_OK && run->wh)
        rc = td_bt_wh_walkforward(run->wh, o->wf_text, td_wf_metric_name(o->wf_metric), &run->wf, err, errlen);
    if (rc == TD_OK && run->outputs->json) {
        td_buf_reset(&run->line);
        td_bt_report_json_wf_close(&run->line, &run->wf);
        rc = emit(run, run->outputs->json, "JSON document");
    }
    return rc;
}

/* The text summary (with the throughput, never in a result file) and the summary file's row. */
static td_err_t write_summaries(bt_run_t *run, bool multi)
{
    const td_bt_opts_t *o = run->opts;
    const td_grid_stats_t *stats = &run->stats;
    size_t n_show = run->n_best < (size_t)o->best_n ? run->n_best : (size_t)o->best_n;
    uint64_t steps = stats->bar_steps + run->wf.bar_steps;
    td_buf_reset(&run->line);
    td_bt_report_summary_text(&run->line, multi, &run->data, run->grid, stats, run->best, run->n_best, n_show,
                              &run->validation, &run->wf, o);
    td_buf_putf(&run->line,
                "%" PRIu64 " bar-steps (%zu bars x %" PRIu64 " sets) in %.3f s on %u threads: %.0f "
                "bar-steps/s\n",
                steps, run->bars.len, stats->evaluated, run->elapsed, stats->threads,
                run->elapsed > 0 ? (double)steps / run->elapsed : 0.0);
    td_err_t rc = td_buf_error(&run->line);
    if (rc != TD_OK)
        return td_err_set(run->err, sizeof run->err, rc, "out of memory");
    fwrite(run->line.ptr, 1, run->line.len, run->outputs->summary); /* the CLI checks stdout once at the end */
    if (run->outputs->summary_csv) {
        td_buf_reset(&run->line);
        td_bt_report_summary_csv(&run->line, &run->data, run->grid, stats, run->n_best ? &run->best[0] : NULL,
                                 &run->validation, &run->wf, o);
        rc = emit(run, run->outputs->summary_csv, "summary file");
    }
    return rc;
}

/* Commits the warehouse run: last, so a run whose outputs failed stores nothing. */
static td_err_t finish_warehouse(bt_run_t *run, char *err, size_t errlen)
{
    td_err_t rc = td_bt_wh_finish(run->wh, err, errlen);
    if (rc != TD_OK)
        return rc;
    FILE *summary = run->outputs->summary;
    fprintf(summary,
            "warehouse: backtest run %" PRId64 ", %" PRIu64 " result row(s) in backtest_results, DSR and PBO in "
            "backtest_validation",
            run->run_id, run->stats.evaluated);
    if (run->opts->wf)
        fprintf(summary, ", walk-forward in backtest_walkforward and %zu row(s) in backtest_wf_windows",
                run->wf.windows);
    fprintf(summary, "\n");
    return TD_OK;
}

static void fill_done(const bt_run_t *run, td_bt_done_t *done)
{
    memset(done, 0, sizeof *done);
    done->have_best = run->n_best > 0;
    if (done->have_best) {
        done->index = run->best[0].index;
        done->sharpe = run->best[0].sharpe;
        done->trades = run->best[0].result.trades.trades;
        done->net_pnl = run->best[0].result.trades.net_pnl;
    }
    done->dsr = run->validation.dsr.dsr;
    done->pbo = run->validation.have_pbo ? run->validation.pbo.pbo : NAN;
}

td_err_t td_bt_run_symbol(const td_config_t *config, const char *data_dir, const td_bt_opts_t *opts,
                          const td_grid_t *grid, const td_bt_job_t *job, size_t n, bool multi,
                          const td_bt_outputs_t *outputs, td_bt_done_t *done, char *err, size_t errlen)
{
    if (errlen)
        err[0] = '\0'; /* a failure without a message of its own gets one below */
    bt_run_t *run = calloc(1, sizeof *run);
    if (!run)
        return td_err_set(err, errlen, TD_ERR_NOMEM, "out of memory");
    run->opts = opts;
    run->grid = grid;
    run->job = job;
    run->outputs = outputs;
    run->symbol_column = multi ? job->symbol : NULL;
    run->first_row = run->first_window = true;
    run->best_max = (size_t)(opts->best_n > 0 ? opts->best_n : 1); /* the best set is always kept for the summary */
    td_buf_init(&run->line);
    config_init(run, config);

    td_err_t rc = read_bars(run, config, data_dir, err, errlen);
    if (rc == TD_OK)
        rc = td_validate_new(td_grid_count(grid), opts->pbo_blocks, &run->validate, err, errlen);
    if (rc == TD_OK && outputs->json) {
        td_buf_reset(&run->line);
        td_bt_report_json_open(&run->line, n, &run->data, opts, &run->config);
        rc = emit(run, outputs->json, "JSON document");
    }
    if (rc == TD_OK && opts->to_warehouse)
        rc = begin_warehouse(run, config, err, errlen);
    if (rc == TD_OK)
        rc = run_grid(run, err, errlen);
    if (rc == TD_OK && opts->wf)
        rc = run_walk_forward(run, err, errlen);
    if (rc == TD_OK && outputs->json) {
        td_buf_reset(&run->line);
        td_buf_putc(&run->line, '}');
        rc = emit(run, outputs->json, "JSON document");
    }
    if (rc == TD_OK)
        rc = write_summaries(run, multi);
    if (rc == TD_OK && run->wh)
        rc = finish_warehouse(run, err, errlen);
    if (rc == TD_OK)
        fill_done(run, done);

    if (rc != TD_OK && run->err[0])
        snprintf(err, errlen, "%s", run->err);
    if (rc != TD_OK && !err[0])
        td_err_set(err, errlen, rc, "cannot write the outputs");
    td_bt_wh_destroy(run->wh);
    td_validate_destroy(run->validate);
    td_buf_fini(&run->line);
    free(run->bars.v);
    free(run);
    return rc;
}

/* ---- the run's beginning and end ---- */

td_err_t td_bt_run_gridfile_jobs(const char *path, const td_gridfile_t *gf, td_bt_job_t *jobs, size_t *n_jobs,
                                 char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < gf->n_symbols; i++) {
        const td_gridfile_symbol_t *s = &gf->symbols[i];
        td_bt_job_t *job = &jobs[(*n_jobs)++];
        job->symbol = s->symbol;
        job->data = s->data;
        job->tz_offset = s->tz_offset_minutes;
        job->from_file = td_bt_source_kind(s->data) == TD_BT_FILE;
        if (s->timeframe[0] && td_timeframe_parse(s->timeframe, &job->timeframe_s) != TD_OK)
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s:%u: symbols.%s.timeframe: expected M1, M5, M15, M30, H1, H4 or D1, found '%s'", path,
                              s->line, s->symbol, s->timeframe);
        if (job->from_file &&
            (td_import_format_parse(s->format, &job->format) != TD_OK || !td_import_format_is_bars(job->format)))
            return td_err_set(errbuf, errlen, TD_ERR_INVALID,
                              "%s:%u: symbols.%s.format: expected a bar format (mt5-bars, dukascopy-bars, lean-bars), "
                              "found '%s'",
                              path, s->line, s->symbol, s->format);
    }
    return TD_OK;
}

/* Writes buf to f (when f is not NULL) once its text is complete. */
static td_err_t write_buf(td_buf_t *buf, FILE *f, char *err, size_t errlen)
{
    td_err_t rc = td_buf_error(buf);
    if (rc == TD_OK && f && fwrite(buf->ptr, 1, buf->len, f) != buf->len)
        rc = TD_ERR_IO;
    if (rc != TD_OK)
        td_err_set(err, errlen, rc, "cannot write the outputs");
    return rc;
}

td_err_t td_bt_run_begin(const td_bt_outputs_t *outputs, const td_grid_t *grid, bool multi, const char *grid_file,
                         char *err, size_t errlen)
{
    const struct {
        FILE *f;
        td_bt_file_t file;
    } files[] = {
        {outputs->csv, TD_BT_FILE_RESULTS},         {outputs->trades, TD_BT_FILE_TRADES},
        {outputs->equity, TD_BT_FILE_EQUITY},       {outputs->wf, TD_BT_FILE_WF},
        {outputs->wf_trades, TD_BT_FILE_WF_TRADES}, {outputs->wf_equity, TD_BT_FILE_WF_EQUITY},
        {outputs->summary_csv, TD_BT_FILE_SUMMARY},
    };
    td_buf_t head;
    td_buf_init(&head);
    td_err_t rc = TD_OK;
    for (size_t k = 0; rc == TD_OK && k < sizeof files / sizeof files[0]; k++) {
        if (!files[k].f)
            continue;
        td_buf_reset(&head);
        td_bt_report_header(&head, files[k].file, grid, multi);
        rc = write_buf(&head, files[k].f, err, errlen);
    }
    if (rc == TD_OK && outputs->json && multi) {
        td_buf_reset(&head);
        td_bt_report_multi_json_open(&head, grid_file);
        rc = write_buf(&head, outputs->json, err, errlen);
    }
    td_buf_fini(&head);
    return rc;
}

td_err_t td_bt_run_end(const td_bt_outputs_t *outputs, const td_grid_t *grid, bool multi, const td_bt_job_t *jobs,
                       const td_bt_done_t *done, size_t n_jobs, char *err, size_t errlen)
{
    td_buf_t tail;
    td_buf_init(&tail);
    if (multi && outputs->json)
        td_bt_report_multi_json_close(&tail, grid, jobs, done, n_jobs);
    else if (outputs->json)
        td_buf_putc(&tail, '\n');
    td_err_t rc = write_buf(&tail, outputs->json, err, errlen);
    if (rc == TD_OK && multi) {
        td_buf_reset(&tail);
        td_bt_report_multi_text(&tail, grid, jobs, done, n_jobs);
        rc = write_buf(&tail, NULL, err, errlen);
        if (rc == TD_OK)
            fwrite(tail.ptr, 1, tail.len, outputs->summary); /* the CLI checks stdout once at the end */
    }
    td_buf_fini(&tail);
    return rc;
}

/* ---- the run's files ---- */

static FILE *open_out(const char *path, const char **failed)
{
    if (!path)
        return NULL;
    FILE *f = fopen(path, "w");
    if (!f && !*failed)
        *failed = path;
    return f;
}

td_err_t td_bt_outputs_open(const td_bt_output_paths_t *paths, td_bt_outputs_t *outputs, char *errbuf, size_t errlen)
{
    const char *failed = NULL;
    memset(outputs, 0, sizeof *outputs);
    outputs->summary = stderr;
    if (paths->results) {
        outputs->csv = open_out(paths->results, &failed);
        outputs->summary = paths->json ? stderr : stdout;
    } else if (!paths->json) {
        outputs->csv = stdout;
    }
    outputs->json = paths->json ? stdout : NULL;
    outputs->trades = open_out(paths->trades, &failed);
    outputs->equity = open_out(paths->equity, &failed);
    outputs->summary_csv = open_out(paths->summary_csv, &failed);
    outputs->wf = open_out(paths->wf, &failed);
    outputs->wf_trades = open_out(paths->wf_trades, &failed);
    outputs->wf_equity = open_out(paths->wf_equity, &failed);
    return failed ? td_err_set(errbuf, errlen, TD_ERR_IO, "cannot create %s", failed) : TD_OK;
}

td_err_t td_bt_outputs_close(td_bt_outputs_t *outputs, td_err_t rc, char *errbuf, size_t errlen)
{
    FILE *all[] = {outputs->csv != stdout ? outputs->csv : NULL,
                   outputs->trades,
                   outputs->equity,
                   outputs->summary_csv,
                   outputs->wf,
                   outputs->wf_trades,
                   outputs->wf_equity};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        if (all[k] && fclose(all[k]) != 0 && rc == TD_OK)
            rc = td_err_set(errbuf, errlen, TD_ERR_IO, "cannot write an output file");
    if (rc == TD_OK && fflush(stdout) != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "cannot write to stdout");
    return rc;
}
