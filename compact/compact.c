/* compact.c - the nightly job over one trading day (see compact.h).
 *
 * One symbol at a time: replay proves the day (in a second thread, while this one reads the day);
 * one pass over the day's inputs builds the bars and the sealed content, one pass over its outputs
 * adds them to the content and feeds the metrics; the sealed file is written (or verified); then
 * one SQL transaction upserts bars, perf rows and the sealed_days row; last the tape's meta record.
 * A crash between steps leaves each step either done or not, and the next run redoes only what is
 * missing.
 */
#include "compact/compact.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/seal.h"
#include "core/timeutil.h"
#include "processors/bars.h"
#include "processors/metrics.h"
#include "processors/output.h"
#include "replay/replay.h"

#define M1 60u
#define M30 1800u

/* Everything compact learns about one symbol's day from the tape. */
typedef struct day_work {
    const td_compact_opts_t *opts;
    char symbol[TD_SYMBOL_MAX + 1];
    char date[16]; /* YYYY-MM-DD */
    td_day_range_t inputs, outputs;
    td_day_digest_t digest;
    bool has_digest;
    td_buf_t content;  /* the sealed file's content */
    td_pg_copy_t bars; /* the day's bars as binary COPY rows */
    uint64_t n_m1, n_m30;
    td_metrics_t day;
    td_metrics_t hours[24];
    double *nets; /* per-trade net P&L (money units) in exit order, for sharpe */
    size_t n_nets, cap_nets;
    td_event_t ev;
} day_work_t;

static void say(const day_work_t *work, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const day_work_t *work, const char *fmt, ...)
{
    FILE *out = work->opts->out;
    if (!out)
        return;
    fprintf(out, "compact %s %s: ", work->date, work->symbol);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

/* --- step 1: verify --- */

/* The replay check runs in a thread of its own while the caller's thread reads the day for steps
 * 2-4: tape reads may run in any thread, and the replay shares nothing with those steps, so on two
 * cores it costs little wall time of its own. Its verdict is taken before anything is written. */
typedef struct verify_job {
    td_tape_t *tape;
    const day_work_t *work;
    td_replay_result_t result;
    td_err_t rc;
    char detail[512];
} verify_job_t;

static void *verify_run(void *opaque)
{
    verify_job_t *job = opaque;
    const day_work_t *work = job->work;
    job->rc = td_replay_day(job->tape, work->opts->pipeline, work->symbol, work->opts->day, &job->result, job->detail,
                            sizeof job->detail);
    return NULL;
}

/* The verdict of a finished job: TD_OK (and the "verified" line) when the day replays equal. */
static td_err_t verify_verdict(day_work_t *work, const verify_job_t *job, char *errbuf, size_t errlen)
{
    const td_replay_result_t *r = &job->result;
    td_err_t rc = job->rc;
    if (rc == TD_ERR_NOT_FOUND)
        rc = td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                        "%s %s: day not closed / not processed yet (%s): run tapedeck process first", work->symbol,
                        work->date, job->detail);
    else if (rc != TD_OK)
        rc = td_err_set(errbuf, errlen, rc, "%s %s: replay failed: %s", work->symbol, work->date, job->detail);
    else if (r->verdict == TD_REPLAY_OPEN)
        rc = td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                        "%s %s: day not closed / not processed yet (%s): compact only closed days", work->symbol,
                        work->date, r->partial ? "the host has processed only part of it" : "no DayDigest on the tape");
    else if (r->verdict == TD_REPLAY_DIVERGED)
        rc = td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                        "%s %s: the tape does not replay equal: first divergence at output offset %" PRIu64
                        " (produced by input offset %" PRIu64 "): %s",
                        work->symbol, work->date, r->divergent_output_offset, r->divergent_input_offset, r->what);
    if (rc == TD_OK) {
        char hex[65];
        td_digest_hex(r->digest_actual, hex);
        say(work, "verified - %" PRIu64 " inputs, %" PRIu64 " outputs replay equal, digest %s", r->inputs,
            r->outputs_replayed, hex);
    }
    return rc;
}

/* --- step 2 and the sealed content: the inputs --- */

static void copy_bar(day_work_t *work, const td_bar_t *bar, int64_t event_time, uint64_t input_offset)
{
    td_pg_copy_t *copy = &work->bars;
    td_pg_copy_row(copy, 16);
    td_pg_copy_text(copy, work->symbol);
    td_pg_copy_int4(copy, (int32_t)bar->timeframe_s);
    td_pg_copy_time_ms(copy, bar->open_time);
    td_pg_copy_int8(copy, bar->open);
    td_pg_copy_int8(copy, bar->high);
    td_pg_copy_int8(copy, bar->low);
    td_pg_copy_int8(copy, bar->close);
    td_pg_copy_int8(copy, (int64_t)bar->tick_volume);
    td_pg_copy_int8(copy, bar->spread_min);
    td_pg_copy_int8(copy, bar->spread_max);
    td_pg_copy_int8(copy, bar->spread_sum);
    td_pg_copy_int8(copy, (int64_t)bar->late_ticks);
    td_pg_copy_time_ms(copy, event_time);
    td_pg_copy_int8(copy, -1); /* out_offset: built by compact, not an output event */
    td_pg_copy_int8(copy, (int64_t)input_offset);
    td_pg_copy_int4(copy, 0);
    if (bar->timeframe_s == M1)
        work->n_m1++;
    else
        work->n_m30++;
}

