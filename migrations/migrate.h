/* migrate.h - the warehouse's schema migrations: numbered SQL files applied in order.
 *
 * A migration is a file NNNN_name.sql (NNNN its version, four digits). The files of migrations/
 * are embedded into the binary at build time (embed.cmake), so `tapedeck migrate` needs no path;
 * td_migrate_load_dir reads another folder instead (operations, tests). Each applied file is
 * recorded in schema_migrations (version, name, SHA-256 of its bytes, when) in the same
 * transaction that ran it, one transaction per file. A file that changed after it was applied,
 * an applied version whose file is gone or renamed, and a pending file older than an applied one
 * are refused (TD_ERR_MISMATCH, naming the file) before anything runs: the database's history
 * is never rewritten silently.
 *
 * Thread: the caller's; the connection is used for the duration of the call. Concurrent
 * `migrate` runs serialise on a PostgreSQL advisory lock.
 */
#ifndef TD_MIGRATE_H
#define TD_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pg.h"

typedef struct td_migration {
    const char *name; /* "0002_outputs.sql" */
    const char *sql;  /* NUL-terminated */
    size_t len;       /* bytes, without the NUL */
} td_migration_t;

/* The build's migrations (generated), ordered by name; a {0} entry follows the last. */
extern const td_migration_t td_migrations_embedded[];
extern const size_t td_migrations_embedded_count;

typedef struct td_migration_set {
    td_migration_t *items;
    size_t len;
    const char *origin; /* "migrations" (embedded) or the folder read; prefixes file names in messages */
    int owned;          /* items and their texts are heap copies (a loaded folder) */
} td_migration_set_t;

/* The embedded migrations, validated (names, unique versions, order). */
td_err_t td_migrate_set_embedded(td_migration_set_t *set, char *errbuf, size_t errlen) TD_WUR;
/* Reads DIR/NNNN_*.sql, ordered by name. TD_ERR_IO / TD_ERR_PARSE (a bad name) with detail. */
td_err_t td_migrate_set_load_dir(td_migration_set_t *set, const char *dir, char *errbuf, size_t errlen) TD_WUR;
void td_migrate_set_fini(td_migration_set_t *set);

typedef enum td_migration_state {
    TD_MIGRATION_APPLIED = 0, /* applied, checksum equal */
    TD_MIGRATION_PENDING = 1, /* not applied yet */
    TD_MIGRATION_CHANGED = 2, /* applied, but the file's checksum (or name) differs now */
    TD_MIGRATION_MISSING = 3, /* applied, no file with that version any more */
} td_migration_state_t;

typedef struct td_migration_status {
    uint32_t version;
    char name[128];
    td_migration_state_t state;
    char file_sha256[65];    /* "" when MISSING */
    char applied_sha256[65]; /* "" when PENDING */
    char applied_name[128];  /* "" when PENDING */
    char applied_at[40];     /* "" when PENDING */
} td_migration_status_t;

/* The state of every file and every applied version, ordered by version. *list is heap (free()).
 * Creates schema_migrations if it is absent. */
td_err_t td_migrate_status(td_pg_t *pg, const td_migration_set_t *set, td_migration_status_t **list, size_t *n,
                           char *errbuf, size_t errlen) TD_WUR;

/* Applies the pending files in order, each in its own transaction with its schema_migrations
 * row. *applied gets how many ran. Refuses (TD_ERR_MISMATCH) before running anything when a file
 * is CHANGED or MISSING or a pending file is older than the newest applied one; a file whose SQL
 * fails rolls back alone and stops the run (TD_ERR_STORE, naming the file). on_applied (may be
 * NULL) is called after each commit. */
td_err_t td_migrate_apply(td_pg_t *pg, const td_migration_set_t *set, size_t *applied,
                          void (*on_applied)(void *opaque, const td_migration_t *m), void *opaque, char *errbuf,
                          size_t errlen) TD_WUR;

#endif
