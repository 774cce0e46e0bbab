/* cli.h - what every `tapedeck` command shares: global options, the config, the log, the tape.
 *
 * Exit codes (DESIGN): 0 ok, 1 a failed check, 2 bad usage or input, 3 the environment failed.
 * Errors are one line on stderr: "tapedeck <command>: <what, naming file, line and field>".
 */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>

#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "core/names.h"
#include "core/tape.h"

#define TD_EXIT_OK 0
#define TD_EXIT_CHECK 1
#define TD_EXIT_USAGE 2
#define TD_EXIT_ENV 3

typedef struct td_cli {
    const char *program;  /* argv[0], for commands printed for the user to run */
    const char *command;  /* "import", "process", ... */
    const char *data_dir; /* --data-dir, $TAPEDECK_HOME, else ./var */
    const char *config_path;
    td_config_t *config;
    td_log_t log;
} td_cli_t;

/* Prints "tapedeck <command>: <message>" to stderr and returns the exit code for rc. */
int td_cli_fail(const td_cli_t *cli, td_err_t rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prints a usage error and returns TD_EXIT_USAGE. */
int td_cli_usage(const td_cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Opens the tape of the data directory (creating the directory unless read_only). */
td_err_t td_cli_open_tape(td_cli_t *cli, bool read_only, td_tape_t **tape, char *errbuf, size_t errlen) TD_WUR;

/* Parses "2019-02-04" or "20190204" into YYYYMMDD; TD_ERR_INVALID otherwise. */
td_err_t td_cli_parse_date(const char *s, uint32_t *yyyymmdd) TD_WUR;

/* A tick FILE argument of feed and demo: SYMBOL=PATH names its symbol (SYMBOL: 1..TD_SYMBOL_MAX
 * characters, no '/', TAB or line end), any other argument is a PATH of default_symbol. Fills
 * symbol and *path (into arg); false when the argument names no symbol and default_symbol is NULL. */
bool td_cli_tick_file(const char *arg, const char *default_symbol, char symbol[TD_SYMBOL_MAX + 1], const char **path);

/* A whole decimal number in [lo, hi] (no sign other than '-', no spaces, nothing after it);
 * false otherwise, *out untouched. */
bool td_cli_parse_long(const char *s, long lo, long hi, long *out);

/* True when argv holds -h or --help. */
bool td_cli_wants_help(int argc, char **argv);

int td_cmd_import(td_cli_t *cli, int argc, char **argv);
int td_cmd_process(td_cli_t *cli, int argc, char **argv);
int td_cmd_replay(td_cli_t *cli, int argc, char **argv);
int td_cmd_audit(td_cli_t *cli, int argc, char **argv);
int td_cmd_dump(td_cli_t *cli, int argc, char **argv);
int td_cmd_bars(td_cli_t *cli, int argc, char **argv);
int td_cmd_params(td_cli_t *cli, int argc, char **argv);
int td_cmd_params_propose(td_cli_t *cli, int argc, char **argv);
int td_cmd_config(td_cli_t *cli, int argc, char **argv);
int td_cmd_days(td_cli_t *cli, int argc, char **argv);
int td_cmd_demo(td_cli_t *cli, int argc, char **argv);
int td_cmd_backtest(td_cli_t *cli, int argc, char **argv);
int td_cmd_migrate(td_cli_t *cli, int argc, char **argv);
int td_cmd_sink(td_cli_t *cli, int argc, char **argv);
int td_cmd_run(td_cli_t *cli, int argc, char **argv);
int td_cmd_feed(td_cli_t *cli, int argc, char **argv);
int td_cmd_compact(td_cli_t *cli, int argc, char **argv);

/* The names of the streams of `kind` (or just `only`, if it has one), in byte order; free them with
 * td_symbol_list_fini. TD_ERR_NOT_FOUND when `only` has no such stream; the tape's detail of a
 * failure in errbuf. */
td_err_t td_cli_list_symbols(td_tape_t *tape, td_stream_kind_t kind, const char *only, td_symbol_list_t *symbols,
                             char *errbuf, size_t errlen) TD_WUR;

#endif
