/* store_consultation_set.c — the rows behind a collection's view across
 * every run mapped onto its approved theme set (see store_consultation.h,
 * store_consultation_set_rows). */
#include <stdlib.h>
#include <string.h>

#include "store/store_consultation.h"
#include "store/store_internal.h"

static const char set_rows_sql[] =
    "WITH s AS (SELECT * FROM approved_theme_sets WHERE collection = $1 ORDER BY id DESC LIMIT 1),"
    " runs AS (SELECT r.* FROM consultation_runs r JOIN s ON r.approved_set_id = s.id"
    "          WHERE r.collection = $1 AND r.status = 'done'),"
    " latest AS (SELECT DISTINCT ON (a.response_id) a.*, (u.run_id IS NOT NULL) AS is_unassigned"
    "            FROM response_annotations a JOIN runs ON runs.id = a.run_id"
    "            LEFT JOIN unassigned_responses u ON u.run_id = a.run_id AND u.response_id = a.response_id"
    "            ORDER BY a.response_id, a.run_id DESC),"
    " newest AS (SELECT * FROM runs ORDER BY id DESC LIMIT 1)"
    " SELECT jsonb_build_object("
    "  'set', jsonb_build_object('id', s.id, 'source', s.source, 'sha256', s.source_sha256,"
    "      'question', s.question, 'themes', s.themes, 'approved_at', " STORE_ISO_UTC("s.approved_at") "),"
    "  'runs', (SELECT count(*) FROM runs), 'first_run', (SELECT min(id) FROM runs),"
    "  'last_run', (SELECT max(id) FROM runs), 'calls', (SELECT coalesce(sum(calls), 0) FROM runs),"
    "  'started_at', (SELECT " STORE_ISO_UTC("min(started_at)") " FROM runs),"
    "  'finished_at', (SELECT " STORE_ISO_UTC("max(finished_at)") " FROM runs),"
    "  'model', (SELECT model_name FROM newest), 'prompt_version', (SELECT prompt_version FROM newest),"
    "  'flags', (SELECT CASE WHEN n.minority_min_responses IS NULL THEN NULL ELSE jsonb_build_object("
    "      'minority_min_responses', n.minority_min_responses, 'minority_min_share', n.minority_min_share,"
    "      'duplicate_label_overlap', n.duplicate_label_overlap,"
    "      'duplicate_response_overlap', n.duplicate_response_overlap) END FROM newest n),"
    "  'responses', coalesce((SELECT jsonb_agg(jsonb_build_object('response_id', l.response_id,"
    "      'position', l.position, 'evidence_rich', l.evidence_rich, 'unprocessable', l.unprocessable,"
    "      'reason', l.reason, 'truncated', l.truncated, 'excerpt', l.excerpt, 'unassigned', l.is_unassigned,"
    "      'themes', coalesce((SELECT string_agg(rt.theme_id, '' ORDER BY rt.theme_id) FROM response_themes rt"
    "          WHERE rt.run_id = l.run_id AND rt.response_id = l.response_id), ''))"
    "      ORDER BY l.run_id, l.response_id) FROM latest l), '[]'::jsonb),"
    "  'pending_unassigned', (SELECT count(*) FROM unassigned_responses u"
    "      WHERE u.approved_set_id = s.id AND u.proposal_run_id IS NULL),"
    "  'theme_candidates', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'label', c.label,"
    "      'description', c.description, 'position', c.position, 'responses', c.responses, 'run_id', c.run_id,"
    "      'created_at', " STORE_ISO_UTC("c.created_at") ") ORDER BY c.id)"
    "      FROM theme_candidates c WHERE c.approved_set_id = s.id AND c.for_review), '[]'::jsonb)"
    " )::text FROM s";

int store_consultation_set_rows(store *s, const char *collection, char **json, perr *err)
{
    const char *params[] = {collection ? collection : ""};
    return store_query_text(s, set_rows_sql, 1, params, json, err);
}
