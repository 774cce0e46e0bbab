/* migrate.c - applying the warehouse migrations (see migrate.h).
 *
 * Assumes the connection is idle (no open transaction). Every step that touches the database
 * goes through core/pg.h.
 */
#include "migrations/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/digest.h"

/* One number for every tapedeck migrate run: pg_advisory_lock's key ("tdmigr" in ASCII). */
#define MIGRATE_LOCK_KEY "127978549047666"

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
                                       " version integer PRIMARY KEY,"
                                       " name text NOT NULL,"
                                       " checksum text NOT NULL,"
                                       " applied_at timestamptz NOT NULL DEFAULT now())";

/* NNNN_[a-z0-9_]+.sql -> version; -1 when the name does not follow the rule. */
static long name_version(const char *name)
{
    size_t n = strlen(name);
    if (n < 10 || strcmp(name + n - 4, ".sql") != 0 || name[4] != '_')
        return -1;
    for (size_t i = 0; i < 4; i++)
        if (name[i] < '0' || name[i] > '9')
            return -1;
    for (size_t i = 5; i < n - 4; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_' ||
              name[i] == '-'))
            return -1;
    return strtol(name, NULL, 10);
}

static td_err_t validate(const td_migration_set_t *set, char *errbuf, size_t errlen)
{
    for (size_t i = 0; i < set->len; i++) {
        long v = name_version(set->items[i].name);
        if (v < 0 || strlen(set->items[i].name) >= sizeof((td_migration_status_t *)0)->name)
            return td_err_set(errbuf, errlen, TD_ERR_PARSE,
                              "%s/%s: a migration is named NNNN_name.sql (four digits, lower-case name)", set->origin,
                              set->items[i].name);
        if (i > 0 && name_version(set->items[i - 1].name) == v)
            return td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s/%s: version %04ld is also %s", set->origin,
                              set->items[i].name, v, set->items[i - 1].name);
    }
    return TD_OK;
}

td_err_t td_migrate_set_embedded(td_migration_set_t *set, char *errbuf, size_t errlen)
{
    set->items = (td_migration_t *)td_migrations_embedded;
    set->len = td_migrations_embedded_count;
    set->origin = "migrations";
    set->owned = 0;
    return validate(set, errbuf, errlen);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const td_migration_t *)a)->name, ((const td_migration_t *)b)->name);
}

static td_err_t read_file(const char *path, td_migration_t *m, char *errbuf, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: %s", path, strerror(errno));
    td_buf_t buf;
    td_buf_init(&buf);
    td_err_t rc = TD_OK;
    char chunk[8192];
    size_t n;
    while (rc == TD_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = td_buf_append(&buf, chunk, n);
    if (rc == TD_OK && ferror(f))
        rc = td_err_set(errbuf, errlen, TD_ERR_IO, "%s: read failed", path);
    fclose(f);
    if (rc == TD_OK && memchr(buf.ptr, 0, buf.len))
        rc = td_err_set(errbuf, errlen, TD_ERR_PARSE, "%s: a NUL byte in SQL text", path);
    if (rc == TD_OK && !td_buf_cstr(&buf))
        rc = TD_ERR_NOMEM;
    if (rc != TD_OK) {
        td_buf_fini(&buf);
        return rc;
    }
    m->sql = (const char *)buf.ptr; /* ownership moves to the set */
    m->len = buf.len;
    return TD_OK;
}

td_err_t td_migrate_set_load_dir(td_migration_set_t *set, const char *dir, char *errbuf, size_t errlen)
{
    memset(set, 0, sizeof *set);
    set->origin = dir;
    set->owned = 1;
    DIR *d = opendir(dir);
    if (!d)
        return td_err_set(errbuf, errlen, TD_ERR_IO, "%s: %s", dir, strerror(errno));
    td_err_t rc = TD_OK;
    struct dirent *de;
    while (rc == TD_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".sql") != 0)
            continue;
        td_migration_t *p = realloc(set->items, (set->len + 1) * sizeof *p);
        if (!p) {
            rc = TD_ERR_NOMEM;
            break;
        }
        set->items = p;
        td_migration_t *m = &set->items[set->len];
        memset(m, 0, sizeof *m);
        m->name = strdup(de->d_name);
        if (!m->name) {
            rc = TD_ERR_NOMEM;
            break;
        }
        set->len++;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        rc = read_file(path, m, errbuf, errlen);
    }
    closedir(d);
    if (rc == TD_OK) {
        if (set->len)
            qsort(set->items, set->len, sizeof *set->items, by_name);
        rc = validate(set, errbuf, errlen);
    }
    if (rc != TD_OK)
        td_migrate_set_fini(set);
    return rc;
}

