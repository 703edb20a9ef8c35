/* collection_digest.c — the "digest" analysis: token-budgeted batches of
 * document summaries, a themed digest of each, partial digests combined
 * level by level (see collection_digest.h). */
#include "pipeline/digest/collection_digest.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "pipeline/llm/structured.h"

/* Tokens counted for the blank line between two entries of a batch. */
#define ENTRY_JOIN_TOKENS 2

/* Tokens kept free for the difference between counting entries one by one
 * and tokenizing the whole prompt (10%). */
#define BUDGET_MARGIN_PERCENT 90
/* Fewest summary tokens worth sending when a summary must be cut. */
#define MIN_SUMMARY_TOKENS 16

typedef struct part_list {
    cJSON **items;       /* partial digests {"title", "overview", "themes"} */
    size_t n, cap;
} part_list;

typedef struct digest_run {
    const analysis_input *in;
    const digest_request *req;
    analysis_output *out;
    const prompt_step *batch, *combine;
    int max_tokens;
    char **entries;              /* per document: its text for "batch" (NULL: no summary) */
    size_t *entry_tokens;
    unsigned char *unprocessable;
} digest_run;

/* ---- schema per call ------------------------------------------------------------ */

/* themes.items.properties.documents of a schema, NULL when absent. */
static cJSON *documents_schema(cJSON *schema)
{
    cJSON *props = cJSON_GetObjectItemCaseSensitive(schema, "properties");
    cJSON *themes = cJSON_GetObjectItemCaseSensitive(props, "themes");
    cJSON *items = cJSON_GetObjectItemCaseSensitive(themes, "items");
    cJSON *iprops = cJSON_GetObjectItemCaseSensitive(items, "properties");
    cJSON *docs = cJSON_GetObjectItemCaseSensitive(iprops, "documents");
    return cJSON_IsObject(docs) ? docs : NULL;
}

char *digest_call_schema(const char *step_schema_json, const int64_t *ids, size_t n_ids, perr *err)
{
    cJSON *schema = cJSON_Parse(step_schema_json);
    cJSON *docs = documents_schema(schema);
    if (!docs || n_ids == 0) {
        cJSON_Delete(schema);
        perr_set(err, docs ? "no document ids to cite" : "the schema has no themes[].documents");
        return NULL;
    }
    cJSON *items = cJSON_CreateObject();
    cJSON *choices = items ? cJSON_AddArrayToObject(items, "enum") : NULL;
    for (size_t i = 0; choices && i < n_ids; i++)
        cJSON_AddItemToArray(choices, cJSON_CreateNumber((double)ids[i]));
    cJSON_DeleteItemFromObjectCaseSensitive(docs, "items");
    cJSON_DeleteItemFromObjectCaseSensitive(docs, "minItems");
    cJSON_DeleteItemFromObjectCaseSensitive(docs, "maxItems");
    cJSON_DeleteItemFromObjectCaseSensitive(docs, "type");
    cJSON_AddStringToObject(docs, "type", "array");
    cJSON_AddItemToObject(docs, "items", items);
    cJSON_AddNumberToObject(docs, "minItems", 1);
    cJSON_AddNumberToObject(docs, "maxItems", (double)n_ids);
    char *text = choices ? cJSON_PrintUnformatted(schema) : NULL;
    cJSON_Delete(schema);
    if (!text)
        perr_set(err, "out of memory");
    return text;
}

int analysis_digest_check(const prompt_spec *p, perr *err)
{
    static const struct {
        const char *step, *placeholder;
    } rules[] = {{"batch", "summaries"}, {"combine", "themes"}};
    for (size_t i = 0; i < 2; i++) {
        const prompt_step *st = prompt_find_step(p, rules[i].step);
        if (!st)
            return perr_set(err, "prompt \"%s\" needs a step \"%s\"", p->name, rules[i].step);
        if (prompt_require(p, rules[i].step, st->user, rules[i].placeholder, err) != 0)
            return -1;
        cJSON *schema = st->schema_json ? cJSON_Parse(st->schema_json) : NULL;
        int ok = documents_schema(schema) != NULL;
        cJSON_Delete(schema);
        if (!ok)
            return perr_set(err, "prompt \"%s\": step \"%s\" needs a \"schema\" with themes[].documents", p->name,
                            rules[i].step);
    }
    return 0;
}

/* ---- parts ------------------------------------------------------------------------ */

static int parts_add(part_list *l, cJSON *answer, perr *err)
{
    cJSON **grown = grow_to(l->items, &l->cap, l->n + 1, sizeof *grown, 8);
    if (!grown) {
        cJSON_Delete(answer);
        return perr_set(err, "out of memory");
    }
    l->items = grown;
    l->items[l->n++] = answer;
    return 0;
}

