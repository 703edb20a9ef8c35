/* summary.c — the "summary" analysis: {"title", "summary", "key_points":
 * [{"point", "paragraphs": [ids]}]}, every key point citing the paragraphs
 * it comes from.
 *
 * The model reads the document as numbered paragraphs ("[p12] ...",
 * pipeline/analyses/cited_text.h). Each call's schema is the prompt file's schema
 * with the paragraph ids narrowed to an enum of the ids that call was shown,
 * so a citation can never be invented. A document that fits the context is
 * one call; otherwise map-reduce: chunks at paragraph boundaries (what each
 * covered goes into the trace), one answer per chunk, then the answers are
 * combined level by level (pipeline/analyses/reduce.h) with the prompt's "combine"
 * template; a combine call sees the parts' key points with their ids and
 * may cite only ids those parts cited. Semantic check on every answer: no
 * empty key point, no id cited twice by one point; an answer still wrong
 * after the retry is repaired (the empty point dropped, the repeated id
 * removed) and the trace says so. Nothing is silently truncated: a context
 * too small to make progress is an error that says so.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analyses/analysis.h"
#include "pipeline/analyses/cited_text.h"
#include "pipeline/analyses/reduce.h"

/* The fewest tokens of document text per chunk worth a model call. */
#define SUMMARY_MIN_CHUNK_TOKENS 16
/* Tokens kept free besides the 10% margin: a paragraph counted on its own
 * can take a few more tokens inside the prompt. */

/* ---- the schema of one call --------------------------------------------------- */

/* The schema of key_points[].paragraphs inside a summary schema, NULL when
 * the schema does not have that shape. */
static cJSON *paragraphs_schema(cJSON *schema)
{
    cJSON *kp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(schema, "properties"), "key_points");
    cJSON *item = cJSON_GetObjectItemCaseSensitive(kp, "items");
    cJSON *par = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(item, "properties"), "paragraphs");
    return cJSON_IsObject(par) ? par : NULL;
}

/* The prompt's schema with paragraph ids limited to ids[0..n) (malloc'd). */
static char *schema_with_ids(const char *base, char *const *ids, size_t n, perr *err)
{
    cJSON *schema = cJSON_Parse(base);
    cJSON *par = paragraphs_schema(schema);
    cJSON *items = cJSON_CreateObject();
    cJSON *allowed = items ? cJSON_AddArrayToObject(items, "enum") : NULL;
    char *text = NULL;
    if (par && allowed && n > 0) {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(allowed, cJSON_CreateString(ids[i]));
        cJSON_DeleteItemFromObjectCaseSensitive(par, "items");
        cJSON_AddItemToObject(par, "items", items);
        items = NULL;
        /* More citations than ids would have to repeat one. */
        const cJSON *max = cJSON_GetObjectItemCaseSensitive(par, "maxItems");
        if (!cJSON_IsNumber(max) || max->valuedouble > (double)n) {
            cJSON_DeleteItemFromObjectCaseSensitive(par, "maxItems");
            cJSON_AddNumberToObject(par, "maxItems", (double)n);
        }
        text = cJSON_PrintUnformatted(schema);
    }
    cJSON_Delete(items);
    cJSON_Delete(schema);
    if (!text)
        perr_set(err, n == 0 ? "no paragraph ids to cite" : "out of memory or a schema without key_points.paragraphs");
    return text;
}

/* ---- checks ---------------------------------------------------------------------- */

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

/* Index of the first id of point that repeats an earlier one, -1 if none. */
static int repeated_id(const cJSON *paragraphs)
{
    int i = 0;
    for (const cJSON *a = paragraphs ? paragraphs->child : NULL; a; a = a->next, i++)
        for (const cJSON *b = paragraphs->child; b != a; b = b->next)
            if (cJSON_IsString(a) && cJSON_IsString(b) && strcmp(a->valuestring, b->valuestring) == 0)
                return i;
    return -1;
}

