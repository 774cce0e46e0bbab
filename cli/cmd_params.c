/* cmd_params.c - `tapedeck params`: parameter sets reach a strategy only as ParamsChanged events.
 *
 *   validate --strategy N --set k=v,...           check a set without writing anything
 *   push --symbol S --strategy N --set k=v,... --author A --reason R [--at TIME]
 *                                                 validate, then append a ParamsChanged with the
 *                                                 next version to S's input stream
 *   show --symbol S                               the set in force at the stream's end
 *   history --symbol S                            every ParamsChanged of the stream, with offsets
 *   propose --symbol S --report R ...             a parameter file from a backtest report that
 *                                                 passes the thresholds (cmd_params_propose.c)
 * validate and push also take --file F, a parameter file (cli/params_file.h), instead of
 * --strategy/--set (and, for push, --symbol and the default --reason).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/params_file.h"
#include "service/service.h"
#include "core/event_json.h"
#include "core/timeutil.h"
#include "processors/strategy.h"

static void help(void)
{
    printf("usage: tapedeck params validate --strategy NAME --set K=V[,K=V...]\n"
           "       tapedeck params push --symbol S --strategy NAME --set K=V[,K=V...] --author WHO --reason WHY [--at "
           "TIME]\n"
           "       tapedeck params validate --file FILE\n"
           "       tapedeck params push --file FILE --author WHO [--reason WHY] [--at TIME]\n"
           "       tapedeck params propose --symbol S --report REPORT [--out FILE] [thresholds]  (propose --help)\n"
           "       tapedeck params show --symbol S\n"
           "       tapedeck params history --symbol S\n"
           "\n"
           "A parameter set reaches a strategy only as a ParamsChanged event in the symbol's stream, so a\n"
           "replay applies it at exactly the same point as live. push validates the set with the strategy's\n"
           "own rules first (exit 2 on a bad set), then appends it with version = previous + 1.\n"
           "With journal.mode kafka it is produced to kafka.input_topic instead (delivered before push\n"
           "returns); give the archiver's --data-dir, whose tape is read for the previous version and time.\n"
           "\n"
           "  --file FILE a parameter file (as params propose writes it): symbol, strategy, version, reason,\n"
           "              params; push takes the symbol and, without --reason, the reason from it\n"
           "  --at TIME   event time of the change (YYYY-MM-DDTHH:MM:SS UTC); default: the stream's last\n"
           "              event time; required when the stream is still empty\n"
           "\n"
           "strategies: sma_cross (fast, slow, direction, volume, sl_points, tp_points),\n"
           "            breakout (lookback, atr_n, sl_atr, tp_atr, session_start, session_end, weekdays,\n"
           "            max_hold, direction, volume); see docs/STRATEGIES.md.\n");
}

static int cmp_param(const void *a, const void *b)
{
    return strcmp(((const td_param_t *)a)->name, ((const td_param_t *)b)->name);
}

/* "fast=10,slow=30" -> sorted, unique params. */
static td_err_t parse_set(const char *text, td_params_changed_t *p, char *err, size_t errlen)
{
    p->n_values = 0;
    const char *s = text;
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        const char *eq = memchr(s, '=', len);
        if (!eq || eq == s)
            return td_err_set(err, errlen, TD_ERR_INVALID, "--set: expected K=V, found '%.*s'", (int)len, s);
        size_t klen = (size_t)(eq - s), vlen = len - klen - 1;
        if (p->n_values == TD_PARAMS_MAX || klen > TD_PARAM_NAME_MAX || vlen > TD_PARAM_VALUE_MAX || vlen == 0)
            return td_err_set(err, errlen, TD_ERR_INVALID, "--set: '%.*s' is too long, empty or one too many", (int)len,
                              s);
        td_param_t *v = &p->values[p->n_values++];
        memcpy(v->name, s, klen);
        v->name[klen] = '\0';
        memcpy(v->value, eq + 1, vlen);
        v->value[vlen] = '\0';
        s += len + (comma ? 1 : 0);
    }
    qsort(p->values, p->n_values, sizeof p->values[0], cmp_param);
    for (uint32_t i = 1; i < p->n_values; i++)
        if (strcmp(p->values[i].name, p->values[i - 1].name) == 0)
            return td_err_set(err, errlen, TD_ERR_INVALID, "--set: '%s' given twice", p->values[i].name);
    return TD_OK;
}

static td_err_t validate(const td_params_changed_t *p, char *err, size_t errlen)
{
    td_strategy_t *strategy = NULL;
    td_err_t rc = td_strategy_new(p, &strategy, err, errlen);
    td_strategy_destroy(strategy);
    return rc;
}

