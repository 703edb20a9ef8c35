/* theme_set.c — an approved theme set read from and written to the JSON and
 * CSV forms an analyst edits (see theme_set.h). */
#include "pipeline/consultation/theme_set.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sha256.h"
#include "common/utf8.h"
#include "pipeline/consultation/csv.h"

/* Themes as read, before the rules: where each came from, for messages. */
typedef struct raw_theme {
    const char *id, *label, *description, *position;   /* NULL = absent; point into the input */
    size_t where;                /* JSON: theme number (1-based); CSV: line */
} raw_theme;

typedef struct raw_set {
    raw_theme items[THEME_SET_MAX + 1];
    size_t n;
    int csv;                     /* where is a line */
} raw_set;

static int where(const raw_set *rs, const raw_theme *t, char *out, size_t cap)
{
    return snprintf(out, cap, rs->csv ? "line %zu" : "theme %zu", t->where);
}

theme_set_format theme_set_format_for_name(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (dot && strcasecmp(dot, ".json") == 0)
        return THEME_SET_JSON;
    if (dot && strcasecmp(dot, ".csv") == 0)
        return THEME_SET_CSV;
    return THEME_SET_AUTO;
}

int theme_set_format_named(const char *name, theme_set_format *out)
{
    if (strcasecmp(name, "json") == 0)
        return *out = THEME_SET_JSON, 0;
    if (strcasecmp(name, "csv") == 0)
        return *out = THEME_SET_CSV, 0;
    return -1;
}

void theme_set_clear(theme_set *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->items[i].label);
        free(ts->items[i].description);
    }
    free(ts->items);
    *ts = (theme_set){0};
}

int theme_set_find(const theme_set *ts, char id)
{
    for (size_t i = 0; i < ts->n; i++)
        if (ts->items[i].id[0] == id)
            return (int)i;
    return -1;
}

int theme_set_copy(theme_set *dst, const theme_set *src)
{
    *dst = (theme_set){0};
    if (!(dst->items = calloc(src->n ? src->n : 1, sizeof *dst->items)))
        return -1;
    for (size_t i = 0; i < src->n; i++) {
        theme_set_item *t = &dst->items[dst->n++];
        *t = src->items[i];
        t->label = strdup(src->items[i].label);
        t->description = strdup(src->items[i].description);
        if (!t->label || !t->description) {
            theme_set_clear(dst);
            return -1;
        }
    }
    return 0;
}

/* ---- the rules ------------------------------------------------------------------ */

/* s trimmed, control characters as spaces (malloc'd). */
static char *tidy(const char *s)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    char *out = strndup(s, len);
    for (size_t i = 0; out && i < len; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = ' ';
    return out;
}

/* The id of t: 0 when absent or empty (assigned later), a letter A..Z, or -1 (err). */
static int check_id(const raw_set *rs, const raw_theme *t, perr *err)
{
    char at[32];
    where(rs, t, at, sizeof at);
    char *id = tidy(t->id ? t->id : "");
    if (!id)
        return perr_set(err, "out of memory");
    int c = id[0] && !id[1] ? toupper((unsigned char)id[0]) : -2;
    if (!id[0])
        c = 0;
    else if (c < 'A' || c > 'Z')
        c = perr_set(err, "%s: id \"%.40s\" is not a single letter A..Z (ids are letters; leave the id empty to have "
                     "one assigned)", at, id);
    free(id);
    return c;
}

static int check_position(const raw_set *rs, const raw_theme *t, char out[10], perr *err)
{
    static const char *const positions[] = {"AGREE", "DISAGREE", "UNCLEAR", NULL};
    char at[32];
    where(rs, t, at, sizeof at);
    char *p = tidy(t->position ? t->position : "");
    if (!p)
        return perr_set(err, "out of memory");
    int rc = -1;
    out[0] = '\0';
    if (!p[0])
        rc = 0;
    for (size_t i = 0; rc != 0 && positions[i]; i++)
        if (strcasecmp(p, positions[i]) == 0)
            rc = 0, snprintf(out, 10, "%s", positions[i]);
    if (rc != 0)
        perr_set(err, "%s: position \"%.40s\" is not AGREE, DISAGREE or UNCLEAR (or empty)", at, p);
    free(p);
    return rc;
}

