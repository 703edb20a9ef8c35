/* consultation_sentiment.c — step 1: each response's position on the
 * question (AGREE, DISAGREE, UNCLEAR) and whether it is evidence-rich. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation_internal.h"

/* Longest answer for one response beyond its id:
 * "ID":{"position":"DISAGREE","evidence_rich":"YES"}, with some whitespace. */
#define SENTIMENT_ANSWER_BYTES 64

static const char item_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},"
    "\"evidence_rich\":{\"enum\":[\"YES\",\"NO\"]}},"
    "\"required\":[\"position\",\"evidence_rich\"],\"additionalProperties\":false}";

static void keep_answer(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer)
{
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(answer, items[i].id);
        consultation_annotation *a = &bs->cx->res->annotations[batch_index(bs, &items[i])];
        snprintf(a->position, sizeof a->position, "%s", json_str(o, "position"));
        snprintf(a->evidence_rich, sizeof a->evidence_rich, "%s", json_str(o, "evidence_rich"));
    }
}

static int sentiment_call(void *ctx, const ladder_item *items, size_t n, perr *err)
{
    batch_step *bs = ctx;
    cJSON *item = cJSON_Parse(item_schema);
    int have_item = item != NULL;
    char *schema = item ? batch_keyed_schema(items, n, item, err) : NULL;
    cJSON_Delete(item);
    char *user = schema ? batch_render_user(bs, items, n, err) : NULL;
    if (!user) {
        free(schema);
        return have_item ? -1 : perr_set(err, "out of memory");
    }
    batch_check bc = {.items = items, .n = n};
    structured_call c = {.step = bs->name, .system = bs->ps->system, .user = user, .schema_json = schema,
                         .max_tokens = batch_max_tokens(bs, items, n), .sampling = &bs->cx->in->prompt->sampling,
                         .check = batch_check_keys, .check_ctx = &bc, .items = (long)n};
    cJSON *answer = NULL;
    int rc = structured_run(bs->cx->in, &bs->cx->res->out, &c, &answer, NULL, err);
    if (rc == 0)
        keep_answer(bs, items, n, answer);
    cJSON_Delete(answer);
    free(user);
    free(schema);
    return rc;
}

static int sentiment_give_up(void *ctx, const ladder_item *item, const char *reason, perr *err)
{
    batch_step *bs = ctx;
    return consult_unprocessable(bs->cx, batch_index(bs, item), bs->name, reason, err);
}

int consult_sentiment(consult_ctx *cx, perr *err)
{
    batch_step bs = {.cx = cx, .name = "sentiment", .ps = prompt_find_step(cx->in->prompt, "sentiment"),
                     .answer_bytes_per_item = SENTIMENT_ANSWER_BYTES, .answer_base = 16,
                     .call = sentiment_call, .give_up = sentiment_give_up};
    return batch_step_run(&bs, err);
}