void td_migrate_set_fini(td_migration_set_t *set)
{
    if (set->owned) {
        for (size_t i = 0; i < set->len; i++) {
            free((char *)set->items[i].name);
            free((char *)set->items[i].sql);
        }
        free(set->items);
    }
    set->items = NULL;
    set->len = 0;
}

static void checksum(const td_migration_t *m, char hex[65])
{
    uint8_t d[TD_SHA256_LEN];
    td_sha256(m->sql, m->len, d);
    td_digest_hex(d, hex);
}

static int by_version(const void *a, const void *b)
{
    const td_migration_status_t *x = a, *y = b;
    return x->version < y->version ? -1 : x->version > y->version;
}

td_err_t td_migrate_status(td_pg_t *pg, const td_migration_set_t *set, td_migration_status_t **list, size_t *n,
                           char *errbuf, size_t errlen)
{
    *list = NULL;
    *n = 0;
    td_pg_rows_t *rows = NULL;
    td_err_t rc = td_pg_exec(pg, create_table_sql, errbuf, errlen);
    if (rc == TD_OK)
        rc = td_pg_query(pg,
                         "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM schema_migrations ORDER BY version",
                         0, NULL, &rows, errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    int n_rows = td_pg_rows_count(rows);
    td_migration_status_t *out = calloc(set->len + (size_t)n_rows + 1, sizeof *out);
    if (!out) {
        td_pg_rows_destroy(rows);
        return TD_ERR_NOMEM;
    }
    size_t len = 0;
    for (size_t i = 0; i < set->len; i++) {
        td_migration_status_t *s = &out[len++];
        s->version = (uint32_t)name_version(set->items[i].name);
        snprintf(s->name, sizeof s->name, "%s", set->items[i].name);
        checksum(&set->items[i], s->file_sha256);
        s->state = TD_MIGRATION_PENDING;
    }
    for (int r = 0; r < n_rows; r++) {
        uint32_t version = (uint32_t)strtoul(td_pg_rows_get(rows, r, 0), NULL, 10);
        td_migration_status_t *s = NULL;
        for (size_t i = 0; i < set->len; i++)
            if (out[i].version == version)
                s = &out[i];
        if (!s) {
            s = &out[len++];
            s->version = version;
            snprintf(s->name, sizeof s->name, "%s", td_pg_rows_get(rows, r, 1));
        }
        snprintf(s->applied_name, sizeof s->applied_name, "%s", td_pg_rows_get(rows, r, 1));
        snprintf(s->applied_sha256, sizeof s->applied_sha256, "%s", td_pg_rows_get(rows, r, 2));
        snprintf(s->applied_at, sizeof s->applied_at, "%s", td_pg_rows_get(rows, r, 3));
        if (!s->file_sha256[0])
            s->state = TD_MIGRATION_MISSING;
        else if (strcmp(s->file_sha256, s->applied_sha256) != 0 || strcmp(s->name, s->applied_name) != 0)
            s->state = TD_MIGRATION_CHANGED;
        else
            s->state = TD_MIGRATION_APPLIED;
    }
    td_pg_rows_destroy(rows);
    qsort(out, len, sizeof *out, by_version);
    *list = out;
    *n = len;
    return TD_OK;
}

/* The first reason to refuse the whole run, or TD_OK. */
static td_err_t check_history(const td_migration_set_t *set, const td_migration_status_t *list, size_t n, char *errbuf,
                              size_t errlen)
{
    uint32_t newest_applied = 0;
    const char *newest_name = "";
    for (size_t i = 0; i < n; i++) {
        const td_migration_status_t *s = &list[i];
        if (s->state == TD_MIGRATION_CHANGED && strcmp(s->name, s->applied_name) != 0)
            return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                              "%s/%s: version %04u was applied as %s; an applied migration must not be renamed",
                              set->origin, s->name, s->version, s->applied_name);
        if (s->state == TD_MIGRATION_CHANGED)
            return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                              "%s/%s: changed after it was applied (%s, sha256 %.12s..., the file now has %.12s...); "
                              "an applied migration must not change: restore it and add a new numbered file",
                              set->origin, s->name, s->applied_at, s->applied_sha256, s->file_sha256);
        if (s->state == TD_MIGRATION_MISSING)
            return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                              "%s/%s: applied on %s but no such file in %s (a newer schema than this build?)",
                              set->origin, s->name, s->applied_at, set->origin);
        if (s->state == TD_MIGRATION_APPLIED) {
            newest_applied = s->version;
            newest_name = s->name;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (list[i].state == TD_MIGRATION_PENDING && list[i].version < newest_applied)
            return td_err_set(errbuf, errlen, TD_ERR_MISMATCH,
                              "%s/%s: pending, but the newer %s is already applied; renumber it after %s", set->origin,
                              list[i].name, newest_name, newest_name);
    return TD_OK;
}

