/* store_internal.h — what the store_*.c files share: the connection and
 * the statement helpers that classify failures (see store.h). */
#ifndef PRECIS_STORE_INTERNAL_H
#define PRECIS_STORE_INTERNAL_H

#include <libpq-fe.h>

#include "store/store.h"
#include "store/store_consultation.h"

struct store {
    PGconn *conn;
};

/* Reconnect when the connection was lost and roll back a transaction left
 * open by an earlier failure. 0 or STORE_TRANSIENT. */
int store_ready(store *s, perr *err);

/* Run one parameterised statement (text parameters, NULL = SQL NULL).
 * want: PGRES_COMMAND_OK or PGRES_TUPLES_OK. On success *res (if res is not
 * NULL) holds the result for the caller to PQclear. On failure returns
 * STORE_ERROR or STORE_TRANSIENT with err filled, and *res is NULL. */
int store_exec(store *s, const char *sql, int n_params, const char *const *params,
               ExecStatusType want, PGresult **res, perr *err);

/* Run a multi-statement SQL script without parameters (migrations only). */
int store_exec_script(store *s, const char *sql, perr *err);

int store_begin(store *s, perr *err);
int store_commit(store *s, perr *err);
/* Best effort; never fails the caller (a broken connection is reset later). */
void store_rollback(store *s);

/* The start of a write: store_ready, then BEGIN. */
static inline int store_tx_open(store *s, perr *err)
{
    int rc = store_ready(s, err);
    return rc == 0 ? store_begin(s, err) : rc;
}

/* The end of a write opened by store_tx_open whose statements returned rc:
 * COMMIT when rc is 0, ROLLBACK when it or the COMMIT failed. Returns the
 * final status. */
static inline int store_tx_close(store *s, int rc, perr *err)
{
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0)
        store_rollback(s);
    return rc;
}

/* malloc'd copy of a result field, NULL when SQL NULL (abort on OOM is not
 * acceptable here: returns NULL and sets *oom). */
char *store_field(const PGresult *res, int row, int col, int *oom);

/* The first column of a query's one row as text (malloc'd; *out = NULL when
 * the query returns no row or NULL): the reports read back as one JSON
 * value. store_ready first; 0 or -1 (err). */
int store_query_text(store *s, const char *sql, int n_params, const char *const *params, char **out, perr *err);

/* A timestamptz column as "2026-12-07T19:05:43Z" in SQL text. */
#define STORE_ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
long long store_field_ll(const PGresult *res, int row, int col, long long null_value);

/* A consultation run's fields that are required (store_consultation.c). */
int store_consultation_check(const store_consultation_run *run, perr *err);
/* The rows of a consultation run inside an open transaction; a failed run
 * (run->error) writes its run row only. run_id receives the run's id. */
int store_consultation_save_tx(store *s, const store_consultation_run *run, char run_id[24], perr *err);
/* The run's approved set inside the run's transaction (store_approved.c):
 * its id into set_id ("" when the run has none), written first when new. */
int store_approved_set_tx(store *s, const store_consultation_run *run, char set_id[24], perr *err);
/* A done run's unassigned responses and candidate themes, after its rows. */
int store_approved_rows_tx(store *s, const store_consultation_run *run, const char *run_id, const char *set_id,
                           perr *err);

#endif
