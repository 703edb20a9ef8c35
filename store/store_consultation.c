/* store_consultation.c — consultation runs in PostgreSQL (see store_consultation.h). */
#include "store/store_consultation.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "store/store_internal.h"

/* Rows per bulk statement. */
#define BULK_ROWS 2000

static const char run_sql[] =
    "INSERT INTO consultation_runs (collection, job_id, source, source_sha256, question, prompt_version, model_name,"
    "  model_sha256, max_themes, status, started_at, responses, unprocessable, truncated, candidate_themes, calls,"
    "  prompt_tokens, completion_tokens, trace, error, minority_min_responses, minority_min_share,"
    "  duplicate_label_overlap, duplicate_response_overlap, approved_set_id, unassigned)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::integer, $10, to_timestamp($11::double precision),"
    "  $12::integer, $13::integer, $14::integer, $15::integer, $16::integer, $17::bigint, $18::bigint,"
    "  $19::jsonb, $20, $21::integer, $22::double precision, $23::double precision, $24::double precision,"
    "  nullif($25, '')::bigint, $26::integer)"
    " RETURNING id";

static const char themes_sql[] =
    "INSERT INTO themes (run_id, theme_id, label, description, position, response_count, agree_count, disagree_count,"
    "  unclear_count, no_position_count, minority, near_duplicates)"
    " SELECT $1::bigint, t.id, t.label, t.description, nullif(t.position, ''), t.n, t.a, t.d, t.u, t.np, t.m, t.dup"
    " FROM jsonb_to_recordset($2::jsonb) AS t(id text, label text, description text, position text, n integer,"
    "  a integer, d integer, u integer, np integer, m boolean, dup jsonb)";

static const char annotations_sql[] =
    "INSERT INTO response_annotations (run_id, response_id, position, evidence_rich, unprocessable, reason,"
    "  truncated, excerpt)"
    " SELECT $1::bigint, a.r, a.p, a.e, a.u, a.why, a.t, a.x"
    " FROM jsonb_to_recordset($2::jsonb) AS a(r text, p text, e text, u boolean, why text, t boolean, x text)";

static const char mapping_sql[] =
    "INSERT INTO response_themes (run_id, response_id, theme_id)"
    " SELECT $1::bigint, m.r, m.t FROM jsonb_to_recordset($2::jsonb) AS m(r text, t text)";

/* Valid UTF-8 copy (messages may cut a character in half). */
static char *clean(const char *s)
{
    return s ? utf8_sanitize(s, strlen(s), NULL) : NULL;
}

/* The first STORE_CONSULTATION_EXCERPT characters of text (malloc'd). */
static char *excerpt_of(const char *text)
{
    size_t len = strlen(text), bytes = utf8_prefix_bytes(text, len, STORE_CONSULTATION_EXCERPT);
    char *out = malloc(bytes + 4);
    if (!out)
        return NULL;
    memcpy(out, text, bytes);
    strcpy(out + bytes, bytes < len ? "\xE2\x80\xA6" : "");
    return out;
}

static int exec_json(store *s, const char *sql, const char *run_id, cJSON *rows, perr *err)
{
    char *text = cJSON_PrintUnformatted(rows);
    if (!text)
        return perr_set(err, "out of memory");
    const char *params[] = {run_id, text};
    int rc = store_exec(s, sql, 2, params, PGRES_COMMAND_OK, NULL, err);
    free(text);
    return rc;
}

/* A theme row's counts by position, minority flag and near duplicates. */
static void add_theme_flags(cJSON *o, const store_consultation_theme *t)
{
    cJSON_AddNumberToObject(o, "a", (double)t->agree);
    cJSON_AddNumberToObject(o, "d", (double)t->disagree);
    cJSON_AddNumberToObject(o, "u", (double)t->unclear);
    cJSON_AddNumberToObject(o, "np", (double)t->no_position);
    cJSON_AddBoolToObject(o, "m", t->minority);
    cJSON *dups = cJSON_AddArrayToObject(o, "dup");
    for (size_t i = 0; dups && i < t->n_duplicates; i++) {
        cJSON *d = cJSON_CreateObject();
        if (!d)
            break;
        cJSON_AddStringToObject(d, "id", t->duplicates[i].id);
        cJSON_AddNumberToObject(d, "label_overlap", t->duplicates[i].label_overlap);
        cJSON_AddNumberToObject(d, "response_overlap", t->duplicates[i].response_overlap);
        cJSON_AddItemToArray(dups, d);
    }
}

