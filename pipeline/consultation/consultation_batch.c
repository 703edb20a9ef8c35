/* consultation_batch.c — a consultation step over batches of responses:
 * token budgets, truncation of a response too long for any batch, batch
 * planning and the ladder (see consultation_internal.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_internal.h"

/* "[ID] text\n" for the {{responses}} block. */
static char *item_line(const ladder_item *it)
{
    size_t len = strlen(it->id) + strlen(it->text) + 8;
    char *line = malloc(len);
    if (line)
        snprintf(line, len, "[%s] %s\n", it->id, it->text);
    return line;
}

char *batch_render_user(const batch_step *bs, const ladder_item *items, size_t n, perr *err)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(items[i].id) + strlen(items[i].text) + 8;
    char *block = malloc(total);
    if (!block) {
        perr_set(err, "out of memory");
        return NULL;
    }
    size_t len = 0;
    block[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(block + len, total - len, "[%s] %s\n", items[i].id, items[i].text);
    prompt_var vars[] = {{"question", bs->cx->question}, {"responses", block}, {"themes", bs->themes_text}};
    char *user = prompt_render_vars(bs->ps->user, vars, bs->themes_text ? 3 : 2, err);
    free(block);
    return user;
}

size_t batch_index(const batch_step *bs, const ladder_item *item)
{
    return bs->index[item - bs->items];
}

int batch_max_tokens(const batch_step *bs, const ladder_item *items, size_t n)
{
    size_t total = bs->answer_base;
    for (size_t i = 0; bs->answer_bytes_per_item && i < n; i++)
        total += bs->answer_bytes_per_item + strlen(items[i].id);
    return total > PROMPT_MAX_TOKENS_LIMIT ? PROMPT_MAX_TOKENS_LIMIT : (int)total;
}

char *batch_keyed_schema(const ladder_item *items, size_t n, const cJSON *item_schema, perr *err)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *props = s ? cJSON_AddObjectToObject(s, "properties") : NULL;
    cJSON *req = s ? cJSON_AddArrayToObject(s, "required") : NULL;
    int ok = s && props && req && cJSON_AddStringToObject(s, "type", "object") &&
             cJSON_AddFalseToObject(s, "additionalProperties");
    for (size_t i = 0; ok && i < n; i++) {
        cJSON *copy = cJSON_Duplicate(item_schema, 1);
        ok = copy && cJSON_AddItemToObject(props, items[i].id, copy) &&
             cJSON_AddItemToArray(req, cJSON_CreateString(items[i].id));
    }
    char *text = ok ? cJSON_PrintUnformatted(s) : NULL;
    cJSON_Delete(s);
    if (!text)
        perr_set(err, "out of memory");
    return text;
}

int batch_check_keys(const cJSON *answer, void *ctx, perr *err)
{
    const batch_check *bc = ctx;
    if (!cJSON_IsObject(answer))
        return perr_set(err, "the answer must be an object keyed by response id");
    for (const cJSON *m = answer->child; m; m = m->next) {
        size_t i = 0;
        while (i < bc->n && strcmp(bc->items[i].id, m->string) != 0)
            i++;
        if (i == bc->n)
            return perr_set(err, "\"%.60s\" is not one of the response ids given", m->string);
        for (const cJSON *p = answer->child; p != m; p = p->next)
            if (strcmp(p->string, m->string) == 0)
                return perr_set(err, "response %.60s is answered twice; answer each response exactly once", m->string);
    }
    for (size_t i = 0; i < bc->n; i++)
        if (!cJSON_GetObjectItemCaseSensitive(answer, bc->items[i].id))
            return perr_set(err, "response %.60s is missing; answer every response exactly once", bc->items[i].id);
    return 0;
}

/* Tokens of the prompt without any response. */
static int step_overhead(const batch_step *bs, size_t *n, perr *err)
{
    char *user = batch_render_user(bs, NULL, 0, err);
    if (!user)
        return -1;
    int rc = structured_prompt_tokens(bs->cx->in, bs->ps->system, user, n, err);
    free(user);
    return rc;
}

