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

static char *sentiment_schema(batch_step *bs, const ladder_item *items, size_t n, perr *err)
{
    (void)bs;
    cJSON *item = cJSON_Parse(item_schema);
    if (!item) {
        perr_set(err, "out of memory");
        return NULL;
    }
    char *schema = batch_keyed_schema(items, n, item, err);
    cJSON_Delete(item);
    return schema;
}

static int sentiment_accept(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer, perr *err)
{
    (void)err;
    keep_answer(bs, items, n, answer);
    return 0;
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
                     .schema_for = sentiment_schema, .keyed = 1, .accept = sentiment_accept,
                     .give_up = sentiment_give_up};
    return batch_step_run(&bs, err);
}