static int save_themes(store *s, const char *run_id, const store_consultation_run *run, perr *err)
{
    cJSON *rows = cJSON_CreateArray();
    for (size_t i = 0; rows && i < run->n_themes; i++) {
        const store_consultation_theme *t = &run->themes[i];
        cJSON *o = cJSON_CreateObject();
        char *label = clean(t->label), *description = clean(t->description);
        if (o) {
            cJSON_AddStringToObject(o, "id", t->id);
            cJSON_AddStringToObject(o, "label", label ? label : "");
            cJSON_AddStringToObject(o, "description", description ? description : "");
            cJSON_AddStringToObject(o, "position", t->position ? t->position : "");
            cJSON_AddNumberToObject(o, "n", (double)t->response_count);
            add_theme_flags(o, t);
            cJSON_AddItemToArray(rows, o);
        }
        free(label);
        free(description);
    }
    int rc = rows ? exec_json(s, themes_sql, run_id, rows, err) : perr_set(err, "out of memory");
    cJSON_Delete(rows);
    return rc;
}

static cJSON *annotation_row(const store_consultation_response *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char *reason = clean(a->reason), *excerpt = excerpt_of(a->text ? a->text : "");
    cJSON_AddStringToObject(o, "r", a->response_id);
    if (a->position && a->position[0])
        cJSON_AddStringToObject(o, "p", a->position);
    if (a->evidence_rich && a->evidence_rich[0])
        cJSON_AddStringToObject(o, "e", a->evidence_rich);
    cJSON_AddBoolToObject(o, "u", a->unprocessable);
    if (a->unprocessable)
        cJSON_AddStringToObject(o, "why", reason ? reason : "unknown");
    cJSON_AddBoolToObject(o, "t", a->truncated);
    cJSON_AddStringToObject(o, "x", excerpt ? excerpt : "");
    free(reason);
    free(excerpt);
    return o;
}

/* Annotations [from, to) then their theme rows. */
static int save_responses(store *s, const char *run_id, const store_consultation_run *run, size_t from, size_t to,
                          perr *err)
{
    cJSON *rows = cJSON_CreateArray(), *map = cJSON_CreateArray();
    for (size_t i = from; rows && map && i < to; i++) {
        const store_consultation_response *a = &run->responses[i];
        cJSON_AddItemToArray(rows, annotation_row(a));
        for (const char *t = a->themes ? a->themes : ""; *t; t++) {
            cJSON *m = cJSON_CreateObject();
            char id[2] = {*t, '\0'};
            if (m && cJSON_AddStringToObject(m, "r", a->response_id) && cJSON_AddStringToObject(m, "t", id))
                cJSON_AddItemToArray(map, m);
            else
                cJSON_Delete(m);
        }
    }
    int rc = rows && map ? exec_json(s, annotations_sql, run_id, rows, err) : perr_set(err, "out of memory");
    if (rc == 0)
        rc = exec_json(s, mapping_sql, run_id, map, err);
    cJSON_Delete(rows);
    cJSON_Delete(map);
    return rc;
}

typedef struct num_buf {
    char text[32];
} num_buf;

static const char *num(num_buf *b, double v)
{
    snprintf(b->text, sizeof b->text, "%.0f", v);
    return b->text;
}

