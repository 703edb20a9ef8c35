/* store_approved.c — approved theme sets in PostgreSQL (sql/0008_approved_themes.sql):
 * the set a run used, its unassigned responses and the candidate new themes
 * a run proposed, written inside the run's transaction; and reading a
 * collection's newest set and its pending unassigned responses (see
 * store_consultation.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "store/store_consultation.h"
#include "store/store_internal.h"

static const char set_sql[] =
    "INSERT INTO approved_theme_sets (collection, source, source_sha256, question, themes)"
    " VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING id";

static const char unassigned_sql[] =
    "INSERT INTO unassigned_responses (run_id, response_id, approved_set_id, text)"
    " SELECT $1::bigint, u.r, $2::bigint, u.x FROM jsonb_to_recordset($3::jsonb) AS u(r text, x text)";

static const char candidates_sql[] =
    "INSERT INTO theme_candidates (approved_set_id, run_id, label, description, position, responses)"
    " SELECT $2::bigint, $1::bigint, e.v->>'label', e.v->>'description', nullif(e.v->>'position', ''), $4::integer"
    " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(v, k) ORDER BY e.k";

/* The pending rows the candidates came from, and this run's own, are used. */
static const char used_sql[] =
    "UPDATE unassigned_responses u SET proposal_run_id = $1::bigint"
    " WHERE u.proposal_run_id IS NULL AND (u.run_id = $1::bigint OR (u.run_id, u.response_id) IN"
    "   (SELECT k.run, k.r FROM jsonb_to_recordset($2::jsonb) AS k(run bigint, r text)))";

int store_approved_set_tx(store *s, const store_consultation_run *run, char set_id[24], perr *err)
{
    const store_approved_set *a = run->approved;
    set_id[0] = '\0';
    if (!a)
        return 0;
    if (a->id > 0) {
        snprintf(set_id, 24, "%lld", a->id);
        return 0;
    }
    if (!a->source || !a->source_sha256 || !a->themes_json)
        return perr_set(err, "approved theme set: source, sha256 and themes are required");
    char *question = utf8_sanitize(a->question ? a->question : "", strlen(a->question ? a->question : ""), NULL);
    const char *params[] = {run->collection, a->source, a->source_sha256, question ? question : "", a->themes_json};
    PGresult *r = NULL;
    int rc = store_exec(s, set_sql, 5, params, PGRES_TUPLES_OK, &r, err);
    if (rc == 0)
        snprintf(set_id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    free(question);
    return rc;
}

static int exec_rows(store *s, const char *sql, const char *const *params, int n, perr *err)
{
    return store_exec(s, sql, n, params, PGRES_COMMAND_OK, NULL, err);
}

static int save_unassigned(store *s, const store_consultation_run *run, const char *run_id, const char *set_id,
                           perr *err)
{
    cJSON *rows = cJSON_CreateArray();
    for (size_t i = 0; rows && i < run->n_responses; i++) {
        const store_consultation_response *a = &run->responses[i];
        if (!a->unassigned)
            continue;
        cJSON *o = cJSON_CreateObject();
        char *text = a->text ? utf8_sanitize(a->text, strlen(a->text), NULL) : NULL;
        if (o && cJSON_AddStringToObject(o, "r", a->response_id) && cJSON_AddStringToObject(o, "x", text ? text : ""))
            cJSON_AddItemToArray(rows, o);
        else
            cJSON_Delete(o);
        free(text);
    }
    char *json = rows ? cJSON_PrintUnformatted(rows) : NULL;
    cJSON_Delete(rows);
    if (!json)
        return perr_set(err, "out of memory");
    const char *params[] = {run_id, set_id, json};
    int rc = exec_rows(s, unassigned_sql, params, 3, err);
    free(json);
    return rc;
}

static int save_candidates(store *s, const store_consultation_run *run, const char *run_id, const char *set_id,
                           perr *err)
{
    cJSON *rows = cJSON_CreateArray(), *used = cJSON_CreateArray();
    for (size_t i = 0; rows && i < run->n_theme_candidates; i++) {
        const store_theme_candidate *c = &run->candidates[i];
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddStringToObject(o, "label", c->label) &&
            cJSON_AddStringToObject(o, "description", c->description ? c->description : "") &&
            cJSON_AddStringToObject(o, "position", c->position ? c->position : ""))
            cJSON_AddItemToArray(rows, o);
        else
            cJSON_Delete(o);
    }
    for (size_t i = 0; used && i < run->n_used; i++) {
        cJSON *o = cJSON_CreateObject();
        if (o && cJSON_AddNumberToObject(o, "run", (double)run->used[i].run_id) &&
            cJSON_AddStringToObject(o, "r", run->used[i].response_id))
            cJSON_AddItemToArray(used, o);
        else
            cJSON_Delete(o);
    }
    char *rows_json = rows ? cJSON_PrintUnformatted(rows) : NULL, *used_json = used ? cJSON_PrintUnformatted(used) : NULL;
    cJSON_Delete(rows);
    cJSON_Delete(used);
    char n[32];
    snprintf(n, sizeof n, "%zu", run->n_used + run->n_unassigned);
    int rc = rows_json && used_json ? 0 : perr_set(err, "out of memory");
    const char *cparams[] = {run_id, set_id, rows_json, n}, *uparams[] = {run_id, used_json};
    if (rc == 0)
        rc = exec_rows(s, candidates_sql, cparams, 4, err);
    if (rc == 0)
        rc = exec_rows(s, used_sql, uparams, 2, err);
    free(rows_json);
    free(used_json);
    return rc;
}

