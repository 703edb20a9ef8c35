/* store_digest.c — digests and schedule claims in PostgreSQL (see
 * store_digest.h). Every value is a parameter. */
#include "store/store_digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "store/store_internal.h"

static const char sources_sql[] =
    "SELECT d.id, coalesce(nullif(r.output->>'title', ''), d.title), d.source,"
    "       CASE WHEN jsonb_typeof(r.output->'summary') = 'string' THEN r.output->>'summary' END"
    " FROM document_collections dc"
    " JOIN documents d ON d.id = dc.document_id"
    " LEFT JOIN LATERAL (SELECT output FROM results"
    "                    WHERE document_id = d.id AND analysis = 'summary' AND jsonb_typeof(output) = 'object'"
    "                    ORDER BY updated_at DESC, id DESC LIMIT 1) r ON true"
    " WHERE dc.collection = $1"
    "   AND dc.added_at >= to_timestamp($2::double precision)"
    "   AND dc.added_at < to_timestamp($3::double precision)"
    " ORDER BY dc.added_at, d.id";

void digest_source_clear(digest_source *s)
{
    free(s->title);
    free(s->source);
    free(s->summary);
    memset(s, 0, sizeof *s);
}

void digest_sources_free(digest_source *docs, size_t n)
{
    for (size_t i = 0; docs && i < n; i++)
        digest_source_clear(&docs[i]);
    free(docs);
}

int store_digest_sources(store *s, const char *collection, int64_t start, int64_t end, digest_source **out,
                         size_t *n, perr *err)
{
    *out = NULL;
    *n = 0;
    char start_text[24], end_text[24];
    snprintf(start_text, sizeof start_text, "%lld", (long long)start);
    snprintf(end_text, sizeof end_text, "%lld", (long long)end);
    const char *params[] = {collection, start_text, end_text};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, sources_sql, 3, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return perr_prefix(err, "reading the summaries of collection %s", collection), rc;
    int rows = PQntuples(r);
    digest_source *docs = calloc(rows ? (size_t)rows : 1, sizeof *docs);
    int oom = !docs;
    for (int i = 0; !oom && i < rows; i++) {
        docs[i].id = store_field_ll(r, i, 0, 0);
        docs[i].title = store_field(r, i, 1, &oom);
        docs[i].source = store_field(r, i, 2, &oom);
        docs[i].summary = store_field(r, i, 3, &oom);
    }
    PQclear(r);
    if (oom) {
        digest_sources_free(docs, docs ? (size_t)rows : 0);
        return perr_set(err, "out of memory");
    }
    *out = docs;
    *n = (size_t)rows;
    return 0;
}

static const char save_sql[] =
    "INSERT INTO digests (collection, schedule, period_key, window_start, window_end, prompt_version, model_sha256,"
    "                     output, markdown, html, document_count, trace)"
    " VALUES ($1, $2, $3, to_timestamp($4::double precision), to_timestamp($5::double precision), $6, $7,"
    "         $8::jsonb, $9, $10, $11::integer, $12::jsonb)"
    " ON CONFLICT (collection, period_key) DO UPDATE SET"
    "   schedule = EXCLUDED.schedule, window_start = EXCLUDED.window_start, window_end = EXCLUDED.window_end,"
    "   prompt_version = EXCLUDED.prompt_version, model_sha256 = EXCLUDED.model_sha256, output = EXCLUDED.output,"
    "   markdown = EXCLUDED.markdown, html = EXCLUDED.html, document_count = EXCLUDED.document_count,"
    "   trace = EXCLUDED.trace, created_at = now()"
    " RETURNING id";

int store_digest_save(store *s, const store_digest_row *row, int64_t *id, perr *err)
{
    char start[24], end[24], count[16];
    snprintf(start, sizeof start, "%lld", (long long)row->window_start);
    snprintf(end, sizeof end, "%lld", (long long)row->window_end);
    snprintf(count, sizeof count, "%d", row->document_count);
    const char *params[] = {row->collection, row->schedule, row->period_key, start, end, row->prompt_version,
                            row->model_sha256, row->output_json, row->markdown, row->html, count,
                            row->trace_json ? row->trace_json : "[]"};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, save_sql, 12, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return perr_prefix(err, "storing the digest of %s for %s", row->collection, row->period_key), rc;
    if (id)
        *id = store_field_ll(r, 0, 0, 0);
    PQclear(r);
    return 0;
}