static int insert_run(store *s, const store_consultation_run *run, const char *set_id, char run_id[24], perr *err)
{
    char *trace_clean = clean(run->trace_json ? run->trace_json : "[]");
    char *question = clean(run->question ? run->question : ""), *error = clean(run->error);
    num_buf b[10];
    char started[40], share[40], label[40], responses[40];
    snprintf(started, sizeof started, "%.3f", run->started_at);
    snprintf(share, sizeof share, "%.17g", run->flags.minority_min_share);
    snprintf(label, sizeof label, "%.17g", run->flags.duplicate_label_overlap);
    snprintf(responses, sizeof responses, "%.17g", run->flags.duplicate_response_overlap);
    const char *params[] = {
        run->collection, run->job_id, run->source ? run->source : "collection", run->source_sha256, question,
        run->prompt_version, run->model_name, run->model_sha256, num(&b[0], run->max_themes),
        run->error ? "failed" : "done", started,
        num(&b[1], (double)run->n_responses), num(&b[2], (double)run->n_unprocessable),
        num(&b[3], (double)run->n_truncated), num(&b[4], (double)run->n_candidates),
        num(&b[5], (double)run->calls), num(&b[6], (double)run->prompt_tokens),
        num(&b[7], (double)run->completion_tokens), trace_clean, error,
        /* A failed run has no themes to have flagged. */
        run->error ? NULL : num(&b[8], (double)run->flags.minority_min_responses), run->error ? NULL : share,
        run->error ? NULL : label, run->error ? NULL : responses, set_id,
        num(&b[9], (double)run->n_unassigned),
    };
    PGresult *r = NULL;
    int rc = store_exec(s, run_sql, 26, params, PGRES_TUPLES_OK, &r, err);
    if (rc == 0) {
        snprintf(run_id, 24, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    free(trace_clean);
    free(question);
    free(error);
    return rc;
}

int store_consultation_check(const store_consultation_run *run, perr *err)
{
    if (!run->collection || !*run->collection || !run->prompt_version || !run->model_name || !run->model_sha256)
        return perr_set(err, "consultation run: collection, prompt version and model are required");
    if (!run->error && run->n_responses && !run->responses)
        return perr_set(err, "consultation run: a done run needs its annotated responses");
    return 0;
}

int store_consultation_save_tx(store *s, const store_consultation_run *run, char run_id[24], perr *err)
{
    char set_id[24];
    int rc = store_approved_set_tx(s, run, set_id, err);
    if (rc == 0)
        rc = insert_run(s, run, set_id, run_id, err);
    if (rc != 0 || run->error)
        return rc;
    rc = save_themes(s, run_id, run, err);
    for (size_t from = 0; rc == 0 && from < run->n_responses; from += BULK_ROWS) {
        size_t to = from + BULK_ROWS < run->n_responses ? from + BULK_ROWS : run->n_responses;
        rc = save_responses(s, run_id, run, from, to, err);
    }
    if (rc == 0)
        rc = store_approved_rows_tx(s, run, run_id, set_id, err);
    return rc;
}

int store_consultation_save(store *s, const store_consultation_run *run, long long *run_id, perr *err)
{
    int rc = store_consultation_check(run, err);
    char id[24] = "";
    if (rc == 0)
        rc = store_tx_open(s, err);
    if (rc == 0)
        rc = store_tx_close(s, store_consultation_save_tx(s, run, id, err), err);
    if (rc != 0)
        return perr_prefix(err, "storing the consultation run of %s", run->collection), rc;
    if (run_id)
        *run_id = strtoll(id, NULL, 10);
    return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static const char responses_sql[] =
    "SELECT coalesce((SELECT j.metadata->>'response_id' FROM jobs j"
    "                 WHERE j.document_id = d.id AND j.metadata ? 'response_id'"
    "                 ORDER BY j.id DESC LIMIT 1), left(d.sha256, 12)), d.text"
    " FROM document_collections dc JOIN documents d ON d.id = dc.document_id"
    " WHERE dc.collection = $1 ORDER BY dc.added_at, d.id";

int store_consultation_responses(store *s, const char *collection, store_response_fn add, void *ctx, perr *err)
{
    const char *params[] = {collection};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, responses_sql, 1, params, PGRES_TUPLES_OK, &r, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        if (add(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err) != 0)
            rc = perr_prefix(err, "document %d of collection %s", i + 1, collection);
    PQclear(r);
    return rc;
}

static const char report_sql[] =
    "WITH r AS (SELECT * FROM consultation_runs"
    "           WHERE CASE WHEN $2::bigint > 0 THEN id = $2::bigint ELSE collection = $1 END"
    "           ORDER BY id DESC LIMIT 1)"
    " SELECT jsonb_build_object("
    "  'run_id', r.id, 'collection', r.collection, 'status', r.status, 'question', r.question,"
    "  'source', r.source, 'model', r.model_name, 'prompt_version', r.prompt_version,"
    "  'started_at', " STORE_ISO_UTC("r.started_at") ","
    "  'finished_at', " STORE_ISO_UTC("r.finished_at") ","
    "  'error', r.error, 'max_themes', r.max_themes, 'responses', r.responses, 'unprocessable', r.unprocessable,"
    "  'truncated', r.truncated, 'candidate_themes', r.candidate_themes, 'calls', r.calls,"
    "  'flags', CASE WHEN r.minority_min_responses IS NULL THEN NULL ELSE jsonb_build_object("
    "      'minority_min_responses', r.minority_min_responses, 'minority_min_share', r.minority_min_share,"
    "      'duplicate_label_overlap', r.duplicate_label_overlap,"
    "      'duplicate_response_overlap', r.duplicate_response_overlap) END,"
    "  'positions', coalesce((SELECT jsonb_object_agg(p.pos, p.n) FROM"
    "      (SELECT coalesce(a.position, 'NONE') AS pos, count(*) AS n FROM response_annotations a"
    "       WHERE a.run_id = r.id GROUP BY 1) p), '{}'::jsonb),"
    "  'themes', coalesce((SELECT jsonb_agg(jsonb_build_object("
    "      'id', t.theme_id, 'label', t.label, 'description', t.description, 'position', t.position,"
    "      'responses', t.response_count,"
    "      'positions', jsonb_build_object('AGREE', t.agree_count, 'DISAGREE', t.disagree_count,"
    "          'UNCLEAR', t.unclear_count, 'NONE', t.no_position_count),"
    "      'minority', t.minority, 'near_duplicates', t.near_duplicates,"
    "      'evidence', coalesce((SELECT jsonb_agg(rt.response_id ORDER BY length(rt.response_id), rt.response_id)"
    "          FROM response_themes rt WHERE rt.run_id = t.run_id AND rt.theme_id = t.theme_id), '[]'::jsonb),"
    "      'examples', coalesce((SELECT jsonb_agg(jsonb_build_object('response_id', e.response_id,"
    "            'excerpt', e.excerpt, 'position', e.position, 'evidence_rich', e.evidence_rich) ORDER BY e.k)"
    "          FROM (SELECT a.*, row_number() OVER (ORDER BY (a.evidence_rich = 'YES') DESC NULLS LAST,"
    "                       length(a.excerpt) DESC, a.response_id) AS k"
    "                FROM response_themes rt JOIN response_annotations a"
    "                  ON a.run_id = rt.run_id AND a.response_id = rt.response_id"
    "                WHERE rt.run_id = t.run_id AND rt.theme_id = t.theme_id) e WHERE e.k <= 3), '[]'::jsonb))"
    "      ORDER BY t.theme_id) FROM themes t WHERE t.run_id = r.id), '[]'::jsonb),"
    "  'unprocessable_responses', coalesce((SELECT jsonb_agg(jsonb_build_object('response_id', a.response_id,"
    "      'reason', a.reason) ORDER BY a.response_id)"
    "      FROM response_annotations a WHERE a.run_id = r.id AND a.unprocessable), '[]'::jsonb),"
    "  'approved_set', (SELECT jsonb_build_object('id', s.id, 'source', s.source, 'sha256', s.source_sha256,"
    "      'approved_at', " STORE_ISO_UTC("s.approved_at") ")"
    "      FROM approved_theme_sets s WHERE s.id = r.approved_set_id),"
    "  'unassigned', r.unassigned,"
    "  'unassigned_responses', coalesce((SELECT jsonb_agg(jsonb_build_object('response_id', a.response_id,"
    "      'excerpt', a.excerpt) ORDER BY a.response_id) FROM unassigned_responses u JOIN response_annotations a"
    "      ON a.run_id = u.run_id AND a.response_id = u.response_id WHERE u.run_id = r.id), '[]'::jsonb),"
    "  'pending_unassigned', (SELECT count(*) FROM unassigned_responses u"
    "      WHERE u.approved_set_id = r.approved_set_id AND u.proposal_run_id IS NULL),"
    "  'theme_candidates', coalesce((SELECT jsonb_agg(jsonb_build_object('id', c.id, 'label', c.label,"
    "      'description', c.description, 'position', c.position, 'responses', c.responses, 'run_id', c.run_id,"
    "      'created_at', " STORE_ISO_UTC("c.created_at") ") ORDER BY c.id)"
    "      FROM theme_candidates c WHERE c.approved_set_id = r.approved_set_id AND c.for_review), '[]'::jsonb)"
    " )::text FROM r";

int store_consultation_report(store *s, const char *collection, long long run_id, char **json, perr *err)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", run_id);
    const char *params[] = {collection ? collection : "", id};
    return store_query_text(s, report_sql, 2, params, json, err);
}