/* Reads the day's inputs: bars and sealed records. */
static td_err_t read_inputs(td_tape_t *tape, day_work_t *work, char *errbuf, size_t errlen)
{
    int offset_min = work->opts->pipeline->day_offset_minutes;
    td_bars_t builders[2];
    td_bars_init(&builders[0], M1, offset_min);
    td_bars_init(&builders[1], M30, offset_min);
    td_outbuf_t out;
    td_outbuf_init(&out);
    td_tape_iter_t *iter = NULL;
    char detail[512] = ""; /* the tape's detail of a failed call */
    td_err_t rc =
        td_tape_iter_new(tape, TD_STREAM_INPUT, work->symbol, work->inputs.first_offset, &iter, detail, sizeof detail);
    uint64_t seen = 0, last_offset = work->inputs.first_offset;
    while (rc == TD_OK && seen < work->inputs.count) {
        rc = td_tape_iter_next(iter, &work->ev, detail, sizeof detail);
        if (rc != TD_OK)
            break;
        TD_ASSERT(work->ev.offset == work->inputs.first_offset + seen);
        rc = td_seal_add_record(&work->content, 0, work->ev.offset, td_tape_iter_raw(iter));
        for (int b = 0; rc == TD_OK && b < 2; b++) {
            td_outbuf_clear(&out);
            rc = td_bars_step(&builders[b], &work->ev, &out);
            for (size_t i = 0; rc == TD_OK && i < out.len; i++)
                copy_bar(work, &out.ev[i].u.bar, work->ev.time_ms, work->ev.offset);
        }
        last_offset = work->ev.offset;
        seen++;
    }
    if (rc == TD_ERR_END)
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s input stream ends at offset %" PRIu64 ", inside day %s",
                        work->symbol, work->inputs.first_offset + seen, work->date);
    else if (rc == TD_ERR_OVERFLOW)
        rc = td_err_set(errbuf, errlen, rc, "%s input offset %" PRIu64 ": a spread leaves int64", work->symbol,
                        work->ev.offset);
    else if (rc != TD_OK && rc != TD_ERR_NOMEM) {
        rc = td_err_set(errbuf, errlen, rc, "%s input offset %" PRIu64 ": %s", work->symbol,
                        work->inputs.first_offset + seen, detail);
    }
    /* the day end closes the last bars (when no day-end mark on the stream did) */
    int64_t day_end = td_time_trading_day_start(td_time_next_day(work->opts->day), offset_min);
    for (int b = 0; rc == TD_OK && b < 2; b++)
        if (builders[b].bar_open) {
            td_bar_t bar = builders[b].bar;
            bar.late_ticks = builders[b].late_pending;
            copy_bar(work, &bar, day_end, last_offset);
        }
    td_tape_iter_destroy(iter);
    td_outbuf_fini(&out);
    return rc;
}

/* --- step 3 and the sealed content: the outputs --- */

static td_err_t add_net(day_work_t *work, td_money_t net)
{
    if (work->n_nets == work->cap_nets) {
        size_t cap = work->cap_nets ? work->cap_nets * 2 : 64;
        double *p = realloc(work->nets, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        work->nets = p;
        work->cap_nets = cap;
    }
    work->nets[work->n_nets++] = (double)net / (double)TD_FX_SCALE;
    return TD_OK;
}

static td_err_t read_outputs(td_tape_t *tape, day_work_t *work, char *errbuf, size_t errlen)
{
    td_metrics_init(&work->day);
    for (int h = 0; h < 24; h++)
        td_metrics_init(&work->hours[h]);
    td_tape_iter_t *iter = NULL;
    char detail[512] = ""; /* the tape's detail of a failed call */
    td_err_t rc = td_tape_iter_new(tape, TD_STREAM_OUTPUT, work->symbol, work->outputs.first_offset, &iter, detail,
                                   sizeof detail);
    uint64_t seen = 0;
    while (rc == TD_OK && seen < work->outputs.count) {
        rc = td_tape_iter_next(iter, &work->ev, detail, sizeof detail);
        if (rc != TD_OK)
            break;
        rc = td_seal_add_record(&work->content, 1, work->ev.offset, td_tape_iter_raw(iter));
        if (rc == TD_OK && work->ev.kind == TD_EV_TRADE_CLOSED) {
            const td_trade_closed_t *trade = &work->ev.u.trade;
            int hour = (int)(((trade->exit_time % 86400000) + 86400000) % 86400000 / 3600000);
            td_money_t net = 0;
            rc = td_metrics_on_trade(&work->day, trade);
            if (rc == TD_OK)
                rc = td_metrics_on_trade(&work->hours[hour], trade);
            if (rc == TD_OK)
                rc = td_metrics_net_pnl(trade, &net);
            if (rc == TD_OK)
                rc = add_net(work, net);
        } else if (rc == TD_OK && work->ev.kind == TD_EV_DAY_DIGEST &&
                   work->ev.u.digest.trading_day == work->opts->day) {
            work->digest = work->ev.u.digest;
            work->has_digest = true;
        }
        seen++;
    }
    if (rc == TD_ERR_END)
        rc = td_err_set(errbuf, errlen, TD_ERR_CORRUPT, "%s output stream ends at offset %" PRIu64 ", inside day %s",
                        work->symbol, work->outputs.first_offset + seen, work->date);
    else if (rc == TD_ERR_OVERFLOW)
        rc = td_err_set(errbuf, errlen, rc, "%s output offset %" PRIu64 ": a P&L sum leaves int64", work->symbol,
                        work->ev.offset);
    else if (rc != TD_OK && rc != TD_ERR_NOMEM) {
        rc = td_err_set(errbuf, errlen, rc, "%s output offset %" PRIu64 ": %s", work->symbol,
                        work->outputs.first_offset + seen, detail);
    }
    td_tape_iter_destroy(iter);
    if (rc != TD_OK)
        return rc;
    if (!work->has_digest)
        return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                          "%s %s: day not closed: no DayDigest among outputs %" PRIu64 "..%" PRIu64, work->symbol,
                          work->date, work->outputs.first_offset, work->outputs.last_offset);
    const td_metrics_totals_t *t = &work->day.day;
    const td_day_digest_t *d = &work->digest;
    if (t->trades != d->trades || t->wins != d->wins || t->realized_pnl != d->realized_pnl ||
        t->max_drawdown != d->max_drawdown)
        return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                          "%s %s: the day's TradeClosed outputs (%" PRIu64 " trades, %" PRIu64 " wins, P&L %" PRId64
                          ", drawdown %" PRId64 ") disagree with its DayDigest at output offset %" PRIu64 " (%" PRIu64
                          ", %" PRIu64 ", %" PRId64 ", %" PRId64 ")",
                          work->symbol, work->date, t->trades, t->wins, t->realized_pnl, t->max_drawdown,
                          work->ev.offset, d->trades, d->wins, d->realized_pnl, d->max_drawdown);
    return TD_OK;
}

