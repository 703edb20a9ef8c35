/* pg_query.h — reading single values back from PostgreSQL in tests (with
 * Criterion assertions), shared by every test that checks stored rows. */
#ifndef PRECIS_PG_QUERY_H
#define PRECIS_PG_QUERY_H

#include <libpq-fe.h>

/* First column of the single row of sql (malloc'd; NULL for SQL NULL).
 * Fails the test when the query fails or returns another number of rows. */
char *pg_query_text(PGconn *c, const char *sql);

/* The same as a number (-1 for SQL NULL). */
long pg_query_long(PGconn *c, const char *sql);

/* The value must be want (not NULL). */
void pg_assert_query(PGconn *c, const char *sql, const char *want);

#endif
