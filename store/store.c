/* store.c — the PostgreSQL connection: connect, reconnect, run statements,
 * and classify failures as permanent or transient (see store.h). */
#include "store/store_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotonic.h"
#include "store/conninfo_mask.h"

/* libpq prints server notices to stderr by default; library code never prints. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Copy a libpq message into err, one line ("a\nb\n" -> "a; b"). */
static int set_pq_message(perr *err, const char *what, const char *msg)
{
    char line[PERR_MSG_MAX];
    size_t o = 0;
    for (const char *p = msg ? msg : ""; *p && o + 3 < sizeof line; p++) {
        if (*p == '\n') {
            if (p[1] != '\0' && o > 0) {
                line[o++] = ';';
                line[o++] = ' ';
            }
        } else {
            line[o++] = *p;
        }
    }
    line[o] = '\0';
    return perr_set(err, "%s: %s", what, o ? line : "unknown error");
}

/* set_pq_message for a message about conninfo: libpq quotes the connection
 * string verbatim in some errors (a malformed URI), so its secrets are
 * masked first, before anything can truncate a secret into a visible prefix. */
static int set_conninfo_message(perr *err, const char *what, const char *msg, const char *conninfo)
{
    char *masked = conninfo_mask_text(msg, conninfo);
    int rc = set_pq_message(err, what, masked ? masked : "(message withheld: out of memory)");
    free(masked);
    return rc;
}

int store_sqlstate_is_transient(const char *sqlstate)
{
    if (!sqlstate || strlen(sqlstate) != 5)
        return 0;
    static const char *const exact[] = {
        "40001", /* serialization_failure */
        "40P01", /* deadlock_detected */
        "55P03", /* lock_not_available (lock_timeout) */
        "57014", /* query_canceled (statement_timeout, cancel) */
        "57P01", /* admin_shutdown */
        "57P02", /* crash_shutdown */
        "57P03", /* cannot_connect_now (starting up, shutting down) */
        "57P05", /* idle_session_timeout */
        "58000", /* system_error */
        "58030", /* io_error */
        NULL,
    };
    if (strncmp(sqlstate, "08", 2) == 0 || /* connection exception */
        strncmp(sqlstate, "53", 2) == 0)   /* insufficient resources (disk full, too many connections) */
        return 1;
    for (size_t i = 0; exact[i]; i++)
        if (strcmp(sqlstate, exact[i]) == 0)
            return 1;
    return 0;
}

/* store_connect, with connect_timeout forced to timeout (NULL: the
 * conninfo's, else 10 s): keys after "dbname" override what it expands to. */