static void parts_clear(part_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        cJSON_Delete(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

/* Drop repeated ids inside each theme's documents (the schema allows them). */
static void dedupe_citations(cJSON *answer)
{
    cJSON *theme;
    cJSON_ArrayForEach(theme, cJSON_GetObjectItemCaseSensitive(answer, "themes"))
    {
        cJSON *docs = cJSON_GetObjectItemCaseSensitive(theme, "documents");
        for (cJSON *a = docs ? docs->child : NULL; a; a = a->next)
            for (cJSON *b = a->next; b;) {
                cJSON *next = b->next;
                if (b->valuedouble == a->valuedouble)
                    cJSON_Delete(cJSON_DetachItemViaPointer(docs, b));
                b = next;
            }
    }
}

/* Ids cited anywhere in parts[0..n) (unique, in order of appearance). */
static int cited_ids(cJSON *const *parts, size_t n, int64_t **ids, size_t *n_ids, perr *err)
{
    size_t cap = 16;
    *n_ids = 0;
    if (!(*ids = malloc(cap * sizeof **ids)))
        return perr_set(err, "out of memory");
    for (size_t p = 0; p < n; p++) {
        cJSON *theme;
        cJSON_ArrayForEach(theme, cJSON_GetObjectItemCaseSensitive(parts[p], "themes"))
        {
            cJSON *id;
            cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(theme, "documents"))
            {
                int64_t v = (int64_t)id->valuedouble;
                size_t k = 0;
                while (k < *n_ids && (*ids)[k] != v)
                    k++;
                if (k < *n_ids)
                    continue;
                if (*n_ids == cap) {
                    int64_t *grown = realloc(*ids, (cap *= 2) * sizeof *grown);
                    if (!grown)
                        return free(*ids), *ids = NULL, perr_set(err, "out of memory");
                    *ids = grown;
                }
                (*ids)[(*n_ids)++] = v;
            }
        }
    }
    return 0;
}

/* ---- prompts ---------------------------------------------------------------------- */

static int render_step(const digest_run *r, const prompt_step *st, const char *var, const char *text,
                       char **system, char **user, perr *err)
{
    prompt_var vars[] = {{"collection", r->req->collection}, {"period", r->req->period}, {var, text}};
    *user = NULL;
    if (!(*system = prompt_render_vars(st->system, vars, 3, err)))
        return -1;
    if (!(*user = prompt_render_vars(st->user, vars, 3, err))) {
        free(*system);
        *system = NULL;
        return -1;
    }
    return 0;
}

/* Tokens one call of st has for its {{var}} text. */
static int step_budget(const digest_run *r, const prompt_step *st, const char *var, size_t *budget, perr *err)
{
    char *system, *user;
    size_t overhead = 0;
    if (render_step(r, st, var, "", &system, &user, err) != 0)
        return -1;
    int rc = structured_prompt_tokens(r->in, system, user, &overhead, err);
    free(system);
    free(user);
    if (rc != 0)
        return -1;
    long avail = (long)llm_n_ctx(r->in->llm) - r->max_tokens - (long)overhead;
    *budget = avail > 0 ? (size_t)avail * BUDGET_MARGIN_PERCENT / 100 : 0;
    return 0;
}

/* One structured call of step st over text, citing ids. */
static int call_step(digest_run *r, const prompt_step *st, const char *var, const char *text, const int64_t *ids,
                     size_t n_ids, cJSON **answer, perr *err)
{
    char *schema = digest_call_schema(st->schema_json, ids, n_ids, err);
    char *system = NULL, *user = NULL;
    int rc = schema ? render_step(r, st, var, text, &system, &user, err) : -1;
    if (rc == 0) {
        structured_call c = {.step = st->name, .system = system, .user = user, .schema_json = schema,
                             .max_tokens = r->max_tokens, .sampling = &r->in->prompt->sampling,
                             .items = (long)n_ids};
        rc = structured_run(r->in, r->out, &c, answer, NULL, err);
    }
    if (rc == 0)
        dedupe_citations(*answer);
    free(schema);
    free(system);
    free(user);
    return rc;
}

/* ---- the documents as batch entries --------------------------------------------- */

static char *entry_text(const digest_source *d, const char *summary)
{
    char *text = NULL;
    if (asprintf(&text, "[%lld] Title: %s\nSource: %s\nSummary: %s", (long long)d->id,
                 d->title && *d->title ? d->title : "(untitled)", d->source ? d->source : "(unknown)", summary) < 0)
        return NULL;
    return text;
}

static int count_tokens(const digest_run *r, const char *text, size_t *n, perr *err)
{
    return llm_count_tokens(r->in->llm, text, strlen(text), n, err);
}

static void trace_document(digest_run *r, const char *outcome, const char *error, int64_t id)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra)
        cJSON_AddNumberToObject(extra, "document", (double)id);
    structured_trace(r->out, "batch", outcome, error, extra);
}