/* sharpe of the day's per-trade net P&L (see compact.h); false when undefined. Fixed order. */
static bool day_sharpe(const day_work_t *work, double *sharpe)
{
    size_t n = work->n_nets;
    if (n < 2)
        return false;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += work->nets[i];
    double mean = sum / (double)n, ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (work->nets[i] - mean) * (work->nets[i] - mean);
    double sd = sqrt(ss / (double)(n - 1));
    if (!(sd > 0.0))
        return false;
    *sharpe = mean / sd;
    return true;
}

/* --- step 4: the sealed file --- */

static td_err_t make_dirs(const char *data_dir, const char *symbol, char *path, size_t pathlen, uint32_t day,
                          char *errbuf, size_t errlen)
{
    char dir[4096];
    if (!td_symbol_valid(symbol, strlen(symbol))) /* before any folder is made from it */
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: symbol: expected %s: the day is not sealed", symbol,
                          TD_SYMBOL_RULE);
    const char *parts[2] = {"sealed", symbol};
    snprintf(dir, sizeof dir, "%s", data_dir);
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(dir);
        snprintf(dir + n, sizeof dir - n, "/%s", parts[i]);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    }
    if (td_seal_path(path, pathlen, data_dir, symbol, day) != TD_OK)
        return td_err_set(errbuf, errlen, TD_ERR_INVALID, "%s: path too long", dir);
    return TD_OK;
}

static bool range_eq(const td_day_range_t *a, const td_day_range_t *b)
{
    return a->first_offset == b->first_offset && a->last_offset == b->last_offset && a->count == b->count;
}

typedef struct seal_info {
    char path[4200];
    uint64_t bytes;
    uint8_t file_sha[TD_SHA256_LEN], content_sha[TD_SHA256_LEN];
    bool written;
} seal_info_t;

static td_err_t seal(day_work_t *work, seal_info_t *info, char *errbuf, size_t errlen)
{
    td_err_t rc =
        make_dirs(work->opts->data_dir, work->symbol, info->path, sizeof info->path, work->opts->day, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    td_seal_header_t have;
    rc = td_seal_verify(info->path, &have, NULL, &info->bytes, info->file_sha, errbuf, errlen);
    if (rc == TD_ERR_NOT_FOUND) {
        td_seal_header_t header = {.trading_day = work->opts->day, .inputs = work->inputs, .outputs = work->outputs};
        snprintf(header.symbol, sizeof header.symbol, "%s", work->symbol);
        memcpy(header.day_digest, work->digest.sha256, TD_SHA256_LEN);
        rc = td_seal_write(info->path, &header, td_buf_slice(&work->content), work->opts->xz_preset,
                           work->opts->xz_threads, &info->bytes, info->file_sha, errbuf, errlen);
        memcpy(info->content_sha, header.content_sha256, TD_SHA256_LEN);
        info->written = rc == TD_OK;
        return rc;
    }
    if (rc == TD_ERR_CORRUPT || rc == TD_ERR_UNSUPPORTED)
        return td_err_set(errbuf, errlen, TD_ERR_CORRUPT,
                          "%s %s: the sealed file is damaged and is never rewritten: %s (move it away and run compact "
                          "again to seal the day from the tape)",
                          work->symbol, work->date, errbuf);
    if (rc != TD_OK)
        return rc;
    /* a sound file: it must hold exactly this day of the tape */
    uint8_t want[TD_SHA256_LEN];
    td_sha256(work->content.ptr, work->content.len, want);
    memcpy(info->content_sha, have.content_sha256, TD_SHA256_LEN);
    if (strcmp(have.symbol, work->symbol) != 0 || have.trading_day != work->opts->day ||
        !range_eq(&have.inputs, &work->inputs) || !range_eq(&have.outputs, &work->outputs) ||
        memcmp(have.day_digest, work->digest.sha256, TD_SHA256_LEN) != 0 ||
        memcmp(have.content_sha256, want, TD_SHA256_LEN) != 0)
        return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                          "%s %s: the sealed file %s (inputs %" PRIu64 "..%" PRIu64 ", outputs %" PRIu64 "..%" PRIu64
                          ") does not hold the tape's events of the day (inputs %" PRIu64 "..%" PRIu64
                          ", outputs %" PRIu64 "..%" PRIu64 ")",
                          work->symbol, work->date, info->path, have.inputs.first_offset, have.inputs.last_offset,
                          have.outputs.first_offset, have.outputs.last_offset, work->inputs.first_offset,
                          work->inputs.last_offset, work->outputs.first_offset, work->outputs.last_offset);
    return TD_OK;
}

/* --- the warehouse: one transaction per symbol --- */

#define BAR_COLS                                                                                                      \
    "symbol, timeframe_s, open_time, open_e8, high_e8, low_e8, close_e8, tick_volume, spread_min_e8, spread_max_e8, " \
    "spread_sum_e8, late_ticks, event_time, out_offset, input_offset, idx"
#define BAR_VALS                                                                                                 \
    "open_e8, high_e8, low_e8, close_e8, tick_volume, spread_min_e8, spread_max_e8, spread_sum_e8, late_ticks, " \
    "event_time, input_offset, idx"

