/* cited_text.h — a document's text as numbered paragraphs, for analyses
 * that cite paragraph ids or quote the text, and its cutting into chunks
 * that fit a token budget (map-reduce over long documents).
 *
 * The units are the document's paragraphs (ids "p1", "p2", ... as the
 * extractor numbered them, with their pages). Section headings are not
 * citable: each is carried in front of the next paragraph (headings after
 * the last paragraph go after it), so nothing of full_text is lost. Without
 * a document (plain text only), or for a document without paragraphs, the
 * units are the text's blank-line separated blocks numbered p1, p2, ...
 *
 * Rendered with labels, a unit reads "Heading\n\n[p12] paragraph text"; without
 * labels it is exactly its piece of full_text. A chunk holds whole units in
 * order; a unit longer than the budget on its own becomes several chunks of
 * token-aligned pieces (each labelled with the same id). Every unit is in
 * some chunk: nothing is dropped.
 *
 * Overlap: a chunk that follows another at a unit boundary starts with the
 * previous chunk's last unit again (when that unit takes at most a quarter
 * of the budget and both fit), so a point that spans the cut is seen whole
 * once. Its bytes are the chunk's first overlap_len bytes; the text after
 * them, chunk after chunk joined with blank lines, is full_text again.
 */
#ifndef PRECIS_CITED_TEXT_H
#define PRECIS_CITED_TEXT_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "pipeline/llm/llm.h"

typedef struct cJSON cJSON;

typedef struct cited_unit {
    char *id;          /* "p12" */
    char *lead;        /* headings before it, "\n\n"-joined; NULL when none */
    char *text;        /* the paragraph (and any trailing headings) */
    int page;          /* 0 when unpaged */
} cited_unit;

typedef struct cited_doc {
    cited_unit *units;
    size_t n;
} cited_doc;

typedef struct cited_chunk {
    char *text;        /* what the model reads */
    char **ids;        /* distinct paragraph ids in the chunk, in order */
    size_t n_ids;
    int page_first, page_last;   /* 0 when unpaged */
    int piece;         /* 1 when the chunk is part of one over-long paragraph */
    size_t overlap_len;/* leading bytes repeating the previous chunk's last unit ("\n\n" included); 0 = none */
} cited_chunk;

typedef struct cited_chunks {
    cited_chunk *items;
    size_t n;
} cited_chunks;

/* Units of doc, or of text when doc is NULL or has no paragraphs. Fails
 * only when out of memory or when there is no text at all. */
int cited_doc_build(const document *doc, const char *text, cited_doc *out, perr *err);
void cited_doc_clear(cited_doc *d);

/* The whole document rendered (malloc'd; NULL when out of memory). */
char *cited_doc_render(const cited_doc *d, int labels);

/* Cut into chunks of at most budget tokens (counted unit by unit, plus two
 * per blank line between units). */
int cited_split(const llm *m, const cited_doc *d, int labels, size_t budget, cited_chunks *out, perr *err);
void cited_chunks_clear(cited_chunks *c);

/* Tokens of text per chunk for a context of n_ctx, max_tokens to generate
 * and a prompt of overhead tokens around the text: everything (SIZE_MAX/2)
 * when the whole text (whole tokens) fits one call, else the room left
 * less a margin for counting paragraph by paragraph. Below min_chunk: an
 * error saying the context is too small to split the document. */
int cited_chunk_budget(int n_ctx, int max_tokens, size_t overhead, size_t whole, size_t min_chunk, size_t *budget,
                       perr *err);

/* Does the whole text (whole tokens) fit one call with max_tokens to
 * generate and a prompt of overhead tokens? */
int cited_fits_one_call(int n_ctx, int max_tokens, size_t overhead, size_t whole);

/* The largest max_tokens with which cited_chunk_budget still leaves
 * min_chunk tokens of text per chunk (0 when none does). */
int cited_answer_limit(int n_ctx, size_t overhead, size_t min_chunk);

/* {"chunk", "paragraphs", "first", "last", "pages": [first, last], "piece"?,
 * "overlap"?} for the trace: what a chunk covered; first, last and
 * paragraphs count the chunk's new units, "overlap" names the repeated one.
 * NULL when out of memory. */
cJSON *cited_chunk_provenance(const cited_chunk *c, size_t index);

#endif
