/* twin_document.c — the twin of an extracted document (see
 * twin_document.h). */
#include "pipeline/analyses/twin_document.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The twin of one block of text (malloc'd). */
static char *twin_block(const char *text, const twin_rules *r, perr *err)
{
    twin t;
    if (twin_build(text, r, &t, err) != 0)
        return NULL;
    char *copy = strdup(t.text);
    twin_clear(&t);
    if (!copy)
        perr_set(err, "out of memory");
    return copy;
}

/* The twin document: every heading and paragraph twinned, in order. */
static document *twin_blocks(const document *orig, const twin_rules *r, perr *err)
{
    document *doc = document_new(orig->format, orig->media_type);
    if (orig->title)
        document_set_title(doc, orig->title);
    if (orig->language)
        document_set_language(doc, orig->language);
    doc->pages = orig->pages;
    for (size_t s = 0; s < orig->n_sections; s++) {
        const doc_section *sec = &orig->sections[s];
        if (sec->heading) {
            char *h = twin_block(sec->heading, r, err);
            if (!h)
                return document_free(doc), NULL;
            document_add_section(doc, h, sec->level);
            free(h);
        }
        for (size_t p = 0; p < sec->n_paragraphs; p++) {
            char *t = twin_block(sec->paragraphs[p].text, r, err);
            if (!t)
                return document_free(doc), NULL;
            document_add_paragraph(doc, t, sec->paragraphs[p].page);
            free(t);
        }
    }
    return doc;
}

int twin_document(const document *orig, const twin_rules *r, twin_doc *out, perr *err)
{
    memset(out, 0, sizeof *out);
    if (twin_build(orig->full_text, r, &out->text, err) != 0)
        return perr_prefix(err, "twin of the document");
    out->doc = twin_blocks(orig, r, err);
    if (!out->doc) {
        twin_clear(&out->text);
        return perr_prefix(err, "twin of the document");
    }
    if (strcmp(out->doc->full_text, out->text.text) != 0) {
        twin_doc_clear(out);
        return perr_set(err, "twin of the document: the twinned blocks do not rebuild the twinned text "
                             "(a term crosses a block boundary?)");
    }
    return 0;
}

/* Byte offset of code point cp in s (len bytes; past the end: len). */
static size_t byte_of(const char *s, size_t len, size_t cp)
{
    const char *p = s;
    for (size_t i = 0; i < cp && (size_t)(p - s) < len; i++)
        p = g_utf8_next_char(p);
    return (size_t)(p - s) < len ? (size_t)(p - s) : len;
}

static size_t chars_of(const char *s, size_t bytes)
{
    return (size_t)g_utf8_strlen(s, (gssize)bytes);
}

void twin_doc_span_to_original(const twin_doc *t, size_t start, size_t end, size_t *orig_start, size_t *orig_end)
{
    size_t bs = byte_of(t->text.text, t->text.len, start), be = byte_of(t->text.text, t->text.len, end), os, oe;
    twin_span_to_original(&t->text, bs, be, &os, &oe);
    *orig_start = chars_of(t->text.original, os);
    *orig_end = chars_of(t->text.original, oe);
}

void twin_doc_clear(twin_doc *t)
{
    document_free(t->doc);
    twin_clear(&t->text);
    memset(t, 0, sizeof *t);
}