static int connect_with(store **out, const char *conninfo, const char *timeout, perr *err)
{
    *out = NULL;
    if (conninfo && *conninfo) {
        char *parse_error = NULL;
        PQconninfoOption *opts = PQconninfoParse(conninfo, &parse_error);
        if (!opts) {
            int rc = set_conninfo_message(err, "invalid [postgres] conninfo", parse_error, conninfo);
            PQfreemem(parse_error);
            return rc;
        }
        PQconninfoFree(opts);
    }
    /* Defaults first: the conninfo (expanded from "dbname") overrides them. */
    const char *const keys[] = {"connect_timeout", "application_name", "client_encoding",
                                "keepalives_idle", "keepalives_interval", "keepalives_count",
                                "dbname", timeout ? "connect_timeout" : NULL, NULL};
    const char *const values[] = {"10", "precis", "UTF8", "30", "10", "3",
                                  conninfo ? conninfo : "", timeout, NULL};
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (!conn)
        return perr_set(err, "connecting to PostgreSQL: out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
        set_conninfo_message(err, "connecting to PostgreSQL", PQerrorMessage(conn), conninfo);
        PQfinish(conn);
        return STORE_TRANSIENT;
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    store *s = calloc(1, sizeof *s);
    if (!s) {
        PQfinish(conn);
        return perr_set(err, "out of memory");
    }
    s->conn = conn;
    *out = s;
    return 0;
}

int store_connect(store **out, const char *conninfo, perr *err)
{
    return connect_with(out, conninfo, NULL, err);
}

void store_close(store *s)
{
    if (!s)
        return;
    PQfinish(s->conn);
    free(s);
}

int store_ready(store *s, perr *err)
{
    if (PQstatus(s->conn) != CONNECTION_OK) {
        PQreset(s->conn);
        if (PQstatus(s->conn) != CONNECTION_OK) {
            set_pq_message(err, "reconnecting to PostgreSQL", PQerrorMessage(s->conn));
            return STORE_TRANSIENT;
        }
    }
    if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        store_rollback(s);
    return 0;
}

/* STORE_TRANSIENT or STORE_ERROR for a failed statement, with err filled. */
static int statement_failed(store *s, const PGresult *res, perr *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    int transient = !res || PQstatus(s->conn) != CONNECTION_OK || store_sqlstate_is_transient(state);
    if (primary)
        perr_set(err, "PostgreSQL: %s%s%s (SQLSTATE %s)", primary, detail ? ": " : "",
                 detail ? detail : "", state ? state : "?");
    else
        set_pq_message(err, "PostgreSQL", PQerrorMessage(s->conn));
    return transient ? STORE_TRANSIENT : STORE_ERROR;
}

int store_exec(store *s, const char *sql, int n_params, const char *const *params,
               ExecStatusType want, PGresult **res, perr *err)
{
    if (res)
        *res = NULL;
    PGresult *r = PQexecParams(s->conn, sql, n_params, NULL, params, NULL, NULL, 0);
    if (!r || PQresultStatus(r) != want) {
        int rc = statement_failed(s, r, err);
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return 0;
}

int store_exec_script(store *s, const char *sql, perr *err)
{
    PGresult *r = PQexec(s->conn, sql);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (!r || (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)) {
        int rc = statement_failed(s, r, err);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    return 0;
}

int store_begin(store *s, perr *err) { return store_exec(s, "BEGIN", 0, NULL, PGRES_COMMAND_OK, NULL, err); }

int store_commit(store *s, perr *err) { return store_exec(s, "COMMIT", 0, NULL, PGRES_COMMAND_OK, NULL, err); }

void store_rollback(store *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

int store_ping(store *s, perr *err)
{
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, "SELECT 1", 0, NULL, PGRES_TUPLES_OK, NULL, err);
    return rc;
}

/* "SELECT 1" answered within timeout_ms (the connection's socket is polled:
 * a server that accepted us and then hangs cannot hold the caller). */
static int select_one_within(store *s, int timeout_ms, perr *err)
{
    PGconn *c = s->conn;
    if (!PQsendQuery(c, "SELECT 1")) {
        set_pq_message(err, "PostgreSQL", PQerrorMessage(c));
        return STORE_TRANSIENT;
    }
    int64_t deadline = monotonic_ms() + timeout_ms;
    perr_set(err, "PostgreSQL: no result for SELECT 1");
    int rc = STORE_TRANSIENT;
    for (;;) {
        while (!PQisBusy(c)) {
            PGresult *r = PQgetResult(c);
            if (!r)
                return rc;
            rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : statement_failed(s, r, err);
            PQclear(r);
        }
        int64_t left = deadline - monotonic_ms();
        if (left <= 0) {
            perr_set(err, "PostgreSQL: no answer within %d ms", timeout_ms);
            return STORE_TRANSIENT;
        }
        struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
        if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
            perr_errno(err, "PostgreSQL: waiting for an answer");
            return STORE_TRANSIENT;
        }
        if (!PQconsumeInput(c)) {
            set_pq_message(err, "PostgreSQL", PQerrorMessage(c));
            return STORE_TRANSIENT;
        }
    }
}

int store_probe(const char *conninfo, int timeout_s, perr *err)
{
    if (timeout_s < 2)
        timeout_s = 2;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_s);
    store *s = NULL;
    int rc = connect_with(&s, conninfo, timeout, err);
    if (rc == 0)
        rc = select_one_within(s, timeout_s * 1000, err);
    store_close(s);
    return rc;
}

char *store_field(const PGresult *res, int row, int col, int *oom)
{
    if (PQgetisnull(res, row, col))
        return NULL;
    char *copy = strdup(PQgetvalue(res, row, col));
    if (!copy)
        *oom = 1;
    return copy;
}

int store_query_text(store *s, const char *sql, int n_params, const char *const *params, char **out, perr *err)
{
    *out = NULL;
    PGresult *r = NULL;
    int oom = 0;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, sql, n_params, params, PGRES_TUPLES_OK, &r, err);
    if (rc == 0 && PQntuples(r) == 1)
        *out = store_field(r, 0, 0, &oom);
    PQclear(r);
    return oom ? perr_set(err, "out of memory") : rc;
}

long long store_field_ll(const PGresult *res, int row, int col, long long null_value)
{
    if (PQgetisnull(res, row, col))
        return null_value;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}
