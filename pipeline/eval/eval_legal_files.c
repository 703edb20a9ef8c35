/* eval_legal_files.c — labelled Yes/No datasets (tab-separated, LegalBench's
 * format) and answers files (JSONL) read for evaluation (see eval_legal.h). */
#include "pipeline/eval/eval_legal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"
#include "common/utf8.h"
#include "pipeline/eval/eval_items.h"

/* ---- answers ---------------------------------------------------------------- */

/* s[0..n) without the spaces around it. */
static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int answer_of(const char *s, size_t n, eval_answer *a)
{
    trim(&s, &n);
    if (n == 3 && strncasecmp(s, "yes", 3) == 0)
        *a = EVAL_ANSWER_YES;
    else if (n == 2 && strncasecmp(s, "no", 2) == 0)
        *a = EVAL_ANSWER_NO;
    else
        return -1;
    return 0;
}

int eval_answer_parse(const char *s, eval_answer *a)
{
    return answer_of(s, strlen(s), a);
}

const char *eval_answer_text(eval_answer a)
{
    return a == EVAL_ANSWER_YES ? "Yes" : a == EVAL_ANSWER_NO ? "No" : NULL;
}

/* ---- the dataset: records of tab-separated fields ------------------------------ */

typedef struct tsv_reader {
    const char *p, *end;
    size_t line;                 /* of p */
} tsv_reader;

typedef struct tsv_record {
    char **fields;
    size_t n, cap;
    size_t line;                 /* where it starts */
} tsv_record;

static void record_clear(tsv_record *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->fields[i]);
    free(r->fields);
    *r = (tsv_record){0};
}

static int record_add(tsv_record *r, char *field, perr *err)
{
    char **grown = field ? grow_to(r->fields, &r->cap, r->n + 1, sizeof *grown, 4) : NULL;
    if (!grown) {
        free(field);
        return perr_set(err, "out of memory");
    }
    r->fields = grown;
    r->fields[r->n++] = field;
    return 0;
}

/* At a field's end: a tab, a line end (LF or CRLF) or the end of the file. */
static int at_field_end(const tsv_reader *r)
{
    const char *p = r->p;
    return p == r->end || *p == '\t' || *p == '\n' || (*p == '\r' && (p + 1 == r->end || p[1] == '\n'));
}

/* A field that starts with '"': up to the closing quote, "" as one quote. */
static int quoted_field(tsv_reader *r, char **out, perr *err)
{
    size_t start = r->line, n = 0, cap = 0;
    char *buf = NULL;
    r->p++;
    for (;;) {
        char *grown = n + 2 > cap ? grow_to(buf, &cap, n + 2, 1, 256) : buf;
        if (!grown) {
            free(buf);
            return perr_set(err, "out of memory");
        }
        buf = grown;
        if (r->p == r->end) {
            free(buf);
            return perr_set(err, "line %zu: a quoted field is never closed (a quote inside a quoted field is "
                                 "written twice)", start);
        }
        if (*r->p == '"' && r->p + 1 < r->end && r->p[1] == '"') {
            buf[n++] = '"';
            r->p += 2;
            continue;
        }
        if (*r->p == '"')
            break;
        r->line += *r->p == '\n';
        buf[n++] = *r->p++;
    }
    r->p++;
    buf[n] = '\0';
    if (!at_field_end(r)) {
        free(buf);
        return perr_set(err, "line %zu: text after the closing quote of a quoted field (a field that starts with "
                             "a quote must be quoted whole, with the quotes inside it doubled)", r->line);
    }
    *out = buf;
    return 0;
}

static int plain_field(tsv_reader *r, char **out, perr *err)
{
    const char *s = r->p;
    while (!at_field_end(r))
        r->p++;
    if (!(*out = strndup(s, (size_t)(r->p - s))))
        return perr_set(err, "out of memory");
    return 0;
}

/* The record at r (which is not at the end of the file), and the line end after it. */
static int read_record(tsv_reader *r, tsv_record *rec, perr *err)
{
    *rec = (tsv_record){.line = r->line};
    for (;;) {
        char *field = NULL;
        int rc = r->p < r->end && *r->p == '"' ? quoted_field(r, &field, err) : plain_field(r, &field, err);
        if (rc != 0 || record_add(rec, field, err) != 0) {
            record_clear(rec);
            return -1;
        }
        if (r->p < r->end && *r->p == '\t') {
            r->p++;
            continue;
        }
        r->p += r->p < r->end && *r->p == '\r';
        if (r->p < r->end) {
            r->p++;               /* the '\n' */
            r->line++;
        }
        return 0;
    }
}

