/* summary.c — the "summary" analysis: one model call when the document fits
 * the context; otherwise map-reduce: the text is cut at paragraph
 * boundaries into chunks that fit, each chunk is summarized, and the
 * summaries are summarized (with the prompt's "combine" template), level
 * after level until they fit one call. Nothing is silently truncated: a
 * context too small to make progress is an error that says so.
 *
 * With a "schema" in the prompt file (prompts/summary.json has
 * {"summary": string}) every call is constrained to that JSON, the parts
 * passed up are their "summary" strings, and the output is the final
 * call's JSON; without one the output is {"summary": "<the answer>"}.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analysis.h"
#include "pipeline/chunk.h"

/* Reduce levels before giving up (each level at least halves the parts). */
#define SUMMARY_MAX_LEVELS 8

/* Tokens of the chat prompt for tmpl with text in place of {{document}}. */
static int prompt_tokens(const analysis_input *in, const char *tmpl, const char *text, int32_t **ids,
                         size_t *n, perr *err)
{
    char *user = prompt_render(tmpl, in->title, text);
    if (!user)
        return perr_set(err, "out of memory");
    int rc = llm_chat_tokens(in->llm, in->prompt->system, user, ids, n, err);
    free(user);
    return rc;
}

static int fits(const analysis_input *in, size_t n_prompt)
{
    return n_prompt + (size_t)in->max_tokens <= (size_t)llm_n_ctx(in->llm);
}

/* One model call over text; the answer is added to *acc's counters. */
static int summarize_once(const analysis_input *in, const char *tmpl, const char *text,
                          analysis_output *acc, char **answer, perr *err)
{
    *answer = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    if (prompt_tokens(in, tmpl, text, &ids, &n, err) != 0)
        return -1;
    if (!fits(in, n)) {
        free(ids);
        return perr_set(err, "prompt of %zu tokens plus %d to generate does not fit the context of %d",
                        n, in->max_tokens, llm_n_ctx(in->llm));
    }
    llm_reply r;
    int rc = llm_chat(in->llm, ids, n, in->max_tokens, &in->prompt->sampling, in->schema, in->cancel,
                      in->cancel_ctx, &r, err);
    free(ids);
    if (rc != 0)
        return rc;
    acc->prompt_tokens += r.prompt_tokens;
    acc->completion_tokens += r.completion_tokens;
    acc->prompt_seconds += r.prompt_seconds;
    acc->gen_seconds += r.gen_seconds;
    acc->calls++;
    acc->stop_reason = generate_stop_reason_name(r.reason);
    *answer = r.text;
    return 0;
}

/* Tokens of document text one call of tmpl can take (with a 10% margin for
 * the per-paragraph counting), at least min_budget. */
static int chunk_budget(const analysis_input *in, const char *tmpl, size_t min_budget, size_t *budget,
                        perr *err)
{
    int32_t *ids = NULL;
    size_t overhead = 0;
    if (prompt_tokens(in, tmpl, "", &ids, &overhead, err) != 0)
        return -1;
    free(ids);
    long avail = (long)llm_n_ctx(in->llm) - in->max_tokens - (long)overhead;
    *budget = avail > 0 ? (size_t)avail * 9 / 10 : 0;
    if (*budget < min_budget)
        return perr_set(err, "the document does not fit the context of %d tokens, and the context is too small to "
                        "split it (%zu tokens left for text, %zu needed; raise [engine] ctx_size or lower max_tokens)",
                        llm_n_ctx(in->llm), *budget, min_budget);
    return 0;
}

/* The summary text inside an answer: its "summary" string when constrained
 * to JSON, else the answer itself (malloc'd). */
static char *answer_summary(const analysis_input *in, const char *answer)
{
    if (!in->schema)
        return strdup(answer);
    cJSON *v = cJSON_Parse(answer);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(v, "summary");
    char *text = strdup(cJSON_IsString(s) ? s->valuestring : answer);
    cJSON_Delete(v);
    return text;
}

static void free_parts(char **parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
}

/* Summarize each chunk of list with tmpl; *parts receives the answers. */
static int map_chunks(const analysis_input *in, const char *tmpl, const chunk_list *list,
                      analysis_output *acc, char ***parts, perr *err)
{
    *parts = calloc(list->n ? list->n : 1, sizeof **parts);
    if (!*parts)
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < list->n; i++) {
        char *answer;
        int rc = summarize_once(in, tmpl, list->items[i], acc, &answer, err);
        if (rc == 0 && !((*parts)[i] = answer_summary(in, answer)))
            rc = perr_set(err, "out of memory");
        free(answer);
        if (rc != 0) {
            free_parts(*parts, list->n);
            *parts = NULL;
            return rc == LLM_CANCELLED ? rc : perr_prefix(err, "part %zu of %zu", i + 1, list->n);
        }
    }
    return 0;
}

