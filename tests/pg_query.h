/* pg_query.h — a migrated test database with a store and a raw connection,
 * and reading single values back from it (with Criterion assertions),
 * shared by every test that checks stored rows. */
#ifndef PRECIS_PG_QUERY_H
#define PRECIS_PG_QUERY_H

#include <libpq-fe.h>

#include "store/store.h"
#include "tests/pg_harness.h"

/* A fresh database on the run's shared server, migrated. */
typedef struct test_db {
    pg_harness *pg;
    char *conninfo;
    store *st;                   /* the store, as the pipeline uses it */
    PGconn *raw;                 /* for checking rows */
} test_db;

test_db test_db_open(void);
void test_db_close(test_db *d);

/* A new database on pg, migrated (no connection kept); its conninfo
 * (malloc'd). */
char *test_migrated_db(pg_harness *pg);
/* The same on the run's shared server. */
char *test_shared_migrated_db(void);

/* First column of the single row of sql (malloc'd; NULL for SQL NULL).
 * Fails the test when the query fails or returns another number of rows. */
char *pg_query_text(PGconn *c, const char *sql);

/* The same as a number (-1 for SQL NULL). */
long pg_query_long(PGconn *c, const char *sql);

/* The value must be want (not NULL). */
void pg_assert_query(PGconn *c, const char *sql, const char *want);

#endif