static void trace_truncated(consult_ctx *cx, const char *step, const char *id, size_t had, size_t kept)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra) {
        cJSON_AddStringToObject(extra, "id", id);
        cJSON_AddNumberToObject(extra, "tokens", (double)had);
        cJSON_AddNumberToObject(extra, "kept_tokens", (double)kept);
    }
    structured_trace(&cx->res->out, step, "truncated", "the response alone does not fit the context", extra);
}

/* Cut response text to its first keep tokens (malloc'd in *out). */
static int truncate_text(const consult_ctx *cx, const char *text, size_t keep, char **out, perr *err)
{
    char **pieces = NULL;
    size_t n = 0;
    if (llm_token_pieces(cx->in->llm, text, strlen(text), keep, &pieces, &n, err) != 0)
        return -1;
    *out = n > 0 ? pieces[0] : strdup("");
    for (size_t i = 1; i < n; i++)
        free(pieces[i]);
    free(pieces);
    return *out ? 0 : perr_set(err, "out of memory");
}

/* Cost in tokens of each item; truncates an item too long for avail. */
static int item_costs(batch_step *bs, size_t avail, size_t *costs, char **owned, perr *err)
{
    consult_ctx *cx = bs->cx;
    for (size_t i = 0; i < bs->n; i++) {
        ladder_item *it = &bs->items[i];
        char *line = item_line(it);
        size_t tokens = 0;
        int rc = line ? llm_count_tokens(cx->in->llm, line, strlen(line), &tokens, err) : perr_set(err, "out of memory");
        free(line);
        if (rc != 0)
            return -1;
        size_t answer = bs->answer_bytes_per_item ? bs->answer_bytes_per_item + strlen(it->id) : 0;
        costs[i] = tokens + 2 + answer;
        if (costs[i] <= avail)
            continue;
        size_t id_tokens = strlen(it->id) + 4;
        if (avail < answer + id_tokens + 16)
            return perr_set(err, "step %s: the context is too small for even one response", bs->name);
        size_t keep = avail - answer - id_tokens - 8;
        if (truncate_text(cx, it->text, keep, &owned[i], err) != 0)
            return -1;
        trace_truncated(cx, bs->name, it->id, tokens, keep);
        cx->res->annotations[bs->index[i]].truncated = 1;
        it->text = owned[i];
        costs[i] = avail;
    }
    return 0;
}

/* The non-empty responses as ladder items. */
static int collect_items(batch_step *bs, perr *err)
{
    const response_set *rs = bs->cx->rs;
    bs->items = calloc(rs->n ? rs->n : 1, sizeof *bs->items);
    bs->index = calloc(rs->n ? rs->n : 1, sizeof *bs->index);
    if (!bs->items || !bs->index)
        return perr_set(err, "out of memory");
    bs->n = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (strspn(rs->items[i].text, " \t\r\n") == strlen(rs->items[i].text))
            continue;
        bs->items[bs->n] = (ladder_item){.id = rs->items[i].id, .text = rs->items[i].text};
        bs->index[bs->n++] = i;
    }
    return 0;
}

static void free_calls(structured_call *calls, cJSON **answers, size_t k)
{
    for (size_t j = 0; calls && j < k; j++) {
        free((char *)calls[j].user);
        free((char *)calls[j].schema_json);
    }
    for (size_t j = 0; answers && j < k; j++)
        cJSON_Delete(answers[j]);
    free(calls);
    free(answers);
}

int batch_give_up(void *ctx, const ladder_item *item, const char *reason, perr *err)
{
    batch_step *bs = ctx;
    return consult_unprocessable(bs->cx, batch_index(bs, item), bs->name, reason, err);
}

static char *batch_schema(batch_step *bs, const ladder_item *items, size_t n, perr *err)
{
    if (!bs->item_schema)
        return bs->schema_for(bs, items, n, err);
    cJSON *item = bs->item_schema(bs);
    if (!item) {
        perr_set(err, "out of memory");
        return NULL;
    }
    char *schema = batch_keyed_schema(items, n, item, err);
    cJSON_Delete(item);
    return schema;
}

