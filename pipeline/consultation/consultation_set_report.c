/* consultation_set_report.c — a collection's runs under its approved theme
 * set taken together (see consultation_set_report.h). */
#include "pipeline/consultation/consultation_set_report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_flags.h"
#include "store/store_consultation.h"
#include "pipeline/llm/structured.h"

static double num(const cJSON *o, const char *key, double fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* ---- the rows as a consultation result -------------------------------------------------- */

static int set_themes(const cJSON *themes, consultation_result *res, perr *err)
{
    size_t n = (size_t)cJSON_GetArraySize(themes);
    res->themes = calloc(n ? n : 1, sizeof *res->themes);
    if (!res->themes)
        return perr_set(err, "out of memory");
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        consultation_theme *th = &res->themes[res->n_themes++];
        copy_field(th->id, sizeof th->id, structured_string(t, "id"));
        copy_field(th->position, sizeof th->position, structured_string(t, "position"));
        th->label = strdup(structured_string(t, "label"));
        th->description = strdup(structured_string(t, "description"));
        if (!th->label || !th->description)
            return perr_set(err, "out of memory");
    }
    return 0;
}

static int set_annotations(const cJSON *responses, consultation_result *res, perr *err)
{
    size_t n = (size_t)cJSON_GetArraySize(responses);
    res->annotations = calloc(n ? n : 1, sizeof *res->annotations);
    if (!res->annotations)
        return perr_set(err, "out of memory");
    const cJSON *r;
    cJSON_ArrayForEach(r, responses)
    {
        consultation_annotation *a = &res->annotations[res->n++];
        a->response_id = structured_string(r, "response_id");
        copy_field(a->position, sizeof a->position, structured_string(r, "position"));
        copy_field(a->evidence_rich, sizeof a->evidence_rich, structured_string(r, "evidence_rich"));
        copy_field(a->themes, sizeof a->themes, structured_string(r, "themes"));
        a->truncated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "truncated"));
        a->unprocessable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "unprocessable"));
        a->unassigned = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "unassigned"));
        if (a->unprocessable && !(a->reason = strdup(structured_string(r, "reason"))))
            return perr_set(err, "out of memory");
        res->n_unprocessable += a->unprocessable != 0;
        res->n_truncated += a->truncated != 0;
        res->n_unassigned += a->unassigned != 0;
    }
    return 0;
}

static consultation_flag_options thresholds(const cJSON *flags)
{
    consultation_flag_options o = consultation_flag_defaults();
    if (cJSON_IsObject(flags)) {
        o.minority_min_responses = (size_t)num(flags, "minority_min_responses", (double)o.minority_min_responses);
        o.minority_min_share = num(flags, "minority_min_share", o.minority_min_share);
        o.duplicate_label_overlap = num(flags, "duplicate_label_overlap", o.duplicate_label_overlap);
        o.duplicate_response_overlap = num(flags, "duplicate_response_overlap", o.duplicate_response_overlap);
    }
    return o;
}

/* ---- the report --------------------------------------------------------------------------- */

/* Whether response a goes before b among a theme's examples. */
static int example_before(const cJSON *a, const cJSON *b)
{
    int ea = strcmp(structured_string(a, "evidence_rich"), "YES") == 0;
    int eb = strcmp(structured_string(b, "evidence_rich"), "YES") == 0;
    if (ea != eb)
        return ea;
    size_t la = strlen(structured_string(a, "excerpt")), lb = strlen(structured_string(b, "excerpt"));
    if (la != lb)
        return la > lb;
    return strcmp(structured_string(a, "response_id"), structured_string(b, "response_id")) < 0;
}