/* Entry of document i cut to the budget (its summary shortened). */
static int cut_entry(digest_run *r, size_t i, size_t budget, perr *err)
{
    const digest_source *d = &r->req->docs[i];
    char *head = entry_text(d, "");
    size_t head_tokens = 0;
    int rc = head ? count_tokens(r, head, &head_tokens, err) : perr_set(err, "out of memory");
    free(head);
    if (rc != 0)
        return -1;
    if (head_tokens + MIN_SUMMARY_TOKENS + 4 > budget)
        return perr_set(err, "document %lld: its title and source alone do not fit the context (%zu tokens for text)",
                        (long long)d->id, budget);
    char **pieces = NULL;
    size_t n = 0;
    if (llm_token_pieces(r->in->llm, d->summary, strlen(d->summary), budget - head_tokens - 4, &pieces, &n, err) != 0)
        return -1;
    char *cut = NULL;
    if (n > 0 && asprintf(&cut, "%s [...]", pieces[0]) < 0)
        cut = NULL;
    for (size_t k = 0; k < n; k++)
        free(pieces[k]);
    free(pieces);
    free(r->entries[i]);
    r->entries[i] = cut ? entry_text(d, cut) : NULL;
    free(cut);
    if (!r->entries[i])
        return perr_set(err, "out of memory");
    trace_document(r, "truncated", "the summary alone does not fit one call; it was cut", d->id);
    return count_tokens(r, r->entries[i], &r->entry_tokens[i], err);
}

static int build_entries(digest_run *r, size_t budget, perr *err)
{
    size_t n = r->req->n_docs;
    r->entries = calloc(n ? n : 1, sizeof *r->entries);
    r->entry_tokens = calloc(n ? n : 1, sizeof *r->entry_tokens);
    r->unprocessable = calloc(n ? n : 1, 1);
    if (!r->entries || !r->entry_tokens || !r->unprocessable)
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const digest_source *d = &r->req->docs[i];
        if (!d->summary)
            continue;
        if (!(r->entries[i] = entry_text(d, d->summary)))
            return perr_set(err, "out of memory");
        if (count_tokens(r, r->entries[i], &r->entry_tokens[i], err) != 0)
            return -1;
        if (r->entry_tokens[i] > budget && cut_entry(r, i, budget, err) != 0)
            return -1;
    }
    return 0;
}

/* ---- map: batches of summaries ---------------------------------------------------- */

static char *join_entries(const digest_run *r, const size_t *idx, size_t n, int64_t *ids)
{
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(r->entries[idx[i]]) + 2;
    char *text = malloc(total);
    if (!text)
        return NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        len += (size_t)sprintf(text + len, "%s%s", i ? "\n\n" : "", r->entries[idx[i]]);
        ids[i] = r->req->docs[idx[i]].id;
    }
    text[len] = '\0';
    return text;
}

/* Digest the documents idx[0..n) into parts; an invalid answer splits the
 * batch, a single document that stays invalid is unprocessable. */
static int digest_batch(digest_run *r, const size_t *idx, size_t n, part_list *parts, perr *err)
{
    int64_t *ids = malloc(n * sizeof *ids);
    char *text = ids ? join_entries(r, idx, n, ids) : NULL;
    cJSON *answer = NULL;
    int rc = text ? call_step(r, r->batch, "summaries", text, ids, n, &answer, err) : perr_set(err, "out of memory");
    free(text);
    free(ids);
    if (rc == 0)
        return parts_add(parts, answer, err);
    if (rc != STRUCTURED_INVALID && rc != STRUCTURED_TOO_LONG)
        return rc;
    if (n == 1) {
        r->unprocessable[idx[0]] = 1;
        trace_document(r, "unprocessable", err->msg, r->req->docs[idx[0]].id);
        return 0;
    }
    cJSON *extra = cJSON_CreateObject();
    if (extra)
        cJSON_AddNumberToObject(extra, "items", (double)n);
    structured_trace(r->out, "batch", "split", err->msg, extra);
    size_t half = n / 2;
    rc = digest_batch(r, idx, half, parts, err);
    return rc == 0 ? digest_batch(r, idx + half, n - half, parts, err) : rc;
}

