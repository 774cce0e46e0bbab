/* pg.c - libpq behind td_pg_*, and the binary COPY encoder.
 *
 * Every libpq result is checked and cleared here; callers only see td_err_t and errbuf. Notices
 * (CREATE ... IF NOT EXISTS chatter) are dropped: the caller logs what matters.
 */
#include "core/pg.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timeutil.h"

struct td_pg {
    PGconn *conn;
};

struct td_pg_rows {
    PGresult *res;
};

static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Copies msg without its trailing newlines. */
static void copy_message(char *errbuf, size_t errlen, const char *prefix, const char *msg, const char *sqlstate)
{
    if (!errbuf || !errlen)
        return;
    size_t n = msg ? strlen(msg) : 0;
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    if (sqlstate && *sqlstate)
        snprintf(errbuf, errlen, "%s%.*s (SQLSTATE %s)", prefix, (int)n, n ? msg : "", sqlstate);
    else
        snprintf(errbuf, errlen, "%s%.*s", prefix, (int)n, n ? msg : "unknown libpq error");
    /* libpq's messages span lines ("...\n\tThis probably means..."): one log line each */
    char *w = errbuf;
    for (const char *r = errbuf; *r; r++) {
        bool space = *r == '\n' || *r == '\t' || *r == '\r' || *r == ' ';
        if (space && (w == errbuf || w[-1] == ' '))
            continue;
        *w++ = space ? ' ' : *r;
    }
    *w = '\0';
}

/* Translates a failed result (res may be NULL) into a code and a message; clears res. */
static td_err_t fail_result(td_pg_t *pg, PGresult *res, char *errbuf, size_t errlen)
{
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : NULL;
    if (!msg || !*msg)
        msg = PQerrorMessage(pg->conn);
    td_err_t rc = TD_ERR_STORE;
    if (PQstatus(pg->conn) != CONNECTION_OK)
        rc = TD_ERR_IO;
    else if (sqlstate && (strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
                          strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0))
        rc = TD_ERR_IO;
    else if (sqlstate && (strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "23P01") == 0))
        rc = TD_ERR_EXISTS;
    copy_message(errbuf, errlen, "PostgreSQL: ", msg, sqlstate);
    PQclear(res);
    return rc;
}

td_err_t td_pg_connect(const char *uri, td_pg_t **pg, char *errbuf, size_t errlen)
{
    *pg = NULL;
    td_pg_t *conn = calloc(1, sizeof *conn);
    if (!conn)
        return TD_ERR_NOMEM;
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {uri ? uri : "", "tapedeck", NULL};
    conn->conn = PQconnectdbParams(keys, vals, 1);
    if (!conn->conn) {
        free(conn);
        return TD_ERR_NOMEM;
    }
    if (PQstatus(conn->conn) != CONNECTION_OK) {
        copy_message(errbuf, errlen, "cannot connect to PostgreSQL: ", PQerrorMessage(conn->conn), NULL);
        PQfinish(conn->conn);
        free(conn);
        return TD_ERR_IO;
    }
    PQsetNoticeProcessor(conn->conn, drop_notice, NULL);
    *pg = conn;
    return TD_OK;
}

void td_pg_close(td_pg_t *pg)
{
    if (!pg)
        return;
    PQfinish(pg->conn);
    free(pg);
}

bool td_pg_ok(const td_pg_t *pg)
{
    return pg && PQstatus(pg->conn) == CONNECTION_OK;
}

void td_pg_describe(const td_pg_t *pg, char *buf, size_t len)
{
    const char *host = PQhost(pg->conn);
    snprintf(buf, len, "%s:%s/%s", host && *host ? host : "local", PQport(pg->conn), PQdb(pg->conn));
}

