/* consultation.c — the consultation analysis: the five steps in order (or,
 * with an approved theme set, sentiment and mapping alone), the
 * integrity check, the result as JSON, and the prompt rule (see
 * consultation.h). */
#include "pipeline/consultation/consultation.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_flags.h"
#include "pipeline/consultation/consultation_internal.h"

static const char *const step_names[] = {"sentiment", "themes", "condense", "refine", "mapping", NULL};

int analysis_consultation_check(const prompt_spec *p, perr *err)
{
    /* The placeholders each step's user template must contain. */
    static const char *const needs[][3] = {
        {"question", "responses", NULL}, {"question", "responses", NULL}, {"question", "themes", NULL},
        {"question", "themes", NULL},    {"themes", "responses", NULL},
    };
    for (size_t i = 0; step_names[i]; i++) {
        const prompt_step *s = prompt_find_step(p, step_names[i]);
        if (!s)
            return perr_set(err, "prompt \"%s\" needs a step \"%s\" (steps: sentiment, themes, condense, refine, "
                            "mapping)", p->name, step_names[i]);
        for (size_t k = 0; needs[i][k]; k++)
            if (prompt_require(p, step_names[i], s->user, needs[i][k], err) != 0)
                return -1;
        if (i > 0 && i < 4 && s->max_tokens < 128)
            return perr_set(err, "prompt \"%s\": step \"%s\" needs \"max_tokens\" of at least 128 (it writes themes)",
                            p->name, step_names[i]);
        if (s->schema_json)
            return perr_set(err, "prompt \"%s\": step \"%s\" must not have a \"schema\" (the consultation builds "
                            "each call's schema itself)", p->name, step_names[i]);
    }
    return 0;
}

static int mark_empty_responses(consult_ctx *cx, perr *err)
{
    for (size_t i = 0; i < cx->rs->n; i++) {
        const char *text = cx->rs->items[i].text;
        if (strspn(text, " \t\r\n") == strlen(text) && consult_unprocessable(cx, i, "input", "empty response", err) != 0)
            return -1;
    }
    return 0;
}

/* No themes at all: nothing can be mapped. With an approved set, a
 * response the mapping found no theme for is unassigned instead. */
