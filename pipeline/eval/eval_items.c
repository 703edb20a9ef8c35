/* eval_items.c — labelled responses for evaluation, read from JSONL files (see eval_items.h). */
#include "pipeline/eval/eval_items.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"

/* Largest file read (the response files' limit). */
#define EVAL_FILE_MAX (128u << 20)

char *eval_file_read(const char *path, size_t *len, perr *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path), NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        /* Always room for more than the terminating NUL: a full buffer is grown, not taken for the end. */
        char *grown = n + 1 >= cap ? grow_to(buf, &cap, n + 1 + 65536, 1, 65536) : buf;
        if (!grown) {
            rc = perr_set(err, "%s: out of memory", path);
            break;
        }
        buf = grown;
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > EVAL_FILE_MAX) {
            rc = perr_set(err, "%s: larger than %u bytes", path, EVAL_FILE_MAX);
            break;
        }
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = perr_set(err, "%s: read error", path);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void item_clear(eval_item *it)
{
    free(it->id);
    for (size_t i = 0; i < it->n_labels; i++)
        free(it->labels[i]);
    free(it->labels);
    *it = (eval_item){0};
}

void eval_items_clear(eval_items *set)
{
    for (size_t i = 0; i < set->n; i++)
        item_clear(&set->items[i]);
    free(set->items);
    *set = (eval_items){0};
}

int eval_item_has(const eval_item *it, const char *label)
{
    for (size_t i = 0; i < it->n_labels; i++)
        if (strcmp(it->labels[i], label) == 0)
            return 1;
    return 0;
}

int eval_item_add_label(eval_item *it, const char *label)
{
    if (eval_item_has(it, label))
        return 0;
    char **grown = realloc(it->labels, (it->n_labels + 1) * sizeof *grown);
    if (!grown)
        return -1;
    it->labels = grown;
    if (!(it->labels[it->n_labels] = strdup(label)))
        return -1;
    it->n_labels++;
    return 0;
}

/* The id of o as text: a string, or an integer's decimal digits. */
static int read_id(const cJSON *o, char out[32], const char **id, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "response_id");
    if (cJSON_IsString(v) && v->valuestring[0]) {
        *id = v->valuestring;
        return 0;
    }
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble) &&
        fabs(v->valuedouble) <= 9007199254740991.0) {
        snprintf(out, 32, "%lld", (long long)v->valuedouble);
        *id = out;
        return 0;
    }
    return perr_set(err, "no \"response_id\" (a non-empty string or an integer)");
}

static int read_labels(const cJSON *o, int need, eval_item *it, perr *err)
{
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "labels");
    if (!labels)
        return need & EVAL_NEED_LABELS ? perr_set(err, "no \"labels\" array") : 0;
    if (!cJSON_IsArray(labels))
        return perr_set(err, "\"labels\" must be an array of strings");
    const cJSON *l;
    cJSON_ArrayForEach(l, labels)
    {
        if (!cJSON_IsString(l) || !l->valuestring[0])
            return perr_set(err, "\"labels\" must be an array of non-empty strings");
        if (eval_item_add_label(it, l->valuestring) != 0)
            return perr_set(err, "out of memory");
    }
    it->has_labels = 1;
    return 0;
}

static int read_position(const cJSON *o, int need, eval_item *it, perr *err)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "position");
    if (!p || cJSON_IsNull(p))
        return need & EVAL_NEED_POSITION ? perr_set(err, "no \"position\" string") : 0;
    if (!cJSON_IsString(p) || !p->valuestring[0] || strlen(p->valuestring) >= EVAL_POSITION_MAX)
        return perr_set(err, "\"position\" must be a string of 1..%d bytes", EVAL_POSITION_MAX - 1);
    snprintf(it->position, sizeof it->position, "%s", p->valuestring);
    return 0;
}

