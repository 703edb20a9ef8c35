/* twin.c — the counterfactual twin of a document (see twin.h). */
#include "pipeline/analyses/twin.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>


/* ---- rules --------------------------------------------------------------------------- */

static int has_from(const twin_rules *r, const char *from)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->pairs[i].from, from) == 0)
            return 1;
    return 0;
}

static int add_pair(twin_rules *r, const char *from, const char *to, const char *cls, perr *err)
{
    if (has_from(r, from))
        return 0;
    twin_pair *p = realloc(r->pairs, (r->n + 1) * sizeof *p);
    if (!p)
        return perr_set(err, "out of memory");
    r->pairs = p;
    twin_pair *n = &r->pairs[r->n];
    n->from = strdup(from);
    n->to = strdup(to);
    n->cls = strdup(cls);
    if (!n->from || !n->to || !n->cls) {
        free(n->from);
        free(n->to);
        free(n->cls);
        return perr_set(err, "out of memory");
    }
    r->n++;
    return 0;
}

/* A term: valid UTF-8, not empty, no leading or trailing space. */
static int term_ok(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && g_utf8_validate(s, (gssize)len, NULL) && !g_ascii_isspace(s[0]) &&
           !g_ascii_isspace(s[len - 1]);
}

static int add_class(twin_rules *r, const char *cls, const cJSON *pairs, perr *err)
{
    if (!cJSON_IsArray(pairs))
        return perr_set(err, "class %s: not an array of [term, term] pairs", cls);
    const cJSON *p;
    int i = 0;
    cJSON_ArrayForEach(p, pairs)
    {
        const cJSON *a = cJSON_GetArrayItem(p, 0), *b = cJSON_GetArrayItem(p, 1);
        if (cJSON_GetArraySize(p) != 2 || !cJSON_IsString(a) || !cJSON_IsString(b) || !term_ok(a->valuestring) ||
            !term_ok(b->valuestring))
            return perr_set(err, "class %s, pair %d: want two non-empty terms", cls, i);
        if (add_pair(r, a->valuestring, b->valuestring, cls, err) != 0 ||
            add_pair(r, b->valuestring, a->valuestring, cls, err) != 0)
            return -1;
        i++;
    }
    return 0;
}

int twin_rules_add_attributes(twin_rules *r, const char *json, perr *err)
{
    cJSON *o = cJSON_Parse(json);
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(o, "classes");
    if (!cJSON_IsObject(classes)) {
        cJSON_Delete(o);
        return perr_set(err, "twin attributes: want an object with \"classes\"");
    }
    int rc = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, classes)
    {
        if (rc == 0 && strcmp(c->string, "party") == 0)
            rc = perr_set(err, "twin attributes: \"party\" is the class of the parties' names");
        if (rc == 0)
            rc = add_class(r, c->string, c, err);
    }
    cJSON_Delete(o);
    return rc == 0 ? 0 : perr_prefix(err, "twin attributes");
}

int twin_rules_add_party(twin_rules *r, const char *name, const char *replacement, perr *err)
{
    if (!term_ok(name) || !term_ok(replacement))
        return perr_set(err, "twin party: want a non-empty name and replacement");
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->pairs[i].cls, "party") == 0 && strcmp(r->pairs[i].from, name) == 0)
            return perr_set(err, "twin party: %s is listed twice", name);
    if (add_pair(r, name, replacement, "party", err) != 0)
        return -1;
    return add_pair(r, replacement, name, "party", err);
}

void twin_rules_clear(twin_rules *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->pairs[i].from);
        free(r->pairs[i].to);
        free(r->pairs[i].cls);
    }
    free(r->pairs);
    r->pairs = NULL;
    r->n = 0;
}

/* ---- matching ------------------------------------------------------------------------ */

static int is_word_char(gunichar c)
{
    return g_unichar_isalnum(c) || g_unichar_ismark(c);
}

/* Whether a word starts at byte i of text (len bytes). */
static int word_starts(const char *text, size_t i)
{
    if (i == 0)
        return 1;
    const char *prev = g_utf8_find_prev_char(text, text + i);
    return !prev || !is_word_char(g_utf8_get_char(prev));
}

