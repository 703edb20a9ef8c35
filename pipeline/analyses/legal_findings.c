/* legal_findings.c — quote verification and duplicate merging of
 * legal_review findings (see legal_findings.h). */
#include "pipeline/analyses/legal_findings.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/llm/structured.h"

static void set_item(cJSON *o, const char *key, cJSON *value)
{
    if (!value)
        return;
    if (cJSON_GetObjectItemCaseSensitive(o, key))
        cJSON_ReplaceItemInObjectCaseSensitive(o, key, value);
    else
        cJSON_AddItemToObject(o, key, value);
}

static cJSON *number_or_null(int present, double v)
{
    return present ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void attach_match(cJSON *finding, const quote_match *m)
{
    int ok = m->verified;
    set_item(finding, "verified", cJSON_CreateBool(ok));
    set_item(finding, "match", ok ? cJSON_CreateString(quote_method_name(m->method)) : cJSON_CreateNull());
    set_item(finding, "start", number_or_null(ok, (double)m->char_start));
    set_item(finding, "end", number_or_null(ok, (double)m->char_end));
    set_item(finding, "page", number_or_null(ok && m->page > 0, m->page));
    set_item(finding, "paragraph", ok && m->paragraph_first[0] ? cJSON_CreateString(m->paragraph_first)
                                                             : cJSON_CreateNull());
}

long legal_findings_verify_indexed(const quote_index *idx, cJSON *findings, perr *err)
{
    long verified = 0;
    for (cJSON *f = findings ? findings->child : NULL; f; f = f->next) {
        if (!cJSON_IsObject(f))
            continue;
        const cJSON *quote = cJSON_GetObjectItemCaseSensitive(f, "quote");
        quote_match m = {0};
        if (cJSON_IsString(quote) && quote_locate_indexed(idx, quote->valuestring, &m, err) != 0)
            return -1;
        attach_match(f, &m);
        if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(f, "verified")))
            return perr_set(err, "out of memory");
        verified += m.verified;
    }
    return verified;
}

long legal_findings_verify(const document *doc, cJSON *findings, perr *err)
{
    quote_index *idx;
    if (quote_index_new(doc, &idx, err) != 0)
        return -1;
    long n = legal_findings_verify_indexed(idx, findings, err);
    quote_index_free(idx);
    return n;
}

/* ---- merging ---------------------------------------------------------------- */

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* a and b equal with whitespace runs collapsed and the ends trimmed. */
static int same_text(const char *a, const char *b)
{
    while (is_space(*a))
        a++;
    while (is_space(*b))
        b++;
    while (*a && *b) {
        if (is_space(*a) && is_space(*b)) {
            while (is_space(*a))
                a++;
            while (is_space(*b))
                b++;
            if (!*a || !*b)
                break;
            continue;
        }
        if (*a++ != *b++)
            return 0;
    }
    while (is_space(*a))
        a++;
    while (is_space(*b))
        b++;
    return !*a && !*b;
}

static int same_span(const cJSON *a, const cJSON *b)
{
    const cJSON *sa = cJSON_GetObjectItemCaseSensitive(a, "start"), *sb = cJSON_GetObjectItemCaseSensitive(b, "start");
    const cJSON *ea = cJSON_GetObjectItemCaseSensitive(a, "end"), *eb = cJSON_GetObjectItemCaseSensitive(b, "end");
    return cJSON_IsNumber(sa) && cJSON_IsNumber(sb) && cJSON_IsNumber(ea) && cJSON_IsNumber(eb) &&
           sa->valuedouble == sb->valuedouble && ea->valuedouble == eb->valuedouble;
}

static int duplicates(const cJSON *a, const cJSON *b)
{
    if (strcmp(structured_string(a, "category"), structured_string(b, "category")) != 0)
        return 0;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "verified")) &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "verified")))
        return same_span(a, b);
    return same_text(structured_string(a, "quote"), structured_string(b, "quote"));
}

static int level_rank(const char *level)
{
    return strcmp(level, "high") == 0 ? 3 : strcmp(level, "medium") == 0 ? 2 : strcmp(level, "low") == 0 ? 1 : 0;
}

/* keep's key takes other's value when other's is the higher level. */
static void keep_higher(cJSON *keep, const cJSON *other, const char *key)
{
    const char *mine = structured_string(keep, key), *theirs = structured_string(other, key);
    if (level_rank(theirs) > level_rank(mine))
        set_item(keep, key, cJSON_CreateString(theirs));
}

size_t legal_findings_merge(cJSON *findings)
{
    size_t merged = 0;
    for (cJSON *a = findings ? findings->child : NULL; a; a = a->next) {
        for (cJSON *b = a->next, *next; b; b = next) {
            next = b->next;
            if (!cJSON_IsObject(a) || !cJSON_IsObject(b) || !duplicates(a, b))
                continue;
            keep_higher(a, b, "severity");
            keep_higher(a, b, "confidence");
            cJSON_Delete(cJSON_DetachItemViaPointer(findings, b));
            merged++;
        }
    }
    return merged;
}
