/* store_review.c — what a legal review report shows, read back from
 * PostgreSQL (see store_review.h). */
#include "store/store_review.h"

#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

static const char review_sql[] =
    "SELECT jsonb_build_object('job_id', j.job_id, 'collection', j.collection,"
    "  'document', jsonb_build_object('id', d.id, 'title', d.title, 'source', d.source, 'format', d.format,"
    "      'pages', d.pages, 'text', d.text, 'structure', d.structure),"
    "  'model', r.model_name, 'prompt_version', r.prompt_version, 'reviewed_at', " STORE_ISO_UTC("r.updated_at") ","
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

int store_review_of_job(store *s, const char *job_id, char **json, perr *err)
{
    const char *params[] = {job_id};
    return store_query_text(s, review_sql, 1, params, json, err);
}

int store_reviews_of_collection(store *s, const char *collection, char **json, perr *err)
{
    const char *params[] = {collection};
    return store_query_text(s, collection_sql, 1, params, json, err);
}