/* The session advisory lock a claimer holds while it runs the period:
 * $1 schedule, $2 period_key (two 32-bit hashes, one 64-bit key). */
#define CLAIM_LOCK_KEY "hashtext('precis.schedule:' || $1), hashtext($2)"

/* Gives up the claim lock; best effort (a lost connection has dropped it). */
static void claim_unlock(store *s, const char *schedule, const char *period_key)
{
    const char *params[] = {schedule, period_key};
    perr ignored;
    PGresult *r = NULL;
    if (store_exec(s, "SELECT pg_advisory_unlock(" CLAIM_LOCK_KEY ")", 2, params, PGRES_TUPLES_OK, &r,
                   &ignored) == 0)
        PQclear(r);
}

/* *row = 1 when the statement returned one row whose value is true (a
 * lock taken, or a RETURNING true row written). */
static int claim_exec(store *s, const char *sql, int n, const char *const *params, int *row, perr *err)
{
    PGresult *r = NULL;
    int rc = store_exec(s, sql, n, params, PGRES_TUPLES_OK, &r, err);
    if (rc != 0)
        return rc;
    *row = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return 0;
}

/* The claim, inside the transaction: the lock (*locked), then a new row
 * (when may_insert) or a 'running' row, whose claimer has died since it
 * no longer holds the lock (*retaken). */
static int claim_tx(store *s, const char *const *params, int may_insert, int *locked, int *won,
                    int *retaken, perr *err)
{
    int rc = claim_exec(s, "SELECT pg_try_advisory_lock(" CLAIM_LOCK_KEY ")", 2, params, locked, err);
    if (rc != 0 || !*locked)
        return rc;
    if (may_insert) {
        rc = claim_exec(s,
                        "INSERT INTO schedule_runs (schedule, period_key, collection, claimed_by) VALUES ($1, $2, $3, $4)"
                        " ON CONFLICT (schedule, period_key) DO NOTHING RETURNING true",
                        4, params, won, err);
        if (rc != 0 || *won)
            return rc;
    }
    const char *retake[] = {params[0], params[1], params[3]};
    rc = claim_exec(s,
                    "UPDATE schedule_runs SET claimed_by = $3, claimed_at = now(), attempts = attempts + 1"
                    " WHERE schedule = $1 AND period_key = $2 AND status = 'running' RETURNING true",
                    3, retake, won, err);
    *retaken = *won;
    return rc;
}

/* store_schedule_claim and store_schedule_reclaim. */
static int claim(store *s, const char *const *params, int may_insert, int *won, int *retaken, perr *err)
{
    int locked = 0, dead = 0;
    *won = 0;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_begin(s, err);
    if (rc == 0)
        rc = claim_tx(s, params, may_insert, &locked, won, &dead, err);
    if (rc == 0)
        rc = store_commit(s, err);
    if (rc != 0) {
        *won = dead = 0;
        store_rollback(s);
    }
    if (locked && !*won)
        claim_unlock(s, params[0], params[1]);
    if (retaken)
        *retaken = dead;
    if (rc != 0)
        return perr_prefix(err, "claiming schedule %s for %s", params[0], params[1]), rc;
    return 0;
}

int store_schedule_claim(store *s, const char *schedule, const char *period_key, const char *collection,
                         const char *claimed_by, int *won, int *retaken, perr *err)
{
    const char *params[] = {schedule, period_key, collection, claimed_by};
    return claim(s, params, 1, won, retaken, err);
}

int store_schedule_reclaim(store *s, const char *schedule, const char *period_key, const char *claimed_by,
                           int *won, perr *err)
{
    const char *params[] = {schedule, period_key, NULL, claimed_by};
    return claim(s, params, 0, won, NULL, err);
}

int store_schedule_finish(store *s, const char *schedule, const char *period_key, const char *error,
                          int64_t digest_id, perr *err)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)digest_id);
    char *clean = error ? utf8_sanitize(error, strlen(error), NULL) : NULL;
    const char *params[] = {schedule, period_key, error ? "failed" : "done", clean, digest_id > 0 ? id : NULL};
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s,
                        "UPDATE schedule_runs SET status = $3, error = $4, digest_id = $5::bigint, finished_at = now()"
                        " WHERE schedule = $1 AND period_key = $2",
                        5, params, PGRES_COMMAND_OK, NULL, err);
    free(clean);
    claim_unlock(s, schedule, period_key);
    if (rc != 0)
        return perr_prefix(err, "recording the end of schedule %s for %s", schedule, period_key), rc;
    return 0;
}
