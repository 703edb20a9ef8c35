/* pg_harness.h — throwaway PostgreSQL servers for tests (real server, no mocks).
 *
 * A server is a fresh initdb (trust auth, superuser "postgres", UTF-8,
 * fsync off) in a directory under /tmp, listening ONLY on a Unix socket in
 * that directory (listen_addresses='', no TCP port is opened). The binaries
 * come from $PRECIS_PG_BINDIR or the newest /usr/lib/postgresql/N/bin.
 *
 * Running as root (CI): PostgreSQL refuses to run as root, so initdb and
 * pg_ctl run through `runuser -u postgres --` (the user the Debian package
 * creates; "nobody" when it does not exist) and the server directory is
 * chowned to that user. The tests themselves stay root and connect over the
 * socket as database user "postgres".
 *
 * Two kinds of server:
 *  - shared: one per test run. The runner (Criterion PRE_ALL hook, in the
 *    parent process) only reserves a directory and exports it in
 *    PRECIS_PG_HARNESS_DIR; the first test that asks starts the server there
 *    (under a file lock, so parallel tests start it once) and it keeps
 *    running across the forked test processes until the POST_ALL hook stops
 *    it and removes the directory. Never stop the shared server.
 *    Each test takes its own database (pg_harness_new_db), so tests running
 *    in parallel do not see each other's rows.
 *  - private: owned by one test, which may stop and restart it (to test
 *    connection loss); pg_harness_free stops it and removes its directory.
 *    initdb makes this cost about 1.3 s. Under the runner its directory is
 *    inside the run directory, so POST_ALL also stops a private server
 *    that a failed test left running.
 * When PostgreSQL is not installed the test is skipped, or FAILS when
 * CI=true (as with the other test assets, see support.h).
 */
#ifndef PRECIS_PG_HARNESS_H
#define PRECIS_PG_HARNESS_H

typedef struct pg_harness pg_harness;

/* The run's shared server (started on first use). */
pg_harness *pg_harness_shared(void);

/* A private server for this test, started. */
pg_harness *pg_harness_private(void);

/* Create a new empty database; returns its conninfo (malloc'd), e.g.
 * "host=/tmp/precis-pg-XXXXXX/sock port=5432 user=postgres dbname=t_123_1". */
char *pg_harness_new_db(pg_harness *h);

/* Socket directory (the "host" of every conninfo of this server). */
const char *pg_harness_socket_dir(const pg_harness *h);

/* Private servers only: fast shutdown (clients are disconnected) / start
 * again on the same data. Fail the test on error. */
void pg_harness_stop(pg_harness *h);
void pg_harness_start(pg_harness *h);

/* Private: stop immediately and delete everything. Shared: only frees the handle. */
void pg_harness_free(pg_harness *h);

#endif
