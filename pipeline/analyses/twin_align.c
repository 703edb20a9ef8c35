/* twin_align.c — the original's and the twin's findings side by side (see
 * twin_align.h). */
#include "pipeline/analyses/twin_align.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm/structured.h"

/* The finding's span in the original, or 0 when its quote was not found. */
static int span_of(const cJSON *f, double *start, double *end)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "start"), *e = cJSON_GetObjectItemCaseSensitive(f, "end");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "verified")) || !cJSON_IsNumber(s) || !cJSON_IsNumber(e))
        return 0;
    *start = s->valuedouble;
    *end = e->valuedouble;
    return 1;
}

/* Code points two verified findings share in the original (0: none). */
static double overlap(const cJSON *a, const cJSON *b)
{
    double as, ae, bs, be;
    if (!span_of(a, &as, &ae) || !span_of(b, &bs, &be))
        return 0;
    double lo = as > bs ? as : bs, hi = ae < be ? ae : be;
    return hi > lo ? hi - lo : 0;
}

/* The quote with whitespace runs collapsed, trimmed and case-folded. */
static char *quote_key(const cJSON *f)
{
    GString *s = g_string_new(NULL);
    int space = 0;
    for (const char *p = structured_string(f, "quote"); *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_isspace(c)) {
            space = s->len > 0;
            continue;
        }
        if (space)
            g_string_append_c(s, ' ');
        space = 0;
        g_string_append_unichar(s, c);
    }
    char *folded = g_utf8_casefold(s->str, -1);
    g_string_free(s, TRUE);
    return folded;
}

static int same_quote(const cJSON *a, const cJSON *b)
{
    char *x = quote_key(a), *y = quote_key(b);
    int same = *x && strcmp(x, y) == 0;
    g_free(x);
    g_free(y);
    return same;
}

static int same_category(const cJSON *a, const cJSON *b)
{
    return strcmp(structured_string(a, "category"), structured_string(b, "category")) == 0;
}

/* The unused twin finding that is the same finding as o, or -1. */
static int partner_of(const cJSON *o, cJSON *const *twin, size_t n, const char *used)
{
    int best = -1;
    double most = 0;
    for (size_t j = 0; j < n; j++) {
        if (used[j] || !same_category(o, twin[j]))
            continue;
        double shared = overlap(o, twin[j]);
        if (shared > most) {
            most = shared;
            best = (int)j;
        }
    }
    for (size_t j = 0; best < 0 && j < n; j++)
        if (!used[j] && same_category(o, twin[j]) && same_quote(o, twin[j]))
            best = (int)j;
    return best;
}

static void add_pair(cJSON *pairs, const char *status, const cJSON *o, const cJSON *t)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "status", status);
    cJSON_AddStringToObject(p, "category", structured_string(o ? o : t, "category"));
    cJSON_AddItemToObject(p, "original", o ? cJSON_Duplicate(o, 1) : cJSON_CreateNull());
    cJSON_AddItemToObject(p, "twin", t ? cJSON_Duplicate(t, 1) : cJSON_CreateNull());
    cJSON_AddItemToArray(pairs, p);
}

cJSON *twin_align(const cJSON *original, const cJSON *twin, perr *err)
{
    if (!cJSON_IsArray(original) || !cJSON_IsArray(twin)) {
        perr_set(err, "twin alignment: the findings must be arrays");
        return NULL;
    }
    size_t n = (size_t)cJSON_GetArraySize(twin);
    cJSON **t = calloc(n ? n : 1, sizeof *t);
    char *used = calloc(n ? n : 1, 1);
    cJSON *out = cJSON_CreateObject(), *pairs = cJSON_CreateArray();
    if (!t || !used || !out || !pairs) {
        free(t);
        free(used);
        cJSON_Delete(out);
        cJSON_Delete(pairs);
        perr_set(err, "out of memory");
        return NULL;
    }
    size_t k = 0, same = 0, sensitive = 0;
    for (cJSON *f = twin->child; f; f = f->next)
        t[k++] = f;
    for (const cJSON *o = original->child; o; o = o->next) {
        int j = partner_of(o, t, n, used);
        if (j < 0) {
            add_pair(pairs, "only_original", o, NULL);
            sensitive++;
            continue;
        }
        used[j] = 1;
        int changed = strcmp(structured_string(o, "severity"), structured_string(t[j], "severity")) != 0;
        add_pair(pairs, changed ? "severity_changed" : "same", o, t[j]);
        changed ? sensitive++ : same++;
    }
    for (size_t j = 0; j < n; j++)
        if (!used[j]) {
            add_pair(pairs, "only_twin", NULL, t[j]);
            sensitive++;
        }
    cJSON_AddNumberToObject(out, "identity_sensitive", (double)sensitive);
    cJSON_AddNumberToObject(out, "same", (double)same);
    cJSON_AddItemToObject(out, "pairs", pairs);
    free(t);
    free(used);
    return out;
}