/* Every summarized document, in batches that fit the budget. */
static int map_batches(digest_run *r, size_t budget, part_list *parts, perr *err)
{
    size_t n = r->req->n_docs;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return perr_set(err, "out of memory");
    size_t start = 0, used = 0, count = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i <= n; i++) {
        int last = i == n;
        size_t cost = last || !r->entries[i] ? 0 : r->entry_tokens[i] + (count ? ENTRY_JOIN_TOKENS : 0);
        if (!last && !r->entries[i])
            continue;
        if (count > 0 && (last || used + cost > budget)) {
            rc = digest_batch(r, idx + start, count, parts, err);
            start += count;
            count = used = 0;
            cost = last ? 0 : r->entry_tokens[i];
        }
        if (!last) {
            idx[start + count++] = i;
            used += cost;
        }
    }
    r->out->chunks = (int)parts->n;
    free(idx);
    return rc;
}

/* ---- reduce: combining partial digests -------------------------------------------- */

/* A partial digest as text for {{themes}}. */
static char *part_text(const cJSON *part, size_t number)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(part, "title");
    const cJSON *overview = cJSON_GetObjectItemCaseSensitive(part, "overview");
    fprintf(f, "Partial digest %zu: %s\nOverview: %s\n", number, cJSON_IsString(title) ? title->valuestring : "",
            cJSON_IsString(overview) ? overview->valuestring : "");
    const cJSON *theme;
    cJSON_ArrayForEach(theme, cJSON_GetObjectItemCaseSensitive(part, "themes"))
    {
        const cJSON *heading = cJSON_GetObjectItemCaseSensitive(theme, "heading");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(theme, "text");
        fprintf(f, "Theme: %s\n%s\nDocuments:", cJSON_IsString(heading) ? heading->valuestring : "",
                cJSON_IsString(text) ? text->valuestring : "");
        const cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(theme, "documents"))
        fprintf(f, " [%lld]", (long long)id->valuedouble);
        fputc('\n', f);
    }
    fclose(f);
    return buf;
}

static int combine_group(digest_run *r, cJSON *const *group, size_t n, char *const *texts, cJSON **answer,
                         perr *err)
{
    int64_t *ids = NULL;
    size_t n_ids = 0;
    if (cited_ids(group, n, &ids, &n_ids, err) != 0)
        return -1;
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        total += strlen(texts[i]) + 1;
    char *joined = malloc(total);
    int rc = joined ? 0 : perr_set(err, "out of memory");
    if (rc == 0) {
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(joined + len, "%s%s", i ? "\n" : "", texts[i]);
        rc = call_step(r, r->combine, "themes", joined, ids, n_ids, answer, err);
        if (rc == STRUCTURED_INVALID || rc == STRUCTURED_TOO_LONG)
            rc = perr_prefix(err, "combining %zu partial digests", n);
    }
    free(joined);
    free(ids);
    return rc;
}

/* One level: groups of parts that fit the budget, each combined (a group
 * of one is carried up unchanged). */
static int combine_level(digest_run *r, size_t budget, part_list *parts, part_list *next, perr *err)
{
    char **texts = calloc(parts->n, sizeof *texts);
    size_t *tokens = calloc(parts->n, sizeof *tokens);
    int rc = texts && tokens ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < parts->n; i++) {
        if (!(texts[i] = part_text(parts->items[i], i + 1)))
            rc = perr_set(err, "out of memory");
        else
            rc = count_tokens(r, texts[i], &tokens[i], err);
    }
    size_t start = 0;
    while (rc == 0 && start < parts->n) {
        size_t used = tokens[start], end = start + 1;
        while (end < parts->n && used + 1 + tokens[end] <= budget)
            used += 1 + tokens[end++];
        if (end - start == 1 && end < parts->n) {
            rc = perr_set(err, "two partial digests do not fit one call (%zu tokens for text; raise [engine] "
                               "ctx_size or lower max_tokens)", budget);
        } else if (end - start == 1) {
            rc = parts_add(next, parts->items[start], err);
            parts->items[start] = NULL;
        } else {
            cJSON *answer = NULL;
            rc = combine_group(r, parts->items + start, end - start, texts + start, &answer, err);
            if (rc == 0)
                rc = parts_add(next, answer, err);
        }
        start = end;
    }
    for (size_t i = 0; texts && i < parts->n; i++)
        free(texts[i]);
    free(texts);
    free(tokens);
    return rc;
}

