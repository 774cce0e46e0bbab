/* cli.c - shared helpers of the tapedeck commands. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"
#include "service/service.h"

int td_cli_fail(const td_cli_t *cli, td_err_t rc, const char *fmt, ...)
{
    fprintf(stderr, "tapedeck %s: ", cli->command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " [%s]\n", td_err_name(rc));
    return td_err_exit_code(rc);
}

int td_cli_usage(const td_cli_t *cli, const char *fmt, ...)
{
    fprintf(stderr, "tapedeck %s: ", cli->command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see tapedeck %s --help)\n", cli->command);
    return TD_EXIT_USAGE;
}

td_err_t td_cli_open_tape(td_cli_t *cli, bool read_only, td_tape_t **tape, char *errbuf, size_t errlen)
{
    return td_service_open_tape(cli->config, cli->data_dir, read_only, tape, errbuf, errlen);
}

td_err_t td_cli_parse_date(const char *s, uint32_t *yyyymmdd)
{
    unsigned y, m, d;
    char tail;
    if (strlen(s) == 10 && sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) == 3)
        ;
    else if (strlen(s) == 8 && sscanf(s, "%4u%2u%2u%c", &y, &m, &d, &tail) == 3)
        ;
    else
        return TD_ERR_INVALID;
    uint32_t v = y * 10000 + m * 100 + d;
    if (!td_time_valid_yyyymmdd(v))
        return TD_ERR_INVALID;
    *yyyymmdd = v;
    return TD_OK;
}

bool td_cli_tick_file(const char *arg, const char *default_symbol, char symbol[TD_SYMBOL_MAX + 1], const char **path)
{
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : 0;
    if (eq && n >= 1 && n <= TD_SYMBOL_MAX && eq[1] && !memchr(arg, '/', n) && !memchr(arg, '\t', n) &&
        !memchr(arg, '\r', n) && !memchr(arg, '\n', n)) {
        memcpy(symbol, arg, n);
        symbol[n] = '\0';
        *path = eq + 1;
        return true;
    }
    if (!default_symbol)
        return false;
    snprintf(symbol, TD_SYMBOL_MAX + 1, "%s", default_symbol);
    *path = arg;
    return true;
}

bool td_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

td_err_t td_cli_list_symbols(td_tape_t *tape, td_stream_kind_t kind, const char *only, td_symbol_list_t *symbols,
                             char *errbuf, size_t errlen)
{
    *symbols = (td_symbol_list_t){0};
    if (only) {
        if (td_tape_next_offset(tape, kind, only) == 0)
            return TD_ERR_NOT_FOUND;
        return td_symbol_list_add(symbols, only, errbuf, errlen);
    }
    return td_tape_symbol_list(tape, kind, symbols, errbuf, errlen);
}

bool td_cli_parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}
