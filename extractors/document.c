/* document.c — builders for the shared document shape, text normalization
 * (UTF-8 sanitizing, whitespace collapse), offsets and the JSON round trip.
 *
 * Whitespace collapse: every run of whitespace or control characters
 * (ASCII space/tab/CR/LF/VT/FF, C0 and C1 controls, DEL, NBSP, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000) becomes one ASCII
 * space; U+200B (zero width space) and U+FEFF (BOM) are removed; the result
 * is trimmed. document_from_json rebuilds the document through the builders,
 * so ids, offsets and full_text are recomputed, never trusted from the input.
 */
#include "extractors/document.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/utf8.h"

/* ---- text normalization ------------------------------------------------ */

/* Sanitized copy of s with whitespace collapsed and trimmed (never NULL). */
static char *collapse_text(const char *s)
{
    size_t len;
    char *clean = utf8_sanitize(s, strlen(s), &len);
    char *out = xmalloc(len + 1);
    size_t o = 0, i = 0;
    int pending_space = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode((const unsigned char *)clean + i, len - i, &cp);
        if (utf8_is_space(cp)) {
            pending_space = o > 0;
        } else if (!utf8_is_invisible(cp)) {
            if (pending_space)
                out[o++] = ' ';
            pending_space = 0;
            memcpy(out + o, clean + i, n);
            o += n;
        }
        i += n;
    }
    out[o] = '\0';
    free(clean);
    return xrealloc(out, o + 1);
}

static char *sanitized_copy(const char *s)
{
    return s ? utf8_sanitize(s, strlen(s), NULL) : NULL;
}

/* ---- growth ----------------------------------------------------------------
 * Arrays and full_text grow geometrically. The capacity is implied by the
 * length (the next power of two), so the public struct needs no extra fields. */

#define MIN_TEXT_CAP 64

static size_t pow2_at_least(size_t n)
{
    size_t c = MIN_TEXT_CAP;
    while (c < n) {
        if (c > SIZE_MAX / 2)
            return n;
        c *= 2;
    }
    return c;
}

/* Make room for element number n (0-based) of an array of `elem`-byte items. */
static void *grow_for(void *arr, size_t n, size_t elem)
{
    if (n == 0)
        return xrealloc(arr, 8 * elem);
    if (n >= 8 && (n & (n - 1)) == 0) {
        if (n > SIZE_MAX / 2 / elem)
            abort();
        return xrealloc(arr, 2 * n * elem);
    }
    return arr;
}

/* ---- lifecycle ---------------------------------------------------------- */

document *document_new(const char *format, const char *media_type)
{
    document *doc = xmalloc(sizeof *doc);
    memset(doc, 0, sizeof *doc);
    doc->format = xstrdup(format ? format : "unknown");
    doc->media_type = xstrdup(media_type ? media_type : "application/octet-stream");
    doc->full_text = xmalloc(MIN_TEXT_CAP);
    doc->full_text[0] = '\0';
    return doc;
}

static void free_section(doc_section *sec)
{
    for (size_t i = 0; i < sec->n_paragraphs; i++) {
        free(sec->paragraphs[i].id);
        free(sec->paragraphs[i].text);
    }
    free(sec->paragraphs);
    free(sec->heading);
}

void document_free(document *doc)
{
    if (!doc)
        return;
    free(doc->format);
    free(doc->media_type);
    free(doc->title);
    free(doc->language);
    for (size_t i = 0; i < doc->n_authors; i++)
        free(doc->authors[i]);
    free(doc->authors);
    for (size_t i = 0; i < doc->n_metadata; i++) {
        free(doc->metadata[i].key);
        free(doc->metadata[i].value);
    }
    free(doc->metadata);
    for (size_t i = 0; i < doc->n_sections; i++)
        free_section(&doc->sections[i]);
    free(doc->sections);
    free(doc->full_text);
    for (size_t i = 0; i < doc->n_warnings; i++)
        free(doc->warnings[i]);
    free(doc->warnings);
    free(doc);
}

/* ---- simple fields ------------------------------------------------------ */

void document_set_title(document *doc, const char *title)
{
    free(doc->title);
    doc->title = NULL;
    if (title) {
        char *t = collapse_text(title);
        if (*t)
            doc->title = t;
        else
            free(t);
    }
}

