/* legal_twin.c — legal_review's counterfactual twin (see legal_twin.h). */
#include "pipeline/analyses/legal_twin.h"

#include <cjson/cJSON.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/analyses/analysis.h"
#include "pipeline/analyses/twin_align.h"
#include "pipeline/analyses/twin_document.h"
#include "pipeline/llm/structured.h"

/* ---- the rules ---------------------------------------------------------------------- */

/* "Party A".."Party Z", then "Party 27"... */
static void placeholder(size_t i, char *out, size_t cap)
{
    if (i < 26)
        snprintf(out, cap, "Party %c", (char)('A' + i));
    else
        snprintf(out, cap, "Party %zu", i + 1);
}

/* A name's last word when it can stand for the name alone ("Smith"). */
static char *surname_of(const char *name)
{
    const char *space = strrchr(name, ' ');
    if (!space || g_utf8_strlen(space + 1, -1) < 3)
        return NULL;
    return strdup(space + 1);
}

/* Add a party and, quietly, its surname; an empty or repeated name (or a
 * clashing surname) is left out: there is nothing more to replace. */
static void add_party(twin_rules *r, cJSON *listed, const char *name, const char *replacement)
{
    perr ignored;
    if (twin_rules_add_party(r, name, replacement, &ignored) != 0)
        return;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "replacement", replacement);
    cJSON_AddItemToArray(listed, p);
    char *surname = surname_of(name);
    if (surname)
        twin_rules_add_party(r, surname, replacement, &ignored);
    free(surname);
}

/* The parties given, or those the review named. */
static void add_parties(const legal_twin_options *o, const cJSON *answer, twin_rules *r, cJSON *listed)
{
    for (size_t i = 0; i < o->n_parties; i++)
        add_party(r, listed, o->parties[i].name, o->parties[i].replacement);
    if (o->parties)
        return;
    size_t i = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(answer, "parties"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
        if (!cJSON_IsString(name))
            continue;
        char repl[32];
        placeholder(i++, repl, sizeof repl);
        add_party(r, listed, name->valuestring, repl);
    }
}

/* ---- the twin's findings in the original's coordinates ---------------------------------- */

/* The original's text between code points [start, end) (malloc'd). */
static char *original_words(const document *doc, size_t start, size_t end)
{
    const char *s = g_utf8_offset_to_pointer(doc->full_text, (glong)start);
    const char *e = g_utf8_offset_to_pointer(doc->full_text, (glong)end);
    return strndup(s, (size_t)(e - s));
}

static void map_finding(const twin_doc *td, const document *orig, cJSON *f)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(f, "start"), *e = cJSON_GetObjectItemCaseSensitive(f, "end");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "verified")) || !cJSON_IsNumber(s) || !cJSON_IsNumber(e))
        return;
    size_t ts = (size_t)s->valuedouble, te = (size_t)e->valuedouble, os, oe;
    twin_doc_span_to_original(td, ts, te, &os, &oe);
    cJSON_AddNumberToObject(f, "twin_start", (double)ts);
    cJSON_AddNumberToObject(f, "twin_end", (double)te);
    cJSON_ReplaceItemInObjectCaseSensitive(f, "start", cJSON_CreateNumber((double)os));
    cJSON_ReplaceItemInObjectCaseSensitive(f, "end", cJSON_CreateNumber((double)oe));
    char *words = original_words(orig, os, oe);
    cJSON_AddStringToObject(f, "original_quote", words ? words : "");
    free(words);
}

/* ---- the comparison --------------------------------------------------------------------- */

/* [{"class", "substitutions"}] in the order the classes first occur. */
static cJSON *by_class(const twin *t)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < t->n_edits; i++) {
        const char *cls = t->edits[i].cls;
        cJSON *e = NULL, *c;
        cJSON_ArrayForEach(c, arr)
        {
            if (strcmp(cJSON_GetObjectItemCaseSensitive(c, "class")->valuestring, cls) == 0)
                e = c;
        }
        if (!e) {
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "class", cls);
            cJSON_AddNumberToObject(e, "substitutions", 0);
            cJSON_AddItemToArray(arr, e);
        }
        cJSON *n = cJSON_GetObjectItemCaseSensitive(e, "substitutions");
        cJSON_SetNumberValue(n, n->valuedouble + 1);
    }
    return arr;
}

/* Each original finding marked identity-sensitive or not, from the pairs. */
static void mark_findings(cJSON *answer, const cJSON *aligned)
{
    const cJSON *pairs = cJSON_GetObjectItemCaseSensitive(aligned, "pairs");
    const cJSON *f;
    int i = 0;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(answer, "findings"))
    {
        const cJSON *p = cJSON_GetArrayItem(pairs, i++);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(p, "status");
        cJSON_AddBoolToObject((cJSON *)f, "identity_sensitive",
                              !(cJSON_IsString(st) && strcmp(st->valuestring, "same") == 0));
    }
}