/* label and description tidied and within their limits (malloc'd into item). */
static int check_texts(const raw_set *rs, const raw_theme *t, theme_set_item *item, perr *err)
{
    char at[32];
    where(rs, t, at, sizeof at);
    item->label = tidy(t->label ? t->label : "");
    item->description = tidy(t->description ? t->description : "");
    if (!item->label || !item->description)
        return perr_set(err, "out of memory");
    if (!item->label[0])
        return perr_set(err, "%s: the label is empty (every theme needs a label)", at);
    if (utf8_count(item->label, strlen(item->label)) > THEME_SET_LABEL_MAX)
        return perr_set(err, "%s: the label is longer than %d characters", at, THEME_SET_LABEL_MAX);
    if (utf8_count(item->description, strlen(item->description)) > THEME_SET_DESCRIPTION_MAX)
        return perr_set(err, "%s: the description is longer than %d characters", at, THEME_SET_DESCRIPTION_MAX);
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return ((const theme_set_item *)a)->id[0] - ((const theme_set_item *)b)->id[0];
}

/* Ids: explicit ones unique, missing ones the first free letters. */
static int assign_ids(const raw_set *rs, const int *ids, theme_set *out, perr *err)
{
    size_t owner[26] = {0};   /* 1-based index of the theme holding a letter */
    for (size_t i = 0; i < rs->n; i++) {
        if (ids[i] == 0)
            continue;
        size_t k = (size_t)(ids[i] - 'A');
        if (owner[k]) {
            char a[32], b[32];
            where(rs, &rs->items[owner[k] - 1], a, sizeof a);
            where(rs, &rs->items[i], b, sizeof b);
            return perr_set(err, "id \"%c\" is used twice (%s and %s); every theme needs its own letter", ids[i], a, b);
        }
        owner[k] = i + 1;
    }
    size_t next = 0;
    for (size_t i = 0; i < rs->n; i++) {
        int id = ids[i];
        if (id == 0) {
            while (owner[next])
                next++;
            owner[next] = i + 1;
            id = (int)('A' + next);
        }
        out->items[i].id[0] = (char)id;
    }
    return 0;
}

/* The raw themes through the rules into *out. */
static int finish(const raw_set *rs, theme_set *out, perr *err)
{
    if (rs->n == 0)
        return perr_set(err, "no themes (an approved set needs at least one)");
    if (rs->n > THEME_SET_MAX)
        return perr_set(err, "more than %d themes (ids are the letters A..Z); merge some", THEME_SET_MAX);
    int ids[THEME_SET_MAX];
    if (!(out->items = calloc(rs->n, sizeof *out->items)))
        return perr_set(err, "out of memory");
    out->n = rs->n;
    for (size_t i = 0; i < rs->n; i++) {
        if ((ids[i] = check_id(rs, &rs->items[i], err)) < 0 ||
            check_texts(rs, &rs->items[i], &out->items[i], err) != 0 ||
            check_position(rs, &rs->items[i], out->items[i].position, err) != 0)
            return -1;
    }
    if (assign_ids(rs, ids, out, err) != 0)
        return -1;
    qsort(out->items, out->n, sizeof *out->items, by_id);
    return 0;
}

/* ---- JSON --------------------------------------------------------------------- */

/* key -> the raw field it fills (NULL: tolerated and ignored; -1: unknown). */
static int json_field(raw_theme *t, const char *key, const char ***slot)
{
    static const struct {
        const char *key;
        size_t offset;
    } fields[] = {
        {"id", offsetof(raw_theme, id)}, {"topic_id", offsetof(raw_theme, id)},
        {"label", offsetof(raw_theme, label)}, {"topic_label", offsetof(raw_theme, label)},
        {"description", offsetof(raw_theme, description)}, {"topic_description", offsetof(raw_theme, description)},
        {"position", offsetof(raw_theme, position)},
    };
    *slot = NULL;
    if (strcmp(key, "topic") == 0)
        return 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(key, fields[i].key) == 0)
            return *slot = (const char **)((char *)t + fields[i].offset), 0;
    return -1;
}

