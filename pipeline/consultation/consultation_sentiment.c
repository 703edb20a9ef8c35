/* consultation_sentiment.c — step 1: each response's position on the
 * question (AGREE, DISAGREE, UNCLEAR) and whether it is evidence-rich. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_internal.h"

/* Longest answer for one response beyond its id:
 * "ID":{"position":"DISAGREE","evidence_rich":"YES"}, (compact JSON, see
 * analysis_schema_compile; the rest is room to spare). */
#define SENTIMENT_ANSWER_BYTES 64

static const char item_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"position\":{\"enum\":[\"AGREE\",\"DISAGREE\",\"UNCLEAR\"]},"
    "\"evidence_rich\":{\"enum\":[\"YES\",\"NO\"]}},"
    "\"required\":[\"position\",\"evidence_rich\"],\"additionalProperties\":false}";

static int keep_answer(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer, perr *err)
{
    (void)err;
    for (size_t i = 0; i < n; i++) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(answer, items[i].id);
        consultation_annotation *a = &bs->cx->res->annotations[batch_index(bs, &items[i])];
        snprintf(a->position, sizeof a->position, "%s", structured_string(o, "position"));
        snprintf(a->evidence_rich, sizeof a->evidence_rich, "%s", structured_string(o, "evidence_rich"));
    }
    return 0;
}

static cJSON *sentiment_item_schema(batch_step *bs)
{
    (void)bs;
    return cJSON_Parse(item_schema);
}

int consult_sentiment(consult_ctx *cx, perr *err)
{
    batch_step bs = {.cx = cx, .name = "sentiment", .ps = prompt_find_step(cx->in->prompt, "sentiment"),
                     .answer_bytes_per_item = SENTIMENT_ANSWER_BYTES, .answer_base = 16,
                     .item_schema = sentiment_item_schema, .accept = keep_answer, .give_up = batch_give_up};
    return batch_step_run(&bs, err);
}
