/* pg.h - the one PostgreSQL (libpq) adapter of tapedeck, and the binary COPY encoder.
 *
 * Only this module includes libpq-fe.h and translates libpq's errors into td_err_t, with the
 * server's message (and SQLSTATE) in the caller's errbuf:
 *   TD_ERR_IO     the server cannot be reached or the connection broke (SQLSTATE class 08, 57P01..03,
 *                 or the connection is no longer OK): worth a reconnect and a retry;
 *   TD_ERR_EXISTS a unique or exclusion constraint refused a row (23505, 23P01);
 *   TD_ERR_STORE  any other error the server reported (syntax, missing table, permissions...).
 * A connection is reached through a URI or key=value string, or - when that is NULL or empty - the
 * standard libpq environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...).
 *
 * The binary COPY encoder (td_pg_copy_*) is a set of pure functions over a td_buf_t: it writes
 * PostgreSQL's binary COPY format (the 11-byte signature, a 32-bit flags word, a header extension
 * length, then per row a 16-bit field count and per field a 32-bit length and the field's bytes,
 * all big-endian; length -1 is NULL; the trailer is a field count of -1). It knows the binary
 * forms of int2, int4, int8, bool, text, bytea, timestamptz (int8 microseconds since
 * 2000-01-01 UTC) and date (int4 days since 2000-01-01). Prices, volumes and money go to int8
 * columns at tapedeck's 1e8 scale (core/fixed.h): no numeric encoding is needed.
 *
 * Threads: a td_pg_t belongs to one thread at a time (libpq's rule for a PGconn).
 */
#ifndef TD_PG_H
#define TD_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

typedef struct td_pg td_pg_t;
typedef struct td_pg_rows td_pg_rows_t;

/* Connects (blocking). uri NULL or "" uses the libpq environment. On failure *pg is NULL and
 * errbuf holds libpq's reason (TD_ERR_IO: unreachable, refused, authentication). */
td_err_t td_pg_connect(const char *uri, td_pg_t **pg, char *errbuf, size_t errlen) TD_WUR;
/* Closes the connection; NULL is a no-op. */
void td_pg_close(td_pg_t *pg);
/* True while the connection is usable (libpq's CONNECTION_OK). */
bool td_pg_ok(const td_pg_t *pg);
/* "host:port/db" of the connection, for logs. */
void td_pg_describe(const td_pg_t *pg, char *buf, size_t len);

/* Runs one or more SQL commands without parameters (simple query protocol); results are dropped. */
td_err_t td_pg_exec(td_pg_t *pg, const char *sql, char *errbuf, size_t errlen) TD_WUR;
/* Runs one command with text parameters (NULL entries are SQL NULLs); *affected (may be NULL)
 * gets the number of rows the command touched. */
td_err_t td_pg_exec_params(td_pg_t *pg, const char *sql, int nparams, const char *const *params, uint64_t *affected,
                           char *errbuf, size_t errlen) TD_WUR;
/* Runs a query with text parameters; *rows (to be destroyed by the caller) holds the text
 * results. On failure *rows is NULL. */
td_err_t td_pg_query(td_pg_t *pg, const char *sql, int nparams, const char *const *params, td_pg_rows_t **rows,
                     char *errbuf, size_t errlen) TD_WUR;
int td_pg_rows_count(const td_pg_rows_t *rows);
/* The text of row r, column c; NULL for an SQL NULL. Valid until td_pg_rows_destroy. */
const char *td_pg_rows_get(const td_pg_rows_t *rows, int r, int c);
void td_pg_rows_destroy(td_pg_rows_t *rows);

/* Transactions: BEGIN, COMMIT, ROLLBACK. A COMMIT that fails with TD_ERR_IO may or may not have
 * been applied: the caller must re-read what it stored in the transaction (the sink re-reads its
 * offsets) rather than assume either. */
td_err_t td_pg_begin(td_pg_t *pg, char *errbuf, size_t errlen) TD_WUR;
td_err_t td_pg_commit(td_pg_t *pg, char *errbuf, size_t errlen) TD_WUR;
/* Rolls back an open transaction, ignoring errors (used on failure paths). */
void td_pg_rollback(td_pg_t *pg);

/* Runs `copy_sql` (a "COPY ... FROM STDIN (FORMAT binary)" command) and sends data, a complete
 * binary COPY stream (td_pg_copy_*), in chunks. *rows (may be NULL) gets the rows the server took. */
td_err_t td_pg_copy_in(td_pg_t *pg, const char *copy_sql, td_slice_t data, uint64_t *rows, char *errbuf,
                       size_t errlen) TD_WUR;

/* --- the binary COPY encoder: pure functions, no connection --- */

/* The encoder keeps a sticky error: after the first failed append (TD_ERR_NOMEM) every further
 * call does nothing and td_pg_copy_finish returns the code. A row must get exactly the number of
 * fields it announced (asserted). */
typedef struct td_pg_copy {
    td_buf_t buf;
    td_err_t rc;
    uint64_t rows;
    uint16_t want_fields, fields; /* of the open row */
    bool finished;
} td_pg_copy_t;

/* 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps and dates, in Unix ms and days. */
#define TD_PG_EPOCH_MS INT64_C(946684800000)
#define TD_PG_EPOCH_DAYS INT64_C(10957)

/* Starts a stream: the buffer is emptied and the header written. */
void td_pg_copy_init(td_pg_copy_t *copy);
void td_pg_copy_fini(td_pg_copy_t *copy);
/* Empties the stream and writes a new header, keeping the buffer's memory. */
void td_pg_copy_reset(td_pg_copy_t *copy);
/* Opens a row of nfields fields (the previous row must be complete). */
void td_pg_copy_row(td_pg_copy_t *copy, uint16_t nfields);
void td_pg_copy_null(td_pg_copy_t *copy);
void td_pg_copy_int2(td_pg_copy_t *copy, int16_t v);
void td_pg_copy_int4(td_pg_copy_t *copy, int32_t v);
void td_pg_copy_int8(td_pg_copy_t *copy, int64_t v);
void td_pg_copy_bool(td_pg_copy_t *copy, bool v);
/* text: UTF-8 bytes without the NUL; bytea: raw bytes. */
void td_pg_copy_text(td_pg_copy_t *copy, const char *s);
void td_pg_copy_bytes(td_pg_copy_t *copy, const void *p, size_t n);
/* jsonb from JSON text (the binary form: version byte 1, then the text; PostgreSQL parses it). */
void td_pg_copy_jsonb(td_pg_copy_t *copy, const void *json, size_t n);
/* timestamptz from Unix milliseconds (exact: the binary form is microseconds since 2000). */
void td_pg_copy_time_ms(td_pg_copy_t *copy, int64_t unix_ms);
/* date from YYYYMMDD (a valid calendar date, asserted). */
void td_pg_copy_date(td_pg_copy_t *copy, uint32_t yyyymmdd);
/* Writes the trailer. Returns the sticky code; on TD_OK copy->buf holds the complete stream. */
td_err_t td_pg_copy_finish(td_pg_copy_t *copy) TD_WUR;

#endif
