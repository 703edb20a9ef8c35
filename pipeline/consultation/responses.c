/* responses.c — reading consultation responses from CSV, JSONL or JSON (see responses.h). */
#include "pipeline/consultation/responses.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"
#include "common/utf8.h"
#include "pipeline/consultation/csv.h"

static const char *const id_names[] = {"response_id", "id", NULL};
static const char *const text_names[] = {"response", "text", "answer", NULL};

/* ---- the set ----------------------------------------------------------------- */

/* "line N: " or "" into where. */
static void where_of(size_t line, char *where, size_t cap)
{
    where[0] = '\0';
    if (line)
        snprintf(where, cap, "line %zu: ", line);
}

static int check_id(const char *id, const char *where, perr *err)
{
    size_t len = strlen(id);
    if (len == 0)
        return perr_set(err, "%sempty response id", where);
    if (len > RESPONSES_MAX_ID_BYTES)
        return perr_set(err, "%sresponse id longer than %d bytes", where, RESPONSES_MAX_ID_BYTES);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return perr_set(err, "%sresponse id \"%.40s\" contains a control character", where, id);
    return 0;
}

int responses_add(response_set *set, const char *id, const char *text, size_t line, perr *err)
{
    char where[48];
    where_of(line, where, sizeof where);
    if (check_id(id, where, err) != 0)
        return -1;
    if (strlen(text) > RESPONSES_MAX_TEXT_BYTES)
        return perr_set(err, "%sresponse \"%.40s\" is longer than %u bytes", where, id, RESPONSES_MAX_TEXT_BYTES);
    if (set->n >= RESPONSES_MAX_ROWS)
        return perr_set(err, "%smore than %d responses", where, RESPONSES_MAX_ROWS);
    response *grown = grow_to(set->items, &set->cap, set->n + 1, sizeof *grown, 64);
    if (!grown)
        return perr_set(err, "out of memory");
    set->items = grown;
    response *r = &set->items[set->n];
    *r = (response){.id = strdup(id), .text = strdup(text), .line = line};
    if (!r->id || !r->text) {
        free(r->id);
        free(r->text);
        return perr_set(err, "out of memory");
    }
    set->n++;
    return 0;
}

static int by_id_then_line(const void *a, const void *b)
{
    const response *x = *(const response *const *)a, *y = *(const response *const *)b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

int responses_check_unique(const response_set *set, perr *err)
{
    if (set->n < 2)
        return 0;
    const response **sorted = malloc(set->n * sizeof *sorted);
    if (!sorted)
        return perr_set(err, "out of memory");
    for (size_t i = 0; i < set->n; i++)
        sorted[i] = &set->items[i];
    qsort(sorted, set->n, sizeof *sorted, by_id_then_line);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < set->n; i++) {
        if (strcmp(sorted[i - 1]->id, sorted[i]->id) != 0)
            continue;
        if (sorted[i]->line)
            rc = perr_set(err, "line %zu: response id \"%.60s\" is a duplicate (first on line %zu)", sorted[i]->line,
                          sorted[i]->id, sorted[i - 1]->line);
        else
            rc = perr_set(err, "response id \"%.60s\" appears twice", sorted[i]->id);
    }
    free(sorted);
    return rc;
}

void responses_clear(response_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].id);
        free(set->items[i].text);
    }
    free(set->items);
    *set = (response_set){0};
}

/* ---- input checks ------------------------------------------------------------ */

/* 0 when data is valid UTF-8 without NUL bytes, else -1 naming the line. */
static int check_utf8(const char *data, size_t len, perr *err)
{
    size_t line = 1;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)data + i, len - i, &cp);
        if (cp == UINT32_MAX)
            return perr_set(err, "line %zu: invalid UTF-8 (byte 0x%02x)", line, (unsigned char)data[i]);
        if (cp == 0)
            return perr_set(err, "line %zu: NUL byte", line);
        if (cp == '\n')
            line++;
        i += k;
    }
    return 0;
}

static int name_matches(const char *header, const char *name)
{
    while (*header == ' ' || *header == '\t')
        header++;
    size_t n = strlen(header);
    while (n > 0 && (header[n - 1] == ' ' || header[n - 1] == '\t'))
        n--;
    return n == strlen(name) && strncasecmp(header, name, n) == 0;
}

/* ---- CSV --------------------------------------------------------------------- */

/* Index of the column called want (or the first of names when want is
 * NULL); -1 with err listing the header otherwise. */