void document_set_language(document *doc, const char *lang)
{
    free(doc->language);
    doc->language = NULL;
    if (lang) {
        char *l = collapse_text(lang);
        if (*l)
            doc->language = l;
        else
            free(l);
    }
}

void document_add_author(document *doc, const char *name)
{
    if (!name)
        return;
    char *a = collapse_text(name);
    if (!*a) {
        free(a);
        return;
    }
    doc->authors = grow_for(doc->authors, doc->n_authors, sizeof *doc->authors);
    doc->authors[doc->n_authors++] = a;
}

void document_set_meta(document *doc, const char *key, const char *value)
{
    if (!key || !value)
        return;
    char *v = sanitized_copy(value);
    for (size_t i = 0; i < doc->n_metadata; i++) {
        if (strcmp(doc->metadata[i].key, key) == 0) {
            free(doc->metadata[i].value);
            doc->metadata[i].value = v;
            return;
        }
    }
    doc->metadata = grow_for(doc->metadata, doc->n_metadata, sizeof *doc->metadata);
    doc->metadata[doc->n_metadata].key = sanitized_copy(key);
    doc->metadata[doc->n_metadata].value = v;
    doc->n_metadata++;
}

static void add_warning_owned(document *doc, char *text)
{
    doc->warnings = grow_for(doc->warnings, doc->n_warnings, sizeof *doc->warnings);
    doc->warnings[doc->n_warnings++] = text;
}

void document_warn(document *doc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *raw = NULL;
    int n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    add_warning_owned(doc, collapse_text(raw));
    free(raw);
}

/* ---- full text and structure ------------------------------------------- */

/* Append a block (already collapsed, non-empty) to full_text, separated by a
 * blank line; returns its start offsets. */
static void append_block(document *doc, const char *text, size_t *byte_start, size_t *char_start)
{
    size_t add = strlen(text);
    size_t sep = doc->full_text_len ? 2 : 0;
    size_t need = doc->full_text_len + sep + add + 1;
    if (need > pow2_at_least(doc->full_text_len + 1))
        doc->full_text = xrealloc(doc->full_text, pow2_at_least(need));
    if (sep) {
        memcpy(doc->full_text + doc->full_text_len, "\n\n", 2);
        doc->full_text_len += 2;
        doc->full_text_chars += 2;
    }
    *byte_start = doc->full_text_len;
    *char_start = doc->full_text_chars;
    memcpy(doc->full_text + doc->full_text_len, text, add + 1);
    doc->full_text_len += add;
    doc->full_text_chars += utf8_count(text, add);
}

void document_add_section(document *doc, const char *heading, int level)
{
    char *h = heading ? collapse_text(heading) : NULL;
    if (h && !*h) {
        free(h);
        h = NULL;
    }
    if (h) {
        size_t b, c;
        append_block(doc, h, &b, &c);
    }
    doc->sections = grow_for(doc->sections, doc->n_sections, sizeof *doc->sections);
    doc_section *sec = &doc->sections[doc->n_sections++];
    memset(sec, 0, sizeof *sec);
    sec->heading = h;
    sec->level = level > 0 ? level : (h ? 1 : 0);
}

static doc_paragraph *add_paragraph(document *doc, const char *text, int page)
{
    if (!text)
        return NULL;
    char *t = collapse_text(text);
    if (!*t) {
        free(t);
        return NULL;
    }
    if (doc->n_sections == 0)
        document_add_section(doc, NULL, 0);
    doc_section *sec = &doc->sections[doc->n_sections - 1];
    sec->paragraphs =
        xgrow_to(sec->paragraphs, &sec->cap_paragraphs, sec->n_paragraphs + 1, sizeof *sec->paragraphs, 8);
    doc_paragraph *p = &sec->paragraphs[sec->n_paragraphs++];
    memset(p, 0, sizeof *p);
    char id[32];
    snprintf(id, sizeof id, "p%zu", ++doc->n_paragraphs_total);
    p->id = xstrdup(id);
    p->text = t;
    p->page = page > 0 ? page : 0;
    append_block(doc, t, &p->byte_start, &p->char_start);
    p->byte_end = doc->full_text_len;
    p->char_end = doc->full_text_chars;
    return p;
}

