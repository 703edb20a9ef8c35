/* reduce.c — level-by-level combining of partial answers (see reduce.h). */
#include "pipeline/reduce.h"

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

/* Tokens of document text one combine call can take (10% margin). */
static int combine_budget(const analysis_input *in, const reduce_spec *spec, size_t *budget, perr *err)
{
    char *user = render_user(in, spec->tmpl, "", err);
    size_t overhead = 0;
    int rc = user ? structured_prompt_tokens(in, spec->system, user, &overhead, err) : -1;
    free(user);
    if (rc != 0)
        return -1;
    long avail = (long)llm_n_ctx(in->llm) - spec->max_tokens - (long)overhead;
    *budget = avail > 0 ? (size_t)avail * 9 / 10 : 0;
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