/* Up to three responses mapped to theme id, the best first. */
static cJSON *examples(const cJSON *responses, const char *id)
{
    const cJSON *best[3] = {0};
    const cJSON *r;
    cJSON_ArrayForEach(r, responses)
    {
        if (!*id || !strchr(structured_string(r, "themes"), id[0]))
            continue;
        for (int k = 0; k < 3; k++)
            if (!best[k] || example_before(r, best[k])) {
                for (int m = 2; m > k; m--)
                    best[m] = best[m - 1];
                best[k] = r;
                break;
            }
    }
    cJSON *out = cJSON_CreateArray();
    for (int k = 0; k < 3 && best[k]; k++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "response_id", structured_string(best[k], "response_id"));
        cJSON_AddStringToObject(e, "excerpt", structured_string(best[k], "excerpt"));
        cJSON_AddStringToObject(e, "position", structured_string(best[k], "position"));
        cJSON_AddStringToObject(e, "evidence_rich", structured_string(best[k], "evidence_rich"));
        cJSON_AddItemToArray(out, e);
    }
    return out;
}

static cJSON *themes_json(const consultation_result *res, const cJSON *responses)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t k = 0; k < res->n_themes; k++) {
        const consultation_theme *t = &res->themes[k];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", t->id);
        cJSON_AddStringToObject(o, "label", t->label);
        cJSON_AddStringToObject(o, "description", t->description);
        cJSON_AddItemToObject(o, "position", *t->position ? cJSON_CreateString(t->position) : cJSON_CreateNull());
        cJSON_AddNumberToObject(o, "responses", (double)t->response_count);
        consultation_theme_flags_json(res, k, o);
        cJSON_AddItemToObject(o, "examples", examples(responses, t->id));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

/* Responses of the kind `key` (unprocessable with their reason, or
 * unassigned with their excerpt). */
static cJSON *responses_where(const cJSON *responses, const char *key, const char *detail)
{
    cJSON *arr = cJSON_CreateArray();
    const cJSON *r;
    cJSON_ArrayForEach(r, responses)
    {
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, key)))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "response_id", structured_string(r, "response_id"));
        cJSON_AddStringToObject(o, detail, structured_string(r, detail));
        cJSON_AddItemToArray(arr, o);
    }
    return arr;
}

static cJSON *positions_json(const consultation_result *res)
{
    static const char *const names[] = {"AGREE", "DISAGREE", "UNCLEAR"};
    size_t count[4] = {0};
    for (size_t i = 0; i < res->n; i++) {
        size_t k = 3;
        for (size_t j = 0; j < 3; j++)
            if (strcmp(res->annotations[i].position, names[j]) == 0)
                k = j;
        count[k]++;
    }
    cJSON *o = cJSON_CreateObject();
    for (size_t j = 0; j < 4; j++)
        if (count[j])
            cJSON_AddNumberToObject(o, j < 3 ? names[j] : "NONE", (double)count[j]);
    return o;
}