const doc_paragraph *document_add_paragraph(document *doc, const char *text, int page)
{
    return add_paragraph(doc, text, page);
}

const doc_paragraph *document_add_ocr_paragraph(document *doc, const char *text, int page, double confidence)
{
    doc_paragraph *p = add_paragraph(doc, text, page);
    if (p) {
        p->ocr = 1;
        double c = confidence > 100 ? 100 : confidence >= 0 ? confidence : 0; /* NaN -> 0 */
        p->ocr_confidence = round(c * 10) / 10;
    }
    return p;
}

/* ---- JSON out ------------------------------------------------------------ */

static cJSON *string_or_null(const char *s)
{
    return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *string_array(char *const *items, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(arr, cJSON_CreateString(items[i]));
    return arr;
}

/* derived: also what document_from_json recomputes (ids, offsets, full_text). */
static cJSON *paragraph_to_json(const doc_paragraph *p, int derived)
{
    cJSON *o = cJSON_CreateObject();
    if (derived)
        cJSON_AddStringToObject(o, "id", p->id);
    cJSON_AddStringToObject(o, "text", p->text);
    cJSON_AddNumberToObject(o, "page", p->page);
    if (derived) {
        cJSON_AddNumberToObject(o, "char_start", (double)p->char_start);
        cJSON_AddNumberToObject(o, "char_end", (double)p->char_end);
        cJSON_AddNumberToObject(o, "byte_start", (double)p->byte_start);
        cJSON_AddNumberToObject(o, "byte_end", (double)p->byte_end);
    }
    if (p->ocr) {
        cJSON_AddTrueToObject(o, "ocr");
        cJSON_AddNumberToObject(o, "ocr_confidence", p->ocr_confidence);
    }
    return o;
}

static cJSON *section_to_json(const doc_section *sec, int derived)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "heading", string_or_null(sec->heading));
    cJSON_AddNumberToObject(o, "level", sec->level);
    cJSON *paras = cJSON_AddArrayToObject(o, "paragraphs");
    for (size_t i = 0; i < sec->n_paragraphs; i++)
        cJSON_AddItemToArray(paras, paragraph_to_json(&sec->paragraphs[i], derived));
    return o;
}

static char *to_json(const document *doc, int pretty, int derived)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", doc->format);
    cJSON_AddStringToObject(root, "media_type", doc->media_type);
    cJSON_AddItemToObject(root, "title", string_or_null(doc->title));
    cJSON_AddItemToObject(root, "authors", string_array(doc->authors, doc->n_authors));
    cJSON_AddItemToObject(root, "language", string_or_null(doc->language));
    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (size_t i = 0; i < doc->n_metadata; i++)
        cJSON_AddStringToObject(meta, doc->metadata[i].key, doc->metadata[i].value);
    cJSON_AddNumberToObject(root, "pages", doc->pages);
    cJSON *secs = cJSON_AddArrayToObject(root, "sections");
    for (size_t i = 0; i < doc->n_sections; i++)
        cJSON_AddItemToArray(secs, section_to_json(&doc->sections[i], derived));
    if (derived)
        cJSON_AddStringToObject(root, "full_text", doc->full_text);
    cJSON_AddItemToObject(root, "warnings", string_array(doc->warnings, doc->n_warnings));
    char *out = pretty ? cJSON_Print(root) : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!out)
        abort();
    return out;
}

char *document_to_json(const document *doc, int pretty)
{
    return to_json(doc, pretty, 1);
}

char *document_to_json_compact(const document *doc)
{
    return to_json(doc, 0, 0);
}

/* ---- JSON in ------------------------------------------------------------- */

/* Optional string member: NULL when absent or null; -1 on a wrong type. */
static int get_opt_string(const cJSON *obj, const char *key, const char **out, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return perr_set(err, "\"%s\" is not a string", key);
    *out = v->valuestring;
    return 0;
}

static int get_int(const cJSON *obj, const char *key, int *out, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = 0;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return perr_set(err, "\"%s\" is not a non-negative integer", key);
    *out = (int)v->valuedouble;
    return 0;
}

/* Optional array member (NULL when absent); -1 on a wrong type. */
static int get_opt_array(const cJSON *obj, const char *key, const cJSON **out, perr *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *out = NULL;
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsArray(v))
        return perr_set(err, "\"%s\" is not an array", key);
    *out = v;
    return 0;
}