static int find_column(const csv_record *hdr, const char *want, const char *const *names, const char *what,
                       perr *err)
{
    for (size_t k = 0; want ? k < 1 : names[k] != NULL; k++)
        for (size_t i = 0; i < hdr->n; i++)
            if (name_matches(hdr->fields[i], want ? want : names[k]))
                return (int)i;
    char list[200] = "";
    for (size_t i = 0; i < hdr->n && strlen(list) < sizeof list - 40; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s\"%.30s\"", i ? ", " : "", hdr->fields[i]);
    if (want)
        perr_set(err, "line %zu: no %s column named \"%.60s\" in the header (%s)", hdr->line, what, want, list);
    else
        perr_set(err, "line %zu: no %s column in the header (%s); expected one named %s%s%s%s%s", hdr->line, what,
                 list, names[0], names[1] ? ", " : "", names[1] ? names[1] : "", names[1] && names[2] ? ", " : "",
                 names[1] && names[2] ? names[2] : "");
    return -1;
}

typedef struct csv_columns {
    int id, text;                /* id -1: row numbers */
    size_t n_fields;
} csv_columns;

static int csv_header(csv_reader *r, const responses_options *opt, csv_columns *cols, perr *err)
{
    csv_record hdr = {0};
    int rc;
    while ((rc = csv_next(r, &hdr, err)) == 1 && hdr.blank)
        ;
    if (rc == 0)
        return perr_set(err, "no header line");
    if (rc < 0)
        return -1;
    cols->n_fields = hdr.n;
    int by_row = opt && opt->id_column && strcmp(opt->id_column, "@row") == 0;
    cols->id = -1;
    rc = 0;
    if (!by_row && (cols->id = find_column(&hdr, opt ? opt->id_column : NULL, id_names, "id", err)) < 0)
        rc = -1;
    if (rc == 0 && (cols->text = find_column(&hdr, opt ? opt->text_column : NULL, text_names, "text", err)) < 0)
        rc = -1;
    if (rc == 0 && cols->id == cols->text)
        rc = perr_set(err, "line %zu: the id and text columns are the same column", hdr.line);
    csv_record_clear(&hdr);
    return rc;
}

static int parse_csv(const char *data, size_t len, const responses_options *opt, response_set *out, perr *err)
{
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    csv_reader r;
    csv_reader_init(&r, data, len);
    csv_columns cols = {0};
    if (csv_header(&r, opt, &cols, err) != 0)
        return -1;
    csv_record rec = {0};
    size_t row = 0;
    int rc;
    while ((rc = csv_next(&r, &rec, err)) == 1) {
        if (rec.blank)
            continue;
        row++;
        if (rec.n != cols.n_fields) {
            rc = perr_set(err, "line %zu: %zu fields, but the header has %zu", rec.line, rec.n, cols.n_fields);
            break;
        }
        char row_id[24];
        snprintf(row_id, sizeof row_id, "%zu", row);
        const char *id = cols.id < 0 ? row_id : rec.fields[cols.id];
        if (responses_add(out, id, rec.fields[cols.text], rec.line, err) != 0) {
            rc = -1;
            break;
        }
    }
    csv_record_clear(&rec);
    return rc < 0 ? -1 : 0;
}

/* ---- JSON objects (JSONL lines, JSON array items) ----------------------------- */

static const cJSON *first_key(const cJSON *o, const char *const *names)
{
    for (size_t i = 0; names[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, names[i]);
        if (v && !cJSON_IsNull(v))
            return v;
    }
    return NULL;
}

/* One object; where is "line 3" or "item 3". */
static int add_object(response_set *out, const cJSON *o, const char *where, size_t line, perr *err)
{
    if (!cJSON_IsObject(o))
        return perr_set(err, "%s: not a JSON object", where);
    const cJSON *id = first_key(o, id_names), *text = first_key(o, text_names);
    if (!id)
        return perr_set(err, "%s: no \"response_id\" or \"id\"", where);
    if (!text)
        return perr_set(err, "%s: no \"response\", \"text\" or \"answer\"", where);
    if (!cJSON_IsString(text))
        return perr_set(err, "%s: the response text must be a string", where);
    char number[32];
    const char *id_text = NULL;
    if (cJSON_IsString(id)) {
        id_text = id->valuestring;
    } else if (cJSON_IsNumber(id) && isfinite(id->valuedouble) && id->valuedouble == floor(id->valuedouble) &&
               fabs(id->valuedouble) <= 9007199254740991.0) {
        snprintf(number, sizeof number, "%lld", (long long)id->valuedouble);
        id_text = number;
    } else {
        return perr_set(err, "%s: the response id must be a string or an integer", where);
    }
    if (responses_add(out, id_text, text->valuestring, line, err) != 0)
        return line ? -1 : perr_prefix(err, "%s", where);
    return 0;
}