int legal_twin_compare(cJSON *answer, cJSON *twin_answer, const twin_doc *td, const document *orig, cJSON *listed,
                       perr *err)
{
    cJSON *findings = cJSON_GetObjectItemCaseSensitive(twin_answer, "findings");
    cJSON *f;
    cJSON_ArrayForEach(f, findings)
    {
        map_finding(td, orig, f);
    }
    cJSON *empty = cJSON_CreateArray();
    const cJSON *mine = cJSON_GetObjectItemCaseSensitive(answer, "findings");
    cJSON *aligned = twin_align(cJSON_IsArray(mine) ? mine : empty, cJSON_IsArray(findings) ? findings : empty, err);
    cJSON_Delete(empty);
    if (!aligned)
        return -1;
    mark_findings(answer, aligned);
    cJSON *t = cJSON_CreateObject();
    cJSON_AddItemToObject(t, "parties", listed);
    cJSON_AddNumberToObject(t, "substitutions", (double)td->text.n_edits);
    cJSON_AddItemToObject(t, "by_class", by_class(&td->text));
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(twin_answer, "summary");
    cJSON_AddStringToObject(t, "summary", cJSON_IsString(summary) ? summary->valuestring : "");
    cJSON_AddItemToObject(t, "identity_sensitive",
                          cJSON_DetachItemFromObjectCaseSensitive(aligned, "identity_sensitive"));
    cJSON_AddItemToObject(t, "same", cJSON_DetachItemFromObjectCaseSensitive(aligned, "same"));
    cJSON_AddItemToObject(t, "pairs", cJSON_DetachItemFromObjectCaseSensitive(aligned, "pairs"));
    cJSON_Delete(aligned);
    cJSON_AddItemToObject(answer, "twin", t);
    return 0;
}

/* ---- the twin review ------------------------------------------------------------------- */

static void add_costs(analysis_output *out, const analysis_output *twin_out, size_t substitutions)
{
    out->prompt_tokens += twin_out->prompt_tokens;
    out->completion_tokens += twin_out->completion_tokens;
    out->cached_tokens += twin_out->cached_tokens;
    out->prompt_seconds += twin_out->prompt_seconds;
    out->gen_seconds += twin_out->gen_seconds;
    out->calls += twin_out->calls;
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddNumberToObject(extra, "substitutions", (double)substitutions);
    cJSON_AddNumberToObject(extra, "calls", twin_out->calls);
    structured_trace(out, "twin", "ok", NULL, extra);
}

/* The twin document's review (its own output, cleared by the caller). */
static int review_twin(const analysis_input *in, const twin_doc *td, analysis_output *twin_out, perr *err)
{
    analysis_input twin_in = *in;
    twin_in.doc = td->doc;
    twin_in.text = td->doc->full_text;
    twin_in.twin = NULL;
    return analysis_legal_review(&twin_in, twin_out, err);
}

/* The document reviewed: in's own, or one made of its text. */
static document *reviewed_document(const analysis_input *in, document **own)
{
    *own = NULL;
    if (in->doc)
        return (document *)in->doc;
    return *own = legal_document_of_text(in->text);
}

int legal_twin_add(const analysis_input *in, analysis_output *out, perr *err)
{
    cJSON *answer = cJSON_Parse(out->output_json), *listed = cJSON_CreateArray();
    twin_rules rules = {0};
    twin_doc td = {0};
    analysis_output twin_out = {0};
    document *own = NULL;
    const document *orig = reviewed_document(in, &own);
    int rc = answer ? twin_rules_add_attributes(&rules, in->twin->attributes_json, err) : perr_set(err, "twin: the review's result is not JSON");
    if (rc == 0) {
        add_parties(in->twin, answer, &rules, listed);
        rc = twin_document(orig, &rules, &td, err);
    }
    if (rc == 0)
        rc = review_twin(in, &td, &twin_out, err);
    cJSON *twin_answer = rc == 0 ? cJSON_Parse(twin_out.output_json) : NULL;
    if (rc == 0 && !twin_answer)
        rc = perr_set(err, "twin: the twin review's result is not JSON");
    if (rc == 0 && (rc = legal_twin_compare(answer, twin_answer, &td, orig, listed, err)) == 0)
        listed = NULL; /* now the answer's */
    if (rc == 0) {
        add_costs(out, &twin_out, td.text.n_edits);
        char *json = cJSON_PrintUnformatted(answer);
        rc = json ? 0 : perr_set(err, "out of memory");
        if (json) {
            free(out->output_json);
            out->output_json = json;
        }
    }
    cJSON_Delete(twin_answer);
    cJSON_Delete(listed);
    cJSON_Delete(answer);
    analysis_output_clear(&twin_out);
    twin_doc_clear(&td);
    twin_rules_clear(&rules);
    document_free(own);
    return rc == 0 ? 0 : (rc == -1 ? perr_prefix(err, "twin review") : rc);
}
