/* document.h — the one result shape every extractor produces.
 *
 * document {title, authors, language, metadata, sections[{heading, level,
 * paragraphs[{id, text, page, char_start, char_end, ocr?, ocr_confidence?}]}],
 * full_text, warnings}.
 *
 * Extractors build a document only through the document_* builder calls, in
 * reading order. full_text is every section heading and paragraph, in order,
 * joined by "\n\n" (headings are stored on the section and also appear in
 * full_text as their own block, so a quoted heading can be found). Paragraph ids are "p1", "p2", ... in reading order:
 * the same input always yields the same ids, so analyses can cite them.
 * char_start/char_end are offsets in Unicode code points into full_text
 * (end exclusive); byte_start/byte_end are the same span in UTF-8 bytes.
 * All strings are valid UTF-8 (builders replace invalid sequences).
 * A paragraph recognised by OCR from a page image (a scan) has ocr = 1 and
 * Tesseract's mean word confidence for it, 0..100; in JSON "ocr": true and
 * "ocr_confidence" (both absent for text read from a text layer).
 */
#ifndef PRECIS_DOCUMENT_H
#define PRECIS_DOCUMENT_H

#include <stddef.h>

#include "common/error.h"

typedef struct doc_paragraph {
    char *id;            /* "p12" */
    char *text;
    int page;            /* 1-based; 0 when the format has no pages */
    size_t char_start, char_end;
    size_t byte_start, byte_end;
    int ocr;             /* 1: recognised by OCR from a page image */
    double ocr_confidence; /* ocr: the recogniser's mean confidence, 0..100 */
} doc_paragraph;

typedef struct doc_section {
    char *heading;       /* NULL for the implicit first section */
    int level;           /* 1 = top level; 0 for the implicit section */
    doc_paragraph *paragraphs;
    size_t n_paragraphs, cap_paragraphs;
} doc_section;

typedef struct doc_meta {
    char *key, *value;
} doc_meta;

typedef struct document {
    char *format;        /* "pdf", "jats", "tei", "akn", "clml", "docx", "xhtml", "xml", "text" */
    char *media_type;    /* "application/pdf", ... */
    char *title;
    char *language;      /* BCP 47 when known, else NULL */
    char **authors;
    size_t n_authors;
    doc_meta *metadata;
    size_t n_metadata;
    int pages;           /* 0 when not paged */
    doc_section *sections;
    size_t n_sections;
    char *full_text;     /* NUL-terminated */
    size_t full_text_len;         /* bytes */
    size_t full_text_chars;       /* code points */
    char **warnings;
    size_t n_warnings;
    size_t n_paragraphs_total;    /* next id is "p<n+1>" */
} document;

document *document_new(const char *format, const char *media_type);
void document_free(document *doc);

void document_set_title(document *doc, const char *title);
void document_set_language(document *doc, const char *lang);
void document_add_author(document *doc, const char *name);
void document_set_meta(document *doc, const char *key, const char *value);
void document_warn(document *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Start a new section (its heading also goes into full_text). */
void document_add_section(document *doc, const char *heading, int level);
/* Append a paragraph to the current section (an implicit untitled section is
 * created first if none exists). Whitespace is collapsed and trimmed; empty
 * paragraphs are dropped (returns NULL). */
const doc_paragraph *document_add_paragraph(document *doc, const char *text, int page);
/* The same for a paragraph recognised by OCR, with its confidence (clamped
 * to 0..100). */
const doc_paragraph *document_add_ocr_paragraph(document *doc, const char *text, int page, double confidence);

/* JSON (cJSON) round trip: used to carry results out of the sandboxed child
 * and for `precis extract --json`. */
char *document_to_json(const document *doc, int pretty);
/* Only what document_from_json reads: without the paragraph ids, offsets
 * and full_text it recomputes (the sandboxed child's result, about half the
 * bytes to write and parse). */
char *document_to_json_compact(const document *doc);
int document_from_json(document **out, const char *json, perr *err);

#endif