static int summary_check(const cJSON *answer, void *ctx, perr *err)
{
    (void)ctx;
    int i = 0;
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(answer, "key_points");
    for (const cJSON *kp = points ? points->child : NULL; kp; kp = kp->next, i++) {
        const cJSON *point = cJSON_GetObjectItemCaseSensitive(kp, "point");
        const cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(kp, "paragraphs");
        if (!cJSON_IsString(point) || is_blank(point->valuestring))
            return perr_set(err, "key point %d is empty: every key point must say something", i + 1);
        int dup = repeated_id(paragraphs);
        if (dup >= 0)
            return perr_set(err, "key point %d cites paragraph %s twice: cite each paragraph once", i + 1,
                            cJSON_GetArrayItem(paragraphs, dup)->valuestring);
    }
    return 0;
}

/* Drop empty key points and repeated ids; fails when no point is left. */
static int summary_repair(cJSON *answer, void *ctx, perr *err)
{
    (void)ctx;
    cJSON *points = cJSON_GetObjectItemCaseSensitive(answer, "key_points");
    for (cJSON *kp = points ? points->child : NULL, *next; kp; kp = next) {
        next = kp->next;
        const cJSON *point = cJSON_GetObjectItemCaseSensitive(kp, "point");
        if (!cJSON_IsString(point) || is_blank(point->valuestring)) {
            cJSON_Delete(cJSON_DetachItemViaPointer(points, kp));
            continue;
        }
        cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(kp, "paragraphs");
        for (int dup; (dup = repeated_id(paragraphs)) >= 0;)
            cJSON_DeleteItemFromArray(paragraphs, dup);
    }
    if (cJSON_GetArraySize(points) == 0)
        return perr_set(err, "no key point is left");
    return 0;
}

/* ---- map ------------------------------------------------------------------------- */

static char *render_user(const analysis_input *in, const char *tmpl, const char *document, perr *err)
{
    prompt_var vars[] = {{"document", document}, {"title", in->title}};
    return prompt_render_vars(tmpl, vars, 2, err);
}

/* Tokens of the map prompt around the document text. */
static int prompt_overhead(const analysis_input *in, size_t *n, perr *err)
{
    char *user = render_user(in, in->prompt->user, "", err);
    int rc = user ? structured_prompt_tokens(in, in->prompt->system, user, n, err) : -1;
    free(user);
    return rc;
}

/* ---- reduce (declared here, defined below) -------------------------------------- */

static char *render_part(const cJSON *part, size_t number, void *ctx);
static char *combine_schema(cJSON *const *parts, size_t n, void *ctx, perr *err);

/* The combine step of a long document (in's max_tokens, in as context). */
static reduce_spec combine_spec(const analysis_input *in)
{
    return (reduce_spec){.step = "combine", .system = in->prompt->system,
                         .tmpl = in->prompt->combine ? in->prompt->combine : in->prompt->user,
                         .max_tokens = in->max_tokens, .sampling = &in->prompt->sampling,
                         .render_part = render_part, .schema_for = combine_schema, .check = summary_check,
                         .repair = summary_repair, .ctx = (void *)in};
}

/* The answer budget of a document that needs map-reduce in this context. */
static int map_reduce_budget(const analysis_input *in, size_t overhead, int *max_tokens, perr *err)
{
    reduce_spec spec = combine_spec(in);
    int map_limit = cited_answer_limit(llm_n_ctx(in->llm), overhead, SUMMARY_MIN_CHUNK_TOKENS);
    return reduce_answer_budget(in, &spec, map_limit, max_tokens, err);
}

int analysis_summary_budget(const analysis_input *in, int *max_tokens, perr *err)
{
    size_t overhead;
    return prompt_overhead(in, &overhead, err) == 0 ? map_reduce_budget(in, overhead, max_tokens, err) : -1;
}

/* Tokens of document text per chunk: everything when the whole document
 * fits one call, else the room left by the prompt and the answer (10%
 * margin for counting paragraph by paragraph), the answer budget first
 * scaled to the context (in->max_tokens lowered, the trace says so). */
