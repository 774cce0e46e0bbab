/* cmd_params_propose.c - `tapedeck params propose`: a parameter file for a symbol, written only from
 * a set whose evidence passes the configured thresholds.
 *
 * The evidence is a `tapedeck backtest --json --walk-forward IS:OOS` report (cli/bt_report.h): the
 * proposed set is the report's best set by Sharpe (best_by_sharpe[0], the set its Deflated Sharpe
 * Ratio is computed for), judged by
 *   DSR >= params.min_dsr, PBO <= params.max_pbo (of the grid it was chosen from),
 *   walk-forward out-of-sample trades >= params.min_oos_trades and Sharpe >= params.min_oos_sharpe.
 * A missing figure (no PBO, no walk-forward, an undefined DSR) fails its threshold. Every failed
 * threshold is named on one line, exit 1, and nothing is written. Otherwise the set is checked
 * with the strategy's own rules and the file is written (core/params_file.h): version = 1 + the
 * version of the file it replaces (same symbol), the evidence in its header comments, replaced
 * atomically (temporary file + rename). The file holds no wall-clock time, so the same report
 * gives the same bytes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Appends one failed threshold to fails ("; "-separated): "WHAT VALUE RELATION (KEY WANT)". */
static td_err_t failed(td_buf_t *fails, const char *what, double got, const char *relation, const char *key,
                       double want)
{
    td_err_t rc = fails->len ? td_buf_printf(fails, "; ") : TD_OK;
    if (rc == TD_OK && isnan(got))
        rc = td_buf_printf(fails, "%s is missing from the report (%s %g)", what, key, want);
    else if (rc == TD_OK)
        rc = td_buf_printf(fails, "%s %.4g %s %s %g", what, got, relation, key, want);
    return rc;
}

