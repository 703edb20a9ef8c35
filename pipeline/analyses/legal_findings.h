/* legal_findings.h — the findings of the legal_review analysis after the
 * model: every quote checked against the document, duplicates merged.
 *
 * A finding is a JSON object {"category", "subtype", "quote", "explanation",
 * "severity", "confidence"} as the model wrote it. Verification looks its
 * quote up in the document's full text (pipeline/analyses/quote.h: exact, then
 * whitespace-normalized, then typographic) and sets on the finding:
 *   "verified"   true only when the quote was found;
 *   "match"      "exact" | "whitespace" | "typographic", null when not found;
 *   "start", "end"  the span in full_text in code points (end exclusive),
 *                null when not found;
 *   "page"       page of the span's first paragraph, null when not found or
 *                the format has no pages;
 *   "paragraph"  id of the span's first paragraph ("p12"), null when not
 *                found or the span lies only in headings.
 * A quote that is not found stays, with verified false: it is never shown as
 * verified and never dropped.
 */
#ifndef PRECIS_LEGAL_FINDINGS_H
#define PRECIS_LEGAL_FINDINGS_H

#include <stddef.h>

#include "common/error.h"
#include "extractors/document.h"
#include "pipeline/analyses/quote.h"

typedef struct cJSON cJSON;

/* Verify every finding of the array findings (objects; others are left
 * alone) against idx's document; returns how many were verified, or -1
 * (err) when out of memory. */
long legal_findings_verify_indexed(const quote_index *idx, cJSON *findings, perr *err);

/* The same with an index built for doc and freed. */
long legal_findings_verify(const document *doc, cJSON *findings, perr *err);

/* Merge duplicate findings: the same category and quote (the
 * same span when both are verified, else the same text with whitespace
 * runs collapsed) are one finding, the first, with the higher severity and
 * confidence of the two. Returns how many findings were merged away. */
size_t legal_findings_merge(cJSON *findings);

#endif
