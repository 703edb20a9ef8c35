/* store_review.c — what a legal review report shows, read back from
 * PostgreSQL (see store_review.h). */
#include "store/store_review.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char review_sql[] =
    "SELECT jsonb_build_object('job_id', j.job_id, 'collection', j.collection,"
    "  'document', jsonb_build_object('id', d.id, 'title', d.title, 'source', d.source, 'format', d.format,"
    "      'pages', d.pages, 'text', d.text, 'structure', d.structure),"
    "  'model', r.model_name, 'prompt_version', r.prompt_version, 'reviewed_at', " ISO_UTC("r.updated_at") ","
    "  'output', r.output)::text"
    " FROM jobs j JOIN documents d ON d.id = j.document_id"
    " JOIN results r ON r.document_id = d.id AND r.analysis = 'legal_review'"
    " WHERE j.job_id = $1 ORDER BY r.updated_at DESC, r.id DESC LIMIT 1";

static const char collection_sql[] =
    "SELECT coalesce(jsonb_agg(x.o ORDER BY x.k), '[]'::jsonb)::text FROM ("
    " SELECT DISTINCT ON (d.id) d.id AS k, jsonb_build_object('job_id', j.job_id, 'document_id', d.id,"
    "   'title', d.title, 'source', d.source,"
    "   'findings', jsonb_array_length(coalesce(r.output->'findings', '[]'::jsonb)),"
    "   'verified', (SELECT count(*) FROM legal_findings f WHERE f.result_id = r.id AND f.verified),"
    "   'high', (SELECT count(*) FROM legal_findings f WHERE f.result_id = r.id AND f.severity = 'high'),"
    "   'identity_sensitive', (SELECT count(*) FROM legal_findings f WHERE f.result_id = r.id"
    "       AND f.identity_sensitive),"
    "   'twin', r.output ? 'twin') AS o"
    " FROM document_collections c JOIN documents d ON d.id = c.document_id"
    " JOIN results r ON r.document_id = d.id AND r.analysis = 'legal_review'"
    " JOIN jobs j ON j.document_id = d.id AND j.status = 'done'"
    " WHERE c.collection = $1 ORDER BY d.id, r.updated_at DESC, j.finished_at DESC NULLS LAST) x";

/* One text cell of a one-row query, or NULL for no row. */
static int one_text(store *s, const char *sql, const char *param, char **json, perr *err)
{
    *json = NULL;
    const char *params[] = {param};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, sql, 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc == 0 && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && !(*json = strdup(PQgetvalue(r, 0, 0))))
        rc = perr_set(err, "out of memory");
    PQclear(r);
    return rc;
}

int store_review_of_job(store *s, const char *job_id, char **json, perr *err)
{
    return one_text(s, review_sql, job_id, json, err);
}

int store_reviews_of_collection(store *s, const char *collection, char **json, perr *err)
{
    return one_text(s, collection_sql, collection, json, err);
}