static const char *const bars_upsert =
    "INSERT INTO bars (" BAR_COLS ") SELECT " BAR_COLS " FROM compact_bars "
    "ON CONFLICT (symbol, timeframe_s, open_time) DO UPDATE SET "
    "open_e8 = EXCLUDED.open_e8, high_e8 = EXCLUDED.high_e8, low_e8 = EXCLUDED.low_e8, close_e8 = EXCLUDED.close_e8, "
    "tick_volume = EXCLUDED.tick_volume, spread_min_e8 = EXCLUDED.spread_min_e8, spread_max_e8 = "
    "EXCLUDED.spread_max_e8, spread_sum_e8 = EXCLUDED.spread_sum_e8, late_ticks = EXCLUDED.late_ticks, "
    "event_time = EXCLUDED.event_time, input_offset = EXCLUDED.input_offset, idx = EXCLUDED.idx "
    "WHERE bars.out_offset < 0 AND (bars.open_e8, bars.high_e8, bars.low_e8, bars.close_e8, bars.tick_volume, "
    "bars.spread_min_e8, bars.spread_max_e8, bars.spread_sum_e8, bars.late_ticks, bars.event_time, bars.input_offset, "
    "bars.idx) IS DISTINCT FROM (EXCLUDED.open_e8, EXCLUDED.high_e8, EXCLUDED.low_e8, EXCLUDED.close_e8, "
    "EXCLUDED.tick_volume, EXCLUDED.spread_min_e8, EXCLUDED.spread_max_e8, EXCLUDED.spread_sum_e8, "
    "EXCLUDED.late_ticks, EXCLUDED.event_time, EXCLUDED.input_offset, EXCLUDED.idx)";

/* rows of the sink (processors' bars) that disagree with what the ticks give */
static const char *const bars_disagree =
    "SELECT s.timeframe_s, to_char(s.open_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), b.out_offset "
    "FROM compact_bars s JOIN bars b USING (symbol, timeframe_s, open_time) WHERE b.out_offset >= 0 AND "
    "(b.open_e8, b.high_e8, b.low_e8, b.close_e8, b.tick_volume) IS DISTINCT FROM "
    "(s.open_e8, s.high_e8, s.low_e8, s.close_e8, s.tick_volume) ORDER BY 1, 2 LIMIT 1";

/* compact's own rows of the day that the ticks no longer give */
static const char *const bars_stale =
    "DELETE FROM bars b WHERE b.symbol = $1 AND b.timeframe_s IN (60, 1800) AND b.open_time >= $2::timestamptz "
    "AND b.open_time < $3::timestamptz AND b.out_offset < 0 AND NOT EXISTS (SELECT 1 FROM compact_bars s "
    "WHERE s.timeframe_s = b.timeframe_s AND s.open_time = b.open_time)";

static const char *const perf_daily_upsert =
    "INSERT INTO perf_daily (symbol, trading_day, trades, wins, win_rate, realized_pnl_e8, sharpe, max_drawdown_e8) "
    "VALUES ($1, $2::date, $3, $4, $5::double precision, $6, $7::double precision, $8) "
    "ON CONFLICT (symbol, trading_day) DO UPDATE SET trades = EXCLUDED.trades, wins = EXCLUDED.wins, "
    "win_rate = EXCLUDED.win_rate, realized_pnl_e8 = EXCLUDED.realized_pnl_e8, sharpe = EXCLUDED.sharpe, "
    "max_drawdown_e8 = EXCLUDED.max_drawdown_e8, computed_at = now() "
    "WHERE (perf_daily.trades, perf_daily.wins, perf_daily.win_rate, perf_daily.realized_pnl_e8, perf_daily.sharpe, "
    "perf_daily.max_drawdown_e8) IS DISTINCT FROM (EXCLUDED.trades, EXCLUDED.wins, EXCLUDED.win_rate, "
    "EXCLUDED.realized_pnl_e8, EXCLUDED.sharpe, EXCLUDED.max_drawdown_e8)";

static const char *const perf_hourly_upsert =
    "INSERT INTO perf_hourly (symbol, trading_day, hour, trades, wins, realized_pnl_e8, max_drawdown_e8) "
    "VALUES ($1, $2::date, $3, $4, $5, $6, $7) ON CONFLICT (symbol, trading_day, hour) DO UPDATE SET "
    "trades = EXCLUDED.trades, wins = EXCLUDED.wins, realized_pnl_e8 = EXCLUDED.realized_pnl_e8, "
    "max_drawdown_e8 = EXCLUDED.max_drawdown_e8 WHERE (perf_hourly.trades, perf_hourly.wins, "
    "perf_hourly.realized_pnl_e8, perf_hourly.max_drawdown_e8) IS DISTINCT FROM (EXCLUDED.trades, EXCLUDED.wins, "
    "EXCLUDED.realized_pnl_e8, EXCLUDED.max_drawdown_e8)";

static const char *const perf_hourly_stale =
    "DELETE FROM perf_hourly WHERE symbol = $1 AND trading_day = $2::date AND NOT (hour = ANY ($3::smallint[]))";

static const char *const sealed_upsert =
    "INSERT INTO sealed_days (symbol, trading_day, path, bytes, file_sha256, content_sha256, day_digest, "
    "input_first, input_last, input_count, output_first, output_last, output_count) "
    "VALUES ($1, $2::date, $3, $4, decode($5, 'hex'), decode($6, 'hex'), decode($7, 'hex'), $8, $9, $10, $11, $12, "
    "$13) ON CONFLICT (symbol, trading_day) DO UPDATE SET path = EXCLUDED.path, bytes = EXCLUDED.bytes, "
    "file_sha256 = EXCLUDED.file_sha256, content_sha256 = EXCLUDED.content_sha256, day_digest = EXCLUDED.day_digest, "
    "input_first = EXCLUDED.input_first, input_last = EXCLUDED.input_last, input_count = EXCLUDED.input_count, "
    "output_first = EXCLUDED.output_first, output_last = EXCLUDED.output_last, output_count = EXCLUDED.output_count, "
    "sealed_at = now() WHERE (sealed_days.path, sealed_days.bytes, sealed_days.file_sha256, "
    "sealed_days.content_sha256, sealed_days.day_digest, sealed_days.input_first, sealed_days.input_last, "
    "sealed_days.input_count, sealed_days.output_first, sealed_days.output_last, sealed_days.output_count) "
    "IS DISTINCT FROM (EXCLUDED.path, EXCLUDED.bytes, EXCLUDED.file_sha256, EXCLUDED.content_sha256, "
    "EXCLUDED.day_digest, EXCLUDED.input_first, EXCLUDED.input_last, EXCLUDED.input_count, EXCLUDED.output_first, "
    "EXCLUDED.output_last, EXCLUDED.output_count)";

