/* legal_review.c — the "legal_review" analysis: a judgment or witness
 * statement reviewed for bias and evidentiary problems, as {"summary",
 * "parties": [{"name", "role"}], "findings": [{"category", "subtype",
 * "quote", "explanation", "severity", "confidence", "verified", "match",
 * "start", "end", "page", "paragraph"}]} (prompts/legal_review.json).
 *
 * The model reads the document's own text (no paragraph labels, so quotes
 * can be copied from it verbatim), in chunks at paragraph boundaries when it
 * does not fit the context ("map" step, one call per chunk, what each chunk
 * covered in the trace). The findings of all chunks are concatenated in
 * document order; the chunks' summaries and parties are combined level by
 * level ("combine" step, pipeline/analyses/reduce.h). Every quote is then looked up
 * in the document (pipeline/analyses/legal_findings.h): the stored finding says
 * whether and how it was found, and where. Duplicates (same category and
 * quote) are merged.
 *
 * Semantic check of a map answer: no blank quote, and when it has findings
 * at least one quote must be in the document word for word; otherwise the
 * call is retried once with the reason. If the retry fails the check too,
 * its answer is kept (blank quotes dropped, the rest unverified) and the
 * trace says so: no further calls, no loop.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analyses/analysis.h"
#include "pipeline/analyses/cited_text.h"
#include "pipeline/analyses/legal_findings.h"
#include "pipeline/analyses/legal_twin.h"
#include "pipeline/analyses/reduce.h"

/* The fewest tokens of document text per chunk worth a model call. */
#define LEGAL_MIN_CHUNK_TOKENS 32
/* Tokens kept free besides the 10% margin: a paragraph counted on its own
 * can take a few more tokens inside the prompt. */

typedef struct legal_run {
    const analysis_input *in;
    const prompt_step *map, *combine;
    const quote_index *idx;
} legal_run;

static char *render_user(const analysis_input *in, const char *tmpl, const char *document, perr *err)
{
    prompt_var vars[] = {{"document", document}, {"title", in->title}};
    return prompt_render_vars(tmpl, vars, 2, err);
}

static int is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static const char *quote_of(const cJSON *finding)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(finding, "quote");
    return cJSON_IsString(q) ? q->valuestring : "";
}

/* ---- the check on a map answer ---------------------------------------------- */

static int map_check(const cJSON *answer, void *ctx, perr *err)
{
    const legal_run *run = ctx;
    const cJSON *findings = cJSON_GetObjectItemCaseSensitive(answer, "findings");
    int i = 0, found = 0;
    for (const cJSON *f = findings ? findings->child : NULL; f; f = f->next, i++) {
        if (is_blank(quote_of(f)))
            return perr_set(err, "finding %d has an empty quote: copy the exact words from the document", i + 1);
        quote_match m;
        if (quote_locate_indexed(run->idx, quote_of(f), &m, err) != 0)
            return -1;
        found += m.verified;
    }
    if (i > 0 && found == 0)
        return perr_set(err, "none of the %d quotes appears in the document word for word (the first was \"%.100s\"); "
                        "copy each quote exactly as it is written in the document, or leave the finding out",
                        i, quote_of(findings->child));
    return 0;
}

/* Keep a twice-rejected answer: drop findings with blank quotes; the others
 * stay and are marked unverified by the verification. */
static int map_repair(cJSON *answer, void *ctx, perr *err)
{
    (void)ctx;
    (void)err;
    cJSON *findings = cJSON_GetObjectItemCaseSensitive(answer, "findings");
    for (cJSON *f = findings ? findings->child : NULL, *next; f; f = next) {
        next = f->next;
        if (is_blank(quote_of(f)))
            cJSON_Delete(cJSON_DetachItemViaPointer(findings, f));
    }
    return 0;
}

/* ---- map ----------------------------------------------------------------------- */

/* ---- combine (declared here, defined below) ------------------------------------ */

static char *render_part(const cJSON *part, size_t number, void *ctx);
static char *combine_schema(cJSON *const *parts, size_t n, void *ctx, perr *err);

