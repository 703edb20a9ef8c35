/* pg_query.c — single values from PostgreSQL for tests (see pg_query.h). */
#include "tests/pg_query.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

test_db test_db_open(void)
{
    test_db d = {.pg = pg_harness_shared()};
    d.conninfo = pg_harness_new_db(d.pg);
    perr err;
    cr_assert_eq(store_connect(&d.st, d.conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_migrate(d.st, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    d.raw = PQconnectdb(d.conninfo);
    cr_assert_eq(PQstatus(d.raw), CONNECTION_OK);
    return d;
}

void test_db_close(test_db *d)
{
    PQfinish(d->raw);
    store_close(d->st);
    free(d->conninfo);
    pg_harness_free(d->pg);
}

char *test_migrated_db(pg_harness *pg)
{
    char *conninfo = pg_harness_new_db(pg);
    store *s;
    perr err;
    cr_assert_eq(store_connect(&s, conninfo, &err), 0, "%s", err.msg);
    cr_assert_eq(store_migrate(s, NULL, NULL, NULL, NULL, &err), 0, "%s", err.msg);
    store_close(s);
    return conninfo;
}

char *test_shared_migrated_db(void)
{
    pg_harness *pg = pg_harness_shared();
    char *conninfo = test_migrated_db(pg);
    pg_harness_free(pg);   /* the shared server keeps running */
    return conninfo;
}

char *pg_query_text(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
    cr_assert_eq(PQntuples(r), 1, "%s returned %d rows", sql, PQntuples(r));
    char *v = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

long pg_query_long(PGconn *c, const char *sql)
{
    char *v = pg_query_text(c, sql);
    long n = v ? atol(v) : -1;
    free(v);
    return n;
}

void pg_assert_query(PGconn *c, const char *sql, const char *want)
{
    char *v = pg_query_text(c, sql);
    cr_assert(v, "%s is NULL", sql);
    cr_assert_str_eq(v, want, "%s", sql);
    free(v);
}