/* Scans the stream for ParamsChanged events; calls cb for each (NULL cb: only the last). */
static td_err_t scan(td_tape_t *tape, const char *symbol, td_event_t *last, bool print)
{
    td_tape_iter_t *iter = NULL;
    td_event_t *ev = malloc(sizeof *ev);
    td_err_t rc = ev ? td_tape_iter_new(tape, TD_STREAM_INPUT, symbol, 0, &iter, NULL, 0) : TD_ERR_NOMEM;
    bool found = false;
    td_buf_t line;
    td_buf_init(&line);
    while (rc == TD_OK && (rc = td_tape_iter_next(iter, ev, NULL, 0)) == TD_OK) {
        if (ev->kind != TD_EV_PARAMS_CHANGED)
            continue;
        found = true;
        *last = *ev;
        if (print) {
            td_buf_reset(&line);
            if (td_event_to_json(ev, false, &line) == TD_OK)
                printf("%s\n", td_buf_cstr(&line));
        }
    }
    if (rc == TD_ERR_END)
        rc = found ? TD_OK : TD_ERR_NOT_FOUND;
    td_buf_fini(&line);
    td_tape_iter_destroy(iter);
    free(ev);
    return rc;
}

static td_err_t parse_time(const char *s, int64_t *ms)
{
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    int n = sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u", &y, &mo, &d, &h, &mi, &sec);
    if ((n != 3 && n != 6) || !td_time_valid_yyyymmdd(y * 10000 + mo * 100 + d) || h > 23 || mi > 59 || sec > 59)
        return TD_ERR_INVALID;
    *ms = td_time_ms_from_civil((int)y, mo, d, h, mi, sec, 0);
    return TD_OK;
}