/* One line's object into a fresh item. */
static int read_item(const cJSON *o, int need, size_t line, eval_item *it, perr *err)
{
    char number[32];
    const char *id = NULL;
    *it = (eval_item){.line = line};
    if (!cJSON_IsObject(o))
        return perr_set(err, "not a JSON object");
    if (read_id(o, number, &id, err) != 0)
        return -1;
    if (!(it->id = strdup(id)))
        return perr_set(err, "out of memory");
    int rc = read_labels(o, need, it, err);
    if (rc == 0)
        rc = read_position(o, need, it, err);
    if (rc != 0)
        item_clear(it);
    return rc;
}

static int push(eval_items *set, eval_item *it)
{
    eval_item *grown = grow_to(set->items, &set->cap, set->n + 1, sizeof *grown, 64);
    if (!grown)
        return -1;
    set->items = grown;
    set->items[set->n++] = *it;
    return 0;
}

/* Every non-empty line of data as an item of out. */
static int read_lines(char *data, size_t len, int need, eval_items *out, perr *err)
{
    size_t line = 0;
    for (char *p = data; p < data + len;) {
        char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        line++;
        if (strspn(p, " \t\r") < n) {
            cJSON *o = cJSON_ParseWithLength(p, n);
            eval_item it;
            int rc = o ? read_item(o, need, line, &it, err) : perr_set(err, "not valid JSON");
            cJSON_Delete(o);
            if (rc == 0 && push(out, &it) != 0) {
                item_clear(&it);
                rc = perr_set(err, "out of memory");
            }
            if (rc != 0)
                return perr_prefix(err, "line %zu", line);
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const eval_item *x = *(eval_item *const *)a, *y = *(eval_item *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

eval_item **eval_items_index(const eval_items *set)
{
    eval_item **index = malloc((set->n ? set->n : 1) * sizeof *index);
    if (!index)
        return NULL;
    for (size_t i = 0; i < set->n; i++)
        index[i] = &set->items[i];
    qsort(index, set->n, sizeof *index, by_id);
    return index;
}

eval_item *eval_items_lookup(eval_item *const *index, size_t n, const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(index[mid]->id, id);
        if (c == 0)
            return index[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

eval_item *eval_items_find(const eval_items *set, const char *id)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->items[i].id, id) == 0)
            return &set->items[i];
    return NULL;
}

static int check_unique(const eval_items *file, perr *err)
{
    eval_item **index = eval_items_index(file);
    if (!index)
        return perr_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < file->n; i++)
        if (strcmp(index[i - 1]->id, index[i]->id) == 0)
            rc = perr_set(err, "line %zu: response id \"%.60s\" is a duplicate (first on line %zu)", index[i]->line,
                          index[i]->id, index[i - 1]->line);
    free(index);
    return rc;
}

/* Items of file merged into set: labels and position of an id set has, else appended. */
static int merge(eval_items *set, eval_items *file, perr *err)
{
    size_t n_old = set->n;
    /* Room for every new item first: pushing must not move what index points to. */
    eval_item *room = file->n ? grow_to(set->items, &set->cap, set->n + file->n, sizeof *room, 64) : set->items;
    if (file->n && !room)
        return perr_set(err, "out of memory");
    set->items = room;
    eval_item **index = eval_items_index(set);
    if (!index)
        return perr_set(err, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < file->n; i++) {
        eval_item *it = &file->items[i], *old = eval_items_lookup(index, n_old, it->id);
        if (!old) {
            rc = push(set, it) == 0 ? 0 : perr_set(err, "out of memory");
            if (rc == 0)
                *it = (eval_item){0};
            continue;
        }
        for (size_t k = 0; rc == 0 && k < it->n_labels; k++)
            if (eval_item_add_label(old, it->labels[k]) != 0)
                rc = perr_set(err, "out of memory");
        old->has_labels |= it->has_labels;
        if (it->position[0])
            memcpy(old->position, it->position, sizeof old->position);
    }
    free(index);
    return rc;
}

int eval_items_read(const char *path, int need, eval_items *set, perr *err)
{
    size_t len = 0;
    char *data = eval_file_read(path, &len, err);
    if (!data)
        return -1;
    eval_items file = {0};
    int rc = read_lines(data, len, need, &file, err);
    free(data);
    if (rc == 0)
        rc = check_unique(&file, err);
    if (rc == 0)
        rc = merge(set, &file, err);
    eval_items_clear(&file);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}
