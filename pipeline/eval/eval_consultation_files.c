/* eval_consultation_files.c — themefinder's evaluation layout read from a
 * directory: expected themes, mapping and positions of one question (see
 * eval_consultation.h). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline/eval/eval_consultation.h"

static char *path_of(const char *dir, const char *fmt, int question)
{
    char name[96];
    snprintf(name, sizeof name, fmt, question);
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

static const char *theme_string(const cJSON *o, const char *key, const char *fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(o, fallback);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void themes_free(eval_theme *themes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(themes[i].id);
        free(themes[i].label);
        free(themes[i].description);
    }
    free(themes);
}

static int themes_from(const cJSON *root, eval_theme **out, size_t *n, perr *err)
{
    if (!cJSON_IsArray(root))
        return perr_set(err, "not a JSON array of themes");
    size_t count = (size_t)cJSON_GetArraySize(root), i = 0;
    eval_theme *themes = calloc(count ? count : 1, sizeof *themes);
    if (!themes)
        return perr_set(err, "out of memory");
    const cJSON *t;
    int rc = 0;
    cJSON_ArrayForEach(t, root)
    {
        const char *id = theme_string(t, "topic_id", "id"), *label = theme_string(t, "topic_label", "label");
        const char *description = theme_string(t, "topic_description", "description");
        if (!id || !*id) {
            rc = perr_set(err, "theme %zu: no \"topic_id\" string", i + 1);
            break;
        }
        eval_theme *th = &themes[i++];
        *th = (eval_theme){.id = strdup(id), .label = strdup(label ? label : ""),
                           .description = strdup(description ? description : "")};
        if (!th->id || !th->label || !th->description) {
            rc = perr_set(err, "out of memory");
            break;
        }
        for (size_t k = 0; k + 1 < i; k++)
            if (strcmp(themes[k].id, id) == 0) {
                rc = perr_set(err, "theme %zu: id \"%.20s\" appears twice", i, id);
                break;
            }
        if (rc != 0)
            break;
    }
    if (rc != 0) {
        themes_free(themes, i);
        return -1;
    }
    *out = themes;
    *n = i;
    return 0;
}

int eval_themes_read(const char *path, eval_theme **themes, size_t *n, perr *err)
{
    *themes = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[8192];
    size_t got;
    while (m && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, got, m);
    int bad = ferror(f);
    fclose(f);
    if (!m || fclose(m) != 0 || bad) {
        free(buf);
        return perr_set(err, "%s: read error", path);
    }
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    int rc = root ? themes_from(root, themes, n, err) : perr_set(err, "not valid JSON");
    cJSON_Delete(root);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}

void eval_consultation_set_clear(eval_consultation_set *set)
{
    eval_items_clear(&set->expected);
    themes_free(set->themes, set->n_themes);
    free(set->responses_path);
    free(set->question_path);
    *set = (eval_consultation_set){0};
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int eval_consultation_load(const char *dir, int question, eval_consultation_set *set, perr *err)
{
    *set = (eval_consultation_set){0};
    char *themes = path_of(dir, "q%d_expected_themes.json", question);
    char *mapping = path_of(dir, "q%d_expected_mapping.jsonl", question);
    char *sentiment = path_of(dir, "q%d_expected_sentiment.jsonl", question);
    set->responses_path = path_of(dir, "question_part_%d_responses.jsonl", question);
    set->question_path = path_of(dir, "question_part_%d_question.json", question);
    int rc = themes && mapping && sentiment && set->responses_path && set->question_path
                 ? 0 : perr_set(err, "out of memory");
    if (rc == 0)
        rc = eval_themes_read(themes, &set->themes, &set->n_themes, err);
    if (rc == 0)
        rc = eval_items_read(mapping, EVAL_NEED_LABELS, &set->expected, err);
    if (rc == 0 && exists(sentiment))
        rc = eval_items_read(sentiment, EVAL_NEED_POSITION, &set->expected, err);
    free(themes);
    free(mapping);
    free(sentiment);
    if (rc != 0)
        eval_consultation_set_clear(set);
    return rc;
}
