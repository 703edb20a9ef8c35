/* twin_document.h — the counterfactual twin (twin.h) of an extracted
 * document, for reviewing it again: the same sections, headings, paragraphs
 * (ids) and pages, each block's text twinned with the same rules, so the
 * review of the twin cites pages and paragraphs like the original's.
 *
 * Terms never cross the blank line between blocks, so the twin document's
 * full text is exactly the twin of the original's full text; twin_document
 * checks that it is, and a span of the twin's full text maps back to the
 * original's through that one twin (twin_span_to_original), in code points
 * as legal findings give them.
 */
#ifndef PRECIS_TWIN_DOCUMENT_H
#define PRECIS_TWIN_DOCUMENT_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "pipeline/analyses/twin.h"

typedef struct twin_doc {
    document *doc;               /* the twin document */
    twin text;                   /* the twin of the original's full text (== doc->full_text) */
} twin_doc;

/* Build the twin of orig with rules r (which must outlive out). */
int twin_document(const document *orig, const twin_rules *r, twin_doc *out, perr *err);

/* The span [start, end) of the twin's full text, in code points, as a span
 * of the original's full text in code points (a boundary inside a replaced
 * term widens to the whole term). */
void twin_doc_span_to_original(const twin_doc *t, size_t start, size_t end, size_t *orig_start, size_t *orig_end);

void twin_doc_clear(twin_doc *t);

#endif
