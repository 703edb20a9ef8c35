/* store_legal.c — legal_findings rows from a stored legal_review result
 * (see store_legal.h). The rows are read from results.output itself, so
 * they always agree with the result they belong to. */
#include "store/store_legal.h"

static const char delete_sql[] =
    "DELETE FROM legal_findings WHERE result_id IN"
    " (SELECT id FROM results WHERE document_id = $1::bigint AND analysis = $2 AND prompt_version = $3"
    "  AND model_sha256 = $4)";

static const char insert_sql[] =
    "INSERT INTO legal_findings (result_id, document_id, finding_index, category, subtype, quote, explanation,"
    "                            severity, confidence, verified, match_method, char_start, char_end, page,"
    "                            paragraph_id, identity_sensitive)"
    " SELECT r.id, r.document_id, f.n - 1, coalesce(f.v->>'category', ''), coalesce(f.v->>'subtype', ''),"
    "        coalesce(f.v->>'quote', ''), coalesce(f.v->>'explanation', ''), coalesce(f.v->>'severity', ''),"
    "        coalesce(f.v->>'confidence', ''), v.ok,"
    "        CASE WHEN v.ok THEN f.v->>'match' END, CASE WHEN v.ok THEN (f.v->>'start')::bigint END,"
    "        CASE WHEN v.ok THEN (f.v->>'end')::bigint END, CASE WHEN v.ok THEN (f.v->>'page')::integer END,"
    "        CASE WHEN v.ok THEN f.v->>'paragraph' END,"
    "        CASE jsonb_typeof(f.v->'identity_sensitive') WHEN 'boolean' THEN (f.v->>'identity_sensitive')::boolean END"
    " FROM results r"
    " CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.output->'findings') = 'array'"
    "                                         THEN r.output->'findings' ELSE '[]'::jsonb END)"
    "            WITH ORDINALITY AS f(v, n)"
    " CROSS JOIN LATERAL (SELECT coalesce(f.v->'verified' = 'true'::jsonb, false) AS ok) v"
    " WHERE r.document_id = $1::bigint AND r.analysis = $2 AND r.prompt_version = $3 AND r.model_sha256 = $4"
    "   AND jsonb_typeof(f.v) = 'object'";

int store_legal_findings(store *s, const char *document_id, const store_result *res, perr *err)
{
    const char *params[] = {document_id, res->analysis, res->prompt_version, res->model_sha256};
    int rc = store_exec(s, delete_sql, 4, params, PGRES_COMMAND_OK, NULL, err);
    if (rc == 0)
        rc = store_exec(s, insert_sql, 4, params, PGRES_COMMAND_OK, NULL, err);
    if (rc != 0)
        perr_prefix(err, "storing the findings of %s", res->analysis);
    return rc;
}
