/* store_migrate.c — apply SQL migrations in order, once, under an advisory lock.
 *
 * schema_migrations(version, name, sha256, applied_at) records what was
 * applied. Each pending migration runs in its own transaction together with
 * its schema_migrations row, so a failed migration leaves no trace and the
 * next run starts again from it. The advisory lock serialises concurrent
 * migrators: the second waits, then finds everything applied.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

/* "precis" in ASCII, then 1: the session advisory lock taken while migrating. */
#define MIGRATION_LOCK_KEY "31650977176711937" /* 0x707265636973 << 8 | 1, as decimal */

static const char create_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version bigint PRIMARY KEY,"
    " name text NOT NULL,"
    " sha256 text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

/* Applied rows, as read from the database. */
typedef struct applied_rows {
    PGresult *res;   /* columns: version, name, sha256; NULL when no table */
    int n;
} applied_rows;

static int read_applied(store *s, int table_may_be_missing, applied_rows *out, perr *err)
{
    *out = (applied_rows){0};
    if (table_may_be_missing) {
        PGresult *r;
        int rc = store_exec(s, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL,
                            PGRES_TUPLES_OK, &r, err);
        if (rc != 0)
            return rc;
        int exists = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (!exists)
            return 0;
    }
    int rc = store_exec(s, "SELECT version, name, sha256 FROM schema_migrations ORDER BY version", 0, NULL,
                        PGRES_TUPLES_OK, &out->res, err);
    if (rc == 0)
        out->n = PQntuples(out->res);
    return rc;
}

static const migration *find_version(const migration_set *set, long version)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i].version == version)
            return &set->items[i];
    return NULL;
}

static int is_applied(const applied_rows *rows, long version)
{
    for (int i = 0; i < rows->n; i++)
        if (strtol(PQgetvalue(rows->res, i, 0), NULL, 10) == version)
            return 1;
    return 0;
}

/* Every applied migration must be in the set with the same checksum. */
static int verify_applied(const applied_rows *rows, const migration_set *set, perr *err)
{
    for (int i = 0; i < rows->n; i++) {
        long version = strtol(PQgetvalue(rows->res, i, 0), NULL, 10);
        const char *name = PQgetvalue(rows->res, i, 1);
        const char *sha = PQgetvalue(rows->res, i, 2);
        const migration *m = find_version(set, version);
        if (!m)
            return perr_set(err, "the database has migration %s (version %ld) which this precis does not know: "
                            "it was migrated by a newer precis", name, version);
        if (strcmp(m->sha256, sha) != 0)
            return perr_set(err, "migration %s was changed after it was applied (sha256 recorded %.12s..., "
                            "file %.12s...): restore it and put changes in a new migration", m->name, sha, m->sha256);
    }
    return 0;
}

static int apply_one(store *s, const migration *m, perr *err)
{
    char version[24];
    snprintf(version, sizeof version, "%ld", m->version);
    const char *params[] = {version, m->name, m->sha256};
    int rc = store_begin(s, err);
    if (rc == 0)
        rc = store_exec_script(s, m->sql, err);
    if (rc == 0)
        rc = store_exec(s, "INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)",
                        3, params, PGRES_COMMAND_OK, NULL, err);
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0) {
        store_rollback(s);
        perr_prefix(err, "applying migration %s", m->name);
    }
    return rc;
}

/* After a successful run every migration of the set is applied too. */
static long highest_version(const applied_rows *rows, const migration_set *set)
{
    long v = rows->n ? strtol(PQgetvalue(rows->res, rows->n - 1, 0), NULL, 10) : 0;
    if (set->n && set->items[set->n - 1].version > v)
        v = set->items[set->n - 1].version;
    return v;
}

/* With the lock held: create the table, verify, apply what is pending. */
static int migrate_locked(store *s, const migration_set *set, store_migrate_report *report,
                          store_migrate_cb on_applied, void *ctx, perr *err)
{
    int rc = store_exec(s, create_table_sql, 0, NULL, PGRES_COMMAND_OK, NULL, err);
    applied_rows rows = {0};
    if (rc == 0)
        rc = read_applied(s, 0, &rows, err);
    if (rc == 0 && verify_applied(&rows, set, err) != 0)
        rc = STORE_ERROR;
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        const migration *m = &set->items[i];
        if (is_applied(&rows, m->version))
            continue;
        rc = apply_one(s, m, err);
        if (rc == 0) {
            report->applied++;
            if (on_applied)
                on_applied(m, ctx);
        }
    }
    if (rc == 0)
        report->version = highest_version(&rows, set);
    PQclear(rows.res);
    return rc;
}

/* *use = set, or the embedded migrations (loaded into *embedded) when set is NULL. */
static int with_set(const migration_set *set, migration_set *embedded, const migration_set **use, perr *err)
{
    *use = set;
    if (set)
        return 0;
    if (migrations_embedded(embedded, err) != 0)
        return STORE_ERROR;
    *use = embedded;
    return 0;
}

int store_migrate(store *s, const migration_set *set, store_migrate_report *report,
                  store_migrate_cb on_applied, void *ctx, perr *err)
{
    store_migrate_report local;
    if (!report)
        report = &local;
    migration_set embedded = {0};
    const migration_set *use;
    int rc = with_set(set, &embedded, &use, err);
    if (rc != 0)
        return rc;
    *report = (store_migrate_report){.known = use->n};
    const char *key[] = {MIGRATION_LOCK_KEY};
    rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, "SELECT pg_advisory_lock($1::bigint)", 1, key, PGRES_TUPLES_OK, NULL, err);
    if (rc == 0) {
        rc = migrate_locked(s, use, report, on_applied, ctx, err);
        perr ignored;
        store_exec(s, "SELECT pg_advisory_unlock($1::bigint)", 1, key, PGRES_TUPLES_OK, NULL, &ignored);
    }
    migrations_clear(&embedded);
    if (rc != 0)
        perr_prefix(err, "migrating the database");
    return rc;
}

int store_migrate_check(store *s, const migration_set *set, perr *err)
{
    migration_set embedded = {0};
    const migration_set *use;
    int rc = with_set(set, &embedded, &use, err);
    applied_rows rows = {0};
    if (rc == 0)
        rc = store_ready(s, err);
    if (rc == 0)
        rc = read_applied(s, 1, &rows, err);
    if (rc == 0 && verify_applied(&rows, use, err) != 0)
        rc = STORE_ERROR;
    for (size_t i = 0; rc == 0 && i < use->n; i++)
        if (!is_applied(&rows, use->items[i].version))
            rc = perr_set(err, "migration %s is not applied (run 'precis migrate')", use->items[i].name);
    PQclear(rows.res);
    migrations_clear(&embedded);
    if (rc != 0)
        perr_prefix(err, "checking the database schema");
    return rc;
}