static int mark_unmapped(consult_ctx *cx, perr *err)
{
    for (size_t i = 0; i < cx->res->n; i++) {
        consultation_annotation *a = &cx->res->annotations[i];
        if (a->themes[0] || a->unprocessable)
            continue;
        if (cx->res->approved && cx->res->n_themes > 0) {
            a->unassigned = 1;
            cx->res->n_unassigned++;
        } else if (consult_unprocessable(cx, i, "mapping", "no themes were found to map it to", err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* The approved set becomes res->themes (steps 2-4 are skipped). */
static int install_approved(consult_ctx *cx, const theme_set *ts, perr *err)
{
    consultation_result *res = cx->res;
    if (ts->n == 0 || ts->n > CONSULTATION_MAX_THEMES)
        return perr_set(err, "an approved theme set needs 1..%d themes, not %zu", CONSULTATION_MAX_THEMES, ts->n);
    if (!(res->themes = calloc(ts->n, sizeof *res->themes)))
        return perr_set(err, "out of memory");
    res->approved = 1;
    for (size_t i = 0; i < ts->n; i++) {
        consultation_theme *t = &res->themes[i];
        memcpy(t->id, ts->items[i].id, sizeof t->id);
        memcpy(t->position, ts->items[i].position, sizeof t->position);
        t->label = strdup(ts->items[i].label);
        t->description = strdup(ts->items[i].description);
        res->n_themes++;
        if (!t->label || !t->description)
            return perr_set(err, "out of memory");
    }
    return 0;
}

static void trace_step(consultation_result *res, const char *step, const char *outcome, double count)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra)
        cJSON_AddNumberToObject(extra, "count", count);
    structured_trace(&res->out, step, outcome, NULL, extra);
}

/* Steps 2-4: themes found in the responses. */
static int find_themes(consult_ctx *cx, perr *err)
{
    consultation_result *res = cx->res;
    int rc = consult_generate_themes(cx, err);
    if (rc == 0) {
        trace_step(res, "themes", "candidates", (double)cx->candidates.n);
        rc = consult_condense(cx, err);
    }
    if (rc == 0) {
        trace_step(res, "condense", "themes", (double)cx->candidates.n);
        rc = consult_refine(cx, err);
    }
    return rc;
}

static int run_steps(consult_ctx *cx, const theme_set *approved, perr *err)
{
    consultation_result *res = cx->res;
    int rc = mark_empty_responses(cx, err);
    if (rc == 0)
        rc = consult_sentiment(cx, err);
    if (rc == 0 && approved) {
        rc = install_approved(cx, approved, err);
        if (rc == 0)
            trace_step(res, "approved", "themes", (double)res->n_themes);
    } else if (rc == 0) {
        rc = find_themes(cx, err);
    }
    if (rc == 0 && res->n_themes > 0)
        rc = consult_mapping(cx, err);
    if (rc == 0)
        rc = mark_unmapped(cx, err);
    for (size_t i = 0; rc == 0 && i < res->n; i++)
        if (res->annotations[i].truncated)
            res->n_truncated++;
    return rc;
}

int consultation_run(const analysis_input *in, const char *question, const response_set *rs,
                     const consultation_options *opt, consultation_result *res, perr *err)
{
    memset(res, 0, sizeof *res);
    int max_themes = opt && opt->max_themes ? opt->max_themes : CONSULTATION_DEFAULT_MAX_THEMES;
    int batch_size = opt && opt->batch_size ? opt->batch_size : 20;
    if (max_themes < 1 || max_themes > CONSULTATION_MAX_THEMES)
        return perr_set(err, "max_themes must be 1..%d, not %d", CONSULTATION_MAX_THEMES, max_themes);
    if (batch_size < 1)
        return perr_set(err, "batch_size must be at least 1");
    if (analysis_consultation_check(in->prompt, err) != 0)
        return -1;
    if (rs->n == 0)
        return perr_set(err, "no responses");
    if (!(res->annotations = calloc(rs->n, sizeof *res->annotations)))
        return perr_set(err, "out of memory");
    res->n = rs->n;
    for (size_t i = 0; i < rs->n; i++)
        res->annotations[i].response_id = rs->items[i].id;
    consult_ctx cx = {.in = in, .question = question ? question : "", .rs = rs, .res = res,
                      .max_themes = max_themes, .batch_size = batch_size};
    int rc = run_steps(&cx, opt ? opt->approved : NULL, err);
    theme_list_clear(&cx.candidates);
    if (rc == 0)
        consultation_flag_themes(res, opt ? opt->flags : NULL);
    if (rc == 0)
        rc = consultation_integrity(res, err);
    if (rc == 0)
        structured_trace(&res->out, "integrity", "ok", NULL, NULL);
    return rc;
}

int consultation_theme_index(const consultation_result *res, char id)
{
    for (size_t i = 0; i < res->n_themes; i++)
        if (res->themes[i].id[0] == id)
            return (int)i;
    return -1;
}

int consultation_integrity(const consultation_result *res, perr *err)
{
    for (size_t i = 0; i < res->n; i++) {
        const consultation_annotation *a = &res->annotations[i];
        if (a->unprocessable && (!a->reason || !*a->reason))
            return perr_set(err, "integrity: response %.60s is unprocessable without a reason", a->response_id);
        if (a->unassigned && (!res->approved || a->themes[0] || a->unprocessable))
            return perr_set(err, "integrity: response %.60s is unassigned but %s", a->response_id,
                            !res->approved ? "there is no approved theme set" : a->themes[0] ? "has themes"
                                                                                        : "unprocessable");
        if (!a->unprocessable && (!a->position[0] || (!a->themes[0] && !a->unassigned)))
            return perr_set(err, "integrity: response %.60s has no %s and is not marked unprocessable",
                            a->response_id, a->position[0] ? "theme" : "position");
        for (const char *t = a->themes; *t; t++)
            if (consultation_theme_index(res, *t) < 0)
                return perr_set(err, "integrity: response %.60s is mapped to unknown theme %c", a->response_id, *t);
    }
    return 0;
}

static cJSON *annotation_json(const consultation_annotation *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "response_id", a->response_id);
    if (a->position[0])
        cJSON_AddStringToObject(o, "position", a->position);
    if (a->evidence_rich[0])
        cJSON_AddStringToObject(o, "evidence_rich", a->evidence_rich);
    cJSON *themes = cJSON_AddArrayToObject(o, "themes");
    for (const char *t = a->themes; themes && *t; t++) {
        char id[2] = {*t, '\0'};
        cJSON_AddItemToArray(themes, cJSON_CreateString(id));
    }
    cJSON_AddBoolToObject(o, "truncated", a->truncated);
    cJSON_AddBoolToObject(o, "unprocessable", a->unprocessable);
    if (a->unassigned)
        cJSON_AddBoolToObject(o, "unassigned", 1);
    if (a->reason)
        cJSON_AddStringToObject(o, "reason", a->reason);
    return o;
}

char *consultation_result_json(const consultation_result *res)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *themes = o ? cJSON_AddArrayToObject(o, "themes") : NULL;
    for (size_t i = 0; themes && i < res->n_themes; i++) {
        const consultation_theme *t = &res->themes[i];
        cJSON *to = cJSON_CreateObject();
        if (!to)
            break;
        cJSON_AddItemToArray(themes, to);
        cJSON_AddStringToObject(to, "id", t->id);
        cJSON_AddStringToObject(to, "label", t->label);
        cJSON_AddStringToObject(to, "description", t->description);
        cJSON_AddStringToObject(to, "position", t->position);
        cJSON_AddNumberToObject(to, "responses", (double)t->response_count);
        consultation_theme_flags_json(res, i, to);
    }
    cJSON *responses = o ? cJSON_AddArrayToObject(o, "responses") : NULL;
    for (size_t i = 0; responses && i < res->n; i++)
        cJSON_AddItemToArray(responses, annotation_json(&res->annotations[i]));
    if (o && res->approved)
        cJSON_AddBoolToObject(o, "approved_themes", 1);
    cJSON *proposals = o && res->n_proposals ? cJSON_AddArrayToObject(o, "candidate_new_themes") : NULL;
    for (size_t i = 0; proposals && i < res->n_proposals; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p)
            break;
        cJSON_AddItemToArray(proposals, p);
        cJSON_AddStringToObject(p, "label", res->proposals[i].label);
        cJSON_AddStringToObject(p, "description", res->proposals[i].description);
        cJSON_AddStringToObject(p, "position", res->proposals[i].position);
    }
    cJSON *counts = o ? cJSON_AddObjectToObject(o, "counts") : NULL;
    if (counts) {
        cJSON_AddNumberToObject(counts, "responses", (double)res->n);
        cJSON_AddNumberToObject(counts, "candidate_themes", (double)res->n_candidates);
        cJSON_AddNumberToObject(counts, "themes", (double)res->n_themes);
        cJSON_AddNumberToObject(counts, "unprocessable", (double)res->n_unprocessable);
        cJSON_AddNumberToObject(counts, "truncated", (double)res->n_truncated);
        if (res->approved)
            cJSON_AddNumberToObject(counts, "unassigned", (double)res->n_unassigned);
        cJSON_AddNumberToObject(counts, "calls", res->out.calls);
    }
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return text;
}

void consultation_result_clear(consultation_result *res)
{
    for (size_t i = 0; i < res->n; i++)
        free(res->annotations[i].reason);
    free(res->annotations);
    for (size_t i = 0; i < res->n_themes; i++) {
        free(res->themes[i].label);
        free(res->themes[i].description);
    }
    free(res->themes);
    for (size_t i = 0; i < res->n_proposals; i++) {
        free(res->proposals[i].label);
        free(res->proposals[i].description);
    }
    free(res->proposals);
    analysis_output_clear(&res->out);
    memset(res, 0, sizeof *res);
}