/* A YAML single-quoted scalar: any text, quotes doubled. */
static td_err_t put_quoted(td_buf_t *buf, const char *s)
{
    td_err_t rc = td_buf_printf(buf, "'");
    for (; rc == TD_OK && *s; s++)
        rc = *s == '\'' ? td_buf_printf(buf, "''") : td_buf_printf(buf, "%c", *s);
    return rc == TD_OK ? td_buf_printf(buf, "'") : rc;
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
    double min_dsr = (double)td_config_decimal(cli->config, "params.min_dsr") / TD_FX_SCALE;
    double max_pbo = (double)td_config_decimal(cli->config, "params.max_pbo") / TD_FX_SCALE;
    double min_trades = (double)td_config_int(cli->config, "params.min_oos_trades");
    double min_sharpe = (double)td_config_decimal(cli->config, "params.min_oos_sharpe") / TD_FX_SCALE;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 'r': report_path = optarg; break;
        case 'o': out = optarg; break;
        case 'd':
            if (!parse_fraction(optarg, 0, 1, &min_dsr))
                return td_cli_usage(cli, "--min-dsr expects 0..1, found '%s'", optarg);
            break;
        case 'p':
            if (!parse_fraction(optarg, 0, 1, &max_pbo))
                return td_cli_usage(cli, "--max-pbo expects 0..1, found '%s'", optarg);
            break;
        case 't':
            if (!parse_fraction(optarg, 0, 1e8, &min_trades) || min_trades != floor(min_trades))
                return td_cli_usage(cli, "--min-oos-trades expects a whole number >= 0, found '%s'", optarg);
            break;
        case 'S':
            if (!parse_fraction(optarg, -100, 100, &min_sharpe))
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
    rc = TD_OK;
    if (isnan(r->dsr) || r->dsr < min_dsr)
        rc = failed(&fails, "DSR", r->dsr, "is below", "params.min_dsr", min_dsr);
    if (rc == TD_OK && (isnan(r->pbo) || r->pbo > max_pbo))
        rc = failed(&fails, "PBO", r->pbo, "is above", "params.max_pbo", max_pbo);
    if (rc == TD_OK && !r->have_wf) {
        rc = fails.len ? td_buf_printf(&fails, "; ") : TD_OK;
        if (rc == TD_OK)
            rc = td_buf_printf(&fails, "no walk-forward in the report (run tapedeck backtest with --walk-forward "
                                       "IS:OOS): params.min_oos_trades and params.min_oos_sharpe cannot be checked");
    } else if (rc == TD_OK) {
        if (isnan(r->wf_trades) || r->wf_trades < min_trades)
            rc = failed(&fails, "out-of-sample trades", r->wf_trades, "are fewer than", "params.min_oos_trades",
                        min_trades);
        if (rc == TD_OK && (isnan(r->wf_sharpe) || r->wf_sharpe < min_sharpe))
            rc = failed(&fails, "out-of-sample Sharpe", r->wf_sharpe, "is below", "params.min_oos_sharpe", min_sharpe);
    }
    if (rc != TD_OK) {
        code = td_cli_fail(cli, rc, "out of memory");
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

    char reason[TD_TEXT_MAX + 1];
    snprintf(reason, sizeof reason, "proposed: DSR %.4f, PBO %.4f, OOS %.0f trades Sharpe %.4f (walk-forward %s)",
             r->dsr, r->pbo, r->wf_trades, r->wf_sharpe, r->wf_spec);
    rc = td_buf_printf(&text,
                       "# tapedeck parameter file: %s %s, version %" PRIu32 "\n"
                       "# written by tapedeck params propose; push it with\n"
                       "#   tapedeck params push --file %s --author WHO\n"
                       "# evidence:\n"
                       "#   report: %s\n"
                       "#   data: %s\n"
                       "#   grid: %s (%.0f sets evaluated)\n"
                       "#   set: #%.0f of the grid, best by Sharpe: Sharpe %.4f, %.0f trades, net P&L %.2f\n"
                       "#   DSR: %.4f (params.min_dsr %g; expected maximum Sharpe of the trials %.4f)\n"
                       "#   PBO: %.4f (params.max_pbo %g; %.0f CSCV splits)\n"
                       "#   walk-forward %s by %s: %.0f windows, %.0f out-of-sample days, %.0f trades "
                       "(params.min_oos_trades %g), Sharpe %.4f (params.min_oos_sharpe %g), net P&L %.2f, max "
                       "drawdown %.4f\n"
                       "version: %" PRIu32 "\n"
                       "previous_version: %" PRIu32 "\n",
                       symbol, r->strategy, previous + 1, out, report_path, r->data, r->grid, r->trials, r->best_index,
                       r->best_sharpe, r->best_trades, r->best_net_pnl, r->dsr, min_dsr, r->expected_max_sharpe, r->pbo,
                       max_pbo, r->pbo_combinations, r->wf_spec, r->wf_metric, r->wf_windows, r->wf_days, r->wf_trades,
                       min_trades, r->wf_sharpe, min_sharpe, r->wf_net_pnl, r->wf_max_drawdown, previous + 1, previous);
    const char *fields[][2] = {{"symbol", symbol}, {"strategy", r->strategy}, {"reason", reason}};
    for (size_t i = 0; rc == TD_OK && i < 3; i++) {
        rc = td_buf_printf(&text, "%s: ", fields[i][0]);
        if (rc == TD_OK)
            rc = put_quoted(&text, fields[i][1]);
        if (rc == TD_OK)
            rc = td_buf_printf(&text, "\n");
    }
    if (rc == TD_OK)
        rc = td_buf_printf(&text, "params:\n");
    for (uint32_t i = 0; rc == TD_OK && i < r->params.n_values; i++) {
        rc = td_buf_printf(&text, "  %s: ", r->params.values[i].name);
        if (rc == TD_OK)
            rc = put_quoted(&text, r->params.values[i].value);
        if (rc == TD_OK)
            rc = td_buf_printf(&text, "\n");
    }
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
