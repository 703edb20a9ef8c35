/* reduce.c — level-by-level combining of partial answers (see reduce.h). */
#include "pipeline/analyses/reduce.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* Tokens counted for the blank line between two parts. */
#define JOIN_TOKENS 2

typedef struct level_state {
    cJSON **parts;
    char **texts;
    size_t *tokens;
    size_t n;
} level_state;

static void level_free_texts(level_state *l)
{
    for (size_t i = 0; l->texts && i < l->n; i++)
        free(l->texts[i]);
    free(l->texts);
    free(l->tokens);
    l->texts = NULL;
    l->tokens = NULL;
}

static void level_free(level_state *l)
{
    level_free_texts(l);
    for (size_t i = 0; l->parts && i < l->n; i++)
        cJSON_Delete(l->parts[i]);
    free(l->parts);
    *l = (level_state){0};
}

static char *render_user(const analysis_input *in, const char *tmpl, const char *document, perr *err)
{
    prompt_var vars[] = {{"document", document}, {"title", in->title}};
    return prompt_render_vars(tmpl, vars, 2, err);
}

/* Tokens of the combine prompt around the parts. */
static int combine_overhead(const analysis_input *in, const reduce_spec *spec, size_t *overhead, perr *err)
{
    char *user = render_user(in, spec->tmpl, "", err);
    int rc = user ? structured_prompt_tokens(in, spec->system, user, overhead, err) : -1;
    free(user);
    return rc;
}

/* Tokens of document text one combine call can take (10% margin). */
static int combine_budget(const analysis_input *in, const reduce_spec *spec, size_t *budget, perr *err)
{
    size_t overhead = 0;
    if (combine_overhead(in, spec, &overhead, err) != 0)
        return -1;
    long avail = (long)llm_n_ctx(in->llm) - spec->max_tokens - (long)overhead;
    *budget = avail > 0 ? (size_t)avail * 9 / 10 : 0;
    return 0;
}

/* Does a combine call with answers of m tokens have room for two parts?
 * (the arithmetic of combine_budget and reduce_check_feasible) */
static int two_parts_fit(long n_ctx, long prompt_tokens, long m)
{
    long avail = n_ctx - m - prompt_tokens;
    long room = avail > 0 ? avail * 9 / 10 : 0;
    return room >= 2 * (m + REDUCE_PART_LABEL_TOKENS + JOIN_TOKENS);
}

int reduce_fit_answer(int n_ctx, int max_tokens, size_t combine_prompt_tokens, int map_limit)
{
    /* 0.9 * (n_ctx - prompt - m) >= 2 * (m + label + join), solved for m, then
     * stepped down past integer rounding. */
    double room = 0.9 * ((double)n_ctx - (double)combine_prompt_tokens) -
                  2.0 * (REDUCE_PART_LABEL_TOKENS + JOIN_TOKENS);
    long m = room > 0 ? (long)(room / 2.9) : 0;
    if (max_tokens < m)
        m = max_tokens;
    if (map_limit < m)
        m = map_limit;
    while (m > 0 && !two_parts_fit(n_ctx, (long)combine_prompt_tokens, m))
        m--;
    long least = max_tokens < REDUCE_MIN_ANSWER_TOKENS ? max_tokens : REDUCE_MIN_ANSWER_TOKENS;
    return m > 0 && m >= least ? (int)m : 0;
}

int reduce_answer_budget(const analysis_input *in, const reduce_spec *spec, int map_limit, int *max_tokens,
                         perr *err)
{
    size_t overhead = 0;
    if (combine_overhead(in, spec, &overhead, err) != 0)
        return -1;
    *max_tokens = reduce_fit_answer(llm_n_ctx(in->llm), in->max_tokens, overhead, map_limit);
    if (*max_tokens == 0)
        return perr_set(err, "the context of %d tokens is too small for this analysis: its prompts leave no room for "
                        "answers of %d tokens (raise [engine] ctx_size)", llm_n_ctx(in->llm),
                        REDUCE_MIN_ANSWER_TOKENS);
    return 0;
}

void reduce_trace_budget(const analysis_input *in, analysis_output *out, int used)
{
    if (used >= in->max_tokens)
        return;
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddNumberToObject(extra, "max_tokens", in->max_tokens);
        cJSON_AddNumberToObject(extra, "used", used);
        cJSON_AddNumberToObject(extra, "n_ctx", llm_n_ctx(in->llm));
    }
    structured_trace(out, "budget", "scaled", NULL, extra);
}

int reduce_check_feasible(const analysis_input *in, const reduce_spec *spec, size_t n, perr *err)
{
    size_t budget = 0;
    if (n < 2)
        return 0;
    if (combine_budget(in, spec, &budget, err) != 0)
        return -1;
    size_t part = (size_t)spec->max_tokens + REDUCE_PART_LABEL_TOKENS + JOIN_TOKENS;
    size_t per_call = budget / part;
    if (per_call < 2)
        return perr_set(err, "the context of %d tokens is too small to combine the %zu partial results: a combine "
                        "call has room for %zu tokens, two answers of up to %d tokens need %zu (raise [engine] "
                        "ctx_size or lower max_tokens)", llm_n_ctx(in->llm), n, budget, spec->max_tokens, 2 * part);
    size_t levels = 0;
    for (size_t left = n; left > 1; left = (left + per_call - 1) / per_call)
        levels++;
    if (levels > REDUCE_MAX_LEVELS)
        return perr_set(err, "%zu partial results would need %zu combine levels (at most %d)", n, levels,
                        REDUCE_MAX_LEVELS);
    return 0;
}

