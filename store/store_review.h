/* store_review.h — a stored legal review read back for its report
 * (`precis report`, pipeline/analyses/review_html.h). Return codes as
 * store.h. */
#ifndef PRECIS_STORE_REVIEW_H
#define PRECIS_STORE_REVIEW_H

#include "store/store.h"

/* The newest legal_review result of job_id's document, as one JSON object
 * (malloc'd; *json = NULL when the job or its review is not there):
 *   {"job_id", "collection", "document": {"id", "title", "source", "format",
 *    "pages", "text" (the extracted full text), "structure": {"sections":
 *    [{"heading"?, "level", "paragraphs": [{"id", "page", "char_start",
 *    "char_end"}]}]} (code points into text) | null},
 *    "model", "prompt_version", "reviewed_at", "output": the result}. */
int store_review_of_job(store *s, const char *job_id, char **json, perr *err);

/* The reviewed documents of a collection, one per document (its newest
 * review and a done job of it), as a JSON array (malloc'd, "[]" when none):
 *   [{"job_id", "document_id", "title", "source", "findings", "verified",
 *     "high", "identity_sensitive", "twin"}]. */
int store_reviews_of_collection(store *s, const char *collection, char **json, perr *err);

#endif
