/* consultation_themes.c — steps 2-4: candidate themes from batches of
 * responses, condensed round after round until at most max_themes remain,
 * then refined into short labels and one-sentence descriptions with ids
 * A, B, C... */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "pipeline/consultation/consultation_internal.h"

/* Candidate themes one batch of responses may yield. */
#define THEMES_PER_BATCH 5
/* Condensation rounds before the remaining themes are cut (never reached
 * in practice: each round at least halves every group). */
#define CONDENSE_MAX_ROUNDS 8
/* Bytes of the shortest refined theme: {"label":"x","description":"x"}, plus slack. */
#define REFINED_MIN_BYTES 40

/* ---- theme lists ------------------------------------------------------------ */

int theme_list_add(theme_list *l, const char *label, const char *description, const char *position)
{
    cand_theme *grown = grow_to(l->items, &l->cap, l->n + 1, sizeof *grown, 16);
    if (!grown)
        return -1;
    l->items = grown;
    cand_theme *t = &l->items[l->n];
    *t = (cand_theme){.label = strdup(label), .description = strdup(description)};
    snprintf(t->position, sizeof t->position, "%s", position ? position : "");
    if (!t->label || !t->description) {
        free(t->label);
        free(t->description);
        return -1;
    }
    l->n++;
    return 0;
}

void theme_list_clear(theme_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].label);
        free(l->items[i].description);
    }
    free(l->items);
    *l = (theme_list){0};
}

/* Room for one theme's line: labels and descriptions are capped in characters. */
#define THEME_LINE_MAX (CONSULTATION_LABEL_MAX * 4 + CONSULTATION_DESCRIPTION_MAX * 4 + 64)

static size_t theme_line(char *out, size_t cap, size_t number, const cand_theme *t)
{
    return (size_t)snprintf(out, cap, "%zu. %s: %s%s%s%s\n", number, t->label, t->description, *t->position ? " (" : "",
                            t->position, *t->position ? ")" : "");
}

char *theme_list_render(const theme_list *l, size_t from, size_t to)
{
    prompt_text text = {0};
    for (size_t i = from; i < to; i++) {
        char line[THEME_LINE_MAX];
        theme_line(line, sizeof line, i - from + 1, &l->items[i]);
        prompt_text_add(&text, "%s", line);
    }
    return prompt_text_finish(&text);
}

/* {"type":"object","properties":{"themes":{"type":"array","minItems":lo,"maxItems":hi,"items":{...}}},...}
 * with labels of at most label_max characters; position only when with_position. */
static char *themes_schema(size_t lo, size_t hi, int label_max, int with_position)
{
    char position[160] = "";
    if (with_position)
        snprintf(position, sizeof position, ",\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]}");
    char *text = malloc(1024);
    if (text)
        snprintf(text, 1024,
                 "{\"type\":\"object\",\"properties\":{\"themes\":{\"type\":\"array\",\"minItems\":%zu,\"maxItems\":%zu,"
                 "\"items\":{\"type\":\"object\",\"properties\":{"
                 "\"label\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":%d},"
                 "\"description\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":%d}%s},"
                 "\"required\":[\"label\",\"description\"%s],\"additionalProperties\":false}}},"
                 "\"required\":[\"themes\"],\"additionalProperties\":false}",
                 lo, hi, label_max, CONSULTATION_DESCRIPTION_MAX, position, with_position ? ",\"position\"" : "");
    return text;
}

/* Append the "themes" of an answer to l. */
static int keep_themes(theme_list *l, const cJSON *answer, perr *err)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(answer, "themes"))
    {
        if (theme_list_add(l, structured_string(t, "label"), structured_string(t, "description"), structured_string(t, "position")) != 0)
            return perr_set(err, "out of memory");
    }
    return 0;
}

/* ---- 2. generation ------------------------------------------------------------ */

static char *generate_schema(batch_step *bs, const ladder_item *items, size_t n, perr *err)
{
    (void)bs, (void)items, (void)n;
    char *schema = themes_schema(1, THEMES_PER_BATCH, CONSULTATION_LABEL_MAX, 1);
    if (!schema)
        perr_set(err, "out of memory");
    return schema;
}

static int generate_accept(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer, perr *err)
{
    (void)items, (void)n;
    return keep_themes(&bs->cx->candidates, answer, err);
}

/* A response that yields no candidate themes is still mapped later; the
 * ladder's trace record is all that is needed. */
static int generate_give_up(void *ctx, const ladder_item *item, const char *reason, perr *err)
{
    (void)ctx, (void)item, (void)reason, (void)err;
    return 0;
}

int consult_generate_themes(consult_ctx *cx, perr *err)
{
    const prompt_step *ps = prompt_find_step(cx->in->prompt, "themes");
    batch_step bs = {.cx = cx, .name = cx->proposing ? "propose:themes" : "themes", .ps = ps, .answer_base = (size_t)ps->max_tokens,
                     .schema_for = generate_schema, .accept = generate_accept, .give_up = generate_give_up};
    int rc = batch_step_run(&bs, err);
    cx->res->n_candidates = cx->candidates.n;
    return rc;
}