static int render_level(const analysis_input *in, const reduce_spec *spec, level_state *l, perr *err)
{
    l->texts = calloc(l->n, sizeof *l->texts);
    l->tokens = calloc(l->n, sizeof *l->tokens);
    if (!l->texts || !l->tokens)
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        if (!(l->texts[i] = spec->render_part(l->parts[i], i + 1, spec->ctx)))
            return perr_set(err, "out of memory");
        if (llm_count_tokens(in->llm, l->texts[i], strlen(l->texts[i]), &l->tokens[i], err) != 0)
            return -1;
    }
    return 0;
}

static char *join_texts(char *const *texts, size_t n)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(texts[i]) + 2;
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            memcpy(out + len, "\n\n", 2);
            len += 2;
        }
        size_t k = strlen(texts[i]);
        memcpy(out + len, texts[i], k);
        len += k;
    }
    out[len] = '\0';
    return out;
}

/* One combine call over parts [i, j) of l. */
static int combine_group(const analysis_input *in, analysis_output *out, const reduce_spec *spec, level_state *l,
                         size_t i, size_t j, cJSON **answer, char **raw, perr *err)
{
    char *joined = join_texts(l->texts + i, j - i);
    char *schema = joined ? spec->schema_for(l->parts + i, j - i, spec->ctx, err) : NULL;
    char *user = schema ? render_user(in, spec->tmpl, joined, err) : NULL;
    int rc;
    if (!joined) {
        rc = perr_set(err, "out of memory");
    } else if (!schema || !user) {
        rc = -1;
    } else {
        structured_call c = {.step = spec->step, .system = spec->system, .user = user, .schema_json = schema,
                             .max_tokens = spec->max_tokens, .sampling = spec->sampling, .check = spec->check,
                             .check_ctx = spec->ctx, .items = (long)(j - i)};
        rc = salvage_run(in, out, &c, spec->repair, spec->ctx, answer, raw, err);
        if (rc == STRUCTURED_TOO_LONG)
            rc = perr_prefix(err, "the combine prompt came out longer than counted");
    }
    free(joined);
    free(schema);
    free(user);
    return rc;
}

/* Pack l's parts into groups that fit budget and combine each group of two
 * or more; *next receives the new parts. */
static int reduce_level(const analysis_input *in, analysis_output *out, const reduce_spec *spec, level_state *l,
                        size_t budget, int level, level_state *next, char **raw, perr *err)
{
    if (!(next->parts = calloc(l->n, sizeof *next->parts)))
        return perr_set(err, "out of memory");
    int joined_any = 0;
    for (size_t i = 0; i < l->n;) {
        size_t j = i + 1, sum = l->tokens[i];
        while (j < l->n && sum + JOIN_TOKENS + l->tokens[j] <= budget)
            sum += JOIN_TOKENS + l->tokens[j++];
        if (j - i == 1) {
            next->parts[next->n++] = l->parts[i];
            l->parts[i] = NULL;
            i = j;
            continue;
        }
        cJSON *answer = NULL;
        free(*raw);
        *raw = NULL;
        int rc = combine_group(in, out, spec, l, i, j, &answer, raw, err);
        if (rc != 0)
            return rc == LLM_CANCELLED ? rc : perr_prefix(err, "combining parts %zu-%zu of %zu at level %d", i + 1, j,
                                                          l->n, level);
        next->parts[next->n++] = answer;
        joined_any = 1;
        i = j;
    }
    if (!joined_any)
        return perr_set(err, "the context is too small to combine the %zu partial results (%zu tokens of room per "
                        "call; raise [engine] ctx_size or lower max_tokens)", l->n, budget);
    return 0;
}

int reduce_run(const analysis_input *in, analysis_output *out, const reduce_spec *spec, cJSON **parts, size_t n,
               cJSON **result, char **raw, perr *err)
{
    *result = NULL;
    char *last_raw = NULL;
    level_state cur = {.parts = calloc(n ? n : 1, sizeof *cur.parts), .n = n};
    if (!cur.parts) {
        for (size_t i = 0; i < n; i++)
            cJSON_Delete(parts[i]);
        return perr_set(err, "out of memory");
    }
    memcpy(cur.parts, parts, n * sizeof *parts);
    size_t budget = 0;
    int rc = n > 1 ? combine_budget(in, spec, &budget, err) : 0;
    for (int level = 1; rc == 0 && cur.n > 1; level++) {
        if (level > REDUCE_MAX_LEVELS) {
            rc = perr_set(err, "%zu partial results are left after %d levels", cur.n, REDUCE_MAX_LEVELS);
            break;
        }
        level_state next = {0};
        rc = render_level(in, spec, &cur, err);
        if (rc == 0)
            rc = reduce_level(in, out, spec, &cur, budget, level, &next, &last_raw, err);
        level_free(&cur);
        cur = next;
        out->levels = level;
    }
    if (rc == 0 && cur.n == 1) {
        *result = cur.parts[0];
        cur.parts[0] = NULL;
    }
    level_free(&cur);
    if (rc == 0 && raw)
        *raw = last_raw;
    else
        free(last_raw);
    return rc;
}