static td_err_t apply_one(td_pg_t *pg, const td_migration_set_t *set, const td_migration_t *m, char *errbuf,
                          size_t errlen)
{
    char version[16], hex[65], detail[768] = "";
    snprintf(version, sizeof version, "%ld", name_version(m->name));
    checksum(m, hex);
    const char *params[3] = {version, m->name, hex};
    td_err_t rc = td_pg_begin(pg, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_pg_exec(pg, m->sql, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_pg_exec_params(pg, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
                               params, NULL, detail, sizeof detail);
    if (rc == TD_OK)
        rc = td_pg_commit(pg, detail, sizeof detail);
    if (rc != TD_OK) {
        td_pg_rollback(pg);
        td_err_set(errbuf, errlen, rc, "%s/%s: not applied (rolled back): %s", set->origin, m->name, detail);
    }
    return rc;
}

td_err_t td_migrate_apply(td_pg_t *pg, const td_migration_set_t *set, size_t *applied,
                          void (*on_applied)(void *opaque, const td_migration_t *m), void *opaque, char *errbuf,
                          size_t errlen)
{
    *applied = 0;
    td_err_t rc = td_pg_exec(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", errbuf, errlen);
    if (rc != TD_OK)
        return rc;
    td_migration_status_t *list = NULL;
    size_t n = 0;
    rc = td_migrate_status(pg, set, &list, &n, errbuf, errlen);
    if (rc == TD_OK)
        rc = check_history(set, list, n, errbuf, errlen);
    for (size_t i = 0; rc == TD_OK && i < n; i++) {
        if (list[i].state != TD_MIGRATION_PENDING)
            continue;
        const td_migration_t *m = NULL;
        for (size_t k = 0; k < set->len; k++)
            if (strcmp(set->items[k].name, list[i].name) == 0)
                m = &set->items[k];
        TD_ASSERT(m != NULL);
        rc = apply_one(pg, set, m, errbuf, errlen);
        if (rc == TD_OK) {
            (*applied)++;
            if (on_applied)
                on_applied(opaque, m);
        }
    }
    free(list);
    if (td_pg_ok(pg)) {
        char ignore[256];
        td_err_t unlock = td_pg_exec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", ignore, sizeof ignore);
        (void)unlock; /* the lock also ends with the session */
    }
    return rc;
}
