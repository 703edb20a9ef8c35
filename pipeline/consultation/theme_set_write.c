/* theme_set_write.c — an approved theme set written as the JSON or CSV an
 * analyst edits, and as the compact JSON stored with a run (see theme_set.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/consultation/theme_set.h"
#include "pipeline/llm/prompt.h"

static cJSON *themes_array(const theme_set *ts)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < ts->n; i++) {
        const theme_set_item *t = &ts->items[i];
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", t->id) || !cJSON_AddStringToObject(o, "label", t->label) ||
            !cJSON_AddStringToObject(o, "description", t->description) ||
            !cJSON_AddStringToObject(o, "position", t->position)) {
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

char *theme_set_json(const theme_set *ts)
{
    cJSON *a = themes_array(ts);
    char *text = a ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

static char *write_json(const theme_set *ts, const theme_set_origin *origin)
{
    cJSON *o = cJSON_CreateObject();
    if (o && origin && origin->collection)
        cJSON_AddStringToObject(o, "collection", origin->collection);
    if (o && origin && origin->run_id > 0)
        cJSON_AddNumberToObject(o, "run_id", (double)origin->run_id);
    if (o && origin && origin->question && *origin->question)
        cJSON_AddStringToObject(o, "question", origin->question);
    cJSON *themes = o ? themes_array(ts) : NULL;
    char *text = NULL;
    if (themes) {
        cJSON_AddItemToObject(o, "themes", themes);
        text = cJSON_Print(o);
    }
    cJSON_Delete(o);
    return text;
}

/* One CSV field, quoted when it must be (RFC 4180). */
static void csv_field(prompt_text *out, const char *s, const char *sep)
{
    int quote = s[0] == ' ' || (s[0] && s[strlen(s) - 1] == ' ') || strpbrk(s, ",\"\r\n");
    if (!quote) {
        prompt_text_add(out, "%s%s", s, sep);
        return;
    }
    prompt_text_add(out, "\"");
    for (const char *q; (q = strchr(s, '"')); s = q + 1)
        prompt_text_add(out, "%.*s\"\"", (int)(q - s), s);
    prompt_text_add(out, "%s\"%s", s, sep);
}

static char *write_csv(const theme_set *ts)
{
    prompt_text out = {0};
    prompt_text_add(&out, "id,label,description,position\n");
    for (size_t i = 0; i < ts->n; i++) {
        const theme_set_item *t = &ts->items[i];
        csv_field(&out, t->id, ",");
        csv_field(&out, t->label, ",");
        csv_field(&out, t->description, ",");
        csv_field(&out, t->position, "\n");
    }
    return prompt_text_finish(&out);
}

char *theme_set_write(const theme_set *ts, theme_set_format format, const theme_set_origin *origin, perr *err)
{
    char *text = format == THEME_SET_CSV ? write_csv(ts) : write_json(ts, origin);
    if (!text)
        perr_set(err, "out of memory");
    return text;
}