typedef struct wh_counts {
    uint64_t bars, perf, sealed;
} wh_counts_t;

static td_err_t write_bars(td_pg_t *pg, day_work_t *work, uint64_t *changed, char *d, size_t dl)
{
    int offset_min = work->opts->pipeline->day_offset_minutes;
    int64_t lo = td_time_trading_day_start(work->opts->day, offset_min);
    int64_t hi = td_time_trading_day_start(td_time_next_day(work->opts->day), offset_min);
    char s_lo[32], s_hi[32];
    td_time_format_iso(lo, s_lo);
    td_time_format_iso(hi, s_hi);
    /* the month partitions of the day's first and last instant, before any other lock on bars in
     * this transaction (migrations/0011: the sink's sessions create partitions too) */
    td_err_t rc = TD_OK;
    for (int i = 0; rc == TD_OK && i < 2; i++) {
        const char *params[1] = {i == 0 ? s_lo : s_hi};
        rc = td_pg_exec_params(pg, "SELECT td_ensure_month_partition('bars', $1::timestamptz)", 1, params, NULL, d, dl);
    }
    if (rc == TD_OK)
        rc = td_pg_exec(pg, "CREATE TEMP TABLE IF NOT EXISTS compact_bars (LIKE bars) ON COMMIT DELETE ROWS", d, dl);
    if (rc == TD_OK)
        rc = td_pg_copy_finish(&work->bars);
    uint64_t copied = 0;
    if (rc == TD_OK)
        rc = td_pg_copy_in(pg, "COPY compact_bars (" BAR_COLS ") FROM STDIN (FORMAT binary)",
                           td_buf_slice(&work->bars.buf), &copied, d, dl);
    if (rc == TD_OK && copied != work->bars.rows)
        rc = td_err_set(d, dl, TD_ERR_STATE, "COPY into compact_bars took %" PRIu64 " of %" PRIu64 " rows", copied,
                        work->bars.rows);
    td_pg_rows_t *rows = NULL;
    if (rc == TD_OK)
        rc = td_pg_query(pg, bars_disagree, 0, NULL, &rows, d, dl);
    if (rc == TD_OK && td_pg_rows_count(rows) > 0)
        rc = td_err_set(d, dl, TD_ERR_MISMATCH,
                        "%s %s: the warehouse's bar %s s at %s (written by the sink from output offset %s) differs "
                        "from the bar the tape's ticks give",
                        work->symbol, work->date, td_pg_rows_get(rows, 0, 0), td_pg_rows_get(rows, 0, 1),
                        td_pg_rows_get(rows, 0, 2));
    td_pg_rows_destroy(rows);
    uint64_t n = 0;
    if (rc == TD_OK)
        rc = td_pg_exec_params(pg, bars_upsert, 0, NULL, &n, d, dl);
    *changed += n;
    const char *params[3] = {work->symbol, s_lo, s_hi};
    n = 0;
    if (rc == TD_OK)
        rc = td_pg_exec_params(pg, bars_stale, 3, params, &n, d, dl);
    *changed += n;
    return rc;
}

static td_err_t write_perf(td_pg_t *pg, day_work_t *work, uint64_t *changed, char *d, size_t dl)
{
    const td_metrics_totals_t *t = &work->day.day;
    char s_trades[24], s_wins[24], s_rate[40], s_pnl[24], s_sharpe[40], s_dd[24];
    snprintf(s_trades, sizeof s_trades, "%" PRIu64, t->trades);
    snprintf(s_wins, sizeof s_wins, "%" PRIu64, t->wins);
    snprintf(s_rate, sizeof s_rate, "%.17g", t->trades ? (double)t->wins / (double)t->trades : 0.0);
    snprintf(s_pnl, sizeof s_pnl, "%" PRId64, t->realized_pnl);
    double sharpe = 0.0;
    bool has_sharpe = day_sharpe(work, &sharpe);
    snprintf(s_sharpe, sizeof s_sharpe, "%.17g", sharpe);
    snprintf(s_dd, sizeof s_dd, "%" PRId64, t->max_drawdown);
    const char *params[8] = {
        work->symbol, work->date, s_trades, s_wins, t->trades ? s_rate : NULL, s_pnl, has_sharpe ? s_sharpe : NULL,
        s_dd};
    uint64_t n = 0;
    td_err_t rc = td_pg_exec_params(pg, perf_daily_upsert, 8, params, &n, d, dl);
    *changed += n;
    char hours[128] = "{";
    for (int h = 0; rc == TD_OK && h < 24; h++) {
        const td_metrics_totals_t *ht = &work->hours[h].day;
        if (ht->trades == 0)
            continue;
        char s_h[8];
        snprintf(s_h, sizeof s_h, "%d", h);
        size_t len = strlen(hours);
        snprintf(hours + len, sizeof hours - len, "%s%d", len > 1 ? "," : "", h);
        snprintf(s_trades, sizeof s_trades, "%" PRIu64, ht->trades);
        snprintf(s_wins, sizeof s_wins, "%" PRIu64, ht->wins);
        snprintf(s_pnl, sizeof s_pnl, "%" PRId64, ht->realized_pnl);
        snprintf(s_dd, sizeof s_dd, "%" PRId64, ht->max_drawdown);
        const char *hp[7] = {work->symbol, work->date, s_h, s_trades, s_wins, s_pnl, s_dd};
        n = 0;
        rc = td_pg_exec_params(pg, perf_hourly_upsert, 7, hp, &n, d, dl);
        *changed += n;
    }
    size_t len = strlen(hours);
    snprintf(hours + len, sizeof hours - len, "}");
    const char *sp[3] = {work->symbol, work->date, hours};
    n = 0;
    if (rc == TD_OK)
        rc = td_pg_exec_params(pg, perf_hourly_stale, 3, sp, &n, d, dl);
    *changed += n;
    if (rc == TD_OK) {
        char line[160];
        if (has_sharpe)
            snprintf(line, sizeof line, "%.4f", sharpe);
        else
            snprintf(line, sizeof line, "n/a");
        say(work, "perf: %" PRIu64 " trades, %" PRIu64 " wins, realised P&L %.2f, max drawdown %.2f, sharpe %s (%s)",
            t->trades, t->wins, (double)t->realized_pnl / (double)TD_FX_SCALE,
            (double)t->max_drawdown / (double)TD_FX_SCALE, line, *changed ? "written" : "already done");
    }
    return rc;
}

