/* ladder.c — split-and-retry over batches, batch planning and the id check (see ladder.h). */
#include "pipeline/consultation/ladder.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm/structured.h"

static void trace_split(const ladder *l, size_t n, const char *why)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra)
        cJSON_AddNumberToObject(extra, "items", (double)n);
    structured_trace(l->out, l->step, "split", why, extra);
}

static void trace_unprocessable(const ladder *l, const ladder_item *item, const char *why)
{
    cJSON *extra = cJSON_CreateObject();
    if (extra)
        cJSON_AddStringToObject(extra, "id", item->id);
    structured_trace(l->out, l->step, "unprocessable", why, extra);
}

int ladder_run(const ladder *l, const ladder_item *items, size_t n, perr *err)
{
    if (n == 0)
        return 0;
    int rc = l->call(l->ctx, items, n, err);
    if (rc != STRUCTURED_INVALID && rc != STRUCTURED_TOO_LONG)
        return rc;
    if (n == 1) {
        char reason[PERR_MSG_MAX];
        memcpy(reason, err->msg, sizeof reason);
        trace_unprocessable(l, items, reason);
        return l->give_up(l->ctx, items, reason, err);
    }
    trace_split(l, n, err->msg);
    size_t half = n / 2;
    rc = ladder_run(l, items, half, err);
    return rc == 0 ? ladder_run(l, items + half, n - half, err) : rc;
}

/* The open batches of a round. */
typedef struct round {
    const ladder_item **starts;
    size_t *ns;
    size_t k, cap;
} round;

static int round_push(round *r, const ladder_item *start, size_t n)
{
    if (r->k == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        const ladder_item **s = realloc(r->starts, cap * sizeof *s);
        if (s)
            r->starts = s;
        size_t *ns = s ? realloc(r->ns, cap * sizeof *ns) : NULL;
        if (!ns)
            return -1;
        r->ns = ns;
        r->cap = cap;
    }
    r->starts[r->k] = start;
    r->ns[r->k++] = n;
    return 0;
}

static void round_free(round *r)
{
    free(r->starts);
    free(r->ns);
}

/* What a failed batch becomes: its halves in the next round, or, alone,
 * given up. */
static int after_failure(const ladder *l, const ladder_item *start, size_t n, const char *why, round *next,
                         perr *err)
{
    if (n == 1) {
        trace_unprocessable(l, start, why);
        return l->give_up(l->ctx, start, why, err);
    }
    trace_split(l, n, why);
    if (round_push(next, start, n / 2) != 0 || round_push(next, start + n / 2, n - n / 2) != 0)
        return perr_set(err, "out of memory");
    return 0;
}

static int run_round(const ladder *l, const round *cur, round *next, perr *err)
{
    int *rcs = calloc(cur->k, sizeof *rcs);
    perr *errs = calloc(cur->k, sizeof *errs);
    int rc = rcs && errs ? l->call_many(l->ctx, cur->starts, cur->ns, cur->k, rcs, errs, err)
                         : perr_set(err, "out of memory");
    for (size_t j = 0; rc == 0 && j < cur->k; j++) {
        if (rcs[j] == STRUCTURED_INVALID || rcs[j] == STRUCTURED_TOO_LONG)
            rc = after_failure(l, cur->starts[j], cur->ns[j], errs[j].msg, next, err);
        else if (rcs[j] != 0) {
            perr_set(err, "%s", errs[j].msg);
            rc = rcs[j];
        }
    }
    free(rcs);
    free(errs);
    return rc;
}

int ladder_run_all(const ladder *l, const ladder_item *items, const size_t *ends, size_t n_batches, perr *err)
{
    round cur = {0}, next = {0};
    int rc = 0;
    for (size_t b = 0, start = 0; rc == 0 && b < n_batches; start = ends[b++])
        if (ends[b] > start && round_push(&cur, items + start, ends[b] - start) != 0)
            rc = perr_set(err, "out of memory");
    while (rc == 0 && cur.k > 0) {
        next.k = 0;
        rc = run_round(l, &cur, &next, err);
        round swap = cur;
        cur = next;
        next = swap;
    }
    round_free(&cur);
    round_free(&next);
    return rc;
}

int ladder_plan(const size_t *costs, size_t n, size_t budget, size_t max_items, size_t **ends, size_t *n_batches,
                perr *err)
{
    *ends = NULL;
    *n_batches = 0;
    if (n == 0)
        return 0;
    if (!(*ends = malloc(n * sizeof **ends)))
        return perr_set(err, "out of memory");
    size_t sum = 0, count = 0;
    for (size_t i = 0; i < n; i++) {
        int full = count > 0 && ((max_items && count >= max_items) || sum + costs[i] > budget);
        if (full) {
            (*ends)[(*n_batches)++] = i;
            sum = 0;
            count = 0;
        }
        sum += costs[i];
        count++;
    }
    (*ends)[(*n_batches)++] = n;
    return 0;
}

static const char *answer_id(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int ladder_check_ids(const cJSON *arr, const char *key, const ladder_item *items, size_t n, perr *err)
{
    if (!cJSON_IsArray(arr))
        return perr_set(err, "the answer must be an array of objects with \"%s\"", key);
    for (const cJSON *o = arr->child; o; o = o->next) {
        const char *id = answer_id(o, key);
        if (!id)
            return perr_set(err, "every item needs a \"%s\" string", key);
        size_t i = 0;
        while (i < n && strcmp(items[i].id, id) != 0)
            i++;
        if (i == n)
            return perr_set(err, "\"%.60s\" is not one of the response ids given", id);
        for (const cJSON *p = arr->child; p != o; p = p->next)
            if (strcmp(answer_id(p, key), id) == 0)
                return perr_set(err, "response %.60s is answered twice; answer each response exactly once", id);
    }
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = arr->child;
        while (o && strcmp(answer_id(o, key), items[i].id) != 0)
            o = o->next;
        if (!o)
            return perr_set(err, "response %.60s is missing; answer every response exactly once", items[i].id);
    }
    return 0;
}