/* Skip the line at r when it holds nothing but spaces, tabs and CR: 1 if skipped. */
static int skip_blank_line(tsv_reader *r)
{
    const char *p = r->p;
    while (p < r->end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    if (p < r->end && *p != '\n')
        return 0;
    r->p = p < r->end ? p + 1 : p;
    r->line++;
    return 1;
}

/* ---- the dataset: columns and items ------------------------------------------- */

typedef struct columns {
    size_t n;                    /* fields per line */
    int label, text, slice;      /* field index; slice -1 = none */
} columns;

static int field_is(const char *field, const char *name)
{
    const char *s = field;
    size_t n = strlen(field);
    trim(&s, &n);
    return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

/* A header names a column: no item's label is "label", "answer", "text" or "slice". */
static int is_header(const tsv_record *rec)
{
    static const char *const names[] = {"label", "answer", "text", "slice"};
    for (size_t i = 0; i < rec->n; i++)
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (field_is(rec->fields[i], names[k]))
                return 1;
    return 0;
}

static int take_column(int *col, size_t i, const char *name, size_t line, perr *err)
{
    if (*col >= 0)
        return perr_set(err, "line %zu: the header names column \"%s\" twice", line, name);
    *col = (int)i;
    return 0;
}

static int header_columns(const tsv_record *rec, columns *c, perr *err)
{
    *c = (columns){.n = rec->n, .label = -1, .text = -1, .slice = -1};
    for (size_t i = 0; i < rec->n; i++) {
        const char *f = rec->fields[i];
        int rc = 0;
        if (field_is(f, "label") || field_is(f, "answer"))
            rc = take_column(&c->label, i, "label", rec->line, err);
        else if (field_is(f, "text"))
            rc = take_column(&c->text, i, "text", rec->line, err);
        else if (field_is(f, "slice"))
            rc = take_column(&c->slice, i, "slice", rec->line, err);
        if (rc != 0)
            return -1;
    }
    if (c->text < 0)
        return perr_set(err, "line %zu: the header has no \"text\" column", rec->line);
    if (c->label < 0)
        return perr_set(err, "line %zu: the header has no \"label\" (or \"answer\") column", rec->line);
    return 0;
}

static int positional_columns(const tsv_record *rec, columns *c, perr *err)
{
    if (rec->n < 2 || rec->n > 3)
        return perr_set(err, "line %zu: %zu fields where label, text and an optional slice are expected (a tab "
                             "inside a field must be quoted)", rec->line, rec->n);
    *c = (columns){.n = rec->n, .label = 0, .text = 1, .slice = rec->n == 3 ? 2 : -1};
    return 0;
}

static char *trimmed_copy(const char *s)
{
    size_t n = strlen(s);
    trim(&s, &n);
    return strndup(s, n);
}

static int make_item(const tsv_record *rec, const columns *c, eval_legal_item *it, perr *err)
{
    if (rec->n != c->n)
        return perr_set(err, "line %zu: %zu fields where %zu are expected (a tab inside a field must be quoted)",
                        rec->line, rec->n, c->n);
    *it = (eval_legal_item){.line = rec->line};
    if (eval_answer_parse(rec->fields[c->label], &it->label) != 0)
        return perr_set(err, "line %zu: label \"%.40s\" is neither Yes nor No", rec->line, rec->fields[c->label]);
    it->text = trimmed_copy(rec->fields[c->text]);
    it->slice = trimmed_copy(c->slice >= 0 ? rec->fields[c->slice] : "");
    if (!it->text || !it->slice) {
        free(it->text);
        free(it->slice);
        return perr_set(err, "out of memory");
    }
    if (!it->text[0]) {
        free(it->text);
        free(it->slice);
        return perr_set(err, "line %zu: the text is empty", rec->line);
    }
    return 0;
}

static int push_item(eval_legal_set *set, eval_legal_item *it, perr *err)
{
    eval_legal_item *grown = grow_to(set->items, &set->cap, set->n + 1, sizeof *grown, 64);
    if (!grown) {
        free(it->text);
        free(it->slice);
        return perr_set(err, "out of memory");
    }
    set->items = grown;
    set->items[set->n++] = *it;
    return 0;
}

/* One record: the header (first record only), or an item. */
static int take_record(const tsv_record *rec, int first, columns *c, eval_legal_set *set, perr *err)
{
    if (first && is_header(rec))
        return header_columns(rec, c, err);
    if (first && positional_columns(rec, c, err) != 0)
        return -1;
    eval_legal_item it;
    return make_item(rec, c, &it, err) == 0 ? push_item(set, &it, err) : -1;
}

/* The line of the first byte of data that is not valid UTF-8 (or a NUL). */
static size_t invalid_utf8_line(const char *data, size_t len)
{
    size_t line = 1;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)data + i, len - i, &cp);
        if (cp == UINT32_MAX || cp == 0)
            return line;
        line += cp == '\n';
        i += k;
    }
    return line;
}

