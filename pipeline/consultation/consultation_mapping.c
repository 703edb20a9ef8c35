/* consultation_mapping.c — step 5: each response mapped to one to three of
 * the refined themes (by id); with an approved theme set the answer may
 * also be "none" (no theme fits: the response is unassigned). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/consultation_internal.h"

/* Longest answer for one response beyond its id: "ID":["A","B","C"], (compact JSON, with
 * room to spare). */
#define MAPPING_ANSWER_BYTES 32

/* What an approved-mode answer says when no theme fits. */
#define MAPPING_NONE "none"

/* {"type": "array", "items": {"enum": [ids]}, "minItems": 1, "maxItems": k};
 * with an approved set {"anyOf": [that, {"enum": ["none"]}]}. */
static cJSON *ids_schema(const consultation_result *res)
{
    cJSON *s = cJSON_CreateObject();
    cJSON *items = s ? cJSON_AddObjectToObject(s, "items") : NULL;
    cJSON *ids = items ? cJSON_AddArrayToObject(items, "enum") : NULL;
    if (!ids) {
        cJSON_Delete(s);
        return NULL;
    }
    for (size_t t = 0; t < res->n_themes; t++)
        cJSON_AddItemToArray(ids, cJSON_CreateString(res->themes[t].id));
    size_t most = res->n_themes < CONSULTATION_THEMES_PER_RESPONSE ? res->n_themes : CONSULTATION_THEMES_PER_RESPONSE;
    cJSON_AddStringToObject(s, "type", "array");
    cJSON_AddNumberToObject(s, "minItems", 1);
    cJSON_AddNumberToObject(s, "maxItems", (double)most);
    return s;
}

cJSON *consult_mapping_item_schema(const consultation_result *res)
{
    cJSON *ids = ids_schema(res);
    if (!ids || !res->approved)
        return ids;
    cJSON *s = cJSON_CreateObject(), *any = s ? cJSON_AddArrayToObject(s, "anyOf") : NULL;
    cJSON *none = cJSON_CreateObject(), *values = none ? cJSON_AddArrayToObject(none, "enum") : NULL;
    if (!any || !values) {
        cJSON_Delete(s);
        cJSON_Delete(ids);
        cJSON_Delete(none);
        return NULL;
    }
    cJSON_AddItemToArray(values, cJSON_CreateString(MAPPING_NONE));
    cJSON_AddItemToArray(any, ids);
    cJSON_AddItemToArray(any, none);
    return s;
}

/* The theme ids of one answer, each once, in theme order ("none" keeps no
 * id: the response is unassigned). */
static int keep_answer(batch_step *bs, const ladder_item *items, size_t n, const cJSON *answer, perr *err)
{
    (void)err;
    consultation_result *res = bs->cx->res;
    for (size_t i = 0; i < n; i++) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(answer, items[i].id);
        consultation_annotation *a = &res->annotations[batch_index(bs, &items[i])];
        size_t k = 0;
        for (size_t t = 0; t < res->n_themes; t++) {
            const cJSON *v;
            cJSON_ArrayForEach(v, ids)
            {
                if (cJSON_IsString(v) && strcmp(v->valuestring, res->themes[t].id) == 0) {
                    a->themes[k++] = res->themes[t].id[0];
                    break;
                }
            }
        }
        a->themes[k] = '\0';
    }
    return 0;
}

static cJSON *mapping_item_schema(batch_step *bs)
{
    return consult_mapping_item_schema(bs->cx->res);
}

/* "A: label — description" lines (malloc'd); with an approved set a last
 * line says how to answer when none fits. */
static char *themes_text(const consultation_result *res)
{
    prompt_text text = {0};
    for (size_t t = 0; t < res->n_themes; t++)
        prompt_text_add(&text, "%s: %s - %s\n", res->themes[t].id, res->themes[t].label, res->themes[t].description);
    if (res->approved)
        prompt_text_add(&text, "If a response raises none of these themes at all, answer \"%s\" for it instead of a "
                        "list (it is set aside for new themes).\n", MAPPING_NONE);
    return prompt_text_finish(&text);
}

int consult_mapping(consult_ctx *cx, perr *err)
{
    char *themes = themes_text(cx->res);
    if (!themes)
        return perr_set(err, "out of memory");
    batch_step bs = {.cx = cx, .name = "mapping", .ps = prompt_find_step(cx->in->prompt, "mapping"),
                     .themes_text = themes, .answer_bytes_per_item = MAPPING_ANSWER_BYTES, .answer_base = 16,
                     .item_schema = mapping_item_schema, .accept = keep_answer, .give_up = batch_give_up};
    int rc = batch_step_run(&bs, err);
    free(themes);
    for (size_t i = 0; rc == 0 && i < cx->res->n; i++)
        for (const char *t = cx->res->annotations[i].themes; *t; t++)
            cx->res->themes[consultation_theme_index(cx->res, *t)].response_count++;
    return rc;
}
