/* cmd_params_propose.c - `tapedeck params propose`: a parameter file for a symbol, written only from
 * a set whose evidence passes the configured thresholds.
 *
 * The evidence is a `tapedeck backtest --json --walk-forward IS:OOS` report (backtest/report.h),
 * judged as backtest/propose.h says. Every failed threshold is named on one line, exit 1, and
 * nothing is written. Otherwise the set is checked with the strategy's own rules and the file is
 * written (core/params_file.h): version = 1 + the version of the file it replaces (same symbol),
 * replaced atomically (temporary file + rename).
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backtest/propose.h"
#include "backtest/report.h"
#include "cli/cli.h"
#include "core/params_file.h"
#include "core/buf.h"
#include "core/fixed.h"
#include "processors/strategy.h"

static void help(void)
{
    printf("usage: tapedeck params propose --symbol S --report REPORT [--out FILE] [--min-dsr X] [--max-pbo X]\n"
           "                               [--min-oos-trades N] [--min-oos-sharpe X]\n"
           "\n"
           "Writes the parameter file of symbol S (default S.params.yaml) from the best set by Sharpe of\n"
           "REPORT, a `tapedeck backtest --json --walk-forward IS:OOS` document, only when it passes:\n"
           "  DSR >= params.min_dsr (0.95)         --min-dsr X\n"
           "  PBO <= params.max_pbo (0.5)          --max-pbo X\n"
           "  out-of-sample trades >= params.min_oos_trades (30)   --min-oos-trades N\n"
           "  out-of-sample Sharpe >= params.min_oos_sharpe (0)    --min-oos-sharpe X\n"
           "(defaults from the config; the options override them). The file's version is 1 + the version\n"
           "of the file it replaces; its header holds the evidence (report, DSR, PBO, out-of-sample\n"
           "figures). Push it with: tapedeck params push --file FILE --author WHO [--reason WHY].\n"
           "Exit codes: 0 written, 1 a threshold failed (each one named; nothing written), 2 bad usage, a\n"
           "report without the symbol or a set the strategy refuses, 3 the file cannot be written.\n");
}

static bool parse_fraction(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

static td_err_t write_file(const char *path, const td_buf_t *text, char *err, size_t errlen)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return td_err_set(err, errlen, TD_ERR_INVALID, "%s: path too long", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return td_err_set(err, errlen, TD_ERR_IO, "cannot create %s", tmp);
    bool ok = fwrite(text->ptr, 1, text->len, f) == text->len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return td_err_set(err, errlen, TD_ERR_IO, "cannot write %s", path);
    }
    return TD_OK;
}

int td_cmd_params_propose(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'},
        {"report", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},
        {"min-dsr", required_argument, NULL, 'd'},
        {"max-pbo", required_argument, NULL, 'p'},
        {"min-oos-trades", required_argument, NULL, 't'},
        {"min-oos-sharpe", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL, *report_path = NULL, *out = NULL;
    td_bt_thresholds_t thresholds = {
        .min_dsr = (double)td_config_decimal(cli->config, "params.min_dsr") / TD_FX_SCALE,
        .max_pbo = (double)td_config_decimal(cli->config, "params.max_pbo") / TD_FX_SCALE,
        .min_oos_trades = (double)td_config_int(cli->config, "params.min_oos_trades"),
        .min_oos_sharpe = (double)td_config_decimal(cli->config, "params.min_oos_sharpe") / TD_FX_SCALE,
    };
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 'r': report_path = optarg; break;
        case 'o': out = optarg; break;
        case 'd':
            if (!parse_fraction(optarg, 0, 1, &thresholds.min_dsr))
                return td_cli_usage(cli, "--min-dsr expects 0..1, found '%s'", optarg);
            break;
        case 'p':
            if (!parse_fraction(optarg, 0, 1, &thresholds.max_pbo))
                return td_cli_usage(cli, "--max-pbo expects 0..1, found '%s'", optarg);
            break;
        case 't':
            if (!parse_fraction(optarg, 0, 1e8, &thresholds.min_oos_trades) ||
                thresholds.min_oos_trades != floor(thresholds.min_oos_trades))
                return td_cli_usage(cli, "--min-oos-trades expects a whole number >= 0, found '%s'", optarg);
            break;
        case 'S':
            if (!parse_fraction(optarg, -100, 100, &thresholds.min_oos_sharpe))
                return td_cli_usage(cli, "--min-oos-sharpe expects -100..100, found '%s'", optarg);
            break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);
    if (!symbol || !report_path)
        return td_cli_usage(cli, "propose needs --symbol and --report (a tapedeck backtest --json document)");
    char default_out[TD_SYMBOL_MAX + 16];
    if (!out) {
        snprintf(default_out, sizeof default_out, "%s.params.yaml", symbol);
        out = default_out;
    }

    char err[1024] = "";
    td_bt_report_t *r = malloc(sizeof *r);
    td_params_file_t *old = malloc(sizeof *old);
    td_buf_t fails, text;
    td_buf_init(&fails);
    td_buf_init(&text);
    int code = TD_EXIT_OK;
    td_err_t rc = r && old ? td_bt_report_find(report_path, symbol, r, err, sizeof err) : TD_ERR_NOMEM;
    if (rc != TD_OK) {
        code = td_cli_fail(cli, rc == TD_ERR_NOT_FOUND || rc == TD_ERR_IO ? TD_ERR_INVALID : rc, "%s",
                           err[0] ? err : "out of memory");
        goto done;
    }
    if (!r->have_best || r->params.n_values == 0) {
        code = td_cli_fail(cli, TD_ERR_INVALID, "%s: %s has no best set (run tapedeck backtest with --best 1 or more)",
                           report_path, symbol);
        goto done;
    }
    if (!isnan(r->validation_best_index) && r->validation_best_index != r->best_index) {
        code = td_cli_fail(cli, TD_ERR_INVALID, "%s: %s: the DSR is of set #%.0f, the best set is #%.0f", report_path,
                           symbol, r->validation_best_index, r->best_index);
        goto done;
    }

    /* the thresholds */
    td_bt_propose_judge(&fails, r, &thresholds);
    if (td_buf_error(&fails) != TD_OK) {
        code = td_cli_fail(cli, td_buf_error(&fails), "out of memory");
        goto done;
    }
    if (fails.len) {
        td_cli_fail(cli, TD_ERR_INVALID, "%s: refused, nothing written: %s (report %s)", symbol, td_buf_cstr(&fails),
                    report_path);
        code = TD_EXIT_CHECK;
        goto done;
    }

    /* the set itself, by the strategy's rules */
    td_strategy_t *strategy = NULL;
    rc = td_strategy_new(&r->params, &strategy, err, sizeof err);
    td_strategy_destroy(strategy);
    if (rc != TD_OK) {
        code = td_cli_fail(cli, TD_ERR_INVALID, "%s: the best set is refused by the strategy: %s", report_path, err);
        goto done;
    }

    /* the version */
    uint32_t previous = 0;
    if (access(out, F_OK) == 0) {
        rc = td_params_file_load(out, old, err, sizeof err);
        if (rc != TD_OK) {
            code = td_cli_fail(cli, rc == TD_ERR_IO ? TD_ERR_INVALID : rc, "%s (the file to replace)", err);
            goto done;
        }
        if (strcmp(old->symbol, symbol) != 0) {
            code = td_cli_fail(cli, TD_ERR_INVALID, "%s holds the parameters of %s, not %s", out, old->symbol, symbol);
            goto done;
        }
        previous = old->version;
    }

    td_bt_propose_file(&text, symbol, r, &thresholds, out, report_path, previous);
    rc = td_buf_error(&text);
    if (rc == TD_OK)
        rc = write_file(out, &text, err, sizeof err);
    if (rc != TD_OK) {
        code = td_cli_fail(cli, rc, "%s", err[0] ? err : "out of memory");
        goto done;
    }
    printf("wrote %s: %s %s version %" PRIu32 " (DSR %.4f, PBO %.4f, %.0f out-of-sample trades, Sharpe %.4f)\n", out,
           symbol, r->strategy, previous + 1, r->dsr, r->pbo, r->wf_trades, r->wf_sharpe);
done:
    td_buf_fini(&fails);
    td_buf_fini(&text);
    free(old);
    free(r);
    return code;
}