static int read_strings(const cJSON *root, const char *key, document *doc,
                        void (*add)(document *, const char *), perr *err)
{
    const cJSON *arr, *item;
    if (get_opt_array(root, key, &arr, err) < 0)
        return -1;
    if (!arr)
        return 0;
    cJSON_ArrayForEach(item, arr) {
        if (!cJSON_IsString(item))
            return perr_set(err, "\"%s\" holds a non-string", key);
        add(doc, item->valuestring);
    }
    return 0;
}

static void add_warning_plain(document *doc, const char *text)
{
    add_warning_owned(doc, collapse_text(text));
}

static int read_metadata(const cJSON *root, document *doc, perr *err)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata"), *item;
    if (!meta || cJSON_IsNull(meta))
        return 0;
    if (!cJSON_IsObject(meta))
        return perr_set(err, "\"metadata\" is not an object");
    cJSON_ArrayForEach(item, meta) {
        if (!cJSON_IsString(item) || !item->string)
            return perr_set(err, "metadata value is not a string");
        document_set_meta(doc, item->string, item->valuestring);
    }
    return 0;
}

static int read_section(const cJSON *sec, document *doc, perr *err)
{
    const char *heading;
    int level;
    const cJSON *paras, *p;
    if (!cJSON_IsObject(sec))
        return perr_set(err, "section is not an object");
    if (get_opt_string(sec, "heading", &heading, err) < 0 || get_int(sec, "level", &level, err) < 0 ||
        get_opt_array(sec, "paragraphs", &paras, err) < 0)
        return perr_prefix(err, "section");
    document_add_section(doc, heading, level);
    if (!paras)
        return 0;
    cJSON_ArrayForEach(p, paras) {
        const char *text;
        int page;
        if (!cJSON_IsObject(p))
            return perr_set(err, "paragraph is not an object");
        if (get_opt_string(p, "text", &text, err) < 0 || get_int(p, "page", &page, err) < 0)
            return perr_prefix(err, "paragraph");
        const cJSON *ocr = cJSON_GetObjectItemCaseSensitive(p, "ocr");
        const cJSON *conf = cJSON_GetObjectItemCaseSensitive(p, "ocr_confidence");
        if (ocr && !cJSON_IsBool(ocr))
            return perr_set(err, "paragraph: \"ocr\" is not a boolean");
        if (conf && !cJSON_IsNumber(conf))
            return perr_set(err, "paragraph: \"ocr_confidence\" is not a number");
        if (cJSON_IsTrue(ocr))
            document_add_ocr_paragraph(doc, text, page, conf ? conf->valuedouble : 0);
        else
            document_add_paragraph(doc, text, page);
    }
    return 0;
}

static int read_document(const cJSON *root, document *doc, perr *err)
{
    const char *s;
    const cJSON *secs, *sec;
    if (get_opt_string(root, "title", &s, err) < 0)
        return -1;
    document_set_title(doc, s);
    if (get_opt_string(root, "language", &s, err) < 0)
        return -1;
    document_set_language(doc, s);
    if (read_strings(root, "authors", doc, document_add_author, err) < 0 || read_metadata(root, doc, err) < 0 ||
        get_int(root, "pages", &doc->pages, err) < 0 || get_opt_array(root, "sections", &secs, err) < 0)
        return -1;
    if (secs) {
        cJSON_ArrayForEach(sec, secs) {
            if (read_section(sec, doc, err) < 0)
                return -1;
        }
    }
    return read_strings(root, "warnings", doc, add_warning_plain, err);
}

int document_from_json(document **out, const char *json, perr *err)
{
    *out = NULL;
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return perr_set(err, "document JSON: not valid JSON");
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return perr_set(err, "document JSON: not an object");
    }
    const char *format, *media_type;
    if (get_opt_string(root, "format", &format, err) < 0 ||
        get_opt_string(root, "media_type", &media_type, err) < 0) {
        cJSON_Delete(root);
        return perr_prefix(err, "document JSON");
    }
    document *doc = document_new(format, media_type);
    if (read_document(root, doc, err) < 0) {
        cJSON_Delete(root);
        document_free(doc);
        return perr_prefix(err, "document JSON");
    }
    cJSON_Delete(root);
    *out = doc;
    return 0;
}