td_err_t td_pg_exec(td_pg_t *pg, const char *sql, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(pg->conn, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
        return fail_result(pg, res, errbuf, errlen);
    PQclear(res);
    return TD_OK;
}

td_err_t td_pg_exec_params(td_pg_t *pg, const char *sql, int nparams, const char *const *params, uint64_t *affected,
                           char *errbuf, size_t errlen)
{
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        return fail_result(pg, res, errbuf, errlen);
    if (affected)
        *affected = strtoull(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return TD_OK;
}

td_err_t td_pg_query(td_pg_t *pg, const char *sql, int nparams, const char *const *params, td_pg_rows_t **rows,
                     char *errbuf, size_t errlen)
{
    *rows = NULL;
    td_pg_rows_t *out = calloc(1, sizeof *out);
    if (!out)
        return TD_ERR_NOMEM;
    PGresult *res = PQexecParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        free(out);
        return fail_result(pg, res, errbuf, errlen);
    }
    out->res = res;
    *rows = out;
    return TD_OK;
}

int td_pg_rows_count(const td_pg_rows_t *rows)
{
    return PQntuples(rows->res);
}

const char *td_pg_rows_get(const td_pg_rows_t *rows, int r, int c)
{
    TD_ASSERT(r >= 0 && r < PQntuples(rows->res) && c >= 0 && c < PQnfields(rows->res));
    return PQgetisnull(rows->res, r, c) ? NULL : PQgetvalue(rows->res, r, c);
}

void td_pg_rows_destroy(td_pg_rows_t *rows)
{
    if (!rows)
        return;
    PQclear(rows->res);
    free(rows);
}

td_err_t td_pg_begin(td_pg_t *pg, char *errbuf, size_t errlen)
{
    return td_pg_exec(pg, "BEGIN", errbuf, errlen);
}

td_err_t td_pg_commit(td_pg_t *pg, char *errbuf, size_t errlen)
{
    /* COMMIT of a transaction that failed earlier answers ROLLBACK with COMMAND_OK: refuse that. */
    PGresult *res = PQexec(pg->conn, "COMMIT");
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK)
        return fail_result(pg, res, errbuf, errlen);
    td_err_t rc = TD_OK;
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
        rc = td_err_set(errbuf, errlen, TD_ERR_STATE,
                        "PostgreSQL: COMMIT answered '%s': the transaction was rolled back", PQcmdStatus(res));
    PQclear(res);
    return rc;
}

void td_pg_rollback(td_pg_t *pg)
{
    if (pg && PQstatus(pg->conn) == CONNECTION_OK && PQtransactionStatus(pg->conn) != PQTRANS_IDLE)
        PQclear(PQexec(pg->conn, "ROLLBACK"));
}

#define COPY_CHUNK (256 * 1024)

td_err_t td_pg_copy_in(td_pg_t *pg, const char *copy_sql, td_slice_t data, uint64_t *rows, char *errbuf, size_t errlen)
{
    PGresult *res = PQexec(pg->conn, copy_sql);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN)
        return fail_result(pg, res, errbuf, errlen);
    PQclear(res);
    int ok = 1;
    for (size_t at = 0; ok == 1 && at < data.len; at += COPY_CHUNK) {
        size_t n = data.len - at < COPY_CHUNK ? data.len - at : COPY_CHUNK;
        ok = PQputCopyData(pg->conn, (const char *)data.ptr + at, (int)n);
    }
    if (ok == 1)
        ok = PQputCopyEnd(pg->conn, NULL);
    /* Collect every result: the COPY's own, then NULL. The first failure wins. */
    td_err_t rc = TD_OK;
    bool got_any = false;
    while ((res = PQgetResult(pg->conn)) != NULL) {
        got_any = true;
        if (rc == TD_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
            rc = fail_result(pg, res, errbuf, errlen);
            continue;
        }
        if (rc == TD_OK && rows)
            *rows = strtoull(PQcmdTuples(res), NULL, 10);
        PQclear(res);
        if (PQstatus(pg->conn) != CONNECTION_OK)
            break;
    }
    if (rc == TD_OK && (ok != 1 || !got_any))
        rc = fail_result(pg, NULL, errbuf, errlen);
    return rc;
}

/* --- binary COPY encoder --- */

static const uint8_t copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};

static inline void put(td_pg_copy_t *copy, const void *p, size_t n)
{
    td_buf_t *b = &copy->buf;
    if (copy->rc != TD_OK)
        return;
    if (b->cap - b->len > n) { /* the common case, without a call: td_buf_append's room and its NUL byte */
        memcpy(b->ptr + b->len, p, n);
        b->len += n;
        return;
    }
    copy->rc = td_buf_append(b, p, n);
}