/* The combine step of a long document (the run's max_tokens). */
static reduce_spec combine_spec(const legal_run *run)
{
    return (reduce_spec){.step = "combine", .system = run->combine->system, .tmpl = run->combine->user,
                         .max_tokens = run->in->max_tokens, .sampling = &run->in->prompt->sampling,
                         .render_part = render_part, .schema_for = combine_schema, .ctx = (void *)run};
}

/* Tokens of the map prompt around the document text. */
static int map_overhead(const legal_run *run, size_t *overhead, perr *err)
{
    char *user = render_user(run->in, run->map->user, "", err);
    int rc = user ? structured_prompt_tokens(run->in, run->map->system, user, overhead, err) : -1;
    free(user);
    return rc;
}

/* The answer budget of a document that needs map-reduce in this context. */
static int map_reduce_budget(const legal_run *run, size_t overhead, int *max_tokens, perr *err)
{
    reduce_spec spec = combine_spec(run);
    int map_limit = cited_answer_limit(llm_n_ctx(run->in->llm), overhead, LEGAL_MIN_CHUNK_TOKENS);
    return reduce_answer_budget(run->in, &spec, map_limit, max_tokens, err);
}

/* Tokens of document text per chunk (everything when it fits one call with
 * the prompt's max_tokens; else the answer budget is first scaled to the
 * context: in->max_tokens lowered, the trace says so). */
static int chunk_budget(legal_run *run, analysis_input *in, analysis_output *out, const cited_doc *d, size_t *budget,
                        perr *err)
{
    char *text = cited_doc_render(d, 0);
    size_t whole = 0, overhead = 0;
    int rc = text ? llm_count_tokens(in->llm, text, strlen(text), &whole, err) : perr_set(err, "out of memory");
    free(text);
    if (rc == 0)
        rc = map_overhead(run, &overhead, err);
    if (rc == 0 && !cited_fits_one_call(llm_n_ctx(in->llm), in->max_tokens, overhead, whole)) {
        int fitted = 0;
        rc = map_reduce_budget(run, overhead, &fitted, err);
        if (rc == 0) {
            reduce_trace_budget(in, out, fitted);
            in->max_tokens = fitted;
        }
    }
    if (rc != 0)
        return -1;
    return cited_chunk_budget(llm_n_ctx(in->llm), in->max_tokens, overhead, whole, LEGAL_MIN_CHUNK_TOKENS, budget, err);
}

/* The map call for one chunk (its user text malloc'd into the call). */
static int chunk_call(legal_run *run, const cited_chunk *c, structured_call *call, perr *err)
{
    const analysis_input *in = run->in;
    char *user = render_user(in, run->map->user, c->text, err);
    if (!user)
        return -1;
    *call = (structured_call){.step = "map", .system = run->map->system, .user = user,
                              .schema_json = run->map->schema_json, .max_tokens = in->max_tokens,
                              .sampling = &in->prompt->sampling, .check = map_check, .check_ctx = run};
    return 0;
}


/* Move a chunk answer's findings to the common list. */
static void take_findings(cJSON *part, cJSON *findings)
{
    cJSON *mine = cJSON_DetachItemFromObjectCaseSensitive(part, "findings");
    while (mine && mine->child)
        cJSON_AddItemToArray(findings, cJSON_DetachItemViaPointer(mine, mine->child));
    cJSON_Delete(mine);
}

/* Every chunk reviewed, the calls batched (the model answers [engine]
 * parallel chunks at once): its findings appended to findings, the rest of
 * its answer (summary, parties) into parts[i]; *raw is the last chunk's text. */
