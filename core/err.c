/* err.c - names and exit codes of td_err_t. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const char *td_err_name(td_err_t rc)
{
    switch (rc) {
    case TD_OK: return "TD_OK";
    case TD_ERR_INVALID: return "TD_ERR_INVALID";
    case TD_ERR_PARSE: return "TD_ERR_PARSE";
    case TD_ERR_IO: return "TD_ERR_IO";
    case TD_ERR_NOMEM: return "TD_ERR_NOMEM";
    case TD_ERR_OVERFLOW: return "TD_ERR_OVERFLOW";
    case TD_ERR_STORE: return "TD_ERR_STORE";
    case TD_ERR_CORRUPT: return "TD_ERR_CORRUPT";
    case TD_ERR_NOT_FOUND: return "TD_ERR_NOT_FOUND";
    case TD_ERR_EXISTS: return "TD_ERR_EXISTS";
    case TD_ERR_ORDER: return "TD_ERR_ORDER";
    case TD_ERR_STATE: return "TD_ERR_STATE";
    case TD_ERR_MISMATCH: return "TD_ERR_MISMATCH";
    case TD_ERR_CONFIG: return "TD_ERR_CONFIG";
    case TD_ERR_UNSUPPORTED: return "TD_ERR_UNSUPPORTED";
    case TD_ERR_END: return "TD_ERR_END";
    }
    return "TD_ERR_UNKNOWN";
}

int td_err_exit_code(td_err_t rc)
{
    switch (rc) {
    case TD_OK:
    case TD_ERR_END: return 0;
    case TD_ERR_MISMATCH:
    case TD_ERR_CORRUPT: return 1;
    case TD_ERR_INVALID:
    case TD_ERR_PARSE:
    case TD_ERR_OVERFLOW:
    case TD_ERR_NOT_FOUND:
    case TD_ERR_EXISTS:
    case TD_ERR_ORDER:
    case TD_ERR_CONFIG:
    case TD_ERR_UNSUPPORTED: return 2;
    case TD_ERR_IO:
    case TD_ERR_NOMEM:
    case TD_ERR_STORE:
    case TD_ERR_STATE: return 3;
    }
    return 3;
}

td_err_t td_err_set(char *errbuf, size_t errlen, td_err_t rc, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

_Noreturn void td_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "tapedeck: assertion failed: %s (%s:%d)\n", expr, file, line);
    abort();
}