static void be32_at(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static void put_be16(td_pg_copy_t *copy, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(copy, b, 2);
}

static void put_be32(td_pg_copy_t *copy, uint32_t v)
{
    uint8_t b[4];
    be32_at(b, v);
    put(copy, b, 4);
}

/* Counts one field of the open row. */
static void count_field(td_pg_copy_t *copy)
{
    TD_ASSERT(!copy->finished && copy->fields < copy->want_fields);
    copy->fields++;
}

/* Counts one field of the open row and writes its length word. */
static void field(td_pg_copy_t *copy, int32_t len)
{
    count_field(copy);
    put_be32(copy, (uint32_t)len);
}

static void header(td_pg_copy_t *copy)
{
    put(copy, copy_signature, sizeof copy_signature);
    put_be32(copy, 0); /* flags: no OIDs */
    put_be32(copy, 0); /* header extension length */
}

void td_pg_copy_init(td_pg_copy_t *copy)
{
    memset(copy, 0, sizeof *copy);
    td_buf_init(&copy->buf);
    header(copy);
}

void td_pg_copy_fini(td_pg_copy_t *copy)
{
    td_buf_fini(&copy->buf);
}

void td_pg_copy_reset(td_pg_copy_t *copy)
{
    td_buf_reset(&copy->buf);
    copy->rc = TD_OK;
    copy->rows = 0;
    copy->want_fields = copy->fields = 0;
    copy->finished = false;
    header(copy);
}

void td_pg_copy_row(td_pg_copy_t *copy, uint16_t nfields)
{
    TD_ASSERT(!copy->finished && copy->fields == copy->want_fields && nfields > 0 && nfields < 0x8000);
    copy->want_fields = nfields;
    copy->fields = 0;
    copy->rows++;
    put_be16(copy, nfields);
}

void td_pg_copy_null(td_pg_copy_t *copy)
{
    field(copy, -1);
}

void td_pg_copy_int2(td_pg_copy_t *copy, int16_t v)
{
    field(copy, 2);
    put_be16(copy, (uint16_t)v);
}

void td_pg_copy_int4(td_pg_copy_t *copy, int32_t v)
{
    field(copy, 4);
    put_be32(copy, (uint32_t)v);
}

void td_pg_copy_int8(td_pg_copy_t *copy, int64_t v)
{
    /* the length word and the value in one put: the sink's rows are mostly int8 */
    count_field(copy);
    uint8_t b[12];
    be32_at(b, 8);
    be32_at(b + 4, (uint32_t)((uint64_t)v >> 32));
    be32_at(b + 8, (uint32_t)(uint64_t)v);
    put(copy, b, sizeof b);
}

void td_pg_copy_bool(td_pg_copy_t *copy, bool v)
{
    uint8_t b = v ? 1 : 0;
    field(copy, 1);
    put(copy, &b, 1);
}

void td_pg_copy_bytes(td_pg_copy_t *copy, const void *p, size_t n)
{
    TD_ASSERT(n <= INT32_MAX);
    field(copy, (int32_t)n);
    put(copy, p, n);
}

void td_pg_copy_text(td_pg_copy_t *copy, const char *s)
{
    td_pg_copy_bytes(copy, s, strlen(s));
}

void td_pg_copy_jsonb(td_pg_copy_t *copy, const void *json, size_t n)
{
    static const uint8_t version = 1;
    TD_ASSERT(n < INT32_MAX);
    field(copy, (int32_t)(n + 1));
    put(copy, &version, 1);
    put(copy, json, n);
}

void td_pg_copy_time_ms(td_pg_copy_t *copy, int64_t unix_ms)
{
    /* Event times are bounded far inside int64 microseconds (+-292,000 years). */
    TD_ASSERT(unix_ms > INT64_MIN / 2000 && unix_ms < INT64_MAX / 2000);
    td_pg_copy_int8(copy, (unix_ms - TD_PG_EPOCH_MS) * 1000);
}

void td_pg_copy_date(td_pg_copy_t *copy, uint32_t yyyymmdd)
{
    TD_ASSERT(td_time_valid_yyyymmdd(yyyymmdd));
    int64_t days = td_time_days_from_civil((int)(yyyymmdd / 10000), yyyymmdd / 100 % 100, yyyymmdd % 100);
    td_pg_copy_int4(copy, (int32_t)(days - TD_PG_EPOCH_DAYS));
}

td_err_t td_pg_copy_finish(td_pg_copy_t *copy)
{
    TD_ASSERT(!copy->finished && copy->fields == copy->want_fields);
    put_be16(copy, 0xffff);
    copy->finished = true;
    return copy->rc;
}
