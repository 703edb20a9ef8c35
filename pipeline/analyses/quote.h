/* quote.h — finding a model's verbatim quote in a document's extracted text.
 *
 * A quote is looked up in full_text in three tiers, stopping at the first
 * that finds it:
 *   exact        the quote's bytes (invalid UTF-8 replaced by U+FFFD,
 *                surrounding whitespace trimmed) occur in full_text;
 *   whitespace   both sides compared with every run of Unicode whitespace
 *                (space, tab, newlines, NBSP, U+2000..U+200A, U+3000, ...)
 *                collapsed to one space, U+200B/U+FEFF removed, trimmed;
 *   typographic  as whitespace, and also curly quotes and primes folded to
 *                ' and ", dashes and minus signs (U+2010..U+2015, U+2212) to
 *                -, the ellipsis U+2026 to "...", Latin ligatures U+FB00..
 *                U+FB06 expanded, soft hyphens U+00AD removed.
 * A match is always reported as a span of the ORIGINAL full_text (bytes and
 * code points, end exclusive, on character boundaries), with the first
 * occurrence's position and the number of non-overlapping occurrences. A
 * quote that is not found is reported with verified = 0 and a reason; that
 * is a result, not an error.
 *
 * Many quotes against one document: build a quote_index once (normalized
 * copies of the text and their offset maps) and call quote_locate_indexed.
 */
#ifndef PRECIS_QUOTE_H
#define PRECIS_QUOTE_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"

typedef enum quote_method {
    QUOTE_NONE = 0,
    QUOTE_EXACT,
    QUOTE_WHITESPACE,
    QUOTE_TYPOGRAPHIC
} quote_method;

#define QUOTE_ID_MAX 32

typedef struct quote_match {
    int verified;                 /* 1 when found by any tier */
    quote_method method;          /* QUOTE_NONE when not found */
    const char *reason;           /* static text when not verified, else NULL */
    size_t byte_start, byte_end;  /* span in full_text, UTF-8 bytes */
    size_t char_start, char_end;  /* same span in code points */
    size_t occurrences;           /* non-overlapping matches by that tier */
    int page;                     /* page of paragraph_first; 0 if none/unpaged */
    /* Paragraphs overlapping the span: the first (holding its start, or the
     * first one after it when it starts in a heading) and the last. Empty
     * strings when the span lies only in headings. */
    char paragraph_first[QUOTE_ID_MAX];
    char paragraph_last[QUOTE_ID_MAX];
} quote_match;

typedef struct quote_index quote_index;

/* "exact", "whitespace", "typographic" or "none". */
const char *quote_method_name(quote_method m);

/* Build the lookup tables for doc (which must outlive the index): two
 * normalized copies of full_text (about 2x its size) and small offset maps.
 * Fails only when doc is NULL. */
int quote_index_new(const document *doc, quote_index **out, perr *err);
void quote_index_free(quote_index *idx);

/* Locate quote (NUL-terminated, any bytes). Returns -1 only for NULL
 * arguments; "not found", empty or over-long quotes give 0 with
 * out->verified = 0 and out->reason set. */
int quote_locate_indexed(const quote_index *idx, const char *quote, quote_match *out, perr *err);

/* One-off lookup: builds and frees an index. */
int quote_locate(const document *doc, const char *quote, quote_match *out, perr *err);

#endif
