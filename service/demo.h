/* demo.h - the steps of `tapedeck demo`: one trading day through the live pipeline, on this machine.
 *
 * The demo sets up a fresh data directory (PARENT/demo-XXXXXX) with its own configuration
 * (demo.yaml: the symbols' specs, broker.mode external, a random gateway token, a free port), puts
 * a parameter set per symbol on the tape, starts `tapedeck run` (gateway, processor and order router
 * in one process, local tape) as a child process, runs `tapedeck feed` against it, stops the service
 * with SIGTERM, and runs `tapedeck replay` of each day. The children are the running binary
 * (/proc/self/exe, which must be tapedeck); their stdout goes to DIR/feed.out and DIR/replay.out,
 * their stderr to DIR/run.log, DIR/feed.log and DIR/replay.log. What the day brought is read from
 * the tape (td_demo_summarise). The caller chooses the symbols and the feed's data and prints.
 *
 * Threads: one (the caller's); the children are waited for with a timeout and killed past it.
 */
#ifndef TD_SERVICE_DEMO_H
#define TD_SERVICE_DEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/digest.h"
#include "core/err.h"
#include "core/tape.h"

#define TD_DEMO_SYMBOLS_MAX 8
#define TD_DEMO_DAYS_MAX 64

typedef struct td_demo_symbol {
    char name[TD_SYMBOL_MAX + 1];
    int digits;
    char contract_size[48];
    const char *strategy;
    const char *params; /* "name=value,..." sorted by name; outlives the demo */
} td_demo_symbol_t;

typedef struct td_demo {
    td_demo_symbol_t syms[TD_DEMO_SYMBOLS_MAX]; /* the caller's choice, before td_demo_setup */
    size_t n_syms;
    char dir[4096], config_path[4200], token[40]; /* td_demo_setup's */
    pid_t run_pid;                                /* the service's child while it runs; else 0 */
    int run_out;                                  /* the read end of its stdout; else -1 */
    char run_text[8192];                          /* what it printed (the startup line, its totals) */
    size_t run_len;
    char port[16]; /* the gateway's port, from its startup line */
} td_demo_t;

/* What the tape says about one symbol's day (td_demo_summarise). */
typedef struct td_demo_summary {
    uint64_t inputs, ticks, clocks, execs, bars, intents, fills, trades;
    int64_t last_volume, realized, commission, swap;
    uint8_t digest[TD_SHA256_LEN];
    bool has_digest;
} td_demo_summary_t;

/* Empties *demo (no symbol, no child). */
void td_demo_init(td_demo_t *demo);
/* Kills the service's child if it still runs and closes its pipe. */
void td_demo_fini(td_demo_t *demo);

/* Creates PARENT (if missing) and a fresh PARENT/demo-XXXXXX in demo->dir, writes demo.yaml there
 * (a random gateway token, port 0, broker.mode external, the symbols' specs) and loads it into
 * config. TD_ERR_IO (detail in errbuf), TD_ERR_CONFIG when the file does not load. */
td_err_t td_demo_setup(td_demo_t *demo, const char *parent, td_config_t *config, char *errbuf, size_t errlen) TD_WUR;

/* Puts each symbol's parameter set on the demo's tape as a ParamsChanged input at time `at`, in
 * one commit, so it takes effect before any tick. */
td_err_t td_demo_push_params(const td_demo_t *demo, const td_config_t *config, int64_t at, char *errbuf,
                             size_t errlen) TD_WUR;

/* Starts `tapedeck run` on the demo's directory and config and waits for its startup line (up to
 * 30 s), taking the port from it. TD_ERR_IO when it did not start (the child is killed). */
td_err_t td_demo_start_run(td_demo_t *demo, char *errbuf, size_t errlen) TD_WUR;

/* Runs `tapedeck feed` against the service with the demo's token and account "demo", fast, in step
 * with the bars, heartbeats every 60 s, its state in DIR/feed.state, then the options of `data`
 * (NULL-terminated: the tick files, or the synthetic day); waits for it (up to 300 s). TD_ERR_IO
 * when it cannot start, fails or does not finish. */
td_err_t td_demo_feed(td_demo_t *demo, const char *const data[], char *errbuf, size_t errlen) TD_WUR;

/* SIGTERM to the service; waits for it (up to 30 s) and reads the rest of its output. TD_ERR_IO
 * when it did not exit 0. */
td_err_t td_demo_stop_run(td_demo_t *demo, char *errbuf, size_t errlen) TD_WUR;

/* Counts what the tape holds for symbol: inputs by kind (fills: the executions of the strategy's
 * intents, not the stop/target exits), outputs by kind, the last position and the day digest. */
td_err_t td_demo_summarise(td_tape_t *tape, const char *symbol, td_demo_summary_t *summary) TD_WUR;

/* The trading days of the symbols' input streams (all symbols, once each, ascending; a stream's
 * day of one event before 1970-01-02 is not a day of the files), at most TD_DEMO_DAYS_MAX. */
td_err_t td_demo_days(const td_demo_t *demo, const td_config_t *config, uint32_t days[TD_DEMO_DAYS_MAX], size_t *n,
                      char *errbuf, size_t errlen) TD_WUR;

/* Runs `tapedeck replay --date date` on the demo (up to 120 s), its output in DIR/replay.out.
 * TD_OK when the day replayed equal, TD_ERR_MISMATCH when it did not (exit 1; errbuf untouched),
 * TD_ERR_IO when the replay failed otherwise. */
td_err_t td_demo_replay(const td_demo_t *demo, const char *date, char *errbuf, size_t errlen) TD_WUR;

#endif