static int word_ends(const char *text, size_t len, size_t i)
{
    return i >= len || !is_word_char(g_utf8_get_char(text + i));
}

/* The case of a matched span: 0 as written, 1 capitalized, 2 all capitals. */
static int case_of(const char *s, size_t len)
{
    int letters = 0, upper = 0;
    for (const char *p = s; p < s + len; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isalpha(c)) {
            letters++;
            upper += g_unichar_isupper(c) != 0;
        }
    }
    gunichar first = g_utf8_get_char(s);
    if (letters > 1 && upper == letters)
        return 2;
    return g_unichar_isupper(first) ? 1 : 0;
}

/* Whether text at i matches term (tlen bytes) ignoring case, by the same
 * byte length; *span gets the length. */
static int matches_folded(const char *text, size_t len, size_t i, const char *term, size_t tlen, size_t *span)
{
    if (i + tlen > len)
        return 0;
    *span = tlen;
    int ascii = 1;
    for (size_t k = 0; k < tlen && ascii; k++)
        ascii = (unsigned char)term[k] < 0x80;
    if (ascii)
        return g_ascii_strncasecmp(text + i, term, tlen) == 0;
    if (!g_utf8_validate(text + i, (gssize)tlen, NULL))
        return 0;
    gchar *a = g_utf8_casefold(text + i, (gssize)tlen), *b = g_utf8_casefold(term, (gssize)tlen);
    int same = strcmp(a, b) == 0;
    g_free(a);
    g_free(b);
    return same;
}

/* Whether pair p matches at byte i: attributes ignoring case, party names
 * as given or in capitals. */
static int pair_matches(const twin_pair *p, const char *text, size_t len, size_t i, size_t *span)
{
    size_t tlen = strlen(p->from);
    if (strcmp(p->cls, "party") != 0)
        return matches_folded(text, len, i, p->from, tlen, span) && word_ends(text, len, i + tlen);
    if (i + tlen > len || !word_ends(text, len, i + tlen))
        return 0;
    *span = tlen;
    if (memcmp(text + i, p->from, tlen) == 0)
        return 1;
    gchar *up = g_utf8_strup(p->from, (gssize)tlen);
    int same = strlen(up) == tlen && memcmp(text + i, up, tlen) == 0;
    g_free(up);
    return same;
}

/* The rule order: longest term first, then party names, then as listed. */
typedef struct ranked {
    const twin_pair *p;
    size_t len, index;
} ranked;

static int rank_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    int xp = strcmp(x->p->cls, "party") == 0, yp = strcmp(y->p->cls, "party") == 0;
    if (xp != yp)
        return xp ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static ranked *rank_rules(const twin_rules *r)
{
    ranked *k = malloc((r->n ? r->n : 1) * sizeof *k);
    if (!k)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        k[i] = (ranked){&r->pairs[i], strlen(r->pairs[i].from), i};
    qsort(k, r->n, sizeof *k, rank_cmp);
    return k;
}

/* ---- building -------------------------------------------------------------------------- */

/* The replacement of pair p for the matched span s, in the span's case
 * (party names: as given, or capitals for a span in capitals). */
static gchar *replacement(const twin_pair *p, const char *s, size_t len)
{
    int c = case_of(s, len);
    if (c == 2)
        return g_utf8_strup(p->to, -1);
    if (c == 1 && strcmp(p->cls, "party") != 0) {
        gunichar first = g_unichar_toupper(g_utf8_get_char(p->to));
        char buf[8];
        int n = g_unichar_to_utf8(first, buf);
        return g_strdup_printf("%.*s%s", n, buf, g_utf8_next_char(p->to));
    }
    return g_strdup(p->to);
}

static int add_edit(twin *t, size_t *cap, twin_edit e, perr *err)
{
    if (t->n_edits == *cap) {
        size_t n = *cap ? 2 * *cap : 64;
        twin_edit *g = realloc(t->edits, n * sizeof *g);
        if (!g)
            return perr_set(err, "out of memory");
        t->edits = g;
        *cap = n;
    }
    t->edits[t->n_edits++] = e;
    return 0;
}