static int chunk_budget(analysis_input *in, analysis_output *out, const cited_doc *d, size_t *budget, perr *err)
{
    size_t overhead, whole;
    char *text = cited_doc_render(d, 1);
    if (!text)
        return perr_set(err, "out of memory");
    int rc = llm_count_tokens(in->llm, text, strlen(text), &whole, err);
    free(text);
    if (rc != 0 || prompt_overhead(in, &overhead, err) != 0)
        return -1;
    if (!cited_fits_one_call(llm_n_ctx(in->llm), in->max_tokens, overhead, whole)) {
        int fitted;
        if (map_reduce_budget(in, overhead, &fitted, err) != 0)
            return -1;
        reduce_trace_budget(in, out, fitted);
        in->max_tokens = fitted;
    }
    return cited_chunk_budget(llm_n_ctx(in->llm), in->max_tokens, overhead, whole, SUMMARY_MIN_CHUNK_TOKENS, budget, err);
}

/* The map call for one chunk: its own schema (an enum of the chunk's
 * paragraph ids) and user text, both malloc'd into the call. */
static int chunk_call(const analysis_input *in, const cited_chunk *c, structured_call *call, perr *err)
{
    char *schema = schema_with_ids(in->prompt->schema_json, c->ids, c->n_ids, err);
    char *user = schema ? render_user(in, in->prompt->user, c->text, err) : NULL;
    if (!user) {
        free(schema);
        return -1;
    }
    *call = (structured_call){.step = "map", .system = in->prompt->system, .user = user, .schema_json = schema,
                              .max_tokens = in->max_tokens, .sampling = &in->prompt->sampling,
                              .check = summary_check};
    return 0;
}

static void free_parts(cJSON **parts, size_t n)
{
    for (size_t i = 0; parts && i < n; i++)
        cJSON_Delete(parts[i]);
    free(parts);
}

static void free_calls(structured_call *calls, size_t n)
{
    for (size_t i = 0; calls && i < n; i++) {
        free((char *)calls[i].user);
        free((char *)calls[i].schema_json);
    }
    free(calls);
}


/* One answer per chunk into *parts, every chunk's call batched (the model
 * answers [engine] parallel chunks at once); *raw is the last chunk's text. */
static int map_chunks(const analysis_input *in, analysis_output *out, const cited_chunks *chunks, cJSON ***parts,
                      char **raw, perr *err)
{
    size_t n = chunks->n;
    structured_call *calls = calloc(n ? n : 1, sizeof *calls);
    *parts = calloc(n ? n : 1, sizeof **parts);
    int rc = calls && *parts ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        structured_trace(out, "chunk", "planned", NULL, cited_chunk_provenance(&chunks->items[i], i));
        rc = chunk_call(in, &chunks->items[i], &calls[i], err);
    }
    if (rc == 0)
        rc = salvage_run_parts(in, out, calls, n, summary_repair, NULL, *parts, raw, err);
    if (rc != 0) {
        free_parts(*parts, n);
        *parts = NULL;
    }
    free_calls(calls, n);
    return rc;
}

/* ---- reduce ---------------------------------------------------------------------- */

/* "Part 2:\nTitle: ...\nSummary: ...\nKey points:\n- ... [p3, p5]" */
static char *render_part(const cJSON *part, size_t number, void *ctx)
{
    (void)ctx;
    prompt_text t = {0};
    prompt_text_add(&t, "Part %zu:\nTitle: %s\nSummary: %s\nKey points:", number, structured_string(part, "title"),
                  structured_string(part, "summary"));
    const cJSON *points = cJSON_GetObjectItemCaseSensitive(part, "key_points");
    for (const cJSON *kp = points ? points->child : NULL; kp; kp = kp->next) {
        prompt_text_add(&t, "\n- %s [", structured_string(kp, "point"));
        const cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(kp, "paragraphs");
        for (const cJSON *id = paragraphs ? paragraphs->child : NULL; id; id = id->next)
            prompt_text_add(&t, "%s%s", id == paragraphs->child ? "" : ", ", cJSON_IsString(id) ? id->valuestring : "");
        prompt_text_add(&t, "]");
    }
    return prompt_text_finish(&t);
}