static td_err_t write_sealed_row(td_pg_t *pg, day_work_t *work, const seal_info_t *info, uint64_t *changed, char *d,
                                 size_t dl)
{
    char s_bytes[24], s_file[65], s_content[65], s_digest[65], v[6][24];
    snprintf(s_bytes, sizeof s_bytes, "%" PRIu64, info->bytes);
    td_digest_hex(info->file_sha, s_file);
    td_digest_hex(info->content_sha, s_content);
    td_digest_hex(work->digest.sha256, s_digest);
    const td_day_range_t *r[2] = {&work->inputs, &work->outputs};
    for (int i = 0; i < 2; i++) {
        snprintf(v[3 * i], sizeof v[0], "%" PRIu64, r[i]->first_offset);
        snprintf(v[3 * i + 1], sizeof v[0], "%" PRIu64, r[i]->last_offset);
        snprintf(v[3 * i + 2], sizeof v[0], "%" PRIu64, r[i]->count);
    }
    const char *params[13] = {work->symbol, work->date, info->path, s_bytes, s_file, s_content, s_digest,
                              v[0],         v[1],       v[2],       v[3],    v[4],   v[5]};
    uint64_t n = 0;
    td_err_t rc = td_pg_exec_params(pg, sealed_upsert, 13, params, &n, d, dl);
    *changed += n;
    return rc;
}

static td_err_t warehouse(td_pg_t *pg, day_work_t *work, const seal_info_t *info, wh_counts_t *counts, char *errbuf,
                          size_t errlen)
{
    char d[1024] = "";
    td_err_t rc = td_pg_begin(pg, d, sizeof d);
    if (rc == TD_OK)
        rc = write_bars(pg, work, &counts->bars, d, sizeof d);
    if (rc == TD_OK)
        say(work, "bars: %" PRIu64 " M1 + %" PRIu64 " M30 (%s)", work->n_m1, work->n_m30,
            counts->bars ? "upserted" : "already done");
    if (rc == TD_OK)
        rc = write_perf(pg, work, &counts->perf, d, sizeof d);
    if (rc == TD_OK)
        rc = write_sealed_row(pg, work, info, &counts->sealed, d, sizeof d);
    if (rc == TD_OK)
        rc = td_pg_commit(pg, d, sizeof d);
    if (rc != TD_OK) {
        td_pg_rollback(pg);
        if (rc == TD_ERR_MISMATCH)
            return td_err_set(errbuf, errlen, rc, "%s", d);
        return td_err_set(errbuf, errlen, rc, "%s %s: warehouse: %s", work->symbol, work->date, d);
    }
    return TD_OK;
}

/* --- step 4b: the tape's meta record --- */

static td_err_t record_meta(td_tape_t *tape, day_work_t *work, const seal_info_t *info, bool *written, char *errbuf,
                            size_t errlen)
{
    char key[64], hex[65], val[4400];
    snprintf(key, sizeof key, "seal/%s/%08" PRIu32, work->symbol, work->opts->day);
    td_digest_hex(info->file_sha, hex);
    int n = snprintf(val, sizeof val, "%s %" PRIu64 " %s", info->path, info->bytes, hex);
    TD_ASSERT(n > 0 && (size_t)n < sizeof val);
    td_buf_t have;
    td_buf_init(&have);
    char detail[512] = ""; /* the tape's detail of a failed call */
    td_err_t rc = td_tape_get_meta(tape, key, &have, detail, sizeof detail);
    *written = false;
    if (rc == TD_OK && have.len == (size_t)n && memcmp(have.ptr, val, (size_t)n) == 0) {
        td_buf_fini(&have);
        return TD_OK;
    }
    td_buf_fini(&have);
    td_tape_batch_t *batch = NULL;
    rc = td_tape_batch_new(tape, &batch, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_tape_batch_put_meta(batch, key, val, (size_t)n, detail, sizeof detail);
    if (rc == TD_OK) {
        rc = td_tape_commit(tape, batch, detail, sizeof detail);
        batch = NULL;
    }
    td_tape_batch_destroy(batch);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s %s: recording the seal in the tape's meta failed: %s", work->symbol,
                          work->date, detail);
    *written = true;
    return TD_OK;
}

/* The first trading day of the window of `keep` days ending with the compacted day. */
static uint32_t window_start(const day_work_t *work, uint32_t keep)
{
    int offset_min = work->opts->pipeline->day_offset_minutes;
    int64_t ms = td_time_trading_day_start(work->opts->day, offset_min) - (int64_t)(keep - 1) * 86400000;
    return td_time_trading_day(ms, offset_min);
}