/* ---- shared by condense and refine: one call over a group of themes ---------------- */

typedef struct group_call {
    consult_ctx *cx;
    const prompt_step *ps;
    const char *name;
} group_call;

/* Render the step for themes [from, to) of l and run it with schema. */
static int run_group(const group_call *g, const theme_list *l, size_t from, size_t to, const char *schema,
                     cJSON **answer, perr *err)
{
    char *themes = theme_list_render(l, from, to);
    if (!themes)
        return perr_set(err, "out of memory");
    prompt_var vars[] = {{"question", g->cx->question}, {"themes", themes}};
    char *user = prompt_render_vars(g->ps->user, vars, 2, err);
    free(themes);
    if (!user)
        return -1;
    structured_call c = {.step = g->name, .system = g->ps->system, .user = user, .schema_json = schema,
                         .max_tokens = g->ps->max_tokens, .sampling = &g->cx->in->prompt->sampling,
                         .items = (long)(to - from)};
    int rc = structured_run(g->cx->in, &g->cx->res->out, &c, answer, NULL, err);
    free(user);
    return rc;
}

/* Token cost of each theme line and the room for them in one call. */
static int group_budget(const group_call *g, const theme_list *l, size_t *costs, size_t *avail, perr *err)
{
    prompt_var vars[] = {{"question", g->cx->question}, {"themes", ""}};
    char *user = prompt_render_vars(g->ps->user, vars, 2, err);
    size_t overhead = 0;
    int rc = user ? structured_prompt_tokens(g->cx->in, g->ps->system, user, &overhead, err) : -1;
    free(user);
    if (rc != 0)
        return -1;
    long room = (long)llm_n_ctx(g->cx->in->llm) - (long)overhead - CONSULT_RETRY_RESERVE - g->ps->max_tokens - 8;
    if (room < 64)
        return perr_set(err, "step %s: the prompt and max_tokens leave no room for themes in the context of %d tokens",
                        g->name, llm_n_ctx(g->cx->in->llm));
    *avail = (size_t)room;
    for (size_t i = 0; i < l->n; i++) {
        char line[THEME_LINE_MAX];
        size_t len = theme_line(line, sizeof line, i + 1, &l->items[i]);
        if (llm_count_tokens(g->cx->in->llm, line, len < sizeof line ? len : sizeof line - 1, &costs[i], err) != 0)
            return -1;
        costs[i] += 2;
    }
    return 0;
}

static void trace_fallback(consult_ctx *cx, const char *step, const char *why, size_t kept, size_t of)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddNumberToObject(extra, "kept", (double)kept);
        cJSON_AddNumberToObject(extra, "of", (double)of);
    }
    structured_trace(&cx->res->out, step, "fallback", why, extra);
}

/* Copy themes [from, to) of l to out unchanged. */
static int copy_themes(theme_list *out, const theme_list *l, size_t from, size_t to, perr *err)
{
    for (size_t i = from; i < to; i++)
        if (theme_list_add(out, l->items[i].label, l->items[i].description, l->items[i].position) != 0)
            return perr_set(err, "out of memory");
    return 0;
}

/* ---- 3. condensation ------------------------------------------------------------ */

/* Merge themes [from, to) into at most target themes appended to out. */
static int condense_group(const group_call *g, const theme_list *l, size_t from, size_t to, size_t target,
                          theme_list *out, perr *err)
{
    if (to - from <= 1)
        return copy_themes(out, l, from, to, err);
    char *schema = themes_schema(1, target, CONSULTATION_LABEL_MAX, 1);
    if (!schema)
        return perr_set(err, "out of memory");
    cJSON *answer = NULL;
    int rc = run_group(g, l, from, to, schema, &answer, err);
    free(schema);
    if (rc == 0)
        rc = keep_themes(out, answer, err);
    cJSON_Delete(answer);
    if (rc == STRUCTURED_INVALID || rc == STRUCTURED_TOO_LONG) {
        trace_fallback(g->cx, g->name, err->msg, target, to - from);
        rc = copy_themes(out, l, from, from + target, err);
    }
    return rc;
}

/* One round: every group that fits a call merged to at most half its size
 * (or to max_themes when all fit one call). */