static int json_theme(raw_set *rs, const cJSON *o, perr *err)
{
    raw_theme *t = &rs->items[rs->n];
    *t = (raw_theme){.where = rs->n + 1};
    if (!cJSON_IsObject(o))
        return perr_set(err, "theme %zu: not an object", t->where);
    for (const cJSON *m = o->child; m; m = m->next) {
        const char **slot;
        if (json_field(t, m->string, &slot) != 0)
            return perr_set(err, "theme %zu: unknown key \"%.40s\" (known: id, label, description, position; or "
                            "themefinder's topic_id, topic_label, topic_description, topic)", t->where, m->string);
        if (!slot || cJSON_IsNull(m))
            continue;
        if (*slot)
            return perr_set(err, "theme %zu: \"%s\" gives a field already given (id/topic_id, label/topic_label, "
                            "description/topic_description)", t->where, m->string);
        if (!cJSON_IsString(m))
            return perr_set(err, "theme %zu: \"%s\" must be a string", t->where, m->string);
        *slot = m->valuestring;
    }
    rs->n++;
    return 0;
}

/* The theme array of root: root itself, or root's "themes". */
static const cJSON *json_themes(const cJSON *root, perr *err)
{
    if (cJSON_IsArray(root))
        return root;
    if (!cJSON_IsObject(root))
        return perr_set(err, "JSON: expected an array of themes or an object with \"themes\""), NULL;
    static const char *const known[] = {"themes", "collection", "run_id", "question", NULL};
    for (const cJSON *m = root->child; m; m = m->next) {
        size_t k = 0;
        while (known[k] && strcmp(known[k], m->string) != 0)
            k++;
        if (!known[k])
            return perr_set(err, "JSON: unknown key \"%.40s\" (known: themes, collection, run_id, question)",
                            m->string), NULL;
    }
    const cJSON *themes = cJSON_GetObjectItemCaseSensitive(root, "themes");
    if (!cJSON_IsArray(themes))
        return perr_set(err, "JSON: \"themes\" must be an array of themes"), NULL;
    return themes;
}

static int parse_json(const char *data, size_t len, theme_set *out, perr *err)
{
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root)
        return perr_set(err, "not valid JSON (near byte %zu)", (size_t)(cJSON_GetErrorPtr() - data));
    raw_set *rs = calloc(1, sizeof *rs);
    const cJSON *themes = rs ? json_themes(root, err) : NULL;
    int rc = themes ? 0 : -1;
    if (!rs)
        rc = perr_set(err, "out of memory");
    const cJSON *t;
    cJSON_ArrayForEach(t, themes)
    {
        if (rc != 0)
            break;
        if (rs->n == THEME_SET_MAX)
            rc = perr_set(err, "more than %d themes (ids are the letters A..Z); merge some", THEME_SET_MAX);
        else
            rc = json_theme(rs, t, err);
    }
    if (rc == 0)
        rc = finish(rs, out, err);
    free(rs);
    cJSON_Delete(root);
    return rc;
}

/* ---- CSV ---------------------------------------------------------------------- */

typedef struct csv_columns {
    int id, label, description, position;   /* field index; -1 = absent */
} csv_columns;

static int csv_header(const csv_record *h, csv_columns *c, perr *err)
{
    *c = (csv_columns){-1, -1, -1, -1};
    for (size_t i = 0; i < h->n; i++) {
        char *name = tidy(h->fields[i]);
        if (!name)
            return perr_set(err, "out of memory");
        int *slot = NULL, ignored = 0;
        if (strcasecmp(name, "id") == 0 || strcasecmp(name, "topic_id") == 0)
            slot = &c->id;
        else if (strcasecmp(name, "label") == 0 || strcasecmp(name, "topic_label") == 0)
            slot = &c->label;
        else if (strcasecmp(name, "description") == 0 || strcasecmp(name, "topic_description") == 0)
            slot = &c->description;
        else if (strcasecmp(name, "position") == 0)
            slot = &c->position;
        else if (strcasecmp(name, "topic") == 0)
            ignored = 1;
        int rc = 0;
        if (!slot && !ignored)
            rc = perr_set(err, "line %zu: unknown column \"%.40s\" (known: id, label, description, position)", h->line,
                          name);
        else if (slot && *slot >= 0)
            rc = perr_set(err, "line %zu: column \"%.40s\" given twice", h->line, name);
        else if (slot)
            *slot = (int)i;
        free(name);
        if (rc != 0)
            return rc;
    }
    if (c->label < 0)
        return perr_set(err, "line %zu: no \"label\" column (columns: id, label, description, position)", h->line);
    return 0;
}