int td_cmd_params(td_cli_t *cli, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "propose") == 0)
        return td_cmd_params_propose(cli, argc, argv);
    if (argc < 2 || td_cli_wants_help(argc, argv)) {
        help();
        return argc < 2 ? TD_EXIT_USAGE : TD_EXIT_OK;
    }
    const char *verb = argv[1];
    static const struct option longopts[] = {
        {"symbol", required_argument, NULL, 's'}, {"strategy", required_argument, NULL, 'S'},
        {"set", required_argument, NULL, 'v'},    {"author", required_argument, NULL, 'a'},
        {"reason", required_argument, NULL, 'r'}, {"at", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},   {NULL, 0, NULL, 0},
    };
    const char *symbol = NULL, *strategy = NULL, *set = NULL, *author = NULL, *reason = NULL, *at = NULL;
    const char *file_path = NULL;
    int c;
    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': symbol = optarg; break;
        case 'S': strategy = optarg; break;
        case 'v': set = optarg; break;
        case 'a': author = optarg; break;
        case 'r': reason = optarg; break;
        case 't': at = optarg; break;
        case 'f': file_path = optarg; break;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    char err[1024] = "";
    td_event_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return td_cli_fail(cli, TD_ERR_NOMEM, "out of memory");
    int code = TD_EXIT_OK;
    td_tape_t *tape = NULL;
    td_err_t rc;

    if (strcmp(verb, "validate") == 0 || strcmp(verb, "push") == 0) {
        bool push = verb[0] == 'p';
        td_params_changed_t *p = &ev->u.params;
        td_params_file_t *file = NULL;
        if (file_path && (strategy || set)) {
            code = td_cli_usage(cli, "--file gives the strategy and the set: drop --strategy and --set");
        } else if (file_path) {
            file = malloc(sizeof *file);
            rc = file ? td_params_file_load(file_path, file, err, sizeof err) : TD_ERR_NOMEM;
            if (rc != TD_OK)
                code = td_cli_fail(cli, rc == TD_ERR_IO ? TD_ERR_INVALID : rc, "%s", err[0] ? err : "out of memory");
            else if (symbol && strcmp(symbol, file->symbol) != 0)
                code = td_cli_usage(cli, "--symbol %s, but %s is for %s", symbol, file_path, file->symbol);
            if (code == TD_EXIT_OK) {
                symbol = file->symbol;
                strategy = file->params.strategy;
                if (!reason && file->reason[0])
                    reason = file->reason;
            }
        }
        if (code != TD_EXIT_OK)
            ; /* reported */
        else if (!strategy || (!set && !file))
            code = td_cli_usage(cli, "--strategy and --set (or --file) are required");
        else if (push && (!symbol || !author || !reason))
            code = td_cli_usage(cli, "push needs --symbol, --author and --reason: every change is audited");
        else if (td_event_set_str(p->strategy, sizeof p->strategy, strategy) != TD_OK ||
                 (push && (td_event_set_str(p->author, sizeof p->author, author) != TD_OK ||
                           td_event_set_str(p->reason, sizeof p->reason, reason) != TD_OK)))
            code = td_cli_usage(cli, "--strategy, --author or --reason is too long");
        else if (file)
            memcpy(p->values, file->params.values, sizeof p->values), p->n_values = file->params.n_values;
        else if ((rc = parse_set(set, p, err, sizeof err)) != TD_OK)
            code = td_cli_fail(cli, rc, "%s", err);
        if (code == TD_EXIT_OK && (rc = validate(p, err, sizeof err)) != TD_OK)
            code = td_cli_fail(cli, TD_ERR_INVALID, "%s%s%s", file ? file_path : "", file ? ": " : "", err);
        else if (code == TD_EXIT_OK && !push)
            printf("ok: %s with %" PRIu32 " parameter(s) is valid%s%s\n", strategy, p->n_values, file ? " for " : "",
                   file ? symbol : "");
        /* journal.mode kafka: the tape is the archiver's (read only, for the version and time) */
        bool kafka = td_config_int(cli->config, "journal.mode") == 1;
        if (push && code == TD_EXIT_OK) {
            rc = td_cli_open_tape(cli, kafka, &tape, err, sizeof err);
            td_event_t *last = malloc(sizeof *last);
            uint32_t version = 1;
            int64_t t = 0;
            bool have_time = false;
            if (rc == TD_OK && !last)
                rc = TD_ERR_NOMEM;
            if (rc == TD_OK) {
                uint64_t next = td_tape_next_offset(tape, TD_STREAM_INPUT, symbol);
                td_err_t src = next ? scan(tape, symbol, last, false) : TD_ERR_NOT_FOUND;
                if (src == TD_OK)
                    version = last->u.params.version + 1;
                else if (src != TD_ERR_NOT_FOUND)
                    rc = src;
                if (rc == TD_OK && next &&
                    td_tape_read(tape, TD_STREAM_INPUT, symbol, next - 1, last, NULL, 0) == TD_OK) {
                    t = last->time_ms;
                    have_time = true;
                }
            }
            if (rc == TD_OK && at) {
                int64_t want = 0;
                if (parse_time(at, &want) != TD_OK)
                    code = td_cli_usage(cli, "--at expects YYYY-MM-DDTHH:MM:SS, found '%s'", at);
                else if (have_time && want < t)
                    code = td_cli_fail(cli, TD_ERR_ORDER,
                                       "--at %s is before the stream's last event; streams only go forward", at);
                t = want;
                have_time = true;
            }
            if (rc == TD_OK && code == TD_EXIT_OK && !have_time)
                code = td_cli_usage(cli, "stream %s is empty: give the time of the change with --at", symbol);
            if (rc == TD_OK && code == TD_EXIT_OK) {
                td_params_changed_t keep = *p;
                rc = td_event_init(ev, TD_EV_PARAMS_CHANGED, symbol, t);
                ev->u.params = keep;
                ev->u.params.version = version;
                snprintf(ev->source, sizeof ev->source, "params");
                td_tape_batch_t *batch = NULL;
                if (rc == TD_OK && kafka) {
                    rc = td_service_kafka_push(cli->config, &cli->log, ev, err, sizeof err);
                    if (rc == TD_OK)
                        printf("pushed %s version %" PRIu32 " to %s on the kafka input topic\n", strategy, version,
                               symbol);
                } else if (rc == TD_OK) {
                    rc = td_tape_batch_new(tape, &batch, NULL, 0);
                }
                if (rc == TD_OK && batch)
                    rc = td_tape_batch_append(batch, TD_STREAM_INPUT, ev, NULL, 0);
                if (rc == TD_OK && batch) {
                    rc = td_tape_commit(tape, batch, NULL, 0);
                    batch = NULL;
                }
                td_tape_batch_destroy(batch);
                if (rc == TD_OK && !kafka)
                    printf("pushed %s version %" PRIu32 " to %s at offset %" PRIu64 "\n", strategy, version, symbol,
                           ev->offset);
            }
            if (rc != TD_OK && code == TD_EXIT_OK)
                code = td_cli_fail(cli, rc, "%s", err[0] ? err : "push failed");
            free(last);
        }
        free(file);
    } else if (strcmp(verb, "show") == 0 || strcmp(verb, "history") == 0) {
        if (!symbol) {
            code = td_cli_usage(cli, "--symbol is required");
        } else {
            rc = td_cli_open_tape(cli, true, &tape, err, sizeof err);
            if (rc == TD_OK)
                rc = scan(tape, symbol, ev, verb[0] == 'h');
            if (rc == TD_OK && verb[0] == 's') {
                td_buf_t line;
                td_buf_init(&line);
                if (td_event_to_json(ev, false, &line) == TD_OK)
                    printf("%s\n", td_buf_cstr(&line));
                td_buf_fini(&line);
            }
            if (rc == TD_ERR_NOT_FOUND)
                code = td_cli_fail(cli, rc, "%s has no parameter set", symbol);
            else if (rc != TD_OK)
                code = td_cli_fail(cli, rc, "%s", err[0] ? err : "cannot read the stream");
        }
    } else {
        code = td_cli_usage(cli, "unknown verb '%s': validate, push, show or history", verb);
    }
    td_tape_close(tape);
    free(ev);
    return code;
}