int store_approved_rows_tx(store *s, const store_consultation_run *run, const char *run_id, const char *set_id,
                           perr *err)
{
    if (!set_id[0])
        return run->n_unassigned || run->n_theme_candidates
                   ? perr_set(err, "consultation run: unassigned responses and candidate themes need an approved set")
                   : 0;
    int rc = run->n_unassigned ? save_unassigned(s, run, run_id, set_id, err) : 0;
    if (rc == 0 && run->n_theme_candidates)
        rc = save_candidates(s, run, run_id, set_id, err);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static const char approved_sql[] =
    "SELECT id, question, themes::text FROM approved_theme_sets WHERE collection = $1 ORDER BY id DESC LIMIT 1";

int store_consultation_approved(store *s, const char *collection, store_approved_info *out, perr *err)
{
    *out = (store_approved_info){0};
    const char *params[] = {collection};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, approved_sql, 1, params, PGRES_TUPLES_OK, &r, err);
    if (rc == 0 && PQntuples(r) == 1) {
        int oom = 0;
        out->id = store_field_ll(r, 0, 0, 0);
        out->question = store_field(r, 0, 1, &oom);
        out->themes_json = store_field(r, 0, 2, &oom);
        if (oom) {
            store_approved_info_clear(out);
            rc = perr_set(err, "out of memory");
        }
    }
    PQclear(r);
    return rc;
}

void store_approved_info_clear(store_approved_info *info)
{
    free(info->question);
    free(info->themes_json);
    *info = (store_approved_info){0};
}

static const char pending_sql[] =
    "SELECT run_id, response_id, text FROM unassigned_responses"
    " WHERE approved_set_id = $1::bigint AND proposal_run_id IS NULL ORDER BY run_id, response_id";

int store_consultation_unassigned(store *s, long long set_id, store_unassigned_fn add, void *ctx, perr *err)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", set_id);
    const char *params[] = {id};
    PGresult *r = NULL;
    int rc = store_ready(s, err);
    if (rc == 0)
        rc = store_exec(s, pending_sql, 1, params, PGRES_TUPLES_OK, &r, err);
    for (int i = 0; rc == 0 && i < PQntuples(r); i++)
        rc = add(ctx, store_field_ll(r, i, 0, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), err);
    PQclear(r);
    return rc;
}