/* --- step 5: retention: M1 bars and raw tape events of old sealed days --- */

/* Deletes this symbol's M1 bars (timeframe 60 s, written by compact or the sink) that lie inside a
 * sealed day (sealed_days) before the window of retain_m1_days trading days ending with the
 * compacted day. A day that is not sealed keeps its bars: its ticks have not been checked and
 * archived yet. One statement: atomic; a second run finds nothing to delete. */
static td_err_t retain_m1(td_pg_t *pg, day_work_t *work, uint64_t *deleted, char *errbuf, size_t errlen)
{
    uint32_t keep = work->opts->retain_m1_days;
    *deleted = 0;
    if (keep == 0) {
        say(work, "retention: compact.retain_m1_days is 0, the warehouse keeps every M1 bar");
        return TD_OK;
    }
    int offset_min = work->opts->pipeline->day_offset_minutes;
    uint32_t first_kept = window_start(work, keep);
    char s_day[16], s_offset[16], s_cut[32];
    snprintf(s_day, sizeof s_day, "%08" PRIu32, first_kept);
    snprintf(s_offset, sizeof s_offset, "%d", offset_min);
    td_time_format_iso(td_time_trading_day_start(first_kept, offset_min), s_cut);
    const char *params[4] = {work->symbol, s_cut, s_day, s_offset};
    char detail[512] = "";
    td_err_t rc = td_pg_exec_params(
        pg,
        "DELETE FROM bars b USING sealed_days s WHERE b.symbol = $1 AND b.timeframe_s = 60 "
        "AND b.open_time < $2::timestamptz AND s.symbol = b.symbol AND s.trading_day < $3::date "
        "AND b.open_time >= (s.trading_day::timestamp AT TIME ZONE 'UTC') - make_interval(mins => $4::int) "
        "AND b.open_time < (s.trading_day::timestamp AT TIME ZONE 'UTC') + interval '1 day' - "
        "make_interval(mins => $4::int)",
        4, params, deleted, detail, sizeof detail);
    if (rc != TD_OK)
        return td_err_set(errbuf, errlen, rc, "%s %s: retention of M1 bars: %s", work->symbol, work->date, detail);
    say(work,
        "retention: %" PRIu64 " M1 bar(s) of sealed days before %08" PRIu32 " deleted (compact.retain_m1_days %" PRIu32
        "; M30 and longer bars, fills, trades and summaries are kept)",
        *deleted, first_kept, keep);
    return TD_OK;
}

typedef struct old_days {
    uint32_t before; /* days < before */
    uint32_t *days;
    size_t n, cap;
} old_days_t;

static td_err_t collect_old(void *opaque, const td_day_range_t *range)
{
    old_days_t *old = opaque;
    if (range->trading_day >= old->before)
        return TD_OK;
    if (old->n == old->cap) {
        size_t cap = old->cap ? old->cap * 2 : 32;
        uint32_t *p = realloc(old->days, cap * sizeof *p);
        if (!p)
            return TD_ERR_NOMEM;
        old->days = p;
        old->cap = cap;
    }
    old->days[old->n++] = range->trading_day;
    return TD_OK;
}

/* Retires (td_tape_retire_day) the raw tape events of this symbol's sealed days before the window
 * of retain_raw_days trading days ending with the compacted day: replay, audit, backtests and the
 * sink read those days from their sealed files from then on. A day is sealed when an earlier
 * compact recorded its seal in the tape's meta ("seal/SYMBOL/YYYYMMDD", written after the sealed
 * file and the warehouse); a day without that record keeps its events, as does the stream's
 * newest day. td_tape_retire_day verifies each file against the tape first and is atomic, so a
 * second run, or a run after a crash, retires only what is left. */
static td_err_t retain_raw(td_tape_t *tape, day_work_t *work, uint32_t *retired, char *errbuf, size_t errlen)
{
    uint32_t keep = work->opts->retain_raw_days;
    *retired = 0;
    if (keep == 0) {
        say(work, "retention: compact.retain_raw_days is 0, the tape keeps every raw event");
        return TD_OK;
    }
    old_days_t old = {.before = window_start(work, keep)};
    td_err_t rc = td_tape_days(tape, TD_STREAM_INPUT, work->symbol, collect_old, &old, NULL, 0);
    if (rc != TD_OK)
        rc = td_err_set(errbuf, errlen, rc, "%s: listing the tape's days failed", work->symbol);
    uint32_t already = 0, unsealed = 0, newest = 0, first = 0, last = 0;
    td_buf_t meta;
    td_buf_init(&meta);
    for (size_t i = 0; rc == TD_OK && i < old.n; i++) {
        uint32_t day = old.days[i];
        bool done = false, now = false;
        char key[64];
        snprintf(key, sizeof key, "seal/%s/%08" PRIu32, work->symbol, day);
        rc = td_tape_day_retired(tape, work->symbol, day, &done, NULL, 0);
        if (rc == TD_OK && done) {
            already++;
            continue;
        }
        if (rc == TD_OK) {
            rc = td_tape_get_meta(tape, key, &meta, NULL, 0);
            if (rc == TD_ERR_NOT_FOUND) {
                unsealed++;
                rc = TD_OK;
                continue;
            }
        }
        if (rc == TD_OK)
            rc = td_tape_retire_day(tape, work->symbol, day, &now, errbuf, errlen);
        if (rc == TD_ERR_STATE) {
            newest++; /* the stream's newest day keeps its events */
            rc = TD_OK;
            continue;
        }
        if (rc != TD_OK) {
            char detail[1024];
            snprintf(detail, sizeof detail, "%s", errbuf);
            rc =
                td_err_set(errbuf, errlen, rc, "%s %08" PRIu32 ": retention of raw events refused, nothing removed: %s",
                           work->symbol, day, detail);
            break;
        }
        if (now && (*retired)++ == 0)
            first = day;
        if (now)
            last = day;
    }
    td_buf_fini(&meta);
    free(old.days);
    if (rc != TD_OK)
        return rc;
    char now_text[64] = "";
    if (*retired)
        snprintf(now_text, sizeof now_text, " (%08" PRIu32 "..%08" PRIu32 ")", first, last);
    say(work,
        "retention: raw events of %" PRIu32 " sealed day(s) before %08" PRIu32 " retired now%s, %" PRIu32
        " already; %" PRIu32 " unsealed and %" PRIu32 " newest day(s) keep theirs (compact.retain_raw_days %" PRIu32
        "; replay, audit and backtests read retired "
        "days from their sealed files)",
        *retired, old.before, now_text, already, unsealed, newest, keep);
    return TD_OK;
}