/* The distinct ids cited by parts, in order of first citation. */
static int cited_ids(cJSON *const *parts, size_t n, char ***ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    for (size_t i = 0; i < n; i++) {
        const cJSON *points = cJSON_GetObjectItemCaseSensitive(parts[i], "key_points");
        for (const cJSON *kp = points ? points->child : NULL; kp; kp = kp->next) {
            const cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(kp, "paragraphs");
            for (const cJSON *id = paragraphs ? paragraphs->child : NULL; id; id = id->next) {
                size_t k = 0;
                while (cJSON_IsString(id) && k < *n_ids && strcmp((*ids)[k], id->valuestring) != 0)
                    k++;
                if (!cJSON_IsString(id) || k < *n_ids)
                    continue;
                char **grown = realloc(*ids, (*n_ids + 1) * sizeof *grown);
                if (!grown)
                    return -1;
                *ids = grown;
                (*ids)[(*n_ids)++] = id->valuestring;
            }
        }
    }
    return 0;
}

static char *combine_schema(cJSON *const *parts, size_t n, void *ctx, perr *err)
{
    const analysis_input *in = ctx;
    char **ids;
    size_t n_ids;
    char *schema = NULL;
    if (cited_ids(parts, n, &ids, &n_ids) != 0)
        perr_set(err, "out of memory");
    else
        schema = schema_with_ids(in->prompt->schema_json, ids, n_ids, err);
    free(ids);
    return schema;
}

/* ---- the analysis ------------------------------------------------------------------ */

static int summarize(const analysis_input *given, analysis_output *out, cJSON **answer, char **raw, perr *err)
{
    analysis_input fitted = *given, *in = &fitted;
    cited_doc d;
    cited_chunks chunks = {0};
    size_t budget = 0;
    if (cited_doc_build(in->doc, in->text, &d, err) != 0)
        return -1;
    int rc = chunk_budget(in, out, &d, &budget, err);
    if (rc == 0)
        rc = cited_split(in->llm, &d, 1, budget, &chunks, err);
    cited_doc_clear(&d);
    reduce_spec spec = combine_spec(in);
    if (rc == 0)
        rc = reduce_check_feasible(in, &spec, chunks.n, err);
    cJSON **parts = NULL;
    if (rc == 0)
        rc = map_chunks(in, out, &chunks, &parts, raw, err);
    out->chunks = (int)chunks.n;
    if (rc == 0 && chunks.n == 1) {
        *answer = parts[0];
        free(parts);
    } else if (rc == 0) {
        free(*raw);
        *raw = NULL;
        rc = reduce_run(in, out, &spec, parts, chunks.n, answer, raw, err);
        free(parts);
    }
    cited_chunks_clear(&chunks);
    return rc;
}

int analysis_summary(const analysis_input *in, analysis_output *out, perr *err)
{
    memset(out, 0, sizeof *out);
    cJSON *answer = NULL;
    char *raw = NULL;
    int rc = summarize(in, out, &answer, &raw, err);
    if (rc == 0) {
        out->output_json = cJSON_PrintUnformatted(answer);
        out->raw_text = raw ? raw : cJSON_PrintUnformatted(answer);
        raw = NULL;
        if (!out->output_json || !out->raw_text)
            rc = perr_set(err, "out of memory");
    }
    cJSON_Delete(answer);
    free(raw);
    if (rc != 0)
        analysis_output_clear(out);
    return rc;
}

int analysis_summary_check(const prompt_spec *p, perr *err)
{
    if (prompt_require(p, "user", p->user, "document", err) != 0)
        return -1;
    if (p->combine && prompt_require(p, "combine", p->combine, "document", err) != 0)
        return -1;
    cJSON *schema = p->schema_json ? cJSON_Parse(p->schema_json) : NULL;
    int ok = paragraphs_schema(schema) != NULL;
    cJSON_Delete(schema);
    if (!ok)
        return perr_set(err, "prompt \"%s\": \"schema\" must describe key_points[].paragraphs (the cited "
                        "paragraph ids)", p->name);
    return 0;
}