static int reduce_parts(digest_run *r, part_list *parts, perr *err)
{
    size_t budget;
    if (parts->n > 1 && step_budget(r, r->combine, "themes", &budget, err) != 0)
        return -1;
    for (int level = 1; parts->n > 1; level++) {
        if (level > DIGEST_MAX_LEVELS)
            return perr_set(err, "partial digests still do not fit one call after %d levels", DIGEST_MAX_LEVELS);
        part_list next = {0};
        int rc = combine_level(r, budget, parts, &next, err);
        parts_clear(parts);
        *parts = next;
        if (rc != 0)
            return rc;
        r->out->levels = level;
    }
    return 0;
}

/* ---- output ----------------------------------------------------------------------- */

static int is_cited(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

static cJSON *document_list(const digest_run *r, cJSON *final)
{
    int64_t *ids = NULL;
    size_t n_ids = 0;
    perr err;
    if (final && cited_ids(&final, 1, &ids, &n_ids, &err) != 0)
        return NULL;
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < r->req->n_docs; i++) {
        const digest_source *d = &r->req->docs[i];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        cJSON_AddItemToArray(list, o);
        cJSON_AddNumberToObject(o, "id", (double)d->id);
        if (d->title)
            cJSON_AddStringToObject(o, "title", d->title);
        else
            cJSON_AddNullToObject(o, "title");
        if (d->source)
            cJSON_AddStringToObject(o, "source", d->source);
        else
            cJSON_AddNullToObject(o, "source");
        cJSON_AddBoolToObject(o, "cited", is_cited(ids, n_ids, d->id));
        cJSON_AddBoolToObject(o, "summarized", d->summary != NULL);
        if (r->unprocessable && r->unprocessable[i])
            cJSON_AddTrueToObject(o, "unprocessable");
    }
    free(ids);
    return list;
}

/* The final object: the model's digest (or an empty one) plus "documents". */
static int finish(digest_run *r, cJSON *final, perr *err)
{
    cJSON *o = final ? cJSON_Duplicate(final, 1) : cJSON_CreateObject();
    if (o && !final) {
        char title[256];
        snprintf(title, sizeof title, "%s: no new documents", r->req->collection);
        cJSON_AddStringToObject(o, "title", title);
        cJSON_AddStringToObject(o, "overview", r->req->n_docs ? "No document of this period could be digested."
                                                              : "No documents were added in this period.");
        cJSON_AddArrayToObject(o, "themes");
    }
    cJSON *docs = o ? document_list(r, final) : NULL;
    if (docs)
        cJSON_AddItemToObject(o, "documents", docs);
    r->out->output_json = docs ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return r->out->output_json ? 0 : perr_set(err, "out of memory");
}

static void run_clear(digest_run *r)
{
    for (size_t i = 0; r->entries && i < r->req->n_docs; i++)
        free(r->entries[i]);
    free(r->entries);
    free(r->entry_tokens);
    free(r->unprocessable);
}

static int digest_body(digest_run *r, part_list *parts, perr *err)
{
    size_t budget;
    if (step_budget(r, r->batch, "summaries", &budget, err) != 0 || build_entries(r, budget, err) != 0)
        return -1;
    size_t summarized = 0;
    for (size_t i = 0; i < r->req->n_docs; i++)
        summarized += r->entries[i] != NULL;
    if (summarized == 0) {
        structured_trace(r->out, "batch", "empty", r->req->n_docs ? "no document of the window has a summary"
                                                                  : "no documents in the window", NULL);
        return finish(r, NULL, err);
    }
    int rc = map_batches(r, budget, parts, err);
    if (rc == 0)
        rc = reduce_parts(r, parts, err);
    return rc == 0 ? finish(r, parts->n ? parts->items[0] : NULL, err) : rc;
}

int analysis_digest(const analysis_input *in, const digest_request *req, analysis_output *out, perr *err)
{
    memset(out, 0, sizeof *out);
    digest_run r = {.in = in, .req = req, .out = out, .batch = prompt_find_step(in->prompt, "batch"),
                    .combine = prompt_find_step(in->prompt, "combine"), .max_tokens = in->max_tokens};
    if (!r.batch || !r.combine)
        return perr_set(err, "prompt \"%s\" lacks the steps batch and combine", in->prompt->name);
    if (r.max_tokens <= 0)
        r.max_tokens = r.batch->max_tokens;
    part_list parts = {0};
    int rc = digest_body(&r, &parts, err);
    parts_clear(&parts);
    run_clear(&r);
    if (rc != 0) {
        analysis_output_clear(out);
        return rc;
    }
    out->calls = out->calls ? out->calls : 0;
    return 0;
}