static int prepare_call(batch_step *bs, const ladder_item *items, size_t n, batch_check *check, structured_call *c,
                        perr *err)
{
    char *schema = batch_schema(bs, items, n, err);
    char *user = schema ? batch_render_user(bs, items, n, err) : NULL;
    if (!user) {
        free(schema);
        return -1;
    }
    *check = (batch_check){.items = items, .n = n};
    *c = (structured_call){.step = bs->name, .system = bs->ps->system, .user = user, .schema_json = schema,
                           .max_tokens = batch_max_tokens(bs, items, n), .sampling = &bs->cx->in->prompt->sampling,
                           .check = bs->item_schema ? batch_check_keys : NULL, .check_ctx = check,
                           .items = (long)n};
    return 0;
}

/* ladder_call_many_fn: k batches in one structured_run_many. */
static int batch_call_many(void *ctx, const ladder_item *const *batches, const size_t *ns, size_t k, int *rcs,
                           perr *errs, perr *err)
{
    batch_step *bs = ctx;
    structured_call *calls = calloc(k, sizeof *calls);
    batch_check *checks = calloc(k, sizeof *checks);
    cJSON **answers = calloc(k, sizeof *answers);
    int rc = calls && checks && answers ? 0 : perr_set(err, "out of memory");
    for (size_t j = 0; rc == 0 && j < k; j++)
        rc = prepare_call(bs, batches[j], ns[j], &checks[j], &calls[j], err);
    if (rc == 0)
        rc = structured_run_many(bs->cx->in, &bs->cx->res->out, calls, k, answers, NULL, rcs, errs, err);
    for (size_t j = 0; rc == 0 && j < k; j++)
        if (rcs[j] == 0 && bs->accept(bs, batches[j], ns[j], answers[j], &errs[j]) != 0)
            rcs[j] = -1;
    free_calls(calls, answers, k);
    free(checks);
    return rc;
}

static int run_batches(batch_step *bs, size_t avail, perr *err)
{
    size_t *costs = calloc(bs->n ? bs->n : 1, sizeof *costs);
    char **owned = calloc(bs->n ? bs->n : 1, sizeof *owned);
    size_t *ends = NULL, n_batches = 0;
    int rc = costs && owned ? 0 : perr_set(err, "out of memory");
    if (rc == 0)
        rc = item_costs(bs, avail, costs, owned, err);
    if (rc == 0)
        rc = ladder_plan(costs, bs->n, avail, (size_t)bs->cx->batch_size, &ends, &n_batches, err);
    ladder l = {.step = bs->name, .call_many = batch_call_many, .give_up = bs->give_up, .ctx = bs,
                .out = &bs->cx->res->out};
    if (rc == 0)
        rc = ladder_run_all(&l, bs->items, ends, n_batches, err);
    for (size_t i = 0; owned && i < bs->n; i++)
        free(owned[i]);
    free(owned);
    free(costs);
    free(ends);
    return rc;
}

int batch_step_run(batch_step *bs, perr *err)
{
    size_t overhead = 0;
    int rc = collect_items(bs, err);
    if (rc == 0)
        rc = step_overhead(bs, &overhead, err);
    long avail = 0;
    if (rc == 0) {
        avail = (long)llm_n_ctx(bs->cx->in->llm) - (long)overhead - CONSULT_RETRY_RESERVE - (long)bs->answer_base - 8;
        if (avail < 64)
            rc = perr_set(err, "step %s: the prompt (%zu tokens) leaves no room for responses in the context of %d "
                          "tokens", bs->name, overhead, llm_n_ctx(bs->cx->in->llm));
    }
    if (rc == 0 && bs->n > 0)
        rc = run_batches(bs, (size_t)avail, err);
    free(bs->items);
    free(bs->index);
    bs->items = NULL;
    bs->index = NULL;
    return rc;
}

int consult_unprocessable(consult_ctx *cx, size_t i, const char *step, const char *reason, perr *err)
{
    consultation_annotation *a = &cx->res->annotations[i];
    size_t old = a->reason ? strlen(a->reason) : 0;
    size_t len = old + strlen(step) + strlen(reason) + 5;
    char *grown = realloc(a->reason, len);
    if (!grown)
        return perr_set(err, "out of memory");
    snprintf(grown + old, len - old, "%s%s: %s", old ? "; " : "", step, reason);
    a->reason = grown;
    if (!a->unprocessable)
        cx->res->n_unprocessable++;
    a->unprocessable = 1;
    return 0;
}