static const char *field(const csv_record *r, int i)
{
    return i >= 0 ? r->fields[i] : NULL;
}

static int parse_csv(const char *data, size_t len, theme_set *out, perr *err)
{
    csv_reader rd;
    csv_reader_init(&rd, data, len);
    csv_record head = {0}, *rows = calloc(THEME_SET_MAX + 1, sizeof *rows);
    raw_set *rs = calloc(1, sizeof *rs);
    csv_columns c;
    int rc = rows && rs ? 0 : perr_set(err, "out of memory"), got = 0;
    while (rc == 0 && (got = csv_next(&rd, &head, err)) == 1 && head.blank)
        ;
    if (rc == 0 && got <= 0)
        rc = got < 0 ? -1 : perr_set(err, "no header line (columns: id, label, description, position)");
    if (rc == 0)
        rc = csv_header(&head, &c, err), rs->csv = 1;
    while (rc == 0 && (got = csv_next(&rd, &rows[rs->n], err)) == 1) {
        csv_record *r = &rows[rs->n];
        if (r->blank)
            continue;
        if (r->n != head.n)
            rc = perr_set(err, "line %zu: %zu fields where the header has %zu", r->line, r->n, head.n);
        else if (rs->n == THEME_SET_MAX)
            rc = perr_set(err, "more than %d themes (ids are the letters A..Z); merge some", THEME_SET_MAX);
        else
            rs->items[rs->n++] = (raw_theme){.id = field(r, c.id), .label = field(r, c.label),
                                             .description = field(r, c.description),
                                             .position = field(r, c.position), .where = r->line};
    }
    if (rc == 0 && got < 0)
        rc = -1;
    if (rc == 0)
        rc = finish(rs, out, err);
    for (size_t i = 0; rows && i <= THEME_SET_MAX; i++)
        csv_record_clear(&rows[i]);
    csv_record_clear(&head);
    free(rows);
    free(rs);
    return rc;
}

/* ---- reading -------------------------------------------------------------------- */

int theme_set_parse(const char *data, size_t len, theme_set_format format, theme_set *out, perr *err)
{
    *out = (theme_set){0};
    if (!utf8_valid(data, len) || memchr(data, '\0', len))
        return perr_set(err, "not valid UTF-8 text");
    size_t skip = len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    data += skip, len -= skip;
    if (format == THEME_SET_AUTO) {
        size_t i = 0;
        while (i < len && isspace((unsigned char)data[i]))
            i++;
        format = i < len && (data[i] == '[' || data[i] == '{') ? THEME_SET_JSON : THEME_SET_CSV;
    }
    int rc = format == THEME_SET_JSON ? parse_json(data, len, out, err) : parse_csv(data, len, out, err);
    if (rc != 0)
        theme_set_clear(out);
    return rc;
}

int theme_set_load_file(const char *path, theme_set_format format, theme_set *out, char sha256[65], perr *err)
{
    *out = (theme_set){0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path);
    char *buf = malloc(THEME_SET_MAX_FILE_BYTES + 1);
    size_t n = buf ? fread(buf, 1, THEME_SET_MAX_FILE_BYTES + 1, f) : 0;
    int rc = !buf ? perr_set(err, "out of memory") : ferror(f) ? perr_set(err, "%s: read error", path) : 0;
    fclose(f);
    if (rc == 0 && n > THEME_SET_MAX_FILE_BYTES)
        rc = perr_set(err, "%s: larger than %u bytes", path, THEME_SET_MAX_FILE_BYTES);
    if (rc == 0 && sha256)
        sha256_hex(buf, n, sha256);
    if (rc == 0 && theme_set_parse(buf, n, format ? format : theme_set_format_for_name(path), out, err) != 0)
        rc = perr_prefix(err, "%s", path);
    free(buf);
    return rc;
}
