/* cmd_migrate.c - `tapedeck migrate [--status] [--dir DIR]`: the warehouse schema. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/pg.h"
#include "migrations/migrate.h"

static void help(void)
{
    printf("usage: tapedeck migrate [--status] [--dir DIR]\n"
           "\n"
           "Applies the pending warehouse migrations (numbered SQL files, built into tapedeck from\n"
           "migrations/) to PostgreSQL in order, each in its own transaction, and records each with its\n"
           "SHA-256 in schema_migrations. Re-running applies nothing. A migration that changed after it\n"
           "was applied (or that is missing, renamed or out of order) is refused before anything runs.\n"
           "PostgreSQL is reached through warehouse.uri, else PGHOST, PGPORT, PGDATABASE, PGUSER.\n"
           "\n"
           "options:\n"
           "  --status    list the applied and pending migrations; apply nothing\n"
           "  --dir DIR   read the migrations from DIR/NNNN_*.sql instead of the built-in ones\n"
           "\n"
           "Exit codes: 0 done, 1 an applied migration changed (or is missing), 2 bad usage or a bad file\n"
           "name, 3 PostgreSQL unreachable or a migration's SQL failed (rolled back).\n");
}

static void print_applied(void *opaque, const td_migration_t *m)
{
    (void)opaque;
    printf("applied %s\n", m->name);
    fflush(stdout);
}

static const char *state_name(td_migration_state_t state)
{
    switch (state) {
    case TD_MIGRATION_APPLIED: return "applied";
    case TD_MIGRATION_PENDING: return "pending";
    case TD_MIGRATION_CHANGED: return "CHANGED";
    case TD_MIGRATION_MISSING: return "MISSING";
    }
    return "?";
}

int td_cmd_migrate(td_cli_t *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"status", no_argument, NULL, 's'},
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool status_only = false;
    const char *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's': status_only = true; break;
        case 'd': dir = optarg; break;
        case 'h': help(); return TD_EXIT_OK;
        default: return td_cli_usage(cli, "unknown option");
        }
    }
    if (optind < argc)
        return td_cli_usage(cli, "unexpected argument '%s'", argv[optind]);

    char err[1024] = "";
    td_migration_set_t set = {0};
    td_err_t rc =
        dir ? td_migrate_set_load_dir(&set, dir, err, sizeof err) : td_migrate_set_embedded(&set, err, sizeof err);
    if (rc != TD_OK)
        return td_cli_fail(cli, rc, "%s", err);
    td_pg_t *pg = NULL;
    rc = td_pg_connect(td_config_str(cli->config, "warehouse.uri"), &pg, err, sizeof err);
    int code = TD_EXIT_OK;
    if (rc != TD_OK) {
        code = td_cli_fail(cli, rc, "%s", err);
    } else if (status_only) {
        td_migration_status_t *list = NULL;
        size_t n = 0;
        rc = td_migrate_status(pg, &set, &list, &n, err, sizeof err);
        if (rc != TD_OK)
            code = td_cli_fail(cli, rc, "%s", err);
        size_t pending = 0, bad = 0;
        for (size_t i = 0; rc == TD_OK && i < n; i++) {
            printf("%-8s %-40s %s\n", state_name(list[i].state), list[i].name,
                   list[i].applied_at[0] ? list[i].applied_at : "-");
            pending += list[i].state == TD_MIGRATION_PENDING;
            bad += list[i].state == TD_MIGRATION_CHANGED || list[i].state == TD_MIGRATION_MISSING;
        }
        if (rc == TD_OK) {
            printf("%zu migration(s): %zu applied, %zu pending%s\n", n, n - pending - bad, pending,
                   bad ? ", some CHANGED or MISSING (migrate refuses to run)" : "");
            if (bad)
                code = TD_EXIT_CHECK;
        }
        free(list);
    } else {
        size_t applied = 0;
        rc = td_migrate_apply(pg, &set, &applied, print_applied, NULL, err, sizeof err);
        if (rc != TD_OK)
            code = td_cli_fail(cli, rc, "%s", err);
        else
            printf("%zu migration(s) applied, %zu known, the schema is up to date\n", applied, set.len);
    }
    td_pg_close(pg);
    td_migrate_set_fini(&set);
    return code;
}