static int map_chunks(legal_run *run, analysis_output *out, const cited_chunks *chunks, cJSON **parts,
                      cJSON *findings, char **raw, perr *err)
{
    size_t n = chunks->n;
    structured_call *calls = calloc(n ? n : 1, sizeof *calls);
    int rc = calls ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        structured_trace(out, "chunk", "planned", NULL, cited_chunk_provenance(&chunks->items[i], i));
        rc = chunk_call(run, &chunks->items[i], &calls[i], err);
    }
    if (rc == 0)
        rc = salvage_run_parts(run->in, out, calls, n, map_repair, run, parts, raw, err);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            take_findings(parts[i], findings);
        if (calls)
            free((char *)calls[i].user);
    }
    free(calls);
    return rc;
}

/* ---- combine --------------------------------------------------------------------- */

/* "Part 2:\nSummary: ...\nParties:\n- name (role)" */
static char *render_part(const cJSON *part, size_t number, void *ctx)
{
    (void)ctx;
    prompt_text t = {0};
    prompt_text_add(&t, "Part %zu:\nSummary: %s\nParties:", number, structured_string(part, "summary"));
    const cJSON *parties = cJSON_GetObjectItemCaseSensitive(part, "parties");
    for (const cJSON *p = parties ? parties->child : NULL; p; p = p->next)
        prompt_text_add(&t, "\n- %s (%s)", structured_string(p, "name"), structured_string(p, "role"));
    if (!(parties && parties->child))
        prompt_text_add(&t, " none named");
    return prompt_text_finish(&t);
}

static char *combine_schema(cJSON *const *parts, size_t n, void *ctx, perr *err)
{
    (void)parts;
    (void)n;
    const legal_run *run = ctx;
    char *schema = strdup(run->combine->schema_json);
    if (!schema)
        perr_set(err, "out of memory");
    return schema;
}

/* ---- the analysis ---------------------------------------------------------------------- */

static void trace_verification(analysis_output *out, size_t n, long verified, size_t merged)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddNumberToObject(extra, "findings", (double)n);
        cJSON_AddNumberToObject(extra, "verified", (double)verified);
        cJSON_AddNumberToObject(extra, "merged", (double)merged);
    }
    structured_trace(out, "verify", "ok", NULL, extra);
}

/* The final answer: summary and parties from the reduce, the findings verified and merged. */
static int finish(legal_run *run, analysis_output *out, cJSON *answer, cJSON *findings, perr *err)
{
    long verified = legal_findings_verify_indexed(run->idx, findings, err);
    if (verified < 0)
        return -1;
    size_t merged = legal_findings_merge(findings);
    if (merged > 0)
        verified = legal_findings_verify_indexed(run->idx, findings, err);
    trace_verification(out, (size_t)cJSON_GetArraySize(findings), verified, merged);
    cJSON_DeleteItemFromObjectCaseSensitive(answer, "findings");
    cJSON_AddItemReferenceToObject(answer, "findings", findings);
    out->output_json = cJSON_PrintUnformatted(answer);
    cJSON_DeleteItemFromObjectCaseSensitive(answer, "findings");
    return out->output_json ? 0 : perr_set(err, "out of memory");
}

static int review(legal_run *run, analysis_output *out, const cited_chunks *chunks, char **raw, perr *err)
{
    cJSON **parts = calloc(chunks->n, sizeof *parts);
    cJSON *findings = cJSON_CreateArray();
    int rc = parts && findings ? map_chunks(run, out, chunks, parts, findings, raw, err) : perr_set(err, "out of memory");
    cJSON *answer = NULL;
    if (rc == 0 && chunks->n == 1) {
        answer = parts[0];
        parts[0] = NULL;
    } else if (rc == 0) {
        free(*raw);
        *raw = NULL;
        reduce_spec spec = combine_spec(run);
        rc = reduce_run(run->in, out, &spec, parts, chunks->n, &answer, raw, err);
        memset(parts, 0, chunks->n * sizeof *parts);
    }
    for (size_t i = 0; parts && i < chunks->n; i++)
        cJSON_Delete(parts[i]);
    free(parts);
    if (rc == 0)
        rc = finish(run, out, answer, findings, err);
    cJSON_Delete(answer);
    cJSON_Delete(findings);
    return rc;
}