int eval_legal_parse(const char *data, size_t len, eval_legal_set *set, perr *err)
{
    *set = (eval_legal_set){0};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        data += 3, len -= 3;
    if (!utf8_valid(data, len))
        return perr_set(err, "line %zu: not valid UTF-8 text", invalid_utf8_line(data, len));
    tsv_reader r = {.p = data, .end = data + len, .line = 1};
    columns c = {.label = -1};
    int first = 1, rc = 0;
    while (rc == 0 && r.p < r.end) {
        if (skip_blank_line(&r))
            continue;
        tsv_record rec;
        if ((rc = read_record(&r, &rec, err)) != 0)
            break;
        rc = take_record(&rec, first, &c, set, err);
        record_clear(&rec);
        first = 0;
    }
    if (rc == 0 && set->n == 0)
        rc = perr_set(err, "no items");
    if (rc != 0)
        eval_legal_set_clear(set);
    return rc;
}

void eval_legal_set_clear(eval_legal_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->items[i].text);
        free(set->items[i].slice);
    }
    free(set->items);
    *set = (eval_legal_set){0};
}

int eval_legal_read(const char *path, eval_legal_set *set, perr *err)
{
    size_t len = 0;
    *set = (eval_legal_set){0};
    char *data = eval_file_read(path, &len, err);
    if (!data)
        return -1;
    int rc = eval_legal_parse(data, len, set, err);
    free(data);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}

/* ---- answers files --------------------------------------------------------------- */

static int read_index(const cJSON *o, size_t n, size_t *index, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "index");
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0)
        return perr_set(err, "no \"index\" (a whole number from 0)");
    if (n == 0)
        return perr_set(err, "the dataset has no items");
    if (v->valuedouble >= (double)n)
        return perr_set(err, "index %.0f is out of range: the dataset has %zu items, 0..%zu", v->valuedouble, n,
                        n - 1);
    *index = (size_t)v->valuedouble;
    return 0;
}

static int read_answer(const cJSON *o, eval_answer *a, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "answer");
    *a = EVAL_ANSWER_NONE;
    if (cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v) || eval_answer_parse(v->valuestring, a) != 0)
        return perr_set(err, "\"answer\" must be \"Yes\", \"No\" or null");
    return 0;
}

/* One line's object into answers (seen[i]: the line that answered item i). */
static int take_answer(const char *text, size_t len, size_t n, eval_answer *answers, size_t *seen, size_t line,
                       perr *err)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    size_t index = 0;
    eval_answer a;
    int rc = cJSON_IsObject(o) ? 0 : perr_set(err, o ? "not a JSON object" : "not valid JSON");
    if (rc == 0)
        rc = read_index(o, n, &index, err);
    if (rc == 0)
        rc = read_answer(o, &a, err);
    cJSON_Delete(o);
    if (rc == 0 && seen[index])
        rc = perr_set(err, "index %zu is answered twice (first on line %zu)", index, seen[index]);
    if (rc != 0)
        return -1;
    seen[index] = line;
    answers[index] = a;
    return 0;
}

/* Whether s[0..n) holds only spaces, tabs and CRs. */
static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

static int parse_answers(const char *data, size_t len, size_t n, eval_answer *answers, size_t *seen, perr *err)
{
    size_t line = 0;
    for (const char *p = data; p < data + len;) {
        const char *nl = memchr(p, '\n', (size_t)(data + len - p));
        size_t k = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
        line++;
        if (!blank(p, k) && take_answer(p, k, n, answers, seen, line, err) != 0)
            return perr_prefix(err, "line %zu", line);
        p += k + (nl ? 1 : 0);
    }
    return 0;
}

int eval_legal_answers_parse(const char *data, size_t len, size_t n, eval_answer *answers, perr *err)
{
    for (size_t i = 0; i < n; i++)
        answers[i] = EVAL_ANSWER_NONE;
    size_t *seen = calloc(n ? n : 1, sizeof *seen);
    int rc = seen ? parse_answers(data, len, n, answers, seen, err) : perr_set(err, "out of memory");
    free(seen);
    return rc;
}

int eval_legal_answers_read(const char *path, size_t n, eval_answer *answers, perr *err)
{
    size_t len = 0;
    char *data = eval_file_read(path, &len, err);
    if (!data)
        return -1;
    int rc = eval_legal_answers_parse(data, len, n, answers, err);
    free(data);
    return rc == 0 ? 0 : perr_prefix(err, "%s", path);
}
