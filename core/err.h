/* err.h - the one error type of tapedeck.
 *
 * td_err_t: 0 is success, negative values are tapedeck's own codes. td_err_name() gives a stable
 * name for logs ("TD_ERR_PARSE"); detail (file, line, field, what was expected) goes into the
 * caller's errbuf, never into a global. Only the adapters around RocksDB, librdkafka and libpq
 * translate foreign errors into these codes.
 */
#ifndef TD_ERR_H
#define TD_ERR_H

#include <stddef.h>

#define TD_WUR __attribute__((warn_unused_result))

typedef enum td_err {
    TD_OK = 0,
    TD_ERR_INVALID = -1,      /* bad argument or usage */
    TD_ERR_PARSE = -2,        /* bad input data: a line, field or value that is not what was expected */
    TD_ERR_IO = -3,           /* the operating system refused a read or write */
    TD_ERR_NOMEM = -4,        /* an allocation failed */
    TD_ERR_OVERFLOW = -5,     /* a fixed-point value left its range */
    TD_ERR_STORE = -6,        /* RocksDB reported an error */
    TD_ERR_CORRUPT = -7,      /* stored bytes do not decode, or a checksum does not match */
    TD_ERR_NOT_FOUND = -8,    /* the key, offset, day or symbol does not exist */
    TD_ERR_EXISTS = -9,       /* already there: a file imported twice, a duplicate id */
    TD_ERR_ORDER = -10,       /* events out of order: time going backwards, an offset gap */
    TD_ERR_STATE = -11,       /* a call not valid in the object's current state (sticky failure) */
    TD_ERR_MISMATCH = -12,    /* a check failed: a digest or output differs */
    TD_ERR_CONFIG = -13,      /* a configuration key or value is wrong */
    TD_ERR_UNSUPPORTED = -14, /* a format, version or feature tapedeck does not handle */
    TD_ERR_END = -15,         /* no more data (end of a stream); not a failure */
} td_err_t;

/* The stable upper-case name of rc ("TD_OK", "TD_ERR_PARSE"); "TD_ERR_UNKNOWN" for others. */
const char *td_err_name(td_err_t rc);

/* The exit code a command returns for rc: 0 ok; 1 a failed check (a mismatch, a corrupt tape);
 * 2 bad usage or bad input; 3 the environment failed us (I/O, storage, memory, a sticky failure). */
int td_err_exit_code(td_err_t rc);

/* Writes printf-style text into errbuf (if errbuf and errlen are non-zero) and returns rc, so that
 * `return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s:%zu: bid: ...", ...)` is one line. */
td_err_t td_err_set(char *errbuf, size_t errlen, td_err_t rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Internal invariants. Always on: a broken invariant in a trading system must stop it. */
#define TD_ASSERT(cond)                                \
    do {                                               \
        if (!(cond))                                   \
            td_assert_fail(#cond, __FILE__, __LINE__); \
    } while (0)

_Noreturn void td_assert_fail(const char *expr, const char *file, int line);

#endif