/* A document for quote verification when the caller has only text: its
 * blank-line separated blocks as paragraphs (offsets then refer to that
 * document's full_text). */
document *legal_document_of_text(const char *text)
{
    document *doc = document_new("text", "text/plain");
    cited_doc d;
    perr err;
    if (cited_doc_build(NULL, text ? text : "", &d, &err) == 0) {
        for (size_t i = 0; i < d.n; i++)
            document_add_paragraph(doc, d.units[i].text, 0);
        cited_doc_clear(&d);
    }
    return doc;
}

/* The run of in's prompt, or an error when the prompt lacks its steps. */
static int legal_run_of(const analysis_input *in, legal_run *run, perr *err)
{
    *run = (legal_run){.in = in, .map = prompt_find_step(in->prompt, "map"),
                       .combine = prompt_find_step(in->prompt, "combine")};
    if (!run->map || !run->combine || !run->map->schema_json || !run->combine->schema_json)
        return perr_set(err, "prompt %s lacks the map or combine step or their schemas", in->prompt->name);
    return 0;
}

int analysis_legal_review_budget(const analysis_input *in, int *max_tokens, perr *err)
{
    legal_run run;
    size_t overhead;
    if (legal_run_of(in, &run, err) != 0 || map_overhead(&run, &overhead, err) != 0)
        return -1;
    return map_reduce_budget(&run, overhead, max_tokens, err);
}

static int legal_review(const analysis_input *given, analysis_output *out, perr *err)
{
    analysis_input fitted = *given, *in = &fitted;
    legal_run run;
    if (legal_run_of(in, &run, err) != 0)
        return -1;
    document *own = in->doc ? NULL : legal_document_of_text(in->text);
    const document *doc = in->doc ? in->doc : own;
    quote_index *idx = NULL;
    cited_doc d = {0};
    cited_chunks chunks = {0};
    size_t budget = 0;
    char *raw = NULL;
    int rc = quote_index_new(doc, &idx, err);
    if (rc == 0)
        rc = cited_doc_build(doc, NULL, &d, err);
    run.idx = idx;
    if (rc == 0)
        rc = chunk_budget(&run, in, out, &d, &budget, err);
    if (rc == 0)
        rc = cited_split(in->llm, &d, 0, budget, &chunks, err);
    out->chunks = (int)chunks.n;
    reduce_spec spec = combine_spec(&run);
    if (rc == 0)
        rc = reduce_check_feasible(in, &spec, chunks.n, err);
    if (rc == 0)
        rc = review(&run, out, &chunks, &raw, err);
    if (rc == 0 && !(out->raw_text = raw ? raw : strdup(out->output_json)))
        rc = perr_set(err, "out of memory");
    else if (rc == 0)
        raw = NULL;
    free(raw);
    cited_chunks_clear(&chunks);
    cited_doc_clear(&d);
    quote_index_free(idx);
    document_free(own);
    return rc;
}

int analysis_legal_review(const analysis_input *in, analysis_output *out, perr *err)
{
    memset(out, 0, sizeof *out);
    int rc = legal_review(in, out, err);
    if (rc == 0 && in->twin)
        rc = legal_twin_add(in, out, err);
    if (rc != 0)
        analysis_output_clear(out);
    return rc;
}

int analysis_legal_review_check(const prompt_spec *p, perr *err)
{
    static const char *const steps[] = {"map", "combine"};
    for (size_t i = 0; i < 2; i++) {
        const prompt_step *st = prompt_find_step(p, steps[i]);
        if (!st)
            return perr_set(err, "prompt \"%s\" needs a \"%s\" step", p->name, steps[i]);
        if (prompt_require(p, steps[i], st->user, "document", err) != 0)
            return -1;
        if (!st->schema_json)
            return perr_set(err, "prompt \"%s\": step \"%s\" needs a \"schema\"", p->name, steps[i]);
    }
    if (!p->schema_json)
        return perr_set(err, "prompt \"%s\" needs a \"schema\" (the stored result)", p->name);
    return 0;
}