static int blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static int parse_jsonl(const char *data, size_t len, response_set *out, perr *err)
{
    size_t line = 0;
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        line++;
        if (!blank_line(p, n)) {
            char where[32];
            snprintf(where, sizeof where, "line %zu", line);
            cJSON *o = cJSON_ParseWithLength(p, n);
            if (!o)
                return perr_set(err, "line %zu: not valid JSON", line);
            int rc = add_object(out, o, where, line, err);
            cJSON_Delete(o);
            if (rc != 0)
                return -1;
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

static int parse_json_array(const char *data, size_t len, response_set *out, perr *err)
{
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (!root)
        return perr_set(err, "not valid JSON");
    int rc = cJSON_IsArray(root) ? 0 : perr_set(err, "a JSON response file must hold an array of objects");
    size_t i = 0;
    for (const cJSON *o = root->child; rc == 0 && o; o = o->next, i++) {
        char where[32];
        snprintf(where, sizeof where, "item %zu", i + 1);
        rc = add_object(out, o, where, 0, err);
    }
    cJSON_Delete(root);
    return rc;
}

/* ---- entry points --------------------------------------------------------------- */

static responses_format sniff(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    if (i < len && data[i] == '[')
        return RESPONSES_JSON;
    if (i < len && data[i] == '{')
        return RESPONSES_JSONL;
    return RESPONSES_CSV;
}

responses_format responses_format_for_name(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot)
        return RESPONSES_AUTO;
    if (strcasecmp(dot, ".csv") == 0)
        return RESPONSES_CSV;
    if (strcasecmp(dot, ".jsonl") == 0 || strcasecmp(dot, ".ndjson") == 0)
        return RESPONSES_JSONL;
    if (strcasecmp(dot, ".json") == 0)
        return RESPONSES_JSON;
    return RESPONSES_AUTO;
}

int responses_parse(const char *data, size_t len, const responses_options *opt, response_set *out, perr *err)
{
    *out = (response_set){0};
    if (len > RESPONSES_MAX_FILE_BYTES)
        return perr_set(err, "responses larger than %u bytes", RESPONSES_MAX_FILE_BYTES);
    if (check_utf8(data, len, err) != 0)
        return -1;
    responses_format f = opt ? opt->format : RESPONSES_AUTO;
    if (f == RESPONSES_AUTO)
        f = sniff(data, len);
    int rc = f == RESPONSES_CSV     ? parse_csv(data, len, opt, out, err)
             : f == RESPONSES_JSONL ? parse_jsonl(data, len, out, err)
                                    : parse_json_array(data, len, out, err);
    if (rc == 0 && out->n == 0)
        rc = perr_set(err, "no responses");
    if (rc == 0)
        rc = responses_check_unique(out, err);
    if (rc != 0)
        responses_clear(out);
    return rc;
}

int responses_load_file(const char *path, const responses_options *opt, response_set *out, perr *err)
{
    *out = (response_set){0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return perr_errno(err, "cannot open %s", path);
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    while (rc == 0) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *grown = cap <= 2 * (size_t)RESPONSES_MAX_FILE_BYTES ? realloc(buf, cap + 1) : NULL;
            if (!grown) {
                rc = perr_set(err, "%s: %s", path, cap > 2 * (size_t)RESPONSES_MAX_FILE_BYTES ? "too large" : "out of memory");
                break;
            }
            buf = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n > RESPONSES_MAX_FILE_BYTES)
            rc = perr_set(err, "%s: larger than %u bytes", path, RESPONSES_MAX_FILE_BYTES);
        else if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = perr_set(err, "%s: read error", path);
    fclose(f);
    if (rc == 0) {
        responses_options o = opt ? *opt : (responses_options){0};
        if (o.format == RESPONSES_AUTO)
            o.format = responses_format_for_name(path);
        rc = responses_parse(buf ? buf : "", n, &o, out, err);
        if (rc != 0)
            perr_prefix(err, "%s", path);
    }
    free(buf);
    return rc;
}