/* --- one symbol --- */

static td_err_t compact_symbol(td_tape_t *tape, td_pg_t *pg, day_work_t *work, td_compact_stats_t *stats, char *errbuf,
                               size_t errlen)
{
    /* step 1 in its own thread (or in this one when none can be started) while this one reads */
    verify_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return TD_ERR_NOMEM;
    job->tape = tape;
    job->work = work;
    pthread_t thread;
    bool threaded = pthread_create(&thread, NULL, verify_run, job) == 0;
    if (!threaded)
        verify_run(job);
    char read_err[1024] = "";
    td_err_t read_rc = TD_OK;
    if (td_tape_day_get(tape, TD_STREAM_OUTPUT, work->symbol, work->opts->day, &work->outputs, NULL, 0) != TD_OK)
        read_rc = td_err_set(read_err, sizeof read_err, TD_ERR_MISMATCH,
                             "%s %s: day not closed / not processed yet: no outputs", work->symbol, work->date);
    if (read_rc == TD_OK)
        read_rc = read_inputs(tape, work, read_err, sizeof read_err);
    if (read_rc == TD_OK)
        read_rc = read_outputs(tape, work, read_err, sizeof read_err);
    if (threaded)
        pthread_join(thread, NULL);
    /* the replay's verdict first: it names what is wrong with the day best */
    td_err_t rc = verify_verdict(work, job, errbuf, errlen);
    free(job);
    if (rc == TD_OK && read_rc != TD_OK)
        rc = td_err_set(errbuf, errlen, read_rc, "%s", read_err);
    seal_info_t info = {0};
    if (rc == TD_OK)
        rc = seal(work, &info, errbuf, errlen);
    wh_counts_t counts = {0};
    if (rc == TD_OK)
        rc = warehouse(pg, work, &info, &counts, errbuf, errlen);
    bool meta_written = false;
    if (rc == TD_OK)
        rc = record_meta(tape, work, &info, &meta_written, errbuf, errlen);
    if (rc == TD_OK) {
        char hex[65];
        td_digest_hex(info.file_sha, hex);
        say(work, "sealed: %s, %" PRIu64 " bytes, sha256 %s (%s)", info.path, info.bytes, hex,
            info.written                    ? "written"
            : meta_written || counts.sealed ? "verified, record restored"
                                            : "already done, verified");
    }
    uint64_t m1_deleted = 0;
    if (rc == TD_OK)
        rc = retain_m1(pg, work, &m1_deleted, errbuf, errlen);
    uint32_t retired = 0;
    if (rc == TD_OK)
        rc = retain_raw(tape, work, &retired, errbuf, errlen);
    if (rc == TD_OK) {
        stats->symbols++;
        stats->bars_m1 += work->n_m1;
        stats->bars_m30 += work->n_m30;
        stats->rows_changed += counts.bars + counts.perf + counts.sealed + m1_deleted;
        stats->m1_deleted += m1_deleted;
        stats->sealed_new += info.written;
        stats->days_retired += retired;
    }
    return rc;
}

td_err_t td_compact_day(td_tape_t *tape, td_pg_t *pg, const td_compact_opts_t *opts, td_compact_stats_t *stats,
                        char *errbuf, size_t errlen)
{
    TD_ASSERT(opts->xz_preset >= 0 && opts->xz_preset <= 9);
    memset(stats, 0, sizeof *stats);
    td_symbol_list_t list = {0};
    td_err_t rc = opts->symbol ? td_symbol_list_add(&list, opts->symbol, errbuf, errlen)
                               : td_tape_symbol_list(tape, TD_STREAM_INPUT, &list, NULL, 0);
    day_work_t *work = calloc(1, sizeof *work);
    if (rc == TD_OK && !work)
        rc = TD_ERR_NOMEM;
    uint32_t with_inputs = 0;
    for (size_t i = 0; rc == TD_OK && i < list.len; i++) {
        memset(work, 0, sizeof *work);
        work->opts = opts;
        snprintf(work->symbol, sizeof work->symbol, "%s", list.names[i]);
        snprintf(work->date, sizeof work->date, "%04" PRIu32 "-%02" PRIu32 "-%02" PRIu32, opts->day / 10000 % 10000,
                 opts->day / 100 % 100, opts->day % 100);
        if (td_tape_day_get(tape, TD_STREAM_INPUT, work->symbol, opts->day, &work->inputs, NULL, 0) != TD_OK)
            continue;
        with_inputs++;
        td_buf_init(&work->content);
        td_pg_copy_init(&work->bars);
        rc = compact_symbol(tape, pg, work, stats, errbuf, errlen);
        td_buf_fini(&work->content);
        td_pg_copy_fini(&work->bars);
        free(work->nets);
    }
    if (rc == TD_OK && with_inputs == 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_NOT_FOUND, "no inputs on trading day %08" PRIu32 "%s%s", opts->day,
                        opts->symbol ? " for " : "", opts->symbol ? opts->symbol : "");
    free(work);
    td_symbol_list_fini(&list);
    return rc;
}
