/* consultation_approved.c — a collection's approved set and pending
 * unassigned responses for a job, and the candidate step's trigger (see
 * consultation_approved.h). */
#include "pipeline/consultation/consultation_approved.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm/structured.h"

void consultation_approved_clear(consultation_approved *a)
{
    theme_set_clear(&a->themes);
    free(a->question);
    for (size_t i = 0; i < a->pending.n; i++)
        free((char *)a->keys[i].response_id);
    free(a->keys);
    responses_clear(&a->pending);
    *a = (consultation_approved){0};
}

static int add_pending(void *ctx, long long run_id, const char *response_id, const char *text, perr *err)
{
    consultation_approved *a = ctx;
    store_unassigned_key *grown = realloc(a->keys, (a->pending.n + 1) * sizeof *grown);
    if (!grown)
        return perr_set(err, "out of memory");
    a->keys = grown;
    char id[32];
    snprintf(id, sizeof id, "u%zu", a->pending.n + 1);
    char *copy = strdup(response_id);
    if (!copy || responses_add(&a->pending, id, text, 0, err) != 0) {
        free(copy);
        return copy ? -1 : perr_set(err, "out of memory");
    }
    a->keys[a->pending.n - 1] = (store_unassigned_key){.run_id = run_id, .response_id = copy};
    return 0;
}

int consultation_approved_load(store *s, const char *collection, consultation_approved *out, perr *err)
{
    *out = (consultation_approved){0};
    store_approved_info info;
    int rc = store_consultation_approved(s, collection, &info, err);
    if (rc != 0 || info.id == 0)
        return rc;
    out->set_id = info.id;
    out->question = info.question, info.question = NULL;
    if (theme_set_parse(info.themes_json, strlen(info.themes_json), THEME_SET_JSON, &out->themes, err) != 0) {
        perr_prefix(err, "approved theme set %lld of collection %s", info.id, collection);
        rc = STORE_ERROR;
    }
    store_approved_info_clear(&info);
    if (rc == 0)
        rc = store_consultation_unassigned(s, out->set_id, add_pending, out, err);
    if (rc != 0)
        consultation_approved_clear(out);
    return rc;
}

/* pending's responses, then rs's unassigned ones (ids go on from pending's). */
static int gather(const consultation_approved *pending, const response_set *rs, const consultation_result *res,
                  response_set *out, perr *err)
{
    *out = (response_set){0};
    for (size_t i = 0; pending && i < pending->pending.n; i++)
        if (responses_add(out, pending->pending.items[i].id, pending->pending.items[i].text, 0, err) != 0)
            return -1;
    for (size_t i = 0; i < res->n; i++) {
        if (!res->annotations[i].unassigned)
            continue;
        char id[32];
        snprintf(id, sizeof id, "u%zu", out->n + 1);
        if (responses_add(out, id, rs->items[i].text, 0, err) != 0)
            return -1;
    }
    return 0;
}

int consultation_propose_if_due(const analysis_input *in, const char *question, const theme_set *approved,
                                const consultation_approved *pending, const response_set *rs,
                                consultation_result *res, int threshold, size_t *n_used, perr *err)
{
    *n_used = 0;
    size_t waiting = (pending ? pending->pending.n : 0) + res->n_unassigned;
    if (threshold <= 0 || waiting == 0 || waiting < (size_t)threshold)
        return 0;
    response_set all;
    int rc = gather(pending, rs, res, &all, err);
    if (rc == 0)
        rc = consultation_propose(in, question, &all, approved, res, err);
    responses_clear(&all);
    if (rc == LLM_CANCELLED)
        return rc;
    if (rc != 0) {
        structured_trace(&res->out, "propose", "failed", err->msg, NULL);
        return 0;
    }
    if (res->n_proposals > 0 && pending)
        *n_used = pending->pending.n;
    return 0;
}