static char *join_parts(char **parts, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(parts[i]) + 2;
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            memcpy(out + len, "\n\n", 2);
            len += 2;
        }
        size_t k = strlen(parts[i]);
        memcpy(out + len, parts[i], k);
        len += k;
    }
    out[len] = '\0';
    return out;
}

/* Split text with tmpl's budget and summarize each chunk. */
static int split_and_map(const analysis_input *in, const char *tmpl, const char *text, size_t min_budget,
                         analysis_output *acc, char ***parts, size_t *n_parts, perr *err)
{
    size_t budget;
    chunk_list list;
    if (chunk_budget(in, tmpl, min_budget, &budget, err) != 0 || chunk_split(in->llm, text, budget, &list, err) != 0)
        return -1;
    int rc = map_chunks(in, tmpl, &list, acc, parts, err);
    *n_parts = list.n;
    chunk_list_clear(&list);
    return rc;
}

/* Combine parts level by level until they fit one call. */
static int reduce_parts(const analysis_input *in, const char *combine, char **parts, size_t n_parts,
                        analysis_output *acc, char **answer, perr *err)
{
    int rc = 0;
    for (int level = 1; rc == 0; level++) {
        char *joined = join_parts(parts, n_parts);
        if (!joined) {
            rc = perr_set(err, "out of memory");
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        rc = prompt_tokens(in, combine, joined, &ids, &n, err);
        free(ids);
        if (rc == 0 && fits(in, n)) {
            acc->levels = level;
            rc = summarize_once(in, combine, joined, acc, answer, err);
            free(joined);
            break;
        }
        char **next = NULL;
        size_t n_next = 0;
        if (rc == 0 && level >= SUMMARY_MAX_LEVELS)
            rc = perr_set(err, "summaries still do not fit after %d levels", level);
        /* Room for three answers per call, so every level at least halves the parts. */
        if (rc == 0)
            rc = split_and_map(in, combine, joined, 3 * (size_t)in->max_tokens, acc, &next, &n_next, err);
        free(joined);
        if (rc == 0 && n_next >= n_parts) {
            free_parts(next, n_next);
            rc = perr_set(err, "summaries do not get shorter (%zu parts at level %d)", n_parts, level);
        }
        free_parts(parts, n_parts);
        parts = rc == 0 ? next : NULL;
        n_parts = rc == 0 ? n_next : 0;
    }
    free_parts(parts, n_parts);
    return rc;
}

static int summary_text(const analysis_input *in, analysis_output *out, char **answer, perr *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (prompt_tokens(in, in->prompt->user, in->text, &ids, &n, err) != 0)
        return -1;
    free(ids);
    out->chunks = 1;
    if (fits(in, n))
        return summarize_once(in, in->prompt->user, in->text, out, answer, err);
    const char *combine = in->prompt->combine ? in->prompt->combine : in->prompt->user;
    char **parts;
    size_t n_parts;
    int rc = split_and_map(in, in->prompt->user, in->text, 1, out, &parts, &n_parts, err);
    if (rc != 0)
        return rc;
    out->chunks = (int)n_parts;
    return reduce_parts(in, combine, parts, n_parts, out, answer, err);
}

int analysis_summary(const analysis_input *in, analysis_output *out, perr *err)
{
    memset(out, 0, sizeof *out);
    char *answer = NULL;
    int rc = summary_text(in, out, &answer, err);
    if (rc != 0) {
        analysis_output_clear(out);
        return rc;
    }
    cJSON *o = in->schema ? cJSON_Parse(answer) : cJSON_CreateObject();
    if (o && (in->schema || cJSON_AddStringToObject(o, "summary", answer)))
        out->output_json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    out->raw_text = answer;
    if (!out->output_json) {
        analysis_output_clear(out);
        return perr_set(err, "out of memory");
    }
    return 0;
}

int analysis_summary_check(const prompt_spec *p, perr *err)
{
    if (prompt_require(p, "user", p->user, "document", err) != 0)
        return -1;
    return p->combine ? prompt_require(p, "combine", p->combine, "document", err) : 0;
}