/* The run report's fields about when, what and how much. */
static void add_facts(cJSON *out, const char *collection, const cJSON *rows, const consultation_result *res)
{
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(rows, "set");
    cJSON_AddStringToObject(out, "view", "approved_set");
    cJSON_AddNumberToObject(out, "run_id", num(rows, "last_run", 0));
    cJSON_AddNumberToObject(out, "runs", num(rows, "runs", 0));
    cJSON_AddNumberToObject(out, "first_run", num(rows, "first_run", 0));
    cJSON_AddNumberToObject(out, "last_run", num(rows, "last_run", 0));
    cJSON_AddStringToObject(out, "collection", collection);
    cJSON_AddStringToObject(out, "status", "done");
    cJSON_AddStringToObject(out, "question", structured_string(set, "question"));
    cJSON_AddStringToObject(out, "source", "approved theme set");
    cJSON_AddStringToObject(out, "model", structured_string(rows, "model"));
    cJSON_AddStringToObject(out, "prompt_version", structured_string(rows, "prompt_version"));
    cJSON_AddStringToObject(out, "started_at", structured_string(rows, "started_at"));
    cJSON_AddStringToObject(out, "finished_at", structured_string(rows, "finished_at"));
    cJSON_AddNullToObject(out, "error");
    cJSON_AddNumberToObject(out, "responses", (double)res->n);
    cJSON_AddNumberToObject(out, "unprocessable", (double)res->n_unprocessable);
    cJSON_AddNumberToObject(out, "truncated", (double)res->n_truncated);
    cJSON_AddNumberToObject(out, "candidate_themes", 0);
    cJSON_AddNumberToObject(out, "calls", num(rows, "calls", 0));
    cJSON_AddNumberToObject(out, "unassigned", (double)res->n_unassigned);
    cJSON *flags = cJSON_CreateObject();
    cJSON_AddNumberToObject(flags, "minority_min_responses", (double)res->flags.minority_min_responses);
    cJSON_AddNumberToObject(flags, "minority_min_share", res->flags.minority_min_share);
    cJSON_AddNumberToObject(flags, "duplicate_label_overlap", res->flags.duplicate_label_overlap);
    cJSON_AddNumberToObject(flags, "duplicate_response_overlap", res->flags.duplicate_response_overlap);
    cJSON_AddItemToObject(out, "flags", flags);
    cJSON *approved = cJSON_CreateObject();
    cJSON_AddNumberToObject(approved, "id", num(set, "id", 0));
    cJSON_AddStringToObject(approved, "source", structured_string(set, "source"));
    cJSON_AddStringToObject(approved, "sha256", structured_string(set, "sha256"));
    cJSON_AddStringToObject(approved, "approved_at", structured_string(set, "approved_at"));
    cJSON_AddItemToObject(out, "approved_set", approved);
}

char *consultation_set_report_from_rows(const char *collection, const char *rows_json, perr *err)
{
    cJSON *rows = rows_json ? cJSON_Parse(rows_json) : NULL;
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(rows, "set");
    const cJSON *responses = cJSON_GetObjectItemCaseSensitive(rows, "responses");
    if (!cJSON_IsObject(set) || !cJSON_IsArray(responses)) {
        cJSON_Delete(rows);
        perr_set(err, "the approved set's rows are not an object with \"set\" and \"responses\"");
        return NULL;
    }
    consultation_result res = {0};
    int rc = set_themes(cJSON_GetObjectItemCaseSensitive(set, "themes"), &res, err);
    if (rc == 0)
        rc = set_annotations(responses, &res, err);
    char *json = NULL;
    if (rc == 0) {
        consultation_flag_options opt = thresholds(cJSON_GetObjectItemCaseSensitive(rows, "flags"));
        consultation_flag_themes(&res, &opt);
        cJSON *out = cJSON_CreateObject();
        add_facts(out, collection, rows, &res);
        cJSON_AddItemToObject(out, "positions", positions_json(&res));
        cJSON_AddItemToObject(out, "themes", themes_json(&res, responses));
        cJSON_AddItemToObject(out, "unprocessable_responses", responses_where(responses, "unprocessable", "reason"));
        cJSON_AddItemToObject(out, "unassigned_responses", responses_where(responses, "unassigned", "excerpt"));
        cJSON_AddNumberToObject(out, "pending_unassigned", num(rows, "pending_unassigned", 0));
        cJSON *cand = cJSON_DetachItemFromObjectCaseSensitive(rows, "theme_candidates");
        cJSON_AddItemToObject(out, "theme_candidates", cand ? cand : cJSON_CreateArray());
        json = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        if (!json)
            perr_set(err, "out of memory");
    }
    consultation_result_clear(&res);
    cJSON_Delete(rows);
    return json;
}

int consultation_set_report(store *s, const char *collection, char **json, perr *err)
{
    *json = NULL;
    char *rows = NULL;
    if (store_consultation_set_rows(s, collection, &rows, err) != 0)
        return -1;
    if (!rows)
        return 0;
    *json = consultation_set_report_from_rows(collection, rows, err);
    free(rows);
    return *json ? 0 : -1;
}
