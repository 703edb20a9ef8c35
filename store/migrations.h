/* migrations.h — the ordered set of SQL migration files (sql/NNNN_name.sql).
 *
 * The files are embedded into the binary at build time (sql/embed.sh writes
 * embedded_sql_files[]), so the daemon needs nothing on disk; a directory can
 * be loaded instead (tests, or an operator pointing at installed files).
 * A file name is its version: leading decimal digits, '_', a name, ".sql"
 * ("0001_init.sql" is version 1). Versions must be unique; the set is sorted
 * by version. Each migration carries the sha256 of its exact bytes, recorded
 * in schema_migrations when applied (store_migrate, store/store.h).
 */
#ifndef PRECIS_MIGRATIONS_H
#define PRECIS_MIGRATIONS_H

#include <stddef.h>

#include "common/error.h"
#include "common/sha256.h"

/* One entry of the generated table; {NULL, NULL, 0} terminates it. */
typedef struct embedded_sql_file {
    const char *name;
    const char *data;
    size_t len;
} embedded_sql_file;

extern const embedded_sql_file embedded_sql_files[];

typedef struct migration {
    long version;                               /* 1 for "0001_init.sql" */
    char *name;                                 /* "0001_init.sql" */
    char *sql;                                  /* NUL-terminated file content */
    size_t len;
    char sha256[SHA256_HEX_LEN + 1];     /* of the file's bytes */
} migration;

typedef struct migration_set {
    migration *items;                           /* sorted by version */
    size_t n;
} migration_set;

/* The migrations built into this binary. */
int migrations_embedded(migration_set *out, perr *err);

/* Every *.sql file of dir (other files are ignored). */
int migrations_load_dir(migration_set *out, const char *dir, perr *err);

/* Add one migration (copies name and sql); keeps the set sorted and rejects
 * a bad name or a duplicate version. Used by the loaders and by tests. */
int migrations_add(migration_set *set, const char *name, const char *sql, size_t len, perr *err);

void migrations_clear(migration_set *set);

/* Version encoded in a file name, or -1 when the name is not NNNN_name.sql. */
long migrations_version_of(const char *name);

#endif
