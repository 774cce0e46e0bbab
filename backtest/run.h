/* run.h - one backtest run: a strategy's grid over the bars of one or many symbols, with the
 * overfitting statistics, optional walk-forward, and its reports.
 *
 * Per symbol (td_bt_run_symbol): the bars are read (backtest/source.h) and checked, gaps counted,
 * every grid combination runs on N threads (backtest/grid.h) and each row is written in
 * combination order whatever the thread count: one CSV row per parameter set, optional trade and
 * equity files, or one JSON document. Each row's daily returns are folded into the DSR and PBO
 * (backtest/validate.h); walk-forward adds the concatenated out-of-sample result
 * (backtest/walkforward.h); --warehouse stores the run in PostgreSQL (backtest/warehouse.h), one
 * transaction per symbol. The text summary (bars, gaps, refusals, best sets, DSR, PBO,
 * walk-forward, throughput) goes to outputs->summary; the timing is never in a result file, so
 * result files are byte-identical across runs and thread counts.
 *
 * A run with several symbols (a grid file) is td_bt_run_begin, td_bt_run_symbol per symbol in order,
 * td_bt_run_end; one symbol is the same with multi false.
 *
 * Errors: TD_ERR_IO when an output cannot be written, TD_ERR_PARSE / TD_ERR_INVALID /
 * TD_ERR_NOT_FOUND from the bars, the libpq adapter's codes from the warehouse, TD_ERR_NOMEM; the
 * message (file, line, field) in errbuf.
 *
 * Threading: the calling thread; the grid's workers never call the writers (grid.h delivers rows
 * on the calling thread).
 */
#ifndef TD_BACKTEST_RUN_H
#define TD_BACKTEST_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backtest/engine.h"
#include "backtest/grid.h"
#include "backtest/gridfile.h"
#include "backtest/walkforward.h"
#include "core/config.h"
#include "core/err.h"
#include "import/import.h"

#define TD_BT_BEST_MAX 100

/* How every symbol of the run is tested. */
typedef struct td_bt_opts {
    const char *strategy, *spec; /* the strategy's name, the grid as given */
    long threads;                /* 0 = the number of cores */
    long spread_points;          /* -1: the bars' spread */
    long slippage;               /* -1: broker.slippage_points */
    long best_n;                 /* best sets in the reports, 0..TD_BT_BEST_MAX */
    int64_t commission;          /* per lot per side; -1: broker.commission_per_lot */
    int64_t capital;             /* initial equity, 1e8 scale */
    bool costs;                  /* false: no spread, slippage, commission or swap */
    td_backtest_basis_t basis;   /* what the prices are (bid or mid) */
    unsigned conventions;        /* TD_BACKTEST_* bits (backtest/engine.h) */
    bool wf;                     /* walk-forward, with wf_text, wf_spec and wf_metric */
    const char *wf_text;         /* as given (24m:6m) */
    td_wf_spec_t wf_spec;
    td_wf_metric_t wf_metric;
    unsigned pbo_blocks; /* CSCV blocks of the PBO */
    bool to_warehouse;   /* store the run in PostgreSQL */
} td_bt_opts_t;

/* One symbol and where its bars are. */
typedef struct td_bt_job {
    const char *symbol, *data; /* data: a file, "tape" or "warehouse" (source.h) */
    bool from_file;
    td_import_format_t format; /* files only */
    uint32_t timeframe_s;      /* tape and warehouse: 0 = the source's default */
    int tz_offset;             /* files only: the file's clock is UTC+tz_offset minutes */
} td_bt_job_t;

/* What the final summary needs of a symbol once its run is over. */
typedef struct td_bt_done {
    bool have_best;
    uint64_t index;
    double sharpe;
    uint64_t trades;
    td_money_t net_pnl;
    double dsr, pbo;
} td_bt_done_t;

/* Where the reports go; a NULL file is not written. The caller opens and closes them. */
typedef struct td_bt_outputs {
    FILE *csv;         /* one row per parameter set */
    FILE *trades;      /* one row per trade of every set */
    FILE *equity;      /* one row per set and trading day */
    FILE *summary_csv; /* one row per symbol */
    FILE *wf, *wf_trades, *wf_equity;
    FILE *json;    /* the JSON document */
    FILE *summary; /* the text summary */
    /* called after each row (on the calling thread), e.g. for a progress bar; NULL for none */
    void (*progress)(void *opaque, uint64_t done, uint64_t total);
    void *progress_opaque;
} td_bt_outputs_t;

/* Where a run's files go (NULL: not written) and whether the results are a JSON document. */
typedef struct td_bt_output_paths {
    const char *results; /* NULL: the results CSV to stdout, unless json */
    const char *trades, *equity, *summary_csv, *wf, *wf_trades, *wf_equity;
    bool json; /* the results as one JSON document on stdout */
} td_bt_output_paths_t;

/* Creates the files of paths into outputs (the summary text to stdout when the results go to a
 * file, else to stderr). TD_ERR_IO naming the first file that cannot be created; outputs then
 * holds the ones that were, for td_bt_outputs_close. */
td_err_t td_bt_outputs_open(const td_bt_output_paths_t *paths, td_bt_outputs_t *outputs, char *errbuf,
                            size_t errlen) TD_WUR;
/* Closes the files of outputs and flushes stdout; a failed close or flush is TD_ERR_IO in errbuf,
 * unless rc is already a failure, which is returned as it is. */
td_err_t td_bt_outputs_close(td_bt_outputs_t *outputs, td_err_t rc, char *errbuf, size_t errlen) TD_WUR;

/* The jobs of a grid file read from path (backtest/gridfile.h), one per symbol in its order; they
 * point into gf. TD_ERR_INVALID for a timeframe or format that is not a bar one, the message
 * naming the file, line and field. */
td_err_t td_bt_run_gridfile_jobs(const char *path, const td_gridfile_t *gf, td_bt_job_t *jobs, size_t *n_jobs,
                                 char *errbuf, size_t errlen) TD_WUR;

/* Writes the header lines of the CSV files (multi: a symbol column first) and, with a JSON
 * document of several symbols, its opening ({"grid_file": ..., "runs": [). */
td_err_t td_bt_run_begin(const td_bt_outputs_t *outputs, const td_grid_t *grid, bool multi, const char *grid_file,
                         char *errbuf, size_t errlen) TD_WUR;

/* Runs job (the n-th symbol, 0 first) with config's symbol section, broker and session keys;
 * data_dir holds the tape for data "tape". Fills *done. */
td_err_t td_bt_run_symbol(const td_config_t *config, const char *data_dir, const td_bt_opts_t *opts,
                          const td_grid_t *grid, const td_bt_job_t *job, size_t n, bool multi,
                          const td_bt_outputs_t *outputs, td_bt_done_t *done, char *errbuf, size_t errlen) TD_WUR;

/* Closes the JSON document and, with several symbols, writes the best set per symbol. */
td_err_t td_bt_run_end(const td_bt_outputs_t *outputs, const td_grid_t *grid, bool multi, const td_bt_job_t *jobs,
                       const td_bt_done_t *done, size_t n_jobs, char *errbuf, size_t errlen) TD_WUR;

#endif