/* The first rule that matches at i, or NULL. */
static const twin_pair *match_at(const ranked *k, size_t n, const char *text, size_t len, size_t i, size_t *span)
{
    for (size_t j = 0; j < n; j++)
        if (pair_matches(k[j].p, text, len, i, span))
            return k[j].p;
    return NULL;
}

int twin_build(const char *text, const twin_rules *r, twin *out, perr *err)
{
    memset(out, 0, sizeof *out);
    const size_t len = strlen(text);
    if (!g_utf8_validate(text, (gssize)len, NULL))
        return perr_set(err, "twin: the document is not valid UTF-8");
    ranked *k = rank_rules(r);
    GString *twin_text = g_string_sized_new(len + 16);
    out->original = strdup(text);
    size_t cap = 0;
    int rc = k && out->original ? 0 : perr_set(err, "out of memory");
    for (size_t i = 0; rc == 0 && i < len;) {
        size_t span = 0;
        const twin_pair *p = word_starts(text, i) ? match_at(k, r->n, text, len, i, &span) : NULL;
        if (!p) {
            const char *next = g_utf8_next_char(text + i);
            g_string_append_len(twin_text, text + i, next - (text + i));
            i = (size_t)(next - text);
            continue;
        }
        gchar *to = replacement(p, text + i, span);
        twin_edit e = {i, i + span, twin_text->len, twin_text->len + strlen(to), p->cls};
        g_string_append(twin_text, to);
        g_free(to);
        rc = add_edit(out, &cap, e, err);
        i += span;
    }
    free(k);
    out->len = twin_text->len;
    out->text = g_string_free(twin_text, FALSE);
    if (rc != 0)
        twin_clear(out);
    return rc;
}

/* ---- mapping back ------------------------------------------------------------------------ */

char *twin_restore(const twin *t)
{
    GString *s = g_string_sized_new(t->len);
    size_t at = 0;
    for (size_t i = 0; i < t->n_edits; i++) {
        const twin_edit *e = &t->edits[i];
        g_string_append_len(s, t->text + at, (gssize)(e->twin_start - at));
        g_string_append_len(s, t->original + e->orig_start, (gssize)(e->orig_end - e->orig_start));
        at = e->twin_end;
    }
    g_string_append_len(s, t->text + at, (gssize)(t->len - at));
    char *copy = strdup(s->str);
    g_string_free(s, TRUE);
    return copy;
}

/* Edits whose twin span starts before off (at or before it when
 * at_too), by binary search. */
static size_t edits_starting_before(const twin *t, size_t off, int at_too)
{
    size_t lo = 0, hi = t->n_edits;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t s = t->edits[mid].twin_start;
        if (s < off || (at_too && s == off))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The original offset of twin offset off taken as a span's start (inside
 * an edit: the edit's original start) or end (its original end); outside
 * edits, shifted by the edits before it. */
static size_t to_original(const twin *t, size_t off, int as_end)
{
    size_t n = edits_starting_before(t, off, !as_end);
    if (n == 0)
        return off;
    const twin_edit *e = &t->edits[n - 1];
    if (as_end ? off <= e->twin_end : off < e->twin_end)
        return as_end ? e->orig_end : e->orig_start;
    return off - e->twin_end + e->orig_end;
}

void twin_span_to_original(const twin *t, size_t start, size_t end, size_t *orig_start, size_t *orig_end)
{
    *orig_start = to_original(t, start, 0);
    *orig_end = to_original(t, end, 1);
}

size_t twin_count(const twin *t, const char *cls)
{
    size_t n = 0;
    for (size_t i = 0; i < t->n_edits; i++)
        n += !cls || strcmp(t->edits[i].cls, cls) == 0;
    return n;
}

void twin_clear(twin *t)
{
    g_free(t->text);
    free(t->edits);
    free(t->original);
    memset(t, 0, sizeof *t);
}