static int condense_round(const group_call *g, theme_list *l, perr *err)
{
    size_t *costs = calloc(l->n, sizeof *costs), *ends = NULL, n_groups = 0, avail = 0;
    if (!costs)
        return perr_set(err, "out of memory");
    int rc = group_budget(g, l, costs, &avail, err);
    if (rc == 0)
        rc = ladder_plan(costs, l->n, avail, 0, &ends, &n_groups, err);
    free(costs);
    theme_list out = {0};
    size_t max_themes = (size_t)g->cx->max_themes;
    for (size_t k = 0, from = 0; rc == 0 && k < n_groups; from = ends[k++]) {
        size_t size = ends[k] - from;
        size_t target = n_groups == 1 ? (size < max_themes ? size : max_themes) : (size + 1) / 2;
        rc = condense_group(g, l, from, ends[k], target ? target : 1, &out, err);
    }
    free(ends);
    if (rc != 0) {
        theme_list_clear(&out);
        return rc;
    }
    theme_list_clear(l);
    *l = out;
    return 0;
}

int consult_condense(consult_ctx *cx, perr *err)
{
    group_call g = {.cx = cx, .ps = prompt_find_step(cx->in->prompt, "condense"),
                    .name = cx->proposing ? "propose:condense" : "condense"};
    theme_list *l = &cx->candidates;
    for (int round = 1; l->n > 1 && (round == 1 || l->n > (size_t)cx->max_themes); round++) {
        if (round > CONDENSE_MAX_ROUNDS) {
            trace_fallback(cx, g.name, "too many condensation rounds; the first themes are kept",
                           (size_t)cx->max_themes, l->n);
            break;
        }
        size_t before = l->n;
        int rc = condense_round(&g, l, err);
        if (rc != 0)
            return rc;
        if (l->n >= before && l->n > (size_t)cx->max_themes) {
            trace_fallback(cx, g.name, "condensation made no progress; the first themes are kept",
                           (size_t)cx->max_themes, l->n);
            break;
        }
    }
    while (l->n > (size_t)cx->max_themes) {
        l->n--;
        free(l->items[l->n].label);
        free(l->items[l->n].description);
    }
    return 0;
}

/* ---- 4. refinement --------------------------------------------------------------- */

/* Refine themes [from, to) of l in place (unchanged when the call fails). */
static int refine_group(const group_call *g, theme_list *l, size_t from, size_t to, perr *err)
{
    size_t n = to - from;
    char *schema = themes_schema(n, n, CONSULTATION_REFINED_LABEL_MAX, 0);
    if (!schema)
        return perr_set(err, "out of memory");
    cJSON *answer = NULL;
    int rc = run_group(g, l, from, to, schema, &answer, err);
    free(schema);
    if (rc == STRUCTURED_INVALID || rc == STRUCTURED_TOO_LONG) {
        trace_fallback(g->cx, g->name, err->msg, n, n);
        return 0;
    }
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(answer, "themes");
    t = t ? t->child : NULL;
    for (size_t i = from; rc == 0 && t && i < to; i++, t = t->next) {
        char *label = strdup(structured_string(t, "label")), *description = strdup(structured_string(t, "description"));
        if (!label || !description) {
            free(label);
            free(description);
            rc = perr_set(err, "out of memory");
            break;
        }
        free(l->items[i].label);
        free(l->items[i].description);
        l->items[i].label = label;
        l->items[i].description = description;
    }
    cJSON_Delete(answer);
    return rc;
}

/* The refined list becomes res->themes with ids A, B, C... */
static int publish_themes(consult_ctx *cx, perr *err)
{
    const theme_list *l = &cx->candidates;
    consultation_result *res = cx->res;
    if (l->n == 0)
        return 0;
    if (!(res->themes = calloc(l->n, sizeof *res->themes)))
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        consultation_theme *t = &res->themes[i];
        t->id[0] = (char)('A' + i);
        t->label = strdup(l->items[i].label);
        t->description = strdup(l->items[i].description);
        memcpy(t->position, l->items[i].position, sizeof t->position);
        res->n_themes++;
        if (!t->label || !t->description)
            return perr_set(err, "out of memory");
    }
    return 0;
}

int consult_refine(consult_ctx *cx, perr *err)
{
    group_call g = {.cx = cx, .ps = prompt_find_step(cx->in->prompt, "refine"), .name = "refine"};
    theme_list *l = &cx->candidates;
    size_t *costs = calloc(l->n ? l->n : 1, sizeof *costs), *ends = NULL, n_groups = 0, avail = 0;
    int rc = costs ? 0 : perr_set(err, "out of memory");
    if (rc == 0 && l->n > 0)
        rc = group_budget(&g, l, costs, &avail, err);
    /* Each refined theme needs at least REFINED_MIN_BYTES of answer, so a
     * group's shortest answer always fits the step's max_tokens. */
    size_t most = g.ps->max_tokens > 2 * REFINED_MIN_BYTES ? (size_t)g.ps->max_tokens / REFINED_MIN_BYTES - 1 : 1;
    if (rc == 0)
        rc = ladder_plan(costs, l->n, avail, most, &ends, &n_groups, err);
    for (size_t k = 0, from = 0; rc == 0 && k < n_groups; from = ends[k++])
        rc = refine_group(&g, l, from, ends[k], err);
    free(costs);
    free(ends);
    return rc == 0 ? publish_themes(cx, err) : rc;
}
