/* review_html.h — a legal review as a page a lawyer can read (`precis
 * report`): every finding with its quote highlighted inside its paragraph,
 * page and paragraph number (and "OCR, confidence N" when that paragraph
 * was read by OCR from a scan), category, severity, confidence and whether the
 * quote was found in the document (an unverified quote is shown as the
 * model wrote it, marked unverified, never highlighted as if found); with
 * the counterfactual twin, its differences side by side. For a collection,
 * an index page linking each document's page.
 *
 * Self-contained: inline CSS, no script, a Content-Security-Policy that
 * forbids every external resource; every string escaped (common/html.h).
 * Pure functions: the JSON store_review.h reads, in; HTML out.
 */
#ifndef PRECIS_REVIEW_HTML_H
#define PRECIS_REVIEW_HTML_H

#include <stddef.h>

#include "common/error.h"

/* store_review_of_job's object as a page (malloc'd); NULL with err when it
 * is not one. */
char *review_html(const char *review_json, perr *err);

/* store_reviews_of_collection's array as an index page linking page_of(job
 * id) for each document (malloc'd). */
char *review_index_html(const char *collection, const char *list_json, void (*page_of)(const char *job_id, char *out, size_t cap),
                        perr *err);

#endif
